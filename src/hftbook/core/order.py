"""Orders and price levels: the objects the book is made of.

Invariants: an order is live exactly while `qty > 0` (open quantity in lots); every path that
takes an order out of the book sets `qty = 0`. A level's FIFO is an intrusive doubly linked
list (`first`/`last` on the level, `prev`/`nxt` on the orders) holding exactly its live orders,
so a cancel anywhere in the queue is O(1) with no dead entries, no compaction and no latency
spike from freeing them in bulk; an order's links are cleared when it leaves, so no reference
cycle outlives it. A level's `qty` and `count` are the sums over its orders.

An iceberg is one order whose `qty` is its visible slice (what the book shows and matches)
and whose `ice.reserve` is the hidden rest; its open quantity is `qty + ice.reserve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal


class Level:
    """One price on one side: a FIFO of live orders plus their running totals."""

    __slots__ = ("count", "first", "key", "keys", "last", "levels", "price", "qty")

    def __init__(self, price: int, key: int, levels: dict[int, Level], keys: list[int]) -> None:
        self.price = price
        self.key = key  # price on the bid side, -price on the ask side
        self.qty = 0
        self.count = 0
        self.first: Order | None = None  # front of the queue: matched next
        self.last: Order | None = None
        # The side's containers, so a level can leave its side without a book lookup.
        self.levels = levels
        self.keys = keys

    def __iter__(self) -> Iterator[Order]:
        """The orders in queue order (cold paths only; matching walks the links itself)."""
        o = self.first
        while o is not None:
            yield o
            o = o.nxt


class Order:
    """A live or finished order. Prices in ticks, quantities in lots, ids as given."""

    __slots__ = (
        "cid",
        "expire_ts",
        "ice",
        "level",
        "nxt",
        "oid",
        "post_only",
        "prev",
        "price",
        "qty",
        "side",
        "stop",
        "stp",
        "symbol",
        "tif",
        "user",
    )

    def __init__(
        self,
        oid: int,
        user: str,
        cid: str | int,
        symbol: str,
        side: int,
        price: int,
        qty: int,
        tif: int,
        expire_ts: int,
        post_only: bool,
        stp: int,
    ) -> None:
        self.oid = oid
        self.user = user
        self.cid = cid
        self.symbol = symbol
        self.side = side
        self.price = price  # 0 for a market order
        self.qty = qty  # open quantity; 0 once the order is finished
        self.tif = tif
        self.expire_ts = expire_ts
        self.post_only = post_only
        self.stp = stp
        self.level: Level | None = None
        self.prev: Order | None = None
        self.nxt: Order | None = None
        self.stop: StopSpec | None = None  # set while the order is a waiting stop
        self.ice: IceSpec | None = None  # set for an iceberg: `qty` is then its visible slice


class StopSpec:
    """What a waiting stop needs beyond an order: its kind, trigger and what it becomes.

    `level` is the current trigger level in ticks (None while a trailing stop has no reference
    price yet); `ref` is a trailing stop's peak (sell) or trough (buy). Amounts in ticks.
    """

    __slots__ = ("fired", "kind", "level", "limit", "offset", "pct", "ref", "trail")

    def __init__(self, kind: int, level: int | None, limit: int, trail: int, pct: Decimal | None,
                 offset: int) -> None:
        self.kind = kind
        self.level = level
        self.limit = limit  # stop_limit: the limit price it becomes
        self.trail = trail  # trailing by amount (0 when by percent)
        self.pct = pct  # trailing by percent
        self.offset = offset  # trailing_stop_limit: limit = level -/+ offset
        self.ref: int | None = None
        self.fired = 0  # the level it triggered at


_MASK64 = (1 << 64) - 1


class IceSpec:
    """An iceberg's hidden part: slice size, optional variance, reserve and generator state.

    All quantities in lots. `rng` is a SplitMix64 state seeded with the order id, so refill
    sizes are a function of the input alone (docs/PROTOCOL.md, Icebergs).
    """

    __slots__ = ("display", "reserve", "rng", "variance")

    def __init__(self, display: int, variance: int, oid: int) -> None:
        self.display = display
        self.variance = variance
        self.reserve = 0  # hidden lots behind the visible slice
        self.rng = oid

    def next_slice(self) -> int:
        """The size of the next visible slice, taken out of the reserve (which must be > 0)."""
        size = self.display
        v = self.variance
        if v:
            s = self.rng = (self.rng + 0x9E3779B97F4A7C15) & _MASK64
            z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
            z ^= z >> 31
            size += z % (2 * v + 1) - v
        reserve = self.reserve
        if size > reserve:
            size = reserve
        self.reserve = reserve - size
        return size


def open_qty(o: Order) -> int:
    """Visible plus hidden: what a cancel reports as `remaining`."""
    ice = o.ice
    return o.qty if ice is None else o.qty + ice.reserve
