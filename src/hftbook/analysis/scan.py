"""The first pass over an event stream: is each line an event, and in which units?

Replay's output carries no instrument definitions, and `MarketDataFeed.on_events` needs a
`Units` (tick, lot) per symbol to turn decimal strings into ticks and lots. `UnitsScan`
finds, per symbol, the largest number of decimal places among the prices and among the
quantities the book rebuild reads, and sets tick = 10**-places (lot likewise). Every such
number is then a whole number of ticks (lots), which is all the rebuild needs. The inferred
tick can be finer than the venue's (prices "100.5" and "101" give 0.1 where the venue's may
be 0.5): mid, microprice, VWAP and spread in bps are the same numbers either way; only a
spread counted in ticks would differ, and the report never shows one.

`check_event` is the single definition of "an event" that both passes use, so they skip the
same lines: a JSON object with a string `type` and an integer `ts` >= 0; and for the kinds
that change the book (docs/PROTOCOL.md, "`rests`: rebuilding the book from the events"),
the fields the rebuild reads, with their types, and decimals as plain digit strings (replay
prints canonical decimals: no sign, no exponent). Other kinds (`rejected`, `triggered`,
`book`, `metrics`, kinds added later) are events that leave the book alone.

Invariants: pure (no I/O, no clock); the units of a symbol depend only on the events, never
on their order; a scan that accepted an event also recorded every decimal in it that the
rebuild will convert, so the rebuild never meets a price it cannot express in ticks.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from hftbook.marketdata import Units

_DECIMAL = re.compile(r"[0-9]+(?:\.([0-9]+))?")
_SIDES = ("buy", "sell")
# The kinds whose fields the book rebuild reads (besides `rests`, which any event may carry).
_BOOK_KINDS = frozenset(("trade", "accepted", "modified", "activated", "cancelled", "halted", "resumed"))
_JSON_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}
COMMAND_NOT_EVENT = "not an event but a command (run `hftbook replay` on the commands first)"
BAD_LINES_KEPT = 10  # how many bad lines a scan remembers for the error report


def _places(text: Any) -> int:
    """Decimal places of a plain decimal string; -1 when `text` is not one."""
    if type(text) is not str:
        return -1
    m = _DECIMAL.fullmatch(text)
    if m is None:
        return -1
    frac = m.group(1)
    return 0 if frac is None else len(frac)


def _is_int(x: Any) -> bool:
    return type(x) is int  # bool is not an id or a time


def check_event(ev: Any, places: list[int] | None = None) -> str | None:
    """None if `ev` is an event the analysis can use, else what is wrong with it.

    `places`, when given, is the [price places, qty places] of the event's symbol, raised to
    cover the event's decimals (only when the event is good)."""
    if not isinstance(ev, dict):
        return f"not an event: a JSON {_JSON_NAMES.get(type(ev), 'value')}, not an object"
    kind = ev.get("type")
    if type(kind) is not str:
        if "cmd" in ev:
            return COMMAND_NOT_EVENT
        return 'not an event: no string "type"'
    ts = ev.get("ts")
    if type(ts) is not int or ts < 0:
        return f'{kind} event: "ts" must be an integer >= 0, not {ts!r}'
    sym = ev.get("symbol")
    if sym is not None and type(sym) is not str:
        return f'{kind} event: "symbol" must be a string, not {sym!r}'
    rests = ev.get("rests")
    if kind not in _BOOK_KINDS and rests is None:
        return None
    if sym is None:
        return f'{kind} event without a "symbol"'
    pp = qp = 0  # the largest places seen in this event
    prices: list[Any] = []
    qtys: list[Any] = []
    if kind == "trade":
        if not _is_int(ev.get("trade_id")):
            return 'trade event: "trade_id" must be an integer'
        if ev.get("side") not in _SIDES:
            return 'trade event: "side" must be "buy" or "sell"'
        for who in ("maker", "taker"):
            party = ev.get(who)
            if not isinstance(party, dict) or not _is_int(party.get("order_id")):
                return f'trade event: "{who}" must be an object with an integer "order_id"'
        prices.append(ev.get("price"))
        qtys.append(ev.get("qty"))
        if ev.get("maker_refill") is not None:
            qtys.append(ev["maker_refill"])
    elif kind in _BOOK_KINDS and kind not in ("halted", "resumed"):
        if not _is_int(ev.get("order_id")):
            return f'{kind} event: "order_id" must be an integer'
        if kind == "modified":
            reason = ev.get("reason")
            if reason is not None and type(reason) is not str:
                return 'modified event: "reason" must be a string'
            if ev.get("refill") is not None:
                qtys.append(ev["refill"])
        if kind in ("accepted", "modified"):
            if ev.get("price") is not None:  # null: a market order or a stop
                prices.append(ev["price"])
            if ev.get("display_qty") is not None:
                qtys.append(ev["display_qty"])
        if kind != "cancelled":
            qtys.append(ev.get("qty"))
    if rests is not None:
        if not isinstance(rests, list):
            return f'{kind} event: "rests" must be a list'
        for r in rests:
            if not isinstance(r, dict) or not _is_int(r.get("order_id")) or r.get("side") not in _SIDES:
                return f'{kind} event: each "rests" entry needs an integer "order_id" and a "side"'
            prices.append(r.get("price"))
            qtys.append(r.get("qty"))
    for x in prices:
        p = _places(x)
        if p < 0:
            return f"{kind} event: price {x!r} is not a decimal string"
        pp = max(pp, p)
    for x in qtys:
        p = _places(x)
        if p < 0:
            return f"{kind} event: quantity {x!r} is not a decimal string"
        qp = max(qp, p)
    if places is not None:
        places[0] = max(places[0], pp)
        places[1] = max(places[1], qp)
    return None


def units_from_places(price_places: int, qty_places: int) -> Units:
    return Units(Decimal(1).scaleb(-price_places), Decimal(1).scaleb(-qty_places))


def places_of(step: Decimal) -> int:
    """Decimal places of a tick or lot 10**-p (0 for a step >= 1)."""
    exp = step.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


class UnitsScan:
    """The first pass: counts events, remembers bad lines, infers each symbol's units."""

    __slots__ = ("bad", "bad_lines", "events", "first_ts", "last_ts", "max_ts", "min_ts", "places")

    def __init__(self) -> None:
        self.places: dict[str, list[int]] = {}  # symbol -> [price places, qty places]
        self.events = 0
        self.bad = 0
        self.bad_lines: list[tuple[int, str]] = []  # the first BAD_LINES_KEPT (line, problem)
        self.min_ts: int | None = None
        self.max_ts: int | None = None
        self.first_ts: int | None = None
        self.last_ts: int | None = None

    def add(self, line: int, ev: Any) -> str | None:
        """Take one parsed line; returns what is wrong with it (and counts it) or None."""
        sym = ev.get("symbol") if isinstance(ev, dict) else None
        places = None
        if type(sym) is str:
            places = self.places.get(sym)
            if places is None:
                places = [0, 0]
        problem = check_event(ev, places)
        if problem is not None:
            self.bad_line(line, problem)
            return problem
        if places is not None and type(sym) is str and sym not in self.places:
            self.places[sym] = places
        ts: int = ev["ts"]
        self.events += 1
        if self.first_ts is None:
            self.first_ts = self.min_ts = self.max_ts = ts
        elif self.min_ts is not None and self.max_ts is not None:
            self.min_ts = min(self.min_ts, ts)
            self.max_ts = max(self.max_ts, ts)
        self.last_ts = ts
        return None

    def bad_line(self, line: int, problem: str) -> None:
        self.bad += 1
        if len(self.bad_lines) < BAD_LINES_KEPT:
            self.bad_lines.append((line, problem))

    def units(self) -> dict[str, Units]:
        """Each symbol's inferred units, symbols in sorted order."""
        return {sym: units_from_places(*self.places[sym]) for sym in sorted(self.places)}

    @property
    def span(self) -> int:
        """ns from the earliest to the latest ts seen (0 with fewer than two)."""
        if self.min_ts is None or self.max_ts is None:
            return 0
        return self.max_ts - self.min_ts
