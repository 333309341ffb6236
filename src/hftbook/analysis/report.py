"""The summary as text: two aligned tables with a row per symbol (trades, then the book).

Number formats: prices and quantities that are whole ticks and lots print exactly as
canonical decimals (no exponent, no trailing zeros, like the events); derived prices (VWAP,
mid, microprice), which need not terminate, are rounded half-even to two decimal places more
than the symbol's prices have; counts get thousands separators; ratios print with fixed
decimals. "-" marks a value that is undefined (no trade, a one-sided book).

Invariants: pure; the text depends only on the `Analysis` (symbols in sorted order), so the
same input prints the same bytes.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hftbook.analysis.run import Analysis, SymbolReport
from hftbook.analysis.scan import places_of
from hftbook.core.numbers import canonical, fraction_str

NA = "-"
EXTRA_PLACES = 2  # derived prices get this many decimal places beyond the symbol's own


def duration(ns: int) -> str:
    """A span of the input clock for people: 850 ns, 12.5 us, 3.2 ms, 4.25 s, 1h 02m 03s."""
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.3g} us"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.3g} ms"
    s = ns / 1e9
    if s < 60:
        return f"{s:.3g} s"
    whole = int(s)
    h, rest = divmod(whole, 3600)
    m, sec = divmod(rest, 60)
    if h >= 24:
        d, h = divmod(h, 24)
        return f"{d}d {h:02d}h {m:02d}m"
    return f"{h}h {m:02d}m {sec:02d}s" if h else f"{m}m {sec:02d}s"


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Columns two spaces apart: the first left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _d(x: Decimal | None) -> str:
    return NA if x is None else canonical(x)


def _p(x: Fraction | None, places: int) -> str:
    return NA if x is None else fraction_str(x, places)


def _f(x: float | None, fmt: str) -> str:
    return NA if x is None else format(x, fmt)


def _trades_row(r: SymbolReport) -> list[str]:
    places = places_of(r.tick) + EXTRA_PLACES
    return [r.symbol, f"{r.events:,}", f"{r.trades:,}", canonical(r.volume), canonical(r.notional),
            _p(r.vwap, places), _d(r.first_price), _d(r.high), _d(r.low), _d(r.last_price),
            duration(r.last_ts - r.first_ts)]


def _book_row(r: SymbolReport) -> list[str]:
    places = places_of(r.tick) + EXTRA_PLACES
    return [r.symbol, canonical(r.tick), canonical(r.lot), _f(r.spread_bps_mean, ".2f"),
            _f(r.spread_bps_last, ".2f"), _f(r.imbalance_mean, "+.3f"), _p(r.mid, places),
            _p(r.microprice, places), _f(None if r.rv is None else r.rv * 100, ".4f"), _d(r.ofi_total),
            f"{r.halts:,}"]


def render(analysis: Analysis, source: str) -> str:
    """The whole summary, ending with a newline."""
    a = analysis
    out = [f"hftbook analyze: {source}"]
    if a.skipped:
        out.append(f"skipped {a.skipped:,} bad line{'s' if a.skipped != 1 else ''} (listed on stderr)")
    if not a.events:
        out.append("no events: nothing to analyze")
        return "\n".join(out) + "\n"
    first = a.first_ts if a.first_ts is not None else 0
    last = a.last_ts if a.last_ts is not None else first
    out.append(f"{a.events:,} events in {a.batches:,} batches, {len(a.symbols):,} "
               f"symbol{'s' if len(a.symbols) != 1 else ''}, ts {first} .. {last} ({duration(last - first)})")
    if a.ts_backwards:
        out.append(f"{a.ts_backwards:,} events had a ts below an earlier event's: analysed at the latest "
                   "ts seen")
    if not a.symbols:
        out.append("no event names a symbol: nothing to tabulate")
        return "\n".join(out) + "\n"
    out += ["", "Trades"]
    out += table(["symbol", "events", "trades", "volume", "notional", "vwap", "first", "high", "low", "last",
                  "span"], [_trades_row(r) for r in a.symbols])
    out += ["", "Book (avg: mean over the batches; last, mid, microprice: at the end)"]
    out += table(["symbol", "tick", "lot", "avg spread bps", "last spread bps", "avg imbalance", "mid",
                  "microprice", "rv %", "ofi total", "halts"], [_book_row(r) for r in a.symbols])
    return "\n".join(out) + "\n"
