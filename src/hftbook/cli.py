"""The `hftbook` command line: serve, client, stats, replay, analyze, demo, simulate, profile, wal."""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hftbook", description="A matching engine in Python.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_replay = sub.add_parser("replay", help="apply a file of JSON commands, print the events")
    p_replay.add_argument("file", help="JSON lines of commands ('-' for stdin), or a journal directory")

    p_an = sub.add_parser(
        "analyze", help="summarise and chart a replay's events (docs/ANALYZE.md)",
        description="Rebuild each symbol's book from hftbook replay's events, print a summary table "
                    "and draw PNG charts (price, imbalance, spread, volume).")
    p_an.add_argument("events", metavar="EVENTS",
                      help="JSON lines of events, as hftbook replay prints them ('-' for stdin)")
    p_an.add_argument("--out", metavar="DIR",
                      help="directory for the PNG charts (default: EVENTS.analysis/ next to the input; "
                           "./hftbook-analysis/ for stdin)")
    p_an.add_argument("--no-plots", action="store_true", help="print the summary only, draw no charts")
    p_an.add_argument("--bar", metavar="SECONDS", type=_seconds,
                      help="volume bar length in seconds of the events' ts (default: a round length "
                           "giving about 100 bars)")
    p_an.add_argument("--points", metavar="N", type=_points, default=2000,
                      help="at most this many chart points per symbol (default 2000)")
    p_an.add_argument("--skip-bad", action="store_true",
                      help="skip lines that are not events (listed on stderr, counted in the summary) "
                           "instead of stopping at the first")
    shown = p_an.add_mutually_exclusive_group()
    shown.add_argument("--progress", dest="progress", action="store_const", const=True,
                       help="show a progress bar on stderr (default: on a terminal, for inputs over 4 MB)")
    shown.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                       help="never show the progress bar")

    p_demo = sub.add_parser("demo", help="run a realistic order flow with a live display")
    p_demo.add_argument("--seconds", type=float, default=0.0,
                        help="stop after this long (0: until Ctrl-C)")
    p_demo.add_argument("--seed", type=int, default=7)

    p_sim = sub.add_parser(
        "simulate", help="a seeded market of agents with execution algorithms sent in (docs/SIMULATE.md)",
        description="Run a seeded market (market makers around a drifting fair value, noise takers, "
                    "momentum traders) on the engine, send one parent per algorithm into it, print a "
                    "comparison table and draw PNGs of schedule vs execution.")
    p_sim.add_argument("--seed", type=int, default=1, help="the simulation seed (default 1)")
    p_sim.add_argument("--duration-s", metavar="SECONDS", type=_seconds, default=30 * 1_000_000_000,
                       help="simulated time (default 30)")
    p_sim.add_argument("--algos", type=_algos, default=("twap", "vwap", "pov"),
                       help="comma-separated algorithms, one parent each: twap, vwap, pov (default all "
                            "three; 'none' for the market alone)")
    p_sim.add_argument("--qty", default="500", help="each parent's quantity (default 500)")
    p_sim.add_argument("--side", choices=("buy", "sell"), default="buy",
                       help="the parents' side (default buy)")
    p_sim.add_argument("--start-s", metavar="SECONDS", type=_seconds_or_zero,
                       help="the parents' start_ts in simulated seconds (default: 20%% of the run)")
    p_sim.add_argument("--end-s", metavar="SECONDS", type=_seconds,
                       help="the parents' end_ts in simulated seconds (default: 90%% of the run)")
    p_sim.add_argument("--interval-s", metavar="SECONDS", type=_seconds,
                       help="twap and vwap slice interval (default: the window / 40)")
    p_sim.add_argument("--pov-pct", default="10",
                       help="pov's target share of the others' volume, in %% (default 10)")
    p_sim.add_argument("--style", choices=("ioc", "passive"), default="ioc",
                       help="the children's style (default ioc)")
    p_sim.add_argument("--makers", type=_count, default=4, help="market makers (default 4)")
    p_sim.add_argument("--noise", type=_count, default=6, help="noise takers (default 6)")
    p_sim.add_argument("--momentum", type=_count, default=2, help="momentum traders (default 2)")
    p_sim.add_argument("--drift", type=_drift, default=0.0,
                       help="bias of the fair value's moves, -0.5 .. 0.5 (default 0: none)")
    p_sim.add_argument("--out", metavar="DIR", default="sim-out",
                       help="directory for the PNGs (default ./sim-out)")
    p_sim.add_argument("--no-plots", action="store_true", help="print the table only, draw no charts")
    p_sim.add_argument("--events", metavar="FILE", help="also write every event as JSON lines (for analyze)")
    p_sim.add_argument("--commands", metavar="FILE", help="also write every command as JSON lines")
    sim_shown = p_sim.add_mutually_exclusive_group()
    sim_shown.add_argument("--progress", dest="progress", action="store_const", const=True,
                           help="show a progress bar on stderr (default: on a terminal)")
    sim_shown.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                           help="never show the progress bar")

    p_prof = sub.add_parser("profile", help="learn a VWAP volume profile from events (docs/ALGO.md)")
    p_prof.add_argument("events", help="JSON lines of events (replay's output, a recorded day)")
    p_prof.add_argument("--buckets", type=int, required=True, help="one weight per slice interval")
    p_prof.add_argument("--symbol", help="only this symbol's trades")

    p_serve = sub.add_parser("serve", help="run the exchange server (WebSocket gateway, journal)")
    p_serve.add_argument("--config", help="a TOML file (hftbook.server.config); else the defaults")
    p_serve.add_argument("--port", type=int, help="override the JSON gateway's port")
    p_serve.add_argument("--binary-port", type=int, help="override the SBE gateway's port")
    p_serve.add_argument("--data", help="override the journal directory")
    p_serve.add_argument("--pipeline", action="store_true",
                         help="engine, journal and market data in processes of their own, joined by rings")
    p_serve.add_argument("--engines", type=int, help="engine processes to shard the symbols over (pipeline)")
    p_serve.add_argument("--md-port", type=int, help="the pipeline's market-data feed port")

    p_cli = sub.add_parser("client", help="send commands to a running server and print the answers")
    p_cli.add_argument("commands", nargs="*", help="JSON commands (no user, no ts); none: stdin lines")
    p_cli.add_argument("--url", default="ws://127.0.0.1:8765")
    p_cli.add_argument("--key", default="demo-key-1")
    p_cli.add_argument("--secret", default="demo-secret-1")
    p_cli.add_argument("--wait", type=float, default=0.3, help="seconds to wait for more answers")

    p_load = sub.add_parser("load", help="open-loop load on a server; latency from planned send times")
    p_load.add_argument("--url", default="ws://127.0.0.1:8765", help="ws://... (JSON), tcp://host:port (SBE)")
    p_load.add_argument("--rate", type=int, default=2000, help="commands per second (default 2000)")
    p_load.add_argument("--seconds", type=float, default=10.0)
    p_load.add_argument("--connections", type=int, default=4)
    p_load.add_argument("--symbol", default="AAPL")
    p_load.add_argument("--seed", type=int, default=1)
    p_load.add_argument("--png", help="write a latency-by-percentile chart here")

    p_stats = sub.add_parser("stats", help="a running server's latency percentiles and counters")
    p_stats.add_argument("--url", default="http://127.0.0.1:8765/metrics")

    from hftbook.journal.tools import add_parser as add_wal_parser

    add_wal_parser(sub)

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "client":
        from hftbook.server.tools import run_client

        return run_client(args.url, args.key, args.secret, args.commands, args.wait)
    if args.command == "load":
        return _load(args)
    if args.command == "stats":
        from hftbook.server.tools import run_stats

        return run_stats(args.url)
    if args.command == "profile":
        return _profile(args.events, args.buckets, args.symbol)
    if args.command == "wal":
        from hftbook.journal.tools import run as run_wal

        return run_wal(args)
    if args.command == "replay":
        return _replay(args.file)
    if args.command == "analyze":
        from hftbook.analysis.command import run_analyze

        return run_analyze(args.events, out=args.out, plots=not args.no_plots, bar_ns=args.bar,
                           points=args.points, skip_bad=args.skip_bad, progress=args.progress,
                           stdin=sys.stdin.buffer, stdout=sys.stdout, stderr=sys.stderr)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "demo":
        from hftbook.demo import run_demo

        return run_demo(seconds=args.seconds, seed=args.seed)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _seconds(text: str) -> int:
    """A positive number of seconds, as whole nanoseconds (at least 1)."""
    try:
        ns = Decimal(text) * 1_000_000_000
    except ArithmeticError:  # InvalidOperation ("abc"), Overflow ("1e999999999")
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not ns.is_finite() or ns < 1:
        raise argparse.ArgumentTypeError(f"a bar must last at least 1 ns, not {text!r} s")
    return int(ns)


def _seconds_or_zero(text: str) -> int:
    """As `_seconds`, zero allowed."""
    try:
        zero = Decimal(text) == 0
    except ArithmeticError:
        zero = False
    return 0 if zero else _seconds(text)


def _algos(text: str) -> tuple[str, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    names = tuple(n.strip().lower() for n in text.split(","))
    for n in names:
        if n not in ("twap", "vwap", "pov"):
            raise argparse.ArgumentTypeError(f"unknown algorithm {n!r} (twap, vwap, pov)")
    return names


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= n <= 100:
        raise argparse.ArgumentTypeError(f"between 0 and 100, not {n}")
    return n


def _drift(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not -0.5 <= x <= 0.5:
        raise argparse.ArgumentTypeError(f"between -0.5 and 0.5, not {text}")
    return x


def _simulate(args: argparse.Namespace) -> int:
    from hftbook.sim.command import Options, run_simulate
    from hftbook.sim.market import MarketConfig

    market = MarketConfig(market_makers=args.makers, noise_takers=args.noise, momentum_traders=args.momentum,
                          fair_drift=args.drift)
    options = Options(seed=args.seed, duration_ns=args.duration_s, algos=args.algos, qty=args.qty,
                      side=args.side, start_ns=args.start_s, end_ns=args.end_s, interval_ns=args.interval_s,
                      pov_pct=args.pov_pct, style=args.style, market=market)
    try:
        return run_simulate(options, out=args.out, plots=not args.no_plots, progress=args.progress,
                            events_path=args.events, commands_path=args.commands, stdout=sys.stdout,
                            stderr=sys.stderr)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as `cat` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit's flush
        return 141


def _points(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 10:
        raise argparse.ArgumentTypeError(f"at least 10 points, not {n}")
    return n + n % 2  # the sampler halves its buckets two by two: an even count


def _serve(args: argparse.Namespace) -> int:
    from hftbook.server.app import serve
    from hftbook.server.config import ConfigError, check, load

    try:
        cfg = load(args.config)
        for name, value in (("port", args.port), ("binary_port", args.binary_port), ("data_dir", args.data),
                            ("engines", args.engines), ("md_port", args.md_port)):
            if value is not None:
                setattr(cfg, name, value)
        if args.pipeline or args.engines is not None:
            cfg.pipeline = True
        check(cfg)
    except ConfigError as exc:
        print(f"hftbook serve: {exc}", file=sys.stderr)
        return 2
    from hftbook.journal.recovery import CorruptJournal
    from hftbook.server.pipeline import PipelineFailed

    try:
        return serve(cfg)
    except (OSError, ConfigError, CorruptJournal, PipelineFailed) as exc:
        print(f"hftbook serve: {exc}", file=sys.stderr)
        return 1


def _load(args: argparse.Namespace) -> int:
    import asyncio

    from hftbook.server.load import plot, report, run_load

    if args.rate < 1 or args.seconds <= 0 or args.connections < 1:
        print("hftbook load: --rate, --seconds and --connections must be positive", file=sys.stderr)
        return 2
    try:
        r = asyncio.run(run_load(args.url, args.rate, args.seconds, args.connections, args.symbol,
                                 seed=args.seed, progress=sys.stderr.isatty()))
    except OSError as exc:
        print(f"hftbook load: {exc}", file=sys.stderr)
        return 1
    print(report(r, args.rate))
    if args.png:
        plot(r, args.png, f"{args.rate:,}/s over {args.connections} connections")
        print(f"wrote {args.png}", file=sys.stderr)
    return 0


def _profile(path: str, buckets: int, symbol: str | None) -> int:
    """Print the `profile` field for a vwap parent: the trades' volume per time bucket."""
    import json

    from hftbook.algo.profile import learn_profile

    try:
        with open(path, encoding="utf-8") as f:
            weights = learn_profile((json.loads(line) for line in f if line.strip()), buckets, symbol)
    except (OSError, ValueError) as exc:
        print(f"hftbook profile: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(weights))
    return 0


def _replay(path: str) -> int:
    from hftbook.replay import dump, replay_file, replay_lines

    if path != "-" and os.path.isdir(path):  # a journal directory: its commands, replayed
        from hftbook.journal.tools import run as run_wal

        return run_wal(argparse.Namespace(action="replay", directory=path, full=False, yes=False,
                                          progress=False))
    try:
        if path == "-":
            for event in replay_lines(sys.stdin):
                sys.stdout.write(dump(event) + "\n")
        else:
            replay_file(path, sys.stdout)
    except OSError as exc:
        print(f"hftbook replay: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"hftbook replay: {path} is not UTF-8 text: {exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
