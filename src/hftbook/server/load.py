"""`hftbook load`: an open-loop load generator for a running server.

`--url ws://...` drives the JSON gateway, `--url tcp://host:port` the SBE one. Commands are
planned at a fixed rate (`--rate` per second, spread over `--connections`
sessions round-robin) and sent at their planned times whatever the server does; each one's
latency is measured from its *planned* send time to its first answer, so a server that
stalls is charged for every command that should have gone out meanwhile (no coordinated
omission). The flow: resting limit orders a few ticks around a mid, cancels of the
connection's older orders (so the book stays bounded) and now and then a marketable IOC.

Output: sent, answered, the achieved rate, HDR percentiles (p50 .. p99.9, max) of the
latency, and with `--png` a chart of latency by percentile. A progress line on stderr.

Invariants: the flow is a function of `--seed`; the generator reads the clock only to pace
and to time (that is its job); a command not answered within `--timeout` after the run is
counted as lost and reported.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from hftbook import protocol as p
from hftbook.server.binary_client import BinaryClient
from hftbook.server.client import AsyncClient


@dataclass
class LoadResult:
    planned: int = 0
    sent: int = 0
    answered: int = 0
    refused: int = 0
    seconds: float = 0.0
    hist: Any = field(default_factory=lambda: HdrHistogram(1, 60 * 10**9, 3))

    def percentiles(self) -> dict[str, float]:
        h = self.hist
        out = {f"p{q}": h.get_value_at_percentile(q) / 1000 for q in (50, 90, 99, 99.9)}
        out["max"] = h.get_max_value() / 1000
        return out


class _Json:
    """The JSON gateway as the load's transport."""

    def __init__(self, c: AsyncClient) -> None:
        self.c = c

    async def send(self, cmd: dict[str, Any]) -> None:
        await self.c.send(cmd)

    async def answer(self) -> tuple[Any, str]:
        """(client id, what: accepted / rested / rejected / other) of the next message."""
        msg = await self.c.recv(None)
        ev = msg.get("event")
        if ev is None:
            return None, "rejected" if msg.get("type") == "session_reject" else "other"
        kind = ev["type"]
        return ev.get("id"), "rested" if kind == "accepted" and ev.get("rests") else kind

    async def close(self) -> None:
        await self.c.close()


class _Binary:
    """The SBE gateway as the load's transport (commands become their protocol messages)."""

    def __init__(self, c: BinaryClient) -> None:
        self.c = c
        self.ioc: set[Any] = set()

    async def send(self, cmd: dict[str, Any]) -> None:
        if cmd.get("tif") == "ioc":
            self.ioc.add(cmd["id"])
        await self.c.send(p.message_from_command(cmd))

    async def answer(self) -> tuple[Any, str]:
        msg = await self.c.recv(None)
        if isinstance(msg, p.ExecutionReportNew):
            cid = msg.cl_ord_id
            return cid, "accepted" if cid in self.ioc else "rested"
        if isinstance(msg, p.ExecutionReportRejected):
            return msg.cl_ord_id, "rejected"
        if isinstance(msg, p.BusinessReject):
            return None, "rejected"
        return getattr(msg, "cl_ord_id", None), "other"

    async def close(self) -> None:
        self.c.close()


async def _open(url: str, key: str, secret: str) -> _Json | _Binary:
    if url.startswith("tcp://"):
        host, _, port = url[len("tcp://"):].rpartition(":")
        return _Binary(await BinaryClient.open(host, int(port), key, secret, heartbeat_ms=30_000))
    return _Json(await AsyncClient.open(url, key, secret, heartbeat_s=30))


async def _connection(url: str, key: str, secret: str, times: list[int], symbol: str, mid: float,
                      tick: float, rng: random.Random, result: LoadResult, timeout: float) -> None:
    c = await _open(url, key, secret)
    pending: dict[Any, int] = {}  # client id -> planned ns
    live: list[Any] = []  # answered resting orders of this connection, cancel candidates
    done = asyncio.Event()

    async def reader() -> None:
        while True:
            try:
                cid, kind = await c.answer()
            except Exception:  # the connection closed: stop reading
                done.set()
                return
            if cid in pending:
                planned = pending.pop(cid)
                if kind == "rested":
                    live.append(cid)  # resting and answered: a later cancel may name it
                result.hist.record_value(max(1, time.perf_counter_ns() - planned))
                result.answered += 1
                if kind == "rejected":
                    result.refused += 1
                if not pending and done.is_set():
                    return
            elif kind == "rejected" and cid is None:
                result.refused += 1

    task = asyncio.create_task(reader())
    for n, planned in enumerate(times):
        delay = (planned - time.perf_counter_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        roll = rng.random()
        if roll < 0.4 and live:
            target = live.pop(rng.randrange(len(live)))
            cmd: dict[str, Any] = {"cmd": "cancel", "id": target}
            pending[target] = planned  # the answer names the cancelled order's id
        else:
            cid: Any = n
            side = rng.choice(("buy", "sell"))
            if roll > 0.93:
                price = mid + (3 * tick if side == "buy" else -3 * tick)
                cmd = {"cmd": "new", "id": cid, "symbol": symbol, "side": side, "type": "limit",
                       "price": f"{price:.2f}", "qty": "1", "tif": "ioc"}
            else:
                offset = rng.randint(1, 8) * tick
                price = mid - offset if side == "buy" else mid + offset
                cmd = {"cmd": "new", "id": cid, "symbol": symbol, "side": side, "type": "limit",
                       "price": f"{price:.2f}", "qty": str(rng.randint(1, 5))}
            pending[cid] = planned
        await c.send(cmd)
        result.sent += 1
    done.set()
    try:
        await asyncio.wait_for(task, timeout)
    except TimeoutError:
        task.cancel()
    await c.close()


async def run_load(url: str, rate: int, seconds: float, connections: int, symbol: str = "AAPL",
                   mid: float = 190.0, tick: float = 0.01, seed: int = 1, timeout: float = 10.0,
                   keys: list[tuple[str, str]] | None = None, progress: bool = True,
                   markets: list[tuple[str, float, float]] | None = None) -> LoadResult:
    """`markets`: (symbol, mid, tick) per connection in turn, instead of `symbol` for all."""
    keys = keys or [(f"demo-key-{i}", f"demo-secret-{i}") for i in range(1, 5)]
    books = markets or [(symbol, mid, tick)]
    total = int(rate * seconds)
    start = time.perf_counter_ns() + 200_000_000  # 0.2 s to connect first
    plan: list[list[int]] = [[] for _ in range(connections)]
    for k in range(total):
        plan[k % connections].append(start + k * 1_000_000_000 // rate)
    result = LoadResult(planned=total)
    rngs = [random.Random(seed * 1000 + i) for i in range(connections)]
    tasks = []
    for i in range(connections):
        key, secret = keys[i % len(keys)]
        sym, book_mid, book_tick = books[i % len(books)]
        tasks.append(asyncio.create_task(_connection(url, key, secret, plan[i], sym, book_mid, book_tick,
                                                     rngs[i], result, timeout)))
    t0 = time.perf_counter()
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.5)
        if progress:
            sys.stderr.write(f"\rload: {result.sent:,}/{total:,} sent, {result.answered:,} answered\x1b[K")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\r\x1b[K")
    for t in tasks:
        t.result()  # a connection that failed raises here
    result.seconds = time.perf_counter() - t0
    return result


def report(r: LoadResult, rate: int) -> str:
    p = r.percentiles()
    lost = r.sent - r.answered
    return (f"planned {r.planned:,} at {rate:,}/s; sent {r.sent:,}, answered {r.answered:,} "
            f"({r.refused:,} refused), lost {lost:,}; {r.answered / r.seconds:,.0f} answers/s "
            f"over {r.seconds:.1f} s\n"
            f"latency from planned send (us): p50 {p['p50']:,.0f}  p90 {p['p90']:,.0f}  p99 {p['p99']:,.0f}  "
            f"p99.9 {p['p99.9']:,.0f}  max {p['max']:,.0f}")


def plot(r: LoadResult, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    qs = [50, 75, 90, 95, 99, 99.5, 99.9, 99.99]
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(range(len(qs)), [r.hist.get_value_at_percentile(q) / 1000 for q in qs], marker="o")
    ax.set_xticks(range(len(qs)), [f"p{q}" for q in qs])
    ax.set_yscale("log")
    ax.set_ylabel("latency from planned send (us)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


__all__ = ["LoadResult", "plot", "report", "run_load"]
