"""Checkpoints and crash recovery: what `recover` rebuilds, what it cuts, what it refuses.

Determinism (issue 8): the live state hash, the hash after checkpoint + replay, and the hash of a
full replay of the same commands through a fresh Venue are one and the same.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest

from hftbook.algo import Venue
from hftbook.journal import CorruptJournal, DiskStorage, MemoryStorage, Storage, recover, write_checkpoint
from hftbook.journal.record import (
    MAGIC,
    decode_command,
    encode_command,
    frame,
    scan,
    segment_first,
    segment_name,
)
from hftbook.journal.recovery import checkpoint_name, checkpoint_seq
from hftbook.runtime.journaled import JournaledVenue


def commands(seed: int, n: int) -> list[Any]:
    """An instrument or two, then `n` new/cancel/modify commands of 2 users around a mid."""
    rng = random.Random(seed)
    symbols = ["BTC", "ETH"][: rng.randint(1, 2)]
    out: list[Any] = [{"cmd": "instrument", "symbol": s, "tick_size": "0.5", "lot_size": "0.001", "ts": 0}
                      for s in symbols]
    live: list[tuple[str, str]] = []
    ts = 0
    for i in range(n):
        ts += rng.randrange(3) * 1000
        r = rng.random()
        if r < 0.6 or not live:
            user = rng.choice(["alice", "bob"])
            kind = rng.choices(["limit", "market", "ioc"], [8, 1, 1])[0]
            cmd: dict[str, Any] = {"cmd": "new", "user": user, "id": f"o{i}", "symbol": rng.choice(symbols),
                                   "side": rng.choice(["buy", "sell"]), "type": "market" if kind == "market"
                                   else "limit", "qty": Decimal(rng.randint(1, 40)) / 8, "ts": ts}
            if kind != "market":
                cmd["price"] = str(Decimal(200 + rng.randint(-12, 12)) / 2)
            if kind == "ioc":
                cmd["tif"] = "ioc"
            out.append(cmd)
            if kind == "limit":
                live.append((user, f"o{i}"))
        elif r < 0.8:
            user, oid = live.pop(rng.randrange(len(live)))
            out.append({"cmd": "cancel", "user": user, "id": oid, "ts": ts})
        else:
            user, oid = rng.choice(live)
            out.append({"cmd": "modify", "user": user, "id": oid, "ts": ts,
                        "price": str(Decimal(200 + rng.randint(-12, 12)) / 2), "qty": str(rng.randint(1, 9))})
    return out


def replay_hash(cmds: list[Any]) -> str:
    v = Venue()
    for c in cmds:
        v.apply(c)
    return v.state_hash()


def run(storage: Storage, cmds: list[Any], batch: int = 7, **kw: Any) -> JournaledVenue:
    jv = JournaledVenue(storage, **kw)
    for i in range(0, len(cmds), batch):
        jv.process(cmds[i:i + batch])
    return jv


def segments(storage: Storage) -> list[str]:
    return sorted(n for n in storage.names() if segment_first(n) is not None)  # zero-padded names


def checkpoints(storage: Storage) -> list[str]:
    return sorted(n for n in storage.names() if checkpoint_seq(n) is not None)


def journal_commands(storage: Storage) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for name in segments(storage):
        first = segment_first(name)
        assert first is not None
        sc = scan(storage.read(name), first)
        assert sc.bad_offset is None
        out.update((r.seq, decode_command(r.payload)) for r in sc.records)
    return out


CMDS = commands(1, 240)


def test_recover_from_nothing() -> None:
    storage = MemoryStorage()
    rec = recover(storage)
    assert (rec.next_seq, rec.checkpoint, rec.replayed, rec.truncated, rec.skipped) == (1, 0, 0, None, [])
    assert (rec.segment, rec.segment_size) == (None, 0)
    assert rec.venue.state_hash() == Venue().state_hash()
    jv = JournaledVenue(storage)
    jv.process(CMDS[:3])
    assert jv.last_seq == 3 and segments(storage) == [segment_name(1)]


@pytest.mark.parametrize("fsync", ["batch", "interval", "none"])
def test_recover_from_a_journal_only(fsync: str) -> None:
    storage = MemoryStorage()
    jv = run(storage, CMDS, fsync=fsync, segment_bytes=2000)
    jv.close()
    live = jv.venue.state_hash()
    rec = recover(storage)
    assert (rec.next_seq, rec.checkpoint, rec.replayed, rec.truncated) == (len(CMDS) + 1, 0, len(CMDS), None)
    assert len(segments(storage)) > 3
    assert rec.segment == segments(storage)[-1] and rec.segment_size == len(storage.read(rec.segment))
    assert rec.venue.state_hash() == live == replay_hash(CMDS)
    assert journal_commands(storage) == dict(enumerate(CMDS, 1))


@pytest.mark.parametrize("every", [1, 25, 64])
def test_checkpoint_plus_replay_equals_live_equals_full_replay(every: int) -> None:
    storage = MemoryStorage()
    jv = run(storage, CMDS, batch=5, checkpoint_every=every, segment_bytes=1500)
    live = jv.venue.state_hash()
    rec = recover(storage)
    assert rec.checkpoint > 0 and rec.next_seq == len(CMDS) + 1
    assert rec.replayed == len(CMDS) - rec.checkpoint
    assert rec.venue.state_hash() == live == replay_hash(CMDS)
    # The checkpoint itself is the state after exactly its commands.
    body = json.loads(storage.read(checkpoint_name(rec.checkpoint)))
    assert body["state_hash"] == replay_hash(CMDS[:rec.checkpoint])
    # The recovered venue goes on exactly as the live one does.
    more = commands(2, 60)[1:]
    jv2 = JournaledVenue(storage, checkpoint_every=every, segment_bytes=1500)
    for c in more:
        assert jv2.process([c]) == [jv.venue.apply(c)]
    assert jv2.venue.state_hash() == jv.venue.state_hash() == replay_hash(CMDS + more)


def test_a_corrupt_newest_checkpoint_is_skipped_for_the_older_one() -> None:
    storage = MemoryStorage()
    jv = run(storage, CMDS, checkpoint_every=50, segment_bytes=1500)
    live = jv.venue.state_hash()
    older, newest = checkpoints(storage)
    good = storage.read(newest)
    body = json.loads(good)
    wrong_hash = dict(body, state_hash="0" * 64)
    wrong_seq = dict(body, seq=body["seq"] - 1)
    damaged = [good[: len(good) // 2], b"", b"\xff" * 10, good.replace(b'"state"', b'"stat"'),
               json.dumps(wrong_hash).encode(), json.dumps(wrong_seq).encode(), b"[]", b"null"]
    for bad in damaged:
        storage.write_atomic(newest, bad)
        rec = recover(storage)
        assert rec.skipped == [newest], bad[:40]
        assert rec.checkpoint == checkpoint_seq(older) < checkpoint_seq(newest)  # type: ignore[operator]
        assert rec.venue.state_hash() == live
    storage.write_atomic(older, b"{")  # both bad: from nothing is impossible (segments are gone)
    with pytest.raises(CorruptJournal):
        recover(storage)


def test_a_checkpoint_with_a_bad_number_is_skipped() -> None:
    storage = MemoryStorage()
    jv = run(storage, CMDS, checkpoint_every=50, segment_bytes=1500)
    newest = checkpoints(storage)[-1]
    good = storage.read(newest)
    assert b'"tick_size":"0.5"' in good
    storage.write_atomic(newest, good.replace(b'"tick_size":"0.5"', b'"tick_size":"0.u"', 1))
    rec = recover(storage)
    assert rec.skipped == [newest] and rec.venue.state_hash() == jv.venue.state_hash()


def test_bit_flips_anywhere_in_a_checkpoint_are_skipped_or_harmless() -> None:
    storage = MemoryStorage()
    jv = run(storage, CMDS[:40], checkpoint_every=20)
    live = jv.venue.state_hash()
    newest = checkpoints(storage)[-1]
    good = storage.read(newest)
    rng = random.Random(5)
    for pos in rng.sample(range(len(good)), 300):
        bad = bytearray(good)
        bad[pos] ^= 1 << rng.randrange(8)
        storage.write_atomic(newest, bytes(bad))
        rec = recover(storage)  # never raises: a damaged checkpoint is skipped
        assert rec.venue.state_hash() == live, pos  # used (the flip changed nothing) or skipped


@pytest.mark.parametrize("where", ["memory", "disk"])
def test_a_torn_tail_is_cut_and_the_sequence_goes_on(where: str, tmp_path: Any) -> None:
    storage: Any = MemoryStorage() if where == "memory" else DiskStorage(str(tmp_path / "j"))
    jv = run(storage, CMDS[:100], segment_bytes=3000)
    jv.close()
    last = segments(storage)[-1]
    size = len(storage.read(last))
    torn = frame(101, 0, encode_command(CMDS[100]))
    for cut in [1, 12, len(torn) - 1]:
        storage.append(last, torn[:cut])
        if where == "disk":
            storage.close()
        jv2 = JournaledVenue(storage, segment_bytes=3000)
        assert jv2.recovered.truncated == (last, size)
        assert jv2.last_seq == 100 and len(storage.read(last)) == size
        assert jv2.venue.state_hash() == replay_hash(CMDS[:100])
    jv2.process(CMDS[100:150])
    assert jv2.last_seq == 150
    if where == "disk":
        storage.close()
    rec = recover(storage)
    assert rec.truncated is None and rec.next_seq == 151
    assert rec.venue.state_hash() == jv2.venue.state_hash() == replay_hash(CMDS[:150])
    assert journal_commands(storage) == dict(enumerate(CMDS[:150], 1))


def test_a_torn_new_segment_header_is_removed_and_recreated() -> None:
    storage = MemoryStorage()
    run(storage, CMDS[:30]).close()
    name = segment_name(31)
    storage.append(name, MAGIC[:5])
    jv = JournaledVenue(storage)
    assert jv.recovered.truncated == (name, 0) and name not in storage.names()
    jv.process(CMDS[30:40])
    assert name in storage.names()
    assert recover(storage).venue.state_hash() == replay_hash(CMDS[:40])


def test_an_empty_last_segment_after_a_gap_is_a_torn_tail() -> None:
    storage = MemoryStorage()
    run(storage, CMDS[:3]).close()
    storage.append(segment_name(4), b"")  # no gap: removed as a torn tail
    assert recover(storage).truncated == (segment_name(4), 0)
    storage.append(segment_name(6), b"")  # records 4 and 5 were lost with the previous tail
    rec = recover(storage)
    assert rec.next_seq == 4 and segment_name(6) not in storage.names()


def test_a_garbled_new_last_segment_with_nothing_good_in_it_is_a_torn_tail() -> None:
    storage = MemoryStorage()
    run(storage, CMDS[:3]).close()
    bad = bytearray(MAGIC + frame(4, 0, encode_command(CMDS[3])))
    bad[3] ^= 1  # in the header
    bad[len(MAGIC) + 12] ^= 4  # and in the only record
    storage.append(segment_name(4), bytes(bad))
    rec = recover(storage)
    assert rec.next_seq == 4 and rec.truncated == (segment_name(4), 0)


def test_recover_without_repair_leaves_the_tail() -> None:
    storage = MemoryStorage()
    run(storage, CMDS[:20]).close()
    last = segments(storage)[-1]
    storage.append(last, b"\x01\x02\x03")
    before = storage.read(last)
    rec = recover(storage, repair_tail=False)
    assert rec.truncated == (last, len(before) - 3) and storage.read(last) == before
    assert rec.next_seq == 21


def flip(storage: MemoryStorage, name: str, pos: int, bit: int = 3) -> None:
    storage.data[name][pos] ^= 1 << bit


@pytest.mark.parametrize("which", ["only", "first", "middle", "last"])
def test_a_flipped_bit_in_the_middle_of_a_segment_is_corruption(which: str) -> None:
    storage = MemoryStorage()
    run(storage, CMDS, segment_bytes=1000000 if which == "only" else 3000).close()
    segs = segments(storage)
    name = {"only": segs[0], "first": segs[0], "middle": segs[len(segs) // 2], "last": segs[-1]}[which]
    first = segment_first(name)
    assert first is not None
    recs = scan(storage.read(name), first).records
    target = recs[len(recs) // 2]
    for pos in [target.offset, target.offset + 5, target.offset + 20, target.end - 1]:
        snapshot = MemoryStorage()
        snapshot.data = {n: bytearray(b) for n, b in storage.data.items()}
        snapshot.durable = dict(storage.durable)
        flip(snapshot, name, pos)
        damaged = {n: bytes(b) for n, b in snapshot.data.items()}
        with pytest.raises(CorruptJournal) as info:
            recover(snapshot)
        assert (info.value.name, info.value.offset) == (name, target.offset)
        assert name in str(info.value) and str(target.offset) in str(info.value)
        assert {n: bytes(b) for n, b in snapshot.data.items()} == damaged  # nothing was cut
        with pytest.raises(CorruptJournal):
            JournaledVenue(snapshot)  # the venue refuses to start


def test_damage_at_the_end_of_a_segment_that_is_not_the_last_is_corruption() -> None:
    storage = MemoryStorage()
    run(storage, CMDS, segment_bytes=3000).close()
    first_seg = segments(storage)[0]
    recs = scan(storage.read(first_seg), 1).records
    # a flipped bit in its last record
    flip(storage, first_seg, recs[-1].end - 2)
    with pytest.raises(CorruptJournal) as info:
        recover(storage)
    assert (info.value.name, info.value.offset) == (first_seg, recs[-1].offset)
    flip(storage, first_seg, recs[-1].end - 2)
    # a torn last record: the next segment then starts after a gap
    storage.truncate(first_seg, recs[-1].end - 3)
    with pytest.raises(CorruptJournal) as info:
        recover(storage)
    assert (info.value.name, info.value.offset) == (first_seg, recs[-1].offset)
    # cut cleanly at a record boundary: the gap is seen at the next segment
    storage.truncate(first_seg, recs[-1].offset)
    with pytest.raises(CorruptJournal) as info:
        recover(storage)
    assert (info.value.name, info.value.offset) == (segments(storage)[1], 0)
    assert "gap" in info.value.reason


def test_a_sequence_gap_between_segments_is_corruption() -> None:
    storage = MemoryStorage()
    run(storage, CMDS, segment_bytes=3000).close()
    segs = segments(storage)
    assert len(segs) >= 4
    storage.remove(segs[2])
    with pytest.raises(CorruptJournal) as info:
        recover(storage)
    assert (info.value.name, info.value.offset) == (segs[3], 0) and "gap" in info.value.reason
    storage.remove(segs[0])  # and a log that starts after what the (empty) state needs
    with pytest.raises(CorruptJournal) as info:
        recover(storage)
    assert (info.value.name, info.value.offset) == (segs[1], 0)


def test_a_segment_renamed_out_of_place_is_corruption() -> None:
    storage = MemoryStorage()
    run(storage, CMDS[:60], segment_bytes=3000).close()
    segs = segments(storage)
    second = segment_first(segs[1])
    assert second is not None
    storage.data[segment_name(second - 1)] = storage.data.pop(segs[1])
    storage.durable[segment_name(second - 1)] = storage.durable.pop(segs[1])
    with pytest.raises(CorruptJournal) as info:
        recover(storage)
    assert info.value.name in (segs[0], segment_name(second - 1))


def test_write_checkpoint_drops_segments_before_the_oldest_kept_checkpoint() -> None:
    storage = MemoryStorage()
    jv = run(storage, CMDS, batch=4, checkpoint_every=40, segment_bytes=1500)
    live = jv.venue.state_hash()
    cps = [checkpoint_seq(n) for n in checkpoints(storage)]
    assert len(cps) == 2
    oldest = cps[0]
    assert oldest is not None
    firsts = [f for f in (segment_first(n) for n in segments(storage)) if f is not None]
    assert firsts[0] <= oldest + 1  # the segment holding oldest + 1 is kept
    assert len(firsts) == 1 or firsts[1] > oldest + 1  # ... and none wholly before it
    assert firsts[0] > 1  # something was dropped
    assert recover(storage).venue.state_hash() == live
    storage.remove(checkpoints(storage)[-1])  # the older checkpoint still has its log
    rec = recover(storage)
    assert rec.checkpoint == oldest and rec.venue.state_hash() == live == replay_hash(CMDS)


def test_write_checkpoint_keeps_the_last_segment_and_keep_checkpoints() -> None:
    storage = MemoryStorage()
    jv = run(storage, CMDS[:50], segment_bytes=800)
    jv.close()
    before = segments(storage)
    write_checkpoint(storage, 50, jv.venue, keep=1)
    assert segments(storage) == before[-1:]
    assert checkpoints(storage) == [checkpoint_name(50)]
    for seq in (51, 52, 53):
        jv.process([CMDS[seq - 1]])
        jv.close()
        write_checkpoint(storage, seq, jv.venue, keep=3)
    assert [checkpoint_seq(n) for n in checkpoints(storage)] == [51, 52, 53]
    rec = recover(storage)
    assert (rec.checkpoint, rec.replayed) == (53, 0)
    assert rec.venue.state_hash() == replay_hash(CMDS[:53])


def test_a_command_that_raises_mid_batch_fails_the_journal() -> None:
    """Part of a batch applied and buffered but never answered: the journal refuses to go on
    (a later commit would make durable what no client was told)."""
    from hftbook.journal import JournalFailed
    from hftbook.runtime.journaled import JournaledVenue

    jv = JournaledVenue(MemoryStorage())
    jv.process(CMDS[:3])
    real = jv.venue.apply
    calls = []

    def boom(cmd: Any) -> Any:
        calls.append(cmd)
        if len(calls) == 2:
            raise RuntimeError("engine bug")
        return real(cmd)

    jv.venue.apply = boom  # type: ignore[method-assign]
    with pytest.raises(JournalFailed):
        jv.process(CMDS[3:6])
    with pytest.raises(JournalFailed):
        jv.process(CMDS[6:7])
    with pytest.raises(JournalFailed):
        jv.checkpoint()
