"""Matching and self-trade prevention (STP) on the naive book, plus their dry runs.

A taker (an order not in the book) walks the makers it may reach, best price first, then
oldest first, re-reading the book with a full scan before every step. When the next maker
belongs to the taker's own user and the taker's ``stp`` is not ``none``:

- ``cancel_taker``: the taker is cancelled (reason ``stp``), the maker stays;
- ``cancel_maker``: the maker is cancelled and the walk goes on;
- ``cancel_both``: the maker, then the taker, are cancelled;
- ``decrement``: both lose the smaller of their quantities without a trade; each that
  reaches zero is cancelled, each that does not is reported ``modified`` (reason ``stp``).

Icebergs (contract rule 8): only a maker's visible slice is matchable. A trade or an STP
decrement that uses up the slice of an iceberg with hidden quantity left refills it at once
(``iceberg.refill``) and moves it to the back of its level, where the same taker may reach
it again; the trade says so in ``maker_refill``, the decrement's ``modified`` in ``refill``.
An STP cancel of an iceberg maker cancels all of it, visible and hidden.

Invariants:

- Every trade is at the maker's resting price and never through the taker's limit; a
  maker filled to zero (nothing hidden left) leaves the book at once, so the book is never
  crossed and no resting order has ``open == 0``.
- The dry runs (``fok_would_fill``, ``post_only_would_trade``) walk the makers in the
  order ``match`` would reach them, level by level, but change nothing and write no events.
  At a level they walk the visible slices in queue order; only when the walk gets past the
  whole level do the hidden parts count (they come back as refills behind that queue):
  the FOK check counts the hidden quantity of the icebergs the walk traded with there (all
  of them under ``none``; the other users' under ``cancel_maker``, whose self icebergs are
  cancelled), the post-only check under ``decrement`` shrinks the taker by the hidden
  quantity of its own icebergs there (``docs/PROTOCOL.md``, "Icebergs").
- ``match`` never rests the taker; its caller decides what happens to what is left. The
  taker holds its whole open quantity in ``open`` (an iceberg taker hides nothing).
- Every trade adds its quantity to both orders' ``filled``; nothing else changes ``filled``.
- ``match`` calls ``on_print(symbol, price)`` right after writing each ``trade`` event (and
  after the fill, and any refill, has been applied to both orders), before it looks at the
  next maker.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Callable

from .book import NaiveBook
from .events import EventLog
from .iceberg import refill
from .model import Order

__all__ = ["fok_would_fill", "match", "post_only_would_trade"]


def match(
    book: NaiveBook, events: EventLog, taker: Order, on_print: Callable[[str, int], None]
) -> bool:
    """Match ``taker`` (not in the book) against the book; report every trade's price.

    Returns False if STP cancelled the taker (its ``cancelled`` event is already written;
    this includes a decrement to zero), True otherwise: the taker is still alive, with
    ``open == 0`` if it was fully filled, or with what is left when no maker is in reach.
    """
    while taker.open > 0:
        makers = book.makers_for(taker)
        if not makers:
            return True
        maker = makers[0]
        if maker.user == taker.user and taker.stp != "none":
            if taker.stp == "cancel_taker":
                events.cancelled(taker, "stp", taker.total())
                taker.open = 0
                return False
            if taker.stp == "cancel_maker":
                book.remove(maker)
                events.cancelled(maker, "stp", maker.total())
                continue
            if taker.stp == "cancel_both":
                book.remove(maker)
                events.cancelled(maker, "stp", maker.total())
                events.cancelled(taker, "stp", taker.total())
                taker.open = 0
                return False
            # decrement, on the maker's visible slice only
            d = min(taker.open, maker.open)
            maker.open -= d
            taker.open -= d
            if maker.open > 0:
                events.modified(maker, "stp")
            elif (size := refill(maker)) > 0:
                book.requeue(maker)
                events.modified(maker, "stp", refill=size)
            else:
                book.remove(maker)
                events.cancelled(maker, "stp", d)
            if taker.open == 0:
                events.cancelled(taker, "stp", d)
                return False
            events.modified(taker, "stp")
            continue
        qty = min(taker.open, maker.open)
        maker.open -= qty
        taker.open -= qty
        maker.filled += qty
        taker.filled += qty
        size = refill(maker)  # 0 unless this used up an iceberg slice with more hidden
        if size > 0:
            book.requeue(maker)
        elif maker.open == 0:
            book.remove(maker)
        events.trade(maker, taker, qty, size if size > 0 else None)
        assert maker.price is not None
        on_print(maker.symbol, maker.price)
    return True


def _by_level(makers: list[Order]) -> list[list[Order]]:
    """Makers in priority order, cut into their price levels (best first, FIFO inside)."""
    levels: list[list[Order]] = []
    for m in makers:
        if levels and levels[-1][0].price == m.price:
            levels[-1].append(m)
        else:
            levels.append([m])
    return levels


def _hidden(level: list[Order]) -> int:
    return sum(m.ice.hidden for m in level if m.ice is not None)


def fok_would_fill(book: NaiveBook, taker: Order) -> bool:
    """Whether a fill-or-kill taker would be filled completely by trades.

    A self-match under ``cancel_taker``, ``cancel_both`` or ``decrement`` stops the walk, so
    the answer is then no; under ``cancel_maker`` the maker is skipped (and with it an
    iceberg's hidden part: the real walk cancels all of it).
    """
    need = taker.open
    for level in _by_level(book.makers_for(taker)):
        for maker in level:
            if need == 0:
                return True
            if maker.user == taker.user and taker.stp != "none":
                if taker.stp == "cancel_maker":
                    continue
                return False  # cancel_taker, cancel_both, decrement: the walk stops
            need -= min(need, maker.open)
        # Past the whole visible queue: the icebergs the walk traded with refill behind it.
        # Only cancel_maker gets here past a self maker (the other modes stop at it), and
        # then that self iceberg is gone; under none it trades like any other.
        traded = [m for m in level if m.user != taker.user or taker.stp == "none"]
        need -= min(need, _hidden(traded))
    return need == 0


def post_only_would_trade(book: NaiveBook, taker: Order) -> bool:
    """Whether ``taker``, sent as a plain order, would print at least one trade."""
    left = taker.open
    for level in _by_level(book.makers_for(taker)):
        for maker in level:
            if left == 0:
                return False
            if maker.user == taker.user and taker.stp != "none":
                if taker.stp == "cancel_maker":
                    continue
                if taker.stp == "decrement":
                    left -= min(left, maker.open)
                    continue
                return False  # cancel_taker, cancel_both: the walk stops with no trade
            return True
        # Past the whole level without a trade: every maker there was the taker's own, and
        # under decrement the refills of its own icebergs shrink the taker further.
        if taker.stp == "decrement":
            left -= min(left, _hidden([m for m in level if m.user == taker.user]))
    return False
