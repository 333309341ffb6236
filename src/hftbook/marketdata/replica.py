"""Market-data consumers: books rebuilt from one channel, with gap detection and resync.

A replica follows one channel of one symbol (feed.py). It applies each message whose
sequence number is the next one; an older number is a duplicate and is ignored; a newer one
(or a heartbeat's, the last one published, above the replica's: a loss at the tail) is a
gap: the replica stops applying (`synced` is False), keeps the messages that arrive
(bounded by `max_buffer`), and waits for a snapshot. `on_snapshot` loads the snapshot's
state and sequence number, then applies the kept messages that follow it; if they do not
join up with it (the snapshot is older than the gap), it stays out of sync and waits for a
newer one. A consumer that joins late starts out of sync, the same way.

Invariants: while `synced`, the replica's state is the publisher's state as of `seq`
(property-tested: replicas fed with random losses converge to the engine's book); an
out-of-sync replica never applies a message, so it never shows a book with a hole in it.
"""

from __future__ import annotations

from typing import Any

from hftbook.core.types import BUY, SELL

Message = tuple[Any, ...]


class Replica:
    """The sequencing and resync logic; subclasses say how to apply and load."""

    channel = ""

    def __init__(self, symbol: str, max_buffer: int = 100_000, from_start: bool = False) -> None:
        self.symbol = symbol
        self.seq = 0  # the last sequence number applied (0: none yet)
        self.synced = from_start  # following from the first message: nothing to load
        self.gaps = 0  # how many times a gap was seen
        self.max_buffer = max_buffer
        self._kept: list[Message] = []

    def on_message(self, msg: Message) -> bool:
        """Apply one message of this channel and symbol; False while out of sync."""
        if msg[0] != self.channel or msg[1] != self.symbol:
            raise ValueError(f"a {msg[0]} message for {msg[1]} sent to the {self.channel} replica "
                             f"of {self.symbol}")
        seq = msg[2]
        if msg[4] == "heartbeat":
            # The last sequence number published: a loss at the tail shows only here.
            if self.synced and seq > self.seq:
                self.synced = False
                self.gaps += 1
            return self.synced
        if self.synced:
            if seq == self.seq + 1:
                self._apply(msg)
                self.seq = seq
                return True
            if seq <= self.seq:
                return True  # a duplicate
            self.synced = False
            self.gaps += 1
        if len(self._kept) >= self.max_buffer:
            del self._kept[0]
        self._kept.append(msg)
        return False

    def on_snapshot(self, snap: Message) -> bool:
        """Load a snapshot, then what was kept after it. Returns whether now in sync."""
        if snap[0] != self.channel or snap[1] != self.symbol:
            raise ValueError(f"a {snap[0]} snapshot of {snap[1]} for the {self.channel} replica of "
                             f"{self.symbol}")
        kept = [m for m in self._kept if m[2] > snap[2]]
        if kept and kept[0][2] != snap[2] + 1:
            self._kept = kept
            return False  # still a hole between the snapshot and what was kept
        self._load(snap)
        self.seq = snap[2]
        self.synced = True
        self._kept = []
        for m in kept:
            if m[2] != self.seq + 1:  # a hole inside what was kept
                self.synced = False
                self.gaps += 1
                self._kept = [k for k in kept if k[2] > self.seq]
                return False
            self._apply(m)
            self.seq = m[2]
        return True

    def _apply(self, msg: Message) -> None:
        raise NotImplementedError

    def _load(self, snap: Message) -> None:
        raise NotImplementedError


class L2Replica(Replica):
    """Price levels of one symbol from the `l2` channel."""

    channel = "l2"

    def __init__(self, symbol: str, max_buffer: int = 100_000, from_start: bool = False) -> None:
        super().__init__(symbol, max_buffer, from_start)
        self.sides: tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]] = ({}, {})

    def _apply(self, msg: Message) -> None:
        _, _, _, _, kind, side, price, qty, n, _last = msg
        if kind != "level":
            raise ValueError(f"unknown l2 message {kind!r}")
        if qty:
            self.sides[side][price] = (qty, n)
        else:
            self.sides[side].pop(price, None)

    def _load(self, snap: Message) -> None:
        bids, asks = snap[5], snap[6]
        self.sides = ({p: (q, n) for p, q, n in bids}, {p: (q, n) for p, q, n in asks})

    def depth(self, side: int) -> list[tuple[int, int, int]]:
        """Every level of a side, best first: (price, qty, orders)."""
        levels = self.sides[side]
        return [(p, *levels[p]) for p in sorted(levels, reverse=side == BUY)]


class L3Replica(Replica):
    """Every visible order of one symbol, in queue order, from the `l3` channel."""

    channel = "l3"

    def __init__(self, symbol: str, max_buffer: int = 100_000, from_start: bool = False) -> None:
        super().__init__(symbol, max_buffer, from_start)
        self.orders: dict[int, list[int]] = {}  # oid -> [side, price, qty]
        # (side, price) -> ordered set of oids in queue order
        self.queues: dict[tuple[int, int], dict[int, None]] = {}

    def _apply(self, msg: Message) -> None:
        kind = msg[4]
        if kind == "add":
            oid, side, price, qty = msg[5:9]
            if oid in self.orders:
                raise ValueError(f"l3 add of order {oid}, which is in the book")
            self.orders[oid] = [side, price, qty]
            self.queues.setdefault((side, price), {})[oid] = None
        elif kind == "exec":
            oid, qty = msg[5], msg[6]
            entry = self.orders[oid]
            entry[2] -= qty
            if entry[2] <= 0:
                self._drop(oid)
        elif kind == "modify":
            self.orders[msg[5]][2] = msg[6]
        elif kind == "delete":
            self._drop(msg[5])
        else:
            raise ValueError(f"unknown l3 message {kind!r}")

    def _drop(self, oid: int) -> None:
        side, price, _ = self.orders.pop(oid)
        q = self.queues[(side, price)]
        del q[oid]
        if not q:
            del self.queues[(side, price)]

    def _load(self, snap: Message) -> None:
        self.orders = {}
        self.queues = {}
        for side, levels in ((BUY, snap[5]), (SELL, snap[6])):
            for price, queue in levels:
                self.queues[(side, price)] = dict.fromkeys(oid for oid, _ in queue)
                for oid, qty in queue:
                    self.orders[oid] = [side, price, qty]

    def queue(self, side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        """Every level of a side, best first, orders in queue order: (price, [(oid, qty)])."""
        prices = sorted((p for s, p in self.queues if s == side), reverse=side == BUY)
        return [(p, [(oid, self.orders[oid][2]) for oid in self.queues[(side, p)]]) for p in prices]

    def depth(self, side: int) -> list[tuple[int, int, int]]:
        """Levels derived from the orders, best first: (price, qty, orders)."""
        return [(p, sum(q for _, q in queue), len(queue)) for p, queue in self.queue(side)]


class L1Replica(Replica):
    """The top of book from the `l1` channel: each quote is whole, so a gap is counted but
    the next quote still applies (it does not depend on the one lost)."""

    channel = "l1"

    def __init__(self, symbol: str, max_buffer: int = 100_000, from_start: bool = False) -> None:
        super().__init__(symbol, max_buffer, from_start)
        self.quote: tuple[int | None, int, int | None, int] = (None, 0, None, 0)

    def on_message(self, msg: Message) -> bool:
        if msg[0] != self.channel or msg[1] != self.symbol:
            raise ValueError(f"a {msg[0]} message for {msg[1]} sent to the l1 replica of {self.symbol}")
        if msg[2] <= self.seq or msg[4] == "heartbeat":
            return True
        if msg[2] != self.seq + 1 and self.seq:
            self.gaps += 1
        self._apply(msg)
        self.seq = msg[2]
        self.synced = True
        return True

    def _apply(self, msg: Message) -> None:
        self.quote = (msg[5], msg[6], msg[7], msg[8])

    def _load(self, snap: Message) -> None:
        self._apply(snap)
