"""A naive reference exchange: the oracle for the property tests.

``ReferenceExchange`` implements the observable behaviour of ``docs/PROTOCOL.md`` (and the
parts of ``shared/CONTRACT.md`` it makes available) in the plainest way that works: every
live order of every symbol sits in one Python list, and every question ("who is the best
maker?", "is this id live?", "which orders expire?") is answered by a linear scan over that
list. Nothing is indexed, cached or incrementally maintained, so there is nothing to get out
of sync. It is written independently of the fast engine and is meant to be read, not run
in production: its cost per command is linear (per fill) in the number of live orders.

Invariants (each holds after every call to ``apply``):

- ``_live`` holds exactly the resting limit orders; each has ``open > 0``, an integer price
  in ticks and a time-priority key ``seq`` that no other order shares.
- Priority on a side is (best price first, then lowest ``seq``). An order gets a fresh
  ``seq`` whenever it joins the back of a level (on arrival, or on a modify that changes the
  price or raises the quantity); a modify that only lowers the quantity keeps its ``seq``.
- The book of every symbol is never crossed: a taker stops at its limit, and whatever is
  left of it either rests (on its own side, not crossing) or is cancelled.
- ``order_id`` counts accepted orders only; ``trade_id`` counts trades over the exchange.
- Every rejection leaves the state exactly as it was, except the clock and the GTD expiry
  that every command with a valid ``ts`` runs before being validated.
- Prices and quantities are integers (ticks and lots) inside; they are turned into
  canonical decimal strings only when an event is written.

Stop orders, ``display_qty`` (icebergs) and algorithms are rejected ``unsupported``.
Only the standard library is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = ["ReferenceExchange"]

MAX_UNITS = 2**63 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market", "stop", "stop_limit", "trailing_stop", "trailing_stop_limit")
STOP_TYPES = ("stop", "stop_limit", "trailing_stop", "trailing_stop_limit")
TIFS = ("gtc", "ioc", "fok", "gtd", "day")
STP_MODES = ("none", "cancel_taker", "cancel_maker", "cancel_both", "decrement")
RESTING_TIFS = ("gtc", "gtd", "day")

_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

Event = dict[str, Any]
Level = tuple[int, int, int, list[tuple[int, int]]]


class _Malformed(Exception):
    """A command field that is missing or has the wrong type (``bad_command``)."""


# ---------------------------------------------------------------------------------------
# numbers


def _parse_number(value: object) -> Decimal | None:
    """A well-formed input number as an exact Decimal, or None if it is malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    if isinstance(value, str):
        if _PLAIN_DECIMAL.fullmatch(value) is None:
            return None
        return Decimal(value)
    return None


def _to_units(value: Decimal, unit: Decimal) -> int | None:
    """``value / unit`` if it is an integer in 1 .. 2**63-1, else None."""
    if value <= 0:
        return None
    # Magnitude guards, so that absurd exponents never become huge integers.
    gap = value.adjusted() - unit.adjusted()
    if gap >= 20:  # value / unit > 10**19 > 2**63 - 1
        return None
    if gap <= -2:  # value / unit < 1/10
        return None
    ratio = Fraction(value) / Fraction(unit)
    if ratio.denominator != 1 or ratio > MAX_UNITS:
        return None
    return int(ratio)


def _format_scaled(n: int, exp: int) -> str:
    """Canonical decimal string of ``n * 10**exp``: no exponent, no trailing zeros or dot."""
    if n == 0:
        return "0"
    while n % 10 == 0:
        n //= 10
        exp += 1
    sign = "-" if n < 0 else ""
    digits = str(abs(n))
    if exp >= 0:
        return sign + digits + "0" * exp
    places = -exp
    if len(digits) <= places:
        digits = "0" * (places - len(digits) + 1) + digits
    return sign + digits[:-places] + "." + digits[-places:]


def _decimal_parts(d: Decimal) -> tuple[int, int]:
    """(coefficient, exponent) with ``d == coefficient * 10**exponent``."""
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    coef = 0
    for digit in digits:
        coef = coef * 10 + digit
    return (-coef if sign else coef), exponent


def _round_half_even(value: Fraction, places: int) -> str:
    """``value`` rounded half-even to ``places`` decimals, as a canonical string."""
    scaled = value * (10**places)
    return _format_scaled(round(scaled), -places)


# ---------------------------------------------------------------------------------------
# state


@dataclass
class _Instrument:
    symbol: str
    tick: Decimal
    lot: Decimal
    halted: bool = False

    def price_str(self, ticks: int) -> str:
        coef, exp = _decimal_parts(self.tick)
        return _format_scaled(ticks * coef, exp)

    def qty_str(self, lots: int) -> str:
        coef, exp = _decimal_parts(self.lot)
        return _format_scaled(lots * coef, exp)

    def price_places(self) -> int:
        """Number of decimal places of the tick size (0 for integer ticks)."""
        _, exp = _decimal_parts(self.tick.normalize())
        return max(0, -exp)


@dataclass
class _Order:
    order_id: int
    user: str
    id: str | int
    symbol: str
    side: str
    order_type: str
    price: int | None  # ticks; None for market orders
    open: int  # lots
    tif: str
    expire_ts: int | None
    post_only: bool
    stp: str
    seq: int = 0  # time priority, set when the order joins the back of a level

    def crosses(self, maker_price: int) -> bool:
        """Whether this order, as a taker, may trade at ``maker_price``."""
        if self.price is None:
            return True
        if self.side == "buy":
            return maker_price <= self.price
        return maker_price >= self.price


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX


def _is_id(value: object) -> bool:
    """A client order id: a string or a 64-bit integer (never a bool)."""
    return isinstance(value, str) or _is_int64(value)


def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and value != ""


# ---------------------------------------------------------------------------------------
# the exchange


class ReferenceExchange:
    """Naive exchange with the same observable behaviour as the fast engine."""

    def __init__(self) -> None:
        self._ts = 0
        self._instruments: dict[str, _Instrument] = {}
        self._live: list[_Order] = []  # every resting order of every symbol, in no order
        self._next_order_id = 1
        self._next_trade_id = 1
        self._next_seq = 1
        self._out: list[Event] = []

    # -- public ---------------------------------------------------------------------

    def apply(self, cmd: dict[str, Any]) -> list[Event]:
        """Process one command; return the events it produced, in order."""
        self._out = []
        if not isinstance(cmd, dict):
            self._out.append(
                {
                    "type": "rejected",
                    "ts": self._ts,
                    "reason": "bad_command",
                    "message": "command is not an object",
                }
            )
            return self._out
        if "ts" in cmd:
            ts = cmd["ts"]
            if not _is_int64(ts) or ts < 0:
                self._reject(cmd, "bad_command", "ts must be a non-negative integer")
                return self._out
            self._ts = ts
        self._expire_gtd()
        name = cmd.get("cmd")
        handlers = {
            "instrument": self._cmd_instrument,
            "new": self._cmd_new,
            "cancel": self._cmd_cancel,
            "modify": self._cmd_modify,
            "cancel_all": self._cmd_cancel_all,
            "halt": self._cmd_halt,
            "resume": self._cmd_resume,
            "end_of_day": self._cmd_end_of_day,
            "tick": self._cmd_tick,
            "book": self._cmd_book,
            "metrics": self._cmd_metrics,
        }
        if name == "algo":
            self._reject(cmd, "unsupported", "algorithms are not available")
            return self._out
        if not isinstance(name, str) or name not in handlers:
            self._reject(cmd, "bad_command", "missing or unknown cmd")
            return self._out
        try:
            handlers[name](cmd)
        except _Malformed as exc:
            self._reject(cmd, "bad_command", str(exc))
        return self._out

    @property
    def ts(self) -> int:
        return self._ts

    def symbols(self) -> list[str]:
        return list(self._instruments)

    def levels_view(self, symbol: str, is_bid: bool) -> list[Level]:
        """One side of a book, best level first, in the fast engine's introspection shape:
        (price_ticks, total_lots, order_count, [(order_id, open_lots), ...] in FIFO order)."""
        side = "buy" if is_bid else "sell"
        orders = sorted(
            (o for o in self._live if o.symbol == symbol and o.side == side),
            key=self._priority_key,
        )
        levels: list[Level] = []
        for o in orders:
            assert o.price is not None
            if not levels or levels[-1][0] != o.price:
                levels.append((o.price, 0, 0, []))
            price, total, count, members = levels[-1]
            members.append((o.order_id, o.open))
            levels[-1] = (price, total + o.open, count + 1, members)
        return levels

    def live_order_prices(self) -> dict[int, int]:
        """order_id -> resting price in ticks, for every live order."""
        return {o.order_id: o.price for o in self._live if o.price is not None}

    # -- events -----------------------------------------------------------------------

    def _reject(self, cmd: dict[str, Any], reason: str, message: str) -> None:
        ev: Event = {"type": "rejected", "ts": self._ts}
        if isinstance(cmd.get("user"), str):
            ev["user"] = cmd["user"]
        if _is_id(cmd.get("id")):
            ev["id"] = cmd["id"]
        if isinstance(cmd.get("symbol"), str):
            ev["symbol"] = cmd["symbol"]
        if isinstance(cmd.get("cmd"), str):
            ev["cmd"] = cmd["cmd"]
        ev["reason"] = reason
        ev["message"] = message
        self._out.append(ev)

    def _emit_cancelled(self, order: _Order, reason: str, remaining: int) -> None:
        inst = self._instruments[order.symbol]
        self._out.append(
            {
                "type": "cancelled",
                "ts": self._ts,
                "user": order.user,
                "id": order.id,
                "symbol": order.symbol,
                "order_id": order.order_id,
                "reason": reason,
                "remaining": inst.qty_str(remaining),
            }
        )

    def _emit_modified(self, order: _Order, reason: str | None) -> None:
        inst = self._instruments[order.symbol]
        ev: Event = {
            "type": "modified",
            "ts": self._ts,
            "user": order.user,
            "id": order.id,
            "symbol": order.symbol,
            "order_id": order.order_id,
            "price": None if order.price is None else inst.price_str(order.price),
            "qty": inst.qty_str(order.open),
        }
        if reason is not None:
            ev["reason"] = reason
        self._out.append(ev)

    def _emit_trade(self, maker: _Order, taker: _Order, qty: int) -> None:
        inst = self._instruments[maker.symbol]
        assert maker.price is not None
        self._out.append(
            {
                "type": "trade",
                "ts": self._ts,
                "symbol": maker.symbol,
                "trade_id": self._next_trade_id,
                "price": inst.price_str(maker.price),
                "qty": inst.qty_str(qty),
                "side": taker.side,
                "maker": {"user": maker.user, "id": maker.id, "order_id": maker.order_id},
                "taker": {"user": taker.user, "id": taker.id, "order_id": taker.order_id},
            }
        )
        self._next_trade_id += 1

    # -- book helpers (all linear scans) ------------------------------------------------

    @staticmethod
    def _priority_key(order: _Order) -> tuple[int, int]:
        assert order.price is not None
        price_rank = -order.price if order.side == "buy" else order.price
        return (price_rank, order.seq)

    def _find_live(self, user: str, oid: str | int) -> _Order | None:
        for o in self._live:
            # ``1 == True`` in Python; ids are never bools here, but compare types anyway.
            if o.user == user and type(o.id) is type(oid) and o.id == oid:
                return o
        return None

    def _makers_for(self, taker: _Order) -> list[_Order]:
        """Resting orders the taker may reach, in the order it would reach them."""
        opposite = "sell" if taker.side == "buy" else "buy"
        makers = [
            o
            for o in self._live
            if o.symbol == taker.symbol
            and o.side == opposite
            and o.price is not None
            and taker.crosses(o.price)
        ]
        makers.sort(key=self._priority_key)
        return makers

    def _rest(self, order: _Order) -> None:
        order.seq = self._next_seq
        self._next_seq += 1
        self._live.append(order)

    def _remove(self, order: _Order) -> None:
        self._live = [o for o in self._live if o is not order]

    def _has_live_orders(self, symbol: str) -> bool:
        return any(o.symbol == symbol for o in self._live)

    # -- expiry -----------------------------------------------------------------------

    def _expire_gtd(self) -> None:
        expiring = [
            o
            for o in self._live
            if o.tif == "gtd" and o.expire_ts is not None and o.expire_ts <= self._ts
        ]
        expiring.sort(key=lambda o: (o.expire_ts, o.order_id))
        for o in expiring:
            self._remove(o)
            self._emit_cancelled(o, "expired", o.open)

    # -- dry runs -----------------------------------------------------------------------

    def _fok_would_fill(self, taker: _Order) -> bool:
        need = taker.open
        for maker in self._makers_for(taker):
            if need == 0:
                break
            if maker.user == taker.user and taker.stp != "none":
                if taker.stp == "cancel_maker":
                    continue
                return False  # cancel_taker, cancel_both, decrement: the walk stops
            need -= min(need, maker.open)
        return need == 0

    def _post_only_would_trade(self, taker: _Order) -> bool:
        left = taker.open
        for maker in self._makers_for(taker):
            if left == 0:
                break
            if maker.user == taker.user and taker.stp != "none":
                if taker.stp == "cancel_maker":
                    continue
                if taker.stp == "decrement":
                    left -= min(left, maker.open)
                    continue
                return False  # cancel_taker, cancel_both: the walk stops with no trade
            return True
        return False

    # -- matching -----------------------------------------------------------------------

    def _match(self, taker: _Order) -> bool:
        """Match ``taker`` (not in the book) against the book.

        Returns False if STP cancelled the taker (its events are already out), True if it is
        still alive (possibly with ``open == 0``, i.e. fully filled or decremented to zero is
        reported separately: a decrement to zero cancels it and returns False).
        """
        while taker.open > 0:
            makers = self._makers_for(taker)
            if not makers:
                return True
            maker = makers[0]
            if maker.user == taker.user and taker.stp != "none":
                if taker.stp == "cancel_taker":
                    self._emit_cancelled(taker, "stp", taker.open)
                    taker.open = 0
                    return False
                if taker.stp == "cancel_maker":
                    self._remove(maker)
                    self._emit_cancelled(maker, "stp", maker.open)
                    continue
                if taker.stp == "cancel_both":
                    self._remove(maker)
                    self._emit_cancelled(maker, "stp", maker.open)
                    self._emit_cancelled(taker, "stp", taker.open)
                    taker.open = 0
                    return False
                # decrement
                d = min(taker.open, maker.open)
                maker.open -= d
                taker.open -= d
                if maker.open == 0:
                    self._remove(maker)
                    self._emit_cancelled(maker, "stp", d)
                else:
                    self._emit_modified(maker, "stp")
                if taker.open == 0:
                    self._emit_cancelled(taker, "stp", d)
                    return False
                self._emit_modified(taker, "stp")
                continue
            qty = min(taker.open, maker.open)
            self._emit_trade(maker, taker, qty)
            maker.open -= qty
            taker.open -= qty
            if maker.open == 0:
                self._remove(maker)
        return True

    # -- field parsing --------------------------------------------------------------------

    @staticmethod
    def _number_field(cmd: dict[str, Any], key: str) -> Decimal:
        if key not in cmd:
            raise _Malformed(f"missing {key}")
        value = _parse_number(cmd[key])
        if value is None:
            raise _Malformed(f"{key} is not a well-formed number")
        return value

    @staticmethod
    def _optional_number_field(cmd: dict[str, Any], key: str) -> Decimal | None:
        if cmd.get(key) is None:
            return None
        value = _parse_number(cmd[key])
        if value is None:
            raise _Malformed(f"{key} is not a well-formed number")
        return value

    @staticmethod
    def _symbol_field(cmd: dict[str, Any]) -> str:
        symbol = cmd.get("symbol")
        if not isinstance(symbol, str):
            raise _Malformed("symbol must be a string")
        return symbol

    @staticmethod
    def _user_id_fields(cmd: dict[str, Any]) -> tuple[str, str | int]:
        user = cmd.get("user")
        if not isinstance(user, str) or user == "":
            raise _Malformed("user must be a non-empty string")
        oid = cmd.get("id")
        if not _is_id(oid):
            raise _Malformed("id must be a string or a 64-bit integer")
        assert isinstance(oid, (str, int))
        return user, oid

    @staticmethod
    def _positive_int_field(cmd: dict[str, Any], key: str, default: int) -> int:
        if key not in cmd:
            return default
        value = cmd[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise _Malformed(f"{key} must be a positive integer")
        return value

    # -- commands -----------------------------------------------------------------------

    def _cmd_instrument(self, cmd: dict[str, Any]) -> None:
        symbol = cmd.get("symbol")
        if not _nonempty_str(symbol):
            raise _Malformed("symbol must be a non-empty string")
        assert isinstance(symbol, str)
        tick = self._number_field(cmd, "tick_size")
        lot = self._number_field(cmd, "lot_size")
        if tick <= 0:
            self._reject(cmd, "bad_price", "tick_size must be positive")
            return
        if lot <= 0:
            self._reject(cmd, "bad_qty", "lot_size must be positive")
            return
        existing = self._instruments.get(symbol)
        if existing is None:
            self._instruments[symbol] = _Instrument(symbol, tick, lot)
            return
        if existing.tick == tick and existing.lot == lot:
            return
        if self._has_live_orders(symbol):
            self._reject(cmd, "instrument_busy", "symbol has live orders")
            return
        existing.tick = tick
        existing.lot = lot

    def _cmd_new(self, cmd: dict[str, Any]) -> None:
        # 1. field types
        user, oid = self._user_id_fields(cmd)
        symbol = self._symbol_field(cmd)
        side = cmd.get("side")
        if side not in SIDES:
            raise _Malformed("side must be buy or sell")
        otype = cmd.get("type")
        if otype not in ORDER_TYPES:
            raise _Malformed("unknown order type")
        tif = cmd.get("tif", "gtc")
        if tif not in TIFS:
            raise _Malformed("unknown tif")
        stp = cmd.get("stp", "none")
        if stp not in STP_MODES:
            raise _Malformed("unknown stp")
        post_only = cmd.get("post_only", False)
        if not isinstance(post_only, bool):
            raise _Malformed("post_only must be a bool")
        qty_dec = self._number_field(cmd, "qty")
        price_dec: Decimal | None = None
        if otype == "limit":
            price_dec = self._number_field(cmd, "price")
        elif otype == "market" and cmd.get("price") is not None:
            raise _Malformed("a market order takes no price")
        # The stop types' fields are checked when they become available (step 2 rejects).
        expire_ts: int | None = None
        if tif == "gtd":
            raw_expire = cmd.get("expire_ts")
            if not _is_int64(raw_expire):
                raise _Malformed("expire_ts must be a 64-bit integer")
            assert isinstance(raw_expire, int)
            expire_ts = raw_expire
        if post_only and not (otype == "limit" and tif in RESTING_TIFS):
            raise _Malformed("post_only needs a gtc, gtd or day limit order")
        assert isinstance(side, str) and isinstance(otype, str)
        assert isinstance(tif, str) and isinstance(stp, str)
        # 2. not available yet
        if otype in STOP_TYPES or "display_qty" in cmd:
            self._reject(cmd, "unsupported", "stops and icebergs are not available")
            return
        # 3. symbol
        inst = self._instruments.get(symbol)
        if inst is None:
            self._reject(cmd, "unknown_symbol", "unknown symbol")
            return
        # 4. qty, then price
        qty = _to_units(qty_dec, inst.lot)
        if qty is None:
            self._reject(cmd, "bad_qty", "qty must be a positive lot multiple")
            return
        price: int | None = None
        if price_dec is not None:
            price = _to_units(price_dec, inst.tick)
            if price is None:
                self._reject(cmd, "bad_price", "price must be a positive tick multiple")
                return
        # 5. duplicate
        if self._find_live(user, oid) is not None:
            self._reject(cmd, "duplicate_id", "id is already live")
            return
        # 6. halted
        if inst.halted:
            self._reject(cmd, "halted", "symbol is halted")
            return
        # 7. gtd already expired
        if expire_ts is not None and expire_ts <= self._ts:
            self._reject(cmd, "expired", "expire_ts has passed")
            return
        order = _Order(
            order_id=0,
            user=user,
            id=oid,
            symbol=symbol,
            side=side,
            order_type=otype,
            price=price,
            open=qty,
            tif=tif,
            expire_ts=expire_ts,
            post_only=post_only,
            stp=stp,
        )
        # 8. market against an empty side
        if otype == "market" and not any(
            o.symbol == symbol and o.side != side for o in self._live
        ):
            self._reject(cmd, "no_liquidity", "nothing to match")
            return
        # 9. post-only that would take
        if post_only and self._post_only_would_trade(order):
            self._reject(cmd, "post_only", "post-only order would trade")
            return
        order.order_id = self._next_order_id
        self._next_order_id += 1
        accepted: Event = {
            "type": "accepted",
            "ts": self._ts,
            "user": user,
            "id": oid,
            "symbol": symbol,
            "order_id": order.order_id,
            "side": side,
            "order_type": otype,
            "price": None if price is None else inst.price_str(price),
            "qty": inst.qty_str(qty),
            "tif": tif,
            "post_only": post_only,
            "stp": stp,
        }
        if tif == "gtd":
            accepted["expire_ts"] = expire_ts
        self._out.append(accepted)

        if tif == "fok" and not self._fok_would_fill(order):
            self._emit_cancelled(order, "fok", order.open)
            return
        alive = self._match(order)
        if not alive or order.open == 0:
            return
        if otype == "market":
            self._emit_cancelled(order, "no_liquidity", order.open)
        elif tif == "ioc":
            self._emit_cancelled(order, "ioc", order.open)
        elif tif == "fok":  # cannot happen after a passed dry run; kept for safety
            self._emit_cancelled(order, "fok", order.open)
        else:
            self._rest(order)

    def _cmd_cancel(self, cmd: dict[str, Any]) -> None:
        user, oid = self._user_id_fields(cmd)
        order = self._find_live(user, oid)
        if order is None:
            self._reject(cmd, "unknown_order", "no such live order")
            return
        self._remove(order)
        self._emit_cancelled(order, "user", order.open)

    def _cmd_modify(self, cmd: dict[str, Any]) -> None:
        user, oid = self._user_id_fields(cmd)
        price_dec = self._optional_number_field(cmd, "price")
        qty_dec = self._optional_number_field(cmd, "qty")
        if price_dec is None and qty_dec is None:
            raise _Malformed("modify needs price and/or qty")
        order = self._find_live(user, oid)
        if order is None:
            self._reject(cmd, "unknown_order", "no such live order")
            return
        inst = self._instruments[order.symbol]
        assert order.price is not None
        new_price = order.price
        if price_dec is not None:
            parsed_price = _to_units(price_dec, inst.tick)
            if parsed_price is None:
                self._reject(cmd, "bad_price", "price must be a positive tick multiple")
                return
            new_price = parsed_price
        new_qty = order.open
        if qty_dec is not None:
            parsed_qty = _to_units(qty_dec, inst.lot)
            if parsed_qty is None:
                self._reject(cmd, "bad_qty", "qty must be a positive lot multiple")
                return
            new_qty = parsed_qty
        if inst.halted:
            self._reject(cmd, "halted", "symbol is halted")
            return
        if order.post_only:
            probe = _Order(
                order_id=order.order_id,
                user=order.user,
                id=order.id,
                symbol=order.symbol,
                side=order.side,
                order_type=order.order_type,
                price=new_price,
                open=new_qty,
                tif=order.tif,
                expire_ts=order.expire_ts,
                post_only=True,
                stp=order.stp,
            )
            if self._post_only_would_trade(probe):
                self._reject(cmd, "post_only", "post-only modify would trade")
                return
        keeps_priority = new_price == order.price and new_qty <= order.open
        order.price = new_price
        order.open = new_qty
        self._emit_modified(order, None)
        if keeps_priority:
            return
        self._remove(order)
        alive = self._match(order)
        if alive and order.open > 0:
            self._rest(order)

    def _cmd_cancel_all(self, cmd: dict[str, Any]) -> None:
        user = cmd.get("user")
        if not _nonempty_str(user):
            raise _Malformed("user must be a non-empty string")
        symbol: str | None = None
        if "symbol" in cmd and cmd["symbol"] is not None:
            symbol = self._symbol_field(cmd)
            if symbol not in self._instruments:
                self._reject(cmd, "unknown_symbol", "unknown symbol")
                return
        victims = [
            o for o in self._live if o.user == user and (symbol is None or o.symbol == symbol)
        ]
        victims.sort(key=lambda o: o.order_id)
        for o in victims:
            self._remove(o)
            self._emit_cancelled(o, "mass_cancel", o.open)

    def _known_instrument(self, cmd: dict[str, Any]) -> _Instrument | None:
        symbol = self._symbol_field(cmd)
        inst = self._instruments.get(symbol)
        if inst is None:
            self._reject(cmd, "unknown_symbol", "unknown symbol")
        return inst

    def _cmd_halt(self, cmd: dict[str, Any]) -> None:
        inst = self._known_instrument(cmd)
        if inst is None:
            return
        if inst.halted:
            self._reject(cmd, "bad_state", "already halted")
            return
        inst.halted = True
        self._out.append(
            {"type": "halted", "ts": self._ts, "symbol": inst.symbol, "reason": "manual"}
        )

    def _cmd_resume(self, cmd: dict[str, Any]) -> None:
        inst = self._known_instrument(cmd)
        if inst is None:
            return
        if not inst.halted:
            self._reject(cmd, "bad_state", "not halted")
            return
        inst.halted = False
        self._out.append(
            {"type": "resumed", "ts": self._ts, "symbol": inst.symbol, "reason": "manual"}
        )

    def _cmd_end_of_day(self, cmd: dict[str, Any]) -> None:
        victims = sorted((o for o in self._live if o.tif == "day"), key=lambda o: o.order_id)
        for o in victims:
            self._remove(o)
            self._emit_cancelled(o, "expired", o.open)

    def _cmd_tick(self, cmd: dict[str, Any]) -> None:
        return None

    def _cmd_book(self, cmd: dict[str, Any]) -> None:
        self._symbol_field(cmd)
        depth = self._positive_int_field(cmd, "depth", 10)
        inst = self._known_instrument(cmd)
        if inst is None:
            return

        def side(is_bid: bool) -> list[list[Any]]:
            return [
                [inst.price_str(price), inst.qty_str(total), len(members)]
                for price, total, _count, members in self.levels_view(inst.symbol, is_bid)[
                    :depth
                ]
            ]

        self._out.append(
            {
                "type": "book",
                "ts": self._ts,
                "symbol": inst.symbol,
                "bids": side(True),
                "asks": side(False),
            }
        )

    def _cmd_metrics(self, cmd: dict[str, Any]) -> None:
        self._symbol_field(cmd)
        levels = self._positive_int_field(cmd, "levels", 5)
        inst = self._known_instrument(cmd)
        if inst is None:
            return
        bids = [(p, q) for p, q, _c, _m in self.levels_view(inst.symbol, True)]
        asks = [(p, q) for p, q, _c, _m in self.levels_view(inst.symbol, False)]
        tick = Fraction(inst.tick)
        places = inst.price_places() + 8

        mid: str | None = None
        micro: str | None = None
        spread_bps: float | None = None
        imbalance: float | None = None
        weighted: float | None = None
        if bids and asks:
            (b, vb), (a, va) = bids[0], asks[0]
            mid = _round_half_even(Fraction(b + a, 2) * tick, places)
            micro = _round_half_even(Fraction(b * va + a * vb, vb + va) * tick, places)
            spread_bps = float(Fraction(a - b) / Fraction(a + b, 2) * 10000)
        if bids or asks:
            vb0 = bids[0][1] if bids else 0
            va0 = asks[0][1] if asks else 0
            imbalance = float(Fraction(vb0 - va0, vb0 + va0))
            wb = sum((Fraction(q, 2**i) for i, (_p, q) in enumerate(bids[:levels])), Fraction(0))
            wa = sum((Fraction(q, 2**i) for i, (_p, q) in enumerate(asks[:levels])), Fraction(0))
            weighted = float((wb - wa) / (wb + wa))
        self._out.append(
            {
                "type": "metrics",
                "ts": self._ts,
                "symbol": inst.symbol,
                "mid": mid,
                "microprice": micro,
                "imbalance": imbalance,
                "weighted_imbalance": weighted,
                "spread_bps": spread_bps,
                "best_bid": inst.price_str(bids[0][0]) if bids else None,
                "best_ask": inst.price_str(asks[0][0]) if asks else None,
                "bid_qty": inst.qty_str(bids[0][1]) if bids else None,
                "ask_qty": inst.qty_str(asks[0][1]) if asks else None,
            }
        )
