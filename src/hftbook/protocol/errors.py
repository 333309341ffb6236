"""The codec's errors, in two families the gateway treats differently.

- `FrameError`: the byte stream itself is broken (a length prefix over the maximum or below
  the header size). The frame boundaries are lost, so the connection cannot go on: the
  gateway disconnects (after a Logout if it likes). A `FrameDecoder` that raised one keeps
  raising it.
- `MessageError`: one well-framed message could not be decoded (another schema, an
  unsupported version, an unknown template, a malformed body). The frame was consumed and
  the stream is intact; the error carries what the header said (`seq_num`, `template_id`,
  `schema_id`, `version`, each None when unknown) so the gateway can answer with a
  BusinessReject and go on, or disconnect.

`EncodeError` is raised by the encoders when a value does not fit its field (text too long
or not ASCII, an integer out of range, an unknown enum name). `ConversionError` is raised by
`hftbook.protocol.convert` when a contract value cannot be expressed on the wire. All are
`ValueError`s through `ProtocolError`.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Base of every error of hftbook.protocol."""


class EncodeError(ProtocolError):
    """A message value does not fit its wire field."""


class ConversionError(ProtocolError):
    """A contract command or event value has no wire form (or a message no contract form)."""


class FrameError(ProtocolError):
    """The stream's framing is broken: the connection cannot continue."""


class MessageTooLarge(FrameError):
    """A length prefix announced more than the maximum message size."""

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"message of {size} bytes exceeds the maximum of {max_size}")
        self.size = size
        self.max_size = max_size


class BadFrameLength(FrameError):
    """A length prefix too small to hold a message header."""


class MessageError(ProtocolError):
    """One framed message could not be decoded; the stream is intact."""

    def __init__(self, message: str, *, seq_num: int | None = None, template_id: int | None = None,
                 schema_id: int | None = None, version: int | None = None) -> None:
        super().__init__(message)
        self.seq_num = seq_num
        self.template_id = template_id
        self.schema_id = schema_id
        self.version = version


class WrongSchema(MessageError):
    """The header names another schema id."""


class UnsupportedVersion(MessageError):
    """The header's version is older than the oldest this decoder reads."""


class UnknownTemplate(MessageError):
    """The header's template id is not one of this schema's messages."""


class MalformedMessage(MessageError):
    """The body is shorter than its blockLength says, or holds a value no field allows
    (an unknown enum code, non-ASCII text, a non-canonical integer id, a group overrun)."""
