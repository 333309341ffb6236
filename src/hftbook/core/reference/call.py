"""A halted symbol's *call* in the reference exchange: the orders it collects and the indicative
uncross it publishes (``docs/PROTOCOL.md``, "Call auction: orders collected in a halt, one price
at the resume"). The uncross at the resume is ``uncross``'s; the price rules are ``auction``'s.

While a symbol is halted, ``new`` asks ``halted_refusal`` at its step 5 (``halted``). With the
instrument's ``halt_orders`` ``reject`` (the default) every order is refused, as the contract's
rule 13 says. With ``collect`` (read when the order arrives: a later switch does not touch the
orders already collected) the symbol's call takes:

- ``limit`` orders with tif ``gtc``, ``gtd`` or ``day`` (icebergs too, post-only not): they rest
  at once at the back of their level, without matching, even when they cross (``collect``);
- ``market`` orders with any tif but ``fok``: *held* (``ReferenceState.held``), live but not in
  the book, until the uncross; the ``no_liquidity`` check does not apply to them;
- every stop type, whatever its tif and post-only flag: it waits as usual.

Everything else is still refused ``halted``: ``ioc`` and ``fok`` limit orders, ``fok`` market
orders, post-only limit orders (and, elsewhere, ``oco``, ``bracket`` and ``modify``).

``publish`` writes an ``indicative`` event for each halted symbol (in symbol order) whose
indicative uncross (``auction.indicative_of``) differs from the last one published in its
halt (``Instrument.indicative``, ``NOTHING`` when the halt starts), whatever its mode.
``ReferenceExchange.apply`` calls it at the protocol's moments: after the GTD expiry that
starts each command (and its contingent effects), and after each ``new``, ``cancel``,
``cancel_all``, ``end_of_day``, ``kill_switch`` and ``instrument`` command (after its
contingent effects).

Invariants:

- ``halted_refusal`` and ``publish``'s comparison change nothing; ``collect`` rests or holds the
  order and writes nothing but the ``rests`` of its ``accepted`` event (an iceberg rests its
  first slice, as in continuous trading); a held market order has no ``rests``.
- A symbol's book may be crossed only while it is halted (its call); the uncross at its
  resume leaves it uncrossed, and no market order held.
- After ``publish``, every halted symbol's ``Instrument.indicative`` is its indicative now.

Only the standard library is used.
"""

from __future__ import annotations

from .auction import indicative_of
from .fields import STOP_TYPES
from .model import Instrument, Order
from .state import ReferenceState

__all__ = ["collect", "halted_refusal", "publish"]


def halted_refusal(inst: Instrument, order: Order) -> str | None:
    """Why a new order on the halted ``inst`` is refused ``halted`` (None: the call takes it).
    ``order.order_type`` is still the submitted type (a stop type for stops)."""
    if inst.risk.halt_orders != "collect":
        return "symbol is halted"
    if order.order_type in STOP_TYPES:
        return None
    if order.order_type == "market":
        return "fok market orders are not collected in a halt" if order.tif == "fok" else None
    if order.tif not in ("gtc", "gtd", "day"):
        return "ioc and fok orders are not collected in a halt"
    if order.post_only:
        return "post-only orders are not collected in a halt"
    return None


def collect(state: ReferenceState, order: Order) -> None:
    """An accepted limit or market order joins the call: a limit rests at once (no matching),
    a market order is held for the uncross."""
    if order.price is None:
        state.held.append(order)
        return
    state.book.rest(order)
    state.events.rested(order)


def publish(state: ReferenceState) -> None:
    """``indicative`` for each halted symbol whose indicative changed, in symbol order."""
    for symbol in sorted(state.halted_symbols()):
        inst = state.instruments[symbol]
        now = indicative_of(state, symbol)
        if now != inst.indicative:
            inst.indicative = now
            state.events.indicative(symbol, now)
