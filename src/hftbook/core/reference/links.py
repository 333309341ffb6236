"""The links between contingent orders in the reference exchange: OCO pairs, brackets and
their dormant children, in plain lists searched by linear scans.

``docs/PROTOCOL.md`` ("Contingent orders: ``oco`` and ``bracket``") defines the behaviour;
this module only keeps the records. What the links do when something happens to a linked
order (the OCO rule, activation, growth, the ``parent`` cancel) is ``settle``'s; the commands
that create them are ``contingent_commands``'.

- A ``Pair`` is an OCO pair: an ``oco`` command's two parts, or a bracket's two children.
- A ``Bracket`` is an entry with its take-profit and/or stop-loss, the activation mode and
  what has been done for it so far.
- ``Links.dormant`` holds the children that have not been activated: live orders (their ids
  are taken; cancel, cancel_all, GTD expiry and end_of_day reach them), in neither the book
  nor the stops. A dormant child holds its current qty (the entry's qty at submission) in
  ``open``; a stop-loss's trigger terms wait in ``Bracket.stop`` until it is placed.

Invariants:

- ``pairs`` holds the unresolved pairs only: a pair leaves it when the first trade, trigger
  or exit of either member is settled. After every command both members of every pair in it
  are live.
- ``brackets`` holds the brackets whose entry has not been finished and handled; a bracket
  leaves it once its entry is finished and its children were activated, deferred or
  cancelled (``parent``). ``deferred`` holds, in the order they fell due and each at most
  once, the brackets whose activation fell due while their symbol was halted (an entry
  finished with a fill, or a partial entry's first fill): their children stay dormant until
  the resume. A deferred partial bracket whose entry is still live is in both lists.
- A bracket's ``handled`` is the entry's ``filled`` when its effects were last handled (the
  fill of the step being settled is ``entry.filled - handled``). ``growing`` turns False for
  good at the first trade, trigger or exit of a child (with two children: when their OCO pair
  resolves), and only a partial bracket's children ever grow.
- ``cursor`` is the position in the current command's event list up to which the events
  have been settled; it goes back to 0 when a command starts.
- ``releasing`` is the stop whose ``triggered`` event is being settled (it has left the
  stops and not yet reached the book, and is live all the same), None at any other time.

Only the standard library is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Order
from .stops import Stop

__all__ = ["Bracket", "Links", "Pair"]


@dataclass
class Pair:
    """Two orders of which the first trade, trigger or exit cancels the other (``oco``)."""

    first: Order
    second: Order

    def has(self, order_id: int) -> bool:
        return order_id in (self.first.order_id, self.second.order_id)

    def other(self, order_id: int) -> Order:
        return self.second if self.first.order_id == order_id else self.first


@dataclass
class Bracket:
    """An entry and its children (one triggers the others)."""

    entry: Order
    partial: bool  # activation: partial (grow with each fill) or full (on the entry's finish)
    take_profit: Order | None = None
    stop_loss: Order | None = None
    stop: Stop | None = None  # the stop-loss's trigger terms (its ``order`` is ``stop_loss``)
    handled: int = 0  # entry.filled when the entry's effects were last handled
    activated: bool = False  # the children were activated (partial: at the first fill)
    growing: bool = True  # partial only: later fills still raise the children's qty

    def children(self) -> list[Order]:
        """The children, stop-loss first (the order of activation, growth and ``parent``)."""
        return [c for c in (self.stop_loss, self.take_profit) if c is not None]


@dataclass
class Links:
    """Every OCO pair and bracket still in play, and the dormant children."""

    pairs: list[Pair] = field(default_factory=list)
    brackets: list[Bracket] = field(default_factory=list)
    dormant: list[Order] = field(default_factory=list)
    deferred: list[Bracket] = field(default_factory=list)
    cursor: int = 0
    releasing: Order | None = None  # a stop between its ``triggered`` event and its matching

    def pair_of(self, order_id: int) -> Pair | None:
        for pair in self.pairs:
            if pair.has(order_id):
                return pair
        return None

    def bracket_of_entry(self, order_id: int) -> Bracket | None:
        for b in self.brackets:
            if b.entry.order_id == order_id:
                return b
        return None

    def bracket_of_child(self, order_id: int) -> Bracket | None:
        for b in self.brackets + self.deferred:
            if any(c.order_id == order_id for c in b.children()):
                return b
        return None

    def find_dormant(self, user: str, oid: str | int) -> Order | None:
        for o in self.dormant:
            if o.user == user and type(o.id) is type(oid) and o.id == oid:
                return o
        return None

    def is_dormant(self, order: Order) -> bool:
        return any(o is order for o in self.dormant)

    def wake(self, order: Order) -> None:
        """The child leaves the dormant list (activated or cancelled)."""
        self.dormant = [o for o in self.dormant if o is not order]
