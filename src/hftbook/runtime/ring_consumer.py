"""A reader of the ring with its own cursor: batch reads, commits (`hftbook.runtime.ring`).

Invariants:
- a consumer reads only below its bound (the producer cursor, or the minimum cursor of the
  consumers it depends on) and accepts slot s only if its stamp is s + 1 (and, with
  checksums, its CRC matches): a slot that does not look published yet ends the batch and is
  re-read (RingCorrupted after SETTLE_S), a slot stamped by a later lap is RingCorrupted;
- its cursor moves only on `commit`, one 8-byte store, and never past what it read;
- `read_batch` returns [] only at the end of the stream (or, not blocking, when nothing is
  there): `finished` tells which.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING

from hftbook.runtime.ring_layout import (
    ACTIVE,
    CLOSED,
    CURSOR,
    END,
    FREE,
    HEARTBEAT,
    PARKED,
    PID,
    SLOT_HEADER,
    START,
    STATE,
    DeadProducer,
    RingCorrupted,
    RingError,
    consumer_word,
    producer_word,
)
from hftbook.runtime.ring_party import Party
from hftbook.runtime.ring_wait import WaitStrategy, alive

if TYPE_CHECKING:
    from hftbook.runtime.ring import Ring

SETTLE_S = 1.0  # how long a published slot may stay invisible before it counts as corrupt


class Consumer(Party):
    """One reader with its own cursor: read a batch, process it, commit it."""

    def __init__(self, ring: Ring, index: int, wait: WaitStrategy, interval: float,
                 stall: float | None) -> None:
        super().__init__(ring, consumer_word(index, 0), f"consumer {index}", wait, interval, stall,
                         bell=f"c{index}")
        self.index = index
        self.depends = ring.geometry.depends[index]
        # Committing wakes the consumers that read behind this one, and the producer.
        deps = ring.geometry.depends
        self._wake_on_move([(consumer_word(j, PARKED), f"c{j}") for j in range(len(deps)) if index in deps[j]]
                           + [(producer_word(PARKED), "p")])
        self._iter = ring.slot_struct.iter_unpack
        self._unpack_header = ring.header_struct.unpack_from
        self._cap = ring.geometry.max_message
        self._cw = consumer_word(index, CURSOR)
        self._pw, self._endw = producer_word(CURSOR), producer_word(END)
        self._bounds = tuple(consumer_word(d, CURSOR) for d in self.depends) or (self._pw,)
        self.cursor = self._q[self._cw]
        self._pending = 0

    def _poll(self) -> int:
        """Messages readable now (> 0), -1 at the end of the stream, else 0."""
        q, ws = self._q, self._bounds
        bound = q[ws[0]] if len(ws) == 1 else min([q[w] for w in ws])
        if bound > self.cursor:
            return bound - self.cursor
        end = q[self._endw]
        return -1 if end and self.cursor >= end - 1 else 0

    def _check(self, now: float) -> None:
        q, me = self._q, self.cursor
        why = f"consumer {self.index} depends on it"
        blockers = [b for d in self.depends if (b := self._blocking_consumer(d, me + 1, why))]
        if q[self._pw] <= me:  # caught up with the producer: is it still there?
            line = producer_word(0)
            state, pid = q[line + STATE], q[line + PID]
            if state == ACTIVE and not alive(pid, q[line + START]):
                raise DeadProducer(pid, f"is gone (its process died) at cursor {q[self._pw]}")
            if self._stalled(now, (blockers, q[self._pw], q[line + HEARTBEAT], state)):
                raise DeadProducer(pid, "never attached" if state == FREE
                                   else f"published nothing for {self._stall} s")
        elif self._stalled(now, blockers) and blockers:
            self._raise_stall(blockers)

    def _ready(self, max_messages: int, timeout: float | None, block: bool) -> int:
        if self._pending:
            raise RingError("commit() the previous batch first")
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        r = self._poll()
        if r == 0 and block:
            r = self._block(self._poll, self._deadline(timeout))
        return min(r, max_messages) if r > 0 else 0

    @property
    def finished(self) -> bool:
        """The producer closed the stream and this consumer has read all of it."""
        return self._poll() == -1

    @property
    def lag(self) -> int:
        """Published messages this consumer has not committed."""
        return self._q[self._pw] - self.cursor

    def read_batch(self, max_messages: int = 1024, *, timeout: float | None = None,
                   block: bool = True) -> list[bytes]:
        """Up to `max_messages` messages as bytes (copies); waits for at least one unless
        `block` is False. [] at the end of the stream (or, not blocking, when there is nothing)."""
        k = self._ready(max_messages, timeout, block)
        if not k:
            return []
        out: list[bytes] = []
        seq = self.cursor
        slot = seq & self._mask
        first = min(k, self._slots - slot)
        got = self._segment(out, slot, first, seq)
        if got == first < k:
            got += self._segment(out, 0, k - first, seq + first)
        if not got:
            self._settle(seq)
            return self.read_batch(max_messages, timeout=timeout, block=block)
        self._pending = got
        return out

    def _segment(self, out: list[bytes], slot: int, count: int, seq: int) -> int:
        """Append the messages of `count` contiguous slots from `slot`; how many were valid."""
        a = self._base + slot * self._ss
        expect, append = seq + 1, out.append
        stamp = expect
        if self._checksum:
            crc32 = zlib.crc32
            for stamp, n, crc, payload in self._iter(self._buf[a:a + count * self._ss]):
                if stamp != expect or crc32(payload[:n]) != crc:
                    break
                append(payload[:n])
                expect += 1
        else:
            for stamp, n, _, payload in self._iter(self._buf[a:a + count * self._ss]):
                if stamp != expect:
                    break
                append(payload[:n])
                expect += 1
        if stamp > expect:
            raise RingCorrupted(f"slot of sequence {expect - 1} holds sequence {stamp - 1}: overwritten")
        return expect - seq - 1

    def read_views(self, max_messages: int = 1024, *, timeout: float | None = None,
                   block: bool = True) -> list[memoryview]:
        """Like `read_batch`, as zero-copy memoryviews of the slots: valid until `commit()`
        (after it the producer may overwrite them); release them before closing the ring."""
        k = self._ready(max_messages, timeout, block)
        out: list[memoryview] = []
        seq, buf, unpack = self.cursor, self._buf, self._unpack_header
        for s in range(seq, seq + k):
            off = self._base + (s & self._mask) * self._ss
            stamp, n, crc = unpack(buf, off)
            view = buf[off + SLOT_HEADER:off + SLOT_HEADER + min(n, self._cap)]
            if stamp != s + 1 or (self._checksum and zlib.crc32(view) != crc):
                if stamp > s + 1:
                    raise RingCorrupted(f"slot of sequence {s} holds sequence {stamp - 1}: overwritten")
                break
            out.append(view)
        if k and not out:
            self._settle(seq)
            return self.read_views(max_messages, timeout=timeout, block=block)
        self._pending = len(out)
        return out

    def _settle(self, seq: int) -> None:
        """A published slot that does not look published yet (only possible where stores are
        reordered): wait for it, for SETTLE_S at most."""
        off = self._base + (seq & self._mask) * self._ss
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            stamp, n, crc = self._unpack_header(self._buf, off)
            payload = self._buf[off + SLOT_HEADER:off + SLOT_HEADER + min(n, self._cap)]
            if stamp == seq + 1 and (not self._checksum or zlib.crc32(payload) == crc):
                return
            if stamp > seq + 1:
                break
            time.sleep(0)
        raise RingCorrupted(f"sequence {seq} is published but its slot never showed it")

    def commit(self, count: int | None = None) -> int:
        """Done with the last batch (or its first `count` messages; the rest is read again):
        dependents and the producer may move past it. The cursor after."""
        n = self._pending if count is None else count
        if not 0 <= n <= self._pending:
            raise ValueError(f"commit of {n} messages, the batch has {self._pending}")
        self._pending = 0
        if n:
            self.cursor += n
            self._q[self._cw] = self.cursor
            self._wake()
        return self.cursor

    def close(self) -> None:
        """Leave: the producer stops waiting for this consumer (dependents of it will raise)."""
        self._pending = 0
        self._q[self._line + STATE] = CLOSED
        self._wake()  # a producer or dependent waiting on this consumer re-checks it
        self._leave()


__all__ = ["Consumer"]
