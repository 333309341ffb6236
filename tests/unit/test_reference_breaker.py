"""The circuit breaker (volatility halts) in the naive reference exchange, on small cases checked
by hand.

The reference is the oracle of the property tests, so its breaker is pinned down here on its
own, from docs/PROTOCOL.md ("Circuit breaker: volatility halts"), without the fast engine: the
instrument fields and their validation order, arming (``breaker_min_trades``), the band (a limit
on the taker's side) and its inclusive edges, the halt at the band's edge and the events in
order, the remainder of every kind of taker, FOK and post-only dry runs, the window over ts,
the automatic and the manual resume, the stops and bracket activations a halt holds back,
what works during a halt, and settings changed or removed. Every scenario file (the
``x_breaker_*`` ones included) is fed to the reference by ``tests/scenarios/test_scenarios.py``.

Symbol X has tick 1 and lot 1 so that prices read as plain integers. ``exchange(100, ...)``
sets the breaker (``BREAKER`` unless other settings are given) so that it cannot arm
(``QUIET``), prints one trade at each price given, then sets the settings wanted: the
breaker stays set, so the window keeps those trades and the test starts armed around their
mean. With one trade at 100 and ``breaker_pct`` 10 the band is [90, 110].
"""

from __future__ import annotations

from typing import Any

import pytest
from reference_commands import cancel, instrument, limit, market, modify, new, ok, stop, tick

from hftbook.core.reference import ReferenceExchange

Cmd = dict[str, Any]
Event = dict[str, Any]


BREAKER: Cmd = {"breaker_pct": "10", "breaker_window_ns": 1000, "breaker_halt_ns": 50}
QUIET: Cmd = {"breaker_min_trades": 2**63 - 1}  # a breaker set, that never arms


# -- helpers ------------------------------------------------------------------------------------


def session(cmd: str, ts: int, symbol: str = "X") -> Cmd:
    return {"cmd": cmd, "ts": ts, "symbol": symbol}


def prime(ex: ReferenceExchange, *prices: Any, ts: int = 0, symbol: str = "X") -> None:
    """One trade at each price (qty 1, or (price, qty)), between users who keep nothing resting."""
    for n, p in enumerate(prices):
        price, qty = p if isinstance(p, tuple) else (p, 1)
        ok(ex, limit("pm", f"pm{symbol}{ts}_{n}", "sell", qty, price, ts=ts, symbol=symbol))
        ok(ex, limit("pt", f"pt{symbol}{ts}_{n}", "buy", qty, price, ts=ts, symbol=symbol))


def exchange(*prices: int | tuple[int, int], ts: int = 0, **settings: Any) -> ReferenceExchange:
    """X with a breaker (``BREAKER`` unless ``settings`` are given): set first so that it cannot
    arm, the trades at ``prices`` printed at ``ts``, then the settings themselves (the window
    keeps the trades since the breaker was set)."""
    settings = settings or BREAKER
    ex = ReferenceExchange()
    ok(ex, instrument(ts=ts, **{**settings, **QUIET}))
    prime(ex, *prices, ts=ts)
    assert ex.apply(instrument(ts=ts, **settings)) == []
    return ex


def rest(ex: ReferenceExchange, side: str, *prices: Any, ts: int = 1, user: str = "m") -> None:
    """Resting orders of ``user`` at ``prices`` (qty 1, or (price, qty)), ids ``a<price>`` for
    asks and ``b<price>`` for bids."""
    for p in prices:
        price, qty = p if isinstance(p, tuple) else (p, 1)
        cid = ("a" if side == "sell" else "b") + str(price)
        assert ok(ex, limit(user, cid, side, qty, price, ts=ts))[-1].get("rests"), "must rest"


def brief(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as a short tuple: (type, id or symbol, the details that matter)."""
    out: list[tuple[Any, ...]] = []
    for ev in events:
        t = ev["type"]
        if t == "trade":
            out.append((t, ev["maker"]["id"], ev["taker"]["id"], ev["price"], ev["qty"]))
        elif t == "rejected":
            out.append((t, ev.get("id"), ev["reason"]))
        elif t == "cancelled":
            out.append((t, ev["id"], ev["reason"], ev["remaining"]))
        elif t in ("halted", "resumed"):
            out.append((t, ev["symbol"], ev["reason"]))
        elif t == "triggered":
            out.append((t, ev["id"], ev["trigger_price"]))
        elif t in ("activated", "modified"):
            out.append((t, ev["id"], ev["qty"]))
        else:
            out.append((t, ev.get("id")))
    return out


def outcome(events: list[Event]) -> str:
    """The reason if the command was rejected, else the type of its first event ("" if none)."""
    if not events:
        return ""
    first = events[0]
    return str(first["reason"] if first["type"] == "rejected" else first["type"])


def asks(ex: ReferenceExchange) -> list[tuple[int, int]]:
    return [(price, total) for price, total, _c, _m in ex.levels_view("X", False)]


def bids(ex: ReferenceExchange) -> list[tuple[int, int]]:
    return [(price, total) for price, total, _c, _m in ex.levels_view("X", True)]


HALT = [("halted", "X", "volatility")]


# -- the instrument's breaker fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("breaker_pct", "abc"),
        ("breaker_pct", True),
        ("breaker_pct", [10]),
        ("breaker_window_ns", 1000.0),  # a JSON float is no integer
        ("breaker_window_ns", "1000"),
        ("breaker_halt_ns", True),  # nor is a bool
        ("breaker_halt_ns", {"ns": 50}),
        ("breaker_min_trades", 2.5),
        ("breaker_min_trades", False),
        ("breaker_min_trades", "2"),
    ],
)
def test_a_breaker_field_of_the_wrong_type_is_bad_command(field: str, value: Any) -> None:
    ex = ReferenceExchange()
    (ev,) = ex.apply(instrument(**{**BREAKER, field: value}))
    assert (ev["reason"], field in ev["message"]) == ("bad_command", True)
    assert ex.symbols() == []  # nothing was defined


@pytest.mark.parametrize(
    "fields",
    [
        {"breaker_pct": "10"},
        {"breaker_window_ns": 1000},
        {"breaker_halt_ns": 50},
        {"breaker_pct": "10", "breaker_window_ns": 1000},
        {"breaker_pct": "10", "breaker_halt_ns": 50, "breaker_min_trades": 2},
        {"breaker_window_ns": 1000, "breaker_halt_ns": 50},
        {**BREAKER, "breaker_halt_ns": None},  # null counts as absent
    ],
)
def test_pct_window_and_halt_go_together(fields: Cmd) -> None:
    ex = ReferenceExchange()
    assert brief(ex.apply(instrument(**fields))) == [("rejected", None, "bad_command")]
    assert ex.symbols() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("breaker_pct", "0"),
        ("breaker_pct", "-1"),
        ("breaker_pct", "100.000001"),
        ("breaker_pct", "0.0000001"),  # 7 places
        ("breaker_window_ns", 0),
        ("breaker_window_ns", -1000),
        ("breaker_halt_ns", 0),
        ("breaker_window_ns", 2**63),
        ("breaker_halt_ns", 2**63),
        ("breaker_min_trades", 0),
        ("breaker_min_trades", -1),
        ("breaker_min_trades", 2**63),
    ],
)
def test_a_breaker_field_out_of_range_is_bad_price(field: str, value: Any) -> None:
    ex = ReferenceExchange()
    (ev,) = ex.apply(instrument(**{**BREAKER, field: value}))
    assert (ev["reason"], field in ev["message"]) == ("bad_price", True)
    assert ex.symbols() == []


@pytest.mark.parametrize(
    "fields",
    [
        {**BREAKER, "breaker_pct": "100"},
        {**BREAKER, "breaker_pct": "0.000001"},
        {**BREAKER, "breaker_pct": "1.2500000000"},  # trailing zeros are no places
        {**BREAKER, "breaker_pct": 5},  # any well-formed number
        {**BREAKER, "breaker_pct": 2.5},
        {"breaker_pct": "10", "breaker_window_ns": 1, "breaker_halt_ns": 1, "breaker_min_trades": 1},
        {**BREAKER, "breaker_window_ns": 2**63 - 1, "breaker_halt_ns": 2**63 - 1},
        {**BREAKER, "breaker_min_trades": 2**63 - 1},
        {**BREAKER, "breaker_min_trades": None},  # null: the default, 1
        {"breaker_min_trades": 3},  # alone: allowed, and no breaker without the other three
        dict.fromkeys(("breaker_pct", "breaker_window_ns", "breaker_halt_ns", "breaker_min_trades")),
    ],
)
def test_breaker_fields_at_the_edges_of_their_ranges(fields: Cmd) -> None:
    ex = ReferenceExchange()
    assert ex.apply(instrument(**fields)) == []
    assert ex.symbols() == ["X"]


@pytest.mark.parametrize(
    ("fields", "reason", "names"),
    [
        # Every field of the wrong type, the risk fields' first, before the rest.
        ({"tick_size": "0", "breaker_window_ns": "1"}, "bad_command", "breaker_window_ns"),
        ({"min_qty": "abc", "breaker_pct": "abc"}, "bad_command", "min_qty"),
        ({"market_protection_ticks": "1", "breaker_pct": "abc"}, "bad_command", "market_protection_ticks"),
        # Then the three together, before the tick and lot.
        ({"breaker_halt_ns": None, "breaker_min_trades": "x"}, "bad_command", "breaker_min_trades"),
        ({"tick_size": "0", "breaker_halt_ns": None}, "bad_command", "together"),
        ({"lot_size": "0", "breaker_window_ns": None}, "bad_command", "together"),
        # Then the tick, the lot, the risk fields' ranges, then the breaker's in order.
        ({"tick_size": "0", "breaker_pct": "0"}, "bad_price", "tick_size"),
        ({"lot_size": "0", "breaker_pct": "0"}, "bad_qty", "lot_size"),
        ({"min_qty": "0", "breaker_pct": "0"}, "bad_qty", "min_qty"),
        ({"market_protection_ticks": -1, "breaker_pct": "0"}, "bad_price", "market_protection_ticks"),
        ({"breaker_pct": "0", "breaker_window_ns": 0}, "bad_price", "breaker_pct"),
        ({"breaker_window_ns": 0, "breaker_halt_ns": 0}, "bad_price", "breaker_window_ns"),
        ({"breaker_halt_ns": 0, "breaker_min_trades": 0}, "bad_price", "breaker_halt_ns"),
    ],
)
def test_instrument_checks_in_order(fields: Cmd, reason: str, names: str) -> None:
    ex = ReferenceExchange()
    (ev,) = ex.apply({**instrument(), **BREAKER, **fields})
    assert (ev["reason"], names in ev["message"]) == (reason, True), ev["message"]


def test_min_trades_alone_is_still_range_checked() -> None:
    ex = ReferenceExchange()
    assert outcome(ex.apply(instrument(breaker_min_trades=0))) == "bad_price"
    assert outcome(ex.apply(instrument(breaker_min_trades=True))) == "bad_command"


def test_a_refused_instrument_keeps_the_breaker_as_it_was() -> None:
    ex = exchange(100)
    rest(ex, "sell", 115)
    refused = instrument(**{**BREAKER, "breaker_pct": "20", "breaker_halt_ns": 0})
    assert outcome(ex.apply(refused)) == "bad_price"
    assert outcome(ex.apply(instrument(breaker_pct="20"))) == "bad_command"
    assert outcome(ex.apply(instrument(tick="2", **BREAKER))) == "instrument_busy"
    # Still 10 %: 115 is outside [90, 110], so the FOK finds nothing it may fill against.
    assert brief(ex.apply(limit("t", "f", "buy", 1, 115, tif="fok")))[1:] == [("cancelled", "f", "fok", "1")]


# -- arming: breaker_min_trades, and the default ------------------------------------------------


@pytest.mark.parametrize(("trades", "armed"), [(2, False), (3, True), (4, True)])
def test_armed_once_the_window_holds_min_trades(trades: int, armed: bool) -> None:
    ex = exchange(*[100] * trades, **BREAKER, breaker_min_trades=3)
    rest(ex, "sell", 120)
    events = brief(ex.apply(limit("t", "o", "buy", 1, 120)))
    if armed:
        assert events == [("accepted", "o"), *HALT, ("cancelled", "o", "volatility", "1")]
    else:
        assert events == [("accepted", "o"), ("trade", "a120", "o", "120", "1")]


def test_one_trade_arms_by_default_and_none_never_does() -> None:
    ex = exchange()  # no trade yet: nothing to take a mean of
    rest(ex, "sell", 100, 1000)
    assert brief(ex.apply(market("t", "o", "buy", 1)))[1:] == [("trade", "a100", "o", "100", "1")]
    # Now one trade at 100: armed, [90, 110].
    assert brief(ex.apply(market("t", "o2", "buy", 1)))[1:] == [*HALT, ("cancelled", "o2", "volatility", "1")]


# -- the band -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pct", "side", "price", "inside"),
    [
        ("10", "buy", 110, True),  # |110 - 100| * 100 = 1000 = 100 * 10: the edge is in
        ("10", "buy", 111, False),
        ("10", "sell", 90, True),
        ("10", "sell", 89, False),
        ("2.5", "buy", 102, True),  # 200 <= 250
        ("2.5", "buy", 103, False),  # 300 > 250
        ("2.5", "sell", 98, True),
        ("2.5", "sell", 97, False),
        ("100", "sell", 1, True),  # 9900 <= 10000: every lower price
        ("100", "buy", 200, True),
        ("100", "buy", 201, False),
    ],
)
def test_band_edges_are_inclusive(pct: str, side: str, price: int, inside: bool) -> None:
    ex = exchange(100, **{**BREAKER, "breaker_pct": pct})
    rest(ex, "sell" if side == "buy" else "buy", price)
    maker = ("a" if side == "buy" else "b") + str(price)
    events = brief(ex.apply(limit("t", "o", side, 1, price)))
    if inside:
        assert events == [("accepted", "o"), ("trade", maker, "o", str(price), "1")]
    else:
        assert events == [("accepted", "o"), *HALT, ("cancelled", "o", "volatility", "1")]


def test_the_walk_stops_at_the_first_maker_outside_the_band_on_either_side() -> None:
    # Near side: the best ask is below the band (85 < 90). The walk never skips it for the
    # 105 behind it: nothing trades and the symbol halts.
    ex = exchange(100)
    rest(ex, "sell", 85, 105)
    assert brief(ex.apply(limit("t", "o", "buy", 2, 105)))[1:] == [
        *HALT,
        ("cancelled", "o", "volatility", "2"),
    ]
    assert asks(ex) == [(85, 1), (105, 1)]
    # The same for a sell: a bid above the band (115 > 110), STP or not.
    ex = exchange(100)
    rest(ex, "buy", 115, user="t")
    rest(ex, "buy", 95)
    assert brief(ex.apply(market("t", "o", "sell", 3, stp="cancel_maker")))[1:] == [
        *HALT,
        ("cancelled", "o", "volatility", "3"),
    ]
    assert bids(ex) == [(115, 1), (95, 1)]
    # A FOK finds nothing it may fill against either, and does not halt.
    ex = exchange(100)
    rest(ex, "sell", 85, (105, 5))
    assert brief(ex.apply(limit("t", "f", "buy", 1, 105, tif="fok")))[1:] == [("cancelled", "f", "fok", "1")]
    assert outcome(ex.apply(limit("t", "p", "buy", 1, 50))) == "accepted"


def test_the_reference_is_the_plain_mean_of_the_trade_prices() -> None:
    # Trades 5 @ 99 and 1 @ 101: the mean of the prices is 100 (each trade once); weighted by
    # qty it would be 99, and 110 would be out (|110 - 99| * 100 = 1100 > 990).
    ex = exchange((99, 5), (101, 1))
    rest(ex, "sell", 110)
    assert brief(ex.apply(limit("t", "o", "buy", 1, 110)))[1:] == [("trade", "a110", "o", "110", "1")]


@pytest.mark.parametrize(("price", "inside"), [(110, True), (111, False), (91, True), (90, False)])
def test_a_fractional_mean_is_exact(price: int, inside: bool) -> None:
    # Mean 201/2 = 100.5; 10 %: |p - 100.5| * 100 <= 1005, so [90.45, 110.55].
    ex = exchange(100, 101)
    side = "buy" if price > 100 else "sell"
    rest(ex, "sell" if side == "buy" else "buy", price)
    events = brief(ex.apply(limit("t", "o", side, 1, price)))
    assert (events[1][0] == "trade") == inside


@pytest.mark.parametrize(
    ("side", "price", "inside"),
    [("buy", "10.05", True), ("buy", "10.06", False), ("sell", "9.95", True), ("sell", "9.94", False)],
)
def test_band_in_decimal_ticks(side: str, price: str, inside: bool) -> None:
    # Y: tick 0.01, lot 0.1; one trade at 10.00 and 0.5 %: [9.95, 10.05] (a second trade would
    # move the mean, so each price gets an exchange of its own).
    ex = ReferenceExchange()
    ok(ex, instrument("Y", "0.01", "0.1", **{**BREAKER, **QUIET}))
    prime(ex, "10.00", symbol="Y")
    ok(ex, instrument("Y", "0.01", "0.1", **{**BREAKER, "breaker_pct": "0.5"}))
    ok(ex, limit("m", "m", "sell" if side == "buy" else "buy", "0.1", price, symbol="Y"))
    events = brief(ex.apply(limit("t", "t", side, "0.2", price, symbol="Y")))
    if inside:
        assert events[1:] == [("trade", "m", "t", price, "0.1")]
    else:
        assert events[1:] == [("halted", "Y", "volatility"), ("cancelled", "t", "volatility", "0.2")]


# -- the halt: a sweep stopped at the band's edge -----------------------------------------------


def test_a_sweep_halts_at_the_band_edge_events_in_order() -> None:
    ex = exchange(100)  # [90, 110]
    rest(ex, "sell", (105, 2), 110, 111, (130, 5))
    rest(ex, "buy", 95)
    events = ex.apply(limit("t", "o", "buy", 10, 120, ts=5))
    assert brief(events) == [
        ("accepted", "o"),
        ("trade", "a105", "o", "105", "2"),
        ("trade", "a110", "o", "110", "1"),
        *HALT,
        ("cancelled", "o", "volatility", "7"),
    ]
    assert events[3] == {"type": "halted", "ts": 5, "symbol": "X", "reason": "volatility"}
    assert events[4] == {"type": "cancelled", "ts": 5, "user": "t", "id": "o", "symbol": "X",
                         "order_id": 8, "reason": "volatility", "remaining": "7"}  # fmt: skip
    assert events[0]["order_id"] == 8  # after the two primed orders and the five resting ones
    assert "rests" not in events[2]  # nothing rests into a halted book
    assert asks(ex) == [(111, 1), (130, 5)]
    assert bids(ex) == [(95, 1)]


def test_the_band_is_fixed_when_the_step_starts() -> None:
    # After 105 the mean would be 102.5 and 112 inside; the taker's band stays [90, 110].
    ex = exchange(100)
    rest(ex, "sell", 105, 112)
    assert brief(ex.apply(limit("t", "o", "buy", 2, 112))) == [
        ("accepted", "o"),
        ("trade", "a105", "o", "105", "1"),
        *HALT,
        ("cancelled", "o", "volatility", "1"),
    ]


def test_the_next_step_reads_the_trades_of_the_one_before() -> None:
    # The taker prints 105 in [90, 110]; the stop it triggers is a step of its own, whose band
    # is around (100 + 105) / 2 = 102.5: [92.25, 112.75], so it reaches 112.
    ex = exchange(100)
    rest(ex, "sell", 105, 112)
    ok(ex, stop("s", "s", "buy", 1, 105))
    assert brief(ex.apply(limit("t", "o", "buy", 1, 106, ts=2))) == [
        ("accepted", "o"),
        ("trade", "a105", "o", "105", "1"),
        ("triggered", "s", "105"),
        ("trade", "a112", "s", "112", "1"),
    ]


_TAKERS = {
    "gtc": limit("t", "o", "buy", 5, 111),
    "day": limit("t", "o", "buy", 5, 111, tif="day"),
    "gtd": limit("t", "o", "buy", 5, 111, tif="gtd", expire_ts=10**6),
    "ioc": limit("t", "o", "buy", 5, 111, tif="ioc"),
    "iceberg": limit("t", "o", "buy", 5, 111, display_qty="1"),
    "market": market("t", "o", "buy", 5),
}


@pytest.mark.parametrize("taker", list(_TAKERS))
def test_the_remainder_is_cancelled_volatility_whatever_the_order(taker: str) -> None:
    ex = exchange(100)
    rest(ex, "sell", 105, 111)
    assert brief(ex.apply(_TAKERS[taker])) == [
        ("accepted", "o"),
        ("trade", "a105", "o", "105", "1"),
        *HALT,
        ("cancelled", "o", "volatility", "4"),
    ]
    assert asks(ex) == [(111, 1)]


def test_a_step_with_no_trade_can_halt() -> None:
    ex = exchange(100)
    rest(ex, "sell", 111)
    assert brief(ex.apply(market("t", "o", "buy", 3))) == [
        ("accepted", "o"), *HALT, ("cancelled", "o", "volatility", "3"),
    ]  # fmt: skip


def test_no_halt_when_the_own_limit_or_the_protection_stops_first() -> None:
    # The taker's own limit (110) stops it before the band: it rests.
    ex = exchange(100)
    rest(ex, "sell", 105, 111)
    assert brief(ex.apply(limit("t", "o", "buy", 3, 110)))[1:] == [("trade", "a105", "o", "105", "1")]
    assert bids(ex) == [(110, 2)]
    assert outcome(ex.apply(limit("t", "p", "buy", 1, 50))) == "accepted"  # not halted
    # Protection 3: best ask 105, so 108 at worst; 111 is beyond it: market_protection.
    ex = exchange(100, **BREAKER, market_protection_ticks=3)
    rest(ex, "sell", 105, 111)
    assert brief(ex.apply(market("t", "o", "buy", 5)))[1:] == [
        ("trade", "a105", "o", "105", "1"),
        ("cancelled", "o", "market_protection", "4"),
    ]
    # Protection 6: 111 at worst, so 111 is within the order's own limit: the band stopped it.
    ex = exchange(100, **BREAKER, market_protection_ticks=6)
    rest(ex, "sell", 105, 111)
    assert brief(ex.apply(market("t", "o", "buy", 5)))[1:] == [
        ("trade", "a105", "o", "105", "1"),
        *HALT,
        ("cancelled", "o", "volatility", "4"),
    ]
    # The other side emptied inside the band: no_liquidity, no halt.
    ex = exchange(100)
    rest(ex, "sell", 105)
    assert brief(ex.apply(market("t", "o", "buy", 5)))[1:] == [
        ("trade", "a105", "o", "105", "1"),
        ("cancelled", "o", "no_liquidity", "4"),
    ]


def test_a_sell_taker_halts_at_the_lower_edge() -> None:
    ex = exchange(100)
    rest(ex, "buy", 95, 90, 89)
    assert brief(ex.apply(market("t", "o", "sell", 4))) == [
        ("accepted", "o"),
        ("trade", "b95", "o", "95", "1"),
        ("trade", "b90", "o", "90", "1"),
        *HALT,
        ("cancelled", "o", "volatility", "2"),
    ]


def test_an_own_order_outside_the_band_counts_too() -> None:
    # The only ask is the taker's own, outside the band: STP never sees it (the band keeps the
    # taker from reaching it), and it is an order within the taker's own limit: a halt.
    ex = exchange(100)
    rest(ex, "sell", 120, user="t")
    assert brief(ex.apply(limit("t", "o", "buy", 1, 125, stp="cancel_taker")))[1:] == [
        *HALT,
        ("cancelled", "o", "volatility", "1"),
    ]
    assert asks(ex) == [(120, 1)]


def test_a_crossing_modify_is_a_step() -> None:
    ex = exchange(100)
    rest(ex, "sell", 105, 111)
    rest(ex, "buy", (95, 3), user="t")
    assert brief(ex.apply(modify("t", "b95", ts=2, price=115))) == [
        ("modified", "b95", "3"),
        ("trade", "a105", "b95", "105", "1"),
        *HALT,
        ("cancelled", "b95", "volatility", "2"),
    ]
    assert bids(ex) == []


def test_a_modify_crossing_only_outside_the_band_halts_without_a_trade() -> None:
    ex = exchange(100)
    rest(ex, "sell", 111)
    rest(ex, "buy", (95, 3), user="t")
    assert brief(ex.apply(modify("t", "b95", ts=2, price=111))) == [
        ("modified", "b95", "3"),
        *HALT,
        ("cancelled", "b95", "volatility", "3"),
    ]


def test_a_modify_that_does_not_reach_past_the_band_does_not_halt() -> None:
    ex = exchange(100)
    rest(ex, "sell", 111)
    rest(ex, "buy", (95, 3), user="t")
    assert brief(ex.apply(modify("t", "b95", ts=2, qty=2))) == [("modified", "b95", "2")]
    assert brief(ex.apply(modify("t", "b95", ts=2, price=96))) == [("modified", "b95", "2")]
    assert bids(ex) == [(96, 2)]


# -- dry runs: FOK in the band, post-only regardless of it --------------------------------------


def test_fok_counts_only_the_liquidity_in_the_band() -> None:
    ex = exchange(100)
    rest(ex, "sell", (105, 2), (111, 2))
    fok = limit("t", "f1", "buy", 3, 115, tif="fok")
    assert brief(ex.apply(fok))[1:] == [("cancelled", "f1", "fok", "3")]
    assert brief(ex.apply(market("t", "f2", "buy", 3, tif="fok")))[1:] == [("cancelled", "f2", "fok", "3")]
    assert asks(ex) == [(105, 2), (111, 2)]  # no trade, and no halt:
    assert brief(ex.apply(limit("t", "f3", "buy", 2, 115, tif="fok")))[1:] == [
        ("trade", "a105", "f3", "105", "2")
    ]
    # Not armed (two trades needed, one printed): the same FOK fills across 111.
    ex = exchange(100, **BREAKER, breaker_min_trades=2)
    rest(ex, "sell", (105, 2), (111, 2))
    assert brief(ex.apply(limit("t", "f", "buy", 3, 115, tif="fok")))[1:] == [
        ("trade", "a105", "f", "105", "2"),
        ("trade", "a111", "f", "111", "1"),
    ]


def test_fok_dry_run_in_the_band_keeps_its_stp_rules() -> None:
    ex = exchange(100)
    rest(ex, "sell", 104, user="t")
    rest(ex, "sell", (105, 2), (111, 5))
    # decrement: the walk stops at the own maker, so no fill by trades alone.
    assert brief(ex.apply(limit("t", "f1", "buy", 2, 115, tif="fok", stp="decrement")))[1:] == [
        ("cancelled", "f1", "fok", "2")
    ]
    # cancel_maker: the own maker is skipped, 105 fills it.
    assert brief(ex.apply(limit("t", "f2", "buy", 2, 115, tif="fok", stp="cancel_maker")))[1:] == [
        ("cancelled", "a104", "stp", "1"),
        ("trade", "a105", "f2", "105", "2"),
    ]


def test_the_post_only_dry_run_ignores_the_band() -> None:
    ex = exchange(100)
    rest(ex, "sell", 111)  # outside the band, but a post-only order at 111 would take it
    assert outcome(ex.apply(limit("t", "p", "buy", 1, 111, post_only=True))) == "post_only"
    rest(ex, "buy", 95, user="t")
    ok(ex, limit("t", "po", "buy", 1, 96, post_only=True))
    assert outcome(ex.apply(modify("t", "po", price=111))) == "post_only"
    assert outcome(ex.apply(limit("t", "q", "buy", 1, 50))) == "accepted"  # never halted


# -- the window over ts -------------------------------------------------------------------------


@pytest.mark.parametrize(("ts", "armed"), [(109, True), (110, False)])
def test_a_trade_leaves_the_window_by_ts(ts: int, armed: bool) -> None:
    # Window 100 ns: the trade at ts 10 is in it while 10 > ts - 100.
    ex = exchange(100, ts=10, **{**BREAKER, "breaker_window_ns": 100})
    rest(ex, "sell", 120, ts=10)
    events = brief(ex.apply(limit("t", "o", "buy", 1, 120, ts=ts)))
    assert (events[1] == HALT[0]) == armed


@pytest.mark.parametrize(("ts", "result"), [(99, "trade"), (100, "halted")])
def test_the_mean_moves_as_trades_leave_the_window(ts: int, result: str) -> None:
    # Trades 100 at ts 0 and 200 at ts 50, window 100: at ts 99 the mean is 150 ([135, 165]);
    # at ts 100 only 200 is left ([180, 220]).
    ex = ReferenceExchange()
    ok(ex, instrument(**{**BREAKER, **QUIET}))
    prime(ex, 100, ts=0)
    prime(ex, 200, ts=50)
    assert ex.apply(instrument(ts=50, **{**BREAKER, "breaker_window_ns": 100})) == []
    rest(ex, "sell", 150, ts=50)
    assert brief(ex.apply(limit("t", "o", "buy", 1, 150, ts=ts)))[1][0] == result


def test_a_trade_that_left_the_window_is_forgotten() -> None:
    # A trade that left the window is gone for good: a window grown later does not count it
    # again (the fast engine keeps only the window's trades).
    ex = exchange(100, ts=0, **{**BREAKER, "breaker_window_ns": 10})
    rest(ex, "sell", 120, ts=0)
    # A step at ts 20, whose window (ts > 10) is empty: it reaches the ask and is cancelled by
    # its STP without a trade.
    assert brief(ex.apply(limit("m", "b", "buy", 1, 120, ts=20, stp="cancel_taker")))[1:] == [
        ("cancelled", "b", "stp", "1")
    ]
    assert ex.apply(instrument(ts=20, **{**BREAKER, "breaker_window_ns": 1000})) == []
    events = ex.apply(limit("t", "o", "buy", 1, 120, ts=21))
    assert [e["type"] for e in events] == ["accepted", "trade"]  # not armed: the trade at 120 prints


def test_a_later_trade_counts_when_ts_goes_back() -> None:
    # ts may go back; the window is every trade with ts > now - window, so a trade at ts 100
    # is in the window of a command at ts 50.
    ex = exchange(100, ts=100, **{**BREAKER, "breaker_window_ns": 10})
    rest(ex, "sell", 120, ts=100)
    assert brief(ex.apply(limit("t", "o", "buy", 1, 120, ts=50)))[1:] == [
        *HALT,
        ("cancelled", "o", "volatility", "1"),
    ]


# -- during the halt ----------------------------------------------------------------------------


def _halted(**settings: Any) -> ReferenceExchange:
    """X halted by the breaker at ts 5 (until 55): one trade at 100 at ts 0, asks 105 (filled by
    the halting order) and 111, a resting bid b95 of user m, a resting ask a200 of user u."""
    ex = exchange(100, **(settings or BREAKER))
    rest(ex, "sell", 105, 111)
    rest(ex, "buy", 95)
    ok(ex, limit("u", "a200", "sell", 1, 200))
    assert brief(ex.apply(limit("t", "o", "buy", 2, 111, ts=5)))[2:] == [
        *HALT,
        ("cancelled", "o", "volatility", "1"),
    ]
    return ex


def test_cancels_work_during_the_halt_and_nothing_else_does() -> None:
    ex = _halted()
    oco = {"cmd": "oco", "ts": 6, "user": "a", "symbol": "X", "side": "buy",
           "orders": [{"id": "o1", "type": "limit", "qty": "1", "price": "80"},
                      {"id": "o2", "type": "limit", "qty": "1", "price": "81"}]}  # fmt: skip
    bracket = {"cmd": "bracket", "ts": 6, "user": "a", "symbol": "X", "side": "buy",
               "entry": {"id": "e", "type": "limit", "qty": "1", "price": "90"},
               "take_profit": {"id": "tp", "price": "130"}}  # fmt: skip
    assert outcome(ex.apply(limit("a", "n", "buy", 1, 90, ts=6))) == "halted"
    assert outcome(ex.apply(stop("a", "s", "buy", 1, 150, ts=6))) == "halted"
    assert outcome(ex.apply(oco)) == "halted"
    assert outcome(ex.apply(bracket)) == "halted"
    assert outcome(ex.apply(modify("m", "b95", ts=6, price=96))) == "halted"
    assert brief(ex.apply(cancel("m", "b95", ts=6))) == [("cancelled", "b95", "user", "1")]
    assert brief(ex.apply({"cmd": "cancel_all", "ts": 6, "user": "u"})) == [
        ("cancelled", "a200", "mass_cancel", "1")
    ]
    assert outcome(ex.apply(session("halt", 6))) == "bad_state"  # already halted
    assert asks(ex) == [(111, 1)]


@pytest.mark.parametrize("cmd", ["tick", "new", "unknown"])
def test_the_halt_ends_at_the_first_command_at_or_past_its_end(cmd: str) -> None:
    ex = _halted()  # halted at ts 5 for 50 ns: until 55
    assert ex.apply(tick(54)) == []
    assert outcome(ex.apply(limit("a", "n", "buy", 1, 90, ts=54))) == "halted"
    command = {
        "tick": tick(55),
        "new": limit("a", "n", "buy", 1, 90, ts=55),
        "unknown": {"cmd": "nope", "ts": 55},
    }[cmd]
    events = ex.apply(command)
    assert events[0] == {"type": "resumed", "ts": 55, "symbol": "X", "reason": "volatility"}
    rest_of_it = {"tick": [], "new": ["accepted"], "unknown": ["rejected"]}[cmd]
    assert [ev["type"] for ev in events[1:]] == rest_of_it
    assert ex.apply(tick(56)) == []
    assert outcome(ex.apply(session("resume", 56))) == "bad_state"  # running again


def test_a_command_with_a_bad_ts_resumes_nothing() -> None:
    ex = _halted()
    assert brief(ex.apply({"cmd": "tick", "ts": -1})) == [("rejected", None, "bad_command")]
    assert brief(ex.apply({"cmd": "tick", "ts": 60})) == [("resumed", "X", "volatility")]


def test_gtd_expiry_comes_before_the_resume() -> None:
    ex = exchange(100)
    rest(ex, "sell", 105, 111)
    ok(ex, limit("m", "g", "buy", 1, 95, tif="gtd", expire_ts=55))
    halting = limit("t", "o", "buy", 2, 111, ts=5)
    assert brief(ex.apply(halting))[2:] == [*HALT, ("cancelled", "o", "volatility", "1")]
    assert brief(ex.apply(tick(55))) == [("cancelled", "g", "expired", "1"), ("resumed", "X", "volatility")]


def test_resumes_earliest_end_first_then_by_symbol() -> None:
    ex = ReferenceExchange()
    for symbol in ("C", "B", "A"):
        ok(ex, instrument(symbol, **{**BREAKER, **QUIET}))
        prime(ex, 100, symbol=symbol)
        ok(ex, instrument(symbol, **BREAKER))
        ok(ex, limit("m", "a" + symbol, "sell", 1, 120, symbol=symbol))
    # B halts at ts 1 (until 51), C and A at ts 2 (until 52).
    for symbol, ts in (("B", 1), ("C", 2), ("A", 2)):
        assert brief(ex.apply(market("t", "o" + symbol, "buy", 1, ts=ts, symbol=symbol)))[1] == (
            "halted", symbol, "volatility"
        )  # fmt: skip
    assert brief(ex.apply(tick(100))) == [("resumed", s, "volatility") for s in ("B", "A", "C")]


def test_a_manual_resume_ends_the_halt_early() -> None:
    ex = _halted()
    assert brief(ex.apply(session("resume", 10))) == [("resumed", "X", "manual")]
    assert ex.apply(tick(55)) == []  # that halt is over: nothing resumes at its old end
    assert outcome(ex.apply(session("halt", 60))) == "halted"  # a manual halt never ends by itself
    assert ex.apply(tick(10**6)) == []
    assert outcome(ex.apply(limit("a", "n", "buy", 1, 90, ts=10**6))) == "halted"
    assert brief(ex.apply(session("resume", 10**6))) == [("resumed", "X", "manual")]


# -- stops and brackets held by the halt --------------------------------------------------------


def _stops_halted(window: int) -> ReferenceExchange:
    """One trade at 100 at ts 0, asks 105 and 120 x 5; buy stops s1 (trigger 105) and s2 (a
    stop-limit, trigger 104, limit 125), each qty 1; then at ts 1 a buy of 2 up to 125 prints
    105 (both stops fire) and halts at 120 (outside [90, 110]), until 51."""
    ex = exchange(100, **{**BREAKER, "breaker_window_ns": window})
    rest(ex, "sell", 105, (120, 5))
    ok(ex, stop("s", "s1", "buy", 1, 105))
    ok(ex, new("s", "s2", "buy", "stop_limit", 1, trigger_price=104, price=125))
    assert brief(ex.apply(limit("t", "o", "buy", 2, 125, ts=1))) == [
        ("accepted", "o"),
        ("trade", "a105", "o", "105", "1"),
        *HALT,
        ("cancelled", "o", "volatility", "1"),
    ]  # no triggered event: the stops wait for the resume
    return ex


def test_stops_triggered_before_the_halt_are_released_at_the_resume() -> None:
    ex = _stops_halted(window=40)  # at ts 51 the window (ts > 11) is empty: not armed
    assert ex.apply(tick(50)) == []
    assert brief(ex.apply(tick(51))) == [
        ("resumed", "X", "volatility"),
        ("triggered", "s1", "105"),
        ("trade", "a120", "s1", "120", "1"),
        ("triggered", "s2", "104"),
        ("trade", "a120", "s2", "120", "1"),
    ]


def test_a_manual_resume_releases_the_held_stops() -> None:
    ex = _stops_halted(window=40)
    assert brief(ex.apply(session("resume", 45))) == [  # window ts > 5: empty
        ("resumed", "X", "manual"),
        ("triggered", "s1", "105"),
        ("trade", "a120", "s1", "120", "1"),
        ("triggered", "s2", "104"),
        ("trade", "a120", "s2", "120", "1"),
    ]
    assert ex.apply(tick(51)) == []


def test_a_held_stop_can_be_cancelled_during_the_halt() -> None:
    ex = _stops_halted(window=40)
    assert brief(ex.apply(cancel("s", "s1", ts=6))) == [("cancelled", "s1", "user", "1")]
    assert brief(ex.apply(tick(51)))[1:] == [("triggered", "s2", "104"), ("trade", "a120", "s2", "120", "1")]


def test_a_released_stop_can_halt_again_and_the_rest_wait_for_the_next_resume() -> None:
    ex = _stops_halted(window=100)
    # At ts 51 the window still holds 100 and 105: [92.25, 112.75], and s1 meets 120: halted
    # again, until 101; s2 waits.
    assert brief(ex.apply(tick(51))) == [
        ("resumed", "X", "volatility"),
        ("triggered", "s1", "105"),
        *HALT,
        ("cancelled", "s1", "volatility", "1"),
    ]
    assert ex.apply(tick(100)) == []
    # At ts 101 the window (ts > 1) is empty.
    assert brief(ex.apply(tick(101))) == [
        ("resumed", "X", "volatility"),
        ("triggered", "s2", "104"),
        ("trade", "a120", "s2", "120", "1"),
    ]


@pytest.mark.parametrize("activation", ["full", "partial"])
def test_a_bracket_entry_halted_with_a_fill_activates_at_the_resume(activation: str) -> None:
    ex = exchange(100, **{**BREAKER, "breaker_window_ns": 40})
    rest(ex, "sell", 105, (120, 5))
    bracket = {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
               "entry": {"id": "e", "type": "limit", "qty": "3", "price": "125"},
               "take_profit": {"id": "tp", "price": "130"},
               "stop_loss": {"id": "sl", "trigger_price": "90"}, "activation": activation}  # fmt: skip
    assert brief(ex.apply(bracket)) == [
        ("accepted", "e"),
        ("accepted", "tp"),
        ("accepted", "sl"),
        ("trade", "a105", "e", "105", "1"),
        *HALT,
        ("cancelled", "e", "volatility", "2"),
    ]  # the children stay dormant: nothing trades in a halt
    events = ex.apply(tick(51))
    assert brief(events) == [
        ("resumed", "X", "volatility"),
        ("activated", "sl", "1"),
        ("activated", "tp", "1"),
    ]
    assert events[-1]["rests"] == [{"order_id": 6, "side": "sell", "price": "130", "qty": "1"}]


def test_a_deferred_activation_that_halts_again_leaves_the_rest_for_the_next_resume() -> None:
    ex = exchange(100)  # [90, 110]
    # p's entry e1 rests as a bid at 105 with a take-profit that sells down to 80; m bids 80.
    ok(ex, {"cmd": "bracket", "ts": 1, "user": "p", "symbol": "X", "side": "buy",
            "entry": {"id": "e1", "type": "limit", "qty": "1", "price": "105"},
            "take_profit": {"id": "tp1", "price": "80"},
            "stop_loss": {"id": "sl1", "trigger_price": "50"}})  # fmt: skip
    rest(ex, "buy", 80)
    # q's entry e2 sells into e1 at 105, then meets 80 (outside the band): a halt. Both
    # entries are finished with a fill: both activations wait, e1's first (the maker).
    assert brief(ex.apply({"cmd": "bracket", "ts": 1, "user": "q", "symbol": "X", "side": "sell",
                           "entry": {"id": "e2", "type": "limit", "qty": "3", "price": "70"},
                           "take_profit": {"id": "tp2", "price": "120"},
                           "stop_loss": {"id": "sl2", "trigger_price": "200"}}))[3:] == [
        ("trade", "e1", "e2", "105", "1"),
        *HALT,
        ("cancelled", "e2", "volatility", "2"),
    ]  # fmt: skip
    # At the resume tp1 meets 80, outside the new band (mean 102.5: [92.25, 112.75]): halted
    # again at once, and e2's children keep waiting.
    assert brief(ex.apply(session("resume", 2))) == [
        ("resumed", "X", "manual"),
        ("activated", "sl1", "1"),
        ("activated", "tp1", "1"),
        *HALT,
        ("cancelled", "tp1", "volatility", "1"),
        ("cancelled", "sl1", "oco", "1"),
    ]
    assert ex.apply(tick(51)) == []
    assert brief(ex.apply(tick(52))) == [
        ("resumed", "X", "volatility"),
        ("activated", "sl2", "1"),
        ("activated", "tp2", "1"),
    ]


def test_a_bracket_entry_halted_without_a_fill_cancels_its_children() -> None:
    ex = exchange(100)
    rest(ex, "sell", 120)
    bracket = {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
               "entry": {"id": "e", "type": "limit", "qty": "3", "price": "125"},
               "take_profit": {"id": "tp", "price": "130"},
               "stop_loss": {"id": "sl", "trigger_price": "90"}}  # fmt: skip
    assert brief(ex.apply(bracket))[3:] == [
        *HALT,
        ("cancelled", "e", "volatility", "3"),
        ("cancelled", "sl", "parent", "3"),
        ("cancelled", "tp", "parent", "3"),
    ]


def test_the_oco_rule_follows_the_halting_step() -> None:
    ex = exchange(100)
    oco = {"cmd": "oco", "ts": 1, "user": "m", "symbol": "X", "side": "sell",
           "orders": [{"id": "l", "type": "limit", "qty": "1", "price": "105"},
                      {"id": "s", "type": "stop", "qty": "1", "trigger_price": "80"}]}  # fmt: skip
    ok(ex, oco)
    rest(ex, "sell", 111)
    assert brief(ex.apply(limit("t", "o", "buy", 2, 111, ts=2))) == [
        ("accepted", "o"),
        ("trade", "l", "o", "105", "1"),
        *HALT,
        ("cancelled", "o", "volatility", "1"),
        ("cancelled", "s", "oco", "1"),
    ]


# -- settings changed or removed ----------------------------------------------------------------


def test_changed_settings_apply_from_the_next_step_and_keep_the_window() -> None:
    ex = exchange(100)
    rest(ex, "sell", (115, 3))
    fok = limit("t", "f", "buy", 1, 115, tif="fok")
    assert brief(ex.apply(fok))[1:] == [("cancelled", "f", "fok", "1")]  # [90, 110]
    assert ex.apply(instrument(**{**BREAKER, "breaker_pct": "20"})) == []  # [80, 120]
    assert brief(ex.apply(fok))[1:] == [("trade", "a115", "f", "115", "1")]
    # 1 % around (100 + 115) / 2 = 107.5 would refuse 115; with three trades needed, two
    # printed, the breaker is not armed.
    assert ex.apply(instrument(**{**BREAKER, "breaker_pct": "1", "breaker_min_trades": 3})) == []
    assert brief(ex.apply(fok))[1:] == [("trade", "a115", "f", "115", "1")]
    # Three trades now (100, 115, 115): armed, 1 % around 110 is [108.9, 111.1].
    assert brief(ex.apply(fok))[1:] == [("cancelled", "f", "fok", "1")]
    assert asks(ex) == [(115, 1)]


def test_removing_the_breaker_turns_it_off_and_forgets_the_window() -> None:
    ex = exchange(100)
    rest(ex, "sell", 200, 300)
    assert ex.apply(instrument()) == []
    assert brief(ex.apply(market("t", "o", "buy", 1)))[1:] == [("trade", "a200", "o", "200", "1")]
    # Set again: the window starts empty (the trades at 100 and 200 are forgotten), so the
    # next trade, at 300, is the first in it.
    assert ex.apply(instrument(**BREAKER)) == []
    assert brief(ex.apply(market("t", "o", "buy", 1)))[1:] == [("trade", "a300", "o", "300", "1")]


def test_only_the_trades_since_the_breaker_was_set_count() -> None:
    ex = ReferenceExchange()
    ok(ex, instrument())
    prime(ex, 100)
    ok(ex, instrument(breaker_min_trades=1))  # no breaker without the other three
    prime(ex, 100, ts=1)
    assert ex.apply(instrument(ts=1, **BREAKER)) == []  # set now: the window is empty
    rest(ex, "sell", 200, 300)
    assert brief(ex.apply(market("t", "o", "buy", 1)))[1:] == [("trade", "a200", "o", "200", "1")]
    # One trade (200) since: armed, [180, 220].
    assert brief(ex.apply(market("t", "o", "buy", 1)))[1:] == [*HALT, ("cancelled", "o", "volatility", "1")]


@pytest.mark.parametrize("change", [{"breaker_halt_ns": 10}, {"breaker_halt_ns": 1000}, None])
def test_a_halt_ends_when_it_was_set_to_whatever_the_settings_become(change: Cmd | None) -> None:
    ex = _halted()  # until 55
    fields = {} if change is None else {**BREAKER, **change}
    assert ex.apply(instrument(ts=6, **fields)) == []
    assert ex.apply(tick(54)) == []
    assert brief(ex.apply(tick(55))) == [("resumed", "X", "volatility")]


def test_a_new_tick_forgets_the_window_a_new_lot_does_not() -> None:
    ex = exchange(100)
    assert ex.apply(instrument(lot="0.5", **BREAKER)) == []  # still armed around 100
    rest(ex, "sell", 120)
    events = brief(ex.apply(limit("t", "o", "buy", 1, 120)))
    assert events[1:] == [*HALT, ("cancelled", "o", "volatility", "1")]
    ex = exchange(100)
    assert ex.apply(instrument(tick="0.5", **BREAKER)) == []  # a new tick: no trade in the window
    rest(ex, "sell", 120)
    assert brief(ex.apply(limit("t", "o", "buy", 1, 120)))[1:] == [("trade", "a120", "o", "120", "1")]
