"""Pure conversions between the contract's dicts (what `hftbook.algo.Venue.apply` takes and
returns) and the protocol's messages, so a gateway maps binary traffic onto the engine.

- `command_from_message(message, user, ts)`: NewOrder / CancelOrder / ModifyOrder /
  MassCancel -> the contract's `new` / `cancel` / `modify` / `cancel_all` dict, prices and
  quantities as canonical decimal strings. The engine validates it like any command.
- `message_from_command(cmd)`: the reverse (a client's side; `user` and `ts` are dropped).
- `reports_from_event(event)`: one contract event -> [(user, execution report), ...]: a
  `trade` gives one Fill for the maker's user and one for the taker's; `accepted`,
  `cancelled`, `modified`, `triggered` one report; `rejected` one if it names a user; every
  other event none.
- `market_data_message(md, scale)`: a `hftbook.marketdata` feed tuple (ticks and lots) -> an
  L2 update, a trade, a status or an L2 snapshot message, with an `InstrumentScale`.

Invariants: values are exact (mantissa = value * 10**8, never rounded): a value that needs
more than 8 decimal places or exceeds a signed 64-bit mantissa raises `ConversionError`;
`decimal_str(mantissa(s)) == canonical(s)`; nothing here reads a clock or keeps state beyond
bounded caches of pure functions. Because the exponent is fixed, commands and events need no
tick or lot: the engine checks tick and lot multiples itself; `InstrumentScale` is for the
integer door and market data (and tells whether an instrument fits the wire at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded
from typing import Any

from hftbook.core.numbers import parse_decimal
from hftbook.protocol.errors import ConversionError
from hftbook.protocol.messages import (
    CancelOrder,
    ExecutionReportCancelled,
    ExecutionReportFill,
    ExecutionReportModified,
    ExecutionReportNew,
    ExecutionReportRejected,
    ExecutionReportTriggered,
    Level,
    MarketDataL2Update,
    MarketDataSnapshot,
    MarketDataStatus,
    MarketDataTrade,
    MassCancel,
    Message,
    ModifyOrder,
    NewOrder,
)
from hftbook.protocol.schema import (
    CL_ORD_ID_LENGTH,
    INT64_MAX,
    INT64_MIN,
    PRICE_EXPONENT,
    SCALE,
    SIDES,
    SYMBOL_LENGTH,
    TEXT_LENGTH,
)
from hftbook.protocol.wire import new_tuple

_EXACT = Context(prec=200, traps=[Inexact, Rounded, InvalidOperation])
_CACHE_LIMIT = 1 << 16
_TO_MANTISSA: dict[str, int] = {}
_TO_STR: dict[int, str] = {}
_OTHER_SIDE = {"buy": "sell", "sell": "buy"}
_COMMANDS = {"new": "new_order", "cancel": "cancel", "modify": "modify", "cancel_all": "cancel_all"}


def mantissa(value: object) -> int:
    """The exact int64 mantissa (value * 10**8) of a decimal string, int or Decimal."""
    if type(value) is str:
        m = _TO_MANTISSA.get(value)
        if m is not None:
            return m
    d = parse_decimal(value)
    if d is None:
        raise ConversionError(f"not a decimal number: {value!r}")
    if d and d.adjusted() > 19:
        raise ConversionError(f"{value!r} is out of the wire's range")
    try:
        scaled = d.scaleb(-PRICE_EXPONENT, context=_EXACT)
    except (Inexact, Rounded, InvalidOperation):
        raise ConversionError(f"{value!r} has no exact wire form") from None
    if scaled != scaled.to_integral_value():
        raise ConversionError(f"{value!r} has more than {-PRICE_EXPONENT} decimal places")
    n = int(scaled)
    if not INT64_MIN < n <= INT64_MAX:  # INT64_MIN is the null value
        raise ConversionError(f"{value!r} is out of the wire's range")
    if type(value) is str:
        if len(_TO_MANTISSA) >= _CACHE_LIMIT:
            _TO_MANTISSA.clear()
        _TO_MANTISSA[value] = n
    return n


def decimal_str(m: int) -> str:
    """The canonical decimal string of a mantissa: no exponent, no trailing zeros."""
    s = _TO_STR.get(m)
    if s is None:
        q, r = divmod(abs(m), SCALE)
        s = f"{q}.{r:08d}".rstrip("0") if r else str(q)
        if m < 0:
            s = "-" + s
        if len(_TO_STR) >= _CACHE_LIMIT:
            _TO_STR.clear()
        _TO_STR[m] = s
    return s


def _opt_mantissa(value: object) -> int | None:
    return None if value is None else mantissa(value)


# Commands

def command_from_message(message: Message, user: str, ts: int) -> dict[str, Any]:
    """An order-entry message of `user`'s session, received at `ts` -> a contract command."""
    t = type(message)
    if t is NewOrder:
        assert isinstance(message, NewOrder)
        cid, symbol, side, otype, qty, price, trigger, t_amt, t_pct, offset, tif, expire, post_only, \
            stp, dqty, dvar = message
        c: dict[str, Any] = {"cmd": "new", "ts": ts, "user": user}
        if cid is not None:
            c["id"] = cid
        c["symbol"] = symbol
        c["side"] = side
        c["type"] = otype
        c["qty"] = decimal_str(qty)
        if price is not None:
            c["price"] = decimal_str(price)
        if trigger is not None:
            c["trigger_price"] = decimal_str(trigger)
        if t_amt is not None:
            c["trail_amount"] = decimal_str(t_amt)
        if t_pct is not None:
            c["trail_pct"] = decimal_str(t_pct)
        if offset is not None:
            c["limit_offset"] = decimal_str(offset)
        c["tif"] = tif
        if expire is not None:
            c["expire_ts"] = expire
        c["post_only"] = post_only
        c["stp"] = stp
        if dqty is not None:
            c["display_qty"] = decimal_str(dqty)
        if dvar is not None:
            c["display_variance"] = decimal_str(dvar)
        return c
    if t is CancelOrder:
        assert isinstance(message, CancelOrder)
        c = {"cmd": "cancel", "ts": ts, "user": user}
        if message.cl_ord_id is not None:
            c["id"] = message.cl_ord_id
        return c
    if t is ModifyOrder:
        assert isinstance(message, ModifyOrder)
        c = {"cmd": "modify", "ts": ts, "user": user}
        if message.cl_ord_id is not None:
            c["id"] = message.cl_ord_id
        if message.price is not None:
            c["price"] = decimal_str(message.price)
        if message.qty is not None:
            c["qty"] = decimal_str(message.qty)
        return c
    if t is MassCancel:
        assert isinstance(message, MassCancel)
        c = {"cmd": "cancel_all", "ts": ts, "user": user}
        if message.symbol is not None:
            c["symbol"] = message.symbol
        return c
    raise ConversionError(f"{t.__name__} is not an order-entry message")


def message_from_command(cmd: Mapping[str, Any]) -> NewOrder | CancelOrder | ModifyOrder | MassCancel:
    """A contract `new` / `cancel` / `modify` / `cancel_all` -> its message (the client side)."""
    name = cmd.get("cmd")
    try:
        if name == "new":
            return NewOrder(
                cmd.get("id"), cmd["symbol"], cmd["side"], cmd["type"], mantissa(cmd["qty"]),
                price=_opt_mantissa(cmd.get("price")), trigger_price=_opt_mantissa(cmd.get("trigger_price")),
                trail_amount=_opt_mantissa(cmd.get("trail_amount")),
                trail_pct=_opt_mantissa(cmd.get("trail_pct")),
                limit_offset=_opt_mantissa(cmd.get("limit_offset")), tif=cmd.get("tif", "gtc"),
                expire_ts=cmd.get("expire_ts"), post_only=cmd.get("post_only", False),
                stp=cmd.get("stp", "none"), display_qty=_opt_mantissa(cmd.get("display_qty")),
                display_variance=_opt_mantissa(cmd.get("display_variance")),
            )
        if name == "cancel":
            return CancelOrder(cmd.get("id"))
        if name == "modify":
            return ModifyOrder(cmd.get("id"), _opt_mantissa(cmd.get("price")), _opt_mantissa(cmd.get("qty")))
        if name == "cancel_all":
            return MassCancel(cmd.get("symbol"))
    except KeyError as e:
        raise ConversionError(f"{name}: missing {e}") from None
    raise ConversionError(f"no order-entry message for command {name!r}")


# Events

def _fit_text(text: object) -> str:
    """A free text as the wire's Text: ASCII (others replaced by '?'), no NUL, 64 bytes."""
    raw = str(text).encode("ascii", "replace").replace(b"\0", b"?")[:TEXT_LENGTH]
    return raw.decode("ascii")


def _fits_text(s: object, length: int) -> bool:
    return type(s) is str and s.isascii() and len(s) <= length and "\0" not in s


def _fits_id(cid: object) -> bool:
    if type(cid) is int:
        return INT64_MIN <= cid <= INT64_MAX
    return _fits_text(cid, CL_ORD_ID_LENGTH)


def _trade(event: Mapping[str, Any]) -> list[tuple[str, Message]]:
    m = mantissa
    ts, symbol, trade_id = event["ts"], event["symbol"], event["trade_id"]
    price, qty, side = m(event["price"]), m(event["qty"]), event["side"]
    maker, taker = event["maker"], event["taker"]
    auction = event.get("auction", False)
    refill = event.get("maker_refill")
    return [
        (maker["user"], new_tuple(ExecutionReportFill, (
            ts, maker["id"], symbol, maker["order_id"], trade_id, price, qty, _OTHER_SIDE[side], "maker",
            None if refill is None else m(refill), auction))),
        (taker["user"], new_tuple(ExecutionReportFill, (
            ts, taker["id"], symbol, taker["order_id"], trade_id, price, qty, side, "taker", None, auction))),
    ]


def _accepted(event: Mapping[str, Any]) -> list[tuple[str, Message]]:
    g = event.get
    price = g("price")
    return [(event["user"], new_tuple(ExecutionReportNew, (
        event["ts"], event["id"], event["symbol"], event["order_id"], event["side"], event["order_type"],
        None if price is None else mantissa(price), mantissa(event["qty"]), event["tif"], g("expire_ts"),
        event["post_only"], event["stp"], _opt_mantissa(g("trigger_price")), _opt_mantissa(g("trail_amount")),
        _opt_mantissa(g("trail_pct")), _opt_mantissa(g("limit_offset")), _opt_mantissa(g("display_qty")),
        _opt_mantissa(g("display_variance")))))]


def _cancelled(event: Mapping[str, Any]) -> list[tuple[str, Message]]:
    return [(event["user"], new_tuple(ExecutionReportCancelled, (
        event["ts"], event["id"], event["symbol"], event["order_id"], event["reason"],
        mantissa(event["remaining"]))))]


def _modified(event: Mapping[str, Any]) -> list[tuple[str, Message]]:
    price = event["price"]
    refill = event.get("refill")
    return [(event["user"], new_tuple(ExecutionReportModified, (
        event["ts"], event["id"], event["symbol"], event["order_id"],
        None if price is None else mantissa(price), mantissa(event["qty"]), event.get("reason", "user"),
        None if refill is None else mantissa(refill), event.get("auction", False))))]


def _triggered(event: Mapping[str, Any]) -> list[tuple[str, Message]]:
    return [(event["user"], new_tuple(ExecutionReportTriggered, (
        event["ts"], event["id"], event["symbol"], event["order_id"], mantissa(event["trigger_price"]))))]


def _rejected(event: Mapping[str, Any]) -> list[tuple[str, Message]]:
    user = event.get("user")
    if user is None:
        return []  # nobody to tell (a command without a valid user)
    # Echoed fields that cannot travel (from another front door) are left out.
    cid = event.get("id")
    if not _fits_id(cid):
        cid = None
    symbol = event.get("symbol")
    if not (symbol and _fits_text(symbol, SYMBOL_LENGTH)):
        symbol = None
    command = _COMMANDS.get(event.get("cmd", ""), "other")
    text = _fit_text(event.get("message", ""))
    report = new_tuple(ExecutionReportRejected, (event["ts"], cid, symbol, command, event["reason"], text))
    return [(user, report)]


_REPORTS = {"trade": _trade, "accepted": _accepted, "cancelled": _cancelled, "modified": _modified,
            "triggered": _triggered, "rejected": _rejected}


def reports_from_event(event: Mapping[str, Any]) -> list[tuple[str, Message]]:
    """A contract event -> the execution reports it gives, each with the user it goes to
    (`trade`: the maker's Fill, then the taker's). Other events give none. KeyError if the
    event lacks a field its type always has; ConversionError for a value with no wire form."""
    f = _REPORTS.get(event.get("type", ""))
    return [] if f is None else f(event)


# Market data

class InstrumentScale:
    """An instrument's tick and lot against the wire's fixed exponent: ticks and lots <->
    mantissas. ConversionError if the tick or lot is finer than 10**-8 (such an instrument
    cannot be traded over the binary protocol)."""

    __slots__ = ("lot", "lot_mantissa", "tick", "tick_mantissa")

    def __init__(self, tick: Decimal | str, lot: Decimal | str) -> None:
        self.tick = Decimal(tick)
        self.lot = Decimal(lot)
        self.tick_mantissa = mantissa(self.tick)
        self.lot_mantissa = mantissa(self.lot)
        if self.tick_mantissa <= 0 or self.lot_mantissa <= 0:
            raise ConversionError(f"tick and lot must be positive: {tick}, {lot}")

    def price(self, ticks: int) -> int:
        return ticks * self.tick_mantissa

    def qty(self, lots: int) -> int:
        return lots * self.lot_mantissa

    def ticks(self, m: int) -> int | None:
        """The whole number of ticks of a mantissa, or None when it is not a tick multiple."""
        q, r = divmod(m, self.tick_mantissa)
        return None if r else q

    def lots(self, m: int) -> int | None:
        q, r = divmod(m, self.lot_mantissa)
        return None if r else q


def _levels(levels: Any, scale: InstrumentScale) -> tuple[Level, ...]:
    tm, lm = scale.tick_mantissa, scale.lot_mantissa
    return tuple((price * tm, qty * lm, orders) for price, qty, orders in levels)


def market_data_message(md: tuple[Any, ...], scale: InstrumentScale) -> Message | None:
    """A `MarketDataFeed` message or `l2` snapshot -> its protocol message, or None for the
    ones the protocol does not carry (l1 quotes, l3, indicative prices, heartbeats)."""
    channel, symbol, seq, ts, kind = md[0], md[1], md[2], md[3], md[4]
    if kind == "level":
        side, price, qty, orders, last = md[5:10]
        return new_tuple(MarketDataL2Update, (ts, symbol, seq, SIDES[side], scale.price(price),
                                              scale.qty(qty), orders, last))
    if kind == "trade":
        trade_id, price, qty, side = md[5:9]
        return new_tuple(MarketDataTrade, (ts, symbol, seq, trade_id, scale.price(price), scale.qty(qty),
                                           SIDES[side]))
    if kind == "status":
        return new_tuple(MarketDataStatus, (ts, symbol, seq, md[5], md[6], None))
    if kind == "snapshot" and channel == "l2":
        return new_tuple(MarketDataSnapshot, (ts, symbol, seq, _levels(md[5], scale), _levels(md[6], scale)))
    return None


def status_from_event(event: Mapping[str, Any], md_seq: int) -> MarketDataStatus | None:
    """A contract `halted` / `resumed` event -> MarketDataStatus (with a halt's `until_ts`)."""
    if event.get("type") not in ("halted", "resumed"):
        return None
    return MarketDataStatus(event["ts"], event["symbol"], md_seq, event["type"], event["reason"],
                            event.get("until_ts"))
