"""Contingent orders (``oco``, ``bracket``) for the property tests: the steps that generate
them, and the checks of their links read from the event stream.

Generation (used by ``test_differential``'s builder and by ``test_stateful``):

- ``oco``: two parts on the command's side, each a limit order (mostly passive, a tick or
  more from the mid; now and then at or through it, so the ``would_trade`` check refuses),
  an iceberg (small display, maybe a variance), or any stop type waiting a few ticks beyond
  the mid (0 ticks: ``stop_would_trigger`` once the price has moved there). Parts take any
  resting tif (GTD a few ticks ahead, DAY), post-only, STP; rarely an IOC part
  (``bad_command``), rarely the same id twice, now and then an id still live (duplicate).
- ``bracket``: an entry of any kind (limit passive or crossing, market, a stop type, an
  iceberg) and tif (GTC, IOC, FOK, GTD, DAY), a take-profit a few ticks on the profit side
  (0 or -1: it crosses, or is refused ``post_only`` at activation), a stop-loss of any stop
  type a few ticks on the loss side (-1: its condition holds at activation); one child alone
  or both; activation full (explicit or default) or partial.
- ``invalid_list``: list commands with a malformed field, a refused stage, or an edge that
  is valid (see ``invalid_list``: a null child or child qty counts as absent).

Checks (``LinkChecker``, fed every event by the differential test's ``_Tracker``):

- Quantity of a dormant child: its ``accepted`` qty is *potential*, not submitted. The
  tracker counts it as the child's open quantity only so that a ``cancelled`` of the dormant
  child (``parent``, ``oco``, a user cancel, an expiry, a mass cancel) must report exactly it
  as ``remaining``; the child is in no book and is not a waiting stop (``resting`` leaves it
  out). ``activated`` replaces it with the activated qty, which is the child's submitted qty
  from then on (a stop-loss then waits, a take-profit may trade or rest), and each
  ``modified`` ``parent_fill`` raises the submitted qty to its new ``qty``.
- A dormant child never trades, triggers or is modified; ``activated`` happens only to a
  dormant child, with qty = its entry's filled quantity so far (> 0), and for ``full``
  activation only once the entry has finished; ``parent_fill`` only on an activated child
  of a ``partial`` bracket, raising its qty (to the entry's filled quantity, unless a user
  modify changed the child); ``cancelled`` ``parent`` only for a dormant child whose entry
  has finished with nothing filled; ``cancelled`` ``oco`` only for a member of a pair whose
  other member had its first trade, trigger or exit earlier, and at most once per pair.
- After every command (``check_settled``): of a pair whose member has traded, triggered or
  left, the other member (the one whose first such event came later, or never) is no longer
  live; no child of an entry that has finished is still dormant (unless the entry filled
  something and its symbol is halted: activation waits for ``resume``); no child of a
  ``partial`` entry that has filled is still dormant.

Only what the events say is used: the links come from the contingent extras of ``accepted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from hypothesis import strategies as st

Cmd = dict[str, Any]
Event = dict[str, Any]
STOP_KINDS = ("stop", "stop_limit", "trailing_stop", "trailing_stop_limit")
_STPS = ["none", "none", "none", "cancel_taker", "cancel_maker", "cancel_both", "decrement"]


class _Sym(Protocol):
    name: str
    tick: Decimal
    lot: Decimal
    mid_ticks: int


class Builder(Protocol):
    """What the steps need of ``test_differential._Builder``."""

    syms: Any
    users: list[str]
    ts: int
    next_id: int
    submitted: list[tuple[str, str | int, int, str]]
    entries: list[tuple[str, str | int, int, str]]  # the brackets' entries, in submission order
    children: set[tuple[str, str | int]]  # the (user, id) of every bracket child submitted

    def num(self, units: int, unit: Decimal, style: int) -> Any: ...

    def head(self, cmd: str, p: dict[str, Any]) -> Cmd: ...

    def target(self, ref: int) -> tuple[str, str | int, int, str]: ...

    def stop_fields(self, s: Any, p: dict[str, Any], trigger: int) -> Cmd: ...


# ---------------------------------------------------------------------------------------
# strategies

_stop_terms: dict[str, st.SearchStrategy[Any]] = {
    "limit": st.integers(-2, 2),  # stop_limit: price from the trigger, + = aggressive
    "trail": st.integers(1, 3),
    "pct": st.sampled_from([None, None, None, 0, 1, 2]),
    "offset": st.integers(0, 2),
}
_resting_tif = st.sampled_from(["gtc", "gtc", "gtc", "gtc", "gtd", "gtd", "day", "ioc"])
OCO_PART = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["limit"] * 4 + ["iceberg"] + list(STOP_KINDS)),
        "off": st.sampled_from([1, 1, 2, 2, 3, 4, 0, -1]),  # limit: ticks behind the mid
        "trig": st.sampled_from([1, 1, 2, 2, 3, 4, 0]),  # stop: ticks beyond the mid
        "lots": st.integers(1, 6),
        "display": st.integers(1, 3),
        "var": st.sampled_from([None, None, 0, 1]),
        "tif": _resting_tif,
        "expire_dt": st.integers(-1, 10),
        "post_only": st.sampled_from([False] * 5 + [True]),
        "stp": st.sampled_from(_STPS),
        **_stop_terms,
    }
)
ENTRY = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["limit"] * 6 + ["market", "market", "iceberg", *STOP_KINDS]),
        "off": st.integers(-3, 3),  # limit: ticks from the mid, + = aggressive (crosses)
        "trig": st.sampled_from([1, 1, 2, 3, 0]),
        "lots": st.integers(1, 10),  # big enough to fill in several steps (partial growth)
        "display": st.integers(1, 2),
        "var": st.sampled_from([None, None, 1]),
        "tif": st.sampled_from(["gtc", "gtc", "gtc", "ioc", "fok", "gtd", "day"]),
        "expire_dt": st.integers(-1, 10),
        "post_only": st.sampled_from([False] * 6 + [True]),
        "stp": st.sampled_from(_STPS),
        **_stop_terms,
    }
)
TAKE_PROFIT = st.fixed_dictionaries(
    {
        "off": st.sampled_from([1, 2, 2, 3, 4, 0, -1]),  # ticks from the mid, profit side
        "tif": st.sampled_from(["gtc", "gtc", "gtc", "gtd", "day"]),
        "expire_dt": st.integers(0, 12),
        "post_only": st.sampled_from([False] * 4 + [True]),
        "stp": st.sampled_from(_STPS),
        "explicit_type": st.booleans(),
    }
)
STOP_LOSS = st.fixed_dictionaries(
    {
        "stype": st.sampled_from(STOP_KINDS),
        "trig": st.sampled_from([1, 1, 2, 2, 3, -1]),  # ticks from the mid, loss side
        "tif": st.sampled_from(["gtc", "gtc", "gtc", "gtd", "day"]),
        "expire_dt": st.integers(0, 12),
        "post_only": st.sampled_from([False] * 4 + [True]),
        "stp": st.sampled_from(_STPS),
        "default_type": st.booleans(),
        **_stop_terms,
    }
)
CHILDREN = st.sampled_from(["both", "both", "both", "both", "tp", "sl"])
HIT: dict[str, st.SearchStrategy[Any]] = {
    "side": st.sampled_from(["buy", "sell"]),
    "reach": st.integers(1, 4),  # ticks through the mid
    "lots": st.integers(1, 3),
    "market": st.booleans(),
    "stp": st.sampled_from(_STPS),
}
ACTIVATION = st.sampled_from([None, "full", "partial", "partial"])
N_INVALID_LIST = 28
BRACKET: dict[str, st.SearchStrategy[Any]] = {
    "side": st.sampled_from(["buy", "sell"]),
    "entry": ENTRY,
    "tp": TAKE_PROFIT,
    "sl": STOP_LOSS,
    "children": CHILDREN,
    "activation": ACTIVATION,
}
HALT_WINDOW: dict[str, st.SearchStrategy[Any]] = {
    "br": st.fixed_dictionaries(BRACKET),
    "fills": st.lists(st.integers(1, 2), max_size=3),  # IOC hits at the entry, in lots
    "expire": st.sampled_from([False, False, True]),  # a GTD entry expires in the halt
    "gap": st.integers(1, 4),
    "child_cancel": st.sampled_from([False] * 4 + [True]),
    "after": st.sampled_from([0, 0, 1, 5]),  # a GTD child may expire before the resume
}


# ---------------------------------------------------------------------------------------
# building commands


def _fresh(b: Builder, prefix: str, as_str: bool) -> str | int:
    n = b.next_id
    b.next_id += 1
    return f"{prefix}{n}" if as_str else n


def _limit_fields(b: Builder, s: _Sym, side: str, ticks: int, q: dict[str, Any], style: int) -> Cmd:
    """A limit part at ``ticks``, with the drawn tif, post-only, STP and iceberg terms."""
    c: Cmd = {"type": "limit", "price": b.num(max(1, ticks), s.tick, style)}
    lots = q["lots"]
    if q["kind"] == "iceberg":
        lots = q["display"] + q["lots"]
        c["display_qty"] = b.num(q["display"], s.lot, style)
        if q["var"] is not None:
            c["display_variance"] = b.num(q["var"], s.lot, style)
    c["qty"] = b.num(lots, s.lot, style)
    if q["tif"] != "gtc":
        c["tif"] = q["tif"]
    if q["tif"] == "gtd":
        c["expire_ts"] = b.ts + q["expire_dt"]
    if q["post_only"]:
        c["post_only"] = True
    if q["stp"] != "none":
        c["stp"] = q["stp"]
    return c


def _stop_part(b: Builder, s: _Sym, side: str, trigger: int, q: dict[str, Any], style: int) -> Cmd:
    p = dict(q, stype=q["kind"], side=side, style=style)
    return b.stop_fields(s, p, trigger)


def build_hit(b: Builder, p: dict[str, Any], user: str, s_idx: int) -> Cmd:
    """A small IOC (or market) order through the mid: fills resting entries, parts and
    take-profits a little at a time, so partial brackets grow and OCO pairs resolve."""
    c = b.head("new", p)
    s = b.syms[s_idx]
    side = p["side"]
    c.update(user=user, id=_fresh(b, "h", False), symbol=s.name, side=side)
    c["type"] = "market" if p["market"] else "limit"
    c["qty"] = b.num(p["lots"], s.lot, p["style"])
    if not p["market"]:
        sign = 1 if side == "buy" else -1
        c["price"] = b.num(max(1, s.mid_ticks + sign * p["reach"]), s.tick, p["style"])
        c["tif"] = "ioc"
    if p["stp"] != "none":
        c["stp"] = p["stp"]
    return c


def build_halt_window(b: Builder, p: dict[str, Any], user: str, s_idx: int) -> list[Cmd]:
    """A bracket whose entry rests at the mid (``bracket`` params in ``p["br"]``), a few small
    IOCs of another user at the entry's price (part fills, if nothing better is in the way:
    a partial bracket activates, then grows), halt, then the entry's cancel or a tick past
    its GTD expiry (its children stay dormant until the resume), a cancel of a child or
    nothing, then resume (the deferred activations follow ``resumed``)."""
    br = dict(p["br"], dt=p["dt"], omit_ts=False, user=p["user"], sym=p["sym"], style=0,
              ref=None, str_id=False)  # fmt: skip
    entry = dict(br["entry"], kind="limit", off=0, lots=max(2, br["entry"]["lots"]))
    entry["tif"] = "gtd" if p["expire"] else "gtc"
    entry["expire_dt"] = p["gap"]
    bracket = build_bracket(b, dict(br, entry=entry), user, s_idx)
    quiet = dict(p, dt=0, omit_ts=False)
    s = b.syms[s_idx]
    out = [bracket]
    taker = next(u for u in b.users if u != user)
    side = "sell" if bracket["side"] == "buy" else "buy"
    for lots in p["fills"]:  # the first activates a partial bracket, the next ones grow it
        out.append(dict(b.head("new", quiet), user=taker, id=_fresh(b, "h", False),
                        symbol=s.name, side=side, type="limit", tif="ioc",
                        qty=b.num(lots, s.lot, 0), price=bracket["entry"]["price"]))  # fmt: skip
    out.append(dict(b.head("halt", quiet), symbol=s.name))
    if p["expire"]:
        out.append(b.head("tick", dict(quiet, dt=p["gap"])))
    else:
        out.append(dict(b.head("cancel", quiet), user=user, id=bracket["entry"]["id"]))
    kids = [c["id"] for k in ("stop_loss", "take_profit") if (c := bracket.get(k)) is not None]
    if p["child_cancel"] and kids:
        out.append(dict(b.head("cancel", quiet), user=user, id=kids[0]))
    out.append(dict(b.head("resume", dict(quiet, dt=p["after"])), symbol=s.name))
    return out


def build_oco(b: Builder, p: dict[str, Any], user: str, s_idx: int, mid: int | None = None) -> Cmd:
    """An ``oco`` command; ``mid`` (ticks) replaces the symbol's mid (the stateful test
    passes the last trade price)."""
    c = b.head("oco", p)
    if p["ref"] is not None and b.submitted:  # a part id that may still be live
        user, first_id, s_idx, _ = b.target(p["ref"])
    else:
        first_id = _fresh(b, "c", p["str_id"])
    s = b.syms[s_idx]
    base = s.mid_ticks if mid is None else mid
    side, style = p["side"], p["style"]
    sign = 1 if side == "buy" else -1
    parts = []
    for i, q in enumerate(p["parts"]):
        oid = first_id if i == 0 else (first_id if p["same_id"] else _fresh(b, "c", p["str_id"]))
        if q["kind"] in STOP_KINDS:
            part = _stop_part(b, s, side, base + sign * q["trig"], q, style)
        else:
            part = _limit_fields(b, s, side, base - sign * q["off"], q, style)
        parts.append({"id": oid, **part})
        b.submitted.append((user, oid, s_idx, side))
    c.update(user=user, symbol=s.name, side=side, orders=parts)
    return c


def _entry_fields(b: Builder, s: _Sym, side: str, base: int, e: dict[str, Any], style: int) -> Cmd:
    sign = 1 if side == "buy" else -1
    kind = e["kind"]
    if kind in STOP_KINDS:
        return _stop_part(b, s, side, base + sign * e["trig"], e, style)
    if kind == "market":
        c: Cmd = {"type": "market", "qty": b.num(e["lots"], s.lot, style)}
        if e["tif"] == "fok":
            c["tif"] = "fok"
        if e["stp"] != "none":
            c["stp"] = e["stp"]
        return c
    q = dict(e)
    if kind == "iceberg" and e["tif"] in ("ioc", "fok"):
        q["tif"] = "gtc"
    return _limit_fields(b, s, side, base + sign * e["off"], q, style)


def build_bracket(
    b: Builder, p: dict[str, Any], user: str, s_idx: int, mid: int | None = None
) -> Cmd:
    """A ``bracket`` command around ``mid`` (ticks; the symbol's mid by default)."""
    c = b.head("bracket", p)
    if p["ref"] is not None and b.submitted:
        user, entry_id, s_idx, _ = b.target(p["ref"])
    else:
        entry_id = _fresh(b, "e", p["str_id"])
    s = b.syms[s_idx]
    base = s.mid_ticks if mid is None else mid
    side, style = p["side"], p["style"]
    other = "sell" if side == "buy" else "buy"
    sign = 1 if side == "buy" else -1
    c.update(user=user, symbol=s.name, side=side)
    c["entry"] = {"id": entry_id, **_entry_fields(b, s, side, base, p["entry"], style)}
    b.submitted.append((user, entry_id, s_idx, side))
    b.entries.append((user, entry_id, s_idx, side))
    if p["children"] in ("both", "tp"):
        t = p["tp"]
        tp: Cmd = {"id": _fresh(b, "t", p["str_id"])}
        if t["explicit_type"]:
            tp["type"] = "limit"
        tp["price"] = b.num(max(1, base + sign * t["off"]), s.tick, style)
        if t["tif"] != "gtc":
            tp["tif"] = t["tif"]
        if t["tif"] == "gtd":
            tp["expire_ts"] = b.ts + t["expire_dt"]
        if t["post_only"]:
            tp["post_only"] = True
        if t["stp"] != "none":
            tp["stp"] = t["stp"]
        c["take_profit"] = tp
        b.submitted.append((user, tp["id"], s_idx, other))
        b.children.add((user, tp["id"]))
    if p["children"] in ("both", "sl"):
        q = dict(p["sl"], lots=1, explicit_defaults=False)
        sl = {"id": _fresh(b, "l", p["str_id"])}
        sl.update(_stop_part(b, s, other, base - sign * q["trig"], dict(q, kind=q["stype"]), style))
        del sl["qty"]
        if sl["type"] == "stop" and q["default_type"]:
            del sl["type"]
        c["stop_loss"] = sl
        b.submitted.append((user, sl["id"], s_idx, other))
        b.children.add((user, sl["id"]))
    if p["activation"] is not None:
        c["activation"] = p["activation"]
    return c


def invalid_list(b: Builder, p: dict[str, Any], user: str, s: _Sym) -> Cmd:
    """Odd list commands: malformed (``bad_command``), refused at a later stage, or valid
    at an edge (a lone child, a stop_limit stop-loss, a post-only take-profit)."""
    which = p["which"]
    n = _fresh(b, "x", False)
    assert isinstance(n, int)
    mid, tick, lot = s.mid_ticks, s.tick, s.lot

    def px(ticks: int) -> str:
        return f"{(max(1, ticks) * tick).normalize():f}"

    one = f"{lot.normalize():f}"
    lim_b = {"id": n, "type": "limit", "qty": one, "price": px(mid - 3)}
    stop_b = {"id": n + 1, "type": "stop", "qty": one, "trigger_price": px(mid + 3)}
    oco: Cmd = dict(b.head("oco", p), user=user, symbol=s.name, side="buy", orders=[lim_b, stop_b])
    b.next_id += 3
    entry = {"id": n, "type": "limit", "qty": one, "price": px(mid - 3)}
    tp = {"id": n + 1, "price": px(mid + 2)}
    sl = {"id": n + 2, "trigger_price": px(mid - 5)}
    br: Cmd = dict(oco, cmd="bracket", entry=entry, take_profit=tp, stop_loss=sl)
    del br["orders"]
    t_user, t_id, _, _ = b.target(p["ref"])
    variants: list[Cmd] = [
        dict(oco, orders=[dict(lim_b, type="market", price=None), stop_b]),  # 0 market part
        dict(oco, orders=[lim_b]),  # 1 one part
        dict(oco, orders=[lim_b, dict(stop_b, user=user)]),  # 2 part carries user
        dict(oco, orders=[lim_b, dict(stop_b, id=n)]),  # 3 same ids
        dict(oco, orders=[dict(lim_b, tif="ioc"), stop_b]),  # 4 ioc part
        dict(oco, symbol="ZZZ"),  # 5 unknown_symbol
        dict(oco, orders=[lim_b, dict(stop_b, qty="0")]),  # 6 bad_qty (part 2)
        dict(oco, orders=[dict(lim_b, price="0"), dict(stop_b, qty="0")]),  # 7 bad_price
        dict(oco, orders=[dict(lim_b, price=px(mid + 6)), stop_b]),  # 8 would_trade, maybe
        dict(oco, orders=[lim_b, dict(stop_b, trigger_price=px(mid))]),  # 9 maybe triggers
        dict(oco, orders={"a": lim_b}),  # 10 not a list
        dict(oco, orders=[lim_b, dict(stop_b, id=t_id)], user=t_user),  # 11 duplicate, maybe
        dict(br, take_profit=None, stop_loss=None),  # 12 no child
        dict(br, take_profit=dict(tp, qty=one)),  # 13 child with qty
        dict(br, take_profit=dict(tp, type="stop")),  # 14 take-profit not a limit
        dict(br, stop_loss=dict(sl, type="limit", price=px(mid - 5))),  # 15 not a stop type
        dict(br, activation="sometimes"),  # 16 unknown activation
        dict(br, stop_loss=dict(sl, id=n)),  # 17 same id as the entry
        dict(br, stop_loss=dict(sl, tif="ioc")),  # 18 child tif that cannot wait
        dict(br, entry=dict(entry, side="buy")),  # 19 part carries side
        dict(br, entry="E"),  # 20 entry not an object
        dict(br, take_profit=dict(tp, display_qty=one)),  # 21 child with display_qty
        dict(br, entry=dict(entry, price=px(mid + 6), post_only=True)),  # 22 post_only, maybe
        dict(br, take_profit=dict(tp, tif="gtd", expire_ts=b.ts - 1)),  # 23 expired child
        dict(br, take_profit=None),  # 24 valid: a lone stop-loss
        dict(  # 25 valid
            br,
            stop_loss=dict(sl, type="stop_limit", price=px(mid - 6)),
            take_profit=dict(tp, post_only=True),
            activation="partial",
        ),
        dict(br, take_profit=dict(tp, qty=None, display_qty=None)),  # 26 valid: null is absent
        dict(br, stop_loss=dict(sl, display_variance="0")),  # 27 variance without display
    ]
    assert len(variants) == N_INVALID_LIST
    return variants[which % N_INVALID_LIST]


# ---------------------------------------------------------------------------------------
# checks


@dataclass
class LinkChecker:
    """The links of contingent orders, from the events; see the module docstring."""

    partner: dict[int, int] = field(default_factory=dict)  # both members of each OCO pair
    parent: dict[int, int] = field(default_factory=dict)  # child -> entry
    children: dict[int, list[int]] = field(default_factory=dict)  # entry -> children
    partial: dict[int, bool] = field(default_factory=dict)  # entry -> activation partial
    symbol: dict[int, str] = field(default_factory=dict)
    stop_type: set[int] = field(default_factory=set)  # children of a stop type
    dormant: set[int] = field(default_factory=set)
    first_event: dict[int, int] = field(default_factory=dict)  # first trade/trigger/exit
    filled: dict[int, int] = field(default_factory=dict)
    user_modified: set[int] = field(default_factory=set)
    oco_cancels: set[int] = field(default_factory=set)  # pairs (by lower order_id) resolved
    halted: set[str] = field(default_factory=set)
    seq: int = 0
    pending: dict[tuple[str, Any], int] = field(default_factory=dict)  # oco parts of a command
    last_entry: int | None = None

    def _mark(self, oid: int) -> None:
        self.seq += 1
        self.first_event.setdefault(oid, self.seq)

    def accepted(self, ev: Event) -> None:
        oid = ev["order_id"]
        self.symbol[oid] = ev["symbol"]
        if "activation" in ev:
            self.partial[oid] = ev["activation"] == "partial"
            self.children[oid] = []
            self.last_entry = oid
        if "parent" in ev:
            assert self.last_entry is not None, f"a child without its entry: {ev}"
            self.parent[oid] = self.last_entry
            self.children[self.last_entry].append(oid)
            self.dormant.add(oid)
            if ev["order_type"] != "limit":
                self.stop_type.add(oid)
        if "oco" in ev:
            other = self.pending.pop((ev["user"], ev["oco"]), None)
            if other is None:
                self.pending[(ev["user"], ev["id"])] = oid
            else:
                self.partner[oid] = other
                self.partner[other] = oid

    def activated(self, ev: Event, qty: int, live: dict[int, int]) -> bool:
        """Checks an ``activated`` event; True if the child is a stop-loss (it now waits)."""
        oid = ev["order_id"]
        assert oid in self.dormant, f"activated a child that is not dormant: {ev}"
        self.dormant.discard(oid)
        entry = self.parent[oid]
        assert qty == self.filled.get(entry, 0) > 0, f"activated with {qty}, entry filled " \
            f"{self.filled.get(entry, 0)}: {ev}"
        if not self.partial[entry]:
            assert live.get(entry, 0) == 0, f"full activation of an unfinished entry: {ev}"
        return oid in self.stop_type

    def trade(self, ev: Event, qty: int) -> None:
        for role in ("maker", "taker"):
            oid = ev[role]["order_id"]
            assert oid not in self.dormant, f"{role} {oid} is a dormant child: {ev}"
            self.filled[oid] = self.filled.get(oid, 0) + qty
            self._mark(oid)

    def triggered(self, ev: Event) -> None:
        assert ev["order_id"] not in self.dormant, f"a dormant child triggered: {ev}"
        self._mark(ev["order_id"])

    def cancelled(self, ev: Event, live: dict[int, int]) -> None:
        oid, reason = ev["order_id"], ev["reason"]
        if reason == "parent":
            assert oid in self.dormant, f"parent cancel of a child that is not dormant: {ev}"
            entry = self.parent[oid]
            assert live.get(entry, 0) == 0 and self.filled.get(entry, 0) == 0, ev
        if reason == "oco":
            other = self.partner.get(oid)
            assert other is not None, f"oco cancel of an order in no pair: {ev}"
            assert other in self.first_event, f"oco cancel, but {other} has done nothing: {ev}"
            mine = self.first_event.get(oid)
            assert mine is None or self.first_event[other] < mine, ev
            pair = min(oid, other)
            assert pair not in self.oco_cancels, f"second oco cancel in one pair: {ev}"
            self.oco_cancels.add(pair)
        self.dormant.discard(oid)
        self._mark(oid)

    def modified(self, ev: Event, old: int, new: int, live: dict[int, int]) -> None:
        oid = ev["order_id"]
        assert oid not in self.dormant, f"modified a dormant child: {ev}"
        if ev.get("reason") != "parent_fill":
            if ev.get("reason") is None:
                self.user_modified.add(oid)
            return
        entry = self.parent.get(oid)
        assert entry is not None and self.partial[entry], f"parent_fill of no partial child: {ev}"
        assert new > old, f"parent_fill does not raise {old}: {ev}"
        assert oid not in self.first_event, f"a child grew after its first trade/trigger: {ev}"
        if oid not in self.user_modified:
            assert new == self.filled[entry], f"grown to {new}, entry filled {self.filled[entry]}"

    def session(self, ev: Event) -> None:
        if ev["type"] == "halted":
            self.halted.add(ev["symbol"])
        elif ev["type"] == "resumed":
            self.halted.discard(ev["symbol"])

    def check_settled(self, live: dict[int, int]) -> None:
        """After a command: every OCO pair resolved as it should, no child left dormant."""
        self.pending.clear()
        self.last_entry = None
        for oid, other in self.partner.items():
            mine, theirs = self.first_event.get(oid), self.first_event.get(other)
            if theirs is not None and (mine is None or theirs < mine):
                assert oid not in live, f"{oid} still live after {other} traded, triggered or left"
        for entry, kids in self.children.items():
            asleep = [k for k in kids if k in self.dormant]
            if not asleep:
                continue
            filled = self.filled.get(entry, 0)
            if entry in live:
                assert not (self.partial[entry] and filled), f"{asleep} dormant, {entry} filled"
            elif filled == 0:
                raise AssertionError(f"{asleep} dormant after {entry} finished unfilled")
            else:
                assert self.symbol[entry] in self.halted, f"{asleep} dormant after {entry} filled"
