"""Microstructure analytics: signals kept up to date per event from L2 level updates and trades.

Pure and deterministic like the core: stdlib only, no I/O, no clock (time is the input `ts`),
no randomness. Integer ticks and lots inside; outputs are exact `Fraction` ticks for prices
(mid, microprice, predicted move, VWAP), ints for quantities, OFI and bar prices, and floats
for ratios and volatility. See docs/ANALYTICS.md for every signal's formula.

    from hftbook.analytics import BookSignals, SignalConfig, nanos
    from hftbook.core.types import BUY, SELL
    sig = BookSignals(SignalConfig(ewma=nanos(1_000_000_000)))   # EWMA half-life 1 s
    sig.on_level(BUY, 10_000, 5, ts=1_000)       # the bid level at 10,000 ticks now shows 5 lots
    sig.on_level(SELL, 10_001, 2, ts=1_000)
    sig.on_trade(10_001, 2, BUY, ts=2_000)       # a buy takes the 2 lots at 10,001 ...
    sig.on_levels([(SELL, 10_001, 0), (SELL, 10_002, 3)], ts=2_000)   # ... one event, two changes
    sig.snapshot().microprice                    # Fraction(40005, 4) ticks: 10,001.25
"""

from hftbook.analytics.bars import Bar
from hftbook.analytics.config import L1_ONLY, SignalConfig, Span, events, nanos
from hftbook.analytics.signals import BookSignals, Signals

__all__ = ["L1_ONLY", "Bar", "BookSignals", "SignalConfig", "Signals", "Span", "events", "nanos"]
