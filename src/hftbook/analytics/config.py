"""The tracker's parameters: window and half-life lengths, depth levels, decay, lambda.

Invariants: a `SignalConfig` is frozen and checked when made (a bad value raises
`ValueError` there, never later on the hot path); every length is a positive int, counted in
events or in nanoseconds of the input `ts` (`Span`); the depth decay and lambda are exact
`Fraction`s, so depth weights are integers and ratios of them are exact rationals.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple


class Span(NamedTuple):
    """A window or half-life length: `n` events, or `n` nanoseconds of `ts` when `by_time`."""

    n: int
    by_time: bool = False


def events(n: int) -> Span:
    """A length of `n` events (what counts as an event is said where the span is used)."""
    return Span(n, False)


def nanos(n: int) -> Span:
    """A length of `n` nanoseconds of the input clock `ts`."""
    return Span(n, True)


_HUNDRED_EVENTS = Span(100)


@dataclass(frozen=True, slots=True)
class SignalConfig:
    """What `BookSignals` computes and over which windows (None turns a signal off).

    - `levels`, `decay`: the depth-weighted imbalance uses the first `levels` levels of each
      side with weights 1, decay, decay**2, ... (0 < decay <= 1); `levels=0` turns it and the
      top-of-book depth off. The defaults (5, 1/2) are the engine's `metrics` defaults.
    - `ewma`: half-life of the imbalance EWMA, in L1 events or in ns.
    - `ofi`: window of the order-flow imbalance sum, in L1 events or in ns.
    - `rv`: window of the realised volatility, in mid changes or in ns.
    - `vwap`: window of the rolling VWAP, in trades or in ns (the session VWAP is always on).
    - `bar_ns`: OHLCV bar length in ns (bars start at multiples of it); `keep_bars` bounds
      the closed bars held until `take_bars`.
    - `lam`: lambda of the predicted move lam * imbalance * spread; 1/2 makes
      mid + predicted move equal to the microprice.
    """

    levels: int = 5
    decay: Fraction = Fraction(1, 2)
    ewma: Span | None = _HUNDRED_EVENTS
    ofi: Span | None = _HUNDRED_EVENTS
    rv: Span | None = _HUNDRED_EVENTS
    vwap: Span | None = _HUNDRED_EVENTS
    bar_ns: int | None = 60_000_000_000
    keep_bars: int = 1024
    lam: Fraction = Fraction(1, 2)

    def __post_init__(self) -> None:
        if type(self.levels) is not int or self.levels < 0:
            raise ValueError(f"levels must be an int >= 0, not {self.levels!r}")
        if not isinstance(self.decay, Fraction) or not 0 < self.decay <= 1:
            raise ValueError(f"decay must be a Fraction in (0, 1], not {self.decay!r}")
        if not isinstance(self.lam, Fraction):
            raise ValueError(f"lam must be a Fraction, not {self.lam!r}")
        for name in ("ewma", "ofi", "rv", "vwap"):
            span = getattr(self, name)
            if span is not None and (
                not isinstance(span, Span) or type(span.n) is not int or span.n < 1
            ):
                raise ValueError(f"{name} must be None or a Span of n >= 1, not {span!r}")
        if self.bar_ns is not None and (type(self.bar_ns) is not int or self.bar_ns < 1):
            raise ValueError(f"bar_ns must be None or an int >= 1, not {self.bar_ns!r}")
        if type(self.keep_bars) is not int or self.keep_bars < 0:
            raise ValueError(f"keep_bars must be an int >= 0, not {self.keep_bars!r}")

    def weights(self) -> tuple[int, ...]:
        """Integer depth weights, best level first: decay**i scaled by den**(levels-1).

        With decay = num/den, weight i is num**i * den**(levels-1-i); every weight has the same
        scale, so a ratio of weighted sums equals the one with weights 1, decay, decay**2 ...
        """
        num, den, n = self.decay.numerator, self.decay.denominator, self.levels
        return tuple(num**i * den ** (n - 1 - i) for i in range(n))


L1_ONLY = SignalConfig(levels=0, ewma=None, ofi=None, rv=None, vwap=None, bar_ns=None)
"""Top of book only: mid, microprice, imbalance, spread, predicted move, total depth, VWAP."""
