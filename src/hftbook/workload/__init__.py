"""Seeded order-flow generators: realistic message streams for the engine's integer door.

Used by the benchmarks (`bench/`), the live demo (`hftbook.demo`) and the tests. The package:

    messages.py     the message tuple format (NEW / CANCEL / MODIFY) and `counts`, the mix
    shadow_book.py  the generator's shadow of each symbol's book and fair price
    flow.py         `Flow` and `FlowConfig`: the seeded generator itself
    scenarios.py    `scenario(name, n, seed)`: the named workloads in `SCENARIOS`
    runner.py       `new_exchange`, `apply_message`, `run_batch`: messages into an exchange

Invariants: everything generated is a pure function of its seed (one `random.Random` per
flow, no clock, no hash-ordered iteration), so a seed reproduces a workload byte for byte.
Every cancel or modify targets an order the engine holds, except a deliberate `miss_rate`
share aimed at orders that have just ended. Every name below is importable from
`hftbook.workload` itself; the submodules are the layout, not the interface.
"""

from __future__ import annotations

from hftbook.workload.flow import Flow, FlowConfig
from hftbook.workload.messages import CANCEL, MODIFY, NEW, Instrument, Message, counts
from hftbook.workload.runner import apply_message, new_exchange, run_batch, run_timed
from hftbook.workload.scenarios import SCENARIOS, Scenario, scenario

__all__ = [
    "CANCEL",
    "MODIFY",
    "NEW",
    "SCENARIOS",
    "Flow",
    "FlowConfig",
    "Instrument",
    "Message",
    "Scenario",
    "apply_message",
    "counts",
    "new_exchange",
    "run_batch",
    "run_timed",
    "scenario",
]
