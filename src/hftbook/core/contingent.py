"""Contingent orders: OCO pairs and brackets (one-triggers-other with an OCO pair of children).

The links live beside the orders, in `Exchange.links` (order id -> `Link`); orders never
point at their links, so no reference cycle is made. Contingent effects are not wired into
matching: `settle` reads the raw events the engine has already produced (trades, triggers,
cancels) and applies the effects docs/PROTOCOL.md gives ("The OCO rule"), at the moments the
exchange calls it: after an incoming order's matching step, right after a linked stop's
`triggered`, and after a command's cancels. With no links, the engine pays one truth test.

Invariants:
- `links` holds exactly the live OCO members (`peer` set, or a lone bracket child) and the
  live bracket entries; a member's link goes the moment its pair resolves, an entry's when
  the entry is finished and its children are activated or cancelled.
- A dormant child is a live order (in `live`, on the GTD heap) that is neither resting nor a
  waiting stop: `level is None` and, for a stop child, not in the stop index.
- Children only ever trade on the entry's symbol, so the effects of one `settle` that starts
  from a matching step stay in that step's book.
- Effects of one window of events: OCO cancels first, in event order, then entries in the
  order of their first event; their own events form the next window.
- Nothing trades in a halt: an entry that finishes while its symbol is halted leaves its
  children dormant in `Exchange.deferred` until `activate_deferred` runs at the resume.
"""

from __future__ import annotations

from collections.abc import Iterable
from heapq import heappush
from typing import TYPE_CHECKING, Any

from hftbook.core.book import OrderBook, unlink
from hftbook.core.order import Order, open_qty
from hftbook.core.stops import StopIndex, stop_holds
from hftbook.core.types import (
    EV_ACTIVATED,
    EV_CANCELLED,
    EV_MODIFIED,
    EV_TRADE,
    EV_TRIGGERED,
    EV_UNCROSS,
    STOP,
    STOP_LIMIT,
)

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange


class Link:
    """An OCO member (`peer`, `dormant`) or a bracket entry (`entry` True, children, fills)."""

    __slots__ = ("active", "dormant", "entry", "filled", "given", "order", "partial", "peer", "sl", "tp")

    def __init__(self, order: Order, peer: Order | None = None, dormant: bool = False) -> None:
        self.order = order
        self.peer = peer  # the other order of an OCO pair (None: a lone bracket child)
        self.dormant = dormant  # a bracket child not yet activated
        self.entry = False
        self.tp: Order | None = None  # an entry's children
        self.sl: Order | None = None
        self.partial = False  # activation mode: False = on the entry's finish
        self.filled = 0  # the entry's filled lots so far
        self.given = 0  # lots given to the children so far
        self.active = False  # children activated


def entry_link(order: Order, tp: Order | None, sl: Order | None, partial: bool) -> Link:
    link = Link(order)
    link.entry = True
    link.tp = tp
    link.sl = sl
    link.partial = partial
    return link


def settle(ex: Exchange, i: int) -> tuple[int, list[OrderBook]]:
    """Apply the contingent effects of `ex.out[i:]` and of what they cause in turn.

    Returns the end of the events seen and the books where children were activated (their
    triggered stops still wait for release), in order.
    """
    out = ex.out
    links = ex.links
    books: list[OrderBook] = []
    counted: set[tuple[int, int]] = set()  # (event index, entry id) fills already counted
    while i < len(out) and links:
        members: list[Link] = []
        entries: list[Link] = []
        end = len(out)
        while i < end:
            e = out[i]
            i += 1
            kind = e[0]
            if kind in (EV_TRADE, EV_UNCROSS):
                for o in (e[1], e[2]):
                    link = links.get(o.oid)
                    if link is None:
                        continue
                    if link.entry:
                        if (i - 1, o.oid) not in counted:
                            link.filled += e[4]
                        if link not in entries:
                            entries.append(link)
                    else:
                        members.append(link)
            elif kind in (EV_CANCELLED, EV_TRIGGERED):
                link = links.get(e[1].oid)
                if link is None:
                    continue
                if link.entry:
                    if link not in entries:
                        entries.append(link)
                else:
                    members.append(link)
        for link in members:
            _resolve(ex, link)
        for k, link in enumerate(entries):
            before = len(out)
            _entry(ex, link, books)
            if len(out) > before and k + 1 < len(entries):
                # This entry's children traded at once, maybe with entries still to settle in
                # this window: those settle with every fill so far, so count these trades
                # now (and not again when the next window reads them).
                waiting = {w.order.oid: w for w in entries[k + 1:]}
                for j in range(before, len(out)):
                    ev = out[j]
                    if ev[0] in (EV_TRADE, EV_UNCROSS):
                        for o in (ev[1], ev[2]):
                            w = waiting.get(o.oid)
                            if w is not None:
                                w.filled += ev[4]
                                counted.add((j, o.oid))
    return len(out), books


def _resolve(ex: Exchange, link: Link) -> None:
    """A member traded, triggered or left: the pair is over, and its other order is cancelled."""
    links = ex.links
    o = link.order
    if links.get(o.oid) is not link:
        return  # resolved earlier in this window
    del links[o.oid]
    peer = link.peer
    if peer is not None and links.pop(peer.oid, None) is not None and peer.qty:
        ex.cancel_order(peer, "oco")


def _entry(ex: Exchange, link: Link, books: list[OrderBook]) -> None:
    """A bracket entry filled or finished: activate, raise or cancel its children."""
    links = ex.links
    e = link.order
    if links.get(e.oid) is not link:
        return
    finished = not e.qty
    kids = [c for c in (link.sl, link.tp) if c is not None and c.qty and c.oid in links]
    filled = link.filled
    if link.partial:
        if filled > link.given:
            if not link.active:
                link.active = True
                if ex.books[e.symbol].halted:
                    ex.deferred.append((e.symbol, filled, kids))  # the step halted the book
                else:
                    _activate_all(ex, kids, filled, books)
            else:
                for c in kids:
                    _grow(ex, c, filled - link.given)
            link.given = filled
        if finished:
            del links[e.oid]
            if not link.active:
                _cancel_dormant(ex, kids)
    elif finished:
        del links[e.oid]
        if not filled:
            _cancel_dormant(ex, kids)
        elif ex.books[e.symbol].halted:
            # Nothing trades in a halt: the children wait, dormant, for the resume.
            ex.deferred.append((e.symbol, filled, kids))
        else:
            link.given = filled
            _activate_all(ex, kids, filled, books)


def activate_deferred(ex: Exchange, symbol: str) -> None:
    """At a resume: activate the children whose entry finished during the halt, in the order
    the entries finished, then settle what they cause."""
    due = [d for d in ex.deferred if d[0] == symbol]
    if not due:
        return
    ex.deferred = [d for d in ex.deferred if d[0] != symbol]
    mark = len(ex.out)
    books: list[OrderBook] = []
    book = ex.books[symbol]
    for i, (_, qty, kids) in enumerate(due):
        if book.halted:  # an activation halted it again: the rest wait for the next resume
            ex.deferred.extend(due[i:])
            break
        alive = [c for c in kids if c.qty and c.oid in ex.links]
        _activate_all(ex, alive, qty, books)
    ex.after_matching(book, mark)


def _cancel_dormant(ex: Exchange, kids: list[Order]) -> None:
    for c in kids:
        ex.links.pop(c.oid, None)
        ex.cancel_order(c, "parent")


def _activate_all(ex: Exchange, kids: list[Order], qty: int, books: list[OrderBook]) -> None:
    """Children go live with `qty`, the stop-loss first (see `Link.sl`, `Link.tp` order)."""
    if not kids:
        return
    book = ex.books[kids[0].symbol]
    for c in kids:
        link = ex.links[c.oid]
        link.dormant = False
        if not c.qty:
            continue  # the take-profit's sibling resolved the pair while it went live
        c.qty = qty
        ex.out.append((EV_ACTIVATED, c, qty))
        spec = c.stop
        if spec is None:
            ex.start_incoming(book, c)
            continue
        stops = book.stops
        if stops is None:
            stops = book.stops = StopIndex()
        last = book.last
        level = spec.level
        if spec.kind in (STOP, STOP_LIMIT) and level is not None and stop_holds(c.side, level, last):
            spec.fired = level  # its condition holds already: it triggers at once
            heappush(stops.pending, (c.oid, c))
        else:
            stops.add(c, last)
    if book not in books:
        books.append(book)


def _grow(ex: Exchange, c: Order, d: int) -> None:
    """Partial activation: a live child takes `d` more lots; a resting one goes to the back."""
    book = ex.books[c.symbol]
    total = open_qty(c) + d
    ex.out.append((EV_MODIFIED, c, c.price, total, "parent_fill"))
    if c.level is not None:
        unlink(c)
        c.qty = total
        book.rest(c)  # after its `modified`, which a book rebuilt from events reads first
    else:
        c.qty = total


def links_snapshot(ex: Exchange) -> list[dict[str, Any]]:
    """The links as JSON-able data in order id order; orders by id, dead children as null."""
    result = []
    for oid in sorted(ex.links):
        link = ex.links[oid]
        if link.entry:
            result.append({
                "order_id": oid, "entry": True, "take_profit": _live_id(link.tp),
                "stop_loss": _live_id(link.sl), "partial": link.partial, "filled": link.filled,
                "given": link.given, "active": link.active,
            })
        else:
            result.append({"order_id": oid, "peer": _live_id(link.peer), "dormant": link.dormant})
    return result


def _live_id(o: Order | None) -> int | None:
    return o.oid if o is not None and o.qty else None


def restore_links(ex: Exchange, data: Iterable[dict[str, Any]], by_oid: dict[int, Order]) -> None:
    """Links from `links_snapshot` data; `by_oid` maps every live order's id to it."""
    for d in data:
        o = by_oid[d["order_id"]]
        if d.get("entry"):
            tp = d["take_profit"]
            sl = d["stop_loss"]
            link = entry_link(o, None if tp is None else by_oid[tp], None if sl is None else by_oid[sl],
                              d["partial"])
            link.filled = d["filled"]
            link.given = d["given"]
            link.active = d["active"]
        else:
            peer = d["peer"]
            link = Link(o, None if peer is None else by_oid[peer], d["dormant"])
        ex.links[o.oid] = link


def deferred_snapshot(ex: Exchange) -> list[dict[str, Any]]:
    return [{"symbol": symbol, "qty": qty, "children": [c.oid for c in kids if c.qty]}
            for symbol, qty, kids in ex.deferred]


def restore_deferred(ex: Exchange, data: Iterable[dict[str, Any]], by_oid: dict[int, Order]) -> None:
    ex.deferred = [(d["symbol"], d["qty"], [by_oid[oid] for oid in d["children"]]) for d in data]


def dormant_orders(ex: Exchange) -> list[Order]:
    """The live dormant children in order id order (snapshots)."""
    return [link.order for oid, link in sorted(ex.links.items()) if link.dormant and link.order.qty]


__all__ = [
    "Link", "activate_deferred", "deferred_snapshot", "dormant_orders", "entry_link", "links_snapshot",
    "restore_deferred", "restore_links", "settle",
]
