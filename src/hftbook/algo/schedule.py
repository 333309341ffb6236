"""Schedule math of the execution algorithms (docs/ALGO.md, "The schedule"): pure functions.

Invariants: quantities are whole lots and targets are rounded down, so a target never exceeds
the parent's quantity and is non-decreasing in time; slice times are strictly increasing,
start at `start` and end at `end`; everything is exact (Fractions) except a twap urgency
that is not a whole number, which goes through one float power (IEEE, the same everywhere);
jitter comes from SplitMix64 with the given seed, so a schedule is a function of its inputs.
"""

from __future__ import annotations

import math
from fractions import Fraction

_MASK64 = (1 << 64) - 1


def splitmix64(state: int) -> tuple[int, int]:
    """(next state, output) of SplitMix64: small, seedable, the same in every process."""
    s = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return s, z ^ (z >> 31)


def slice_times(start: int, end: int, interval: int, jitter_pct: int = 0, seed: int = 0) -> list[int]:
    """`start, start + interval, ...` (before `end`), then `end`; with jitter, each slice
    between the first and the last moves by a whole number of ns in
    [-jitter_pct, +jitter_pct] % of the interval, kept strictly between its neighbours."""
    times = [*range(start, end, interval), end]
    if not jitter_pct or len(times) < 3:
        return times
    state = seed & _MASK64
    span = 2 * jitter_pct + 1
    for k in range(1, len(times) - 1):
        state, z = splitmix64(state)
        shift = (z % span - jitter_pct) * interval // 100
        t = times[k] + shift
        times[k] = min(max(t, times[k - 1] + 1), end - 1)
    # Clamping at end - 1 can bunch the last slices; keep them strictly increasing.
    for k in range(len(times) - 2, 0, -1):
        if times[k] >= times[k + 1]:
            times[k] = times[k + 1] - 1
    return times


def twap_target(qty: int, start: int, end: int, t: int, urgency: Fraction = Fraction(0)) -> int:
    """Lots due by time t: qty x f(x), x = (t - start) / (end - start) clamped to [0, 1],
    f(x) = x, or 1 - (1 - x)^(1 + urgency) (front-loaded) with urgency > 0."""
    if t <= start:
        return 0
    if t >= end:
        return qty
    x = Fraction(t - start, end - start)
    if not urgency:
        return math.floor(qty * x)
    if urgency.denominator == 1:
        exact: Fraction = 1 - (1 - x) ** (1 + urgency.numerator)
        return math.floor(qty * exact)
    share: float = 1.0 - (1.0 - float(x)) ** (1.0 + float(urgency))
    due = math.floor(qty * share)
    return min(qty, max(0, due))


def u_profile(n: int) -> list[Fraction]:
    """The default intraday volume profile over n slice intervals: 1 + 3 (2x - 1)^2 at each
    interval's midpoint x, heavier at the open and the close."""
    return [1 + 3 * (2 * Fraction(2 * k + 1, 2 * n) - 1) ** 2 for k in range(n)]


def vwap_target(qty: int, times: list[int], weights: list[Fraction], t: int) -> int:
    """Lots due by time t: qty x the profile's cumulative weight at t / its total, linear
    within each slice interval (`weights[k]` covers times[k] .. times[k + 1])."""
    assert len(weights) == len(times) - 1 and weights
    if t <= times[0]:
        return 0
    if t >= times[-1]:
        return qty
    total = sum(weights, Fraction(0))
    done = Fraction(0)
    for k, w in enumerate(weights):
        lo, hi = times[k], times[k + 1]
        if t < hi:
            done += w * Fraction(t - lo, hi - lo)
            break
        done += w
    return math.floor(qty * done / total)


def pov_target(others: int, pct: Fraction, qty: int) -> int:
    """Lots due after the others traded `others` lots: floor(others x pct / 100), at most qty."""
    due: int = (others * pct.numerator) // (100 * pct.denominator)
    return min(qty, due)


def intervals(start: int, end: int, interval: int) -> int:
    """How many slice intervals `slice_times` makes without jitter."""
    return len(range(start, end, interval))


__all__ = ["intervals", "pov_target", "slice_times", "splitmix64", "twap_target", "u_profile", "vwap_target"]
