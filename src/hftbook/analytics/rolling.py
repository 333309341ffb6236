"""A rolling sum of integers over the last `n` pushes or the last `n` nanoseconds.

Invariants:
- by count: `vals` holds the last min(pushes, n) values, oldest first;
- by time: `vals` holds the values pushed with ts > t - n, oldest first, and `stamps` their
  ts, where t is the ts of the last `push` or `expire` (pushes come in non-decreasing ts):
  so after `expire(now)` exactly the window now - n < ts <= now;
- `total` == sum(vals) exactly (integers only, so adding and removing never drifts).

Each push is O(1) amortised (a time window expires what the push leaves behind, so memory
stays bounded by one window's pushes without the clock having to visit it); each value is
expired at most once.
"""

from __future__ import annotations

from collections import deque

from hftbook.analytics.config import Span


class Rolling:
    __slots__ = ("by_time", "n", "stamps", "total", "vals")

    def __init__(self, span: Span) -> None:
        self.n = span.n
        self.by_time = span.by_time
        self.vals: deque[int] = deque()
        self.stamps: deque[int] = deque()
        self.total = 0

    def push(self, ts: int, value: int) -> None:
        vals = self.vals
        if self.by_time:
            self.expire(ts)
            self.stamps.append(ts)
        elif len(vals) == self.n:
            self.total -= vals.popleft()
        vals.append(value)
        self.total += value

    def expire(self, now: int) -> None:
        """Drop the values pushed at ts <= now - n (time windows only)."""
        stamps = self.stamps
        cutoff = now - self.n
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
            self.total -= self.vals.popleft()

    def __len__(self) -> int:
        return len(self.vals)
