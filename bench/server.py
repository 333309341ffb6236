"""The whole server, end to end: one process vs `--pipeline` (1 and 2 engine processes).

    python -m bench.server [--quick] [--json]

Each mode starts `hftbook serve` as a subprocess (fresh journal directory, fsync `batch`, the
per-session throttle raised out of the way) and this process drives its SBE gateway with the
open-loop load generator (`hftbook.server.load`): 4 connections, one symbol each (AAPL, SPY,
BTC-USD, ETH-USD, so two engine processes both get work), resting orders, cancels and IOCs.
Two runs per mode:

- saturation: far more offered than any mode handles (`OFFERED`/s); answers/s achieved is
  the throughput;
- paced: `PACED`/s, under every mode's saturation; latency percentiles from each command's
  planned send time to its first answer (no coordinated omission).

All of it shares the machine's cores: the load generator (one process), the gateway process,
and in the pipeline the engine, journal and market-data processes. No target is set by the
issue for these figures; they are reported as measured.

Invariants: every server is stopped (SIGINT, then killed after 20 s) and its directory
removed; a mode whose server does not start aborts the run with its stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from hftbook.server.load import run_load

MARKETS: Final = [("AAPL", 190.0, 0.01), ("SPY", 450.0, 0.01), ("BTC-USD", 30000.0, 0.5),
                  ("ETH-USD", 2000.0, 0.05)]
MODES: Final = {"single process": [], "pipeline, 1 engine": ["--pipeline"],
                "pipeline, 2 engines": ["--pipeline", "--engines", "2"]}
BACKENDS: Final[dict[str, dict[str, Any]]] = {"single process": {}, "pipeline, 1 engine": {"pipeline": True},
                                              "pipeline, 2 engines": {"pipeline": True, "engines": 2}}
OFFERED: Final = 40_000
PACED: Final = 4_000
CONFIG: Final = "[server]\nthrottle = 1000000\nthrottle_burst = 100000\nsend_queue = 1000000\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(flags: list[str], directory: Path) -> tuple[subprocess.Popen[bytes], int, dict[str, int]]:
    cfg = directory / "bench.toml"
    cfg.write_text(CONFIG)
    port = _free_port()
    cmd = [sys.executable, "-m", "hftbook.cli", "serve", "--config", str(cfg), "--data",
           str(directory / "data"), "--port", str(_free_port()), "--binary-port", str(port), "--md-port",
           str(_free_port()), *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    while b"Ctrl-C stops" not in seen:
        line = proc.stderr.readline()
        if not line or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"bench.server: the server did not start:\n{seen.decode()}{line.decode()}")
        seen += line
    pids = {"gateway": proc.pid}
    pids.update((name, int(pid)) for name, pid in re.findall(r"(\S+) pid (\d+)", seen.decode()))
    return proc, port, pids


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _run(port: int, rate: int, seconds: float) -> dict[str, Any]:
    r = asyncio.run(run_load(f"tcp://127.0.0.1:{port}", rate, seconds, len(MARKETS), markets=MARKETS,
                             progress=False))
    p = r.percentiles()
    return {"rate": rate, "sent": r.sent, "answered": r.answered, "refused": r.refused,
            "answers_per_s": r.answered / r.seconds, "p50_us": p["p50"], "p99_us": p["p99"],
            "p99_9_us": p["p99.9"], "max_us": p["max"]}


def _flow(n: int) -> list[dict[str, Any]]:
    """Resting limits around each symbol's mid and cancels of earlier ones, 4 users, 4 symbols."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        sym, mid, tick = MARKETS[i % len(MARKETS)]
        user = f"demo{i % 4 + 1}"
        if i % 5 == 4:
            out.append({"cmd": "cancel", "user": user, "id": i - 4})
        else:
            side = "buy" if i % 2 else "sell"
            price = mid - (i % 7 + 1) * tick if side == "buy" else mid + (i % 7 + 1) * tick
            out.append({"cmd": "new", "user": user, "id": i, "symbol": sym, "side": side, "type": "limit",
                        "price": f"{price:.2f}", "qty": "1"})
    return out


async def _backend(settings: dict[str, Any], directory: Path, n: int) -> float:
    """Commands/s through the engine front alone (no sockets, no sessions): queued by this
    process, applied, journaled (fsync batch) and routed."""
    from hftbook.server.config import ServerConfig
    from hftbook.server.engine import Engine
    from hftbook.server.metrics import Metrics
    from hftbook.server.pipeline import PipelineEngine
    from hftbook.server.router import Router

    cfg = ServerConfig(data_dir=str(directory / "data"), md_port=0, **settings)
    engine: Router
    if cfg.pipeline:
        pipeline = PipelineEngine(cfg, Metrics())
        await pipeline.start()
        engine = pipeline

        def routed() -> int:
            return sum(pipeline.done)
    else:
        single = Engine(cfg, Metrics())
        engine = single

        def routed() -> int:
            return int(single.metrics.counters["commands"])
    task = asyncio.create_task(engine.run())
    base = routed()
    flow = _flow(n)
    t0 = time.perf_counter()
    for cmd in flow:
        engine.queue.put_nowait((None, cmd, time.perf_counter_ns()))
    while routed() - base < n:
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - t0
    await engine.queue.put(None)
    await task
    engine.close()
    return n / elapsed


def measure(quick: bool) -> dict[str, Any]:
    seconds = 2.0 if quick else 5.0
    out: dict[str, Any] = {"offered": OFFERED, "paced": PACED, "seconds": seconds, "modes": {}}
    backend_n = 20_000 if quick else 100_000
    for name, settings in BACKENDS.items():
        with tempfile.TemporaryDirectory(prefix="hftbook-bench-") as tmp:
            out.setdefault("backend", {})[name] = asyncio.run(_backend(settings, Path(tmp), backend_n))
    out["backend_n"] = backend_n
    for name, flags in MODES.items():
        with tempfile.TemporaryDirectory(prefix="hftbook-bench-") as tmp:
            proc, port, pids = _start(flags, Path(tmp))
            try:
                _run(port, 2_000, 1.0)  # warm up: connections, imports, the first orders
                paced = _run(port, PACED, seconds)  # first: a saturated server's backlog would linger
                before = {k: _cpu_s(p) for k, p in pids.items()}
                saturation = _run(port, OFFERED, seconds)
                used = {k: _cpu_s(p) - before[k] for k, p in pids.items()}
                saturation["cpu_us_per_command"] = {k: 1e6 * v / max(1, saturation["answered"])
                                                    for k, v in used.items()}
                out["modes"][name] = {"paced": paced, "saturation": saturation}
            finally:
                _stop(proc)
        print(f"bench.server: {name} done", file=sys.stderr, flush=True)
    return out


def table(r: dict[str, Any]) -> list[str]:
    lines = [f"Server without sockets ({r['backend_n']:,} commands queued at once, journaled with fsync "
             "batch and routed; no sessions): "
             + ", ".join(f"{name} {rate:,.0f} commands/s" for name, rate in r["backend"].items()), ""]
    lines += [f"Server end to end (SBE over TCP, 4 connections and symbols, load generator on the same "
             f"cores; saturation: {r['offered']:,}/s offered; latency at {r['paced']:,}/s, from planned "
             "send, us):", "",
             "| mode | answers/s at saturation | p50 | p99 | p99.9 | max |", "|---|---|---|---|---|---|"]
    for name, m in r["modes"].items():
        s, p = m["saturation"], m["paced"]
        lines.append(f"| {name} | {s['answers_per_s']:,.0f} | {p['p50_us']:,.0f} | {p['p99_us']:,.0f} | "
                     f"{p['p99_9_us']:,.0f} | {p['max_us']:,.0f} |")
    lines += ["", "CPU per answered command at saturation, by process (us; the load generator has the rest):",
              ""]
    for name, m in r["modes"].items():
        cpu = m["saturation"]["cpu_us_per_command"]
        lines.append(f"- {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
                     + f"; total {sum(cpu.values()):.1f}")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.server", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s runs instead of 5 s")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="unused (bench.run passes one)")
    args = ap.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    r = measure(args.quick)
    print(json.dumps(r, indent=2) if args.json else "\n".join(table(r)))


if __name__ == "__main__":
    main()
