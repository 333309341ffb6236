"""PNG charts of a simulation, drawn with matplotlib's Agg renderer (no display).

- one figure per parent (`<user>.png`, made file-safe), two panels over simulated seconds:
  1. the target schedule (the engine's own target at each step) and the cumulative executed
     quantity, as steps, with the window [start_ts, end_ts] shaded;
  2. the price path: the fair value, the mid at the end of each step, the parent's fills
     (triangles up for buys, down for sells, sized by quantity), the arrival price and the
     parent's average price;
- `market.png`: the fair value, mid and last trade price at each step, the trades, every
  parent's window, and the volume traded per second.

As in `hftbook.analysis.plots`, nothing goes through `matplotlib.pyplot`: each `Figure` has
its own Agg canvas, so no global state and no display backend. Invariants: the figures are
functions of the `SimResult`; file names are unique (case-insensitively) in the run.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hftbook.analysis.report import EXTRA_PLACES
from hftbook.core.instrument import Instrument
from hftbook.core.numbers import fraction_str
from hftbook.sim.market import SECOND, SimResult
from hftbook.sim.parents import ParentRun, executed_path, parents, target_path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
BUY, SELL = "#2a9d57", "#d1495b"


def file_names(runs: list[ParentRun]) -> list[str]:
    """A PNG name per parent: its user (and id when a user has several), file-safe, unique."""
    users = [r.user for r in runs]
    taken = {"market.png"}
    names = []
    for i, r in enumerate(runs):
        base = r.user if users.count(r.user) == 1 else f"{r.user}-{r.id}"
        base = _UNSAFE.sub("_", base).lstrip(".") or "parent"
        name = f"{base}.png"
        if name.lower() in taken:
            name = f"{base}-{i + 1}.png"
        taken.add(name.lower())
        names.append(name)
    return names


def _secs(ts: list[int]) -> list[float]:
    return [t / SECOND for t in ts]


def _mids(result: SimResult) -> list[float]:
    tick = float(result.inst.tick)
    return [(s.bid + s.ask) * tick / 2 if s.bid is not None and s.ask is not None else float("nan")
            for s in result.samples]


def parent_figure(run: ParentRun, result: SimResult) -> Figure:
    inst = result.inst
    tick, lot = float(inst.tick), float(inst.lot)
    ts = [s.ts for s in result.samples]
    x = _secs(ts)
    fig = Figure(figsize=(12, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1])
    ax_q, ax_p = axes[0], axes[1]
    e = run.end or {}
    done = f"{e['reason']} at {e['ts'] / SECOND:g} s" if run.end is not None else "not finished"
    fig.suptitle(f"{run.algo} {run.side} {inst.qty_str(run.qty)} {inst.symbol} ({run.label}): executed "
                 f"{e.get('executed', inst.qty_str(run.executed))}, avg {_price(e.get('avg_price'), inst)}, "
                 f"slippage vs arrival {_bps(e.get('slippage_bps_arrival'))}, {done}")

    window = (run.start_ts / SECOND, run.end_ts / SECOND)
    for ax in (ax_q, ax_p):
        ax.axvspan(*window, color="0.93", zorder=0)
        ax.grid(True, alpha=0.3)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax_q.plot(x, [v * lot for v in target_path(run, result, ts)], drawstyle="steps-post", lw=1.4,
              label="target schedule")
    ax_q.plot(x, [v * lot for v in executed_path(run, ts)], drawstyle="steps-post", lw=1.4,
              label="executed (cumulative)")
    ax_q.axhline(run.qty * lot, color="0.5", lw=0.7, ls="--", label="parent quantity")
    ax_q.set_ylabel("quantity")
    ax_q.set_ylim(0, run.qty * lot * 1.05)
    ax_q.legend(loc="upper left", fontsize="small")

    ax_p.plot(x, [s.fair * tick for s in result.samples], lw=0.8, color="0.55", label="fair value")
    ax_p.plot(x, _mids(result), drawstyle="steps-post", lw=1.0, label="mid")
    if run.fills:
        big = max(f.qty for f in run.fills)
        ax_p.scatter([f.ts / SECOND for f in run.fills], [f.price * tick for f in run.fills],
                     s=[8 + 40 * f.qty / big for f in run.fills], marker="^" if run.side == "buy" else "v",
                     color=BUY if run.side == "buy" else SELL, alpha=0.7, label="fills", zorder=3)
    for key, style, name in (("arrival_price", "--", "arrival"), ("avg_price", ":", "avg price")):
        value = e.get(key)
        if value is not None:
            ax_p.axhline(float(Decimal(value)), color="0.2", lw=0.9, ls=style,
                         label=f"{name} {_price(value, inst)}")
    ax_p.set_ylabel("price")
    ax_p.set_xlabel("simulated seconds")
    ax_p.legend(loc="upper left", fontsize="small")
    return fig


def _price(raw: object, inst: Instrument) -> str:
    """A derived price from an event, rounded as the table rounds it."""
    if not isinstance(raw, str):
        return "-"
    return fraction_str(Fraction(Decimal(raw)), inst.tick_places + EXTRA_PLACES)


def _bps(x: object) -> str:
    return "-" if not isinstance(x, float | int) else f"{x:+.2f} bps"


def market_figure(result: SimResult, runs: list[ParentRun]) -> Figure:
    inst = result.inst
    tick, lot = float(inst.tick), float(inst.lot)
    samples = result.samples
    x = _secs([s.ts for s in samples])
    fig = Figure(figsize=(12, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax_p, ax_v = axes[0], axes[1]
    cfg = result.config
    fig.suptitle(f"{inst.symbol}: seed {cfg.seed}, {len(result.trades):,} trades, "
                 f"{result.commands:,} commands (shaded: the algorithms' window)")
    for r in runs:
        ax_p.axvspan(r.start_ts / SECOND, r.end_ts / SECOND, color="0.95", zorder=0)
    if result.trades:
        ax_p.scatter([t.ts / SECOND for t in result.trades], [t.price * tick for t in result.trades], s=2,
                     color="0.65", label="trades", zorder=1)
    ax_p.plot(x, [s.fair * tick for s in samples], lw=0.9, color="0.3", label="fair value", zorder=2)
    ax_p.plot(x, _mids(result), drawstyle="steps-post", lw=1.0, label="mid", zorder=3)
    ax_p.set_ylabel("price")
    ax_p.legend(loc="upper left", fontsize="small")
    ax_p.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax_p.grid(True, alpha=0.3)

    seconds = max(1, -(-cfg.duration_ns // SECOND))  # the last step's ts (the end) joins the last second
    volume = [0.0] * seconds
    for t in result.trades:
        volume[min(t.ts // SECOND, seconds - 1)] += t.qty * lot
    ax_v.bar(list(range(seconds)), volume, width=1.0, align="edge", color="#4c72b0", linewidth=0)
    ax_v.set_ylabel("volume / s")
    ax_v.set_xlabel("simulated seconds")
    ax_v.grid(True, alpha=0.3)
    return fig


def write_plots(result: SimResult, out_dir: Path) -> list[Path]:
    """`market.png` and one PNG per parent into `out_dir` (which must exist); the paths."""
    runs = parents(result)
    path = out_dir / "market.png"
    market_figure(result, runs).savefig(path, format="png")
    written = [path]
    for run, name in zip(runs, file_names(runs), strict=True):
        path = out_dir / name
        parent_figure(run, result).savefig(path, format="png")
        written.append(path)
    return written
