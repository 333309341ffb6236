"""Snapshot, restore and state hash: exact round trips and behaviour after restore."""

import json
import subprocess
import sys

from hftbook.core.exchange import Exchange

SETUP = [
    {"cmd": "instrument", "symbol": "A", "tick_size": "0.01", "lot_size": "1", "ts": 1},
    {"cmd": "instrument", "symbol": "B", "tick_size": "0.5", "lot_size": "0.1", "ts": 1},
    {"cmd": "new", "user": "u1", "id": "1", "symbol": "A", "side": "buy", "type": "limit",
     "price": "10.00", "qty": "5", "tif": "gtd", "expire_ts": 100},
    {"cmd": "new", "user": "u2", "id": 1, "symbol": "A", "side": "buy", "type": "limit",
     "price": "10.00", "qty": "3", "tif": "day"},
    {"cmd": "new", "user": "u1", "id": "2", "symbol": "A", "side": "sell", "type": "limit",
     "price": "10.05", "qty": "2", "post_only": True, "stp": "cancel_both"},
    {"cmd": "new", "user": "u3", "id": "x", "symbol": "B", "side": "sell", "type": "limit",
     "price": "7.5", "qty": "0.3"},
    {"cmd": "modify", "user": "u1", "id": "1", "qty": "4"},  # keeps priority
    {"cmd": "halt", "symbol": "B"},
]

FOLLOW_UP = [
    {"cmd": "new", "user": "u9", "id": "s", "symbol": "A", "side": "sell", "type": "market",
     "qty": "6", "ts": 50},
    {"cmd": "resume", "symbol": "B"},
    {"cmd": "new", "user": "u9", "id": "t", "symbol": "B", "side": "buy", "type": "limit",
     "price": "8", "qty": "0.1"},
    {"cmd": "tick", "ts": 100},
    {"cmd": "end_of_day"},
    {"cmd": "book", "symbol": "A"},
]


def build() -> Exchange:
    ex = Exchange()
    for cmd in SETUP:
        ex.apply(dict(cmd))
    return ex


def test_restore_round_trips_hash_and_behaviour() -> None:
    ex = build()
    snap = ex.snapshot()
    json.dumps(snap)  # JSON-able
    twin = Exchange.restore(json.loads(json.dumps(snap)))
    assert twin.state_hash() == ex.state_hash()
    assert twin.snapshot() == snap
    for cmd in FOLLOW_UP:
        assert twin.apply(dict(cmd)) == ex.apply(dict(cmd))
        assert twin.state_hash() == ex.state_hash()


def test_hash_changes_with_state_and_priority() -> None:
    a, b = build(), build()
    assert a.state_hash() == b.state_hash()
    b.apply({"cmd": "modify", "user": "u1", "id": "1", "qty": "5"})  # raise: loses priority
    assert a.state_hash() != b.state_hash()


def test_hash_is_stable_across_processes_and_hash_seeds() -> None:
    code = (
        "import json,sys; sys.path.insert(0, 'tests/unit');"
        "from test_state import build; print(build().state_hash())"
    )
    hashes = set()
    for seed in ("0", "1", "4242"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": seed, "PATH": ""})
        hashes.add(out.stdout.strip())
    assert hashes == {build().state_hash()}


def test_restore_refuses_unknown_version() -> None:
    import pytest

    snap = build().snapshot()
    snap["version"] = 99
    with pytest.raises(ValueError, match="version"):
        Exchange.restore(snap)
