"""The market-data publisher: engine events in, sequenced per-symbol channels out.

`MarketDataFeed` turns what the engine did into what a venue publishes, per symbol, on four
channels, each message carrying that channel's own sequence number (1, 2, 3, ... per symbol
and channel, no gaps) so a consumer can detect a loss:

- `l3`: order by order: `add`, `exec`, `modify` (in place, lower), `delete`; an iceberg shows
  its visible slice only, and its refill is an `add` of the same order id at the back;
- `l2`: price levels: `level` (side, price, visible qty, orders) for each level a batch
  changed, conflated per batch, the batch's last one flagged;
- `l1`: `quote` (best bid, its qty, best ask, its qty) after a batch that changed it;
- `trades`: the tape: `trade` (trade id, price, qty, aggressor side), and `status` (halted,
  resumed) changes.
`heartbeats` repeat each channel's last sequence number without taking one.

Messages are tuples `(channel, symbol, seq, ts, kind, *fields)` (docs/MARKETDATA.md); prices
in ticks, quantities in lots. A *batch* ends with each `on_raw`/`on_events` call, or, with
`end=False`, at `flush`: one command per batch gives the exact L2/L1 view after every
command; more conflate (trades and L3 are never conflated). `snapshot`
gives a channel's state with the sequence number it reflects, for a consumer that joins
late or lost messages (replica.py).

Two sources, one result: `on_raw` reads the engine's raw event tuples (`Exchange.out`, the
fast path in-process; attach with `feed.attach(exchange)`), `on_events` the contract's event
dicts (replay output, a log, another process), converted with a `Units` per symbol.

Invariants: pure and deterministic (no clock: `ts` comes with the events; nothing iterates a
hash-ordered container into the output: batches publish in first-touch order); the books
equal the engine's visible books after every batch (property-tested on random flows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from hftbook.core.instrument import Instrument
from hftbook.core.types import (
    AUCTION_STP,
    BUY,
    EV_ACCEPTED,
    EV_ACTIVATED,
    EV_CANCELLED,
    EV_INDICATIVE,
    EV_MODIFIED,
    EV_RESTED,
    EV_STATE,
    EV_TRADE,
    EV_UNCROSS,
    MAX_UNITS,
    SELL,
)
from hftbook.marketdata.book import VisibleBook

CHANNELS = ("l1", "l2", "l3", "trades")
_SIDES = {"buy": BUY, "sell": SELL}


class Units:
    """Decimal strings -> integer units of one symbol: prices in ticks, quantities in lots,
    through the core's own exact, cached conversion (`Instrument.price_from_wire`)."""

    __slots__ = ("_inst",)

    def __init__(self, tick: Decimal | str, lot: Decimal | str) -> None:
        tick, lot = Decimal(tick), Decimal(lot)
        if tick <= 0 or lot <= 0:
            raise ValueError(f"tick and lot must be > 0: {tick}, {lot}")
        self._inst = Instrument("", tick, lot)

    @property
    def tick(self) -> Decimal:
        return self._inst.tick

    @property
    def lot(self) -> Decimal:
        return self._inst.lot

    def price(self, text: str) -> int:
        n = self._inst.price_from_wire(text)
        if type(n) is not int:
            raise ValueError(f"{text} is not a positive whole number of ticks of {self.tick}")
        return n

    def qty(self, text: str) -> int:
        n = self._inst.qty_from_wire(text)
        if type(n) is not int:
            raise ValueError(f"{text} is not a positive whole number of lots of {self.lot}")
        return n


class _Symbol:
    __slots__ = ("book", "makers", "published", "quote", "resting", "seq")

    def __init__(self, symbol: str, with_l3: bool) -> None:
        # The feed's own copy of the visible book (the events source, and L3); with an
        # engine to read, only its `touched` sets are used.
        self.book = VisibleBook(symbol, with_l3)
        self.seq = [0, 0, 0, 0]  # last published per channel, in CHANNELS order
        self.quote: tuple[int | None, int, int | None, int] = (None, 0, None, 0)
        # Per side, key -> (qty, orders) as last published: only real changes go out.
        self.published: tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]] = ({}, {})
        self.resting: dict[int, int] = {}  # engine mode: resting order id -> its level key
        self.makers: list[Any] = []  # engine mode: makers the batch traded with


class MarketDataFeed:
    """Sequenced market data for every symbol the events mention."""

    def __init__(self, channels: Iterable[str] = ("l1", "l2", "trades")) -> None:
        chosen = tuple(channels)
        unknown = [c for c in chosen if c not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channels {unknown}; choose from {CHANNELS}")
        self.l1 = "l1" in chosen
        self.l2 = "l2" in chosen
        self.l3 = "l3" in chosen
        self.tape = "trades" in chosen
        self.symbols: dict[str, _Symbol] = {}
        self.exchange: Any = None  # set by `load`/`attach`
        self._engine_mode = False  # read the engine's levels (loaded, and no l3)
        self.out: list[tuple[Any, ...]] = []  # published, oldest first; `take` empties it
        self.ts = 0
        self._dirty: dict[str, _Symbol] = {}  # symbols the batch touched, first touch first

    # -- sources -------------------------------------------------------------------------

    def attach(self, exchange: Any) -> None:
        """Start from the exchange's books as they are, then publish every `Exchange.apply`
        command's events as one batch."""
        self.load(exchange)
        exchange.listeners.append(self.on_raw)

    def load(self, exchange: Any) -> None:
        """Take the exchange's resting orders as the starting state (a restored or running
        engine), publishing nothing: consumers start from a snapshot. Without `l3` the feed
        then reads the engine's level totals directly (`on_raw`) instead of keeping its own
        copy of the book."""
        self.ts = exchange.now
        self.exchange = exchange
        self._engine_mode = not self.l3
        for symbol, ebook in exchange.books.items():
            s = self._sym(symbol)
            if s.book.orders or s.resting:
                raise ValueError(f"load: the feed has a book for {symbol} already")
            self._load_book(s, ebook)
        self._dirty.clear()

    def _load_book(self, s: _Symbol, ebook: Any) -> None:
        book = s.book
        if self.l3:
            for o in ebook.live_orders():
                book.rest(o.oid, o.side, o.price, o.qty)
                if o.ice is not None:
                    book.ice_open[o.oid] = o.qty + o.ice.reserve
            book.l3.clear()
        else:
            s.resting = {o.oid: (-o.price if o.side else o.price) for o in ebook.live_orders()}
        for side, levels in ((BUY, ebook.bid_levels), (SELL, ebook.ask_levels)):
            s.published[side].update((k, (lv.qty, lv.count)) for k, lv in levels.items())
            book.touched[side].clear()
        b, a = ebook.best_bid(), ebook.best_ask()
        s.quote = (b, 0 if b is None else ebook.bid_levels[b].qty,
                   a, 0 if a is None else ebook.ask_levels[-a].qty)

    def on_raw(self, events: list[tuple[Any, ...]], ts: int, end: bool = True) -> None:
        """One command's raw event tuples (see `core.types.EV_*`) at `ts`; `end=False` keeps
        the batch open (conflation over several commands: `flush` ends it)."""
        if self._engine_mode:
            self._on_raw_engine(events, ts, end)
            return
        self.ts = ts
        symbols = self.symbols
        dirty = self._dirty
        for e in events:
            kind = e[0]
            if kind == EV_RESTED:
                o = e[1]
                sym = o.symbol
                s = symbols.get(sym) or self._new(sym)
                dirty[sym] = s
                s.book.rest(o.oid, o.side, e[2], e[3])
            elif kind == EV_TRADE:
                m, t = e[1], e[2]
                sym = m.symbol
                s = symbols.get(sym) or self._new(sym)
                dirty[sym] = s
                price, qty = e[3], e[4]
                book = s.book
                book.execute(m.oid, qty, price, e[5])
                ice_open = book.ice_open
                if ice_open:
                    _spend(ice_open, m.oid, qty)
                    _spend(ice_open, t.oid, qty)
                if len(e) > 6:
                    book.rest(m.oid, m.side, price, e[6])
                if self.tape:
                    self._publish(s, 3, ts, ("trade", e[5], price, qty, t.side))
            elif kind == EV_CANCELLED:
                o = e[1]
                sym = o.symbol
                s = symbols.get(sym) or self._new(sym)
                if s.book.remove(o.oid):
                    dirty[sym] = s
                if s.book.ice_open:
                    s.book.ice_open.pop(o.oid, None)
            elif kind == EV_ACCEPTED:
                o = e[1]
                if o.ice is not None:
                    self._sym(o.symbol).book.ice_open[o.oid] = e[4]
            elif kind == EV_MODIFIED:
                o = e[1]
                _modified(self._sym(o.symbol).book, o.oid, e[2], e[3], e[4], e[5] if len(e) > 5 else None)
            elif kind == EV_ACTIVATED:
                o = e[1]
                book = self._sym(o.symbol).book
                if o.oid in book.ice_open:
                    book.ice_open[o.oid] = e[2]
            elif kind == EV_UNCROSS:
                m, t = e[1], e[2]
                sym = m.symbol
                s = symbols.get(sym) or self._new(sym)
                dirty[sym] = s
                _auction_fill(s.book, m.oid, e[4])
                _auction_fill(s.book, t.oid, e[4])
                if self.tape:
                    self._publish(s, 3, ts, ("trade", e[5], e[3], e[4], t.side))
            elif kind == EV_STATE and self.tape:
                self._publish(self._sym(e[2]), 3, ts, ("status", e[1], e[3]))
            elif kind == EV_INDICATIVE and self.tape:
                self._publish(self._sym(e[1]), 3, ts, ("indicative", e[2], e[3], e[4]))
        if end and dirty:
            self._end_batch(ts)

    def _on_raw_engine(self, events: list[tuple[Any, ...]], ts: int, end: bool) -> None:
        """`on_raw` for L1/L2/trades with the engine at hand: the events say which levels a
        batch touched (a light map of resting order ids to level keys remembers where an
        order is, for its cancel or repricing); the totals are read from the engine's own
        levels at the end of the batch. Publishes exactly what the copy-of-the-book path
        publishes (property-tested)."""
        self.ts = ts
        symbols = self.symbols
        dirty = self._dirty
        for e in events:
            kind = e[0]
            if kind == EV_RESTED:
                o = e[1]
                sym = o.symbol
                s = symbols.get(sym) or self._new(sym)
                dirty[sym] = s
                key = -e[2] if o.side else e[2]
                s.resting[o.oid] = key
                s.book.touched[o.side][key] = None
            elif kind == EV_TRADE:
                m = e[1]
                sym = m.symbol
                s = symbols.get(sym) or self._new(sym)
                dirty[sym] = s
                s.book.touched[m.side][-e[3] if m.side else e[3]] = None
                s.makers.append(m)
                if self.tape:
                    self._publish(s, 3, ts, ("trade", e[5], e[3], e[4], e[2].side))
            elif kind in (EV_CANCELLED, EV_MODIFIED):
                o = e[1]
                sym = o.symbol
                s = symbols.get(sym) or self._new(sym)
                key = s.resting.get(o.oid)
                if key is not None:
                    dirty[sym] = s
                    s.book.touched[o.side][key] = None
                    if kind == EV_CANCELLED or len(e) > 6:
                        del s.resting[o.oid]  # gone, or repriced: its EV_RESTED follows
            elif kind == EV_UNCROSS:
                sym = e[1].symbol
                s = symbols.get(sym) or self._new(sym)
                dirty[sym] = s
                for o in (e[1], e[2]):
                    key = s.resting.get(o.oid)
                    if key is not None:  # not a held market order
                        s.book.touched[o.side][key] = None
                        s.makers.append(o)
                if self.tape:
                    self._publish(s, 3, ts, ("trade", e[5], e[3], e[4], e[2].side))
            elif kind == EV_STATE and self.tape:
                self._publish(self._sym(e[2]), 3, ts, ("status", e[1], e[3]))
            elif kind == EV_INDICATIVE and self.tape:
                self._publish(self._sym(e[1]), 3, ts, ("indicative", e[2], e[3], e[4]))
        if end and dirty:
            self._end_batch_engine(ts)

    def _end_batch_engine(self, ts: int) -> None:
        """`_end_batch` for the engine-reading path, written out for speed (it runs once per
        command in a server): the same messages, read from the engine's levels."""
        out = self.out
        books = self.exchange.books
        l2, l1 = self.l2, self.l1
        for sym, s in self._dirty.items():
            engine = books[sym]  # now: an instrument update may have replaced the book
            makers = s.makers
            if makers:
                resting = s.resting
                for m in makers:
                    if not m.qty:  # filled: out of the book (an iceberg refill keeps qty > 0)
                        resting.pop(m.oid, None)
                makers.clear()
            tb, ta = s.book.touched
            changed = False
            n = s.seq[1]
            mark = n
            if tb:
                published = s.published[BUY]
                levels = engine.bid_levels
                for k in tb:
                    lv = levels.get(k)
                    was = published.get(k)
                    if lv is None:
                        if was is None:
                            continue
                        del published[k]
                        qty = count = 0
                    else:
                        qty, count = lv.qty, lv.count
                        if was is not None and was[0] == qty and was[1] == count:
                            continue
                        published[k] = (qty, count)
                    changed = True
                    if l2:
                        n += 1
                        out.append(("l2", sym, n, ts, "level", BUY, k, qty, count, False))
                tb.clear()
            if ta:
                published = s.published[SELL]
                levels = engine.ask_levels
                for k in ta:
                    lv = levels.get(k)
                    was = published.get(k)
                    if lv is None:
                        if was is None:
                            continue
                        del published[k]
                        qty = count = 0
                    else:
                        qty, count = lv.qty, lv.count
                        if was is not None and was[0] == qty and was[1] == count:
                            continue
                        published[k] = (qty, count)
                    changed = True
                    if l2:
                        n += 1
                        out.append(("l2", sym, n, ts, "level", SELL, -k, qty, count, False))
                ta.clear()
            if n != mark:
                out[-1] = (*out[-1][:9], True)  # the batch's last level update
                s.seq[1] = n
            if l1 and changed:
                keys = engine.bid_keys
                if keys:
                    bid: int | None = keys[-1]
                    bq = engine.bid_levels[bid].qty
                else:
                    bid, bq = None, 0
                keys = engine.ask_keys
                if keys:
                    ak = keys[-1]
                    ask: int | None = -ak
                    aq = engine.ask_levels[ak].qty
                else:
                    ask, aq = None, 0
                q = s.quote
                if bid != q[0] or bq != q[1] or ask != q[2] or aq != q[3]:
                    s.quote = (bid, bq, ask, aq)
                    seq = s.seq[0] + 1
                    s.seq[0] = seq
                    out.append(("l1", sym, seq, ts, "quote", bid, bq, ask, aq))
        self._dirty.clear()

    def on_events(self, events: Iterable[Mapping[str, Any]], units: Mapping[str, Units],
                  end: bool = True) -> None:
        """Contract event dicts (replay's output, parsed), each at its own `ts`; `units`
        converts each symbol's decimal strings. Events without a book effect are skipped.
        The batch ends after them unless `end=False` (then `flush` ends it)."""
        ts = self.ts
        for ev in events:
            ts = ev.get("ts", ts)
            kind = ev["type"]
            sym: str = ev.get("symbol", "")
            if kind == "trade" and ev.get("auction"):
                u = units[sym]
                s = self._sym(sym)
                qty = u.qty(ev["qty"])
                _auction_fill(s.book, ev["maker"]["order_id"], qty)
                _auction_fill(s.book, ev["taker"]["order_id"], qty)
                if self.tape:
                    self._publish(s, 3, ts, ("trade", ev["trade_id"], u.price(ev["price"]), qty,
                                             _SIDES[ev["side"]]))
            elif kind == "trade":
                u = units[sym]
                s = self._sym(sym)
                book = s.book
                price, qty = u.price(ev["price"]), u.qty(ev["qty"])
                m, t = ev["maker"]["order_id"], ev["taker"]["order_id"]
                book.execute(m, qty, price, ev["trade_id"])
                if book.ice_open:
                    _spend(book.ice_open, m, qty)
                    _spend(book.ice_open, t, qty)
                refill = ev.get("maker_refill")
                if refill is not None:
                    side = SELL if ev["side"] == "buy" else BUY
                    book.rest(m, side, price, u.qty(refill))
                if self.tape:
                    self._publish(s, 3, ts, ("trade", ev["trade_id"], price, qty, _SIDES[ev["side"]]))
            elif kind == "cancelled":
                s = self.symbols.get(sym) or self._new(sym)
                if s.book.remove(ev["order_id"]):
                    self._dirty[sym] = s
                s.book.ice_open.pop(ev["order_id"], None)
            elif kind == "accepted":
                if ev.get("display_qty") is not None:
                    self._sym(sym).book.ice_open[ev["order_id"]] = units[sym].qty(ev["qty"])
            elif kind == "modified":
                u = units[sym]
                refill = ev.get("refill")
                price = ev["price"]  # null for a stop (never in the book)
                reason = AUCTION_STP if ev.get("auction") else ev.get("reason")
                _modified(self._sym(sym).book, ev["order_id"], 0 if price is None else u.price(price),
                          u.qty(ev["qty"]), reason, None if refill is None else u.qty(refill))
            elif kind == "activated":
                book = self._sym(sym).book
                if ev["order_id"] in book.ice_open:
                    book.ice_open[ev["order_id"]] = units[sym].qty(ev["qty"])
            elif kind in ("halted", "resumed") and self.tape:
                self._publish(self._sym(sym), 3, ts, ("status", kind, ev.get("reason")))
            elif kind == "indicative" and self.tape:
                u = units[sym]
                price = ev["price"]
                self._publish(self._sym(sym), 3, ts, ("indicative", None if price is None else u.price(price),
                                                      _lots(u, ev["volume"]), _lots(u, ev["surplus"])))
            rests = ev.get("rests")
            if rests:
                book = self._sym(sym).book
                u = units[sym]
                for r in rests:
                    book.rest(r["order_id"], _SIDES[r["side"]], u.price(r["price"]), u.qty(r["qty"]))
        if end and self._dirty:
            self._end_batch(ts)
        self.ts = ts

    def flush(self, ts: int) -> None:
        """End the open batch: publish its L3, L2 and L1 (stamped `ts`)."""
        if self._dirty:
            if self._engine_mode:
                self._end_batch_engine(ts)
            else:
                self._end_batch(ts)
        self.ts = ts

    # -- output --------------------------------------------------------------------------

    def take(self) -> list[tuple[Any, ...]]:
        """The messages published since the last call, oldest first."""
        out = self.out
        self.out = []
        return out

    def snapshot(self, symbol: str, channel: str, depth: int | None = None) -> tuple[Any, ...]:
        """A channel's state now, as of its last sequence number: `l2`: (..., "snapshot",
        bids, asks) with levels (price, qty, orders) best first (`depth` levels a side, all
        when None); `l3`: (..., "snapshot", bids, asks) with (price, [(order id, qty), ...])
        per level in queue order; `l1`: (..., "quote", bid, bid qty, ask, ask qty)."""
        if channel not in ("l1", "l2", "l3"):
            raise ValueError(f"no snapshot for channel {channel!r}")
        s = self.symbols.get(symbol) or self._new(symbol)
        book = s.book
        if channel == "l1":
            return ("l1", symbol, s.seq[0], self.ts, "quote", *s.quote)
        if channel == "l2":
            if self._engine_mode:
                n = MAX_UNITS if depth is None else depth
                ebook = self.exchange.books[symbol]
                bids, asks = ebook.depth(True, n), ebook.depth(False, n)
            else:
                bids, asks = book.depth(BUY, depth), book.depth(SELL, depth)
            return ("l2", symbol, s.seq[1], self.ts, "snapshot", bids, asks)
        if not self.l3:
            raise ValueError("no l3 snapshot: the l3 channel is off")
        return ("l3", symbol, s.seq[2], self.ts, "snapshot", book.queue(BUY), book.queue(SELL))

    def heartbeats(self, ts: int) -> list[tuple[Any, ...]]:
        """A heartbeat per symbol and channel on: (channel, symbol, last seq, ts, "heartbeat"),
        for the idle moments (a timer in the server); it lets a consumer see a loss at the
        tail, which no later message would reveal. It takes no sequence number itself."""
        on = [c for c, flag in zip(CHANNELS, (self.l1, self.l2, self.l3, self.tape), strict=True) if flag]
        return [
            (c, symbol, s.seq[CHANNELS.index(c)], ts, "heartbeat") for symbol, s in self.symbols.items()
            for c in on
        ]

    # -- inside --------------------------------------------------------------------------

    def _new(self, symbol: str) -> _Symbol:
        s = self.symbols[symbol] = _Symbol(symbol, self.l3)
        return s

    def _sym(self, symbol: str) -> _Symbol:
        """The symbol's state, marked as touched by the batch."""
        s = self.symbols.get(symbol) or self._new(symbol)
        self._dirty[symbol] = s
        return s

    def _publish(self, s: _Symbol, ch: int, ts: int, payload: tuple[Any, ...]) -> None:
        seq = s.seq[ch] + 1
        s.seq[ch] = seq
        self.out.append((CHANNELS[ch], s.book.symbol, seq, ts, *payload))

    def _end_batch(self, ts: int) -> None:
        """Publish what the batch did to each symbol's book: L3 in order, then the levels
        whose (qty, orders) changed (L2, bids then asks, first touched first), then the top
        of book if it moved (L1)."""
        out = self.out
        for sym, s in self._dirty.items():
            book = s.book
            if book.l3:
                for payload in book.l3:
                    self._publish(s, 2, ts, payload)
                book.l3.clear()
            tb, ta = book.touched
            if not (tb or ta):
                continue
            changed = []
            for side, touched in ((BUY, tb), (SELL, ta)):
                if not touched:
                    continue
                levels = book.levels[side]
                published = s.published[side]
                for k in touched:
                    lv = levels.get(k)
                    now = (0, 0) if lv is None else (lv[0], len(lv[1]))
                    if published.get(k, (0, 0)) != now:
                        if now[0]:
                            published[k] = now
                        else:
                            del published[k]
                        changed.append((side, -k if side else k, now[0], now[1]))
                touched.clear()
            if self.l2 and changed:
                seq = s.seq
                n = seq[1]
                last = n + len(changed)
                for side, price, qty, count in changed:
                    n += 1
                    out.append(("l2", sym, n, ts, "level", side, price, qty, count, n == last))
                seq[1] = n
            if self.l1 and changed:
                kb, ka = book.keys
                quote = (kb[-1] if kb else None, book.levels[BUY][kb[-1]][0] if kb else 0,
                         -ka[-1] if ka else None, book.levels[SELL][ka[-1]][0] if ka else 0)
                if quote != s.quote:
                    s.quote = quote
                    self._publish(s, 0, ts, ("quote", *quote))
        self._dirty.clear()


def _spend(ice_open: dict[int, int], oid: int, qty: int) -> None:
    left = ice_open.get(oid)
    if left is not None:
        if left > qty:
            ice_open[oid] = left - qty
        else:
            del ice_open[oid]


def _auction_fill(book: VisibleBook, oid: int, qty: int) -> None:
    """A call auction's fill took `qty` lots of a resting order's open quantity: an
    iceberg's hidden part first, then what shows (docs/PROTOCOL.md, "Call auction"); the
    order keeps its place. A held market order is not in the book."""
    ice_open = book.ice_open
    before = ice_open.get(oid)
    if before is not None:
        _spend(ice_open, oid, qty)
    entry = book.orders.get(oid)
    if entry is None:
        return
    vis = entry[2]
    shown = vis - qty if before is None else min(vis, before - qty)
    if shown <= 0:
        book.remove(oid)
    elif shown < vis:
        book.modify(oid, shown)


def _lots(u: Units, text: str) -> int:
    """A signed quantity (an indicative surplus) in lots."""
    n = u.qty(text.lstrip("-")) if text.lstrip("-") != "0" else 0
    return -n if text.startswith("-") else n


def _modified(book: VisibleBook, oid: int, price: int, qty: int, reason: str | None,
              refill: int | None) -> None:
    """A `modified` event: `qty` is the order's whole open quantity now (docs/PROTOCOL.md)."""
    entry = book.orders.get(oid)
    ice_open = book.ice_open
    before = ice_open.get(oid)
    if oid in ice_open:
        ice_open[oid] = qty
    if entry is None:
        return  # not in the book: a taker's STP decrement, a waiting child's growth
    side, at, vis = entry
    if refill is not None:
        # An STP decrement used up the iceberg's slice: the next one joins the back.
        book.remove(oid)
        book.rest(oid, side, at, refill)
        return
    old = vis if before is None else before
    if price != at or qty > old:
        book.remove(oid)  # priority lost: its `rests` follows
    elif reason == "stp":
        book.modify(oid, vis - (old - qty))  # a decrement comes off the visible slice
    else:
        book.modify(oid, min(vis, qty))  # a user's lower qty: an iceberg's hidden part first
