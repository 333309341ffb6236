"""Market data against the engine on random command streams.

After every command:
- the feed fed with the engine's raw events and the feed fed with the contract's event dicts
  (replay's output, with `rests`) publish the same messages, and their books equal the
  engine's visible book, order by order in queue order; a feed without L3, which reads the
  engine's level totals instead of keeping a copy of the book, publishes the same L1, L2
  and trades messages;
- replicas following from the start (L1, L2, L3) equal the engine's book and top of book;
- every channel's sequence numbers per symbol are 1, 2, 3, ... with no gap.
A consumer that loses random messages (or joins late) notices, resyncs from a snapshot and
ends equal to the engine.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_differential import command_streams

from hftbook.core.exchange import Exchange
from hftbook.core.types import BUY, SELL
from hftbook.marketdata import CHANNELS, L1Replica, L2Replica, L3Replica, MarketDataFeed, Units

Cmd = dict[str, Any]


def _engine_queue(ex: Exchange, symbol: str, side: int) -> list[tuple[int, list[tuple[int, int]]]]:
    return [(p, orders) for p, _, _, orders in ex.books[symbol].levels_view(side == BUY)]


def _engine_depth(ex: Exchange, symbol: str, side: int) -> list[tuple[int, int, int]]:
    return [(p, q, n) for p, q, n, _ in ex.books[symbol].levels_view(side == BUY)]


class _Followers:
    """Replicas of every channel for every symbol, following from the first message."""

    def __init__(self) -> None:
        self.l1: dict[str, L1Replica] = {}
        self.l2: dict[str, L2Replica] = {}
        self.l3: dict[str, L3Replica] = {}
        self.seqs: dict[tuple[str, str], int] = {}

    def on(self, msgs: list[tuple[Any, ...]]) -> None:
        for m in msgs:
            channel, symbol, seq = m[0], m[1], m[2]
            key = (channel, symbol)
            assert seq == self.seqs.get(key, 0) + 1, f"sequence gap on {key}: {seq}"
            self.seqs[key] = seq
            if channel == "trades":
                continue
            table: dict[str, Any] = getattr(self, channel)
            cls = {"l1": L1Replica, "l2": L2Replica, "l3": L3Replica}[channel]
            replica = table.setdefault(symbol, cls(symbol, from_start=True))
            assert replica.on_message(m)


def _check(ex: Exchange, raw: MarketDataFeed, fol: _Followers, where: str) -> None:
    for symbol in ex.books:
        for side in (BUY, SELL):
            want_q = _engine_queue(ex, symbol, side)
            want_d = _engine_depth(ex, symbol, side)
            if symbol in raw.symbols:
                assert raw.symbols[symbol].book.queue(side) == want_q, where
            if want_q or symbol in fol.l3:
                assert fol.l3[symbol].queue(side) == want_q, f"l3 replica {symbol} {where}"
            if want_d or symbol in fol.l2:
                assert fol.l2[symbol].depth(side) == want_d, f"l2 replica {symbol} {where}"
        book = ex.books[symbol]
        b, a = book.best_bid(), book.best_ask()
        want = (b, book.bid_levels[b].qty if b else 0, a, book.ask_levels[-a].qty if a else 0)
        if symbol in fol.l1:
            assert fol.l1[symbol].quote == want, f"l1 {symbol} {where}"
        else:
            assert want == (None, 0, None, 0), f"no quote for a non-empty book {symbol} {where}"


def run_feeds(cmds: list[Cmd], batch: int = 1) -> None:
    """Feed `batch` commands' events at a time (conflation; an instrument update ends a
    batch, since it may change the units of what follows) and compare at each batch end."""
    ex = Exchange()
    raw = MarketDataFeed(CHANNELS)  # with l3: keeps its own copy of the book
    raw.load(ex)
    engine_backed = MarketDataFeed(("l1", "l2", "trades"))  # reads the engine's levels
    engine_backed.load(ex)
    from_events = MarketDataFeed(CHANNELS)
    fol = _Followers()
    for feed in (raw, engine_backed):  # every command's events at its own ts, batch open
        ex.listeners.append(lambda out, ts, feed=feed: feed.on_raw(out, ts, end=False))
    pending_events: list[dict[str, Any]] = []
    for i, cmd in enumerate(cmds):
        pending_events.extend(ex.apply(copy.deepcopy(cmd)))
        last = i == len(cmds) - 1 or cmds[i + 1]["cmd"] == "instrument" or cmd["cmd"] == "instrument"
        if not last and (i + 1) % batch:
            continue
        units = {s: Units(inst.tick, inst.lot) for s, inst in ex.instruments.items()}
        raw.flush(ex.now)
        engine_backed.flush(ex.now)
        from_events.on_events(pending_events, units, end=False)
        from_events.flush(ex.now)
        pending_events.clear()
        msgs = raw.take()
        where = f"after command #{i} {cmd}"
        assert from_events.take() == msgs, f"raw and event sources differ {where}"
        without_l3 = [m for m in msgs if m[0] != "l3"]
        assert engine_backed.take() == without_l3, f"engine-backed feed differs {where}"
        fol.on(msgs)
        _check(ex, raw, fol, where)


@given(command_streams(), st.integers(2, 6))
def test_conflated_batches_agree(cmds: list[Cmd], batch: int) -> None:
    run_feeds(cmds, batch)


@given(command_streams())
def test_feeds_rebuild_the_engine_book(cmds: list[Cmd]) -> None:
    run_feeds(cmds)


_HALF = settings(max_examples=max(1, settings().max_examples // 2))


@_HALF
@given(command_streams(max_steps=150, dense=True))
def test_feeds_rebuild_deep_queues(cmds: list[Cmd]) -> None:
    run_feeds(cmds)


@_HALF
@given(command_streams(max_steps=80, icebergs=True))
def test_feeds_rebuild_icebergs(cmds: list[Cmd]) -> None:
    run_feeds(cmds)


@_HALF
@given(command_streams(max_steps=80, stops=True))
def test_feeds_rebuild_stop_cascades(cmds: list[Cmd]) -> None:
    run_feeds(cmds)


@_HALF
@given(command_streams(max_steps=80, contingent=True))
def test_feeds_rebuild_contingent_flows(cmds: list[Cmd]) -> None:
    run_feeds(cmds)


@_HALF
@given(command_streams(max_steps=80, auction=True))
def test_feeds_rebuild_call_auctions(cmds: list[Cmd]) -> None:
    """Crossed books in calls, held market orders, uncrosses with iceberg fills (hidden
    first) and STP decrements, indicative messages."""
    run_feeds(cmds)


@given(command_streams(max_steps=120, dense=True), st.data())
def test_lossy_consumers_resync_and_converge(cmds: list[Cmd], data: st.DataObject) -> None:
    """Consumers that lose messages, or join at a random command, notice the gap, resync
    from a snapshot taken at a random later point, and end equal to the engine's book."""
    ex = Exchange()
    feed = MarketDataFeed(CHANNELS)
    feed.attach(ex)
    symbol = str(cmds[0]["symbol"])
    l2, l3 = L2Replica(symbol), L3Replica(symbol)  # not from the start: they join late
    join = data.draw(st.integers(0, len(cmds)), label="join")
    drop_every = data.draw(st.integers(0, 7), label="drop every nth message (0: never)")
    count = 0
    for i, cmd in enumerate(cmds):
        ex.apply(copy.deepcopy(cmd))
        for m in feed.take():
            if i < join or m[1] != symbol or m[0] not in ("l2", "l3"):
                continue
            count += 1
            if drop_every and count % drop_every == 0:
                continue  # lost on the way
            (l2 if m[0] == "l2" else l3).on_message(m)
        for replica in (l2, l3):
            if i >= join and not replica.synced and data.draw(st.booleans(), label="snapshot now"):
                replica.on_snapshot(feed.snapshot(symbol, replica.channel))
    for hb in feed.heartbeats(ex.now):  # the tail: nothing follows a message lost last
        if hb[1] == symbol and hb[0] in ("l2", "l3"):
            (l2 if hb[0] == "l2" else l3).on_message(hb)
    for replica in (l2, l3):
        if not replica.synced:
            assert replica.on_snapshot(feed.snapshot(symbol, replica.channel))
        assert replica.seq == feed.symbols[symbol].seq[CHANNELS.index(replica.channel)]
    for side in (BUY, SELL):
        assert l2.depth(side) == _engine_depth(ex, symbol, side)
        assert l3.queue(side) == _engine_queue(ex, symbol, side)
