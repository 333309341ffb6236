"""The stop index's run-at-a-time trailing rule equals the contract's print-at-a-time rule.

`StopIndex.on_run` sees a run of prints only as (first, last): one aggressor's prints are
monotonic, and the module docstring argues that the per-print trailing rules reduce to a
closed form over the run. This checks that claim against a direct simulation, print by print.
"""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from hftbook.core.order import Order, StopSpec
from hftbook.core.stops import StopIndex, trailing_level
from hftbook.core.types import BUY, GTC, SELL, STP_NONE, TRAILING_STOP


def _stop(side: int, trail: int, pct: Decimal | None) -> Order:
    o = Order(1, "u", "s", "X", side, 0, 1, GTC, 0, False, STP_NONE)
    o.stop = StopSpec(TRAILING_STOP, None, 0, trail, pct, 0)
    return o


def _per_print(side: int, spec: StopSpec, ref: int | None, prints: list[int]) -> int | None:
    """The contract, literally: update the reference at each print, then test the level."""
    for p in prints:
        if side == BUY:
            ref = p if ref is None or p < ref else ref
            level = trailing_level(spec, side, ref)
            if p >= level:
                return level
        else:
            ref = p if ref is None or p > ref else ref
            level = trailing_level(spec, side, ref)
            if p <= level:
                return level
    return None


runs = st.lists(
    st.tuples(st.integers(1, 400), st.integers(0, 12), st.booleans()),  # start, length, rising
    min_size=1, max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(
    side=st.sampled_from([BUY, SELL]),
    trail=st.integers(1, 30),
    pct=st.one_of(st.none(), st.decimals(Decimal("0.1"), Decimal("40"), places=1)),
    last=st.integers(0, 400),
    shape=runs,
)
def test_run_rule_equals_print_rule(side: int, trail: int, pct: Decimal | None, last: int,
                                    shape: list[tuple[int, int, bool]]) -> None:
    o = _stop(side, trail, pct)
    index = StopIndex()
    index.add(o, last)
    assert o.stop is not None
    ref: int | None = last or None
    expected = None
    for start, length, rising in shape:
        step = 1 if rising else -1
        prints = [max(1, start + step * i) for i in range(length + 1)]
        if expected is None:
            expected = _per_print(side, o.stop, ref, prints)
            ref = (min if side == BUY else max)([*prints, *([ref] if ref is not None else [])])
        if not index.pending:
            index.on_run(prints[0], prints[-1])
    fired = o.stop.fired if index.pending else None
    assert fired == expected
