"""Snapshot, restore and the state hash of an `Exchange`.

Invariants: a snapshot is plain JSON-able data built only from ordered structures (symbols
sorted, orders in book priority order), never from hash-ordered iteration, so it is identical
across processes and PYTHONHASHSEEDs; `restore(snapshot(x))` behaves exactly like `x` for any
further commands (queue order, ids, time, halts and GTD expiries included); `state_hash` is the
SHA-256 of the canonical JSON of the snapshot.
An iceberg's `qty` is its visible slice; its hidden reserve and generator state are under
`iceberg`, and restore puts it back in its queue place as it was (no new slice).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from heapq import heappush
from typing import TYPE_CHECKING, Any

from hftbook.core.contingent import (
    deferred_snapshot,
    dormant_orders,
    links_snapshot,
    restore_deferred,
    restore_links,
)
from hftbook.core.numbers import canonical
from hftbook.core.order import IceSpec, Order, StopSpec
from hftbook.core.risk_commands import (
    parse_breaker,
    parse_instrument_risk,
    restore_user_risk,
    user_risk_snapshot,
)
from hftbook.core.stops import StopIndex
from hftbook.core.types import SIDE_NAMES, STP_NAMES, TIF_NAMES, TYPE_NAMES

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange

SNAPSHOT_VERSION = 6
# Older versions predate icebergs (2), order lists (2, 3), risk settings (2-4) and the call
# auction (2-5): none in them.
_READABLE = (2, 3, 4, 5, 6)


def snapshot(ex: Exchange) -> dict[str, Any]:
    instruments = []
    orders: list[dict[str, Any]] = []
    stops: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for symbol in sorted(ex.books):
        book = ex.books[symbol]
        inst = book.instrument
        instruments.append({
            "symbol": symbol,
            "tick_size": canonical(inst.tick),
            "lot_size": canonical(inst.lot),
            "halted": book.halted,
            "last": book.last,
            "risk": None if book.risk is None else book.risk.wire,
            "breaker": None if book.breaker is None else book.breaker.wire,
            "window": [list(t) for t in book.window.trades],
            "resume_at": book.resume_at,
            "resume_reason": book.resume_reason,
            "halt_orders": "collect" if book.collect else "reject",
            "shown": None if book.shown is None else list(book.shown),
            "cool_until": book.cool_until,
        })
        orders.extend(_order(o) for o in book.live_orders())
        held.extend(_order(o) for o in book.held if o.qty)
        if book.stops is not None:
            stops.extend(_order(o) for o in book.stops.waiting())
    return {
        "version": SNAPSHOT_VERSION,
        "now": ex.now,
        "next_order_id": ex.seq[0],
        "next_trade_id": ex.seq[1],
        "instruments": instruments,
        "orders": orders,
        "stops": stops,
        "held": held,
        "dormant": [_order(o) for o in dormant_orders(ex)],
        "links": links_snapshot(ex),
        "deferred": deferred_snapshot(ex),
        "user_risk": user_risk_snapshot(ex),
    }


def _order(o: Order) -> dict[str, Any]:
    d: dict[str, Any] = {
        "order_id": o.oid, "user": o.user, "id": o.cid, "symbol": o.symbol,
        "side": SIDE_NAMES[o.side], "price": o.price, "qty": o.qty,
        "tif": TIF_NAMES[o.tif], "expire_ts": o.expire_ts,
        "post_only": o.post_only, "stp": STP_NAMES[o.stp],
    }
    spec = o.stop
    if spec is not None:
        d["stop"] = {
            "kind": TYPE_NAMES[spec.kind], "level": spec.level, "limit": spec.limit,
            "trail": spec.trail, "pct": None if spec.pct is None else canonical(spec.pct),
            "offset": spec.offset, "ref": spec.ref,
        }
    ice = o.ice
    if ice is not None:
        d["iceberg"] = {"display": ice.display, "variance": ice.variance, "reserve": ice.reserve,
                        "rng": ice.rng}
    return d


def _load_order(d: dict[str, Any]) -> Order:
    o = Order(
        d["order_id"], d["user"], d["id"], d["symbol"], SIDE_NAMES.index(d["side"]),
        d["price"], d["qty"], TIF_NAMES.index(d["tif"]), d["expire_ts"],
        d["post_only"], STP_NAMES.index(d["stp"]),
    )
    s = d.get("stop")
    if s is not None:
        spec = o.stop = StopSpec(TYPE_NAMES.index(s["kind"]), s["level"], s["limit"], s["trail"],
                                 None if s["pct"] is None else Decimal(s["pct"]), s["offset"])
        spec.ref = s["ref"]
    i = d.get("iceberg")
    if i is not None:
        ice = o.ice = IceSpec(i["display"], i["variance"], o.oid)
        ice.reserve = i["reserve"]
        ice.rng = i["rng"]
    return o


def restore(cls: type[Exchange], snap: dict[str, Any]) -> Exchange:
    if snap.get("version") not in _READABLE:
        raise ValueError(f"unsupported snapshot version {snap.get('version')!r}")
    ex = cls()
    ex.now = ex.clock[0] = snap["now"]
    ex.seq[0] = snap["next_order_id"]
    ex.seq[1] = snap["next_trade_id"]
    for i in snap["instruments"]:
        ex.add_instrument(i["symbol"], Decimal(i["tick_size"]), Decimal(i["lot_size"]))
        book = ex.books[i["symbol"]]
        book.halted = i["halted"]
        book.last = i["last"]
        if i.get("risk") is not None:
            book.risk = parse_instrument_risk(i["risk"], Decimal(i["tick_size"]), Decimal(i["lot_size"]))
        if i.get("breaker") is not None:
            book.breaker = parse_breaker(i["breaker"])
        for ts, price in i.get("window", ()):
            book.window.add(ts, price)
        book.resume_at = i.get("resume_at", 0)
        book.resume_reason = i.get("resume_reason", "volatility")
        if book.resume_at:
            heappush(ex.resumes, (book.resume_at, book.symbol))
        book.collect = i.get("halt_orders") == "collect"
        book.cool_until = i.get("cool_until", 0)
        shown = i.get("shown")
        book.shown = None if shown is None else (shown[0], shown[1], shown[2])
        if book.halted:
            ex.halts[book.symbol] = book
    for d in snap["orders"]:
        o = _load_order(d)
        ex.books[o.symbol].place(o)  # as it was: an iceberg keeps its slice and reserve
        ex.live.setdefault(o.user, {})[o.cid] = o
    for d in snap["stops"]:
        o = _load_order(d)
        book = ex.books[o.symbol]
        if book.stops is None:
            book.stops = StopIndex()
        book.stops.add(o, book.last)
        ex.live.setdefault(o.user, {})[o.cid] = o
    for d in snap.get("held", ()):
        o = _load_order(d)
        ex.books[o.symbol].held.append(o)  # in order id order, as taken
        ex.live.setdefault(o.user, {})[o.cid] = o
    for d in snap.get("dormant", ()):
        o = _load_order(d)
        ex.live.setdefault(o.user, {})[o.cid] = o
    by_oid = {o.oid: o for orders in ex.live.values() for o in orders.values()}
    restore_links(ex, snap.get("links", ()), by_oid)
    restore_deferred(ex, snap.get("deferred", ()), by_oid)
    if "user_risk" in snap:
        restore_user_risk(ex, snap["user_risk"])
    ex.rebuild_gtd_heap()
    ex.out.clear()
    return ex


def state_hash(ex: Exchange) -> str:
    blob = json.dumps(snapshot(ex), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()
