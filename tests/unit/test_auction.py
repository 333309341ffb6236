"""The call-auction uncross on hand-worked books: every rule and tie-break, edge cases, allocation.

Each expected value is worked out in the comment above it from B(p) (buys marketable at p),
S(p) (sells marketable at p), volume = min(B, S) and surplus = B - S; see core/auction.py.
"""

import pytest

from hftbook.core.auction import (
    Allocation,
    AuctionOrder,
    Fill,
    Uncross,
    allocate,
    uncross,
    uncross_price,
)

A = AuctionOrder
MKT = None


# -- nothing trades ------------------------------------------------------------------------


def test_empty_book_and_empty_sides() -> None:
    assert uncross_price([], []) is None
    assert uncross_price([], [], 100) is None
    assert uncross([], [], 100) is None
    assert uncross_price([A(1, 100, 5, 0)], []) is None
    assert uncross_price([], [A(2, 100, 5, 0)], 100) is None
    assert uncross_price([A(1, MKT, 5, 0)], [], 100) is None
    assert uncross_price([], [A(2, MKT, 5, 0)]) is None


def test_no_cross() -> None:
    bids = [A(1, 99, 5, 0), A(2, 98, 5, 1)]
    asks = [A(3, 101, 5, 2)]
    assert uncross_price(bids, asks) is None
    # The reference joins as a candidate (it lies between 98 and 101) but trades nothing there.
    assert uncross_price(bids, asks, 100) is None
    assert uncross(bids, asks, 100) is None


def test_market_orders_only_without_reference_do_not_trade() -> None:
    # No limit price and no reference: nothing to price the trade at, so no auction.
    assert uncross_price([A(1, MKT, 5, 0)], [A(2, MKT, 5, 1)]) is None


# -- small books ---------------------------------------------------------------------------


def test_one_lot_book() -> None:
    bids, asks = [A(1, 100, 1, 0)], [A(2, 100, 1, 1)]
    assert uncross_price(bids, asks) == Uncross(100, 1, 0)
    assert uncross(bids, asks) == Allocation(100, 1, [Fill(1, 2, 1)], [(1, 0)], [(2, 0)])


def test_one_lot_each_side_at_different_prices() -> None:
    # bid 1@102, ask 1@100: volume 1 at both, surplus 0 at both; no reference: midpoint 101.
    assert uncross_price([A(1, 102, 1, 0)], [A(2, 100, 1, 0)]) == Uncross(101, 1, 0)
    # With a reference the closest price in [100, 102] wins (it joins when inside).
    assert uncross_price([A(1, 102, 1, 0)], [A(2, 100, 1, 0)], 102) == Uncross(102, 1, 0)
    assert uncross_price([A(1, 102, 1, 0)], [A(2, 100, 1, 0)], 7) == Uncross(100, 1, 0)


def test_plain_tuples_work_like_named_ones() -> None:
    bids = [(1, 100, 3, 0)]
    asks = [(2, 100, 2, 1)]
    assert uncross_price(bids, asks) == Uncross(100, 2, 1)
    assert allocate(bids, asks, 100).fills == [Fill(1, 2, 2)]


# -- rule 1: maximum volume ----------------------------------------------------------------


def test_rule_1_maximum_volume_and_allocation() -> None:
    bids = [A(1, 103, 10, 0), A(2, 102, 20, 1), A(3, 100, 15, 2)]
    asks = [A(4, 99, 5, 3), A(5, 101, 20, 4), A(6, 102, 20, 5)]
    #  p    B   S   volume
    #  99  45   5    5
    # 100  45   5    5
    # 101  30  25   25
    # 102  30  45   30   <- maximum; surplus 30 - 45 = -15
    # 103  10  45   10
    assert uncross_price(bids, asks, 80) == Uncross(102, 30, -15)
    a = allocate(bids, asks, 102)
    # Price then time on both sides, front to front; the only partial fill is ask 6, the last
    # one reached on the side with the surplus.
    assert a.fills == [Fill(1, 4, 5), Fill(1, 5, 5), Fill(2, 5, 15), Fill(2, 6, 5)]
    assert a.bids == [(1, 0), (2, 0), (3, 15)]
    assert a.asks == [(4, 0), (5, 0), (6, 15)]
    assert a.volume == 30
    # What is left does not cross: bid 100 < ask 102.


# -- rule 2: minimum surplus ---------------------------------------------------------------


def test_rule_2_minimum_surplus_before_the_reference() -> None:
    bids = [A(1, 102, 5, 0), A(2, 100, 3, 1)]
    asks = [A(3, 100, 5, 2)]
    # 100: B 8, S 5 -> volume 5, surplus +3;  102: B 5, S 5 -> volume 5, surplus 0.
    # The reference 100 is a candidate at distance 0, but rule 2 comes first.
    assert uncross_price(bids, asks, 100) == Uncross(102, 5, 0)
    assert uncross_price(bids, asks) == Uncross(102, 5, 0)


def test_equal_volume_at_several_prices() -> None:
    bids = [A(1, 105, 10, 0), A(2, 101, 2, 1)]
    asks = [A(3, 100, 10, 2), A(4, 104, 2, 3)]
    #  p    B   S   volume surplus
    # 100  12  10   10     +2
    # 101  12  10   10     +2
    # 102  10  10   10      0   (not a limit price)
    # 103  10  10   10      0   (not a limit price)
    # 104  10  12   10     -2
    # 105  10  12   10     -2
    # No reference: four limit prices tie, the surplus changes side -> midpoint of 100 and 105.
    assert uncross_price(bids, asks) == Uncross(102, 10, 0)
    # A reference on a limit price wins rule 3 among the tied limit prices.
    assert uncross_price(bids, asks, 101) == Uncross(101, 10, 2)
    assert uncross_price(bids, asks, 104) == Uncross(104, 10, -2)
    # A reference inside the range joins the candidates and wins rule 2 outright.
    assert uncross_price(bids, asks, 103) == Uncross(103, 10, 0)
    # Outside the range of limit prices it only pulls towards the nearer end.
    assert uncross_price(bids, asks, 500) == Uncross(105, 10, -2)
    assert uncross_price(bids, asks, 1) == Uncross(100, 10, 2)
    a = allocate(bids, asks, 103)
    assert a.fills == [Fill(1, 3, 10)]
    assert a.bids == [(1, 0), (2, 2)] and a.asks == [(3, 0), (4, 2)]  # 101 < 104: not crossed


# -- rule 3: closest to the reference -------------------------------------------------------


def test_rule_3_closest_to_reference() -> None:
    bids = [A(1, 102, 5, 0)]
    asks = [A(2, 100, 5, 1)]
    # 100 and 102 both trade 5 with no surplus.
    assert uncross_price(bids, asks, 101) == Uncross(101, 5, 0)  # the reference itself
    assert uncross_price(bids, asks, 100) == Uncross(100, 5, 0)
    assert uncross_price(bids, asks, 102) == Uncross(102, 5, 0)
    assert uncross_price(bids, asks, 90) == Uncross(100, 5, 0)  # outside: not a candidate
    assert uncross_price(bids, asks, 150) == Uncross(102, 5, 0)


def test_reference_between_limits_can_leave_the_smallest_surplus() -> None:
    # Market orders on both sides and limits just outside them.
    bids = [A(1, MKT, 10, 0), A(2, 99, 1, 1)]
    asks = [A(3, MKT, 10, 2), A(4, 101, 1, 3)]
    # 99: B 11, S 10 -> 10, +1;  100 (the reference): B 10, S 10 -> 10, 0;  101: B 10, S 11 -> 10, -1.
    assert uncross_price(bids, asks, 100) == Uncross(100, 10, 0)
    # A reference outside [99, 101] is not a candidate: the nearer end.
    assert uncross_price(bids, asks, 150) == Uncross(101, 10, -1)
    assert uncross_price(bids, asks, 50) == Uncross(99, 10, 1)
    a = uncross(bids, asks, 100)
    assert a is not None
    assert a.fills == [Fill(1, 3, 10)]
    assert a.bids == [(1, 0), (2, 1)] and a.asks == [(3, 0), (4, 1)]


# -- rule 4: market pressure, then the midpoint (no reference) -------------------------------


def test_rule_4_buy_surplus_takes_the_highest() -> None:
    # 100: B 10, S 5 -> 5, +5;  102: B 10, S 5 -> 5, +5.
    bids, asks = [A(1, 102, 10, 0)], [A(2, 100, 5, 1)]
    assert uncross_price(bids, asks) == Uncross(102, 5, 5)
    # With a reference rule 3 decides instead (and the reference 101 joins the candidates).
    assert uncross_price(bids, asks, 101) == Uncross(101, 5, 5)


def test_rule_4_sell_surplus_takes_the_lowest() -> None:
    bids, asks = [A(1, 102, 5, 0)], [A(2, 100, 10, 1)]
    assert uncross_price(bids, asks) == Uncross(100, 5, -5)


def test_rule_4_no_surplus_takes_the_midpoint_rounded_down() -> None:
    assert uncross_price([A(1, 102, 5, 0)], [A(2, 100, 5, 1)]) == Uncross(101, 5, 0)
    assert uncross_price([A(1, 103, 5, 0)], [A(2, 100, 5, 1)]) == Uncross(101, 5, 0)
    # 90: B 6, S 5 -> 5, +1;  100 and 106: 5, 0;  120: B 0 -> no volume. Tied: 100 and 106.
    bids = [A(1, 106, 5, 0), A(2, 90, 1, 1)]
    asks = [A(3, 100, 5, 2), A(4, 120, 1, 3)]
    assert uncross_price(bids, asks) == Uncross(103, 5, 0)


def test_rule_4_surplus_changing_side_takes_the_midpoint() -> None:
    bids = [A(1, 104, 5, 0), A(2, 100, 1, 1)]
    asks = [A(3, 100, 5, 2), A(4, 104, 1, 3)]
    # 100: B 6, S 5 -> 5, +1;  104: B 5, S 6 -> 5, -1;  the midpoint 102: B 5, S 5 -> 5, 0.
    assert uncross_price(bids, asks) == Uncross(102, 5, 0)
    bids = [A(1, MKT, 10, 0), A(2, 99, 1, 1)]
    asks = [A(3, MKT, 10, 2), A(4, 101, 1, 3)]
    assert uncross_price(bids, asks) == Uncross(100, 10, 0)


# -- market orders ---------------------------------------------------------------------------


def test_market_orders_only_trade_at_the_reference() -> None:
    bids = [A(1, MKT, 4, 5), A(2, MKT, 3, 1)]
    asks = [A(3, MKT, 4, 2)]
    assert uncross_price(bids, asks, 100) == Uncross(100, 4, 3)
    a = uncross(bids, asks, 100)
    # Time priority among market orders: seq 1 before seq 5.
    assert a == Allocation(100, 4, [Fill(2, 3, 3), Fill(1, 3, 1)], [(2, 0), (1, 3)], [(3, 0)])


def test_market_sells_keep_time_priority() -> None:
    bids = [A(1, 100, 5, 0)]
    asks = [A(2, MKT, 3, 8), A(3, MKT, 3, 4)]
    assert uncross_price(bids, asks) == Uncross(100, 5, -1)
    a = allocate(bids, asks, 100)
    assert a.fills == [Fill(1, 3, 3), Fill(1, 2, 2)]
    assert a.asks == [(3, 0), (2, 1)]


def test_market_buy_against_limit_sells() -> None:
    bids = [A(1, MKT, 8, 5)]
    asks = [A(2, 100, 5, 0), A(3, 101, 5, 1)]
    # 100: B 8, S 5 -> 5;  101: B 8, S 10 -> 8, surplus -2.
    assert uncross_price(bids, asks) == Uncross(101, 8, -2)
    a = allocate(bids, asks, 101)
    assert a.fills == [Fill(1, 2, 5), Fill(1, 3, 3)]
    assert a.bids == [(1, 0)] and a.asks == [(2, 0), (3, 2)]


def test_market_sell_against_limit_bids() -> None:
    bids = [A(1, 99, 3, 0), A(2, 100, 3, 1)]
    asks = [A(3, MKT, 5, 2)]
    # 99: B 6, S 5 -> 5, +1;  100: B 3, S 5 -> 3.
    assert uncross_price(bids, asks, 200) == Uncross(99, 5, 1)
    a = allocate(bids, asks, 99)
    assert a.fills == [Fill(2, 3, 3), Fill(1, 3, 2)]  # the better bid first
    assert a.bids == [(2, 0), (1, 1)]


def test_market_orders_go_before_better_limits() -> None:
    bids = [A(1, 105, 5, 0), A(2, MKT, 5, 9)]
    asks = [A(3, 100, 5, 1)]
    # 100 and 105: B 10, S 5 -> 5, +5; no reference: buy pressure -> 105.
    assert uncross_price(bids, asks) == Uncross(105, 5, 5)
    a = allocate(bids, asks, 105)
    # The market order arrived later but fills first; the limit rests untouched.
    assert a.fills == [Fill(2, 3, 5)]
    assert a.bids == [(2, 0), (1, 5)]


# -- allocation: price then time -------------------------------------------------------------


def test_time_priority_is_seq_not_input_order() -> None:
    bids = [A(1, 100, 5, 7), A(2, 100, 5, 3)]
    asks = [A(3, 100, 6, 0)]
    assert uncross_price(bids, asks) == Uncross(100, 6, 4)
    a = allocate(bids, asks, 100)
    assert a.fills == [Fill(2, 3, 5), Fill(1, 3, 1)]
    assert a.bids == [(2, 0), (1, 4)]


def test_equal_seq_keeps_input_order() -> None:
    bids = [A(1, 100, 2, 0), A(2, 100, 2, 0)]
    asks = [A(3, 100, 3, 0)]
    assert allocate(bids, asks, 100).fills == [Fill(1, 3, 2), Fill(2, 3, 1)]
    assert allocate(bids[::-1], asks, 100).fills == [Fill(2, 3, 2), Fill(1, 3, 1)]


def test_many_small_against_one_large() -> None:
    bids = [A(i, 100 + i % 3, 1, i) for i in range(1, 8)]  # 101, 102, 100, 101, 102, 100, 101
    asks = [A(50, 100, 4, 0)]
    # B(100) = 7, S(100) = 4 -> 4; B(101) = 5, S(101) = 4 -> 4, +1; B(102) = 2 -> 2.
    # 100 (+3) and 101 (+1) trade 4: the smaller surplus wins, 101.
    assert uncross_price(bids, asks) == Uncross(101, 4, 1)
    a = allocate(bids, asks, 101)
    # 102s first (ids 2, 5), then 101s by time (1, 4); 7 at 101 is left.
    assert a.fills == [Fill(2, 50, 1), Fill(5, 50, 1), Fill(1, 50, 1), Fill(4, 50, 1)]
    assert [oid for oid, left in a.bids if left] == [7, 3, 6]


def test_allocate_at_any_price_trades_what_is_marketable_there() -> None:
    bids = [A(1, 103, 10, 0), A(2, 102, 20, 1), A(3, 100, 15, 2)]
    asks = [A(4, 99, 5, 3), A(5, 101, 20, 4), A(6, 102, 20, 5)]
    a = allocate(bids, asks, 101)  # B 30, S 25
    assert a.volume == 25
    assert a.fills == [Fill(1, 4, 5), Fill(1, 5, 5), Fill(2, 5, 15)]
    assert allocate(bids, asks, 200).volume == 0


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bids", "asks", "ref"),
    [
        ([A(1, 100, 0, 0)], [], None),
        ([], [A(1, 100, -1, 0)], None),
        ([A(1, 0, 1, 0)], [], None),
        ([], [A(1, -5, 1, 0)], None),
        ([], [], 0),
        ([], [], -3),
    ],
)
def test_bad_input_is_refused(bids: list[A], asks: list[A], ref: int | None) -> None:
    with pytest.raises(ValueError):
        uncross_price(bids, asks, ref)


def test_allocate_refuses_a_non_positive_price() -> None:
    with pytest.raises(ValueError):
        allocate([A(1, 100, 1, 0)], [A(2, 100, 1, 0)], 0)
