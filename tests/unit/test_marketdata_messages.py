"""Market data by hand: the exact messages of small flows, and the replicas' resync rules."""

from __future__ import annotations

from typing import Any

import pytest

from hftbook.core.exchange import Exchange
from hftbook.core.types import BUY, SELL
from hftbook.marketdata import L1Replica, L2Replica, L3Replica, MarketDataFeed, Units


def _exchange(feed: MarketDataFeed) -> Exchange:
    ex = Exchange()
    ex.apply({"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "0.5", "lot_size": "1"})
    feed.attach(ex)
    return ex


def _new(cid: str, side: str, price: str, qty: str, ts: int, user: str = "u", **extra: Any) -> dict[str, Any]:
    return {"cmd": "new", "ts": ts, "user": user, "id": cid, "symbol": "X", "side": side, "type": "limit",
            "price": price, "qty": qty, **extra}


def test_messages_of_a_small_flow() -> None:
    feed = MarketDataFeed(("l1", "l2", "l3", "trades"))
    ex = _exchange(feed)
    ex.apply(_new("a", "buy", "10", "3", 1))
    assert feed.take() == [
        ("l3", "X", 1, 1, "add", 1, BUY, 20, 3),
        ("l2", "X", 1, 1, "level", BUY, 20, 3, 1, True),
        ("l1", "X", 1, 1, "quote", 20, 3, None, 0),
    ]
    ex.apply(_new("b", "sell", "10.5", "5", 2, display_qty="2"))  # an iceberg shows 2
    assert feed.take() == [
        ("l3", "X", 2, 2, "add", 2, SELL, 21, 2),
        ("l2", "X", 2, 2, "level", SELL, 21, 2, 1, True),
        ("l1", "X", 2, 2, "quote", 20, 3, 21, 2),
    ]
    # A buy of 3 at 10.5 takes the slice (2), the refill shows 2 more at the back, takes 1 of it.
    ex.apply(_new("c", "buy", "10.5", "3", 3, user="v"))
    assert feed.take() == [
        ("trades", "X", 1, 3, "trade", 1, 21, 2, BUY),
        ("trades", "X", 2, 3, "trade", 2, 21, 1, BUY),
        ("l3", "X", 3, 3, "exec", 2, 2, 21, 1),
        ("l3", "X", 4, 3, "add", 2, SELL, 21, 2),
        ("l3", "X", 5, 3, "exec", 2, 1, 21, 2),
        ("l2", "X", 3, 3, "level", SELL, 21, 1, 1, True),
        ("l1", "X", 3, 3, "quote", 20, 3, 21, 1),
    ]
    ex.apply({"cmd": "modify", "ts": 4, "user": "u", "id": "a", "qty": "2"})  # in place
    ex.apply({"cmd": "cancel", "ts": 5, "user": "u", "id": "a"})
    assert feed.take() == [
        ("l3", "X", 6, 4, "modify", 1, 2),
        ("l2", "X", 4, 4, "level", BUY, 20, 2, 1, True),
        ("l1", "X", 4, 4, "quote", 20, 2, 21, 1),
        ("l3", "X", 7, 5, "delete", 1),
        ("l2", "X", 5, 5, "level", BUY, 20, 0, 0, True),
        ("l1", "X", 5, 5, "quote", None, 0, 21, 1),
    ]
    ex.apply({"cmd": "halt", "ts": 6, "symbol": "X"})
    assert feed.take() == [("trades", "X", 3, 6, "status", "halted", "manual")]
    assert feed.snapshot("X", "l2") == ("l2", "X", 5, 6, "snapshot", [], [(21, 1, 1)])
    assert feed.snapshot("X", "l3") == ("l3", "X", 7, 6, "snapshot", [], [(21, [(2, 1)])])
    assert feed.heartbeats(7)[:2] == [("l1", "X", 5, 7, "heartbeat"), ("l2", "X", 5, 7, "heartbeat")]


def test_channels_are_chosen_and_checked() -> None:
    feed = MarketDataFeed(("trades",))
    ex = _exchange(feed)
    ex.apply(_new("a", "buy", "10", "3", 1))
    assert feed.take() == []
    with pytest.raises(ValueError, match="unknown channels"):
        MarketDataFeed(("l2", "l4"))
    with pytest.raises(ValueError, match="no snapshot"):
        feed.snapshot("X", "trades")


def test_attach_to_a_running_engine_starts_from_its_book() -> None:
    ex = Exchange()
    ex.apply({"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1"})
    ex.apply(_new("a", "buy", "10", "3", 1))
    ex.apply(_new("b", "buy", "10", "4", 1))
    feed = MarketDataFeed(("l1", "l2", "l3"))
    feed.attach(ex)
    assert feed.take() == []  # nothing published: a consumer starts from a snapshot
    assert feed.snapshot("X", "l3")[5:] == ([(10, [(1, 3), (2, 4)])], [])
    ex.apply({"cmd": "cancel", "ts": 2, "user": "u", "id": "a"})
    assert [m[4:] for m in feed.take()] == [
        ("delete", 1), ("level", BUY, 10, 4, 1, True), ("quote", 10, 4, None, 0),
    ]


def _l2(seq: int, price: int, qty: int) -> tuple[Any, ...]:
    return ("l2", "X", seq, 0, "level", BUY, price, qty, 1 if qty else 0, True)


def test_replica_gap_buffer_and_resync() -> None:
    r = L2Replica("X", from_start=True)
    assert r.on_message(_l2(1, 10, 5))
    assert r.on_message(_l2(1, 10, 5))  # a duplicate is ignored
    assert not r.on_message(_l2(3, 11, 1))  # 2 was lost
    assert (r.synced, r.gaps, r.seq) == (False, 1, 1)
    assert not r.on_message(_l2(4, 12, 1))  # kept, not applied
    assert r.depth(BUY) == [(10, 5, 1)]
    # A snapshot older than the hole does not help: still out of sync.
    assert not r.on_snapshot(("l2", "X", 1, 0, "snapshot", [(10, 5, 1)], []))
    # One as of 3: loaded, then 4 from what was kept.
    assert r.on_snapshot(("l2", "X", 3, 0, "snapshot", [(11, 1, 1), (10, 5, 1)], []))
    assert (r.synced, r.seq) == (True, 4)
    assert r.depth(BUY) == [(12, 1, 1), (11, 1, 1), (10, 5, 1)]
    # A loss at the tail shows on the heartbeat.
    assert not r.on_message(("l2", "X", 6, 0, "heartbeat"))
    assert (r.synced, r.gaps) == (False, 2)


def test_late_joiner_and_bounded_buffer() -> None:
    r = L2Replica("X", max_buffer=2)
    for seq in (5, 6, 7):
        assert not r.on_message(_l2(seq, 10, seq))
    # Only the last two (6, 7) were kept, so a snapshot as of 4 leaves a hole at 5 ...
    assert not r.on_snapshot(("l2", "X", 4, 0, "snapshot", [(10, 4, 1)], []))
    # ... and one as of 6 joins up.
    assert r.on_snapshot(("l2", "X", 6, 0, "snapshot", [(10, 6, 1)], []))
    assert r.depth(BUY) == [(10, 7, 1)]
    with pytest.raises(ValueError, match="replica"):
        r.on_message(("l3", "X", 8, 0, "delete", 1))


def test_l3_and_l1_replicas() -> None:
    r = L3Replica("X", from_start=True)
    for m in [("l3", "X", 1, 0, "add", 7, SELL, 21, 4), ("l3", "X", 2, 0, "add", 8, SELL, 21, 1),
              ("l3", "X", 3, 0, "exec", 7, 4, 21, 1), ("l3", "X", 4, 0, "add", 7, SELL, 21, 3),
              ("l3", "X", 5, 0, "modify", 7, 2)]:
        assert r.on_message(m)
    assert r.queue(SELL) == [(21, [(8, 1), (7, 2)])]
    assert r.depth(SELL) == [(21, 3, 2)]
    q = L1Replica("X")
    assert q.on_message(("l1", "X", 4, 0, "quote", 20, 1, 21, 3))  # a quote is whole: no resync
    assert q.on_message(("l1", "X", 6, 0, "quote", 20, 1, 22, 3))
    assert (q.quote, q.gaps) == ((20, 1, 22, 3), 1)


def test_events_source_needs_whole_units() -> None:
    feed = MarketDataFeed(("l2",))
    u = Units("0.5", "1")
    ev = {"type": "accepted", "ts": 1, "symbol": "X", "order_id": 1, "qty": "3",
          "rests": [{"order_id": 1, "side": "buy", "price": "10.25", "qty": "3"}]}
    with pytest.raises(ValueError, match="whole number of ticks"):
        feed.on_events([ev], {"X": u})
