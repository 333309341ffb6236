"""Stateful property test: a Hypothesis state machine drives the fast engine and the reference.

Where ``test_differential`` draws a whole command stream up front, this machine chooses every
command from the state the exchange is in right now: cancels and modifies mostly target orders
that are live at that moment (read from the machine's model of live ``(user, id)`` pairs, kept
from the events), now and then an order of another user, a dead one or one that never existed;
new orders now and then reuse an id drawn from the ``ids`` bundle of every accepted order (a
``duplicate_id`` while that order is live, a fresh order once it is gone). Stops of every type
are placed a few ticks beyond the last trade price (read from the events), and a rule walks
that price up and down a few ticks at a time, so waiting stops trigger, release and cascade;
cancels aim at waiting stops like at any live order (a modify of one is ``unknown_order``).
Icebergs (a small display, some with a variance, post-only or any STP mode) rest at and
around the touch, so that the aggressive rules eat through their slices and refills, STP
decrements meet them, and cancels and modifies (qty down keeps priority, up or repriced
rests a fresh slice) aim at them like at any live order. ``oco`` pairs and ``bracket`` orders
(``contingent_flows``) are placed around the last trade price, so the walks of the price fill
entries, trigger stop parts and stop-losses and resolve the pairs; their parts and children go
to the ``ids`` bundle, so cancels and modifies aim at dormant children too (a modify of one is
``unknown_order``), and odd list commands (malformed, refused at each stage) come along.

Each command goes to ``hftbook.core.exchange.Exchange`` and to
``hftbook.core.reference.ReferenceExchange``; after every rule both must have produced the
same events (ignoring the free-text ``message``) and every trade must print at its maker's
resting price. The invariants, checked after every step, reuse the differential test's
checkers: books never crossed, no empty level, no non-positive resting quantity, stored level
totals and counts equal to their orders, best prices equal to the extreme live levels, levels
(FIFO order of order ids and visible quantities) equal to the reference's, icebergs' hidden
parts and generators equal to the reference's, per-order quantity conservation from the
events (submitted = filled + resting visible and hidden + waiting + cancelled, with user
modifies and STP decrements; a waiting stop is live but in no book; a dormant bracket child is
live, in no book, its qty potential until ``activated``), the links of contingent orders
(``contingent_flows.LinkChecker``: OCO pairs resolved after every command, no child left dormant
once its entry has finished or, partial, filled, unless a halt defers it), the machine's live
model equal to the engine's live registry (waiting stops and dormant children included), and
time moving forward only. A rule (not every step, to stay fast) checks that a snapshot restores to
the same state hash and carries every resting iceberg (hidden part and generator included);
every other time the machine carries on with the restored exchange.

On a failure the message holds the command stream so far as JSON lines (a scenario file).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from contingent_flows import BRACKET, N_INVALID_LIST, OCO_PART, build_bracket, build_oco, invalid_list
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)
from test_differential import (
    N_INVALID,
    STOP_TYPES,
    SYMBOL_CONFIGS,
    USERS,
    _Builder,
    _canon,
    _check_books,
    _check_trade_prices,
    _dump,
    _fast_icebergs,
    _fast_prices,
    _Sym,
    _Tracker,
)

from hftbook.core.exchange import Exchange
from hftbook.core.reference import ReferenceExchange

Cmd = dict[str, Any]
Event = dict[str, Any]
Cid = str | int
Key = tuple[str, Cid]  # (user, client order id)

# Two symbols with different tick and lot scales: AAA (0.01, 1, mid 100), BBB (0.5, 0.1, mid 50).
_CONFIGS = SYMBOL_CONFIGS[:2]
_SYMS = [
    _Sym(name, Decimal(tick), Decimal(lot), int(Decimal(mid) / Decimal(tick)))
    for name, tick, lot, mid in _CONFIGS
]
_STPS = ["none", "none", "cancel_taker", "cancel_maker", "cancel_both", "decrement"]
_TIFS = ["gtc", "gtc", "gtc", "ioc", "fok", "gtd", "gtd", "day"]
_RESTING_TIFS = ("gtc", "gtd", "day")
_UNKNOWN_IDS: list[Cid] = [999_999_999, "nope", -7]

_user = st.integers(0, len(USERS) - 1)
_sym = st.integers(0, len(_SYMS) - 1)
_side = st.sampled_from(["buy", "sell"])
_dt = st.sampled_from([0, 0, 1, 1, 2, 3])
_style = st.integers(0, 3)  # number encoding, see _Builder.num
_limit_params = st.fixed_dictionaries(
    {
        "sym": _sym,
        "side": _side,
        "off": st.integers(-2, 2),  # price in ticks from the symbol's mid: orders cross often
        "lots": st.integers(1, 5),
        "tif": st.sampled_from(_TIFS),
        "expire_dt": st.sampled_from([4, 1, 2, 3, 6, 8, 0, -1]),  # from the command's ts
        "post_only": st.sampled_from([False, False, False, True]),
        "stp": st.sampled_from(_STPS),
        "style": _style,
        "dt": _dt,
    }
)
_stop_params = st.fixed_dictionaries(
    {
        "sym": _sym,
        "side": _side,
        "stype": st.sampled_from(STOP_TYPES),
        # trigger in ticks beyond the last trade price (the mid before any), on the side
        # where the stop waits (above it for a buy); 0 and -1 are `stop_would_trigger`
        "trig": st.sampled_from([1, 1, 2, 1, 3, 0, -1]),
        "limit": st.integers(-2, 2),  # stop_limit: price from the trigger, + = aggressive
        "trail": st.integers(1, 3),  # trailing: amount in ticks, or the percent for it
        "pct": st.sampled_from([None, None, None, 0, 1, 2]),
        "offset": st.integers(0, 2),  # trailing_stop_limit: limit_offset in ticks
        "lots": st.integers(1, 5),
        "tif": st.sampled_from(_TIFS),
        "expire_dt": st.sampled_from([4, 1, 2, 3, 6, 8, 0, -1]),
        "post_only": st.sampled_from([False, False, False, True]),
        "stp": st.sampled_from(_STPS),
        "style": _style,
        "dt": _dt,
    }
)
# Iceberg terms in lots: qty = display + hidden; a variance of 1 or 2 with a display of 1
# is ``bad_qty``; ``tif`` replaces the limit params' tif (IOC / FOK are ``bad_command``).
_ice_params = st.fixed_dictionaries(
    {
        "display": st.integers(1, 3),
        "hidden": st.integers(0, 10),
        "var": st.sampled_from([None, None, 0, 1, 2]),
        "tif": st.sampled_from(["gtc", "gtc", "gtc", "gtd", "day", "ioc"]),
        "depth": st.sampled_from([0, 0, 1, 2, None]),  # ticks behind the touch; None: as drawn
    }
)
_oco_params = st.fixed_dictionaries(
    {
        "side": _side,
        "parts": st.tuples(OCO_PART, OCO_PART),
        "same_id": st.sampled_from([False] * 19 + [True]),
        "str_id": st.booleans(),
        "style": _style,
        "dt": _dt,
    }
)
_bracket_params = st.fixed_dictionaries(
    {**BRACKET, "str_id": st.booleans(), "style": _style, "dt": _dt}
)
# Which order a cancel or modify goes to; shrinking moves towards "live".
_TARGETS = st.sampled_from(["live"] * 7 + ["other_user", "stale", "unknown"])


class ExchangeMachine(RuleBasedStateMachine):
    """Both exchanges fed the same commands; the model of live orders comes from the events."""

    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.fast = Exchange()
        self.ref = ReferenceExchange()
        self.tracker = _Tracker()
        self.ticks: dict[str, Decimal] = {}
        self.lots: dict[str, Decimal] = {}
        self.ts = 0
        self.last_ts = 0
        self.next_id = 1
        self.cmds: list[Cmd] = []
        self.owner: dict[int, Key] = {}  # engine order_id -> (user, id)
        self.placed: dict[int, int] = {}  # engine order_id -> symbol index
        self.accepted: list[Key] = []  # every accepted (user, id), oldest first
        self.halted: set[str] = set()
        self.last_trade: dict[str, Decimal] = {}  # symbol -> last trade price, from the events
        self.snapshots = 0
        # Builds the odd (mostly malformed) commands and encodes numbers; its `submitted`
        # list is kept in step with the orders sent, so its commands can aim at them.
        self.builder = _Builder(list(_SYMS), list(USERS))
        self.builder.next_id = 10**6
        for name, tick, lot, _mid in _CONFIGS:
            self.send({"cmd": "instrument", "ts": 0, "symbol": name, "tick_size": tick,
                       "lot_size": lot})  # fmt: skip

    # -- plumbing ----------------------------------------------------------------------

    def send(self, cmd: Cmd) -> list[Event]:
        """Apply one command to both exchanges, compare their events, update the model."""
        before = _fast_prices(self.fast)
        self.cmds.append(cmd)
        got = self.fast.apply(copy.deepcopy(cmd))
        want = self.ref.apply(copy.deepcopy(cmd))
        where = f"after command #{len(self.cmds) - 1}"
        if _canon(got) != _canon(want):
            raise AssertionError(
                f"fast engine and reference differ {where}\n"
                f"commands:\n{_dump(self.cmds)}\n"
                "reference:\n" + "\n".join(_canon(want)) + "\n"
                "fast:\n" + "\n".join(_canon(got))
            )
        if cmd.get("cmd") == "instrument" and all(ev["type"] != "rejected" for ev in got):
            self.ticks[cmd["symbol"]] = Decimal(cmd["tick_size"])
            self.lots[cmd["symbol"]] = Decimal(cmd["lot_size"])
        with self.showing_commands():
            _check_trade_prices(got, before, self.ticks, self.tracker, where)
        self.tracker.feed(got, self.lots, self.ticks)
        for ev in got:
            if ev["type"] == "accepted":
                key = (ev["user"], ev["id"])
                sym = next(i for i, s in enumerate(_SYMS) if s.name == ev["symbol"])
                self.owner[ev["order_id"]] = key
                self.placed[ev["order_id"]] = sym
                self.accepted.append(key)
            elif ev["type"] == "trade":
                self.last_trade[ev["symbol"]] = Decimal(ev["price"])
            elif ev["type"] == "halted":
                self.halted.add(ev["symbol"])
            elif ev["type"] == "resumed":
                self.halted.discard(ev["symbol"])
        return got

    @contextmanager
    def showing_commands(self) -> Iterator[None]:
        """Add the command stream so far (a scenario file) to a failing check's message."""
        try:
            yield
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ncommands:\n{_dump(self.cmds)}") from exc

    def stamp(self, cmd: str, dt: int, omit_ts: bool = False) -> Cmd:
        """A command at the machine's time, advanced by dt first; with omit_ts the command
        carries no ts and so takes the previous command's (dt is then ignored)."""
        if omit_ts:
            return {"cmd": cmd}
        self.ts += dt
        return {"cmd": cmd, "ts": self.ts}

    def fresh_id(self, as_str: bool) -> Cid:
        n = self.next_id
        self.next_id += 1
        return f"o{n}" if as_str else n

    def live(self) -> list[tuple[int, Key]]:
        """(order_id, (user, id)) of every live order, in acceptance order."""
        return [(oid, self.owner[oid]) for oid in sorted(self.tracker.open)]

    def pick_target(self, data: st.DataObject, kind: str) -> tuple[Key, int]:
        """A (user, id) for a cancel or modify, and the index of the symbol it is on (drawn
        when the target is not a live order)."""
        live = self.live()
        if kind == "stale" and self.accepted:
            key = data.draw(st.sampled_from(self.accepted), label="stale")
        elif kind == "unknown" or not live:
            cid = data.draw(st.sampled_from(_UNKNOWN_IDS), label="unknown id")
            key = (USERS[data.draw(_user, label="user")], cid)
        else:
            oid, key = data.draw(st.sampled_from(live), label="live order")
            if kind == "other_user":
                others = [u for u in USERS if u != key[0]]
                key = (data.draw(st.sampled_from(others), label="other user"), key[1])
            return key, self.placed[oid]
        return key, data.draw(_sym, label="symbol")

    def new_limit_cmd(self, user: str, cid: Cid, p: dict[str, Any]) -> Cmd:
        s = _SYMS[p["sym"]]
        c = self.stamp("new", p["dt"])
        c.update(user=user, id=cid, symbol=s.name, side=p["side"], type="limit")
        c["qty"] = self.builder.num(p["lots"], s.lot, p["style"])
        c["price"] = self.builder.num(s.mid_ticks + p["off"], s.tick, p["style"])
        tif = p["tif"]
        if tif != "gtc":
            c["tif"] = tif
        if tif == "gtd":
            c["expire_ts"] = self.ts + p["expire_dt"]
        if p["post_only"] and tif in _RESTING_TIFS:
            c["post_only"] = True
        if p["stp"] != "none":
            c["stp"] = p["stp"]
        return c

    def submit(self, cmd: Cmd) -> Any:
        """Send a new order; its (user, id) goes to the `ids` bundle if it was accepted."""
        self.builder.submitted.append(
            (cmd["user"], cmd["id"], next(i for i, s in enumerate(_SYMS) if s.name == cmd["symbol"]),
             cmd["side"])
        )  # fmt: skip
        events = self.send(cmd)
        if any(ev["type"] == "accepted" for ev in events):
            return (cmd["user"], cmd["id"])
        return multiple()

    # -- new orders ----------------------------------------------------------------------

    @initialize(
        target=ids,
        seeds=st.lists(
            st.tuples(_user, _sym, _side, st.integers(0, 2), st.integers(1, 5)), min_size=2, max_size=12
        ),
    )
    def seed_books(self, seeds: list[tuple[int, int, str, int, int]]) -> Any:
        """Start with some liquidity on both sides, a tick or so around the mid."""
        keys = []
        for user, sym, side, depth, lots in seeds:
            s = _SYMS[sym]
            c = self.stamp("new", 0)
            c.update(user=USERS[user], id=self.fresh_id(False), symbol=s.name, side=side,
                     type="limit", qty=self.builder.num(lots, s.lot, 0),
                     price=self.builder.num(s.mid_ticks + (-1 - depth if side == "buy" else depth),
                                            s.tick, 0))  # fmt: skip
            key = self.submit(c)
            if isinstance(key, tuple):
                keys.append(key)
        return multiple(*keys)

    @rule(target=ids, user=_user, p=_limit_params, str_id=st.booleans())
    def new_limit(self, user: int, p: dict[str, Any], str_id: bool) -> Any:
        """Any limit order: every tif (gtd relative to now, expired ones too), post-only,
        every STP mode, priced on either side of the mid."""
        return self.submit(self.new_limit_cmd(USERS[user], self.fresh_id(str_id), p))

    @rule(
        target=ids,
        user=_user,
        p=_limit_params,
        depth=st.integers(0, 2),
        tif=st.sampled_from(["gtc", "gtc", "gtd", "day"]),
    )
    def new_resting_limit(self, user: int, p: dict[str, Any], depth: int, tif: str) -> Any:
        """A passive order at or just behind the touch: builds queues for the takers."""
        p = dict(p, tif=tif, off=-1 - depth if p["side"] == "buy" else depth)
        return self.submit(self.new_limit_cmd(USERS[user], self.fresh_id(False), p))

    @rule(
        target=ids,
        user=_user,
        p=_limit_params,
        reach=st.integers(1, 3),
        lots=st.integers(2, 10),
        tif=st.sampled_from(["gtc", "ioc", "fok"]),
    )
    def new_aggressive_limit(
        self, user: int, p: dict[str, Any], reach: int, lots: int, tif: str
    ) -> Any:
        """A bigger order priced through the mid: sweeps levels, or rests at a crossing price."""
        p = dict(p, tif=tif, lots=lots, off=reach if p["side"] == "buy" else -reach)
        return self.submit(self.new_limit_cmd(USERS[user], self.fresh_id(True), p))

    @rule(target=ids, user=_user, p=_limit_params, ice=_ice_params, str_id=st.booleans())
    def new_iceberg(self, user: int, p: dict[str, Any], ice: dict[str, Any], str_id: bool) -> Any:
        """An iceberg, mostly passive at or just behind the touch (so takers meet its slices),
        else priced like any limit order (it may cross and rest its first slice)."""
        p = dict(p, tif=ice["tif"], lots=ice["display"] + ice["hidden"])
        if ice["depth"] is not None:
            p["off"] = -1 - ice["depth"] if p["side"] == "buy" else ice["depth"]
        c = self.new_limit_cmd(USERS[user], self.fresh_id(str_id), p)
        s = _SYMS[p["sym"]]
        c["display_qty"] = self.builder.num(ice["display"], s.lot, p["style"])
        if ice["var"] is not None:
            c["display_variance"] = self.builder.num(ice["var"], s.lot, p["style"])
        return self.submit(c)

    @rule(target=ids, old=ids, p=_limit_params)
    def new_limit_reusing_id(self, old: Key, p: dict[str, Any]) -> Any:
        """An id used before: `duplicate_id` while that order is live, accepted once gone."""
        return self.submit(self.new_limit_cmd(old[0], old[1], p))

    @rule(
        target=ids,
        user=_user,
        sym=_sym,
        side=_side,
        lots=st.integers(1, 8),
        fok=st.sampled_from([False, False, True]),
        stp=st.sampled_from(_STPS),
        style=_style,
        dt=_dt,
    )
    def new_market(
        self, user: int, sym: int, side: str, lots: int, fok: bool, stp: str, style: int, dt: int
    ) -> Any:
        s = _SYMS[sym]
        c = self.stamp("new", dt)
        c.update(user=USERS[user], id=self.fresh_id(False), symbol=s.name, side=side,
                 type="market", qty=self.builder.num(lots, s.lot, style))  # fmt: skip
        if fok:
            c["tif"] = "fok"
        if stp != "none":
            c["stp"] = stp
        return self.submit(c)

    def new_stop_cmd(self, user: str, cid: Cid, p: dict[str, Any]) -> Cmd:
        s = _SYMS[p["sym"]]
        last = self.last_trade.get(s.name)
        near = s.mid_ticks if last is None else int(last / s.tick)
        c = self.stamp("new", p["dt"])
        c.update(user=user, id=cid, symbol=s.name, side=p["side"])
        self.builder.ts = self.ts  # gtd expiries are relative to the builder's time
        sign = 1 if p["side"] == "buy" else -1
        c.update(self.builder.stop_fields(s, p, near + sign * p["trig"]))
        return c

    @rule(target=ids, user=_user, p=_stop_params, str_id=st.booleans())
    def new_stop(self, user: int, p: dict[str, Any], str_id: bool) -> Any:
        """A stop, stop-limit or trailing stop, its trigger a few ticks from the last trade
        price: rejected ``stop_would_trigger`` on the wrong side, else it waits for the
        prints that reach it. Every tif, post-only (valid or not), every STP."""
        return self.submit(self.new_stop_cmd(USERS[user], self.fresh_id(str_id), p))

    @rule(target=ids, old=ids, p=_stop_params)
    def new_stop_reusing_id(self, old: Key, p: dict[str, Any]) -> Any:
        """A stop with an id used before (a waiting stop's too): ``duplicate_id`` while live."""
        return self.submit(self.new_stop_cmd(old[0], old[1], p))

    def list_command(
        self, kind: str, user: int, sym: int, p: dict[str, Any], reuse: Key | None = None
    ) -> Any:
        """An ``oco`` or ``bracket`` around the last trade price (the mid before any); with
        ``reuse`` its first part or entry takes that (user, id). Every accepted part goes to
        the `ids` bundle."""
        s = _SYMS[sym]
        last = self.last_trade.get(s.name)
        mid = s.mid_ticks if last is None else int(last / s.tick)
        self.builder.ts = self.ts
        q = dict(p, ref=None, omit_ts=False, user=user, sym=sym)
        build = build_oco if kind == "oco" else build_bracket
        c = build(self.builder, q, USERS[user], sym, mid)
        self.ts = self.builder.ts
        if reuse is not None:
            c["user"] = reuse[0]
            (c["orders"][0] if kind == "oco" else c["entry"])["id"] = reuse[1]
        events = self.send(c)
        return multiple(*[(ev["user"], ev["id"]) for ev in events if ev["type"] == "accepted"])

    @rule(
        target=ids,
        data=st.data(),
        kind=st.sampled_from(["bracket", "bracket", "oco"]),
        user=_user,
        sym=_sym,
        reuse=st.sampled_from([False] * 7 + [True]),
    )
    def new_list(self, data: st.DataObject, kind: str, user: int, sym: int, reuse: bool) -> Any:
        """An oco (two linked parts: limit, iceberg or any stop type, on one side) or a bracket
        (an entry of any kind with a take-profit and/or a stop-loss, full or partial) around
        the last price; now and then its first part or entry reuses an id accepted before
        (``duplicate_id`` while that order is live, a dormant child's included). One rule for
        both, its parameters drawn only for the kind chosen, to keep the steps cheap."""
        p = data.draw(_oco_params if kind == "oco" else _bracket_params, label="params")
        old = None
        if reuse and self.accepted:
            old = data.draw(st.sampled_from(self.accepted), label="reused id")
        return self.list_command(kind, user, sym, p, reuse=old)

    @rule(
        target=ids,
        sym=_sym,
        step=st.sampled_from([1, -1, 2, -2, 0, 3, -3]),
        lots=st.integers(1, 3),
        maker=_user,
        taker_stp=st.sampled_from(_STPS),
        dt=_dt,
    )
    def move_price(
        self, sym: int, step: int, lots: int, maker: int, taker_stp: str, dt: int
    ) -> Any:
        """Walk the last trade price: a maker rests `step` ticks from it and another user
        takes that level at once (IOC), so a print lands there (or on the way) and the
        stops waiting nearby trigger, releases and cascades follow."""
        s = _SYMS[sym]
        last = self.last_trade.get(s.name)
        price = max(1, (s.mid_ticks if last is None else int(last / s.tick)) + step)
        maker_side = "sell" if step >= 0 else "buy"
        taker_side = "buy" if step >= 0 else "sell"
        keys = []
        for user, side, tif in ((USERS[maker], maker_side, "gtc"),
                                (USERS[(maker + 1) % len(USERS)], taker_side, "ioc")):  # fmt: skip
            c = self.stamp("new", dt if tif == "gtc" else 0)
            c.update(user=user, id=self.fresh_id(False), symbol=s.name, side=side,
                     type="limit", qty=self.builder.num(lots, s.lot, 0),
                     price=self.builder.num(price, s.tick, 0))  # fmt: skip
            if tif == "ioc":
                c["tif"] = "ioc"
                if taker_stp != "none":
                    c["stp"] = taker_stp
            key = self.submit(c)
            if isinstance(key, tuple):
                keys.append(key)
        return multiple(*keys)

    # -- changing live orders ------------------------------------------------------------

    @rule(data=st.data(), kind=_TARGETS, dt=_dt)
    def cancel(self, data: st.DataObject, kind: str, dt: int) -> None:
        (user, cid), _sym_idx = self.pick_target(data, kind)
        c = self.stamp("cancel", dt)
        c.update(user=user, id=cid)
        self.send(c)

    @rule(
        data=st.data(),
        kind=_TARGETS,
        what=st.sampled_from(["qty", "price", "both"]),
        off=st.integers(-3, 3),
        lots=st.integers(1, 8),
        style=_style,
        dt=_dt,
    )
    def modify(
        self, data: st.DataObject, kind: str, what: str, off: int, lots: int, style: int, dt: int
    ) -> None:
        """Lower or raise the quantity, reprice (across the spread too), or both."""
        (user, cid), sym = self.pick_target(data, kind)
        s = _SYMS[sym]
        c = self.stamp("modify", dt)
        c.update(user=user, id=cid)
        if what in ("price", "both"):
            c["price"] = self.builder.num(s.mid_ticks + off, s.tick, style)
        if what in ("qty", "both"):
            c["qty"] = self.builder.num(lots, s.lot, style)
        self.send(c)

    @rule(user=_user, sym=st.one_of(st.none(), _sym), dt=_dt, omit_ts=st.booleans())
    def cancel_all(self, user: int, sym: int | None, dt: int, omit_ts: bool) -> None:
        c = self.stamp("cancel_all", dt, omit_ts)
        c["user"] = USERS[user]
        if sym is not None:
            c["symbol"] = _SYMS[sym].name
        self.send(c)

    # -- time and trading state ----------------------------------------------------------

    @rule(dt=_dt)
    def end_of_day(self, dt: int) -> None:
        self.send(self.stamp("end_of_day", dt))

    @rule(dt=st.integers(0, 12))
    def tick(self, dt: int) -> None:
        self.send(self.stamp("tick", dt))

    @rule(sym=_sym, act=st.integers(0, 5), dt=_dt)
    def halt_or_resume(self, sym: int, act: int, dt: int) -> None:
        """Resumes a halted symbol (5 in 6), halts a running one (1 in 2); otherwise repeats
        its current state (`bad_state`). Halts stay short: most steps trade."""
        name = _SYMS[sym].name
        halted = name in self.halted
        change = act < 5 if halted else act < 3
        c = self.stamp("resume" if halted == change else "halt", dt)
        c["symbol"] = name
        self.send(c)

    # -- queries and odd commands ----------------------------------------------------------

    @rule(
        metrics=st.booleans(),
        sym=_sym,
        n=st.one_of(st.none(), st.integers(1, 3)),
        dt=st.sampled_from([0, 0, 1]),
        omit_ts=st.booleans(),
    )
    def query(self, metrics: bool, sym: int, n: int | None, dt: int, omit_ts: bool) -> None:
        c = self.stamp("metrics" if metrics else "book", dt, omit_ts)
        c["symbol"] = _SYMS[sym].name
        if n is not None:
            c["levels" if metrics else "depth"] = n
        self.send(c)

    @rule(
        which=st.integers(0, N_INVALID - 1),
        user=_user,
        sym=_sym,
        ref=st.integers(0, 40),
        style=_style,
    )
    def odd_command(self, which: int, user: int, sym: int, ref: int, style: int) -> None:
        """One of the differential test's odd commands (bad fields, bad numbers, unsupported
        types, unknown symbols and ids, instrument redefinitions), at the current time."""
        self.builder.ts = self.ts
        p = {"dt": 0, "omit_ts": False, "user": user, "sym": sym, "style": style, "which": which,
             "ref": ref}  # fmt: skip
        self.send(self.builder.build("invalid", p))

    @rule(which=st.integers(0, N_INVALID_LIST - 1), user=_user, sym=_sym, ref=st.integers(0, 40))
    def odd_list_command(self, which: int, user: int, sym: int, ref: int) -> None:
        """One of the differential test's odd ``oco`` / ``bracket`` commands."""
        self.builder.ts = self.ts
        p = {"dt": 0, "omit_ts": False, "user": user, "sym": sym, "style": 0, "which": which,
             "ref": ref}  # fmt: skip
        self.send(invalid_list(self.builder, p, USERS[user], _SYMS[sym]))

    @rule()
    def snapshot_round_trip(self) -> None:
        """A restored snapshot has the same state hash. Every other time the machine goes on
        with the restored exchange (through JSON), which must keep matching the reference."""
        want = self.fast.state_hash()
        assert Exchange.restore(self.fast.snapshot()).state_hash() == want
        carried = {
            o["order_id"]: tuple(o["iceberg"][k] for k in ("display", "variance", "reserve", "rng"))
            for o in self.fast.snapshot()["orders"]
            if o.get("iceberg") is not None
        }
        assert carried == _fast_icebergs(self.fast), carried
        self.snapshots += 1
        if self.snapshots % 2:
            restored = Exchange.restore(json.loads(json.dumps(self.fast.snapshot())))
            assert restored.state_hash() == want
            self.fast = restored

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def books_sound_and_equal_to_reference(self) -> None:
        """Not crossed, no empty level, positive quantities, level totals and counts, best
        prices, FIFO queues equal to the reference's; resting quantities equal to what the
        events leave open for every order (quantity conservation)."""
        where = f"after command #{len(self.cmds) - 1}"
        with self.showing_commands():
            resting = _check_books(self.fast, self.ref, where)
            assert resting == self.tracker.resting(), (
                f"{where}: book quantities {resting} != quantities from events "
                f"{self.tracker.resting()}"
            )

    @invariant()
    def live_model_matches_engine(self) -> None:
        """The (user, id) pairs and order ids the events leave live are the engine's live
        registry (the one cancels, modifies and duplicate checks look up)."""
        live = {(user, cid) for user, orders in self.fast.live.items() for cid in orders}
        oids = {o.oid for orders in self.fast.live.values() for o in orders.values()}
        with self.showing_commands():
            assert live == {key for _oid, key in self.live()}, (live, self.live())
            assert oids == set(self.tracker.open), (oids, self.tracker.open)

    @invariant()
    def clock_moves_forward_with_the_commands(self) -> None:
        """The engine's clock is the machine's: never moved back, not moved by a bad ts."""
        assert self.ts >= self.last_ts
        self.last_ts = self.ts
        assert self.fast.now == self.ts, (self.fast.now, self.ts)


# Each example is a run of up to 50 steps (~25 ms with full book checks after every step):
# twice the profile's examples takes ~15 s under the default profile on a 2-core machine.
_BASE = settings()
TestExchangeStateMachine = ExchangeMachine.TestCase
TestExchangeStateMachine.settings = settings(
    _BASE, max_examples=2 * _BASE.max_examples, stateful_step_count=50
)
