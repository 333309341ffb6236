"""`hftbook wal inspect | verify | replay | export | repair DIR`: the journal's tools.

- `inspect`: segments (first and last sequence, records, bytes), checkpoints, damage found;
  reads and checks every record, changes nothing;
- `verify`: a full recovery without touching the files (a torn tail is reported, not cut):
  the newest checkpoint, the records after it, the final state hash; `--full` also replays
  the whole log from sequence 1 (when no segment was dropped) and requires the same hash;
- `replay`: the events of the journaled commands as JSON lines, exactly as `hftbook replay`
  prints them (from the first record; a compacted log starts at its oldest segment, after
  the matching checkpoint's state);
- `export`: the journaled commands as JSON lines, replayable with `hftbook replay` (a JSON
  number with a fraction is written as a decimal string: the protocol reads both alike);
- `repair`: where recovery refuses (damage with good records after it), cut the log at the
  damage: the segment is truncated there, later segments and the checkpoints past the cut
  are removed. It asks for `--yes`, and says how many records it would drop.

Exit status: 0 when the journal is sound, 1 when it is damaged or a check fails, 2 for usage
errors. A progress bar goes to stderr on a terminal or with `--progress`.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any, TextIO

from hftbook.algo import Venue
from hftbook.analysis.progress import Progress
from hftbook.journal.record import decode_command, scan, segment_first
from hftbook.journal.recovery import CorruptJournal, checkpoint_seq, recover
from hftbook.journal.storage import DiskStorage
from hftbook.replay import dump


def _segments(storage: DiskStorage) -> list[tuple[int, str]]:
    return sorted((f, n) for n in storage.names() if (f := segment_first(n)) is not None)


class _Quiet:
    """No progress bar (stderr is not a terminal and --progress was not given)."""

    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(args: argparse.Namespace, label: str, total: int) -> Progress | _Quiet:
    tty = sys.stderr.isatty()
    if not (tty or args.progress):
        return _Quiet()
    bar = Progress(sys.stderr, tty)
    bar.start(label, total)
    return bar


def _total(storage: DiskStorage) -> int:
    return sum(len(storage.read(n)) for _, n in _segments(storage))


def inspect(storage: DiskStorage, out: TextIO, args: argparse.Namespace) -> int:
    bad = 0
    segs = _segments(storage)
    bar = _progress(args, "inspect", _total(storage))
    done = 0
    rows = []
    for first, name in segs:
        data = storage.read(name)
        sc = scan(data, first)
        done += len(data)
        bar.update(done)
        last = sc.records[-1].seq if sc.records else None
        state = "ok"
        if sc.bad_offset is not None:
            where = "records follow" if sc.resumes else "tail"
            state = f"damaged at byte {sc.bad_offset} ({sc.reason}; {where})"
            bad += 1
        rows.append(f"{name}  seq {first} .. {last if last is not None else '-'}  {len(sc.records)} records  "
                    f"{len(data):,} bytes  {state}")
    bar.close()
    for row in rows:
        out.write(row + "\n")
    for n in storage.names():
        s = checkpoint_seq(n)
        if s is not None:
            out.write(f"{n}  after seq {s}  {len(storage.read(n)):,} bytes\n")
    out.write(f"{len(segs)} segments, {bad} damaged\n")
    return 1 if bad else 0


def verify(storage: DiskStorage, out: TextIO, args: argparse.Namespace) -> int:
    bar = _progress(args, "verify", _total(storage))
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        bar.update(done[0])

    try:
        rec = recover(storage, repair_tail=False, progress=step)
    except CorruptJournal as exc:
        bar.close()
        out.write(f"CORRUPT: {exc}\n")
        return 1
    bar.close()
    h = rec.venue.state_hash()
    out.write(f"checkpoint {rec.checkpoint or 'none'}; {rec.replayed} records replayed after it; "
              f"next sequence {rec.next_seq}\n")
    for name in rec.skipped:
        out.write(f"skipped checkpoint {name}: it does not restore to its state hash\n")
    if rec.truncated is not None:
        out.write(f"torn tail: {rec.truncated[0]} from byte {rec.truncated[1]} (recovery cuts it)\n")
    out.write(f"state hash {h}\n")
    if args.full:
        segs = _segments(storage)
        if not segs or segs[0][0] != 1:
            out.write("full replay impossible: the log no longer starts at sequence 1\n")
            return 1
        venue = Venue()
        for _seq, cmd in _commands(storage):
            venue.apply(cmd)
        same = venue.state_hash() == h
        out.write(f"full replay from sequence 1: {'same state hash' if same else 'DIFFERENT state hash'}\n")
        return 0 if same else 1
    return 0


def _commands(storage: DiskStorage) -> Any:
    for first, name in _segments(storage):
        sc = scan(storage.read(name), first)
        for r in sc.records:
            yield r.seq, decode_command(r.payload)
        if sc.bad_offset is not None:
            if sc.resumes:
                raise CorruptJournal(name, sc.bad_offset, sc.reason)
            return


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def export(storage: DiskStorage, out: TextIO, args: argparse.Namespace) -> int:
    try:
        for _seq, cmd in _commands(storage):
            out.write(json.dumps(_plain(cmd), separators=(",", ":")) + "\n")
    except CorruptJournal as exc:
        sys.stderr.write(f"hftbook wal export: {exc}\n")
        return 1
    return 0


def replay(storage: DiskStorage, out: TextIO, args: argparse.Namespace) -> int:
    segs = _segments(storage)
    venue = Venue()
    if segs and segs[0][0] != 1:
        cps = sorted(s for n in storage.names() if (s := checkpoint_seq(n)) is not None and s < segs[0][0])
        if not cps:
            sys.stderr.write("hftbook wal replay: the log does not start at 1 and no checkpoint covers it\n")
            return 1
        body = json.loads(storage.read(f"checkpoint-{cps[-1]:020d}.json"))
        venue = Venue.restore(body["state"])
        sys.stderr.write(f"hftbook wal replay: starting from checkpoint {cps[-1]}\n")
        start = cps[-1] + 1
    else:
        start = 1
    try:
        for seq, cmd in _commands(storage):
            if seq < start:
                continue
            for event in venue.apply(cmd):
                out.write(dump(event) + "\n")
    except CorruptJournal as exc:
        sys.stderr.write(f"hftbook wal replay: {exc}\n")
        return 1
    return 0


def repair(storage: DiskStorage, out: TextIO, args: argparse.Namespace) -> int:
    try:
        recover(storage, repair_tail=False)
        out.write("the journal is sound: nothing to repair (a torn tail is cut by recovery itself)\n")
        return 0
    except CorruptJournal as exc:
        name, offset = exc.name, exc.offset
    segs = _segments(storage)
    first = segment_first(name) or 0
    kept = scan(storage.read(name)[:offset], first).records if offset else []
    cut_seq = kept[-1].seq + 1 if kept else first
    later = [n for f, n in segs if f > first]
    dropped = len(storage.read(name)) - offset
    later_records = sum(len(scan(storage.read(n), f).records) for f, n in segs if f > first)
    out.write(f"damage in {name} at byte {offset}: cutting the log there drops its last {dropped:,} bytes "
              f"(sequence {cut_seq} on) and {len(later)} later segments ({later_records:,} records)\n")
    if not args.yes:
        out.write("run again with --yes to do it\n")
        return 1
    if offset:
        storage.truncate(name, offset)
    else:
        storage.remove(name)
    for n in later:
        storage.remove(n)
    for n in storage.names():
        s = checkpoint_seq(n)
        if s is not None and s >= cut_seq:
            storage.remove(n)
    rec = recover(storage, repair_tail=False)
    out.write(f"repaired: next sequence {rec.next_seq}, state hash {rec.venue.state_hash()}\n")
    return 0


COMMANDS = {"inspect": inspect, "verify": verify, "replay": replay, "export": export, "repair": repair}


def add_parser(sub: Any) -> None:
    """The `wal` subcommand for the hftbook CLI."""
    p = sub.add_parser("wal", help="inspect, verify, replay, export or repair a journal directory")
    p.add_argument("action", choices=sorted(COMMANDS))
    p.add_argument("directory")
    p.add_argument("--full", action="store_true", help="verify: also replay the whole log from sequence 1")
    p.add_argument("--yes", action="store_true", help="repair: really cut the log")
    p.add_argument("--progress", action="store_true", help="a progress bar on stderr, even off a terminal")


def run(args: argparse.Namespace) -> int:
    import os

    if not os.path.isdir(args.directory):
        sys.stderr.write(f"hftbook wal: {args.directory} is not a directory\n")
        return 2
    storage = DiskStorage(args.directory)
    try:
        return COMMANDS[args.action](storage, sys.stdout, args)
    finally:
        storage.close()


__all__ = ["COMMANDS", "add_parser", "run"]
