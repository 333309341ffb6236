"""The messages of the SBE schema as immutable Python values (one NamedTuple per template).

Conventions (docs/SBE.md has the wire side):
- prices, quantities and percentages are int mantissas: value = mantissa * 10**-8
  (`schema.PRICE_EXPONENT`); `None` is an absent optional field (the wire's null value);
- enums are the schema's value names as strings (the contract's own: "buy", "limit", "gtc",
  "cancel_taker", "bad_price", ...); sets are bools (`post_only`, `auction`, `last`);
- `cl_ord_id` is the contract's `id`: an int (a signed 64-bit id), a str (ASCII, at most 20
  characters, no NUL) or None (absent: only a rejection of a command without an id has one);
- text fields (`symbol`, `text`, `api_key`) are ASCII str; "" / None is all-NUL on the wire;
- `ts` fields are the engine's nanoseconds (the command time of the event).

Users are not in the messages: a session (Logon) says who sends and receives them. Session
sequence numbers are not in them either: they travel in the message header
(`encode(message, seq_num)`, `decode(data) -> (seq_num, message)`).
"""

from __future__ import annotations

from typing import NamedTuple

ClOrdId = int | str | None
Level = tuple[int, int, int]  # (price mantissa, qty mantissa, order count), best first


# Session
class Logon(NamedTuple):
    """Opens a session (client -> server), or accepts it (server -> client, zero signature).
    `signature` is 32 raw bytes: `hftbook.protocol.auth.sign_logon(...)`."""

    api_key: str
    timestamp_ns: int
    signature: bytes
    heartbeat_interval_ms: int


class Logout(NamedTuple):
    reason: str  # schema.LOGOUT_REASONS
    text: str = ""


class Heartbeat(NamedTuple):
    test_req_id: int = 0  # the TestRequest it answers, else 0


class TestRequest(NamedTuple):
    test_req_id: int


# Order entry
class NewOrder(NamedTuple):
    """The contract's `new` command (user from the session, ts from the gateway)."""

    cl_ord_id: ClOrdId
    symbol: str
    side: str
    order_type: str
    qty: int
    price: int | None = None
    trigger_price: int | None = None
    trail_amount: int | None = None
    trail_pct: int | None = None  # percent, mantissa at 10**-8 too ("1.5" % -> 150000000)
    limit_offset: int | None = None
    tif: str = "gtc"
    expire_ts: int | None = None
    post_only: bool = False
    stp: str = "none"
    display_qty: int | None = None
    display_variance: int | None = None


class CancelOrder(NamedTuple):
    cl_ord_id: ClOrdId


class ModifyOrder(NamedTuple):
    cl_ord_id: ClOrdId
    price: int | None = None
    qty: int | None = None  # the new open quantity


class MassCancel(NamedTuple):
    symbol: str | None = None  # None: every symbol


# Execution reports (one per order event of the session's user)
class ExecutionReportNew(NamedTuple):
    """The contract's `accepted`."""

    ts: int
    cl_ord_id: ClOrdId
    symbol: str
    order_id: int
    side: str
    order_type: str
    price: int | None
    qty: int
    tif: str = "gtc"
    expire_ts: int | None = None
    post_only: bool = False
    stp: str = "none"
    trigger_price: int | None = None
    trail_amount: int | None = None
    trail_pct: int | None = None
    limit_offset: int | None = None
    display_qty: int | None = None
    display_variance: int | None = None


class ExecutionReportFill(NamedTuple):
    """One side of the contract's `trade`: `side` is this order's own side, `liquidity`
    "maker" or "taker"; `refill_qty` the maker iceberg's next slice (`maker_refill`)."""

    ts: int
    cl_ord_id: ClOrdId
    symbol: str
    order_id: int
    trade_id: int
    price: int
    qty: int
    side: str
    liquidity: str
    refill_qty: int | None = None
    auction: bool = False


class ExecutionReportCancelled(NamedTuple):
    ts: int
    cl_ord_id: ClOrdId
    symbol: str
    order_id: int
    reason: str  # schema.CANCEL_REASONS
    remaining: int


class ExecutionReportModified(NamedTuple):
    """`reason` "user" for the user's own modify (the contract event has no `reason` then)."""

    ts: int
    cl_ord_id: ClOrdId
    symbol: str
    order_id: int
    price: int | None
    qty: int
    reason: str = "user"  # schema.MODIFY_REASONS
    refill_qty: int | None = None
    auction: bool = False


class ExecutionReportTriggered(NamedTuple):
    ts: int
    cl_ord_id: ClOrdId
    symbol: str
    order_id: int
    trigger_price: int


class ExecutionReportRejected(NamedTuple):
    """The contract's `rejected` of an order command; `command` "new_order", "cancel",
    "modify", "cancel_all" or "other"; `text` the event's message, cut to 64 ASCII bytes."""

    ts: int
    cl_ord_id: ClOrdId
    symbol: str | None
    command: str
    reason: str  # schema.REJECT_REASONS
    text: str = ""


class BusinessReject(NamedTuple):
    """A message refused before it reached the engine (undecodable, not allowed now, ...)."""

    ref_seq_num: int
    ref_template_id: int
    reason: str  # schema.BUSINESS_REJECT_REASONS
    text: str = ""


# Market data (md_seq counts per symbol and channel, as hftbook.marketdata does)
class MarketDataL2Update(NamedTuple):
    ts: int
    symbol: str
    md_seq: int
    side: str
    price: int
    qty: int  # 0: the level is gone
    order_count: int
    last: bool = True  # the last update of its batch


class MarketDataTrade(NamedTuple):
    ts: int
    symbol: str
    md_seq: int
    trade_id: int
    price: int
    qty: int
    aggressor_side: str


class MarketDataSnapshot(NamedTuple):
    ts: int
    symbol: str
    md_seq: int  # the last L2 update the snapshot includes
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()


class MarketDataStatus(NamedTuple):
    ts: int
    symbol: str
    md_seq: int
    status: str  # "halted" | "resumed"
    reason: str  # "manual" | "volatility" | "scheduled"
    until_ts: int | None = None


Message = (
    Logon | Logout | Heartbeat | TestRequest | NewOrder | CancelOrder | ModifyOrder | MassCancel
    | ExecutionReportNew | ExecutionReportFill | ExecutionReportCancelled | ExecutionReportModified
    | ExecutionReportTriggered | ExecutionReportRejected | BusinessReject | MarketDataL2Update
    | MarketDataTrade | MarketDataSnapshot | MarketDataStatus
)
