"""Schedule math of the execution algorithms (hftbook.algo.schedule, .profile), values by hand."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import pytest

from hftbook.algo.profile import learn_profile
from hftbook.algo.schedule import intervals, pov_target, slice_times, twap_target, u_profile, vwap_target


def test_slice_times_are_the_interval_grid_then_the_end() -> None:
    assert slice_times(100, 200, 25) == [100, 125, 150, 175, 200]
    assert slice_times(100, 190, 25) == [100, 125, 150, 175, 190]
    assert slice_times(0, 5, 10) == [0, 5]
    assert intervals(100, 190, 25) == 4


def test_jitter_is_seeded_bounded_and_keeps_order() -> None:
    a = slice_times(0, 1000, 100, jitter_pct=20, seed=7)
    assert a == slice_times(0, 1000, 100, jitter_pct=20, seed=7)
    assert a != slice_times(0, 1000, 100, jitter_pct=20, seed=8)
    assert a[0] == 0 and a[-1] == 1000 and len(a) == 11
    assert all(x < y for x, y in pairwise(a))
    assert all(abs(t - 100 * k) <= 20 for k, t in enumerate(a))
    assert a != slice_times(0, 1000, 100)


def test_twap_is_linear_and_rounds_down() -> None:
    assert [twap_target(10, 100, 200, t) for t in (50, 100, 130, 151, 175, 199, 200, 300)] == [
        0, 0, 3, 5, 7, 9, 10, 10]


def test_twap_urgency_front_loads() -> None:
    # f(x) = 1 - (1 - x)^(1 + u): u = 1 at x = 1/2 gives 3/4 of 10, exactly.
    assert twap_target(10, 0, 100, 50, Fraction(1)) == 7
    assert twap_target(100, 0, 100, 10, Fraction(2)) == 27  # 1 - 0.9^3 = 0.271
    # u = 1/2: 1 - 0.5^1.5 = 0.6464 (one float power).
    assert twap_target(10, 0, 100, 50, Fraction(1, 2)) == 6
    assert twap_target(10, 0, 100, 100, Fraction(1, 2)) == 10


def test_default_profile_is_a_u_shape() -> None:
    assert u_profile(4) == [Fraction(43, 16), Fraction(19, 16), Fraction(19, 16), Fraction(43, 16)]
    assert u_profile(1) == [Fraction(1)]


def test_vwap_follows_the_cumulative_profile() -> None:
    times = [0, 10, 20]
    weights = [Fraction(1), Fraction(3)]
    assert [vwap_target(8, times, weights, t) for t in (0, 5, 10, 15, 19, 20)] == [0, 1, 2, 5, 7, 8]


def test_pov_is_the_share_of_the_others_volume() -> None:
    assert pov_target(7, Fraction(50), 10) == 3
    assert pov_target(100, Fraction(25, 2), 10) == 10  # capped by the parent's quantity
    assert pov_target(7, Fraction(1, 3), 1000) == 0


def test_learn_profile_weighs_buckets_by_traded_quantity() -> None:
    events = [
        {"type": "trade", "ts": 0, "symbol": "X", "qty": "4"},
        {"type": "trade", "ts": 9, "symbol": "X", "qty": "1"},
        {"type": "trade", "ts": 19, "symbol": "X", "qty": "5"},
        {"type": "trade", "ts": 5, "symbol": "Y", "qty": "100"},
        {"type": "accepted", "ts": 3, "symbol": "X", "qty": "9"},
    ]
    # X spans ts 0..19: two buckets of 10 ns, 5 lots each.
    assert learn_profile(events, 2, "X") == ["5", "5"]
    # Four buckets of 5 ns: 4, 1, 0, 5; the empty one weighs 1% of the mean (2.5 / 100).
    assert learn_profile(events, 4, "X") == ["4", "1", "0.025", "5"]
    with pytest.raises(ValueError):
        learn_profile(events, 2, "Z")
