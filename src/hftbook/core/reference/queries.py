"""The query commands of the reference exchange: ``book`` and ``metrics``.

Both read the naive book through ``NaiveBook.levels_view`` and change nothing but the
event list.

Invariants:

- Field errors come before the symbol lookup: a malformed ``symbol``, ``depth`` or
  ``levels`` is ``bad_command`` even for an unknown symbol.
- ``book`` lists at most ``depth`` (default 10) levels per side, best first, as
  [price, total qty, order count].
- ``metrics`` computes with exact rationals: ``mid`` and ``microprice`` are decimal strings
  rounded half-even to the tick's places plus 8; ``imbalance``, ``weighted_imbalance``
  (level i weighted 1/2**i over ``levels`` levels, default 5) and ``spread_bps`` are floats
  of exact fractions. A value that needs a side the book lacks is ``None``.

Only the standard library is used.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .decimals import round_half_even
from .fields import positive_int_field, symbol_field
from .state import ReferenceState

__all__ = ["cmd_book", "cmd_metrics"]

_EXTRA_PLACES = 8


def cmd_book(state: ReferenceState, cmd: dict[str, Any]) -> None:
    symbol_field(cmd)
    depth = positive_int_field(cmd, "depth", 10)
    inst = state.known_instrument(cmd)
    if inst is None:
        return

    def side(is_bid: bool) -> list[list[Any]]:
        return [
            [inst.price_str(price), inst.qty_str(total), len(members)]
            for price, total, _count, members in state.book.levels_view(inst.symbol, is_bid)[
                :depth
            ]
        ]

    state.events.append(
        {
            "type": "book",
            "ts": state.events.ts,
            "symbol": inst.symbol,
            "bids": side(True),
            "asks": side(False),
        }
    )


def cmd_metrics(state: ReferenceState, cmd: dict[str, Any]) -> None:
    symbol_field(cmd)
    levels = positive_int_field(cmd, "levels", 5)
    inst = state.known_instrument(cmd)
    if inst is None:
        return
    bids = [(p, q) for p, q, _c, _m in state.book.levels_view(inst.symbol, True)]
    asks = [(p, q) for p, q, _c, _m in state.book.levels_view(inst.symbol, False)]
    tick = Fraction(inst.tick)
    places = inst.price_places() + _EXTRA_PLACES

    mid: str | None = None
    micro: str | None = None
    spread_bps: float | None = None
    imbalance: float | None = None
    weighted: float | None = None
    if bids and asks:
        (b, vb), (a, va) = bids[0], asks[0]
        mid = round_half_even(Fraction(b + a, 2) * tick, places)
        micro = round_half_even(Fraction(b * va + a * vb, vb + va) * tick, places)
        spread_bps = float(Fraction(a - b) / Fraction(a + b, 2) * 10000)
    if bids or asks:
        vb0 = bids[0][1] if bids else 0
        va0 = asks[0][1] if asks else 0
        imbalance = float(Fraction(vb0 - va0, vb0 + va0))
        wb = sum((Fraction(q, 2**i) for i, (_p, q) in enumerate(bids[:levels])), Fraction(0))
        wa = sum((Fraction(q, 2**i) for i, (_p, q) in enumerate(asks[:levels])), Fraction(0))
        weighted = float((wb - wa) / (wb + wa))
    state.events.append(
        {
            "type": "metrics",
            "ts": state.events.ts,
            "symbol": inst.symbol,
            "mid": mid,
            "microprice": micro,
            "imbalance": imbalance,
            "weighted_imbalance": weighted,
            "spread_bps": spread_bps,
            "best_bid": inst.price_str(bids[0][0]) if bids else None,
            "best_ask": inst.price_str(asks[0][0]) if asks else None,
            "bid_qty": inst.qty_str(bids[0][1]) if bids else None,
            "ask_qty": inst.qty_str(asks[0][1]) if asks else None,
        }
    )
