"""A parent order's running state and its statistics (docs/ALGO.md, "Events").

Invariants: `executed + sum(resting) <= qty` at all times (a child is never larger than what is
neither executed nor resting); `executed` and `notional` only grow, from the parent's own
children's trades; the market figures count every trade on the symbol from the first slice on,
the parent's own included, and `others` those that are not its own (what `pov` follows);
nothing here reads a clock or iterates a hash-ordered container into output (`resting` is a
dict in insertion order: child order).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hftbook.algo.params import AlgoSpec, parse_algo
from hftbook.algo.schedule import pov_target, slice_times, twap_target, vwap_target
from hftbook.core.instrument import Instrument
from hftbook.core.numbers import fraction_str

EXTRA_PLACES = 8  # as `metrics`: prices exact up to 8 places beyond the tick


class Parent:
    """One parent order: its terms, its slices, what its children did, what the market did."""

    def __init__(self, spec: AlgoSpec, seq: int) -> None:
        self.spec = spec
        self.seq = seq  # creation order: ties between parents are broken by it
        s = spec
        jitter = s.jitter_pct if s.algo == "twap" else 0
        self.times = slice_times(s.start, s.end, s.interval, jitter, s.seed)
        self.next = 0  # index of the next slice due
        self.executed = 0  # lots
        self.notional = 0  # ticks x lots
        self.resting: dict[Any, int] = {}  # child id -> open lots, children still live
        self.children = 0
        self.paused = False
        self.done = False
        self.started = False  # the first slice has run: the statistics window is open
        self.arrival: Fraction | None = None  # ticks
        self.market_qty = 0
        self.market_notional = 0
        self.others = 0  # lots traded on the symbol by others since start (pov)
        self.max_dev = Fraction(0)
        self.reported = 0  # executed as of the last `algo_progress`

    @property
    def due(self) -> int | None:
        """The time of the next slice, None when all have run."""
        return self.times[self.next] if self.next < len(self.times) else None

    def target(self, t: int) -> int:
        s = self.spec
        if s.algo == "twap":
            return twap_target(s.qty, s.start, s.end, t, s.urgency)
        if s.algo == "vwap":
            return vwap_target(s.qty, self.times, s.profile, t)
        return pov_target(self.others, s.pov_pct, s.qty)

    def open_qty(self) -> int:
        return sum(self.resting.values())

    def note_deviation(self, t: int) -> None:
        dev = Fraction(abs(self.executed - self.target(t)), self.spec.qty)
        if dev > self.max_dev:
            self.max_dev = dev

    # -- reporting --------------------------------------------------------------------------

    def summary(self, inst: Instrument) -> dict[str, Any]:
        """`executed` .. `schedule_deviation` of `algo_done` / `algo_cancelled`."""
        t = Fraction(inst.tick)
        places = inst.tick_places + EXTRA_PLACES
        avg = Fraction(self.notional, self.executed) if self.executed else None
        vwap = Fraction(self.market_notional, self.market_qty) if self.market_qty else None
        sign = 1 if self.spec.side == "buy" else -1

        def bps(ref: Fraction | None) -> float | None:
            if avg is None or ref is None:
                return None
            return float(sign * (avg - ref) * 10000 / ref)

        return {
            "executed": inst.qty_str(self.executed),
            "avg_price": None if avg is None else fraction_str(avg * t, places),
            "arrival_price": None if self.arrival is None else fraction_str(self.arrival * t, places),
            "market_vwap": None if vwap is None else fraction_str(vwap * t, places),
            "slippage_bps_arrival": bps(self.arrival),
            "slippage_bps_vwap": bps(vwap),
            "participation": float(Fraction(self.executed, self.market_qty)) if self.market_qty else None,
            "schedule_deviation": float(self.max_dev),
        }

    def snapshot(self) -> dict[str, Any]:
        """The running state as JSON-able data (the terms are the `algo` command's)."""
        return {
            "seq": self.seq, "next": self.next, "executed": self.executed, "notional": self.notional,
            "resting": [[cid, q] for cid, q in self.resting.items()], "children": self.children,
            "paused": self.paused, "done": self.done, "started": self.started,
            "arrival": None if self.arrival is None else [self.arrival.numerator, self.arrival.denominator],
            "market_qty": self.market_qty, "market_notional": self.market_notional, "others": self.others,
            "max_dev": [self.max_dev.numerator, self.max_dev.denominator], "reported": self.reported,
        }

    def load(self, d: dict[str, Any]) -> None:
        self.next, self.executed, self.notional = d["next"], d["executed"], d["notional"]
        self.resting = {cid: q for cid, q in d["resting"]}
        self.children, self.paused, self.done = d["children"], d["paused"], d["done"]
        self.started = d["started"]
        self.arrival = None if d["arrival"] is None else Fraction(*d["arrival"])
        self.market_qty, self.market_notional = d["market_qty"], d["market_notional"]
        self.others = d["others"]
        self.max_dev = Fraction(*d["max_dev"])
        self.reported = d["reported"]


def planned_target(cmd: dict[str, Any], tick: Decimal, lot: Decimal) -> Callable[[int, int], int]:
    """The schedule of the parent an `algo` command (or its `algo_started` echo) describes:
    a function of (t, the others' lots traded since start: `pov` only) giving the target in
    lots at t, exactly as the engine computes it (for charts and audits)."""
    spec = parse_algo(dict(cmd, cmd="algo"), {cmd["symbol"]: (tick, lot)})
    parent = Parent(spec, 0)

    def target(t: int, others: int = 0) -> int:
        parent.others = others
        return 0 if t < spec.start else parent.target(t)

    return target


__all__ = ["EXTRA_PLACES", "Parent", "planned_target"]
