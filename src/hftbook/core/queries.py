"""Read-only questions about a book: the `book` and `metrics` events.

Invariants: visible quantity only; ratios are floats of exact rationals (int / int is
correctly rounded in CPython), prices are exact decimals rounded only past 8 extra places, so
answers are identical on every run and platform.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hftbook.core.book import OrderBook
from hftbook.core.numbers import fraction_str

_EXTRA_PLACES = 8


def book_event(book: OrderBook, depth: int) -> dict[str, Any]:
    inst = book.instrument
    ps, qs = inst.price_str, inst.qty_str
    return {
        "type": "book",
        "ts": 0,
        "symbol": book.symbol,
        "bids": [[ps(p), qs(q), n] for p, q, n in book.depth(True, depth)],
        "asks": [[ps(p), qs(q), n] for p, q, n in book.depth(False, depth)],
    }


def _weighted(levels: list[tuple[int, int, int]], n: int) -> int:
    """Sum of qty_i * 2**(n-1-i): the 1, 1/2, 1/4 ... weights scaled to integers."""
    return sum(q << (n - 1 - i) for i, (_, q, _) in enumerate(levels))


def metrics_event(book: OrderBook, levels: int) -> dict[str, Any]:
    inst = book.instrument
    bids = book.depth(True, levels)
    asks = book.depth(False, levels)
    tick = Fraction(inst.tick)
    places = inst.tick_places + _EXTRA_PLACES
    mid = micro = imbalance = weighted = spread = None
    vb = bids[0][1] if bids else 0
    va = asks[0][1] if asks else 0
    if bids and asks:
        b, a = bids[0][0], asks[0][0]
        mid = fraction_str(Fraction(b + a, 2) * tick, places)
        micro = fraction_str(Fraction(b * va + a * vb, vb + va) * tick, places)
        spread = (a - b) * 20000 / (a + b)
    if bids or asks:
        imbalance = (vb - va) / (vb + va)
        n = max(len(bids), len(asks))
        wb, wa = _weighted(bids, n), _weighted(asks, n)
        weighted = (wb - wa) / (wb + wa)
    return {
        "type": "metrics",
        "ts": 0,
        "symbol": book.symbol,
        "mid": mid,
        "microprice": micro,
        "imbalance": imbalance,
        "weighted_imbalance": weighted,
        "spread_bps": spread,
        "best_bid": inst.price_str(bids[0][0]) if bids else None,
        "best_ask": inst.price_str(asks[0][0]) if asks else None,
        "bid_qty": inst.qty_str(vb) if bids else None,
        "ask_qty": inst.qty_str(va) if asks else None,
    }
