"""Settling the effects of contingent orders, and releasing triggered stops between them.

``docs/PROTOCOL.md`` ("The OCO rule" and its timing paragraph, "bracket") says when the
contingent effects happen: after each matching step (a new order, a modify that crosses, a
released stop, an activated take-profit), right after a stop's ``triggered`` event, and after
a command's own cancels and expiries. The reference takes that literally: the events written
since the last settle form a *window*, and ``settle`` reads the window in two phases.

1. The OCO rule, event by event: a ``trade`` (for its maker and its taker), a ``triggered``
   or a ``cancelled`` of a member of an unresolved pair resolves the pair and cancels the
   other member (``oco``, its whole open quantity) if it is still live. The same events of a
   bracket child end its bracket's growth.
2. The brackets' entries filled or gone in the window, in the order of the first such event
   (a ``trade``: maker before taker; a ``cancelled``): a finished entry (no longer live)
   with F > 0 activates its children (``full``), with F = 0 cancels its dormant children
   (``parent``, stop-loss first); a ``partial`` entry activates them after its first fill
   and then grows them by each later fill (``modified``, reason ``parent_fill``, stop-loss
   first; a resting take-profit goes to the back of its level). An activation (full, or a
   partial one's first) that falls due while the symbol is halted (a volatility halt of the
   step that filled the entry, or a cancel or expiry in a halt) is deferred to its resume.

The events written by the two phases (the cancels, the activations and what an activated
take-profit does as an incoming order) form the next window, settled the same way, until a
window is empty. ``settle_and_release`` then releases the triggered stops one at a time, the
lowest ``order_id`` first, settling right after each ``triggered`` event (before the stop
trades) and again after its matching step (before the next one is released). A triggered
stop of a halted symbol is not released: it waits, triggered, for the symbol's resume.

Invariants:

- Every event of a command passes through exactly one window, in order (``Links.cursor``).
- A released stop keeps its ``order_id``, ``user``, ``id``, tif, expiry, post-only and STP;
  it becomes a market order (``stop``, ``trailing_stop``) or a limit order (the others).
  Between its ``triggered`` event and its matching it is ``Links.releasing``: live, though in
  neither the stops nor the book.
- Activation writes ``activated`` (with the entry's filled quantity F) for the stop-loss and
  places it, then the same for the take-profit; a placed stop-loss waits (a trailing one
  takes the last trade price as its reference) or, if a ``stop`` / ``stop_limit`` condition
  already holds, is marked triggered at its trigger price and released later by order_id;
  a placed take-profit acts as an incoming limit order (a post-only one that would take is
  ``cancelled`` ``post_only``).
- A child is activated, grown or cancelled ``parent`` only while it is live; nothing is ever
  done twice for one entry (a bracket leaves ``Links.brackets`` once its entry is finished
  and handled).
- A child's trigger is its ``triggered`` event (as for the OCO rule): a stop-loss fired by a
  print of the step being settled, not yet released, still grows with that step's fill.

Only the standard library is used.
"""

from __future__ import annotations

from .incoming import execute, refusal
from .links import Bracket
from .model import Event, Order
from .state import ReferenceState
from .stops import limit_when_released

__all__ = ["activate_deferred", "settle", "settle_and_release"]


def settle_and_release(state: ReferenceState) -> None:
    """Settle the pending events, then release every triggered stop (cascades included) whose
    symbol is not halted, settling after each ``triggered`` event and after each released
    stop's matching."""
    settle(state)
    while (stop := state.stops.pop_fired(state.halted_symbols())) is not None:
        order = stop.order
        assert stop.fired is not None
        state.events.triggered(order, stop.fired)
        state.links.releasing = order  # live, though in neither the stops nor the book
        settle(state)  # the OCO rule for a trigger: before the released stop trades
        state.links.releasing = None
        order.price = limit_when_released(stop)
        order.order_type = "market" if order.price is None else "limit"
        reason = refusal(state, order)
        if reason is not None:
            state.events.cancelled(order, reason, order.open)
        else:
            execute(state, order)
        settle(state)


def settle(state: ReferenceState) -> None:
    """Apply the contingent effects of every event not yet settled, window by window."""
    links = state.links
    out = state.events.out
    while links.cursor < len(out):
        window = out[links.cursor :]
        links.cursor = len(out)
        for ev in window:  # phase 1: the OCO rule, in event order
            for order_id in _oco_subjects(ev):
                _oco_event(state, order_id)
        for bracket in _entries_in(state, window):  # phase 2: entries, by first event
            _handle_entry(state, bracket)


def activate_deferred(state: ReferenceState, symbol: str) -> None:
    """The resume of ``symbol``: activate the children whose activation fell due while it was
    halted, in the order they fell due, while it stays running (an activated take-profit can
    halt it again: the rest then wait for the next resume)."""
    links = state.links
    inst = state.instruments[symbol]
    while not inst.halted:
        due = [b for b in links.deferred if b.entry.symbol == symbol]
        if not due:
            return
        links.deferred = [b for b in links.deferred if b is not due[0]]
        _activate(state, due[0], due[0].entry.filled)


def _live(state: ReferenceState, order: Order) -> bool:
    """Live: resting, waiting, dormant, or the stop being released right now."""
    return order is state.links.releasing or state.is_live(order)


# -- phase 1 ------------------------------------------------------------------------------


def _oco_subjects(ev: Event) -> list[int]:
    """The order ids a trade, trigger or exit happened to, in this event."""
    t = ev["type"]
    if t == "trade":
        return [ev["maker"]["order_id"], ev["taker"]["order_id"]]
    if t in ("triggered", "cancelled"):
        return [ev["order_id"]]
    return []


def _oco_event(state: ReferenceState, order_id: int) -> None:
    links = state.links
    child_of = links.bracket_of_child(order_id)
    if child_of is not None:
        child_of.growing = False
    pair = links.pair_of(order_id)
    if pair is None:
        return
    links.pairs = [p for p in links.pairs if p is not pair]
    other = pair.other(order_id)
    if _live(state, other):
        state.cancel_each([other], "oco")


# -- phase 2 ------------------------------------------------------------------------------


def _fills_and_exits(ev: Event) -> list[int]:
    """The order ids this event fills (maker, then taker) or takes out of the book."""
    if ev["type"] == "trade":
        return [ev["maker"]["order_id"], ev["taker"]["order_id"]]
    return [ev["order_id"]] if ev["type"] == "cancelled" else []


def _entries_in(state: ReferenceState, window: list[Event]) -> list[Bracket]:
    """The brackets whose entry was filled or left in the window, in the order of the first
    such event (an ``accepted``, ``modified`` or ``triggered`` of the entry causes nothing,
    so it does not count: the entry's first event here is the first that makes it due)."""
    found: list[Bracket] = []
    for ev in window:
        for order_id in _fills_and_exits(ev):
            bracket = state.links.bracket_of_entry(order_id)
            if bracket is not None and all(b is not bracket for b in found):
                found.append(bracket)
    return found


def _handle_entry(state: ReferenceState, bracket: Bracket) -> None:
    links = state.links
    if all(b is not bracket for b in links.brackets):
        return  # already finished and handled
    entry = bracket.entry
    finished = not _live(state, entry)
    filled = entry.filled
    step = filled - bracket.handled
    bracket.handled = filled
    if bracket.partial and not bracket.activated and filled > 0:
        _activate_or_defer(state, bracket)
    elif bracket.partial and bracket.activated and step > 0 and bracket.growing:
        _grow(state, bracket, step)
    if not finished:
        return
    links.brackets = [b for b in links.brackets if b is not bracket]
    if filled == 0:
        live = [c for c in bracket.children() if _live(state, c)]
        state.cancel_each(live, "parent")
    elif not bracket.activated:  # full activation (or a partial one deferred by a halt)
        _activate_or_defer(state, bracket)


def _activate_or_defer(state: ReferenceState, bracket: Bracket) -> None:
    """Activate the children with the entry's filled quantity, or, while the symbol is halted
    (nothing trades in a halt), defer that to its resume, once."""
    links = state.links
    if not state.instruments[bracket.entry.symbol].halted:
        _activate(state, bracket, bracket.entry.filled)
    elif all(b is not bracket for b in links.deferred):
        links.deferred.append(bracket)


def _activate(state: ReferenceState, bracket: Bracket, qty: int) -> None:
    """The dormant children go live with ``qty``: the stop-loss, then the take-profit."""
    bracket.activated = True
    links = state.links
    for child in bracket.children():
        if not links.is_dormant(child):
            continue  # gone while dormant (its sibling went with it)
        links.wake(child)
        child.open = qty
        _write_activated(state, child)
        if child is bracket.stop_loss:
            stop = bracket.stop
            assert stop is not None
            state.stops.add(stop)
            if stop.trigger is not None and state.stops.would_trigger(
                child.symbol, child.side, stop.trigger
            ):
                stop.fired = stop.trigger
            continue
        reason = refusal(state, child)
        if reason is not None:
            state.events.cancelled(child, reason, child.open)
        else:
            execute(state, child)


def _write_activated(state: ReferenceState, child: Order) -> None:
    inst = state.instruments[child.symbol]
    state.events.append(
        {
            "type": "activated",
            "ts": state.events.ts,
            "user": child.user,
            "id": child.id,
            "symbol": child.symbol,
            "order_id": child.order_id,
            "qty": inst.qty_str(child.open),
        }
    )


def _grow(state: ReferenceState, bracket: Bracket, step: int) -> None:
    """Each live child's qty goes up by the entry's fill of this step, stop-loss first."""
    for child in bracket.children():
        if not _live(state, child):
            continue
        child.open += step
        if child is bracket.take_profit:  # resting: to the back of its level
            state.events.modified(child, "parent_fill")
            state.book.remove(child)
            state.book.rest(child)
            state.events.rested(child)
            continue
        stop = bracket.stop
        assert stop is not None
        price = child.price
        child.price = stop.limit  # a waiting stop-limit shows its limit, as in accepted
        state.events.modified(child, "parent_fill")
        child.price = price
