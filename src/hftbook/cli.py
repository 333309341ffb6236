"""The `hftbook` command line: replay, demo."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hftbook", description="A matching engine in Python.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_replay = sub.add_parser("replay", help="apply a file of JSON commands, print the events")
    p_replay.add_argument("file", help="JSON lines of contract commands ('-' for stdin)")

    p_demo = sub.add_parser("demo", help="run a realistic order flow with a live display")
    p_demo.add_argument("--seconds", type=float, default=0.0,
                        help="stop after this long (0: until Ctrl-C)")
    p_demo.add_argument("--seed", type=int, default=7)

    args = parser.parse_args(argv)
    if args.command == "replay":
        return _replay(args.file)
    if args.command == "demo":
        from hftbook.demo import run_demo

        return run_demo(seconds=args.seconds, seed=args.seed)
    return 2  # pragma: no cover - argparse rejects unknown commands


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
