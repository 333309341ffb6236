"""The call-auction uncross: one price for a batch of collected orders, then who trades with whom.

Pure functions of plain data (stdlib only, no I/O, no clock, no hash-ordered output), meant for
reopening a halted symbol: the orders collected while halted, plus the book that rested
through the halt, go in; the auction price, the fills at that price and every order's
remaining quantity come out. The caller turns fills into trades, rests the limit remainders in
the order given (their time priority survives) and cancels market remainders.

Input. Each side is a sequence of `(oid, price, qty, seq)` tuples (`AuctionOrder` names them):
price in ticks, or None for a market order (no price: it accepts any); qty in lots, > 0; seq is
time priority, smaller first. Priority on a side: market orders first, then better limits
(higher bids, lower asks), then smaller seq; equal seq keeps the input order (stable sort), so
the input need not be sorted. The reference price (ticks, or None) is normally the last trade.

Price. For a price p let B(p) = market buys + limit buys with price >= p and S(p) = market
sells + limit sells with price <= p (what would trade at p); volume(p) = min(B, S) and the
surplus is B - S (> 0: buyers left over). The candidates are every limit price on either side,
plus the reference price if it lies between the lowest and highest limit price, or the
reference price alone if there are no limit prices. Among the candidates with volume > 0:

1. the largest volume;
2. then the smallest |surplus|;
3. then the closest to the reference price;
4. then, only reachable without a reference (see below), market pressure: if every remaining
   candidate leaves buyers over take the highest, if every one leaves sellers over take the
   lowest, otherwise (no surplus, or it changes side) the midpoint of the lowest and highest,
   rounded down to a tick.

No candidate with volume > 0 (a side empty, nothing crosses, or only market orders on both
sides with no reference to price them) means no auction: None, nothing trades.

Why these candidates: between two adjacent limit prices B and S are constant, and a price
strictly inside that gap has B of the gap's top and S of its bottom, so its volume is at most
either end's: a limit price always reaches the maximum volume, and prints stay at prices some
order named. The reference joins because a gap price can leave a smaller surplus than both
ends (market orders on both sides, limits just outside), and when the equilibrium range spans
the last traded price, trading there is the least surprising choice (Xetra and Euronext also
fall back on the reference price inside the range of candidate limits). It is bounded by the
limit prices so a stale reference cannot print outside every price named by an order.

Why rule 3 never ties when there is a reference: B is non-increasing and S non-decreasing in
p. If candidates a < b are both optimal under rules 1-2 (volume V, |surplus| m) and equally
close to the reference r, then a < r < b, so r is a candidate too, and at r:
B(r) >= B(b) >= V and S(r) >= S(a) >= V, so volume(r) >= V (= V, the maximum, as r is a
candidate), and the surplus at r lies between the surplus at b and at a, both +-m, so
|surplus(r)| <= m: r is optimal and at distance 0. If r lies outside the limit prices, all
candidates are on one side of it and no two are equally close. So rule 4 only decides
auctions with no reference (before the first trade).

Why rule 4 is market pressure then the midpoint: buyers left over at every tied price means
demand would bid the price up, so the highest; sellers left over, the lowest (the usual
pressure rule). Otherwise the tie is an interval where demand meets supply and neither side
should get all the price improvement, so its middle; rounding down is just a fixed choice.
The midpoint may not be a limit price, but by the argument above every price between two
optimal candidates trades the maximum volume with no larger surplus, so it is never worse on
rules 1-2 (it may be strictly better on rule 2: the reported surplus is the one at the price).

Allocation at price P: on each side the orders marketable at P (market, or limit at least as
good as P) are a prefix of the priority order; the two prefixes are matched front to front,
each fill the smaller of the two front remainders, until one prefix is used up. So exactly
min(B(P), S(P)) trades, every order that trades is marketable at P, each side fills in
priority order, the side without the surplus fills all its marketable orders in full, and on
the surplus side only the last order reached may be partly filled.

Invariants after an uncross at the chosen price: the remaining limit bids are all below the
remaining limit asks; a side keeps a market remainder only if the other side has nothing left;
only the surplus side keeps orders marketable at P. Why: every filled order ranks before every
remaining one on its side, so if a remaining bid (limit b, or market) and a remaining ask
(limit a, or market) would trade with each other, the price a (or b) would be a candidate where
everything filled plus both remainders trades: more volume than P, which is impossible. (Both
cannot be market orders: one side's marketable prefix is always used up.)

Cost: O(n + L log L) for the price (L distinct limit prices), O(n log n) for the allocation
(the priority sort), then linear; no quadratic scan.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple

OrderLike = tuple[int, int | None, int, int]
"""(oid, price in ticks or None for market, qty in lots, seq): what every function takes."""


class AuctionOrder(NamedTuple):
    """One order in the auction, by name; any plain tuple of the same shape works too."""

    oid: int
    price: int | None  # limit price in ticks; None: a market order
    qty: int  # open quantity in lots, > 0
    seq: int  # time priority: smaller is earlier


class Uncross(NamedTuple):
    """The auction price and what it trades: volume = min(buy qty, sell qty) at `price`."""

    price: int
    volume: int
    surplus: int  # buy qty - sell qty marketable at `price`: > 0 buyers over, < 0 sellers over


class Fill(NamedTuple):
    buy: int  # the buy order's oid
    sell: int  # the sell order's oid
    qty: int


class Allocation(NamedTuple):
    """The fills at `price` and every order's remaining quantity, each side in priority order."""

    price: int
    volume: int
    fills: list[Fill]
    bids: list[tuple[int, int]]  # (oid, remaining qty), including 0 for orders filled in full
    asks: list[tuple[int, int]]


def _check(orders: Sequence[OrderLike]) -> None:
    for oid, price, qty, _seq in orders:
        if qty <= 0:
            raise ValueError(f"order {oid}: qty must be a positive number of lots, not {qty}")
        if price is not None and price <= 0:
            raise ValueError(f"order {oid}: price must be None (market) or positive ticks, not {price}")


def _ladder(orders: Sequence[OrderLike]) -> tuple[int, list[int], list[int]]:
    """(market qty, the distinct limit prices ascending, the total qty at each)."""
    market = 0
    at: dict[int, int] = {}
    for _oid, price, qty, _seq in orders:
        if price is None:
            market += qty
        else:
            at[price] = at.get(price, 0) + qty
    prices = sorted(at)  # sorted: nothing below depends on the dict's order
    return market, prices, [at[p] for p in prices]


def uncross_price(
    bids: Sequence[OrderLike], asks: Sequence[OrderLike], reference: int | None = None
) -> Uncross | None:
    """The auction price by the module's rules 1-4, or None when nothing would trade."""
    _check(bids)
    _check(asks)
    if reference is not None and reference <= 0:
        raise ValueError(f"reference must be None or positive ticks, not {reference}")
    mkt_buy, bid_px, bid_qty = _ladder(bids)
    mkt_sell, ask_px, ask_qty = _ladder(asks)
    # B(p) = mkt_buy + bid_tail[first bid index with price >= p]; S(p) likewise with a head sum.
    bid_tail = list(accumulate(reversed(bid_qty), initial=0))[::-1]
    ask_head = list(accumulate(ask_qty, initial=0))

    def buy_qty(p: int) -> int:
        return mkt_buy + bid_tail[bisect_left(bid_px, p)]

    def sell_qty(p: int) -> int:
        return mkt_sell + ask_head[bisect_right(ask_px, p)]

    candidates = sorted(set(bid_px).union(ask_px))
    if reference is not None:
        if not candidates:
            candidates = [reference]
        elif candidates[0] < reference < candidates[-1]:
            # Kept sorted: below, the optimal candidates come out lowest first.
            i = bisect_left(candidates, reference)
            if candidates[i] != reference:
                candidates.insert(i, reference)

    # Rules 1 and 2 in one pass: the candidates with the best (volume, -|surplus|), ascending.
    best_vol = 0
    best_imb = 0
    best: list[tuple[int, int]] = []  # (price, surplus)
    for p in candidates:
        b = buy_qty(p)
        s = sell_qty(p)
        vol = b if b < s else s
        if vol == 0 or vol < best_vol:
            continue
        imb = abs(b - s)
        if vol > best_vol or imb < best_imb:
            best_vol, best_imb, best = vol, imb, [(p, b - s)]
        elif imb == best_imb:
            best.append((p, b - s))
    if not best:
        return None

    tied = best
    if reference is not None and len(tied) > 1:  # rule 3
        dist = min(abs(p - reference) for p, _ in tied)
        tied = [c for c in tied if abs(c[0] - reference) == dist]
    if len(tied) == 1:
        price = tied[0][0]
    else:  # rule 4; the module docstring shows this only happens without a reference
        lo, lo_surplus = tied[0]
        hi, hi_surplus = tied[-1]
        # The surplus is non-increasing in price, so the ends decide "every one".
        if hi_surplus > 0:
            price = hi
        elif lo_surplus < 0:
            price = lo
        else:
            price = (lo + hi) // 2
    b = buy_qty(price)
    s = sell_qty(price)
    return Uncross(price, b if b < s else s, b - s)


def _bid_priority(o: OrderLike) -> tuple[int, int, int]:
    price = o[1]
    return (0, 0, o[3]) if price is None else (1, -price, o[3])


def _ask_priority(o: OrderLike) -> tuple[int, int, int]:
    price = o[1]
    return (0, 0, o[3]) if price is None else (1, price, o[3])


def allocate(bids: Sequence[OrderLike], asks: Sequence[OrderLike], price: int) -> Allocation:
    """Match the orders marketable at `price`, price then time priority, front to front.

    Any positive price works (an indicative one too); only at the `uncross_price` price does
    the remaining book come out uncrossed.
    """
    _check(bids)
    _check(asks)
    if price <= 0:
        raise ValueError(f"price must be positive ticks, not {price}")
    buys = sorted(bids, key=_bid_priority)
    sells = sorted(asks, key=_ask_priority)
    # Marketable orders are a prefix of the priority order: market first, then limits from best.
    nb = 0
    for o in buys:
        p = o[1]
        if p is not None and p < price:
            break
        nb += 1
    ns = 0
    for o in sells:
        p = o[1]
        if p is not None and p > price:
            break
        ns += 1

    buy_left = [o[2] for o in buys]
    sell_left = [o[2] for o in sells]
    fills: list[Fill] = []
    i = j = 0
    while i < nb and j < ns:
        q = buy_left[i] if buy_left[i] < sell_left[j] else sell_left[j]
        fills.append(Fill(buys[i][0], sells[j][0], q))
        buy_left[i] -= q
        sell_left[j] -= q
        if buy_left[i] == 0:
            i += 1
        if sell_left[j] == 0:
            j += 1
    return Allocation(
        price,
        sum(f.qty for f in fills),
        fills,
        [(o[0], left) for o, left in zip(buys, buy_left, strict=True)],
        [(o[0], left) for o, left in zip(sells, sell_left, strict=True)],
    )


def uncross(
    bids: Sequence[OrderLike], asks: Sequence[OrderLike], reference: int | None = None
) -> Allocation | None:
    """The whole auction: the price by `uncross_price`, then `allocate` at it; None: no trade."""
    u = uncross_price(bids, asks, reference)
    if u is None:
        return None
    a = allocate(bids, asks, u.price)
    assert a.volume == u.volume  # both are min(B, S) at the price
    return a
