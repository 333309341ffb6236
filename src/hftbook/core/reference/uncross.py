"""The call auction's uncross in the reference exchange: what a resume does to a crossed book
(``docs/PROTOCOL.md``, "Call auction", "The uncross").

``uncross`` runs right after a ``resumed`` event (manual, scheduled or the end of a volatility
halt), when the symbol's book is crossed or its call holds market orders, in *rounds*. A round
takes the participants as they are now (``auction.participants``), picks the price by the rules
(``auction.auction_price``, STP ignored) and walks the two sides' marketable orders (a market
order, or a limit at least as good as the price) front to front in priority order. At each
step the two front orders either trade (a fill of the smaller of their open quantities) or, if
they belong to one user and the later accepted one (the higher ``order_id``, the *taker*) has
an ``stp`` other than ``none``, its STP acts instead against the earlier one (the *maker*):

- ``cancel_taker``: the taker is cancelled (``stp``, its whole open quantity);
- ``cancel_maker``: the maker is cancelled;
- ``cancel_both``: the maker, then the taker;
- ``decrement``: both lose the smaller of their whole open quantities, maker's event first:
  ``modified`` (``stp``, the whole open quantity left), or ``cancelled`` (``stp``, ``remaining``
  what it lost) at zero.

The walk goes on until one side has no marketable order left. If STP acted in the round,
another round follows on what is left (with a new price); the rounds end with a round in which
no STP acted, or with nothing to trade. Then the held market orders with quantity left are
``cancelled`` ``no_liquidity``, by ``order_id``.

Invariants:

- Every fill is a ``trade`` at the round's price with ``"auction": true``: ``maker`` the earlier
  accepted order, ``taker`` the later, ``side`` the taker's. Each print reaches the circuit
  breaker's tape and the waiting stops at once (``ReferenceState.record_print``), so the last
  trade price ends at the last round's price; the breaker's band and market protection play no
  part in an uncross.
- A fill takes an iceberg's hidden quantity first, then its visible slice; an STP decrement
  does the same. Nothing refills and nothing moves in its queue: a resting order partly filled
  or decremented keeps its ``seq``, so no order joins the book here (no ``rests``).
- Both orders of a fill add it to ``filled``; an order that reaches zero (or is cancelled)
  leaves the book or the held orders at once.
- Each round strictly lowers the open quantity of the symbol (a trade or an STP action per
  step), so the rounds end; after the last one the book is not crossed and nothing is held.
- Nothing here settles contingent effects or releases stops: the resume does that next
  (``session_commands``).

Only the standard library is used.
"""

from __future__ import annotations

from .auction import auction_price, participants, reference_of
from .model import Order
from .state import ReferenceState

__all__ = ["uncross"]


def uncross(state: ReferenceState, symbol: str) -> None:
    """The rounds of the symbol's uncross, then the cancel of the held market remainders."""
    bids, asks = participants(state, symbol)
    held = any(o.symbol == symbol for o in state.held)
    crossed = any(
        b.price is not None and a.price is not None and b.price >= a.price for b in bids for a in asks
    )
    if not (crossed or held):
        return
    while True:
        bids, asks = participants(state, symbol)
        found = auction_price(
            [(o.price, o.total()) for o in bids],
            [(o.price, o.total()) for o in asks],
            reference_of(state, symbol),
        )
        if found is None:
            break
        price = found[0]
        if not _round(state, _marketable(bids, price, "buy"), _marketable(asks, price, "sell"), price):
            break
    left = sorted((o for o in state.held if o.symbol == symbol), key=lambda o: o.order_id)
    state.cancel_each(left, "no_liquidity")


def _marketable(side: list[Order], price: int, name: str) -> list[Order]:
    """The orders of a side (in priority order) that would trade at ``price``."""
    if name == "buy":
        return [o for o in side if o.price is None or o.price >= price]
    return [o for o in side if o.price is None or o.price <= price]


def _round(state: ReferenceState, buys: list[Order], sells: list[Order], price: int) -> bool:
    """One round at ``price``, front to front; whether STP acted in it."""
    acted = False
    i = j = 0
    while i < len(buys) and j < len(sells):
        b, s = buys[i], sells[j]
        maker, taker = (b, s) if b.order_id < s.order_id else (s, b)
        if b.user == s.user and taker.stp != "none":
            acted = True
            _stp(state, maker, taker)
        else:
            q = min(b.total(), s.total())
            for o in (b, s):
                _take(o, q)
                o.filled += q
                if o.total() == 0:
                    state.remove(o)
            state.events.trade(maker, taker, q, auction=price)
            state.record_print(taker.symbol, price)
        # An order filled, cancelled or decremented to zero is gone: the next one steps up.
        if not _live(state, b):
            i += 1
        if not _live(state, s):
            j += 1
    return acted


def _live(state: ReferenceState, order: Order) -> bool:
    return any(o is order for o in state.book.live) or any(o is order for o in state.held)


def _take(order: Order, qty: int) -> None:
    """Take ``qty`` off an order's open quantity: an iceberg's hidden part first, then its slice."""
    if order.ice is not None:
        hidden = min(qty, order.ice.hidden)
        order.ice.hidden -= hidden
        qty -= hidden
    order.open -= qty


def _stp(state: ReferenceState, maker: Order, taker: Order) -> None:
    """The taker's STP against the maker, in place of their fill."""
    mode = taker.stp
    if mode == "cancel_taker":
        state.cancel_each([taker], "stp")
    elif mode == "cancel_maker":
        state.cancel_each([maker], "stp")
    elif mode == "cancel_both":
        state.cancel_each([maker, taker], "stp")
    else:  # decrement
        d = min(maker.total(), taker.total())
        for o in (maker, taker):
            _take(o, d)
            if o.total() > 0:
                state.events.modified(o, "stp", auction=True)
            else:
                state.remove(o)
                state.events.cancelled(o, "stp", d)
