"""The exchange state machine: instruments, books, live orders, expiry, and the entry points.

Two doors into the same engine:
- `apply(cmd_dict) -> [event_dict]`: the contract's JSON-shaped commands and events.
- the integer methods (`advance`, `submit`, `cancel`, `modify`, ...): prices in ticks,
  quantities in lots, events appended to `out` as raw tuples (see `types.EV_*`). Gateways
  and benchmarks use these; `apply` parses into them and renders what they produce.

Invariants: the core never reads a clock (time is `now`, set by `advance`); every order id and
trade id comes from the shared `seq` counters, so ids are a pure function of the input; a
live order is resting in exactly one book and registered in `live[user][client_id]`; the GTD
heap may hold stale entries (lazy deletion) but never misses a live GTD order.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from heapq import heapify, heappop, heappush
from typing import Any

from hftbook.core.book import OrderBook, append, new_level, reduce, taker_limit_key, unlink
from hftbook.core.call import call_refusal, crossed, publish, publish_all, uncross
from hftbook.core.commands import dispatch
from hftbook.core.contingent import Link, activate_deferred, settle
from hftbook.core.instrument import Instrument
from hftbook.core.order import IceSpec, Order, StopSpec, open_qty
from hftbook.core.render import render
from hftbook.core.risk import UserRisk, check_modify, check_new, check_one, protected_limit
from hftbook.core.state import restore, snapshot, state_hash
from hftbook.core.stops import StopIndex, stop_holds
from hftbook.core.types import (
    BUY,
    DAY,
    EV_ACCEPTED,
    EV_CANCELLED,
    EV_MODIFIED,
    EV_RAW,
    EV_REJECTED,
    EV_RESTED,
    EV_STATE,
    EV_TRIGGERED,
    FOK,
    GTC,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    MAX_UNITS,
    MISSING,
    NO_LIMIT,
    STOP,
    STOP_LIMIT,
    STP_NONE,
    TRAILING_STOP,
    TRAILING_STOP_LIMIT,
)

_GTD_MIN_REBUILD = 1024
_new_order = object.__new__


class Exchange:
    """A multi-symbol exchange. Deterministic: the same commands give the same events."""

    def __init__(self) -> None:
        self.instruments: dict[str, Instrument] = {}
        self.books: dict[str, OrderBook] = {}
        self.live: dict[str, dict[Any, Order]] = {}
        self.seq = [1, 1]  # next engine order id, next trade id
        self.out: list[tuple[Any, ...]] = []
        self.now = 0
        self.clock = [0]  # `now`, shared with the books (the circuit breaker's window)
        # (resume ts, symbol) of timed halts in progress; stale entries are skipped.
        self.resumes: list[tuple[int, str]] = []
        # The halted books by symbol (shared with the books: the breaker halts one itself).
        self.halts: dict[str, OrderBook] = {}
        # (expire_ts, order_id, user, client_id); stale entries are skipped when popped, and
        # the heap is rebuilt from the live orders when it outgrows `gtd_rebuild_at`, so
        # cancelled far-future GTD orders cannot make it grow without bound.
        self.gtd_heap: list[tuple[int, int, str, Any]] = []
        self.gtd_rebuild_at = _GTD_MIN_REBUILD
        # Contingent links (OCO members, bracket entries) by order id; see contingent.py.
        self.links: dict[int, Link] = {}
        # Brackets whose entry finished in a halt: (symbol, filled lots, children) till resume.
        self.deferred: list[tuple[str, int, list[Order]]] = []
        # Pre-trade risk (risk.py): per-user limits and kill switches; `user_risk` is true
        # while either has an entry, so the hot path pays one truth test without them.
        self.user_limits: dict[str, UserRisk] = {}
        self.killed: set[str] = set()
        self.user_risk = False
        # Called with each `apply` command's raw events and ts before they are dropped: market
        # data and other consumers of the integer events (they must not change the engine).
        self.listeners: list[Callable[[list[tuple[Any, ...]], int], None]] = []

    # -- the contract door ---------------------------------------------------------------

    def apply(self, cmd: object) -> list[dict[str, Any]]:
        """Apply one contract command (a dict) and return its events as dicts."""
        ts = dispatch(self, cmd)
        events = render(self, ts, cmd if isinstance(cmd, dict) else None)
        for listener in self.listeners:
            listener(self.out, ts)
        self.out.clear()
        return events

    def apply_quiet(self, cmd: object) -> None:
        """`apply` without rendering the events (recovery replays what it already answered):
        the same state change, the listeners still see the raw events."""
        ts = dispatch(self, cmd)
        for listener in self.listeners:
            listener(self.out, ts)
        self.out.clear()

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data (see `state.py`)."""
        return snapshot(self)

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Exchange:
        """A new exchange in exactly the state `snap` was taken in."""
        return restore(cls, snap)

    def state_hash(self) -> str:
        """SHA-256 of the canonical snapshot: equal states hash equal in any process."""
        return state_hash(self)

    # -- the integer door ----------------------------------------------------------------

    def advance(self, ts: int) -> None:
        """Set the time, expire every GTD order whose expire_ts <= ts, then end the timed
        halts (volatility, scheduled) due by ts."""
        self.now = ts
        self.clock[0] = ts
        heap = self.gtd_heap
        if heap and heap[0][0] <= ts:
            self._expire(ts)
        resumes = self.resumes
        while resumes and resumes[0][0] <= ts:
            at, symbol = heappop(resumes)
            book = self.books.get(symbol)
            if book is not None and book.halted and book.resume_at == at:
                self.set_halted(symbol, False, book.resume_reason)

    def _expire(self, ts: int) -> None:
        heap = self.gtd_heap
        mark = len(self.out)
        while heap and heap[0][0] <= ts:
            _, oid, user, cid = heappop(heap)
            o = self.live.get(user, {}).get(cid)
            if o is not None and o.oid == oid:
                self.cancel_order(o, "expired")
        if self.links:
            self._settle_cancels(mark)
        if self.halts:
            publish_all(self)

    def rebuild_gtd_heap(self) -> None:
        """Drop stale GTD entries: O(live orders), amortised O(1) per GTD order by doubling."""
        heap = [
            (o.expire_ts, o.oid, o.user, o.cid)
            for orders in self.live.values()
            for o in orders.values()
            if o.tif == GTD
        ]
        heapify(heap)
        self.gtd_heap = heap
        self.gtd_rebuild_at = max(_GTD_MIN_REBUILD, 2 * len(heap))

    def add_instrument(self, symbol: str, tick: Decimal, lot: Decimal) -> bool:
        """Define a symbol, or redefine it; refused (False) if that would rescale live orders."""
        current = self.instruments.get(symbol)
        if current is not None:
            if current.tick == tick and current.lot == lot:
                return True
            dormant = any(link.dormant and link.order.symbol == symbol for link in self.links.values())
            if not self.books[symbol].is_empty() or dormant:
                self.reject("instrument", "instrument_busy",
                            f"{symbol} has live orders; its tick and lot cannot change", symbol=symbol)
                return False
        inst = Instrument(symbol, tick, lot)
        self.instruments[symbol] = inst
        old = self.books.get(symbol)
        book = OrderBook(inst, self.out, self.live, self.seq, self.clock, self.resumes, self.halts)
        if old is not None:
            book.halted = old.halted
            book.resume_at = old.resume_at
            book.resume_reason = old.resume_reason
            book.collect = old.collect
            book.held = old.held
            book.shown = old.shown
            book.cool_until = old.cool_until
            if old.halted:
                self.halts[symbol] = book
            book.risk = old.risk  # in ticks and lots: the `instrument` command sets it anew
            book.breaker = old.breaker
            if old.instrument.tick == tick:
                book.last = old.last
                book.window = old.window  # trade prices in ticks: kept only with the tick
        self.books[symbol] = book
        return True

    def submit(
        self,
        user: str,
        cid: Any,
        symbol: str,
        side: int,
        otype: int,
        price: int,
        qty: int,
        tif: int = GTC,
        expire_ts: int = 0,
        post_only: bool = False,
        stp: int = STP_NONE,
    ) -> int:
        """Submit a limit or market order. Returns its engine order id, 0 if rejected.

        This is the hot path: checks run in the protocol's order; the common case (a limit
        order that rests without crossing) makes one object and one call (`append`).
        """
        book = self.books.get(symbol)
        if book is None:
            return self.reject("new", "unknown_symbol", f"unknown symbol {symbol!r}", user, cid, symbol)
        if not 0 < qty <= MAX_UNITS:
            return self.reject("new", "bad_qty", "qty must be a positive lot multiple", user, cid, symbol)
        if otype == LIMIT:
            if not 0 < price <= MAX_UNITS:
                return self.reject("new", "bad_price", "price must be a positive tick multiple",
                                   user, cid, symbol)
        elif otype == MARKET:
            price = 0
        else:
            return self.reject("new", "unsupported", "stop orders go through submit_stop", user, cid, symbol)
        orders = self.live.get(user)
        if orders is None:
            orders = self.live[user] = {}
        elif cid in orders:
            return self.reject("new", "duplicate_id", f"order id {cid!r} is live already", user, cid, symbol)
        if book.halted:
            why = call_refusal(otype, tif, post_only) if book.collect else f"{symbol} is halted"
            if why is not None:
                return self.reject("new", "halted", why, user, cid, symbol)
            o = Order(0, user, cid, symbol, side, price, qty, tif, expire_ts, post_only, stp)
            return self._collect(book, orders, otype, o)
        if tif == GTD and expire_ts <= self.now:
            return self.reject("new", "expired", "expire_ts has passed", user, cid, symbol)
        if book.risk is not None or self.user_risk:
            refusal = check_one(self, book, user, side, otype, price, qty)
            if refusal is not None:
                return self.reject("new", refusal[0], refusal[1], user, cid, symbol)
        # The taker's limit as an opposite-side key (see book.py): trade with keys >= lim.
        if side:
            opposite = book.bid_keys
            lim = price if price else NO_LIMIT
        else:
            opposite = book.ask_keys
            lim = -price if price else NO_LIMIT
        crossing = opposite and opposite[-1] >= lim
        if not price:
            if not crossing:
                return self.reject("new", "no_liquidity", "the other side of the book is empty",
                                   user, cid, symbol)
            if book.risk is not None:
                lim = protected_limit(book, side, lim)
        # Order(...) inlined: a Python-level __init__ call costs a third of a resting add.
        o = _new_order(Order)
        o.user = user
        o.cid = cid
        o.symbol = symbol
        o.side = side
        o.price = price
        o.qty = qty
        o.tif = tif
        o.expire_ts = expire_ts
        o.post_only = post_only
        o.stp = stp
        o.level = o.prev = o.nxt = o.stop = o.ice = None
        if post_only and crossing and book.would_trade(o, lim, qty):
            return self.reject("new", "post_only", "a post-only order would take liquidity",
                               user, cid, symbol)
        seq = self.seq
        oid = o.oid = seq[0]
        seq[0] = oid + 1
        out = self.out
        out.append((EV_ACCEPTED, o, otype, price, qty))
        if crossing:
            if tif == FOK and not book.fok_fillable(o, book.band_limit(side, lim)):
                out.append((EV_CANCELLED, o, "fok", qty))
                o.qty = 0
                return oid
            book.match(o, lim)
            if self.links or (book.stops is not None and book.stops.pending) or book.halted:
                self._finish_then_release(book, o, orders)
                return oid
            rem = o.qty
            if not rem:
                return oid
        else:
            rem = qty
        if not price:
            out.append((EV_CANCELLED, o, _market_leftover(book, side), rem))
        elif tif == IOC:
            out.append((EV_CANCELLED, o, "ioc", rem))
        elif tif == FOK:
            out.append((EV_CANCELLED, o, "fok", rem))
        else:
            # Rest at the back of its level (`OrderBook.rest` inlined: the common path).
            if side:
                key = -price
                levels = book.ask_levels
            else:
                key = price
                levels = book.bid_levels
            level = levels.get(key)
            if level is None:
                level = new_level(price, key, levels, book.ask_keys if side else book.bid_keys)
            append(level, o)
            out.append((EV_RESTED, o, price, rem))
            orders[cid] = o
            if tif == GTD:
                self.push_gtd(o)
            return oid
        o.qty = 0
        return oid

    def _collect(self, book: OrderBook, orders: dict[Any, Order], otype: int, o: Order) -> int:
        """A limit or market order arriving in a call (call.py): the rest of `submit`'s
        admission, then it rests without matching (a limit) or is held (a market order)."""
        user, cid, symbol = o.user, o.cid, o.symbol
        if o.tif == GTD and o.expire_ts <= self.now:
            return self.reject("new", "expired", "expire_ts has passed", user, cid, symbol)
        if book.risk is not None or self.user_risk:
            refused = check_one(self, book, user, o.side, otype, o.price, o.qty)
            if refused is not None:
                return self.reject("new", refused[0], refused[1], user, cid, symbol)
        return self._join_call(book, orders, otype, o)

    def _join_call(self, book: OrderBook, orders: dict[Any, Order], otype: int, o: Order) -> int:
        """Accept an admitted order into a call: a limit rests (an iceberg shows a slice), a
        market order is held; then the indicative may have changed."""
        seq = self.seq
        oid = o.oid = seq[0]
        seq[0] = oid + 1
        if o.ice is not None:
            o.ice.rng = oid  # every iceberg's generator is seeded with its order id
        cid = o.cid
        self.out.append((EV_ACCEPTED, o, otype, o.price, o.qty))
        orders[cid] = o
        if o.tif == GTD:
            self.push_gtd(o)
        if otype == MARKET:
            book.held.append(o)
        else:
            book.rest(o)
        publish(self, book)
        return oid

    def cancel(self, user: str, cid: Any) -> bool:
        """Cancel a live order of `user` (reason `user`)."""
        orders = self.live.get(user)
        o = orders.pop(cid, None) if orders else None
        if o is None:
            return not self.reject("cancel", "unknown_order", f"no live order {cid!r}", user, cid)
        rem = o.qty
        if o.ice is not None:
            rem += o.ice.reserve
        unlink(o)
        out = self.out
        out.append((EV_CANCELLED, o, "user", rem))
        if self.links:
            self._settle_cancels(len(out) - 1)
        if self.halts:
            book = self.halts.get(o.symbol)
            if book is not None:
                publish(self, book)  # an OCO peer is on the same symbol
        return True

    def modify(self, user: str, cid: Any, price: int | None, qty: int | None) -> bool:
        """Change a resting order's price and/or open quantity (None keeps the current one)."""
        orders = self.live.get(user)
        o = orders.get(cid) if orders else None
        if o is None or orders is None or o.level is None:
            # Not resting: a waiting stop or a dormant bracket child is not modifiable.
            return not self.reject("modify", "unknown_order", f"no live order {cid!r}", user, cid)
        book = self.books[o.symbol]
        ice = o.ice
        whole = o.qty if ice is None else o.qty + ice.reserve
        new_price = o.price if price is None else price
        new_qty = whole if qty is None else qty
        if not 0 < new_price <= MAX_UNITS:
            return not self.reject("modify", "bad_price", "price must be a positive tick multiple", user, cid)
        if not 0 < new_qty <= MAX_UNITS:
            return not self.reject("modify", "bad_qty", "qty must be a positive lot multiple", user, cid)
        if book.halted:
            return not self.reject("modify", "halted", f"{o.symbol} is halted", user, cid)
        if book.risk is not None or self.user_risk:
            refusal = check_modify(self, book, user, o.side, new_price, new_qty)
            if refusal is not None:
                return not self.reject("modify", refusal[0], refusal[1], user, cid)
        if new_price == o.price and new_qty <= whole:
            if ice is not None and new_qty >= o.qty:
                ice.reserve = new_qty - o.qty  # an iceberg's hidden part shrinks first
            else:
                if ice is not None:
                    ice.reserve = 0
                reduce(o, new_qty)
            self.out.append((EV_MODIFIED, o, new_price, new_qty, None))
            return True
        lim = taker_limit_key(o.side, new_price)
        if o.post_only and book.would_trade(o, lim, new_qty):
            return not self.reject("modify", "post_only", "the modify would take liquidity", user, cid)
        # Losing priority: out of the queue, then in again like an incoming order. The same
        # object is reused; events hold what can change (price, qty) in their tuples, and
        # this one also the price it left (market data updates that level).
        old_price = o.price
        unlink(o)
        o.price = new_price
        o.qty = new_qty
        if ice is not None:
            ice.reserve = 0  # re-enters whole; `rest` shows a fresh slice
        out = self.out
        mark = len(out)
        out.append((EV_MODIFIED, o, new_price, new_qty, None, None, old_price))
        if book.crosses(o, lim):
            book.match(o, lim)
            if not o.qty:
                del orders[cid]
            elif book.halted:
                rem = o.qty
                o.qty = 0
                del orders[cid]
                out.append((EV_CANCELLED, o, "volatility", rem))
            else:
                book.rest(o)
            if self.links or (book.stops is not None and book.stops.pending):
                self.after_matching(book, mark)
            return True
        book.rest(o)
        return True

    def submit_stop(
        self,
        user: str,
        cid: Any,
        symbol: str,
        side: int,
        kind: int,
        qty: int,
        tif: int,
        expire_ts: int,
        post_only: bool,
        stp: int,
        trigger: int = 0,
        limit: int = 0,
        trail: int = 0,
        pct: Decimal | None = None,
        offset: int = 0,
    ) -> int:
        """Accept a stop order to wait for its trigger. Returns its order id, 0 if rejected.

        `kind` is STOP, STOP_LIMIT, TRAILING_STOP or TRAILING_STOP_LIMIT; `trigger` (plain
        kinds), `limit` (stop_limit), `trail` or `pct` (trailing kinds), `offset`
        (trailing_stop_limit) in ticks, except `pct` (percent).
        """
        book = self.books.get(symbol)
        if book is None:
            return self.reject("new", "unknown_symbol", f"unknown symbol {symbol!r}", user, cid, symbol)
        if not 0 < qty <= MAX_UNITS:
            return self.reject("new", "bad_qty", "qty must be a positive lot multiple", user, cid, symbol)
        trailing = kind in (TRAILING_STOP, TRAILING_STOP_LIMIT)
        if not trailing and not 0 < trigger <= MAX_UNITS:
            return self.reject("new", "bad_price", "trigger_price must be a positive tick multiple",
                               user, cid, symbol)
        if kind == STOP_LIMIT and not 0 < limit <= MAX_UNITS:
            return self.reject("new", "bad_price", "price must be a positive tick multiple", user, cid,
                               symbol)
        if trailing and not (0 < trail <= MAX_UNITS if pct is None else 0 < pct < 100):
            return self.reject("new", "bad_price", "trail_amount must be a positive tick multiple, "
                               "trail_pct between 0 and 100", user, cid, symbol)
        if not 0 <= offset <= MAX_UNITS:
            return self.reject("new", "bad_price", "limit_offset must be a tick multiple >= 0",
                               user, cid, symbol)
        orders = self._admit(book, user, cid, symbol, tif, expire_ts, True)
        if orders is None:
            return 0
        if book.risk is not None or self.user_risk:
            price = limit if kind == STOP_LIMIT else 0
            refusal = check_new(self, book, user, [(side, kind, price, qty, trigger if kind == STOP else 0)])
            if refusal is not None:
                return self.reject("new", refusal[0], refusal[1], user, cid, symbol)
        last = book.last
        if not trailing and stop_holds(side, trigger, last):
            return self.reject("new", "stop_would_trigger", "the last trade price already meets the trigger",
                               user, cid, symbol)
        seq = self.seq
        oid = seq[0]
        seq[0] = oid + 1
        price = limit if kind == STOP_LIMIT else 0
        o = Order(oid, user, cid, symbol, side, price, qty, tif, expire_ts, post_only, stp)
        spec = o.stop = StopSpec(kind, None if trailing else trigger, limit, trail, pct, offset)
        self.out.append((EV_ACCEPTED, o, kind, price, qty, spec))
        orders[cid] = o
        if book.stops is None:
            book.stops = StopIndex()
        book.stops.add(o, last)
        if tif == GTD:
            self.push_gtd(o)
        return oid

    def submit_iceberg(
        self,
        user: str,
        cid: Any,
        symbol: str,
        side: int,
        price: int,
        qty: int,
        display: int,
        variance: int = 0,
        tif: int = GTC,
        expire_ts: int = 0,
        post_only: bool = False,
        stp: int = STP_NONE,
    ) -> int:
        """Submit an iceberg limit order showing `display` lots at a time (each refill
        `display` +/- up to `variance` lots). Returns its order id, 0 if rejected."""
        book = self.books.get(symbol)
        if book is None:
            return self.reject("new", "unknown_symbol", f"unknown symbol {symbol!r}", user, cid, symbol)
        if tif not in (GTC, GTD, DAY):
            return self.reject("new", "bad_command", "an iceberg rests: tif gtc, gtd or day",
                               user, cid, symbol)
        if not 0 < qty <= MAX_UNITS:
            return self.reject("new", "bad_qty", "qty must be a positive lot multiple", user, cid, symbol)
        if not 0 < display <= qty:
            return self.reject("new", "bad_qty", "display_qty must be a positive lot multiple <= qty",
                               user, cid, symbol)
        if not 0 <= variance < display:
            return self.reject("new", "bad_qty", "display_variance must be a lot multiple >= 0 and "
                               "< display_qty", user, cid, symbol)
        if not 0 < price <= MAX_UNITS:
            return self.reject("new", "bad_price", "price must be a positive tick multiple",
                               user, cid, symbol)
        orders = self._admit(book, user, cid, symbol, tif, expire_ts, not post_only)
        if orders is None:
            return 0
        if book.risk is not None or self.user_risk:
            refusal = check_new(self, book, user, [(side, LIMIT, price, qty, 0)])
            if refusal is not None:
                return self.reject("new", refusal[0], refusal[1], user, cid, symbol)
        o = Order(0, user, cid, symbol, side, price, qty, tif, expire_ts, post_only, stp)
        if book.halted:  # collected in a call: it rests without matching
            o.ice = IceSpec(display, variance, 0)
            return self._join_call(book, orders, LIMIT, o)
        lim = taker_limit_key(side, price)
        crossing = book.crosses(o, lim)
        if post_only and crossing and book.would_trade(o, lim, qty):
            return self.reject("new", "post_only", "a post-only order would take liquidity",
                               user, cid, symbol)
        seq = self.seq
        oid = o.oid = seq[0]
        seq[0] = oid + 1
        o.ice = IceSpec(display, variance, oid)
        out = self.out
        mark = len(out)
        out.append((EV_ACCEPTED, o, LIMIT, price, qty))
        orders[cid] = o
        if tif == GTD:
            self.push_gtd(o)
        # On arrival an iceberg takes liquidity with its whole quantity; `rest` shows a slice.
        self.start_incoming(book, o)
        if self.links or (book.stops is not None and book.stops.pending):
            self.after_matching(book, mark)
        return oid

    def _admit(self, book: OrderBook, user: str, cid: Any, symbol: str, tif: int,
               expire_ts: int, collectable: bool = False) -> dict[Any, Order] | None:
        """The admission steps after field checks (duplicate id, halt, passed expiry): the
        user's live orders, or None after a rejection. `collectable`: the order may join a
        call (call.py). `submit` runs the same steps inline: it is the hot path, and a call
        per order would cost it."""
        orders = self.live.get(user)
        if orders is None:
            orders = self.live[user] = {}
        elif cid in orders:
            self.reject("new", "duplicate_id", f"order id {cid!r} is live already", user, cid, symbol)
            return None
        if book.halted and not (collectable and book.collect):
            why = "post-only orders are not collected in a halt" if book.collect else f"{symbol} is halted"
            self.reject("new", "halted", why, user, cid, symbol)
            return None
        if tif == GTD and expire_ts <= self.now:
            self.reject("new", "expired", "expire_ts has passed", user, cid, symbol)
            return None
        return orders

    def _finish_then_release(self, book: OrderBook, o: Order, orders: dict[Any, Order]) -> None:
        """An incoming order's matching triggered stops or touched linked orders: settle its
        remainder, then apply contingent effects and release stops from its `accepted` on."""
        out = self.out
        mark = len(out) - 1
        while out[mark][0] != EV_ACCEPTED or out[mark][1] is not o:
            mark -= 1
        rem = o.qty
        if rem:
            reason = _leftover_reason(o) if o.price else _market_leftover(book, o.side)
            if book.halted:
                reason = "volatility"  # the breaker halted the book: nothing rests into it
            if reason is None:
                book.rest(o)
                orders[o.cid] = o
                if o.tif == GTD:
                    self.push_gtd(o)
            else:
                o.qty = 0
                self.out.append((EV_CANCELLED, o, reason, rem))
        self.after_matching(book, mark)

    def after_matching(self, book: OrderBook, mark: int) -> None:
        """After an incoming order is done (its events start at `out[mark]`): apply the
        contingent effects, then release one triggered stop, lowest order id first, and so on
        until neither has anything left (a release's trades may trigger more stops)."""
        out = self.out
        while True:
            if self.links:
                mark = settle(self, mark)[0]
            stops = book.stops
            if stops is None or not stops.pending or book.halted:
                return  # a halt keeps the triggered stops for its resume
            _, o = heappop(stops.pending)
            spec = o.stop
            if not o.qty or spec is None:
                continue
            o.stop = None
            level = spec.fired
            out.append((EV_TRIGGERED, o, level))
            if o.oid in self.links:
                mark = settle(self, mark)[0]  # a trigger resolves its OCO pair before it trades
            kind = spec.kind
            if kind in (STOP, TRAILING_STOP):
                o.price = 0
            elif kind == STOP_LIMIT:
                o.price = spec.limit
            elif o.side == BUY:
                o.price = level + spec.offset
            else:
                o.price = max(1, level - spec.offset)
            self.start_incoming(book, o)

    def start_incoming(self, book: OrderBook, o: Order) -> None:
        """An accepted order acts as an incoming one (a released stop, an activated child, a
        part of an order list; admission already passed): it matches, and what cannot start or
        is left over is cancelled or rests. Releases and contingent effects are the caller's."""
        out = self.out
        price = o.price
        qty = o.qty
        lim = taker_limit_key(o.side, price) if price else NO_LIMIT
        crossing = book.crosses(o, lim)
        if not price and crossing and book.risk is not None:
            lim = protected_limit(book, o.side, lim)
        if not crossing:
            reason = _leftover_reason(o)
        elif o.post_only and book.would_trade(o, lim, qty):
            reason = "post_only"
        elif o.tif == FOK and not book.fok_fillable(o, book.band_limit(o.side, lim)):
            reason = "fok"
        else:
            book.match(o, lim)
            if not o.qty:
                del self.live[o.user][o.cid]
                return
            reason = _leftover_reason(o)
            if not price:
                reason = _market_leftover(book, o.side)
            if book.halted:
                reason = "volatility"
        if reason is None:
            book.rest(o)
            return
        rem = o.qty
        o.qty = 0
        del self.live[o.user][o.cid]
        out.append((EV_CANCELLED, o, reason, rem))

    def push_gtd(self, o: Order) -> None:
        heap = self.gtd_heap
        heappush(heap, (o.expire_ts, o.oid, o.user, o.cid))
        if len(heap) > self.gtd_rebuild_at:
            self.rebuild_gtd_heap()

    def set_user_limits(self, user: str, max_open: int | None, rate: int | None, burst: int | None) -> None:
        """Replace a user's limits (all None: none); a rate limit starts with a full bucket."""
        if max_open is None and rate is None:
            self.user_limits.pop(user, None)
        else:
            self.user_limits[user] = UserRisk(max_open, rate, burst, self.now)
        self.user_risk = bool(self.user_limits or self.killed)

    def set_kill_switch(self, user: str, active: bool) -> None:
        """Turn a user's kill switch on (their live orders are cancelled, reason `killed`,
        and new ones refused) or off."""
        self.out.append((EV_RAW, {"type": "kill_switch", "ts": 0, "user": user, "active": active}))
        if active:
            self.killed.add(user)
            self.cancel_all(user, None, "killed")
        else:
            self.killed.discard(user)
        self.user_risk = bool(self.user_limits or self.killed)

    def cancel_all(self, user: str, symbol: str | None = None, reason: str = "mass_cancel") -> int:
        """Cancel the user's live orders (on one symbol if given) in acceptance order."""
        orders = self.live.get(user)
        if not orders:
            return 0
        doomed = sorted(
            (o for o in orders.values() if symbol is None or o.symbol == symbol),
            key=_by_oid,
        )
        mark = len(self.out)
        for o in doomed:
            self.cancel_order(o, reason)
        if self.links:
            self._settle_cancels(mark)
        if self.halts:
            publish_all(self)
        return len(doomed)

    def end_of_day(self) -> int:
        """Expire every live DAY order, in acceptance order."""
        doomed = sorted(
            (o for orders in self.live.values() for o in orders.values() if o.tif == DAY),
            key=_by_oid,
        )
        mark = len(self.out)
        for o in doomed:
            self.cancel_order(o, "expired")
        if self.links:
            self._settle_cancels(mark)
        if self.halts:
            publish_all(self)
        return len(doomed)

    def set_halted(self, symbol: str, halted: bool, reason: str = "manual", until: int = 0) -> bool:
        """Halt a symbol (until `until` if > 0: a scheduled end) or resume it; a resume
        uncrosses what a call collected (call.py), then releases what the halt held back."""
        book = self.books.get(symbol)
        cmd = "halt" if halted else "resume"
        if book is None:
            return not self.reject(cmd, "unknown_symbol", f"unknown symbol {symbol!r}", symbol=symbol)
        if book.halted == halted:
            state = "halted" if halted else "not halted"
            return not self.reject(cmd, "bad_state", f"{symbol} is {state} already", symbol=symbol)
        book.halted = halted
        book.shown = None
        out = self.out
        if halted:
            self.halts[symbol] = book
            if until:
                book.resume_at = until
                book.resume_reason = "scheduled"
                heappush(self.resumes, (until, symbol))
                out.append((EV_STATE, "halted", symbol, reason, until))
            else:
                out.append((EV_STATE, "halted", symbol, reason))
            return True
        del self.halts[symbol]
        out.append((EV_STATE, "resumed", symbol, reason))
        book.resume_at = 0
        risk = book.risk
        book.cool_until = self.now + risk.cool_ns if risk is not None and risk.cool_ns else 0
        if book.held or crossed(book):
            mark = len(out)
            uncross(self, book)
            if self.links:
                settle(self, mark)  # the auction's fills and cancels, before older effects
        if self.deferred:
            activate_deferred(self, symbol)
        if book.stops is not None and book.stops.pending:
            self.after_matching(book, len(out))  # stops triggered before the halt or by the uncross
        return True

    # -- helpers -------------------------------------------------------------------------

    def reject(
        self,
        cmd: str,
        reason: str,
        message: str,
        user: Any = MISSING,
        cid: Any = MISSING,
        symbol: Any = MISSING,
    ) -> int:
        """Record a rejection. Returns 0 so callers can `return self.reject(...)`."""
        self.out.append((EV_REJECTED, cmd, reason, message, user, cid, symbol))
        return 0

    def _settle_cancels(self, mark: int) -> None:
        """Contingent effects of cancels from `out[mark]` on, then the releases they cause."""
        mark, books = settle(self, mark)
        for book in books:
            self.after_matching(book, mark)
            mark = len(self.out)

    def cancel_order(self, o: Order, reason: str) -> None:
        """Cancel a live order (resting, waiting or dormant) with the given reason; contingent
        effects are the caller's."""
        rem = open_qty(o)
        unlink(o)
        del self.live[o.user][o.cid]
        self.out.append((EV_CANCELLED, o, reason, rem))


def _market_leftover(book: OrderBook, side: int) -> str:
    """Why a market order's remainder is cancelled: the book ran out, or market protection
    stopped it with liquidity left beyond its protected price."""
    opposite = book.bid_keys if side else book.ask_keys
    return "market_protection" if opposite and book.risk is not None and book.risk.protect is not None \
        else "no_liquidity"


def _leftover_reason(o: Order) -> str | None:
    """Why an incoming order's unfilled remainder is cancelled, or None if it rests.

    `submit` makes the same decision inline on its hot path.
    """
    if not o.price:
        return "no_liquidity"  # market orders never rest
    if o.tif == IOC:
        return "ioc"
    if o.tif == FOK:
        return "fok"
    return None


def _by_oid(o: Order) -> int:
    return o.oid
