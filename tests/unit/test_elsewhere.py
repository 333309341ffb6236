"""`live_elsewhere` (core/elsewhere.py): ids live on another engine count as live for one
command, so it is refused exactly where one exchange would refuse it, and nothing stays."""

from __future__ import annotations

from typing import Any

from hftbook.core.exchange import Exchange


def _ex() -> Exchange:
    ex = Exchange()
    ex.apply({"cmd": "instrument", "symbol": "X", "tick_size": "1", "lot_size": "1", "ts": 1})
    return ex


def _new(cid: Any = 7, **more: Any) -> dict[str, Any]:
    return {"cmd": "new", "user": "u", "id": cid, "symbol": "X", "side": "buy", "type": "limit",
            "price": "10", "qty": "1", "ts": 2, "live_elsewhere": [7], **more}


def _reason(events: list[dict[str, Any]]) -> str:
    assert [e["type"] for e in events] == ["rejected"], events
    return str(events[0]["reason"])


def test_a_held_id_is_a_duplicate_after_the_earlier_checks_and_changes_nothing() -> None:
    ex, ref = _ex(), _ex()
    ref.apply({"cmd": "tick", "ts": 2})  # the refusals below only move the time
    assert _reason(ex.apply(_new())) == "duplicate_id"
    assert _reason(ex.apply(_new(qty="0"))) == "bad_qty"  # checked before the duplicate
    assert _reason(ex.apply(_new(symbol="NOPE"))) == "unknown_symbol"
    assert ex.live == {} and ex.state_hash() == ref.state_hash()
    ex.apply({"cmd": "halt", "symbol": "X", "ts": 3})
    assert _reason(ex.apply(_new(ts=4))) == "duplicate_id"  # the duplicate comes before the halt


def test_other_ids_and_lists() -> None:
    ex = _ex()
    assert [e["type"] for e in ex.apply(_new(cid=8))] == ["accepted"]  # 7 is held, 8 is not
    oco = {"cmd": "oco", "user": "u", "symbol": "X", "side": "buy", "ts": 3, "live_elsewhere": [7],
           "orders": [{"id": 9, "type": "limit", "price": "9", "qty": "1"},
                      {"id": 7, "type": "limit", "price": "8", "qty": "1"}]}
    assert _reason(ex.apply(oco)) == "duplicate_id"
    assert set(ex.live["u"]) == {8}


def test_a_held_id_counts_toward_the_open_order_limit() -> None:
    ex = _ex()
    ex.apply({"cmd": "limits", "user": "u", "max_open_orders": 1, "ts": 2})
    # One exchange would hold the other engine's order 7: a new 8 is one too many.
    refused = ex.apply({**_new(cid=8), "ts": 3})
    assert _reason(refused) != "duplicate_id" and ex.live.get("u", {}) == {}
    assert [e["type"] for e in ex.apply({**_new(cid=8), "ts": 4, "live_elsewhere": []})] == ["accepted"]


def test_replay_holds_the_same_and_malformed_fields_hold_nothing() -> None:
    a, b = _ex(), _ex()
    for cmd in (_new(), _new(cid=8, live_elsewhere=[8]), _new(cid=9, live_elsewhere="junk"),
                _new(cid=10, live_elsewhere=[[1]])):
        a.apply(dict(cmd))
        b.apply_quiet(dict(cmd))
    assert a.state_hash() == b.state_hash()
    assert set(a.live["u"]) == {9, 10}
