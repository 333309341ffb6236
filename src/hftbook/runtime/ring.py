"""A disruptor-style ring buffer of binary messages in shared memory (or in process).

One producer, any number of consumers, each with its own cursor; the producer never passes
the slowest live consumer (no unread slot is ever overwritten), and a consumer may read
behind other consumers (`depends`: e.g. the market-data publisher only reads what the journal
has made durable). Messages are bytes of up to `slot_size - 16` bytes, one a slot.

    ring = Ring.create("md", slots=4096, slot_size=128, consumers=2, depends={1: [0]})
    p = ring.producer()
    p.write_batch([b"a", b"b"])              # or: c = p.claim(2); c.put(0, ...); p.publish(c)
    # elsewhere: ring = Ring.attach("md"); c = ring.consumer(0)
    batch = c.read_batch(256)                # blocks; [] once the stream ended and was read
    ...; c.commit()                          # only now may others (and the producer) move on

`Ring.local(...)` is the same ring over a bytearray (tests, replay, threads).

Modules: this one (the region: create, attach, local, status), `ring_producer` (Producer,
Claim), `ring_consumer` (Consumer), `ring_party` (what both share: registration, waiting,
liveness), `ring_layout` (the bytes, the errors, shared memory), `ring_wait` (wait strategies,
process liveness). Everything public is importable from here.

Invariants (the layout and its words in `ring_layout`):
- sequence s is published (producer cursor > s) only after its slot holds the message, its
  length, its CRC and its stamp s + 1; a consumer reads a slot only below its bound (the
  producer cursor, or the minimum of its dependencies' cursors) and accepts it only if the stamp
  is s + 1 (and, with checksums, the CRC matches): a stale slot ends the batch early and is
  re-read, a slot stamped by a later lap is corruption (RingCorrupted), never a message;
- the producer claims sequence s only when s < min(cursor of every consumer not closed) +
  slots: consumers that have not attached yet count (they start at 0), closed ones do not;
- a consumer's cursor moves only on `commit`, so a dependent never sees what its dependency is
  still processing, and the producer never reuses a slot a consumer is still reading;
- every blocking call either returns, or raises: RingTimeout past its timeout, DeadConsumer /
  DeadProducer once whoever it waits for is found dead (checked every `liveness_interval`
  seconds of waiting), closed, or silent past `stall_timeout`; never a silent hang on a dead
  party. A single-threaded local ring raises WouldBlock instead of waiting for itself.

Memory ordering (details in docs/RING.md): CPython has no fences. On x86-64 (TSO) stores become
visible in program order and loads are not reordered with loads, so a reader that sees a
cursor sees every slot written before it: correct by construction. On weaker models (ARM,
POWER) that does not hold; there the ring turns per-slot CRC32 checksums on by default (a stale
or half-visible slot fails its stamp or CRC and is re-read), which makes message contents safe
without fences, short of a 2^-32 CRC collision.
"""

from __future__ import annotations

import platform
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

from hftbook.runtime.ring_bell import make_bells, remove_bells
from hftbook.runtime.ring_consumer import Consumer
from hftbook.runtime.ring_layout import (
    ACTIVE,
    CURSOR,
    END,
    HEARTBEAT,
    PID,
    START,
    STATE,
    STATE_NAMES,
    DeadConsumer,
    DeadProducer,
    Geometry,
    MessageTooLarge,
    RingCorrupted,
    RingError,
    RingTimeout,
    WouldBlock,
    attach_shm,
    consumer_word,
    create_shm,
    geometry,
    producer_word,
    read_header,
    write_header,
)
from hftbook.runtime.ring_producer import Claim, Producer
from hftbook.runtime.ring_wait import BusySpin, Park, Sleep, WaitStrategy, Yield, alive, wait_strategy

_TSO_MACHINES = frozenset({"x86_64", "amd64", "i386", "i486", "i586", "i686", "x86"})
Depends = Mapping[int, Sequence[int]] | Sequence[Sequence[int]] | None


def default_checksum() -> bool:
    """Per-slot CRCs by default only where the hardware may reorder stores (not x86)."""
    return platform.machine().lower() not in _TSO_MACHINES


def _view(shm: SharedMemory) -> memoryview:
    if shm.buf is None:  # pragma: no cover - closed
        raise RingError("shared memory block is closed")
    return shm.buf


class Ring:
    """A ring buffer region: shared memory (create / attach by name) or a local bytearray."""

    def __init__(self, buf: memoryview, g: Geometry, shm: SharedMemory | None, owner: bool) -> None:
        # Views first: at teardown they are released before the SharedMemory closes.
        self._buf = buf
        self._q = buf.cast("Q")
        self.geometry = g
        self.slot_struct = struct.Struct(f"=QII{g.max_message}s")
        self.header_struct = struct.Struct("=QII")
        self.in_process = shm is None
        self.owner = owner
        self._shm = shm
        self._closed = False
        self.name: str | None = shm.name if shm is not None else None

    @classmethod
    def create(cls, name: str | None = None, *, slots: int = 4096, slot_size: int = 128, consumers: int = 1,
               depends: Depends = None, checksum: bool | None = None) -> Ring:
        """A new ring in a new shared-memory block (`name` None: a random one, see `.name`)."""
        checksum = default_checksum() if checksum is None else checksum
        g = geometry(slots, slot_size, consumers, depends, checksum)
        shm = create_shm(name, g.size)
        try:
            buf = _view(shm)[:g.size]
            q = buf.cast("Q")
            write_header(q, g)
            q.release()
            make_bells(shm.name, consumers)
        except BaseException:
            remove_bells(shm.name, consumers)
            shm.close()
            shm.unlink()
            raise
        return cls(buf, g, shm, owner=True)

    @classmethod
    def attach(cls, name: str) -> Ring:
        """An existing ring by name (this process will not unlink it)."""
        shm = attach_shm(name)
        try:
            whole = _view(shm)[:shm.size // 8 * 8]
            q = whole.cast("Q")
            try:
                g = read_header(q, len(whole))
            finally:
                q.release()
                whole.release()
            buf = _view(shm)[:g.size]
        except BaseException:
            shm.close()
            raise
        return cls(buf, g, shm, owner=False)

    @classmethod
    def local(cls, *, slots: int = 4096, slot_size: int = 128, consumers: int = 1, depends: Depends = None,
              checksum: bool = False) -> Ring:
        """The same ring over a bytearray of this process (single process: tests, replay, threads)."""
        g = geometry(slots, slot_size, consumers, depends, checksum)
        buf = memoryview(bytearray(g.size))
        q = buf.cast("Q")
        write_header(q, g)
        q.release()
        return cls(buf, g, None, owner=True)

    @property
    def slots(self) -> int:
        return self.geometry.slots

    @property
    def max_message(self) -> int:
        return self.geometry.max_message

    def producer(self, *, wait: str | WaitStrategy | None = None, liveness_interval: float = 0.25,
                 stall_timeout: float | None = None) -> Producer:
        """Become the ring's producer (RingError if a live one exists; a dead one is taken over)."""
        return Producer(self, wait_strategy(wait), liveness_interval, stall_timeout)

    def consumer(self, index: int, *, wait: str | WaitStrategy | None = None, liveness_interval: float = 0.25,
                 stall_timeout: float | None = None) -> Consumer:
        """Become consumer `index` (resumes at its cursor; a dead previous holder is taken over)."""
        if not 0 <= index < self.geometry.consumers:
            raise ValueError(f"no consumer {index}: the ring has {self.geometry.consumers}")
        return Consumer(self, index, wait_strategy(wait), liveness_interval, stall_timeout)

    def status(self) -> RingStatus:
        """A snapshot of every party's line (for monitoring and tests)."""
        q = self._q

        def party(base: int) -> PartyStatus:
            state, pid = q[base + STATE], q[base + PID]
            return PartyStatus(q[base + CURSOR], pid, STATE_NAMES.get(state, str(state)), q[base + HEARTBEAT],
                               state == ACTIVE and alive(pid, q[base + START]))

        end = q[producer_word(END)]
        return RingStatus(q[producer_word(CURSOR)], end - 1 if end else None, party(producer_word(0)),
                          tuple(party(consumer_word(i, 0)) for i in range(self.geometry.consumers)))

    def close(self) -> None:
        """Unmap this process's view; the ring is unusable here afterwards. Memoryviews from
        `read_views` must be released first: if one is alive, RingError, and the block stays
        mapped until they are released and close() is called again."""
        if self._closed:
            return
        self._q.release()
        self._buf.release()
        if self._shm is not None:
            try:
                self._shm.close()
            except BufferError as exc:
                raise RingError("memoryviews of the ring are still alive: release them, close again") from exc
        self._closed = True

    def unlink(self) -> None:
        """Remove the shared-memory name and the doorbells (the creator's job; mappings stay
        valid until closed)."""
        if self._shm is not None:
            remove_bells(self._shm.name, self.geometry.consumers)
            self._shm.unlink()

    def __enter__(self) -> Ring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        if self.owner:
            self.unlink()


@dataclass(frozen=True)
class PartyStatus:
    cursor: int
    pid: int
    state: str
    heartbeat: int
    alive: bool


@dataclass(frozen=True)
class RingStatus:
    published: int
    end: int | None  # the final cursor once the producer closed the stream
    producer: PartyStatus
    consumers: tuple[PartyStatus, ...]


__all__ = [
    "BusySpin", "Claim", "Consumer", "DeadConsumer", "DeadProducer", "MessageTooLarge", "Park", "PartyStatus",
    "Producer", "Ring", "RingCorrupted", "RingError", "RingStatus", "RingTimeout", "Sleep", "WaitStrategy",
    "WouldBlock", "Yield", "default_checksum", "wait_strategy",
]
