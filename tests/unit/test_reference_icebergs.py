"""Icebergs in the naive reference exchange, on small cases checked by hand.

The reference is the oracle of the property tests, so its icebergs are pinned down here on
their own, from docs/PROTOCOL.md ("Icebergs") and shared/CONTRACT.md rule 8, without the fast
engine. Symbol X has tick 1 and lot 1 so that prices and quantities read as plain integers;
symbol Y (lot 0.5) checks that iceberg quantities are lot multiples written canonically.
"""

from __future__ import annotations

from typing import Any

import pytest

from hftbook.core.reference import ReferenceExchange
from hftbook.core.reference.iceberg import splitmix64

Cmd = dict[str, Any]


def limit(user: str, cid: str, side: str, qty: int | str, price: int, **fields: Any) -> Cmd:
    cmd: Cmd = {"cmd": "new", "ts": fields.pop("ts", 1), "user": user, "id": cid,
                "symbol": fields.pop("symbol", "X"), "side": side, "type": "limit",
                "qty": str(qty), "price": str(price)}  # fmt: skip
    for key, value in fields.items():  # quantities as decimal strings; bools, None as is
        plain = value is None or isinstance(value, bool) or key == "expire_ts"
        cmd[key] = value if plain else str(value)
    return cmd


def exchange(*cmds: Cmd) -> ReferenceExchange:
    ex = ReferenceExchange()
    ex.apply({"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1"})
    ex.apply({"cmd": "instrument", "ts": 0, "symbol": "Y", "tick_size": "1", "lot_size": "0.5"})
    for cmd in cmds:
        ex.apply(cmd)
    return ex


def brief(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each event reduced to what these tests look at: trades as (maker id, taker id, qty,
    maker_refill or None), cancels with reason and remaining, modifies with qty, reason
    and refill (None when absent)."""
    out: list[tuple[Any, ...]] = []
    for ev in events:
        t = ev["type"]
        if t == "trade":
            out.append((t, ev["maker"]["id"], ev["taker"]["id"], ev["qty"], ev.get("maker_refill")))
        elif t == "cancelled":
            out.append((t, ev["id"], ev["reason"], ev["remaining"]))
        elif t == "rejected":
            out.append((t, ev.get("id"), ev["reason"]))
        elif t == "modified":
            out.append((t, ev["id"], ev["qty"], ev.get("reason"), ev.get("refill")))
        else:
            out.append((t, ev.get("id")))
    return out


def asks(ex: ReferenceExchange, symbol: str = "X") -> list[tuple[int, int, int, list[tuple[int, int]]]]:
    return ex.levels_view(symbol, False)


def hidden(ex: ReferenceExchange) -> dict[int, int]:
    """order_id -> hidden lots of every resting iceberg."""
    return {oid: view[2] for oid, view in ex.iceberg_view().items()}


# -- the generator ---------------------------------------------------------------------------


def test_splitmix64_is_the_standard_generator() -> None:
    """The published SplitMix64 outputs for seed 1234567 (and the first one for seed 0)."""
    state, outputs = 1234567, []
    for _ in range(5):
        state, z = splitmix64(state)
        outputs.append(z)
    assert outputs == [6457827717110365317, 3203168211198807973, 9817491932198370423,
                       4593380528125082431, 16408922859458223821]  # fmt: skip
    assert splitmix64(0)[1] == 0xE220A8397B1DCDAF


# -- validation and the accepted event ---------------------------------------------------------


def test_accepted_event_layout() -> None:
    ex = exchange()
    (ev,) = ex.apply(limit("a", "i", "sell", 10, 100, display_qty=3, display_variance=1,
                           tif="gtd", expire_ts=9, post_only=True))  # fmt: skip
    assert list(ev) == ["type", "ts", "user", "id", "symbol", "order_id", "side", "order_type",
                        "price", "qty", "tif", "post_only", "stp", "expire_ts", "display_qty",
                        "display_variance", "rests"]  # fmt: skip
    assert (ev["qty"], ev["display_qty"], ev["display_variance"]) == ("10", "3", "1")
    # It rests at once and shows its first slice: `rests` says so, last.
    assert ev["rests"] == [{"order_id": 1, "side": "sell", "price": "100", "qty": "3"}]
    # A zero variance is not written; a null display_qty (and variance) is no iceberg.
    (ev,) = ex.apply(limit("a", "j", "sell", 10, 100, display_qty="3.0", display_variance="0"))
    assert (list(ev)[-2], ev["display_qty"]) == ("display_qty", "3")
    (ev,) = ex.apply(limit("a", "k", "sell", 10, 100, display_qty=None, display_variance=None))
    assert list(ev)[-2:] == ["stp", "rests"]
    # Quantities are lot multiples, written canonically.
    (ev,) = ex.apply(limit("a", "y", "sell", "2.5", 100, symbol="Y", display_qty="1.50",
                           display_variance="0.5"))  # fmt: skip
    assert (ev["qty"], ev["display_qty"], ev["display_variance"]) == ("2.5", "1.5", "0.5")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"display_qty": "abc"}, "bad_command"),
        ({"display_qty": True}, "bad_command"),
        ({"display_qty": 2, "tif": "ioc"}, "bad_command"),
        ({"display_qty": 2, "tif": "fok"}, "bad_command"),
        ({"display_variance": 1}, "bad_command"),  # variance without display_qty
        ({"display_qty": 2, "display_variance": [1]}, "bad_command"),
        ({"display_qty": 2, "price": "abc"}, "bad_command"),  # step 1 before bad_qty
        ({"display_qty": 0}, "bad_qty"),
        ({"display_qty": -1}, "bad_qty"),
        ({"display_qty": "0.5"}, "bad_qty"),
        ({"display_qty": 6}, "bad_qty"),  # more than qty (5)
        ({"display_qty": 2, "display_variance": 2}, "bad_qty"),  # not below display
        ({"display_qty": 2, "display_variance": -1}, "bad_qty"),
        ({"display_qty": 2, "display_variance": "0.5"}, "bad_qty"),
        ({"display_qty": 6, "price": "0.5"}, "bad_qty"),  # bad_qty before bad_price
        ({"display_qty": 2, "display_variance": 3, "price": 0}, "bad_qty"),
        ({"display_qty": 2, "price": "0.5"}, "bad_price"),
        ({"display_qty": 6, "symbol": "ZZZ"}, "unknown_symbol"),  # before bad_qty
        ({"display_qty": 2, "id": "b1"}, "duplicate_id"),
    ],
)
def test_rejections(fields: dict[str, Any], reason: str) -> None:
    ex = exchange(limit("a", "b1", "buy", 5, 9))
    cmd = limit(fields.pop("user", "a"), fields.pop("id", "x"), "buy", 5, fields.pop("price", 9),
                **fields)  # fmt: skip
    assert brief(ex.apply(cmd)) == [("rejected", cmd["id"], reason)]
    assert ex.levels_view("X", True) == [(9, 5, 1, [(1, 5)])]


@pytest.mark.parametrize("otype", ["market", "stop", "stop_limit", "trailing_stop"])
def test_display_qty_only_on_limit_orders(otype: str) -> None:
    cmd: Cmd = {"cmd": "new", "ts": 1, "user": "a", "id": "x", "symbol": "X", "side": "buy",
                "type": otype, "qty": "5", "display_qty": "1", "trigger_price": "5",
                "trail_amount": "1"}  # fmt: skip
    if otype == "stop_limit":
        cmd["price"] = "5"
    assert brief(exchange().apply(cmd)) == [("rejected", "x", "bad_command")]


# -- slices, refills, the book ----------------------------------------------------------------


def test_only_the_slice_shows_and_the_iceberg_counts_once() -> None:
    ex = exchange(limit("a", "i", "sell", 10, 100, display_qty=3),
                  limit("b", "s", "sell", 2, 100))  # fmt: skip
    assert asks(ex) == [(100, 5, 2, [(1, 3), (2, 2)])]
    assert hidden(ex) == {1: 7}
    (book,) = ex.apply({"cmd": "book", "ts": 1, "symbol": "X"})
    assert book["asks"] == [["100", "5", 2]]
    ex.apply(limit("c", "b", "buy", 1, 90))
    (m,) = ex.apply({"cmd": "metrics", "ts": 1, "symbol": "X"})
    assert (m["ask_qty"], m["imbalance"]) == ("5", (1 - 5) / 6)


def test_a_refill_joins_the_back_and_the_aggressor_follows_it() -> None:
    ex = exchange(limit("a", "i", "sell", 10, 100, display_qty=3),
                  limit("b", "s", "sell", 2, 100))  # fmt: skip
    # i's slice (3) refills behind s; the taker takes s, then i's refill.
    assert brief(ex.apply(limit("c", "t", "buy", 8, 100))) == [
        ("accepted", "t"),
        ("trade", "i", "t", "3", "3"),
        ("trade", "s", "t", "2", None),
        ("trade", "i", "t", "3", "3"),
    ]
    assert asks(ex) == [(100, 3, 1, [(1, 3)])]
    assert hidden(ex) == {1: 1}
    # The last refill is what is left (1); when it is used up the iceberg is gone, and the
    # taker's remainder rests.
    assert brief(ex.apply(limit("c", "u", "buy", 5, 100))) == [
        ("accepted", "u"),
        ("trade", "i", "u", "3", "1"),
        ("trade", "i", "u", "1", None),
    ]
    assert asks(ex) == []
    assert ex.levels_view("X", True) == [(100, 1, 1, [(4, 1)])]
    assert hidden(ex) == {}


def test_a_display_equal_to_qty_never_refills() -> None:
    ex = exchange(limit("a", "i", "sell", 3, 100, display_qty=3))
    assert brief(ex.apply(limit("c", "t", "buy", 3, 100)))[1:] == [("trade", "i", "t", "3", None)]


def test_refill_sizes_come_from_the_order_id_seeded_generator() -> None:
    """Order id 1, display 5, variance 2: r = z mod 5 - 2 for z the generator's outputs from
    seed 1 (z mod 5 = 0, 4, 0, 0 for the first four), capped by what is hidden."""
    state, draws = 1, []
    for _ in range(4):
        state, z = splitmix64(state)
        draws.append(z % 5 - 2)
    assert draws == [-2, 2, -2, -2]
    ex = exchange(limit("a", "i", "sell", 20, 100, display_qty=5, display_variance=2))
    assert asks(ex) == [(100, 5, 1, [(1, 5)])]  # the first slice does not draw
    events = ex.apply(limit("c", "t", "buy", 20, 100))
    # 20 = 5 (first) + 3 + 7 + 3 + 2 (cap: only 2 were hidden).
    assert [(ev["qty"], ev.get("maker_refill")) for ev in events[1:]] == [
        ("5", "3"), ("3", "7"), ("7", "3"), ("3", "2"), ("2", None),
    ]  # fmt: skip


def test_the_generator_is_per_order_and_survives_a_modify() -> None:
    """Order id 2 (seed 2), display 4, variance 1: r = z mod 3 - 1. A modify changes the
    slice but not the generator: the next refill takes the next output."""
    state, draws = 2, []
    for _ in range(3):
        state, z = splitmix64(state)
        draws.append(z % 3 - 1)
    ex = exchange(limit("b", "o", "sell", 1, 200), limit("a", "i", "sell", 30, 100,
                                                         display_qty=4, display_variance=1))
    sizes = []
    for k, taker_qty in enumerate((4, 4 + draws[0])):  # each taker eats one whole slice
        events = ex.apply(limit("c", f"t{k}", "buy", taker_qty, 100))
        sizes.append(int(events[-1]["maker_refill"]))
        if k == 0:  # lower it at the same price: keeps its place, the generator goes on
            ex.apply({"cmd": "modify", "ts": 1, "user": "a", "id": "i", "qty": "15"})
    assert sizes == [4 + draws[0], 4 + draws[1]]
    state = 2
    for _ in range(2):
        state, _z = splitmix64(state)
    assert ex.iceberg_view()[2][3] == state  # advanced once per refill


def test_without_a_variance_refills_are_display_and_draw_nothing() -> None:
    ex = exchange(limit("a", "i", "sell", 9, 100, display_qty=2, display_variance="0"))
    events = ex.apply(limit("c", "t", "buy", 5, 100))
    assert [ev.get("maker_refill") for ev in events[1:]] == ["2", "2", None]
    assert ex.iceberg_view() == {1: (2, 0, 3, 1)}  # the generator is still at its seed


# -- cancels and expiries report the whole open quantity ----------------------------------------


def test_cancels_report_visible_plus_hidden() -> None:
    ex = exchange(limit("a", "i", "sell", 10, 100, display_qty=3),
                  limit("a", "g", "sell", 9, 101, display_qty=2, tif="gtd", expire_ts=5),
                  limit("a", "d", "sell", 8, 102, display_qty=4, tif="day"),
                  limit("a", "m", "sell", 7, 103, display_qty=1))  # fmt: skip
    ex.apply(limit("c", "t", "buy", 4, 100))  # i: 3 + 1 of its refill, 6 left
    assert brief(ex.apply({"cmd": "cancel", "ts": 2, "user": "a", "id": "i"})) == [
        ("cancelled", "i", "user", "6")
    ]
    assert brief(ex.apply({"cmd": "tick", "ts": 5})) == [("cancelled", "g", "expired", "9")]
    assert brief(ex.apply({"cmd": "end_of_day", "ts": 6})) == [("cancelled", "d", "expired", "8")]
    assert brief(ex.apply({"cmd": "cancel_all", "ts": 7, "user": "a"})) == [
        ("cancelled", "m", "mass_cancel", "7")
    ]
    assert asks(ex) == [] and hidden(ex) == {}


# -- modify ------------------------------------------------------------------------------------


def test_modify_down_at_the_same_price_shrinks_hidden_first_and_keeps_priority() -> None:
    ex = exchange(limit("a", "i", "sell", 10, 100, display_qty=3),
                  limit("b", "s", "sell", 2, 100))  # fmt: skip
    modify = {"cmd": "modify", "ts": 2, "user": "a", "id": "i"}
    assert brief(ex.apply(dict(modify, qty="5"))) == [("modified", "i", "5", None, None)]
    assert asks(ex) == [(100, 5, 2, [(1, 3), (2, 2)])]
    assert hidden(ex) == {1: 2}
    assert brief(ex.apply(dict(modify, qty="2", price="100"))) == [("modified", "i", "2", None, None)]
    assert asks(ex) == [(100, 4, 2, [(1, 2), (2, 2)])]  # still first
    assert hidden(ex) == {1: 0}


def test_modify_up_goes_to_the_back_with_a_fresh_slice() -> None:
    ex = exchange(limit("a", "i", "sell", 10, 100, display_qty=3),
                  limit("b", "s", "sell", 2, 100))  # fmt: skip
    ex.apply(limit("c", "t", "buy", 2, 100))  # i's slice: 1 visible, 7 hidden
    assert asks(ex) == [(100, 3, 2, [(1, 1), (2, 2)])]
    ev = ex.apply({"cmd": "modify", "ts": 2, "user": "a", "id": "i", "qty": "9"})
    assert brief(ev) == [("modified", "i", "9", None, None)]
    assert asks(ex) == [(100, 5, 2, [(2, 2), (1, 3)])]
    assert hidden(ex) == {1: 6}


def test_a_crossing_modify_matches_the_whole_quantity_then_rests_a_slice() -> None:
    ex = exchange(limit("a", "i", "buy", 10, 98, display_qty=2),
                  limit("b", "s1", "sell", 3, 99), limit("b", "s2", "sell", 4, 99))  # fmt: skip
    assert brief(ex.apply({"cmd": "modify", "ts": 2, "user": "a", "id": "i", "price": "99"})) == [
        ("modified", "i", "10", None, None),
        ("trade", "s1", "i", "3", None),
        ("trade", "s2", "i", "4", None),
    ]
    assert ex.levels_view("X", True) == [(99, 2, 1, [(1, 2)])]
    assert hidden(ex) == {1: 1}


# -- self-trade prevention against an iceberg maker --------------------------------------------


def test_decrement_uses_the_slice_and_refills_the_maker() -> None:
    ex = exchange(limit("a", "i", "sell", 7, 100, display_qty=3))
    assert brief(ex.apply(limit("a", "t", "buy", 8, 100, stp="decrement"))) == [
        ("accepted", "t"),
        ("modified", "i", "4", "stp", "3"),  # slice used up: refilled (3 of the 4 hidden)
        ("modified", "t", "5", "stp", None),
        ("modified", "i", "1", "stp", "1"),
        ("modified", "t", "2", "stp", None),
        ("cancelled", "i", "stp", "1"),  # nothing hidden left: cancelled with d
        ("modified", "t", "1", "stp", None),
    ]
    assert ex.levels_view("X", True) == [(100, 1, 1, [(2, 1)])]
    ex = exchange(limit("a", "i", "sell", 7, 100, display_qty=3))
    assert brief(ex.apply(limit("a", "t", "buy", 2, 100, stp="decrement")))[1:] == [
        ("modified", "i", "5", "stp", None),  # the slice survives: 1 visible, 4 hidden
        ("cancelled", "t", "stp", "2"),
    ]
    assert asks(ex) == [(100, 1, 1, [(1, 1)])]


def test_a_decrement_refill_goes_behind_the_level() -> None:
    ex = exchange(limit("a", "i", "sell", 6, 100, display_qty=2),
                  limit("b", "s", "sell", 1, 100))  # fmt: skip
    assert brief(ex.apply(limit("a", "t", "buy", 3, 100, stp="decrement")))[1:] == [
        ("modified", "i", "4", "stp", "2"),
        ("modified", "t", "1", "stp", None),
        ("trade", "s", "t", "1", None),
    ]
    assert asks(ex) == [(100, 2, 1, [(1, 2)])]


@pytest.mark.parametrize("stp", ["cancel_maker", "cancel_both"])
def test_stp_cancels_of_an_iceberg_maker_report_all_of_it(stp: str) -> None:
    ex = exchange(limit("a", "i", "sell", 7, 100, display_qty=3))
    events = brief(ex.apply(limit("a", "t", "buy", 2, 100, stp=stp)))
    assert events[1] == ("cancelled", "i", "stp", "7")
    assert hidden(ex) == {}


# -- dry runs count hidden quantity -------------------------------------------------------------


def test_fok_counts_other_users_hidden_quantity_level_by_level() -> None:
    def book() -> ReferenceExchange:
        return exchange(limit("a", "i", "sell", 6, 100, display_qty=2),
                        limit("b", "s", "sell", 1, 100), limit("b", "f", "sell", 2, 101))  # fmt: skip

    ex = book()
    assert brief(ex.apply(limit("c", "t", "buy", 9, 101, tif="fok"))) == [
        ("accepted", "t"),
        ("trade", "i", "t", "2", "2"),
        ("trade", "s", "t", "1", None),
        ("trade", "i", "t", "2", "2"),
        ("trade", "i", "t", "2", None),
        ("trade", "f", "t", "2", None),
    ]
    ex = book()
    assert brief(ex.apply(limit("c", "t", "buy", 10, 101, tif="fok")))[1:] == [
        ("cancelled", "t", "fok", "10")
    ]
    # A self iceberg skipped under cancel_maker brings no hidden quantity.
    ex = book()
    assert brief(ex.apply(limit("a", "t", "buy", 4, 101, tif="fok", stp="cancel_maker")))[1:] == [
        ("cancelled", "t", "fok", "4")
    ]
    ex = book()
    assert brief(ex.apply(limit("a", "t", "buy", 3, 101, tif="fok", stp="cancel_maker")))[1:] == [
        ("cancelled", "i", "stp", "6"),
        ("trade", "s", "t", "1", None),
        ("trade", "f", "t", "2", None),
    ]


def test_fok_counts_a_self_iceberg_hidden_quantity_without_stp() -> None:
    """Under stp ``none`` a self iceberg trades like any other, refills included."""
    ex = exchange(limit("a", "i", "sell", 6, 100, display_qty=2))
    assert brief(ex.apply(limit("a", "t", "buy", 5, 100, tif="fok")))[1:] == [
        ("trade", "i", "t", "2", "2"),
        ("trade", "i", "t", "2", "2"),
        ("trade", "i", "t", "1", None),
    ]
    ex = exchange(limit("a", "i", "sell", 6, 100, display_qty=2))
    assert brief(ex.apply(limit("a", "t", "buy", 7, 100, tif="fok")))[1:] == [
        ("cancelled", "t", "fok", "7")
    ]


def test_post_only_counts_the_whole_quantity_and_own_hidden_under_decrement() -> None:
    def book() -> ReferenceExchange:
        return exchange(limit("a", "i", "sell", 5, 100, display_qty=2),
                        limit("b", "s", "sell", 1, 101))  # fmt: skip

    # 5 = the slice (2) + the hidden part (3): decremented away before the level at 101.
    ex = book()
    assert brief(ex.apply(limit("a", "p", "buy", 5, 101, post_only=True, stp="decrement"))) == [
        ("accepted", "p"),
        ("modified", "i", "3", "stp", "2"),
        ("modified", "p", "3", "stp", None),
        ("modified", "i", "1", "stp", "1"),
        ("modified", "p", "1", "stp", None),
        ("cancelled", "i", "stp", "1"),
        ("cancelled", "p", "stp", "1"),
    ]
    ex = book()
    assert brief(ex.apply(limit("a", "p", "buy", 6, 101, post_only=True, stp="decrement"))) == [
        ("rejected", "p", "post_only")
    ]
    # A post-only iceberg is checked with its whole quantity (6 reaches s), not its display.
    ex = book()
    cmd = limit("a", "p", "buy", 6, 101, post_only=True, stp="decrement", display_qty=1)
    assert brief(ex.apply(cmd)) == [("rejected", "p", "post_only")]
    ex = book()
    assert brief(ex.apply(limit("c", "p", "buy", 6, 99, post_only=True, display_qty=1))) == [
        ("accepted", "p")
    ]
    assert ex.levels_view("X", True) == [(99, 1, 1, [(3, 1)])]
    assert hidden(ex)[3] == 5
