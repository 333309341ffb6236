"""The pure core: a single-threaded, deterministic exchange state machine.

No I/O, no clock, no threads, no unseeded randomness, stdlib only. Time comes in as each
command's `ts`. `Exchange.apply(cmd) -> events` is the one entry point; the integer methods
(`submit`, `cancel`, `modify`) are the same engine without parsing, for binary gateways and
benchmarks.
"""

from hftbook.core.exchange import Exchange

__all__ = ["Exchange"]
