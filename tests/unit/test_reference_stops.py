"""Stop orders in the naive reference exchange, on small cases checked by hand.

The reference is the oracle of the property tests, so its stops are pinned down here on their
own, from docs/PROTOCOL.md ("Stops") and shared/CONTRACT.md rules 9-11, without the fast
engine. Symbol X has tick 1 and lot 1 so that prices read as plain integers.
"""

from __future__ import annotations

from typing import Any

import pytest

from hftbook.core.reference import ReferenceExchange

Cmd = dict[str, Any]


def new(user: str, cid: str, side: str, otype: str, qty: int, **fields: Any) -> Cmd:
    cmd: Cmd = {"cmd": "new", "ts": fields.pop("ts", 1), "user": user, "id": cid, "symbol": "X",
                "side": side, "type": otype, "qty": str(qty)}  # fmt: skip
    for key, value in fields.items():  # prices as decimal strings; bools and expire_ts as is
        plain = isinstance(value, bool) or not isinstance(value, int) or key == "expire_ts"
        cmd[key] = value if plain else str(value)
    return cmd


def limit(user: str, cid: str, side: str, qty: int, price: int, **fields: Any) -> Cmd:
    return new(user, cid, side, "limit", qty, price=price, **fields)


def exchange(*cmds: Cmd) -> ReferenceExchange:
    ex = ReferenceExchange()
    ex.apply({"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1"})
    for cmd in cmds:
        ex.apply(cmd)
    return ex


def brief(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each event as (type, id or (maker id, taker id), the one detail that matters)."""
    out: list[tuple[Any, ...]] = []
    for ev in events:
        t = ev["type"]
        if t == "trade":
            out.append((t, (ev["maker"]["id"], ev["taker"]["id"]), ev["price"], ev["qty"]))
        elif t in ("rejected", "cancelled"):
            out.append((t, ev.get("id"), ev["reason"]))
        elif t == "triggered":
            out.append((t, ev["id"], ev["trigger_price"]))
        else:
            out.append((t, ev.get("id")))
    return out


def test_accepted_event_layout() -> None:
    ex = exchange()
    (ev,) = ex.apply(new("a", "t", "buy", "trailing_stop_limit", 2, trail_pct="1.50",
                         limit_offset="0", tif="gtd", expire_ts=9, post_only=True))  # fmt: skip
    assert list(ev) == ["type", "ts", "user", "id", "symbol", "order_id", "side", "order_type",
                        "price", "qty", "tif", "post_only", "stp", "expire_ts", "trail_pct",
                        "limit_offset"]  # fmt: skip
    assert (ev["price"], ev["trail_pct"], ev["limit_offset"]) == (None, "1.5", "0")
    (ev,) = ex.apply(new("a", "s", "sell", "stop_limit", 1, trigger_price=5, price=4))
    assert (ev["price"], ev["trigger_price"], list(ev)[-1]) == ("4", "5", "trigger_price")


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        (new("a", "x", "buy", "stop", 1), "bad_command"),  # no trigger_price
        (new("a", "x", "buy", "stop", 1, trigger_price=5, price=5), "bad_command"),
        (new("a", "x", "buy", "stop_limit", 1, trigger_price=5), "bad_command"),  # no price
        (new("a", "x", "buy", "trailing_stop", 1, trail_amount=1, trail_pct="1"), "bad_command"),
        (new("a", "x", "buy", "trailing_stop_limit", 1, trail_amount=1), "bad_command"),
        (new("a", "x", "buy", "stop", 1, trigger_price=5, post_only=True), "bad_command"),
        (new("a", "x", "buy", "stop_limit", 1, trigger_price=5, price=5, post_only=True,
             tif="ioc"), "bad_command"),
        (new("a", "x", "buy", "stop", 1, trigger_price=5, display_qty="1"), "bad_command"),
        (new("a", "x", "buy", "stop_limit", 0, trigger_price="0.5", price=0), "bad_qty"),
        (new("a", "x", "buy", "stop_limit", 1, trigger_price="0.5", price=5), "bad_price"),
        (new("a", "x", "buy", "trailing_stop", 1, trail_amount="0"), "bad_price"),
        (new("a", "x", "buy", "trailing_stop", 1, trail_pct="100"), "bad_price"),
        (new("a", "x", "buy", "trailing_stop_limit", 1, trail_pct="5", limit_offset="-1"),
         "bad_price"),
        (new("a", "b1", "buy", "stop", 1, trigger_price=50), "duplicate_id"),  # b1 rests
        (new("a", "x", "buy", "stop", 1, trigger_price=10), "stop_would_trigger"),  # last 10
        (new("a", "x", "sell", "stop", 1, trigger_price=10), "stop_would_trigger"),
        (new("a", "x", "buy", "stop", 1, trigger_price=5, tif="gtd", expire_ts=1), "expired"),
    ],
)
def test_rejections(cmd: Cmd, reason: str) -> None:
    ex = exchange(limit("a", "b1", "buy", 5, 9), limit("m", "s1", "sell", 1, 10),
                  limit("t", "t1", "buy", 1, 10))  # fmt: skip  (one trade: last = 10)
    assert brief(ex.apply(cmd)) == [("rejected", cmd["id"], reason)]


def test_nothing_holds_before_the_first_trade_and_trailing_never_holds() -> None:
    ex = exchange()
    assert brief(ex.apply(new("a", "s", "buy", "stop", 1, trigger_price=1)))[0][0] == "accepted"
    ex = exchange(limit("m", "s1", "sell", 1, 10), limit("t", "t1", "buy", 1, 10))
    for cid, side in (("b", "buy"), ("s", "sell")):
        ev = ex.apply(new("a", cid, side, "trailing_stop", 1, trail_amount=1))
        assert brief(ev) == [("accepted", cid)]


def test_cascade_releases_lowest_order_id_first() -> None:
    ex = exchange(
        limit("a", "b1", "buy", 1, 100), limit("a", "b2", "buy", 1, 99),
        limit("a", "b3", "buy", 3, 98), limit("a", "a1", "sell", 1, 105),
        new("c", "s9", "sell", "stop", 1, trigger_price=98),
        new("c", "s8", "sell", "stop_limit", 2, trigger_price=99, price=97, tif="day"),
        new("c", "s7", "sell", "trailing_stop_limit", 1, trail_amount=1, limit_offset=2,
            tif="ioc"),
        new("d", "m1", "sell", "market", 1),  # prints 100: s7's reference
    )  # fmt: skip
    # Prints 99: s8 and s7 fire. s8 (older) sells to 98 and fires s9, which is older than s7
    # and so goes next; s7 becomes an IOC sell at 99 - 2 = 97 with nothing left to hit.
    assert brief(ex.apply(limit("d", "m2", "sell", 1, 99, ts=4))) == [
        ("accepted", "m2"),
        ("trade", ("b2", "m2"), "99", "1"),
        ("triggered", "s8", "99"),
        ("trade", ("b3", "s8"), "98", "2"),
        ("triggered", "s9", "98"),
        ("trade", ("b3", "s9"), "98", "1"),
        ("triggered", "s7", "99"),
        ("cancelled", "s7", "ioc"),
    ]


def test_trailing_levels_and_release_failures() -> None:
    ex = exchange(
        limit("m", "a1", "sell", 10, 3), limit("m", "b1", "buy", 10, 2),
        limit("t", "x1", "buy", 1, 3),  # prints 3
        new("c", "tsl", "sell", "trailing_stop_limit", 1, trail_amount=1, limit_offset=5),
        new("c", "tpb", "buy", "trailing_stop", 1, trail_pct="10"),
        new("c", "tps", "sell", "trailing_stop", 1, trail_pct="40"),
    )  # fmt: skip
    # Print 2: tsl's level is 3 - 1 = 2 and fires; its limit 2 - 5 is raised to one tick.
    # tps: floor(3 x 0.6) = 1, does not fire; tpb's reference drops to 2: ceil(2.2) = 3.
    assert brief(ex.apply(limit("t", "x2", "sell", 1, 2)))[2:] == [
        ("triggered", "tsl", "2"),
        ("trade", ("b1", "tsl"), "2", "1"),
    ]
    for cmd in (
        new("p", "po", "buy", "stop_limit", 1, trigger_price=3, price=3, post_only=True),
        new("m", "sb", "buy", "stop_limit", 2, trigger_price=3, price=3, stp="decrement"),
        new("p", "fk", "buy", "stop", 50, trigger_price=3, tif="fok"),
        new("p", "rest", "buy", "stop_limit", 20, trigger_price=3, price=3),
    ):
        assert brief(ex.apply(cmd)) == [("accepted", cmd["id"])]
    assert brief(ex.apply(limit("t", "x3", "buy", 1, 3)))[2:] == [
        ("triggered", "tpb", "3"),
        ("trade", ("a1", "tpb"), "3", "1"),
        ("triggered", "po", "3"),
        ("cancelled", "po", "post_only"),
        ("triggered", "sb", "3"),
        ("modified", "a1"),  # STP decrement of the maker (7 -> 5) and the taker (to zero)
        ("cancelled", "sb", "stp"),
        ("triggered", "fk", "3"),
        ("cancelled", "fk", "fok"),
        ("triggered", "rest", "3"),
        ("trade", ("a1", "rest"), "3", "5"),
    ]
    # The released stop-limit rests with its trigger time; a later order queues behind it.
    ex.apply(limit("r", "r1", "buy", 1, 3))
    assert ex.levels_view("X", True)[0] == (3, 16, 2, [(11, 15), (13, 1)])


def test_a_waiting_stop_is_a_live_order_outside_the_book() -> None:
    ex = exchange(
        new("a", "g2", "buy", "stop", 1, trigger_price=200, tif="gtd", expire_ts=5),
        limit("a", "g3", "buy", 1, 50, tif="gtd", expire_ts=5),
        new("a", "g4", "buy", "stop", 1, trigger_price=200, tif="gtd", expire_ts=4),
        new("a", "d1", "sell", "stop", 1, trigger_price=1, tif="day"),
        new("a", "k1", "sell", "trailing_stop", 1, trail_amount=1),
    )  # fmt: skip
    assert ex.levels_view("X", True) == [(50, 1, 1, [(2, 1)])]
    redefine = {"cmd": "instrument", "ts": 2, "symbol": "X", "tick_size": "2", "lot_size": "1"}
    assert brief(ex.apply(redefine)) == [("rejected", None, "instrument_busy")]
    assert brief(ex.apply({"cmd": "modify", "ts": 2, "user": "a", "id": "k1", "qty": "3"})) == [
        ("rejected", "k1", "unknown_order")
    ]
    assert brief(ex.apply({"cmd": "tick", "ts": 5})) == [
        ("cancelled", "g4", "expired"),
        ("cancelled", "g2", "expired"),
        ("cancelled", "g3", "expired"),
    ]
    assert brief(ex.apply({"cmd": "end_of_day", "ts": 6})) == [("cancelled", "d1", "expired")]
    ex.apply(new("a", "k2", "buy", "stop", 1, trigger_price=9, ts=6))
    assert brief(ex.apply({"cmd": "cancel_all", "ts": 7, "user": "a"})) == [
        ("cancelled", "k1", "mass_cancel"),
        ("cancelled", "k2", "mass_cancel"),
    ]
