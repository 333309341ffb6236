"""One side of a visible L2 book: level quantities, total depth and top-of-book weighted sums.

Keys follow the core book: key = price on the bid side and -price on the ask side, so on
either side the best level is `keys[-1]` and "better" is "larger key".

Invariants after every `set`:
- `levels` maps key -> visible qty > 0 for exactly the keys in `keys`, which is sorted
  ascending and holds no duplicates (an update to qty 0 removes the level; one to an absent
  level with qty 0 changes nothing);
- `depth` is the sum of every level's qty;
- with `n = len(weights)` top levels tracked: `top_depth` is the sum of the qty of the best
  `n` levels and `top_weighted` is sum(qty_i * weights[i]) over them, best level i = 0.

Cost: a qty change at an existing level is one dict store plus, inside the tracked top, one
bisect and one multiply; adding or removing a level is a bisect and a list insert/delete
(memmove), plus an O(n) recomputation of the top sums when the level is among the best n
(the ranks of the levels below it shift). Nothing ever walks the whole side.
"""

from __future__ import annotations

from bisect import bisect_left

from hftbook.core.types import MAX_UNITS


class Ladder:
    __slots__ = ("depth", "keys", "levels", "n", "top_depth", "top_weighted", "weights")

    def __init__(self, weights: tuple[int, ...]) -> None:
        self.levels: dict[int, int] = {}
        self.keys: list[int] = []
        self.depth = 0
        self.weights = weights
        self.n = len(weights)
        self.top_depth = 0
        self.top_weighted = 0

    def set(self, key: int, qty: int) -> bool:
        """Make the visible qty at `key` equal `qty` (0 removes the level).

        A new level's price must be 1 .. 2**63 - 1 ticks (ValueError, nothing changed).
        Returns whether the best level was touched (its qty changed, it went, or a better one
        came): only then can the top of book differ.
        """
        levels = self.levels
        old = levels.get(key, 0)
        if qty == old:
            return False
        if qty < 0:
            raise ValueError(f"visible quantity must be >= 0, not {qty}")
        keys = self.keys
        n = self.n
        if old and qty:
            diff = qty - old
            self.depth += diff
            levels[key] = qty
            if not n:
                return key == keys[-1]
            rank = len(keys) - 1 - bisect_left(keys, key)
            if rank < n:
                self.top_depth += diff
                self.top_weighted += diff * self.weights[rank]
            return rank == 0
        i = bisect_left(keys, key)
        if qty:
            if not 0 < abs(key) <= MAX_UNITS:
                raise ValueError(f"price must be 1 .. 2**63 - 1 ticks, not {abs(key)}")
            self.depth += qty
            levels[key] = qty
            keys.insert(i, key)
            rank = len(keys) - 1 - i  # from the best, after the insert
        else:
            self.depth -= old
            del levels[key]
            rank = len(keys) - 1 - i  # from the best, before the delete
            del keys[i]
        if rank < n:
            self._recount_top()
        return rank == 0

    def _recount_top(self) -> None:
        levels = self.levels
        weighted = depth = 0
        for key, w in zip(reversed(self.keys[-self.n :]), self.weights, strict=False):
            q = levels[key]
            depth += q
            weighted += q * w
        self.top_depth = depth
        self.top_weighted = weighted
