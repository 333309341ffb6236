"""One symbol's visible book as market data sees it, kept from book changes alone.

`VisibleBook` is what a market-data publisher holds per symbol: every resting order's side,
price and visible quantity, and per price level the orders in queue order and their total.
It is driven by the book changes the engine's events describe (docs/PROTOCOL.md, "`rests`:
rebuilding the book from the events"): `rest` (an iceberg's refill is a rest of the same
id), `execute`, `modify` (in place, lower) and `remove`.
Each change appends its L3 message to `l3` (when L3 is on) and records the level it touched,
so the feed can publish the level's new total once per batch (L2) and the top of book (L1).

Keys follow the core: key = price on the bid side and -price on the ask side, so on either
side the best level is `keys[-1]`.

Invariants after every call:
- `orders[oid] = [side, price, visible]` for exactly the resting orders; visible > 0;
- `levels[side][key] = [qty, fifo]` for exactly the non-empty levels, `fifo` a dict used as
  an ordered set of order ids in queue order (insertion order: deterministic, never hash
  order), `qty` the sum of their visible quantities; `keys[side]` sorted ascending;
- `touched[side]` holds (in first-touch order) every key whose level changed since the feed
  last published the side (it clears them);
- `ice_open[oid]` is the whole open quantity of every live iceberg seen accepted (the one
  order kind whose open quantity differs from its visible one), needed to apply a modify.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any

from hftbook.core.types import BUY

# L3 message kinds (the payload after (channel, symbol, seq, ts)); see docs/MARKETDATA.md.
ADD = "add"
EXEC = "exec"
MODIFY = "modify"
DELETE = "delete"

Level = list[Any]  # [qty, {oid: None, ...}]


class VisibleBook:
    __slots__ = ("ice_open", "keys", "l3", "levels", "orders", "symbol", "touched", "with_l3")

    def __init__(self, symbol: str, with_l3: bool) -> None:
        self.symbol = symbol
        self.orders: dict[int, list[int]] = {}
        self.levels: tuple[dict[int, Level], dict[int, Level]] = ({}, {})
        self.keys: tuple[list[int], list[int]] = ([], [])
        self.touched: tuple[dict[int, None], dict[int, None]] = ({}, {})
        self.ice_open: dict[int, int] = {}
        self.with_l3 = with_l3
        self.l3: list[tuple[Any, ...]] = []  # (kind, ...) payloads of this batch, in order

    # -- changes -------------------------------------------------------------------------

    def rest(self, oid: int, side: int, price: int, qty: int) -> None:
        """The order joins the back of its level showing `qty`."""
        orders = self.orders
        if oid in orders or qty <= 0:
            raise ValueError(f"order {oid} rests with visible qty {qty} (in the book: {oid in orders})")
        orders[oid] = [side, price, qty]
        # Joining the level, written out here: this and `remove` are most of what a feed does.
        key = -price if side else price
        levels = self.levels[side]
        lv = levels.get(key)
        if lv is None:
            levels[key] = [qty, {oid: None}]
            keys = self.keys[side]
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        else:
            lv[0] += qty
            lv[1][oid] = None
        self.touched[side][key] = None
        if self.with_l3:
            self.l3.append((ADD, oid, side, price, qty))

    def execute(self, oid: int, qty: int, price: int, trade_id: int) -> None:
        """A trade took `qty` from the resting order's visible quantity."""
        entry = self.orders.get(oid)
        if entry is None:
            raise ValueError(f"trade {trade_id}: maker {oid} is not in the book")
        side, at, vis = entry
        if qty > vis or price != at:
            raise ValueError(f"trade {trade_id}: {qty} @ {price} against {vis} visible @ {at}")
        if self.with_l3:
            self.l3.append((EXEC, oid, qty, price, trade_id))
        if qty == vis:
            # Executed in full: gone (an L3 consumer removes it on the exec; no delete). An
            # iceberg's next slice arrives as a `rest` of the same id, at the back.
            del self.orders[oid]
            self._leave(oid, side, at, vis, False)
        else:
            entry[2] = vis - qty
            key = -at if side else at
            self.levels[side][key][0] -= qty
            self.touched[side][key] = None

    def modify(self, oid: int, qty: int) -> None:
        """The resting order shows `qty` now, in place (only ever lower: priority kept)."""
        entry = self.orders[oid]
        side, price, vis = entry
        if not 0 < qty <= vis:
            raise ValueError(f"order {oid}: in-place modify from {vis} to {qty}")
        if qty == vis:
            return
        entry[2] = qty
        if self.with_l3:
            self.l3.append((MODIFY, oid, qty))
        key = -price if side else price
        self.levels[side][key][0] += qty - vis
        self.touched[side][key] = None

    def remove(self, oid: int) -> bool:
        """The order leaves the book, if it is in it. Returns whether it was."""
        entry = self.orders.pop(oid, None)
        if entry is None:
            return False
        self._leave(oid, entry[0], entry[1], entry[2], self.with_l3)
        return True

    # -- reading -------------------------------------------------------------------------

    def best(self, side: int) -> tuple[int, int] | None:
        """(price, visible qty) of the best level of a side, None when it is empty."""
        keys = self.keys[side]
        if not keys:
            return None
        k = keys[-1]
        return (k if side == BUY else -k), self.levels[side][k][0]

    def level(self, side: int, price: int) -> tuple[int, int]:
        """(visible qty, orders) at a price; (0, 0) when there is no level."""
        lv = self.levels[side].get(price if side == BUY else -price)
        return (0, 0) if lv is None else (lv[0], len(lv[1]))

    def depth(self, side: int, n: int | None = None) -> list[tuple[int, int, int]]:
        """Up to n levels (all when None) of a side, best first: (price, qty, orders)."""
        keys = self.keys[side]
        levels = self.levels[side]
        chosen = keys if n is None or n >= len(keys) else keys[len(keys) - n:]
        sign = 1 if side == BUY else -1
        return [(sign * k, levels[k][0], len(levels[k][1])) for k in reversed(chosen)]

    def queue(self, side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        """Every level of a side, best first, with its orders in queue order: (price,
        [(order id, visible qty), ...])."""
        levels = self.levels[side]
        orders = self.orders
        sign = 1 if side == BUY else -1
        return [
            (sign * k, [(oid, orders[oid][2]) for oid in levels[k][1]]) for k in reversed(self.keys[side])
        ]

    # -- inside --------------------------------------------------------------------------

    def _leave(self, oid: int, side: int, price: int, vis: int, say: bool) -> None:
        key = -price if side else price
        levels = self.levels[side]
        lv = levels[key]
        fifo = lv[1]
        del fifo[oid]
        self.touched[side][key] = None
        if fifo:
            lv[0] -= vis
        else:
            del levels[key]
            keys = self.keys[side]
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]
        if say:
            self.l3.append((DELETE, oid))
