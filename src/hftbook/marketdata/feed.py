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

Messages are tuples `(channel, symbol, seq, ts, kind, *fields)` (see messages.py); prices in
ticks, quantities in lots. A *batch* is one call of `on_raw` or `on_events`: one command's
events for the exact L2/L1 view after every command, or more (conflation). `snapshot`
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

from hftbook.core.types import (
    BUY,
    EV_ACCEPTED,
    EV_ACTIVATED,
    EV_CANCELLED,
    EV_MODIFIED,
    EV_RESTED,
    EV_STATE,
    EV_TRADE,
    SELL,
)
from hftbook.marketdata.book import VisibleBook

CHANNELS = ("l1", "l2", "l3", "trades")
_SIDES = {"buy": BUY, "sell": SELL}


class Units:
    """Decimal <-> integer units of one symbol: prices in ticks, quantities in lots."""

    __slots__ = ("lot", "tick")

    def __init__(self, tick: Decimal | str, lot: Decimal | str) -> None:
        self.tick = Decimal(tick)
        self.lot = Decimal(lot)

    def price(self, text: str) -> int:
        return _whole(Decimal(text) / self.tick, text, "tick")

    def qty(self, text: str) -> int:
        return _whole(Decimal(text) / self.lot, text, "lot")


def _whole(x: Decimal, text: str, unit: str) -> int:
    n = int(x)
    if n != x:
        raise ValueError(f"{text} is not a whole number of {unit}s")
    return n


class _Symbol:
    __slots__ = ("book", "quote", "seq")

    def __init__(self, symbol: str, with_l3: bool) -> None:
        self.book = VisibleBook(symbol, with_l3)
        self.seq = [0, 0, 0, 0]  # last published per channel, in CHANNELS order
        self.quote: tuple[int | None, int, int | None, int] = (None, 0, None, 0)


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
        engine), publishing nothing: consumers start from a snapshot."""
        self.ts = exchange.now
        for symbol, ebook in exchange.books.items():
            s = self._sym(symbol)
            book = s.book
            if book.orders:
                raise ValueError(f"load: the feed has a book for {symbol} already")
            for o in ebook.live_orders():
                book.rest(o.oid, o.side, o.price, o.qty)
                if o.ice is not None:
                    book.ice_open[o.oid] = o.qty + o.ice.reserve
            book.l3.clear()
            book.take_touched(BUY)
            book.take_touched(SELL)
            b, a = book.best(BUY), book.best(SELL)
            s.quote = (None if b is None else b[0], 0 if b is None else b[1],
                       None if a is None else a[0], 0 if a is None else a[1])
        self._dirty.clear()

    def on_raw(self, events: list[tuple[Any, ...]], ts: int) -> None:
        """One batch of the engine's raw event tuples (see `core.types.EV_*`)."""
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
                s.book.rest(o.oid, o.side, o.price, e[2])
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
            elif kind == EV_STATE and self.tape:
                self._publish(self._sym(e[2]), 3, ts, ("status", e[1], e[3]))
        if dirty:
            self._end_batch(ts)

    def on_events(self, events: Iterable[Mapping[str, Any]], units: Mapping[str, Units]) -> None:
        """One batch of contract event dicts (replay's output, parsed); `units` converts each
        symbol's decimal strings. Events without a book effect are skipped."""
        ts = self.ts
        for ev in events:
            ts = ev.get("ts", ts)
            kind = ev["type"]
            sym: str = ev.get("symbol", "")
            if kind == "trade":
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
                _modified(self._sym(sym).book, ev["order_id"], 0 if price is None else u.price(price),
                          u.qty(ev["qty"]), ev.get("reason"), None if refill is None else u.qty(refill))
            elif kind == "activated":
                book = self._sym(sym).book
                if ev["order_id"] in book.ice_open:
                    book.ice_open[ev["order_id"]] = units[sym].qty(ev["qty"])
            elif kind in ("halted", "resumed") and self.tape:
                self._publish(self._sym(sym), 3, ts, ("status", kind, ev.get("reason")))
            rests = ev.get("rests")
            if rests:
                book = self._sym(sym).book
                u = units[sym]
                for r in rests:
                    book.rest(r["order_id"], _SIDES[r["side"]], u.price(r["price"]), u.qty(r["qty"]))
        if self._dirty:
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
        s = self._sym(symbol)
        book = s.book
        if channel == "l1":
            return ("l1", symbol, s.seq[0], self.ts, "quote", *s.quote)
        if channel == "l2":
            bids, asks = book.depth(BUY, depth), book.depth(SELL, depth)
            return ("l2", symbol, s.seq[1], self.ts, "snapshot", bids, asks)
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
        """Publish what the batch did to each symbol's book: L3 in order, then the changed
        levels (L2, bids then asks, first touched first), then the top of book if it moved
        (L1)."""
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
            if self.l2:
                seq = s.seq
                n = seq[1]
                last = n + len(tb) + len(ta)
                for side, touched, sign in ((BUY, tb, 1), (SELL, ta, -1)):
                    levels = book.levels[side]
                    for k in touched:
                        lv = levels.get(k)
                        n += 1
                        qty, count = (0, 0) if lv is None else (lv[0], len(lv[1]))
                        out.append(("l2", sym, n, ts, "level", side, sign * k, qty, count, n == last))
                seq[1] = n
            tb.clear()
            ta.clear()
            if self.l1:
                kb, ka = book.keys
                if kb:
                    k = kb[-1]
                    bid: int | None = k
                    bq = book.levels[BUY][k][0]
                else:
                    bid, bq = None, 0
                if ka:
                    k = ka[-1]
                    ask: int | None = -k
                    aq = book.levels[SELL][k][0]
                else:
                    ask, aq = None, 0
                quote = (bid, bq, ask, aq)
                if quote != s.quote:
                    s.quote = quote
                    self._publish(s, 0, ts, ("quote", bid, bq, ask, aq))
        self._dirty.clear()


def _spend(ice_open: dict[int, int], oid: int, qty: int) -> None:
    left = ice_open.get(oid)
    if left is not None:
        if left > qty:
            ice_open[oid] = left - qty
        else:
            del ice_open[oid]


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
