"""A VWAP volume profile learned from historical trades (docs/ALGO.md, `profile`).

`learn_profile(events, buckets)` reads contract events (a replay output, or a recorded day),
keeps the `trade`s (of one symbol if given), splits the time they span into `buckets` equal
intervals and weighs each interval by the quantity traded in it. The result is what the
`algo` command's `profile` takes (one weight per slice interval), so a parent with the same
number of slices follows yesterday's volume curve.

Invariants: weights are positive decimal strings (an interval with no trade weighs one
hundredth of the average, so every slice still gets a little); the result depends only on
the events' `ts` and `qty`, in any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hftbook.core.numbers import fraction_str


def learn_profile(events: Iterable[Mapping[str, Any]], buckets: int, symbol: str | None = None) -> list[str]:
    """One weight per bucket (see the module docstring); ValueError without trades."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    trades = [(int(e["ts"]), Decimal(str(e["qty"]))) for e in events
              if e.get("type") == "trade" and (symbol is None or e.get("symbol") == symbol)]
    if not trades:
        raise ValueError("no trades to learn a profile from")
    lo = min(t for t, _ in trades)
    hi = max(t for t, _ in trades)
    span = hi - lo + 1
    volume = [Fraction(0)] * buckets
    for t, q in trades:
        volume[min(buckets - 1, (t - lo) * buckets // span)] += Fraction(q)
    floor = sum(volume, Fraction(0)) / (100 * buckets)
    return [fraction_str(v if v > floor else floor, 8) for v in volume]


__all__ = ["learn_profile"]
