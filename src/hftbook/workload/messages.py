"""The workload's message format: flat tuples for the engine's integer door.

A message is a flat tuple, ready for `Exchange.submit` / `cancel` / `modify`:

    ("new", user, cid, symbol, side, otype, price_ticks, qty_lots, tif, expire_ts, post_only, stp)
    ("cancel", user, cid)
    ("modify", user, cid, price_ticks_or_None, qty_lots_or_None)

Invariants: the first field is always one of `NEW`, `CANCEL`, `MODIFY`; the fields after it are
exactly the door method's positional arguments, in order, so a message is applied by unpacking
it (`hftbook.workload.runner`). Prices are integer ticks and quantities integer lots. An
`Instrument` is (symbol, tick size, lot size), as `Exchange.add_instrument` takes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from hftbook.core.types import FOK, IOC, MARKET

NEW: Final = "new"
CANCEL: Final = "cancel"
MODIFY: Final = "modify"

Message = tuple[Any, ...]
Instrument = tuple[str, Decimal, Decimal]  # symbol, tick size, lot size


def counts(msgs: Sequence[Message]) -> dict[str, int]:
    """Message mix: how many of each op, and of new orders by kind."""
    c = {"messages": len(msgs), NEW: 0, CANCEL: 0, MODIFY: 0, "ioc": 0, "fok": 0, "market": 0}
    for m in msgs:
        op = m[0]
        c[op] += 1
        if op == NEW:
            if m[5] == MARKET:
                c["market"] += 1
            elif m[8] == IOC:
                c["ioc"] += 1
            elif m[8] == FOK:
                c["fok"] += 1
    return c


__all__ = ["CANCEL", "MODIFY", "NEW", "Instrument", "Message", "counts"]
