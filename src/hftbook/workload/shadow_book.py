"""The generator's shadow book: its view of each symbol's fair price and resting orders.

A `ShadowMarket` mirrors one symbol's book in the engine closely enough to know, without asking
the engine, which orders are live, where the touch is and what an incoming order would trade.

Invariants:
- The matching rules are the engine's with self-trade prevention off (the flow always sends
  `STP_NONE`): price-time priority, makers filled oldest first, a market order unbounded in
  price, a FOK order traded only if trades alone can fill it. So an order is live here exactly
  when it rests in the engine.
- Keys follow the engine: a bid level's key is its price, an ask level's is -price, and the best
  level of a side is the last of its sorted key list. A level is dropped when its last live
  order leaves; no empty level stays in the key lists.
- An order is live while `qty > 0`. Ended orders may linger in a level's deque (lazy deletion)
  until they reach its front or the deque is compacted; `level.count` and `level.qty` count
  only live orders.
- `pool` holds exactly the live, unpinned orders, each at index `pos` (swap-remove on exit);
  pinned orders (standing ladders) are never in it, so the flow never cancels or modifies them.
- No method draws from the random generator except `walk`, so the shadow book changes the
  seeded stream only through the calls the flow makes.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, insort
from collections import deque

from hftbook.core.types import BUY, SELL


class ShadowOrder:
    """The generator's view of one order. Live while `qty > 0`."""

    __slots__ = ("cid", "pinned", "pos", "price", "qty", "side", "user")

    def __init__(self, user: str, cid: int, side: int, price: int, qty: int, pinned: bool) -> None:
        self.user = user
        self.cid = cid
        self.side = side
        self.price = price
        self.qty = qty
        self.pinned = pinned  # never picked for a cancel or modify (a standing ladder)
        self.pos = -1  # index in the market's cancel pool, -1 when not in it


class _Level:
    __slots__ = ("count", "orders", "qty")

    def __init__(self) -> None:
        self.orders: deque[ShadowOrder] = deque()
        self.qty = 0
        self.count = 0


class ShadowMarket:
    """One symbol: its fair price process and a shadow of the engine's book.

    Keys follow the engine: a bid level's key is its price, an ask level's is -price, and the
    best level of a side is the last of its sorted key list.
    """

    def __init__(self, symbol: str, mid: float, sigma: float, target: int) -> None:
        self.symbol = symbol
        self.log_mid = math.log(mid)
        self.sigma = sigma
        self.target = target  # resting orders the cancel rate steers towards
        self.levels: tuple[dict[int, _Level], dict[int, _Level]] = ({}, {})
        self.keys: tuple[list[int], list[int]] = ([], [])
        self.pool: list[ShadowOrder] = []  # live, unpinned orders: the cancel and modify targets
        self.resting = 0
        self.last_trade = 0

    # fair price -----------------------------------------------------------------------

    def fair(self) -> float:
        return math.exp(self.log_mid)

    def set_fair(self, ticks: float) -> None:
        self.log_mid = math.log(max(ticks, 2.0))

    def walk(self, rng: random.Random) -> None:
        s = self.sigma
        self.log_mid += s * rng.gauss(0.0, 1.0) - 0.5 * s * s

    # book queries ---------------------------------------------------------------------

    def best(self, side: int) -> int | None:
        keys = self.keys[side]
        if not keys:
            return None
        return keys[-1] if side == BUY else -keys[-1]

    def book_mid(self) -> float:
        b, a = self.best(BUY), self.best(SELL)
        if b is None or a is None:
            return self.fair()
        return (a + b) / 2.0

    def level_count(self) -> int:
        return len(self.keys[0]) + len(self.keys[1])

    def depth_qty(self, side: int, n_levels: int) -> int:
        """Total resting quantity on the best `n_levels` levels of one side."""
        keys, levels = self.keys[side], self.levels[side]
        return sum(levels[k].qty for k in keys[-n_levels:])

    # book changes ---------------------------------------------------------------------

    def rest(self, o: ShadowOrder) -> None:
        side = o.side
        key = o.price if side == BUY else -o.price
        levels = self.levels[side]
        level = levels.get(key)
        if level is None:
            level = levels[key] = _Level()
            insort(self.keys[side], key)
        level.orders.append(o)
        level.qty += o.qty
        level.count += 1
        self.resting += 1
        if not o.pinned:
            o.pos = len(self.pool)
            self.pool.append(o)

    def unlink(self, o: ShadowOrder) -> None:
        """Take a live order out (cancel, or the old copy of a requeued modify)."""
        side = o.side
        key = o.price if side == BUY else -o.price
        level = self.levels[side][key]
        level.qty -= o.qty
        level.count -= 1
        o.qty = 0
        self.resting -= 1
        if not level.count:
            self._drop(side, key)
        elif len(level.orders) > 2 * level.count + 16:
            level.orders = deque(x for x in level.orders if x.qty)
        self._unpool(o)

    def reduce(self, o: ShadowOrder, qty: int) -> None:
        side = o.side
        level = self.levels[side][o.price if side == BUY else -o.price]
        level.qty -= o.qty - qty
        o.qty = qty

    def _drop(self, side: int, key: int) -> None:
        keys = self.keys[side]
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]
        del self.levels[side][key]

    def _unpool(self, o: ShadowOrder) -> None:
        i = o.pos
        if i < 0:
            return
        pool = self.pool
        last = pool.pop()
        if last is not o:
            pool[i] = last
            last.pos = i
        o.pos = -1

    def match(self, side: int, limit: int | None, qty: int, ended: deque[tuple[str, int]]) -> int:
        """Trade an incoming order against the other side, as the engine would (STP off).

        `limit` None is a market order. Fully filled makers are appended to `ended`.
        Returns the unfilled quantity.
        """
        other = 1 - side
        keys, levels = self.keys[other], self.levels[other]
        lim_key = -(1 << 64) if limit is None else (-limit if side == BUY else limit)
        while qty and keys:
            k = keys[-1]
            if k < lim_key:
                break
            level = levels[k]
            q = level.orders
            while qty and level.count:
                m = q[0]
                mq = m.qty
                if not mq:
                    q.popleft()
                    continue
                self.last_trade = k if other == BUY else -k
                if mq <= qty:
                    q.popleft()
                    qty -= mq
                    level.qty -= mq
                    level.count -= 1
                    m.qty = 0
                    self.resting -= 1
                    self._unpool(m)
                    ended.append((m.user, m.cid))
                else:
                    m.qty = mq - qty
                    level.qty -= qty
                    qty = 0
            if not level.count:
                keys.pop()
                del levels[k]
        return qty

    def fillable(self, side: int, limit: int, qty: int) -> bool:
        """The FOK dry run: would trades alone fill `qty` within `limit`?"""
        other = 1 - side
        keys, levels = self.keys[other], self.levels[other]
        lim_key = -limit if side == BUY else limit
        for k in reversed(keys):
            if k < lim_key:
                return False
            qty -= levels[k].qty
            if qty <= 0:
                return True
        return False


__all__ = ["ShadowMarket", "ShadowOrder"]
