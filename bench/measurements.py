"""What the benchmark measures on one scenario, in the process that runs it.

`measure_scenario` runs in a fresh child process per scenario (so peak RSS is per scenario) and:
1. builds the scenario's messages (`hftbook.workload`, seeded; not timed);
2. times the CPython floor loop over the same messages (unpack three fields, one dict store);
3. times `run_batch` over the measured messages under each GC policy (the policies take
   turns run by run), on a fresh exchange each run with the warmup applied untimed; the
   report uses the median run;
4. for each GC policy, a separate latency pass: `perf_counter_ns` around each door call
   (the timer's own cost is included, and reported as `timer_ns`), into an HDR histogram;
   and the machine's own jitter, a fixed ~1 us of Python work timed the same way;
5. reads peak RSS (`getrusage` high-water mark, before any tracemalloc pass);
6. measures bytes per resting order with tracemalloc: everything the engine allocates while
   building the warmup book (and again after the measured messages), divided by the number
   of resting orders (events are discarded, message tuples are the input and not counted).

Invariants: message generation and the warmup are never inside a timed region; every pass
over the engine starts from a fresh exchange with the warmup applied; latency samples time the
door call alone (events are taken off `ex.out` between samples), while throughput runs include
`run_batch`'s own event clearing. The result is a JSON-serialisable dict (plain str / int /
float / list / dict), which is what the child writes to its stdout for the parent.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
import tracemalloc
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from bench.gc_policy import GcPolicy
from bench.host import rss_now
from hftbook.core.exchange import Exchange
from hftbook.workload import Message, Scenario, counts, run_batch, run_timed, scenario

PERCENTILES: Final = (
    0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0,
)


def floor_loop(msgs: Sequence[Message]) -> float:
    """Seconds for the CPython floor: unpack three fields of each message, one dict store."""
    d: dict[Any, Any] = {}
    t0 = time.perf_counter()
    for m in msgs:
        _op, a, b = m[0], m[1], m[2]
        d[a] = b
    return time.perf_counter() - t0


def fresh(sc: Scenario) -> Exchange:
    """A new exchange with the scenario's warmup applied (untimed) and its events dropped."""
    ex = sc.new_exchange()
    run_batch(ex, sc.warmup)
    return ex


def throughput(sc: Scenario, policies: Sequence[str], runs: int) -> dict[str, list[float]]:
    """msg/s of each run under each policy. The policies take turns run by run, so a change
    in the machine's speed during the measurement hits them alike."""
    rates: dict[str, list[float]] = {pol: [] for pol in policies}
    msgs = sc.messages
    for _ in range(runs):
        for pol in policies:
            ex = fresh(sc)
            with GcPolicy(pol):
                t0 = time.perf_counter()
                run_batch(ex, msgs)
                dt = time.perf_counter() - t0
            rates[pol].append(len(msgs) / dt)
            del ex
    return rates


def timer_overhead() -> int:
    """Median of back-to-back perf_counter_ns readings: the floor of every latency sample."""
    pc = time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        t0 = pc()
        t1 = pc()
        samples.append(t1 - t0)
    return int(statistics.median(samples))


def latency_samples(ex: Exchange, msgs: Sequence[Message]) -> array[int]:
    """Nanoseconds of each door call, in message order.

    Events are taken off `ex.out` after every message, outside the timing, as a gateway
    consuming them would (so dropping them is not charged to the engine).
    """
    return run_timed(ex, msgs, clear_each=True)


def _fixed_work() -> int:
    s = 0
    for i in range(40):
        s += i
    return s


def noise_samples(n: int) -> array[int]:
    """The machine's own jitter: a fixed ~1 us of pure-Python work, timed like a message."""
    pc = time.perf_counter_ns
    work = _fixed_work
    lat = array("q", bytes(8 * n))
    for i in range(n):
        t0 = pc()
        work()
        t1 = pc()
        lat[i] = t1 - t0
    return lat


def summarize(lat: array[int], pauses: list[int]) -> dict[str, Any]:
    from hdrh.histogram import HdrHistogram

    hist = HdrHistogram(1, 60_000_000_000, 3)
    for value, count in Counter(lat).items():
        hist.record_value(max(1, min(value, 60_000_000_000)), count)
    pct = {p: int(hist.get_value_at_percentile(p)) for p in PERCENTILES}
    return {
        "count": int(hist.get_total_count()),
        "mean_ns": float(hist.get_mean_value()),
        "p50_ns": pct[50.0],
        "p90_ns": pct[90.0],
        "p99_ns": pct[99.0],
        "p99_9_ns": pct[99.9],
        "p99_99_ns": pct[99.99],
        "max_ns": int(hist.get_max_value()),
        "curve": [[p, pct[p]] for p in PERCENTILES],
        "gc_collections": len(pauses),
        "gc_pause_max_ns": max(pauses, default=0),
        "gc_pause_total_ns": sum(pauses),
    }


def latency(sc: Scenario, policy: str, n: int) -> dict[str, Any]:
    msgs = sc.messages[:n]
    ex = fresh(sc)
    with GcPolicy(policy) as pol:
        lat = latency_samples(ex, msgs)
    return summarize(lat, pol.pauses)


def resting_orders(ex: Exchange) -> tuple[int, int]:
    """(resting orders, non-empty price levels) over every book."""
    orders = sum(len(d) for d in ex.live.values())
    levels = sum(len(b.bid_keys) + len(b.ask_keys) for b in ex.books.values())
    return orders, levels


def memory(sc: Scenario, n: int) -> dict[str, Any]:
    """tracemalloc: bytes the engine holds per resting order, after the warmup book is built
    and again after `n` measured messages (level churn, per-user dict slack, conversion caches)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ex = fresh(sc)
    gc.collect()
    warm_bytes = tracemalloc.get_traced_memory()[0] - base
    warm_orders, warm_levels = resting_orders(ex)
    run_batch(ex, sc.messages[:n])
    gc.collect()
    end_bytes = tracemalloc.get_traced_memory()[0] - base
    end_orders, end_levels = resting_orders(ex)
    tracemalloc.stop()
    return {
        "method": "tracemalloc",
        "warm_orders": warm_orders,
        "warm_levels": warm_levels,
        "warm_bytes": warm_bytes,
        "warm_bytes_per_order": warm_bytes / max(1, warm_orders),
        "end_messages": n,
        "end_orders": end_orders,
        "end_levels": end_levels,
        "end_bytes": end_bytes,
        "end_bytes_per_order": end_bytes / max(1, end_orders),
    }

def measure_scenario(name: str, n: int, runs: int, latency_n: int, memory_n: int, seed: int,
                     policies: Sequence[str]) -> dict[str, Any]:
    """Everything measured for one scenario, in this (fresh) process."""
    rss_start = rss_now()
    t0 = time.perf_counter()
    sc = scenario(name, n, seed)
    gen_s = time.perf_counter() - t0
    gc.collect()
    rss_generated = rss_now()
    probe = fresh(sc)
    warm_orders, warm_levels = resting_orders(probe)
    del probe
    floor = [len(sc.messages) / floor_loop(sc.messages) for _ in range(max(runs, 5))]
    result: dict[str, Any] = {
        "scenario": name,
        "description": sc.description,
        "seed": seed,
        "symbols": len(sc.instruments),
        "warmup_messages": len(sc.warmup),
        "messages": len(sc.messages),
        "mix": counts(sc.messages),
        "resting_after_warmup": warm_orders,
        "levels_after_warmup": warm_levels,
        "generate_s": gen_s,
        "floor_rates": floor,
        "floor_rate": statistics.median(floor),
        "timer_ns": timer_overhead(),
        "throughput": {},
        "latency": {},
    }
    for pol, rates in throughput(sc, policies, runs).items():
        result["throughput"][pol] = {"rates": rates, "median": statistics.median(rates)}
    for pol in policies:
        result["latency"][pol] = latency(sc, pol, latency_n)
    with GcPolicy("tuned") as noise_gc:
        result["noise"] = summarize(noise_samples(min(latency_n, 200_000)), noise_gc.pauses)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["rss"] = {
        "peak_bytes": peak_kb * 1024,
        "start_bytes": rss_start,
        "after_generation_bytes": rss_generated,
        "note": "peak includes the interpreter and the pre-generated message list",
    }
    result["memory"] = memory(sc, memory_n)
    return result


__all__ = [
    "PERCENTILES",
    "floor_loop",
    "fresh",
    "latency",
    "latency_samples",
    "measure_scenario",
    "memory",
    "noise_samples",
    "resting_orders",
    "summarize",
    "throughput",
    "timer_overhead",
]
