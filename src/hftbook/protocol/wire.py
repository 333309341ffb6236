"""Building blocks of the templates' encoders and decoders, and the template registry.

Invariants:
- every template registers exactly once, with its id, message class, fixed block length and
  body layout (a `struct` format that tests compare with the XML), an encoder that returns a
  whole frame (length prefix + header + body) in one `Struct.pack`, and a decoder that reads
  the body at an offset of any buffer without copying it;
- text fields are ASCII, NUL-padded, at most their length, with no NUL inside; decoding is
  strict about that too, so one message has one byte form (and one byte form one message);
- an integer client order id is written in its canonical decimal form and read back only
  from that form;
- helpers here raise `EncodeError` when encoding and plain `ValueError` when decoding (the
  codec turns those into `MalformedMessage` with the template and the header's fields).
"""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from typing import Any

from hftbook.protocol.errors import EncodeError
from hftbook.protocol.messages import ClOrdId
from hftbook.protocol.schema import (
    CL_ORD_ID_LENGTH,
    HEADER_SIZE,
    INT64_MAX,
    INT64_MIN,
    SYMBOL_LENGTH,
)

Buffer = bytes | bytearray | memoryview

HEADER = Struct("<HHHHQ")  # blockLength, templateId, schemaId, version, seqNum
FRAME_PREFIX = "<IHHHHQ"  # the length prefix, then the header: every encoder's Struct starts so
LENGTH = Struct("<I")
GROUP_HEADER = Struct("<HH")  # groupSizeEncoding: blockLength, numInGroup

new_tuple = tuple.__new__  # builds a NamedTuple from a tuple without its keyword-parsing __new__

KIND_INTEGER = 0
KIND_TEXT = 1
KIND_ABSENT = 2

_CACHE_LIMIT = 4096
# Symbols repeat: encoders try `SYMBOL_IN.get(s) or symbol_in(s)`, decoders
# `SYMBOL_OUT.get(raw) or symbol_out(raw)` (both caches only ever hold checked values).
SYMBOL_IN: dict[str, bytes] = {}
SYMBOL_OUT: dict[bytes, str] = {}


class Template:
    """One message template: what the codec needs to encode and decode it.

    `encode_frame(message, seq_num) -> bytes` returns prefix + header + body;
    `decode(buf, offset, block_length, end) -> message` reads a body that starts at `offset`,
    whose fixed block is `block_length` bytes (at least this template's) and whose groups (if
    any) end at or before `end`. `min_block_length` is the shortest block a sender of an
    older supported version writes: a shorter block than ours but at least that long is
    completed with `fill[block:]` (the null values of the fields added since) before decoding.
    """

    __slots__ = ("block_length", "body_format", "cls", "decode", "encode_frame", "fill", "groups",
                 "min_block_length", "name", "template_id")

    def __init__(self, template_id: int, cls: type, block_length: int, body_format: str,
                 encode_frame: Callable[[Any, int], bytes], decode: Callable[[Buffer, int, int, int], Any],
                 groups: tuple[tuple[str, str], ...] = (), min_block_length: int | None = None,
                 fill: bytes = b"") -> None:
        self.template_id = template_id
        self.name = cls.__name__
        self.cls = cls
        self.block_length = block_length
        self.body_format = body_format
        self.groups = groups  # (group name, entry format) in wire order
        self.encode_frame = encode_frame
        self.decode = decode
        self.min_block_length = block_length if min_block_length is None else min_block_length
        self.fill = fill
        if Struct("<" + body_format).size != block_length:
            raise AssertionError(f"{self.name}: format {body_format!r} is not {block_length} bytes")
        if self.min_block_length < block_length and len(fill) != block_length:
            raise AssertionError(f"{self.name}: fill must be a whole block of null values")


TEMPLATES: dict[int, Template] = {}
BY_CLASS: dict[type, Template] = {}


def register(t: Template) -> Template:
    if t.template_id in TEMPLATES or t.cls in BY_CLASS:
        raise AssertionError(f"template {t.template_id} ({t.name}) registered twice")
    TEMPLATES[t.template_id] = t
    BY_CLASS[t.cls] = t
    return t


def frame_struct(body_format: str) -> Struct:
    """The Struct an encoder packs: length prefix, header, fixed block."""
    return Struct(FRAME_PREFIX + body_format)


def frame_length(block_length: int) -> int:
    """The length prefix of a message without groups."""
    return HEADER_SIZE + block_length


# Encoding helpers (raise EncodeError).

def text_in(value: object, length: int, what: str) -> bytes:
    """ASCII text of at most `length` bytes, no NUL ("" and None are all-NUL)."""
    if value is None:
        return b""
    if type(value) is not str:
        raise EncodeError(f"{what} must be a str, not {type(value).__name__}")
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise EncodeError(f"{what} must be ASCII: {value!r}") from None
    if len(raw) > length:
        raise EncodeError(f"{what} is longer than {length} bytes: {value!r}")
    if 0 in raw:  # memchr (a bytes needle would be a substring search)
        raise EncodeError(f"{what} must not contain NUL: {value!r}")
    return raw


def symbol_in(symbol: object) -> bytes:
    raw = text_in(symbol, SYMBOL_LENGTH, "symbol")
    if type(symbol) is str:
        if len(SYMBOL_IN) >= _CACHE_LIMIT:
            SYMBOL_IN.clear()
        SYMBOL_IN[symbol] = raw
    return raw


def cid_kind(cid: object) -> int:
    if type(cid) is str:
        return KIND_TEXT
    if type(cid) is int:
        return KIND_INTEGER
    if cid is None:
        return KIND_ABSENT
    raise EncodeError(f"cl_ord_id must be an int, a str or None, not {type(cid).__name__}")


def cid_in(cid: object) -> bytes:
    """The clOrdId bytes of an id (`cid_kind` gives its clOrdIdKind)."""
    if type(cid) is str and len(cid) <= CL_ORD_ID_LENGTH and cid.isascii() and "\0" not in cid:
        return cid.encode()
    if type(cid) is int:
        if not INT64_MIN <= cid <= INT64_MAX:
            raise EncodeError(f"an integer cl_ord_id must fit a signed 64-bit integer: {cid}")
        return str(cid).encode("ascii")
    return text_in(cid, CL_ORD_ID_LENGTH, "cl_ord_id")


# Decoding helpers (raise ValueError).

def text_out(raw: bytes) -> str:
    s = raw.rstrip(b"\0")
    if 0 in s:
        raise ValueError(f"NUL inside a text field: {raw!r}")
    return s.decode("ascii")


def symbol_out(raw: bytes) -> str:
    s = text_out(raw)
    if len(SYMBOL_OUT) >= _CACHE_LIMIT:
        SYMBOL_OUT.clear()
    SYMBOL_OUT[raw] = s
    return s


def opt_symbol_out(raw: bytes) -> str | None:
    s = SYMBOL_OUT.get(raw) or symbol_out(raw)
    return s if s else None


def cid_out(kind: int, raw: bytes) -> ClOrdId:
    if kind == KIND_TEXT:
        s = raw.rstrip(b"\0")
        if 0 in s:
            raise ValueError(f"NUL inside a text field: {raw!r}")
        return s.decode("ascii")
    if kind == KIND_INTEGER:
        s = raw.rstrip(b"\0")
        n = int(s)
        if str(n).encode("ascii") != s or not INT64_MIN <= n <= INT64_MAX:
            raise ValueError(f"not a canonical signed 64-bit integer id: {raw!r}")
        return n
    if kind == KIND_ABSENT:
        if raw.strip(b"\0"):
            raise ValueError("clOrdIdKind absent with a clOrdId")
        return None
    raise ValueError(f"unknown clOrdIdKind {kind}")
