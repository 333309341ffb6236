"""The simulation's summary as plain text: the market, the crowd, then one row per algorithm.

The algorithm rows are read from each parent's `algo_done` / `algo_cancelled` event (the
engine's own statistics, docs/ALGO.md): executed, average price, arrival price, market VWAP,
slippage against both, participation and schedule deviation; completion is executed / qty.
Derived prices are rounded half-even to two decimal places more than the tick (as `hftbook
analyze` prints them), bps to two decimals, shares as percentages; "-" marks an undefined
value (nothing executed, no trade in the window).

Invariants: pure; the text is a function of the `SimResult` only (no clock, no run time),
agents and parents in their fixed order, so the same seed prints the same bytes.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hftbook.analysis.report import EXTRA_PLACES, duration, table
from hftbook.core.numbers import canonical, fraction_str
from hftbook.sim.market import SimResult
from hftbook.sim.parents import ParentRun, parents

NA = "-"
KINDS = (("market_maker", "market makers"), ("noise", "noise takers"), ("momentum", "momentum traders"))
ALGO_HEADERS = ["algo", "user", "side", "qty", "executed", "completion %", "avg price", "arrival",
                "market vwap", "slip bps arrival", "slip bps vwap", "participation %", "sched dev %",
                "children", "end"]


def _price(raw: Any, places: int) -> str:
    if raw is None:
        return NA
    return fraction_str(Fraction(Decimal(str(raw))), places)


def _num(x: Any, fmt: str, scale: float = 1.0) -> str:
    return NA if x is None else format(float(x) * scale, fmt)


def completion(run: ParentRun, result: SimResult) -> Fraction | None:
    """Executed / qty from the end event (None while the parent has not ended)."""
    if run.end is None:
        return None
    executed = result.inst.qty_from_wire(run.end["executed"])
    assert isinstance(executed, int)
    return Fraction(executed, run.qty)


def algo_row(run: ParentRun, result: SimResult) -> list[str]:
    inst = result.inst
    places = inst.tick_places + EXTRA_PLACES
    e = run.end or {}
    done = completion(run, result)
    end = NA if run.end is None else f"{run.end['reason']} {duration(run.end['ts'])}"
    return [run.algo, run.user, run.side, inst.qty_str(run.qty), str(e.get("executed", NA)),
            NA if done is None else f"{float(done) * 100:.1f}", _price(e.get("avg_price"), places),
            _price(e.get("arrival_price"), places), _price(e.get("market_vwap"), places),
            _num(e.get("slippage_bps_arrival"), "+.2f"), _num(e.get("slippage_bps_vwap"), "+.2f"),
            _num(e.get("participation"), ".2f", 100), _num(e.get("schedule_deviation"), ".1f", 100),
            f"{run.children:,}", end]


def _crowd_rows(result: SimResult) -> list[list[str]]:
    rows = []
    for kind, name in KINDS:
        group = [a for a in result.agents if a.kind == kind]
        if not group:
            continue
        rows.append([name, str(len(group)), f"{sum(a.sent for a in group):,}",
                     f"{sum(a.traded for a in group):,}", f"{sum(a.position for a in group):+,}",
                     f"{min(a.position for a in group):+,} .. {max(a.position for a in group):+,}"])
    return rows


def render(result: SimResult) -> str:
    """The whole summary, ending with a newline."""
    cfg, inst = result.config, result.inst
    m = cfg.market
    places = inst.tick_places + EXTRA_PLACES
    trades = result.trades
    volume = sum(t.qty for t in trades)
    notional = sum(t.qty * t.price for t in trades)
    samples = result.samples
    out = [f"hftbook simulate: seed {cfg.seed}, {duration(cfg.duration_ns)} of {m.symbol} in "
           f"{len(samples):,} steps of {duration(m.step_ns)}",
           f"{result.commands:,} commands, {result.events:,} events, {len(trades):,} trades, volume "
           f"{inst.qty_str(volume) if volume else 0}"]
    if trades:
        vwap = fraction_str(Fraction(notional, volume) * Fraction(inst.tick), places)
        lo, hi = min(t.price for t in trades), max(t.price for t in trades)
        out.append(f"price: first {inst.price_str(trades[0].price)}, "
                   f"last {inst.price_str(trades[-1].price)}, low {inst.price_str(lo)}, "
                   f"high {inst.price_str(hi)}, vwap {vwap}")
    if samples:
        out.append(f"fair value: {inst.price_str(samples[0].fair)} -> {inst.price_str(samples[-1].fair)} "
                   f"(tick {canonical(inst.tick)}, lot {canonical(inst.lot)})")
    out += ["", "Crowd"]
    out += table(["agents", "count", "commands", "traded", "net position", "min .. max position"],
                 _crowd_rows(result))
    runs = parents(result)
    if runs:
        out += ["", "Algorithms (from algo_done / algo_cancelled; slippage: + is worse for the parent)"]
        out += table(ALGO_HEADERS, [algo_row(r, result) for r in runs])
    return "\n".join(out) + "\n"
