"""The journal's bytes and its writer: the command codec, record frames, segment scans, and the
`Journal` (sequence numbers, segment rotation, the three fsync policies, fatal I/O errors).

Some tests pin bugs found while they were written (big integers, lone surrogates, a bad
segment header, checkpoints after a failed journal): fixed, and kept as regression tests.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hftbook.journal import Journal, JournalFailed, MemoryStorage
from hftbook.journal.record import (
    HEADER,
    MAGIC,
    MAX_PAYLOAD,
    TRAILER,
    Record,
    decode_command,
    encode_command,
    frame,
    read_record,
    scan,
    segment_first,
    segment_name,
)
from hftbook.replay import parse_line
from hftbook.runtime.journaled import JournaledVenue

INSTRUMENT = {"cmd": "instrument", "symbol": "BTC", "tick_size": "0.5", "lot_size": "0.001", "ts": 0}


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1 == True == Decimal(1) for plain ==)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return str(a) == str(b)  # keeps the exponent and the sign of zero
    return bool(a == b)


def roundtrip(value: Any) -> Any:
    return decode_command(encode_command(value))


def order(i: int, **extra: Any) -> dict[str, Any]:
    cmd: dict[str, Any] = {"cmd": "new", "user": f"u{i % 2}", "id": f"o{i}", "symbol": "BTC",
                           "side": "buy" if i % 2 else "sell", "type": "limit",
                           "price": str(100 + i % 5), "qty": "1.5", "ts": i}
    cmd.update(extra)
    return cmd


def segment(*records: tuple[int, Any]) -> bytes:
    return MAGIC + b"".join(frame(seq, 0, encode_command(cmd)) for seq, cmd in records)


# -- the command codec ---------------------------------------------------------------------------

CODEC_VALUES: list[Any] = [
    {"cmd": "new", "price": Decimal("30000.5"), "qty": Decimal("0.001"), "ts": 5},
    {"a": Decimal("1E+2"), "b": Decimal("-0"), "c": Decimal("-0.000"), "d": Decimal("1e-30"),
     "e": Decimal("123456789012345678901234567890.123456789"), "f": Decimal("7E+999999")},
    {"edge": [2**64 - 1, -(2**63), 0, -1, True, False, None]},
    {"nested": [[1, [Decimal("2.5"), [{"deep": ["x", {"y": [None]}]}]]], []], "empty": {}},
    [1, "two", Decimal("3.0"), None, True, {"k": []}],
    "just a string",
    42,
    Decimal("0.1"),
    None,
    True,
    [],
    {},
    {"user": "josé", "id": "注文-1", "emoji": "\U0001F680🚀", "zero": "a\x00b", "nbsp": "\u00a0",
     "ключ": "значение"},
]


@pytest.mark.parametrize("value", CODEC_VALUES, ids=range(len(CODEC_VALUES)))
def test_codec_round_trips(value: Any) -> None:
    assert same(roundtrip(value), value)


@pytest.mark.parametrize("line", [
    '{"cmd":"new","user":"a","id":"x","price":30000.50,"qty":1e-3,"n":-0.0,"ts":12}',
    '[1,2.5,{"a":[3e10,"s"]},null,true,false]',
    '"\\u00e9\\u6ce8\\ud83d\\ude80"',
    '{"a":{"b":{"c":{"d":[[[[1.25]]]]}}}}',
])
def test_codec_round_trips_what_replay_parses(line: str) -> None:
    cmd = parse_line(line)
    assert same(roundtrip(cmd), cmd)


BIG_INT_VALUES: list[Any] = [
    2**64,
    {"cmd": "new", "qty": -(2**63) - 1, "ts": 1},
    [1, 2**200, 2],
    {"a": [{"b": [-(3**150), Decimal("1.5"), 2**64 - 1]}]},
]


@pytest.mark.parametrize("value", BIG_INT_VALUES, ids=["top", "dict", "list", "nested"])
def test_codec_round_trips_integers_beyond_64_bits(value: Any) -> None:
    assert same(roundtrip(value), value)


def test_codec_round_trips_an_integer_longer_than_4300_digits() -> None:
    cmd = parse_line('{"cmd":"new","qty":' + "9" * 5000 + "}")
    assert same(roundtrip(cmd), cmd)


def test_codec_round_trips_a_lone_surrogate() -> None:
    cmd = parse_line('{"cmd":"new","user":"\\ud800","id":"x"}')
    assert same(roundtrip(cmd), cmd)


def test_codec_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        encode_command({"x": object()})


# -- frames and records --------------------------------------------------------------------------

def test_frame_layout_and_read_record() -> None:
    payload = encode_command(order(1))
    data = frame(7, 123, payload)
    assert len(data) == HEADER.size + len(payload) + TRAILER.size
    assert HEADER.unpack_from(data, 0) == (len(payload), 7, 123)
    rec = read_record(b"junk" + data, 4)
    assert rec == Record(7, 123, payload, 4, 4 + len(data))
    assert decode_command(rec.payload) == order(1)


def test_read_record_refuses_incomplete_damaged_and_oversized_records() -> None:
    data = frame(1, -5, encode_command(order(1)))
    assert read_record(data, 0) is not None
    for cut in range(len(data)):
        assert read_record(data[:cut], 0) is None
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            assert read_record(bytes(bad), 0) is None, (i, bit)
    huge = HEADER.pack(MAX_PAYLOAD + 1, 1, 0)
    assert read_record(huge + bytes(64), 0) is None


def test_segment_names_carry_the_first_sequence() -> None:
    assert segment_name(1) == "wal-00000000000000000001.log"
    assert segment_first(segment_name(123456789)) == 123456789
    for other in ["checkpoint-00000000000000000001.json", "wal-x.log", "wal-1.log.tmp", "wal-.log"]:
        assert segment_first(other) is None
    assert sorted(segment_name(s) for s in [10, 9, 100]) == [segment_name(s) for s in [9, 10, 100]]


# -- scan ----------------------------------------------------------------------------------------

THREE = [(1, INSTRUMENT), (2, order(2)), (3, order(3, price=Decimal("101.5")))]


def test_scan_reads_a_good_segment() -> None:
    data = segment(*THREE)
    sc = scan(data, 1)
    assert sc.bad_offset is None and not sc.resumes and sc.reason == ""
    assert [r.seq for r in sc.records] == [1, 2, 3]
    assert [decode_command(r.payload) for r in sc.records] == [c for _, c in THREE]
    assert sc.records[0].offset == len(MAGIC) and sc.records[-1].end == len(data)
    assert all(a.end == b.offset for a, b in zip(sc.records, sc.records[1:], strict=False))
    assert scan(MAGIC, 1).records == [] and scan(MAGIC, 1).bad_offset is None


def test_scan_stops_at_a_torn_tail_at_every_byte_of_the_last_record() -> None:
    data = segment(*THREE)
    last = scan(data, 1).records[-1]
    clean = scan(data[:last.offset], 1)  # cut exactly between records: a clean, shorter segment
    assert clean.bad_offset is None and [r.seq for r in clean.records] == [1, 2]
    for cut in range(last.offset + 1, last.end):
        sc = scan(data[:cut], 1)
        assert sc.bad_offset == last.offset, cut
        assert not sc.resumes, cut
        assert [r.seq for r in sc.records] == [1, 2], cut


def test_scan_torn_tail_of_zeros_and_garbage_does_not_resume() -> None:
    data = segment(*THREE)
    end = len(data)
    for tail in [bytes(50), b"\xff" * 50, bytes(range(256))]:
        sc = scan(data + tail, 1)
        assert (sc.bad_offset, sc.resumes) == (end, False)


def test_scan_flags_a_flipped_bit_in_the_middle_record_and_sees_the_record_after_it() -> None:
    data = segment(*THREE)
    mid = scan(data, 1).records[1]
    for i in range(mid.offset, mid.end):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            sc = scan(bytes(bad), 1)
            assert sc.bad_offset == mid.offset, (i, bit)
            assert sc.resumes, (i, bit)
            assert [r.seq for r in sc.records] == [1], (i, bit)
            assert sc.reason


def test_scan_flags_zeroed_bytes_in_the_middle_as_resuming() -> None:
    data = bytearray(segment(*THREE, (4, order(4))))
    recs = scan(bytes(data), 1).records
    data[recs[1].offset:recs[2].end] = bytes(recs[2].end - recs[1].offset)  # two lost writes
    sc = scan(bytes(data), 1)
    assert (sc.bad_offset, sc.resumes) == (recs[1].offset, True)


def test_scan_refuses_a_wrong_sequence() -> None:
    gap = segment((1, INSTRUMENT), (2, order(2)), (4, order(4)), (5, order(5)))
    sc = scan(gap, 1)
    assert [r.seq for r in sc.records] == [1, 2]
    assert sc.bad_offset == sc.records[-1].end
    assert sc.reason == "sequence 4, expected 3"
    assert sc.resumes  # record 5 follows
    dup = segment((1, INSTRUMENT), (2, order(2)), (2, order(2)), (3, order(3)))
    sc = scan(dup, 1)
    assert [r.seq for r in sc.records] == [1, 2] and sc.reason == "sequence 2, expected 3" and sc.resumes
    # The segment's name promised another first sequence number.
    sc = scan(segment(*THREE), 5)
    assert (sc.records, sc.bad_offset, sc.reason) == ([], len(MAGIC), "sequence 1, expected 5")


def test_scan_refuses_a_bad_magic() -> None:
    data = segment(*THREE)
    for i in range(len(MAGIC)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        sc = scan(bytes(bad), 1)
        assert (sc.records, sc.bad_offset, sc.reason, sc.resumes) == ([], 0, "bad segment header", True)
    other_version = b"HFTWAL\x02\x00" + data[len(MAGIC):]
    assert scan(other_version, 1).bad_offset == 0
    # A torn header (a new segment cut in its first write) is a torn tail, not damage.
    for cut in range(len(MAGIC)):
        sc = scan(data[:cut], 1)
        assert (sc.records, sc.bad_offset, sc.resumes) == ([], 0, False)


def test_scan_bad_magic_resumes_only_if_a_good_record_follows() -> None:
    data = bytearray(segment(*THREE))
    data[2] ^= 1
    assert scan(bytes(data), 1).resumes  # the records are intact
    for rec in scan(segment(*THREE), 1).records:
        data[rec.offset + 14] ^= 2  # now none is
    sc = scan(bytes(data), 1)
    assert (sc.bad_offset, sc.resumes) == (0, False)


# -- the journal writer --------------------------------------------------------------------------

def records_of(storage: MemoryStorage) -> list[tuple[str, list[Record]]]:
    out = []
    for name in storage.names():
        first = segment_first(name)
        if first is not None:
            sc = scan(storage.read(name), first)
            assert sc.bad_offset is None, (name, sc.reason)
            out.append((name, sc.records))
    return out


def test_journal_rotates_segments_by_size_with_consecutive_sequences() -> None:
    storage = MemoryStorage()
    j = Journal(storage, segment_bytes=400)
    cmds = [order(i) for i in range(1, 61)]
    seqs = []
    for i, cmd in enumerate(cmds):
        seqs.append(j.append(i, cmd))
        if i % 7 == 6:
            j.commit()
    j.close()
    assert seqs == list(range(1, 61))
    segs = records_of(storage)
    assert len(segs) >= 5
    expect = 1
    for k, (name, recs) in enumerate(segs):
        assert segment_first(name) == recs[0].seq == expect
        assert [r.seq for r in recs] == list(range(expect, expect + len(recs)))
        size = len(storage.read(name))
        if k < len(segs) - 1:  # rotated once it reached the limit, not before
            assert size >= 400 and recs[-1].offset < 400
        expect += len(recs)
    assert expect == 61
    assert [decode_command(r.payload) for _, recs in segs for r in recs] == cmds


def test_journal_resumes_an_existing_segment() -> None:
    storage = MemoryStorage()
    j = Journal(storage)
    j.append(0, INSTRUMENT)
    j.close()
    name = storage.names()[0]
    j2 = Journal(storage, next_seq=2, segment=name, segment_size=len(storage.read(name)))
    assert j2.append(1, order(1)) == 2
    j2.close()
    assert storage.names() == [name]
    assert [r.seq for _, recs in records_of(storage) for r in recs] == [1, 2]


def test_fsync_batch_syncs_every_commit_and_acks_only_what_is_durable() -> None:
    storage = MemoryStorage()
    j = Journal(storage, fsync="batch", segment_bytes=250)
    assert (j.ack_seq, j.durable_seq) == (0, 0)
    j.append(0, INSTRUMENT)
    j.append(1, order(1))
    assert (j.ack_seq, j.durable_seq, storage.syncs) == (0, 0, 0)
    assert storage.names() == []  # nothing is written before the commit
    assert j.commit() == 2
    assert (j.ack_seq, j.durable_seq, storage.syncs, j.syncs) == (2, 2, 1, 1)
    name = storage.names()[0]
    assert storage.durable[name] == len(storage.data[name])
    for i in range(2, 6):  # crosses the 250-byte limit: the commit touches two segments
        j.append(i, order(i))
    assert j.commit() == 6
    assert len(storage.names()) == 2
    assert storage.syncs == 3  # both segments synced
    assert all(storage.durable[n] == len(storage.data[n]) for n in storage.names())
    assert j.commit() == 6  # an empty commit is harmless
    assert storage.syncs == 3


def test_fsync_none_acks_what_was_written_and_never_syncs_until_close() -> None:
    storage = MemoryStorage()
    j = Journal(storage, fsync="none")
    for i in range(1, 11):
        j.append(i, order(i))
        assert j.commit() == i
        assert (j.ack_seq, j.written_seq, j.durable_seq) == (i, i, 0)
    assert storage.syncs == 0
    assert storage.durable == {storage.names()[0]: 0}
    lost = storage.crash(1)
    assert lost.names() == [] or len(lost.read(lost.names()[0])) < len(storage.read(storage.names()[0]))
    j.close()
    assert (storage.syncs, j.durable_seq, j.ack_seq) == (1, 10, 10)


def test_fsync_interval_syncs_when_the_interval_passed() -> None:
    now = [0.0]
    storage = MemoryStorage()
    j = Journal(storage, fsync="interval", interval_ms=10, clock=lambda: now[0])
    j.append(0, INSTRUMENT)
    assert j.commit() == 1
    assert (storage.syncs, j.durable_seq) == (0, 0)
    now[0] = 0.009
    j.append(1, order(1))
    assert j.commit() == 2
    assert (storage.syncs, j.durable_seq, j.ack_seq) == (0, 0, 2)
    now[0] = 0.010
    j.append(2, order(2))
    assert j.commit() == 3
    assert (storage.syncs, j.durable_seq) == (1, 3)
    now[0] = 0.015
    j.append(3, order(3))
    j.commit()
    assert (storage.syncs, j.durable_seq, j.ack_seq) == (1, 3, 4)
    j.close()
    assert (storage.syncs, j.durable_seq) == (2, 4)


def test_unknown_fsync_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="fsync"):
        Journal(MemoryStorage(), fsync="sometimes")


class FailingStorage(MemoryStorage):
    """MemoryStorage whose sync (or append) raises once told to."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_sync = False
        self.fail_append = False

    def sync(self, name: str) -> None:
        if self.fail_sync:
            raise OSError(5, "Input/output error")
        super().sync(name)

    def append(self, name: str, data: bytes) -> None:
        if self.fail_append:
            raise OSError(28, "No space left on device")
        super().append(name, data)


@pytest.mark.parametrize("what", ["sync", "append"])
def test_a_failed_write_or_fsync_is_fatal(what: str) -> None:
    storage = FailingStorage()
    j = Journal(storage)
    j.append(0, INSTRUMENT)
    j.commit()
    j.append(1, order(1))
    setattr(storage, f"fail_{what}", True)
    with pytest.raises(JournalFailed):
        j.commit()
    assert isinstance(j.failed, OSError)
    assert j.durable_seq == j.ack_seq == 1
    setattr(storage, f"fail_{what}", False)  # even when the storage would work again
    with pytest.raises(JournalFailed):
        j.append(2, order(2))
    with pytest.raises(JournalFailed):
        j.commit()
    assert j.next_seq == 3 and j.durable_seq == 1


def test_a_failed_fsync_under_close_is_fatal() -> None:
    storage = FailingStorage()
    j = Journal(storage, fsync="none")
    j.append(0, INSTRUMENT)
    j.commit()
    storage.fail_sync = True
    with pytest.raises(JournalFailed):
        j.close()
    with pytest.raises(JournalFailed):
        j.append(1, order(1))


def test_a_journaled_venue_refuses_batches_after_a_failed_fsync() -> None:
    storage = FailingStorage()
    jv = JournaledVenue(storage)
    jv.process([INSTRUMENT])
    storage.fail_sync = True
    with pytest.raises(JournalFailed):
        jv.process([order(1)])
    storage.fail_sync = False
    with pytest.raises(JournalFailed):
        jv.process([order(2)])


def test_a_journaled_venue_refuses_to_checkpoint_after_a_failed_fsync() -> None:
    storage = FailingStorage()
    jv = JournaledVenue(storage)
    jv.process([INSTRUMENT])
    storage.fail_sync = True
    with pytest.raises(JournalFailed):
        jv.process([order(1)])
    storage.fail_sync = False
    with pytest.raises(JournalFailed):
        jv.checkpoint()
    assert not [n for n in storage.names() if n.startswith("checkpoint-")]
