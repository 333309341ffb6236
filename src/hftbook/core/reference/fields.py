"""Command field validation for the reference exchange: the ``bad_command`` checks.

Every reader here either returns a field of the right type or raises ``Malformed``; the
exchange turns ``Malformed`` into a ``bad_command`` rejection. Nothing here looks at the
exchange's state (symbols, live orders, the clock): those checks, and the rejections with
other reasons, belong to the commands.

Invariants:

- The readers are pure: they never change ``cmd`` and never emit an event.
- Booleans are never integers here (``True`` is not a valid id, ts, depth or number).
- ``parse_new_order`` checks the fields of a ``new`` command in one fixed order, so the
  first malformed field is the one reported. Each order type reads exactly the price
  fields it needs (the table of ``docs/PROTOCOL.md``); ``price`` must be absent or null for
  the types without one, a trailing type needs exactly one of ``trail_amount`` and
  ``trail_pct`` (null counts as absent); any other field is ignored.
- ``display_qty`` (an iceberg) is read only as a well-formed number on a ``limit`` order
  with a resting tif (``gtc``, ``gtd``, ``day``), and ``display_variance`` only next to a
  ``display_qty``; null counts as absent for both. Whether they are acceptable lot
  multiples is for ``new`` to say (``bad_qty``), not ``bad_command``.

Only the standard library is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .decimals import parse_number

__all__ = [
    "ORDER_TYPES",
    "POST_ONLY_TYPES",
    "RESTING_TIFS",
    "SIDES",
    "STOP_TYPES",
    "STP_MODES",
    "TIFS",
    "TRAILING_TYPES",
    "Malformed",
    "NewOrderFields",
    "is_id",
    "is_int64",
    "nonempty_str",
    "number_field",
    "optional_number_field",
    "parse_new_order",
    "positive_int_field",
    "symbol_field",
    "user_id_fields",
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market", "stop", "stop_limit", "trailing_stop", "trailing_stop_limit")
STOP_TYPES = ("stop", "stop_limit", "trailing_stop", "trailing_stop_limit")
TRAILING_TYPES = ("trailing_stop", "trailing_stop_limit")
PRICED_TYPES = ("limit", "stop_limit")  # the types that carry a ``price``
POST_ONLY_TYPES = ("limit", "stop_limit", "trailing_stop_limit")
TIFS = ("gtc", "ioc", "fok", "gtd", "day")
STP_MODES = ("none", "cancel_taker", "cancel_maker", "cancel_both", "decrement")
RESTING_TIFS = ("gtc", "gtd", "day")


class Malformed(Exception):
    """A command field that is missing or has the wrong type (``bad_command``)."""


def is_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX


def is_id(value: object) -> bool:
    """A client order id: a string or a 64-bit integer (never a bool)."""
    return isinstance(value, str) or is_int64(value)


def nonempty_str(value: object) -> bool:
    return isinstance(value, str) and value != ""


def number_field(cmd: dict[str, Any], key: str) -> Decimal:
    if key not in cmd:
        raise Malformed(f"missing {key}")
    value = parse_number(cmd[key])
    if value is None:
        raise Malformed(f"{key} is not a well-formed number")
    return value


def optional_number_field(cmd: dict[str, Any], key: str) -> Decimal | None:
    if cmd.get(key) is None:
        return None
    value = parse_number(cmd[key])
    if value is None:
        raise Malformed(f"{key} is not a well-formed number")
    return value


def symbol_field(cmd: dict[str, Any]) -> str:
    symbol = cmd.get("symbol")
    if not isinstance(symbol, str):
        raise Malformed("symbol must be a string")
    return symbol


def user_id_fields(cmd: dict[str, Any]) -> tuple[str, str | int]:
    user = cmd.get("user")
    if not isinstance(user, str) or user == "":
        raise Malformed("user must be a non-empty string")
    oid = cmd.get("id")
    if not is_id(oid):
        raise Malformed("id must be a string or a 64-bit integer")
    assert isinstance(oid, (str, int))
    return user, oid


def positive_int_field(cmd: dict[str, Any], key: str, default: int) -> int:
    if key not in cmd:
        return default
    value = cmd[key]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Malformed(f"{key} must be a positive integer")
    return value


@dataclass(frozen=True)
class NewOrderFields:
    """The well-typed fields of a ``new`` command, not yet checked against any state."""

    user: str
    id: str | int
    symbol: str
    side: str
    order_type: str
    tif: str
    stp: str
    post_only: bool
    qty: Decimal
    price: Decimal | None  # limit and stop_limit only
    expire_ts: int | None  # only for gtd orders
    trigger_price: Decimal | None = None  # stop and stop_limit only
    trail_amount: Decimal | None = None  # trailing types: exactly one of amount and pct
    trail_pct: Decimal | None = None
    limit_offset: Decimal | None = None  # trailing_stop_limit only
    display_qty: Decimal | None = None  # icebergs: gtc, gtd or day limit orders only
    display_variance: Decimal | None = None  # only with display_qty


def parse_new_order(cmd: dict[str, Any]) -> NewOrderFields:
    """Step 1 of a ``new`` command: field types, or ``Malformed`` for the first bad one."""
    user, oid = user_id_fields(cmd)
    symbol = symbol_field(cmd)
    side = cmd.get("side")
    if side not in SIDES:
        raise Malformed("side must be buy or sell")
    otype = cmd.get("type")
    if otype not in ORDER_TYPES:
        raise Malformed("unknown order type")
    tif = cmd.get("tif", "gtc")
    if tif not in TIFS:
        raise Malformed("unknown tif")
    stp = cmd.get("stp", "none")
    if stp not in STP_MODES:
        raise Malformed("unknown stp")
    post_only = cmd.get("post_only", False)
    if not isinstance(post_only, bool):
        raise Malformed("post_only must be a bool")
    qty = number_field(cmd, "qty")
    price: Decimal | None = None
    if otype in PRICED_TYPES:
        price = number_field(cmd, "price")
    elif cmd.get("price") is not None:
        raise Malformed(f"a {otype} order takes no price")
    trigger_price: Decimal | None = None
    if otype in ("stop", "stop_limit"):
        trigger_price = number_field(cmd, "trigger_price")
    trail_amount: Decimal | None = None
    trail_pct: Decimal | None = None
    if otype in TRAILING_TYPES:
        trail_amount = optional_number_field(cmd, "trail_amount")
        trail_pct = optional_number_field(cmd, "trail_pct")
        if (trail_amount is None) == (trail_pct is None):
            raise Malformed("a trailing stop needs exactly one of trail_amount and trail_pct")
    limit_offset: Decimal | None = None
    if otype == "trailing_stop_limit":
        limit_offset = number_field(cmd, "limit_offset")
    expire_ts: int | None = None
    if tif == "gtd":
        raw_expire = cmd.get("expire_ts")
        if not is_int64(raw_expire):
            raise Malformed("expire_ts must be a 64-bit integer")
        assert isinstance(raw_expire, int)
        expire_ts = raw_expire
    if post_only and not (otype in POST_ONLY_TYPES and tif in RESTING_TIFS):
        raise Malformed("post_only needs a gtc, gtd or day limit or stop-limit order")
    display_qty = optional_number_field(cmd, "display_qty")
    if display_qty is not None and not (otype == "limit" and tif in RESTING_TIFS):
        raise Malformed("display_qty needs a gtc, gtd or day limit order")
    display_variance = optional_number_field(cmd, "display_variance")
    if display_variance is not None and display_qty is None:
        raise Malformed("display_variance needs display_qty")
    assert isinstance(side, str) and isinstance(otype, str)
    assert isinstance(tif, str) and isinstance(stp, str)
    return NewOrderFields(
        user=user,
        id=oid,
        symbol=symbol,
        side=side,
        order_type=otype,
        tif=tif,
        stp=stp,
        post_only=post_only,
        qty=qty,
        price=price,
        expire_ts=expire_ts,
        trigger_price=trigger_price,
        trail_amount=trail_amount,
        trail_pct=trail_pct,
        limit_offset=limit_offset,
        display_qty=display_qty,
        display_variance=display_variance,
    )
