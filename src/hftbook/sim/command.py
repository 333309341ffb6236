"""`hftbook simulate`: the command's side of the simulation (settings, progress, output files).

It builds the `SimConfig` from the options (one parent per requested algorithm, each its own
user `algo-<name>`, all on the same side, quantity and window), runs the market, prints the
summary (`report.render`) on stdout, and writes the PNGs (`plots.write_plots`) and, if asked,
the commands and the events as JSON lines (the commands file replays to the events file).

The progress bar (`hftbook.analysis.progress.Progress`, on stderr) is the only thing that
reads a clock, to pace its redraws; stdout and the files are functions of the options only.

Exit status: 0 done, 1 an output file or directory is unusable, 2 bad options, 130
interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from hftbook.analysis.progress import WIDTH, Progress
from hftbook.core.instrument import Instrument
from hftbook.core.numbers import parse_decimal
from hftbook.replay import dump
from hftbook.sim.agents import Command
from hftbook.sim.market import SECOND, Event, MarketConfig, ParentSpec, SimConfig, run
from hftbook.sim.report import render

ALGOS = ("twap", "vwap", "pov")
Recorder = Callable[[Command, list[Event]], None]
PERIOD = 0.1  # seconds between redraws on a terminal, as Progress


@dataclass(frozen=True, slots=True)
class Options:
    seed: int = 1
    duration_ns: int = 30 * SECOND
    algos: tuple[str, ...] = ALGOS
    qty: str = "500"
    side: str = "buy"
    start_ns: int | None = None  # default: 20% into the run
    end_ns: int | None = None  # default: 90% into the run
    interval_ns: int | None = None  # default: the window / 40
    pov_pct: str = "10"
    style: str = "ioc"
    market: MarketConfig = field(default_factory=MarketConfig)


class UsageError(Exception):
    """Options that do not make a simulation (exit status 2)."""


def _step_floor(ns: int, step: int) -> int:
    return ns // step * step


def build_config(o: Options) -> SimConfig:
    """The simulation the options describe; raises UsageError when they do not fit."""
    m = o.market
    step = m.step_ns
    if o.duration_ns < 10 * step:
        raise UsageError(f"the run must last at least 10 steps of {step} ns")
    start = o.start_ns if o.start_ns is not None else _step_floor(o.duration_ns // 5, step)
    end = o.end_ns if o.end_ns is not None else _step_floor(o.duration_ns * 9 // 10, step)
    if not 0 <= start < end <= o.duration_ns:
        raise UsageError("the algorithms' window must satisfy 0 <= start < end <= duration")
    inst = Instrument(m.symbol, Decimal(m.tick), Decimal(m.lot))
    qty = inst.qty_from_wire(o.qty)
    if not isinstance(qty, int) or isinstance(qty, bool):
        raise UsageError(f"--qty must be a positive multiple of the lot {m.lot}, not {o.qty!r}")
    for name in o.algos:
        if name not in ALGOS:
            raise UsageError(f"unknown algorithm {name!r} (choose from {', '.join(ALGOS)})")
    pct = parse_decimal(o.pov_pct)
    if "pov" in o.algos and (pct is None or not 0 < pct <= 100):
        raise UsageError(f"--pov-pct must be a number in (0, 100], not {o.pov_pct!r}")
    interval = o.interval_ns if o.interval_ns is not None else max(1, _step_floor((end - start) // 40, step))
    specs = []
    for i, name in enumerate(o.algos):
        rank = o.algos[:i].count(name) + 1
        user = f"algo-{name}" if rank == 1 else f"algo-{name}-{rank}"
        fields: list[tuple[str, Any]] = [("style", o.style)]
        if name == "pov":
            fields.append(("pov_pct", o.pov_pct))
        else:
            fields.insert(0, ("interval_ns", interval))
        specs.append(ParentSpec(name, user, "p1", o.side, qty, start, end, tuple(fields)))
    return SimConfig(o.seed, o.duration_ns, m, tuple(specs))


class StepBar:
    """`on_step` for `market.run`: drives a Progress bar in simulated seconds.

    Progress formats its own `update` in bytes, so the bar line is drawn here and shown
    through `Progress.note`; the pacing is Progress's: ten redraws a second on a terminal,
    a line per tenth of the run elsewhere."""

    def __init__(self, bar: Progress, tty: bool, total_ns: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bar, self.tty, self.total, self.clock = bar, tty, max(1, total_ns), clock
        self.last = -PERIOD
        self.tenth = -1

    def __call__(self, ts: int) -> None:
        frac = min(1.0, ts / self.total)
        if self.tty:
            now = self.clock()
            if now - self.last < PERIOD and ts < self.total:
                return
            self.last = now
            filled = int(frac * WIDTH)
            self.bar.note(f"simulating [{'#' * filled}{'.' * (WIDTH - filled)}] {frac:4.0%}  "
                          f"{ts / SECOND:,.1f} of {self.total / SECOND:,.1f} simulated s")
        else:
            tenth = int(frac * 10)
            if tenth > self.tenth:
                self.tenth = tenth
                self.bar.note(f"simulating: {tenth * 10}% ({ts / SECOND:,.1f} of {self.total / SECOND:,.1f} "
                              "simulated s)")


def run_simulate(o: Options, *, out: str, plots: bool, progress: bool | None, events_path: str | None,
                 commands_path: str | None, stdout: TextIO, stderr: TextIO) -> int:
    """The whole command; returns the exit status. `progress` None: a bar on a terminal."""
    try:
        config = build_config(o)
    except UsageError as exc:
        stderr.write(f"hftbook simulate: {exc}\n")
        return 2
    tty = stderr.isatty()
    bar = Progress(stderr, tty) if (progress if progress is not None else tty) else None
    try:
        with ExitStack() as files:
            sinks: dict[str, TextIO] = {}
            for what, path in (("commands", commands_path), ("events", events_path)):
                if path is not None:
                    try:
                        sinks[what] = files.enter_context(open(path, "w", encoding="utf-8"))
                    except OSError as exc:
                        stderr.write(f"hftbook simulate: cannot write {path}: {exc.strerror or exc}\n")
                        return 1
            on_apply = _recorder(sinks.get("commands"), sinks.get("events"))
            result = run(config, on_step=StepBar(bar, tty, config.duration_ns) if bar else None,
                         on_apply=on_apply)
        if bar is not None:
            bar.close()
        for ev in result.refused:
            stderr.write(f"hftbook simulate: the venue refused {ev.get('user')}'s algo command: "
                         f"{ev.get('reason')} ({ev.get('message', '')})\n")
        if result.refused:
            return 2
        stdout.write(render(result))
        stdout.flush()
        if not plots:
            return 0
        out_dir = Path(out)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            if bar is not None:
                bar.note(f"drawing the charts into {out_dir}")
            from hftbook.sim.plots import write_plots

            written = write_plots(result, out_dir)
        except OSError as exc:
            stderr.write(f"hftbook simulate: cannot write the charts to {out_dir}: {exc.strerror or exc}\n")
            return 1
        finally:
            if bar is not None:
                bar.close()
        stdout.write("\nCharts\n" + "".join(f"{p}\n" for p in written))
        stdout.flush()
        return 0
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        stderr.write("hftbook simulate: interrupted\n")
        return 130


def _recorder(commands: TextIO | None, events: TextIO | None) -> Recorder | None:
    if commands is None and events is None:
        return None

    def record(cmd: Command, evs: list[Event]) -> None:
        if commands is not None:
            commands.write(dump(cmd) + "\n")
        if events is not None:
            for ev in evs:
                events.write(dump(ev) + "\n")

    return record
