"""The `hftbook` command line: replay, analyze, demo."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hftbook", description="A matching engine in Python.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_replay = sub.add_parser("replay", help="apply a file of JSON commands, print the events")
    p_replay.add_argument("file", help="JSON lines of contract commands ('-' for stdin)")

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

    args = parser.parse_args(argv)
    if args.command == "replay":
        return _replay(args.file)
    if args.command == "analyze":
        from hftbook.analysis.command import run_analyze

        return run_analyze(args.events, out=args.out, plots=not args.no_plots, bar_ns=args.bar,
                           points=args.points, skip_bad=args.skip_bad, progress=args.progress,
                           stdin=sys.stdin.buffer, stdout=sys.stdout, stderr=sys.stderr)
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


def _points(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 10:
        raise argparse.ArgumentTypeError(f"at least 10 points, not {n}")
    return n + n % 2  # the sampler halves its buckets two by two: an even count


def _replay(path: str) -> int:
    from hftbook.replay import dump, replay_file, replay_lines

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
