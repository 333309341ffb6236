"""The circuit breaker of the reference exchange: volatility halts (``docs/PROTOCOL.md``,
"Circuit breaker: volatility halts").

Everything is recomputed from scratch when it is needed: a step's window is a scan of every
trade the symbol ever printed (``ReferenceState.prints``), its reference is the exact mean of
their prices, and whether the band stopped a taker is a scan of the book. Nothing is kept
between steps but the trades themselves.

A *matching step* is one incoming order's matching (a ``new``, a released stop, an ``oco``
part, an activated take-profit, a bracket's entry, a crossing ``modify``). Its caller asks
``band_at`` for the band when the step starts (before the FOK dry run) and puts it on the
taker (``Order.band``): the taker then walks the makers within its own limit in priority
order and stops at the first one outside the band (``NaiveBook.makers_for``): beyond the far
edge as with a limit, or, if the best price itself is outside the band on the near side (a
bid above it for a sell, an ask below it for a buy), at once, with no trade. When the
matching is over, ``stopped_by_band`` takes the band off and says whether the step ended in
a volatility halt.

Invariants:

- The window of a step is the symbol's trades (``ReferenceState.prints``, which holds only
  the trades since the breaker was set: ``session_commands`` forgets the others) with
  ``ts > now - breaker_window_ns`` (``now`` the command's ts; earlier commands' trades count,
  whatever their ts, and so do trades at a ts above ``now``, since ts may go back). The
  breaker is armed when the window holds at least ``breaker_min_trades`` trades; then the
  band is every price p with |p - mean| x 100 <= mean x ``breaker_pct``, the mean of the
  window's prices (one per trade, whatever its qty) an exact ``Fraction`` of ticks. Off, or
  not armed: no band.
- The band is fixed when the step starts: the step's own trades are recorded as they print,
  but only a later step's ``band_at`` reads them.
- A step ends in a halt exactly when it had a band, the taker is still alive with quantity
  left, and some order on the opposite side of the book (any user's, STP aside) is within
  the taker's own limit (its price, or a market order's protected price): the walk reached
  every maker it could, so the first such order is outside the band, and the band, not the
  taker's limit, stopped it. Then ``halted`` (reason ``volatility``) is
  written and the symbol halts until ``breaker_halt_ns`` after now (fixed here, whatever the
  settings become), and the taker's remainder is ``cancelled`` (``volatility``, its open
  quantity): it neither rests nor goes on. A symbol already halted (an earlier step of the
  same command halted it) gets no second ``halted``; the remainder is still cancelled, so
  nothing rests crossed.
- Whatever the outcome, the taker leaves ``stopped_by_band`` with no band.

What happens while halted and at the resume (stops held, activations deferred, the automatic
resume) is ``settle``'s, ``stops``' and ``session_commands``'.

Only the standard library is used.
"""

from __future__ import annotations

from fractions import Fraction

from .model import Band, Order
from .state import ReferenceState

__all__ = ["band_at", "stopped_by_band"]


def band_at(state: ReferenceState, symbol: str) -> Band | None:
    """The band of a step starting now on ``symbol``, from the trades before it; None when the
    breaker is off or not armed."""
    risk = state.instruments[symbol].risk
    if risk.breaker_pct is None:
        return None
    assert risk.breaker_window is not None
    now = state.events.ts
    # A trade that has left the window is forgotten for good: a later, larger window does
    # not count it again (the protocol's rule; flows with ts going backwards aside).
    kept = [(ts, price) for ts, price in state.prints.get(symbol, []) if ts > now - risk.breaker_window]
    state.prints[symbol] = kept
    window = [price for _, price in kept]
    if len(window) < risk.breaker_min_trades:
        return None
    return Band(Fraction(sum(window), len(window)), Fraction(risk.breaker_pct))


def stopped_by_band(state: ReferenceState, taker: Order, alive: bool) -> bool:
    """The end of ``taker``'s matching step (``alive`` is what ``match`` returned): take its band
    off; if the band stopped it, halt the symbol and cancel its remainder, and return True."""
    band, taker.band = taker.band, None
    if band is None or not alive or taker.open == 0:
        return False
    if not state.book.within_limit_of(taker):
        return False
    inst = state.instruments[taker.symbol]
    events = state.events
    if not inst.halted:
        assert inst.risk.breaker_halt is not None  # a band means the breaker is on
        inst.halted = True
        inst.halt_until = events.ts + inst.risk.breaker_halt
        inst.resume_reason = "volatility"
        events.append({"type": "halted", "ts": events.ts, "symbol": inst.symbol, "reason": "volatility"})
    events.cancelled(taker, "volatility", taker.open)
    return True
