"""Seeded order-flow generators: realistic message streams for the engine's integer door.

A message is a flat tuple, ready for `Exchange.submit` / `cancel` / `modify`:

    ("new", user, cid, symbol, side, otype, price_ticks, qty_lots, tif, expire_ts, post_only, stp)
    ("cancel", user, cid)
    ("modify", user, cid, price_ticks_or_None, qty_lots_or_None)

The flow is shaped like lit equity order flow: each symbol has a fair price that follows a
geometric Brownian motion (in ticks); passive orders are placed at a power-law distance from
the touch; resting orders are cancelled at a rate proportional to the book's size, so most
orders end cancelled; takers send IOC limits (about 15% of new orders), a few market and FOK
orders, leaning towards the side the fair price has moved to; about a fifth of the messages
are modifies (size reductions keep priority, reprices and size increases lose it).

Invariants: a generator is a pure function of its seed (one `random.Random`, no clock, no
hash-ordered iteration). It keeps a shadow book with the engine's price-time rules, so it knows
which orders are live: every cancel or modify targets a live order, except a deliberate
`miss_rate` share aimed at orders that have just ended ("too late to cancel"), which the engine
rejects as `unknown_order`. Self-trade prevention is always off (`STP_NONE`), which is what
makes the shadow book's matching identical to the engine's. Passive orders and modifies never
cross the spread, so they always rest.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from hftbook.core.exchange import Exchange
from hftbook.core.types import BUY, DAY, FOK, GTC, IOC, LIMIT, MARKET, SELL, STP_NONE

NEW: Final = "new"
CANCEL: Final = "cancel"
MODIFY: Final = "modify"

Message = tuple[Any, ...]
Instrument = tuple[str, Decimal, Decimal]  # symbol, tick size, lot size

SCENARIOS: Final = ("normal", "deep", "crash", "cancel_storm", "multi_symbol", "mixed")

_CENT: Final = Decimal("0.01")
_ONE: Final = Decimal("1")


# -- the shadow book ---------------------------------------------------------------------


class _Ord:
    """The generator's view of one order. Live while `qty > 0`."""

    __slots__ = ("cid", "pinned", "pos", "price", "qty", "side", "user")

    def __init__(self, user: str, cid: int, side: int, price: int, qty: int, pinned: bool) -> None:
        self.user = user
        self.cid = cid
        self.side = side
        self.price = price
        self.qty = qty
        self.pinned = pinned  # never picked for a cancel or modify (a standing ladder)
        self.pos = -1  # index in the market's cancel pool, -1 when not in it


class _Level:
    __slots__ = ("count", "orders", "qty")

    def __init__(self) -> None:
        self.orders: deque[_Ord] = deque()
        self.qty = 0
        self.count = 0


class _Market:
    """One symbol: its fair price process and a shadow of the engine's book.

    Keys follow the engine: a bid level's key is its price, an ask level's is -price, and the
    best level of a side is the last of its sorted key list.
    """

    def __init__(self, symbol: str, mid: float, sigma: float, target: int) -> None:
        self.symbol = symbol
        self.log_mid = math.log(mid)
        self.sigma = sigma
        self.target = target  # resting orders the cancel rate steers towards
        self.levels: tuple[dict[int, _Level], dict[int, _Level]] = ({}, {})
        self.keys: tuple[list[int], list[int]] = ([], [])
        self.pool: list[_Ord] = []  # live, unpinned orders: the cancel and modify targets
        self.resting = 0
        self.last_trade = 0

    # fair price -----------------------------------------------------------------------

    def fair(self) -> float:
        return math.exp(self.log_mid)

    def set_fair(self, ticks: float) -> None:
        self.log_mid = math.log(max(ticks, 2.0))

    def walk(self, rng: random.Random) -> None:
        s = self.sigma
        self.log_mid += s * rng.gauss(0.0, 1.0) - 0.5 * s * s

    # book queries ---------------------------------------------------------------------

    def best(self, side: int) -> int | None:
        keys = self.keys[side]
        if not keys:
            return None
        return keys[-1] if side == BUY else -keys[-1]

    def book_mid(self) -> float:
        b, a = self.best(BUY), self.best(SELL)
        if b is None or a is None:
            return self.fair()
        return (a + b) / 2.0

    def level_count(self) -> int:
        return len(self.keys[0]) + len(self.keys[1])

    def depth_qty(self, side: int, n_levels: int) -> int:
        """Total resting quantity on the best `n_levels` levels of one side."""
        keys, levels = self.keys[side], self.levels[side]
        return sum(levels[k].qty for k in keys[-n_levels:])

    # book changes ---------------------------------------------------------------------

    def rest(self, o: _Ord) -> None:
        side = o.side
        key = o.price if side == BUY else -o.price
        levels = self.levels[side]
        level = levels.get(key)
        if level is None:
            level = levels[key] = _Level()
            insort(self.keys[side], key)
        level.orders.append(o)
        level.qty += o.qty
        level.count += 1
        self.resting += 1
        if not o.pinned:
            o.pos = len(self.pool)
            self.pool.append(o)

    def unlink(self, o: _Ord) -> None:
        """Take a live order out (cancel, or the old copy of a requeued modify)."""
        side = o.side
        key = o.price if side == BUY else -o.price
        level = self.levels[side][key]
        level.qty -= o.qty
        level.count -= 1
        o.qty = 0
        self.resting -= 1
        if not level.count:
            self._drop(side, key)
        elif len(level.orders) > 2 * level.count + 16:
            level.orders = deque(x for x in level.orders if x.qty)
        self._unpool(o)

    def reduce(self, o: _Ord, qty: int) -> None:
        side = o.side
        level = self.levels[side][o.price if side == BUY else -o.price]
        level.qty -= o.qty - qty
        o.qty = qty

    def _drop(self, side: int, key: int) -> None:
        keys = self.keys[side]
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]
        del self.levels[side][key]

    def _unpool(self, o: _Ord) -> None:
        i = o.pos
        if i < 0:
            return
        pool = self.pool
        last = pool.pop()
        if last is not o:
            pool[i] = last
            last.pos = i
        o.pos = -1

    def match(self, side: int, limit: int | None, qty: int, ended: deque[tuple[str, int]]) -> int:
        """Trade an incoming order against the other side, as the engine would (STP off).

        `limit` None is a market order. Fully filled makers are appended to `ended`.
        Returns the unfilled quantity.
        """
        other = 1 - side
        keys, levels = self.keys[other], self.levels[other]
        lim_key = -(1 << 64) if limit is None else (-limit if side == BUY else limit)
        while qty and keys:
            k = keys[-1]
            if k < lim_key:
                break
            level = levels[k]
            q = level.orders
            while qty and level.count:
                m = q[0]
                mq = m.qty
                if not mq:
                    q.popleft()
                    continue
                self.last_trade = k if other == BUY else -k
                if mq <= qty:
                    q.popleft()
                    qty -= mq
                    level.qty -= mq
                    level.count -= 1
                    m.qty = 0
                    self.resting -= 1
                    self._unpool(m)
                    ended.append((m.user, m.cid))
                else:
                    m.qty = mq - qty
                    level.qty -= qty
                    qty = 0
            if not level.count:
                keys.pop()
                del levels[k]
        return qty

    def fillable(self, side: int, limit: int, qty: int) -> bool:
        """The FOK dry run: would trades alone fill `qty` within `limit`?"""
        other = 1 - side
        keys, levels = self.keys[other], self.levels[other]
        lim_key = -limit if side == BUY else limit
        for k in reversed(keys):
            if k < lim_key:
                return False
            qty -= levels[k].qty
            if qty <= 0:
                return True
        return False


# -- the flow ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowConfig:
    """The shape of a flow. Weights are relative message rates; shares are of new orders."""

    w_new: float = 0.45
    w_modify: float = 0.20
    w_cancel: float = 0.35  # at the target book size; scales with the book's size
    p_market: float = 0.015
    p_ioc: float = 0.15
    p_fok: float = 0.005
    p_day: float = 0.2  # passive orders sent as DAY instead of GTC
    p_post_only: float = 0.1
    depth_alpha: float = 1.5  # power-law tail of the distance from the touch
    depth_scale: float = 2.0  # ticks
    max_depth: int = 100  # ticks from the touch a passive order may be placed
    flat_depth: bool = False  # place uniformly-ish over max_depth (a deep, flat book)
    target: int = 4000  # resting orders per symbol the cancel rate steers towards
    sigma: float = 5e-6  # per-event volatility of the fair price's log
    miss_rate: float = 0.01  # cancels and modifies aimed at an order that has just ended
    p_ioc_short: float = 0.6  # IOCs priced one tick short of the touch (pinging): no fill
    cancel_choice: int = 2  # cancel the most exposed of this many random resting orders
    odd_lot: float = 0.1  # share of orders below 100 lots
    makers: int = 20
    takers: int = 30


class Flow:
    """An endless, seeded message stream over one or more symbols."""

    def __init__(
        self,
        seed: int,
        symbols: Sequence[tuple[str, float]] = (("AAPL", 10_000.0),),
        config: FlowConfig | None = None,
        weights: Sequence[float] | None = None,
    ) -> None:
        cfg = config if config is not None else FlowConfig()
        self.config = cfg
        self.rng = random.Random(seed)
        self.markets = [_Market(sym, mid, cfg.sigma, cfg.target) for sym, mid in symbols]
        w = list(weights) if weights is not None else [1.0] * len(self.markets)
        total = 0.0
        self.cum_weights: list[float] = []
        for x in w:
            total += x
            self.cum_weights.append(total)
        self.makers = [f"mm{i:02d}" for i in range(cfg.makers)]
        self.takers = [f"tk{i:02d}" for i in range(cfg.takers)]
        self.next_cid = 1
        self.ended: deque[tuple[str, int]] = deque(maxlen=256)  # recently ended (user, cid)

    # public ---------------------------------------------------------------------------

    def take(self, n: int) -> list[Message]:
        """The next `n` messages of the flow."""
        step = self.step
        return [step() for _ in range(n)]

    def seed_book(self, per_market: int) -> list[Message]:
        """Passive orders only, spread as the flow spreads them: a book to start from."""
        msgs: list[Message] = []
        rng = self.rng
        for mk in self.markets:
            for i in range(per_market):
                msgs.append(self._passive(mk, BUY if i % 2 == 0 else SELL))
                if i % 8 == 0:
                    mk.walk(rng)
        return msgs

    def step(self) -> Message:
        rng = self.rng
        cfg = self.config
        markets = self.markets
        if len(markets) == 1:
            mk = markets[0]
        else:
            i = bisect_left(self.cum_weights, rng.random() * self.cum_weights[-1])
            mk = markets[min(i, len(markets) - 1)]
        mk.walk(rng)
        w_cancel = cfg.w_cancel * len(mk.pool) / mk.target if mk.target else 0.0
        u = rng.random() * (cfg.w_new + cfg.w_modify + w_cancel)
        if u < cfg.w_new or not mk.pool:
            return self._new(mk)
        if rng.random() < cfg.miss_rate and self.ended:
            user, cid = self.ended[rng.randrange(len(self.ended))]
            return (CANCEL, user, cid) if u >= cfg.w_new + cfg.w_modify else (MODIFY, user, cid, None, 1)
        if u < cfg.w_new + cfg.w_modify:
            return self._modify(mk)
        return self._cancel(mk, self._exposed(mk))

    def ladder(
        self, index: int, side: int, first: int, last: int, per_level: int, qty: int
    ) -> list[Message]:
        """A standing ladder: `per_level` orders at every tick from `first` to `last` ticks away
        from the fair price on one side. Ladder orders are never cancelled by the flow."""
        mk = self.markets[index]
        center = int(mk.fair())
        user = self.makers[0]
        msgs: list[Message] = []
        for off in range(first, last + 1):
            price = center - off if side == BUY else center + off
            if price <= 0:
                break
            for _ in range(per_level):
                msgs.append(self._rest(mk, user, side, price, qty, GTC, False, pinned=True))
        return msgs

    def sweep(self, index: int, side: int, ticks: int) -> Message:
        """A market order sized to walk about `ticks` levels deep into the other side."""
        mk = self.markets[index]
        depth = mk.depth_qty(1 - side, ticks)
        qty = max(1, depth - 1)
        user = self.takers[self.rng.randrange(len(self.takers))]
        msg = self._taker(mk, user, side, MARKET, 0, qty, GTC)
        mk.set_fair(mk.last_trade or mk.fair())
        return msg

    def storm(self, index: int, share: float) -> list[Message]:
        """Cancels of a random `share` of the symbol's cancellable orders, back to back."""
        mk = self.markets[index]
        rng = self.rng
        n = int(len(mk.pool) * share)
        return [self._cancel(mk, mk.pool[rng.randrange(len(mk.pool))]) for _ in range(n)]

    def live_orders(self) -> dict[tuple[str, int], tuple[str, int, int, int]]:
        """What the generator believes rests: (user, cid) -> (symbol, side, price, qty)."""
        live: dict[tuple[str, int], tuple[str, int, int, int]] = {}
        for mk in self.markets:
            for side in (BUY, SELL):
                for level in mk.levels[side].values():
                    for o in level.orders:
                        if o.qty:
                            live[(o.user, o.cid)] = (mk.symbol, o.side, o.price, o.qty)
        return live

    # order generation -----------------------------------------------------------------

    def _cid(self) -> int:
        cid = self.next_cid
        self.next_cid = cid + 1
        return cid

    def _qty(self) -> int:
        """A resting order's size: round lots with a heavy tail, some odd lots."""
        rng = self.rng
        if rng.random() < self.config.odd_lot:
            return rng.randint(1, 99)
        return 100 * min(50, int(rng.paretovariate(1.3)))

    def _taker_qty(self) -> int:
        """A taker's size: smaller than resting sizes, lighter tail."""
        rng = self.rng
        if rng.random() < 0.3:
            return rng.randint(1, 99)
        return 100 * min(20, int(rng.paretovariate(2.5)))

    def _offset(self) -> int:
        cfg = self.config
        rng = self.rng
        if cfg.flat_depth:
            return int(cfg.max_depth * rng.random() ** 1.3)
        d = int(cfg.depth_scale * (rng.paretovariate(cfg.depth_alpha) - 1.0))
        return d if d < cfg.max_depth else rng.randrange(cfg.max_depth)

    def _new(self, mk: _Market) -> Message:
        cfg = self.config
        r = self.rng.random()
        if r < cfg.p_market:
            return self._market_order(mk)
        r -= cfg.p_market
        if r < cfg.p_ioc:
            return self._marketable(mk, IOC)
        r -= cfg.p_ioc
        if r < cfg.p_fok:
            return self._marketable(mk, FOK)
        return self._passive(mk, BUY if self.rng.random() < 0.5 else SELL)

    def _passive(self, mk: _Market, side: int) -> Message:
        rng = self.rng
        cfg = self.config
        fair = mk.fair()
        d = self._offset()
        if side == BUY:
            price = math.floor(fair) - d
            ask = mk.best(SELL)
            if ask is not None and price >= ask:
                price = ask - 1
        else:
            price = math.floor(fair) + 1 + d
            bid = mk.best(BUY)
            if bid is not None and price <= bid:
                price = bid + 1
        if price <= 0:  # the fair price is within `d` ticks of zero: quote the other side
            side = SELL
            bid = mk.best(BUY)
            price = max(math.floor(fair) + 1 + d, 1 if bid is None else bid + 1)
        tif = DAY if rng.random() < cfg.p_day else GTC
        post_only = rng.random() < cfg.p_post_only
        user = self.makers[rng.randrange(len(self.makers))]
        return self._rest(mk, user, side, price, self._qty(), tif, post_only, pinned=False)

    def _rest(
        self, mk: _Market, user: str, side: int, price: int, qty: int, tif: int, post_only: bool,
        pinned: bool,
    ) -> Message:
        cid = self._cid()
        mk.rest(_Ord(user, cid, side, price, qty, pinned))
        return (NEW, user, cid, mk.symbol, side, LIMIT, price, qty, tif, 0, post_only, STP_NONE)

    def _taker_side(self, mk: _Market) -> int:
        lean = math.tanh((mk.fair() - mk.book_mid()) / 2.0)
        return BUY if self.rng.random() < 0.5 + 0.4 * lean else SELL

    def _market_order(self, mk: _Market) -> Message:
        side = self._taker_side(mk)
        if mk.best(1 - side) is None:
            side = 1 - side
            if mk.best(1 - side) is None:
                return self._passive(mk, side)
        user = self.takers[self.rng.randrange(len(self.takers))]
        return self._taker(mk, user, side, MARKET, 0, self._taker_qty(), GTC)

    def _marketable(self, mk: _Market, tif: int) -> Message:
        rng = self.rng
        side = self._taker_side(mk)
        touch = mk.best(1 - side)
        sign = 1 if side == BUY else -1
        if touch is None:
            own = mk.best(side)
            price = own if own is not None else math.floor(mk.fair()) + (0 if side == BUY else 1)
        else:
            r = rng.random()
            short = self.config.p_ioc_short
            if r < short:
                price = touch - sign  # one tick short: pinging for liquidity, or it just left
            elif r < short + (1.0 - short) * 0.75:
                price = touch
            else:
                price = touch + sign * rng.randint(1, 3)
        price = max(1, price)
        user = self.takers[rng.randrange(len(self.takers))]
        return self._taker(mk, user, side, LIMIT, price, self._taker_qty(), tif)

    def _taker(self, mk: _Market, user: str, side: int, otype: int, price: int, qty: int,
               tif: int) -> Message:
        cid = self._cid()
        limit = None if otype == MARKET else price
        if tif == FOK:
            assert limit is not None
            if mk.fillable(side, limit, qty):
                mk.match(side, limit, qty, self.ended)
        else:
            mk.match(side, limit, qty, self.ended)
        return (NEW, user, cid, mk.symbol, side, otype, price, qty, tif, 0, False, STP_NONE)

    def _exposed(self, mk: _Market) -> _Ord:
        """The most exposed (nearest the fair price, or past it) of a few random resting
        orders: makers pull quotes the price is moving towards before they are hit."""
        rng = self.rng
        pool = mk.pool
        fair = mk.fair()
        best = pool[rng.randrange(len(pool))]
        risk = best.price - fair if best.side == BUY else fair - best.price
        for _ in range(self.config.cancel_choice - 1):
            o = pool[rng.randrange(len(pool))]
            r = o.price - fair if o.side == BUY else fair - o.price
            if r > risk:
                best, risk = o, r
        return best

    def _cancel(self, mk: _Market, o: _Ord) -> Message:
        mk.unlink(o)
        self.ended.append((o.user, o.cid))
        return (CANCEL, o.user, o.cid)

    def _modify(self, mk: _Market) -> Message:
        rng = self.rng
        o = mk.pool[rng.randrange(len(mk.pool))]
        r = rng.random()
        if r < 0.45 and o.qty > 1:
            qty = o.qty - max(1, int(o.qty * rng.random() * 0.8))
            mk.reduce(o, qty)
            return (MODIFY, o.user, o.cid, None, qty)
        price = o.price
        qty = o.qty
        if r < 0.9:
            # Reprice a few ticks, towards the fair price more often than away from it.
            toward = 1 if (o.side == BUY) == (mk.fair() > price) else -1
            step = rng.randint(1, 3) * (toward if rng.random() < 0.7 else -toward)
            price = o.price + (step if o.side == BUY else -step)
            other = mk.best(1 - o.side)
            if other is not None:
                price = min(price, other - 1) if o.side == BUY else max(price, other + 1)
            price = max(1, price)
        if price == o.price:
            qty = o.qty + 100 * rng.randint(1, 3)  # a size increase loses priority too
        msg = (MODIFY, o.user, o.cid, None if price == o.price else price, None if qty == o.qty else qty)
        mk.unlink(o)
        mk.rest(_Ord(o.user, o.cid, o.side, price, qty, False))
        return msg


# -- scenarios -----------------------------------------------------------------------------


@dataclass
class Scenario:
    """A named workload: instruments, a book-building warmup, and the measured messages."""

    name: str
    description: str
    instruments: list[Instrument]
    warmup: list[Message]
    messages: list[Message]

    def new_exchange(self) -> Exchange:
        """A fresh exchange with this scenario's instruments defined (nothing applied)."""
        return new_exchange(self.instruments)


_MULTI: Final = (
    ("AAPL", 19_000.0), ("MSFT", 41_000.0), ("NVDA", 12_000.0), ("AMZN", 18_500.0),
    ("GOOG", 17_000.0), ("META", 50_000.0), ("TSLA", 25_000.0), ("SPY", 55_000.0),
)


def scenario(name: str, n: int, seed: int) -> Scenario:
    """Build scenario `name` with `n` measured messages (about `n`: bursts are not split)."""
    if name == "normal":
        flow = Flow(seed)
        warm = flow.seed_book(flow.config.target)
        return _single(name, "realistic single-symbol flow: GBM mid, power-law depth, "
                       "~90% cancelled, ~15% IOC, ~20% modifies", flow, warm, flow.take(n))
    if name == "deep":
        cfg = FlowConfig(target=20_000, max_depth=30, flat_depth=True, sigma=1e-7)
        flow = Flow(seed, config=cfg)
        warm = flow.seed_book(cfg.target)
        return _single(name, "the same flow on a deep book: ~20,000 resting orders over ~60 levels",
                       flow, warm, flow.take(n))
    if name == "crash":
        return _crash(n, seed)
    if name == "cancel_storm":
        return _cancel_storm(n, seed)
    if name == "multi_symbol":
        cfg = FlowConfig(target=1500)
        weights = [1.0 / (i + 1) for i in range(len(_MULTI))]
        flow = Flow(seed, _MULTI, cfg, weights)
        warm = flow.seed_book(cfg.target)
        return Scenario(name, f"{len(_MULTI)} symbols, Zipf-weighted activity, realistic flow each",
                        [(sym, _CENT, _ONE) for sym, _ in _MULTI], warm, flow.take(n))
    if name == "mixed":
        cfg = FlowConfig(w_new=0.55, w_modify=0.0, w_cancel=0.45, p_market=0.1, p_ioc=0.0,
                         p_fok=0.0, p_day=0.0, p_post_only=0.0, target=2000, miss_rate=0.0)
        flow = Flow(seed, config=cfg)
        warm = flow.seed_book(cfg.target)
        return _single(name, "plain mix: GTC limit adds, cancels, ~5% market orders",
                       flow, warm, flow.take(n))
    raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")


def _single(name: str, description: str, flow: Flow, warm: list[Message],
            msgs: list[Message]) -> Scenario:
    sym = flow.markets[0].symbol
    return Scenario(name, description, [(sym, _CENT, _ONE)], warm, msgs)


def _crash(n: int, seed: int) -> Scenario:
    """A thick bid ladder over 3,500 ticks, then market sells that walk ~1,200 ticks each."""
    flow = Flow(seed, (("AAPL", 50_000.0),), FlowConfig(target=3000))
    warm = flow.seed_book(3000)
    warm += flow.ladder(0, BUY, 40, 3600, 2, 300)
    warm += flow.ladder(0, SELL, 40, 400, 1, 300)
    msgs: list[Message] = []
    events = 3
    chunk = max(1, n // (events + 1))
    for _ in range(events):
        msgs += flow.take(chunk)
        msgs.append(flow.sweep(0, SELL, 1200))
        msgs += flow.take(5)
        msgs.append(flow.sweep(0, SELL, 40))  # the aftershock
    msgs += flow.take(max(0, n - len(msgs)))
    return Scenario("crash", "thick bid ladder over 3,500 ticks; 3 market sells walking "
                    "~1,200 ticks each amid realistic flow", [("AAPL", _CENT, _ONE)], warm, msgs)


def _cancel_storm(n: int, seed: int) -> Scenario:
    """A 10,000-order book; repeatedly 80% of it is pulled in a burst, then rebuilt."""
    cfg = FlowConfig(target=10_000, max_depth=60)
    flow = Flow(seed, config=cfg)
    warm = flow.seed_book(cfg.target)
    msgs: list[Message] = []
    while len(msgs) < n:
        msgs += flow.storm(0, 0.8)
        msgs += flow.take(min(10_000, max(0, n - len(msgs))))
    return _single("cancel_storm", "a 10,000-order book; bursts cancel 80% of it back to back, "
                   "then the flow rebuilds it", flow, warm, msgs[:n])


# -- running messages ----------------------------------------------------------------------


def new_exchange(instruments: Sequence[Instrument]) -> Exchange:
    """A fresh exchange with the given instruments defined."""
    ex = Exchange()
    for symbol, tick, lot in instruments:
        ex.add_instrument(symbol, tick, lot)
    return ex


def apply_message(ex: Exchange, msg: Message) -> int | bool:
    """Send one message tuple to the exchange's integer door; returns what the door returns."""
    op = msg[0]
    if op == NEW:
        return ex.submit(*msg[1:])
    if op == CANCEL:
        return ex.cancel(msg[1], msg[2])
    if op == MODIFY:
        return ex.modify(msg[1], msg[2], msg[3], msg[4])
    raise ValueError(f"unknown message {op!r}")


def run_batch(ex: Exchange, msgs: list[Message], clear_every: int = 1024) -> None:
    """Apply every message in order, as fast as the door allows; events are discarded
    (`ex.out` is cleared after every `clear_every` messages and at the end)."""
    submit = ex.submit
    cancel = ex.cancel
    modify = ex.modify
    out = ex.out
    for start in range(0, len(msgs), clear_every):
        for m in msgs[start:start + clear_every]:
            op = m[0]
            if op == NEW:
                _, user, cid, sym, side, otype, price, qty, tif, exp, post, stp = m
                submit(user, cid, sym, side, otype, price, qty, tif, exp, post, stp)
            elif op == CANCEL:
                cancel(m[1], m[2])
            else:
                modify(m[1], m[2], m[3], m[4])
        del out[:]


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


__all__ = [
    "CANCEL",
    "MODIFY",
    "NEW",
    "SCENARIOS",
    "Flow",
    "FlowConfig",
    "Message",
    "Scenario",
    "apply_message",
    "counts",
    "new_exchange",
    "run_batch",
    "scenario",
]
