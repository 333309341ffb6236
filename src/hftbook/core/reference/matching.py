"""Matching and self-trade prevention (STP) on the naive book, plus their dry runs.

A taker (an order not in the book) walks the makers it may reach, best price first, then
oldest first, re-reading the book with a full scan before every step. When the next maker
belongs to the taker's own user and the taker's ``stp`` is not ``none``:

- ``cancel_taker``: the taker is cancelled (reason ``stp``), the maker stays;
- ``cancel_maker``: the maker is cancelled and the walk goes on;
- ``cancel_both``: the maker, then the taker, are cancelled;
- ``decrement``: both lose the smaller of their quantities without a trade; each that
  reaches zero is cancelled, each that does not is reported ``modified`` (reason ``stp``).

Invariants:

- Every trade is at the maker's resting price and never through the taker's limit; a
  maker filled to zero leaves the book at once, so the book is never crossed.
- The dry runs (``fok_would_fill``, ``post_only_would_trade``) walk the makers in the
  order ``match`` would reach them, but change nothing and write no events.
- ``match`` never rests the taker; its caller decides what happens to what is left.
- ``match`` calls ``on_print(symbol, price)`` right after writing each ``trade`` event (and
  after the fill has been applied to both orders), before it looks at the next maker.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Callable

from .book import NaiveBook
from .events import EventLog
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
                events.cancelled(taker, "stp", taker.open)
                taker.open = 0
                return False
            if taker.stp == "cancel_maker":
                book.remove(maker)
                events.cancelled(maker, "stp", maker.open)
                continue
            if taker.stp == "cancel_both":
                book.remove(maker)
                events.cancelled(maker, "stp", maker.open)
                events.cancelled(taker, "stp", taker.open)
                taker.open = 0
                return False
            # decrement
            d = min(taker.open, maker.open)
            maker.open -= d
            taker.open -= d
            if maker.open == 0:
                book.remove(maker)
                events.cancelled(maker, "stp", d)
            else:
                events.modified(maker, "stp")
            if taker.open == 0:
                events.cancelled(taker, "stp", d)
                return False
            events.modified(taker, "stp")
            continue
        qty = min(taker.open, maker.open)
        events.trade(maker, taker, qty)
        maker.open -= qty
        taker.open -= qty
        if maker.open == 0:
            book.remove(maker)
        assert maker.price is not None
        on_print(maker.symbol, maker.price)
    return True


def fok_would_fill(book: NaiveBook, taker: Order) -> bool:
    """Whether a fill-or-kill taker would be filled completely by trades.

    A self-match under ``cancel_taker``, ``cancel_both`` or ``decrement`` stops the walk, so
    the answer is then no; under ``cancel_maker`` the maker is skipped.
    """
    need = taker.open
    for maker in book.makers_for(taker):
        if need == 0:
            break
        if maker.user == taker.user and taker.stp != "none":
            if taker.stp == "cancel_maker":
                continue
            return False  # cancel_taker, cancel_both, decrement: the walk stops
        need -= min(need, maker.open)
    return need == 0


def post_only_would_trade(book: NaiveBook, taker: Order) -> bool:
    """Whether ``taker``, sent as a plain order, would print at least one trade."""
    left = taker.open
    for maker in book.makers_for(taker):
        if left == 0:
            break
        if maker.user == taker.user and taker.stp != "none":
            if taker.stp == "cancel_maker":
                continue
            if taker.stp == "decrement":
                left -= min(left, maker.open)
                continue
            return False  # cancel_taker, cancel_both: the walk stops with no trade
        return True
    return False
