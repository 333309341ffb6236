"""Bounded chart data: per-batch samples and OHLCV bars that never outgrow a fixed size.

The analysis samples each symbol once per batch, and an input can hold millions of batches;
the charts need a few thousand points at most. `Samples` keeps at most `cap` buckets: each
bucket covers `stride` consecutive samples, and when the buckets fill up, neighbours are
merged two by two and the stride doubles (1, 2, 4, ...). So memory is O(cap) whatever the
input, every bucket covers the same number of samples (the last one is filling), and the
result is a pure function of the samples (no clock, no randomness). What a bucket keeps:

- `ts`, `seq`: the time and the event number of its last sample;
- `mid`, `micro`, `ewma`: the last values (the state at the bucket's end);
- `lo`, `hi`: the lowest and highest trade price printed in it (so a sweep that lasts one
  batch still shows in full, however much the chart is compressed);
- `spread`, `imb`: the mean over its samples where the value is defined.
Undefined values are NaN (matplotlib leaves a gap there).

`BarSeries` keeps OHLCV bars (`hftbook.analytics.Bar`, aligned to multiples of their
interval from ts 0) and, when there are more than `cap`, merges them two by two into bars of
twice the interval; alignment makes the merge exact (bar k of length 2L holds bars 2k and
2k + 1 of length L).

Invariants: `len(Samples) <= cap` and `len(BarSeries.bars) <= cap` after every call; the
bars are in increasing `start`, each aligned to `interval`.
"""

from __future__ import annotations

import math

from hftbook.analytics import Bar

NAN = math.nan


def _lower(a: float, b: float) -> float:
    """min ignoring NaN (NaN only when both are)."""
    return b if a != a or b < a else a


def _higher(a: float, b: float) -> float:
    return b if a != a or b > a else a


class Samples:
    __slots__ = ("_fill", "cap", "ewma", "hi", "imb", "imb_n", "lo", "micro", "mid", "seq", "spread",
                 "spread_n", "stride", "ts")

    def __init__(self, cap: int) -> None:
        if cap < 2 or cap % 2:
            raise ValueError(f"the sample cap must be an even number >= 2, not {cap}")
        self.cap = cap
        self.stride = 1
        self._fill = 0  # samples in the last bucket while it fills (0: start a new one)
        self.ts: list[int] = []
        self.seq: list[int] = []
        self.mid: list[float] = []
        self.micro: list[float] = []
        self.ewma: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.spread: list[float] = []  # sums while filling; `means()` divides
        self.spread_n: list[int] = []
        self.imb: list[float] = []
        self.imb_n: list[int] = []

    def __len__(self) -> int:
        return len(self.ts)

    def add(self, ts: int, seq: int, mid: float, micro: float, ewma: float, lo: float, hi: float,
            spread: float, imb: float) -> None:
        """One sample; NaN for what is undefined."""
        sd = spread == spread
        im = imb == imb
        if self._fill:
            self.ts[-1] = ts
            self.seq[-1] = seq
            self.mid[-1] = mid
            self.micro[-1] = micro
            self.ewma[-1] = ewma
            self.lo[-1] = _lower(self.lo[-1], lo)
            self.hi[-1] = _higher(self.hi[-1], hi)
            if sd:
                self.spread[-1] += spread
                self.spread_n[-1] += 1
            if im:
                self.imb[-1] += imb
                self.imb_n[-1] += 1
        else:
            self.ts.append(ts)
            self.seq.append(seq)
            self.mid.append(mid)
            self.micro.append(micro)
            self.ewma.append(ewma)
            self.lo.append(lo)
            self.hi.append(hi)
            self.spread.append(spread if sd else 0.0)
            self.spread_n.append(1 if sd else 0)
            self.imb.append(imb if im else 0.0)
            self.imb_n.append(1 if im else 0)
        self._fill += 1
        if self._fill == self.stride:
            self._fill = 0
            if len(self.ts) == self.cap:
                self._halve()

    def _halve(self) -> None:
        """Merge buckets 2i and 2i + 1: the later one's last values, both extremes, summed means."""
        for name in ("ts", "seq", "mid", "micro", "ewma"):
            setattr(self, name, getattr(self, name)[1::2])
        lo, hi = self.lo, self.hi
        self.lo = [_lower(lo[i], lo[i + 1]) for i in range(0, len(lo), 2)]
        self.hi = [_higher(hi[i], hi[i + 1]) for i in range(0, len(hi), 2)]
        for name in ("spread", "spread_n", "imb", "imb_n"):
            v = getattr(self, name)
            setattr(self, name, [v[i] + v[i + 1] for i in range(0, len(v), 2)])
        self.stride *= 2

    def spread_means(self) -> list[float]:
        return [s / n if n else NAN for s, n in zip(self.spread, self.spread_n, strict=True)]

    def imbalance_means(self) -> list[float]:
        return [s / n if n else NAN for s, n in zip(self.imb, self.imb_n, strict=True)]


def _merge(a: Bar, b: Bar, start: int) -> Bar:
    return Bar(start, a.open, max(a.high, b.high), min(a.low, b.low), b.close, a.volume + b.volume,
               a.notional + b.notional, a.trades + b.trades)


class BarSeries:
    __slots__ = ("bars", "cap", "interval")

    def __init__(self, interval: int, cap: int) -> None:
        if interval < 1 or cap < 1:
            raise ValueError(f"bars need an interval >= 1 ns and a cap >= 1: {interval}, {cap}")
        self.interval = interval
        self.cap = cap
        self.bars: list[Bar] = []

    def add(self, bar: Bar) -> None:
        """The next bar (its start after every bar added before)."""
        start = bar.start - bar.start % self.interval
        bars = self.bars
        if bars and bars[-1].start == start:
            bars[-1] = _merge(bars[-1], bar, start)
            return
        bars.append(bar._replace(start=start))
        while len(bars) > self.cap:
            self.interval *= 2
            merged: list[Bar] = []
            for b in bars:
                s = b.start - b.start % self.interval
                if merged and merged[-1].start == s:
                    merged[-1] = _merge(merged[-1], b, s)
                else:
                    merged.append(b._replace(start=s))
            self.bars = bars = merged
