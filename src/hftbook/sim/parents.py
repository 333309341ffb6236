"""What each parent did, read back from the simulation's events: its terms, its fills, its
end, and its target schedule over time (for the plots and the checks).

A parent is found by its `algo_started` event; its fills are the trades of its children (the
parent's user, an id `"<parent id>.<n>"`, as maker or taker); its end is its `algo_done` or
`algo_cancelled`. The target at a time is the algorithm engine's own (`hftbook.algo`'s
`Parent.target`, from the terms echoed on `algo_started`), with, for `pov`, the others' volume
counted here from the trades of the window.

Invariants: pure functions of a `SimResult`; parents in the order they started, fills and
paths in stream order; every quantity in lots, every price in ticks (exact ints) except
the statistics copied from the end event, which stay as the engine printed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hftbook.algo import planned_target
from hftbook.sim.market import Event, SimResult, Trade


@dataclass(slots=True)
class Fill:
    seq: int
    ts: int
    price: int  # ticks
    qty: int  # lots


@dataclass(slots=True)
class ParentRun:
    started: Event
    start_seq: int  # index of algo_started in the stream
    algo: str
    user: str
    id: Any
    side: str
    qty: int  # lots
    start_ts: int
    end_ts: int
    end: Event | None = None  # algo_done / algo_cancelled
    end_seq: int | None = None
    children: int = 0
    fills: list[Fill] = field(default_factory=list)

    @property
    def executed(self) -> int:
        return sum(f.qty for f in self.fills)

    @property
    def label(self) -> str:
        return f"{self.user}/{self.id}"

    def owns(self, user: str, cid: Any) -> bool:
        return user == self.user and isinstance(cid, str) and cid.startswith(f"{self.id}.")


def parents(result: SimResult) -> list[ParentRun]:
    """Every parent of the run, with its children's fills and its end."""
    inst = result.inst
    runs: list[ParentRun] = []
    live: dict[tuple[str, Any], ParentRun] = {}
    for seq, ev in result.algo_events:
        kind = ev["type"]
        key = (ev["user"], ev["id"])
        if kind == "algo_started":
            qty = inst.qty_from_wire(ev["qty"])
            assert isinstance(qty, int)
            run = ParentRun(ev, seq, ev["algo"], ev["user"], ev["id"], ev["side"], qty, ev["start_ts"],
                            ev["end_ts"])
            runs.append(run)
            live[key] = run
        elif kind == "algo_child":
            live[key].children += 1
        elif kind in ("algo_done", "algo_cancelled"):
            run = live.pop(key)
            run.end, run.end_seq = ev, seq
    for t in result.trades:
        for run in runs:
            if run.start_seq < t.seq and (run.owns(t.taker, t.taker_id) or run.owns(t.maker, t.maker_id)):
                run.fills.append(Fill(t.seq, t.ts, t.price, t.qty))
    return runs


def window(run: ParentRun, result: SimResult) -> list[Trade]:
    """The trades of the parent's statistics window: from its first slice (the first command
    at or after `start_ts`: every trade with ts >= start_ts, the market running a command at
    each step) up to its end event."""
    last = run.end_seq if run.end_seq is not None else result.events
    return [t for t in result.trades if t.ts >= run.start_ts and t.seq < last]


def participation(run: ParentRun, result: SimResult) -> float | None:
    """Executed / all quantity traded in the window, recomputed from the trades."""
    volume = sum(t.qty for t in window(run, result))
    return run.executed / volume if volume else None


def target_path(run: ParentRun, result: SimResult, times: list[int]) -> list[int]:
    """The target (lots) at each of `times` (non-decreasing), as the engine computes it."""
    inst = result.inst
    target = planned_target({k: v for k, v in run.started.items() if k not in ("type", "ts")}, inst.tick,
                            inst.lot)
    trades = window(run, result)
    out: list[int] = []
    i = others = 0
    for t in times:
        while i < len(trades) and trades[i].ts <= t:
            tr = trades[i]
            if not (run.owns(tr.taker, tr.taker_id) or run.owns(tr.maker, tr.maker_id)):
                others += tr.qty  # what pov follows (the other algorithms ignore it)
            i += 1
        out.append(target(t, others))
    return out


def executed_path(run: ParentRun, times: list[int]) -> list[int]:
    """Cumulative executed lots at each of `times` (non-decreasing)."""
    out: list[int] = []
    done = i = 0
    fills = run.fills
    for t in times:
        while i < len(fills) and fills[i].ts <= t:
            done += fills[i].qty
            i += 1
        out.append(done)
    return out
