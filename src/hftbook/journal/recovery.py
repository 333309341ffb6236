"""Checkpoints and crash recovery: the newest valid checkpoint, then the journal after it.

A checkpoint `checkpoint-<seq>.json` holds the venue's whole state after command `seq` and its
state hash, written atomically (temporary file, fsync, rename, directory fsync), so a crash
leaves the old one or the new one, never half of one. `recover` loads the newest checkpoint
whose state restores to its recorded hash (an unreadable one is skipped for the one before),
then replays every journal record after it, checking each record's CRC and that sequence
numbers run on without a gap from segment to segment.

What a damaged log means:
- bad bytes at the end of the last segment with no good record after them: a torn tail (a
  crash mid-write); they were never acknowledged (an acknowledgement waits for the fsync that
  covers them), so they are cut off and recovery goes on;
- bad bytes anywhere with a good record after them, a gap in the sequence, a segment that is
  not where its name says: corruption. Recovery refuses with `CorruptJournal` naming the file
  and offset; `hftbook wal repair` cuts the log there, explicitly, when an operator decides to.

Invariants: recovery never skips a bad record to go on with later ones; the state it returns
is the state after every good record, in order; nothing is deleted except a torn tail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from hftbook.algo import Venue
from hftbook.journal.record import MAGIC, decode_command, scan, segment_first
from hftbook.journal.storage import Storage


class CorruptJournal(Exception):
    def __init__(self, name: str, offset: int, reason: str) -> None:
        super().__init__(f"{name} at byte {offset}: {reason}; the journal is damaged before its end "
                         f"(run `hftbook wal repair` to cut it there, losing what follows)")
        self.name = name
        self.offset = offset
        self.reason = reason


def checkpoint_name(seq: int) -> str:
    return f"checkpoint-{seq:020d}.json"


def checkpoint_seq(name: str) -> int | None:
    if name.startswith("checkpoint-") and name.endswith(".json") and name[11:-5].isdigit():
        return int(name[11:-5])
    return None


def write_checkpoint(storage: Storage, seq: int, venue: Venue, keep: int = 2) -> str:
    """Write the venue's state after command `seq`; keep the newest `keep` checkpoints and drop
    the segments every kept checkpoint has passed. The journal must be durable up to `seq`."""
    name = checkpoint_name(seq)
    body = {"format": 1, "seq": seq, "state_hash": venue.state_hash(), "state": venue.snapshot()}
    storage.write_atomic(name, json.dumps(body, separators=(",", ":"), default=str).encode())
    cps = sorted(s for s in (checkpoint_seq(n) for n in storage.names()) if s is not None)
    for old in cps[:-keep]:
        storage.remove(checkpoint_name(old))
    oldest = cps[-keep:][0]
    segs = sorted((f, n) for n in storage.names() if (f := segment_first(n)) is not None)
    for (_, n), (nxt, _) in pairwise(segs):
        if nxt <= oldest + 1:  # every record of this segment is at or before the checkpoint
            storage.remove(n)
    return name


@dataclass
class Recovered:
    venue: Venue
    next_seq: int  # the sequence number the next command gets
    checkpoint: int = 0  # the checkpoint's sequence number (0: started from nothing)
    replayed: int = 0  # records applied after it
    truncated: tuple[str, int] | None = None  # a torn tail cut off: (segment, new size)
    skipped: list[str] = field(default_factory=list)  # checkpoints that did not verify
    segment: str | None = None  # the last segment, to append to
    segment_size: int = 0


def _load_checkpoint(storage: Storage, name: str) -> tuple[int, Venue] | None:
    try:
        body = json.loads(storage.read(name))
        venue = Venue.restore(body["state"])
        if venue.state_hash() != body["state_hash"] or body["seq"] != checkpoint_seq(name):
            return None
        return int(body["seq"]), venue
    except Exception:  # any damage (a bad number, a missing key): skip it for an older one
        return None


def recover(storage: Storage, repair_tail: bool = True,
            progress: Callable[[int], Any] | None = None) -> Recovered:
    """The state after the last good record (see the module docstring). `progress` is
    called with the bytes of each segment read."""
    names = storage.names()
    result = Recovered(Venue(), 1)
    for cp in sorted((s for s in (checkpoint_seq(n) for n in names) if s is not None), reverse=True):
        loaded = _load_checkpoint(storage, checkpoint_name(cp))
        if loaded is None:
            result.skipped.append(checkpoint_name(cp))
            continue
        result.checkpoint, result.venue = loaded
        result.next_seq = result.checkpoint + 1
        break
    segs = sorted((f, n) for n in names if (f := segment_first(n)) is not None)
    # Start with the segment holding the first record after the checkpoint.
    start = 0
    while start + 1 < len(segs) and segs[start + 1][0] <= result.next_seq:
        start += 1
    if segs and segs[start][0] > result.next_seq:
        first, name = segs[start]
        raise CorruptJournal(name, 0, f"the log starts at {first} but the state needs {result.next_seq}")
    venue = result.venue
    i = start
    while i < len(segs):
        first, name = segs[i]
        data = storage.read(name)
        if progress is not None:
            progress(len(data))
        sc = scan(data, first)
        # The segments after this one that hold nothing (a crash can leave a new segment
        # empty or torn): a damaged tail followed only by them is still a torn tail.
        rest = segs[i + 1:]
        if first > result.next_seq:
            if not sc.records and not sc.resumes and _hollow(storage, rest):
                _drop(storage, [name] + [n for _, n in rest], result, repair_tail)
                break
            raise CorruptJournal(name, 0, f"sequence gap: {result.next_seq} .. {first - 1} missing")
        for rec in sc.records:
            if rec.seq >= result.next_seq:
                venue.replay(decode_command(rec.payload))
                result.replayed += 1
                result.next_seq = rec.seq + 1
        if sc.bad_offset is not None:
            if sc.resumes or not _hollow(storage, rest):
                raise CorruptJournal(name, sc.bad_offset, sc.reason)
            result.truncated = (name, sc.bad_offset)
            _drop(storage, [n for _, n in rest], result, repair_tail)
            if sc.bad_offset < len(MAGIC):  # not even a whole header: the segment held nothing
                if repair_tail:
                    storage.remove(name)
                break
            if repair_tail:
                storage.truncate(name, sc.bad_offset)
            result.segment, result.segment_size = name, sc.bad_offset
            break
        if not rest:
            result.segment, result.segment_size = name, len(data)
        i += 1
    return result


def _hollow(storage: Storage, segs: list[tuple[int, str]]) -> bool:
    """Do these segments hold no good record at all? (Read only when there is damage.)"""
    return all(not scan(storage.read(n), f).records for f, n in segs)


def _drop(storage: Storage, names: list[str], result: Recovered, repair: bool) -> None:
    """Segments past a torn tail hold no record: they go with it."""
    if names and result.truncated is None:
        result.truncated = (names[0], 0)
    if repair:
        for n in names:
            storage.remove(n)


__all__ = ["CorruptJournal", "Recovered", "checkpoint_name", "checkpoint_seq", "recover", "write_checkpoint"]
