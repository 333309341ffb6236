"""Small-integer codes used on the engine's hot path, and their wire names.

Invariants: every code is a plain int (cheap to compare, stable across processes); the name
tables are tuples indexed by code so rendering never iterates a hash-ordered container.
"""

from typing import Final

# Sides. The book keys a price as `price` on the bid side and `-price` on the ask side, so
# "best" is always the largest key.
BUY: Final = 0
SELL: Final = 1
SIDE_NAMES: Final = ("buy", "sell")

# Order types. Stop and trailing types are reserved for the conditional-order work.
LIMIT: Final = 0
MARKET: Final = 1
STOP: Final = 2
STOP_LIMIT: Final = 3
TRAILING_STOP: Final = 4
TRAILING_STOP_LIMIT: Final = 5
TYPE_NAMES: Final = ("limit", "market", "stop", "stop_limit", "trailing_stop", "trailing_stop_limit")

# Time in force.
GTC: Final = 0
IOC: Final = 1
FOK: Final = 2
GTD: Final = 3
DAY: Final = 4
TIF_NAMES: Final = ("gtc", "ioc", "fok", "gtd", "day")

# Self-trade prevention modes (the taker's decides). NONE is 0 so `if stp:` tests "active".
STP_NONE: Final = 0
CANCEL_TAKER: Final = 1
CANCEL_MAKER: Final = 2
CANCEL_BOTH: Final = 3
DECREMENT: Final = 4
STP_NAMES: Final = ("none", "cancel_taker", "cancel_maker", "cancel_both", "decrement")

# Event kinds: the first element of every raw event tuple in `Exchange.out`.
EV_ACCEPTED: Final = 0  # (kind, order, order_type, price, qty[, stop spec or None[, extra fields]])
EV_TRADE: Final = 1  # (kind, maker, taker, price, qty, trade_id[, maker's refill slice])
EV_CANCELLED: Final = 2  # (kind, order, reason, remaining)
EV_MODIFIED: Final = 3  # (kind, order, price, qty, reason or None[, refill or None[, price left]])
EV_REJECTED: Final = 4  # (kind, cmd, reason, message, user, id, symbol); None = absent
EV_STATE: Final = 5  # (kind, "halted" | "resumed", symbol, reason[, until_ts])
EV_RAW: Final = 6  # (kind, ready event dict without type/ts prefix); queries
EV_TRIGGERED: Final = 7  # (kind, order, trigger level)
EV_ACTIVATED: Final = 8  # (kind, order, qty): a bracket's child went live
EV_RESTED: Final = 9  # (kind, order, price, visible qty): joined the back of its level (no event of its own)
EV_UNCROSS: Final = 10  # (kind, maker, taker, price, qty, trade_id): a call auction's fill
EV_INDICATIVE: Final = 11  # (kind, symbol, price or None, volume, surplus): a call's indicative uncross
# The raw `reason` of an auction's STP decrement: rendered as "stp" with `"auction": true`.
AUCTION_STP: Final = "auction_stp"

# Largest price in ticks or quantity in lots: what fits a signed 64-bit wire field.
MAX_UNITS: Final = 2**63 - 1
# Integer ids and times must fit a signed 64-bit field too.
MIN_INT64: Final = -(2**63)
# A market order's limit key: below every real key on either side.
NO_LIMIT: Final = -(2**64)

MISSING: Final = object()
