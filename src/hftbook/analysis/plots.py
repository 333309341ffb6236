"""PNG charts of one symbol's analysis, drawn with matplotlib's Agg renderer (no display).

One figure per symbol, four panels over a shared time axis (seconds since the first event's
ts; the event number when every event has the same ts, as when the commands had none):

1. price: the mid and the microprice (the state at the end of each chart bucket, drawn as
   steps) and the trades (each bucket's lowest and highest print, joined by a line);
2. the L1 imbalance (the bucket's mean) and its EWMA;
3. the spread in basis points (the bucket's mean);
4. volume bars: each OHLCV bar's volume, green when it closed at or above its open, red
   below (no bars without a time axis).
Bucketing is `sampling.py`'s: a few thousand points at most, whatever the input's size.

Nothing here goes through `matplotlib.pyplot`: a `Figure` with its own Agg canvas keeps no
global state, so drawing many symbols never piles figures up in memory, and no display
backend is ever picked.
"""

from __future__ import annotations

import re
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hftbook.analysis.report import EXTRA_PLACES, duration
from hftbook.analysis.run import Analysis, SymbolReport
from hftbook.analysis.scan import places_of
from hftbook.core.numbers import canonical, fraction_str

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
UP, DOWN = "#2a9d57", "#d1495b"


def file_names(symbols: list[str]) -> dict[str, str]:
    """A PNG file name per symbol: unsafe characters become `_`, and names that would then
    collide (or are empty) get the symbol's rank in sorted order appended."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for i, sym in enumerate(sorted(symbols)):
        base = _UNSAFE.sub("_", sym).lstrip(".") or "symbol"
        name = f"{base}.png"
        if name.lower() in taken:
            name = f"{base}-{i + 1}.png"
        taken.add(name.lower())  # case-insensitive file systems
        names[sym] = name
    return names


def _plain(ax: Axes) -> None:
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.grid(True, alpha=0.3)


def figure(r: SymbolReport, t0: int, by_time: bool) -> Figure:
    """The four-panel chart of one symbol (see the module docstring)."""
    smp = r.samples
    tick, lot = float(r.tick), float(r.lot)
    x = [(t - t0) / 1e9 for t in smp.ts] if by_time else [float(n) for n in smp.seq]
    fig = Figure(figsize=(12, 10), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1, sharex=True, height_ratios=[3, 1.4, 1.4, 1.4])
    ax_p, ax_i, ax_s, ax_v = (axes[i] for i in range(4))
    vwap = "-" if r.vwap is None else fraction_str(r.vwap, places_of(r.tick) + EXTRA_PLACES)
    fig.suptitle(f"{r.symbol}: {r.events:,} events, {r.trades:,} trades, volume {canonical(r.volume)}, "
                 f"VWAP {vwap}")

    tx = [xi for xi, lo in zip(x, smp.lo, strict=True) if lo == lo]
    lo = [v * tick for v in smp.lo if v == v]
    hi = [v * tick for v in smp.hi if v == v]
    if tx:
        # Behind the lines: on a long input the prints would otherwise hide the mid.
        ax_p.vlines(tx, lo, hi, color="0.72", lw=1, zorder=1)
        ax_p.scatter(tx + tx, lo + hi, s=4, color="0.6", label="trades (low-high)", zorder=1)
    ax_p.plot(x, [m * tick for m in smp.mid], drawstyle="steps-post", lw=1.1, label="mid", zorder=3)
    ax_p.plot(x, [m * tick for m in smp.micro], drawstyle="steps-post", lw=0.8, alpha=0.85,
              label="microprice", zorder=2)
    ax_p.set_ylabel("price")
    ax_p.legend(loc="upper left", fontsize="small")
    _plain(ax_p)

    ax_i.plot(x, smp.imbalance_means(), drawstyle="steps-post", lw=0.6, alpha=0.5, label="L1 imbalance")
    ax_i.plot(x, smp.ewma, lw=1.2, label="EWMA")
    ax_i.axhline(0, color="0.5", lw=0.6)
    ax_i.set_ylim(-1.05, 1.05)
    ax_i.set_ylabel("imbalance")
    ax_i.legend(loc="upper left", fontsize="small")
    _plain(ax_i)

    ax_s.plot(x, smp.spread_means(), drawstyle="steps-post", lw=0.9, color="#8e5cc4")
    ax_s.set_ylabel("spread (bps)")
    ax_s.set_ylim(bottom=0)
    _plain(ax_s)

    bars = r.bars
    if by_time and bars.bars:
        width = bars.interval / 1e9
        ax_v.bar([(b.start - t0) / 1e9 for b in bars.bars], [b.volume * lot for b in bars.bars], width=width,
                 align="edge", color=[UP if b.close >= b.open else DOWN for b in bars.bars], linewidth=0)
        ax_v.set_ylabel(f"volume / {duration(bars.interval)}")
    else:
        ax_v.text(0.5, 0.5, "no volume bars: no trades" if by_time else "no volume bars: no time axis",
                  transform=ax_v.transAxes, ha="center", va="center", color="0.4")
        ax_v.set_ylabel("volume")
    _plain(ax_v)
    ax_v.set_xlabel(f"seconds since ts {t0}" if by_time else "event number")
    return fig


def write_plots(analysis: Analysis, out_dir: Path) -> list[Path]:
    """One PNG per symbol into `out_dir` (which must exist); returns the paths written."""
    t0 = analysis.first_ts or 0
    by_time = (analysis.last_ts or 0) > t0
    names = file_names([r.symbol for r in analysis.symbols])
    written = []
    for r in analysis.symbols:
        path = out_dir / names[r.symbol]
        figure(r, t0, by_time).savefig(path, format="png")
        written.append(path)
    return written
