"""The pipeline's market-data process (`hftbook.server.pipeline_md.md_main`) in a spawned process.

The test plays the engines (a real `Venue` per engine writes one result message per command
to its result ring, split into fragments when long), the journal (consumer 0, which the
market-data reader depends on) and a WebSocket client. What the client receives must equal
what a `MarketDataFeed` fed the same events directly publishes: the snapshots at subscription,
then every increment, gap-free. Also: a start from non-empty venues (orders resting before
the process starts), an instrument defined at run time, nothing published before the journal
commits, the error answers (the connection stays), `/health`, a slow consumer, the per-ring
queue-wait histograms, a clean end when the producers close their rings, and a start error.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from hftbook.algo.venue import Venue
from hftbook.journal.record import encode_command
from hftbook.marketdata.feed import CHANNELS, MarketDataFeed, Units
from hftbook.runtime.ring import Ring
from hftbook.runtime.ring_frames import split
from hftbook.server.pipeline_md import md_main
from hftbook.server.pipeline_wire import global_id, globalize, pack_result

SPAWN = mp.get_context("spawn")
BTC = {"cmd": "instrument", "symbol": "BTC-USD", "tick_size": "0.5", "lot_size": "0.001"}
ETH = {"cmd": "instrument", "symbol": "ETH-USD", "tick_size": "0.01", "lot_size": "0.1"}


def order(user: str, cid: int, symbol: str, side: str, price: str, qty: str, **more: Any) -> dict[str, Any]:
    return {"cmd": "new", "user": user, "id": cid, "symbol": symbol, "side": side, "type": "limit",
            "price": price, "qty": qty, **more}


class Engine:
    """Engine k of n: its venue, its result ring's producer, and the journal reading behind it.
    Like the real engine process, it gives its events the venue's ids (`globalize`)."""

    def __init__(self, venue: Venue, k: int = 0, n: int = 1) -> None:
        self.venue = venue
        self.k, self.n = k, n
        self.snapshot = venue.snapshot()
        self.ring = Ring.create(None, slots=256, slot_size=1024, consumers=3, depends={1: [0], 2: [0]})
        self.out = self.ring.producer(wait="sleep")
        self.journal = self.ring.consumer(0, wait="sleep")
        self.ring.consumer(1).close()  # no responses reader in this test
        self.seq = 1
        self.ts = venue.now
        self.written = 0
        self.fragmented = 0
        self.log: list[list[dict[str, Any]]] = []  # the events of each command written

    def apply(self, cmd: dict[str, Any]) -> None:
        self.ts += 1000
        cmd = {**cmd, "ts": self.ts}
        events = self.venue.apply(cmd)
        if self.n > 1:
            globalize(events, self.k, self.n)
        frags = split(pack_result(self.seq, self.ts, time.perf_counter_ns(), encode_command(cmd), events, []),
                      self.ring.max_message)
        self.out.write_batch(frags, timeout=5)
        self.seq += 1
        self.written += 1
        self.fragmented += len(frags) > 1
        self.log.append(events)

    def commit_journal(self) -> None:
        while self.journal.read_batch(1024, block=False):
            self.journal.commit()

    def close(self) -> None:
        self.out.close()
        self.ring.close()
        self.ring.unlink()


class Reference:
    """The same feed, fed the same events in this process."""

    def __init__(self, engines: list[Engine]) -> None:
        self.feed = MarketDataFeed(channels=CHANNELS)
        self.units: dict[str, Units] = {}
        for e in engines:
            ex = Venue.restore(e.snapshot).exchange
            for orders in ex.live.values():
                for o in orders.values():
                    o.oid = global_id(o.oid, e.k, e.n)
            self.feed.load(ex)
            self.units.update({s: Units(i.tick, i.lot) for s, i in ex.instruments.items()})
        self.feed.ts = max(e.venue.now for e in engines) if engines else 0
        self.seen = [0] * len(engines)
        self.engines = engines
        self.out: list[list[Any]] = []

    def catch_up(self) -> None:
        for k, e in enumerate(self.engines):
            for events in e.log[self.seen[k]:]:
                if events:
                    self.feed.on_events(events, self.units)
            self.seen[k] = len(e.log)
        self.units.update({s: Units(i.tick, i.lot) for e in self.engines
                           for s, i in e.venue.exchange.instruments.items()})
        self.out.extend(_wire(m) for m in self.feed.take())

    def snapshots(self, symbol: str) -> list[list[Any]]:
        return [_wire(self.feed.snapshot(symbol, ch)) for ch in ("l1", "l2", "l3")]


def _wire(m: object) -> Any:
    return json.loads(json.dumps(m))


@contextmanager
def market_data(engines: list[Engine], send_queue: int = 10_000) -> Iterator[tuple[int, Connection, Any]]:
    parent, child = SPAWN.Pipe()
    p = SPAWN.Process(target=md_main, args=([e.ring.name for e in engines], 2, [e.snapshot for e in engines],
                                            "127.0.0.1", 0, child, 0.1, send_queue), daemon=True)
    p.start()
    try:
        deadline = time.monotonic() + 20
        while not parent.poll(0.1):
            assert p.is_alive() and time.monotonic() < deadline, "the market data process never answered"
        kind, info = parent.recv()
        assert kind == "ready", info
        yield info["port"], parent, p
    finally:
        if p.is_alive():  # a failed test: the producers never closed
            p.kill()
            p.join()


def recv(ws: ClientConnection, timeout: float = 5) -> Any:
    return json.loads(ws.recv(timeout=timeout))


def subscribe(ws: ClientConnection, symbols: list[str], channels: list[str] | None = None) -> list[Any]:
    """Subscribe; the ack and the snapshots (retrying while a new symbol is not known yet)."""
    req: dict[str, Any] = {"op": "subscribe", "symbols": symbols}
    if channels is not None:
        req["channels"] = channels
    deadline = time.monotonic() + 5
    while True:
        ws.send(json.dumps(req))
        ack = recv(ws)
        if ack.get("reason") != "unknown_symbol" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert ack == {"type": "subscribed", "symbols": symbols, "channels": channels or list(CHANNELS)}, ack
    n = len(symbols) * len([c for c in channels or CHANNELS if c != "trades"])
    return [recv(ws) for _ in range(n)]


def until_closed(ws: ClientConnection) -> tuple[list[Any], ConnectionClosed]:
    got = []
    while True:
        try:
            got.append(recv(ws))
        except ConnectionClosed as exc:
            return got, exc


def last_metrics(conn: Connection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    while conn.poll(0.5):
        kind, info = conn.recv()
        assert kind == "metrics", info
        out = info
    return out


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for e in made:
        e.close()


def test_feed_over_rings_equals_a_direct_feed(engines: list[Engine]) -> None:
    v0 = Venue()  # engine 0: BTC-USD with orders resting before the process starts
    for cmd in (BTC, order("a", 1, "BTC-USD", "sell", "100.5", "1"),
                order("b", 1, "BTC-USD", "sell", "101", "0.4"),
                order("c", 1, "BTC-USD", "sell", "101", "3", display_qty="0.5"),
                order("a", 2, "BTC-USD", "buy", "99.5", "1.5"), order("b", 2, "BTC-USD", "buy", "99", "0.2")):
        assert not any(ev["type"] == "rejected" for ev in v0.apply({**cmd, "ts": 10}))
    engines += [Engine(v0, 0, 2), Engine(Venue(), 1, 2)]  # engine 1: empty; ETH-USD comes at run time
    e0, e1 = engines
    ref = Reference(engines)
    with market_data(engines) as (port, conn, proc):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            assert r.read().strip() == b"ok"
        e1.apply(ETH)
        e1.commit_journal()
        ref.catch_up()
        with connect(f"ws://127.0.0.1:{port}", open_timeout=5) as ws:
            snaps = {sym: subscribe(ws, [sym]) for sym in ("BTC-USD", "ETH-USD")}
            assert snaps == {sym: ref.snapshots(sym) for sym in ("BTC-USD", "ETH-USD")}
            assert [s[2] for s in snaps["ETH-USD"]] == [0, 0, 0]
            # Nothing reaches subscribers before the journal has the results.
            e0.apply(order("d", 1, "BTC-USD", "buy", "101", "3.9"))  # 7 trades: 2 makers, 5 iceberg slices
            e1.apply(order("x", 1, "ETH-USD", "buy", "2000.01", "1.5"))
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.3)
            flow: list[tuple[Engine, dict[str, Any]]] = [
                (e1, order("y", 1, "ETH-USD", "sell", "2001", "2", display_qty="0.5")),
                (e0, {"cmd": "cancel", "user": "a", "id": 2}),
                (e1, order("z", 1, "ETH-USD", "buy", "2001", "0.7")),  # crosses the iceberg: refill
                (e0, order("d", 2, "BTC-USD", "sell", "99", "0.1", tif="ioc")),
                (e0, {"cmd": "modify", "user": "b", "id": 2, "qty": "0.05"}),  # in place
                (e1, {"cmd": "cancel", "user": "x", "id": 1}),
                (e0, order("e", 1, "BTC-USD", "buy", "100", "0.002")),
                (e0, order("e", 2, "BTC-USD", "buy", "100", "0.003", display_qty="0.001")),
                (e1, {"cmd": "cancel", "user": "nobody", "id": 9}),  # rejected: no market data
            ]
            for i, (e, cmd) in enumerate(flow):
                e.apply(cmd)
                if i % 3 == 2:
                    e0.commit_journal()
                    e1.commit_journal()
            e0.commit_journal()
            e1.commit_journal()
            ref.catch_up()
            assert e0.fragmented >= 1  # the sweep's result was longer than a slot
            e0.out.close()
            e1.out.close()
            got, closed = until_closed(ws)
        assert closed.rcvd is not None and (closed.rcvd.code, closed.rcvd.reason) == (1000, "end_of_stream")
        proc.join(10)
        assert proc.exitcode == 0
        metrics = last_metrics(conn)
    data = [m for m in got if m[4] != "heartbeat"]
    assert len(data) > 30
    for symbol in ("BTC-USD", "ETH-USD"):
        assert [m for m in data if m[1] == symbol] == [m for m in ref.out if m[1] == symbol]
        first = {s[0]: s[2] for s in snaps[symbol]} | {"trades": 0}  # no trade before the start
        for ch in CHANNELS:  # gap-free from the snapshot's number on
            seqs = [m[2] for m in data if m[1] == symbol and m[0] == ch]
            assert seqs and seqs == list(range(first[ch] + 1, first[ch] + 1 + len(seqs))), (symbol, ch)
    for k, e in enumerate(engines):
        encoded, total_ns = metrics[f"ring_marketdata_e{k}"]
        assert HdrHistogram.decode(encoded).get_total_count() == e.written
        assert total_ns > 0


def test_error_answers_keep_the_connection(engines: list[Engine]) -> None:
    v = Venue()
    v.apply({**BTC, "ts": 1})
    v.apply({**order("a", 1, "BTC-USD", "buy", "100", "1"), "ts": 2})
    engines.append(Engine(v))
    with market_data(engines) as (port, _conn, proc):
        with connect(f"ws://127.0.0.1:{port}", open_timeout=5) as ws:
            for raw, reason in (("{not json", "bad_json"), ("[1, 2]", "bad_message"),
                                ('{"op": "unsubscribe"}', "unknown_op"),
                                ('{"op": "subscribe", "symbols": "BTC-USD"}', "bad_message"),
                                ('{"op": "subscribe", "symbols": ["BTC-USD", "DOGE"]}', "unknown_symbol"),
                                ('{"op": "subscribe", "symbols": ["BTC-USD"], "channels": ["l4"]}',
                                 "unknown_channel")):
                ws.send(raw)
                answer = recv(ws)
                assert answer["type"] == "error" and answer["reason"] == reason, (raw, answer)
            l2, = subscribe(ws, ["BTC-USD"], ["l2", "trades"])
            assert l2[:3] == ["l2", "BTC-USD", 0] and l2[4:] == ["snapshot", [[200, 1000, 1]], []]
            # A second of silence: a heartbeat per channel followed, with the last numbers.
            beats = sorted([recv(ws, 3), recv(ws, 3)])
            assert [(b[0], b[1], b[2], b[4]) for b in beats] == [("l2", "BTC-USD", 0, "heartbeat"),
                                                                  ("trades", "BTC-USD", 0, "heartbeat")]
            engines[0].out.close()
            engines[0].commit_journal()
            until_closed(ws)
        proc.join(10)
        assert proc.exitcode == 0


def test_slow_consumer_is_closed(engines: list[Engine]) -> None:
    v = Venue()
    v.apply({**BTC, "ts": 1})
    engines.append(Engine(v))
    e = engines[0]
    with market_data(engines, send_queue=20) as (port, _conn, proc):
        with connect(f"ws://127.0.0.1:{port}", open_timeout=5) as ws:
            subscribe(ws, ["BTC-USD"])
            for i in range(30):  # one journal commit: one batch of at least 60 messages
                e.apply(order("a", i + 1, "BTC-USD", "buy", str(100 - i), "1"))
            e.commit_journal()
            _, closed = until_closed(ws)
            assert closed.rcvd is not None
            assert (closed.rcvd.code, closed.rcvd.reason) == (1008, "slow_consumer")
        e.out.close()
        proc.join(10)
        assert proc.exitcode == 0


def test_a_symbol_on_two_engines_is_an_error(engines: list[Engine]) -> None:
    for _ in range(2):
        v = Venue()
        v.apply({**BTC, "ts": 1})
        engines.append(Engine(v))
    parent, child = SPAWN.Pipe()
    p = SPAWN.Process(target=md_main, args=([e.ring.name for e in engines], 2, [e.snapshot for e in engines],
                                            "127.0.0.1", 0, child, 0.1))
    p.start()
    assert parent.poll(20)
    kind, text = parent.recv()
    p.join(10)
    assert kind == "error" and text.startswith("marketdata: ") and "symbols on two engines" in text
    assert p.exitcode != 0
