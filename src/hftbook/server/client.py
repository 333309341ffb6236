"""A Python client for the WebSocket gateway: `AsyncClient`, and `Client` (blocking) around it.

    async with AsyncClient.connect("ws://127.0.0.1:8765", "demo-key-1", "demo-secret-1") as c:
        seq = await c.send({"cmd": "new", "id": 1, "symbol": "AAPL", "side": "buy",
                            "type": "limit", "price": "190.5", "qty": "10"})
        events = await c.events_for(seq)          # the answers (accepted, trades, ...)

`send` numbers each command (the session's sequence) and returns its number; `recv` gives
the next message from the server; `events_for(seq)` collects the events until the command
is answered (an answer to a command is the first event after it naming the client's order
id, or a refusal). The blocking `Client` runs the same on a private event loop thread.

Invariants: one connection per client; messages come back in the server's sequence order
(a gap raises `ProtocolError`); the secret never leaves the process (only the signature does).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect

from hftbook.server.auth import sign

T = TypeVar("T")


class ProtocolError(RuntimeError):
    pass


class AsyncClient:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.seq = 0  # last command sent
        self.seq_in = 0  # last message received
        self.logon: dict[str, Any] = {}

    @classmethod
    async def open(cls, url: str, api_key: str, secret: str, heartbeat_s: float = 10.0) -> AsyncClient:
        conn = await connect(url, max_size=1 << 22, compression=None)
        c = cls(conn)
        ts = time.time_ns()
        await conn.send(json.dumps({"op": "logon", "api_key": api_key, "ts": ts,
                                    "signature": sign(api_key, ts, secret), "heartbeat_s": heartbeat_s}))
        first = await c.recv()
        if first.get("type") != "logon":
            await conn.close()
            raise ProtocolError(f"logon refused: {first}")
        c.logon = first
        return c

    @classmethod
    def connect(cls, url: str, api_key: str, secret: str, heartbeat_s: float = 10.0) -> _Opener:
        return _Opener(url, api_key, secret, heartbeat_s)

    async def send(self, cmd: dict[str, Any]) -> int:
        self.seq += 1
        await self.conn.send(json.dumps({"op": "cmd", "seq": self.seq, "cmd": cmd}, default=str))
        return self.seq

    async def send_op(self, op: str, **fields: Any) -> None:
        await self.conn.send(json.dumps({"op": op, **fields}))

    async def recv(self, timeout: float | None = 10.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        msg: dict[str, Any] = json.loads(raw)
        seq = msg.get("seq")
        if seq != self.seq_in + 1:
            raise ProtocolError(f"server sequence {seq} after {self.seq_in}")
        self.seq_in = seq
        return msg

    async def events_for(self, cid: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Messages until the order with client id `cid` is answered: its first event (or a
        session reject of the command); everything received meanwhile is returned too."""
        got = []
        while True:
            msg = await self.recv(timeout)
            got.append(msg)
            ev = msg.get("event")
            if msg.get("type") == "session_reject" or (ev is not None and ev.get("id") == cid):
                return got

    async def close(self) -> None:
        await self.conn.close()


class _Opener:
    def __init__(self, url: str, api_key: str, secret: str, heartbeat_s: float) -> None:
        self.args = (url, api_key, secret, heartbeat_s)
        self.client: AsyncClient | None = None

    async def __aenter__(self) -> AsyncClient:
        self.client = await AsyncClient.open(*self.args)
        return self.client

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.client is not None:
            await self.client.close()


class Client:
    """The blocking client: each call runs the async one on a private loop thread."""

    def __init__(self, url: str, api_key: str, secret: str, heartbeat_s: float = 10.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._c = self._run(AsyncClient.open(url, api_key, secret, heartbeat_s))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def logon(self) -> dict[str, Any]:
        return self._c.logon

    def send(self, cmd: dict[str, Any]) -> int:
        return self._run(self._c.send(cmd))

    def recv(self, timeout: float | None = 10.0) -> dict[str, Any]:
        return self._run(self._c.recv(timeout))

    def events_for(self, cid: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
        return self._run(self._c.events_for(cid, timeout))

    def close(self) -> None:
        self._run(self._c.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


__all__ = ["AsyncClient", "Client", "ProtocolError"]
