"""Risk commands for the property tests: instrument risk settings, `limits`, `kill_switch`.

Generation (used by ``test_differential``'s builder):

- ``risk_instrument``: the symbol redefined with its own tick and lot plus a random subset
  of risk fields sized to the flow: min/max qty of 1-8 lots (so the 1-6 lot orders hit both
  sides of each), a max notional around mid x 2-6 lots, a price collar of 1-6 ticks at the
  mid (so the -4..4 tick offsets land inside, on and outside it), a reference price near the
  mid or none (the last trade then), market protection of 0-3 ticks; now and then no field
  (risk off), or a malformed or out-of-range value (``bad_command``, ``bad_qty``,
  ``bad_price``);
- ``limits``: a user's max open orders (1-6), a token bucket of 1-3 tokens refilling fast
  enough (0.1-1 token per ns) that the flow's small ts steps both drain and refill it, or
  neither (off); now and then a malformed value (``bad_command``);
- ``kill_switch``: on or off for a user (the state already in force: ``bad_state``).

``risk_instrument`` also sets a circuit breaker now and then: a band of 1-4 ticks at the mid
(a few levels of the flow's sweeps cross it), a window of 2-20 ns and halts of 1-12 ns (the
flow's ts steps of 0-7 ns both keep trades in the window and end halts), 1-3 trades to arm
it; and its malformed variants (a partial set, a zero percentage, a bool window). Now and
then a cooling-off collar of 1-4 ticks for 1-12 ns after a resume, and a `halt_orders` mode
(collect or reject; auction flows collect unless told otherwise).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from hypothesis import strategies as st

Cmd = dict[str, Any]


class _Sym(Protocol):
    name: str
    tick: Decimal
    lot: Decimal
    mid_ticks: int


class Builder(Protocol):
    syms: Any
    users: list[str]

    def num(self, units: int, unit: Decimal, style: int) -> Any: ...

    def head(self, cmd: str, p: dict[str, Any]) -> Cmd: ...


RISK_INSTRUMENT = {
    "fields": st.fixed_dictionaries({
        "min_qty": st.one_of(st.none(), st.integers(1, 3)),
        "max_qty": st.one_of(st.none(), st.integers(3, 8)),
        "max_notional": st.one_of(st.none(), st.integers(2, 6)),
        "collar": st.one_of(st.none(), st.integers(1, 6)),
        "reference": st.one_of(st.none(), st.integers(-3, 3)),
        "protect": st.one_of(st.none(), st.integers(0, 3)),
    }),
    "breaker": st.one_of(st.none(), st.fixed_dictionaries({
        "ticks": st.integers(1, 4),  # band half-width at the mid
        "window": st.integers(2, 20),
        "halt": st.integers(1, 12),
        "min_trades": st.one_of(st.none(), st.integers(1, 3)),
    })),
    "halt_orders": st.sampled_from([None, None, "collect", "collect", "reject"]),
    "cooloff": st.one_of(st.none(), st.none(), st.tuples(st.integers(1, 4), st.integers(1, 12))),
    "off": st.sampled_from([False] * 6 + [True]),
    "broken": st.sampled_from([None] * 20 + list(range(13))),
}
LIMITS = {
    "max_open": st.one_of(st.none(), st.integers(1, 6)),
    "bucket": st.one_of(st.none(), st.tuples(st.sampled_from([10**8, 3 * 10**8, 10**9]), st.integers(1, 3))),
    "broken": st.sampled_from([None] * 20 + list(range(3))),
}
KILL = {"active": st.booleans()}


def build_risk_instrument(b: Builder, p: dict[str, Any], s: _Sym) -> Cmd:
    c = b.head("instrument", p)
    c.update(symbol=s.name, tick_size=f"{s.tick.normalize():f}", lot_size=f"{s.lot.normalize():f}")
    if p["off"]:
        return c
    f = p["fields"]
    style = p["style"]
    if f["min_qty"] is not None:
        c["min_qty"] = b.num(f["min_qty"], s.lot, style)
    if f["max_qty"] is not None:
        c["max_qty"] = b.num(f["max_qty"], s.lot, style)
    if f["max_notional"] is not None:
        c["max_notional"] = f"{(s.mid_ticks * s.tick * f['max_notional'] * s.lot).normalize():f}"
    if f["collar"] is not None:
        # n ticks at the mid, as a percentage with at most 6 places (rounded down: the band is
        # a little narrower than n ticks, so an order n ticks away is outside it).
        pct = (Decimal(f["collar"]) * 100 / s.mid_ticks).quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
        c["price_collar_pct"] = f"{pct.normalize():f}"
    if f["reference"] is not None:
        c["reference_price"] = b.num(s.mid_ticks + f["reference"], s.tick, style)
    if f["protect"] is not None:
        c["market_protection_ticks"] = f["protect"]
    if p["cooloff"] is not None:
        ticks, ns = p["cooloff"]  # a collar of about `ticks` at the mid for `ns` after a resume
        pct = (Decimal(ticks) * 100 / s.mid_ticks).quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
        c.update(cooloff_collar_pct=f"{pct.normalize():f}", cooloff_ns=ns)
    if p["halt_orders"] is not None:
        c["halt_orders"] = p["halt_orders"]
    elif getattr(b, "auction", False):
        c["halt_orders"] = "collect"  # auction flows keep collecting unless told otherwise
    br = p["breaker"]
    if br is not None:
        pct = (Decimal(br["ticks"]) * 100 / s.mid_ticks).quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
        c.update(breaker_pct=f"{pct.normalize():f}", breaker_window_ns=br["window"],
                 breaker_halt_ns=br["halt"])
        if br["min_trades"] is not None:
            c["breaker_min_trades"] = br["min_trades"]
    broken = p["broken"]
    if broken == 0:
        c["min_qty"] = "abc"  # bad_command
    elif broken == 1:
        c["max_qty"] = f"{(s.lot / 2).normalize():f}"  # bad_qty: not a lot multiple
    elif broken == 2:
        c["max_notional"] = "0"  # bad_price
    elif broken == 3:
        c["price_collar_pct"] = "100.5"  # bad_price
    elif broken == 4:
        c["reference_price"] = f"{(s.tick / 2).normalize():f}"  # bad_price
    elif broken == 5:
        c["market_protection_ticks"] = -1  # bad_price
    elif broken == 6:
        c["market_protection_ticks"] = "2"  # bad_command: not an integer
    elif broken == 7:
        c.update(breaker_pct="1", breaker_window_ns=5)  # bad_command: no breaker_halt_ns
    elif broken == 8:
        c.update(breaker_pct="0", breaker_window_ns=5, breaker_halt_ns=5)  # bad_price
    elif broken == 9:
        c.update(breaker_pct="1", breaker_window_ns=True, breaker_halt_ns=5)  # bad_command
    elif broken == 10:
        c["halt_orders"] = "queue"  # bad_command: not a mode
    elif broken == 11:
        c["cooloff_collar_pct"] = "1"  # bad_command: without cooloff_ns
        c.pop("cooloff_ns", None)
    elif broken == 12:
        c.update(cooloff_collar_pct="1", cooloff_ns=2.5)  # bad_command: not an integer
    return c


def build_limits(b: Builder, p: dict[str, Any], user: str) -> Cmd:
    c = b.head("limits", p)
    c["user"] = user
    if p["max_open"] is not None:
        c["max_open_orders"] = p["max_open"]
    if p["bucket"] is not None:
        c["rate"], c["burst"] = p["bucket"]
    broken = p["broken"]
    if broken == 0:
        c["max_open_orders"] = 0  # bad_command
    elif broken == 1:
        c["rate"] = 5
        c.pop("burst", None)  # bad_command: rate without burst
    elif broken == 2:
        c["burst"] = True  # bad_command: not an integer
    return c


def build_kill_switch(b: Builder, p: dict[str, Any], user: str) -> Cmd:
    c = b.head("kill_switch", p)
    c.update(user=user, active=p["active"])
    return c
