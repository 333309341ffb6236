"""What the microstructure analytics cost per update (`hftbook.analytics.BookSignals`).

    python -m bench.analytics [--quick] [--messages N] [--runs N] [--seed S] [--json]

The feed is real: the `normal` workload (`hftbook.workload.scenario`) runs through the
engine's integer door, untimed, and after each message the visible levels that changed
(a diff of the book's level totals) and the trades it printed are recorded, one message
1,000 ns after the last. That gives an L2 stream shaped like the engine's own book: most
updates touch levels near the touch, a fair share move the best price. The starting book
(the workload's warmup) is loaded into each tracker untimed.

Timed, each a separate loop over the recorded stream on a fresh tracker, under the engine's
GC policy, median of `--runs`:
- `on_level`: every level change as its own book event (the per-update cost), for the
  top-of-book configuration (`L1_ONLY`), all signals with count windows (the defaults) and
  all signals with time windows (1 ms windows and half-life);
- `on_levels`: each message's changes as one book event (ns per change and per event);
- `on_trade`: every trade (all signals);
- `snapshot()`: one per message (all signals);
- the floor: the same `on_level` loop into a method that does nothing, for scale.

Invariants: the stream is a pure function of (seed, messages); recording it is never timed;
each timed loop starts from a fresh tracker holding the same starting book.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Final

from bench.gc_policy import GcPolicy
from hftbook.analytics import L1_ONLY, BookSignals, SignalConfig, nanos
from hftbook.core.book import OrderBook
from hftbook.core.types import BUY, EV_TRADE, SELL
from hftbook.workload import apply_message, scenario

STEP_NS: Final = 1_000  # ts between two recorded messages
CONFIGS: Final = {
    "L1 only": L1_ONLY,
    "all signals, count windows": SignalConfig(),
    "all signals, time windows": SignalConfig(ewma=nanos(1_000_000), ofi=nanos(1_000_000),
                                              rv=nanos(1_000_000), vwap=nanos(1_000_000),
                                              bar_ns=1_000_000),
}

Change = tuple[int, int, int]  # (side, price, qty)


def _levels(book: OrderBook) -> dict[tuple[int, int], int]:
    bids = {(BUY, k): lv.qty for k, lv in book.bid_levels.items()}
    bids.update({(SELL, -k): lv.qty for k, lv in book.ask_levels.items()})
    return bids


def record(messages: int, seed: int) -> tuple[list[Change], list[tuple[list[Change], list[Change], int]]]:
    """The starting book and, per message, (level changes, trades as (price, qty, side), ts)."""
    sc = scenario("normal", messages, seed)
    ex = sc.new_exchange()
    for m in sc.warmup:
        apply_message(ex, m)
    book = ex.books[sc.instruments[0][0]]
    before = _levels(book)
    start = [(side, price, qty) for (side, price), qty in sorted(before.items())]
    stream = []
    for i, m in enumerate(sc.messages, 1):
        del ex.out[:]
        apply_message(ex, m)
        trades = [(e[3], e[4], e[2].side) for e in ex.out if e[0] == EV_TRADE]
        after = _levels(book)
        changes = [(side, price, after.get((side, price), 0))
                   for side, price in sorted(before.keys() | after.keys())
                   if before.get((side, price), 0) != after.get((side, price), 0)]
        before = after
        stream.append((changes, trades, i * STEP_NS))
    return start, stream


class _Floor:
    def on_level(self, side: int, price: int, qty: int, ts: int) -> None:
        pass


def _fresh(config: SignalConfig, start: list[Change]) -> BookSignals:
    sig = BookSignals(config)
    sig.on_levels(start, 0)
    return sig


def _median_ns(runs: int, make: Callable[[], Any], loop: Callable[[Any], None]) -> int:
    times = []
    for _ in range(runs):
        target = make()
        with GcPolicy("tuned"):
            t0 = time.perf_counter_ns()
            loop(target)
            times.append(time.perf_counter_ns() - t0)
    return int(statistics.median(times))


def measure(messages: int, runs: int, seed: int) -> dict[str, Any]:
    start, stream = record(messages, seed)
    flat = [(side, price, qty, ts) for changes, _, ts in stream for side, price, qty in changes]
    events = [(changes, ts) for changes, _, ts in stream if changes]
    prints = [(p, q, s, ts) for _, trades, ts in stream for p, q, s in trades]

    def per_level(target: Any) -> None:
        on_level = target.on_level
        for side, price, qty, ts in flat:
            on_level(side, price, qty, ts)

    def per_event(target: BookSignals) -> None:
        on_levels = target.on_levels
        for changes, ts in events:
            on_levels(changes, ts)

    def per_trade(target: BookSignals) -> None:
        on_trade = target.on_trade
        for price, qty, side, ts in prints:
            on_trade(price, qty, side, ts)

    def snapshots(target: BookSignals) -> None:
        snap = target.snapshot
        for _ in stream:
            snap()

    result: dict[str, Any] = {
        "messages": len(stream), "level_updates": len(flat), "book_events": len(events),
        "trades": len(prints),
        "floor_ns_per_update": _median_ns(runs, _Floor, per_level) / len(flat),
        "on_level_ns_per_update": {}, "seed": seed, "runs": runs,
    }
    for name, cfg in CONFIGS.items():
        ns = _median_ns(runs, partial(_fresh, cfg, start), per_level)
        result["on_level_ns_per_update"][name] = ns / len(flat)
    all_signals = CONFIGS["all signals, count windows"]
    ns = _median_ns(runs, lambda: _fresh(all_signals, start), per_event)
    result["on_levels_ns_per_update"] = ns / len(flat)
    result["on_levels_ns_per_event"] = ns / len(events)
    result["on_trade_ns"] = _median_ns(runs, lambda: _fresh(all_signals, start), per_trade) / len(prints)
    result["snapshot_ns"] = _median_ns(runs, lambda: _fresh(all_signals, start), snapshots) / len(stream)
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 messages, 3 runs")
    ap.add_argument("--messages", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    messages = args.messages or (20_000 if args.quick else 200_000)
    runs = args.runs or (3 if args.quick else 7)
    r = measure(messages, runs, args.seed)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"feed: {r['messages']:,} messages of the `normal` workload -> {r['level_updates']:,} level "
          f"updates in {r['book_events']:,} book events, {r['trades']:,} trades; median of {runs} runs")
    print(f"  floor (on_level into a no-op)          {r['floor_ns_per_update']:8.0f} ns/update")
    for name, ns in r["on_level_ns_per_update"].items():
        print(f"  on_level, {name:<28} {ns:8.0f} ns/update")
    print(f"  on_levels, all signals                 {r['on_levels_ns_per_update']:8.0f} ns/update "
          f"({r['on_levels_ns_per_event']:.0f} ns/event)")
    print(f"  on_trade, all signals                  {r['on_trade_ns']:8.0f} ns/trade")
    print(f"  snapshot(), all signals                {r['snapshot_ns']:8.0f} ns/call")


if __name__ == "__main__":
    main()
