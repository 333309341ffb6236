"""Property tests of the call-auction uncross against a brute force written from the rules.

The brute force prices every candidate by summing over all orders (no sorting, no prefix
sums, no bisection) and applies rules 1-4 as literal filters; it allocates by repeatedly
scanning for the best remaining buy and sell marketable at the price. On random small books
(narrow price ranges, so many equal prices and ties; market orders on either side or both;
duplicate time priorities; with and without a reference) the engine's price, volume, surplus,
fills and remainders must be equal, and:

- the volume is the largest over every tick of a range covering all prices, not only over the
  candidates; with a reference, rule 3 never ties (the module docstring's claim);
- total buy fills == total sell fills == volume; no order fills more than its qty; every order
  that trades is marketable at the price; each side fills in priority order with at most one
  partial fill, on the surplus side;
- after the uncross the book is not crossed: best remaining limit bid < best remaining limit
  ask, and no market order remains while the other side has anything left;
- allocation at any price (not only the auction's) equals the naive simulation;
- the price depends on the multiset of orders only (input order is irrelevant), and with a
  reference the result is mirror-symmetric (swap sides, reflect prices).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hftbook.core.auction import Allocation, Fill, Uncross, allocate, uncross, uncross_price

Order = tuple[int, int | None, int, int]

_THIRD = settings(max_examples=max(1, settings().max_examples // 3))


# -- the brute force ---------------------------------------------------------------------


def marketable(o: Order, is_buy: bool, p: int) -> bool:
    price = o[1]
    return price is None or (price >= p if is_buy else price <= p)


def buy_at(bids: list[Order], p: int) -> int:
    return sum(o[2] for o in bids if marketable(o, True, p))


def sell_at(asks: list[Order], p: int) -> int:
    return sum(o[2] for o in asks if marketable(o, False, p))


def brute_price(bids: list[Order], asks: list[Order], ref: int | None) -> Uncross | None:
    limits = [o[1] for o in bids + asks if o[1] is not None]
    if limits:
        cands = set(limits)
        if ref is not None and min(limits) <= ref <= max(limits):
            cands.add(ref)
    else:
        cands = set() if ref is None else {ref}
    scored = []
    for p in sorted(cands):
        b, s = buy_at(bids, p), sell_at(asks, p)
        if min(b, s) > 0:
            scored.append((p, min(b, s), b - s))
    if not scored:
        return None
    top = max(v for _, v, _ in scored)
    scored = [c for c in scored if c[1] == top]  # rule 1
    low = min(abs(d) for _, _, d in scored)
    scored = [c for c in scored if abs(c[2]) == low]  # rule 2
    if ref is not None:  # rule 3
        near = min(abs(p - ref) for p, _, _ in scored)
        scored = [c for c in scored if abs(c[0] - ref) == near]
        assert len(scored) == 1, "rule 3 tied with a reference"
    if len(scored) == 1:
        price = scored[0][0]
    elif all(d > 0 for _, _, d in scored):  # rule 4
        price = max(p for p, _, _ in scored)
    elif all(d < 0 for _, _, d in scored):
        price = min(p for p, _, _ in scored)
    else:
        price = (min(p for p, _, _ in scored) + max(p for p, _, _ in scored)) // 2
    b, s = buy_at(bids, price), sell_at(asks, price)
    return Uncross(price, min(b, s), b - s)


def better(a: tuple[int, Order], b: tuple[int, Order], is_buy: bool) -> bool:
    """Does (input index, order) `a` have priority over `b`? Written out, not as a sort key."""
    (ia, oa), (ib, ob) = a, b
    pa, pb = oa[1], ob[1]
    if (pa is None) != (pb is None):
        return pa is None
    if pa is not None and pb is not None and pa != pb:
        return pa > pb if is_buy else pa < pb
    if oa[3] != ob[3]:
        return oa[3] < ob[3]
    return ia < ib


def brute_allocate(bids: list[Order], asks: list[Order], p: int) -> tuple[list[Fill], dict[int, int]]:
    left = {o[0]: o[2] for o in bids + asks}

    def best(side: list[Order], is_buy: bool) -> Order | None:
        found: tuple[int, Order] | None = None
        for i, o in enumerate(side):
            if left[o[0]] and marketable(o, is_buy, p) and (found is None or better((i, o), found, is_buy)):
                found = (i, o)
        return None if found is None else found[1]

    fills: list[Fill] = []
    while True:
        b, s = best(bids, True), best(asks, False)
        if b is None or s is None:
            return fills, left
        q = min(left[b[0]], left[s[0]])
        fills.append(Fill(b[0], s[0], q))
        left[b[0]] -= q
        left[s[0]] -= q


# -- strategies ----------------------------------------------------------------------------


@st.composite
def books(draw: st.DrawFn) -> tuple[list[Order], list[Order], int | None]:
    top = draw(st.sampled_from([2, 5, 12, 30]))
    markets = draw(st.sampled_from(["none", "some", "many"]))
    limit = st.integers(1, top)
    price: st.SearchStrategy[int | None] = (
        limit if markets == "none"
        else st.one_of(limit, st.none()) if markets == "some"
        else st.one_of(st.none(), st.none(), limit)
    )
    seq = st.integers(0, 15)  # duplicates on purpose: equal seq keeps input order
    order = st.tuples(price, st.integers(1, draw(st.sampled_from([1, 3, 10]))), seq)
    raw_bids = draw(st.lists(order, max_size=8))
    raw_asks = draw(st.lists(order, max_size=8))
    bids = [(1 + i, p, q, s) for i, (p, q, s) in enumerate(raw_bids)]
    asks = [(101 + i, p, q, s) for i, (p, q, s) in enumerate(raw_asks)]
    ref = draw(st.one_of(st.none(), st.integers(1, top + 3)))
    return bids, asks, ref


# -- properties ----------------------------------------------------------------------------


def check_allocation(bids: list[Order], asks: list[Order], u: Uncross, a: Allocation) -> None:
    p = u.price
    assert a.price == p and a.volume == u.volume
    bought: dict[int, int] = {}
    sold: dict[int, int] = {}
    for f in a.fills:
        assert f.qty > 0
        bought[f.buy] = bought.get(f.buy, 0) + f.qty
        sold[f.sell] = sold.get(f.sell, 0) + f.qty
    assert sum(bought.values()) == sum(sold.values()) == u.volume
    for side, is_buy, got, rows in ((bids, True, bought, a.bids), (asks, False, sold, a.asks)):
        qty = {o[0]: o[2] for o in side}
        assert sorted(oid for oid, _ in rows) == sorted(qty)  # every order reported once
        for oid, left in rows:
            assert 0 <= left == qty[oid] - got.get(oid, 0)
        for o in side:
            if got.get(o[0]):
                assert marketable(o, is_buy, p)
        # Priority order: fills then partial then untouched, so at most one partial, and the
        # side without the surplus fills its marketable orders in full.
        state = [0 if left == 0 else 1 if left < qty[oid] else 2 for oid, left in rows]
        assert state == sorted(state) and state.count(1) <= 1
        surplus_side = u.surplus > 0 if is_buy else u.surplus < 0
        if not surplus_side:
            remaining = dict(rows)
            assert all(remaining[o[0]] == 0 for o in side if marketable(o, is_buy, p))

    # The remaining book is not crossed.
    rest_b = [o for o in bids if dict(a.bids)[o[0]]]
    rest_a = [o for o in asks if dict(a.asks)[o[0]]]
    lim_b = [o[1] for o in rest_b if o[1] is not None]
    lim_a = [o[1] for o in rest_a if o[1] is not None]
    if lim_b and lim_a:
        assert max(lim_b) < min(lim_a)
    if any(o[1] is None for o in rest_b):
        assert not rest_a
    if any(o[1] is None for o in rest_a):
        assert not rest_b
    # Only the surplus side keeps orders marketable at the price.
    if u.surplus <= 0:
        assert not any(marketable(o, True, p) for o in rest_b)
    if u.surplus >= 0:
        assert not any(marketable(o, False, p) for o in rest_a)


@given(books())
def test_equals_brute_force(book: tuple[list[Order], list[Order], int | None]) -> None:
    bids, asks, ref = book
    u = uncross_price(bids, asks, ref)
    assert u == brute_price(bids, asks, ref)
    a = uncross(bids, asks, ref)
    if u is None:
        assert a is None
        # No trade: either nothing crosses at any tick, or only market orders face each other
        # and there is no reference to price them.
        limits = [o[1] for o in bids + asks if o[1] is not None]
        if limits or ref is not None:
            assert all(min(buy_at(bids, p), sell_at(asks, p)) == 0 for p in range(1, 40))
        return
    assert a is not None
    fills, left = brute_allocate(bids, asks, u.price)
    assert a.fills == fills
    assert dict(a.bids + a.asks) == left
    check_allocation(bids, asks, u, a)
    # Candidates are enough: no tick anywhere trades more.
    assert u.volume == max(min(buy_at(bids, p), sell_at(asks, p)) for p in range(1, 40))
    limits = [o[1] for o in bids + asks if o[1] is not None]
    if limits:
        assert min(limits) <= u.price <= max(limits)
    else:
        assert u.price == ref


@_THIRD
@given(books(), st.integers(1, 35))
def test_allocation_at_any_price_equals_brute_force(
    book: tuple[list[Order], list[Order], int | None], price: int
) -> None:
    """Indicative prices too: whatever the price, exactly what is marketable there is matched."""
    bids, asks, _ = book
    a = allocate(bids, asks, price)
    fills, left = brute_allocate(bids, asks, price)
    assert a.fills == fills
    assert dict(a.bids + a.asks) == left
    assert a.volume == min(buy_at(bids, price), sell_at(asks, price))


@_THIRD
@given(books(), st.data())
def test_price_ignores_input_order(
    book: tuple[list[Order], list[Order], int | None], data: st.DataObject
) -> None:
    bids, asks, ref = book
    shuffled_b = data.draw(st.permutations(bids))
    shuffled_a = data.draw(st.permutations(asks))
    assert uncross_price(shuffled_b, shuffled_a, ref) == uncross_price(bids, asks, ref)
    # With distinct time priorities the whole allocation is independent of input order too.
    if len({o[3] for o in bids}) == len(bids) and len({o[3] for o in asks}) == len(asks):
        assert uncross(shuffled_b, shuffled_a, ref) == uncross(bids, asks, ref)


@_THIRD
@given(books())
def test_mirror_symmetry_with_a_reference(book: tuple[list[Order], list[Order], int | None]) -> None:
    """Swap the sides and reflect prices around K: with a reference, nothing favours a side."""
    bids, asks, ref = book
    if ref is None:
        ref = 7
    k = 100

    def flip(side: list[Order]) -> list[Order]:
        return [(oid, None if p is None else k - p, q, s) for oid, p, q, s in side]

    u = uncross_price(bids, asks, ref)
    m = uncross_price(flip(asks), flip(bids), k - ref)
    if u is None:
        assert m is None
    else:
        assert m == Uncross(k - u.price, u.volume, -u.surplus)


def test_large_book_is_not_quadratic() -> None:
    # 60,000 orders over 3,000 prices: quadratic would take minutes, this takes well under a second.
    bids = [(i, 1000 + i % 3000, 1 + i % 7, i) for i in range(30_000)]
    asks = [(100_000 + i, 500 + (i * 7) % 3000, 1 + i % 5, i) for i in range(30_000)]
    a = uncross(bids, asks, 2000)
    assert a is not None and a.volume > 0
