"""``ReferenceExchange``: the naive oracle's entry point, tying state and commands together.

``apply`` takes one command, moves the clock, expires due GTD orders, ends the volatility
halts that are due, dispatches to the command's handler and returns the events written; the
introspection methods expose the book in the fast engine's shapes (visible quantities), plus
the icebergs' hidden parts, for the differential property tests.

Invariants (each holds after every call to ``apply``):

- The events returned are a new list, the events of that command only, in order.
- A command that is not a dict, or has a bad ``ts``, is rejected ``bad_command`` before
  anything else happens; a command with a valid ``ts`` sets the clock to it, then every GTD
  order it has reached expires, whatever the command and whether or not it is accepted.
- Every rejection leaves the state exactly as it was, except that clock and GTD expiry, and
  the rate-limit token of a ``new``, ``oco`` or ``bracket`` refused after its risk step took
  one (``risk.admit``).
- ``algo`` is rejected ``unsupported``; an unknown or missing ``cmd`` is ``bad_command``;
  a ``Malformed`` field raised by a handler becomes a ``bad_command`` rejection.
- The contingent effects (``settle``) of the GTD expiries are applied, and the stops they
  triggered released, before the command itself; after the handler (the command's own
  matching, cancels or placements) its effects are settled and every stop it triggered is
  released, cascades included, so no unsettled event is ever left between commands, and no
  triggered stop either, but those of a symbol its circuit breaker halted (released at the
  resume).
- After the GTD expiry and what it causes, the halted symbols whose indicative uncross
  changed publish it (``call.publish``); then, before the command itself, every volatility or
  scheduled halt that has ended by the command's ts is resumed
  (``session_commands.resume_due``), with its uncross, deferred activations and held stops.
- After a ``new``, ``cancel``, ``cancel_all``, ``end_of_day``, ``kill_switch`` or
  ``instrument`` command and its settled effects, the halted symbols whose indicative
  changed publish it again (``call.publish``); no other command can change one.
- ``oco`` and ``bracket`` are handled by ``contingent_commands``; ``limits`` and
  ``kill_switch`` by ``risk_commands``.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .call import publish
from .contingent_commands import cmd_bracket, cmd_oco
from .fields import Malformed, is_int64
from .model import Event, Level
from .new_order import cmd_new
from .order_commands import cmd_cancel, cmd_cancel_all, cmd_modify
from .queries import cmd_book, cmd_metrics
from .risk_commands import cmd_kill_switch, cmd_limits
from .session_commands import (
    cmd_end_of_day,
    cmd_halt,
    cmd_instrument,
    cmd_resume,
    cmd_tick,
    resume_due,
)
from .settle import settle_and_release
from .state import ReferenceState

__all__ = ["ReferenceExchange"]

Handler = Callable[[ReferenceState, dict[str, Any]], None]

_HANDLERS: dict[str, Handler] = {
    "instrument": cmd_instrument,
    "new": cmd_new,
    "oco": cmd_oco,
    "bracket": cmd_bracket,
    "cancel": cmd_cancel,
    "modify": cmd_modify,
    "cancel_all": cmd_cancel_all,
    "halt": cmd_halt,
    "resume": cmd_resume,
    "end_of_day": cmd_end_of_day,
    "tick": cmd_tick,
    "book": cmd_book,
    "metrics": cmd_metrics,
    "limits": cmd_limits,
    "kill_switch": cmd_kill_switch,
}

# The commands after which a halted symbol's indicative uncross is published if it changed.
_PUBLISH_AFTER = frozenset(("new", "cancel", "cancel_all", "end_of_day", "kill_switch", "instrument"))


class ReferenceExchange:
    """Naive exchange with the same observable behaviour as the fast engine."""

    def __init__(self) -> None:
        self._state = ReferenceState()

    # -- public ---------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The exchange clock (the last valid command ``ts``), as ``Exchange.now``."""
        return self._state.events.ts

    def apply(self, cmd: dict[str, Any]) -> list[Event]:
        """Process one command; return the events it produced, in order."""
        state = self._state
        events = state.events
        out = events.begin()
        state.links.cursor = 0
        if not isinstance(cmd, dict):
            events.append(
                {
                    "type": "rejected",
                    "ts": events.ts,
                    "reason": "bad_command",
                    "message": "command is not an object",
                }
            )
            return out
        if "ts" in cmd:
            ts = cmd["ts"]
            if not is_int64(ts) or ts < 0:
                events.reject(cmd, "bad_command", "ts must be a non-negative integer")
                return out
            events.ts = ts
        state.expire_gtd()
        settle_and_release(state)  # what the expiries cause comes before the command
        publish(state)  # the calls' indicatives the expiries changed
        resume_due(state)  # then the volatility and scheduled halts that have ended, with their uncross
        name = cmd.get("cmd")
        if name == "algo":
            events.reject(cmd, "unsupported", "algorithms are not available")
            return out
        if not isinstance(name, str) or name not in _HANDLERS:
            events.reject(cmd, "bad_command", "missing or unknown cmd")
            return out
        try:
            _HANDLERS[name](state, cmd)
        except Malformed as exc:
            events.reject(cmd, "bad_command", str(exc))
        settle_and_release(state)
        if name in _PUBLISH_AFTER:
            publish(state)  # the calls' indicatives the command (and its effects) changed
        return out

    @property
    def ts(self) -> int:
        return self._state.events.ts

    def symbols(self) -> list[str]:
        return list(self._state.instruments)

    def levels_view(self, symbol: str, is_bid: bool) -> list[Level]:
        """One side of a book, best level first, in the fast engine's introspection shape:
        (price_ticks, total_lots, order_count, [(order_id, open_lots), ...] in FIFO order)."""
        return self._state.book.levels_view(symbol, is_bid)

    def iceberg_view(self) -> dict[int, tuple[int, int, int, int]]:
        """order_id -> (display, variance, hidden lots, generator state) for every resting
        iceberg, so that a test can add the hidden parts ``levels_view`` leaves out (it shows
        visible slices) and compare the refill generators."""
        return self._state.book.iceberg_view()

    def live_order_prices(self) -> dict[int, int]:
        """order_id -> resting price in ticks, for every live order."""
        return self._state.book.live_order_prices()
