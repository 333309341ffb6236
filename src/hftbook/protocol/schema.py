"""What the shipped SBE schema (`hftbook-sbe.xml`) fixes, as Python constants.

Invariants: every constant here equals its counterpart in the XML (tests/unit/test_sbe_codec.py
parses the XML and compares: ids, version, enum values and their order, set choices); enum
names are the contract's own strings wherever the contract has one (sides, order types, tif,
stp, reasons), so a decoded message maps onto contract dicts without translation; the codes of
an enum are 0, 1, 2, ... in the order of its name tuple, so decoding one is a tuple index.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

SCHEMA_ID: Final = 18498
SCHEMA_VERSION: Final = 1
# The oldest version this decoder reads; an older one is `UnsupportedVersion`. A newer one is
# read (blockLength skips what it appended).
MIN_SUPPORTED_VERSION: Final = 1

# value = mantissa * 10**PRICE_EXPONENT, for prices, quantities and percentages alike.
PRICE_EXPONENT: Final = -8
SCALE: Final = 10**-PRICE_EXPONENT  # mantissa units per 1

HEADER_SIZE: Final = 16  # blockLength, templateId, schemaId, version (uint16 each), seqNum (uint64)
LENGTH_PREFIX_SIZE: Final = 4  # uint32 little-endian: header + body bytes that follow
# Default bound on a framed message (header + body, the prefix not counted).
MAX_MESSAGE_SIZE: Final = 65536

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1
NULL_INT64: Final = INT64_MIN  # the null value of every optional int64 (Price8NULL, ...)

CL_ORD_ID_LENGTH: Final = 20
SYMBOL_LENGTH: Final = 16
API_KEY_LENGTH: Final = 32
SIGNATURE_LENGTH: Final = 32
TEXT_LENGTH: Final = 64

# Template ids.
LOGON: Final = 1
LOGOUT: Final = 2
HEARTBEAT: Final = 3
TEST_REQUEST: Final = 4
NEW_ORDER: Final = 10
CANCEL_ORDER: Final = 11
MODIFY_ORDER: Final = 12
MASS_CANCEL: Final = 13
EXEC_NEW: Final = 20
EXEC_FILL: Final = 21
EXEC_CANCELLED: Final = 22
EXEC_MODIFIED: Final = 23
EXEC_TRIGGERED: Final = 24
EXEC_REJECTED: Final = 25
BUSINESS_REJECT: Final = 30
MD_L2_UPDATE: Final = 40
MD_TRADE: Final = 41
MD_SNAPSHOT: Final = 42
MD_STATUS: Final = 43

# Enums: names in code order (code = index).
CL_ORD_ID_KINDS: Final = ("integer", "text", "absent")
SIDES: Final = ("buy", "sell")
ORDER_TYPES: Final = ("limit", "market", "stop", "stop_limit", "trailing_stop", "trailing_stop_limit")
TIFS: Final = ("gtc", "ioc", "fok", "gtd", "day")
STPS: Final = ("none", "cancel_taker", "cancel_maker", "cancel_both", "decrement")
REJECT_REASONS: Final = (
    "bad_command", "unknown_symbol", "bad_price", "bad_qty", "duplicate_id", "unknown_order",
    "post_only", "no_liquidity", "stop_would_trigger", "halted", "expired", "instrument_busy",
    "bad_state", "unsupported", "would_trade", "user_killed", "rate_limited", "qty_too_small",
    "qty_too_large", "price_out_of_collar", "notional_too_large", "too_many_orders",
)
CANCEL_REASONS: Final = (
    "user", "ioc", "fok", "no_liquidity", "stp", "expired", "mass_cancel", "post_only", "oco",
    "parent", "killed", "market_protection", "volatility",
)
MODIFY_REASONS: Final = ("user", "stp", "parent_fill")
REJECTED_COMMANDS: Final = ("new_order", "cancel", "modify", "cancel_all", "other")
LIQUIDITY: Final = ("maker", "taker")
LOGOUT_REASONS: Final = (
    "user_request", "auth_failed", "heartbeat_timeout", "protocol_error", "message_too_large",
    "shutdown", "bad_sequence", "other",
)
BUSINESS_REJECT_REASONS: Final = (
    "malformed", "unknown_template", "unsupported_version", "wrong_schema", "not_logged_in",
    "unsupported_message", "other",
)
TRADING_STATUSES: Final = ("halted", "resumed")
STATUS_REASONS: Final = ("manual", "volatility", "scheduled")

# Sets (bit masks of a uint8): the one choice each defines today is bit 0.
POST_ONLY_BIT: Final = 1  # OrderFlags.postOnly
AUCTION_BIT: Final = 1  # ExecFlags.auction
LAST_IN_BATCH_BIT: Final = 1  # BookFlags.lastInBatch

SCHEMA_FILE: Final = "hftbook-sbe.xml"


def codes(names: tuple[str, ...]) -> dict[str, int]:
    """The encoding table of an enum: name -> code."""
    return {name: i for i, name in enumerate(names)}


def schema_xml() -> bytes:
    """The SBE schema shipped with the package (the bytes of `hftbook-sbe.xml`)."""
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_bytes()


def schema_path() -> str:
    """A filesystem path of the shipped schema (for tools that want a file name)."""
    return str(resources.files(__package__).joinpath(SCHEMA_FILE))
