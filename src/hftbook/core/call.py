"""The call phase of a halted symbol and the uncross that ends it (docs/PROTOCOL.md, "Call
auction").

While a symbol is halted with `halt_orders` `collect`, limit orders rest without matching (the
book may cross) and market orders are *held* in `book.held`; `publish` reports the indicative
uncross whenever it changes; at the resume `uncross` trades the crossed part at one price per
round, chosen by `auction.uncross_price`, and allocates it front to front in priority order.

Invariants:
- A held market order is live (in `live`) with `level is None` and no stop spec; a finished
  one has qty 0 and is dropped lazily, so `held` is in order id order and may hold dead
  entries. `held` is empty whenever the symbol is not halted.
- `book.shown` is the indicative last published in this halt (None: "nothing would trade");
  it is reset at every halt and resume, so a halt starts from "nothing".
- After `uncross` the book is not crossed and `held` is empty: a round without STP action
  leaves no two orders that could trade (auction.py's invariants), and rounds with STP
  action strictly lower the open quantity, so the loop ends.
- Everything here is a function of the book and the orders' priority, never of dict order:
  participants come from the sorted level keys and the FIFO queues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hftbook.core.auction import uncross_price
from hftbook.core.book import OrderBook, unlink
from hftbook.core.order import Order, open_qty
from hftbook.core.types import (
    AUCTION_STP,
    BUY,
    CANCEL_BOTH,
    CANCEL_MAKER,
    CANCEL_TAKER,
    DECREMENT,
    EV_CANCELLED,
    EV_INDICATIVE,
    EV_MODIFIED,
    EV_UNCROSS,
    FOK,
    IOC,
    LIMIT,
    MARKET,
)

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange

Indicative = tuple[int, int, int]  # (price, volume, surplus) in ticks and lots


def call_refusal(otype: int, tif: int, post_only: bool) -> str | None:
    """Why an order cannot be collected in a call (None: it can). Stop types always can."""
    if otype != LIMIT and otype != MARKET:
        return None
    if tif == FOK or (tif == IOC and otype == LIMIT):
        return "ioc and fok orders are not collected in a halt"
    if post_only:
        return "post-only orders are not collected in a halt"
    return None


def crossed(book: OrderBook) -> bool:
    """Best bid at or above best ask (possible only in a call)."""
    bids, asks = book.bid_keys, book.ask_keys
    return bool(bids) and bool(asks) and bids[-1] >= -asks[-1]


def reference(book: OrderBook) -> int | None:
    """The auction's reference price: the last trade, else the `reference_price` setting."""
    if book.last:
        return book.last
    risk = book.risk
    return None if risk is None else risk.reference


def participants(book: OrderBook, side: int) -> list[Order]:
    """One side's orders in auction priority: held market orders by order id, then the
    levels best first, each in queue order."""
    result = [o for o in book.held if o.side == side and o.qty]
    keys, levels = (book.bid_keys, book.bid_levels) if side == BUY else (book.ask_keys, book.ask_levels)
    for k in reversed(keys):
        result.extend(levels[k])
    return result


def _terms(orders: list[Order]) -> list[tuple[int, int | None, int, int]]:
    # seq = the place in priority order, which is what the auction sorts ties by.
    return [(i, o.price or None, open_qty(o), i) for i, o in enumerate(orders)]


def indicative(book: OrderBook) -> Indicative | None:
    """What the uncross would do now, without STP: None when nothing would trade."""
    if not crossed(book) and not any(o.qty for o in book.held):
        return None  # nothing crosses and no market order: no candidate has volume
    u = uncross_price(_terms(participants(book, BUY)), _terms(participants(book, 1 - BUY)),
                      reference(book))
    return None if u is None else (u.price, u.volume, u.surplus)


def publish(ex: Exchange, book: OrderBook) -> None:
    """Emit `indicative` for a halted book if it changed since the last one published."""
    now = indicative(book)
    if now == book.shown:
        return
    book.shown = now
    ex.out.append((EV_INDICATIVE, book.symbol, *((None, 0, 0) if now is None else now)))


def publish_all(ex: Exchange) -> None:
    """`publish` for every halted symbol, in symbol order."""
    for symbol in sorted(ex.halts):
        publish(ex, ex.halts[symbol])


def uncross(ex: Exchange, book: OrderBook) -> None:
    """Trade the book's crossed part at one price per round (see the module docstring), then
    cancel the held market orders' remainders. Stops, contingent effects and releases are the
    caller's; the prints are recorded (last price, stops, breaker window) here."""
    while _round(ex, book):
        pass
    for o in book.held:
        if o.qty:
            ex.cancel_order(o, "no_liquidity")
    book.held = []


def _round(ex: Exchange, book: OrderBook) -> bool:
    """One auction round. Returns True when STP acted (another round may trade more)."""
    buys = participants(book, BUY)
    sells = participants(book, 1 - BUY)
    u = uncross_price(_terms(buys), _terms(sells), reference(book))
    if u is None:
        return False
    price = u.price
    nb = _marketable(buys, price, BUY)
    ns = _marketable(sells, price, 1 - BUY)
    out = ex.out
    seq = ex.seq
    window = book.window if book.breaker is not None else None
    now = ex.now
    acted = traded = False
    i = j = 0
    while i < nb and j < ns:
        b = buys[i]
        s = sells[j]
        bq = open_qty(b)
        if not bq:
            i += 1
            continue
        sq = open_qty(s)
        if not sq:
            j += 1
            continue
        maker, taker = (b, s) if b.oid < s.oid else (s, b)
        if taker.stp and b.user == s.user:
            _self_match(ex, maker, taker)
            acted = True
            continue
        q = bq if bq < sq else sq
        tid = seq[1]
        seq[1] = tid + 1
        _take(ex, b, q)
        _take(ex, s, q)
        out.append((EV_UNCROSS, maker, taker, price, q, tid))
        traded = True
        if window is not None:
            window.add(now, price)
    if traded:
        book.last = price
        if book.stops is not None:
            book.stops.on_run(price, price)
    return acted


def _marketable(orders: list[Order], price: int, side: int) -> int:
    """How many orders at the front of a priority-ordered side are marketable at `price`."""
    n = 0
    for o in orders:
        p = o.price
        if p and (p < price if side == BUY else p > price):
            break
        n += 1
    return n


def _take(ex: Exchange, o: Order, q: int) -> None:
    """Take `q` lots of `o`'s open quantity: an iceberg's hidden part first, then what shows;
    it keeps its queue place, and leaves the book (and `live`) when nothing is left."""
    ice = o.ice
    if ice is not None and ice.reserve:
        h = ice.reserve if ice.reserve < q else q
        ice.reserve -= h
        q -= h
    if q:
        level = o.level
        if level is not None:
            level.qty -= q
        o.qty -= q
    if not o.qty:  # hidden first: nothing shows only when nothing is left
        unlink(o)
        del ex.live[o.user][o.cid]


def _cancel(ex: Exchange, o: Order) -> None:
    ex.cancel_order(o, "stp")
    if o.ice is not None:
        o.ice.reserve = 0  # finished: the walk's open_qty must read 0 for it


def _self_match(ex: Exchange, maker: Order, taker: Order) -> None:
    """The taker's STP against its own maker, instead of an auction fill."""
    stp = taker.stp
    if stp == DECREMENT:
        d = min(open_qty(maker), open_qty(taker))
        out: list[tuple[Any, ...]] = ex.out
        for o in (maker, taker):
            left = open_qty(o) - d
            _take(ex, o, d)
            if left:
                out.append((EV_MODIFIED, o, o.price, left, AUCTION_STP))
            else:
                out.append((EV_CANCELLED, o, "stp", d))
    elif stp == CANCEL_TAKER:
        _cancel(ex, taker)
    elif stp == CANCEL_MAKER:
        _cancel(ex, maker)
    else:
        assert stp == CANCEL_BOTH
        _cancel(ex, maker)
        _cancel(ex, taker)


__all__ = ["call_refusal", "crossed", "indicative", "publish", "publish_all", "uncross"]
