"""Doorbells: a waiter parks in the kernel, and whoever moves the cursor it waits for wakes it.

Polling with sleeps trades idle CPU for wake-up latency (up to the sleep). A doorbell removes
the trade: each party of a shared-memory ring has a FIFO beside the ring's block
(`/dev/shm/<ring>.bell-p` for the producer, `.bell-c<i>` for consumer i), made by the creator
and removed by `unlink`. A party whose wait strategy parks (`Park`) sets the `PARKED` word of
its own line, polls once more, then blocks in `select` on its FIFO for at most the strategy's
`max_s` (and never past its next liveness check or deadline). Whoever advances a cursor the
parked party waits for (the producer publishing: the consumers that read behind it; a
consumer committing: its dependents and the producer) reads that word and, when it is set,
writes one byte to the FIFO.

Ordering: "store PARKED, then load the cursor" against "store the cursor, then load PARKED"
is the store-load pattern x86 may reorder; both sides put a full barrier between their store
and their load (`fence`: a lock acquire and release, which CPython does with an atomic
read-modify-write instruction). Where that is not enough (weaker models), a missed ring
costs one `max_s` of latency, never a hang: the parked party wakes on its timeout and polls.

Invariants: a party writes only its own PARKED word; a FIFO exists only beside its ring's
block (creating a ring sweeps away those of rings whose block is gone); ringing never blocks (a full FIFO
already holds a wake-up, a FIFO without reader has nobody to wake); a ring without FIFOs
(a local ring, no /dev/shm, or one made by older code) simply never parks.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading

_SHM_DIR = "/dev/shm"
_BARRIER = threading.Lock()


def fence() -> None:
    """A full memory barrier (see the module docstring)."""
    _BARRIER.acquire()
    _BARRIER.release()


def bell_path(ring_name: str, party: str) -> str | None:
    """Where a party's FIFO lives (`party`: "p" or "c<i>"); None without /dev/shm."""
    if not os.path.isdir(_SHM_DIR):
        return None
    return os.path.join(_SHM_DIR, f"{ring_name.lstrip('/')}.bell-{party}")


def has_bells(ring_name: str | None) -> bool:
    """Does this ring have doorbells (a shared ring made by `create`, with /dev/shm)?"""
    path = bell_path(ring_name, "p") if ring_name else None
    return path is not None and os.path.exists(path)


def parties(consumers: int) -> list[str]:
    return ["p"] + [f"c{i}" for i in range(consumers)]


def make_bells(ring_name: str, consumers: int) -> None:
    sweep()
    for party in parties(consumers):
        path = bell_path(ring_name, party)
        if path is not None:
            os.mkfifo(path, 0o600)


def sweep() -> None:
    """Remove doorbells whose ring is gone: a creator killed outright has its block removed by
    the resource tracker, but not these."""
    if not os.path.isdir(_SHM_DIR):
        return
    for name in os.listdir(_SHM_DIR):
        block, sep, _ = name.partition(".bell-")
        if sep and not os.path.exists(os.path.join(_SHM_DIR, block)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(_SHM_DIR, name))


def remove_bells(ring_name: str, consumers: int) -> None:
    for party in parties(consumers):
        path = bell_path(ring_name, party)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


class Bell:
    """A party's own FIFO, read end: where it parks."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, ring_name: str | None, party: str) -> Bell | None:
        path = bell_path(ring_name, party) if ring_name else None
        if path is None:
            return None
        try:
            return cls(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        except FileNotFoundError:
            return None

    def wait(self, timeout: float) -> None:
        """Block until rung or `timeout` seconds; then empty the FIFO."""
        select.select([self.fd], [], [], max(0.0, timeout))
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 4096):
                pass

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Ringer:
    """Write ends of other parties' FIFOs, opened when first needed."""

    def __init__(self, ring_name: str | None) -> None:
        self.name = ring_name
        self._fds: dict[str, int] = {}

    def ring(self, party: str) -> None:
        fd = self._fds.get(party)
        if fd is None:
            path = bell_path(self.name, party) if self.name else None
            if path is None:
                return
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: nobody has it open, so nobody is parked on it
                if exc.errno in (errno.ENXIO, errno.ENOENT):
                    return
                raise
            self._fds[party] = fd
        try:
            os.write(fd, b"\x00")
        except BlockingIOError:  # full: a wake-up is waiting there already
            pass
        except BrokenPipeError:  # the reader left (and a successor will reopen)
            os.close(fd)
            del self._fds[party]

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


__all__ = ["Bell", "Ringer", "bell_path", "fence", "has_bells", "make_bells", "remove_bells", "sweep"]
