"""What every engine front of the server shares: the command queue, time stamps, sessions,
market-data subscribers, and routing events to them.

Gateways put `(session, command, received_ns)` on `queue`; an engine front (`Engine`, one
venue in this process; `PipelineEngine`, engine processes behind rings) takes them in order,
stamps each with the venue's time (`stamp`: the wall clock in ns, never going backwards) and
answers through `route`.

Routing: an event naming a `user` goes to every session of that user (a `trade` to both
parties, each copy without the other party's user and client id); an answer without a user
(a query, a refusal of a command with no valid user) goes to the session that sent the
command, and so does everything an admin's command caused (a user's `kill_switch`);
`halted`/`resumed`/`indicative` and trades reach market-data subscribers of the symbol as
`md` messages.

Invariants: only the event loop's thread touches sessions; `stamp` is strictly increasing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from hftbook.server.config import ServerConfig
from hftbook.server.metrics import Metrics
from hftbook.server.session import Session

Item = tuple[Session | None, dict[str, Any], int]
_MD_TYPES = frozenset({"trade", "halted", "resumed", "indicative"})


class Router:
    def __init__(self, cfg: ServerConfig, metrics: Metrics, last_ts: int) -> None:
        self.cfg = cfg
        self.metrics = metrics
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue()
        self.sessions: dict[str, list[Session]] = {}  # user -> live sessions
        self.subscribers: dict[str, list[Session]] = {}  # symbol -> sessions subscribed
        self.last_ts = last_ts
        self.on_fatal: Callable[[BaseException], None] | None = None

    def symbols(self) -> list[str]:
        raise NotImplementedError

    async def run(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def stamp(self) -> int:
        ts = time.time_ns()
        if ts <= self.last_ts:
            ts = self.last_ts + 1
        self.last_ts = ts
        return ts

    def admit(self, cmd: dict[str, Any]) -> None:
        """Make a gateway's command the venue's: its time, and no `live_elsewhere` (the
        pipeline's own field, core/elsewhere.py, never a client's)."""
        cmd["ts"] = self.stamp()
        cmd.pop("live_elsewhere", None)

    async def next_batch(self) -> tuple[list[Item], bool]:
        """The commands waiting (at least one: a `tick` after `tick_s` of quiet), and whether
        the stop marker came after them."""
        q = self.queue
        try:
            first = await asyncio.wait_for(q.get(), self.cfg.tick_s)
        except TimeoutError:
            first = (None, {"cmd": "tick"}, time.perf_counter_ns())
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < self.cfg.max_batch and not q.empty():
            item = q.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def route(self, ev: dict[str, Any], origin: Session | None) -> None:
        """Send an event where it belongs (the module docstring)."""
        kind = ev["type"]
        if kind == "trade":
            for role, other in (("maker", "taker"), ("taker", "maker")):
                user = ev[role]["user"]
                mine = dict(ev)
                mine[other] = {"order_id": ev[other]["order_id"]}
                for s in self.sessions.get(user, ()):
                    s.send({"event": mine})
        else:
            user = ev.get("user")
            targets = self.sessions.get(user, ()) if isinstance(user, str) else ()
            sent = False
            for s in targets:
                s.send({"event": ev})
                sent = sent or s is origin
            if not sent and origin is not None and (not isinstance(user, str) or kind == "rejected"
                                                             or origin.admin):
                origin.send({"event": ev})  # its own answer, or what an admin's command did
        if kind in _MD_TYPES:
            md = dict(ev)
            if kind == "trade":
                md.pop("maker")
                md.pop("taker")
            for s in self.subscribers.get(ev["symbol"], ()):
                s.send({"md": md})

    # -- sessions ---------------------------------------------------------------------------

    def attach(self, session: Session) -> None:
        assert session.user is not None
        self.sessions.setdefault(session.user, []).append(session)

    def detach(self, session: Session) -> bool:
        """Forget a session; True when it was its user's last one."""
        for subs in self.subscribers.values():
            if session in subs:
                subs.remove(session)
        user = session.user
        if user is None or session not in self.sessions.get(user, []):
            return False
        self.sessions[user].remove(session)
        if not self.sessions[user]:
            del self.sessions[user]
            return True
        return False

    async def end_session(self, session: Session) -> None:
        """A session is over (either gateway): forget it, and cancel its user's orders when it
        was the user's last one and the server cancels on disconnect."""
        if self.detach(session) and self.cfg.cancel_on_disconnect and session.user is not None:
            await self.queue.put((None, {"cmd": "cancel_all", "user": session.user}, time.perf_counter_ns()))

    def idle(self, session: Session) -> bool:
        """A read timed out: heartbeat if the session has been quiet, True when the client has
        been silent for twice its heartbeat (the session is then closed `idle_timeout`)."""
        now = time.monotonic()
        if now - session.last_recv > 2 * session.heartbeat_s:
            session.close("idle_timeout")
            return True
        if now - session.last_sent >= session.heartbeat_s:
            session.send({"type": "heartbeat"})
        return False

    def subscribe(self, session: Session, symbols: list[str]) -> list[str]:
        """Subscribe to symbols' market data; returns the unknown ones."""
        known = set(self.symbols())
        unknown = [s for s in symbols if s not in known]
        for s in symbols:
            if s in known and session not in self.subscribers.setdefault(s, []):
                self.subscribers[s].append(session)
        return unknown


__all__ = ["Item", "Router"]
