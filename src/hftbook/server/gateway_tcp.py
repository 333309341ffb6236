"""The binary gateway: SBE messages over TCP (docs/SBE.md), on the same engine as the JSON one.

A connection starts with a signed `Logon` (`hftbook.protocol.auth`) within `logon_timeout_s`;
the server answers with a `Logon` (zero signature) or a `Logout` (`auth_failed`) and closes.
Then `NewOrder`, `CancelOrder`, `ModifyOrder`, `MassCancel` become contract commands of the
session's user; `Heartbeat`, `TestRequest` (answered by a `Heartbeat` with its id) and
`Logout` keep or end the session. Every frame's `seqNum` must be the last one plus 1 (else
`Logout` `bad_sequence`); the server numbers its own frames the same way.

Answers are execution reports (`reports_from_event`: each order event of the user, a trade
as the user's own fill) and market data of every symbol (trades, halts and resumes as
`MarketDataTrade` / `MarketDataStatus`, numbered per symbol). A message that cannot be
decoded but left the stream intact gets a `BusinessReject` (malformed, unknown_template,
unsupported_version, wrong_schema, unsupported_message) and the session goes on; a broken
stream (a length over the maximum, a bad length) gets a `Logout` and the connection closes.

Invariants: nothing reaches the engine before logon; the same session rules as the JSON
gateway (throttle, bounded send queue, idle timeout, cancel-on-disconnect) through the shared
`Session` and `Engine`; a report that cannot be put on the wire (an id from another door
longer than the binary's 20 characters) is dropped and counted, never a crash.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from hftbook import protocol as p
from hftbook.protocol.auth import ZERO_SIGNATURE
from hftbook.server.auth import Authenticator
from hftbook.server.config import ServerConfig
from hftbook.server.metrics import Metrics
from hftbook.server.router import Router
from hftbook.server.session import Session

_ORDERS = (p.NewOrder, p.CancelOrder, p.ModifyOrder, p.MassCancel)
_REJECTS = {p.UnknownTemplate: "unknown_template", p.UnsupportedVersion: "unsupported_version",
            p.WrongSchema: "wrong_schema"}


class BinarySession(Session):
    """A `Session` whose messages go out as SBE frames (the engine routes dicts to `send`)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.md_seq: dict[str, int] = {}
        self.dropped = 0

    def send(self, msg: dict[str, Any]) -> None:
        if self.closed is not None:
            return
        out: list[p.Message] = []
        ev = msg.get("event")
        if ev is not None:
            if ev["type"] == "trade":  # the routed copy lacks the other party: fill it in blank
                ev = {**ev, "maker": {"user": "", "id": None, **ev["maker"]},
                      "taker": {"user": "", "id": None, **ev["taker"]}}
            try:
                out.extend(r for user, r in p.reports_from_event(ev) if user == self.user)
            except (p.ProtocolError, KeyError):
                self.dropped += 1
        elif "md" in msg:
            md = msg["md"]
            seq = self.md_seq[md["symbol"]] = self.md_seq.get(md["symbol"], 0) + 1
            if md["type"] == "trade":
                out.append(p.MarketDataTrade(md["ts"], md["symbol"], seq, md["trade_id"],
                                             p.mantissa(md["price"]), p.mantissa(md["qty"]), md["side"]))
            else:
                status = p.status_from_event(md, seq)
                if status is not None:
                    out.append(status)
        elif msg.get("type") == "heartbeat":
            out.append(p.Heartbeat(int(msg.get("test_request_id") or 0)))
        elif msg.get("type") == "session_reject":
            out.append(p.BusinessReject(int(msg.get("ref_seq") or 0), int(msg.get("ref_template") or 0),
                                        msg.get("wire_reason", "other"), str(msg.get("message", ""))[:64]))
        elif isinstance(msg.get("wire"), tuple):
            out.append(msg["wire"])
        for m in out:
            self._put(m)

    def _put(self, m: p.Message) -> None:
        self.seq_out += 1
        try:
            data = p.encode_frame(m, self.seq_out)
        except p.ProtocolError:
            self.seq_out -= 1
            self.dropped += 1
            return
        try:
            self.out.put_nowait(data)
        except asyncio.QueueFull:
            self.metrics.counters["slow_consumers"] += 1
            self.close("slow_consumer")
        self.last_sent = time.monotonic()


class TcpGateway:
    def __init__(self, cfg: ServerConfig, engine: Router, metrics: Metrics, sessions: set[Session],
                 auth: Authenticator) -> None:
        self.cfg = cfg
        self.engine = engine
        self.metrics = metrics
        self.sessions = sessions  # shared with the JSON gateway: one max_connections for both
        self.auth = auth  # shared too: a logon timestamp is good once, whichever gateway saw it
        self.users = cfg.user_by_key()
        self._ids = itertools.count(1_000_000)
        self.accepting = True

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._handle, self.cfg.host, self.cfg.binary_port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cfg = self.cfg
        if not self.accepting or len(self.sessions) >= cfg.max_connections:
            writer.write(p.encode_frame(p.Logout("other", "too many connections or shutting down"), 1))
            writer.close()
            return
        session = BinarySession(next(self._ids), self.metrics, cfg.send_queue, cfg.throttle,
                                cfg.throttle_burst, cfg.heartbeat_s)
        self.sessions.add(session)
        self.metrics.counters["sessions_opened"] += 1
        task = asyncio.create_task(self._writer(writer, session))
        decoder = p.FrameDecoder()
        try:
            if await self._logon(reader, decoder, session):
                await self._read(reader, decoder, session)
        except (ConnectionError, asyncio.IncompleteReadError):
            session.close("disconnected")
        finally:
            session.close(session.closed or "disconnected")
            self.sessions.discard(session)
            await task
            await self.engine.end_session(session)

    async def _writer(self, writer: asyncio.StreamWriter, session: BinarySession) -> None:
        try:
            while True:
                data = await session.out.get()
                if data is None:
                    break
                t0 = time.perf_counter_ns()
                writer.write(data if isinstance(data, bytes) else data.encode())
                self.metrics.record("send", time.perf_counter_ns() - t0)
                if session.out.empty():
                    await writer.drain()
            reason = {"logout": "user_request", "shutdown": "shutdown", "idle_timeout": "heartbeat_timeout",
                      "bad_sequence": "bad_sequence", "auth_failed": "auth_failed",
                      "protocol_error": "protocol_error", "message_too_large": "message_too_large"}.get(
                          session.closed or "", "other")
            if session.closed != "disconnected":
                bye = p.Logout(reason, (session.closed or "")[:64])
                writer.write(p.encode_frame(bye, session.seq_out + 1))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _next(self, reader: asyncio.StreamReader, decoder: p.FrameDecoder,
                    timeout: float) -> tuple[int, p.Message] | p.MessageError | None:
        """The next message, a recoverable decode error, or None at end of stream."""
        while True:
            try:
                item = decoder.next_message()
            except p.MessageError as exc:
                return exc
            if item is not None:
                return item
            chunk = await asyncio.wait_for(reader.read(1 << 16), timeout)
            if not chunk:
                return None
            decoder.feed(chunk)

    async def _logon(self, reader: asyncio.StreamReader, decoder: p.FrameDecoder,
                     session: BinarySession) -> bool:
        try:
            item = await self._next(reader, decoder, self.cfg.logon_timeout_s)
        except TimeoutError:
            session.close("logon_timeout")
            return False
        except p.FrameError:
            session.close("protocol_error")
            return False
        logon = item[1] if isinstance(item, tuple) else None
        if not isinstance(logon, p.Logon) or not isinstance(item, tuple):
            session.close("auth_failed")
            return False
        seq = item[0]
        user = self.users.get(logon.api_key)
        now = time.time_ns()
        window = self.auth.window_ns
        ok = (user is not None and seq == 1 and p.verify_logon(user.secret.encode(), logon, now, window)
              and self.auth.fresh(logon.api_key, logon.timestamp_ns, now) is None)
        if not ok or user is None:
            self.metrics.counters["rejected_logons"] += 1
            session.close("auth_failed")
            return False
        session.seq_in = 1
        session.user = user.name
        hb_ms = logon.heartbeat_interval_ms
        if 1000 <= hb_ms <= 60_000:
            session.heartbeat_s = hb_ms / 1000
        self.engine.attach(session)
        self.engine.subscribe(session, self.engine.symbols())
        session.send({"wire": p.Logon(logon.api_key, now, ZERO_SIGNATURE, int(session.heartbeat_s * 1000))})
        return True

    async def _read(self, reader: asyncio.StreamReader, decoder: p.FrameDecoder,
                    session: BinarySession) -> None:
        queue = self.engine.queue
        while session.closed is None:
            try:
                item = await self._next(reader, decoder, session.heartbeat_s)
            except TimeoutError:
                if self.engine.idle(session):
                    return
                continue
            except p.MessageTooLarge:
                session.close("message_too_large")
                return
            except p.FrameError:
                session.close("protocol_error")
                return
            if item is None:
                session.close("disconnected")
                return
            received = time.perf_counter_ns()
            session.last_recv = time.monotonic()
            if isinstance(item, p.MessageError):
                if item.seq_num is not None:
                    session.seq_in = item.seq_num
                session.send({"type": "session_reject", "wire_reason": _REJECTS.get(type(item), "malformed"),
                              "ref_seq": item.seq_num or 0, "ref_template": item.template_id or 0,
                              "message": str(item)})
                continue
            seq, msg = item
            if seq != session.seq_in + 1:
                session.close("bad_sequence")
                return
            session.seq_in = seq
            if isinstance(msg, _ORDERS):
                if not session.take_token():
                    self.metrics.counters["throttled"] += 1
                    session.send({"type": "session_reject", "wire_reason": "other", "ref_seq": seq,
                                  "ref_template": p.template_of(msg).template_id, "message": "throttled"})
                    continue
                if not self.accepting:
                    continue
                cmd = p.command_from_message(msg, session.user or "", 0)
                cmd.pop("ts", None)
                self.metrics.record("decode", time.perf_counter_ns() - received)
                await queue.put((session, cmd, received))
            elif isinstance(msg, p.TestRequest):
                session.send({"type": "heartbeat", "test_request_id": msg.test_req_id})
            elif isinstance(msg, p.Logout):
                session.close("logout")
            elif not isinstance(msg, p.Heartbeat):
                session.send({"type": "session_reject", "wire_reason": "unsupported_message", "ref_seq": seq,
                              "ref_template": p.template_of(msg).template_id, "message": type(msg).__name__})


__all__ = ["BinarySession", "TcpGateway"]
