"""Encode and decode whole messages: header checks, versioning by blockLength, dispatch to
the templates.

Invariants:
- `decode(encode(m, s)) == (s, m)` for every message `m` whose values fit their fields, and
  `encode_frame(m, s) == LENGTH.pack(len(encode(m, s))) + encode(m, s)`;
- a message is checked in this order, and each failure is its own error: shorter than the
  header (`MalformedMessage`), schema id (`WrongSchema`), version older than
  `MIN_SUPPORTED_VERSION` (`UnsupportedVersion`), template id (`UnknownTemplate`), body
  shorter than its blockLength or a bad value in it (`MalformedMessage`); each carries what
  the header said;
- versioning: the body is read at the header's blockLength, never at our own: a newer
  sender's appended fields (blockLength larger than ours) are skipped, and bytes after the
  block and the groups are ignored; an older sender's shorter block (not below the
  template's `min_block_length`) is completed with the null values of the fields it lacks.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

# The template modules register themselves on import.
from hftbook.protocol import mdata, orders, reports, session  # noqa: F401
from hftbook.protocol.errors import (
    EncodeError,
    MalformedMessage,
    UnknownTemplate,
    UnsupportedVersion,
    WrongSchema,
)
from hftbook.protocol.messages import Message
from hftbook.protocol.schema import (
    HEADER_SIZE,
    LENGTH_PREFIX_SIZE,
    MIN_SUPPORTED_VERSION,
    SCHEMA_ID,
)
from hftbook.protocol.wire import BY_CLASS, HEADER, TEMPLATES, Buffer, Template

_unpack_header = HEADER.unpack_from
# The decode fast path's view of the registry: template id -> (block length, decoder). A
# template registered later (tests do) takes the checked path, which reads TEMPLATES.
_FAST = {tid: (t.block_length, t.decode) for tid, t in TEMPLATES.items()}


class MessageHeader(NamedTuple):
    block_length: int
    template_id: int
    schema_id: int
    version: int
    seq_num: int


def template_of(message: Message) -> Template:
    """The registered template of a message object (EncodeError for anything else)."""
    t = BY_CLASS.get(type(message))
    if t is None:
        raise EncodeError(f"not a message of the schema: {type(message).__name__}")
    return t


def template_by_id(template_id: int) -> Template:
    t = TEMPLATES.get(template_id)
    if t is None:
        raise UnknownTemplate(f"unknown template id {template_id}", template_id=template_id)
    return t


def encode_frame(message: Message, seq_num: int = 0) -> bytes:
    """The length prefix (uint32 LE: header + body bytes), the header (with `seq_num`) and the
    body of `message`: what goes on a stream. EncodeError if a value does not fit."""
    t = BY_CLASS.get(type(message))
    if t is None:
        raise EncodeError(f"not a message of the schema: {type(message).__name__}")
    try:
        return t.encode_frame(message, seq_num)
    except KeyError as e:
        raise EncodeError(f"{t.name}: unknown enum value {e}") from None
    except (struct.error, TypeError, ValueError, OverflowError) as e:
        if isinstance(e, EncodeError):
            raise
        raise EncodeError(f"{t.name}: {e}") from None


def encode(message: Message, seq_num: int = 0) -> bytes:
    """Header and body without the length prefix (one SBE message)."""
    return encode_frame(message, seq_num)[LENGTH_PREFIX_SIZE:]


def decode_header(data: Buffer, start: int = 0) -> MessageHeader:
    if len(data) - start < HEADER_SIZE:
        raise MalformedMessage(f"{len(data) - start} bytes: shorter than the {HEADER_SIZE}-byte header")
    return MessageHeader._make(HEADER.unpack_from(data, start))


def decode(data: Buffer) -> tuple[int, Message]:
    """One message (header and body, no length prefix) -> (seq_num, message)."""
    return decode_at(data, 0, len(data))


def decode_at(buf: Buffer, start: int, size: int) -> tuple[int, Message]:
    """The message of `size` bytes at `buf[start:]` -> (seq_num, message), without copying."""
    if size < HEADER_SIZE:
        raise MalformedMessage(f"{size} bytes: shorter than the {HEADER_SIZE}-byte header")
    bl, tid, sid, ver, seq = _unpack_header(buf, start)
    fast = _FAST.get(tid)
    if fast is None or bl < fast[0] or sid != SCHEMA_ID or ver < MIN_SUPPORTED_VERSION \
            or HEADER_SIZE + bl > size:
        return _decode_checked(buf, start, size, MessageHeader(bl, tid, sid, ver, seq), TEMPLATES.get(tid))
    try:
        return seq, fast[1](buf, start + HEADER_SIZE, bl, start + size)
    except (struct.error, IndexError, ValueError) as e:
        raise MalformedMessage(f"{TEMPLATES[tid].name}: {e}", seq_num=seq, template_id=tid, schema_id=sid,
                               version=ver) from None


def _decode_checked(buf: Buffer, start: int, size: int, h: MessageHeader,
                    t: Template | None) -> tuple[int, Message]:
    """`decode_at` off its fast path: each check in order, with its own error, and the
    completion of an older sender's shorter block."""
    where = {"seq_num": h.seq_num, "template_id": h.template_id, "schema_id": h.schema_id,
             "version": h.version}
    if h.schema_id != SCHEMA_ID:
        raise WrongSchema(f"schema id {h.schema_id}, expected {SCHEMA_ID}", **where)
    if h.version < MIN_SUPPORTED_VERSION:
        raise UnsupportedVersion(f"version {h.version} is older than {MIN_SUPPORTED_VERSION}, the oldest "
                                 "supported", **where)
    if t is None:
        raise UnknownTemplate(f"unknown template id {h.template_id}", **where)
    bl = h.block_length
    off = start + HEADER_SIZE
    end = start + size
    if off + bl > end:
        raise MalformedMessage(f"{t.name}: blockLength {bl} but only {end - off} body bytes", **where)
    if bl < t.min_block_length:
        raise MalformedMessage(f"{t.name}: blockLength {bl} is below {t.min_block_length}", **where)
    # An older sender: complete its block with the null values of the fields it lacks.
    body = bytes(buf[off:off + bl]) + t.fill[bl:t.block_length] + bytes(buf[off + bl:end])
    try:
        return h.seq_num, t.decode(body, 0, t.block_length, len(body))
    except (struct.error, IndexError, ValueError) as e:
        raise MalformedMessage(f"{t.name}: {e}", **where) from None
