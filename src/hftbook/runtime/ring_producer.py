"""The ring's single writer: batch writes, claims, end of stream (`hftbook.runtime.ring`).

Invariants:
- sequence s is written only while s < min(cursor of every consumer not closed) + slots (the
  gate, cached as `_limit` and re-read only when the cached room is not enough), so no slot a
  live consumer has not committed is ever overwritten;
- a slot is written whole (stamp s + 1, length, CRC or 0, payload, zero padding) by one
  `pack_into` before the producer cursor store that publishes it; the cursor is one 8-byte
  store per step of a batch;
- `published` is the shared cursor; `_next` exceeds it only while a claim is open, and only
  one claim can be open; a closed stream (`end` = published + 1) never reopens.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hftbook.runtime.ring_layout import (
    ACTIVE,
    CLOSED,
    CURSOR,
    END,
    FREE,
    PARKED,
    PID,
    SLOT_HEADER,
    START,
    STATE,
    MessageTooLarge,
    RingError,
    consumer_word,
    producer_word,
)
from hftbook.runtime.ring_party import Party
from hftbook.runtime.ring_wait import WaitStrategy, alive

if TYPE_CHECKING:
    from hftbook.runtime.ring import Ring


class Claim:
    """Slots reserved by `Producer.claim`: fill each (put, or buffer + set_size), then publish."""

    __slots__ = ("_filled", "_p", "count", "start")

    def __init__(self, producer: Producer, start: int, count: int) -> None:
        self._p, self.start, self.count = producer, start, count
        self._filled = bytearray(count)

    def _offset(self, i: int) -> int:
        if not 0 <= i < self.count:
            raise IndexError(f"claim slot {i} out of 0..{self.count - 1}")
        p = self._p
        return p._base + ((self.start + i) & p._mask) * p._ss

    def put(self, i: int, data: bytes) -> None:
        """Copy `data` into the claim's slot i."""
        off, p = self._offset(i), self._p
        if len(data) > p._cap:
            raise MessageTooLarge(f"message of {len(data)} bytes, slots hold {p._cap}")
        p._pack(p._buf, off, self.start + i + 1, len(data), zlib.crc32(data) if p._checksum else 0, data)
        self._filled[i] = 1

    def buffer(self, i: int) -> memoryview:
        """The writable payload of slot i (zero copy); then `set_size(i, n)`. Drop it before publishing."""
        off = self._offset(i)
        return self._p._buf[off + SLOT_HEADER:off + self._p._ss]

    def set_size(self, i: int, n: int) -> None:
        """Slot i holds the first n bytes of its `buffer(i)`."""
        off, p = self._offset(i), self._p
        if not 0 <= n <= p._cap:
            raise MessageTooLarge(f"message of {n} bytes, slots hold {p._cap}")
        crc = zlib.crc32(p._buf[off + SLOT_HEADER:off + SLOT_HEADER + n]) if p._checksum else 0
        p.ring.header_struct.pack_into(p._buf, off, self.start + i + 1, n, crc)
        self._filled[i] = 1


class Producer(Party):
    """The single writer. Blocking calls wait for the slowest live consumer (never overwrite)."""

    def __init__(self, ring: Ring, wait: WaitStrategy, interval: float, stall: float | None) -> None:
        super().__init__(ring, producer_word(0), "the producer", wait, interval, stall, bell="p")
        g = ring.geometry
        # Publishing wakes the consumers that read right behind the producer.
        self._wake_on_move([(consumer_word(i, PARKED), f"c{i}") for i in range(g.consumers)
                            if not g.depends[i]])
        self._pack = ring.slot_struct.pack_into
        self._cap = g.max_message
        self._cw = producer_word(CURSOR)
        self._gating = [(consumer_word(i, CURSOR), consumer_word(i, STATE)) for i in range(g.consumers)]
        self._next = self.published = self._q[self._cw]  # _next > published only while a claim is open
        self._limit = 0  # sequences below it are free to write (cached gate + slots)
        self._need = 0  # while blocked: the gate we wait for
        self._claim: Claim | None = None

    def _gate(self) -> int | None:
        """The lowest cursor of the consumers not closed (None: all closed)."""
        q, low = self._q, -1
        for cw, sw in self._gating:
            if q[sw] != CLOSED:
                c = q[cw]
                if low < 0 or c < low:
                    low = c
        return None if low < 0 else low

    def _room(self, seq: int) -> int:
        gate = self._gate()
        self._limit = (seq if gate is None else gate) + self._slots
        return self._limit - seq

    def _await_room(self, seq: int, n: int, deadline: float | None) -> int:
        self._need = seq + n - self._slots
        return self._block(lambda: max(0, self._room(seq) - n + 1), deadline) + n - 1

    def _check(self, now: float) -> None:
        blockers = [b for i in range(len(self._gating)) if (b := self._blocking_consumer(i, self._need, ""))]
        if self._stalled(now, blockers) and blockers:
            self._raise_stall(blockers)

    def write(self, message: bytes, timeout: float | None = None) -> int:
        """Publish one message; the producer cursor after it."""
        return self.write_batch((message,), timeout)

    def write_batch(self, messages: Sequence[bytes], timeout: float | None = None) -> int:
        """Publish messages in order, as many a step as there is room; the producer cursor after.
        `timeout` counts from the first wait. If waiting raises (RingTimeout, DeadConsumer), the
        messages below `published` went out and the rest did not."""
        if self._claim is not None:
            raise RingError("publish the open claim first")
        total = len(messages)
        if total and max(map(len, messages)) > self._cap:
            n = next(len(m) for m in messages if len(m) > self._cap)
            raise MessageTooLarge(f"message of {n} bytes, slots hold {self._cap}: nothing written")
        pack, buf, mask, ss, base = self._pack, self._buf, self._mask, self._ss, self._base
        q, cw = self._q, self._cw
        crc32, checksum = zlib.crc32, self._checksum
        deadline: float | None = None
        seq, i = self._next, 0
        while i < total:
            room = self._limit - seq
            if room < total - i:
                room = self._room(seq)
                if room <= 0:
                    if deadline is None and timeout is not None:
                        deadline = self._deadline(timeout)
                    room = self._await_room(seq, 1, deadline)
            end = min(total, i + room)
            chunk = messages if i == 0 and end == total else messages[i:end]
            if checksum:
                for m in chunk:
                    pack(buf, base + (seq & mask) * ss, seq + 1, len(m), crc32(m), m)
                    seq += 1
            else:
                for m in chunk:
                    pack(buf, base + (seq & mask) * ss, seq + 1, len(m), 0, m)
                    seq += 1
            i = end
            q[cw] = seq  # publish: the slots above were written before this store
            self._next = self.published = seq
            self._wake()
        return seq

    def try_write_batch(self, messages: Sequence[bytes]) -> int:
        """Publish as many of `messages` as fit now without waiting; how many."""
        room = self._room(self._next)
        if room <= 0:
            return 0
        before = self.published
        self.write_batch(messages[:room])
        return self.published - before

    def claim(self, n: int, timeout: float | None = None) -> Claim:
        """Reserve the next n slots (1..slots), waiting for room; fill them, then `publish`."""
        if self._claim is not None:
            raise RingError("publish the open claim first")
        if not 1 <= n <= self._slots:
            raise ValueError(f"claim 1..{self._slots} slots, not {n}")
        seq = self._next
        if self._limit - seq < n and self._room(seq) < n:
            self._await_room(seq, n, self._deadline(timeout))
        self._claim = Claim(self, seq, n)
        self._next = seq + n
        return self._claim

    def publish(self, claim: Claim, count: int | None = None) -> int:
        """Publish the first `count` (all) slots of the claim, which must be filled; the rest is
        given back. The producer cursor after."""
        if claim is not self._claim:
            raise RingError("not the open claim of this producer")
        count = claim.count if count is None else count
        if not 0 <= count <= claim.count or not all(claim._filled[:count]):
            raise RingError(f"publish of {count} slots: each must be filled first")
        self._claim = None
        self._next = self.published = claim.start + count
        self._q[self._cw] = self.published
        self._wake()
        return self.published

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every consumer not closed has committed everything published."""
        self._need = target = self.published
        self._block(lambda: int((g := self._gate()) is None or g >= target), self._deadline(timeout))

    def wait_for_consumers(self, timeout: float | None = None) -> None:
        """Wait until every consumer has attached (or closed)."""
        self._need = 0
        states = [sw for _, sw in self._gating]
        self._block(lambda: int(all(self._q[sw] != FREE for sw in states)), self._deadline(timeout))

    def evict(self, index: int) -> None:
        """Close a consumer that is gone, so it gates no more (its dependents will then raise)."""
        base = consumer_word(index, 0)
        if self._q[base + STATE] == ACTIVE and alive(self._q[base + PID], self._q[base + START]):
            raise RingError(f"consumer {index} is alive; it must close itself")
        self._q[base + STATE] = CLOSED
        self._limit = 0

    def close(self) -> None:
        """End the stream: consumers read what is published, then get []. An open claim is dropped."""
        q = self._q
        if q[self._line + STATE] == CLOSED:
            return
        self._claim = None
        self._next = self.published
        q[producer_word(END)] = self.published + 1
        q[self._line + STATE] = CLOSED
        self._wake()  # readers parked at the end of the stream
        self._leave()


__all__ = ["Claim", "Producer"]
