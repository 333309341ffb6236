"""The engine leaves no cyclic garbage, so a runtime may switch the cyclic GC off.

Orders are linked into their levels (prev/nxt) and point back at them (level); every path that
takes an order or a level out of the book must clear those links. If one forgets, freed orders
stay alive until the cyclic GC runs, and the runtime's GC policy (freeze, then collect rarely)
would leak. This drives a varied flow with the GC off and counts what the collector finds.
"""

import gc
import random
from decimal import Decimal

from hftbook.core.exchange import Exchange
from hftbook.core.types import (
    CANCEL_BOTH,
    CANCEL_MAKER,
    CANCEL_TAKER,
    DECREMENT,
    FOK,
    GTC,
    GTD,
    IOC,
    STP_NONE,
)


def _flow(ex: Exchange, n: int, seed: int) -> None:
    rng = random.Random(seed)
    live: list[tuple[str, int]] = []
    stps = (STP_NONE, CANCEL_TAKER, CANCEL_MAKER, CANCEL_BOTH, DECREMENT)
    for i in range(n):
        ex.advance(i)
        r = rng.random()
        user = f"u{rng.randrange(4)}"
        if r < 0.5 or not live:
            side = rng.randrange(2)
            price = 1000 + rng.randrange(-8, 9)
            tif = rng.choice((GTC, GTC, IOC, FOK, GTD))
            otype = 1 if rng.random() < 0.05 else 0
            if ex.submit(user, i, "A", side, otype, price, rng.randrange(1, 6), tif, i + 50, False,
                         rng.choice(stps)):
                live.append((user, i))
        elif r < 0.8:
            ex.cancel(*live.pop(rng.randrange(len(live))))
        else:
            u, c = live[rng.randrange(len(live))]
            ex.modify(u, c, 1000 + rng.randrange(-8, 9), rng.randrange(1, 6))
        if len(ex.out) > 512:
            ex.out.clear()
    ex.cancel_all("u0")
    ex.end_of_day()
    ex.out.clear()


def test_flow_leaves_no_cyclic_garbage() -> None:
    ex = Exchange()
    ex.add_instrument("A", Decimal("0.01"), Decimal("1"))
    gc.collect()
    gc.disable()
    try:
        _flow(ex, 20_000, seed=5)
        found = gc.collect()
    finally:
        gc.enable()
    # A handful of objects from the interpreter itself may turn up; a leak would be thousands.
    assert found < 50, f"{found} objects were only reclaimable by the cyclic GC"
