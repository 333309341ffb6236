"""The shared-memory ring buffer across real processes (`hftbook.runtime.ring`).

- no message lost, duplicated or reordered over hundreds of wraparounds, with 1, 2 and 4
  consumer processes (with dependencies: a dependent never reads past what the consumers it
  depends on committed), under each wait strategy, with `fork` and once with `spawn`;
- a deliberately slow consumer: the producer waits for it (never more than `slots` ahead of it:
  the ring's memory is all there is), nothing is overwritten;
- a consumer killed with SIGKILL mid-run (and left unreaped: a zombie) is detected by the
  blocked producer within its liveness interval (DeadConsumer, never a hang); a replacement
  process takes its index over and resumes from its cursor;
- a producer killed mid-run: its consumer reads what was published, then gets DeadProducer;
- a dependency killed mid-run is reported to its dependent.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import signal
import time
from typing import Any

import pytest

from hftbook.runtime.ring import DeadConsumer, DeadProducer, Ring
from hftbook.runtime.ring_layout import CURSOR, consumer_word, producer_word

FORK = mp.get_context("fork")
LIVENESS = 0.1  # seconds between liveness checks of a blocked party
DETECT_S = 2.0  # a death must be reported within this (LIVENESS plus a loaded machine's slack)


def message(seq: int) -> bytes:
    """Sequence seq's message: 8 to 48 bytes, its content a function of seq."""
    body = hashlib.blake2b(seq.to_bytes(8, "little"), digest_size=48).digest()
    return seq.to_bytes(8, "little") + body[:(seq * 37) % 41]


def consumer_main(name: str, index: int, wait: str, batch: int, slow_s: float, results: Any) -> None:
    """Read to the end, checking every message and the bounds; report (index, first, end, max lag, error)."""
    ring = Ring.attach(name)
    c = ring.consumer(index, wait=wait, liveness_interval=LIVENESS)
    q, slots = ring._q, ring.slots
    deps = [consumer_word(d, CURSOR) for d in ring.geometry.depends[index]]
    first = expect = c.cursor
    max_lag, error = 0, None
    try:
        while got := c.read_batch(batch, timeout=60):
            end = c.cursor + len(got)
            if any(q[w] < end for w in deps):
                error = f"read up to {end}, past a dependency's cursor"
                break
            max_lag = max(max_lag, q[producer_word(CURSOR)] - c.cursor)
            for m in got:
                if m != message(expect):
                    error = f"sequence {expect}: wrong message {m[:8].hex()}"
                    break
                expect += 1
            if error:
                break
            if slow_s:
                time.sleep(slow_s)
            c.commit()
    except Exception as exc:  # reported to the test
        error = repr(exc)
    if max_lag > slots:
        error = f"producer ran {max_lag} ahead of a ring of {slots}"
    results.put((index, first, expect, max_lag, error))
    c.close()
    ring.close()


def producer_main(name: str, n: int, results: Any) -> None:
    """Publish n messages, say so, then hang around to be killed."""
    ring = Ring.attach(name)
    p = ring.producer()
    p.write_batch([message(s) for s in range(n)], timeout=60)
    results.put("published")
    time.sleep(60)


def produce(ring: Ring, n: int) -> int:
    """Publish messages 0..n-1 in batches of 1..50; the producer's largest lead over the slowest
    consumer, sampled after every batch."""
    p = ring.producer(liveness_interval=LIVENESS)
    q = ring._q
    cursors = [consumer_word(i, CURSOR) for i in range(ring.geometry.consumers)]
    seq, lead = 0, 0
    while seq < n:
        k = min(n - seq, 1 + seq % 50)
        p.write_batch([message(s) for s in range(seq, seq + k)], timeout=60)
        seq += k
        lead = max(lead, p.published - min(q[w] for w in cursors))
    p.close()
    return lead


def run_consumers(ring: Ring, ctx: Any, waits: list[str], batches: list[int], slow: list[float]) -> tuple[
        list[Any], Any]:
    results = ctx.Queue()
    procs = [ctx.Process(target=consumer_main, args=(ring.name, i, waits[i], batches[i], slow[i], results))
             for i in range(len(waits))]
    for proc in procs:
        proc.start()
    return procs, results


def collect(procs: list[Any], results: Any) -> dict[int, tuple[int, int, int, str | None]]:
    out = {}
    for _ in procs:
        index, first, end, lag, error = results.get(timeout=60)
        out[index] = (first, end, lag, error)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return out


@pytest.fixture
def reaper() -> Any:
    procs: list[Any] = []
    yield procs
    for proc in procs:
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=10)


@pytest.mark.parametrize(("consumers", "depends", "waits", "ctx_name"), [
    (1, {}, ["spin"], "fork"),
    (2, {1: [0]}, ["yield", "sleep"], "fork"),
    (4, {2: [0], 3: [1, 2]}, ["sleep", "yield", "sleep", "sleep"], "fork"),
    (2, {}, ["sleep", "sleep"], "spawn"),
])
def test_no_loss_duplication_or_reordering(consumers: int, depends: dict[int, list[int]], waits: list[str],
                                           ctx_name: str, reaper: list[Any]) -> None:
    n, slots = (60_000, 64) if ctx_name == "fork" else (20_000, 32)
    with Ring.create(slots=slots, slot_size=64, consumers=consumers, depends=depends) as ring:
        procs, results = run_consumers(ring, mp.get_context(ctx_name), waits, [7, 64, 1, 300][:consumers],
                                       [0.0] * consumers)
        reaper += procs
        lead = produce(ring, n)
        got = collect(procs, results)
    assert lead <= slots
    for i in range(consumers):
        first, end, lag, error = got[i]
        assert error is None, f"consumer {i}: {error}"
        assert (first, end) == (0, n)
        assert lag <= slots
    assert n // slots >= 600  # wraparounds


def test_slow_consumer_makes_the_producer_wait_and_nothing_is_overwritten(reaper: list[Any]) -> None:
    n, slots = 1_500, 16
    with Ring.create(slots=slots, slot_size=64, consumers=2, checksum=True) as ring:
        procs, results = run_consumers(ring, FORK, ["sleep", "sleep"], [64, 4], [0.0, 0.002])
        reaper += procs
        t0 = time.monotonic()
        lead = produce(ring, n)
        produce_s = time.monotonic() - t0
        got = collect(procs, results)
    assert got[0][3] is None and got[1][3] is None, got
    assert got[0][:2] == got[1][:2] == (0, n)
    assert lead <= slots and got[1][2] <= slots  # bounded: never more than a ring ahead
    # The producer could not finish before the slow consumer had read all but one ring:
    # (n - slots) / 4 batches of at least 2 ms each.
    assert produce_s >= (n - slots) / 4 * 0.002 * 0.9


def test_killed_consumer_is_detected_then_replaced(reaper: list[Any]) -> None:
    n, slots = 200_000, 64
    with Ring.create(slots=slots, slot_size=64, consumers=2) as ring:
        procs, results = run_consumers(ring, FORK, ["sleep", "sleep"], [64, 8], [0.0, 0.001])
        reaper += procs
        p = ring.producer(liveness_interval=LIVENESS)
        seq, killed_at, caught = 0, 0.0, None
        t0 = time.monotonic()
        while seq < n:
            if not killed_at and time.monotonic() - t0 > 0.3:
                assert procs[1].pid is not None
                os.kill(procs[1].pid, signal.SIGKILL)  # not reaped: a zombie until joined
                killed_at = time.monotonic()
            batch = [message(s) for s in range(seq, min(n, seq + 32))]
            try:
                p.write_batch(batch, timeout=30)
            except DeadConsumer as exc:
                caught = exc
                break
            seq = p.published
        detected_s = time.monotonic() - killed_at
        assert caught is not None and killed_at, "the producer never noticed the killed consumer"
        assert caught.index == 1 and caught.pid == procs[1].pid
        assert detected_s < DETECT_S
        # A replacement takes consumer 1 over and resumes at its cursor; the stream completes.
        resumed_at = ring._q[consumer_word(1, CURSOR)]
        again = FORK.Process(target=consumer_main, args=(ring.name, 1, "sleep", 256, 0.0, results))
        again.start()
        reaper.append(again)
        seq = p.published
        while seq < n:
            seq = p.write_batch([message(s) for s in range(seq, min(n, seq + 256))], timeout=30)
        p.close()
        got = collect([procs[0], again], results)
    assert got[0] == (0, n, got[0][2], None)
    assert got[1] == (resumed_at, n, got[1][2], None)


def test_killed_producer_is_detected_by_its_consumer(reaper: list[Any]) -> None:
    with Ring.create(slots=64, slot_size=64, consumers=1) as ring:
        results = FORK.Queue()
        proc = FORK.Process(target=producer_main, args=(ring.name, 50, results))
        proc.start()
        reaper.append(proc)
        c = ring.consumer(0, liveness_interval=LIVENESS)
        assert results.get(timeout=30) == "published"
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        got = c.read_batch(100, timeout=10)  # what was published before the death is all there
        assert got == [message(s) for s in range(50)]
        c.commit()
        t0 = time.monotonic()
        with pytest.raises(DeadProducer) as info:
            c.read_batch(timeout=30)
        assert time.monotonic() - t0 < DETECT_S
        assert info.value.pid == proc.pid


def test_killed_dependency_is_reported_to_its_dependent(reaper: list[Any]) -> None:
    with Ring.create(slots=64, slot_size=64, consumers=2, depends={1: [0]}) as ring:
        procs, _ = run_consumers(ring, FORK, ["sleep"], [8], [0.05])
        reaper += procs
        p = ring.producer()
        p.write_batch([message(s) for s in range(40)])
        pub = ring.consumer(1, liveness_interval=LIVENESS)
        got = pub.read_batch(64, timeout=10)
        pub.commit()
        os.kill(procs[0].pid, signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(DeadConsumer) as info:
            while True:
                got += pub.read_batch(64, timeout=30)
                pub.commit()
        assert time.monotonic() - t0 < DETECT_S
        assert info.value.index == 0
        assert got == [message(s) for s in range(len(got))] and len(got) < 40
