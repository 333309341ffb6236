"""The garbage-collector policy for a process that runs the engine.

Why: the engine keeps tens of thousands of long-lived objects (orders, levels) and allocates
two or three short-lived ones per message (an event tuple, an order). Under CPython's default
thresholds (700/10/10) young collections run every few hundred messages and full collections
walk the whole book, which costs milliseconds (measured in `make bench`: up to 20 ms pauses on
`cancel_storm` under the default policy, none at all under this one).

The policy: collect once, freeze everything alive (the book built so far, the interpreter's
own objects) into the permanent generation so no collection walks it again, and raise the
young threshold so collections become rare. It is safe because the engine itself leaves no
cyclic garbage (tests/unit/test_no_cycles.py); the collector stays on for everyone else's.
"""

from __future__ import annotations

import gc

# Measured by `make bench` (bench/gc_policy.py) against the default and "disabled + periodic gen-0".
ENGINE_GC_THRESHOLDS = (100_000, 50, 1000)


def tune_for_engine() -> None:
    """Apply the engine policy now (call it after start-up and any warm-up work)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*ENGINE_GC_THRESHOLDS)
