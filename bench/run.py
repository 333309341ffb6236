"""Benchmarks of the integer door: throughput, latency, memory, per scenario.

    python -m bench.run [--quick] [--plot] [--scenario NAME ...] [--gc default|tuned|both]

This is the entry point (`make bench`, `make bench-quick`). Each scenario runs in its own
subprocess, `python -m bench.run --child NAME`, so peak RSS is per scenario; the child runs
`bench.measurements.measure_scenario` (what is measured and how is described there) under the
GC policies of `bench.gc_policy`, and writes its results as JSON to stdout.

After the scenarios (unless `--scenario` picks some), more children: `python -m
bench.stops` measures what waiting stop orders cost a trade print (skipped with
`--no-stops`), `python -m bench.marketdata` what the market-data feed and the analytics add
to each engine message, `python -m bench.risk` what the pre-trade risk checks add, and
`python -m bench.journal` what the write-ahead log costs and how fast it recovers,
`python -m bench.ring` the ring buffer against multiprocessing.Queue, `python -m bench.codec`
the wire codecs, and `python -m bench.server` the whole server with and without the pipeline.

The parent prints a markdown table, checks the targets (pass/fail, nothing adjusted;
`bench.report`, `bench.stops`, `bench.marketdata`), says how much CPU other processes took meanwhile (from
/proc/stat; `bench.host`), writes bench/results/latest.json and, with --plot,
bench/results/latency.png.

Invariants: the parent runs no engine work itself and children run one at a time, so they do
not compete with each other; a child that fails stops the run (its stderr is passed on) rather
than leaving a hole in the table. Sizes come from `QUICK` or `FULL`, overridden one by one by
the command line, and the latency and memory passes never use more messages than `n`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from bench.codec import table as codec_table
from bench.gc_policy import POLICIES
from bench.host import CpuWatch
from bench.journal import target_rows as journal_rows
from bench.marketdata import target_row as marketdata_row
from bench.measurements import measure_scenario
from bench.report import plot, report
from bench.ring import target_rows as ring_rows
from bench.risk import target_row as risk_row
from bench.server import table as server_table
from bench.stops import report_lines as stop_report_lines
from hftbook.runtime.gcpolicy import ENGINE_GC_THRESHOLDS
from hftbook.workload import SCENARIOS

ROOT: Final = Path(__file__).resolve().parent.parent
RESULTS: Final = ROOT / "bench" / "results"

QUICK: Final = {"n": 30_000, "runs": 5, "latency_n": 30_000, "memory_n": 30_000}
FULL: Final = {"n": 400_000, "runs": 7, "latency_n": 400_000, "memory_n": 100_000}


def run_child(name: str, args: argparse.Namespace, sizes: dict[str, int],
              policies: Sequence[str]) -> dict[str, Any]:
    """Measure scenario `name` in a fresh `python -m bench.run --child` process; its results."""
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


def run_module_child(module: str, args: argparse.Namespace, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One of the separate measurements (`bench.stops`, `bench.marketdata`) in a fresh
    process; its results (JSON on its stdout)."""
    cmd = [sys.executable, "-m", module, "--seed", str(args.seed), *extra]
    if args.quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench: {module} failed (exit {proc.returncode})")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def timed_child(label: str, module: str, args: argparse.Namespace,
                extra: Sequence[str] = ()) -> dict[str, Any]:
    """`run_module_child` with its progress lines on stderr."""
    t0 = time.perf_counter()
    print(f"bench: {label} ...", file=sys.stderr, flush=True)
    data = run_module_child(module, args, extra)
    print(f"bench: {label} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    return data


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: finishes in under a minute")
    p.add_argument("--plot", action="store_true", help="write bench/results/latency.png")
    p.add_argument("--scenario", action="append", choices=SCENARIOS,
                   help="run only this scenario (repeatable)")
    p.add_argument("--no-stops", action="store_true",
                   help="skip the stop-index measurement (skipped too when --scenario is given)")
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
        data = measure_scenario(args.child, sizes["n"], sizes["runs"], sizes["latency_n"],
                                sizes["memory_n"], args.seed, policies)
        json.dump(data, sys.stdout)
        return 0

    names: list[str] = args.scenario or list(SCENARIOS)
    started = time.perf_counter()
    cpu = CpuWatch()
    results = []
    for name in names:
        t0 = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results.append(run_child(name, args, sizes, policies))
        print(f"bench: {name} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    table, checks = report(results, policies)
    children: dict[str, Any] = {}  # each separate measurement's results, by its key in the JSON
    if not args.scenario and not args.no_stops:
        children["stops"] = timed_child("stops", "bench.stops", args)
        lines, checks["stop_index"] = stop_report_lines(children["stops"])
        table += "\n" + "\n".join(lines)
    if not args.scenario:
        for label, module, key, rows in (("risk checks", "bench.risk", "risk_checks", risk_row),
                                         ("market data", "bench.marketdata", "market_data", marketdata_row),
                                         ("journal", "bench.journal", "journal", journal_rows),
                                         ("ring buffer", "bench.ring", "ring", ring_rows)):
            children[key] = timed_child(label, module, args, ["--json"])
            lines, checks[key] = rows(children[key])
            table += "\n" + "\n".join(lines)
        children["codec"] = timed_child("wire codecs", "bench.codec", args, ["--json"])
        table += "\n\nWire codecs (ns per message, bytes):\n\n" + codec_table(children["codec"])
        children["server"] = timed_child("server end to end", "bench.server", args, ["--json"])
        table += "\n\n" + "\n".join(server_table(children["server"]))
    contention, note = cpu.contention(time.perf_counter() - started)
    if note is not None:
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
        **{k: children.get(k) for k in ("stops", "market_data", "risk_checks", "journal", "codec", "ring",
                                               "server")},
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
