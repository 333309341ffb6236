"""The binary SBE gateway over real TCP sockets: logon, orders to fills on both sides, market
data, and bad input (wrong signature, unknown template, oversized length, sequence gaps, a
client that goes away at every byte of a message) while the server keeps serving others."""

from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path
from typing import Any

from test_server import running

from hftbook import protocol as p
from hftbook.server.app import Server
from hftbook.server.binary_client import BinaryClient


class Bin(BinaryClient):
    """The library's client, plus a way to log on with a chosen signature and `until`."""

    @classmethod
    async def open(cls, server: Server, key: str = "demo-key-1", secret: str = "demo-secret-1",  # type: ignore[override]
                   signature: bytes | None = None) -> tuple[Bin, p.Message]:
        r, w = await asyncio.open_connection("127.0.0.1", server.binary_port)
        c = cls(r, w)
        logon = p.signed_logon(secret.encode(), key, time.time_ns(), 5000)
        if signature is not None:
            logon = logon._replace(signature=signature)
        await c.send(logon)
        return c, await c.recv()

    async def until(self, kind: type, limit: int = 30) -> Any:
        for _ in range(limit):
            m = await self.recv()
            if isinstance(m, kind):
                return m
        raise AssertionError(f"no {kind.__name__}")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_binary_orders_fill_both_sides(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            a, ok = await Bin.open(server)
            assert isinstance(ok, p.Logon) and ok.api_key == "demo-key-1"
            b, _ = await Bin.open(server, "demo-key-2", "demo-secret-2")
            await a.send(p.NewOrder("s1", "AAPL", "sell", "limit", qty=p.mantissa("10"),
                                    price=p.mantissa("190.5")))
            new = await a.until(p.ExecutionReportNew)
            assert (new.cl_ord_id, new.symbol, new.qty) == ("s1", "AAPL", p.mantissa("10"))
            await b.send(p.NewOrder(7, "AAPL", "buy", "market", qty=p.mantissa("4")))
            fill_b = await b.until(p.ExecutionReportFill)
            assert (fill_b.cl_ord_id, fill_b.price, fill_b.qty) == (7, p.mantissa("190.5"), p.mantissa("4"))
            fill_a = await a.until(p.ExecutionReportFill)
            assert fill_a.cl_ord_id == "s1"
            md = await a.until(p.MarketDataTrade)
            assert (md.symbol, md.qty, md.aggressor_side) == ("AAPL", p.mantissa("4"), "buy")
            await b.send(p.CancelOrder("s1"))  # another user's order: unknown to b
            rej = await b.until(p.ExecutionReportRejected)
            assert rej.reason == "unknown_order"
            await a.send(p.TestRequest(42))
            assert (await a.until(p.Heartbeat)).test_req_id == 42
            a.close()
            b.close()
    run(go())


def test_binary_bad_input(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            bad, first = await Bin.open(server, signature=bytes(32))
            assert isinstance(first, p.Logout) and first.reason == "auth_failed"
            bad.close()
            c, _ = await Bin.open(server)
            # An unknown template in a well-formed frame: a BusinessReject, the session goes on.
            body = struct.pack("<HHHHQ", 0, 999, p.SCHEMA_ID, p.SCHEMA_VERSION, 2)
            c.writer.write(struct.pack("<I", len(body)) + body)
            c.seq = 2
            rej = await c.until(p.BusinessReject)
            assert rej.reason == "unknown_template" and rej.ref_seq_num == 2
            await c.send(p.TestRequest(1))
            assert isinstance(await c.until(p.Heartbeat), p.Heartbeat)
            # A sequence gap ends the session.
            c.seq += 5
            await c.send(p.TestRequest(2))
            bye = await c.until(p.Logout)
            assert bye.reason == "bad_sequence"
            c.close()
            # An unsupported version (0) and a wrong schema id: business rejects.
            for schema, version, reason in ((p.SCHEMA_ID, 0, "unsupported_version"), (77, 1, "wrong_schema")):
                c2, _ = await Bin.open(server, "demo-key-4", "demo-secret-4")
                body = struct.pack("<HHHHQ", 0, 1, schema, version, 2)
                c2.writer.write(struct.pack("<I", len(body)) + body)
                assert (await c2.until(p.BusinessReject)).reason == reason
                c2.close()
            # An order before the logon, and a replayed logon: refused.
            r, w = await asyncio.open_connection("127.0.0.1", server.binary_port)
            early = Bin(r, w)
            await early.send(p.NewOrder("z", "SPY", "buy", "market", qty=p.mantissa("1")))
            assert (await early.until(p.Logout)).reason == "auth_failed"
            early.close()
            logon = p.signed_logon(b"demo-secret-1", "demo-key-1", time.time_ns(), 5000)
            for expected in (p.Logon, p.Logout):
                r, w = await asyncio.open_connection("127.0.0.1", server.binary_port)
                again = Bin(r, w)
                await again.send(logon)
                assert isinstance(await again.recv(), expected)
                again.close()
            # An impossible length ends the stream.
            d, _ = await Bin.open(server, "demo-key-2", "demo-secret-2")
            d.writer.write(struct.pack("<I", 1 << 30))
            assert (await d.until(p.Logout)).reason == "message_too_large"
            d.close()
    run(go())


def test_a_client_leaving_at_every_byte_does_not_hurt_the_others(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            other, _ = await Bin.open(server, "demo-key-3", "demo-secret-3")
            order = p.encode_frame(p.NewOrder("x", "SPY", "buy", "limit", qty=p.mantissa("1"),
                                              price=p.mantissa("500")), 2)
            for cut in range(len(order)):
                c, _ = await Bin.open(server)
                c.writer.write(order[:cut])
                await c.writer.drain()
                c.close()
            await other.send(p.NewOrder("y", "SPY", "sell", "limit", qty=p.mantissa("1"),
                                        price=p.mantissa("600")))
            assert (await other.until(p.ExecutionReportNew)).cl_ord_id == "y"
            other.close()
    run(go())


def test_the_binary_client_library(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            c = await BinaryClient.open("127.0.0.1", server.binary_port, "demo-key-2", "demo-secret-2")
            assert isinstance(c.logon, p.Logon)
            await c.send(p.NewOrder("a1", "AAPL", "buy", "limit", qty=p.mantissa("5"),
                                    price=p.mantissa("190")))
            report = await c.recv()
            assert isinstance(report, p.ExecutionReportNew) and report.cl_ord_id == "a1"
            c.close()
            try:
                await BinaryClient.open("127.0.0.1", server.binary_port, "demo-key-2", "wrong")
                raise AssertionError("a wrong secret logged on")
            except ConnectionError as exc:
                assert "auth_failed" in str(exc)
    run(go())


def test_open_loop_load_over_the_binary_gateway(tmp_path: Path) -> None:
    from hftbook.server.load import run_load

    async def go() -> None:
        async with running(tmp_path) as server:
            r = await run_load(f"tcp://127.0.0.1:{server.binary_port}", rate=400, seconds=1.0, connections=2,
                               seed=3, progress=False)
            assert r.planned == r.sent == r.answered == 400
    run(go())
