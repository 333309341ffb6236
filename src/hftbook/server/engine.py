"""The server's engine in its own process: one journaled venue, fed in batches.

The task takes whatever the gateways queued (up to `max_batch`, a `tick` after `tick_s` of
quiet so time-driven work runs), stamps each command with the venue's time, and hands the
batch to `JournaledVenue.process` in a worker thread, so the event loop goes on reading
sockets meanwhile. `process` journals, applies and commits (group commit: one fsync); only
after it returns are the events routed (router.py), so no acknowledgement, fill or market
data leaves before its command is durable. (`PipelineEngine` is the same front over engine,
journal and market-data processes.)

Invariants: the venue is touched by one thread at a time (the batch's worker; routing waits
for it); commands are applied in queue order, which is the journal's order; a failed journal
stops the server (`JournalFailed` propagates and the app shuts down without acknowledging).
"""

from __future__ import annotations

import asyncio
import time

from hftbook.journal.storage import DiskStorage
from hftbook.runtime.journaled import JournaledVenue
from hftbook.server.config import ServerConfig
from hftbook.server.metrics import Metrics
from hftbook.server.router import Item, Router


class Engine(Router):
    def __init__(self, cfg: ServerConfig, metrics: Metrics) -> None:
        self.storage = DiskStorage(cfg.data_dir)
        self.jv = JournaledVenue(self.storage, cfg.fsync, cfg.checkpoint_every)
        super().__init__(cfg, metrics, self.jv.venue.now)
        self._setup_instruments()

    def _setup_instruments(self) -> None:
        """Define the configured instruments the recovered venue does not have yet."""
        known = set(getattr(self.jv.venue.exchange, "instruments", {}))
        todo = [dict(i, cmd="instrument") for i in self.cfg.instruments if i["symbol"] not in known]
        if todo:
            for cmd in todo:
                cmd["ts"] = self.stamp()
            for events in self.jv.process(todo):
                bad = [e for e in events if e["type"] == "rejected"]
                if bad:
                    raise ValueError(f"instrument refused: {bad[0]['message']}")

    def symbols(self) -> list[str]:
        return sorted(getattr(self.jv.venue.exchange, "instruments", {}))

    async def run(self) -> None:
        while True:
            batch, stop = await self.next_batch()
            if batch:
                await self._process(batch)
            if stop:
                return

    async def _process(self, batch: list[Item]) -> None:
        m = self.metrics
        start = time.perf_counter_ns()
        cmds = []
        for _session, cmd, received in batch:
            m.record("queue", start - received)
            self.admit(cmd)
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
                self.route(ev, session)
                if first and session is not None:
                    m.record("wire_to_wire", time.perf_counter_ns() - received)
                    first = False

    def close(self) -> None:
        self.jv.close()
        self.storage.close()


__all__ = ["Engine"]
