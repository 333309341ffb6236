"""The algorithm engine: live parents, their slices and their children (docs/ALGO.md).

A client of the exchange: everything it does goes through the exchange's contract door
(`apply(dict) -> [event dict]`): children are `new` and `cancel` commands of the parent's user,
the touch comes from a `book` query (whose event is not passed on), and what happened is read
from the events. So it runs the same over the fast engine and the reference oracle.

Invariants: parents act in (due time, creation) order, children in the order they are sent;
a parent's `resting` holds exactly its live children (every child's events are observed before
anything else happens); nothing reads a clock (time is the command's `ts`) or iterates a
hash-ordered container into output (dicts here are in insertion order); a finished parent
leaves the registry, so its id can be used again.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Protocol

from hftbook.algo.params import parse_algo
from hftbook.algo.parent import Parent
from hftbook.core.instrument import Instrument
from hftbook.core.numbers import parse_decimal
from hftbook.core.order_terms import Refused, parse_cid, parse_user

Event = dict[str, Any]
CONTROL = ("algo_pause", "algo_resume", "algo_cancel")


class Door(Protocol):
    def apply(self, cmd: object) -> list[Event]: ...


class AlgoEngine:
    def __init__(self, exchange: Door) -> None:
        self.exchange = exchange
        self.insts: dict[str, Instrument] = {}  # defined symbols, from the `instrument` commands seen
        self.parents: dict[tuple[str, Any], Parent] = {}  # live parents by (user, id)
        self.by_child: dict[tuple[str, Any], Parent] = {}  # live children by (user, child id)
        self.last: dict[str, int] = {}  # last trade price per symbol, ticks
        self.seq = 0
        self.changed: list[Parent] = []  # parents whose executed changed in this command

    # -- what the venue calls ---------------------------------------------------------------

    def due(self, ts: int) -> bool:
        """Does any parent have a slice due by ts?"""
        for p in self.parents.values():
            d = p.due
            if d is not None and d <= ts:
                return True
        return False

    def run_due(self, ts: int, out: list[Event]) -> None:
        """Run every slice due by ts, earliest (then oldest parent) first; missed slices of a
        parent are one catch-up at ts."""
        while True:
            ready = [(p.due, p.seq, p) for p in self.parents.values() if p.due is not None and p.due <= ts]
            if not ready:
                return
            _, _, p = min(ready, key=lambda r: (r[0], r[1]))
            last = len(p.times) - 1
            while p.next < last and p.times[p.next + 1] <= ts:
                p.next += 1  # missed slices: the schedule's target at ts covers them
            final = p.next == last
            p.next += 1
            self._slice(p, ts, final, out)

    def observe(self, events: list[Event]) -> None:
        """Follow the exchange's events: children's fills and exits, the market's trades."""
        for ev in events:
            kind = ev["type"]
            if kind == "trade":
                self._trade(ev)
            elif kind == "cancelled" or kind == "rejected":
                key: tuple[str, Any] = (str(ev.get("user")), ev.get("id"))
                p = self.by_child.get(key)
                if p is not None and (kind == "cancelled" or ev.get("cmd") == "new"):
                    p.resting.pop(key[1], None)
                    del self.by_child[key]

    def instrument(self, cmd: dict[str, Any], events: list[Event]) -> None:
        """Remember a symbol's tick and lot after an `instrument` command that was not refused."""
        if any(e["type"] == "rejected" for e in events):
            return
        tick, lot = parse_decimal(cmd.get("tick_size")), parse_decimal(cmd.get("lot_size"))
        symbol = cmd["symbol"]
        old = self.insts.get(symbol)
        if tick is not None and lot is not None and (old is None or (old.tick, old.lot) != (tick, lot)):
            self.insts[symbol] = Instrument(symbol, tick, lot)
            if old is not None and old.tick != tick:
                self.last.pop(symbol, None)

    def command(self, cmd: dict[str, Any], ts: int, out: list[Event]) -> None:
        """An `algo`, `algo_pause`, `algo_resume` or `algo_cancel` command."""
        name = cmd["cmd"]
        try:
            if name == "algo":
                self._start(cmd, ts, out)
            else:
                self._control(name, cmd, ts, out)
        except Refused as r:
            out.append(_rejected(cmd, ts, r.reason, r.message))

    def after(self, ts: int, out: list[Event]) -> None:
        """At the end of a venue command: `pov` follows the volume, then progress and fills."""
        for p in list(self.parents.values()):
            s = p.spec
            if s.algo == "pov" and p.started and not p.paused and not p.done and ts < s.end:
                self._send(p, p.target(ts) - p.executed - p.open_qty(), ts, s.style, out)
        for p in self.changed:
            if p.executed != p.reported and not p.done:
                self._progress(p, ts, out)
            if p.executed >= p.spec.qty and not p.done:
                self._finish(p, "filled", ts, out)
        self.changed.clear()

    # -- commands ---------------------------------------------------------------------------

    def _start(self, cmd: dict[str, Any], ts: int, out: list[Event]) -> None:
        spec = parse_algo(cmd, {s: (i.tick, i.lot) for s, i in self.insts.items()})
        if (spec.user, spec.cid) in self.parents:
            raise Refused("duplicate_id", f"algo {spec.cid!r} is live already")
        if spec.end <= ts:
            raise Refused("expired", "end_ts has passed")
        self.seq += 1
        p = Parent(spec, self.seq)
        self.parents[(spec.user, spec.cid)] = p
        inst = self.insts[spec.symbol]
        out.append({
            "type": "algo_started", "ts": ts, "user": spec.user, "id": spec.cid, "symbol": spec.symbol,
            "side": spec.side, "algo": spec.algo, "qty": inst.qty_str(spec.qty), "start_ts": spec.start,
            "end_ts": spec.end, **spec.echo,
        })
        self.run_due(ts, out)

    def _control(self, name: str, cmd: dict[str, Any], ts: int, out: list[Event]) -> None:
        user, cid = parse_user(cmd), parse_cid(cmd)
        p = self.parents.get((user, cid))
        if p is None:
            raise Refused("unknown_order", f"no live algo {cid!r}")
        if name == "algo_cancel":
            self._finish(p, "user", ts, out)
        elif name == "algo_pause":
            if p.paused:
                raise Refused("bad_state", f"algo {cid!r} is paused already")
            p.paused = True
            self._cancel_children(p, ts, out)
        else:
            if not p.paused:
                raise Refused("bad_state", f"algo {cid!r} is not paused")
            p.paused = False
            if p.started and p.spec.algo != "pov":
                self._catch_up(p, ts, p.spec.style, out)

    # -- slices and children ----------------------------------------------------------------

    def _slice(self, p: Parent, ts: int, final: bool, out: list[Event]) -> None:
        if not p.started:
            p.started = True
            p.arrival = self._arrival(p.spec.symbol, ts)
        if not p.paused:
            if final:
                self._catch_up(p, ts, "ioc", out)  # the last chance: take what the book offers
            elif p.spec.algo != "pov":
                self._catch_up(p, ts, p.spec.style, out)
            elif p.spec.style == "passive" and p.resting:
                self._catch_up(p, ts, "passive", out)  # pov slices reprice its resting children
            p.note_deviation(ts)  # how far the slice's own trades left it from the schedule
        if final:
            if p.executed < p.spec.qty:
                self._finish(p, "end", ts, out)
            # else: filled by the final slice; `after` reports it

    def _catch_up(self, p: Parent, ts: int, style: str, out: list[Event]) -> None:
        """Reprice: cancel the resting children, then send what the schedule wants now."""
        self._cancel_children(p, ts, out)
        self._send(p, p.target(ts) - p.executed, ts, style, out)

    def _send(self, p: Parent, need: int, ts: int, style: str, out: list[Event]) -> None:
        s = p.spec
        qty = min(need, s.qty - p.executed - p.open_qty())
        if s.max_child is not None:
            qty = min(qty, s.max_child)
        if qty < s.min_child or qty <= 0:
            return
        inst = self.insts[s.symbol]
        bid, ask = self._touch(s.symbol, ts)
        price = _child_price(s.side, style, bid, ask, s.limit)
        if price is None:
            return
        p.children += 1
        child = f"{s.cid}.{p.children}"
        out.append({"type": "algo_child", "ts": ts, "user": s.user, "id": s.cid, "child_id": child,
                    "qty": inst.qty_str(qty), "price": inst.price_str(price), "style": style})
        p.resting[child] = qty
        self.by_child[(s.user, child)] = p
        events = self.exchange.apply({
            "cmd": "new", "ts": ts, "user": s.user, "id": child, "symbol": s.symbol, "side": s.side,
            "type": "limit", "price": inst.price_str(price), "qty": inst.qty_str(qty),
            "tif": "ioc" if style == "ioc" else "gtc", "stp": "cancel_taker",
        })
        out.extend(events)
        self.observe(events)
        if p.resting.get(child) == 0:
            del p.resting[child]
            self.by_child.pop((s.user, child), None)

    def _cancel_children(self, p: Parent, ts: int, out: list[Event]) -> None:
        for child in list(p.resting):
            events = self.exchange.apply({"cmd": "cancel", "ts": ts, "user": p.spec.user, "id": child})
            out.extend(events)
            self.observe(events)

    def _finish(self, p: Parent, reason: str, ts: int, out: list[Event]) -> None:
        self._cancel_children(p, ts, out)
        if p.executed != p.reported:
            self._progress(p, ts, out)
        p.done = True
        s = p.spec
        del self.parents[(s.user, s.cid)]
        out.append({"type": "algo_cancelled" if reason == "user" else "algo_done", "ts": ts,
                    "user": s.user, "id": s.cid, "reason": reason, **p.summary(self.insts[s.symbol])})

    def _progress(self, p: Parent, ts: int, out: list[Event]) -> None:
        p.reported = p.executed
        s = p.spec
        inst = self.insts[s.symbol]
        summary = p.summary(inst)
        out.append({"type": "algo_progress", "ts": ts, "user": s.user, "id": s.cid,
                    "executed": summary["executed"], "remaining": inst.qty_str(s.qty - p.executed),
                    "avg_price": summary["avg_price"]})

    # -- the market -------------------------------------------------------------------------

    def _trade(self, ev: Event) -> None:
        symbol = ev["symbol"]
        inst = self.insts.get(symbol)
        if inst is None:
            return
        price = inst.price_from_wire(ev["price"])
        qty = inst.qty_from_wire(ev["qty"])
        if type(price) is not int or type(qty) is not int:
            return
        self.last[symbol] = price
        own: list[Parent] = []
        for role in ("maker", "taker"):
            party = ev[role]
            key = (party["user"], party["id"])
            p = self.by_child.get(key)
            if p is not None:
                own.append(p)
                p.executed += qty
                p.notional += price * qty
                left = p.resting.get(key[1], 0) - qty
                if left > 0:
                    p.resting[key[1]] = left
                else:
                    p.resting.pop(key[1], None)
                    del self.by_child[key]
                if p not in self.changed:
                    self.changed.append(p)
        for p in self.parents.values():
            if p.spec.symbol == symbol and p.started and not p.done:
                p.market_qty += qty
                p.market_notional += price * qty
                if p not in own:
                    p.others += qty

    def _touch(self, symbol: str, ts: int) -> tuple[int | None, int | None]:
        inst = self.insts[symbol]
        (book,) = self.exchange.apply({"cmd": "book", "ts": ts, "symbol": symbol, "depth": 1})
        bid = inst.price_from_wire(book["bids"][0][0]) if book["bids"] else None
        ask = inst.price_from_wire(book["asks"][0][0]) if book["asks"] else None
        return (bid if type(bid) is int else None), (ask if type(ask) is int else None)

    def _arrival(self, symbol: str, ts: int) -> Fraction | None:
        bid, ask = self._touch(symbol, ts)
        if bid is not None and ask is not None:
            return Fraction(bid + ask, 2)
        last = self.last.get(symbol)
        return None if last is None else Fraction(last)


def _child_price(side: str, style: str, bid: int | None, ask: int | None, limit: int | None) -> int | None:
    """docs/ALGO.md: an `ioc` child at the best opposite price (nothing beyond the limit); a
    `passive` child at the best same-side price, capped by the limit, else one tick inside
    the opposite best, else at the limit."""
    buy = side == "buy"
    if style == "ioc":
        px = ask if buy else bid
        if px is None or (limit is not None and (px > limit if buy else px < limit)):
            return None
        return px
    near, far = (bid, ask) if buy else (ask, bid)
    if near is not None:
        px = near
    elif far is not None:
        px = far - 1 if buy else far + 1
    elif limit is not None:
        px = limit
    else:
        return None
    if limit is not None:
        px = min(px, limit) if buy else max(px, limit)
    return px if px > 0 else None


def _rejected(cmd: dict[str, Any], ts: int, reason: str, message: str) -> Event:
    ev: Event = {"type": "rejected", "ts": ts}
    for k in ("user", "id", "symbol"):
        v = cmd.get(k)
        if type(v) is str or (type(v) is int and k == "id"):
            ev[k] = v
    ev["cmd"] = cmd["cmd"]
    ev["reason"] = reason
    ev["message"] = message
    return ev


__all__ = ["CONTROL", "AlgoEngine"]
