"""The pipeline's engine and journal processes (spawned by pipeline.py).

Engine process k: recovers its venue from its journal directory, reports `ready` (where the
journal goes on, its symbols, a snapshot for the market-data process), then reads commands
from its command ring, applies each, and writes one result message per command (pipeline_wire)
to its result ring. It applies before the journal has the command: the core is
deterministic, and nothing of a result reaches a client before the journal process has made
it durable (the responses and market-data readers depend on the journal's cursor). Every
`checkpoint_every` commands it writes a checkpoint once the journal's cursor shows the
commands it covers are durable.

Journal process k: reads the result ring first (consumer 0), appends each command's bytes
as they came from the gateway, commits (one fsync a batch under `batch`), and only then
commits its cursor, which releases the batch to the other readers.

Both end when their input stream ends (the gateway closed it: a clean stop) and report
their stage histograms to the parent every `report_s` over `conn`: `("ready", info)`,
`("metrics", {stage: (hdr_encoded, sum_ns)})`, `("error", text)` before dying of an error.

Invariants: a result's `seq` is the journal's sequence number for its command (checked by
the journal process, which stops on a mismatch); the engine's input cursor moves only after
the batch's results are on the result ring.
"""

from __future__ import annotations

import signal
import time
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from hftbook.algo.venue import Venue
from hftbook.core.types import MAX_UNITS
from hftbook.journal.recovery import recover, write_checkpoint
from hftbook.journal.storage import DiskStorage
from hftbook.journal.wal import Journal
from hftbook.runtime.ring import Park, Ring, RingTimeout
from hftbook.runtime.ring_consumer import Consumer
from hftbook.runtime.ring_frames import Joiner, split
from hftbook.server.metrics import Stages
from hftbook.server.pipeline_wire import decode_command, globalize, pack_result, unpack_command, unpack_result
from hftbook.server.shards import PLACING, order_ids

ENGINE_BATCH = 1024
JOURNAL_BATCH = 4096
# How every party of the pipeline waits: spin, yield, then park on the ring's doorbell until
# whoever it waits for rings it (ring_bell.py). Sleeping instead cost either idle CPU or
# latency: capped at 100 us each idle waiter took about 10% of a core, capped at 1 ms a wake-up
# could wait out most of a millisecond at every hop.
WAIT = Park(max_s=0.01)
# A thread that shares its process's GIL with an event loop parks at once: spinning or
# yielding in Python would take the GIL from the loop.
THREAD_WAIT = Park(spins=0, yields=0, max_s=0.01)


class Reporter(Stages):
    """The histograms of one process, sent to the parent every `report_s`."""

    def __init__(self, conn: Connection, report_s: float, names: tuple[str, ...]) -> None:
        super().__init__(names)
        self.conn = conn
        self.report_s = report_s
        self.next = time.monotonic() + report_s

    def maybe_report(self) -> None:
        if time.monotonic() >= self.next:
            self.report()

    def report(self) -> None:
        self.next = time.monotonic() + self.report_s
        self.conn.send(("metrics", self.encoded()))


def ended(venue: Venue, cmd: Any, events: list[dict[str, Any]]) -> list[list[Any]]:
    """The (user, client id) pairs the command placed or its events name that are no longer
    live orders or parents (a refused `oco` or `bracket` names its ids nowhere in its events)."""
    live = venue.exchange.live
    parents = venue.algos.parents
    keys: list[tuple[Any, Any]] = []
    if isinstance(cmd, dict) and cmd.get("cmd") in PLACING:
        keys += [(cmd.get("user"), cid) for cid in order_ids(cmd)]
    for ev in events:
        if ev["type"] == "trade":
            keys += [(ev["maker"]["user"], ev["maker"]["id"]), (ev["taker"]["user"], ev["taker"]["id"])]
        elif isinstance(ev.get("user"), str) and "id" in ev:
            keys.append((ev["user"], ev["id"]))
    seen: set[tuple[Any, Any]] = set()
    out: list[list[Any]] = []
    for k in keys:
        try:
            if k in seen or not isinstance(k[0], str):
                continue
        except TypeError:  # an unhashable id (refused anyway)
            continue
        seen.add(k)
        if k[1] not in live.get(k[0], ()) and k not in parents:
            out.append([k[0], k[1]])
    return out


def follow_the_gateway() -> None:
    """A pipeline process stops when its input stream ends, never on a signal: Ctrl-C in a
    terminal (and a service manager's SIGTERM) reach the whole process group, and the gateway
    process alone must decide the order of the stop. A gateway that dies outright is noticed
    through the rings (a dead producer or consumer raises)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def engine_main(k: int, engines: int, directory: str, cmd_ring: str, out_ring: str,
                checkpoint_every: int, conn: Connection, report_s: float) -> None:
    follow_the_gateway()
    try:
        _engine(k, engines, directory, cmd_ring, out_ring, checkpoint_every, conn, report_s)
    except BaseException:
        conn.send(("error", f"engine-{k}: {traceback.format_exc()}"))
        raise


def _engine(k: int, engines: int, directory: str, cmd_ring: str, out_ring: str, checkpoint_every: int,
            conn: Connection, report_s: float) -> None:
    storage = DiskStorage(directory)
    rec = recover(storage)
    venue = rec.venue
    conn.send(("ready", {"next_seq": rec.next_seq, "segment": rec.segment, "segment_size": rec.segment_size,
                         "symbols": sorted(venue.exchange.instruments), "now": venue.now,
                         "live": [[u, cid] for u, orders in venue.exchange.live.items() for cid in orders]
                         + [list(key) for key in venue.algos.parents],
                         "snapshot": venue.snapshot()}))
    wait_name, apply_name = f"ring_commands_e{k}", f"apply_e{k}"
    rep = Reporter(conn, report_s, (wait_name, apply_name))
    cin_ring, res_ring = Ring.attach(cmd_ring), Ring.attach(out_ring)
    cin = cin_ring.consumer(0, wait=WAIT)
    out = res_ring.producer(wait=WAIT)
    cap = res_ring.max_message
    seq = rec.next_seq
    since = 0
    clock = time.perf_counter_ns
    apply = venue.apply
    for now, msgs, partial in batches(cin, ENGINE_BATCH, rep):
        results: list[bytes] = []
        for msg in msgs:
            t_ns, command = unpack_command(msg)
            rep.record(wait_name, now - t_ns)
            cmd = decode_command(command)
            ts = cmd.get("ts") if isinstance(cmd, dict) else None
            jts = ts if type(ts) is int and 0 <= ts <= MAX_UNITS else venue.now
            a = clock()
            events = apply(cmd)
            b = clock()
            rep.record(apply_name, b - a)
            gone: list[list[Any]] = []
            if engines > 1:
                gone = ended(venue, cmd, events)
                globalize(events, k, engines)
            results.extend(split(pack_result(seq, jts, b, command, events, gone), cap))
            seq += 1
            since += 1
        if results:
            out.write_batch(results)
        cin.commit()
        if checkpoint_every and since >= checkpoint_every and not partial:
            if _durable(res_ring, out.published, 30.0):
                write_checkpoint(storage, seq - 1, venue)
                since = 0
        rep.maybe_report()
    out.close()
    rep.report()
    cin.close()
    cin_ring.close()
    res_ring.close()


def batches(c: Consumer, size: int, rep: Reporter) -> Iterator[tuple[int, list[bytes], bool]]:
    """A ring's whole messages, batch by batch: (when read, the messages, whether a message is
    half read); metrics reported while idle; ends with the stream. The caller commits."""
    joiner = Joiner()
    while True:
        try:
            frags = c.read_batch(size, timeout=rep.report_s)
        except RingTimeout:
            rep.maybe_report()
            continue
        if not frags:  # a blocking read returns [] only at the end of the stream
            return
        now = time.perf_counter_ns()
        yield now, joiner.feed(frags), joiner.partial


def _durable(ring: Ring, target: int, timeout: float) -> bool:
    """Wait until the journal (consumer 0) has committed `target` messages; False on timeout."""
    deadline = time.monotonic() + timeout
    while ring.status().consumers[0].cursor < target:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def journal_main(k: int, directory: str, fsync: str, out_ring: str, next_seq: int, segment: str | None,
                 segment_size: int, conn: Connection, report_s: float) -> None:
    follow_the_gateway()
    try:
        _journal(k, directory, fsync, out_ring, next_seq, segment, segment_size, conn, report_s)
    except BaseException:
        conn.send(("error", f"journal-{k}: {traceback.format_exc()}"))
        raise


def _journal(k: int, directory: str, fsync: str, out_ring: str, next_seq: int, segment: str | None,
             segment_size: int, conn: Connection, report_s: float) -> None:
    storage = DiskStorage(directory)
    journal = Journal(storage, next_seq, fsync, segment=segment, segment_size=segment_size)
    wait_name, commit_name = f"ring_journal_e{k}", f"journal_e{k}"
    rep = Reporter(conn, report_s, (wait_name, commit_name))
    ring = Ring.attach(out_ring)
    c = ring.consumer(0, wait=WAIT)
    conn.send(("ready", {}))
    clock = time.perf_counter_ns
    for now, msgs, _partial in batches(c, JOURNAL_BATCH, rep):
        for msg in msgs:
            seq, ts, t_ns, command, _events, _gone = unpack_result(msg)
            rep.record(wait_name, now - t_ns)
            got = journal.append_payload(ts, command)
            if got != seq:
                raise RuntimeError(f"journal-{k}: the engine sent command {seq}, the journal is at {got}")
        if msgs:
            a = clock()
            journal.commit()
            rep.record(commit_name, clock() - a)
        c.commit()
        rep.maybe_report()
    journal.close()
    rep.report()
    c.close()
    ring.close()
    storage.close()


__all__ = ["THREAD_WAIT", "WAIT", "Reporter", "batches", "ended", "engine_main", "follow_the_gateway",
           "journal_main"]
