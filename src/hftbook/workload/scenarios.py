"""Named workloads: `scenario(name, n, seed)` builds one of `SCENARIOS`.

A scenario is a list of instruments, a warmup (messages that build the starting book, applied
untimed by the benchmark) and the measured messages, all from one seeded `Flow`.

Invariants: `scenario` is a pure function of (name, n, seed): the same arguments give the
same messages, byte for byte. The warmup is generated first, then the measured messages, from
the same flow, so the measured messages assume the warmup has been applied to a fresh exchange
with the scenario's instruments (`Scenario.new_exchange`). Every instrument has a tick of 0.01
and a lot of 1. There are `n` measured messages (`crash` does not split its bursts, so for a
very small `n` it sends more).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from hftbook.core.exchange import Exchange
from hftbook.core.types import BUY, SELL
from hftbook.workload.flow import Flow, FlowConfig
from hftbook.workload.messages import Instrument, Message
from hftbook.workload.runner import new_exchange

SCENARIOS: Final = ("normal", "deep", "crash", "cancel_storm", "multi_symbol", "mixed")

_CENT: Final = Decimal("0.01")
_ONE: Final = Decimal("1")


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


__all__ = ["SCENARIOS", "Scenario", "scenario"]
