"""Icebergs (contract rule 8) in the reference exchange: slices, refills and their generator.

An iceberg rests as a visible slice (``Order.open``) with the rest of its open quantity
hidden (``Iceberg.hidden``). When trades or an STP decrement use up the slice, ``refill``
takes the next slice out of the hidden part; the caller puts the order at the back of its
level again (a new queue entry) and writes the events.

Refill sizes follow ``docs/PROTOCOL.md`` ("Icebergs"): ``display + r``, capped by what is
hidden, where ``r = z mod (2v + 1) - v`` for the next 64-bit output ``z`` of the order's own
SplitMix64 generator, seeded with its engine ``order_id``. The generator is written out
here from its definition (no library generator), so the sequence is fixed forever.

Invariants:

- ``splitmix64`` is the standard SplitMix64 step: the state goes up by the golden gamma
  modulo 2**64 and the output is the state through the two xor-shift-multiply rounds and a
  final xor-shift. Both state and output are in ``0 .. 2**64 - 1``.
- ``show_first_slice`` is only called on an iceberg holding its whole open quantity in
  ``open`` (a taker about to rest); afterwards ``open == min(display, whole)`` and
  ``hidden`` holds the rest, so ``total()`` is unchanged.
- ``refill`` changes nothing and returns 0 unless the order is an iceberg whose slice is
  used up (``open == 0``) with hidden quantity left; then it draws exactly one output of
  the generator if the order has a variance (none without: its refills are ``display``),
  moves ``size`` lots from ``hidden`` to ``open`` and returns ``size`` (``1 <= size``,
  since ``variance < display``). ``total()`` is unchanged. The first slice never draws, so
  ``rng`` is the ``order_id`` advanced once per refill with a variance.

Only the standard library is used.
"""

from __future__ import annotations

from .model import Order

__all__ = ["refill", "show_first_slice", "splitmix64"]

_MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15


def splitmix64(state: int) -> tuple[int, int]:
    """One SplitMix64 step: (the new state, the output drawn)."""
    state = (state + _GAMMA) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def show_first_slice(order: Order) -> None:
    """An iceberg about to rest with its whole open quantity: show ``display`` of it, at most."""
    ice = order.ice
    if ice is None:
        return
    assert ice.hidden == 0, "a taker holds its whole quantity in open"
    whole = order.open
    order.open = min(ice.display, whole)
    ice.hidden = whole - order.open


def refill(order: Order) -> int:
    """Take the next slice of a used-up iceberg out of its hidden part; its size, or 0."""
    ice = order.ice
    if ice is None or order.open > 0 or ice.hidden == 0:
        return 0
    size = ice.display
    v = ice.variance
    if v > 0:  # r exists only with a variance, so only then is there a draw
        ice.rng, z = splitmix64(ice.rng)
        size += z % (2 * v + 1) - v
    size = min(size, ice.hidden)
    ice.hidden -= size
    order.open = size
    return size
