"""GC policies for the benchmark: `GcPolicy(name)` applies one for a `with` block.

`default` is CPython's collector as it starts (thresholds 700/10/10); `tuned` is the engine
policy of `hftbook.runtime.gcpolicy` (what the demo and the server use): `gc.collect();
gc.freeze()` after the warmup plus `gc.set_threshold(*ENGINE_GC_THRESHOLDS)`. Also measured,
and not kept: the collector disabled with a gen-0 collection every 10,000 (or 1,000) messages,
which gave the same p99.9 as `tuned` at best (and worse at 1,000); the freeze policy keeps the
collector on, which is safer against cyclic garbage. With it no collection runs at all during
the measured passes, since the engine frees what it allocates (`gc_collections` in the JSON),
while the default policy pays young collections on the event tuples and full collections
(milliseconds) over the book and the message list.

Invariants: only the names in `POLICIES` are accepted. Entering a policy collects first
(`tuned` also freezes what survives), so garbage from before the block is not charged to it;
`pauses` records the duration of every collection that runs inside the block, in
nanoseconds. Leaving the block restores the thresholds saved at construction, unfreezes and
re-enables the collector, and removes the pause callback, whatever happened inside.
"""

from __future__ import annotations

import gc
import time
from typing import Final

from hftbook.runtime.gcpolicy import tune_for_engine

POLICIES: Final = ("default", "tuned")


class GcPolicy:
    """Applies one policy for the duration of a `with` block and restores the defaults."""

    def __init__(self, name: str) -> None:
        if name not in POLICIES:
            raise ValueError(f"unknown GC policy {name!r}")
        self.name = name
        self.saved = gc.get_threshold()
        self.pauses: list[int] = []
        self._t0 = 0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter_ns()
        else:
            self.pauses.append(time.perf_counter_ns() - self._t0)

    def __enter__(self) -> GcPolicy:
        if self.name == "tuned":
            tune_for_engine()
        else:
            gc.collect()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)
        gc.set_threshold(*self.saved)
        gc.unfreeze()
        gc.enable()



__all__ = ["POLICIES", "GcPolicy"]
