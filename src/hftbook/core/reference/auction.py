"""The call auction's price in the reference exchange, by brute force (``docs/PROTOCOL.md``, "Call
auction: orders collected in a halt, one price at the resume").

Who takes part in a symbol's uncross: every order resting in its book (whatever its tif or
post-only flag; an iceberg with its whole open quantity, visible plus hidden) and every market
order its call holds (``ReferenceState.held``). ``participants`` lists each side in priority
order: held market orders first, by ``order_id``; then limit orders by price, best first;
within a price, queue order (``seq``).

The price (``auction_price``) is found the plainest way: every candidate is evaluated in full,
and the rules are applied one after the other as filters, as the protocol words them. For a
price p, B(p) is the market buys plus the limit buys at >= p, S(p) the market sells plus the
limit sells at <= p; the volume at p is min(B, S) and the surplus B - S. The candidates are
every limit price on either side, plus the reference price when it lies strictly between the
lowest and highest limit price, or the reference alone when there is no limit price. Of the
candidates with a volume > 0:

1. the largest volume;
2. then the smallest |surplus|;
3. then (with a reference) the closest to the reference;
4. then market pressure: if every remaining candidate has B > S the highest, if every one has
   B < S the lowest, otherwise the midpoint of the lowest and the highest, rounded down to a
   whole tick.

No candidate with volume > 0: nothing would trade (None).

The reference (``reference_of``) is the symbol's last trade price; before the first trade the
instrument's ``reference_price`` setting; else none.

Invariants:

- Everything here is read-only: nothing changes the state or writes an event.
- ``auction_price`` returns the price with the volume and the surplus *at that price* (B and S
  recomputed there: rule 4's midpoint need not be a candidate), so volume > 0 whenever it is
  not None; it ignores who owns the orders (STP is the uncross's business).
- ``indicative_of`` is what a call shows: ``auction_price`` of the symbol's participants now,
  or ``NOTHING`` (price None, volume and surplus 0) when nothing would trade.

Only the standard library is used.
"""

from __future__ import annotations

from .model import NOTHING, Indicative, Order
from .state import ReferenceState

__all__ = ["auction_price", "indicative_of", "participants", "reference_of"]

Side = list[tuple[int | None, int]]  # (limit price in ticks, or None for market; open qty in lots)


def participants(state: ReferenceState, symbol: str) -> tuple[list[Order], list[Order]]:
    """The symbol's buy and sell orders that take part in its uncross, each side in priority order."""

    def side(name: str) -> list[Order]:
        held = sorted((o for o in state.held if o.symbol == symbol and o.side == name),
                      key=lambda o: o.order_id)  # fmt: skip
        resting = sorted((o for o in state.book.live if o.symbol == symbol and o.side == name),
                         key=state.book.priority_key)  # fmt: skip
        return held + resting

    return side("buy"), side("sell")


def reference_of(state: ReferenceState, symbol: str) -> int | None:
    """The last trade price, else the ``reference_price`` setting, else None (ticks)."""
    last = state.stops.last.get(symbol)
    if last is not None:
        return int(last)
    return state.instruments[symbol].risk.reference_price


def _buy_qty(bids: Side, p: int) -> int:
    return sum(q for price, q in bids if price is None or price >= p)


def _sell_qty(asks: Side, p: int) -> int:
    return sum(q for price, q in asks if price is None or price <= p)


def auction_price(bids: Side, asks: Side, reference: int | None) -> tuple[int, int, int] | None:
    """(price, volume, surplus) by rules 1-4, or None when no candidate trades anything."""
    limits = sorted({p for p, _ in bids + asks if p is not None})
    candidates = list(limits)
    if reference is not None:
        if not limits:
            candidates = [reference]
        elif limits[0] < reference < limits[-1] and reference not in limits:
            candidates.append(reference)
    # (price, B, S) of every candidate that would trade something.
    scored = [(p, _buy_qty(bids, p), _sell_qty(asks, p)) for p in candidates]
    tied = [c for c in scored if min(c[1], c[2]) > 0]
    if not tied:
        return None
    best_volume = max(min(b, s) for _, b, s in tied)  # rule 1
    tied = [c for c in tied if min(c[1], c[2]) == best_volume]
    best_surplus = min(abs(b - s) for _, b, s in tied)  # rule 2
    tied = [c for c in tied if abs(c[1] - c[2]) == best_surplus]
    if reference is not None:  # rule 3
        ref = reference
        nearest = min(abs(p - ref) for p, _, _ in tied)
        tied = [c for c in tied if abs(c[0] - ref) == nearest]
    prices = [p for p, _, _ in tied]
    if len(tied) == 1:
        price = prices[0]
    elif all(b > s for _, b, s in tied):  # rule 4: buyers left over everywhere
        price = max(prices)
    elif all(b < s for _, b, s in tied):  # sellers left over everywhere
        price = min(prices)
    else:
        price = (min(prices) + max(prices)) // 2
    b = _buy_qty(bids, price)
    s = _sell_qty(asks, price)
    return (price, min(b, s), b - s)


def indicative_of(state: ReferenceState, symbol: str) -> Indicative:
    """What the uncross of ``symbol`` would do now, STP ignored (``NOTHING``: no trade)."""
    bids, asks = participants(state, symbol)
    found = auction_price(
        [(o.price, o.total()) for o in bids],
        [(o.price, o.total()) for o in asks],
        reference_of(state, symbol),
    )
    return NOTHING if found is None else found
