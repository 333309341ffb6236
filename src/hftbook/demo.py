"""`hftbook demo`: a realistic multi-symbol order flow through the engine, with a live display.

The flow comes from `hftbook.workload` (seeded, so a run is reproducible message for message);
it is applied through the integer door, each call timed with `perf_counter_ns`. The display
shows message and trade rates, per-message latency percentiles (an HDR histogram when the
optional `hdrhistogram` package is installed, else a sorted sample of recent latencies) and
the top of each book, read through the contract door (`book` queries) between batches.

On a terminal the screen is redrawn a few times a second; otherwise (a pipe, a file) one plain
line is printed per second. The demo stops after `seconds` (0: never) or on Ctrl-C, prints a
summary line, and returns 0.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TextIO

from hftbook.core.exchange import Exchange
from hftbook.core.types import EV_TRADE
from hftbook.runtime.gcpolicy import tune_for_engine
from hftbook.workload import Flow, FlowConfig, new_exchange, run_batch, run_timed

SYMBOLS = (
    ("AAPL", 19_000.0), ("MSFT", 41_000.0), ("NVDA", 12_000.0), ("AMZN", 18_500.0),
    ("GOOG", 17_000.0), ("META", 50_000.0),
)
TICK = Decimal("0.01")
LOT = Decimal("1")
BATCH = 2_000  # messages generated and applied between looks at the clock
TTY_REFRESH = 0.25  # seconds between redraws on a terminal
PLAIN_REFRESH = 1.0  # seconds between lines otherwise
SAMPLE_KEEP = 200_000  # latencies kept for the fallback percentile estimate

Quote = tuple[str, str]  # price, qty: decimal strings from the contract door

_HOME_CLEAR = "\x1b[H\x1b[J"
_HIDE_CURSOR = "\x1b[?25l"
_SHOW_CURSOR = "\x1b[?25h"


class Percentiles:
    """Latency percentiles: HDR histogram if available, else a sorted sample of recent values."""

    def __init__(self) -> None:
        self.hist: Any = None
        try:
            from hdrh.histogram import HdrHistogram
        except ImportError:
            self.source = "sample"
        else:
            self.hist = HdrHistogram(1, 60_000_000_000, 3)
            self.source = "HDR"
        self.samples: list[int] = []
        self.pending: dict[int, int] = {}
        self.max = 0
        self.count = 0

    def add(self, values: Sequence[int]) -> None:
        if not values:
            return
        self.count += len(values)
        self.max = max(self.max, max(values))
        if self.hist is not None:
            pending = self.pending  # tallied here, recorded in bulk when read
            get = pending.get
            for v in values:
                pending[v] = get(v, 0) + 1
        else:
            self.samples.extend(values)
            if len(self.samples) > 2 * SAMPLE_KEEP:
                del self.samples[:-SAMPLE_KEEP]

    def quantiles(self) -> tuple[int, int, int]:
        """(p50, p99, p99.9) in nanoseconds; zeros before any sample."""
        if not self.count:
            return 0, 0, 0
        if self.hist is not None:
            record = self.hist.record_value
            for v, n in self.pending.items():
                record(min(max(v, 1), 60_000_000_000), n)
            self.pending.clear()
            get = self.hist.get_value_at_percentile
            return int(get(50.0)), int(get(99.0)), int(get(99.9))
        s = sorted(self.samples[-SAMPLE_KEEP:])
        n = len(s)
        return s[n // 2], s[min(n - 1, n * 99 // 100)], s[min(n - 1, n * 999 // 1000)]


class Demo:
    """The flow, the exchange, and the running statistics."""

    def __init__(self, seed: int) -> None:
        config = FlowConfig(target=1500)
        weights = [1.0 / (i + 1) for i in range(len(SYMBOLS))]
        self.flow = Flow(seed, SYMBOLS, config, weights)
        self.ex: Exchange = new_exchange([(sym, TICK, LOT) for sym, _ in SYMBOLS])
        run_batch(self.ex, self.flow.seed_book(config.target))
        tune_for_engine()
        self.latency = Percentiles()
        self.messages = 0
        self.trades = 0
        self.engine_ns = 0
        self.last_trade: dict[str, int] = {}

    def step(self) -> None:
        """Generate and apply one batch, timing each door call, then read its events."""
        msgs = self.flow.take(BATCH)
        lat = run_timed(self.ex, msgs, clear_each=False)
        self.engine_ns += sum(lat)
        self.latency.add(lat)
        self.messages += len(msgs)
        out = self.ex.out
        last = self.last_trade
        trades = 0
        for e in out:
            if e[0] == EV_TRADE:
                trades += 1
                last[e[1].symbol] = e[3]
        self.trades += trades
        del out[:]

    def top(self, symbol: str) -> tuple[Quote | None, Quote | None]:
        """Best bid and ask (price, qty as decimal strings) through a contract `book` query.

        Only called between batches, when `ex.out` is empty: `apply` renders what is there.
        """
        for ev in self.ex.apply({"cmd": "book", "symbol": symbol, "depth": 1}):
            if ev.get("type") == "book":
                return _quote(ev["bids"]), _quote(ev["asks"])
        return None, None

    def resting(self) -> int:
        return sum(len(orders) for orders in self.ex.live.values())


def _quote(levels: list[Any]) -> Quote | None:
    return (str(levels[0][0]), str(levels[0][1])) if levels else None


def _price(ticks: int | None) -> str:
    return "-" if ticks is None else f"{TICK * ticks:.2f}"


def _dec(value: str | None, places: int) -> str:
    """A decimal string from the contract door, shown with fixed places (qty with commas)."""
    if value is None:
        return "-"
    return f"{Decimal(value):,.{places}f}"


def _us(ns: float) -> str:
    us = ns / 1000.0
    if us >= 1000.0:
        return f"{us / 1000.0:,.1f} ms"
    return f"{us:.1f} us" if us < 100.0 else f"{us:.0f} us"


class Screen:
    """Renders the statistics: a redrawn panel on a terminal, one line a second otherwise."""

    def __init__(self, demo: Demo, stream: TextIO, tty: bool, seed: int) -> None:
        self.demo = demo
        self.stream = stream
        self.tty = tty
        self.seed = seed
        self.start = time.monotonic()
        self.prev_time = self.start
        self.prev_msgs = 0
        self.prev_trades = 0

    def rates(self, now: float) -> tuple[float, float]:
        d = self.demo
        dt = max(now - self.prev_time, 1e-9)
        rates = ((d.messages - self.prev_msgs) / dt, (d.trades - self.prev_trades) / dt)
        self.prev_time, self.prev_msgs, self.prev_trades = now, d.messages, d.trades
        return rates

    def draw(self, now: float) -> None:
        msg_rate, trade_rate = self.rates(now)
        if self.tty:
            self.stream.write(_HOME_CLEAR + self.panel(now, msg_rate, trade_rate))
        else:
            self.stream.write(self.line(now, msg_rate, trade_rate) + "\n")
        self.stream.flush()

    def panel(self, now: float, msg_rate: float, trade_rate: float) -> str:
        d = self.demo
        p50, p99, p999 = d.latency.quantiles()
        capacity = d.messages / (d.engine_ns / 1e9) if d.engine_ns else 0.0
        rows = [
            f"hftbook demo   seed {self.seed}   elapsed {now - self.start:6.1f}s   (Ctrl-C to stop)",
            "",
            f"messages {d.messages:>13,}   msg/s {msg_rate:>11,.0f}   "
            f"engine-only capacity {capacity:>11,.0f} msg/s",
            f"trades   {d.trades:>13,}   trades/s {trade_rate:>8,.0f}   resting orders {d.resting():>8,}",
            f"latency per message ({d.latency.source}): p50 {_us(p50)}   p99 {_us(p99)}   "
            f"p99.9 {_us(p999)}   max {_us(d.latency.max)}",
            "",
            f"{'symbol':<7}{'bid qty':>10}{'bid':>11}{'ask':>11}{'ask qty':>10}{'last':>11}"
            f"{'spread bps':>12}",
        ]
        for sym, _ in SYMBOLS:
            bid, ask = d.top(sym)
            spread = ""
            if bid is not None and ask is not None:
                b, a = Decimal(bid[0]), Decimal(ask[0])
                spread = f"{float((a - b) / ((a + b) / 2) * 10_000):.2f}"
            rows.append(
                f"{sym:<7}{_dec(bid[1] if bid else None, 0):>10}{_dec(bid[0] if bid else None, 2):>11}"
                f"{_dec(ask[0] if ask else None, 2):>11}{_dec(ask[1] if ask else None, 0):>10}"
                f"{_price(d.last_trade.get(sym)):>11}{spread:>12}"
            )
        return "\n".join(rows) + "\n"

    def line(self, now: float, msg_rate: float, trade_rate: float) -> str:
        d = self.demo
        p50, p99, p999 = d.latency.quantiles()
        books = []
        for sym, _ in SYMBOLS[:3]:
            bid, ask = d.top(sym)
            books.append(f"{sym} {_dec(bid[0] if bid else None, 2)}/{_dec(ask[0] if ask else None, 2)}")
        capacity = d.messages / (d.engine_ns / 1e9) if d.engine_ns else 0.0
        return (f"t={now - self.start:.1f}s msgs={d.messages} msg/s={msg_rate:.0f} "
                f"engine_capacity={capacity:.0f} "
                f"trades/s={trade_rate:.0f} p50={p50 / 1000:.1f}us p99={p99 / 1000:.1f}us "
                f"p99.9={p999 / 1000:.1f}us " + " ".join(books))

    def summary(self, now: float) -> str:
        d = self.demo
        elapsed = max(now - self.start, 1e-9)
        p50, p99, p999 = d.latency.quantiles()
        return (f"hftbook demo: {d.messages:,} messages and {d.trades:,} trades in {elapsed:.1f}s "
                f"({d.messages / elapsed:,.0f} msg/s); latency p50 {_us(p50)}, p99 {_us(p99)}, "
                f"p99.9 {_us(p999)}, max {_us(d.latency.max)}")


def run_demo(seconds: float, seed: int) -> int:
    """Run the demo for `seconds` (0 or less: until Ctrl-C). Returns the exit status."""
    stream = sys.stdout
    tty = stream.isatty()
    demo = Demo(seed)
    screen = Screen(demo, stream, tty, seed)
    refresh = TTY_REFRESH if tty else PLAIN_REFRESH
    deadline = screen.start + seconds if seconds > 0 else math.inf
    next_draw = screen.start + refresh
    try:
        if tty:
            stream.write(_HIDE_CURSOR)
        while True:
            demo.step()
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_draw:
                screen.draw(now)
                next_draw = max(next_draw + refresh, now + refresh / 2)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        return 0
    try:
        now = time.monotonic()
        if tty:
            stream.write(_HOME_CLEAR + screen.panel(now, *screen.rates(now)) + _SHOW_CURSOR)
        stream.write(screen.summary(now) + "\n")
        stream.flush()
    except BrokenPipeError:
        pass
    return 0
