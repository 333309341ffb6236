"""The call auction (orders collected in a halt, one price at the resume) in the naive reference
exchange, on small cases checked by hand.

The reference is the oracle of the property tests, so its call auction is pinned down here on
its own, from docs/PROTOCOL.md ("Call auction: orders collected in a halt, one price at the
resume", ``halt`` / ``resume``, and the events' key orders), without the fast engine: the
``halt_orders`` field, ``halt`` with ``until_ts`` and the scheduled resume, what a call collects
and what it still refuses, the ``indicative`` events and when they are published, the uncross
price (each rule and tie rule), the allocation (priority, partial fill on the surplus side, maker
and taker by acceptance), STP in the auction and its rounds, icebergs, held market remainders,
and what follows an uncross (the OCO rule, deferred activations, stops, the breaker's window).

Symbol X has tick 1 and lot 1 so that prices and quantities read as plain integers. Every
expected value is worked out in a comment from B(p) (market buys + limit buys >= p), S(p) (market
sells + limit sells <= p), volume min(B, S) and surplus B - S.
"""

from __future__ import annotations

from typing import Any

import pytest
from reference_commands import cancel, halt, instrument, limit, market, new, ok, resume, stop, tick

from hftbook.core.reference import ReferenceExchange

Cmd = dict[str, Any]
Event = dict[str, Any]

COLLECT: Cmd = {"halt_orders": "collect"}


# -- helpers ------------------------------------------------------------------------------------


def call(*settings: Cmd, prices: tuple[int, ...] = ()) -> ReferenceExchange:
    """X in collect mode (plus ``settings``), one trade at each of ``prices`` (users who keep
    nothing), then halted by hand at ts 1."""
    ex = ReferenceExchange()
    merged: Cmd = {**COLLECT}
    for s in settings:
        merged.update(s)
    ok(ex, instrument(**merged))
    for n, price in enumerate(prices):
        ok(ex, limit("pm", f"pm{n}", "sell", 1, price, ts=0))
        ok(ex, limit("pt", f"pt{n}", "buy", 1, price, ts=0))
    ok(ex, halt())
    return ex


def brief(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as a short tuple: (type, id or symbol, the details that matter)."""
    out: list[tuple[Any, ...]] = []
    for ev in events:
        t = ev["type"]
        if t == "trade":
            tail = ("auction",) if ev.get("auction") is True else ()
            out.append((t, ev["maker"]["id"], ev["taker"]["id"], ev["price"], ev["qty"], ev["side"], *tail))
        elif t == "rejected":
            out.append((t, ev.get("id"), ev["reason"]))
        elif t == "cancelled":
            out.append((t, ev["id"], ev["reason"], ev["remaining"]))
        elif t in ("halted", "resumed"):
            out.append((t, ev["symbol"], ev["reason"]))
        elif t == "indicative":
            out.append((t, ev["symbol"], ev["price"], ev["volume"], ev["surplus"]))
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


def side_view(ex: ReferenceExchange, is_bid: bool) -> list[tuple[int, list[tuple[int, int]]]]:
    """One side of X as (price, [(order_id, visible qty), ...] in queue order), best first."""
    return [(price, members) for price, _t, _c, members in ex.levels_view("X", is_bid)]


def ind(price: str | None, volume: str, surplus: str, symbol: str = "X") -> tuple[Any, ...]:
    return ("indicative", symbol, price, volume, surplus)


NOTHING = ind(None, "0", "0")
RESUMED = ("resumed", "X", "manual")


# -- the instrument's halt_orders field ---------------------------------------------------------


@pytest.mark.parametrize("value", ["Collect", "", "collect ", 1, True, None, ["collect"], {"x": 1}])
def test_halt_orders_takes_reject_collect_or_null(value: Any) -> None:
    ex = ReferenceExchange()
    events = ex.apply(instrument(halt_orders=value))
    if value is None:  # null: the default, reject
        assert events == []
    else:
        assert (outcome(events), "halt_orders" in events[0]["message"]) == ("bad_command", True)
        assert ex.symbols() == []
    for good in ("reject", "collect"):
        assert ReferenceExchange().apply(instrument(halt_orders=good)) == []


def test_halt_orders_is_checked_after_the_breaker_types_and_before_the_ranges() -> None:
    ex = ReferenceExchange()
    # A breaker field of the wrong type is found first ...
    (ev,) = ex.apply(instrument(halt_orders="x", breaker_min_trades="2"))
    assert (ev["reason"], "breaker_min_trades" in ev["message"]) == ("bad_command", True)
    # ... and halt_orders before any range (tick_size, a risk field, a breaker field).
    for bad_range in ({"tick_size": "0"}, {"min_qty": "0"}, {"breaker_pct": "0", "breaker_window_ns": 1,
                                                             "breaker_halt_ns": 1}):  # fmt: skip
        (ev,) = ex.apply({**instrument(halt_orders="x"), **bad_range})
        assert (ev["reason"], "halt_orders" in ev["message"]) == ("bad_command", True)


def test_an_instrument_command_replaces_halt_orders_and_a_refused_one_keeps_it() -> None:
    ex = call()
    assert outcome(ex.apply(limit("a", "1", "buy", 1, 100))) == "accepted"
    # Refused (bad_qty): collect stays.
    assert outcome(ex.apply(instrument(halt_orders="reject", min_qty="0"))) == "bad_qty"
    assert outcome(ex.apply(limit("a", "2", "buy", 1, 100))) == "accepted"
    # Replaced by a command without the field: back to reject, for later orders only.
    assert ex.apply(instrument()) == []
    assert outcome(ex.apply(limit("a", "3", "buy", 1, 100))) == "halted"
    assert [m for _p, m in side_view(ex, True)] == [[(1, 1), (2, 1)]]  # the collected ones stay


# -- halt with until_ts, and the scheduled resume -----------------------------------------------


def test_until_ts_null_counts_as_absent() -> None:
    ex = ReferenceExchange()
    ok(ex, instrument())
    (ev,) = ex.apply(halt(ts=5, until_ts=None))
    assert (ev["type"], ev["reason"]) == ("halted", "manual") and "until_ts" not in ev


@pytest.mark.parametrize("until", [5, 4, "10", 10.0, True, [10], 2**63])
def test_until_ts_must_be_an_integer_above_the_ts(until: Any) -> None:
    ex = ReferenceExchange()
    ok(ex, instrument())
    events = ex.apply(halt(ts=5, until_ts=until))
    assert brief(events) == [("rejected", None, "bad_command")]
    assert "until_ts" in events[0]["message"]
    assert outcome(ex.apply(limit("a", "1", "buy", 1, 100, ts=6))) == "accepted"  # not halted


def test_until_ts_is_checked_after_the_symbols_type_and_before_unknown_symbol() -> None:
    ex = ReferenceExchange()
    ok(ex, instrument())
    (ev,) = ex.apply({"cmd": "halt", "ts": 5, "symbol": 7, "until_ts": "x"})
    assert (ev["reason"], "symbol" in ev["message"]) == ("bad_command", True)
    assert outcome(ex.apply(halt(ts=5, symbol="NOPE", until_ts=3))) == "bad_command"
    assert outcome(ex.apply(halt(ts=5, symbol="NOPE", until_ts=9))) == "unknown_symbol"
    ok(ex, halt(ts=5))
    assert outcome(ex.apply(halt(ts=5, until_ts=9))) == "bad_state"


def test_a_scheduled_halt_ends_at_the_first_command_at_or_past_until_ts() -> None:
    ex = ReferenceExchange()
    ok(ex, instrument())
    (ev,) = ok(ex, halt(ts=5, until_ts=20))
    assert ev == {"type": "halted", "ts": 5, "symbol": "X", "reason": "manual", "until_ts": 20}
    assert list(ev)[-1] == "until_ts"
    assert ex.apply(tick(19)) == []
    assert outcome(ex.apply(limit("a", "1", "buy", 1, 100, ts=19))) == "halted"
    # ts 25 >= 20: resumed (scheduled) before the command, which then runs normally.
    assert brief(ex.apply(limit("a", "1", "buy", 1, 100, ts=25))) == [
        ("resumed", "X", "scheduled"),
        ("accepted", "1"),
    ]
    assert ex.apply(tick(30)) == []


def test_scheduled_resumes_come_after_the_expiry_earliest_first_then_by_symbol() -> None:
    ex = ReferenceExchange()
    for symbol in ("A", "B", "C"):
        ok(ex, instrument(symbol))
    ok(ex, limit("a", "g", "buy", 1, 100, symbol="C", tif="gtd", expire_ts=15))
    ok(ex, halt(ts=2, symbol="C", until_ts=12))
    ok(ex, halt(ts=2, symbol="B", until_ts=10))
    ok(ex, halt(ts=2, symbol="A", until_ts=12))
    assert brief(ex.apply(tick(20))) == [
        ("cancelled", "g", "expired", "1"),
        ("resumed", "B", "scheduled"),
        ("resumed", "A", "scheduled"),
        ("resumed", "C", "scheduled"),
    ]


def test_a_manual_resume_ends_a_scheduled_halt_early() -> None:
    ex = ReferenceExchange()
    ok(ex, instrument())
    ok(ex, halt(ts=5, until_ts=20))
    assert brief(ex.apply(resume(ts=8))) == [RESUMED]
    assert ex.apply(tick(20)) == []  # nothing left to end
    (ev,) = ok(ex, halt(ts=21))
    assert "until_ts" not in ev
    assert ex.apply(tick(100)) == []  # a plain halt never ends by itself


# -- collecting: what a call takes and what it refuses --------------------------------------------


def test_reject_mode_refuses_orders_in_a_halt() -> None:
    for settings in ({}, {"halt_orders": "reject"}, {"halt_orders": None}):
        ex = ReferenceExchange()
        ok(ex, instrument(**settings))
        ok(ex, halt())
        assert outcome(ex.apply(limit("a", "1", "buy", 1, 100))) == "halted"
        assert outcome(ex.apply(stop("a", "2", "buy", 1, 100))) == "halted"


def test_a_call_collects_resting_limits_held_markets_and_stops() -> None:
    ex = call()
    # A crossing limit rests at once, without a trade, and says so with rests.
    ev = ok(ex, limit("a", "s", "sell", 5, 100))[0]
    assert ev["rests"] == [{"order_id": 1, "side": "sell", "price": "100", "qty": "5"}]
    events = ok(ex, limit("b", "b", "buy", 3, 102, tif="day"))
    assert events[0]["rests"] == [{"order_id": 2, "side": "buy", "price": "102", "qty": "3"}]
    assert [e["type"] for e in events] == ["accepted", "indicative"]  # no trade
    ok(ex, limit("b", "g", "buy", 1, 101, tif="gtd", expire_ts=50))
    # An iceberg rests its first slice.
    ev = ok(ex, limit("c", "i", "buy", 6, 99, display_qty=2))[0]
    assert ev["rests"] == [{"order_id": 4, "side": "buy", "price": "99", "qty": "2"}]
    # Market orders are held: accepted, no rests, not in the book; ioc and day tifs too.
    for n, tif in enumerate(("gtc", "ioc", "day")):
        ev = ok(ex, market("m", f"m{n}", "buy", 1, tif=tif))[0]
        assert (ev["type"], "rests" in ev) == ("accepted", False)
    # Stops wait as usual, whatever their tif or post-only flag.
    ok(ex, stop("d", "st", "sell", 1, 90, tif="ioc"))
    ok(ex, new("d", "sl", "buy", "stop_limit", 1, trigger_price=110, price=111, post_only=True))
    assert side_view(ex, True) == [(102, [(2, 3)]), (101, [(3, 1)]), (99, [(4, 2)])]
    assert side_view(ex, False) == [(100, [(1, 5)])]
    # The book shows the crossed book as it is.
    (book,) = ok(ex, {"cmd": "book", "ts": 1, "symbol": "X"})
    assert (book["bids"][0], book["asks"]) == (["102", "3", 1], [["100", "5", 1]])


def test_a_held_market_order_needs_no_opposite_side_and_is_a_live_order() -> None:
    ex = call()
    assert brief(ok(ex, market("m", "m", "buy", 4))) == [("accepted", "m")]  # no no_liquidity
    assert outcome(ex.apply(market("m", "m", "sell", 1))) == "duplicate_id"
    assert brief(ok(ex, cancel("m", "m"))) == [("cancelled", "m", "user", "4")]
    ok(ex, market("m", "g", "buy", 2, tif="gtd", expire_ts=5))
    ok(ex, market("m", "d", "buy", 3, tif="day"))
    assert brief(ex.apply(tick(5))) == [("cancelled", "g", "expired", "2")]
    assert brief(ok(ex, {"cmd": "end_of_day", "ts": 6})) == [("cancelled", "d", "expired", "3")]
    ok(ex, market("m", "k", "buy", 1, ts=6))
    assert outcome(ex.apply(instrument(ts=6, **COLLECT, lot_size="2"))) == "instrument_busy"
    cancelled = ok(ex, {"cmd": "cancel_all", "ts": 6, "user": "m"})
    assert brief(cancelled) == [("cancelled", "k", "mass_cancel", "1")]


@pytest.mark.parametrize(
    "cmd",
    [
        limit("a", "x", "buy", 1, 100, tif="ioc"),
        limit("a", "x", "buy", 1, 100, tif="fok"),
        market("a", "x", "buy", 1, tif="fok"),
        limit("a", "x", "buy", 1, 100, post_only=True),
        {"cmd": "oco", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
         "orders": [{"id": "o1", "type": "limit", "qty": "1", "price": "90"},
                    {"id": "o2", "type": "stop", "qty": "1", "trigger_price": "110"}]},
        {"cmd": "bracket", "ts": 1, "user": "a", "symbol": "X", "side": "buy",
         "entry": {"id": "e", "type": "limit", "qty": "1", "price": "90"},
         "take_profit": {"id": "tp", "price": "95"}},
    ],
)  # fmt: skip
def test_a_call_still_refuses_ioc_fok_post_only_and_lists(cmd: Cmd) -> None:
    ex = call()
    assert outcome(ex.apply(cmd)) == "halted"
    assert ex.levels_view("X", True) == [] and ex.live_order_prices() == {}


def test_modify_stays_halted_and_checks_run_as_usual_in_a_call() -> None:
    ex = call({"max_qty": "5", "max_notional": "500"}, prices=(100,))
    ok(ex, limit("a", "r", "sell", 2, 101))
    assert outcome(ex.apply({"cmd": "modify", "ts": 1, "user": "a", "id": "r", "price": "102"})) == "halted"
    assert outcome(ex.apply(limit("a", "q", "buy", 6, 90))) == "qty_too_large"
    # A buy stop at 100 holds against the last trade (100): stop_would_trigger.
    assert outcome(ex.apply(stop("a", "s", "buy", 1, 100))) == "stop_would_trigger"
    # A held market buy's notional uses the best opposite price: 5 x 101 = 505 > 500.
    assert outcome(ex.apply(market("a", "m", "buy", 5))) == "notional_too_large"
    assert outcome(ex.apply(market("a", "m", "buy", 4))) == "accepted"  # 404
    # With the opposite side empty it is not checked.
    assert outcome(ex.apply(market("a", "n", "sell", 5))) == "accepted"


# -- indicative ----------------------------------------------------------------------------------


def test_indicative_is_published_when_it_changes() -> None:
    ex = call()
    # Not crossed: nothing would trade, as when the halt started: no indicative.
    assert brief(ok(ex, limit("a", "s", "sell", 5, 100))) == [("accepted", "s")]
    # bid 3@101, ask 5@100. 100: B 3, S 5 -> 3, -2. 101: B 3, S 5 -> 3, -2. No reference;
    # rule 4: sellers over everywhere -> the lowest, 100.
    assert brief(ok(ex, limit("b", "b", "buy", 3, 101))) == [("accepted", "b"), ind("100", "3", "-2")]
    # A bid at 99 trades nothing at 100 or 101 (99: S 0): unchanged, no event.
    assert brief(ok(ex, limit("b", "c", "buy", 2, 99))) == [("accepted", "c")]
    # A held market buy 4: 100: B 7, S 5 -> 5, +2; 101: B 7, S 5 -> 5, +2 (99: S 0).
    # Buyers over everywhere -> the highest, 101.
    assert brief(ok(ex, market("m", "m", "buy", 4))) == [("accepted", "m"), ind("101", "5", "2")]
    # A stop changes nothing in the book: no event; nor does a rejected order.
    assert brief(ok(ex, stop("d", "st", "sell", 1, 50))) == [("accepted", "st")]
    assert outcome(ex.apply(limit("b", "b", "buy", 1, 100))) == "duplicate_id"
    # cancel, cancel_all: back to the previous values, then to nothing.
    assert brief(ok(ex, cancel("m", "m"))) == [("cancelled", "m", "user", "4"), ind("100", "3", "-2")]
    assert brief(ok(ex, {"cmd": "cancel_all", "ts": 1, "user": "a"})) == [
        ("cancelled", "s", "mass_cancel", "5"),
        NOTHING,
    ]
    assert ex.apply({"cmd": "book", "ts": 1, "symbol": "X"})[0]["type"] == "book"  # no indicative


def test_indicative_event_fields_and_key_order() -> None:
    ex = call()
    ok(ex, limit("a", "s", "sell", 5, 100, ts=3))
    events = ok(ex, limit("b", "b", "buy", 3, 101, ts=4))
    assert events[1] == {"type": "indicative", "ts": 4, "symbol": "X", "price": "100", "volume": "3",
                         "surplus": "-2"}  # fmt: skip
    assert list(events[1]) == ["type", "ts", "symbol", "price", "volume", "surplus"]


def test_indicative_after_the_gtd_expiry_that_starts_a_command() -> None:
    ex = call()
    ok(ex, limit("a", "s", "sell", 2, 100))
    ok(ex, limit("b", "b", "buy", 2, 100, tif="gtd", expire_ts=10))  # (100, 2, 0)
    # The expiry, then the indicative it changed, then the command's own event.
    assert brief(ex.apply({"cmd": "book", "ts": 10, "symbol": "X"})) == [
        ("cancelled", "b", "expired", "2"),
        NOTHING,
        ("book", None),
    ]


def test_indicative_follows_the_reference_set_by_an_instrument_command() -> None:
    ex = call()
    ok(ex, limit("a", "s", "sell", 1, 100))
    # bid 1@102, ask 1@100: volume 1 and surplus 0 at 100 and 102, no reference: the surplus
    # is 0 at both, so the midpoint, 101.
    assert brief(ok(ex, limit("b", "b", "buy", 1, 102)))[1:] == [ind("101", "1", "0")]
    # reference_price 102 (no trade yet): 102 is at distance 0.
    assert brief(ok(ex, instrument(**COLLECT, reference_price="102"))) == [ind("102", "1", "0")]
    # reference 101: strictly inside [100, 102], a candidate at distance 0.
    assert brief(ok(ex, instrument(**COLLECT, reference_price="101"))) == [ind("101", "1", "0")]
    # reference 7: outside the limit prices, not a candidate; 100 is the closest.
    assert brief(ok(ex, instrument(**COLLECT, reference_price="7"))) == [ind("100", "1", "0")]
    # The same settings again: no change, no event; reject mode keeps the book (and the value).
    assert ok(ex, instrument(**COLLECT, reference_price="7")) == []
    assert ok(ex, instrument(reference_price="7")) == []


def test_indicatives_of_several_symbols_in_symbol_order() -> None:
    ex = ReferenceExchange()
    for symbol in ("B", "A", "C"):
        ok(ex, instrument(symbol, **COLLECT))
        ok(ex, halt(symbol=symbol))
    for symbol in ("B", "A"):
        ok(ex, limit("u", f"s{symbol}", "sell", 1, 100, symbol=symbol))
        assert brief(ok(ex, limit("u", f"b{symbol}", "buy", 1, 100, symbol=symbol)))[1:] == [
            ind("100", "1", "0", symbol)
        ]
    ok(ex, limit("v", "c", "sell", 1, 100, symbol="C"))  # C: not crossed
    assert brief(ok(ex, {"cmd": "kill_switch", "ts": 1, "user": "u", "active": True})) == [
        ("kill_switch", None),
        ("cancelled", "sB", "killed", "1"),
        ("cancelled", "bB", "killed", "1"),
        ("cancelled", "sA", "killed", "1"),
        ("cancelled", "bA", "killed", "1"),
        ind(None, "0", "0", "A"),
        ind(None, "0", "0", "B"),
    ]


def test_no_indicative_at_the_resume_and_a_new_halt_starts_from_nothing() -> None:
    ex = call()
    ok(ex, limit("a", "s", "sell", 1, 100))
    ok(ex, limit("b", "b", "buy", 2, 100))  # (100, 1, +1)
    assert brief(ok(ex, resume())) == [RESUMED, ("trade", "s", "b", "100", "1", "buy", "auction")]
    # The next halt starts at "nothing would trade": the first crossing order publishes again,
    # though the values equal the ones published in the last halt.
    ok(ex, halt())
    assert brief(ok(ex, limit("c", "c", "buy", 1, 100)))[1:] == []  # bids b 1, c 1: no ask
    # 100: B 2, S 1 -> (100, 1, +1), what the last halt published last: published all the same.
    assert brief(ok(ex, limit("a", "s2", "sell", 1, 100)))[1:] == [ind("100", "1", "1")]


# -- the uncross price ---------------------------------------------------------------------------


def test_rule_1_the_largest_volume_with_allocation_and_a_partial_fill_on_the_surplus_side() -> None:
    ex = call()
    for user, cid, side, qty, price in [("b", "b103", "buy", 10, 103), ("b", "b102", "buy", 20, 102),
                                        ("b", "b100", "buy", 15, 100), ("s", "a99", "sell", 5, 99),
                                        ("s", "a101", "sell", 20, 101),
                                        ("s", "a102", "sell", 20, 102)]:  # fmt: skip
        ok(ex, limit(user, cid, side, qty, price))
    #  p    B   S   volume  surplus
    #  99  45   5    5
    # 100  45   5    5
    # 101  30  25   25
    # 102  30  45   30      -15   <- the largest volume
    # 103  10  45   10
    # Front to front at 102: b103 (oid 1) with a99 (4), a101 (5); b102 (2) with a101, a102 (6).
    # The maker is the earlier accepted: the bids (oids 1, 2) against the asks (4, 5, 6).
    assert brief(ok(ex, resume())) == [
        RESUMED,
        ("trade", "b103", "a99", "102", "5", "sell", "auction"),
        ("trade", "b103", "a101", "102", "5", "sell", "auction"),
        ("trade", "b102", "a101", "102", "15", "sell", "auction"),
        ("trade", "b102", "a102", "102", "5", "sell", "auction"),
    ]
    # a102 (the last reached, on the side with the surplus) keeps 15 and its place.
    assert side_view(ex, True) == [(100, [(3, 15)])]
    assert side_view(ex, False) == [(102, [(6, 15)])]


def test_rule_2_the_smallest_surplus() -> None:
    ex = call(prices=(100,))
    ok(ex, limit("b", "b102", "buy", 5, 102))
    ok(ex, limit("b", "b100", "buy", 3, 100))
    ok(ex, limit("s", "a100", "sell", 5, 100))
    # 100: B 8, S 5 -> 5, +3; 102: B 5, S 5 -> 5, 0. The reference (last trade 100) would pick
    # 100, but rule 2 comes first: 102.
    assert brief(ok(ex, resume()))[1:] == [("trade", "b102", "a100", "102", "5", "sell", "auction")]


def test_rule_3_the_closest_to_the_last_trade_price() -> None:
    ex = call(prices=(104,))
    ok(ex, limit("b", "b", "buy", 1, 105))
    ok(ex, limit("s", "a", "sell", 1, 100))
    # 100 and 105 both trade 1 with surplus 0; the reference 104 lies strictly between them,
    # is a candidate itself (B 1, S 1) and is at distance 0.
    assert brief(ok(ex, resume()))[1:] == [("trade", "b", "a", "104", "1", "sell", "auction")]
    # The last trade price is now 104: a stop sees it (a buy stop at 104 holds).
    assert outcome(ex.apply(stop("z", "z", "buy", 1, 104))) == "stop_would_trigger"


def test_rule_3_uses_reference_price_only_before_the_first_trade() -> None:
    ex = call({"reference_price": "103"})
    ok(ex, limit("b", "b", "buy", 1, 105))
    ok(ex, limit("s", "a", "sell", 1, 100))
    assert brief(ok(ex, resume()))[1:] == [("trade", "b", "a", "103", "1", "sell", "auction")]
    # Now there is a last trade (103): reference_price 101 no longer counts.
    ok(ex, halt())
    ok(ex, limit("b", "b2", "buy", 1, 105))
    ok(ex, limit("s", "a2", "sell", 1, 100))
    ok(ex, instrument(**COLLECT, reference_price="101"))
    assert brief(ok(ex, resume()))[1:] == [("trade", "b2", "a2", "103", "1", "sell", "auction")]


@pytest.mark.parametrize(
    ("orders", "price", "surplus"),
    [
        # Buyers over at every tied price -> the highest. bid 3@102, asks 1@100, 1@101:
        # 100: B 3, S 1 -> 1, +2; 101: B 3, S 2 -> 2, +1; 102: B 3, S 2 -> 2, +1: 102.
        ([("buy", 3, 102), ("sell", 1, 100), ("sell", 1, 101)], "102", "1"),
        # Sellers over at every tied price -> the lowest. asks 3@100, bids 1@101, 1@102:
        # 100: B 2, S 3 -> 2, -1; 101: B 2, S 3 -> 2, -1; 102: B 1 -> 1. The lowest, 100.
        ([("sell", 3, 100), ("buy", 1, 101), ("buy", 1, 102)], "100", "-1"),
        # No surplus (it does not keep one side) -> the midpoint, rounded down. bids 2@104, 1@100;
        # asks 1@105, 2@101: 100: B 3, S 0; 101: B 2, S 2 -> 2, 0; 104: B 2, S 2 -> 2, 0;
        # 105: B 0, S 3. Tied 101 and 104: (101 + 104) // 2 = 102 (B 2, S 2 there).
        ([("buy", 2, 104), ("buy", 1, 100), ("sell", 1, 105), ("sell", 2, 101)], "102", "0"),
    ],
)
def test_rule_4_market_pressure_then_the_midpoint(orders: list[tuple[str, int, int]], price: str,
                                                  surplus: str) -> None:  # fmt: skip
    ex = call()
    published: list[Event] = []
    for n, (side, qty, px) in enumerate(orders):
        published = ok(ex, limit(f"u{n}", f"o{n}", side, qty, px))
    (last,) = [e for e in published if e["type"] == "indicative"]
    assert (last["price"], last["surplus"]) == (price, surplus)
    trades = [e for e in ok(ex, resume()) if e["type"] == "trade"]
    assert {e["price"] for e in trades} == {price}
    assert sum(int(e["qty"]) for e in trades) == int(last["volume"])


def test_market_orders_alone_trade_at_the_reference_or_not_at_all() -> None:
    ex = call(prices=(100,))
    ok(ex, market("b", "mb", "buy", 3))
    ok(ex, market("s", "ms", "sell", 2))
    # No limit price: the reference (100) alone; B 3, S 2 -> 2, +1. mb (oid 3) is the maker.
    assert brief(ok(ex, resume())) == [
        RESUMED,
        ("trade", "mb", "ms", "100", "2", "sell", "auction"),
        ("cancelled", "mb", "no_liquidity", "1"),
    ]
    ex = call()  # no trade and no reference_price: nothing prices them
    ok(ex, market("b", "mb", "buy", 3))
    ok(ex, market("s", "ms", "sell", 2))
    assert brief(ok(ex, resume())) == [
        RESUMED,
        ("cancelled", "mb", "no_liquidity", "3"),
        ("cancelled", "ms", "no_liquidity", "2"),
    ]


# -- allocation ----------------------------------------------------------------------------------


def test_priority_held_markets_first_then_price_then_queue() -> None:
    ex = call(prices=(100,))  # oids 1, 2
    ok(ex, limit("b", "late", "buy", 2, 101))  # 3
    ok(ex, limit("b", "best", "buy", 2, 102))  # 4
    ok(ex, limit("b", "q2", "buy", 2, 101))  # 5: behind "late" at 101
    ok(ex, market("m", "m2", "buy", 1))  # 6
    ok(ex, market("m", "m1", "buy", 1))  # 7
    ok(ex, limit("s", "ask", "sell", 6, 100))  # 8
    # Buys: m2 (6), m1 (7), best 102, late 101, q2 101. 100: B 8, S 6 -> 6, +2;
    # 101: B 8, S 6 -> 6, +2; 102: B 4, S 6 -> 4. Reference 100 (last trade), not strictly
    # inside [100, 102]... it is the lowest limit price itself: rule 3 -> 100.
    assert brief(ok(ex, resume()))[1:] == [
        ("trade", "m2", "ask", "100", "1", "sell", "auction"),
        ("trade", "m1", "ask", "100", "1", "sell", "auction"),
        ("trade", "best", "ask", "100", "2", "sell", "auction"),
        ("trade", "late", "ask", "100", "2", "sell", "auction"),
    ]
    assert side_view(ex, True) == [(101, [(5, 2)])]


def test_the_later_accepted_order_is_the_taker_whichever_its_side() -> None:
    ex = call()
    ok(ex, limit("s", "a", "sell", 2, 100))  # 1
    ok(ex, limit("b", "b", "buy", 3, 100))  # 2: 100: B 3, S 2 -> 2, +1
    ok(ex, limit("s", "a2", "sell", 1, 99))  # 3: 99: B 3, S 1; 100: B 3, S 3 -> 3, 0
    # Asks a2 (99) before a (100); b is the taker against a (1 < 2), the maker against a2.
    events = ok(ex, resume())
    assert brief(events)[1:] == [
        ("trade", "b", "a2", "100", "1", "sell", "auction"),
        ("trade", "a", "b", "100", "2", "buy", "auction"),
    ]
    assert list(events[1])[-1] == "auction" and "maker_refill" not in events[1]


def test_an_iceberg_fills_its_hidden_part_first_and_keeps_its_place() -> None:
    ex = call()
    ok(ex, limit("s", "ice", "sell", 10, 100, display_qty=3))  # 1: slice 3, hidden 7
    ok(ex, limit("s", "plain", "sell", 2, 100))  # 2: behind the iceberg
    ok(ex, limit("b", "b", "buy", 9, 100))  # 3
    # 100: B 9, S 12 -> 9, -3. The iceberg (whole 10) first: 9 from it, hidden 7 then 2 of the
    # slice; no refill, no maker_refill.
    events = ok(ex, resume())
    assert brief(events)[1:] == [("trade", "ice", "b", "100", "9", "buy", "auction")]
    assert "maker_refill" not in events[1]
    assert side_view(ex, False) == [(100, [(1, 1), (2, 2)])]
    assert ex.iceberg_view()[1][2] == 0  # nothing hidden left


def test_an_iceberg_bid_against_two_asks_keeps_its_slice_while_hidden_remains() -> None:
    ex = call()
    ok(ex, limit("b", "ice", "buy", 8, 101, display_qty=2))  # 1: slice 2, hidden 6
    ok(ex, limit("s", "a1", "sell", 3, 100))  # 2
    ok(ex, limit("s", "a2", "sell", 2, 101))  # 3
    # 100: B 8, S 3 -> 3; 101: B 8, S 5 -> 5, +3: price 101; fills 3 and 2 from the hidden part.
    assert brief(ok(ex, resume()))[1:] == [
        ("trade", "ice", "a1", "101", "3", "sell", "auction"),
        ("trade", "ice", "a2", "101", "2", "sell", "auction"),
    ]
    assert side_view(ex, True) == [(101, [(1, 2)])]
    assert ex.iceberg_view()[1][2] == 1  # 6 - 5 hidden left behind the untouched slice


def test_held_market_remainders_are_cancelled_no_liquidity_by_order_id() -> None:
    ex = call()
    ok(ex, market("m", "m1", "buy", 3))  # 1
    ok(ex, limit("s", "a", "sell", 2, 100))  # 2
    ok(ex, market("m", "m2", "buy", 2))  # 3
    ok(ex, market("n", "ms", "sell", 1, ts=2))  # 4
    # Buys: m1 3, m2 2 (market); sells: ms 1 (market), a 2@100. Only candidate 100 (no
    # reference): B 5, S 3 -> 3, +2. m1 vs ms (1), m1 vs a (2); m2 gets nothing.
    assert brief(ok(ex, resume(ts=2))) == [
        RESUMED,
        ("trade", "m1", "ms", "100", "1", "sell", "auction"),
        ("trade", "m1", "a", "100", "2", "sell", "auction"),
        ("cancelled", "m2", "no_liquidity", "2"),
    ]
    assert ex.live_order_prices() == {}


# -- STP in the auction, and the rounds ----------------------------------------------------------


def _stp_call(mode: str) -> ReferenceExchange:
    """u: bid b1 5@101 (oid 1), then ask s1 5@100 with ``mode`` (oid 2); v: ask s2 5@101 (3).
    Round 1: 100: B 5, S 5 -> 5, 0; 101: B 5, S 10 -> 5, -5: price 100, b1 against s1, one user:
    s1 is the taker."""
    ex = call()
    ok(ex, limit("u", "b1", "buy", 5, 101))
    ok(ex, limit("u", "s1", "sell", 5, 100, stp=mode))
    ok(ex, limit("v", "s2", "sell", 5, 101))
    return ex


def test_stp_cancel_taker_then_a_new_round_at_a_new_price() -> None:
    ex = _stp_call("cancel_taker")
    # Round 2 on what is left: b1 5@101 and s2 5@101: 101, 5.
    assert brief(ok(ex, resume()))[1:] == [
        ("cancelled", "s1", "stp", "5"),
        ("trade", "b1", "s2", "101", "5", "sell", "auction"),
    ]
    assert ex.live_order_prices() == {}


def test_stp_cancel_maker_and_cancel_both() -> None:
    ex = _stp_call("cancel_maker")
    # Round 2: no bid left, nothing to trade: the asks stay (not crossed).
    assert brief(ok(ex, resume()))[1:] == [("cancelled", "b1", "stp", "5")]
    assert side_view(ex, False) == [(100, [(2, 5)]), (101, [(3, 5)])]
    ex = _stp_call("cancel_both")
    assert brief(ok(ex, resume()))[1:] == [("cancelled", "b1", "stp", "5"), ("cancelled", "s1", "stp", "5")]
    assert side_view(ex, False) == [(101, [(3, 5)])]


def test_stp_none_lets_one_user_trade_with_itself() -> None:
    ex = _stp_call("none")
    assert brief(ok(ex, resume()))[1:] == [("trade", "b1", "s1", "100", "5", "sell", "auction")]


def test_stp_decrement_then_the_walk_goes_on() -> None:
    ex = call()
    ok(ex, limit("u", "b1", "buy", 5, 101))  # 1
    ok(ex, limit("u", "s1", "sell", 3, 100, stp="decrement"))  # 2
    ok(ex, limit("v", "s2", "sell", 5, 101))  # 3
    # 100: B 5, S 3 -> 3; 101: B 5, S 8 -> 5, -3: price 101. b1 against s1: both lose 3, maker
    # first: b1 modified (2 left), s1 cancelled (remaining = the 3 it lost); then b1 against
    # s2: a trade of 2. STP acted, so a round 2: no bid left, nothing to trade.
    events = ok(ex, resume())
    assert brief(events)[1:] == [
        ("modified", "b1", "2"),
        ("cancelled", "s1", "stp", "3"),
        ("trade", "b1", "s2", "101", "2", "sell", "auction"),
    ]
    assert events[1]["reason"] == "stp"
    assert side_view(ex, False) == [(101, [(3, 3)])]


def test_stp_between_a_held_market_taker_and_its_own_resting_maker() -> None:
    ex = call()
    ok(ex, limit("u", "a", "sell", 2, 100))  # 1
    ok(ex, limit("v", "a2", "sell", 2, 101))  # 2
    ok(ex, market("u", "m", "buy", 3, stp="decrement"))  # 3
    # Round 1: 100: B 3, S 2 -> 2, +1; 101: B 3, S 4 -> 3, -1: 101. m (held, first) against a
    # (u's own, earlier): m decrements: a cancelled (lost 2), m modified to 1; m against a2: 1.
    # Round 2: a2 1@101 alone: nothing. m is filled: no no_liquidity cancel.
    assert brief(ok(ex, resume()))[1:] == [
        ("cancelled", "a", "stp", "2"),
        ("modified", "m", "1"),
        ("trade", "a2", "m", "101", "1", "buy", "auction"),
    ]
    assert side_view(ex, False) == [(101, [(2, 1)])]


# -- after the uncross ---------------------------------------------------------------------------


def test_after_the_uncross_oco_then_deferred_activations_then_stops() -> None:
    ex = ReferenceExchange()
    ok(ex, instrument(**COLLECT))
    ok(ex, {"cmd": "bracket", "ts": 1, "user": "e", "symbol": "X", "side": "buy",
            "entry": {"id": "E", "type": "limit", "qty": "2", "price": "100"},
            "take_profit": {"id": "TP", "price": "105"}})  # E 1, TP 2  # fmt: skip
    ok(ex, limit("s", "S", "sell", 1, 100))  # 3: E fills 1 (last trade 100)
    ok(ex, stop("w", "W", "buy", 1, 102))  # 4
    ok(ex, {"cmd": "oco", "ts": 1, "user": "o", "symbol": "X", "side": "sell",
            "orders": [{"id": "O1", "type": "limit", "qty": "1", "price": "102"},
                       {"id": "O2", "type": "stop", "qty": "1", "trigger_price": "90"}]})  # 5, 6  # fmt: skip
    ok(ex, halt(ts=2))
    # E finishes in the halt with a fill: its take-profit's activation waits for the resume.
    assert brief(ok(ex, cancel("e", "E", ts=3))) == [("cancelled", "E", "user", "1")]
    # B 2@102 against O1 1@102: 102 only (reference 100 not strictly inside): 1, +1.
    assert brief(ok(ex, limit("b", "B", "buy", 2, 102, ts=4)))[1:] == [ind("102", "1", "1")]
    ok(ex, limit("z", "Z", "sell", 1, 103, ts=4))  # 8: 103 trades nothing
    events = ok(ex, resume(ts=5))
    assert brief(events) == [
        RESUMED,
        ("trade", "O1", "B", "102", "1", "buy", "auction"),  # prints 102: W triggers
        ("cancelled", "O2", "oco", "1"),  # the uncross's contingent effects
        ("activated", "TP", "1"),  # then the deferred activation: TP rests at 105
        ("triggered", "W", "102"),  # then the stops
        ("trade", "Z", "W", "103", "1", "buy"),
    ]
    assert events[3]["rests"] == [{"order_id": 2, "side": "sell", "price": "105", "qty": "1"}]
    assert side_view(ex, True) == [(102, [(7, 1)])]


def test_a_stop_triggered_by_the_auction_print_is_released_after_the_held_cancels() -> None:
    ex = call(prices=(100,))  # oids 1, 2; last trade 100
    ok(ex, limit("r", "bid", "buy", 1, 95))  # 3
    ok(ex, stop("w", "W", "sell", 1, 98))  # 4: waits (100 > 98)
    ok(ex, limit("s", "a", "sell", 2, 97))  # 5
    ok(ex, market("m", "mb", "buy", 3))  # 6
    ok(ex, limit("b", "b", "buy", 1, 97))  # 7
    # Buys: mb 3 (market), b 1@97, bid 1@95; sells: a 2@97. 95: B 5, S 0; 97: B 4, S 2 -> 2,
    # +2. Price 97: mb against a (2); mb keeps 1, b nothing (the asks are used up).
    assert brief(ok(ex, resume(ts=2)))[1:] == [
        ("trade", "a", "mb", "97", "2", "buy", "auction"),
        ("cancelled", "mb", "no_liquidity", "1"),
        ("triggered", "W", "98"),  # 97 <= 98; a market sell: b (97) first
        ("trade", "b", "W", "97", "1", "sell"),
    ]
    assert side_view(ex, True) == [(95, [(3, 1)])]


def test_a_scheduled_opening_auction() -> None:
    ex = ReferenceExchange()
    ok(ex, instrument(**COLLECT))
    ok(ex, halt(ts=0, until_ts=100))
    ok(ex, limit("a", "s1", "sell", 4, 10, ts=10))
    ok(ex, limit("b", "b1", "buy", 3, 11, ts=20))
    ok(ex, limit("c", "b2", "buy", 3, 10, ts=30))
    # 10: B 6, S 4 -> 4, +2; 11: B 3, S 4 -> 3. Price 10: b1 (11) then b2 (10).
    assert brief(ex.apply(tick(100))) == [
        ("resumed", "X", "scheduled"),
        ("trade", "s1", "b1", "10", "3", "buy", "auction"),
        ("trade", "s1", "b2", "10", "1", "buy", "auction"),
    ]
    assert side_view(ex, True) == [(10, [(3, 2)])]


def test_a_volatility_halt_ends_with_an_uncross_outside_the_band_that_the_window_counts() -> None:
    breaker: Cmd = {"breaker_pct": "10", "breaker_window_ns": 1000, "breaker_halt_ns": 50, **COLLECT}
    ex = ReferenceExchange()
    ok(ex, instrument(**breaker))
    ok(ex, limit("pm", "p1", "sell", 1, 100, ts=0))
    ok(ex, limit("pt", "p2", "buy", 1, 100, ts=0))  # one trade at 100: band [90, 110]
    ok(ex, limit("m", "a120", "sell", 1, 120))  # 3
    assert brief(ok(ex, limit("t", "t", "buy", 1, 120))) == [  # 4
        ("accepted", "t"),
        ("halted", "X", "volatility"),
        ("cancelled", "t", "volatility", "1"),
    ]
    assert brief(ok(ex, limit("u", "u", "buy", 1, 120, ts=2)))[1:] == [ind("120", "1", "0")]
    # The halt ends at 1 + 50; the uncross ignores the band: 120.
    assert brief(ex.apply(tick(51))) == [
        ("resumed", "X", "volatility"),
        ("trade", "a120", "u", "120", "1", "buy", "auction"),
    ]
    # The window holds 100 and 120: mean 110, band [99, 121]; 121 is inside (without the
    # auction's trade it would be [90, 110], and the order would halt the symbol).
    ok(ex, limit("m", "a121", "sell", 1, 121, ts=52))
    assert brief(ok(ex, limit("v", "v", "buy", 1, 121, ts=52)))[1:] == [
        ("trade", "a121", "v", "121", "1", "buy")
    ]
