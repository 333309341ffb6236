"""A Python client for the SBE gateway: `BinaryClient` (asyncio).

    c = await BinaryClient.open("127.0.0.1", 8766, "demo-key-1", "demo-secret-1")
    await c.send(p.NewOrder("a1", "AAPL", "buy", "limit", qty=p.mantissa("5"), price=p.mantissa("190")))
    report = await c.recv()                    # ExecutionReportNew, fills, market data, ...

Invariants: frames go out numbered 1, 2, ... (the Logon is 1); `recv` returns decoded
messages in arrival order; a closed connection raises `ConnectionError`.
"""

from __future__ import annotations

import asyncio
import time

from hftbook import protocol as p


class BinaryClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seq = 0  # last frame sent
        self.decoder = p.FrameDecoder()
        self.logon: p.Message | None = None  # the server's answer to the logon

    @classmethod
    async def open(cls, host: str, port: int, api_key: str, secret: str, heartbeat_ms: int = 10_000,
                   timeout: float = 5.0) -> BinaryClient:
        """Connect and log on; raises ConnectionError when the server answers with a Logout."""
        reader, writer = await asyncio.open_connection(host, port)
        c = cls(reader, writer)
        await c.send(p.signed_logon(secret.encode(), api_key, time.time_ns(), heartbeat_ms))
        c.logon = await c.recv(timeout)
        if not isinstance(c.logon, p.Logon):
            writer.close()
            raise ConnectionError(f"logon refused: {c.logon}")
        return c

    async def send(self, message: p.Message) -> int:
        """Send one message; returns its seqNum."""
        self.seq += 1
        self.writer.write(p.encode_frame(message, self.seq))
        await self.writer.drain()
        return self.seq

    async def recv(self, timeout: float | None = 5.0) -> p.Message:
        while True:
            item = self.decoder.next_message()
            if item is not None:
                return item[1]
            chunk = await asyncio.wait_for(self.reader.read(1 << 16), timeout)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.decoder.feed(chunk)

    def close(self) -> None:
        self.writer.close()


__all__ = ["BinaryClient"]
