"""`hftbook analyze`: per-symbol summaries and charts of a replay's events.

The computation is pure and needs no files: `analyze(events)` takes the event dicts
`hftbook replay` prints (parsed) and returns an `Analysis`; `render` makes the summary
table of it. The command around it (`command.py`: two passes over a file, a progress bar,
PNG charts with `plots.py`) is the only part that does I/O. See docs/ANALYZE.md.

    from hftbook.replay import replay_lines
    from hftbook.analysis import analyze, render
    analysis = analyze(replay_lines(open("orders.jsonl")))
    print(render(analysis, "orders.jsonl"))
    analysis.symbols[0].vwap       # an exact Fraction of a price

Modules: `scan.py` (what an event is; units per symbol), `run.py` (the analysis),
`sampling.py` (bounded chart data), `report.py` (the table), `plots.py` (matplotlib),
`progress.py` (the progress bar), `command.py` (the command).
"""

from hftbook.analysis.report import render
from hftbook.analysis.run import (
    Analysis,
    AnalysisError,
    Analyzer,
    Options,
    SymbolReport,
    analyze,
    auto_bar_ns,
)
from hftbook.analysis.scan import UnitsScan, check_event

__all__ = [
    "Analysis", "AnalysisError", "Analyzer", "Options", "SymbolReport", "UnitsScan", "analyze", "auto_bar_ns",
    "check_event", "render",
]
