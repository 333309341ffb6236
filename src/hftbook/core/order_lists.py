"""The `oco` and `bracket` commands: several linked orders submitted at once, all or nothing.

Parsing follows docs/PROTOCOL.md ("Contingent orders"): every part is parsed like a `new`
order (`order_terms`), stage by stage for all parts, then admitted as a whole; a refusal names
the part and changes nothing. Placing accepts every part first (ids in part order), links them
(`contingent.Link`) and only then lets them act, so the parts' `accepted` events come before
anything they cause.

Invariants: nothing is emitted or changed before every check has passed; after placing, the
parts' contingent effects and any triggered stops are settled by `Exchange.after_matching`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hftbook.core.book import OrderBook, taker_limit_key
from hftbook.core.contingent import Link, entry_link
from hftbook.core.order import IceSpec, Order, StopSpec
from hftbook.core.order_terms import (
    RESTING_TIFS,
    SIDES,
    OrderTerms,
    Refused,
    bad,
    check_units,
    choice,
    parse_order,
    parse_user,
)
from hftbook.core.risk import check_new
from hftbook.core.stops import StopIndex, stop_holds
from hftbook.core.types import (
    EV_ACCEPTED,
    GTD,
    LIMIT,
    MARKET,
    NO_LIMIT,
    SIDE_NAMES,
    STOP,
    STOP_LIMIT,
    TRAILING_STOP,
    TRAILING_STOP_LIMIT,
)

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange

_INHERITED = ("user", "symbol", "side")
_STOP_TYPES = ("stop", "stop_limit", "trailing_stop", "trailing_stop_limit")


def cmd_oco(ex: Exchange, c: dict[str, Any]) -> None:
    user, symbol, side = _command_fields(c)
    parts = c.get("orders")
    if type(parts) is not list or len(parts) != 2:
        raise bad("'orders' must be a list of two orders")
    terms = []
    for i, p in enumerate(parts):
        name = f"orders[{i}]"
        t = _parse_part(ex, c, p, name, side, True)
        if t.otype == MARKET or c_tif(p) not in RESTING_TIFS:
            raise bad(f"{name}: an OCO order must be able to wait: a limit or stop order with tif gtc, "
                      "gtd or day")
        terms.append(t)
    _distinct_ids(terms)
    inst = _instrument(ex, symbol)
    for i, t in enumerate(terms):
        _named(f"orders[{i}]", check_units, t, inst)
    place_oco(ex, user, symbol, terms)


def cmd_bracket(ex: Exchange, c: dict[str, Any]) -> None:
    user, symbol, side = _command_fields(c)
    entry, tp, sl = c.get("entry"), c.get("take_profit"), c.get("stop_loss")
    if tp is None and sl is None:
        raise bad("a bracket needs 'take_profit' and/or 'stop_loss'")
    activation = c.get("activation", "full")
    if activation not in ("full", "partial"):
        raise bad("'activation' must be full or partial")
    terms = [_parse_part(ex, c, entry, "entry", side, True)]
    other = SIDE_NAMES[1 - SIDES[side]]
    children: list[OrderTerms | None] = []
    for name, part, default, allowed in (("take_profit", tp, "limit", ("limit",)),
                                         ("stop_loss", sl, "stop", _STOP_TYPES)):
        if part is None:
            children.append(None)
            continue
        if type(part) is dict and (part.get("qty") is not None or part.get("display_qty") is not None):
            raise bad(f"{name}: a child takes its quantity from the entry's fills (no qty, no "
                      "display_qty)")
        kind = part.get("type", default) if type(part) is dict else default
        if kind not in allowed:
            raise bad(f"{name}: type must be one of {', '.join(allowed)}")
        t = _parse_part(ex, c, part, name, other, False, {"type": kind})
        if c_tif(part) not in RESTING_TIFS:
            raise bad(f"{name}: tif must be gtc, gtd or day")
        children.append(t)
        terms.append(t)
    _distinct_ids(terms)
    inst = _instrument(ex, symbol)
    _named("entry", check_units, terms[0], inst)
    for name, child in zip(("take_profit", "stop_loss"), children, strict=True):
        if child is not None:
            _named(name, check_units, child, inst)
    place_bracket(ex, user, symbol, terms[0], children[0], children[1], activation == "partial")


def c_tif(part: dict[str, Any]) -> Any:
    return part.get("tif", "gtc")


def _command_fields(c: dict[str, Any]) -> tuple[str, str, str]:
    user = parse_user(c)
    symbol = c.get("symbol")
    if type(symbol) is not str:
        raise bad("'symbol' must be a string")
    choice(c, "side", SIDES, None)
    return user, symbol, c["side"]


def _parse_part(ex: Exchange, c: dict[str, Any], part: Any, name: str, side: str, needs_qty: bool,
                defaults: dict[str, Any] | None = None) -> OrderTerms:
    if type(part) is not dict:
        raise bad(f"'{name}' must be an object")
    for key in _INHERITED:
        if key in part:
            raise bad(f"{name}: a part takes user, symbol and side from the command ('{key}' given)")
    merged = dict(part)
    merged.update(defaults or {})
    merged["user"] = c["user"]
    merged["symbol"] = c["symbol"]
    merged["side"] = side
    t: OrderTerms = _named(name, parse_order, merged, ex, needs_qty)
    return t


def _named(name: str, fn: Any, *args: Any) -> Any:
    """Run a check; a refusal's message says which part it was about."""
    try:
        return fn(*args)
    except Refused as r:
        raise Refused(r.reason, f"{name}: {r.message}") from None


def _distinct_ids(terms: list[OrderTerms]) -> None:
    seen: list[Any] = []
    for t in terms:
        if any(type(t.cid) is type(s) and t.cid == s for s in seen):
            raise bad(f"the parts need distinct ids ({t.cid!r} twice)")
        seen.append(t.cid)


def _instrument(ex: Exchange, symbol: str) -> Any:
    inst = ex.instruments.get(symbol)
    if inst is None:
        raise Refused("unknown_symbol", f"unknown symbol {symbol!r}")
    return inst


# -- admission and placing -----------------------------------------------------------------


def _admit(ex: Exchange, book: OrderBook, user: str, terms: list[OrderTerms],
           child_qty: int | None = None) -> None:
    """The checks every part meets before anything is placed (duplicate id, halt, expiry,
    risk). `child_qty`: a bracket's entry qty, which its children (the parts after the first)
    take as theirs."""
    live = ex.live.get(user, {})
    for t in terms:
        if t.cid in live:
            raise Refused("duplicate_id", f"order id {t.cid!r} is live already")
    if book.halted:
        raise Refused("halted", f"{book.symbol} is halted")
    for t in terms:
        if t.tif == GTD and t.expire_ts <= ex.now:
            raise Refused("expired", f"{t.cid!r}: expire_ts has passed")
    if book.risk is not None or ex.user_risk:
        parts = [
            (t.side, t.otype, (t.price or 0) if t.otype in (LIMIT, STOP_LIMIT) else 0,
             (t.qty or 0) if child_qty is None or i == 0 else child_qty,
             t.stop[0] if t.otype == STOP and t.stop is not None else 0)
            for i, t in enumerate(terms)
        ]
        refusal = check_new(ex, book, user, parts)
        if refusal is not None:
            raise Refused(*refusal)


def _would_trigger(book: OrderBook, t: OrderTerms) -> bool:
    if t.otype not in (STOP, STOP_LIMIT) or t.stop is None:
        return False
    return stop_holds(t.side, t.stop[0], book.last)


def _make(t: OrderTerms, qty: int) -> Order:
    price = t.price or 0 if t.otype in (LIMIT, STOP_LIMIT) else 0
    o = Order(0, t.user, t.cid, t.symbol, t.side, price, qty, t.tif, t.expire_ts, t.post_only, t.stp)
    if t.stop is not None:
        trigger, trail, pct, offset = t.stop
        trailing = t.otype in (TRAILING_STOP, TRAILING_STOP_LIMIT)
        o.stop = StopSpec(t.otype, None if trailing else trigger, price, trail, pct, offset)
    return o


def _accept(ex: Exchange, o: Order, t: OrderTerms, extras: dict[str, Any]) -> None:
    seq = ex.seq
    o.oid = seq[0]
    seq[0] += 1
    if t.iceberg is not None:
        display, variance = t.iceberg
        assert display is not None and variance is not None
        o.ice = IceSpec(display, variance, o.oid)
    ex.out.append((EV_ACCEPTED, o, t.otype, o.price, o.qty, o.stop, extras))
    ex.live.setdefault(o.user, {})[o.cid] = o
    if o.tif == GTD:
        ex.push_gtd(o)


def _start(ex: Exchange, book: OrderBook, o: Order) -> None:
    """A new part acts: a stop waits, anything else arrives like a new order."""
    if o.stop is None:
        ex.start_incoming(book, o)
        return
    if book.stops is None:
        book.stops = StopIndex()
    book.stops.add(o, book.last)


def place_oco(ex: Exchange, user: str, symbol: str, terms: list[OrderTerms]) -> None:
    book = ex.books[symbol]
    try:
        _admit(ex, book, user, terms)
        for t in terms:
            if _would_trigger(book, t):
                raise Refused("stop_would_trigger", f"{t.cid!r}: the last trade price already meets "
                              "the trigger")
        orders = [_make(t, t.qty or 0) for t in terms]
        for o in orders:
            lim = taker_limit_key(o.side, o.price)
            if o.stop is None and book.crosses(o, lim) and book.would_trade(o, lim, o.qty):
                raise Refused("would_trade", f"{o.cid!r}: an OCO order would trade on arrival")
    except Refused as r:
        ex.reject("oco", r.reason, r.message, user, symbol=symbol)
        return
    a, b = orders
    mark = len(ex.out)
    _accept(ex, a, terms[0], {"oco": b.cid})
    _accept(ex, b, terms[1], {"oco": a.cid})
    ex.links[a.oid] = Link(a, b)
    ex.links[b.oid] = Link(b, a)
    for o in orders:
        _start(ex, book, o)
    ex.after_matching(book, mark)


def place_bracket(ex: Exchange, user: str, symbol: str, entry: OrderTerms, tp: OrderTerms | None,
                  sl: OrderTerms | None, partial: bool) -> None:
    book = ex.books[symbol]
    kids = [t for t in (tp, sl) if t is not None]
    e = _make(entry, entry.qty or 0)
    try:
        _admit(ex, book, user, [entry, *kids], entry.qty or 0)
        if _would_trigger(book, entry):
            raise Refused("stop_would_trigger", "entry: the last trade price already meets the trigger")
        if e.stop is None:
            lim = taker_limit_key(e.side, e.price) if e.price else NO_LIMIT
            crossing = book.crosses(e, lim)
            if entry.otype == MARKET and not crossing:
                raise Refused("no_liquidity", "entry: the other side of the book is empty")
            if e.post_only and crossing and book.would_trade(e, lim, e.qty):
                raise Refused("post_only", "entry: a post-only order would take liquidity")
    except Refused as r:
        ex.reject("bracket", r.reason, r.message, user, symbol=symbol)
        return
    mark = len(ex.out)
    tp_o = None if tp is None else _make(tp, e.qty)
    sl_o = None if sl is None else _make(sl, e.qty)
    extras: dict[str, Any] = {}
    if tp_o is not None:
        extras["take_profit"] = tp_o.cid
    if sl_o is not None:
        extras["stop_loss"] = sl_o.cid
    extras["activation"] = "partial" if partial else "full"
    _accept(ex, e, entry, extras)
    for o, t, sibling in ((tp_o, tp, sl_o), (sl_o, sl, tp_o)):
        if o is None or t is None:
            continue
        child_extras: dict[str, Any] = {"parent": e.cid}
        if sibling is not None:
            child_extras["oco"] = sibling.cid
        _accept(ex, o, t, child_extras)
        ex.links[o.oid] = Link(o, sibling, dormant=True)
    ex.links[e.oid] = entry_link(e, tp_o, sl_o, partial)
    _start(ex, book, e)
    ex.after_matching(book, mark)
