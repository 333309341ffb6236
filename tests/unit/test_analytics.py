"""Hand-computed values of every analytics signal on small books and short flows.

Each expected value below is worked out by hand from the formulas in docs/ANALYTICS.md (the
arithmetic is in the comments); empty and one-sided books give None, never an error. Prices
are in ticks, quantities in lots.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from hftbook.analytics import L1_ONLY, Bar, BookSignals, SignalConfig, events, nanos
from hftbook.core.types import BUY, SELL


def _book(bids: list[tuple[int, int]], asks: list[tuple[int, int]], cfg: SignalConfig | None = None,
          ) -> BookSignals:
    sig = BookSignals(cfg)
    sig.on_levels([(BUY, p, q) for p, q in bids] + [(SELL, p, q) for p, q in asks], 0)
    return sig


def test_empty_book_is_all_null() -> None:
    s = BookSignals().snapshot()
    assert (s.best_bid, s.best_ask, s.bid_qty, s.ask_qty) == (None, None, None, None)
    assert (s.mid, s.microprice, s.spread, s.spread_bps) == (None, None, None, None)
    assert (s.imbalance, s.weighted_imbalance, s.imbalance_ewma, s.predicted_move) == (None,) * 4
    assert (s.bid_depth, s.ask_depth, s.bid_depth_top, s.ask_depth_top) == (0, 0, 0, 0)
    assert (s.ofi, s.ofi_total, s.rv, s.rv_per_sqrt_s) == (0, 0, None, None)
    assert (s.last_price, s.vwap, s.vwap_window, s.bar, s.trades, s.volume) == (None,) * 4 + (0, 0)


def test_two_sided_book() -> None:
    s = _book([(100, 3), (99, 4)], [(102, 1), (103, 2)]).snapshot()
    assert (s.best_bid, s.bid_qty, s.best_ask, s.ask_qty) == (100, 3, 102, 1)
    assert s.mid == 101
    assert s.microprice == Fraction(100 * 1 + 102 * 3, 4) == Fraction(203, 2)
    assert s.imbalance == 0.5  # (3 - 1) / 4
    assert s.spread == 2
    assert s.spread_bps == 2 * 20000 / 202  # 2 / 101 * 10000
    # weights 1, 1/2: bids 3 + 4/2 = 5, asks 1 + 2/2 = 2 -> (5 - 2) / 7
    assert s.weighted_imbalance == 3 / 7
    # lambda 1/2: 1/2 * 0.5 * 2 = 1/2, and mid + move is the microprice
    assert s.predicted_move == Fraction(1, 2)
    assert s.mid + s.predicted_move == s.microprice
    assert (s.bid_depth, s.ask_depth, s.bid_levels, s.ask_levels) == (7, 3, 2, 2)
    assert (s.bid_depth_top, s.ask_depth_top) == (7, 3)


def test_one_sided_books() -> None:
    s = _book([(100, 5), (98, 1)], []).snapshot()
    assert (s.best_bid, s.bid_qty, s.best_ask, s.ask_qty) == (100, 5, None, None)
    assert (s.mid, s.microprice, s.spread, s.spread_bps, s.predicted_move) == (None,) * 5
    assert s.imbalance == 1.0 and s.weighted_imbalance == 1.0
    assert (s.bid_depth, s.ask_depth) == (6, 0)
    s = _book([], [(7, 2)]).snapshot()
    assert (s.best_ask, s.ask_qty, s.imbalance, s.weighted_imbalance, s.mid) == (7, 2, -1.0, -1.0, None)


def test_depth_weights_levels_and_decay() -> None:
    bids, asks = [(10, 1), (9, 8), (8, 100)], [(11, 4), (12, 1), (13, 100)]
    # levels 2, decay 1 (equal weights): bids 1 + 8 = 9, asks 4 + 1 = 5 -> 4 / 14
    s = _book(bids, asks, SignalConfig(levels=2, decay=Fraction(1))).snapshot()
    assert s.weighted_imbalance == 4 / 14
    assert (s.bid_depth_top, s.ask_depth_top, s.bid_depth, s.ask_depth) == (9, 5, 109, 105)
    # levels 3, decay 1/3: bids 1 + 8/3 + 100/9 = 133/9, asks 4 + 1/3 + 100/9 = 139/9 -> -6/272
    s = _book(bids, asks, SignalConfig(levels=3, decay=Fraction(1, 3))).snapshot()
    assert s.weighted_imbalance == -6 / 272
    # levels 1 is the L1 imbalance; levels 0 turns the depth-weighted measures off
    assert _book(bids, asks, SignalConfig(levels=1)).snapshot().weighted_imbalance == -3 / 5
    s = _book(bids, asks, SignalConfig(levels=0)).snapshot()
    assert (s.weighted_imbalance, s.bid_depth_top, s.ask_depth_top) == (None, None, None)


def test_level_updates_keep_the_top_sums() -> None:
    sig = _book([(10, 1), (9, 2)], [], SignalConfig(levels=2, decay=Fraction(1)))
    sig.on_level(BUY, 11, 4, 0)  # new best: the top 2 are now 11 and 10
    assert sig.snapshot().bid_depth_top == 5
    sig.on_level(BUY, 10, 6, 0)  # qty change inside the top
    assert sig.snapshot().bid_depth_top == 10
    sig.on_level(BUY, 9, 7, 0)  # qty change below the top
    assert sig.snapshot().bid_depth_top == 10
    sig.on_level(BUY, 11, 0, 0)  # the best leaves: 10 and 9 are the top
    s = sig.snapshot()
    assert (s.bid_depth_top, s.bid_depth, s.best_bid, s.bid_levels) == (13, 13, 10, 2)
    sig.on_level(BUY, 50, 0, 0)  # removing an absent level changes nothing
    assert sig.snapshot() == s


def test_ofi_by_events() -> None:
    sig = BookSignals(SignalConfig(ofi=events(2)))
    sig.on_level(BUY, 100, 5, 1)  # a bid appears: +5
    sig.on_level(SELL, 102, 3, 2)  # an ask appears: -3
    sig.on_level(BUY, 100, 7, 3)  # bid qty 5 -> 7 at the same price: +7 - 5 = +2
    sig.on_level(BUY, 98, 10, 4)  # deeper level: no L1 event, nothing recorded
    assert (sig.snapshot().ofi, sig.snapshot().ofi_total) == (-3 + 2, 5 - 3 + 2)
    sig.on_level(BUY, 101, 1, 5)  # bid price up: +1 (the old bid is not subtracted)
    # one event: the ask moves up from 102 x 3 to 103 x 4: the old ask qty leaves, +3
    sig.on_levels([(SELL, 102, 0), (SELL, 103, 4)], 6)
    s = sig.snapshot()
    assert (s.ofi, s.ofi_total) == (1 + 3, 5 - 3 + 2 + 1 + 3)
    sig.on_level(SELL, 103, 0, 7)  # the ask side empties: the old ask qty leaves, +4
    sig.on_level(BUY, 101, 0, 8)  # the bid falls back to 100 x 7: -1
    s = sig.snapshot()
    assert (s.ofi, s.ofi_total) == (4 - 1, 8 + 4 - 1)


def test_ofi_by_time_window() -> None:
    sig = BookSignals(SignalConfig(ofi=nanos(10)))
    sig.on_level(BUY, 100, 5, 0)  # +5 at ts 0
    sig.on_level(SELL, 102, 3, 4)  # -3 at ts 4
    assert sig.snapshot().ofi == 2
    sig.on_time(10)  # window (0, 10]: the ts 0 term is out
    assert sig.snapshot().ofi == -3
    sig.on_time(14)
    assert (sig.snapshot().ofi, sig.snapshot().ofi_total) == (0, 2)


def test_one_event_of_several_changes_is_one_l1_event() -> None:
    changes = [(SELL, 102, 0), (SELL, 103, 2), (BUY, 101, 4)]
    batched = _book([(100, 5)], [(102, 3)], SignalConfig(ofi=events(1)))
    batched.on_levels(changes, 1)
    # bid up: +4; ask up: +3 (the old ask qty leaves)
    assert batched.snapshot().ofi == 7
    single = _book([(100, 5)], [(102, 3)], SignalConfig(ofi=events(1)))
    for side, price, qty in changes:
        single.on_level(side, price, qty, 1)
    # three L1 events: the ask side empties (+3), 103 x 2 appears (-2), the bid moves up (+4);
    # through the empty ask the flow differs from the one event's
    assert single.snapshot().ofi == 4
    assert (single.snapshot().ofi_total, batched.snapshot().ofi_total) == (5 - 3 + 3 - 2 + 4, 5 - 3 + 7)


def test_ewma_by_events() -> None:
    sig = BookSignals(SignalConfig(ewma=events(1)))  # half-life 1 event: keep 1/2
    sig.on_level(BUY, 100, 5, 0)  # x = 1, the first sample starts the average
    assert sig.snapshot().imbalance_ewma == 1.0
    sig.on_level(SELL, 102, 3, 0)  # x = (5 - 3) / 8 = 0.25 -> 0.25 + (1 - 0.25) / 2
    assert sig.snapshot().imbalance_ewma == 0.625
    sig.on_level(SELL, 110, 1, 0)  # deeper ask: not an L1 event
    sig.on_time(1_000)  # time does not move an event-count average
    assert sig.snapshot().imbalance_ewma == 0.625
    sig.on_level(SELL, 102, 5, 1_000)  # x = 0 -> 0.3125
    assert sig.snapshot().imbalance_ewma == 0.3125


def test_ewma_by_time() -> None:
    sig = BookSignals(SignalConfig(ewma=nanos(10)))  # half-life 10 ns
    sig.on_level(BUY, 100, 5, 0)  # x = 1 starts the average
    sig.on_level(SELL, 101, 5, 0)  # x = 0, held from ts 0: no time passed yet
    assert sig.snapshot().imbalance_ewma == 1.0
    sig.on_time(10)  # one half-life at x = 0
    assert sig.snapshot().imbalance_ewma == 0.5
    sig.on_level(SELL, 101, 0, 20)  # another half-life at 0 -> 0.25; now x = 1
    assert sig.snapshot().imbalance_ewma == 0.25
    sig.on_time(30)  # one half-life at x = 1: 1 + (0.25 - 1) / 2
    assert sig.snapshot().imbalance_ewma == 0.625
    sig.on_level(BUY, 100, 0, 30)  # both sides empty: x undefined, the average holds
    sig.on_time(1_000)
    s = sig.snapshot()
    assert (s.imbalance, s.imbalance_ewma) == (None, 0.625)


def test_realised_volatility_by_mid_changes() -> None:
    sig = BookSignals(SignalConfig(rv=events(2)))
    sig.on_levels([(BUY, 100, 1), (SELL, 102, 1)], 0)  # mid 101: no return yet
    assert sig.snapshot().rv is None
    sig.on_level(SELL, 102, 9, 1)  # qty only: the mid does not change
    assert sig.snapshot().rv is None
    sig.on_levels([(SELL, 102, 0), (SELL, 104, 1)], 2)  # mid 101 -> 102
    r1 = math.log(204 / 202)
    assert sig.snapshot().rv == pytest.approx(abs(r1), rel=1e-12)
    sig.on_level(BUY, 100, 0, 3)  # no bid: no mid, no return
    sig.on_level(BUY, 98, 1, 4)  # mid 101 again: the return is taken from the last mid, 102
    r2 = math.log(202 / 204)
    sig.on_levels([(SELL, 104, 0), (SELL, 100, 1)], 5)  # mid 99
    r3 = math.log(198 / 202)
    s = sig.snapshot()
    assert s.rv == pytest.approx(math.sqrt(r2 * r2 + r3 * r3), rel=1e-12)  # window: last 2 returns
    assert s.rv_per_sqrt_s is None  # only for time windows


def test_realised_volatility_per_sqrt_second() -> None:
    sig = BookSignals(SignalConfig(rv=nanos(4_000_000_000)))  # a 4 s window
    sig.on_levels([(BUY, 100, 1), (SELL, 102, 1)], 0)
    sig.on_level(SELL, 104, 1, 0)  # still mid 101: 102 stays the best ask
    sig.on_level(SELL, 102, 0, 1_000_000_000)  # mid 102 at 1 s
    r = math.log(204 / 202)
    s = sig.snapshot()
    assert s.rv == pytest.approx(abs(r), rel=1e-12)
    assert s.rv_per_sqrt_s == pytest.approx(abs(r) / 2, rel=1e-12)  # sqrt(r**2 / 4 s)
    sig.on_time(5_000_000_000)  # the return at 1 s leaves the window: the mid stood still
    s = sig.snapshot()
    assert (s.rv, s.rv_per_sqrt_s) == (0.0, 0.0)


def test_vwap_session_and_windows() -> None:
    by_count = BookSignals(SignalConfig(vwap=events(2)))
    by_time = BookSignals(SignalConfig(vwap=nanos(5)))
    for sig in (by_count, by_time):
        sig.on_trade(100, 2, BUY, 0)
        sig.on_trade(102, 1, SELL, 3)
        sig.on_trade(101, 1, BUY, 6)
    s = by_count.snapshot()
    assert s.vwap == Fraction(200 + 102 + 101, 4)
    assert s.vwap_window == Fraction(102 + 101, 2)
    assert (s.trades, s.volume, s.buy_volume, s.sell_volume, s.last_price) == (3, 4, 3, 1, 101)
    assert by_time.snapshot().vwap_window == Fraction(203, 2)  # window (1, 6]: ts 3 and 6
    by_time.on_time(9)  # window (4, 9]: ts 6 only
    assert by_time.snapshot().vwap_window == 101
    by_time.on_time(11)
    s = by_time.snapshot()
    assert (s.vwap_window, s.vwap) == (None, Fraction(403, 4))


def test_bars() -> None:
    sig = BookSignals(SignalConfig(bar_ns=10, keep_bars=2))
    sig.on_trade(100, 1, BUY, 1)
    sig.on_trade(103, 2, BUY, 5)
    sig.on_trade(99, 1, SELL, 9)
    first = Bar(0, 100, 103, 99, 99, 4, 100 + 206 + 99, 3)
    assert sig.snapshot().bar == first and sig.bars() == ()
    sig.on_level(BUY, 90, 1, 10)  # the clock reaches the bar's end: it closes
    assert sig.snapshot().bar is None and sig.bars() == (first,)
    sig.on_trade(104, 5, BUY, 35)  # ts 10-29 had no trade: no bar for them
    sig.on_time(40)
    sig.on_trade(105, 1, BUY, 40)
    sig.on_time(50)
    assert sig.bars() == (Bar(30, 104, 104, 104, 104, 5, 520, 1), Bar(40, 105, 105, 105, 105, 1, 105, 1))
    assert [b.start for b in sig.take_bars()] == [30, 40]  # keep_bars=2: the first one is gone
    assert sig.bars() == () and sig.take_bars() == []


def test_l1_only_config() -> None:
    sig = _book([(100, 3)], [(101, 1)], L1_ONLY)
    sig.on_trade(101, 1, BUY, 5)
    s = sig.snapshot()
    assert (s.mid, s.imbalance, s.vwap, s.last_price) == (Fraction(201, 2), 0.5, 101, 101)
    assert (s.weighted_imbalance, s.imbalance_ewma, s.ofi, s.rv, s.vwap_window, s.bar) == (None,) * 6
    assert sig.bars() == () and sig.take_bars() == []


def test_bad_input_raises_and_changes_nothing() -> None:
    sig = _book([(100, 3)], [(101, 1)])
    sig.on_time(10)
    before = sig.snapshot()
    with pytest.raises(ValueError, match="backwards"):
        sig.on_level(BUY, 100, 1, 9)
    with pytest.raises(ValueError, match="backwards"):
        sig.on_trade(100, 1, BUY, 9)
    with pytest.raises(ValueError, match=">= 0"):
        sig.on_level(BUY, 100, -1, 10)
    with pytest.raises(ValueError, match="qty > 0"):
        sig.on_trade(100, 0, BUY, 10)
    with pytest.raises(ValueError, match="price"):
        sig.on_trade(0, 1, BUY, 10)
    with pytest.raises(ValueError, match="price"):
        sig.on_level(SELL, 0, 1, 10)
    with pytest.raises(ValueError, match="price"):
        sig.on_level(BUY, 2**63, 1, 10)
    with pytest.raises(ValueError, match="backwards"):
        sig.on_levels([(BUY, 100, 1)], 9)
    assert sig.snapshot() == before
    # in one event, the changes before a bad one stay applied and are sampled as one event
    with pytest.raises(ValueError, match=">= 0"):
        sig.on_levels([(BUY, 100, 8), (SELL, 101, -2), (SELL, 101, 9)], 10)
    s = sig.snapshot()
    assert (s.bid_qty, s.ask_qty, s.imbalance, s.ofi_total) == (8, 1, 7 / 9, before.ofi_total + 5)


def test_predicted_move_with_another_lambda() -> None:
    s = _book([(100, 1)], [(104, 3)], SignalConfig(lam=Fraction(2))).snapshot()
    assert s.predicted_move == 2 * Fraction(1 - 3, 4) * 4 == -4  # leans towards the thin bid


@pytest.mark.parametrize(
    "kwargs",
    [
        {"levels": -1},
        {"decay": Fraction(0)},
        {"decay": Fraction(3, 2)},
        {"decay": 0.5},
        {"lam": 0.5},
        {"ewma": events(0)},
        {"ofi": nanos(-5)},
        {"bar_ns": 0},
        {"keep_bars": -1},
    ],
)
def test_bad_config_raises(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SignalConfig(**kwargs)  # type: ignore[arg-type]


def test_integer_weights() -> None:
    assert SignalConfig().weights() == (16, 8, 4, 2, 1)
    assert SignalConfig(levels=3, decay=Fraction(2, 3)).weights() == (9, 6, 4)
    assert SignalConfig(levels=0).weights() == ()
