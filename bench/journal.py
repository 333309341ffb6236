"""What the write-ahead log costs and how fast it recovers (`hftbook.journal`).

    python -m bench.journal [--quick] [--messages N] [--batch N] [--seed S] [--json] [--dir D]

The `normal` workload's messages become contract commands (one `instrument`, the warmup, the
measured flow) and go through `JournaledVenue.process` in batches of `--batch` on real files
(a fresh temporary directory under `--dir`, default the system's), three ways:
- `none`: the journal writes, never fsyncs (the floor of journaling);
- `batch`: group commit, one fsync per batch: the durable throughput;
- and without a journal at all (the venue alone), for scale.
Reported: commands/s of each, `batch` as a share of `none` (target: at least 50%), the fsync
latency percentiles of `batch` commits, the recovery time of the `none` journal scaled to a
million commands (target: under 10 s), and a checkpoint's write time and size per 100,000
resting orders.

Invariants: the flow is a pure function of (seed, messages); every variant ends with the same
state hash (checked), so they did the same work; timings are wall clock (fsync is I/O).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from decimal import Decimal
from typing import Any, Final

from hftbook.algo import Venue
from hftbook.core.types import SIDE_NAMES, STP_NAMES, TIF_NAMES, TYPE_NAMES
from hftbook.journal.recovery import recover, write_checkpoint
from hftbook.journal.storage import DiskStorage
from hftbook.runtime.journaled import JournaledVenue
from hftbook.workload import scenario
from hftbook.workload.messages import CANCEL, NEW, Message

TARGET_SHARE: Final = 0.5
TARGET_RECOVERY_S: Final = 10.0


def commands(n: int, seed: int) -> list[dict[str, Any]]:
    """The `normal` scenario as contract commands: instrument, warmup, flow; ts 1 ns apart."""
    sc = scenario("normal", n, seed)
    symbol, tick, lot = sc.instruments[0]
    out: list[dict[str, Any]] = [{"cmd": "instrument", "ts": 0, "symbol": symbol, "tick_size": str(tick),
                                  "lot_size": str(lot)}]
    for i, m in enumerate((*sc.warmup, *sc.messages), start=1):
        out.append(_command(m, i, tick, lot))
    return out


def _command(m: Message, ts: int, tick: Decimal, lot: Decimal) -> dict[str, Any]:
    if m[0] == NEW:
        _, user, cid, symbol, side, otype, price, qty, tif, expire_ts, post_only, stp = m
        c: dict[str, Any] = {"cmd": "new", "ts": ts, "user": user, "id": cid, "symbol": symbol,
                             "side": SIDE_NAMES[side], "type": TYPE_NAMES[otype], "qty": str(qty * lot),
                             "tif": TIF_NAMES[tif], "stp": STP_NAMES[stp]}
        if price:
            c["price"] = str(price * tick)
        if post_only:
            c["post_only"] = True
        if TIF_NAMES[tif] == "gtd":
            c["expire_ts"] = expire_ts
        return c
    if m[0] == CANCEL:
        return {"cmd": "cancel", "ts": ts, "user": m[1], "id": m[2]}
    c = {"cmd": "modify", "ts": ts, "user": m[1], "id": m[2]}
    if m[3] is not None:
        c["price"] = str(m[3] * tick)
    if m[4] is not None:
        c["qty"] = str(m[4] * lot)
    return c


def _run(cmds: list[dict[str, Any]], batch: int, fsync: str | None, root: str) -> dict[str, Any]:
    d = tempfile.mkdtemp(prefix=f"bench-wal-{fsync}-", dir=root)
    if fsync is None:
        venue = Venue()
        t0 = time.perf_counter()
        for c in cmds:
            venue.apply(c)
        return {"seconds": time.perf_counter() - t0, "hash": venue.state_hash(), "dir": d}
    storage = DiskStorage(d)
    jv = JournaledVenue(storage, fsync)
    commit_ns: list[int] = []
    process = jv.process
    t0 = time.perf_counter()
    for i in range(0, len(cmds), batch):
        c0 = time.perf_counter_ns()
        process(cmds[i:i + batch])
        commit_ns.append(time.perf_counter_ns() - c0)
    jv.close()
    seconds = time.perf_counter() - t0
    storage.close()
    return {"seconds": seconds, "hash": jv.venue.state_hash(), "dir": d, "batch_ns": commit_ns}


def _pct(xs: list[int], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000


def measure(n: int, batch: int, seed: int, root: str) -> dict[str, Any]:
    cmds = commands(n, seed)
    plain = _run(cmds, batch, None, root)
    none = _run(cmds, batch, "none", root)
    durable = _run(cmds, batch, "batch", root)
    if not plain["hash"] == none["hash"] == durable["hash"]:
        raise SystemExit("bench.journal: the variants ended in different states")
    t0 = time.perf_counter()
    rec = recover(DiskStorage(none["dir"]))
    recovery_s = time.perf_counter() - t0
    if rec.venue.state_hash() != none["hash"]:
        raise SystemExit("bench.journal: recovery did not rebuild the state")
    # A checkpoint of a book with 100,000 resting orders.
    venue = Venue()
    venue.apply({"cmd": "instrument", "ts": 0, "symbol": "C", "tick_size": "0.01", "lot_size": "1"})
    for i in range(100_000):
        side = "buy" if i % 2 else "sell"
        price = 100 - (i % 500) / 100 if side == "buy" else 101 + (i % 500) / 100
        venue.apply({"cmd": "new", "ts": 1, "user": f"u{i % 50}", "id": i, "symbol": "C", "side": side,
                     "type": "limit", "price": f"{price:.2f}", "qty": "1"})
    cp_dir = DiskStorage(tempfile.mkdtemp(prefix="bench-checkpoint-", dir=root))
    t0 = time.perf_counter()
    name = write_checkpoint(cp_dir, 100_001, venue)
    checkpoint_s = time.perf_counter() - t0
    size = os.path.getsize(os.path.join(cp_dir.directory, name))
    count = len(cmds)
    rate = {k: count / v["seconds"] for k, v in (("venue", plain), ("none", none), ("batch", durable))}
    b = durable["batch_ns"]
    return {
        "commands": count, "batch": batch, "seed": seed, "commands_per_s": rate,
        "share": rate["batch"] / rate["none"],
        "commit_us": {"p50": _pct(b, 0.5), "p99": _pct(b, 0.99), "p99.9": _pct(b, 0.999),
                      "max": max(b) / 1000, "mean": statistics.fmean(b) / 1000},
        "recovery_s": recovery_s, "recovery_s_per_million": recovery_s * 1_000_000 / count,
        "checkpoint_s_per_100k_orders": checkpoint_s, "checkpoint_bytes_per_100k_orders": size,
    }


def target_rows(r: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    rate, share = r["commands_per_s"], r["share"]
    rec = r["recovery_s_per_million"]
    ok_share, ok_rec = share >= TARGET_SHARE, rec < TARGET_RECOVERY_S
    lines = [
        f"| journal: group commit (batches of {r['batch']}) durable throughput at least 50% of fsync "
        f"`none` | {rate['batch']:,.0f} vs {rate['none']:,.0f} commands/s: {share:.0%} "
        f"| {'PASS' if ok_share else 'FAIL'} |",
        f"| journal: recovery of 1M commands under 10 s | {rec:.1f} s (scaled from {r['commands']:,}) "
        f"| {'PASS' if ok_rec else 'FAIL'} |",
    ]
    return lines, {"share": share, "recovery_s_per_million": rec, "pass": ok_share and ok_rec}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.journal", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 messages")
    ap.add_argument("--messages", type=int, default=None)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", default=None, help="where the temporary journals go")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    root = args.dir or tempfile.gettempdir()
    r = measure(args.messages or (20_000 if args.quick else 200_000), args.batch, args.seed, root)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    rate = r["commands_per_s"]
    print(f"journal: {r['commands']:,} commands of `normal`, batches of {r['batch']}")
    print(f"  venue alone      {rate['venue']:10,.0f} commands/s")
    print(f"  fsync none       {rate['none']:10,.0f} commands/s")
    print(f"  fsync batch      {rate['batch']:10,.0f} commands/s  ({r['share']:.0%} of none)")
    c = r["commit_us"]
    print(f"  batch commit     p50 {c['p50']:,.0f} us  p99 {c['p99']:,.0f} us  p99.9 {c['p99.9']:,.0f} us")
    print(f"  recovery         {r['recovery_s']:.2f} s  ({r['recovery_s_per_million']:.1f} s per million)")
    print(f"  checkpoint       {r['checkpoint_s_per_100k_orders']:.2f} s, "
          f"{r['checkpoint_bytes_per_100k_orders']:,} bytes per 100,000 resting orders")


if __name__ == "__main__":
    main()
