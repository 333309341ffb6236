"""`serve --pipeline`: the same answers as the single-process server, durably, and a dead
process of the pipeline stops the server instead of hanging it or losing acknowledgements."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_server import _get, logon, run, running, until

from hftbook.server.app import Server
from hftbook.server.client import AsyncClient
from hftbook.server.config import ConfigError, ServerConfig
from hftbook.server.pipeline import PipelineEngine
from hftbook.server.shards import order_ids, shard_of

SYMBOLS = ["BTC-USD", "ETH-USD", "AAPL", "SPY"]
PRICES = {"BTC-USD": (30000, "0.5", "0.001"), "ETH-USD": (2000, "0.05", "0.01"), "AAPL": (190, "0.01", "1"),
          "SPY": (450, "0.01", "1")}


def flow(seed: int, n: int) -> list[tuple[int, dict[str, Any]]]:
    """(session: 1..3 users, 0 admin, command) of a random but reproducible order flow: limits
    (IOC, post-only, icebergs, STP), markets, stops, OCO pairs, brackets, ids used again
    (live or not, on any symbol), cancels, modifies, queries, halts."""
    rnd = random.Random(seed)
    out: list[tuple[int, dict[str, Any]]] = []
    placed: dict[int, list[int]] = {1: [], 2: [], 3: []}
    next_id = 1
    halted: set[str] = set()

    def px(mid: float, tick: str, ticks: int) -> str:
        return f"{mid + ticks * float(tick):.2f}"

    for _ in range(n):
        sym = rnd.choice(SYMBOLS)
        mid, tick, lot = PRICES[sym]
        user = rnd.randint(1, 3)
        r = rnd.random()
        side = rnd.choice(["buy", "sell"])
        sign = 1 if side == "buy" else -1
        price = px(mid, tick, rnd.randint(-5, 5))
        qty = str(rnd.randint(1, 5) * float(lot)) if "." in lot else str(rnd.randint(1, 5))
        cmd: dict[str, Any]
        if r < 0.45:
            reuse = r >= 0.40 and placed[user]
            cid = rnd.choice(placed[user]) if reuse else next_id
            cmd = {"cmd": "new", "id": cid, "symbol": sym, "side": side, "type": "limit", "price": price,
                   "qty": qty}
            extra = rnd.random()
            if extra < 0.1:
                cmd["tif"] = "ioc"
            elif extra < 0.2:
                cmd["post_only"] = True
            elif extra < 0.3:
                cmd["display_qty"] = "1" if "." not in lot else lot
            elif extra < 0.4:
                cmd["stp"] = "cancel_both"
            if not reuse:
                placed[user].append(next_id)
                next_id += 1
        elif r < 0.52:
            cmd = {"cmd": "new", "id": next_id, "symbol": sym, "side": side, "type": "market", "qty": qty}
            next_id += 1
        elif r < 0.57:
            cmd = {"cmd": "new", "id": next_id, "symbol": sym, "side": side, "type": "stop", "qty": qty,
                   "trigger_price": px(mid, tick, sign * rnd.randint(1, 8))}
            placed[user].append(next_id)
            next_id += 1
        elif r < 0.61:
            parts = [{"id": next_id + i, "type": "limit", "price": px(mid, tick, -sign * rnd.randint(1, 6)),
                      "qty": qty} for i in range(2)]
            cmd = {"cmd": "oco", "symbol": sym, "side": side, "orders": parts}
            placed[user] += [next_id, next_id + 1]
            next_id += 2
        elif r < 0.64:
            cmd = {"cmd": "bracket", "symbol": sym, "side": side,
                   "entry": {"id": next_id, "type": "limit", "price": price, "qty": qty},
                   "take_profit": {"id": next_id + 1, "price": px(mid, tick, sign * 10)},
                   "stop_loss": {"id": next_id + 2, "type": "stop",
                                 "trigger_price": px(mid, tick, -sign * 10)}}
            placed[user] += [next_id, next_id + 1, next_id + 2]
            next_id += 3
        elif r < 0.74 and placed[user]:
            cmd = {"cmd": "cancel", "id": rnd.choice(placed[user])}
        elif r < 0.82 and placed[user]:
            cmd = {"cmd": "modify", "id": rnd.choice(placed[user]), "qty": qty}
        elif r < 0.94:
            cmd = {"cmd": rnd.choice(["book", "metrics"]), "symbol": sym}
        else:
            user = 0
            cmd = {"cmd": "resume" if sym in halted else "halt", "symbol": sym}
            halted ^= {sym}
        out.append((user, cmd))
    return out


def answers(cmd: dict[str, Any], ev: dict[str, Any]) -> bool:
    """Is `ev` the sender's answer to `cmd` (the first of its events the sender gets)?"""
    if cmd["cmd"] in ("book", "metrics"):
        return bool(ev["type"] == cmd["cmd"] and ev["symbol"] == cmd["symbol"])
    if cmd["cmd"] in ("halt", "resume"):
        return ev.get("symbol") == cmd["symbol"] and ev["type"] in ("halted", "resumed", "rejected")
    if cmd["cmd"] in ("oco", "bracket"):
        return ev.get("id") in order_ids(cmd) or (ev["type"] == "rejected" and ev.get("cmd") == cmd["cmd"])
    return ev.get("id") == cmd["id"]


async def record(server: Server, steps: list[tuple[int, dict[str, Any]]]) -> dict[int, list[dict[str, Any]]]:
    """Send the flow one command at a time (the next after the sender has its answer), so the
    engine sees the same order in both runs; every session's events, without `ts`."""
    clients = {0: await AsyncClient.open(f"ws://127.0.0.1:{server.port}", "admin-key", "admin-secret")}
    for n in (1, 2, 3):
        clients[n] = await logon(server, n)
    got: dict[int, list[dict[str, Any]]] = {n: [] for n in clients}

    async def reader(n: int) -> None:
        while True:
            msg = await clients[n].recv(None)
            if "event" in msg:
                ev = dict(msg["event"])
                ev.pop("ts")
                got[n].append(ev)

    tasks = [asyncio.create_task(reader(n)) for n in clients]
    for n, cmd in steps:
        before = len(got[n])
        await clients[n].send(dict(cmd))
        deadline = time.monotonic() + 10
        while not any(answers(cmd, ev) for ev in got[n][before:]):
            assert time.monotonic() < deadline, f"no answer to {cmd}: {got[n][before:]}"
            await asyncio.sleep(0.0005)
    await asyncio.sleep(0.3)
    for t in tasks:
        t.cancel()
    for c in clients.values():
        await c.close()
    return got


def renamed(streams: dict[int, list[dict[str, Any]]], to: dict[int, list[dict[str, Any]]]) -> None:
    """Assert the two runs' events are equal up to a consistent renaming of order and trade ids
    (several engines number their own; `globalize` keeps them unique)."""
    names: dict[tuple[str, int], int] = {}

    def same(a: Any, b: Any, key: str = "") -> None:
        if isinstance(a, dict):
            assert isinstance(b, dict) and a.keys() == b.keys(), (a, b)
            for k in a:
                same(a[k], b[k], k)
        elif isinstance(a, list):
            assert isinstance(b, list) and len(a) == len(b), (a, b)
            for x, y in zip(a, b, strict=True):
                same(x, y, key)
        elif key in ("order_id", "trade_id"):
            assert names.setdefault((key, a), b) == b, f"{key} {a} is {names[(key, a)]} and {b}"
        else:
            assert a == b, (key, a, b)

    for n in streams:
        assert len(streams[n]) == len(to[n]), n
        for x, y in zip(streams[n], to[n], strict=True):
            same(x, y)
    for kind in ("order_id", "trade_id"):  # a renaming, not a merge
        mine = {v for (k, _), v in names.items() if k == kind}
        assert len(mine) == sum(1 for k, _ in names if k == kind)


# `make fuzz` runs more flows (HFTBOOK_PIPELINE_FLOWS=N: seeds 7 .. 7 + N - 1).
FLOWS = range(7, 7 + int(os.environ.get("HFTBOOK_PIPELINE_FLOWS", "1")))


@pytest.mark.parametrize("seed", FLOWS)
@pytest.mark.parametrize("engines", [1, 2])
def test_pipeline_answers_equal_the_single_process_servers(tmp_path: Path, engines: int, seed: int) -> None:
    steps = flow(seed, 300)
    assert len({shard_of(s, 2) for s in SYMBOLS}) == 2  # two engines really split this flow

    async def go() -> tuple[dict[int, list[dict[str, Any]]], dict[int, list[dict[str, Any]]]]:
        async with running(tmp_path / "single") as server:
            single = await record(server, steps)
        async with running(tmp_path / "pipe", pipeline=True, engines=engines) as server:
            assert isinstance(server.engine, PipelineEngine)
            piped = await record(server, steps)
        return single, piped

    single, piped = run(go())
    kinds = {ev["type"] for evs in single.values() for ev in evs}
    assert {"accepted", "trade", "cancelled", "modified", "rejected", "book", "halted"} <= kinds
    if engines == 1:
        assert single == piped
    else:
        renamed(single, piped)


def test_pipeline_journal_recovers_across_restart_and_refuses_another_engine_count(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path, pipeline=True, engines=2, cancel_on_disconnect=False) as server:
            a = await logon(server, 1)
            for i, sym in enumerate(SYMBOLS):
                mid, _tick, lot = PRICES[sym]
                await a.send({"cmd": "new", "id": i, "symbol": sym, "side": "buy", "type": "limit",
                              "price": str(mid), "qty": lot if "." in lot else "3"})
            await until(a, lambda m: m.get("event", {}).get("id") == len(SYMBOLS) - 1, limit=100)
            await a.close()
        for engines in (3, 1):
            cfg = replace(ServerConfig(), port=0, binary_port=0, md_port=0, data_dir=str(tmp_path / "data"),
                          pipeline=engines > 1, engines=engines)
            with pytest.raises(ConfigError, match="journals of 2 engine"):
                await Server(cfg).run()
        async with running(tmp_path, pipeline=True, engines=2) as server:
            b = await logon(server, 2)
            for sym in SYMBOLS:
                await b.send({"cmd": "book", "symbol": sym})
                book = (await until(b, lambda m: m.get("event", {}).get("type") == "book"))[-1]["event"]
                assert len(book["bids"]) == 1, (sym, book)
            # Ids live on the engine of their symbol: a cancel finds it; the same id for a
            # symbol of another engine is refused as a duplicate, as one engine would.
            a = await logon(server, 1)
            other = next(s for s in SYMBOLS if shard_of(s, 2) != shard_of(SYMBOLS[0], 2))
            lot = PRICES[other][2]
            await a.send({"cmd": "new", "id": 0, "symbol": other, "side": "buy", "type": "limit",
                          "price": str(PRICES[other][0]), "qty": lot if "." in lot else "1"})
            rej = (await until(a, lambda m: "event" in m))[-1]["event"]
            assert (rej["type"], rej["reason"]) == ("rejected", "duplicate_id")
            await a.send({"cmd": "cancel", "id": 0})
            gone = (await until(a, lambda m: "event" in m))[-1]["event"]
            assert (gone["type"], gone["id"], gone["symbol"]) == ("cancelled", 0, SYMBOLS[0])
            # Queue waits at every ring reach /metrics (the processes report every second).
            stages = ("ring_commands_e0", "ring_commands_e1", "ring_journal_e0", "ring_journal_e1",
                      "ring_responses_e0", "ring_responses_e1", "ring_marketdata_e0", "ring_marketdata_e1")
            deadline = time.monotonic() + 5
            while True:
                text = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/metrics")
                counts = {s: re.search(rf'hftbook_latency_seconds_count{{stage="{s}"}} (\S+)', text)
                          for s in stages}
                if all(m and float(m.group(1)) > 0 for m in counts.values()):
                    break
                assert time.monotonic() < deadline, counts
                await asyncio.sleep(0.2)
            assert "hftbook_process_up_journal_1 1.0" in text
            await a.close()
            await b.close()
    run(go())


@pytest.mark.parametrize("victim", ["journal-0", "engine-0", "marketdata"])
def test_a_dead_pipeline_process_stops_the_server_and_loses_nothing_acknowledged(
        tmp_path: Path, victim: str) -> None:
    async def go() -> None:
        cfg = replace(ServerConfig(), port=0, binary_port=0, md_port=0, data_dir=str(tmp_path / "data"),
                      tick_s=0.05, pipeline=True, cancel_on_disconnect=False)
        server = Server(cfg)
        task = asyncio.create_task(server.run())
        await asyncio.wait_for(server.ready.wait(), 20)
        assert isinstance(server.engine, PipelineEngine)
        a = await logon(server, 1)
        for i in range(10):
            await a.send({"cmd": "new", "id": i, "symbol": "AAPL", "side": "buy", "type": "limit",
                          "price": f"{100 + i}", "qty": "1"})
        got = await until(a, lambda m: m.get("event", {}).get("id") == 9, limit=100)
        acked = {m["event"]["id"] for m in got if m.get("event", {}).get("type") == "accepted"}
        assert acked == set(range(10))
        child = next(c for c in server.engine.children if c.name == victim)
        assert child.proc.pid is not None
        os.kill(child.proc.pid, signal.SIGKILL)
        late = []
        for i in range(10, 20):
            try:
                await a.send({"cmd": "new", "id": i, "symbol": "AAPL", "side": "buy", "type": "limit",
                              "price": f"{100 + i}", "qty": "1"})
            except Exception:
                break
        try:
            while True:
                msg = await a.recv(10)
                if msg.get("event", {}).get("type") == "accepted":
                    late.append(msg["event"]["id"])
                if msg.get("type") == "logout":
                    assert msg["reason"] == "server_error"
                    break
        except Exception:
            pass  # the connection closed
        assert await asyncio.wait_for(task, 20) == 1
        # What was acknowledged is in the journal: a restart shows every acknowledged order.
        async with running(tmp_path, pipeline=True) as server2:
            b = await logon(server2, 2)
            await b.send({"cmd": "book", "symbol": "AAPL", "depth": 50})
            book = (await until(b, lambda m: m.get("event", {}).get("type") == "book"))[-1]["event"]
            prices = {int(float(p)) - 100 for p, _q, _n in book["bids"]}
            assert acked | set(late) <= prices, (acked, late, prices)
            await b.close()

    run(go())


def test_broadcast_commands_answer_once_and_reach_every_engine(tmp_path: Path) -> None:
    a_sym, b_sym = "AAPL", next(s for s in SYMBOLS if shard_of(s, 2) != shard_of("AAPL", 2))

    async def go() -> None:
        async with running(tmp_path, pipeline=True, engines=2) as server:
            admin = await AsyncClient.open(f"ws://127.0.0.1:{server.port}", "admin-key", "admin-secret")
            a = await logon(server, 1)
            for i, sym in enumerate((a_sym, b_sym, a_sym, b_sym)):
                lot = PRICES[sym][2]
                await a.send({"cmd": "new", "id": i, "symbol": sym, "side": "buy", "type": "limit",
                              "price": str(PRICES[sym][0]), "qty": lot if "." in lot else "1"})
            accepted: set[int] = set()
            while len(accepted) < 4:  # the two engines answer in no particular order
                ev = (await until(a, lambda m: "event" in m))[-1]["event"]
                assert ev["type"] == "accepted"
                accepted.add(ev["id"])
            await a.send({"cmd": "cancel_all"})  # both engines: all four cancelled
            got = [await a.recv(5) for _ in range(4)]
            assert sorted(m["event"]["id"] for m in got) == [0, 1, 2, 3]
            assert {m["event"]["reason"] for m in got} == {"mass_cancel"}
            await admin.send({"cmd": "limits", "user": "demo1", "max_open_orders": 10})
            await admin.send({"cmd": "kill_switch", "user": "demo1", "active": True})
            await admin.send({"cmd": "kill_switch", "user": "demo1", "active": True})  # refused: on already
            await asyncio.sleep(0.5)
            seen: list[dict[str, Any]] = []
            while True:
                try:
                    msg = await admin.recv(0.3)
                except Exception:
                    break
                if "event" in msg:
                    seen.append(msg["event"])
            kinds = [e["type"] for e in seen]
            assert kinds.count("limits") == 1 and kinds.count("kill_switch") == 1, kinds
            assert kinds.count("rejected") == 1, kinds
            await a.close()
            await admin.close()
    run(go())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_the_command_line_pipeline_serves_orders_and_market_data_and_stops_clean(tmp_path: Path) -> None:
    """`hftbook serve --pipeline --engines 2` as a user runs it: orders over the JSON gateway,
    the book on the market-data feed, Ctrl-C (to the process group, as a terminal sends it):
    exit 0, no process, shared memory or doorbell left."""
    import json

    from websockets.asyncio.client import connect

    port, binary, md = _free_port(), _free_port(), _free_port()
    shm_before = set(os.listdir("/dev/shm"))
    proc = subprocess.Popen([str(Path(sys.executable).parent / "hftbook"), "serve", "--pipeline", "--engines",
                             "2", "--port", str(port), "--binary-port", str(binary), "--md-port", str(md),
                             "--data", str(tmp_path / "data")], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stderr is not None
    banner = ""
    while "Ctrl-C stops" not in banner:
        line = proc.stderr.readline()
        assert line, banner
        banner += line
    pids = [int(p) for p in re.findall(r"pid (\d+)", banner)]
    assert len(pids) == 5 and f"ws://127.0.0.1:{md} (market data" in banner

    async def go() -> None:
        async with connect(f"ws://127.0.0.1:{md}") as feed:
            await feed.send(json.dumps({"op": "subscribe", "symbols": ["AAPL"],
                                        "channels": ["l2", "trades"]}))
            assert json.loads(await feed.recv())["type"] == "subscribed"
            snap = json.loads(await feed.recv())
            assert snap[:2] == ["l2", "AAPL"] and snap[4] == "snapshot"
            a = await AsyncClient.open(f"ws://127.0.0.1:{port}", "demo-key-1", "demo-secret-1")
            await a.send({"cmd": "new", "id": 1, "symbol": "AAPL", "side": "sell", "type": "limit",
                          "price": "190.5", "qty": "7"})
            assert (await until(a, lambda m: "event" in m))[-1]["event"]["type"] == "accepted"
            level = json.loads(await asyncio.wait_for(feed.recv(), 5))
            # l2 (channel, symbol, seq, ts, "level", side, price in ticks, qty in lots, orders)
            assert level[0] == "l2" and level[2] == snap[2] + 1 and level[4] == "level"
            assert level[6:9] == [19050, 7, 1]
            await a.close()

    try:
        run(go())
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group gets it
        assert proc.wait(30) == 0
    time.sleep(0.5)
    assert [p for p in pids if os.path.exists(f"/proc/{p}")] == []
    assert set(os.listdir("/dev/shm")) - shm_before == set()


@pytest.mark.parametrize("flags", [[], ["--pipeline"], ["--pipeline", "--engines", "1"]])
def test_a_damaged_journal_stops_the_start_with_a_message(tmp_path: Path, flags: list[str]) -> None:
    from hftbook.journal.storage import DiskStorage
    from hftbook.journal.wal import Journal

    storage = DiskStorage(str(tmp_path / "data"))
    journal = Journal(storage, next_seq=5)  # records 5 and 6 with nothing before them: a gap
    journal.append(1, {"cmd": "tick"})
    journal.append(2, {"cmd": "tick"})
    journal.close()
    storage.close()
    ports = ["--port", str(_free_port()), "--binary-port", str(_free_port()), "--md-port", str(_free_port())]
    proc = subprocess.run([str(Path(sys.executable).parent / "hftbook"), "serve", *flags, *ports,
                           "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("hftbook serve: ") and "starts at 5" in last, proc.stderr[-2000:]
