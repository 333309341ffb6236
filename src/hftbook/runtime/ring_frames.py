"""Messages longer than a ring slot: split into fragments, joined again by the reader.

A fragment is one flag byte and a piece of the message: `MORE` (another fragment of the same
message follows in the next slot) or `LAST`. A message that fits one slot is one `LAST`
fragment, so the usual case costs one byte and one concatenation.

Invariants: `split(m, cap)` gives fragments of at most `cap` bytes whose pieces concatenate to
`m`; a `Joiner` fed the fragments of a stream in order gives back every message once, in
order, and holds at most one unfinished message (a batch may end between two fragments).
"""

from __future__ import annotations

MORE = 1
LAST = 0
_LAST = b"\x00"
_MORE = b"\x01"


def split(message: bytes, cap: int) -> list[bytes]:
    """The fragments of `message` for slots that hold `cap` bytes."""
    if len(message) < cap:
        return [_LAST + message]
    step = cap - 1
    if step < 1:
        raise ValueError(f"slots of {cap} bytes cannot carry fragments")
    n = len(message)
    out = [_MORE + message[i:i + step] for i in range(0, n - step, step)]
    out.append(_LAST + message[len(out) * step:])
    return out


class Joiner:
    """Feed fragments in stream order; `feed` returns the finished messages of a batch."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, fragments: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        parts = self._parts
        for f in fragments:
            if f[0] == LAST:
                if parts:
                    parts.append(f[1:])
                    out.append(b"".join(parts))
                    parts.clear()
                else:
                    out.append(f[1:])
            elif f[0] == MORE:
                parts.append(f[1:])
            else:
                raise ValueError(f"not a fragment: flag {f[0]}")
        return out

    @property
    def partial(self) -> bool:
        """A message is half read (its last fragment has not come yet)."""
        return bool(self._parts)


__all__ = ["LAST", "MORE", "Joiner", "split"]
