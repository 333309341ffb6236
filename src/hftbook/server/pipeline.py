"""`serve --pipeline`: the engine, its journal and market data in their own processes.

    gateways (this process) --command ring k--> engine k --result ring k--> journal k   (consumer 0)
                                                                       \\-> responses  (1, after 0)
                                                                       \\-> market data (2, after 0)

Symbols are sharded over `engines` engine processes (shards.py); each engine has its own
journal process and directory (`data_dir`, or `data_dir/engine-k` with more than one, the
count kept in `data_dir/ENGINES` so a restart with another count is refused instead of
losing symbols). One market-data process reads every result ring and serves the sequenced
L1/L2/L3/trades feed on `md_port` (pipeline_md.py).

This process keeps what the single-process server keeps (router.py): it stamps each command,
picks its engine(s), writes it to the command ring (never blocking the event loop: when a ring
is full it waits for room with short sleeps), and remembers per engine, in order, who sent
what. A reader thread per result ring hands whole results to the event loop, which routes
them exactly as `Engine` does. Because readers 1 and 2 depend on the journal's cursor, no
acknowledgement, fill or market data leaves before the journal process made the command
durable.

Start: create the rings, start the engines (each recovers its journal), then the journals
and market data, define the configured instruments no engine has. Stop: close the command
rings after the last queued command; each process drains its input and exits, the journals
fsync; the readers route everything to the end. A child process that dies (or reports an
error) at any other time stops the server: `run` raises `PipelineFailed` naming it, the app
tells every session `server_error` and exits 1; nothing more is acknowledged (a dead journal
stops its readers at its cursor; a dead engine or market-data process stops its ring).

Invariants: each engine gets its commands in queue order; results of engine k come back in
the order its commands were sent (one per command), so the `pending[k]` FIFO matches them;
only the event loop's thread touches sessions and pending FIFOs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import multiprocessing
import os
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from hftbook.runtime.ring import Ring, RingError, RingTimeout
from hftbook.runtime.ring_frames import Joiner, split
from hftbook.server.config import ConfigError, ServerConfig
from hftbook.server.metrics import Metrics
from hftbook.server.pipeline_procs import THREAD_WAIT, WAIT, engine_main, journal_main
from hftbook.server.pipeline_wire import decode_events, encode_command, pack_command, unpack_result
from hftbook.server.router import Item, Router
from hftbook.server.session import Session
from hftbook.server.shards import Placement

COMMAND_SLOT = 256
RESULT_SLOT = 1024
REPORT_S = 1.0
START_TIMEOUT_S = 120.0  # recovering a large journal takes a while
_MARKER = "ENGINES"


class PipelineFailed(RuntimeError):
    """A process of the pipeline died or failed: the server must stop."""


def journal_dirs(cfg: ServerConfig) -> list[str]:
    """Each engine's journal directory; refuses a data_dir written with another engine count."""
    n = cfg.engines if cfg.pipeline else 1
    marker = os.path.join(cfg.data_dir, _MARKER)
    had: int | None = None  # nothing written yet
    if os.path.exists(marker):
        with open(marker) as f:
            had = int(f.read().strip() or 1)
    elif os.path.isdir(cfg.data_dir) and any(name.startswith(("wal-", "checkpoint-"))
                                             for name in os.listdir(cfg.data_dir)):
        had = 1  # a single engine's journal
    if had is not None and had != n:
        raise ConfigError(f"{cfg.data_dir} holds the journals of {had} engine(s), not {n}: "
                          "run with that count or use another data_dir")
    if n == 1:
        return [cfg.data_dir]
    os.makedirs(cfg.data_dir, exist_ok=True)
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(f"{n}\n")
    return [os.path.join(cfg.data_dir, f"engine-{k}") for k in range(n)]


class _Child:
    def __init__(self, name: str, proc: BaseProcess, conn: Connection) -> None:
        self.name = name
        self.proc = proc
        self.conn = conn


class PipelineEngine(Router):
    def __init__(self, cfg: ServerConfig, metrics: Metrics) -> None:
        super().__init__(cfg, metrics, 0)
        self.n = cfg.engines
        self.dirs = journal_dirs(cfg)
        self.placement = Placement(self.n)
        self.children: list[_Child] = []
        self.cmd_rings: list[Ring] = []
        self.res_rings: list[Ring] = []
        self.producers: list[Any] = []
        # Per engine, in sending order: (origin, received_ns, echo, index, symbol defined);
        # origin may be a future (the start-up instrument definitions wait for their results).
        self.pending: list[collections.deque[tuple[Any, int, bool, int, str | None]]] = [
            collections.deque() for _ in range(self.n)]
        self.done = [0] * self.n  # results routed per engine (the next one's index)
        self._symbols: set[str] = set()
        self.md_port = cfg.md_port
        self.failed: str | None = None
        self._stopping = False
        self._ended: list[asyncio.Event] = []
        self._threads: list[threading.Thread] = []
        self._halt = threading.Event()  # tells the reader threads to stop (close)
        self._ctx = multiprocessing.get_context("spawn")

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> None:
        for k in range(self.n):
            self.cmd_rings.append(Ring.create(None, slots=self.cfg.ring_slots, slot_size=COMMAND_SLOT))
            self.res_rings.append(Ring.create(None, slots=self.cfg.ring_slots, slot_size=RESULT_SLOT,
                                              consumers=3, depends={1: [0], 2: [0]}))
            for stage in ("ring_commands", "ring_journal", "ring_marketdata", "ring_responses", "apply",
                          "journal"):
                self.metrics.add_stage(f"{stage}_e{k}")
        for k in range(self.n):
            self._spawn(f"engine-{k}", engine_main, k, self.n, self.dirs[k], self.cmd_rings[k].name,
                        self.res_rings[k].name, self.cfg.checkpoint_every)
        ready = [await self._ready(c) for c in list(self.children)]
        for k, info in enumerate(ready):
            self._symbols.update(info["symbols"])
            self.placement.recovered(k, info["live"])
            self.last_ts = max(self.last_ts, info["now"])
            where = (info["next_seq"], info["segment"], info["segment_size"])
            await self._ready(self._spawn(f"journal-{k}", journal_main, k, self.dirs[k], self.cfg.fsync,
                                          self.res_rings[k].name, *where))
        from hftbook.server.pipeline_md import md_main

        md = self._spawn("marketdata", md_main, [r.name for r in self.res_rings], 2,
                         [info["snapshot"] for info in ready], self.cfg.host, self.cfg.md_port)
        self.md_port = (await self._ready(md))["port"]
        loop = asyncio.get_running_loop()
        self.producers = [r.producer(wait=WAIT) for r in self.cmd_rings]
        for k in range(self.n):
            ended = asyncio.Event()
            self._ended.append(ended)
            t = threading.Thread(target=self._reader, args=(k, loop, ended), name=f"results-{k}", daemon=True)
            t.start()
            self._threads.append(t)
        for c in self.children:
            self.metrics.gauges[f"process_up_{c.name.replace('-', '_')}"] = self._up(c)
        print("hftbook serve: pipeline: " + ", ".join(f"{c.name} pid {c.proc.pid}" for c in self.children),
              file=sys.stderr, flush=True)
        await self._define_instruments()

    def _spawn(self, name: str, target: Any, *args: Any) -> _Child:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=target, args=(*args, child, REPORT_S), name=f"hftbook-{name}",
                                 daemon=True)
        proc.start()
        child.close()
        c = _Child(name, proc, parent)
        self.children.append(c)
        return c

    async def _ready(self, c: _Child) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if c.conn.poll():
                kind, body = c.conn.recv()
                if kind == "ready":
                    return dict(body)
                if kind == "error":  # the child printed its traceback; its last line says why
                    raise PipelineFailed(f"{c.name}: {str(body).strip().splitlines()[-1]}")
            elif not c.proc.is_alive():
                raise PipelineFailed(f"{c.name} process exited at start (exit code {c.proc.exitcode})")
            else:
                await asyncio.sleep(0.01)
        raise PipelineFailed(f"{c.name} process not ready after {START_TIMEOUT_S:.0f} s")

    @staticmethod
    def _up(c: _Child) -> Any:
        return lambda: int(c.proc.is_alive())

    async def _define_instruments(self) -> None:
        todo = [dict(i, cmd="instrument") for i in self.cfg.instruments if i["symbol"] not in self._symbols]
        if not todo:
            return
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[list[dict[str, Any]]]] = [loop.create_future() for _ in todo]
        await self._send([(fut, cmd, time.perf_counter_ns())  # type: ignore[misc]
                          for fut, cmd in zip(futures, todo, strict=True)])
        for fut in futures:
            bad = [e for e in await fut if e["type"] == "rejected"]
            if bad:
                raise ValueError(f"instrument refused: {bad[0]['message']}")

    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    # -- commands out ----------------------------------------------------------------------------

    async def run(self) -> None:
        watch = asyncio.create_task(self._supervise())
        try:
            while True:
                batch, stop = await self.next_batch()
                if self.failed:
                    raise PipelineFailed(self.failed)
                if batch:
                    await self._send(batch)
                if stop:
                    break
            self._stopping = True
            for p in self.producers:
                p.close()
            for ev in self._ended:
                await ev.wait()
            for c in self.children:
                await asyncio.to_thread(c.proc.join, 30)
            self._drain_reports()
            bad = [f"{c.name} (exit code {c.proc.exitcode})" for c in self.children if c.proc.exitcode != 0]
            if bad and self.failed is None:
                self.failed = "a process failed while stopping: " + ", ".join(bad)
        finally:
            watch.cancel()
        if self.failed:
            raise PipelineFailed(self.failed)

    async def _send(self, batch: list[Item]) -> None:
        m = self.metrics
        start = time.perf_counter_ns()
        frames: list[list[bytes]] = [[] for _ in range(self.n)]
        cap = self.cmd_rings[0].max_message
        for origin, cmd, received in batch:
            m.record("queue", start - received)
            self.admit(cmd)
            targets = self.placement.targets(cmd)
            if self.placement.taken:
                cmd["live_elsewhere"] = self.placement.taken
            define = cmd.get("symbol") if cmd.get("cmd") == "instrument" else None
            msg = split(pack_command(time.perf_counter_ns(), encode_command(cmd)), cap)
            for i, k in enumerate(targets):
                frames[k].extend(msg)
                self.pending[k].append((origin, received, i == 0, self.done[k] + len(self.pending[k]),
                                        define if isinstance(define, str) else None))
        for k, out in enumerate(frames):
            while out:
                if self.failed:
                    raise PipelineFailed(self.failed)
                try:
                    n = self.producers[k].try_write_batch(out)
                except RingError as exc:
                    raise PipelineFailed(f"command ring of engine-{k}: {exc}") from exc
                out = out[n:]
                if out:
                    await asyncio.sleep(0.0002)  # the engine is behind: wait for room, loop free
        m.counters["commands"] += len(batch)
        m.counters["batches"] += 1

    # -- results in ------------------------------------------------------------------------------

    def _reader(self, k: int, loop: asyncio.AbstractEventLoop, ended: asyncio.Event) -> None:
        """Thread: read result ring k as consumer 1, hand whole results to the loop. At most
        `outstanding` batches wait in the loop, so a slow loop slows the reader, not memory."""
        ring = self.res_rings[k]
        c = ring.consumer(1, wait=THREAD_WAIT)
        joiner = Joiner()
        outstanding = threading.Semaphore(64)
        try:
            while not self._halt.is_set():
                try:
                    frags = c.read_batch(4096, timeout=0.25)
                except RingTimeout:
                    continue
                except RingError as exc:
                    if not self._stopping:
                        loop.call_soon_threadsafe(self._fail, f"results of engine-{k}: {exc}")
                    return
                if not frags:  # the end of the stream
                    return
                now = time.perf_counter_ns()
                results = [unpack_result(msg) for msg in joiner.feed(frags)]
                c.commit()
                if results:
                    while not outstanding.acquire(timeout=0.25):
                        if self._halt.is_set():
                            return
                    loop.call_soon_threadsafe(self._deliver, k, results, now, outstanding)
        finally:
            c.close()
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                loop.call_soon_threadsafe(ended.set)

    def _deliver(self, k: int, results: list[Any], now: int, outstanding: threading.Semaphore) -> None:
        outstanding.release()
        m = self.metrics
        pending = self.pending[k]
        wait_stage = f"ring_responses_e{k}"
        for _seq, _ts, t_ns, _command, events_bytes, gone in results:
            m.record(wait_stage, now - t_ns)
            origin, received, echo, index, define = pending.popleft()
            events = decode_events(events_bytes)
            self.done[k] += 1
            if gone:
                self.placement.ended(gone, k, index)
            if define is not None and not any(e["type"] == "rejected" for e in events):
                self._symbols.add(define)
            m.counters["events"] += len(events)
            if isinstance(origin, asyncio.Future):
                if not origin.done():
                    origin.set_result(events)
            first = True
            for ev in events:
                if not echo and _command_level(ev):
                    continue  # a broadcast's answer to the command itself comes from its first engine
                self.route(ev, origin if isinstance(origin, Session) else None)
                if first and isinstance(origin, Session):
                    m.record("wire_to_wire", time.perf_counter_ns() - received)
                    first = False

    # -- health ----------------------------------------------------------------------------------

    def _fail(self, why: str) -> None:
        if self.failed is None:
            self.failed = why
            print(f"hftbook serve: pipeline failed: {why}; refusing orders", file=sys.stderr, flush=True)
            self.queue.put_nowait(None)  # wake the run loop: it raises PipelineFailed

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self._drain_reports()
            if not self._stopping:
                for c in self.children:
                    if not c.proc.is_alive():
                        self._fail(f"the {c.name} process died (exit code {c.proc.exitcode})")
                        break

    def _drain_reports(self) -> None:
        for c in self.children:
            try:
                while c.conn.poll():
                    kind, body = c.conn.recv()
                    if kind == "metrics":
                        for stage, (encoded, total) in body.items():
                            self.metrics.replace(stage, encoded, total)
                    elif kind == "error" and not self._stopping:
                        self._fail(str(body).strip().splitlines()[-1] + f" (in {c.name})")
            except (EOFError, OSError):
                continue

    # -- stop ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every child still running (after a failure) and remove the rings."""
        self._halt.set()
        for t in self._threads:
            t.join(5)
        for c in self.children:  # they ignore SIGTERM (follow_the_gateway): after a failure, kill
            if c.proc.is_alive():
                c.proc.kill()
        for c in self.children:
            c.proc.join(5)
            c.conn.close()
        for p in self.producers:
            p.close()
        for r in self.cmd_rings + self.res_rings:
            with contextlib.suppress(RingError):
                r.close()
            r.unlink()


def _command_level(ev: dict[str, Any]) -> bool:
    """An answer about a command as a whole (not about an order): every engine of a broadcast
    (`limits`, `kill_switch`, ...) gives the same one."""
    kind = ev["type"]
    return kind in ("limits", "kill_switch") or (kind == "rejected" and "id" not in ev)


__all__ = ["PipelineEngine", "PipelineFailed", "journal_dirs"]
