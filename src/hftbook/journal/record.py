"""The journal's bytes: segment files of checksummed records, and the command codec.

A segment is `MAGIC` then records. A record is a 20-byte header (payload length u32, sequence
u64, ts i64, little-endian), the payload, and a CRC32C (u32) of header and payload. The
payload is one command (any JSON value, normally a dict) in MessagePack, with exact decimals
(JSON numbers with a fraction or exponent, parsed as `Decimal`) and integers beyond 64 bits
kept exactly as extension types, so decoding gives back the very command that was applied.

Invariants: `encode_command`/`decode_command` round-trip every JSON value replay can parse;
`scan` never accepts a record whose CRC, length or sequence is wrong, and reports the
offset of the first bad byte instead of skipping it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import msgpack
from crc32c import crc32c

MAGIC = b"HFTWAL\x01\x00"  # name and format version 1
HEADER = struct.Struct("<IQq")
TRAILER = struct.Struct("<I")
MAX_PAYLOAD = 1 << 20  # a command is a few hundred bytes; a larger length is damage
_EXT_DECIMAL = 1
_EXT_BIGINT = 2


def segment_name(first_seq: int) -> str:
    return f"wal-{first_seq:020d}.log"


def segment_first(name: str) -> int | None:
    """The first sequence number a segment's name promises, None for other files."""
    if name.startswith("wal-") and name.endswith(".log") and name[4:-4].isdigit():
        return int(name[4:-4])
    return None


def _default(o: object) -> msgpack.ExtType:
    if isinstance(o, Decimal):
        return msgpack.ExtType(_EXT_DECIMAL, str(o).encode())
    if isinstance(o, int) and not isinstance(o, bool):
        # Beyond MessagePack's 64-bit integers (msgpack hands them here). Hexadecimal: exact,
        # and free of CPython's 4300-digit limit on decimal int conversion.
        return msgpack.ExtType(_EXT_BIGINT, format(o, "x").encode())
    raise TypeError(f"cannot journal a {type(o).__name__}")


def _ext(code: int, data: bytes) -> object:
    if code == _EXT_DECIMAL:
        return Decimal(data.decode())
    if code == _EXT_BIGINT:
        return int(data.decode(), 16)
    return msgpack.ExtType(code, data)


def encode_command(cmd: object) -> bytes:
    # surrogatepass: JSON may hold a lone surrogate (\ud800) that strict UTF-8 refuses.
    data: bytes = msgpack.packb(cmd, default=_default, unicode_errors="surrogatepass")
    return data


def decode_command(payload: bytes) -> Any:
    return msgpack.unpackb(payload, ext_hook=_ext, strict_map_key=False, unicode_errors="surrogatepass")


def frame(seq: int, ts: int, payload: bytes) -> bytes:
    head = HEADER.pack(len(payload), seq, ts)
    return head + payload + TRAILER.pack(crc32c(payload, crc32c(head)))


class Record(NamedTuple):
    seq: int
    ts: int
    payload: bytes
    offset: int  # of the record's header in its segment
    end: int  # offset just past the record


def read_record(data: bytes, pos: int) -> Record | None:
    """The record at `pos`, or None when it is incomplete or fails its checks."""
    end_head = pos + HEADER.size
    if end_head > len(data):
        return None
    length, seq, ts = HEADER.unpack_from(data, pos)
    if length > MAX_PAYLOAD:
        return None
    end = end_head + length + TRAILER.size
    if end > len(data):
        return None
    payload = data[end_head:end_head + length]
    (crc,) = TRAILER.unpack_from(data, end - TRAILER.size)
    if crc != crc32c(payload, crc32c(data[pos:end_head])):
        return None
    return Record(seq, ts, payload, pos, end)


@dataclass
class Scan:
    """One segment read: its good records, and where (and why) reading stopped early."""

    records: list[Record]
    bad_offset: int | None = None  # first byte not part of a good record (None: clean end)
    reason: str = ""
    resumes: bool = False  # a good record (with a later sequence) follows the bad bytes


def scan(data: bytes, first_seq: int) -> Scan:
    """Read a segment's records, expecting sequence numbers from `first_seq` on."""
    if data[: len(MAGIC)] != MAGIC:
        return Scan([], 0, "bad segment header", _resumes(data, 1, first_seq))
    records: list[Record] = []
    append = records.append
    pos = len(MAGIC)
    expect = first_seq
    size = len(data)
    unpack = HEADER.unpack_from
    trailer = TRAILER.unpack_from
    head = HEADER.size
    # `read_record` written out (a recovery reads every record): one CRC over header and
    # payload together, which equals the chained CRC `frame` writes.
    while pos < size:
        if pos + head > size:
            return Scan(records, pos, "bad record", False)
        length, seq, ts = unpack(data, pos)
        end = pos + head + length + 4
        if length > MAX_PAYLOAD or end > size or trailer(data, end - 4)[0] != crc32c(data[pos:end - 4]):
            return Scan(records, pos, "bad record", _resumes(data, pos + 1, expect))
        if seq != expect:
            # A whole record with a good CRC cannot be a torn write: wrong numbering is damage.
            return Scan(records, pos, f"sequence {seq}, expected {expect}", True)
        append(Record(seq, ts, data[pos + head:end - 4], pos, end))
        expect += 1
        pos = end
    return Scan(records)


_SEQ = struct.Struct("<Q")


def _resumes(data: bytes, start: int, expect: int) -> bool:
    """Is there a good record with sequence >= expect anywhere from `start`? (A torn tail has
    none; damage in the middle of a log has.) Every offset is tried, the cheap sequence test
    first: about a second per 16 MiB, and only ever run on damage."""
    last = len(data) - HEADER.size - TRAILER.size
    most = expect + len(data) // (HEADER.size + TRAILER.size)  # no later record can be numbered higher
    unpack = _SEQ.unpack_from
    for pos in range(start, last + 1):
        (seq,) = unpack(data, pos + 4)
        if expect <= seq <= most and read_record(data, pos) is not None:
            return True
    return False


__all__ = ["MAGIC", "Record", "Scan", "decode_command", "encode_command", "frame", "read_record", "scan",
           "segment_first", "segment_name"]
