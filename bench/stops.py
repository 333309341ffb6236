"""What a trade print costs with many waiting stops: the stop index's scaling.

    python -m bench.stops [--quick] [--runs N] [--trades N]    # JSON on stdout

`bench.run` runs this in its own child process (like a scenario) and appends its rows to the
report. One symbol has a deep two-sided book (50 levels a side around 100.00, `DEPTH` lots
each). The timed flow is a seeded walk of aggressive market orders, each sweeping 1-3 levels
of one side (a monotonic run of 1-3 prints), so the price moves up and down inside a band of
a few ticks; after each one, untimed, the swept levels are restored exactly and, every
`CHURN` aggressors, the oldest trailing stop is cancelled and a like one accepted at the
current price (so new trailing references keep appearing and being overtaken by later runs).
Only the aggressive `submit` calls are timed (`perf_counter_ns` around each; the timer's own
cost is in every figure alike); the cost per print is their total over the number of prints.

Configurations, the same flow each: no stops (the engine without a stop index, for
reference), 100 waiting stops (99 plain + 1 trailing) and 10,000 (9,000 plain + 1,000
trailing); half of each kind buy, half sell, trailing ones by amount and by percent. Plain
triggers are 3-8% away from the band and trails 1.5-5%, so nothing fires: the stop count is
constant and what is measured is what waiting stops cost a print. Configurations take turns
run by run under the `tuned` GC policy; the median run is reported.

For comparison: the index before trailing stops were grouped (commit f83b141, every trailing
stop re-levelled on every run, percentages in `Fraction`s) took ~3 ms a print at 10,000 stops
against ~2 us at 100 (ratio ~1,400) on this flow; grouped, both are ~2 us (ratio ~1.1).

Invariants: building the book and filing the stops are never timed; every run starts from a
fresh exchange; the flow is a function of the seed only; the check (10,000 stops within
`TARGET_RATIO` of 100 stops, per print) is a fixed constant, never adjusted to pass.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from typing import Any, Final

from bench.gc_policy import GcPolicy
from hftbook.core.exchange import Exchange
from hftbook.core.types import (
    BUY,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SELL,
    STOP,
    STOP_LIMIT,
    TRAILING_STOP,
    TRAILING_STOP_LIMIT,
)

TARGET_RATIO: Final = 2.0  # per-print cost, 10,000 stops / 100 stops
SYMBOL: Final = "STP"
MID: Final = 10_000  # ticks (100.00)
LEVELS: Final = 50
DEPTH: Final = 10  # lots per level
CHURN: Final = 8
CONFIGS: Final = (("none", 0, 0), ("100", 99, 1), ("10000", 9_000, 1_000))  # name, plain, trailing
QUICK: Final = {"trades": 4_000, "runs": 5}
FULL: Final = {"trades": 20_000, "runs": 7}

Stop = tuple[int, int, int, int, Decimal | None]  # side, kind, trigger, trail, pct


def stop_specs(plain: int, trailing: int, rng: random.Random) -> list[Stop]:
    """The waiting stops of one configuration, in acceptance order."""
    specs: list[Stop] = []
    for i in range(plain):
        side = BUY if i % 2 else SELL
        away = rng.randrange(300, 800)
        specs.append((side, STOP_LIMIT if i % 3 == 0 else STOP, MID + away if side == BUY else MID - away,
                      0, None))
    for i in range(trailing):
        side = BUY if i % 2 else SELL
        kind = TRAILING_STOP_LIMIT if i % 3 == 0 else TRAILING_STOP
        if i % 4 < 2:
            specs.append((side, kind, 0, rng.randrange(150, 500), None))
        else:
            specs.append((side, kind, 0, 0, Decimal(rng.randrange(15, 50)) / 10))
    return specs


def flow(trades: int, seed: int) -> list[tuple[int, int]]:
    """The aggressors: (side, levels swept), a walk that keeps the price in a small band."""
    rng = random.Random(seed)
    out = []
    for _ in range(trades):
        out.append((BUY if rng.random() < 0.5 else SELL, rng.randrange(1, 4)))
    return out


class Market:
    """One symbol's book, its waiting stops and the bookkeeping that keeps both constant."""

    def __init__(self, stops: list[Stop]) -> None:
        ex = self.ex = Exchange()
        ex.add_instrument(SYMBOL, Decimal("0.01"), Decimal("1"))
        self.cid = 0
        for k in range(1, LEVELS + 1):
            self.maker(BUY, MID - k)
            self.maker(SELL, MID + k)
        ex.submit("t", self.next_cid(), SYMBOL, BUY, MARKET, 0, DEPTH, GTC)  # a first print
        self.maker(SELL, MID + 1)
        self.trailing: list[tuple[Any, Stop]] = []
        for spec in stops:
            cid = self.stop(spec)
            if spec[1] in (TRAILING_STOP, TRAILING_STOP_LIMIT):
                self.trailing.append((cid, spec))
        ex.out.clear()

    def next_cid(self) -> int:
        self.cid += 1
        return self.cid

    def maker(self, side: int, price: int) -> None:
        self.ex.submit("m", self.next_cid(), SYMBOL, side, LIMIT, price, DEPTH, GTC)

    def stop(self, spec: Stop) -> int:
        side, kind, trigger, trail, pct = spec
        cid = self.next_cid()
        oid = self.ex.submit_stop("s", cid, SYMBOL, side, kind, 1, GTC, 0, False, 0, trigger=trigger,
                                  limit=trigger, trail=trail, pct=pct, offset=5)
        assert oid, self.ex.out[-1]
        return cid

    def run(self, aggressors: list[tuple[int, int]]) -> tuple[int, int]:
        """Apply the flow; (nanoseconds in the aggressive submits, prints)."""
        ex = self.ex
        submit = ex.submit
        out = ex.out
        pc = time.perf_counter_ns
        total = prints = 0
        for i, (side, sweep) in enumerate(aggressors):
            cid = self.next_cid()
            t0 = pc()
            submit("t", cid, SYMBOL, side, MARKET, 0, sweep * DEPTH, IOC)
            total += pc() - t0
            prints += sweep
            # Restore the swept levels (the book is the same before every aggressor).
            for k in range(1, sweep + 1):
                self.maker(SELL if side == BUY else BUY, MID + k if side == BUY else MID - k)
            if i % CHURN == 0 and self.trailing:
                cid0, spec = self.trailing.pop(0)
                ex.cancel("s", cid0)
                self.trailing.append((self.stop(spec), spec))
            out.clear()
        assert not any(b.stops and b.stops.pending for b in ex.books.values())
        return total, prints


def measure(trades: int, runs: int, seed: int) -> dict[str, Any]:
    """Per-print cost of each configuration, run by run, and the check."""
    aggressors = flow(trades, seed)
    per: dict[str, list[float]] = {name: [] for name, _, _ in CONFIGS}
    for _, plain, trailing in CONFIGS:  # warmup, untimed
        Market(stop_specs(plain, trailing, random.Random(seed))).run(aggressors[:1_000])
    for _ in range(runs):
        for name, plain, trailing in CONFIGS:
            market = Market(stop_specs(plain, trailing, random.Random(seed)))
            with GcPolicy("tuned"):
                ns, prints = market.run(aggressors)
            stops = market.ex.books[SYMBOL].stops
            waiting = len(stops.waiting()) if stops is not None else 0
            assert waiting == plain + trailing, (name, waiting)  # none fired
            per[name].append(ns / prints)
            del market
    medians = {name: statistics.median(v) for name, v in per.items()}
    ratio = medians["10000"] / medians["100"]
    return {
        "trades": trades,
        "runs": runs,
        "seed": seed,
        "ns_per_print": per,
        "median_ns_per_print": medians,
        "ratio_10000_vs_100": ratio,
        "target_ratio": TARGET_RATIO,
        "pass": ratio <= TARGET_RATIO,
    }


def report_lines(r: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Markdown rows for `bench.report`'s target table, and the check."""
    m = r["median_ns_per_print"]
    ok = bool(r["pass"])
    line = (f"| stop index: ns per trade print, 10,000 waiting stops (1,000 trailing) within "
            f"{TARGET_RATIO:g}x of 100 (1 trailing); no stops {m['none']:,.0f} ns | "
            f"{m['10000']:,.0f} vs {m['100']:,.0f} ns: {r['ratio_10000_vs_100']:.2f}x | "
            f"{'PASS' if ok else 'FAIL'} |")
    check = {"ns_100": m["100"], "ns_10000": m["10000"], "ns_none": m["none"],
             "ratio": r["ratio_10000_vs_100"], "pass": ok}
    return [line], check


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stops", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--trades", type=int, help="aggressive orders per run")
    p.add_argument("--runs", type=int, help="timed runs per configuration (median reported)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    if args.trades is not None:
        sizes["trades"] = args.trades
    if args.runs is not None:
        sizes["runs"] = args.runs
    json.dump(measure(sizes["trades"], sizes["runs"], args.seed), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
