"""Fragments of messages longer than a slot: split and joined back, in any batch cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftbook.runtime.ring_frames import Joiner, split


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(2, 64), st.data())
def test_split_then_join_in_any_batches(messages: list[bytes], cap: int, data: st.DataObject) -> None:
    frames = [f for m in messages for f in split(m, cap)]
    assert all(len(f) <= cap for f in frames)
    j = Joiner()
    out: list[bytes] = []
    i = 0
    while i < len(frames):
        n = data.draw(st.integers(1, len(frames) - i))
        out.extend(j.feed(frames[i:i + n]))
        i += n
    assert out == messages
    assert not j.partial


def test_a_message_that_fits_is_one_fragment() -> None:
    assert split(b"abc", 4) == [b"\x00abc"]
    assert split(b"abcd", 4) == [b"\x01abc", b"\x00d"]


def test_partial_until_the_last_fragment() -> None:
    j = Joiner()
    a, b = split(b"x" * 10, 6)
    assert j.feed([a]) == [] and j.partial
    assert j.feed([b]) == [b"x" * 10] and not j.partial


def test_bad_flag_and_tiny_slot_refused() -> None:
    with pytest.raises(ValueError):
        Joiner().feed([b"\x07abc"])
    with pytest.raises(ValueError):
        split(b"abc", 1)
