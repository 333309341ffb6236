"""The WebSocket JSON gateway: the contract's commands and events over a session.

Client to server (one JSON object per text frame):

    {"op":"logon","api_key":K,"ts":T_ns,"signature":hex,"heartbeat_s":10}   first, within logon_timeout_s
    {"op":"cmd","seq":N,"cmd":{...a contract command, without user and ts...}}
    {"op":"subscribe","symbols":["BTC-USD"]}      trades, halts, indicatives of those symbols
    {"op":"heartbeat"}   {"op":"test_request","id":X}   {"op":"logout"}

Server to client, each with the session's `seq`: `{"type":"logon",...}`, `{"event":{...}}`
(a contract event; trades without the counterparty's user and id), `{"md":{...}}`,
`{"type":"heartbeat"}` (after heartbeat_s of silence, or answering a test request with its
`id`), `{"type":"session_reject","reason":R,...}` (bad_message, not_logged_on, sequence_gap,
throttled, not_permitted, and the logon refusals: unknown_key, bad_signature, stale_logon,
replayed_logon, bad_logon), `{"type":"logout","reason":R}` before the server closes.

`GET /metrics` on the same port answers Prometheus text; `GET /health` answers `ok`.

Invariants: nothing reaches the engine before logon; a session that sends nothing for twice
its heartbeat interval is closed (`idle_timeout`); one writer task per connection sends the
session's queue in order; a connection beyond `max_connections` is refused at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from hftbook.replay import parse_line
from hftbook.server.auth import Authenticator
from hftbook.server.config import ServerConfig
from hftbook.server.metrics import Metrics
from hftbook.server.router import Router
from hftbook.server.session import Session


class WsGateway:
    def __init__(self, cfg: ServerConfig, engine: Router, metrics: Metrics) -> None:
        self.cfg = cfg
        self.engine = engine
        self.metrics = metrics
        self.auth = Authenticator({u.api_key: u.secret for u in cfg.users}, int(cfg.logon_window_s * 1e9))
        self.users = cfg.user_by_key()
        self.sessions: set[Session] = set()
        self._ids = itertools.count(1)
        self.accepting = True
        metrics.gauges["sessions"] = lambda: len(self.sessions)

    async def start(self) -> Server:
        return await serve(self._handle, self.cfg.host, self.cfg.port, process_request=self._http,
                           max_size=1 << 20, ping_interval=None, compression=None)

    def _http(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.path == "/metrics":
            return conn.respond(HTTPStatus.OK, self.metrics.prometheus().decode())
        if request.path == "/health":
            return conn.respond(HTTPStatus.OK, "ok\n")
        if not self.accepting or len(self.sessions) >= self.cfg.max_connections:
            return conn.respond(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections or shutting down\n")
        return None

    async def _handle(self, conn: ServerConnection) -> None:
        cfg = self.cfg
        session = Session(next(self._ids), self.metrics, cfg.send_queue, cfg.throttle, cfg.throttle_burst,
                          cfg.heartbeat_s)
        self.sessions.add(session)
        self.metrics.counters["sessions_opened"] += 1
        writer = asyncio.create_task(self._writer(conn, session))
        try:
            if await self._logon(conn, session):
                await self._read(conn, session)
        except ConnectionClosed:
            session.close("disconnected")
        finally:
            session.close(session.closed or "disconnected")
            self.sessions.discard(session)
            await writer
            await self.engine.end_session(session)

    async def _writer(self, conn: ServerConnection, session: Session) -> None:
        try:
            while True:
                msg = await session.out.get()
                if msg is None:
                    break
                t0 = time.perf_counter_ns()
                await conn.send(msg)
                self.metrics.record("send", time.perf_counter_ns() - t0)
            if session.closed not in ("disconnected", None):
                await conn.send(json.dumps({"type": "logout", "reason": session.closed,
                                            "seq": session.seq_out + 1}))
        except ConnectionClosed:
            pass
        finally:
            await conn.close()

    async def _logon(self, conn: ServerConnection, session: Session) -> bool:
        try:
            raw = await asyncio.wait_for(conn.recv(), self.cfg.logon_timeout_s)
        except TimeoutError:
            session.close("logon_timeout")
            return False
        msg = _parse(raw)
        if msg is None or msg.get("op") != "logon":
            session.reject("not_logged_on", "the first message must be a logon")
            session.close("not_logged_on")
            return False
        why = self.auth.check(msg.get("api_key"), msg.get("ts"), msg.get("signature"), time.time_ns())
        if why is not None:
            self.metrics.counters["rejected_logons"] += 1
            session.reject(why, "logon refused")
            session.close(why)
            return False
        user = self.users[msg["api_key"]]
        hb = msg.get("heartbeat_s", self.cfg.heartbeat_s)
        if type(hb) in (int, float) and 1 <= hb <= 60:
            session.heartbeat_s = float(hb)
        session.user = user.name
        session.admin = user.admin
        self.engine.attach(session)
        session.send({"type": "logon", "user": user.name, "session": session.id,
                      "heartbeat_s": session.heartbeat_s, "symbols": self.engine.symbols()})
        return True

    async def _read(self, conn: ServerConnection, session: Session) -> None:
        engine_queue = self.engine.queue
        metrics = self.metrics
        while session.closed is None:
            try:
                raw = await asyncio.wait_for(conn.recv(), session.heartbeat_s)
            except TimeoutError:
                if self.engine.idle(session):
                    return
                continue
            received = time.perf_counter_ns()
            session.last_recv = time.monotonic()
            msg = _parse(raw)
            if msg is None:
                session.reject("bad_message", "not a JSON object")
                continue
            op = msg.get("op")
            if op == "cmd":
                cmd = session.check_command(msg)
                metrics.record("decode", time.perf_counter_ns() - received)
                if cmd is not None:
                    if not self.accepting:
                        session.reject("shutting_down", "the server is shutting down", ref_seq=msg.get("seq"))
                        continue
                    await engine_queue.put((session, cmd, received))
            elif op == "heartbeat":
                pass
            elif op == "test_request":
                session.send({"type": "heartbeat", "test_request_id": msg.get("id")})
            elif op == "subscribe":
                symbols = msg.get("symbols")
                if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                    session.reject("bad_message", "'symbols' must be a list of strings")
                    continue
                unknown = self.engine.subscribe(session, symbols)
                session.send({"type": "subscribed", "symbols": [s for s in symbols if s not in unknown],
                              "unknown": unknown})
            elif op == "logout":
                session.close("logout")
            else:
                session.reject("bad_message", f"unknown op {op!r}")

    async def shutdown(self) -> None:
        """Stop taking commands; sessions get a logout when the engine has drained."""
        self.accepting = False

    def close_all(self, reason: str) -> None:
        for s in list(self.sessions):
            s.close(reason)


def _parse(raw: Any) -> dict[str, Any] | None:
    try:
        msg = parse_line(raw if isinstance(raw, str) else raw.decode())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return msg if isinstance(msg, dict) else None


__all__ = ["WsGateway"]
