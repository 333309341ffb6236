"""A venue behind a write-ahead log: recover at start, journal every command, group commit.

`JournaledVenue.process(batch)` gives each command of the batch its sequence number, appends
it to the journal, applies it to the venue (the core is deterministic, so applying before the
fsync is safe: nothing of it leaves this object yet), then commits the batch and only then
returns the batch's events: under fsync `batch` no acknowledgement, fill or market data of a
command can reach anyone before the command is durable. A failed write or fsync raises
`JournalFailed` and the object refuses all further batches: the process must stop.

Checkpoints are taken every `checkpoint_every` commands (0: never), after a commit that
covers them, so a checkpoint never holds a command the journal could lose.

Invariants: the venue's state is always the journal's commands applied in sequence order; a
recovered JournaledVenue continues the same sequence; nothing here reads a clock except the
journal's `interval` policy and the commit timer kept for metrics.
"""

from __future__ import annotations

import time
from typing import Any

from hftbook.algo.engine import Event
from hftbook.core.types import MAX_UNITS
from hftbook.journal.recovery import Recovered, recover, write_checkpoint
from hftbook.journal.storage import Storage
from hftbook.journal.wal import DEFAULT_SEGMENT_BYTES, Journal, JournalFailed


class JournaledVenue:
    def __init__(self, storage: Storage, fsync: str = "batch", checkpoint_every: int = 0,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES, interval_ms: float = 10.0) -> None:
        self.storage = storage
        self.recovered: Recovered = recover(storage)
        self.venue = self.recovered.venue
        self.journal = Journal(storage, self.recovered.next_seq, fsync, segment_bytes, interval_ms,
                               segment=self.recovered.segment, segment_size=self.recovered.segment_size)
        self.checkpoint_every = checkpoint_every
        self._since_checkpoint = 0
        self.last_commit_ns = 0  # how long the last batch's commit took (metrics)

    def process(self, batch: list[Any]) -> list[list[Event]]:
        """Journal and apply a batch; the events of each command, once the batch is committed."""
        journal = self.journal
        venue = self.venue
        out: list[list[Event]] = []
        try:
            for cmd in batch:
                ts = cmd.get("ts") if isinstance(cmd, dict) else None
                journal.append(ts if type(ts) is int and 0 <= ts <= MAX_UNITS else venue.now, cmd)
                out.append(venue.apply(cmd))
        except BaseException as exc:
            # Part of the batch is applied and buffered but will never be answered: the
            # journal and the venue no longer match what clients were told. Stop here.
            journal.failed = exc
            raise JournalFailed(f"a command of the batch failed: {exc!r}") from exc
        t0 = time.perf_counter_ns()
        journal.commit()
        self.last_commit_ns = time.perf_counter_ns() - t0
        self._since_checkpoint += len(batch)
        if self.checkpoint_every and self._since_checkpoint >= self.checkpoint_every:
            self.checkpoint()
        return out

    @property
    def last_seq(self) -> int:
        return self.journal.next_seq - 1

    def checkpoint(self) -> str:
        """Make the journal durable, then write a checkpoint of the state after it."""
        self.journal.close()  # commit and fsync whatever the policy
        self._since_checkpoint = 0
        return write_checkpoint(self.storage, self.last_seq, self.venue)

    def close(self) -> None:
        self.journal.close()


__all__ = ["JournaledVenue"]
