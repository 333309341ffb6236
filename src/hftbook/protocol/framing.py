"""Length-prefixed framing over a byte stream, with an incremental decoder.

A frame is a uint32 little-endian length N, then N bytes: one SBE message (header + body).
N counts neither itself nor anything else; it must be at least the header size (16) and at
most the decoder's `max_size` (default `MAX_MESSAGE_SIZE`, 64 KiB).

Invariants of `FrameDecoder`:
- it accepts bytes in chunks of any size, split anywhere (inside the prefix, the header, a
  field) and with any number of frames per chunk; it yields exactly the frames' messages, in
  order, each once, whatever the chunking;
- a length prefix above `max_size` is refused as soon as its 4 bytes are in (before the body
  arrives: an attacker cannot make it buffer more than `max_size` + 4 bytes per frame), one
  below the header size likewise: both `FrameError`s, fatal: the decoder keeps raising the
  same error from then on (the stream has lost its frame boundaries);
- a frame whose message cannot be decoded raises its `MessageError` after the frame has been
  consumed: the next call goes on with the next frame;
- what it holds is at most one partial frame plus what the last `feed` added.
"""

from __future__ import annotations

from collections.abc import Iterator

from hftbook.protocol.codec import decode_at
from hftbook.protocol.errors import BadFrameLength, FrameError, MessageTooLarge
from hftbook.protocol.messages import Message
from hftbook.protocol.schema import HEADER_SIZE, LENGTH_PREFIX_SIZE, MAX_MESSAGE_SIZE
from hftbook.protocol.wire import LENGTH, Buffer

_COMPACT_AT = 1 << 16  # drop consumed bytes once this many have piled up


class FrameDecoder:
    """Incremental decoder of a stream of length-prefixed messages.

        dec = FrameDecoder()
        dec.feed(chunk)                      # whatever recv() returned
        while (item := dec.next_message()) is not None:
            seq_num, message = item          # MessageError: reject this one, go on
                                             # FrameError: disconnect
    """

    __slots__ = ("_buf", "_error", "_pos", "max_size")

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        if max_size < HEADER_SIZE:
            raise ValueError(f"max_size must be at least the header size ({HEADER_SIZE})")
        self.max_size = max_size
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed byte in _buf
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet consumed (a partial frame, or frames not yet taken)."""
        return len(self._buf) - self._pos

    @property
    def failed(self) -> FrameError | None:
        """The fatal framing error, once one happened."""
        return self._error

    def feed(self, data: Buffer) -> None:
        """Append received bytes. Raises the fatal error if the stream has already failed."""
        if self._error is not None:
            raise self._error
        buf = self._buf
        if self._pos and self._pos == len(buf):
            buf.clear()
            self._pos = 0
        buf += data

    def next_message(self) -> tuple[int, Message] | None:
        """The next complete message as (seq_num, message), or None until more bytes arrive."""
        if self._error is not None:
            raise self._error
        buf = self._buf
        pos = self._pos
        have = len(buf) - pos
        if have < LENGTH_PREFIX_SIZE:
            self._compact()
            return None
        (n,) = LENGTH.unpack_from(buf, pos)
        if n > self.max_size:
            self._error = MessageTooLarge(n, self.max_size)
            raise self._error
        if n < HEADER_SIZE:
            self._error = BadFrameLength(f"frame length {n} is below the {HEADER_SIZE}-byte header")
            raise self._error
        if have < LENGTH_PREFIX_SIZE + n:
            self._compact()
            return None
        start = pos + LENGTH_PREFIX_SIZE
        self._pos = start + n  # consumed even if decoding fails: the stream stays in step
        return decode_at(buf, start, n)

    def messages(self) -> Iterator[tuple[int, Message]]:
        """Every complete message buffered now (errors propagate; call again to go on)."""
        while (item := self.next_message()) is not None:
            yield item

    def _compact(self) -> None:
        if self._pos >= _COMPACT_AT or (self._pos and self._pos == len(self._buf)):
            del self._buf[:self._pos]
            self._pos = 0


def frame(message_bytes: bytes) -> bytes:
    """Put a length prefix in front of one encoded message (`codec.encode` output)."""
    return LENGTH.pack(len(message_bytes)) + message_bytes
