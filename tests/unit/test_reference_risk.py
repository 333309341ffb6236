"""Risk controls in the naive reference exchange, on small cases checked by hand.

The reference is the oracle of the property tests, so its risk controls are pinned down here on
their own, from docs/PROTOCOL.md ("Risk settings of an instrument", "``limits`` and
``kill_switch``", "Where the risk checks run"), without the fast engine: every check at, just
under and just over its limit, the token bucket refilling over ts (in ns), the kill switch,
market protection, and the order of the checks among themselves and among the other
rejections. Symbol X has tick 1 and lot 1 so that prices read as plain integers; Y has tick
0.01 and lot 0.1 for the exact decimal arithmetic. Every scenario file (the ``x_risk_*`` ones
included) is fed to the reference by ``tests/scenarios/test_scenarios.py``.
"""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from reference_commands import instrument, kill, limit, limits, market, modify, new

from hftbook.core.reference import ReferenceExchange
from hftbook.core.reference.model import UserRisk

Cmd = dict[str, Any]
Event = dict[str, Any]

SECOND = 10**9  # ts is in ns


# -- helpers ------------------------------------------------------------------------------------


def exchange(*cmds: Cmd, **risk: Any) -> ReferenceExchange:
    """X (tick 1, lot 1) with the given risk settings, then the commands, each of which must
    not be rejected (a test sends the ones it expects refused itself)."""
    ex = ReferenceExchange()
    for cmd in (instrument(**risk), *cmds):
        rejected = [ev for ev in ex.apply(cmd) if ev["type"] == "rejected"]
        assert not rejected, (cmd, rejected)
    return ex


def settings(ex: ReferenceExchange, symbol: str = "X", tick: str = "1", lot: str = "1", **risk: Any) -> None:
    """Replace the symbol's risk settings (same tick and lot, so allowed with live orders)."""
    assert ex.apply(instrument(symbol, tick, lot, ts=ex.ts, **risk)) == []


def brief(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as (type, id or (maker id, taker id), the one detail that matters)."""
    out: list[tuple[Any, ...]] = []
    for ev in events:
        t = ev["type"]
        if t == "trade":
            out.append((t, (ev["maker"]["id"], ev["taker"]["id"]), ev["price"], ev["qty"]))
        elif t == "rejected":
            out.append((t, ev.get("id"), ev["reason"]))
        elif t == "cancelled":
            out.append((t, ev["id"], ev["reason"], ev["remaining"]))
        elif t == "triggered":
            out.append((t, ev["id"], ev["trigger_price"]))
        elif t in ("kill_switch", "limits"):
            out.append((t, ev["user"]))
        else:
            out.append((t, ev.get("id")))
    return out


def outcome(events: list[Event]) -> str:
    """The reason if the command was rejected, else the type of its first event."""
    first = events[0]
    return str(first["reason"] if first["type"] == "rejected" else first["type"])


# -- the instrument's risk fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_qty", "abc"),
        ("max_qty", True),
        ("max_notional", [1]),
        ("price_collar_pct", "1_0"),
        ("reference_price", {"p": 1}),
        ("market_protection_ticks", 1.0),
        ("market_protection_ticks", "2"),
        ("market_protection_ticks", True),
    ],
)
def test_a_risk_field_of_the_wrong_type_is_bad_command(field: str, value: Any) -> None:
    ex = ReferenceExchange()
    assert brief(ex.apply(instrument(**{field: value}))) == [("rejected", None, "bad_command")]
    assert ex.symbols() == []  # nothing was defined


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("min_qty", "0", "bad_qty"),
        ("min_qty", "-1", "bad_qty"),
        ("min_qty", "0.5", "bad_qty"),  # not a lot multiple
        ("max_qty", "9223372036854775808", "bad_qty"),  # 2**63 lots
        ("max_notional", "0", "bad_price"),
        ("max_notional", "-0.01", "bad_price"),
        ("price_collar_pct", "0", "bad_price"),
        ("price_collar_pct", "100.000001", "bad_price"),
        ("price_collar_pct", "0.0000001", "bad_price"),  # 7 places
        ("price_collar_pct", "-5", "bad_price"),
        ("reference_price", "0.5", "bad_price"),  # not a tick multiple
        ("reference_price", "0", "bad_price"),
        ("market_protection_ticks", -1, "bad_price"),
        ("market_protection_ticks", 2**63, "bad_price"),
    ],
)
def test_a_risk_field_out_of_range(field: str, value: Any, reason: str) -> None:
    ex = ReferenceExchange()
    assert brief(ex.apply(instrument(**{field: value}))) == [("rejected", None, reason)]
    assert ex.symbols() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"price_collar_pct": "100"},
        {"price_collar_pct": "0.000001"},
        {"price_collar_pct": "1.2500000000"},  # trailing zeros are no places
        {"price_collar_pct": 5},
        {"market_protection_ticks": 0},
        {"market_protection_ticks": 2**63 - 1},
        {"max_notional": "1e-30"},  # any positive decimal, not a tick or lot multiple
        {"min_qty": "3", "max_qty": "3"},
        {"min_qty": "4", "max_qty": "3"},  # allowed: every order then fails one of them
        dict.fromkeys(("min_qty", "max_qty", "max_notional", "price_collar_pct", "reference_price",
                       "market_protection_ticks")),  # every field null: all off
    ],
)
def test_risk_fields_at_the_edges_of_their_ranges(fields: Cmd) -> None:
    ex = ReferenceExchange()
    assert ex.apply(instrument(**fields)) == []
    assert ex.symbols() == ["X"]


@pytest.mark.parametrize(
    ("fields", "reason", "names"),
    [
        # Every field of the wrong type (bad_command) before any out of range.
        ({"tick_size": "0", "min_qty": "abc"}, "bad_command", "min_qty"),
        ({"min_qty": "0", "market_protection_ticks": "1"}, "bad_command", "market_protection_ticks"),
        # Then the tick, then the lot, then the risk fields in the table's order.
        ({"tick_size": "0", "min_qty": "0"}, "bad_price", "tick_size"),
        ({"lot_size": "0", "max_notional": "0"}, "bad_qty", "lot_size"),
        ({"max_qty": "0", "max_notional": "0"}, "bad_qty", "max_qty"),
        ({"max_notional": "0", "min_qty": "1"}, "bad_price", "max_notional"),
        ({"price_collar_pct": "101", "reference_price": "0"}, "bad_price", "price_collar_pct"),
        ({"reference_price": "0", "market_protection_ticks": -1}, "bad_price", "reference_price"),
    ],
)
def test_instrument_checks_in_order(fields: Cmd, reason: str, names: str) -> None:
    ex = ReferenceExchange()
    (ev,) = ex.apply({**instrument(), **fields})
    assert (ev["reason"], names in ev["message"]) == (reason, True)


def test_ranges_are_read_in_the_commands_own_tick_and_lot() -> None:
    ex = exchange()
    assert outcome(ex.apply(instrument(tick="0.5", lot="2", min_qty="3"))) == "bad_qty"
    assert outcome(ex.apply(instrument(tick="0.5", lot="2", reference_price="1.25"))) == "bad_price"
    assert ex.apply(instrument(tick="0.5", lot="2", min_qty="4", reference_price="1.5")) == []
    assert outcome(ex.apply(limit("a", "a1", "buy", 2, "1.5"))) == "qty_too_small"
    assert outcome(ex.apply(limit("a", "a2", "buy", 4, "1.5"))) == "accepted"


def test_settings_replace_all_at_once_even_with_live_orders_but_not_when_busy() -> None:
    ex = exchange(limit("a", "a1", "buy", 5, 100), max_qty="5", min_qty="2")
    # A new tick with a live order (instrument_busy), or a field out of range: the settings
    # stay as they were.
    assert outcome(ex.apply(instrument(tick="2", max_qty="10"))) == "instrument_busy"
    assert outcome(ex.apply(instrument(max_qty="10", max_notional="0"))) == "bad_price"
    assert outcome(ex.apply(limit("a", "a2", "buy", 6, 100))) == "qty_too_large"
    # Same tick and lot: the settings are replaced whole (min_qty goes, as it is not given).
    settings(ex, max_qty="10")
    assert outcome(ex.apply(limit("a", "a3", "buy", 1, 100))) == "accepted"
    assert outcome(ex.apply(limit("a", "a4", "buy", 11, 100))) == "qty_too_large"
    settings(ex)  # no field at all: every check off
    assert outcome(ex.apply(limit("a", "a5", "buy", 1000, 100))) == "accepted"
    assert [o for _p, _q, _c, members in ex.levels_view("X", True) for o in members] == [
        (1, 5), (2, 1), (3, 1000)
    ]  # fmt: skip


# -- min_qty, max_qty ---------------------------------------------------------------------------


_QTY_ORDERS = {
    "limit": lambda q: limit("a", "o", "buy", q, 90),
    "market": lambda q: market("a", "o", "buy", q),
    "stop": lambda q: new("a", "o", "buy", "stop", q, trigger_price=200),
    "stop_limit": lambda q: new("a", "o", "buy", "stop_limit", q, trigger_price=200, price=200),
    "trailing_stop": lambda q: new("a", "o", "sell", "trailing_stop", q, trail_amount=5),
    "trailing_stop_limit": lambda q: new(
        "a", "o", "sell", "trailing_stop_limit", q, trail_pct="1", limit_offset=0
    ),
    "iceberg": lambda q: limit("a", "o", "buy", q, 90, display_qty="1"),  # its whole qty counts
}


@pytest.mark.parametrize("otype", list(_QTY_ORDERS))
@pytest.mark.parametrize(
    ("qty", "result"),
    [(1, "qty_too_small"), (2, "accepted"), (5, "accepted"), (6, "qty_too_large")],
)
def test_qty_limits_for_every_order_type(otype: str, qty: int, result: str) -> None:
    ex = exchange(limit("m", "ask", "sell", 10, 100))  # something for the market orders
    settings(ex, min_qty="2", max_qty="5")
    assert outcome(ex.apply(_QTY_ORDERS[otype](qty))) == result


# -- price collar -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pct", "price", "result"),
    [
        ("10", 111, "price_out_of_collar"),
        ("10", 110, "accepted"),  # |110 - 100| * 100 = 1000 = 100 * 10: at the limit passes
        ("10", 90, "accepted"),
        ("10", 89, "price_out_of_collar"),
        ("2.5", 102, "accepted"),  # 200 <= 250
        ("2.5", 103, "price_out_of_collar"),  # 300 > 250
        ("2.5", 98, "accepted"),
        ("2.5", 97, "price_out_of_collar"),
        ("100", 200, "accepted"),
        ("100", 201, "price_out_of_collar"),
    ],
)
@pytest.mark.parametrize("side", ["buy", "sell"])
def test_collar_around_the_reference_price(pct: str, price: int, result: str, side: str) -> None:
    ex = exchange(price_collar_pct=pct, reference_price="100")
    assert outcome(ex.apply(limit("a", "o", side, 1, price))) == result


def test_collar_in_decimal_ticks() -> None:
    ex = ReferenceExchange()
    assert ex.apply(instrument("Y", "0.01", "0.1", price_collar_pct="0.5", reference_price="10")) == []
    for price, result in (("10.05", "accepted"), ("10.06", "price_out_of_collar"),
                          ("9.95", "accepted"), ("9.94", "price_out_of_collar")):  # fmt: skip
        assert outcome(ex.apply(limit("a", price, "buy", "0.1", price, symbol="Y"))) == result


def test_collar_against_the_last_trade_and_without_a_reference() -> None:
    ex = exchange(price_collar_pct="10")
    # No trade yet and no reference_price: nothing to collar against.
    assert outcome(ex.apply(limit("a", "far", "buy", 1, 1000 * 1000, ts=1))) == "accepted"
    ex.apply({"cmd": "cancel", "ts": 1, "user": "a", "id": "far"})
    ex.apply(limit("m", "m1", "sell", 1, 50))
    ex.apply(limit("t", "t1", "buy", 1, 50))  # prints 50
    for price, result in ((56, "price_out_of_collar"), (55, "accepted"), (45, "accepted"),
                          (44, "price_out_of_collar")):  # fmt: skip
        assert outcome(ex.apply(limit("a", f"p{price}", "buy", 1, price))) == result
    # A reference_price takes the last trade's place.
    settings(ex, price_collar_pct="10", reference_price="100")
    assert outcome(ex.apply(limit("a", "q55", "buy", 1, 55))) == "price_out_of_collar"
    assert outcome(ex.apply(limit("a", "q90", "buy", 1, 90))) == "accepted"


def test_collar_applies_to_limit_prices_only() -> None:
    ex = exchange(limit("m", "ask", "sell", 5, 300))
    settings(ex, price_collar_pct="10", reference_price="100")
    cases = [
        (new("a", "s1", "buy", "stop", 1, trigger_price=300), "accepted"),  # a trigger is no limit
        (new("a", "s2", "buy", "stop_limit", 1, trigger_price=105, price=300), "price_out_of_collar"),
        (new("a", "s3", "buy", "stop_limit", 1, trigger_price=300, price=105), "accepted"),
        (new("a", "s4", "sell", "trailing_stop_limit", 1, trail_amount=1, limit_offset=90), "accepted"),
        (limit("a", "i1", "buy", 5, 111, display_qty="1"), "price_out_of_collar"),
        (market("a", "m1", "buy", 1), "accepted"),  # and trades at 300, well outside
    ]
    for cmd, result in cases:
        assert outcome(ex.apply(cmd)) == result, cmd["id"]


# -- max_notional -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmd", "result"),
    [
        (limit("a", "o", "buy", 10, 100), "accepted"),  # 1000: at the limit passes
        (limit("a", "o", "buy", 10, 99), "accepted"),
        (limit("a", "o", "buy", 11, 100), "notional_too_large"),
        (limit("a", "o", "sell", 10, 101), "notional_too_large"),
        (limit("a", "o", "buy", 11, 90, display_qty="1"), "accepted"),  # 990: the whole qty counts
        (limit("a", "o", "buy", 12, 90, display_qty="1"), "notional_too_large"),
        (new("a", "o", "buy", "stop", 10, trigger_price=100), "accepted"),  # the trigger counts
        (new("a", "o", "buy", "stop", 10, trigger_price=101), "notional_too_large"),
        (new("a", "o", "buy", "stop_limit", 10, trigger_price=500, price=100), "accepted"),
        (new("a", "o", "buy", "stop_limit", 10, trigger_price=100, price=101), "notional_too_large"),
        (new("a", "o", "sell", "trailing_stop", 1000, trail_amount=1), "accepted"),  # no price
        (new("a", "o", "sell", "trailing_stop_limit", 1000, trail_amount=1, limit_offset=0), "accepted"),
    ],
)
def test_notional_of_priced_orders(cmd: Cmd, result: str) -> None:
    ex = exchange(max_notional="1000")
    assert outcome(ex.apply(cmd)) == result


def test_notional_in_decimals() -> None:
    ex = ReferenceExchange()
    ex.apply(instrument("Y", "0.01", "0.1", max_notional="10.5"))
    for price, qty, result in (("1.05", "10", "accepted"), ("1.06", "10", "notional_too_large"),
                               ("1.05", "10.1", "notional_too_large"), ("0.01", "1050", "accepted"),
                               ("0.01", "1050.1", "notional_too_large")):  # fmt: skip
        assert outcome(ex.apply(limit("a", f"{price}x{qty}", "buy", qty, price, symbol="Y"))) == result


def test_notional_limits_with_extreme_exponents() -> None:
    ex = exchange(max_notional="1e999999999")  # never expanded into digits
    assert outcome(ex.apply(limit("a", "big", "buy", 2**62, 2**62))) == "accepted"
    ex = exchange(max_notional="1e-999999999")
    assert outcome(ex.apply(limit("a", "one", "buy", 1, 1))) == "notional_too_large"


@pytest.mark.parametrize(
    ("side", "qty", "protection", "result"),
    [
        ("buy", 10, None, "accepted"),  # at the best ask: 100 x 10 = 1000
        ("buy", 11, None, "notional_too_large"),
        ("sell", 11, None, "accepted"),  # at the best bid: 90 x 11 = 990
        ("sell", 12, None, "notional_too_large"),
        ("buy", 9, 2, "accepted"),  # at the protected price 102: 918
        ("buy", 10, 2, "notional_too_large"),  # 1020
        ("sell", 11, 2, "accepted"),  # at 88: 968
        ("sell", 12, 2, "notional_too_large"),  # 1056
    ],
)
def test_notional_of_a_market_order(side: str, qty: int, protection: int | None, result: str) -> None:
    ex = exchange(limit("m", "a1", "sell", 1, 100), limit("m", "a2", "sell", 50, 101),
                  limit("m", "b1", "buy", 50, 90))  # fmt: skip
    settings(ex, max_notional="1000", market_protection_ticks=protection)
    assert outcome(ex.apply(market("t", "o", side, qty))) == result


def test_notional_of_a_protected_sell_is_at_least_one_tick() -> None:
    ex = exchange(limit("m", "b1", "buy", 5000, 3))
    settings(ex, max_notional="1000", market_protection_ticks=5)  # max(1, 3 - 5) = 1
    assert outcome(ex.apply(market("t", "o1", "sell", 1001))) == "notional_too_large"
    assert outcome(ex.apply(market("t", "o2", "sell", 1000))) == "accepted"


def test_market_notional_is_skipped_when_the_other_side_is_empty() -> None:
    ex = exchange(limit("m", "a1", "sell", 1, 100))
    settings(ex, max_notional="1", market_protection_ticks=0)
    assert outcome(ex.apply(market("t", "o1", "sell", 10**6))) == "no_liquidity"
    assert outcome(ex.apply(market("t", "o2", "buy", 10**6))) == "notional_too_large"


# -- market protection --------------------------------------------------------------------------


def test_market_protection_buy() -> None:
    ex = exchange(*(limit("m", f"a{p}", "sell", 1, p) for p in (100, 101, 102, 103)))
    settings(ex, market_protection_ticks=2)  # best ask 100: trades up to 102
    assert brief(ex.apply(market("t", "o", "buy", 10))) == [
        ("accepted", "o"),
        ("trade", ("a100", "o"), "100", "1"),
        ("trade", ("a101", "o"), "101", "1"),
        ("trade", ("a102", "o"), "102", "1"),
        ("cancelled", "o", "market_protection", "7"),
    ]
    assert [lv[0] for lv in ex.levels_view("X", False)] == [103]


def test_market_protection_sell() -> None:
    ex = exchange(*(limit("m", f"b{p}", "buy", 1, p) for p in (100, 99, 98, 97)))
    settings(ex, market_protection_ticks=2)  # best bid 100: trades down to 98
    assert brief(ex.apply(market("t", "o", "sell", 10))) == [
        ("accepted", "o"),
        ("trade", ("b100", "o"), "100", "1"),
        ("trade", ("b99", "o"), "99", "1"),
        ("trade", ("b98", "o"), "98", "1"),
        ("cancelled", "o", "market_protection", "7"),
    ]


def test_market_protection_is_no_liquidity_when_the_other_side_empties() -> None:
    ex = exchange(limit("m", "a1", "sell", 1, 100), limit("m", "a2", "sell", 1, 101),
                  market_protection_ticks=5)  # fmt: skip
    assert brief(ex.apply(market("t", "o", "buy", 10)))[-1] == ("cancelled", "o", "no_liquidity", "8")


def test_market_protection_of_zero_ticks_and_without_protection() -> None:
    ex = exchange(limit("m", "a1", "sell", 2, 100), limit("m", "a2", "sell", 1, 101),
                  market_protection_ticks=0)  # fmt: skip
    assert brief(ex.apply(market("t", "o", "buy", 3)))[1:] == [
        ("trade", ("a1", "o"), "100", "2"),
        ("cancelled", "o", "market_protection", "1"),
    ]
    settings(ex)  # protection off: a market order takes whatever is there
    assert brief(ex.apply(market("t", "p", "buy", 3)))[1:] == [
        ("trade", ("a2", "p"), "101", "1"),
        ("cancelled", "p", "no_liquidity", "2"),
    ]


def test_market_protection_price_is_fixed_when_the_order_starts() -> None:
    ex = exchange(*(limit("m", f"a{p}", "sell", 1, p) for p in (100, 101, 102)), market_protection_ticks=1)
    # The bound is 100 + 1, even once 100 is gone and 101 is the best ask.
    assert brief(ex.apply(market("t", "o", "buy", 5)))[1:] == [
        ("trade", ("a100", "o"), "100", "1"),
        ("trade", ("a101", "o"), "101", "1"),
        ("cancelled", "o", "market_protection", "3"),
    ]


def test_market_protection_bounds_the_fok_dry_run() -> None:
    ex = exchange(limit("m", "a1", "sell", 1, 100), limit("m", "a2", "sell", 1, 101),
                  limit("m", "a3", "sell", 5, 105), market_protection_ticks=2)  # fmt: skip
    assert brief(ex.apply(market("t", "f3", "buy", 3, tif="fok"))) == [
        ("accepted", "f3"),
        ("cancelled", "f3", "fok", "3"),
    ]
    assert brief(ex.apply(market("t", "f2", "buy", 2, tif="fok")))[1:] == [
        ("trade", ("a1", "f2"), "100", "1"),
        ("trade", ("a2", "f2"), "101", "1"),
    ]


def test_market_protection_of_a_released_stop() -> None:
    ex = exchange(limit("m", "a1", "sell", 1, 100), limit("m", "a2", "sell", 1, 101),
                  limit("m", "a3", "sell", 5, 110),
                  new("c", "st", "buy", "stop", 3, trigger_price=100))  # fmt: skip
    settings(ex, market_protection_ticks=2)  # at release the best ask is 101: up to 103
    assert brief(ex.apply(limit("d", "d1", "buy", 1, 100))) == [
        ("accepted", "d1"),
        ("trade", ("a1", "d1"), "100", "1"),
        ("triggered", "st", "100"),
        ("trade", ("a2", "st"), "101", "1"),
        ("cancelled", "st", "market_protection", "2"),
    ]


def test_market_protection_of_a_released_trailing_stop() -> None:
    ex = exchange(*(limit("m", f"b{p}", "buy", 1, p) for p in (100, 99, 98)),
                  limit("m", "b90", "buy", 5, 90), limit("t", "t1", "sell", 1, 100),  # prints 100
                  new("c", "ts", "sell", "trailing_stop", 3, trail_amount=1))  # level 99  # fmt: skip
    settings(ex, market_protection_ticks=2)
    assert brief(ex.apply(limit("d", "d1", "sell", 1, 99)))[2:] == [
        ("triggered", "ts", "99"),
        ("trade", ("b98", "ts"), "98", "1"),  # best bid 98 at release: down to 96
        ("cancelled", "ts", "market_protection", "2"),
    ]


# -- kill switch --------------------------------------------------------------------------------


def _busy_user() -> ReferenceExchange:
    """User a with a resting order, a waiting stop on Y, an oco pair and a bracket whose entry
    rests with two dormant children; user b with one resting order."""
    ex = exchange(
        instrument("Y", "0.01", "0.1"),
        limit("b", "b1", "sell", 1, 120),
        limit("a", "a1", "buy", 1, 90),
        new("a", "a2", "buy", "stop", "1", trigger_price="5", symbol="Y"),
        {"cmd": "oco", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
         "orders": [{"id": "a3", "type": "limit", "qty": "1", "price": "80"},
                    {"id": "a4", "type": "stop", "qty": "1", "trigger_price": "200"}]},
        {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
         "entry": {"id": "a5", "type": "limit", "qty": "2", "price": "95"},
         "take_profit": {"id": "a6", "price": "130"}, "stop_loss": {"id": "a7", "trigger_price": "70"}},
    )  # fmt: skip
    return ex


def test_kill_switch_cancels_every_live_order_in_acceptance_order() -> None:
    ex = _busy_user()
    events = ex.apply(kill("a", True))
    assert events[0] == {"type": "kill_switch", "ts": 1, "user": "a", "active": True}
    remaining = ["1", "1", "1", "1", "2", "2", "2"]  # the bracket's children have the entry's qty
    assert brief(events[1:]) == [("cancelled", f"a{n}", "killed", remaining[n - 1]) for n in range(1, 8)]
    assert [ev["order_id"] for ev in events[1:]] == [2, 3, 4, 5, 6, 7, 8]  # b1 took order_id 1
    assert ex.levels_view("X", True) == []
    assert brief(ex.apply({"cmd": "cancel", "ts": 1, "user": "b", "id": "b1"})) == [
        ("cancelled", "b1", "user", "1")
    ]


def test_a_killed_user_is_refused_until_switched_off() -> None:
    ex = _busy_user()
    ex.apply(kill("a", True))
    oco = {"cmd": "oco", "ts": 2, "user": "a", "symbol": "X", "side": "buy",
           "orders": [{"id": "o1", "type": "limit", "qty": "1", "price": "80"},
                      {"id": "o2", "type": "limit", "qty": "1", "price": "81"}]}  # fmt: skip
    bracket = {"cmd": "bracket", "ts": 2, "user": "a", "symbol": "X", "side": "buy",
               "entry": {"id": "e", "type": "limit", "qty": "1", "price": "90"},
               "take_profit": {"id": "tp", "price": "130"}}  # fmt: skip
    assert outcome(ex.apply(limit("a", "n1", "buy", 1, 90))) == "user_killed"
    assert outcome(ex.apply(oco)) == "user_killed"
    assert outcome(ex.apply(bracket)) == "user_killed"
    # Cancels still work (there is nothing left to cancel); a modify finds no order either.
    assert outcome(ex.apply({"cmd": "cancel", "ts": 2, "user": "a", "id": "a1"})) == "unknown_order"
    assert ex.apply({"cmd": "cancel_all", "ts": 2, "user": "a"}) == []
    assert outcome(ex.apply(modify("a", "a1", qty=1))) == "unknown_order"
    assert outcome(ex.apply(kill("a", True))) == "bad_state"
    assert outcome(ex.apply(limit("b", "b2", "buy", 1, 90))) == "accepted"  # others go on
    switched_off = {"type": "kill_switch", "ts": 3, "user": "a", "active": False}
    assert ex.apply(kill("a", False, ts=3)) == [switched_off]
    assert outcome(ex.apply(limit("a", "n1", "buy", 1, 90))) == "accepted"
    assert outcome(ex.apply(kill("a", False))) == "bad_state"
    assert outcome(ex.apply(kill("nobody", False))) == "bad_state"  # never switched: off


def test_kill_switch_does_not_activate_or_cancel_children_as_parent() -> None:
    ex = exchange(limit("m", "ask", "sell", 2, 100),
                  {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
                   "entry": {"id": "e", "type": "limit", "qty": "5", "price": "100"},
                   "take_profit": {"id": "tp", "price": "130"},
                   "stop_loss": {"id": "sl", "trigger_price": "70"}})  # fmt: skip
    # The entry traded 2 of 5 (full activation: the children wait for it to finish).
    assert brief(ex.apply(kill("a", True)))[1:] == [
        ("cancelled", "e", "killed", "3"),
        ("cancelled", "tp", "killed", "5"),
        ("cancelled", "sl", "killed", "5"),
    ]


def test_kill_switch_of_active_partial_children() -> None:
    ex = exchange(limit("m", "ask", "sell", 2, 100),
                  {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
                   "activation": "partial",
                   "entry": {"id": "e", "type": "limit", "qty": "5", "price": "100"},
                   "take_profit": {"id": "tp", "price": "130"},
                   "stop_loss": {"id": "sl", "trigger_price": "70"}})  # fmt: skip
    assert brief(ex.apply(kill("a", True)))[1:] == [
        ("cancelled", "e", "killed", "3"),
        ("cancelled", "tp", "killed", "2"),
        ("cancelled", "sl", "killed", "2"),
    ]


def test_user_killed_comes_after_expired_and_before_rate_limited() -> None:
    ex = exchange(limits("a", rate=1, burst=1), kill("a", True))
    assert outcome(ex.apply(limit("a", "x", "buy", 0, 90))) == "bad_qty"
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90, tif="gtd", expire_ts=1))) == "expired"
    ex.apply({"cmd": "halt", "ts": 1, "symbol": "X"})
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90))) == "halted"
    ex.apply({"cmd": "resume", "ts": 1, "symbol": "X"})
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90))) == "user_killed"  # takes no token
    ex.apply(kill("a", False))
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90))) == "accepted"


@pytest.mark.parametrize(
    "cmd",
    [
        {"cmd": "kill_switch", "active": True},
        {"cmd": "kill_switch", "user": "", "active": True},
        {"cmd": "kill_switch", "user": 5, "active": True},
        {"cmd": "kill_switch", "user": "a"},
        {"cmd": "kill_switch", "user": "a", "active": None},
        {"cmd": "kill_switch", "user": "a", "active": "true"},
        {"cmd": "kill_switch", "user": "a", "active": 1},
    ],
)
def test_kill_switch_fields(cmd: Cmd) -> None:
    ex = exchange(limit("a", "a1", "buy", 1, 90))
    assert outcome(ex.apply(cmd)) == "bad_command"
    assert outcome(ex.apply(limit("a", "a2", "buy", 1, 90))) == "accepted"  # nothing changed


def test_modify_user_killed_comes_after_halted() -> None:
    # The kill switch cancels every order of the user, so no command sequence can modify a
    # killed user's order; the state is set by hand to pin the order of the checks down.
    ex = exchange(limit("a", "a1", "buy", 2, 90), price_collar_pct="1", reference_price="90")
    ex._state.users["a"] = UserRisk(killed=True)
    assert outcome(ex.apply(modify("a", "a1", price=0))) == "bad_price"
    ex.apply({"cmd": "halt", "ts": 1, "symbol": "X"})
    assert outcome(ex.apply(modify("a", "a1", qty=1))) == "halted"
    ex.apply({"cmd": "resume", "ts": 1, "symbol": "X"})
    assert outcome(ex.apply(modify("a", "a1", price=50))) == "user_killed"  # before the collar


# -- limits: fields and event -------------------------------------------------------------------


def test_limits_event() -> None:
    ex = exchange()
    (ev,) = ex.apply(limits("a", ts=5, max_open_orders=3, rate=2, burst=4))
    assert list(ev.items()) == [("type", "limits"), ("ts", 5), ("user", "a"), ("max_open_orders", 3),
                                ("rate", 2), ("burst", 4)]  # fmt: skip
    assert ex.apply(limits("a", ts=6)) == [
        {"type": "limits", "ts": 6, "user": "a", "max_open_orders": None, "rate": None, "burst": None}
    ]
    assert ex.apply(limits("b", max_open_orders=None, rate=None, burst=None))[0]["rate"] is None
    assert ex.apply(limits("c", max_open_orders=2**63 - 1))[0]["max_open_orders"] == 2**63 - 1


@pytest.mark.parametrize(
    "fields",
    [
        {"user": None},
        {"user": ""},
        {"user": 3},
        {"max_open_orders": 0},
        {"max_open_orders": -1},
        {"max_open_orders": 1.5},
        {"max_open_orders": 2.0},
        {"max_open_orders": True},
        {"max_open_orders": "3"},
        {"max_open_orders": 2**63},
        {"rate": 1},  # without burst
        {"burst": 1},  # without rate
        {"rate": 1, "burst": None},
        {"rate": 0, "burst": 1},
        {"rate": 1, "burst": 0},
    ],
)
def test_limits_fields(fields: Cmd) -> None:
    ex = exchange(limits("a", max_open_orders=1), limit("a", "a1", "buy", 1, 90))
    (ev,) = ex.apply({**limits("a"), **fields})
    assert (ev["type"], ev["reason"], ev["cmd"]) == ("rejected", "bad_command", "limits")
    assert outcome(ex.apply(limit("a", "a2", "buy", 1, 90))) == "too_many_orders"  # still in force


# -- max_open_orders ----------------------------------------------------------------------------


def test_max_open_orders_counts_every_live_order_of_the_user() -> None:
    ex = exchange(instrument("Y", "0.01", "0.1"), limits("a", max_open_orders=3),
                  limit("a", "a1", "buy", 1, 90), new("a", "a2", "buy", "stop", 1, trigger_price=200),
                  limit("a", "a3", "buy", "1", "1", symbol="Y"))  # fmt: skip
    assert outcome(ex.apply(limit("a", "a4", "buy", 1, 90))) == "too_many_orders"
    assert outcome(ex.apply(limit("b", "b1", "buy", 1, 90))) == "accepted"  # per user
    ex.apply({"cmd": "cancel", "ts": 1, "user": "a", "id": "a1"})
    assert outcome(ex.apply(limit("a", "a4", "buy", 1, 95))) == "accepted"  # 3 again
    ex.apply(limit("m", "m1", "sell", 1, 95))  # fills a4: no longer live
    assert outcome(ex.apply(limit("a", "a5", "buy", 1, 90))) == "accepted"
    assert outcome(ex.apply(limit("a", "a6", "buy", 1, 90))) == "too_many_orders"
    # A modify adds no order.
    assert outcome(ex.apply(modify("a", "a5", qty=2))) == "modified"


def test_max_open_orders_counts_every_part_of_a_list() -> None:
    bracket = {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
               "entry": {"id": "e", "type": "limit", "qty": "1", "price": "90"},
               "take_profit": {"id": "tp", "price": "130"},
               "stop_loss": {"id": "sl", "trigger_price": "70"}}  # fmt: skip
    oco = {"cmd": "oco", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
           "orders": [{"id": "o1", "type": "limit", "qty": "1", "price": "80"},
                      {"id": "o2", "type": "limit", "qty": "1", "price": "81"}]}  # fmt: skip
    ex = exchange(limits("a", max_open_orders=3))
    assert outcome(ex.apply(bracket)) == "accepted"  # 0 + 3: at the limit
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90))) == "too_many_orders"  # dormant ones count
    ex = exchange(limits("a", max_open_orders=2))
    assert outcome(ex.apply(bracket)) == "too_many_orders"
    assert outcome(ex.apply(oco)) == "accepted"
    ex = exchange(limits("a", max_open_orders=3), limit("a", "a1", "buy", 1, 90),
                  limit("a", "a2", "buy", 1, 90))  # fmt: skip
    assert outcome(ex.apply(oco)) == "too_many_orders"  # 2 + 2 > 3


def test_too_many_orders_comes_after_the_order_checks_and_before_the_others() -> None:
    ex = exchange(limit("m", "m1", "sell", 1, 100), limit("t", "t1", "buy", 1, 100),  # prints 100
                  limit("a", "a1", "buy", 1, 99), limits("a", max_open_orders=1))  # fmt: skip
    settings(ex, min_qty="2", price_collar_pct="10")
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 99))) == "qty_too_small"
    assert outcome(ex.apply(limit("a", "x", "buy", 2, 200))) == "price_out_of_collar"
    assert outcome(ex.apply(limit("a", "x", "buy", 2, 99))) == "too_many_orders"
    assert outcome(ex.apply(new("a", "x", "buy", "stop", 2, trigger_price=100))) == "too_many_orders"
    assert outcome(ex.apply(market("a", "x", "buy", 2))) == "too_many_orders"  # asks are empty
    ex.apply(limit("m", "m2", "sell", 5, 101))
    assert outcome(ex.apply(limit("a", "x", "buy", 2, 101, post_only=True))) == "too_many_orders"
    assert outcome(ex.apply(limit("a", "a1", "buy", 2, 99))) == "duplicate_id"  # before risk


# -- rate and burst: the token bucket -----------------------------------------------------------


_IDS = count(1)


def _orders(ex: ReferenceExchange, *times: int, user: str = "a") -> list[str]:
    """Send one plain order (a fresh id) at each ts; their outcomes."""
    return [outcome(ex.apply(limit(user, f"o{next(_IDS)}", "buy", 1, 90, ts=ts))) for ts in times]


def test_token_bucket_refills_over_ts() -> None:
    ex = exchange(limits("a", rate=1, burst=2))  # full (2 tokens) at ts 0
    assert _orders(ex, 0, 0, 0) == ["accepted", "accepted", "rate_limited"]
    assert _orders(ex, SECOND - 1) == ["rate_limited"]  # 0.999999999 token
    assert _orders(ex, SECOND, SECOND) == ["accepted", "rate_limited"]
    assert _orders(ex, 10 * SECOND, 10 * SECOND, 10 * SECOND) == ["accepted", "accepted", "rate_limited"]
    assert _orders(ex, 0, user="b") == ["accepted"]  # another user has no bucket


def test_token_bucket_is_exact_in_units_per_ns() -> None:
    ex = exchange(limits("a", rate=3, burst=2))  # 3 units per ns, a token is 10**9 units
    assert _orders(ex, 0, 0) == ["accepted", "accepted"]
    assert _orders(ex, 333_333_333) == ["rate_limited"]  # 999_999_999 units
    assert _orders(ex, 333_333_334) == ["accepted"]  # 1_000_000_002 units: 2 left over
    assert _orders(ex, 666_666_666) == ["rate_limited"]  # 2 + 999_999_996 units
    assert _orders(ex, 666_666_667) == ["accepted"]  # 2 + 999_999_999 = 1_000_000_001
    # With room for one token only, what is over it is lost: nothing is left over.
    ex = exchange(limits("a", rate=3, burst=1))
    assert _orders(ex, 0, 333_333_334) == ["accepted", "accepted"]  # capped at 10**9, then 0
    assert _orders(ex, 666_666_667) == ["rate_limited"]  # 999_999_999 units
    assert _orders(ex, 666_666_668) == ["accepted"]


def test_a_lower_ts_refills_nothing() -> None:
    ex = exchange(limits("a", ts=10 * SECOND, rate=1, burst=1))
    assert _orders(ex, 10 * SECOND) == ["accepted"]
    assert _orders(ex, 5 * SECOND) == ["rate_limited"]
    # The bucket's clock stayed at 10 s: half a token by 10.5 s, not 5.5 tokens.
    assert _orders(ex, 10 * SECOND + SECOND // 2) == ["rate_limited"]
    assert _orders(ex, 11 * SECOND) == ["accepted"]


def test_a_token_is_taken_at_the_risk_step_whatever_follows() -> None:
    ex = exchange(limit("m", "m1", "sell", 1, 100), limit("t", "t1", "buy", 1, 100),  # prints 100
                  limits("a", rate=1, burst=2), limit("a", "a1", "buy", 1, 90))  # one token left  # fmt: skip
    settings(ex, min_qty="1", max_qty="5")
    # Refused before the risk step: no token.
    assert outcome(ex.apply(limit("a", "x", "buy", "0.5", 90))) == "bad_qty"
    assert outcome(ex.apply(limit("a", "a1", "buy", 1, 90))) == "duplicate_id"
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90, tif="gtd", expire_ts=1))) == "expired"
    # Refused after the rate step: the last token is spent, and then none is left.
    assert outcome(ex.apply(new("a", "x", "buy", "stop", 1, trigger_price=100))) == "stop_would_trigger"
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90))) == "rate_limited"
    ex = exchange(limits("a", rate=1, burst=1), max_qty="5")
    assert outcome(ex.apply(limit("a", "x", "buy", 6, 90))) == "qty_too_large"
    assert outcome(ex.apply(limit("a", "x", "buy", 1, 90))) == "rate_limited"
    assert outcome(ex.apply(limit("a", "x", "buy", 6, 90))) == "rate_limited"  # before qty


def test_one_token_per_list_command_and_none_for_modify_or_cancel() -> None:
    ex = exchange(limits("a", rate=1, burst=2))
    oco: Cmd = {"cmd": "oco", "ts": 0, "user": "a", "symbol": "X", "side": "buy",
           "orders": [{"id": "o1", "type": "limit", "qty": "1", "price": "80"},
                      {"id": "o2", "type": "limit", "qty": "1", "price": "81"}]}  # fmt: skip
    bracket = {"cmd": "bracket", "ts": 0, "user": "a", "symbol": "X", "side": "buy",
               "entry": {"id": "e", "type": "limit", "qty": "1", "price": "90"},
               "take_profit": {"id": "tp", "price": "130"},
               "stop_loss": {"id": "sl", "trigger_price": "70"}}  # fmt: skip
    assert outcome(ex.apply(oco)) == "accepted"
    assert outcome(ex.apply(bracket)) == "accepted"
    parts: list[Cmd] = oco["orders"]
    again = {**oco, "orders": [{**p, "id": p["id"] + "b"} for p in parts]}
    assert outcome(ex.apply(again)) == "rate_limited"
    assert brief(ex.apply(modify("a", "o1", ts=0, price=79))) == [("modified", "o1")]
    cancel = {"cmd": "cancel", "ts": 0, "user": "a", "id": "o2"}
    assert brief(ex.apply(cancel))[0] == ("cancelled", "o2", "user", "1")


def test_limits_reset_the_bucket_and_keep_the_kill_switch() -> None:
    ex = exchange(limits("a", rate=1, burst=1))
    assert _orders(ex, 0, 0) == ["accepted", "rate_limited"]
    ex.apply(limits("a", rate=1, burst=1))  # set again: full again
    assert _orders(ex, 0, 0) == ["accepted", "rate_limited"]
    ex.apply(limits("a"))  # off
    assert _orders(ex, 0, 0, 0) == ["accepted", "accepted", "accepted"]
    ex.apply(kill("a", True, ts=0))
    ex.apply(limits("a", max_open_orders=100))
    assert _orders(ex, 0) == ["user_killed"]


# -- settings changed while orders are live, and modify ---------------------------------------------


def test_live_orders_are_never_rechecked_but_modifies_are() -> None:
    ex = exchange(limit("a", "a1", "buy", 10, 100), limit("a", "a2", "buy", 10, 90))
    settings(ex, max_qty="5")  # a1 and a2 stay as they are
    assert [lv[:3] for lv in ex.levels_view("X", True)] == [(100, 10, 1), (90, 10, 1)]
    # A modify is checked as the order it would leave: its qty (given or its own) and price.
    assert outcome(ex.apply(modify("a", "a1", price=99))) == "qty_too_large"
    assert outcome(ex.apply(modify("a", "a1", qty=6))) == "qty_too_large"
    assert outcome(ex.apply(modify("a", "a1", qty=5))) == "modified"
    assert outcome(ex.apply(modify("a", "a1", price=99))) == "modified"
    settings(ex, min_qty="6")
    assert outcome(ex.apply(modify("a", "a1", price=98))) == "qty_too_small"


def test_modify_collar_and_notional() -> None:
    ex = exchange(limit("a", "a1", "buy", 10, 90), limit("a", "a2", "buy", 10, 100))
    settings(ex, price_collar_pct="5", reference_price="100")
    assert outcome(ex.apply(modify("a", "a1", qty=1))) == "price_out_of_collar"  # 90 is outside
    assert outcome(ex.apply(modify("a", "a1", price=94))) == "price_out_of_collar"
    assert outcome(ex.apply(modify("a", "a1", price=95))) == "modified"
    settings(ex, max_notional="500")
    assert outcome(ex.apply(modify("a", "a2", qty=6))) == "notional_too_large"  # 600
    assert outcome(ex.apply(modify("a", "a2", qty=5))) == "modified"  # 500
    assert outcome(ex.apply(modify("a", "a2", price=101))) == "notional_too_large"  # 505
    assert outcome(ex.apply(modify("a", "a2", price=99, qty=5))) == "modified"


def test_modify_risk_checks_in_order() -> None:
    ex = exchange(limit("m", "ask", "sell", 1, 101), limit("a", "po", "buy", 2, 100, post_only=True))
    settings(ex, max_qty="5", price_collar_pct="5", reference_price="100", max_notional="300")
    assert outcome(ex.apply(modify("a", "po", price=200, qty=9))) == "qty_too_large"
    assert outcome(ex.apply(modify("a", "po", price=200, qty=5))) == "price_out_of_collar"
    assert outcome(ex.apply(modify("a", "po", price=101, qty=3))) == "notional_too_large"  # 303
    assert outcome(ex.apply(modify("a", "po", price=101, qty=2))) == "post_only"  # risk first
    assert outcome(ex.apply(modify("a", "po", price="100.5"))) == "bad_price"


def test_a_released_stop_is_not_rechecked() -> None:
    ex = exchange(limit("m", "m1", "sell", 1, 100), limit("m", "m2", "sell", 10, 150),
                  new("c", "sl", "buy", "stop_limit", 10, trigger_price=100, price=150))  # fmt: skip
    settings(ex, max_qty="5", price_collar_pct="1", reference_price="100", max_notional="100")
    assert brief(ex.apply(limit("d", "d1", "buy", 1, 100)))[2:] == [
        ("triggered", "sl", "100"),
        ("trade", ("m2", "sl"), "150", "10"),
    ]


# -- oco and bracket: every part in turn ----------------------------------------------------------


def _oco(p1: Cmd, p2: Cmd, side: str = "buy") -> Cmd:
    return {"cmd": "oco", "ts": 1, "user": "a", "symbol": "X", "side": side, "orders": [p1, p2]}


def test_oco_parts_are_checked_in_turn() -> None:
    ex = exchange(min_qty="2", price_collar_pct="10", reference_price="100", max_notional="1000")
    ok = {"id": "ok", "type": "limit", "qty": "2", "price": "95"}
    out = {"id": "out", "type": "limit", "qty": "2", "price": "80"}
    small = {"id": "small", "type": "limit", "qty": "1", "price": "95"}
    big = {"id": "big", "type": "stop", "qty": "10", "trigger_price": "101"}
    # Part 1's checks all come before part 2's.
    (ev,) = ex.apply(_oco(out, small))
    assert (ev["reason"], ev["message"].startswith("part 1")) == ("price_out_of_collar", True)
    assert list(ev) == ["type", "ts", "user", "symbol", "cmd", "reason", "message"]
    (ev,) = ex.apply(_oco(small, out))
    assert (ev["reason"], ev["message"].startswith("part 1")) == ("qty_too_small", True)
    (ev,) = ex.apply(_oco(ok, big))
    assert (ev["reason"], ev["message"].startswith("part 2")) == ("notional_too_large", True)
    assert outcome(ex.apply(_oco(ok, {**big, "trigger_price": "100"}))) == "accepted"


def test_oco_risk_comes_before_stop_would_trigger() -> None:
    ex = exchange(limit("m", "m1", "sell", 1, 100), limit("t", "t1", "buy", 1, 100))  # prints 100
    settings(ex, max_qty="5")
    fires = {"id": "s", "type": "stop", "qty": "6", "trigger_price": "100"}
    rests = {"id": "l", "type": "limit", "qty": "1", "price": "90"}
    assert outcome(ex.apply(_oco(fires, rests))) == "qty_too_large"
    assert outcome(ex.apply(_oco({**fires, "qty": "5"}, rests))) == "stop_would_trigger"


def _bracket(entry: Cmd, tp: Cmd | None = None, sl: Cmd | None = None) -> Cmd:
    cmd: Cmd = {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy", "entry": entry}
    if tp is not None:
        cmd["take_profit"] = tp
    if sl is not None:
        cmd["stop_loss"] = sl
    return cmd


def test_bracket_parts_are_checked_in_turn() -> None:
    ex = exchange(limit("m", "ask", "sell", 10, 100))
    settings(ex, price_collar_pct="10", reference_price="100", max_notional="550")
    entry = {"id": "e", "type": "limit", "qty": "5", "price": "100"}  # 500
    tp_ok, tp_out = {"id": "tp", "price": "110"}, {"id": "tp", "price": "111"}  # 550; collar
    sl_big = {"id": "sl", "trigger_price": "111"}  # 555 (the children have the entry's qty)
    (ev,) = ex.apply(_bracket(entry, tp_out, sl_big))
    assert (ev["reason"], ev["message"].startswith("take_profit")) == ("price_out_of_collar", True)
    (ev,) = ex.apply(_bracket(entry, tp_ok, sl_big))
    assert (ev["reason"], ev["message"].startswith("stop_loss")) == ("notional_too_large", True)
    (ev,) = ex.apply(_bracket({**entry, "qty": "6"}, tp_out, sl_big))  # 600
    assert (ev["reason"], ev["message"].startswith("entry")) == ("notional_too_large", True)
    # A stop-limit stop-loss is collared and valued at its limit price, not its trigger.
    sl_limit = {"id": "sl", "type": "stop_limit", "trigger_price": "200", "price": "100"}
    assert outcome(ex.apply(_bracket(entry, None, {**sl_limit, "price": "89"}))) == "price_out_of_collar"
    assert outcome(ex.apply(_bracket(entry, tp_ok, sl_limit))) == "accepted"


def test_bracket_market_entry() -> None:
    ex = exchange(limit("m", "ask", "sell", 10, 100))
    settings(ex, max_notional="500", market_protection_ticks=1)
    tp = {"id": "tp", "price": "120"}
    assert outcome(ex.apply(_bracket({"id": "e", "type": "market", "qty": "5"}, tp))) == "notional_too_large"
    assert outcome(ex.apply(_bracket({"id": "e", "type": "market", "qty": "4"}, tp))) == "accepted"  # 404
    sell = {**_bracket({"id": "s", "type": "market", "qty": "100"}, {"id": "tp2", "price": "5"}),
            "side": "sell"}  # fmt: skip
    assert outcome(ex.apply(sell)) == "no_liquidity"  # no bids: the notional is not checked
