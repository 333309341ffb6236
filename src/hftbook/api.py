"""A typed Python API over the contract door, for programs that embed the engine.

`Engine` builds contract commands from typed arguments, sends them through
`Exchange.apply`, and returns typed events (frozen dataclasses with Decimal prices and
quantities). It adds no behaviour of its own: everything it does, replay can do too.
Time stays an input: pass `ts` (integer ns) or the engine reuses the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from hftbook.algo import Venue
from hftbook.core.exchange import Exchange

Number = Decimal | int | str
E = TypeVar("E", bound="Event")


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"
    TRAILING_STOP_LIMIT = "trailing_stop_limit"


class TIF(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"
    DAY = "day"


class STP(StrEnum):
    NONE = "none"
    CANCEL_TAKER = "cancel_taker"
    CANCEL_MAKER = "cancel_maker"
    CANCEL_BOTH = "cancel_both"
    DECREMENT = "decrement"


@dataclass(frozen=True)
class Event:
    ts: int


@dataclass(frozen=True)
class Accepted(Event):
    user: str
    id: str | int
    symbol: str
    order_id: int
    side: Side
    order_type: OrderType
    price: Decimal | None
    qty: Decimal
    tif: TIF
    trigger_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_pct: Decimal | None = None
    limit_offset: Decimal | None = None
    display_qty: Decimal | None = None
    display_variance: Decimal | None = None
    oco: str | int | None = None  # the other order of an OCO pair
    take_profit: str | int | None = None  # a bracket entry's children
    stop_loss: str | int | None = None
    activation: str | None = None
    parent: str | int | None = None  # a bracket child's entry


@dataclass(frozen=True)
class Activated(Event):
    user: str
    id: str | int
    symbol: str
    order_id: int
    qty: Decimal


@dataclass(frozen=True)
class Triggered(Event):
    user: str
    id: str | int
    symbol: str
    order_id: int
    trigger_price: Decimal


@dataclass(frozen=True)
class Rejected(Event):
    reason: str
    message: str
    user: str | None = None
    id: str | int | None = None
    symbol: str | None = None


@dataclass(frozen=True)
class Party:
    user: str
    id: str | int
    order_id: int


@dataclass(frozen=True)
class Trade(Event):
    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    side: Side
    maker: Party
    taker: Party
    maker_refill: Decimal | None = None  # an iceberg maker's new visible slice
    auction: bool = False  # a fill of a call auction's uncross


@dataclass(frozen=True)
class Cancelled(Event):
    user: str
    id: str | int
    symbol: str
    order_id: int
    reason: str
    remaining: Decimal


@dataclass(frozen=True)
class Modified(Event):
    user: str
    id: str | int
    symbol: str
    order_id: int
    price: Decimal | None
    qty: Decimal
    reason: str | None = None
    refill: Decimal | None = None  # an iceberg's new visible slice after an STP decrement
    auction: bool = False  # an STP decrement in a call auction's uncross


@dataclass(frozen=True)
class StateChange(Event):
    symbol: str
    halted: bool
    reason: str
    until_ts: int | None = None  # a halt's scheduled end


@dataclass(frozen=True)
class AlgoEvent(Event):
    """A parent order's event (docs/ALGO.md): `kind` is the event type (`algo_started`,
    `algo_child`, `algo_progress`, `algo_done`, `algo_cancelled`), `fields` the rest as sent."""

    kind: str
    user: str
    id: str | int
    fields: dict[str, Any]


@dataclass(frozen=True)
class Indicative(Event):
    """What a halted symbol's uncross would do now (price None: nothing would trade)."""

    symbol: str
    price: Decimal | None
    volume: Decimal
    surplus: Decimal  # buy minus sell quantity marketable at the price


@dataclass(frozen=True)
class LimitsSet(Event):
    """A user's limits as now in force (None: off)."""

    user: str
    max_open_orders: int | None
    rate: int | None
    burst: int | None


@dataclass(frozen=True)
class KillSwitch(Event):
    user: str
    active: bool


@dataclass(frozen=True)
class Level:
    price: Decimal
    qty: Decimal
    orders: int


@dataclass(frozen=True)
class Book(Event):
    symbol: str
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)


@dataclass(frozen=True)
class Metrics(Event):
    symbol: str
    mid: Decimal | None
    microprice: Decimal | None
    imbalance: float | None
    weighted_imbalance: float | None
    spread_bps: float | None


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(v)


def _party(d: dict[str, Any]) -> Party:
    return Party(d["user"], d["id"], d["order_id"])


def to_event(e: dict[str, Any]) -> Event:
    """A contract event dict as a typed event."""
    t, ts = e["type"], e["ts"]
    if t == "accepted":
        return Accepted(ts, e["user"], e["id"], e["symbol"], e["order_id"], Side(e["side"]),
                        OrderType(e["order_type"]), _dec(e["price"]), Decimal(e["qty"]), TIF(e["tif"]),
                        _dec(e.get("trigger_price")), _dec(e.get("trail_amount")),
                        _dec(e.get("trail_pct")), _dec(e.get("limit_offset")),
                        _dec(e.get("display_qty")), _dec(e.get("display_variance")), e.get("oco"),
                        e.get("take_profit"), e.get("stop_loss"), e.get("activation"), e.get("parent"))
    if t == "activated":
        return Activated(ts, e["user"], e["id"], e["symbol"], e["order_id"], Decimal(e["qty"]))
    if t == "triggered":
        return Triggered(ts, e["user"], e["id"], e["symbol"], e["order_id"], Decimal(e["trigger_price"]))
    if t == "trade":
        return Trade(ts, e["symbol"], e["trade_id"], Decimal(e["price"]), Decimal(e["qty"]),
                     Side(e["side"]), _party(e["maker"]), _party(e["taker"]), _dec(e.get("maker_refill")),
                     e.get("auction", False))
    if t == "cancelled":
        return Cancelled(ts, e["user"], e["id"], e["symbol"], e["order_id"], e["reason"],
                         Decimal(e["remaining"]))
    if t == "modified":
        return Modified(ts, e["user"], e["id"], e["symbol"], e["order_id"], _dec(e["price"]),
                        Decimal(e["qty"]), e.get("reason"), _dec(e.get("refill")), e.get("auction", False))
    if t == "rejected":
        return Rejected(ts, e["reason"], e["message"], e.get("user"), e.get("id"), e.get("symbol"))
    if t in ("halted", "resumed"):
        return StateChange(ts, e["symbol"], t == "halted", e["reason"], e.get("until_ts"))
    if t.startswith("algo_"):
        rest = {k: v for k, v in e.items() if k not in ("type", "ts", "user", "id")}
        return AlgoEvent(ts, t, e["user"], e["id"], rest)
    if t == "indicative":
        return Indicative(ts, e["symbol"], _dec(e["price"]), Decimal(e["volume"]), Decimal(e["surplus"]))
    if t == "limits":
        return LimitsSet(ts, e["user"], e["max_open_orders"], e["rate"], e["burst"])
    if t == "kill_switch":
        return KillSwitch(ts, e["user"], e["active"])
    if t == "book":
        return Book(ts, e["symbol"], [Level(Decimal(p), Decimal(q), n) for p, q, n in e["bids"]],
                    [Level(Decimal(p), Decimal(q), n) for p, q, n in e["asks"]])
    if t == "metrics":
        return Metrics(ts, e["symbol"], _dec(e["mid"]), _dec(e["microprice"]), e["imbalance"],
                       e["weighted_imbalance"], e["spread_bps"])
    raise ValueError(f"unknown event type {t!r}")


_NUMBER_FIELDS = ("qty", "price", "trigger_price", "trail_amount", "trail_pct", "limit_offset", "display_qty",
                  "display_variance")


def _part(fields: dict[str, Any]) -> dict[str, Any]:
    """A part of an order list with its numbers as decimal strings and enums as names."""
    return {k: str(v) if k in _NUMBER_FIELDS or isinstance(v, StrEnum) else v for k, v in fields.items()}


class Engine:
    """The matching engine with typed calls. Not thread-safe; one owner drives it."""

    def __init__(self, exchange: Exchange | None = None) -> None:
        self.exchange = exchange if exchange is not None else Exchange()
        self.venue = Venue(self.exchange)  # the exchange plus the execution algorithms

    def _run(self, cmd: dict[str, Any], ts: int | None) -> list[Event]:
        if ts is not None:
            cmd["ts"] = ts
        return [to_event(e) for e in self.venue.apply(cmd)]

    def add_instrument(self, symbol: str, tick_size: Number, lot_size: Number,
                       ts: int | None = None, *, min_qty: Number | None = None,
                       max_qty: Number | None = None, max_notional: Number | None = None,
                       price_collar_pct: Number | None = None, reference_price: Number | None = None,
                       market_protection_ticks: int | None = None, breaker_pct: Number | None = None,
                       breaker_window_ns: int | None = None, breaker_halt_ns: int | None = None,
                       breaker_min_trades: int | None = None, halt_orders: str | None = None) -> list[Event]:
        """Define or update a symbol; the keyword arguments are its risk, circuit breaker and
        call auction settings (all of them are replaced on each call: docs/PROTOCOL.md, "Risk
        settings of an instrument", "Circuit breaker", "Call auction")."""
        cmd: dict[str, Any] = {"cmd": "instrument", "symbol": symbol, "tick_size": str(tick_size),
                               "lot_size": str(lot_size)}
        for key, value in (("min_qty", min_qty), ("max_qty", max_qty), ("max_notional", max_notional),
                           ("price_collar_pct", price_collar_pct), ("reference_price", reference_price)):
            if value is not None:
                cmd[key] = str(value)
        if breaker_pct is not None:
            cmd["breaker_pct"] = str(breaker_pct)
        for key, number in (("market_protection_ticks", market_protection_ticks),
                            ("breaker_window_ns", breaker_window_ns), ("breaker_halt_ns", breaker_halt_ns),
                            ("breaker_min_trades", breaker_min_trades)):
            if number is not None:
                cmd[key] = number
        if halt_orders is not None:
            cmd["halt_orders"] = halt_orders
        return self._run(cmd, ts)

    def set_limits(self, user: str, max_open_orders: int | None = None, rate: int | None = None,
                   burst: int | None = None, ts: int | None = None) -> list[Event]:
        """Replace a user's limits: max live orders, and a token bucket of `burst` orders
        refilled at `rate` per second of command time (both or neither). All None: none."""
        cmd: dict[str, Any] = {"cmd": "limits", "user": user}
        for key, value in (("max_open_orders", max_open_orders), ("rate", rate), ("burst", burst)):
            if value is not None:
                cmd[key] = value
        return self._run(cmd, ts)

    def kill_switch(self, user: str, active: bool, ts: int | None = None) -> list[Event]:
        """On: cancel all the user's live orders and refuse new ones; off: allow them again."""
        return self._run({"cmd": "kill_switch", "user": user, "active": active}, ts)

    def submit(
        self,
        user: str,
        id: str | int,
        symbol: str,
        side: Side | str,
        qty: Number,
        price: Number | None = None,
        order_type: OrderType | str | None = None,
        tif: TIF | str = TIF.GTC,
        expire_ts: int | None = None,
        post_only: bool = False,
        stp: STP | str = STP.NONE,
        ts: int | None = None,
        *,
        trigger_price: Number | None = None,
        trail_amount: Number | None = None,
        trail_pct: Number | None = None,
        limit_offset: Number | None = None,
        display_qty: Number | None = None,
        display_variance: Number | None = None,
    ) -> list[Event]:
        """Submit an order: a limit order when `price` is given, else a market order, unless
        `order_type` says otherwise (stops take `trigger_price` or a trail; an iceberg is a
        limit order with `display_qty`)."""
        if order_type is None:
            order_type = OrderType.LIMIT if price is not None else OrderType.MARKET
        cmd: dict[str, Any] = {
            "cmd": "new", "user": user, "id": id, "symbol": symbol, "side": str(side),
            "type": str(order_type), "qty": str(qty), "tif": str(tif), "post_only": post_only,
            "stp": str(stp),
        }
        if price is not None:
            cmd["price"] = str(price)
        if expire_ts is not None:
            cmd["expire_ts"] = expire_ts
        extras = (("trigger_price", trigger_price), ("trail_amount", trail_amount), ("trail_pct", trail_pct),
                  ("limit_offset", limit_offset), ("display_qty", display_qty),
                  ("display_variance", display_variance))
        for key, value in extras:
            if value is not None:
                cmd[key] = str(value)
        return self._run(cmd, ts)

    def oco(self, user: str, symbol: str, side: Side | str, first: dict[str, Any], second: dict[str, Any],
            ts: int | None = None) -> list[Event]:
        """Two linked orders, one cancels the other. Parts are dicts with the fields of a new
        order but `user`, `symbol`, `side` (numbers may be Decimal, int or str)."""
        return self._run({"cmd": "oco", "user": user, "symbol": symbol, "side": str(side),
                          "orders": [_part(first), _part(second)]}, ts)

    def bracket(self, user: str, symbol: str, side: Side | str, entry: dict[str, Any],
                take_profit: dict[str, Any] | None = None, stop_loss: dict[str, Any] | None = None,
                activation: str = "full", ts: int | None = None) -> list[Event]:
        """An entry whose fills activate a take-profit and/or a stop-loss (an OCO pair)."""
        cmd: dict[str, Any] = {"cmd": "bracket", "user": user, "symbol": symbol, "side": str(side),
                               "entry": _part(entry), "activation": activation}
        if take_profit is not None:
            cmd["take_profit"] = _part(take_profit)
        if stop_loss is not None:
            cmd["stop_loss"] = _part(stop_loss)
        return self._run(cmd, ts)

    def cancel(self, user: str, id: str | int, ts: int | None = None) -> list[Event]:
        return self._run({"cmd": "cancel", "user": user, "id": id}, ts)

    def modify(self, user: str, id: str | int, price: Number | None = None, qty: Number | None = None,
               ts: int | None = None) -> list[Event]:
        cmd: dict[str, Any] = {"cmd": "modify", "user": user, "id": id}
        if price is not None:
            cmd["price"] = str(price)
        if qty is not None:
            cmd["qty"] = str(qty)
        return self._run(cmd, ts)

    def cancel_all(self, user: str, symbol: str | None = None, ts: int | None = None) -> list[Event]:
        cmd: dict[str, Any] = {"cmd": "cancel_all", "user": user}
        if symbol is not None:
            cmd["symbol"] = symbol
        return self._run(cmd, ts)

    def algo(self, user: str, id: str | int, symbol: str, side: Side | str, algo: str, qty: Number,
             start_ts: int, end_ts: int, ts: int | None = None, **params: Any) -> list[Event]:
        """Start a parent execution algorithm (`twap`, `vwap`, `pov`); `params` are the
        optional fields of docs/ALGO.md (numbers may be Decimals or strings)."""
        cmd: dict[str, Any] = {"cmd": "algo", "user": user, "id": id, "symbol": symbol, "side": str(side),
                               "algo": algo, "qty": str(qty), "start_ts": start_ts, "end_ts": end_ts}
        for key, value in params.items():
            cmd[key] = str(value) if isinstance(value, Decimal) else value
        return self._run(cmd, ts)

    def algo_control(self, action: str, user: str, id: str | int, ts: int | None = None) -> list[Event]:
        """`pause`, `resume` or `cancel` a live parent."""
        return self._run({"cmd": f"algo_{action}", "user": user, "id": id}, ts)

    def halt(self, symbol: str, ts: int | None = None, until_ts: int | None = None) -> list[Event]:
        """Halt a symbol; with `until_ts` it resumes by itself at the first command at or
        after that time (with `halt_orders="collect"`: a scheduled call auction)."""
        cmd: dict[str, Any] = {"cmd": "halt", "symbol": symbol}
        if until_ts is not None:
            cmd["until_ts"] = until_ts
        return self._run(cmd, ts)

    def resume(self, symbol: str, ts: int | None = None) -> list[Event]:
        return self._run({"cmd": "resume", "symbol": symbol}, ts)

    def end_of_day(self, ts: int | None = None) -> list[Event]:
        return self._run({"cmd": "end_of_day"}, ts)

    def tick(self, ts: int) -> list[Event]:
        return self._run({"cmd": "tick"}, ts)

    def book(self, symbol: str, depth: int = 10, ts: int | None = None) -> Book:
        return self._query({"cmd": "book", "symbol": symbol, "depth": depth}, ts, Book)

    def metrics(self, symbol: str, levels: int = 5, ts: int | None = None) -> Metrics:
        return self._query({"cmd": "metrics", "symbol": symbol, "levels": levels}, ts, Metrics)

    def _query(self, cmd: dict[str, Any], ts: int | None, kind: type[E]) -> E:
        for ev in self._run(cmd, ts):
            if isinstance(ev, kind):
                return ev
            if isinstance(ev, Rejected):
                raise ValueError(f"{cmd['cmd']} refused: {ev.reason}: {ev.message}")
        raise AssertionError(f"{cmd['cmd']} gave no answer")  # pragma: no cover
