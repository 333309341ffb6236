"""Wait strategies and process liveness for the ring buffer (`hftbook.runtime.ring`).

A waiter (a producer with no free slot, a consumer with nothing to read) polls the shared
cursors in a loop; between two unsuccessful polls it calls its strategy's `idle(attempt)`:

- `BusySpin`: returns at once. Lowest latency, burns a whole core per waiter: only when every
  waiter has a core of its own (never more busy waiters than cores).
- `Yield`: spins `spins` polls, then `os.sched_yield()` on every poll: gives the core to any
  other runnable process, stays runnable itself (on an idle machine it still burns a core).
- `Sleep` (the default): spins, then yields, then sleeps with exponential backoff from
  `min_s` to `max_s`; an idle waiter costs almost nothing, a wake-up costs up to `max_s`.
- `Park`: spins, then yields, then parks on its doorbell (ring_bell.py) until whoever it
  waits for rings it (or `max_s` passes): no idle cost and no sleep to wait out. On a ring
  without doorbells (a local one) it sleeps `max_s` at a time instead.

Invariants: a strategy holds no state between calls (`attempt` is 1, 2, 3, ... within one
wait and starts again at 1 on the next wait), so one strategy object may be shared; it never
reads the cursors, the clock or the liveness of anyone: the caller re-polls after it returns,
and checks its deadline and the liveness of whoever it waits for on its own schedule.

Liveness: `identity(pid)` is the process's start time (clock ticks since boot, from
`/proc/<pid>/stat`; 0 where there is no /proc). `alive(pid, start)` is true while the pid
exists, is not a zombie (a killed child its parent has not reaped yet still answers
`os.kill(pid, 0)`), and, when both start times are known, started at `start`: a pid reused
by an unrelated process does not count as the original.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Protocol


class WaitStrategy(Protocol):
    """What a waiter does between two unsuccessful polls."""

    def idle(self, attempt: int) -> None: ...


@dataclass(frozen=True)
class BusySpin:
    """Poll again at once."""

    def idle(self, attempt: int) -> None:
        return None


def _yield() -> None:
    sched_yield = getattr(os, "sched_yield", None)
    if sched_yield is None:  # pragma: no cover - not on Linux
        time.sleep(0)
    else:
        sched_yield()


@dataclass(frozen=True)
class Yield:
    """Spin `spins` polls, then give up the core on every poll."""

    spins: int = 100

    def idle(self, attempt: int) -> None:
        if attempt > self.spins:
            _yield()


@dataclass(frozen=True)
class Sleep:
    """Spin `spins` polls, yield `yields` polls, then sleep `min_s`, doubling up to `max_s`."""

    spins: int = 100
    yields: int = 100
    min_s: float = 5e-6
    max_s: float = 100e-6

    def idle(self, attempt: int) -> None:
        if attempt <= self.spins:
            return
        k = attempt - self.spins
        if k <= self.yields:
            _yield()
            return
        time.sleep(min(self.max_s, self.min_s * (2.0 ** min(k - self.yields - 1, 30))))


@dataclass(frozen=True)
class Park:
    """Spin `spins` polls, yield `yields` polls, then park on the doorbell for `max_s` at most."""

    spins: int = 100
    yields: int = 100
    max_s: float = 0.01

    @property
    def park_after(self) -> int:
        return self.spins + self.yields

    def idle(self, attempt: int) -> None:
        """Before parking: spin, then yield; the party parks itself after `park_after`."""
        if attempt <= self.spins:
            return
        if attempt <= self.park_after:
            _yield()
            return
        time.sleep(self.max_s)  # no doorbell to park on


def wait_strategy(spec: str | WaitStrategy | None) -> WaitStrategy:
    """A strategy from its name ("spin", "yield", "sleep"), an instance, or None (Sleep())."""
    if spec is None:
        return Sleep()
    if isinstance(spec, str):
        named: dict[str, WaitStrategy] = {"spin": BusySpin(), "yield": Yield(), "sleep": Sleep(),
                                          "park": Park()}
        if spec not in named:
            raise ValueError(f"unknown wait strategy {spec!r}: use one of {sorted(named)}")
        return named[spec]
    return spec


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (state first); None without it."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rindex(b")") + 2:].split()


def identity(pid: int) -> int:
    """The start time of process `pid` (0 when unknown)."""
    try:
        fields = _stat_fields(pid)
    except (OSError, ValueError):
        return 0
    return int(fields[19]) if fields and len(fields) > 19 else 0


def alive(pid: int, start: int = 0) -> bool:
    """Whether process `pid` (started at `start` if known) still runs: not gone, not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to someone else
    try:
        fields = _stat_fields(pid)
    except FileNotFoundError:
        return False  # exited between the two checks
    except (OSError, ValueError):
        return True  # no /proc here: os.kill is all we know
    if not fields or fields[0] in (b"Z", b"X", b"x"):
        return False
    return not (start and len(fields) > 19 and int(fields[19]) != start)


__all__ = ["BusySpin", "Park", "Sleep", "WaitStrategy", "Yield", "alive", "identity", "wait_strategy"]
