"""The naive book: every resting order of every symbol in one plain list.

``NaiveBook`` answers every question ("who is the best maker?", "is this id resting?") with
a linear scan over that list (waiting stops are live orders too, but not here: the questions
about all live orders are ``ReferenceState``'s). Nothing is indexed, cached or
incrementally maintained, so there is nothing to get out of sync. It writes no events;
matching and STP live in ``matching``, which uses it.

Invariants:

- ``live`` holds exactly the resting limit orders (released stops that rested included), in
  no meaningful order; each has ``open > 0``, an integer ``price`` in ticks and a ``seq``
  that no other order shares. An iceberg is one entry: ``open`` is its visible slice and
  its hidden quantity is in ``ice.hidden`` (never matched or shown directly).
- Priority on a side is (best price first, then lowest ``seq``). A taker with a circuit
  breaker band (``Order.band``) reaches the makers within its own limit in that order up to,
  not including, the first one outside the band, on either side of it: it never skips one.
  ``rest`` gives an order a fresh ``seq`` each time it joins the back of a level; the
  caller decides when that is (on arrival, on release of a stop, or on a modify that
  changes the price or raises the quantity). ``rest`` takes an order holding its whole
  open quantity in ``open`` and shows an iceberg's first slice; ``requeue`` moves an
  iceberg whose slice was just refilled to the back of its level (a new queue entry, behind
  every order already there).
- ``levels_view`` and everything built on it (``book``, ``metrics``) see visible slices
  only; an iceberg counts as one order. ``iceberg_view`` is the only view of hidden parts.
- At most one live order has a given (user, id); ids of different types never match
  (``1`` is not ``"1"``, and never ``True``).
- Every list handed out is a new list: callers may remove orders while walking it.

Only the standard library is used.
"""

from __future__ import annotations

from .iceberg import show_first_slice
from .model import Level, Order

__all__ = ["NaiveBook"]


class NaiveBook:
    """All resting orders of the exchange, searched by linear scans."""

    def __init__(self) -> None:
        self.live: list[Order] = []  # every resting order of every symbol, in no order
        self._next_seq = 1

    @staticmethod
    def priority_key(order: Order) -> tuple[int, int]:
        assert order.price is not None
        price_rank = -order.price if order.side == "buy" else order.price
        return (price_rank, order.seq)

    # -- changes ------------------------------------------------------------------------

    def rest(self, order: Order) -> None:
        """Put ``order`` (its whole open quantity in ``open``) at the back of its level, with a
        fresh time priority; an iceberg shows its first slice and hides the rest."""
        show_first_slice(order)
        order.seq = self._next_seq
        self._next_seq += 1
        self.live.append(order)

    def requeue(self, order: Order) -> None:
        """A resting iceberg's slice was refilled: it joins the back of its level again."""
        order.seq = self._next_seq
        self._next_seq += 1

    def remove(self, order: Order) -> None:
        self.live = [o for o in self.live if o is not order]

    # -- questions ----------------------------------------------------------------------

    def find_live(self, user: str, oid: str | int) -> Order | None:
        for o in self.live:
            # ``1 == True`` in Python; ids are never bools here, but compare types anyway.
            if o.user == user and type(o.id) is type(oid) and o.id == oid:
                return o
        return None

    def has_orders_against(self, symbol: str, side: str) -> bool:
        """Whether anything rests on ``symbol`` on the side opposite to ``side``."""
        return any(o.symbol == symbol and o.side != side for o in self.live)

    def makers_for(self, taker: Order) -> list[Order]:
        """Resting orders the taker may reach, in the order it would reach them: those within its
        own limit and, while it has a circuit breaker band, only up to the first maker (in that
        order) whose price is outside the band."""
        makers = self.within_limit_of(taker)
        band = taker.band
        if band is None:
            return makers
        reach: list[Order] = []
        for o in makers:
            assert o.price is not None
            if not band.holds(o.price):
                break  # price priority: the walk stops here, it never skips to a later maker
            reach.append(o)
        return reach

    def within_limit_of(self, taker: Order) -> list[Order]:
        """Resting orders on the taker's opposite side within its own limit, in priority order
        (the band left aside)."""
        opposite = "sell" if taker.side == "buy" else "buy"
        makers = [
            o
            for o in self.live
            if o.symbol == taker.symbol
            and o.side == opposite
            and o.price is not None
            and taker.crosses(o.price)
        ]
        makers.sort(key=self.priority_key)
        return makers

    # -- introspection ------------------------------------------------------------------

    def levels_view(self, symbol: str, is_bid: bool) -> list[Level]:
        """One side of a book, best level first, in the fast engine's introspection shape:
        (price_ticks, total_lots, order_count, [(order_id, open_lots), ...] in FIFO order)."""
        side = "buy" if is_bid else "sell"
        orders = sorted(
            (o for o in self.live if o.symbol == symbol and o.side == side),
            key=self.priority_key,
        )
        levels: list[Level] = []
        for o in orders:
            assert o.price is not None
            if not levels or levels[-1][0] != o.price:
                levels.append((o.price, 0, 0, []))
            price, total, count, members = levels[-1]
            members.append((o.order_id, o.open))
            levels[-1] = (price, total + o.open, count + 1, members)
        return levels

    def iceberg_view(self) -> dict[int, tuple[int, int, int, int]]:
        """order_id -> (display, variance, hidden lots, generator state) per resting iceberg."""
        return {
            o.order_id: (o.ice.display, o.ice.variance, o.ice.hidden, o.ice.rng)
            for o in self.live
            if o.ice is not None
        }

    def live_order_prices(self) -> dict[int, int]:
        """order_id -> resting price in ticks, for every live order."""
        return {o.order_id: o.price for o in self.live if o.price is not None}
