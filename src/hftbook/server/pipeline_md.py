"""The pipeline's market-data process: engine results in, a WebSocket market-data feed out.

It reads every engine's result ring as consumer `consumer` (which depends on the journal's
cursor, so only durable results are ever published), hands each command's contract events
to one `MarketDataFeed` (l1, l2, l3, trades) as one batch, and serves the feed's messages:

    client: {"op":"subscribe","symbols":["BTC-USD"],"channels":["l2","trades"]}  (channels: all by default)
    server: {"type":"subscribed","symbols":[...],"channels":[...]}, then per symbol and channel
            l1/l2/l3 its snapshot, then every later message of those symbols and channels;
            {"type":"error","reason":R,...} for bad JSON (bad_json), a bad request
            (bad_message), an unknown op, symbol or channel; the connection stays.

Feed messages `(channel, symbol, seq, ts, kind, *fields)` travel as JSON arrays
(docs/MARKETDATA.md). After a second of silence a connection gets a heartbeat per channel it
follows (stamped with the later of the wall clock and the last event's ts: the server's venue
time is the wall clock). `GET /health` answers `ok`.

Invariants:
- only the event loop's thread touches the feed and the connections; a reader thread per
  ring only reads, decodes and hands batches over, at most `OUTSTANDING` of them waiting;
- a snapshot is taken between two batches and queued before anything published after it, so
  every subscriber sees a channel's numbers gap-free from its snapshot on (a connection is
  closed, `slow_consumer`, rather than skip a message, once `send_queue` frames wait);
- symbols live on one engine each (the shards), so batches of different rings may interleave;
- it ends when every ring's stream has ended and been published: the connections get what
  was queued for them, then a close (`end_of_stream`); a last metrics report goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import traceback
from http import HTTPStatus
from multiprocessing.connection import Connection
from typing import Any, TypeGuard

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from hftbook.algo.venue import Venue
from hftbook.core.numbers import parse_decimal
from hftbook.marketdata.feed import CHANNELS, MarketDataFeed, Units
from hftbook.runtime.ring import Ring, RingTimeout
from hftbook.runtime.ring_consumer import Consumer
from hftbook.runtime.ring_frames import Joiner
from hftbook.server.pipeline_procs import THREAD_WAIT, Reporter, follow_the_gateway
from hftbook.server.pipeline_wire import decode_command, decode_events, global_id, unpack_result

SEND_QUEUE = 10_000  # frames a connection may have waiting before it is a slow consumer
READ_BATCH = 256  # fragments per ring read: keeps one batch's burst far below SEND_QUEUE
OUTSTANDING = 16  # batches a reader may have handed to the loop and not yet published
POLL_S = 0.25  # a reader's longest blocking read (it then checks whether to stop)
HEARTBEAT_S = 1.0
CLOSE_S = 2.0  # for a closing handshake, then the TCP connection is aborted
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode

# One command's result as the loop needs it: queue wait (ns), events, a new instrument.
Item = tuple[int, list[dict[str, Any]], tuple[str, Units] | None]


def md_main(rings: list[str], consumer: int, snapshots: list[dict[str, Any]], host: str, port: int,
            conn: Connection, report_s: float, send_queue: int = SEND_QUEUE) -> None:
    follow_the_gateway()
    try:
        asyncio.run(_Publisher(rings, consumer, snapshots, conn, report_s, send_queue).run(host, port))
    except BaseException:
        conn.send(("error", f"marketdata: {traceback.format_exc()}"))
        raise


class _Client:
    __slots__ = ("closing", "last_sent", "queue", "subs", "writer", "ws")

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()  # bounded by hand: see push
        self.subs: set[tuple[str, str]] = set()  # (symbol, channel)
        self.last_sent = time.monotonic()
        self.closing: str | None = None
        self.writer: asyncio.Task[None] | None = None


class _Publisher:
    def __init__(self, rings: list[str], consumer: int, snapshots: list[dict[str, Any]], conn: Connection,
                 report_s: float, send_queue: int) -> None:
        self.feed = MarketDataFeed(channels=CHANNELS)
        self.units: dict[str, Units] = {}
        ts = 0
        for k, snap in enumerate(snapshots):
            ex = Venue.restore(snap).exchange
            if len(snapshots) > 1:  # the events carry the venue's ids (pipeline_wire.globalize)
                for orders in ex.live.values():
                    for o in orders.values():
                        o.oid = global_id(o.oid, k, len(snapshots))
            twice = sorted(self.units.keys() & ex.instruments.keys())
            if twice:
                raise ValueError(f"symbols on two engines: {twice}")
            # `load` takes several exchanges when their symbols differ: with l3 on, the feed
            # keeps its own books and reads nothing else of the exchange later.
            self.feed.load(ex)
            ts = max(ts, ex.now)
            self.units.update({s: Units(i.tick, i.lot) for s, i in ex.instruments.items()})
        self.feed.ts = ts
        self.last_ts = ts
        self.rings = [Ring.attach(name) for name in rings]
        self.consumers = [r.consumer(consumer, wait=THREAD_WAIT) for r in self.rings]
        self.names = [f"ring_marketdata_e{k}" for k in range(len(rings))]
        self.rep = Reporter(conn, report_s, tuple(self.names))
        self.conn = conn
        self.send_queue = send_queue
        self.subs: dict[tuple[str, str], set[_Client]] = {}
        self.clients: set[_Client] = set()
        self.tasks: set[asyncio.Task[None]] = set()  # fire-and-forget closes, kept alive
        self.gate = threading.Semaphore(OUTSTANDING * max(1, len(rings)))
        self.stop = threading.Event()
        self.open = len(rings)

    async def run(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = loop.create_future()
        if not self.open:
            self.done.set_result(None)
        server = await serve(self._handle, host, port, process_request=self._http, compression=None,
                             max_size=1 << 16)
        # Blocking reads in one thread per ring, not polling from the loop: a blocked read
        # runs the ring's liveness checks (a dead engine or journal raises instead of
        # hanging), wakes within the wait strategy's sleep, and sleeps without the GIL; the
        # loop never blocks, and the semaphore bounds what the readers can pile up.
        threads = [threading.Thread(target=self._reader, args=(k, c, loop), daemon=True,
                                    name=f"md-ring-{k}") for k, c in enumerate(self.consumers)]
        for t in threads:
            t.start()
        self.conn.send(("ready", {"port": server.sockets[0].getsockname()[1]}))
        ticker = asyncio.create_task(self._tick())
        try:
            await self.done
            for c in list(self.clients):
                self._close(c, "end_of_stream")
            writers = {c.writer: c for c in self.clients if c.writer is not None}
            if writers:
                _, stuck = await asyncio.wait(writers, timeout=CLOSE_S)
                for w in stuck:  # a client that stopped reading: no more waiting for it
                    w.cancel()
                    writers[w].ws.transport.abort()
            self.rep.report()
        finally:
            self.stop.set()
            ticker.cancel()
            server.close()
            await server.wait_closed()
            for t in threads:
                t.join(POLL_S * 4)
        for reader in self.consumers:
            reader.close()  # only on a clean end: after a failure a successor may take the index over
        for r in self.rings:
            r.close()

    # -- the rings (reader threads) ------------------------------------------------------

    def _reader(self, k: int, c: Consumer, loop: asyncio.AbstractEventLoop) -> None:
        try:
            joiner = Joiner()
            while not self.stop.is_set():
                try:
                    frags = c.read_batch(READ_BATCH, timeout=POLL_S)
                except RingTimeout:
                    continue
                if not frags:  # the end of the stream (blocking reads return [] only then)
                    break
                now = time.perf_counter_ns()
                items = [_item(now, m) for m in joiner.feed(frags)]
                c.commit()
                if items:
                    while not self.gate.acquire(timeout=POLL_S):
                        if self.stop.is_set():
                            return
                    loop.call_soon_threadsafe(self._publish, k, items)
            if c.finished:
                loop.call_soon_threadsafe(self._ended)
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop is gone already
                loop.call_soon_threadsafe(self._fail, exc)

    def _fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)

    def _ended(self) -> None:
        self.open -= 1
        if not self.open and not self.done.done():
            self.done.set_result(None)

    # -- publishing (the loop) -----------------------------------------------------------

    def _publish(self, k: int, items: list[Item]) -> None:
        self.gate.release()
        try:
            feed, units, rep, name = self.feed, self.units, self.rep, self.names[k]
            for wait, events, inst in items:
                rep.record(name, wait)
                if events:
                    feed.on_events(events, units)
                if inst is not None:
                    units[inst[0]] = inst[1]
            # Batches of several engines interleave: stamp snapshots with the latest time seen.
            feed.ts = self.last_ts = max(self.last_ts, feed.ts)
            subs = self.subs
            for m in feed.take():
                targets = subs.get((m[1], m[0]))
                if targets:
                    frame = _ENCODE(m)
                    for c in targets:
                        self._push(c, frame)
            rep.maybe_report()
        except BaseException as exc:
            self._fail(exc)

    def _push(self, c: _Client, frame: str) -> None:
        if c.closing is not None:
            return
        if c.queue.qsize() >= self.send_queue:
            self._close(c, "slow_consumer")
            return
        c.queue.put_nowait(frame)
        c.last_sent = time.monotonic()

    def _close(self, c: _Client, reason: str) -> None:
        """`slow_consumer`: now, dropping what waits; otherwise after what is queued."""
        if c.closing is not None:
            return
        c.closing = reason
        if reason == "slow_consumer":
            if c.writer is not None:
                c.writer.cancel()  # it may be stuck in a send to a client that does not read
            task = asyncio.create_task(_close_ws(c.ws, 1008, reason))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            c.queue.put_nowait(None)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S / 4)
            now = time.monotonic()
            beats: dict[tuple[str, str], str] | None = None
            for c in self.clients:
                if c.subs and c.closing is None and now - c.last_sent >= HEARTBEAT_S:
                    if beats is None:
                        ts = max(self.last_ts, time.time_ns())
                        beats = {(m[1], m[0]): _ENCODE(m) for m in self.feed.heartbeats(ts)}
                    for key in sorted(c.subs):
                        frame = beats.get(key)
                        if frame is not None:
                            self._push(c, frame)
            self.rep.maybe_report()

    # -- connections ---------------------------------------------------------------------

    def _http(self, ws: ServerConnection, request: Request) -> Response | None:
        if request.path == "/health":
            return ws.respond(HTTPStatus.OK, "ok\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        c = _Client(ws)
        self.clients.add(c)
        c.writer = asyncio.create_task(self._writer(c))
        try:
            async for raw in ws:
                self._request(c, raw)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(c)
            for key in c.subs:
                self.subs[key].discard(c)
            self._close(c, "disconnected")
            await asyncio.gather(c.writer, return_exceptions=True)

    async def _writer(self, c: _Client) -> None:
        try:
            while (frame := await c.queue.get()) is not None:
                await c.ws.send(frame)
            if c.closing == "end_of_stream":
                await _close_ws(c.ws, 1000, c.closing)
        except ConnectionClosed:
            pass

    def _request(self, c: _Client, raw: str | bytes) -> None:
        error = self._check(raw)
        if isinstance(error, dict):
            self._push(c, _ENCODE({"type": "error", **error}))
            return
        symbols, channels = error
        self._push(c, _ENCODE({"type": "subscribed", "symbols": symbols, "channels": channels}))
        for sym in symbols:
            for ch in channels:
                self.subs.setdefault((sym, ch), set()).add(c)
                c.subs.add((sym, ch))
                if ch != "trades":
                    self._push(c, _ENCODE(self.feed.snapshot(sym, ch)))

    def _check(self, raw: str | bytes) -> dict[str, Any] | tuple[list[str], list[str]]:
        """A request's (symbols, channels) without repeats, or the error's fields."""
        try:
            msg = json.loads(raw)
        except (ValueError, RecursionError):
            return {"reason": "bad_json"}
        if not isinstance(msg, dict):
            return {"reason": "bad_message", "message": "not a JSON object"}
        op = msg.get("op")
        if op != "subscribe":
            return {"reason": "unknown_op", "op": op if isinstance(op, str) else None}
        symbols, channels = msg.get("symbols"), msg.get("channels", list(CHANNELS))
        if not _strings(symbols) or not _strings(channels):
            return {"reason": "bad_message", "message": "'symbols', 'channels': non-empty lists of strings"}
        unknown = [s for s in symbols if s not in self.units]
        if unknown:
            return {"reason": "unknown_symbol", "symbols": unknown}
        bad = [ch for ch in channels if ch not in CHANNELS]
        if bad:
            return {"reason": "unknown_channel", "channels": bad}
        return list(dict.fromkeys(symbols)), list(dict.fromkeys(channels))


def _item(now: int, message: bytes) -> Item:
    """A result message as the loop needs it (decoded here, in the reader thread)."""
    _seq, _ts, t_ns, command, events_bytes, _gone = unpack_result(message)
    events = decode_events(events_bytes)
    inst = None
    if b"instrument" in command:  # cheap filter before decoding the command itself
        cmd = decode_command(command)
        if isinstance(cmd, dict) and cmd.get("cmd") == "instrument" and \
                not any(ev.get("type") == "rejected" for ev in events):
            tick, lot = parse_decimal(cmd.get("tick_size")), parse_decimal(cmd.get("lot_size"))
            if tick is not None and lot is not None and tick > 0 and lot > 0:
                inst = (str(cmd["symbol"]), Units(tick, lot))
    return now - t_ns, events, inst


async def _close_ws(ws: ServerConnection, code: int, reason: str) -> None:
    try:
        await asyncio.wait_for(ws.close(code, reason), CLOSE_S)
    except TimeoutError:
        ws.transport.abort()


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


__all__ = ["SEND_QUEUE", "md_main"]
