"""Which engine process a command goes to, when symbols are sharded over several (pure).

A symbol lives on engine `crc32(symbol) % engines`: stable across runs, hosts and Python
hash seeds, so a restarted venue finds each symbol's journal where it left it.

- `new`, `oco`, `bracket`, `algo`, `instrument`, `halt`, `resume`, `book`, `metrics`, and
  `cancel_all` with a `symbol`: the symbol's engine.
- `cancel`, `modify`, `algo_pause`/`algo_resume`/`algo_cancel` name an order by user and
  client id only: they go where that id was last placed (`Placement`), or to engine 0 when
  it is not live anywhere (which answers `unknown_order`, as a single engine would).
- A placing command whose id is live on another engine goes to its symbol's engine with
  those ids in `live_elsewhere` (core/elsewhere.py): that engine counts them as live while it
  checks the command, so it refuses it exactly as one exchange would.
- `cancel_all` without a symbol, `end_of_day`, `tick`, `limits`, `kill_switch`: every engine
  (a broadcast); the command-level answers (a `limits` echo, a refusal) are taken from engine 0
  only, the order events from all.
- Anything else (no `cmd`, an unknown one, not an object): engine 0, which refuses it.

Invariants: the same command and placement give the same targets; a broadcast lists every
engine once, in order; a command is never split (each engine gets it whole).
"""

from __future__ import annotations

import zlib
from typing import Any

BY_SYMBOL = frozenset({"new", "oco", "bracket", "algo", "instrument", "halt", "resume", "book", "metrics"})
BY_ORDER = frozenset({"cancel", "modify", "algo_pause", "algo_resume", "algo_cancel"})
BROADCAST = frozenset({"end_of_day", "tick", "limits", "kill_switch"})
PLACING = frozenset({"new", "oco", "bracket", "algo"})


def shard_of(symbol: object, engines: int) -> int:
    if engines == 1 or not isinstance(symbol, str):
        return 0
    return zlib.crc32(symbol.encode("utf-8", "surrogatepass")) % engines


def order_ids(cmd: dict[str, Any]) -> list[Any]:
    """The client ids a placing command takes (an `oco`'s two, a bracket's up to three)."""
    name = cmd.get("cmd")
    if name == "oco":
        parts = cmd.get("orders")
        return [p.get("id") for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []
    if name == "bracket":
        return [p.get("id") for p in (cmd.get("entry"), cmd.get("take_profit"), cmd.get("stop_loss"))
                if isinstance(p, dict)]
    return [cmd.get("id")]


def _key(user: object, cid: object) -> tuple[str, Any] | None:
    try:
        hash(cid)
    except TypeError:
        return None
    return (user, cid) if isinstance(user, str) else None


class Placement:
    """Where each live (user, client id) was sent, and which of that engine's commands placed
    it; forgotten when a later result of that engine says it ended."""

    def __init__(self, engines: int) -> None:
        self.engines = engines
        self.where: dict[tuple[str, Any], tuple[int, int]] = {}  # -> (engine, index of the placing)
        self.sent = [0] * engines  # commands sent to each engine so far (the next one's index)
        self.taken: list[Any] = []  # ids of the last `targets`' command live on another engine

    def targets(self, cmd: object) -> list[int]:
        """The engines `cmd` goes to (more than one: a broadcast), counted as sent. When it
        places client ids live on another engine, `taken` lists them (the command must carry
        them as `live_elsewhere`, so its engine refuses it as one exchange would)."""
        self.taken = []
        if self.engines == 1:
            return [0]
        out = self._targets(cmd)
        for k in out:
            self.sent[k] += 1
        return out

    def _targets(self, cmd: object) -> list[int]:
        n = self.engines
        if not isinstance(cmd, dict):
            return [0]
        name = cmd.get("cmd")
        if name in BY_SYMBOL:
            shard = shard_of(cmd.get("symbol"), n)
            if name in PLACING:
                user = cmd.get("user")
                keys = [k for cid in order_ids(cmd) if (k := _key(user, cid)) is not None]
                self.taken = [k[1] for k in keys if (w := self.where.get(k)) is not None and w[0] != shard]
                if not self.taken:  # else it will be refused: it places nothing
                    for k in keys:
                        self.where[k] = (shard, self.sent[shard])
            return [shard]
        if name in BY_ORDER:
            k = _key(cmd.get("user"), cmd.get("id"))
            w = self.where.get(k) if k is not None else None
            return [w[0] if w is not None else 0]
        if name == "cancel_all":
            if "symbol" in cmd:
                return [shard_of(cmd.get("symbol"), n)]
            return list(range(n))
        if name in BROADCAST:
            return list(range(n))
        return [0]

    def recovered(self, shard: int, pairs: list[list[Any]]) -> None:
        """The ids live on engine `shard` when it started (from its journal)."""
        if self.engines > 1:
            for user, cid in pairs:
                k = _key(user, cid)
                if k is not None:
                    self.where[k] = (shard, -1)

    def ended(self, pairs: list[list[Any]], shard: int, index: int) -> None:
        """Engine `shard`'s command number `index` left these (user, id) pairs not live."""
        for user, cid in pairs:
            k = _key(user, cid)
            w = self.where.get(k) if k is not None else None
            if w is not None and w[0] == shard and w[1] <= index:
                del self.where[k]  # type: ignore[arg-type]


__all__ = ["BROADCAST", "BY_ORDER", "BY_SYMBOL", "Placement", "order_ids", "shard_of"]
