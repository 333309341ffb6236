"""A journaled venue as a process: JSON command lines in, acknowledgements out.

    python -m hftbook.journal.runner DIR [--fsync batch|interval|none] [--batch N]
                                         [--checkpoint-every N] [--segment-bytes N]

Recovers DIR (printing `recovered <next seq> <state hash>`), then reads commands from stdin,
one JSON object a line; the complete lines of each read are processed in batches of up to N:
journaled, applied, committed, and then `ack <last seq>` is printed: every command up to that
sequence number is acknowledged. Under fsync `batch` an `ack` is printed only after the fsync
that makes the batch durable. At end of input it prints `done <last seq> <state hash>`. The
crash tests kill it with SIGKILL at random moments.

Invariants: one line out per batch, flushed at once; nothing is acknowledged before
`JournaledVenue.process` returned (that is, before the commit).
"""

from __future__ import annotations

import argparse
import os
import sys

from hftbook.journal.storage import DiskStorage
from hftbook.journal.wal import DEFAULT_SEGMENT_BYTES, POLICIES
from hftbook.replay import parse_line
from hftbook.runtime.journaled import JournaledVenue


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hftbook.journal.runner")
    p.add_argument("directory")
    p.add_argument("--fsync", choices=POLICIES, default="batch")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--checkpoint-every", type=int, default=0)
    p.add_argument("--segment-bytes", type=int, default=DEFAULT_SEGMENT_BYTES)
    args = p.parse_args(argv)
    storage = DiskStorage(args.directory)
    jv = JournaledVenue(storage, args.fsync, args.checkpoint_every, args.segment_bytes)
    out = sys.stdout
    out.write(f"recovered {jv.recovered.next_seq} {jv.venue.state_hash()}\n")
    out.flush()
    fd = sys.stdin.fileno()
    pending = b""
    eof = False
    while not eof:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            eof = True
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        batch = []
        for line in lines:
            text = line.strip()
            if text:
                try:
                    batch.append(parse_line(text.decode()))
                except (ValueError, UnicodeDecodeError, RecursionError):
                    out.write("refused not-json\n")  # as replay: a malformed line changes nothing
        # Cut into batches of at most --batch; more input waiting goes into the next read.
        for i in range(0, len(batch), args.batch):
            jv.process(batch[i:i + args.batch])
            out.write(f"ack {jv.last_seq}\n")
            out.flush()
    jv.close()
    out.write(f"done {jv.last_seq} {jv.venue.state_hash()}\n")
    out.flush()
    storage.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
