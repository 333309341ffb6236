"""The byte layout of a ring buffer region, its errors, and the shared-memory plumbing.

A region is a run of 64-byte lines followed by the slots (all integers are 8-byte words in the
host's byte order; a ring never leaves its host):

    line 0        config, written once by the creator: magic (last), version, slots, slot size,
                  consumers, flags (bit 0: per-slot checksums)
    line 1        the producer: cursor, pid, start time, heartbeat, state, end, parked
    line 2 + i    consumer i: cursor, pid, start time, heartbeat, state, dependency mask, parked
    data          `slots` slots of `slot_size` bytes from offset 64 * (2 + consumers)

A slot is: stamp (8 bytes: sequence + 1 of the message in it, 0 when never written), length
(4), CRC32 of the payload (4; 0 without checksums), payload (`slot_size - 16` bytes, the
message then zero padding).

Invariants:
- every line is written by one party only (line 0 by the creator before anyone attaches,
  line 1 by the producer, line 2 + i by consumer i; the single exception is `evict`, which
  closes the line of a consumer that is gone), so no two writers ever share a cache line;
- every word that another process reads is 8-byte aligned and written with one 8-byte store
  (a memoryview cast to "Q" item assignment, or struct's native "Q": one `mov` on x86-64), so
  it is never seen torn;
- cursors only grow; the producer cursor P is the number of messages published (sequences
  0..P-1), consumer i's cursor C_i the number it has finished with; sequence s lives in slot
  s mod slots, so P - min(C_i over live consumers) <= slots at all times;
- `end` is 0 while the stream runs and final cursor + 1 once the producer closed it: one word
  carries both facts, so no reader has to order two loads to see the end of the stream.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Final

LINE: Final = 64
WORDS: Final = LINE // 8  # words per line
SLOT_HEADER: Final = 16
MAX_CONSUMERS: Final = 64  # the dependency mask is one word
MAGIC: Final = int.from_bytes(b"HFTRING1", "little")
VERSION: Final = 1
FLAG_CHECKSUM: Final = 1

# Line 0 (config) word indices.
CFG_MAGIC, CFG_VERSION, CFG_SLOTS, CFG_SLOT_SIZE, CFG_CONSUMERS, CFG_FLAGS = range(6)
# Producer and consumer line word indices (DEPS: consumers only; END: the producer only).
CURSOR, PID, START, HEARTBEAT, STATE, EXTRA, PARKED = range(7)
END = DEPS = EXTRA  # PARKED: 1 while the party sleeps on its doorbell (ring_bell.py)
# States of a party's line.
FREE, ACTIVE, CLOSED = 0, 1, 2
STATE_NAMES: Final = {FREE: "free", ACTIVE: "active", CLOSED: "closed"}


class RingError(Exception):
    """Misuse of a ring, or a ring that is not what it should be."""


class MessageTooLarge(RingError, ValueError):
    """A message longer than a slot's payload (`slot_size - 16` bytes)."""


class RingTimeout(RingError, TimeoutError):
    """A blocking call waited longer than its `timeout`."""


class WouldBlock(RingError):
    """A single-process ring with one thread would have to wait for itself (forever)."""


class RingCorrupted(RingError):
    """A slot holds something else than the message its sequence promised."""


class DeadConsumer(RingError):
    """A consumer that someone is waiting for will never advance: its process is gone, it closed,
    it never attached, or (with a stall timeout) it made no progress at all."""

    def __init__(self, index: int, pid: int, reason: str) -> None:
        super().__init__(f"consumer {index} (pid {pid}) {reason}")
        self.index, self.pid, self.reason = index, pid, reason


class DeadProducer(RingError):
    """The producer a consumer is waiting for will never publish again."""

    def __init__(self, pid: int, reason: str) -> None:
        super().__init__(f"producer (pid {pid}) {reason}")
        self.pid, self.reason = pid, reason


def producer_word(field: int) -> int:
    return WORDS + field


def consumer_word(index: int, field: int) -> int:
    return WORDS * (2 + index) + field


@dataclass(frozen=True)
class Geometry:
    slots: int
    slot_size: int
    consumers: int
    checksum: bool
    depends: tuple[tuple[int, ...], ...]  # depends[i]: the consumers consumer i reads behind

    @property
    def data_offset(self) -> int:
        return LINE * (2 + self.consumers)

    @property
    def size(self) -> int:
        return self.data_offset + self.slots * self.slot_size

    @property
    def max_message(self) -> int:
        return self.slot_size - SLOT_HEADER


def geometry(slots: int, slot_size: int, consumers: int,
             depends: Mapping[int, Sequence[int]] | Sequence[Sequence[int]] | None,
             checksum: bool) -> Geometry:
    """Check and normalise a ring's shape; dependencies as a mapping or one list per consumer."""
    if slots < 2 or slots & (slots - 1):
        raise ValueError(f"slots must be a power of two >= 2, not {slots}")
    if slot_size < SLOT_HEADER + 8 or slot_size % 8:
        raise ValueError(f"slot_size must be a multiple of 8 and at least {SLOT_HEADER + 8}, not {slot_size}")
    if not 1 <= consumers <= MAX_CONSUMERS:
        raise ValueError(f"consumers must be 1..{MAX_CONSUMERS}, not {consumers}")
    deps: list[tuple[int, ...]] = [() for _ in range(consumers)]
    items = depends.items() if isinstance(depends, Mapping) else enumerate(depends or ())
    for i, ds in items:
        if not 0 <= i < consumers:
            raise ValueError(f"dependencies given for consumer {i}, which does not exist")
        for d in ds:
            if not 0 <= d < consumers or d == i:
                raise ValueError(f"consumer {i} cannot depend on {d}")
        deps[i] = tuple(sorted(set(ds)))
    # Refuse cycles: a cycle of dependencies would never read anything.
    state = [0] * consumers  # 0 new, 1 on the path, 2 done

    def visit(i: int) -> None:
        state[i] = 1
        for d in deps[i]:
            if state[d] == 1:
                raise ValueError(f"dependency cycle through consumers {i} and {d}")
            if state[d] == 0:
                visit(d)
        state[i] = 2

    for i in range(consumers):
        if state[i] == 0:
            visit(i)
    return Geometry(slots, slot_size, consumers, checksum, tuple(deps))


def write_header(q: memoryview, g: Geometry) -> None:
    """Lay out a fresh (zeroed) region: config words, dependency masks, then the magic."""
    q[CFG_VERSION] = VERSION
    q[CFG_SLOTS] = g.slots
    q[CFG_SLOT_SIZE] = g.slot_size
    q[CFG_CONSUMERS] = g.consumers
    q[CFG_FLAGS] = FLAG_CHECKSUM if g.checksum else 0
    for i, ds in enumerate(g.depends):
        q[consumer_word(i, DEPS)] = sum(1 << d for d in ds)
    q[CFG_MAGIC] = MAGIC


def read_header(q: memoryview, available: int) -> Geometry:
    """The geometry of an initialised region of `available` bytes (RingError otherwise)."""
    if len(q) < WORDS or q[CFG_MAGIC] != MAGIC:
        raise RingError("not a ring buffer (no magic): wrong name, or not initialised yet")
    if q[CFG_VERSION] != VERSION:
        raise RingError(f"ring layout version {q[CFG_VERSION]}, this code reads {VERSION}")
    consumers = q[CFG_CONSUMERS]
    masks = [q[consumer_word(i, DEPS)] for i in range(consumers)]
    deps = [tuple(d for d in range(consumers) if m >> d & 1) for m in masks]
    g = geometry(q[CFG_SLOTS], q[CFG_SLOT_SIZE], consumers, deps, bool(q[CFG_FLAGS] & FLAG_CHECKSUM))
    if g.size > available:
        raise RingError(f"ring needs {g.size} bytes, the region has {available}")
    return g


def create_shm(name: str | None, size: int) -> SharedMemory:
    """A new shared-memory block (registered with the resource tracker: the creator owns it)."""
    return SharedMemory(name, create=True, size=size)


def attach_shm(name: str) -> SharedMemory:
    """An existing block, *not* registered with this process's resource tracker.

    Python < 3.13 registers every attach, so an unrelated process that attaches and exits
    would have its tracker unlink the block under everyone else's feet (bpo-39959); only the
    creator unlinks. 3.13 spells this `track=False`; before it, the registration of this one
    name is skipped for the duration of the call.
    """
    if sys.version_info >= (3, 13):  # pragma: no cover - the project runs on 3.11
        return SharedMemory(name, track=False)  # type: ignore[call-arg,unused-ignore]
    register = resource_tracker.register
    key = "/" + name if not name.startswith("/") else name

    def skip_ours(rname: str, rtype: str) -> None:
        if (rname, rtype) != (key, "shared_memory"):
            register(rname, rtype)

    setattr(resource_tracker, "register", skip_ours)  # noqa: B010 - a module attribute on purpose
    try:
        return SharedMemory(name)
    finally:
        setattr(resource_tracker, "register", register)  # noqa: B010


__all__ = [
    "LINE", "MAX_CONSUMERS", "SLOT_HEADER", "DeadConsumer", "DeadProducer", "Geometry", "MessageTooLarge",
    "RingCorrupted", "RingError", "RingTimeout", "WouldBlock",
]
