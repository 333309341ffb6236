"""The seeded order-flow generator: `Flow`, shaped by a `FlowConfig`.

The flow is shaped like lit equity order flow: each symbol has a fair price that follows a
geometric Brownian motion (in ticks); passive orders are placed at a power-law distance from
the touch; resting orders are cancelled at a rate proportional to the book's size, so most
orders end cancelled; takers send IOC limits (about 15% of new orders), a few market and FOK
orders, leaning towards the side the fair price has moved to; about a fifth of the messages
are modifies (size reductions keep priority, reprices and size increases lose it).

Invariants: a flow is a pure function of its seed (one `random.Random`, no clock, no
hash-ordered iteration), so the same seed and the same calls give the same messages. It keeps a
shadow book (`hftbook.workload.shadow_book`) with the engine's price-time rules, updated by
every message it emits, so it knows which orders are live: every cancel or modify targets a
live order, except a deliberate `miss_rate` share aimed at orders that have just ended ("too
late to cancel"), which the engine rejects as `unknown_order`. Self-trade prevention is always
off (`STP_NONE`), which is what makes the shadow book's matching identical to the engine's.
Passive orders and modifies never cross the spread, so they always rest. Client order ids are
unique across the whole flow (one counter, from 1).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from hftbook.core.types import BUY, DAY, FOK, GTC, IOC, LIMIT, MARKET, SELL, STP_NONE
from hftbook.workload.messages import CANCEL, MODIFY, NEW, Message
from hftbook.workload.shadow_book import ShadowMarket, ShadowOrder


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
        self.markets = [ShadowMarket(sym, mid, cfg.sigma, cfg.target) for sym, mid in symbols]
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

    def _new(self, mk: ShadowMarket) -> Message:
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

    def _passive(self, mk: ShadowMarket, side: int) -> Message:
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
        self, mk: ShadowMarket, user: str, side: int, price: int, qty: int, tif: int, post_only: bool,
        pinned: bool,
    ) -> Message:
        cid = self._cid()
        mk.rest(ShadowOrder(user, cid, side, price, qty, pinned))
        return (NEW, user, cid, mk.symbol, side, LIMIT, price, qty, tif, 0, post_only, STP_NONE)

    def _taker_side(self, mk: ShadowMarket) -> int:
        lean = math.tanh((mk.fair() - mk.book_mid()) / 2.0)
        return BUY if self.rng.random() < 0.5 + 0.4 * lean else SELL

    def _market_order(self, mk: ShadowMarket) -> Message:
        side = self._taker_side(mk)
        if mk.best(1 - side) is None:
            side = 1 - side
            if mk.best(1 - side) is None:
                return self._passive(mk, side)
        user = self.takers[self.rng.randrange(len(self.takers))]
        return self._taker(mk, user, side, MARKET, 0, self._taker_qty(), GTC)

    def _marketable(self, mk: ShadowMarket, tif: int) -> Message:
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

    def _taker(self, mk: ShadowMarket, user: str, side: int, otype: int, price: int, qty: int,
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

    def _exposed(self, mk: ShadowMarket) -> ShadowOrder:
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

    def _cancel(self, mk: ShadowMarket, o: ShadowOrder) -> Message:
        mk.unlink(o)
        self.ended.append((o.user, o.cid))
        return (CANCEL, o.user, o.cid)

    def _modify(self, mk: ShadowMarket) -> Message:
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
        mk.rest(ShadowOrder(o.user, o.cid, o.side, price, qty, False))
        return msg


__all__ = ["Flow", "FlowConfig"]
