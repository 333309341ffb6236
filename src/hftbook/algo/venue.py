"""A venue: an exchange and the algorithm engine that works parent orders on it.

`Venue.apply(cmd)` is the contract door plus `algo`, `algo_pause`, `algo_resume` and
`algo_cancel` (docs/ALGO.md). For a command at ts it runs, in order: the exchange's GTD expiry
and timed resumes for ts, the algorithm slices due by ts, the command itself, then what the
algorithms do after it (`pov` children, `algo_progress`, `algo_done`). With no live parent a
command goes straight to the exchange, so a venue without algorithms costs one truth test.

Invariants: the exchange sees only contract commands (children are `new` and `cancel` of the
parent's user); the events out are a pure function of the commands in; `snapshot`/`restore`
cover the exchange and every live parent, and `state_hash` is the SHA-256 of their canonical
JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hftbook.algo.engine import CONTROL, AlgoEngine, Event
from hftbook.algo.params import parse_algo
from hftbook.algo.parent import Parent
from hftbook.core.exchange import Exchange
from hftbook.core.types import MAX_UNITS

ALGO_COMMANDS = ("algo", *CONTROL)


class Venue:
    def __init__(self, exchange: Any = None) -> None:
        """`exchange`: anything with the contract door (`apply`, `now`); a new Exchange by default."""
        self.exchange = exchange if exchange is not None else Exchange()
        self.algos = AlgoEngine(self.exchange)
        self._commands: dict[tuple[str, Any], dict[str, Any]] = {}  # live parents' `algo` commands

    @property
    def now(self) -> int:
        return int(self.exchange.now)

    def apply(self, cmd: object) -> list[Event]:
        ex = self.exchange
        algos = self.algos
        if not isinstance(cmd, dict):
            return list(ex.apply(cmd))
        name = cmd.get("cmd")
        ts = cmd.get("ts", ex.now)
        if type(ts) is not int or not 0 <= ts <= MAX_UNITS:
            if name in ALGO_COMMANDS:
                return [{"type": "rejected", "ts": ex.now, "cmd": name, "reason": "bad_command",
                         "message": "'ts' must be a non-negative integer (nanoseconds)"}]
            return list(ex.apply(cmd))
        if not algos.parents and name not in ALGO_COMMANDS:
            events = list(ex.apply(cmd))
            if name == "instrument":
                algos.instrument(cmd, events)
            return events
        out: list[Event] = []
        if name in ALGO_COMMANDS or algos.due(ts):
            first = ex.apply({"cmd": "tick", "ts": ts})  # the GTD expiry and resumes of ts
            out.extend(first)
            algos.observe(first)
            algos.run_due(ts, out)
        if name in ALGO_COMMANDS:
            algos.command(cmd, ts, out)
            if name == "algo" and (cmd.get("user"), cmd.get("id")) in algos.parents:
                self._commands[(cmd["user"], cmd["id"])] = dict(cmd)
        else:
            events = ex.apply(cmd)
            out.extend(events)
            algos.observe(events)
            if name == "instrument":
                algos.instrument(cmd, events)
        algos.after(ts, out)
        for key in [k for k in self._commands if k not in algos.parents]:
            del self._commands[key]
        return out

    def replay(self, cmd: object) -> None:
        """`apply` for recovery, where the events are not wanted: without live parents a
        command goes to the exchange unrendered (the same state change, a third cheaper)."""
        if (not self.algos.parents and isinstance(cmd, dict) and cmd.get("cmd") not in ALGO_COMMANDS
                and cmd.get("cmd") != "instrument" and hasattr(self.exchange, "apply_quiet")):
            self.exchange.apply_quiet(cmd)
        else:
            self.apply(cmd)

    # -- state ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        a = self.algos
        return {
            "exchange": self.exchange.snapshot(),
            "algos": {
                "seq": a.seq,
                "last": sorted([s, p] for s, p in a.last.items()),
                "parents": [{"command": self._commands[k], "state": p.snapshot()}
                            for k, p in sorted(a.parents.items(), key=lambda kv: kv[1].seq)],
            },
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Venue:
        v = cls(Exchange.restore(snap["exchange"]))
        a = v.algos
        for symbol, inst in v.exchange.instruments.items():
            a.insts[symbol] = inst
        data = snap["algos"]
        a.seq = data["seq"]
        a.last = {s: p for s, p in data["last"]}
        units = {s: (i.tick, i.lot) for s, i in a.insts.items()}
        for d in data["parents"]:
            cmd = d["command"]
            p = Parent(parse_algo(cmd, units), d["state"]["seq"])
            p.load(d["state"])
            key = (p.spec.user, p.spec.cid)
            a.parents[key] = p
            v._commands[key] = cmd
            for child in p.resting:
                a.by_child[(p.spec.user, child)] = p
        return v

    def state_hash(self) -> str:
        blob = json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":"), default=str).encode()
        return hashlib.sha256(blob).hexdigest()


__all__ = ["ALGO_COMMANDS", "Venue"]
