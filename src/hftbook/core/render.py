"""Raw event tuples -> contract event dicts, with keys in the order docs/PROTOCOL.md fixes.

Invariants: rendering is a pure function of the tuples, the instruments and `ts`; it never
mutates engine state. From an order it reads only fields fixed for the order's whole life
(user, id, symbol, order id, side, tif, post_only, stp, expire_ts, an iceberg's display and
variance); what can change (price, qty) travels in the tuple itself, so raw events may be
rendered long after they were made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hftbook.core.instrument import Instrument
from hftbook.core.numbers import canonical
from hftbook.core.order import Order, StopSpec
from hftbook.core.types import (
    AUCTION_STP,
    EV_ACCEPTED,
    EV_ACTIVATED,
    EV_CANCELLED,
    EV_INDICATIVE,
    EV_MODIFIED,
    EV_RAW,
    EV_REJECTED,
    EV_RESTED,
    EV_STATE,
    EV_TRADE,
    EV_TRIGGERED,
    EV_UNCROSS,
    GTD,
    MAX_UNITS,
    MIN_INT64,
    MISSING,
    SIDE_NAMES,
    STOP,
    STOP_LIMIT,
    STP_NAMES,
    TIF_NAMES,
    TRAILING_STOP_LIMIT,
    TYPE_NAMES,
)

if TYPE_CHECKING:  # avoids an import cycle at run time
    from hftbook.core.exchange import Exchange


def _party(o: Order) -> dict[str, Any]:
    return {"user": o.user, "id": o.cid, "order_id": o.oid}


def render(ex: Exchange, ts: int, raw: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Render `ex.out`. `raw` is the command being applied: rejections echo its fields."""
    insts = ex.instruments
    events: list[dict[str, Any]] = []
    append = events.append
    for e in ex.out:
        kind = e[0]
        if kind == EV_TRADE:
            m, t = e[1], e[2]
            inst = insts[m.symbol]
            ev = {
                "type": "trade", "ts": ts, "symbol": m.symbol, "trade_id": e[5],
                "price": inst.price_str(e[3]), "qty": inst.qty_str(e[4]),
                "side": SIDE_NAMES[t.side], "maker": _party(m), "taker": _party(t),
            }
            if len(e) > 6:
                ev["maker_refill"] = inst.qty_str(e[6])
            append(ev)
        elif kind == EV_CANCELLED:
            _, o, reason, rem = e
            append({
                "type": "cancelled", "ts": ts, "user": o.user, "id": o.cid,
                "symbol": o.symbol, "order_id": o.oid, "reason": reason,
                "remaining": insts[o.symbol].qty_str(rem),
            })
        elif kind == EV_ACCEPTED:
            o, otype, price, qty = e[1], e[2], e[3], e[4]
            inst = insts[o.symbol]
            ev = {
                "type": "accepted", "ts": ts, "user": o.user, "id": o.cid,
                "symbol": o.symbol, "order_id": o.oid, "side": SIDE_NAMES[o.side],
                "order_type": TYPE_NAMES[otype],
                "price": inst.price_str(price) if price else None,
                "qty": inst.qty_str(qty), "tif": TIF_NAMES[o.tif],
                "post_only": o.post_only, "stp": STP_NAMES[o.stp],
            }
            if o.tif == GTD:
                ev["expire_ts"] = o.expire_ts
            if len(e) > 5 and e[5] is not None:
                _stop_fields(ev, e[5], inst)
            ice = o.ice
            if ice is not None:
                ev["display_qty"] = inst.qty_str(ice.display)
                if ice.variance:
                    ev["display_variance"] = inst.qty_str(ice.variance)
            if len(e) > 6:
                ev.update(e[6])  # contingent links: ids and names, ready to print
            append(ev)
        elif kind == EV_ACTIVATED:
            _, o, qty = e
            append({
                "type": "activated", "ts": ts, "user": o.user, "id": o.cid, "symbol": o.symbol,
                "order_id": o.oid, "qty": insts[o.symbol].qty_str(qty),
            })
        elif kind == EV_TRIGGERED:
            _, o, level = e
            append({
                "type": "triggered", "ts": ts, "user": o.user, "id": o.cid, "symbol": o.symbol,
                "order_id": o.oid, "trigger_price": insts[o.symbol].price_str(level),
            })
        elif kind == EV_MODIFIED:
            o, price, qty, reason = e[1], e[2], e[3], e[4]
            inst = insts[o.symbol]
            ev = {
                "type": "modified", "ts": ts, "user": o.user, "id": o.cid,
                "symbol": o.symbol, "order_id": o.oid,
                "price": inst.price_str(price) if price else None,
                "qty": inst.qty_str(qty),
            }
            if reason == AUCTION_STP:
                ev["reason"] = "stp"
                ev["auction"] = True
            elif reason is not None:
                ev["reason"] = reason
            if len(e) > 5 and e[5] is not None:
                ev["refill"] = inst.qty_str(e[5])
            append(ev)
        elif kind == EV_REJECTED:
            append(_rejected(e, ts, raw))
        elif kind == EV_STATE:
            ev = {"type": e[1], "ts": ts, "symbol": e[2], "reason": e[3]}
            if len(e) > 4:
                ev["until_ts"] = e[4]
            append(ev)
        elif kind == EV_INDICATIVE:
            inst = insts[e[1]]
            append({"type": "indicative", "ts": ts, "symbol": e[1],
                    "price": None if e[2] is None else inst.price_str(e[2]),
                    "volume": inst.qty_str(e[3]), "surplus": inst.qty_str(e[4])})
        elif kind == EV_UNCROSS:
            m, t = e[1], e[2]
            inst = insts[m.symbol]
            append({
                "type": "trade", "ts": ts, "symbol": m.symbol, "trade_id": e[5],
                "price": inst.price_str(e[3]), "qty": inst.qty_str(e[4]),
                "side": SIDE_NAMES[t.side], "maker": _party(m), "taker": _party(t), "auction": True,
            })
        elif kind == EV_RESTED:
            _rested(events, e[1], e[2], e[3], insts[e[1].symbol])
        elif kind == EV_RAW:
            ev = e[1]
            ev["ts"] = ts
            append(ev)
    return events


def _rested(events: list[dict[str, Any]], o: Order, price: int, qty: int, inst: Instrument) -> None:
    """An order joined the back of its level right after the last event: say so on that event
    (`rests`), so a book can be rebuilt from the events alone. Resting follows the order's
    own step, which always has an event, so there is one to carry it."""
    rest = {"order_id": o.oid, "side": SIDE_NAMES[o.side], "price": inst.price_str(price),
            "qty": inst.qty_str(qty)}
    ev = events[-1]
    rests = ev.get("rests")
    if rests is None:
        ev["rests"] = [rest]
    else:
        rests.append(rest)


def _stop_fields(ev: dict[str, Any], spec: StopSpec, inst: Instrument) -> None:
    if spec.kind == STOP or spec.kind == STOP_LIMIT:
        assert spec.level is not None
        ev["trigger_price"] = inst.price_str(spec.level)
        return
    if spec.pct is None:
        ev["trail_amount"] = inst.price_str(spec.trail)
    else:
        ev["trail_pct"] = canonical(spec.pct)
    if spec.kind == TRAILING_STOP_LIMIT:
        ev["limit_offset"] = inst.price_str(spec.offset)


def _rejected(e: tuple[Any, ...], ts: int, raw: dict[str, Any] | None) -> dict[str, Any]:
    _, cmd, reason, message, user, cid, symbol = e
    if raw is not None:
        user = raw.get("user", MISSING)
        cid = raw.get("id", MISSING)
        symbol = raw.get("symbol", MISSING)
    ev: dict[str, Any] = {"type": "rejected", "ts": ts}
    if type(user) is str:
        ev["user"] = user
    if type(cid) is str or (type(cid) is int and MIN_INT64 <= cid <= MAX_UNITS):
        ev["id"] = cid
    if type(symbol) is str:
        ev["symbol"] = symbol
    if cmd:
        ev["cmd"] = cmd
    ev["reason"] = reason
    ev["message"] = message
    return ev
