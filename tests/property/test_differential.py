"""Differential property test: the fast engine against the naive reference exchange.

Random command streams (1-2 symbols, 2-3 users, prices clustered around a mid so that orders
cross often; stop, stop-limit and trailing stops with their trigger levels a few ticks from
the mid, so that the trades trigger them and their releases cascade; icebergs with a small
display, some with a variance, so that takers eat several slices and STP meets refills;
``oco`` pairs and ``bracket`` orders, see ``contingent_flows``) are fed to
``hftbook.core.exchange.Exchange`` and to ``hftbook.core.reference.ReferenceExchange``.
After every command:

- both produced the same events, key order included, ignoring only the free-text
  ``message`` of rejections;
- the fast engine's books hold the invariants: never crossed, no empty level, no
  non-positive resting quantity, stored level totals and counts equal to their orders, best
  prices equal to the extreme live levels, and levels (prices, FIFO order of order ids and
  visible quantities) identical to the reference's; every resting iceberg's terms, hidden
  quantity and generator state equal to the reference's, its visible slice at most
  display + variance;
- every trade printed at its maker's resting price (as the fast book held it before the
  command, or as the events of the command put it there: an order that rested, was
  repriced or was released as a limit earlier in the same command) and never through the
  taker's limit (a released trailing stop-limit's limit is its trigger level -/+ offset);
- quantity is conserved per order: submitted qty (adjusted by user modifies) = filled +
  cancelled (incl. STP decrements) + resting (an iceberg's visible slice plus its hidden
  part) + waiting (an untriggered stop is live but not in the book; ``triggered`` changes
  no quantity), as read from the events and the fast book. A dormant bracket child's qty is
  potential, not submitted: it only has to come back whole as the ``remaining`` of its
  cancel; ``activated`` submits the activated qty and a ``parent_fill`` growth adds to it
  (see ``contingent_flows``);
- the links of contingent orders hold (``contingent_flows.LinkChecker``): dormant children
  never trade, trigger or rest; activation, growth and the ``parent`` and ``oco`` cancels
  happen only as the protocol allows; after every command each OCO pair that has seen a
  trade, trigger or exit of one member no longer has the other live, and no child of a
  finished (or, partial, filled) entry is still dormant unless a halt defers it;
- an iceberg refill (``maker_refill`` on a trade, ``refill`` on an STP ``modified``) comes
  only from an iceberg, is 1 .. display + variance and no more than the order has left.

On a failure the message holds the command stream up to the failing command as JSON lines,
ready to become a scenario file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from contingent_flows import (
    BRACKET,
    HALT_WINDOW,
    HIT,
    N_INVALID_LIST,
    OCO_PART,
    LinkChecker,
    build_bracket,
    build_halt_window,
    build_hit,
    build_oco,
    invalid_list,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_flows import KILL, LIMITS, RISK_INSTRUMENT, build_kill_switch, build_limits, build_risk_instrument

from hftbook.core.exchange import Exchange
from hftbook.core.reference import ReferenceExchange

Cmd = dict[str, Any]
Event = dict[str, Any]

# (symbol, tick, lot, mid): varied tick/lot scales, decimal and integer ticks.
SYMBOL_CONFIGS: list[tuple[str, str, str, str]] = [
    ("AAA", "0.01", "1", "100"),
    ("BBB", "0.5", "0.1", "50"),
    ("CCC", "5", "10", "1000"),
    ("DDD", "0.25", "0.001", "20"),
]
USERS = ["alice", "bob", "carol"]
TIFS_WEIGHTED = ["gtc", "gtc", "gtc", "ioc", "fok", "gtd", "gtd", "day"]
STPS_WEIGHTED = ["none", "none", "cancel_taker", "cancel_maker", "cancel_both", "decrement"]
STOP_TYPES = ("stop", "stop_limit", "trailing_stop", "trailing_stop_limit")
# The odd commands of ``_Builder.invalid``: 32 plain ones, 24 stops, 16 icebergs.
N_INVALID = 32 + 24 + 16


# ---------------------------------------------------------------------------------------
# strategy: abstract steps, resolved into concrete commands by a deterministic builder


def _step(kind: str, **params: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.tuples(st.just(kind), st.fixed_dictionaries(params))


_dt = st.sampled_from([0, 0, 1, 1, 1, 2, 3, 7])
_common: dict[str, st.SearchStrategy[Any]] = {
    "dt": _dt,
    "omit_ts": st.sampled_from([False] * 9 + [True]),
    "user": st.integers(0, 2),
    "sym": st.integers(0, 1),
    "style": st.integers(0, 3),
}

_ref = st.one_of(st.integers(0, 6), st.integers(0, 40))
# Iceberg terms in lots: the order's qty becomes display + hidden (display small, so takers
# eat several slices); a variance of 1 or 2 against a display of 1 is ``bad_qty``. ``loose``
# keeps a market type or an IOC/FOK tif drawn with it (``bad_command``); otherwise the order
# is made a resting limit order.
_ice_terms = st.fixed_dictionaries(
    {
        "display": st.integers(1, 3),
        "hidden": st.integers(0, 12),
        "var": st.sampled_from([None, None, 0, 1, 2]),
        "loose": st.sampled_from([False] * 9 + [True]),
    }
)
_new_fields: dict[str, st.SearchStrategy[Any]] = {
    "ref": st.one_of(st.none(), st.none(), st.none(), _ref),
    "str_id": st.booleans(),
    "side": st.sampled_from(["buy", "sell"]),
    "otype": st.sampled_from(["limit", "limit", "limit", "limit", "market"]),
    "off": st.integers(-4, 4),
    "lots": st.integers(1, 6),
    "tif": st.sampled_from(TIFS_WEIGHTED),
    "expire_dt": st.integers(-1, 8),
    "post_only": st.sampled_from([False] * 4 + [True]),
    "stp": st.sampled_from(STPS_WEIGHTED),
    "explicit_defaults": st.booleans(),
}
_new = _step("new", **_common, **_new_fields, ice=st.none())
_iceberg = _step("new", **_common, **_new_fields, ice=_ice_terms)
_stop = _step(
    "stop",
    **_common,
    ref=st.one_of(st.none(), st.none(), st.none(), st.none(), _ref),
    str_id=st.booleans(),
    side=st.sampled_from(["buy", "sell"]),
    stype=st.sampled_from(STOP_TYPES),
    trig=st.integers(-3, 3),  # trigger price in ticks from the mid (stop, stop_limit)
    limit=st.integers(-2, 2),  # stop_limit: its price in ticks from the trigger, + = aggressive
    trail=st.integers(1, 3),  # trailing: amount in ticks
    pct=st.sampled_from([None, None, None, 0, 1, 2]),  # or a percent of about 1-3 ticks
    offset=st.integers(0, 2),  # trailing_stop_limit: limit_offset in ticks
    lots=st.integers(1, 6),
    tif=st.sampled_from(TIFS_WEIGHTED),
    expire_dt=st.integers(-1, 8),
    post_only=st.sampled_from([False] * 4 + [True]),
    stp=st.sampled_from(STPS_WEIGHTED),
    explicit_defaults=st.booleans(),
)
_cancel = _step("cancel", **_common, ref=_ref, wrong_user=st.sampled_from([False] * 9 + [True]))
_modify = _step(
    "modify",
    **_common,
    ref=_ref,
    what=st.sampled_from(["price", "qty", "both"]),
    off=st.integers(-4, 4),
    lots=st.integers(1, 8),
)
_cancel_all = _step("cancel_all", **_common, with_symbol=st.booleans())
_invalid = _step("invalid", **_common, which=st.integers(0, N_INVALID - 1), ref=_ref)
_contingent_ref = st.one_of(st.none(), st.none(), st.none(), st.none(), st.none(), _ref)
_oco = _step(
    "oco",
    **_common,
    ref=_contingent_ref,
    str_id=st.booleans(),
    side=st.sampled_from(["buy", "sell"]),
    parts=st.tuples(OCO_PART, OCO_PART),
    same_id=st.sampled_from([False] * 29 + [True]),
)
_bracket = _step("bracket", **_common, ref=_contingent_ref, str_id=st.booleans(), **BRACKET)
_invalid_list = _step("invalid_list", **_common, which=st.integers(0, N_INVALID_LIST - 1), ref=_ref)
_hit = _step("hit", **_common, **HIT)
_halt_window = _step("halt_window", **_common, **HALT_WINDOW)

# (weight, step strategy); shrinking moves towards the first entry.
_WEIGHTED_STEPS: list[tuple[int, st.SearchStrategy[tuple[str, Any]]]] = [
    (30, _new),
    (12, _modify),
    (5, _cancel),
    (10, _stop),
    (2, _cancel_all),
    (2, _step("end_of_day", **_common)),
    (3, _step("tick", **_common, big=st.integers(0, 10))),
    (3, _step("book", **_common, depth=st.one_of(st.none(), st.integers(1, 3)))),
    (3, _step("metrics", **_common, levels=st.one_of(st.none(), st.integers(1, 3)))),
    (1, _step("halt", **_common, until=st.sampled_from([None, None, None, 0, 1, 3, 6, 12, 20, 40]))),
    (2, _step("resume", **_common)),
    (4, _invalid),
    (8, _iceberg),
    (3, _oco),
    (4, _bracket),
    (1, _invalid_list),
    (2, _hit),
    (0, _halt_window),
    (1, _step("risk_instrument", **_common, **RISK_INSTRUMENT)),
    (1, _step("limits", **_common, **LIMITS)),
    (1, _step("kill_switch", **_common, **KILL)),
]
_STEP_INDEX = [i for i, (w, _s) in enumerate(_WEIGHTED_STEPS) for _ in range(w)]
# Dense flows: one symbol, deep queues on a couple of levels, many cancels and modifies
# (long FIFO queues with holes in them, refills joining their backs; the odd order crosses
# and sweeps).
_DENSE_WEIGHTS = [30, 20, 20, 4, 1, 1, 1, 1, 1, 0, 0, 2, 8, 0, 0, 0, 0, 0, 0, 0, 0]
_DENSE_INDEX = [i for i, w in enumerate(_DENSE_WEIGHTS) for _ in range(w)]
# Stop-heavy flows: no halts, few cancels, many stops and new orders (market ones too), so
# that prints move through the trigger levels and releases trigger more stops.
_STOPS_WEIGHTS = [30, 4, 4, 30, 1, 1, 2, 1, 1, 0, 0, 3, 4, 2, 2, 0, 0, 0, 0, 0, 0]
_STOPS_INDEX = [i for i, w in enumerate(_STOPS_WEIGHTS) for _ in range(w)]
# Iceberg-heavy flows: icebergs on both sides, takers of every kind (IOC, FOK, market, STP
# modes) eating through their slices, modifies and cancels of them, no halts.
_ICE_WEIGHTS = [24, 12, 4, 2, 2, 1, 1, 2, 2, 0, 0, 3, 30, 1, 1, 0, 0, 0, 0, 0, 0]
_ICE_INDEX = [i for i, w in enumerate(_ICE_WEIGHTS) for _ in range(w)]
# Contingent-heavy flows: OCO pairs (limit, stop, trailing and iceberg parts) and brackets
# (limit, market, stop, IOC, FOK and iceberg entries; full and partial activation) among
# plenty of crossing orders that fill them, cancels that hit entries and children, halts and
# resumes (activation deferred to the resume), ticks and end of day (GTD and DAY expiry of
# entries, parts and dormant children), and odd list commands.
_CONT_WEIGHTS = [10, 4, 8, 3, 1, 2, 5, 1, 0, 1, 2, 1, 3, 10, 14, 3, 20, 3, 0, 0, 0]
_CONT_INDEX = [i for i, w in enumerate(_CONT_WEIGHTS) for _ in range(w)]
# Risk-heavy flows: risk settings changing under plenty of orders of every kind (market ones
# for protection and notional, lists for the per-part checks), user limits draining and
# refilling, kill switches on and off.
_RISK_WEIGHTS = [30, 8, 4, 8, 1, 1, 3, 1, 1, 0, 1, 2, 6, 3, 3, 0, 3, 0, 8, 6, 3]
_RISK_INDEX = [i for i, w in enumerate(_RISK_WEIGHTS) for _ in range(w)]
assert len(_DENSE_WEIGHTS) == len(_STOPS_WEIGHTS) == len(_ICE_WEIGHTS) == len(_WEIGHTED_STEPS)
# Auction-heavy flows: symbols that collect orders in a halt; halts (manual, scheduled, and
# the breaker's when `risk_instrument` sets one) with plenty of crossing limit, market and
# iceberg orders, cancels and expiries while they last (indicative changes), then resumes
# that uncross them (STP between users' own orders, stops the auction print triggers).
_AUCTION_WEIGHTS = [40, 2, 8, 6, 2, 1, 3, 2, 1, 5, 2, 1, 8, 1, 1, 0, 3, 0, 3, 1, 1]
_AUCTION_INDEX = [i for i, w in enumerate(_AUCTION_WEIGHTS) for _ in range(w)]
assert len(_CONT_WEIGHTS) == len(_RISK_WEIGHTS) == len(_AUCTION_WEIGHTS) == len(_WEIGHTED_STEPS)


@dataclass
class _Sym:
    name: str
    tick: Decimal
    lot: Decimal
    mid_ticks: int


@dataclass
class _Builder:
    syms: list[_Sym]
    users: list[str]
    dense: bool = False
    auction: bool = False  # instruments collect orders in halts
    ts: int = 0
    next_id: int = 1
    submitted: list[tuple[str, str | int, int, str]] = field(default_factory=list)
    entries: list[tuple[str, str | int, int, str]] = field(default_factory=list)  # brackets'
    children: set[tuple[str, str | int]] = field(default_factory=set)  # brackets' children

    def num(self, units: int, unit: Decimal, style: int) -> Any:
        """units * unit in one of the input encodings (string, Decimal, int, padded)."""
        value = units * unit
        if style == 1:
            return value  # Decimal, as replay's json.loads(parse_float=Decimal) gives
        if style == 2 and value == value.to_integral_value():
            return int(value)
        if style == 3:
            return f"{value:f}" + ("0" if "." in f"{value:f}" else ".0")
        return f"{value.normalize():f}"

    def price(self, s: _Sym, off: int, style: int, side: str | None = None) -> Any:
        if self.dense and side is not None:
            # One level each side of the mid (deep queues), the next one out for off -4;
            # off 4 crosses to the far side's second level.
            sign = 1 if side == "buy" else -1
            off = 2 * sign if off == 4 else -sign * (1 + (off == -4))
        return self.num(max(1, s.mid_ticks + off), s.tick, style)

    def target(self, ref: int) -> tuple[str, str | int, int, str]:
        """A previously submitted (user, id, symbol index, side), the most recent for ref 0."""
        if not self.submitted:
            return (self.users[0], 999_999, 0, "buy")
        return self.submitted[-1 - ref % len(self.submitted)]

    def head(self, cmd: str, p: dict[str, Any]) -> Cmd:
        self.ts += p["dt"]
        out: Cmd = {"cmd": cmd}
        if not p["omit_ts"]:
            out["ts"] = self.ts
        elif p["dt"]:
            self.ts -= p["dt"]  # without ts the command takes the previous one
        return out

    def build(self, kind: str, p: dict[str, Any]) -> Cmd:
        user = self.users[p["user"] % len(self.users)]
        s_idx = p["sym"] % len(self.syms)
        s = self.syms[s_idx]
        style = p["style"]
        if kind == "new":
            c = self.head("new", p)
            oid: str | int
            if p["ref"] is None or not self.submitted:
                n = self.next_id
                self.next_id += 1
                oid = f"o{n}" if p["str_id"] else n
            else:
                user, oid, s_idx, _ = self.target(p["ref"])
                s = self.syms[s_idx]
            otype, tif, lots, ice = p["otype"], p["tif"], p["lots"], p["ice"]
            if self.dense and p["off"] != 4:
                otype = "limit"  # in dense flows only the odd order takes liquidity
            if ice is not None:
                lots = ice["display"] + ice["hidden"]
                if not ice["loose"]:
                    otype = "limit"
                    tif = "gtc" if tif in ("ioc", "fok") else tif
            c.update(user=user, id=oid, symbol=s.name, side=p["side"], type=otype)
            c["qty"] = self.num(lots, s.lot, style)
            if otype == "limit":
                c["price"] = self.price(s, p["off"], style, p["side"])
            if tif != "gtc" or p["explicit_defaults"]:
                c["tif"] = tif
            if tif == "gtd":
                c["expire_ts"] = self.ts + p["expire_dt"]
            if p["post_only"] or p["explicit_defaults"]:
                c["post_only"] = p["post_only"]
            if p["stp"] != "none" or p["explicit_defaults"]:
                c["stp"] = p["stp"]
            if ice is not None:
                c["display_qty"] = self.num(ice["display"], s.lot, style)
                if ice["var"] is not None:
                    c["display_variance"] = self.num(ice["var"], s.lot, style)
            self.submitted.append((user, oid, s_idx, p["side"]))
            return c
        if kind == "stop":
            return self.stop(p, user, s_idx)
        if kind == "cancel":
            c = self.head("cancel", p)
            t_user, t_id, _, _ = self.target(p["ref"])
            if p["wrong_user"]:
                t_user = user
            c.update(user=t_user, id=t_id)
            return c
        if kind == "modify":
            c = self.head("modify", p)
            t_user, t_id, t_sym, t_side = self.target(p["ref"])
            ts_ = self.syms[t_sym]
            c.update(user=t_user, id=t_id)
            if p["what"] in ("price", "both"):
                c["price"] = self.price(ts_, p["off"], style, t_side)
            if p["what"] in ("qty", "both"):
                c["qty"] = self.num(p["lots"], ts_.lot, style)
            return c
        if kind == "cancel_all":
            c = self.head("cancel_all", p)
            c["user"] = user
            if p["with_symbol"]:
                c["symbol"] = s.name
            return c
        if kind == "tick":
            p = dict(p, dt=p["dt"] + p["big"])
            return self.head("tick", p)
        if kind == "end_of_day":
            return self.head("end_of_day", p)
        if kind == "book":
            c = self.head("book", p)
            c["symbol"] = s.name
            if p["depth"] is not None:
                c["depth"] = p["depth"]
            return c
        if kind == "metrics":
            c = self.head("metrics", p)
            c["symbol"] = s.name
            if p["levels"] is not None:
                c["levels"] = p["levels"]
            return c
        if kind in ("halt", "resume"):
            c = self.head(kind, p)
            c["symbol"] = s.name
            if p.get("until") is not None:
                c["until_ts"] = self.ts + p["until"]  # 0: not after ts, bad_command
            return c
        if kind == "oco":
            return build_oco(self, p, user, s_idx)
        if kind == "bracket":
            return build_bracket(self, p, user, s_idx)
        if kind == "invalid_list":
            return invalid_list(self, p, user, s)
        if kind == "hit":
            return build_hit(self, p, user, s_idx)
        if kind == "risk_instrument":
            return build_risk_instrument(self, p, s)
        if kind == "limits":
            return build_limits(self, p, user)
        if kind == "kill_switch":
            return build_kill_switch(self, p, user)
        assert kind == "invalid"
        return self.invalid(p, user, s)

    def stop(self, p: dict[str, Any], user: str, s_idx: int) -> Cmd:
        """A stop order of any type, its trigger level within a few ticks of the mid."""
        c = self.head("new", p)
        oid: str | int
        if p["ref"] is None or not self.submitted:
            n = self.next_id
            self.next_id += 1
            oid = f"s{n}" if p["str_id"] else n
        else:
            user, oid, s_idx, _ = self.target(p["ref"])
        s = self.syms[s_idx]
        c.update(user=user, id=oid, symbol=s.name, side=p["side"])
        c.update(self.stop_fields(s, p, s.mid_ticks + p["trig"]))
        self.submitted.append((user, oid, s_idx, p["side"]))
        return c

    def stop_fields(self, s: _Sym, p: dict[str, Any], trigger: int) -> Cmd:
        """The fields of a ``new`` stop after ``side``: its type, qty, trigger (``trigger``
        ticks) or trail, limit, offset; tif, expiry, post-only and STP drawn as for a limit
        order (post-only on a stop-market or with a non-resting tif is ``bad_command``)."""
        kind, side, style = p["stype"], p["side"], p["style"]
        c: Cmd = {"type": kind, "qty": self.num(p["lots"], s.lot, style)}
        trigger = max(1, trigger)
        if kind in ("stop", "stop_limit"):
            c["trigger_price"] = self.num(trigger, s.tick, style)
        if kind == "stop_limit":
            sign = 1 if side == "buy" else -1
            c["price"] = self.num(max(1, trigger + sign * p["limit"]), s.tick, style)
        if kind in ("trailing_stop", "trailing_stop_limit"):
            if p["pct"] is None:
                c["trail_amount"] = self.num(p["trail"], s.tick, style)
            else:
                c["trail_pct"] = self.pct(s, p["trail"], p["pct"])
        if kind == "trailing_stop_limit":
            c["limit_offset"] = self.num(p["offset"], s.tick, style) if p["offset"] else "0"
        explicit = p.get("explicit_defaults", False)
        if p["tif"] != "gtc" or explicit:
            c["tif"] = p["tif"]
        if p["tif"] == "gtd":
            c["expire_ts"] = self.ts + p["expire_dt"]
        if p["post_only"] or explicit:
            c["post_only"] = p["post_only"]
        if p["stp"] != "none" or explicit:
            c["stp"] = p["stp"]
        return c

    @staticmethod
    def pct(s: _Sym, ticks: int, how: int) -> str:
        """A trail_pct worth about ``ticks`` ticks at the mid: exactly (how 0), half a tick
        more (1: the level is rounded), or a round percent (2) when the mid is small."""
        if how == 2 and s.mid_ticks <= 400:
            return str(ticks)
        value = Decimal(2 * ticks + how) * 50 / s.mid_ticks
        return f"{value.quantize(Decimal('0.0001')).normalize():f}"

    def invalid(self, p: dict[str, Any], user: str, s: _Sym) -> Cmd:
        which = p["which"]
        c = self.head("new", p)
        n = self.next_id
        self.next_id += 1
        base: Cmd = dict(c, user=user, id=n, symbol=s.name, side="buy", type="limit")
        base["qty"] = self.num(1, s.lot, 0)
        base["price"] = self.price(s, 0, 0)
        t_user, t_id, t_sym, _ = self.target(p["ref"])
        ts_ = self.syms[t_sym]
        if which == 0:
            return dict(base, qty="0")
        if which == 1:
            return dict(base, qty=f"-{2 * s.lot}")
        if which == 2:
            return dict(base, qty=f"{(s.lot / 2).normalize():f}")
        if which == 3:
            return dict(base, price=f"{(s.mid_ticks * s.tick + s.tick / 2).normalize():f}")
        if which == 4:
            return dict(base, price="abc")
        if which == 5:
            del base["price"]
            return base
        if which == 6:
            return dict(base, symbol="ZZZ")
        if which == 7:
            return dict(base, side="hold")
        if which == 8:
            return dict(base, ts=-5)
        if which == 9:
            return dict(c, cmd="frobnicate", user=user)
        if which == 10:
            return dict(c, cmd="modify", user=t_user, id=t_id)
        if which == 11:
            return dict(c, cmd="cancel", user=user, id=10**9)
        if which == 12:
            b = dict(base, type="stop", trigger_price=base["price"])
            del b["price"]
            return b
        if which == 13:  # valid: an iceberg showing all of itself (never refills)
            return dict(base, display_qty=base["qty"])
        if which == 14:
            return dict(c, cmd="modify", user=t_user, id=t_id, qty="0")
        if which == 15:
            bad = f"{(ts_.mid_ticks * ts_.tick + ts_.tick / 2).normalize():f}"
            return dict(c, cmd="modify", user=t_user, id=t_id, price=bad)
        if which == 16:
            return dict(c, cmd="halt", symbol="ZZZ")
        if which == 17:
            return dict(c, cmd="book", symbol=s.name, depth=0)
        if which == 18:
            return dict(base, price=True)
        if which == 19:
            return dict(base, type="market")
        if which == 20:
            return dict(base, qty="1_000")
        if which == 21:
            return dict(c, cmd="instrument", symbol=s.name, tick_size=f"{s.tick}",
                        lot_size=f"{s.lot}")  # fmt: skip
        if which == 22:
            # A finer tick keeps every generated price valid; accepted only on an empty book.
            return dict(c, cmd="instrument", symbol=s.name, tick_size=f"{s.tick / 10}",
                        lot_size=f"{s.lot}")  # fmt: skip
        if which == 23:
            return dict(base, ts=Decimal("1.5"))
        if which == 24:
            del base["price"]
            return dict(base, type="market", post_only=True)
        if which == 25:
            return dict(base, tif="gtd")
        if which == 26:
            return dict(base, tif="gtx")
        if which == 27:
            return dict(base, stp="weird")
        if which == 28:
            return dict(base, id=True)
        if which == 29:
            return dict(c, cmd="cancel_all", user=user, symbol="ZZZ")
        if which == 30:
            return dict(c, cmd="metrics", symbol=s.name, levels="2")
        if which == 31:
            return dict(base, qty=str(2**63 * s.lot))
        if which < 56:
            return self.invalid_stop(which - 32, base, s)
        return self.invalid_iceberg(which - 56, base, s)

    def invalid_stop(self, which: int, base: Cmd, s: _Sym) -> Cmd:
        """Stop orders with a missing, extra or unacceptable field (and a few valid ones)."""
        tick = s.tick
        stop = {k: v for k, v in base.items() if k != "price"}
        stop.update(type="stop", trigger_price=base["price"])
        trailing = dict(stop, type="trailing_stop", trail_amount=f"{tick}")
        del trailing["trigger_price"]
        if which == 0:
            del stop["trigger_price"]
            return stop  # bad_command
        if which == 1:
            return dict(stop, price=base["price"])  # bad_command: a stop has no price
        if which == 2:
            return dict(stop, type="stop_limit")  # bad_command: no price
        if which == 3:
            return dict(trailing, trail_pct="1")  # bad_command: both
        if which == 4:
            del trailing["trail_amount"]
            return trailing  # bad_command: neither
        if which == 5:
            return dict(trailing, type="trailing_stop_limit")  # bad_command: no limit_offset
        if which == 6:
            return dict(stop, trigger_price=f"{(tick * s.mid_ticks + tick / 2).normalize():f}")
        if which == 7:
            return dict(trailing, trail_amount="0")  # bad_price
        if which == 8:
            return dict(trailing, trail_amount=None, trail_pct="100")  # bad_price
        if which == 9:
            return dict(trailing, trail_amount=None, trail_pct=0)  # bad_price
        if which == 10:
            return dict(trailing, type="trailing_stop_limit", limit_offset=f"{-tick}")
        if which == 11:
            return dict(trailing, type="trailing_stop_limit", limit_offset=f"{tick / 2}")
        if which == 12:
            return dict(stop, post_only=True)  # bad_command: post-only stop-market
        if which == 13:
            return dict(stop, type="stop_limit", price=base["price"], post_only=True, tif="ioc")
        if which == 14:
            return dict(stop, trigger_price="abc")  # bad_command
        if which == 15:  # bad_qty before bad_price
            return dict(stop, type="stop_limit", price="0", trigger_price="-1", qty="0")
        if which == 16:  # bad_price: trigger first, then price (same reason)
            return dict(stop, type="stop_limit", price="0", trigger_price="0")
        if which == 17:  # valid: zero offset, and a null price counts as absent
            return dict(trailing, type="trailing_stop_limit", limit_offset="0", price=None)
        if which == 18:  # valid: trail_pct as a JSON number and a null trail_amount
            return dict(trailing, trail_amount=None, trail_pct=Decimal("0.05"))
        if which == 19:  # bad_price: trail_pct just over 100
            return dict(trailing, trail_amount=None, trail_pct="100.0001")
        if which == 20:  # bad_command: a stop's trigger is a number
            return dict(stop, trigger_price=[1])
        if which == 21:  # bad_command: display_qty on a stop
            return dict(stop, display_qty=base["qty"])
        if which == 22:  # bad_price: the trigger of a stop on a coarse grid
            return dict(stop, trigger_price=f"{(tick * 3 / 4).normalize():f}")
        assert which == 23  # bad_command: post-only stop-limit with the wrong tif
        return dict(stop, type="stop_limit", price=base["price"], post_only=True, tif="fok")

    def invalid_iceberg(self, which: int, base: Cmd, s: _Sym) -> Cmd:
        """Icebergs with a field that is malformed, out of range or not allowed with the
        order's type or tif (and a few valid ones: null terms, a zero variance)."""
        lot = s.lot
        ice = dict(base, qty=self.num(5, lot, 0), display_qty=self.num(2, lot, 0))
        if which == 0:
            return dict(ice, display_qty=self.num(6, lot, 0))  # bad_qty: more than qty
        if which == 1:
            return dict(ice, display_qty=f"{(lot / 2).normalize():f}")  # bad_qty: off-lot
        if which == 2:
            return dict(ice, display_qty="0")  # bad_qty
        if which == 3:
            return dict(ice, tif="ioc")  # bad_command
        if which == 4:
            return dict(ice, tif="fok")  # bad_command
        if which == 5:
            del ice["price"]
            return dict(ice, type="market")  # bad_command
        if which == 6:
            return self.invalid_stop(21, base, s)  # bad_command: on a stop
        if which == 7:  # bad_command: on a stop-limit
            return dict(ice, type="stop_limit", trigger_price=ice["price"])
        if which == 8:
            return dict(base, display_variance="0")  # bad_command: variance without display
        if which == 9:
            return dict(ice, display_variance=ice["display_qty"])  # bad_qty: not below display
        if which == 10:
            return dict(ice, display_variance=f"{-lot}")  # bad_qty
        if which == 11:
            return dict(ice, display_qty="abc")  # bad_command
        if which == 12:  # bad_qty for display before bad_price
            return dict(ice, display_qty=self.num(6, lot, 0), price="0")
        if which == 13:  # valid: null terms are absent
            return dict(base, display_qty=None, display_variance=None)
        if which == 14:  # valid: a zero variance (not written in accepted)
            return dict(ice, display_variance="0", post_only=True)
        assert which == 15  # bad_command: a variance that is not a number
        return dict(ice, display_variance=True)


@st.composite
def command_streams(
    draw: st.DrawFn,
    max_steps: int = 60,
    dense: bool = False,
    stops: bool = False,
    icebergs: bool = False,
    contingent: bool = False,
    risk: bool = False,
    auction: bool = False,
) -> list[Cmd]:
    """A random command stream: instrument definitions, then ``1..max_steps`` commands.
    ``dense``: one symbol and deep queues (see ``_DENSE_WEIGHTS``); ``stops``: stop-heavy
    flows (see ``_STOPS_WEIGHTS``); ``icebergs``: iceberg-heavy flows (``_ICE_WEIGHTS``);
    ``contingent``: OCO- and bracket-heavy flows (``_CONT_WEIGHTS``); ``risk``: risk settings
    (``_RISK_WEIGHTS``); ``auction``: symbols collecting orders in halts (``_AUCTION_WEIGHTS``)."""
    chosen = draw(st.lists(st.integers(0, len(SYMBOL_CONFIGS) - 1), min_size=1,
                           max_size=1 if dense else 2, unique=True))  # fmt: skip
    n_users = draw(st.integers(2, 3))
    n_steps = draw(st.integers(max_steps // 2 if dense else 1, max_steps))
    index = (
        _DENSE_INDEX if dense else _STOPS_INDEX if stops else _ICE_INDEX if icebergs
        else _CONT_INDEX if contingent else _RISK_INDEX if risk else _AUCTION_INDEX if auction
        else _STEP_INDEX
    )  # fmt: skip
    steps = [draw(_WEIGHTED_STEPS[draw(st.sampled_from(index))][1]) for _ in range(n_steps)]
    syms = []
    for i in chosen:
        name, tick, lot, mid = SYMBOL_CONFIGS[i]
        syms.append(_Sym(name, Decimal(tick), Decimal(lot), int(Decimal(mid) / Decimal(tick))))
    b = _Builder(syms, USERS[:n_users], dense=dense, auction=auction)
    cmds: list[Cmd] = [
        {"cmd": "instrument", "ts": 0, "symbol": s.name, "tick_size": SYMBOL_CONFIGS[i][1],
         "lot_size": SYMBOL_CONFIGS[i][2]}
        for i, s in zip(chosen, syms, strict=True)
    ]  # fmt: skip
    if auction:
        for c in cmds:
            c["halt_orders"] = "collect"
    for kind, params in steps:
        if kind == "halt_window":  # three or so commands: halt, cancel or expiry, resume
            user = b.users[params["user"] % len(b.users)]
            cmds.extend(build_halt_window(b, params, user, params["sym"] % len(b.syms)))
        else:
            cmds.append(b.build(kind, params))
    if auction:  # every call ends in an uncross
        cmds.extend({"cmd": "resume", "symbol": s.name} for s in syms)
    return cmds


# ---------------------------------------------------------------------------------------
# checks


def _canon(events: list[Event]) -> list[str]:
    """Events as compact JSON (so key order, int/float/bool and str/int all count), minus
    the free-text ``message`` of rejections."""
    return [
        json.dumps({k: v for k, v in ev.items() if k != "message"}, separators=(",", ":"))
        for ev in events
    ]


def _dump(cmds: list[Cmd]) -> str:
    return "\n".join(json.dumps(c, default=str, separators=(",", ":")) for c in cmds)


def _units(value: str, unit: Decimal) -> int:
    ratio = Fraction(Decimal(value)) / Fraction(unit)
    assert ratio.denominator == 1, (value, unit)
    return int(ratio)


@dataclass
class _Tracker:
    """Per-order quantity accounting, from the event stream alone."""

    open: dict[int, int] = field(default_factory=dict)  # order_id -> open lots
    symbol: dict[int, str] = field(default_factory=dict)
    side: dict[int, str] = field(default_factory=dict)
    limit: dict[int, Decimal | None] = field(default_factory=dict)
    waiting: set[int] = field(default_factory=set)  # accepted stops not yet triggered
    offset: dict[int, Decimal] = field(default_factory=dict)  # trailing_stop_limit offsets
    ice: dict[int, tuple[int, int]] = field(default_factory=dict)  # (display, variance) lots
    links: LinkChecker = field(default_factory=LinkChecker)  # oco pairs, brackets, dormant

    def released_limit(self, ev: Event, tick: Decimal) -> Decimal | None:
        """The limit a ``triggered`` stop becomes (None: it becomes a market order)."""
        oid = ev["order_id"]
        if oid not in self.offset:
            return self.limit[oid]  # stop_limit: its price; stop, trailing_stop: None
        level = Decimal(ev["trigger_price"])
        if self.side[oid] == "sell":
            return max(tick, level - self.offset[oid])
        return level + self.offset[oid]

    def feed(
        self, events: list[Event], lots: dict[str, Decimal], ticks: dict[str, Decimal]
    ) -> None:
        for ev in events:
            t = ev["type"]
            if t == "accepted":
                oid = ev["order_id"]
                assert oid not in self.open, f"order_id {oid} reused"
                self.open[oid] = _units(ev["qty"], lots[ev["symbol"]])
                self.symbol[oid] = ev["symbol"]
                self.side[oid] = ev["side"]
                self.limit[oid] = None if ev["price"] is None else Decimal(ev["price"])
                self.links.accepted(ev)
                if ev["order_type"] in STOP_TYPES and oid not in self.links.dormant:
                    self.waiting.add(oid)
                if ev["order_type"] == "trailing_stop_limit":
                    self.offset[oid] = Decimal(ev["limit_offset"])
                if "display_qty" in ev:
                    lot = lots[ev["symbol"]]
                    variance = _units(ev["display_variance"], lot) if "display_variance" in ev else 0
                    self.ice[oid] = (_units(ev["display_qty"], lot), variance)
                    assert 0 < variance < self.ice[oid][0] or "display_variance" not in ev, ev
            elif t == "activated":
                oid = ev["order_id"]
                qty = _units(ev["qty"], lots[ev["symbol"]])
                if self.links.activated(ev, qty, self.open):
                    self.waiting.add(oid)  # a stop-loss waits (or has triggered at once)
                self.open[oid] = qty  # potential until now; submitted from now on
            elif t in ("halted", "resumed"):
                self.links.session(ev)
            elif t == "triggered":
                oid = ev["order_id"]
                self.links.triggered(ev)
                assert oid in self.waiting, f"triggered an order that is not waiting: {ev}"
                self.waiting.remove(oid)
                self.limit[oid] = self.released_limit(ev, ticks[ev["symbol"]])
            elif t == "trade":
                q = _units(ev["qty"], lots[ev["symbol"]])
                assert q > 0
                self.links.trade(ev, q)
                for role in ("maker", "taker"):
                    oid = ev[role]["order_id"]
                    assert oid not in self.waiting, f"{role} {oid} is an untriggered stop: {ev}"
                    self.open[oid] -= q
                    assert self.open[oid] >= 0, f"{role} {oid} overfilled: {ev}"
                taker = ev["taker"]["order_id"]
                limit = self.limit[taker]
                price = Decimal(ev["price"])
                if limit is not None:
                    through = price > limit if ev["side"] == "buy" else price < limit
                    assert not through, f"trade through the taker's limit {limit}: {ev}"
                assert ev["side"] == self.side[taker], ev
                if "maker_refill" in ev:
                    self.check_refill(ev["maker"]["order_id"], ev["maker_refill"], ev, lots)
            elif t == "cancelled":
                oid = ev["order_id"]
                self.links.cancelled(ev, self.open)
                self.open[oid] -= _units(ev["remaining"], lots[ev["symbol"]])
                assert self.open[oid] == 0, f"cancelled {oid} with wrong remaining: {ev}"
                del self.open[oid]
                self.waiting.discard(oid)
            elif t == "modified":
                oid = ev["order_id"]
                new = _units(ev["qty"], lots[ev["symbol"]])
                assert oid in self.open, f"modified an order that is not live: {ev}"
                self.links.modified(ev, self.open[oid], new, self.open)
                if ev.get("reason") == "parent_fill":
                    self.open[oid] = new  # a bracket child grown by its entry's fill
                    continue
                assert oid not in self.waiting, f"modified an untriggered stop: {ev}"
                if ev.get("reason") == "stp":
                    assert 0 < new < self.open[oid], ev
                    if "refill" in ev:
                        self.open[oid] = new
                        self.check_refill(oid, ev["refill"], ev, lots)
                else:
                    assert new > 0
                    self.limit[oid] = Decimal(ev["price"])
                self.open[oid] = new
        for oid in [o for o, q in self.open.items() if q == 0]:
            del self.open[oid]  # fully filled
        self.links.check_settled(self.open)

    def check_refill(self, oid: int, size: str, ev: Event, lots: dict[str, Decimal]) -> None:
        """A new slice shown by ``oid`` (after its quantity in ``ev`` was taken off)."""
        assert oid in self.ice, f"a refill of {oid}, which is no iceberg: {ev}"
        display, variance = self.ice[oid]
        q = _units(size, lots[ev["symbol"]])
        assert 0 < q <= display + variance, f"refill {q} of {self.ice[oid]}: {ev}"
        assert q <= self.open[oid], f"refill {q} but {self.open[oid]} left: {ev}"
        if variance == 0:
            assert q == min(display, self.open[oid]), f"refill {q} of {self.ice[oid]}: {ev}"

    def resting(self) -> dict[int, int]:
        """Open quantity of every order that should be in a book (live, not waiting, not a
        dormant bracket child)."""
        return {
            oid: q
            for oid, q in self.open.items()
            if oid not in self.waiting and oid not in self.links.dormant
        }


def _fast_prices(fast: Exchange) -> dict[int, tuple[str, int]]:
    """order_id -> (symbol, price in ticks) for every order resting in the fast books."""
    prices: dict[int, tuple[str, int]] = {}
    for symbol, book in fast.books.items():
        for is_bid in (True, False):
            for price, _total, _count, orders in book.levels_view(is_bid):
                for oid, _qty in orders:
                    prices[oid] = (symbol, price)
    return prices


def _fast_icebergs(fast: Exchange) -> dict[int, tuple[int, int, int, int]]:
    """order_id -> (display, variance, hidden lots, generator state) for every iceberg resting
    in the fast books, in the shape of ``ReferenceExchange.iceberg_view``."""
    return {
        o.oid: (o.ice.display, o.ice.variance, o.ice.reserve, o.ice.rng)
        for book in fast.books.values()
        for o in book.live_orders()
        if o.ice is not None
    }


def _check_books(fast: Exchange, ref: ReferenceExchange, where: str) -> dict[int, int]:
    """Structural invariants of the fast books, and equality with the reference's books.
    Returns order_id -> whole open lots (an iceberg's visible slice plus its hidden part)
    over all books."""
    resting: dict[int, int] = {}
    assert sorted(fast.books) == sorted(ref.symbols()), where
    for symbol, book in fast.books.items():
        sides = {}
        for is_bid in (True, False):
            levels = book.levels_view(is_bid)
            sides[is_bid] = levels
            prices = [lv[0] for lv in levels]
            ordered = sorted(prices, reverse=is_bid)
            assert prices == ordered and len(set(prices)) == len(prices), (
                f"{where}: {symbol} {'bid' if is_bid else 'ask'} levels out of order {prices}"
            )
            for price, total, count, orders in levels:
                assert orders, f"{where}: {symbol} empty level at {price}"
                assert all(q > 0 for _oid, q in orders), f"{where}: {symbol} {orders}"
                assert total == sum(q for _oid, q in orders), (
                    f"{where}: {symbol} level {price} total {total} != orders {orders}"
                )
                assert count == len(orders), (
                    f"{where}: {symbol} level {price} count {count} != orders {orders}"
                )
                for oid, q in orders:
                    assert oid not in resting, f"{where}: order {oid} rests twice"
                    resting[oid] = q
            assert levels == ref.levels_view(symbol, is_bid), (
                f"{where}: {symbol} {'bids' if is_bid else 'asks'} differ\n"
                f"fast: {levels}\nref:  {ref.levels_view(symbol, is_bid)}"
            )
        bb, ba = book.best_bid(), book.best_ask()
        assert bb == (sides[True][0][0] if sides[True] else None), f"{where}: best_bid {bb}"
        assert ba == (sides[False][0][0] if sides[False] else None), f"{where}: best_ask {ba}"
        if bb is not None and ba is not None and not book.halted:  # a call may cross it
            assert bb < ba, f"{where}: {symbol} crossed book {bb} >= {ba}"
        if not book.halted:
            assert not book.held, f"{where}: {symbol} holds market orders while trading"
        for o in book.held:
            if o.qty:
                assert o.oid not in resting, f"{where}: held order {o.oid} rests too"
                resting[o.oid] = o.qty
    icebergs = _fast_icebergs(fast)
    assert icebergs == ref.iceberg_view(), (
        f"{where}: icebergs (display, variance, hidden, generator) differ\n"
        f"fast: {icebergs}\nref:  {ref.iceberg_view()}"
    )
    for oid, (display, variance, hidden, _rng) in icebergs.items():
        assert 0 <= variance < display and hidden >= 0, f"{where}: iceberg {oid} {icebergs[oid]}"
        assert resting[oid] <= display + variance, f"{where}: iceberg {oid} shows {resting[oid]}"
        resting[oid] += hidden
    return resting


def _check_trade_prices(
    events: list[Event],
    before: dict[int, tuple[str, int]],
    ticks: dict[str, Decimal],
    tracker: _Tracker,
    where: str,
) -> None:
    """Every trade printed at its maker's resting price. ``before`` is ``_fast_prices`` of the
    fast engine as it was before the command; the command's own events may put more makers
    in the book before a trade (an order that rested, was repriced or was released as a
    limit order: released stops trade after the command's own matching), so those are
    followed in event order. ``tracker`` has not been fed the command's events yet (a stop
    accepted by this command may trigger in it too: a bracket's stop-loss activated with its
    condition holding), so the stop terms of this command's orders are added to a copy. A
    take-profit rests at its ``accepted`` price once ``activated``."""
    prices = {oid: price * ticks[symbol] for oid, (symbol, price) in before.items()}
    symbols = {oid: symbol for oid, (symbol, _price) in before.items()}
    terms = _Tracker(limit=dict(tracker.limit), side=dict(tracker.side), offset=dict(tracker.offset))
    stop_types = set(tracker.links.stop_type)
    for ev in events:
        t = ev["type"]
        if t == "accepted":
            oid = ev["order_id"]
            terms.limit[oid] = None if ev["price"] is None else Decimal(ev["price"])
            terms.side[oid] = ev["side"]
            if "limit_offset" in ev:
                terms.offset[oid] = Decimal(ev["limit_offset"])
            if ev["order_type"] != "limit":
                stop_types.add(oid)
        if t == "accepted" and ev["order_type"] == "limit":
            prices[ev["order_id"]] = Decimal(ev["price"])
            symbols[ev["order_id"]] = ev["symbol"]
        elif t == "activated" and ev["order_id"] not in stop_types:  # a take-profit
            prices[ev["order_id"]] = terms.limit[ev["order_id"]]
            symbols[ev["order_id"]] = ev["symbol"]
        elif t == "triggered":
            limit = terms.released_limit(ev, ticks[ev["symbol"]])
            if limit is not None:
                prices[ev["order_id"]] = limit
                symbols[ev["order_id"]] = ev["symbol"]
        elif t == "modified" and ev["price"] is not None:  # null: an STP-decremented market
            prices[ev["order_id"]] = Decimal(ev["price"])
        elif t == "trade" and ev.get("auction"):
            # One price for the whole uncross, within the limit of every order it fills.
            price = Decimal(ev["price"])
            for role, side in (("taker", ev["side"]), ("maker", "sell" if ev["side"] == "buy" else "buy")):
                limit = prices.get(ev[role]["order_id"])  # None: a held market order
                if limit is not None:
                    through = price > limit if side == "buy" else price < limit
                    assert not through, f"{where}: auction trade through the {role}'s limit {limit}: {ev}"
        elif t == "trade":
            maker = ev["maker"]["order_id"]
            assert maker in prices, f"{where}: maker {maker} was not resting: {ev}"
            assert symbols[maker] == ev["symbol"], f"{where}: {ev}"
            assert Decimal(ev["price"]) == prices[maker], (
                f"{where}: trade not at the maker's price {prices[maker]}: {ev}"
            )


def run_differential(cmds: list[Cmd]) -> None:
    fast = Exchange()
    ref = ReferenceExchange()
    tracker = _Tracker()
    ticks: dict[str, Decimal] = {}
    lots: dict[str, Decimal] = {}
    for i, cmd in enumerate(cmds):
        before = _fast_prices(fast)
        got = fast.apply(copy.deepcopy(cmd))
        want = ref.apply(copy.deepcopy(cmd))
        where = f"after command #{i}"
        if _canon(got) != _canon(want):
            raise AssertionError(
                f"fast engine and reference differ {where}\n"
                f"commands:\n{_dump(cmds[: i + 1])}\n"
                f"reference:\n" + "\n".join(_canon(want)) + "\n"
                "fast:\n" + "\n".join(_canon(got))
            )
        # The symbol's scale changes by a successful instrument command (no event of its
        # own; the GTD expiry that ran before it may have emitted some).
        if cmd.get("cmd") == "instrument" and all(ev["type"] != "rejected" for ev in got):
            ticks[cmd["symbol"]] = Decimal(cmd["tick_size"])
            lots[cmd["symbol"]] = Decimal(cmd["lot_size"])
        _check_trade_prices(got, before, ticks, tracker, where)
        tracker.feed(got, lots, ticks)
        resting = _check_books(fast, ref, where)
        assert resting == tracker.resting(), (
            f"{where}: book quantities {resting} != quantities from events {tracker.resting()}"
        )


@given(command_streams())
def test_fast_engine_matches_reference(cmds: list[Cmd]) -> None:
    run_differential(cmds)


# Long streams cost several times more per example: half the profile's examples.
_HALF = settings(max_examples=max(1, settings().max_examples // 2))


@_HALF
@given(command_streams(max_steps=200))
def test_fast_engine_matches_reference_long_streams(cmds: list[Cmd]) -> None:
    run_differential(cmds)


@_HALF
@given(command_streams(max_steps=200, dense=True))
def test_fast_engine_matches_reference_deep_queues(cmds: list[Cmd]) -> None:
    run_differential(cmds)


@_HALF
@given(command_streams(max_steps=100, stops=True))
def test_fast_engine_matches_reference_stop_cascades(cmds: list[Cmd]) -> None:
    run_differential(cmds)


@_HALF
@given(command_streams(max_steps=80, icebergs=True))
def test_fast_engine_matches_reference_icebergs(cmds: list[Cmd]) -> None:
    run_differential(cmds)


@st.composite
def churn_streams(draw: st.DrawFn) -> list[Cmd]:
    """Long FIFO queues riddled with holes: 20-40 orders join one or two bid levels; random
    cancels, qty-lowering (priority kept) and qty-raising or repricing (priority lost)
    modifies and the odd sweeping sell; then most of the queue is cancelled, then more of
    the same. (This is what reaches the fast book's lazy deletion and compaction.)"""
    users = ["alice", "bob"]
    cmds: list[Cmd] = [
        {"cmd": "instrument", "ts": 0, "symbol": "AAA", "tick_size": "0.01", "lot_size": "1"}
    ]
    n = draw(st.integers(20, 40))
    owners = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    for i in range(n):
        level = "99.99" if i % 5 else "99.98"
        cmds.append({"cmd": "new", "ts": 1, "user": users[owners[i]], "id": i,
                     "symbol": "AAA", "side": "buy", "type": "limit",
                     "qty": str(1 + i % 4), "price": level})  # fmt: skip
    op = st.tuples(
        st.sampled_from(["cancel", "lower", "raise", "reprice", "sweep"]),
        st.integers(0, n - 1),
        st.integers(1, 12),
        st.sampled_from(STPS_WEIGHTED),
    )
    first = draw(st.lists(op, max_size=40))
    cancel_mask = draw(st.lists(st.sampled_from([True] * 6 + [False]), min_size=n, max_size=n))
    ops = first + [("cancel", i, 1, "none") for i in range(n) if cancel_mask[i]]
    ops += draw(st.lists(op, max_size=20))
    sell_id = 1000
    for kind, i, k, stp in ops:
        user = users[owners[i]]
        if kind == "cancel":
            cmds.append({"cmd": "cancel", "ts": 2, "user": user, "id": i})
        elif kind == "lower":
            cmds.append({"cmd": "modify", "ts": 2, "user": user, "id": i, "qty": "1"})
        elif kind == "raise":
            cmds.append({"cmd": "modify", "ts": 2, "user": user, "id": i, "qty": str(k)})
        elif kind == "reprice":
            price = "99.98" if k % 2 else "99.99"
            cmds.append({"cmd": "modify", "ts": 2, "user": user, "id": i, "price": price})
        else:
            sell_id += 1
            cmds.append({"cmd": "new", "ts": 2, "user": users[k % 2], "id": sell_id,
                         "symbol": "AAA", "side": "sell", "type": "limit", "qty": str(k),
                         "price": "99.98", "stp": stp})  # fmt: skip
    cmds.append({"cmd": "book", "ts": 3, "symbol": "AAA", "depth": 5})
    return cmds


@given(churn_streams())
def test_fast_engine_matches_reference_queue_churn(cmds: list[Cmd]) -> None:
    run_differential(cmds)


@_HALF
@given(command_streams(max_steps=80, contingent=True))
def test_fast_engine_matches_reference_contingent(cmds: list[Cmd]) -> None:
    run_differential(cmds)


@_HALF
@given(command_streams(max_steps=100, risk=True))
def test_fast_engine_matches_reference_risk(cmds: list[Cmd]) -> None:
    run_differential(cmds)


@given(command_streams(max_steps=100, auction=True))
def test_fast_engine_matches_reference_auction(cmds: list[Cmd]) -> None:
    run_differential(cmds)
