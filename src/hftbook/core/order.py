"""Orders and price levels: the objects the book is made of.

Invariants: an order is live exactly while `qty > 0` (open quantity in lots); every path that
takes an order out of the book sets `qty = 0`, which is what lazy deletion relies on. A level's
`qty` and `count` are the sums over its live orders; its FIFO is a plain list read from index
`head`: entries before `head` are all dead, entries after it may be dead too (qty 0); dead
entries are skipped and dropped in bulk, never searched for. A list with a head index costs
56 bytes where a deque costs over 600, which matters for books spread over many levels.
"""

from __future__ import annotations


class Level:
    """One price on one side: a FIFO of orders plus running totals of the live ones."""

    __slots__ = ("count", "head", "key", "keys", "levels", "orders", "price", "qty")

    def __init__(self, price: int, key: int, levels: dict[int, Level], keys: list[int]) -> None:
        self.price = price
        self.key = key  # price on the bid side, -price on the ask side
        self.qty = 0
        self.count = 0
        self.orders: list[Order] = []
        self.head = 0
        # The side's containers, so a level can leave its side without a book lookup.
        self.levels = levels
        self.keys = keys


class Order:
    """A live or finished order. Prices in ticks, quantities in lots, ids as given."""

    __slots__ = (
        "cid",
        "expire_ts",
        "level",
        "oid",
        "post_only",
        "price",
        "qty",
        "side",
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

    def requeued(self, price: int, qty: int) -> Order:
        """A copy at a new price/qty for a modify that loses priority.

        The old object stays in its level's FIFO as a dead entry (lazy deletion), so the
        live order must be a different object.
        """
        return Order(
            self.oid,
            self.user,
            self.cid,
            self.symbol,
            self.side,
            price,
            qty,
            self.tif,
            self.expire_ts,
            self.post_only,
            self.stp,
        )
