"""The write-ahead log: sequenced commands appended to segment files, made durable in batches.

`append(ts, cmd)` gives a command its sequence number and buffers its record; `commit()`
writes what is buffered and, by the sync policy, makes it durable:

- `batch` (group commit): one fsync per `commit`; when it returns, every command appended so
  far survives a crash or power loss. The caller holds back each command's acknowledgements,
  fills and market data until the `commit` after it (`durable_seq` tells how far that is).
- `interval`: fsync at a commit when at least `interval_ms` passed since the last one (and at
  `close`); a crash loses at most that long of acknowledged commands.
- `none`: never fsync (the OS writes back when it likes); a crash of the process loses
  nothing written, a power loss can lose anything not yet written back.

Segments rotate at record boundaries once they reach `segment_bytes`; a new segment's name
carries its first sequence number. A failed write or fsync is fatal: the journal raises
`JournalFailed` and refuses all further work, since after a failed fsync the kernel may have
dropped the data and carrying on could acknowledge what is lost.

Invariants: sequence numbers are consecutive across segments; `durable_seq` only grows and
never passes what an fsync covered; `ack_seq` is `durable_seq` under `batch`; nothing here
interprets a command.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hftbook.journal.record import MAGIC, encode_command, frame, segment_name
from hftbook.journal.storage import Storage

POLICIES = ("batch", "interval", "none")
DEFAULT_SEGMENT_BYTES = 16 << 20


class JournalFailed(RuntimeError):
    """A write or fsync failed: the journal is unusable and the process must stop."""


class Journal:
    def __init__(self, storage: Storage, next_seq: int = 1, fsync: str = "batch",
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES, interval_ms: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, segment: str | None = None,
                 segment_size: int = 0) -> None:
        """`segment`/`segment_size`: the last existing segment to go on appending to (from
        recovery), else the first append starts a new one."""
        if fsync not in POLICIES:
            raise ValueError(f"fsync must be one of {POLICIES}, not {fsync!r}")
        self.storage = storage
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self.interval = interval_ms / 1000
        self.clock = clock
        self.next_seq = next_seq
        self.durable_seq = next_seq - 1
        self.written_seq = next_seq - 1
        self.segment = segment
        self.size = segment_size
        self._pending: list[tuple[str, bytearray]] = []  # (segment, bytes) not yet written
        self._unsynced: list[str] = []  # segments written since their last fsync, oldest first
        self._last_sync = clock()
        self.failed: BaseException | None = None
        self.syncs = 0

    def append(self, ts: int, cmd: object) -> int:
        """Buffer a command's record; returns its sequence number."""
        return self.append_payload(ts, encode_command(cmd))

    def append_payload(self, ts: int, payload: bytes) -> int:
        """`append` of a command already encoded (`encode_command`): the pipeline's journal
        process writes the gateway's bytes as they came."""
        self._check()
        seq = self.next_seq
        record = frame(seq, ts, payload)
        if self.segment is None or self.size >= self.segment_bytes:
            self.segment = segment_name(seq)
            self.size = len(MAGIC)
            self._pending.append((self.segment, bytearray(MAGIC)))
        elif not self._pending or self._pending[-1][0] != self.segment:
            self._pending.append((self.segment, bytearray()))
        self._pending[-1][1].extend(record)
        self.size += len(record)
        self.next_seq = seq + 1
        return seq

    @property
    def ack_seq(self) -> int:
        """How far commands may be acknowledged: what an fsync covered under `batch`, what
        was written under `interval` and `none` (their documented, weaker promises)."""
        return self.durable_seq if self.fsync == "batch" else self.written_seq

    def commit(self) -> int:
        """Write the buffered records, fsync as the policy says; returns `ack_seq`."""
        self._check()
        try:
            for name, data in self._pending:
                self.storage.append(name, bytes(data))
                if name not in self._unsynced:
                    self._unsynced.append(name)
            self._pending.clear()
            self.written_seq = self.next_seq - 1
            if self.fsync == "batch" or (self.fsync == "interval" and
                                         self.clock() - self._last_sync >= self.interval):
                self._sync()
        except OSError as exc:
            self.failed = exc
            raise JournalFailed(f"journal write or fsync failed: {exc}") from exc
        return self.ack_seq

    def _sync(self) -> None:
        for name in self._unsynced:
            self.storage.sync(name)
            self.syncs += 1
        self._unsynced.clear()
        self._last_sync = self.clock()
        self.durable_seq = self.written_seq

    def close(self) -> None:
        """Commit what is buffered and fsync it, whatever the policy. After a failure it
        raises `JournalFailed` again: nothing may be built on a journal that lost data."""
        self._check()
        if self.failed is None:
            self.commit()
            if self._unsynced:
                try:
                    self._sync()
                except OSError as exc:
                    self.failed = exc
                    raise JournalFailed(f"journal fsync failed: {exc}") from exc

    def _check(self) -> None:
        if self.failed is not None:
            raise JournalFailed(f"the journal failed earlier ({self.failed}); restart and recover")


__all__ = ["DEFAULT_SEGMENT_BYTES", "POLICIES", "Journal", "JournalFailed"]
