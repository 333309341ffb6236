"""Which engine process gets a command when symbols are sharded (server/shards.py)."""

from __future__ import annotations

import zlib

from hftbook.server.shards import Placement, order_ids, shard_of


def _two_symbols_on_different_engines(n: int) -> tuple[str, str]:
    names = [f"S{i}" for i in range(50)]
    a = names[0]
    b = next(s for s in names if shard_of(s, n) != shard_of(a, n))
    return a, b


def test_shard_is_a_stable_hash_not_pythons() -> None:
    assert shard_of("BTC-USD", 4) == zlib.crc32(b"BTC-USD") % 4
    assert shard_of("BTC-USD", 1) == 0
    assert shard_of(None, 4) == 0  # not a symbol: engine 0 refuses it


def test_order_ids_of_lists() -> None:
    assert order_ids({"cmd": "new", "id": 7}) == [7]
    assert order_ids({"cmd": "oco", "orders": [{"id": "a"}, {"id": "b"}]}) == ["a", "b"]
    assert order_ids({"cmd": "bracket", "entry": {"id": "e"}, "stop_loss": {"id": "s"}}) == ["e", "s"]
    assert order_ids({"cmd": "oco", "orders": "junk"}) == []


def test_routes() -> None:
    n = 3
    a, b = _two_symbols_on_different_engines(n)
    p = Placement(n)
    assert p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": a}) == [shard_of(a, n)]
    assert p.targets({"cmd": "cancel", "user": "u", "id": 1}) == [shard_of(a, n)]
    assert p.targets({"cmd": "modify", "user": "u", "id": 1}) == [shard_of(a, n)]
    assert p.targets({"cmd": "cancel", "user": "u", "id": 2}) == [0]  # unknown: engine 0 says so
    assert p.targets({"cmd": "cancel", "user": "v", "id": 1}) == [0]  # another user's id
    assert p.targets({"cmd": "cancel_all", "user": "u"}) == [0, 1, 2]
    assert p.targets({"cmd": "cancel_all", "user": "u", "symbol": b}) == [shard_of(b, n)]
    for name in ("tick", "end_of_day", "limits", "kill_switch"):
        assert p.targets({"cmd": name}) == [0, 1, 2]
    for name in ("halt", "resume", "book", "metrics", "instrument"):
        assert p.targets({"cmd": name, "symbol": b}) == [shard_of(b, n)]
    assert p.targets({"cmd": "nonsense"}) == [0]
    assert p.targets(["not", "an", "object"]) == [0]
    assert p.targets({"cmd": "cancel", "user": "u", "id": [1]}) == [0]  # unhashable id


def test_one_engine_gets_everything() -> None:
    p = Placement(1)
    assert p.targets({"cmd": "cancel_all", "user": "u"}) == [0]
    assert p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": "X"}) == [0]
    assert p.where == {}


def test_a_live_id_placed_on_another_engine_is_marked_taken() -> None:
    n = 2
    a, b = _two_symbols_on_different_engines(n)
    p = Placement(n)
    p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": a})
    assert p.taken == []
    assert p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": b}) == [shard_of(b, n)]
    assert p.taken == [1]
    assert p.where[("u", 1)][0] == shard_of(a, n)  # a refused command places nothing
    assert p.targets({"cmd": "oco", "user": "u", "symbol": b, "orders": [{"id": 9}, {"id": 1}]}) == [
        shard_of(b, n)]
    assert p.taken == [1] and ("u", 9) not in p.where
    # The same symbol's engine refuses a duplicate itself: nothing to mark.
    assert p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": a}) == [shard_of(a, n)]
    assert p.taken == []


def test_ended_forgets_only_what_no_later_command_placed() -> None:
    n = 2
    a, b = _two_symbols_on_different_engines(n)
    ka = shard_of(a, n)
    p = Placement(n)
    p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": a})  # index 0 on engine ka
    p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": a})  # index 1: the id placed again
    p.ended([["u", 1]], ka, 0)  # the first one's result says it ended: the second still lives
    assert p.targets({"cmd": "cancel", "user": "u", "id": 1}) == [ka]
    p.ended([["u", 1]], 1 - ka, 5)  # another engine's word changes nothing
    assert ("u", 1) in p.where
    p.ended([["u", 1]], ka, 2)  # the cancel's result
    assert ("u", 1) not in p.where
    assert p.targets({"cmd": "new", "user": "u", "id": 1, "symbol": b}) == [shard_of(b, n)]
