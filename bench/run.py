"""Benchmarks of the integer door: throughput, latency, memory, per scenario.

    python -m bench.run [--quick] [--plot] [--scenario NAME ...] [--gc default|tuned|both]

Each scenario runs in its own subprocess (so peak RSS is per scenario) which:
1. builds the scenario's messages (`hftbook.workload`, seeded; not timed);
2. times the CPython floor loop over the same messages (unpack three fields, one dict store);
3. times `run_batch` over the measured messages under each GC policy (the policies take
   turns run by run), on a fresh exchange each run with the warmup applied untimed; reports
   the median run;
4. for each GC policy, a separate latency pass: `perf_counter_ns` around each door call
   (the timer's own cost is included, and reported as `timer_ns`), into an HDR histogram;
5. reads peak RSS (`getrusage` high-water mark, before any tracemalloc pass);
6. measures bytes per resting order with tracemalloc: everything the engine allocates while
   building the warmup book (and again after the measured messages), divided by the number
   of resting orders (events are discarded, message tuples are the input and not counted).

GC policies: `default` is CPython's collector as it starts (thresholds 700/10/10); `tuned` is
the engine policy of `hftbook.runtime.gcpolicy` (what the demo and the server use):
`gc.collect(); gc.freeze()` after the warmup plus `gc.set_threshold(*ENGINE_GC_THRESHOLDS)`.
Also measured, and not kept: the collector disabled with a gen-0 collection every 10,000
(or 1,000) messages, which gave the same p99.9 as `tuned` at best (and worse at 1,000); the
freeze policy keeps the collector on, which is safer against cyclic garbage. With it no
collection runs at all during these measured passes, since the engine frees what it allocates
(`gc_collections` in the JSON), while the default policy pays young collections on the event
tuples and full collections (milliseconds) over the book and the message list.

The parent prints a markdown table, checks the targets (pass/fail, nothing adjusted), says how
much CPU other processes took meanwhile (from /proc/stat), writes bench/results/latest.json
and, with --plot, bench/results/latency.png.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hftbook.core.exchange import Exchange
from hftbook.runtime.gcpolicy import ENGINE_GC_THRESHOLDS, tune_for_engine
from hftbook.workload import CANCEL, NEW, SCENARIOS, Message, Scenario, counts, run_batch, scenario

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

POLICIES = ("default", "tuned")
PERCENTILES = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0)

# Targets (reported as pass/fail; never adjusted to pass).
TARGET_FLOOR_RATIO = 0.25  # worst-case scenario rate / floor loop rate
TARGET_MIXED_RATE = 1_000_000  # msg/s on `mixed`
TARGET_P999_NS = 20_000
TARGET_BYTES_PER_ORDER = 400

QUICK = {"n": 30_000, "runs": 5, "latency_n": 30_000, "memory_n": 30_000}
FULL = {"n": 400_000, "runs": 7, "latency_n": 400_000, "memory_n": 100_000}


# -- GC policies ------------------------------------------------------------------------------


class GcPolicy:
    """Applies one policy for the duration of a `with` block and restores the defaults."""

    def __init__(self, name: str) -> None:
        if name not in POLICIES:
            raise ValueError(f"unknown GC policy {name!r}")
        self.name = name
        self.saved = gc.get_threshold()
        self.pauses: list[int] = []
        self._t0 = 0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter_ns()
        else:
            self.pauses.append(time.perf_counter_ns() - self._t0)

    def __enter__(self) -> GcPolicy:
        if self.name == "tuned":
            tune_for_engine()
        else:
            gc.collect()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)
        gc.set_threshold(*self.saved)
        gc.unfreeze()
        gc.enable()


# -- measurements -----------------------------------------------------------------------------


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
    submit = ex.submit
    cancel = ex.cancel
    modify = ex.modify
    out = ex.out
    pc = time.perf_counter_ns
    lat = array("q", bytes(8 * len(msgs)))
    for i, m in enumerate(msgs):
        op = m[0]
        if op == NEW:
            _, user, cid, sym, side, otype, price, qty, tif, exp, post, stp = m
            t0 = pc()
            submit(user, cid, sym, side, otype, price, qty, tif, exp, post, stp)
            t1 = pc()
        elif op == CANCEL:
            user, cid = m[1], m[2]
            t0 = pc()
            cancel(user, cid)
            t1 = pc()
        else:
            user, cid, price, qty = m[1], m[2], m[3], m[4]
            t0 = pc()
            modify(user, cid, price, qty)
            t1 = pc()
        lat[i] = t1 - t0
        del out[:]
    return lat


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
    from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

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


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, steal) clock ticks of the whole machine so far, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, steal


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(name: str, n: int, runs: int, latency_n: int, memory_n: int, seed: int,
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


# -- the parent: run children, report ---------------------------------------------------------


def run_child(name: str, args: argparse.Namespace, sizes: dict[str, int],
              policies: Sequence[str]) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "bench.run", "--child", name,
        "--n", str(sizes["n"]), "--runs", str(sizes["runs"]),
        "--latency-n", str(sizes["latency_n"]), "--memory-n", str(sizes["memory_n"]),
        "--seed", str(args.seed), "--gc", args.gc,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench: scenario {name} failed (exit {proc.returncode})")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _us(ns: float) -> str:
    us = ns / 1000.0
    return f"{us:.1f}" if us < 100 else f"{us:,.0f}"


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: list[dict[str, Any]], policies: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The markdown table and the target checks."""
    main = policies[0]
    has_tuned = "tuned" in policies and "default" in policies
    head = ["scenario", "msgs", "resting", f"msg/s ({main} GC)"]
    if has_tuned:
        head.append("msg/s (tuned GC)")
    head += ["x floor", "p50 us", "p99 us", f"p99.9 us ({main})"]
    if has_tuned:
        head.append("p99.9 us (tuned)")
    head += ["max us", "peak RSS MB", "B/order (book)", "B/order (after flow)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in results:
        thr = r["throughput"]
        lat = r["latency"]
        row = [r["scenario"], f"{r['messages']:,}", f"{r['resting_after_warmup']:,}",
               f"{thr[main]['median']:,.0f}"]
        if has_tuned:
            row.append(f"{thr['tuned']['median']:,.0f}")
        ratio = thr[main]["median"] / r["floor_rate"]
        row += [f"1/{1 / ratio:.1f}", _us(lat[main]["p50_ns"]), _us(lat[main]["p99_ns"]),
                _us(lat[main]["p99_9_ns"])]
        if has_tuned:
            row.append(_us(lat["tuned"]["p99_9_ns"]))
        mem = r["memory"]
        row += [_us(lat[main]["max_ns"]), f"{r['rss']['peak_bytes'] / 2**20:.0f}",
                f"{mem['warm_bytes_per_order']:.0f}", f"{mem['end_bytes_per_order']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")

    checks: dict[str, Any] = {}
    tlines = ["", "| target | measured | result |", "|---|---|---|"]
    for pol in policies:
        worst = min(results, key=lambda r: r["throughput"][pol]["median"] / r["floor_rate"])
        ratio = worst["throughput"][pol]["median"] / worst["floor_rate"]
        ok = ratio >= TARGET_FLOOR_RATIO
        checks[f"floor_ratio_{pol}"] = {"scenario": worst["scenario"], "ratio": ratio, "pass": ok}
        tlines.append(f"| worst scenario >= 1/4 of floor loop ({pol} GC) | {worst['scenario']}: "
                      f"1/{1 / ratio:.1f} ({worst['throughput'][pol]['median']:,.0f} vs "
                      f"{worst['floor_rate']:,.0f} msg/s) | {_mark(ok)} |")
    mixed = [r for r in results if r["scenario"] == "mixed"]
    for pol in policies:
        if mixed:
            rate = mixed[0]["throughput"][pol]["median"]
            ok = rate >= TARGET_MIXED_RATE
            checks[f"mixed_rate_{pol}"] = {"rate": rate, "pass": ok}
            tlines.append(f"| `mixed` >= 1,000,000 msg/s ({pol} GC) | {rate:,.0f} msg/s | {_mark(ok)} |")
    for pol in policies:
        worst = max(results, key=lambda r: r["latency"][pol]["p99_9_ns"])
        p = worst["latency"][pol]["p99_9_ns"]
        ok = p < TARGET_P999_NS
        checks[f"p99_9_{pol}"] = {"scenario": worst["scenario"], "ns": p, "pass": ok}
        tlines.append(f"| p99.9 < 20 us, worst scenario ({pol} GC) | {worst['scenario']}: "
                      f"{_us(p)} us | {_mark(ok)} |")

    def book_bpo(r: dict[str, Any]) -> float:
        return float(r["memory"]["warm_bytes_per_order"])

    def flow_bpo(r: dict[str, Any]) -> float:
        return float(r["memory"]["end_bytes_per_order"])

    worst = max(results, key=book_bpo)
    ok = book_bpo(worst) <= TARGET_BYTES_PER_ORDER
    checks["bytes_per_order"] = {"scenario": worst["scenario"], "bytes": book_bpo(worst), "pass": ok}
    tlines.append(f"| <= 400 bytes per resting order (tracemalloc over building the warmup book), "
                  f"worst scenario | {worst['scenario']}: {book_bpo(worst):.0f} B | {_mark(ok)} |")
    worst = max(results, key=flow_bpo)
    checks["bytes_per_order_after_flow"] = {"scenario": worst["scenario"], "bytes": flow_bpo(worst)}
    tlines.append(f"| bytes per resting order after the measured flow (dict slack and caches included; "
                  f"informational) | {worst['scenario']}: {flow_bpo(worst):.0f} B | - |")
    peak = max(results, key=lambda r: r["rss"]["peak_bytes"])
    checks["peak_rss"] = {"scenario": peak["scenario"], "bytes": peak["rss"]["peak_bytes"]}
    tlines.append(f"| peak RSS, worst scenario (informational) | {peak['scenario']}: "
                  f"{peak['rss']['peak_bytes'] / 2**20:.0f} MB | - |")
    noisy = max(results, key=lambda r: r["noise"]["p99_9_ns"])
    nz = noisy["noise"]
    checks["noise"] = {"p50_ns": nz["p50_ns"], "p99_9_ns": nz["p99_9_ns"], "max_ns": nz["max_ns"]}
    tlines.append(f"| machine jitter: fixed ~1 us of Python work timed the same way (informational) | "
                  f"p50 {_us(nz['p50_ns'])}, p99 {_us(nz['p99_ns'])}, p99.9 {_us(nz['p99_9_ns'])}, "
                  f"max {_us(nz['max_ns'])} us | - |")
    return "\n".join(lines + tlines), checks


def plot(results: list[dict[str, Any]], policies: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    rows = (len(results) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    ticks = [50.0, 90.0, 99.0, 99.9, 99.99, 99.999]
    for ax, r in zip(axes.flat, results, strict=False):
        for pol, style in zip(policies, ("-", "--"), strict=False):
            curve = [(p, v) for p, v in r["latency"][pol]["curve"] if 0.0 < p < 100.0]
            xs = [1.0 / (1.0 - p / 100.0) for p, _ in curve]
            ys = [v / 1000.0 for _, v in curve]
            ax.plot(xs, ys, style, marker=".", label=f"{pol} GC")
        noise = [(p, v) for p, v in r["noise"]["curve"] if 0.0 < p < 100.0]
        ax.plot([1.0 / (1.0 - p / 100.0) for p, _ in noise], [v / 1000.0 for _, v in noise],
                ":", color="grey", label="noise (1 us fixed work)")
        ax.axhline(TARGET_P999_NS / 1000.0, color="red", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([1.0 / (1.0 - p / 100.0) for p in ticks])
        ax.set_xticklabels([f"{p:g}" for p in ticks])
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (us)")
        ax.set_title(r["scenario"])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(results):]:
        ax.set_visible(False)
    fig.suptitle("hftbook: per-message latency of the integer door (red: 20 us target)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: finishes in under a minute")
    p.add_argument("--plot", action="store_true", help="write bench/results/latency.png")
    p.add_argument("--scenario", action="append", choices=SCENARIOS,
                   help="run only this scenario (repeatable)")
    p.add_argument("--gc", choices=("default", "tuned", "both"), default="both")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n", type=int, help="measured messages per scenario")
    p.add_argument("--runs", type=int, help="timed runs per GC policy (median reported)")
    p.add_argument("--latency-n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--memory-n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="results JSON path")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    policies = list(POLICIES) if args.gc == "both" else [args.gc]
    sizes = dict(QUICK if args.quick else FULL)
    for key in ("n", "runs", "latency_n", "memory_n"):
        value = getattr(args, key)
        if value is not None:
            sizes[key] = value
    sizes["latency_n"] = min(sizes["latency_n"], sizes["n"])
    sizes["memory_n"] = min(sizes["memory_n"], sizes["n"])
    if args.child:
        data = child(args.child, sizes["n"], sizes["runs"], sizes["latency_n"], sizes["memory_n"],
                     args.seed, policies)
        json.dump(data, sys.stdout)
        return 0

    names: list[str] = args.scenario or list(SCENARIOS)
    started = time.perf_counter()
    ticks_start = cpu_ticks()
    own_start = own_cpu_seconds()
    results = []
    for name in names:
        t0 = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results.append(run_child(name, args, sizes, policies))
        print(f"bench: {name} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    table, checks = report(results, policies)
    wall = time.perf_counter() - started
    ticks_end = cpu_ticks()
    contention: dict[str, float] = {}
    if ticks_start is not None and ticks_end is not None:
        hz = os.sysconf("SC_CLK_TCK")
        busy = (ticks_end[0] - ticks_start[0]) / hz
        own = own_cpu_seconds() - own_start
        contention = {"other_cpus": max(0.0, busy - own) / wall,
                      "steal_cpus": (ticks_end[1] - ticks_start[1]) / hz / wall}
        note = (f"\nother processes used {contention['other_cpus']:.2f} of {os.cpu_count()} CPUs on "
                f"average during the run (hypervisor steal {contention['steal_cpus']:.2f})")
        if contention["other_cpus"] > 0.2:
            note += ": they competed for the machine, so these numbers are pessimistic"
        table += "\n" + note
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "created_unix": int(time.time()),
        "python": sys.version,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "mode": "quick" if args.quick else "full",
        "sizes": sizes,
        "gc_policies": policies,
        "tuned_gc": "gc.collect(); gc.freeze() after warmup; "
                    f"gc.set_threshold{ENGINE_GC_THRESHOLDS}",
        "floor_loop": "for m in msgs: op, a, b = m[0], m[1], m[2]; d[a] = b",
        "bytes_per_order_method": "tracemalloc: bytes the engine holds after building the warmup "
                                  "book / resting orders (target); again after the measured flow",
        "elapsed_s": time.perf_counter() - started,
        "contention": contention,
        "checks": checks,
        "table_markdown": table,
        "scenarios": results,
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}",
          file=sys.stderr)
    if args.plot:
        png = args.out.parent / "latency.png"
        plot(results, policies, png)
        print(f"wrote {png}", file=sys.stderr)
    print(f"bench: total {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
