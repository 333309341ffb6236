"""Crash tests with real processes: `python -m hftbook.journal.runner DIR --fsync batch` is fed
generated command lines and killed with SIGKILL at random (seeded) moments; after each kill the
directory is recovered in this process and:

- every acknowledged sequence number is recovered (ack <= next_seq - 1);
- nothing beyond the batch in flight appears (next_seq - 1 <= last ack + --batch);
- the recovered commands are a prefix of the commands sent (the records, decoded, are the sent
  lines parsed, at their sequence numbers);
- the recovered state hash is a clean replay of that prefix;
- a restarted runner on the same directory reports that very state (`recovered N hash`), goes on
  with the same sequence, and at a clean end (`done`) agrees with a full replay of everything.

Each chain is one directory restarted and killed over and over (options vary per run: batch
size, segment size, checkpoints; half the time the in-process check leaves the torn tail for
the restarted runner to cut); two chains run at once. `HFTBOOK_CRASH_POINTS` sets the number of
kill points (default 120), `HFTBOOK_CRASH_SEED` the seed (default 0):

    HFTBOOK_CRASH_POINTS=2000 .venv/bin/python -m pytest tests/integration/test_journal_crash.py
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

from hftbook.algo import Venue
from hftbook.journal import DiskStorage, recover
from hftbook.journal.record import decode_command, scan, segment_first
from hftbook.replay import parse_line

POINTS = int(os.environ.get("HFTBOOK_CRASH_POINTS", "120"))
SEED = int(os.environ.get("HFTBOOK_CRASH_SEED", "0"))
CHAINS = max(2, min(16, POINTS // 30))
PARALLEL = 2
RUNNER = [sys.executable, "-m", "hftbook.journal.runner"]
INSTRUMENTS = [
    '{"cmd":"instrument","symbol":"BTC","tick_size":"0.5","lot_size":"0.001","ts":0}',
    '{"cmd":"instrument","symbol":"ETH","tick_size":"0.01","lot_size":"0.1","ts":0}',
]


class Flow:
    """An endless seeded stream of new/cancel/modify lines of 2 users on 2 symbols around a mid;
    prices and quantities are JSON numbers half the time (they reach the journal as Decimal)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.i = 0
        self.ts = 0
        self.live: list[tuple[str, str, int, Decimal]] = []  # user, id, mid, tick

    def line(self) -> str:
        rng = self.rng
        self.i += 1
        self.ts += rng.randrange(3) * 1000
        r = rng.random()
        cmd: dict[str, Any]
        if r < 0.6 or not self.live:
            user = rng.choice(["alice", "bob"])
            symbol, mid, tick, lots = rng.choice([("BTC", 30000, Decimal("0.5"), 8),
                                                  ("ETH", 2000, Decimal("0.01"), 10)])
            kind = rng.choices(["limit", "market", "ioc"], [8, 1, 1])[0]
            qty = Decimal(rng.randint(1, 40)) / lots
            cmd = {"cmd": "new", "user": user, "id": f"o{self.i}", "symbol": symbol, "side":
                   rng.choice(["buy", "sell"]), "type": "market" if kind == "market" else "limit",
                   "qty": qty if rng.random() < 0.5 else str(qty), "ts": self.ts}
            if kind != "market":
                price = mid + tick * rng.randint(-10, 10)
                cmd["price"] = price if rng.random() < 0.5 else str(price)
            if kind == "ioc":
                cmd["tif"] = "ioc"
            if kind == "limit":
                self.live.append((user, f"o{self.i}", mid, tick))
        elif r < 0.8:
            user, oid, _, _ = self.live.pop(rng.randrange(len(self.live)))
            cmd = {"cmd": "cancel", "user": user, "id": oid, "ts": self.ts}
        else:
            user, oid, mid, tick = rng.choice(self.live)
            cmd = {"cmd": "modify", "user": user, "id": oid, "ts": self.ts, "qty": str(rng.randint(1, 9))}
            if rng.random() < 0.5:
                cmd["price"] = str(mid + tick * rng.randint(-10, 10))
        # A Decimal goes out as a bare JSON number (json.dumps has no hook for that: mark it).
        return json.dumps(cmd, default=lambda d: f"@{d}@", separators=(",", ":")).replace(
            '"@', "").replace('@"', "")


@dataclass
class Run:
    """One runner process: what it was sent and what it printed."""

    proc: subprocess.Popen[bytes]
    sent: list[str] = field(default_factory=list)
    out: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def acks(self) -> list[int]:
        return [int(line.split()[1]) for line in self.out if line.startswith("ack ")]


def start(directory: Path, args: list[str], stderr: IO[bytes]) -> Run:
    proc = subprocess.Popen([*RUNNER, str(directory), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr, bufsize=0)
    run = Run(proc)

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            run.out.append(raw.decode().rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    run.threads.append(reader)
    return run


def feed(run: Run, lines: list[str], rng: random.Random) -> None:
    """Send the lines from a thread, in chunks of random size, until stopped."""

    def write() -> None:
        assert run.proc.stdin is not None
        fd = run.proc.stdin.fileno()
        try:
            while not run.stop.is_set() and len(run.sent) < len(lines):
                chunk = lines[len(run.sent):len(run.sent) + rng.randint(1, 40)]
                run.sent.extend(chunk)  # counted before written: a kill may take part of it
                view = memoryview("".join(line + "\n" for line in chunk).encode())
                while view:
                    view = view[os.write(fd, view):]
                if rng.random() < 0.5:
                    time.sleep(rng.random() * 0.002)
        except OSError:
            pass  # killed (EPIPE)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    run.threads.append(writer)


def kill(run: Run) -> None:
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait()
    run.stop.set()
    for t in run.threads:
        t.join(10)
        assert not t.is_alive()
    try:
        assert run.proc.stdin is not None
        run.proc.stdin.close()
    except OSError:
        pass


def wait_for(run: Run, prefix: str, timeout: float = 20.0) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in run.out:
            if line.startswith(prefix):
                return line
        if run.proc.poll() is not None and not run.threads[0].is_alive():
            return next((x for x in run.out if x.startswith(prefix)), None)
        time.sleep(0.001)
    raise AssertionError(f"no {prefix!r} line in {timeout}s: {run.out[-3:]}")


def journal_records(directory: Path, truncated: tuple[str, int] | None) -> dict[int, Any]:
    """Every record left in the directory, by sequence number (a torn tail the recovery reported
    but did not cut is allowed at the end of the last segment, and nowhere else)."""
    storage = DiskStorage(str(directory))
    names = sorted(n for n in storage.names() if segment_first(n) is not None)  # zero-padded
    out: dict[int, Any] = {}
    for k, name in enumerate(names):
        first = segment_first(name)
        assert first is not None
        sc = scan(storage.read(name), first)
        if sc.bad_offset is not None:
            assert k == len(names) - 1 and truncated == (name, sc.bad_offset), (name, sc)
        out.update((r.seq, decode_command(r.payload)) for r in sc.records)
    return out


@dataclass
class Chain:
    kills: int = 0
    killed_before_ready: int = 0
    beyond_ack: int = 0  # kills after which the batch in flight was recovered
    torn: int = 0  # torn tails seen
    commands: int = 0


def chain(index: int, points: int, root: Path) -> Chain:
    rng = random.Random(SEED * 1_000_003 + index)
    flow = Flow(rng.randrange(1 << 30))
    directory = root / f"chain{index}"
    stderr_path = root / f"chain{index}.stderr"
    log: list[str] = []  # the lines whose commands the journal holds, in sequence order
    ref = Venue()  # `log` replayed, one step at a time
    expect: tuple[int, str] | None = None  # what the next runner must say it recovered
    stats = Chain()
    with open(stderr_path, "wb") as stderr:
        for _ in range(points):
            batch = rng.choice([1, 2, 3, 8, 16, 64])
            args = ["--fsync", "batch", "--batch", str(batch)]
            args += ["--segment-bytes", str(rng.choice([1500, 20000, 1 << 24]))]
            args += ["--checkpoint-every", str(rng.choice([0, 97, 400, 1000]))]
            early = rng.random() < 0.15  # killed at a random moment of its start-up
            delay = rng.random() * (0.15 if early else 0.12)
            lines = (INSTRUMENTS if not log else []) + [flow.line() for _ in range(rng.randint(50, 3000))]
            run = start(directory, args, stderr)
            try:
                if not early:
                    wait_for(run, "recovered ")
                feed(run, lines, random.Random(rng.randrange(1 << 30)))
                time.sleep(delay)
            finally:
                kill(run)
            stats.kills += 1
            ready = [x for x in run.out if x.startswith("recovered ")]
            stats.killed_before_ready += not ready
            if ready and expect is not None:  # the restart recovered what the last check did
                assert ready == [f"recovered {expect[0]} {expect[1]}"], (ready, expect)

            acks = run.acks()
            base = len(log)
            full = log + run.sent
            assert all(a < b for a, b in pairwise([base, *acks])) and (not acks or acks[-1] <= len(full))
            repair = rng.random() < 0.5  # else the restarted runner cuts the torn tail itself
            rec = recover(DiskStorage(str(directory)), repair_tail=repair)
            n = rec.next_seq - 1
            last_ack = acks[-1] if acks else base
            assert last_ack <= n, f"acknowledged {last_ack}, recovered only {n}"
            assert n <= last_ack + batch, f"recovered {n}, beyond the batch in flight after ack {last_ack}"
            stats.beyond_ack += n > last_ack
            stats.torn += rec.truncated is not None
            records = journal_records(directory, None if repair else rec.truncated)
            assert max(records, default=0) == n
            for seq, cmd in records.items():
                assert cmd == parse_line(full[seq - 1]), seq
            for line in full[base:n]:
                ref.apply(parse_line(line))
            log = full[:n]
            assert rec.venue.state_hash() == ref.state_hash(), n
            expect = (n + 1, rec.venue.state_hash())

        # A clean end on the same directory: more commands, end of input, `done`.
        run = start(directory, ["--fsync", "batch", "--batch", "16", "--checkpoint-every", "300"], stderr)
        try:
            more = (INSTRUMENTS if not log else []) + [flow.line() for _ in range(rng.randint(1, 500))]
            feed(run, more, random.Random(rng.randrange(1 << 30)))
            run.threads[1].join(60)
            assert run.proc.stdin is not None
            run.proc.stdin.close()
            assert run.proc.wait(60) == 0
            run.threads[0].join(10)
        finally:
            if run.proc.poll() is None:
                kill(run)
        assert expect is not None and run.out[0] == f"recovered {expect[0]} {expect[1]}"
        log += more
        fresh = Venue()
        for line in log:
            fresh.apply(parse_line(line))
        assert run.out[-1] == f"done {len(log)} {fresh.state_hash()}", run.out[-2:]
        assert run.acks()[-1] == len(log)
        assert recover(DiskStorage(str(directory))).venue.state_hash() == fresh.state_hash()
    assert b"Traceback" not in stderr_path.read_bytes(), stderr_path.read_text()[-2000:]
    stats.commands = len(log)
    return stats


def test_kill_9_at_random_points_loses_no_acknowledged_command(tmp_path: Path) -> None:
    per = [POINTS // CHAINS + (i < POINTS % CHAINS) for i in range(CHAINS)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda i: chain(i, per[i], tmp_path), range(CHAINS)))
    assert sum(r.kills for r in results) == POINTS
    # The kills land where they are meant to: during start-up, with the batch in flight
    # recovered, and mid-write (a torn tail).
    print({k: sum(getattr(r, k) for r in results) for k in Chain.__dataclass_fields__})
    assert sum(r.beyond_ack for r in results) > 0
    assert sum(r.killed_before_ready for r in results) > 0
