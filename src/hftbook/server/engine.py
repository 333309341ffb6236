"""The server's engine task: one journaled venue, fed in batches, answers routed to sessions.

Gateways put `(session, command, received_ns)` on `queue`. The task takes whatever is waiting
(up to `max_batch`), stamps each command with the venue's time (the wall clock in ns, never
going backwards), and hands the batch to `JournaledVenue.process` in a worker thread, so the
event loop goes on reading sockets meanwhile. `process` journals, applies and commits (group
commit: one fsync); only after it returns are the events routed, so no acknowledgement, fill
or market data leaves before its command is durable. A `tick` is queued every `tick_s` when
nothing else came, so time-driven work (algorithm slices, GTD expiry, timed halts) runs.

Routing: an event naming a `user` goes to every session of that user (a `trade` to both
parties, each copy without the other party's user and client id); an answer without a user
(a query, a refusal of a command with no valid user) goes to the session that sent the
command, and so does everything an admin's command caused (a user's `kill_switch`);
`halted`/`resumed`/`indicative` and trades reach market-data subscribers of the symbol as
`md` messages.

Invariants: the venue is touched by one thread at a time (the batch's worker; routing waits
for it); commands are applied in queue order, which is the journal's order; a failed journal
stops the server (`JournalFailed` propagates and the app shuts down without acknowledging).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from hftbook.journal.storage import DiskStorage
from hftbook.runtime.journaled import JournaledVenue
from hftbook.server.config import ServerConfig
from hftbook.server.metrics import Metrics
from hftbook.server.session import Session

Item = tuple[Session | None, dict[str, Any], int]
_MD_TYPES = frozenset({"trade", "halted", "resumed", "indicative"})


class Engine:
    def __init__(self, cfg: ServerConfig, metrics: Metrics) -> None:
        self.cfg = cfg
        self.metrics = metrics
        self.storage = DiskStorage(cfg.data_dir)
        self.jv = JournaledVenue(self.storage, cfg.fsync, cfg.checkpoint_every)
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue()
        self.sessions: dict[str, list[Session]] = {}  # user -> live sessions
        self.subscribers: dict[str, list[Session]] = {}  # symbol -> sessions subscribed
        self.last_ts = self.jv.venue.now
        self.on_fatal: Callable[[BaseException], None] | None = None
        self._setup_instruments()

    def _setup_instruments(self) -> None:
        """Define the configured instruments the recovered venue does not have yet."""
        known = set(getattr(self.jv.venue.exchange, "instruments", {}))
        todo = [dict(i, cmd="instrument") for i in self.cfg.instruments if i["symbol"] not in known]
        if todo:
            for cmd in todo:
                cmd["ts"] = self._stamp()
            for events in self.jv.process(todo):
                bad = [e for e in events if e["type"] == "rejected"]
                if bad:
                    raise ValueError(f"instrument refused: {bad[0]['message']}")

    def symbols(self) -> list[str]:
        return sorted(getattr(self.jv.venue.exchange, "instruments", {}))

    def _stamp(self) -> int:
        ts = time.time_ns()
        if ts <= self.last_ts:
            ts = self.last_ts + 1
        self.last_ts = ts
        return ts

    async def run(self) -> None:
        q = self.queue
        tick_s = self.cfg.tick_s
        while True:
            try:
                first = await asyncio.wait_for(q.get(), tick_s)
            except TimeoutError:
                first = (None, {"cmd": "tick"}, time.perf_counter_ns())
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.cfg.max_batch and not q.empty():
                item = q.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            await self._process(batch)
            if stop:
                return

    async def _process(self, batch: list[Item]) -> None:
        m = self.metrics
        start = time.perf_counter_ns()
        cmds = []
        for _session, cmd, received in batch:
            m.record("queue", start - received)
            cmd["ts"] = self._stamp()
            cmds.append(cmd)
        t0 = time.perf_counter_ns()
        results = await asyncio.to_thread(self.jv.process, cmds)
        elapsed = time.perf_counter_ns() - t0
        commit = self.jv.last_commit_ns
        m.record("journal", commit)
        per = (elapsed - commit) // len(cmds)
        m.counters["commands"] += len(cmds)
        m.counters["batches"] += 1
        for (session, _cmd, received), events in zip(batch, results, strict=True):
            m.record("apply", per)
            m.counters["events"] += len(events)
            first = True
            for ev in events:
                self._route(ev, session)
                if first and session is not None:
                    m.record("wire_to_wire", time.perf_counter_ns() - received)
                    first = False

    def _route(self, ev: dict[str, Any], origin: Session | None) -> None:
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

    def close(self) -> None:
        self.jv.close()
        self.storage.close()


__all__ = ["Engine"]
