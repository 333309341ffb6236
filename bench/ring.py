"""The shared-memory ring buffer (`hftbook.runtime.ring`) against multiprocessing.Queue and Pipe.

    python -m bench.ring [--quick] [--json] [--wait sleep|yield|spin]

One producer (this process) sends 64-byte messages (sequence, send timestamp, padding) to 1
and to 3 consumer processes; every consumer receives every message (the ring's semantics: a
broadcast; for Queue and Pipe the producer sends each message down one queue / pipe per
consumer). Each consumer checks it got every sequence exactly once and in order. Two runs per
transport and consumer count:

- throughput: messages as fast as they go (built in chunks of 256; the ring publishes each
  chunk with one `write_batch`, Queue and Pipe send message by message, their natural API;
  `ring-1by1` is the ring with one `write` per message, for comparison).
  messages/s = messages / (last message received by the slowest consumer - first send). The
  latency of this run is mostly queueing (bounded by the ring's size for the ring; Queue is
  unbounded and the producer runs ahead);
- paced: 10,000 messages/s in bursts of 10 every millisecond, each written on its own
  (`write`, `put`, `send_bytes`), stamped when sent: the latency percentiles (send to
  receive, across processes; perf_counter_ns is CLOCK_MONOTONIC, one clock for all).

The ring's consumers use the wait strategy `--wait` (default `sleep`: spin, yield, then sleep
with backoff up to 1 ms; `yield` trades CPU for latency). Target: the ring at least 5x
multiprocessing.Queue in messages/s, with 1 and with 3 consumers (PASS/FAIL, nothing tuned to
pass). Invariants: a run that loses, duplicates or reorders a message aborts the benchmark;
every process is joined or killed, every shared-memory block unlinked.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import struct
import time
from array import array
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Final

from hftbook.runtime.ring import Ring

TARGET_RATIO: Final = 5.0
MSG: Final = struct.Struct("=QQ48s")  # 64 bytes: sequence, send time (ns), padding
PAD: Final = bytes(48)
CHUNK: Final = 256
SLOTS: Final = 8192
SLOT_SIZE: Final = 128
PACED_RATE: Final = 10_000
PACED_BURST: Final = 10
SAMPLES: Final = 200_000  # latencies sent back per consumer at most
TRANSPORTS: Final = ("ring", "ring-1by1", "queue", "pipe")  # ring-1by1: write() per message


def _ctx() -> Any:
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _consume(recv: Callable[[], list[bytes]], n: int, ack: Callable[[], object]) -> dict[str, Any]:
    """Receive n messages, check their sequence, keep the latency of each."""
    clock, unpack = time.perf_counter_ns, MSG.unpack_from
    lat = array("q")
    expect, first = 0, 0
    while expect < n:
        batch = recv()
        now = clock()
        if not first:
            first = now
        for m in batch:
            seq, ts, _ = unpack(m)
            if seq != expect:
                return {"error": f"expected sequence {expect}, got {seq}"}
            expect += 1
            lat.append(now - ts)
        ack()
    last = clock()
    step = max(1, len(lat) // SAMPLES)
    return {"received": expect, "first_ns": first, "last_ns": last, "lat": lat[::step].tobytes()}


def _ring_consumer(name: str, index: int, n: int, wait: str, barrier: Any, results: Any) -> None:
    ring = Ring.attach(name)
    c = ring.consumer(index, wait=wait)
    barrier.wait()
    try:
        r = _consume(lambda: c.read_batch(1024, timeout=60), n, c.commit)
    except Exception as exc:  # reported to the parent, which aborts
        r = {"error": repr(exc)}
    c.close()
    ring.close()
    results.put(r)


def _queue_consumer(q: Any, n: int, barrier: Any, results: Any) -> None:
    barrier.wait()
    results.put(_consume(lambda: [q.get(timeout=60)], n, lambda: None))


def _pipe_consumer(conn: Connection, n: int, barrier: Any, results: Any) -> None:
    barrier.wait()

    def recv() -> list[bytes]:
        if not conn.poll(60):
            raise TimeoutError("pipe consumer waited 60 s")
        return [conn.recv_bytes()]

    results.put(_consume(recv, n, lambda: None))


def _produce(send_batch: Callable[[list[bytes]], object], send_one: Callable[[bytes], object], n: int,
             paced: bool) -> int:
    """Send n messages; the time of the first send (ns)."""
    clock, pack = time.perf_counter_ns, MSG.pack
    t0 = clock()
    if not paced:
        for start in range(0, n, CHUNK):
            send_batch([pack(s, clock(), PAD) for s in range(start, min(n, start + CHUNK))])
        return t0
    period = PACED_BURST / PACED_RATE
    due = time.perf_counter()
    for start in range(0, n, PACED_BURST):
        for s in range(start, min(n, start + PACED_BURST)):
            send_one(pack(s, clock(), PAD))
        due += period
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    return t0


def run(transport: str, consumers: int, n: int, paced: bool, wait: str = "sleep") -> dict[str, Any]:
    """One run: messages/s and latency percentiles (us) of `transport` to `consumers` processes."""
    ctx = _ctx()
    barrier = ctx.Barrier(consumers + 1)
    results = ctx.Queue()
    ring: Ring | None = None
    procs: list[Any] = []
    close: Callable[[], None] = lambda: None  # noqa: E731
    if transport in ("ring", "ring-1by1"):
        ring = Ring.create(slots=SLOTS, slot_size=SLOT_SIZE, consumers=consumers)
        procs = [ctx.Process(target=_ring_consumer, args=(ring.name, i, n, wait, barrier, results))
                 for i in range(consumers)]
        p = ring.producer(wait=wait)
        write = p.write

        def send_one(m: bytes) -> None:
            write(m, 60)

        def send_batch(ms: list[bytes]) -> None:
            if transport == "ring":
                p.write_batch(ms, 60)
            else:
                for m in ms:
                    write(m, 60)

        close = p.close
    elif transport == "queue":
        queues = [ctx.Queue() for _ in range(consumers)]
        procs = [ctx.Process(target=_queue_consumer, args=(q, n, barrier, results)) for q in queues]
        puts = [q.put for q in queues]

        def send_one(m: bytes) -> None:
            for put in puts:
                put(m)

        def send_batch(ms: list[bytes]) -> None:
            for m in ms:
                for put in puts:
                    put(m)
    elif transport == "pipe":
        pipes = [ctx.Pipe(duplex=False) for _ in range(consumers)]
        procs = [ctx.Process(target=_pipe_consumer, args=(r, n, barrier, results)) for r, _ in pipes]
        sends = [w.send_bytes for _, w in pipes]

        def send_one(m: bytes) -> None:
            for send in sends:
                send(m)

        def send_batch(ms: list[bytes]) -> None:
            for m in ms:
                for send in sends:
                    send(m)
    else:
        raise ValueError(transport)
    try:
        for proc in procs:
            proc.start()
        barrier.wait(timeout=60)
        t0 = _produce(send_batch, send_one, n, paced)
        close()
        got = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
        if ring is not None:
            ring.close()
            ring.unlink()
    errors = [g["error"] for g in got if "error" in g]
    if errors:
        raise SystemExit(f"bench.ring: {transport} with {consumers} consumers: {errors[0]}")
    lat = array("q")
    for g in got:
        lat.frombytes(g["lat"])
    s = sorted(lat)
    last = max(g["last_ns"] for g in got)

    def pct(q: float) -> float:
        return s[min(len(s) - 1, int(q * len(s)))] / 1000

    return {"transport": transport, "consumers": consumers, "messages": n, "paced": paced,
            "wait": wait if transport.startswith("ring") else None,
            "messages_per_s": n * 1e9 / (last - t0),
            "latency_us": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "p99.9": pct(0.999),
                           "max": s[-1] / 1000}}


def measure(quick: bool, wait: str) -> dict[str, Any]:
    counts = {"ring": 300_000, "ring-1by1": 150_000, "queue": 40_000, "pipe": 60_000} if quick else \
        {"ring": 2_000_000, "ring-1by1": 1_000_000, "queue": 200_000, "pipe": 300_000}
    paced_n = 5_000 if quick else 20_000
    runs: list[dict[str, Any]] = []
    for consumers in (1, 3):
        for t in TRANSPORTS:
            runs.append(run(t, consumers, counts[t], False, wait))
            if t != "ring-1by1":  # paced runs write message by message anyway
                runs.append(run(t, consumers, paced_n, True, wait))
    ratio = {}
    for consumers in (1, 3):
        ratio[str(consumers)] = _rate(runs, "ring", consumers) / _rate(runs, "queue", consumers)
    return {"quick": quick, "wait": wait, "message_bytes": MSG.size, "slots": SLOTS, "slot_size": SLOT_SIZE,
            "paced_rate": PACED_RATE, "runs": runs, "ring_over_queue": ratio}


def _run(runs: list[dict[str, Any]], transport: str, consumers: int, paced: bool) -> dict[str, Any]:
    return next(x for x in runs if x["transport"] == transport and x["consumers"] == consumers
                and x["paced"] == paced)


def _rate(runs: list[dict[str, Any]], transport: str, consumers: int) -> float:
    return float(_run(runs, transport, consumers, False)["messages_per_s"])


def target_rows(r: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    lines, ok = [], True
    for consumers in (1, 3):
        ring, queue = _rate(r["runs"], "ring", consumers), _rate(r["runs"], "queue", consumers)
        passed = ring >= TARGET_RATIO * queue
        ok = ok and passed
        lines.append(f"| ring: messages/s at least 5x multiprocessing.Queue, {consumers} consumer"
                     f"{'s' if consumers > 1 else ''} | {ring:,.0f} vs {queue:,.0f} messages/s: "
                     f"{ring / queue:.1f}x | {'PASS' if passed else 'FAIL'} |")
    return lines, {"ring_over_queue": r["ring_over_queue"], "pass": ok}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.ring", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer messages (about 10 s)")
    ap.add_argument("--wait", default="sleep", choices=("sleep", "yield", "spin"),
                    help="the ring's wait strategy (producer and consumers)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="unused (bench.run passes one)")
    args = ap.parse_args(argv)
    r = measure(args.quick, args.wait)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"ring vs multiprocessing.Queue vs Pipe: {MSG.size}-byte messages, every consumer gets every "
          f"message; ring wait strategy `{args.wait}`")
    print(f"{'transport':<11}{'consumers':>10}{'messages/s':>14}{'sat. p50 us':>13}"
          f"{'paced p50':>11}{'p99':>9}{'p99.9':>9}{'max':>9}")
    for consumers in (1, 3):
        for t in TRANSPORTS:
            fast = _run(r["runs"], t, consumers, False)
            sat = fast["latency_us"]["p50"]
            line = f"{t:<11}{consumers:>10}{fast['messages_per_s']:>14,.0f}{sat:>13,.0f}"
            if t != "ring-1by1":
                lp = _run(r["runs"], t, consumers, True)["latency_us"]
                line += f"{lp['p50']:>11,.0f}{lp['p99']:>9,.0f}{lp['p99.9']:>9,.0f}{lp['max']:>9,.0f}"
            print(line)
    lines, summary = target_rows(r)
    for line in lines:
        print(line)
    print("PASS" if summary["pass"] else "FAIL")


if __name__ == "__main__":
    main()
