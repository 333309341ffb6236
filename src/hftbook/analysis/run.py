"""The analysis itself: contract events in, per-symbol summaries and chart data out.

Pure: no I/O, no clock, no randomness; the same events give the same `Analysis` bit for
bit. `command.py` reads the files and draws the charts around it.

How: the events are cut into batches (below); each batch goes to one
`hftbook.marketdata.MarketDataFeed` through `on_events` (the contract events plus their
`rests` fields rebuild every symbol's visible book exactly); the feed's `l2` and `trades`
messages go, per symbol, to a `SignalsDriver` that feeds that symbol's
`hftbook.analytics.BookSignals`. After each batch, every symbol the batch touched (its book
or its tape) is sampled once: its signals' snapshot feeds the summary (means, realised
volatility, trade range) and the bounded chart samples (`sampling.py`).

Batches: consecutive events with the same `ts`, at most `max_batch` of them. A longer run
(commands written without `ts` all replay at ts 0) is split so memory stays bounded; a split
may fall inside one command's events, and the signals then see that command half applied
(an order's trades done, its rest not yet) once. The book itself is exact after every batch.

Time: `ts` is in nanoseconds (the contract's clock). The engine accepts a command whose ts is
below the previous one, but the analytics cannot go back in time: such an event is analysed
at the latest ts seen so far and counted in `ts_backwards`.

Invariants: a symbol's summary counts every event naming it; means are over the batch
samples where the value is defined (an event-weighted mean, not a time-weighted one); the
realised volatility is the analytics formula (docs/ANALYTICS.md) over the whole session:
sqrt(sum of ln(mid_k / mid_k-1)**2) over the changes of a defined mid, each squared return
truncated to a multiple of 2**-96 so the sum is an exact integer (the same chain of mids
`BookSignals` sees: one per batch).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact
from fractions import Fraction
from typing import Any

from hftbook.analysis.sampling import NAN, BarSeries, Samples
from hftbook.analysis.scan import UnitsScan, check_event
from hftbook.analytics import BookSignals, SignalConfig
from hftbook.marketdata import MarketDataFeed, SignalsDriver, Units

NS_PER_S = 1_000_000_000
RV_SCALE = 1 << 96  # squared log returns as ints of 2**-96, as in hftbook.analytics
# Ticks x tick size, lots x lot size: exact (the default context rounds to 28 digits).
_EXACT = Context(prec=400, traps=[Inexact])


@dataclass(frozen=True, slots=True)
class Options:
    """How the analysis samples. `signals` None: the analytics defaults (docs/ANALYTICS.md)
    with bars of `bar_ns`."""

    bar_ns: int = 60 * NS_PER_S
    max_points: int = 2000  # chart buckets per symbol (even)
    max_bars: int = 500  # OHLCV bars per symbol before they merge two by two
    max_batch: int = 4096  # events in one batch at most
    signals: SignalConfig | None = None

    def __post_init__(self) -> None:
        if self.bar_ns < 1:
            raise ValueError(f"bars must last at least 1 ns, not {self.bar_ns}")
        if self.max_points < 2 or self.max_points % 2:
            raise ValueError(f"max_points must be an even number >= 2, not {self.max_points}")
        if self.max_bars < 1 or self.max_batch < 1:
            raise ValueError("max_bars and max_batch must be >= 1")

    def signal_config(self) -> SignalConfig:
        return self.signals if self.signals is not None else SignalConfig(bar_ns=self.bar_ns)


BARS_WANTED = 100  # the automatic bar length aims at about this many bars over the input
# Bar lengths people read at a glance, in seconds, from 1 s to a day.
_NICE_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400)


def auto_bar_ns(span_ns: int) -> int:
    """The shortest "round" bar length that cuts `span_ns` into at most `BARS_WANTED` bars:
    1, 2 or 5 x 10**k ns below a second, then 1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min, ... 1 day,
    then 1, 2 or 5 x 10**k days. A span of 0 gives 1 minute (there is no time axis then)."""
    if span_ns <= 0:
        return 60 * NS_PER_S
    want = -(-span_ns // BARS_WANTED)  # ceil
    if want <= NS_PER_S:
        unit = 1
        while True:
            for m in (1, 2, 5):
                if m * unit >= want:
                    return min(m * unit, NS_PER_S)
            unit *= 10
    for sec in _NICE_SECONDS:
        if sec * NS_PER_S >= want:
            return sec * NS_PER_S
    day = 86400 * NS_PER_S
    unit = 1
    while True:
        for m in (1, 2, 5):
            if m * unit * day >= want:
                return m * unit * day
        unit *= 10


class AnalysisError(ValueError):
    """An input the analysis cannot use; `line` is the 1-based event number when known."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line
        self.problem = message


@dataclass(frozen=True)
class SymbolReport:
    """One symbol's summary. Exact decimals for prices and quantities that are whole ticks
    and lots; exact Fractions (in price units, not ticks) for the derived prices, which need
    not terminate; floats for ratios; None where undefined (no trade, a one-sided book)."""

    symbol: str
    tick: Decimal  # the inferred units (scan.py)
    lot: Decimal
    events: int
    first_ts: int
    last_ts: int
    halts: int
    trades: int
    volume: Decimal
    notional: Decimal
    vwap: Fraction | None
    first_price: Decimal | None
    high: Decimal | None
    low: Decimal | None
    last_price: Decimal | None
    spread_bps_mean: float | None
    spread_bps_last: float | None
    imbalance_mean: float | None
    imbalance_last: float | None
    mid: Fraction | None
    microprice: Fraction | None
    rv: float | None
    ofi_total: Decimal | None
    samples: Samples
    bars: BarSeries


@dataclass(frozen=True)
class Analysis:
    events: int
    batches: int
    skipped: int  # bad lines the caller skipped (`Analyzer.skip`)
    ts_backwards: int
    first_ts: int | None
    last_ts: int | None  # the latest ts seen
    symbols: tuple[SymbolReport, ...]  # sorted by symbol


class _Symbol:
    __slots__ = ("bars", "driver", "events", "first_px", "first_ts", "halts", "high", "imb_n", "imb_sum",
                 "last", "last_ts", "low", "mid_sum", "returns", "rv_sum", "samples", "signals", "spread_n",
                 "spread_sum", "timed")

    def __init__(self, symbol: str, options: Options) -> None:
        self.signals = BookSignals(options.signal_config())
        self.driver = SignalsDriver(symbol, self.signals)
        self.samples = Samples(options.max_points)
        self.bars = BarSeries(self.signals.config.bar_ns or options.bar_ns, options.max_bars)
        self.events = self.halts = 0
        self.first_ts = self.last_ts = 0
        self.first_px: int | None = None
        self.high = self.low = 0
        self.spread_sum = self.imb_sum = 0.0
        self.spread_n = self.imb_n = 0
        self.rv_sum = 0
        self.returns = 0
        self.mid_sum: int | None = None  # bid + ask ticks at the last defined mid
        # the last sample's mid, microprice, EWMA, spread bps, imbalance (NaN: undefined)
        self.last: tuple[float, float, float, float, float] = (NAN, NAN, NAN, NAN, NAN)
        ewma = self.signals.config.ewma
        self.timed = ewma is not None and ewma.by_time  # the EWMA moves with the clock alone


class Analyzer:
    """Feed events in order with `add` (and `skip` for the bad lines you skip), then `finish`."""

    def __init__(self, units: Mapping[str, Units], options: Options | None = None) -> None:
        self.options = options if options is not None else Options()
        self.units = units
        self._feed = MarketDataFeed(channels=("l1", "l2", "trades"))
        self._symbols: dict[str, _Symbol] = {}
        self._batch: list[tuple[int, Mapping[str, Any]]] = []
        self._batch_ts = -1
        self._clock = 0  # the latest ts seen
        self._line = 0  # the line the feed is reading (for errors)
        self.events = self.batches = self.skipped = self.ts_backwards = 0
        self.first_ts: int | None = None

    def add(self, line: int, ev: Mapping[str, Any]) -> None:
        """One event (already checked with `scan.check_event`), `line` its line number."""
        ts: int = ev["ts"]
        if ts != self._batch_ts or len(self._batch) >= self.options.max_batch:
            if self._batch:
                self._flush()
            self._batch_ts = ts
        if self.first_ts is None:
            self.first_ts = self._clock = ts
        if ts < self._clock:
            self.ts_backwards += 1
            ts = self._clock
            ev = {**ev, "ts": ts}
        else:
            self._clock = ts
        self.events += 1
        sym = ev.get("symbol")
        if sym is not None:
            s = self._symbols.get(sym)
            if s is None:
                s = self._symbols[sym] = _Symbol(sym, self.options)
                s.first_ts = ts
            s.events += 1
            s.last_ts = ts
        self._batch.append((line, ev))

    def skip(self) -> None:
        """Count a bad line the caller chose to skip."""
        self.skipped += 1

    def finish(self) -> Analysis:
        if self._batch:
            self._flush()
        reports = []
        for sym in sorted(self._symbols):
            reports.append(self._report(sym, self._symbols[sym]))
        return Analysis(self.events, self.batches, self.skipped, self.ts_backwards, self.first_ts,
                        self._clock if self.first_ts is not None else None, tuple(reports))

    # -- inside ----------------------------------------------------------------------------

    def _tracked(self, batch: list[tuple[int, Mapping[str, Any]]]) -> Iterable[Mapping[str, Any]]:
        for line, ev in batch:
            self._line = line  # on_events is reading this one: an error names it
            yield ev

    def _flush(self) -> None:
        batch = self._batch
        self._batch = []
        self.batches += 1
        feed = self._feed
        try:
            feed.on_events(self._tracked(batch), self.units)
        except KeyError as exc:
            raise AnalysisError(self._line, f"no units for symbol {exc}") from exc
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise AnalysisError(self._line, f"the event does not fit the book rebuilt from the events "
                                f"before it ({exc}); is this the whole output of one replay?") from exc
        msgs = feed.take()
        if not msgs:
            return
        per: dict[str, list[tuple[Any, ...]]] = {}
        for m in msgs:
            ms = per.get(m[1])
            if ms is None:
                per[m[1]] = [m]
            else:
                ms.append(m)
        for sym, ms in per.items():
            try:
                self._sample(self._symbols[sym], ms)
            except ValueError as exc:
                first, last = batch[0][0], batch[-1][0]
                raise AnalysisError(None, f"lines {first}-{last}: the analytics refused the batch "
                                    f"({exc})") from exc

    def _sample(self, s: _Symbol, msgs: list[tuple[Any, ...]]) -> None:
        s.driver.on_messages(msgs)
        lo = hi = NAN
        quoted = s.timed
        for m in msgs:
            channel = m[0]
            if channel == "l1":
                quoted = True
            elif channel == "trades":
                if m[4] == "trade":
                    price = m[6]
                    if lo != lo or price < lo:
                        lo = price
                    if hi != hi or price > hi:
                        hi = price
                elif m[5] == "halted":
                    s.halts += 1
        if lo == lo:
            if s.first_px is None:
                s.first_px = int(lo)
                s.high, s.low = int(hi), int(lo)
            else:
                s.high = max(s.high, int(hi))
                s.low = min(s.low, int(lo))
        sig = s.signals
        for bar in sig.take_bars():
            s.bars.add(bar)
        if quoted:
            # The top of book moved (an `l1` quote): a snapshot (a few us) has new values.
            # Otherwise every sampled value is as it was (only L1 events move the imbalance
            # EWMA, unless its half-life is in time), so the last sample's values repeat.
            snap = sig.snapshot()
            b, a = snap.best_bid, snap.best_ask
            mid = micro = NAN
            if b is not None and a is not None:
                vb, va = snap.bid_qty or 0, snap.ask_qty or 0
                mid = (b + a) / 2
                micro = (b * va + a * vb) / (vb + va)
                total = b + a
                last = s.mid_sum
                if total != last:
                    if last is not None:
                        r = math.log(total / last)
                        s.rv_sum += int(r * r * RV_SCALE)
                        s.returns += 1
                    s.mid_sum = total
            ewma = snap.imbalance_ewma
            s.last = (mid, micro, NAN if ewma is None else ewma,
                      NAN if snap.spread_bps is None else snap.spread_bps,
                      NAN if snap.imbalance is None else snap.imbalance)
        mid, micro, ewma, bps, imb = s.last
        if bps == bps:
            s.spread_sum += bps
            s.spread_n += 1
        if imb == imb:
            s.imb_sum += imb
            s.imb_n += 1
        s.samples.add(self._clock, self.events, mid, micro, ewma, lo, hi, bps, imb)

    def _report(self, sym: str, s: _Symbol) -> SymbolReport:
        u = self.units.get(sym) or Units("1", "1")
        tick, lot = u.tick, u.lot
        sig = s.signals
        for bar in sig.take_bars():
            s.bars.add(bar)
        snap = sig.snapshot()
        if snap.bar is not None:
            s.bars.add(snap.bar)
        ftick = Fraction(tick)

        def price(ticks: int | None) -> Decimal | None:
            return None if ticks is None else _EXACT.multiply(Decimal(ticks), tick)

        def exact(ticks: Fraction | None) -> Fraction | None:
            return None if ticks is None else ticks * ftick

        notional = Decimal(0)
        if snap.vwap is not None:
            # vwap * volume is the notional in ticks x lots, an integer
            notional = _EXACT.multiply(Decimal((snap.vwap * snap.volume).numerator),
                                      _EXACT.multiply(tick, lot))
        trades = snap.trades
        return SymbolReport(
            symbol=sym, tick=tick, lot=lot, events=s.events, first_ts=s.first_ts, last_ts=s.last_ts,
            halts=s.halts, trades=trades, volume=_EXACT.multiply(Decimal(snap.volume), lot),
            notional=notional,
            vwap=exact(snap.vwap),
            first_price=price(s.first_px), high=price(s.high if trades else None),
            low=price(s.low if trades else None), last_price=price(snap.last_price),
            spread_bps_mean=s.spread_sum / s.spread_n if s.spread_n else None,
            spread_bps_last=snap.spread_bps,
            imbalance_mean=s.imb_sum / s.imb_n if s.imb_n else None, imbalance_last=snap.imbalance,
            mid=exact(snap.mid), microprice=exact(snap.microprice),
            rv=math.sqrt(s.rv_sum / RV_SCALE) if s.returns else None,
            ofi_total=None if snap.ofi_total is None else _EXACT.multiply(Decimal(snap.ofi_total), lot),
            samples=s.samples, bars=s.bars,
        )


def analyze(events: Iterable[Any], units: Mapping[str, Units] | None = None,
            options: Options | None = None) -> Analysis:
    """Analyze parsed events (dicts as `hftbook replay` prints them), stopping at the first
    one that is not an event (`AnalysisError`). Without `units` they are inferred first
    (`scan.UnitsScan`), which reads the events twice."""
    if units is None:
        events = list(events)
        scan = UnitsScan()
        for line, ev in enumerate(events, 1):
            problem = scan.add(line, ev)
            if problem is not None:
                raise AnalysisError(line, problem)
        units = scan.units()
    analyzer = Analyzer(units, options)
    for line, ev in enumerate(events, 1):
        problem = check_event(ev)
        if problem is not None:
            raise AnalysisError(line, problem)
        analyzer.add(line, ev)
    return analyzer.finish()
