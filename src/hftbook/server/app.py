"""`hftbook serve`: the engine task, the gateways, and an orderly start and stop.

Start: recover the journal under `data_dir` (the state after every acknowledged command),
define the configured instruments it lacks, then open the gateways. Stop (SIGINT, SIGTERM,
or `Server.stop()`): refuse new commands, let the engine finish everything already queued
(journaled, committed, answered), log every session out (`shutdown`), fsync and close the
journal. A graceful stop does not cancel resting orders (cancel-on-disconnect is for clients
that go away; the engine has stopped before the sessions are logged out), so GTC orders
outlive a restart. A failed journal write or fsync stops the server at once: sessions are
told `server_error` and nothing more is acknowledged.

`cfg.pipeline` puts the engine, journal and market data in processes of their own
(pipeline.py); the gateways and this orderly start and stop are the same either way, and a
pipeline process that dies is a fatal error like a failed journal.

Invariants: the event loop is uvloop when installed (else asyncio's); nothing is acknowledged
that the journal does not hold; `ready` is set once clients can connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

from hftbook.server.config import ServerConfig
from hftbook.server.engine import Engine
from hftbook.server.gateway_tcp import TcpGateway
from hftbook.server.gateway_ws import WsGateway
from hftbook.server.metrics import Metrics
from hftbook.server.pipeline import PipelineEngine, journal_dirs
from hftbook.server.router import Router


class Server:
    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self.metrics = Metrics()
        self.engine: Router | None = None
        self.gateway: WsGateway | None = None
        self.binary: TcpGateway | None = None
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self.port = cfg.port
        self.binary_port = cfg.binary_port

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        engine: Router
        if self.cfg.pipeline:
            pipeline = PipelineEngine(self.cfg, self.metrics)
            try:
                await pipeline.start()
            except BaseException:
                pipeline.close()
                raise
            engine = self.engine = pipeline
        else:
            journal_dirs(self.cfg)  # refuses a data_dir the pipeline wrote with several engines
            engine = self.engine = Engine(self.cfg, self.metrics)
        gateway = self.gateway = WsGateway(self.cfg, engine, self.metrics)
        ws = await gateway.start()
        self.port = ws.sockets[0].getsockname()[1] if ws.sockets else self.cfg.port
        binary = self.binary = TcpGateway(self.cfg, engine, self.metrics, gateway.sessions, gateway.auth)
        tcp = await binary.start()
        self.binary_port = tcp.sockets[0].getsockname()[1] if tcp.sockets else self.cfg.binary_port
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        engine_task = asyncio.create_task(engine.run())
        self.ready.set()
        stopper = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait({engine_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        status = 0
        if engine_task in done:  # the engine stopped by itself: a fatal error
            stopper.cancel()
            exc = engine_task.exception()
            print(f"hftbook serve: engine stopped: {exc!r}", file=sys.stderr)
            gateway.close_all("server_error")
            status = 1
        else:
            await gateway.shutdown()
            binary.accepting = False
            await engine.queue.put(None)  # after everything already queued
            await engine_task
            gateway.close_all("shutdown")
        await asyncio.sleep(0.05)  # let the writers send their logouts
        ws.close()
        tcp.close()
        await ws.wait_closed()
        await tcp.wait_closed()
        engine.close()
        return status


def serve(cfg: ServerConfig) -> int:
    """Run until stopped (Ctrl-C / SIGTERM); the exit status."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is optional
        factory = None

    async def main() -> int:
        server = Server(cfg)
        task = asyncio.create_task(server.run())
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():  # the start failed (a damaged journal, a process that died): say why
            ready.cancel()
            return await task
        where = f"{cfg.host}:{server.port}"
        md = ""
        if isinstance(server.engine, PipelineEngine):
            md = f", ws://{cfg.host}:{server.engine.md_port} (market data; {cfg.engines} engine process(es))"
        print(f"hftbook serve: ws://{where} (JSON), tcp://{cfg.host}:{server.binary_port} (SBE){md}; metrics "
              f"http://{where}/metrics; journal in {cfg.data_dir}/, fsync {cfg.fsync}; Ctrl-C stops",
              file=sys.stderr, flush=True)
        return await task

    with asyncio.Runner(loop_factory=factory) as runner:
        status: int = runner.run(main())
    return status


__all__ = ["Server", "serve"]
