"""The stop index's run-at-a-time trailing rule equals the contract's print-at-a-time rule.

`StopIndex.on_run` sees a run of prints only as (first, last): one aggressor's prints are
monotonic, and the module docstring argues that the per-print trailing rules reduce to a
closed form over the run. This checks that claim against a direct simulation, print by print,
for one stop; then the whole index (plain stops, grouped trailing stops of both sides, cancels,
compaction, restored references in any order) against a naive scan of every stop at every
print: same stops triggered at the same levels, same references and levels in `waiting()`.
"""

from decimal import Decimal
from heapq import heappop

from hypothesis import given, settings
from hypothesis import strategies as st

from hftbook.core.order import Order, StopSpec
from hftbook.core.stops import StopIndex, trailing_level
from hftbook.core.types import BUY, GTC, SELL, STOP, STOP_LIMIT, STP_NONE, TRAILING_STOP


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


# -- the index against a naive per-print scan ----------------------------------------------

class _Naive:
    """The contract, literally: every waiting stop looked at on every print."""

    def __init__(self) -> None:
        self.stops: dict[int, tuple[Order, int | None]] = {}  # oid -> (order, reference)

    def add(self, o: Order, ref: int | None) -> None:
        self.stops[o.oid] = (o, ref)

    def prints(self, prints: list[int]) -> dict[int, int]:
        """Apply the prints; the stops they trigger, oid -> level."""
        fired: dict[int, int] = {}
        for p in prints:
            for oid, (o, ref) in list(self.stops.items()):
                spec = o.stop
                assert spec is not None
                if not o.qty:
                    continue
                if spec.kind in (STOP, STOP_LIMIT):
                    assert spec.level is not None
                    level = spec.level
                else:
                    if ref is None or (p < ref if o.side == BUY else p > ref):
                        ref = p
                    self.stops[oid] = (o, ref)
                    level = trailing_level(spec, o.side, ref)
                if p >= level if o.side == BUY else p <= level:
                    fired[oid] = level
                    del self.stops[oid]
        return fired

    def waiting(self) -> list[tuple[int, int | None, int | None]]:
        out: list[tuple[int, int | None, int | None]] = []
        for oid in sorted(self.stops):
            o, ref = self.stops[oid]
            spec = o.stop
            assert spec is not None
            if not o.qty:
                continue
            if spec.kind in (STOP, STOP_LIMIT):
                out.append((oid, None, spec.level))
            else:
                out.append((oid, ref, None if ref is None else trailing_level(spec, o.side, ref)))
        return out


_adds = st.tuples(
    st.just("add"),
    st.sampled_from([BUY, SELL]),
    st.sampled_from(["amount", "pct", "plain"]),
    st.integers(1, 10),  # trail, or trigger distance for a plain stop
    st.decimals(Decimal("0.000001"), Decimal("40"), places=6) | st.sampled_from(
        [Decimal("0.5"), Decimal("1"), Decimal("2.5"), Decimal("10")]),
    st.none() | st.integers(1, 80),  # a restored reference (None: the index takes `last`)
)
_cancels = st.tuples(st.just("cancel"), st.integers(0, 10_000))
# A run starts near the last print (offset) or anywhere (absolute), then goes up or down.
_runs = st.tuples(st.just("run"), st.integers(-6, 6) | st.integers(1, 80).map(lambda p: p + 1000),
                  st.integers(0, 8), st.booleans())
_compacts = st.tuples(st.just("compact"))
_steps = st.one_of(st.lists(_adds, min_size=1, max_size=4), st.lists(_runs, min_size=1, max_size=3),
                   st.tuples(_cancels), st.tuples(_compacts))
_ops = st.lists(_steps, max_size=30).map(lambda steps: [op for step in steps for op in step])


@settings(max_examples=600, deadline=None)
@given(ops=_ops, restored=st.booleans())
def test_index_equals_naive_scan(ops: list[tuple[object, ...]], restored: bool) -> None:
    """Same triggered stops at the same levels, and the same references and levels in
    `waiting()`, after every step; `restored` adds take an arbitrary reference (as a restore
    would, in any order) instead of the last price."""
    index = StopIndex()
    naive = _Naive()
    orders: list[Order] = []
    last = 0
    for op in ops:
        if op[0] == "add":
            _, side, kind, trail, pct, ref = op
            assert isinstance(side, int) and isinstance(trail, int) and isinstance(pct, Decimal)
            o = Order(len(orders) + 1, "u", len(orders), "X", side, 0, 1, GTC, 0, False, STP_NONE)
            if kind == "plain":
                trigger = (last or 40) + (trail if side == BUY else -trail)
                if trigger < 1:
                    continue
                o.stop = StopSpec(STOP, trigger, 0, 0, None, 0)
                initial = None
            else:
                by_pct = kind == "pct"
                o.stop = StopSpec(TRAILING_STOP, None, 0, 0 if by_pct else trail, pct if by_pct else None, 0)
                if restored and isinstance(ref, int):
                    o.stop.ref = ref
                initial = o.stop.ref if o.stop.ref is not None else last or None
            orders.append(o)
            index.add(o, last)
            naive.add(o, initial)
        elif op[0] == "cancel":
            if orders:
                i = op[1]
                assert isinstance(i, int)
                orders[i % len(orders)].qty = 0
        elif op[0] == "compact":
            index.compact()
        else:
            _, start, length, rising = op
            assert isinstance(start, int) and isinstance(length, int)
            start = start - 1000 if start > 1000 else (last or 40) + start
            step = 1 if rising else -1
            prints = [max(1, start + step * i) for i in range(length + 1)]
            expected = naive.prints(prints)
            if index:
                index.on_run(prints[0], prints[-1])
            got = {}
            while index.pending:
                _, o = heappop(index.pending)
                assert o.stop is not None
                got[o.oid] = o.stop.fired
                o.stop = None  # released
            assert got == expected
            last = prints[-1]
        waiting = [(o.oid, o.stop.ref, o.stop.level) for o in index.waiting() if o.stop is not None]
        assert waiting == naive.waiting()


@settings(max_examples=300, deadline=None)
@given(
    stops=st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 6), st.booleans(),
                             st.none() | st.integers(30, 50)), min_size=1, max_size=25),
    runs=st.lists(st.tuples(st.integers(25, 55), st.integers(25, 55)), min_size=1, max_size=6),
)
def test_references_in_any_order(stops: list[tuple[int, int, bool, int | None]],
                                 runs: list[tuple[int, int]]) -> None:
    """Stops filed with references in no particular order (a restore files them by order id,
    a bracket child may be activated late) behave as the naive scan says."""
    index = StopIndex()
    naive = _Naive()
    for i, (side, trail, by_pct, ref) in enumerate(stops):
        o = _stop(side, trail, Decimal(trail) / 2 if by_pct else None)
        assert o.stop is not None
        o.oid = i + 1
        o.stop.ref = ref
        index.add(o, 40)
        naive.add(o, 40 if ref is None else ref)
    for first, last in runs:
        step = 1 if last >= first else -1
        expected = naive.prints(list(range(first, last + step, step)))
        if index:
            index.on_run(first, last)
        got = {}
        while index.pending:
            _, o = heappop(index.pending)
            assert o.stop is not None
            got[o.oid] = o.stop.fired
            o.stop = None
        assert got == expected
        waiting = [(o.oid, o.stop.ref, o.stop.level) for o in index.waiting() if o.stop is not None]
        assert waiting == naive.waiting()


def test_compaction_keeps_the_index_small() -> None:
    """Cancelled stops are dropped in bulk once as many stops were filed as were live."""
    index = StopIndex()
    for i in range(5_000):
        o = _stop(SELL if i % 2 else BUY, 5, None if i % 3 else Decimal("1.5"))
        o.oid = i + 1
        index.add(o, 100)
        o.qty = 0
    sizes = sum(len(g.amounts) + len(g.pcts) for t in (index.trail_sells, index.trail_buys)
                for g in t.stack)
    assert sizes <= 1025
    assert not index.waiting()
