"""`hftbook analyze EVENTS`: the file side of the analysis (reading, progress, output files).

Two passes over the input: the first checks every line and infers each symbol's units
(`scan.py`), the second analyzes (`run.py`). The second pass reads exactly the bytes the
first one did, so a file still being written is analyzed as it was at the first pass.
Standard input and other streams that cannot be read twice (a pipe, `<(...)`) are first
copied to an anonymous temporary file.

A bad line (not UTF-8, not JSON, not an event) stops the command at the first pass, with
its line number, before any work is wasted; with `skip_bad` it is skipped instead, listed on
stderr (the first few) and counted in the summary. Events that do not fit the book rebuilt
from the ones before (a file cut at the front, two replays concatenated) always stop it: every
number after that point would be wrong.

Exit status: 0 done (an empty input included), 1 the input or the output directory is
unusable, 2 bad usage (argparse), 130 interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from hftbook.analysis.progress import Progress
from hftbook.analysis.report import render
from hftbook.analysis.run import Analysis, AnalysisError, Analyzer, Options, auto_bar_ns
from hftbook.analysis.scan import COMMAND_NOT_EVENT, UnitsScan, check_event

PROGRESS_MIN_BYTES = 4_000_000  # below this the work takes about a second: no bar by default
UPDATE_EVERY = 1024  # lines between progress updates (keeps the clock off the hot path)
_DECODER = json.JSONDecoder()


def _parse(line: bytes) -> tuple[Any, str | None]:
    """The line's JSON value, or what is wrong with it."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    try:
        return _DECODER.decode(text), None
    except json.JSONDecodeError as exc:  # its str() says "line 1": only the column helps here
        return None, f"not JSON ({exc.msg} at column {exc.colno})"
    except ValueError as exc:
        return None, f"not JSON ({exc})"
    except RecursionError:
        return None, "not JSON (nested too deeply)"


def _lines(f: BinaryIO, limit: int | None, bar: Progress | None) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of the non-blank lines, stopping after `limit` bytes if given."""
    f.seek(0)
    done = 0
    for number, line in enumerate(f, 1):
        if limit is not None and done >= limit:
            break
        done += len(line)
        if bar is not None and number % UPDATE_EVERY == 0:
            bar.update(done)
        if line.strip():
            yield number, line
    if bar is not None:
        bar.update(done)


def _open(path: str, stdin: BinaryIO) -> BinaryIO:
    """The input as a binary file that can be read twice."""
    if path == "-":
        src = stdin
    else:
        f = open(path, "rb")  # noqa: SIM115 - returned open, or copied and closed below
        if stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return f
        src = f
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    try:
        shutil.copyfileobj(src, tmp)
    finally:
        if src is not stdin:
            src.close()
    tmp.seek(0)
    return tmp


def default_out_dir(path: str) -> Path:
    """Charts go next to a regular input file (`EVENTS.analysis/`), else to the current
    directory (`hftbook-analysis/`)."""
    if path != "-":
        try:
            if stat.S_ISREG(os.stat(path).st_mode):
                return Path(path + ".analysis")
        except OSError:
            pass
    return Path("hftbook-analysis")


class _Stop(Exception):
    """The command stops with this message (exit status 1)."""


def _scan_pass(src: BinaryIO, name: str, skip_bad: bool, bar: Progress | None) -> UnitsScan:
    """Pass 1: every line checked, the units inferred. Raises _Stop at a bad line unless
    `skip_bad`."""
    scan = UnitsScan()
    for number, line in _lines(src, None, bar):
        value, problem = _parse(line)
        if problem is None:
            problem = scan.add(number, value)  # counts it when it is not an event
        else:
            scan.bad_line(number, problem)
        if problem is not None and not skip_bad:
            hint = "" if problem == COMMAND_NOT_EVENT else " (--skip-bad skips such lines)"
            raise _Stop(f"{name} line {number}: {problem}{hint}")
    return scan


def _analysis_pass(src: BinaryIO, limit: int, scan: UnitsScan, options: Options,
                   bar: Progress | None) -> Analysis:
    """Pass 2 over the first `limit` bytes: the lines pass 1 accepted, analyzed."""
    analyzer = Analyzer(scan.units(), options)
    recheck = scan.bad > 0  # else every line is known good: no need to check again
    for number, line in _lines(src, limit, bar):
        value, problem = _parse(line)
        if problem is None and recheck:
            problem = check_event(value)
        if problem is None:
            analyzer.add(number, value)
        else:
            analyzer.skip()
    return analyzer.finish()


def run_analyze(path: str, *, out: str | None, plots: bool, bar_ns: int | None, points: int, skip_bad: bool,
                progress: bool | None, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """The whole command; returns the exit status. `progress` None: a bar when stderr is a
    terminal and the input is large."""
    name = "stdin" if path == "-" else path
    bar: Progress | None = None
    try:
        try:
            src = _open(path, stdin)
        except OSError as exc:
            raise _Stop(f"cannot read {name}: {exc.strerror or exc}") from exc
        with src:
            if plots:  # fail before the long part, not after it
                try:
                    from hftbook.analysis.plots import write_plots
                except ImportError as exc:
                    raise _Stop(f"the charts need matplotlib ({exc}): install it, or use --no-plots") from exc
            size = os.fstat(src.fileno()).st_size
            tty = stderr.isatty()
            show = progress if progress is not None else tty and size >= PROGRESS_MIN_BYTES
            bar = Progress(stderr, tty) if show else None
            try:
                if bar is not None:
                    bar.start("scanning", size)
                scan = _scan_pass(src, name, skip_bad, bar)
                scanned = src.tell()
                if bar is not None:
                    bar.close()
                for number, problem in scan.bad_lines:
                    stderr.write(f"hftbook analyze: {name} line {number}: {problem} (skipped)\n")
                if scan.bad > len(scan.bad_lines):
                    stderr.write(f"hftbook analyze: ... and {scan.bad - len(scan.bad_lines):,} more bad "
                                 "lines skipped\n")
                options = Options(bar_ns=bar_ns if bar_ns is not None else auto_bar_ns(scan.span),
                                  max_points=points)
                if bar is not None:
                    bar.start("analyzing", scanned)
                analysis = _analysis_pass(src, scanned, scan, options, bar)
            except AnalysisError as exc:
                raise _Stop(f"{name} {exc}") from exc
            except OSError as exc:
                raise _Stop(f"cannot read {name}: {exc.strerror or exc}") from exc
        if bar is not None:
            bar.close()
        stdout.write(render(analysis, name))
        stdout.flush()
        if not plots or not analysis.symbols:
            return 0
        out_dir = Path(out) if out is not None else default_out_dir(path)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            if bar is not None:
                bar.note(f"drawing {len(analysis.symbols)} chart(s) into {out_dir}")
            written = write_plots(analysis, out_dir)
        except OSError as exc:
            raise _Stop(f"cannot write the charts to {out_dir}: {exc.strerror or exc}") from exc
        if bar is not None:
            bar.close()
        stdout.write("\nCharts\n" + "".join(f"{p}\n" for p in written))
        stdout.flush()
        return 0
    except _Stop as stop:
        if bar is not None:
            bar.close()
        stderr.write(f"hftbook analyze: {stop}\n")
        return 1
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        stderr.write("hftbook analyze: interrupted\n")
        return 130
