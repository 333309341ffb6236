"""The session commands of the reference exchange: ``instrument``, ``halt``, ``resume``,
``end_of_day`` and ``tick``, and the automatic resume of volatility halts.

Each handler takes the exchange state and one command (whose ``ts`` has already been
applied and whose due GTD orders have already expired), raises ``Malformed`` for a field of
the wrong type, and writes a rejection for any other refusal.

Invariants:

- ``instrument`` adds a symbol, or redefines its tick and lot only while it has no live
  orders (waiting stops and dormant children included); repeating the current tick and lot
  changes only the risk settings. Tick and lot stay positive. Success writes no event. A
  new tick size forgets the symbol's last trade price (stops then behave as before the first
  trade); a new lot size alone keeps it.
- Its checks, in order: ``symbol``, ``tick_size``, ``lot_size``, then the risk fields in the
  table's order (``risk.read_settings``), each of the right type (``bad_command``) ->
  ``tick_size`` positive (``bad_price``) -> ``lot_size`` positive (``bad_qty``) -> the risk
  fields' ranges in the table's order, against the command's own tick and lot
  (``risk.settings_of``: ``bad_qty`` / ``bad_price``) -> ``instrument_busy``. A successful
  command replaces all of the symbol's risk settings at once (absent or null: off), whether
  or not it has live orders; a refused one changes none of them.
- ``halt`` and ``resume`` toggle a known symbol's flag and refuse (``bad_state``) a no-op
  (a ``halt`` during a volatility or scheduled halt too). ``halt`` checks ``symbol``'s type,
  then its optional ``until_ts`` (present, it must be a 64-bit JSON integer above the
  command's ts: else ``bad_command``; null is not absent), then ``unknown_symbol``; with
  ``until_ts`` the halt ends by itself (``halt_until``, reason ``scheduled``) and ``halted``
  carries ``until_ts`` last. Every resume (``_resume``) writes ``resumed``, then runs the
  call's uncross (``uncross.uncross``), settles its contingent effects (``settle.settle``),
  then activates the bracket children whose activation the halt deferred
  (``settle.activate_deferred``); the triggered stops (held by the halt or triggered by the
  uncross) are released after that, with every other stop they trigger
  (``settle.settle_and_release``: by ``apply`` after a ``resume`` command). A ``resume`` ends
  a volatility or scheduled halt early (reason ``manual``). A resume forgets the symbol's last
  published indicative (a halt starts at "nothing would trade").
- ``resume_due`` is the automatic end of volatility and scheduled halts, run by
  ``ReferenceExchange.apply`` for every command with a valid ts, after the GTD expiry and
  what it causes: each symbol whose halt ends at or before the command's ts, by (end,
  symbol), is resumed (``resumed``, reason ``volatility`` or ``scheduled``) as above, and
  then its held stops (and what they trigger) are released, before the next symbol's
  resume.
- The circuit breaker's window (``ReferenceState.prints``) keeps the symbol's trades only
  while a successful ``instrument`` keeps a breaker set (changed or not) with the same tick
  size: one that sets a breaker where there was none, removes it, or changes the tick size
  forgets them (the window starts empty). A volatility halt in force stays whatever the
  settings become, and ends when it was set to.
- ``end_of_day`` cancels every DAY order, resting, waiting stop or dormant child (reason
  ``expired``), in ``order_id`` order.
- ``tick`` does nothing itself: moving the clock and expiring GTD orders is done by
  ``ReferenceExchange.apply`` for every command.

Only the standard library is used.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .fields import Malformed, is_int64, nonempty_str, number_field, symbol_field
from .model import NOTHING, Event, Instrument, Refused, RiskSettings
from .risk import read_settings, settings_of
from .settle import activate_deferred, settle, settle_and_release
from .state import ReferenceState
from .uncross import uncross

__all__ = ["cmd_end_of_day", "cmd_halt", "cmd_instrument", "cmd_resume", "cmd_tick", "resume_due"]


def cmd_instrument(state: ReferenceState, cmd: dict[str, Any]) -> None:
    symbol = cmd.get("symbol")
    if not nonempty_str(symbol):
        raise Malformed("symbol must be a non-empty string")
    assert isinstance(symbol, str)
    tick = number_field(cmd, "tick_size")
    lot = number_field(cmd, "lot_size")
    raw = read_settings(cmd)
    if tick <= 0:
        state.events.reject(cmd, "bad_price", "tick_size must be positive")
        return
    if lot <= 0:
        state.events.reject(cmd, "bad_qty", "lot_size must be positive")
        return
    try:
        risk = settings_of(raw, tick, lot)
    except Refused as exc:
        state.events.reject(cmd, exc.reason, exc.message)
        return
    existing = state.instruments.get(symbol)
    if existing is None:
        state.instruments[symbol] = Instrument(symbol, tick, lot, risk=risk)
        return
    if existing.tick == tick and existing.lot == lot:
        _forget_window(state, existing, risk, tick)
        existing.risk = risk
        return
    if state.has_live_orders(symbol):
        state.events.reject(cmd, "instrument_busy", "symbol has live orders")
        return
    state.stops.rescale(symbol, existing.tick, tick)
    _forget_window(state, existing, risk, tick)
    existing.tick = tick
    existing.lot = lot
    existing.risk = risk


def _forget_window(state: ReferenceState, inst: Instrument, risk: RiskSettings, tick: Decimal) -> None:
    """The circuit breaker's window counts the trades since the breaker was set: it is kept only
    while a breaker stays set with the same tick; set anew, removed (or never set), or with a
    new tick size (prices in other ticks), the symbol's trades so far are forgotten."""
    kept = inst.risk.breaker_pct is not None and risk.breaker_pct is not None and inst.tick == tick
    if not kept:
        state.prints.pop(inst.symbol, None)


def cmd_halt(state: ReferenceState, cmd: dict[str, Any]) -> None:
    symbol_field(cmd)
    until = None
    if cmd.get("until_ts") is not None:  # null counts as absent
        until = cmd["until_ts"]
        if not is_int64(until) or until <= state.events.ts:
            raise Malformed("until_ts must be an integer greater than ts")
    inst = state.known_instrument(cmd)
    if inst is None:
        return
    if inst.halted:
        state.events.reject(cmd, "bad_state", "already halted")
        return
    inst.halted = True
    event: Event = {"type": "halted", "ts": state.events.ts, "symbol": inst.symbol, "reason": "manual"}
    if until is not None:
        inst.halt_until = until
        inst.resume_reason = "scheduled"
        event["until_ts"] = until
    state.events.append(event)


def cmd_resume(state: ReferenceState, cmd: dict[str, Any]) -> None:
    inst = state.known_instrument(cmd)
    if inst is None:
        return
    if not inst.halted:
        state.events.reject(cmd, "bad_state", "not halted")
        return
    _resume(state, inst, "manual")


def resume_due(state: ReferenceState) -> None:
    """End every volatility or scheduled halt due at the clock's ts, earliest end first, then by
    symbol: per symbol ``resumed``, the uncross and its effects, the deferred activations, then
    the release of the held stops."""
    ts = state.events.ts
    due = [i for i in state.instruments.values() if i.halt_until is not None and i.halt_until <= ts]
    for inst in sorted(due, key=lambda i: (i.halt_until, i.symbol)):
        assert inst.resume_reason is not None
        _resume(state, inst, inst.resume_reason)
        settle_and_release(state)


def _resume(state: ReferenceState, inst: Instrument, reason: str) -> None:
    """``resumed``, then the call's uncross, its contingent effects and the activations the halt
    deferred (the stops are released by the caller, after this)."""
    inst.halted = False
    inst.halt_until = None
    inst.resume_reason = None
    inst.indicative = NOTHING
    cooloff = inst.risk.cooloff_ns
    inst.cool_until = 0 if cooloff is None else state.events.ts + cooloff
    state.events.append({"type": "resumed", "ts": state.events.ts, "symbol": inst.symbol, "reason": reason})
    uncross(state, inst.symbol)
    settle(state)
    activate_deferred(state, inst.symbol)


def cmd_end_of_day(state: ReferenceState, cmd: dict[str, Any]) -> None:
    state.cancel_each(state.day_orders(), "expired")


def cmd_tick(state: ReferenceState, cmd: dict[str, Any]) -> None:
    return None
