"""What the ring's producer and consumers share: registration in their line, the wait loop,
liveness and stall checks (`hftbook.runtime.ring`).

Invariants:
- a party writes only its own line (pid, start time, heartbeat, state, cursor); registering
  refuses a closed line and a line held by a live process, and takes over a line whose
  process is gone (resuming at its cursor);
- `_block` returns only when `poll()` is not 0; otherwise it raises: RingTimeout past the
  deadline, WouldBlock at once on a single-threaded local ring, or whatever `_check` raises;
  `_check` runs every `liveness_interval` seconds of waiting, after a heartbeat, so a waiting
  party is never taken for a stalled one;
- a stall is the same (cursor, heartbeat, state) of every blocker for `stall_timeout`
  seconds; with `stall_timeout` None only dead processes and closed dependencies raise;
- a party parks (ring_bell.py) only with its PARKED word set and after polling once more
  behind a fence, and clears the word when it wakes; it wakes the parties waiting on a
  cursor it moved (`_wake`) after a fence.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from hftbook.runtime.ring_bell import Bell, Ringer, fence, has_bells
from hftbook.runtime.ring_layout import (
    ACTIVE,
    CLOSED,
    CURSOR,
    FREE,
    HEARTBEAT,
    PARKED,
    PID,
    START,
    STATE,
    DeadConsumer,
    RingError,
    RingTimeout,
    WouldBlock,
    consumer_word,
)
from hftbook.runtime.ring_wait import WaitStrategy, alive, identity

if TYPE_CHECKING:
    from hftbook.runtime.ring import Ring


class Party:
    """What producer and consumer share: their line, the wait loop, liveness and stall checks."""

    def __init__(self, ring: Ring, line: int, what: str, wait: WaitStrategy, interval: float,
                 stall: float | None, bell: str = "") -> None:
        self.ring = ring
        self._q = q = ring._q
        self._buf = ring._buf
        g = ring.geometry
        self._slots, self._mask, self._ss, self._base = g.slots, g.slots - 1, g.slot_size, g.data_offset
        self._checksum = g.checksum
        self._wait, self._interval, self._stall = wait, interval, stall
        self._line, self._what = line, what
        state, pid = q[line + STATE], q[line + PID]
        if state == CLOSED:
            raise RingError(f"{what} is closed")
        if state == ACTIVE and alive(pid, q[line + START]):
            raise RingError(f"{what} is already attached by live process {pid}")
        me = os.getpid()
        q[line + PID] = me
        q[line + START] = identity(me)
        self._beats = q[line + HEARTBEAT]
        q[line + STATE] = ACTIVE
        self._seen: object = None
        self._since = 0.0
        park_after = getattr(wait, "park_after", None)
        self._bell = Bell.open(ring.name, bell) if isinstance(park_after, int) else None
        self._park_after = park_after if isinstance(park_after, int) and self._bell is not None else 1 << 62
        self._park_s: float = getattr(wait, "max_s", 0.01)
        self._ringer = Ringer(ring.name)
        self._bells = has_bells(ring.name)
        self._wakes: tuple[tuple[int, str], ...] = ()  # (PARKED word, bell) of who waits on us

    def heartbeat(self) -> None:
        """Show progress while doing something else for a long time (see `stall_timeout`)."""
        self._beats += 1
        self._q[self._line + HEARTBEAT] = self._beats

    @staticmethod
    def _deadline(timeout: float | None) -> float | None:
        return None if timeout is None else time.monotonic() + timeout

    def _block(self, poll: Callable[[], int], deadline: float | None) -> int:
        """Poll until `poll()` is not 0, with the wait strategy, liveness checks and the deadline."""
        r = poll()
        if r:
            return r
        if self.ring.in_process and threading.active_count() == 1:
            raise WouldBlock(f"{self._what} would wait for itself: single-threaded local ring")
        idle, interval = self._wait.idle, self._interval
        now = self._since = time.monotonic()
        next_check = now + interval
        self._seen = None
        attempt = 0
        park_after = self._park_after
        while True:
            r = poll()
            if r:
                return r
            attempt += 1
            if attempt > park_after:
                self._park(poll, min(next_check, deadline or next_check))
            else:
                idle(attempt)
            now = time.monotonic()
            if now >= next_check:
                self.heartbeat()
                self._check(now)
                next_check = now + interval
            if deadline is not None and now >= deadline:
                r = poll()
                if r:
                    return r
                raise RingTimeout(f"{self._what} waited longer than its timeout")

    def _park(self, poll: Callable[[], int], until: float) -> None:
        """Sleep on the doorbell until rung, `max_s`, or `until` (a monotonic time)."""
        assert self._bell is not None
        q, w = self._q, self._line + PARKED
        q[w] = 1
        fence()
        if not poll():
            self._bell.wait(min(self._park_s, until - time.monotonic()))
        q[w] = 0

    def _wake_on_move(self, parties: list[tuple[int, str]]) -> None:
        """Who to ring when this party moves its cursor (nobody on a ring without doorbells:
        then nobody can park, and moving a cursor costs no fence)."""
        self._wakes = tuple(parties) if self._bells else ()

    def _wake(self) -> None:
        """Ring whoever is parked waiting on the cursor this party just moved."""
        if not self._wakes:
            return
        fence()
        q = self._q
        for w, bell in self._wakes:
            if q[w]:
                self._ringer.ring(bell)

    def _leave(self) -> None:
        if self._bell is not None:
            self._bell.close()
        self._ringer.close()

    def _check(self, now: float) -> None:
        raise NotImplementedError

    def _stalled(self, now: float, seen: object) -> bool:
        """True once the blockers' (cursor, heartbeat, state) stayed `seen` for `stall_timeout`."""
        if seen != self._seen:
            self._seen, self._since = seen, now
            return False
        return self._stall is not None and now - self._since >= self._stall

    def _blocking_consumer(self, i: int, need: int, why: str) -> tuple[int, int, int, int] | None:
        """None if consumer i is at `need` or closed; its (i, cursor, heartbeat, state) while it
        blocks; DeadConsumer if its process is gone (or, `why` given, if it closed)."""
        q, base = self._q, consumer_word(i, 0)
        cur, state = q[base + CURSOR], q[base + STATE]
        if cur >= need or (state == CLOSED and not why):
            return None
        pid = q[base + PID]
        if state == CLOSED:
            raise DeadConsumer(i, pid, f"closed at cursor {cur}; {why}")
        if state == ACTIVE and not alive(pid, q[base + START]):
            raise DeadConsumer(i, pid, f"is gone (its process died) at cursor {cur}")
        return (i, cur, q[base + HEARTBEAT], state)

    def _raise_stall(self, blockers: list[tuple[int, int, int, int]]) -> None:
        i, cur, _, state = blockers[0]
        pid = self._q[consumer_word(i, PID)]
        if state == FREE:
            raise DeadConsumer(i, pid, f"never attached (waited {self._stall} s)")
        raise DeadConsumer(i, pid, f"made no progress for {self._stall} s at cursor {cur}")


__all__ = ["Party"]
