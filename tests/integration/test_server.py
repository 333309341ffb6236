"""The server on real sockets (loopback): sessions, orders to both sides, market data, safety
rules, durability across a restart. Each test starts `hftbook.server.app.Server` in-process
on a free port with its journal in a temporary directory."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from hftbook.server.app import Server
from hftbook.server.auth import sign
from hftbook.server.client import AsyncClient
from hftbook.server.config import ServerConfig

# Settings every server of these tests gets; test_server_pipeline.py runs them all again
# with the engine in a pipeline of processes.
MODE: dict[str, Any] = {}


@asynccontextmanager
async def running(tmp: Path, **settings: Any) -> AsyncIterator[Server]:
    cfg = replace(ServerConfig(), port=0, binary_port=0, md_port=0, data_dir=str(tmp / "data"), tick_s=0.05,
                  **{**MODE, **settings})
    server = Server(cfg)
    task = asyncio.create_task(server.run())
    await asyncio.wait_for(server.ready.wait(), 10)
    try:
        yield server
    finally:
        server.stop()
        assert await asyncio.wait_for(task, 10) == 0


def url(server: Server) -> str:
    return f"ws://127.0.0.1:{server.port}"


async def logon(server: Server, n: int = 1) -> AsyncClient:
    return await AsyncClient.open(url(server), f"demo-key-{n}", f"demo-secret-{n}")


Msg = dict[str, Any]


async def until(c: AsyncClient, pred: Callable[[Msg], bool], limit: int = 50) -> list[Msg]:
    got = []
    for _ in range(limit):
        msg = await c.recv(5)
        got.append(msg)
        if pred(msg):
            return got
    raise AssertionError(f"not seen in {got}")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_orders_fill_both_sides_and_stay_private(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            a, b = await logon(server, 1), await logon(server, 2)
            assert a.logon["user"] == "demo1" and "AAPL" in a.logon["symbols"]
            await a.send({"cmd": "new", "id": 1, "symbol": "AAPL", "side": "sell", "type": "limit",
                          "price": "190.5", "qty": "10"})
            acc = (await until(a, lambda m: "event" in m))[-1]["event"]
            assert acc["type"] == "accepted" and acc["user"] == "demo1" and acc["rests"]
            await b.send({"cmd": "new", "id": "t", "symbol": "AAPL", "side": "buy", "type": "market",
                          "qty": "4"})
            got_b = await until(b, lambda m: m.get("event", {}).get("type") == "trade")
            trade_b = got_b[-1]["event"]
            assert trade_b["taker"]["user"] == "demo2" and trade_b["maker"] == {"order_id": acc["order_id"]}
            trade_a = (await until(a, lambda m: m.get("event", {}).get("type") == "trade"))[-1]["event"]
            assert trade_a["maker"]["id"] == 1 and "user" not in trade_a["taker"]
            # Another user's order is answered exactly like an unknown one.
            await b.send({"cmd": "cancel", "id": 1})
            rej = (await until(b, lambda m: "event" in m))[-1]["event"]
            assert (rej["type"], rej["reason"]) == ("rejected", "unknown_order")
            await a.close()
            await b.close()
    run(go())


def test_logon_refusals(tmp_path: Path) -> None:
    async def attempt(server: Server, msg: dict[str, Any]) -> dict[str, Any]:
        async with connect(url(server)) as ws:
            await ws.send(json.dumps(msg))
            first: dict[str, Any] = json.loads(await ws.recv())
            return first

    async def go() -> None:
        async with running(tmp_path) as server:
            now = time.time_ns()
            good = {"op": "logon", "api_key": "demo-key-1", "ts": now, "signature": sign("demo-key-1", now,
                                                                                          "demo-secret-1")}
            assert (await attempt(server, dict(good, signature="00" * 32)))["reason"] == "bad_signature"
            assert (await attempt(server, dict(good, api_key="nope")))["reason"] == "unknown_key"
            old = now - 10**12
            stale = dict(good, ts=old, signature=sign("demo-key-1", old, "demo-secret-1"))
            assert (await attempt(server, stale))["reason"] == "stale_logon"
            assert (await attempt(server, good))["type"] == "logon"
            assert (await attempt(server, good))["reason"] == "replayed_logon"
            assert (await attempt(server, {"op": "cmd", "seq": 1, "cmd": {}}))["reason"] == "not_logged_on"
    run(go())


def test_session_rules_and_bad_input(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            c = await logon(server)
            await c.conn.send("not json at all")
            assert (await c.recv())["reason"] == "bad_message"
            await c.conn.send(json.dumps({"op": "cmd", "seq": 5, "cmd": {"cmd": "book", "symbol": "AAPL"}}))
            gap = await c.recv()
            assert (gap["reason"], gap["got"]) == ("sequence_gap", 5)
            await c.send({"cmd": "halt", "symbol": "AAPL"})  # seq 1: a venue command
            assert (await c.recv())["reason"] == "not_permitted"
            await c.send_op("test_request", id="ping-1")
            assert (await c.recv()) == {"type": "heartbeat", "test_request_id": "ping-1", "seq": 5}
            await c.send({"cmd": "book", "symbol": "NOPE"})
            ev = (await until(c, lambda m: "event" in m))[-1]["event"]
            assert ev["reason"] == "unknown_symbol"
            # The server keeps serving others after all this.
            d = await logon(server, 2)
            await d.send({"cmd": "book", "symbol": "AAPL"})
            assert (await until(d, lambda m: "event" in m))[-1]["event"]["type"] == "book"
            await c.close()
            await d.close()
    run(go())


def test_admin_halts_and_subscribers_see_market_data(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            admin = await AsyncClient.open(url(server), "admin-key", "admin-secret")
            watcher = await logon(server, 3)
            await watcher.send_op("subscribe", symbols=["SPY", "NOPE"])
            sub = await watcher.recv()
            assert (sub["symbols"], sub["unknown"]) == (["SPY"], ["NOPE"])
            a, b = await logon(server, 1), await logon(server, 2)
            await a.send({"cmd": "new", "id": 1, "symbol": "SPY", "side": "buy", "type": "limit",
                          "price": "500", "qty": "3"})
            await b.send({"cmd": "new", "id": 1, "symbol": "SPY", "side": "sell", "type": "limit",
                          "price": "500", "qty": "1"})
            md = (await until(watcher, lambda m: "md" in m))[-1]["md"]
            assert md["type"] == "trade" and "maker" not in md and md["price"] == "500"
            await admin.send({"cmd": "halt", "symbol": "SPY"})
            halted = (await until(watcher, lambda m: "md" in m))[-1]["md"]
            assert (halted["type"], halted["reason"]) == ("halted", "manual")
            # An admin's kill switch: the admin sees what it did, the user loses their orders.
            await admin.send({"cmd": "kill_switch", "user": "demo1", "active": True})
            kill = (await until(admin, lambda m: m.get("event", {}).get("type") == "kill_switch"))[-1]
            assert kill["event"]["user"] == "demo1"
            gone = (await until(a, lambda m: m.get("event", {}).get("type") == "cancelled"))[-1]["event"]
            assert (gone["id"], gone["reason"]) == (1, "killed")
            for c in (admin, watcher, a, b):
                await c.close()
    run(go())


def test_cancel_on_disconnect_and_durability_across_restart(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as server:
            a = await logon(server, 1)
            await a.send({"cmd": "new", "id": "gone", "symbol": "AAPL", "side": "buy", "type": "limit",
                          "price": "100", "qty": "1"})
            await until(a, lambda m: "event" in m)
            await a.close()  # cancel-on-disconnect: demo1 has no other session
            b = await logon(server, 2)
            await b.send({"cmd": "new", "id": "stays", "symbol": "AAPL", "side": "sell", "type": "limit",
                          "price": "300", "qty": "2"})
            await until(b, lambda m: "event" in m)
            await asyncio.sleep(0.2)
            await b.send({"cmd": "book", "symbol": "AAPL"})
            book = (await until(b, lambda m: m.get("event", {}).get("type") == "book"))[-1]["event"]
            assert book["bids"] == [] and book["asks"] == [["300", "2", 1]]
            # b stays connected across the stop: a shutdown is not a disconnect, its orders persist.
        async with running(tmp_path, cancel_on_disconnect=False) as server:
            c = await logon(server, 3)
            await c.send({"cmd": "book", "symbol": "AAPL"})
            book = (await until(c, lambda m: m.get("event", {}).get("type") == "book"))[-1]["event"]
            # Recovered from the journal: the bid was cancelled on a's disconnect; the ask outlived
            # the shutdown (the engine had stopped before the sessions were logged out).
            assert book["bids"] == [] and book["asks"] == [["300", "2", 1]]
            await c.close()
    run(go())


def test_restart_recovers_acknowledged_orders(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path, cancel_on_disconnect=False) as server:
            a = await logon(server, 1)
            for i in range(20):
                await a.send({"cmd": "new", "id": i, "symbol": "ETH-USD", "side": "buy", "type": "limit",
                              "price": f"{2000 - i}", "qty": "0.1"})
            await until(a, lambda m: m.get("event", {}).get("id") == 19, limit=100)
            await a.close()
        async with running(tmp_path) as server:
            c = await logon(server, 2)
            await c.send({"cmd": "book", "symbol": "ETH-USD", "depth": 50})
            book = (await until(c, lambda m: m.get("event", {}).get("type") == "book"))[-1]["event"]
            assert len(book["bids"]) == 20 and book["bids"][0] == ["2000", "0.1", 1]
            await c.close()
    run(go())


def test_limits_idle_timeout_slow_consumer_and_metrics(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path, max_connections=2, send_queue=5) as server:
            a = await AsyncClient.open(url(server), "demo-key-1", "demo-secret-1", heartbeat_s=1)
            b = await logon(server, 2)
            with pytest.raises(Exception):  # noqa: B017 - the handshake is refused (HTTP 503)
                await logon(server, 3)
            # b never reads: a burst of answers overflows its 5-message queue: slow_consumer.
            for _ in range(30):
                await b.send({"cmd": "book", "symbol": "AAPL"})
            await asyncio.sleep(0.5)
            # a sends nothing for more than twice its heartbeat: idle_timeout (a heartbeat first).
            hb = await a.recv(3)
            assert hb["type"] == "heartbeat"
            bye = await a.recv(5)
            assert (bye["type"], bye["reason"]) == ("logout", "idle_timeout")
            text = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/metrics")
            assert "hftbook_slow_consumers_total 1.0" in text
            assert 'hftbook_latency_quantile_seconds{quantile="0.99",stage="journal"}' in text
    run(go())


def _get(address: str) -> str:
    with urllib.request.urlopen(address, timeout=5) as r:
        body: bytes = r.read()
    return body.decode()


def test_open_loop_load_gets_every_command_answered(tmp_path: Path) -> None:
    """`hftbook load`'s engine: commands at planned times over several sessions, each answered
    once, latency measured from the planned send time."""
    from hftbook.server.load import report, run_load

    async def go() -> None:
        async with running(tmp_path) as server:
            r = await run_load(url(server), rate=400, seconds=1.0, connections=3, seed=5, progress=False)
            assert r.planned == r.sent == 400
            assert r.answered == r.sent
            assert r.hist.get_total_count() == 400 and r.percentiles()["p50"] > 0
            assert "lost 0" in report(r, 400)
    run(go())
