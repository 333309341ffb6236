"""The simulated market: its settings, the fair value, and the event loop over the venue.

Time advances in steps of `step_ns` integer nanoseconds from ts 0 to `duration_ns`
inclusive. At each step, in this order: a `tick` command (so the algorithms' slices due by
now run even in a quiet step), the `algo` commands sent at this step (the last step before
their `start_ts`: their first slice is run by the next step's `tick`), one random-walk move of
the fair value, then every agent in an order shuffled afresh each step, each agent's commands
applied one by one with the step's ts. After the last step every parent still live is
cancelled (`algo_cancel`), so each one ends with `algo_done` or `algo_cancelled`.

Invariants: every command goes through `venue.apply`; the run is a pure function of the
`SimConfig` (one generator for the market, seeded by the seed, and one per agent, seeded by
the seed and the agent's name through SHA-512, never by a clock or `hash`); agents and
parents are visited in list order, so no hash order reaches the events. The loop only reads
the engine (the book's best prices and last trade) to build the agents' views.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from hftbook.core.exchange import Exchange
from hftbook.core.instrument import Instrument
from hftbook.sim.agents import Agent, Command, MarketMaker, MomentumTrader, NoiseTaker, View

Event = dict[str, Any]
SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """The symbol, the fair value's walk and the crowd."""

    symbol: str = "SIM"
    tick: str = "0.01"
    lot: str = "1"
    start_price: str = "100"
    step_ns: int = 10_000_000  # 10 ms
    fair_move: float = 0.3  # chance per step of a one-tick fair value move
    fair_drift: float = 0.0  # added to the one-half chance that a move is up
    fair_jump: float = 0.002  # chance per step of a jump of 3 to 8 ticks instead
    market_makers: int = 4
    noise_takers: int = 6
    momentum_traders: int = 2


@dataclass(frozen=True, slots=True)
class ParentSpec:
    """One `algo` parent to send: sent at the last step before `start_ts` (at 0 for a start at
    0); `fields` are its optional algo fields (`pov_pct`, `interval_ns`, ...) as the command
    carries them."""

    algo: str
    user: str
    id: str
    side: str
    qty: int  # lots
    start_ts: int
    end_ts: int
    fields: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 1
    duration_ns: int = 30 * SECOND
    market: MarketConfig = field(default_factory=MarketConfig)
    parents: tuple[ParentSpec, ...] = ()


@dataclass(slots=True)
class Sample:
    """The market at the end of one step (prices in ticks; 0 or None when there is none)."""

    ts: int
    fair: int
    bid: int | None
    ask: int | None
    last: int


@dataclass(slots=True)
class Trade:
    seq: int  # the event's index in the whole stream
    ts: int
    price: int  # ticks
    qty: int  # lots
    taker: str  # users
    maker: str
    taker_id: Any
    maker_id: Any


@dataclass(slots=True)
class SimResult:
    config: SimConfig
    inst: Instrument
    samples: list[Sample] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    algo_events: list[tuple[int, Event]] = field(default_factory=list)  # (index in the stream, event)
    agents: list[Agent] = field(default_factory=list)
    refused: list[Event] = field(default_factory=list)  # `rejected` answers to the `algo` commands
    commands: int = 0
    events: int = 0


class VenueLike(Protocol):
    """What the loop needs of `hftbook.algo.Venue`: the door, and the engine behind it to read."""

    @property
    def exchange(self) -> Exchange: ...

    def apply(self, cmd: Command) -> list[Event]: ...


def make_venue() -> VenueLike:
    from hftbook.algo import Venue

    return Venue()


def build_agents(config: SimConfig, inst: Instrument) -> list[Agent]:
    """The crowd, in a fixed order; parameters vary with each agent's rank."""
    m = config.market

    def rng(user: str) -> random.Random:
        return random.Random(f"hftbook.sim:{config.seed}:{user}")

    agents: list[Agent] = []
    for i in range(m.market_makers):
        user = f"mm{i + 1}"
        agents.append(MarketMaker(user, inst, rng(user), half_spread=1 + i % 3, levels=3, gap=1 + i % 2,
                                  size=10 + 10 * (i % 3), requote=0.3 + 0.1 * (i % 4)))
    for i in range(m.noise_takers):
        user = f"noise{i + 1}"
        agents.append(NoiseTaker(user, inst, rng(user), rate=0.08 + 0.02 * (i % 3),
                                 market_share=0.5 if i % 2 == 0 else 0.2))
    for i in range(m.momentum_traders):
        user = f"momo{i + 1}"
        agents.append(MomentumTrader(user, inst, rng(user), lookback=30 + 20 * (i % 3),
                                     threshold=3 + i % 3, size=10 + 5 * (i % 2)))
    return agents


def _ticks(inst: Instrument, value: Any) -> int:
    units = inst.price_from_wire(value)
    if not isinstance(units, int) or isinstance(units, bool):
        raise ValueError(f"not a price of {inst.symbol}: {value!r}")
    return units


def _lots(inst: Instrument, value: Any) -> int:
    units = inst.qty_from_wire(value)
    if not isinstance(units, int) or isinstance(units, bool):
        raise ValueError(f"not a quantity of {inst.symbol}: {value!r}")
    return units


def parent_command(spec: ParentSpec, inst: Instrument, ts: int) -> Command:
    cmd: Command = {"cmd": "algo", "ts": ts, "user": spec.user, "id": spec.id, "symbol": inst.symbol,
                    "side": spec.side, "algo": spec.algo, "qty": inst.qty_str(spec.qty),
                    "start_ts": spec.start_ts, "end_ts": spec.end_ts}
    cmd.update(spec.fields)
    return cmd


def run(config: SimConfig, *, venue: VenueLike | None = None, on_step: Callable[[int], None] | None = None,
        on_apply: Callable[[Command, list[Event]], None] | None = None) -> SimResult:
    """Run the whole simulation. `on_step(ts)` is called after each step (a progress bar);
    `on_apply(cmd, events)` sees every command and its events (a recorder)."""
    m = config.market
    if m.step_ns < 1 or config.duration_ns < m.step_ns:
        raise ValueError("the duration must be at least one step, and a step at least 1 ns")
    last_step = config.duration_ns // m.step_ns * m.step_ns
    if any(spec.start_ts > last_step for spec in config.parents):
        raise ValueError("a parent starts after the run's last step")
    if venue is None:
        venue = make_venue()
    inst = Instrument(m.symbol, Decimal(m.tick), Decimal(m.lot))
    result = SimResult(config, inst)
    market_rng = random.Random(config.seed)
    agents = build_agents(config, inst)
    result.agents = agents
    by_user = {a.user: a for a in agents}
    view = View(fair=_ticks(inst, m.start_price))
    book: Any = None
    live_parents: list[tuple[str, str]] = []
    trades, algo_events = result.trades, result.algo_events

    def apply(cmd: Command) -> list[Event]:
        events = venue.apply(cmd)
        result.commands += 1
        for seq, ev in enumerate(events, result.events):
            kind = ev["type"]
            if kind == "trade":
                taker, maker = ev["taker"], ev["maker"]
                trades.append(Trade(seq, ev["ts"], _ticks(inst, ev["price"]), _lots(inst, ev["qty"]),
                                    taker["user"], maker["user"], taker["id"], maker["id"]))
                for user in (taker["user"], maker["user"]):
                    agent = by_user.get(user)
                    if agent is not None:
                        agent.on_event(ev)
            elif kind.startswith("algo_"):
                algo_events.append((seq, ev))
                if kind in ("algo_done", "algo_cancelled"):
                    key = (ev["user"], ev["id"])
                    if key in live_parents:
                        live_parents.remove(key)
            else:
                agent = by_user.get(ev.get("user", ""))
                if agent is not None:
                    agent.on_event(ev)
        result.events += len(events)
        if on_apply is not None:
            on_apply(cmd, events)
        return events

    def look(step: int) -> None:
        view.step = step
        view.bid, view.ask, view.last = book.best_bid(), book.best_ask(), book.last

    apply({"cmd": "instrument", "ts": 0, "symbol": m.symbol, "tick_size": m.tick, "lot_size": m.lot})
    book = venue.exchange.books[m.symbol]
    sends: dict[int, list[ParentSpec]] = {}
    for spec in config.parents:  # at the last step before start_ts (or at 0)
        sends.setdefault(max(0, (spec.start_ts - 1) // m.step_ns * m.step_ns), []).append(spec)
    order = list(agents)
    for step in range(config.duration_ns // m.step_ns + 1):
        ts = step * m.step_ns
        apply({"cmd": "tick", "ts": ts})
        for spec in sends.get(ts, ()):
            answer = apply(parent_command(spec, inst, ts))
            refused = [e for e in answer if e["type"] == "rejected"]
            result.refused += refused
            key = (spec.user, spec.id)
            ended = any(e["type"] in ("algo_done", "algo_cancelled") and (e["user"], e["id"]) == key
                        for e in answer)
            if not refused and not ended:
                live_parents.append((spec.user, spec.id))
        _walk(view, market_rng, m)
        market_rng.shuffle(order)
        for agent in order:
            look(step)
            for cmd in agent.act(view):
                cmd["ts"] = ts
                apply(cmd)
        look(step)
        result.samples.append(Sample(ts, view.fair, view.bid, view.ask, view.last))
        if on_step is not None:
            on_step(ts)
    for user, pid in list(live_parents):
        apply({"cmd": "algo_cancel", "ts": last_step, "user": user, "id": pid})
    return result


def _walk(view: View, rng: random.Random, m: MarketConfig) -> None:
    """One step of the fair value: a jump, a one-tick move or nothing (never below a tick)."""
    u = rng.random()
    if u < m.fair_jump:
        size = rng.randint(3, 8)
    elif u < m.fair_jump + m.fair_move:
        size = 1
    else:
        return
    up = rng.random() < 0.5 + m.fair_drift
    view.fair = max(1, view.fair + (size if up else -size))
