"""Where the engine spends its time on a scenario: a driver for profilers.

    python -m bench.hotspots --scenario mixed --cprofile          # cProfile, top functions
    py-spy record -r 2000 -f raw -o mixed.txt -- \\
        python -m bench.hotspots --scenario mixed --repeat 20     # sampling, low overhead
    python -m bench.hotspots --summarize mixed.txt                # shares from py-spy's output

`--gc tuned` applies the benchmark's tuned GC policy; under the default policy the time of
young collections is charged to whichever line allocated when a collection started.

The driver builds the scenario once (untimed), then applies its messages `--repeat` times, each
time on a fresh exchange with the warmup applied, through `hftbook.workload.run_batch`.
cProfile charges its own per-call overhead to every function, which inflates small, often
called functions; py-spy samples the running interpreter and does not, so prefer its shares.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

from bench.gc_policy import POLICIES, GcPolicy
from hftbook.workload import SCENARIOS, Scenario, run_batch, scenario


def drive(sc: Scenario, repeat: int, policy: str) -> float:
    """Seconds spent applying the measured messages `repeat` times (warmups excluded)."""
    total = 0.0
    for _ in range(repeat):
        ex = sc.new_exchange()
        run_batch(ex, sc.warmup)
        with GcPolicy(policy):
            t0 = time.perf_counter()
            run_batch(ex, sc.messages)
            total += time.perf_counter() - t0
    return total


def summarize(path: Path, top: int) -> str:
    """Self and inclusive shares per function, and self shares per source line, from a
    py-spy `--format raw` (collapsed stacks, with line numbers) file.

    Only samples whose stack passes through `run_batch` count, so building the scenario and
    the warmup are left out of the shares.
    """
    fn_self: Counter[str] = Counter()
    fn_incl: Counter[str] = Counter()
    line_self: Counter[tuple[str, str, int]] = Counter()
    total = 0
    for row in path.read_text().splitlines():
        stack, _, count_s = row.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        frames = [_parse(f) for f in stack.split(";")]
        starts = [i for i, (func, _, _) in enumerate(frames) if func == "run_batch"]
        if not starts:
            continue
        frames = frames[starts[-1]:]
        count = int(count_s)
        total += count
        func, file, line = frames[-1]
        fn_self[f"{func} ({Path(file).name})"] += count
        line_self[(func, file, line)] += count
        for name in dict.fromkeys(f"{f} ({Path(p).name})" for f, p, _ in frames):
            fn_incl[name] += count
    if not total:
        return "no samples under run_batch"
    out = [f"{total} samples under run_batch", "", "by function, self time:"]
    out += [f"  {100.0 * n / total:5.1f}%  {name}" for name, n in fn_self.most_common(top)]
    out += ["", "by function, inclusive (the function and what it calls):"]
    out += [f"  {100.0 * n / total:5.1f}%  {name}" for name, n in fn_incl.most_common(top)]
    out += ["", "by source line, self time:"]
    for (func, file, line), n in line_self.most_common(top):
        out.append(f"  {100.0 * n / total:5.1f}%  {Path(file).name}:{line} {func}: {_source(file, line)}")
    return "\n".join(out)


def _parse(frame: str) -> tuple[str, str, int]:
    """'func (path/to/file.py:123)' -> ('func', 'path/to/file.py', 123)."""
    func, _, where = frame.partition(" (")
    file, _, line = where.rstrip(")").rpartition(":")
    return func, file, int(line) if line.isdigit() else 0


def _source(file: str, line: int) -> str:
    """The text of a source line; py-spy gives paths relative to an import root."""
    root = Path(__file__).resolve().parent.parent
    for path in (Path(file), root / "src" / file, root / file):
        if path.is_file():
            lines = path.read_text().splitlines()
            return lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hotspots", description=__doc__.split("\n")[0])
    p.add_argument("--scenario", choices=SCENARIOS, default="mixed")
    p.add_argument("--n", type=int, default=200_000, help="measured messages")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--gc", choices=POLICIES, default="default",
                   help="GC policy while applying the messages (see bench.gc_policy)")
    p.add_argument("--cprofile", action="store_true", help="run under cProfile and print the top")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--summarize", type=Path, help="summarize a py-spy raw file and exit")
    args = p.parse_args(argv)
    if args.summarize:
        print(summarize(args.summarize, args.top))
        return 0
    sc = scenario(args.scenario, args.n, args.seed)
    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        spent = drive(sc, args.repeat, args.gc)
        prof.disable()
        stats = pstats.Stats(prof, stream=sys.stdout)
        stats.strip_dirs().sort_stats("tottime").print_stats(args.top)
    else:
        spent = drive(sc, args.repeat, args.gc)
    n = len(sc.messages) * args.repeat
    print(f"{args.scenario} ({args.gc} GC): {n:,} messages in {spent:.2f}s ({n / spent:,.0f} msg/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
