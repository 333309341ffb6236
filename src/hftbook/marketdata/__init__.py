"""Market data: sequenced per-symbol channels from the engine's events, and their consumers.

Pure like the core (no I/O, no clock, no threads; stdlib only). See docs/MARKETDATA.md.

    from hftbook.core.exchange import Exchange
    from hftbook.marketdata import MarketDataFeed, L2Replica
    ex = Exchange()
    feed = MarketDataFeed(channels=("l1", "l2", "l3", "trades"))
    feed.attach(ex)                 # every apply() command is one batch
    ...                             # ex.apply(...)
    replica = L2Replica("BTC-USD")  # joins late: out of sync until a snapshot
    replica.on_snapshot(feed.snapshot("BTC-USD", "l2"))
    for msg in feed.take():
        if msg[0] == "l2" and msg[1] == "BTC-USD":
            replica.on_message(msg)
"""

from hftbook.marketdata.book import VisibleBook
from hftbook.marketdata.feed import CHANNELS, MarketDataFeed, Units
from hftbook.marketdata.replica import L1Replica, L2Replica, L3Replica, Replica
from hftbook.marketdata.signals import SignalsDriver

__all__ = [
    "CHANNELS", "L1Replica", "L2Replica", "L3Replica", "MarketDataFeed", "Replica", "SignalsDriver", "Units",
    "VisibleBook",
]
