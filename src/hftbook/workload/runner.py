"""Running workload messages through an exchange's integer door.

Invariants: messages are applied strictly in order, each to the door method its first field
names, with the remaining fields as that method's positional arguments; nothing is reordered,
skipped or retried, and a rejected message is left to the engine (it emits the rejection).
`run_batch` discards events: `ex.out` is emptied after every `clear_every` messages and at
the end, so a long batch never holds more than one chunk's events.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Sequence

from hftbook.core.exchange import Exchange
from hftbook.workload.messages import CANCEL, MODIFY, NEW, Instrument, Message


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


def run_timed(ex: Exchange, msgs: Sequence[Message], clear_each: bool) -> array[int]:
    """Apply every message in order and return the nanoseconds of each door call.

    `perf_counter_ns` brackets only the call (its own cost is included). With `clear_each`,
    `ex.out` is emptied after every message, outside the timing, as a consumer taking events
    off would; without it events accumulate for the caller to read.
    """
    submit = ex.submit
    cancel = ex.cancel
    modify = ex.modify
    out = ex.out
    pc = time.perf_counter_ns
    lat = array("q", bytes(8 * len(msgs)))
    for i, m in enumerate(msgs):
        op = m[0]
        if op == NEW:
            _, user, cid, sym, side, otype, price, qty, tif, exp, post, stp = m
            t0 = pc()
            submit(user, cid, sym, side, otype, price, qty, tif, exp, post, stp)
            t1 = pc()
        elif op == CANCEL:
            user, cid = m[1], m[2]
            t0 = pc()
            cancel(user, cid)
            t1 = pc()
        else:
            user, cid, price, qty = m[1], m[2], m[3], m[4]
            t0 = pc()
            modify(user, cid, price, qty)
            t1 = pc()
        lat[i] = t1 - t0
        if clear_each:
            del out[:]
    return lat


__all__ = ["apply_message", "new_exchange", "run_batch", "run_timed"]
