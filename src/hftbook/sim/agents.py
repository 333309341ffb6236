"""The simulated market's participants: agents that turn what they see into contract commands.

Three kinds, each a user of the exchange with its own `random.Random` (handed in by the
market, seeded from the simulation seed and the agent's rank, never from a clock):

- `MarketMaker`: quotes `levels` price levels on each side around the fair value, shifted
  against its inventory (long: quotes lower, to sell more and buy less); each step it may
  requote, moving each quote with one `modify` (or a `new` where the quote has been filled or
  cancelled). Beyond `max_position` it stops quoting the side that would add to it.
- `NoiseTaker`: now and then sends a market order or a limit IOC a few ticks through the
  opposite best, random side and size: flow that carries no information.
- `MomentumTrader`: compares the last trade price with the one `lookback` steps ago; after a
  move of at least `threshold` ticks it takes liquidity in the same direction (a limit IOC a
  few ticks through), then waits `cooldown` steps; it keeps its position within a bound.

Invariants: an agent's commands depend only on its parameters, its generator and the views
and events it was given, so a seed reproduces the market; every command is a valid contract
command for the symbol (prices positive tick multiples, quantities positive lot multiples,
client ids unique per agent, so the engine never answers `duplicate_id`); an agent's `live`
book of resting orders follows the events it is fed (`on_event`) and is iterated in id order,
never in hash order. Agents leave `ts` to the market, which stamps each command.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from hftbook.core.instrument import Instrument

Command = dict[str, Any]
BUY, SELL = 1, -1


@dataclass(slots=True)
class View:
    """What agents see at one point of a step (the market refreshes it between agents).

    Prices are ticks; `bid`/`ask` are None for an empty side, `last` is 0 before the first
    trade. `fair` is the latent fair value: only market makers are meant to read it."""

    step: int = 0
    fair: int = 0
    bid: int | None = None
    ask: int | None = None
    last: int = 0


class Agent:
    """The common part: identity, the instrument's units, the position, the live orders."""

    kind = "agent"

    def __init__(self, user: str, inst: Instrument, rng: random.Random) -> None:
        self.user = user
        self.inst = inst
        self.symbol = inst.symbol
        self.rng = rng
        self.position = 0  # lots, + long
        self.traded = 0  # lots bought or sold
        self.sent = 0  # commands sent
        self._next_id = 1
        # client id -> [side, price ticks, open lots] of the orders that may rest
        self.live: dict[int, list[int]] = {}

    def act(self, view: View) -> list[Command]:  # pragma: no cover - every agent overrides it
        raise NotImplementedError

    def new_id(self) -> int:
        cid = self._next_id
        self._next_id += 1
        return cid

    def order(self, side: int, qty: int, price: int | None, tif: str = "gtc", stp: str = "none") -> Command:
        """A `new` command: a limit order at `price` ticks, or a market order if None."""
        cmd: Command = {"cmd": "new", "user": self.user, "id": self.new_id(), "symbol": self.symbol,
                        "side": "buy" if side == BUY else "sell", "type": "limit" if price is not None
                        else "market", "qty": self.inst.qty_str(qty)}
        if price is not None:
            cmd["price"] = self.inst.price_str(price)
        if tif != "gtc":
            cmd["tif"] = tif
        if stp != "none":
            cmd["stp"] = stp
        self.sent += 1
        return cmd

    def on_event(self, ev: dict[str, Any]) -> None:
        """One event about this agent's orders (the market routes them by user)."""
        kind = ev["type"]
        if kind == "trade":
            lots = self.inst.qty_from_wire(ev["qty"])
            assert isinstance(lots, int) and lots is not True
            taker = ev["taker"]["user"] == self.user
            # Taker side is the event's `side`; a maker is on the other one (a self-trade
            # never prints: STP stops it before).
            side = BUY if (ev["side"] == "buy") == taker else SELL
            self.position += side * lots
            self.traded += lots
            cid = ev["taker"]["id"] if taker else ev["maker"]["id"]
            rec = self.live.get(cid)
            if rec is not None:
                rec[2] -= lots
                if rec[2] <= 0:
                    del self.live[cid]
        elif kind in ("cancelled", "rejected"):
            # A rejected modify or cancel means the order is gone too (`unknown_order`): the
            # agents send nothing else that could be refused.
            cid = ev.get("id")
            if isinstance(cid, int):
                self.live.pop(cid, None)
        elif kind == "modified":
            rec = self.live.get(ev["id"])
            if rec is not None:
                price = self.inst.price_from_wire(ev["price"])
                qty = self.inst.qty_from_wire(ev["qty"])
                assert isinstance(price, int) and isinstance(qty, int)
                rec[1], rec[2] = price, qty


class MarketMaker(Agent):
    """Quotes both sides around the fair value, leaning against its inventory."""

    kind = "market_maker"

    def __init__(self, user: str, inst: Instrument, rng: random.Random, *, half_spread: int = 2,
                 levels: int = 3, gap: int = 1, size: int = 20, requote: float = 0.5,
                 skew_lots: int = 50, max_position: int = 400) -> None:
        super().__init__(user, inst, rng)
        self.half_spread = half_spread  # ticks from the centre to the first quote
        self.levels = levels  # quotes per side
        self.gap = gap  # ticks between a side's quotes
        self.size = size  # lots per quote
        self.requote = requote  # chance to requote in a step
        self.skew_lots = skew_lots  # the centre moves one tick per this many lots of inventory
        self.max_position = max_position
        # (side, level) -> client id of the quote in that slot
        self.slots: dict[tuple[int, int], int] = {}

    def act(self, view: View) -> list[Command]:
        if self.rng.random() >= self.requote:
            return []
        lean = abs(self.position) // self.skew_lots if self.skew_lots else 0  # whole ticks, symmetric
        centre = view.fair - lean if self.position > 0 else view.fair + lean
        out: list[Command] = []
        # Move the side that the centre moved towards first, so a side never crosses our own
        # other side (stp cancel_taker is the safety net).
        old = self._old_centre()
        sides = (SELL, BUY) if old is None or centre >= old else (BUY, SELL)
        for side in sides:
            quoting = side * self.position < self.max_position  # no quote adding to a full position
            for k in range(self.levels):
                price = centre - side * (self.half_spread + k * self.gap)
                self._slot(side, k, price if quoting and price > 0 else None, out)
        return out

    def _old_centre(self) -> int | None:
        cid = self.slots.get((BUY, 0))
        rec = self.live.get(cid) if cid is not None else None
        return None if rec is None else rec[1] + self.half_spread

    def _slot(self, side: int, k: int, price: int | None, out: list[Command]) -> None:
        """The command (if any) that puts quote (side, k) at `price` (None: no quote)."""
        cid = self.slots.get((side, k))
        rec = self.live.get(cid) if cid is not None else None
        if rec is None or cid is None:
            if price is not None:
                cmd = self.order(side, self.size, price, stp="cancel_taker")
                self.slots[(side, k)] = cmd["id"]
                self.live[cmd["id"]] = [side, price, self.size]
                out.append(cmd)
        elif price is None:
            out.append({"cmd": "cancel", "user": self.user, "id": cid})
            self.sent += 1
        elif rec[1] != price or rec[2] * 2 < self.size:
            cmd = {"cmd": "modify", "user": self.user, "id": cid, "price": self.inst.price_str(price)}
            if rec[2] != self.size:
                cmd["qty"] = self.inst.qty_str(self.size)
            out.append(cmd)
            self.sent += 1


class NoiseTaker(Agent):
    """Random market orders and IOCs: uninformed liquidity taking."""

    kind = "noise"

    def __init__(self, user: str, inst: Instrument, rng: random.Random, *, rate: float = 0.1,
                 sizes: tuple[int, ...] = (1, 1, 2, 3, 5, 8, 13), market_share: float = 0.5,
                 through: int = 3) -> None:
        super().__init__(user, inst, rng)
        self.rate = rate  # chance to trade in a step
        self.sizes = sizes  # lots, drawn uniformly (repeat a size to weigh it)
        self.market_share = market_share  # share of market orders (the rest: limit IOC)
        self.through = through  # an IOC's limit: this many ticks past the opposite best

    def act(self, view: View) -> list[Command]:
        rng = self.rng
        if rng.random() >= self.rate:
            return []
        side = BUY if rng.random() < 0.5 else SELL
        qty = rng.choice(self.sizes)
        best = view.ask if side == BUY else view.bid
        if best is None:
            return []  # a market order would be rejected (no_liquidity), an IOC cancelled
        if rng.random() < self.market_share:
            return [self.order(side, qty, None)]
        return [self.order(side, qty, max(1, best + side * self.through), tif="ioc")]


class MomentumTrader(Agent):
    """Buys after up-moves of the last trade price, sells after down-moves."""

    kind = "momentum"

    def __init__(self, user: str, inst: Instrument, rng: random.Random, *, lookback: int = 50,
                 threshold: int = 4, size: int = 10, cooldown: int = 30, rate: float = 0.3,
                 through: int = 2, max_position: int = 100) -> None:
        super().__init__(user, inst, rng)
        self.lookback = lookback  # steps
        self.threshold = threshold  # ticks
        self.size = size  # lots
        self.cooldown = cooldown  # steps of rest after a trade decision
        self.rate = rate  # chance to act on a signal in a given step
        self.through = through  # ticks past the opposite best
        self.max_position = max_position
        self._prices: list[int] = []  # the last trade price at each of the recent steps
        self._step = -1
        self._wait = 0

    def act(self, view: View) -> list[Command]:
        if view.step != self._step:  # the first look at this step: record the tape's price
            self._step = view.step
            self._prices.append(view.last)
            if len(self._prices) > self.lookback + 1:
                del self._prices[0]
            if self._wait > 0:
                self._wait -= 1
        if self._wait > 0 or len(self._prices) <= self.lookback or self._prices[0] == 0:
            return []
        move = view.last - self._prices[0]
        if abs(move) < self.threshold or self.rng.random() >= self.rate:
            return []
        side = BUY if move > 0 else SELL
        room = self.max_position - side * self.position
        qty = min(self.size, room)
        best = view.ask if side == BUY else view.bid
        if qty <= 0 or best is None:
            return []
        self._wait = self.cooldown
        return [self.order(side, qty, max(1, best + side * self.through), tif="ioc")]
