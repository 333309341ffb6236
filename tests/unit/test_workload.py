"""The workload generators: deterministic, shaped as promised, and in step with the engine.

Shapes are checked on what the engine does with the messages (events), not only on what the
generator meant to send.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from hftbook.core.exchange import Exchange
from hftbook.core.types import EV_ACCEPTED, EV_CANCELLED, EV_REJECTED, EV_TRADE, IOC, MARKET, SELL
from hftbook.workload import (
    CANCEL,
    MODIFY,
    NEW,
    SCENARIOS,
    Flow,
    FlowConfig,
    Message,
    apply_message,
    counts,
    new_exchange,
    run_batch,
    scenario,
)


@dataclass
class Outcome:
    """What the engine did with a message stream."""

    final: dict[int, str] = field(default_factory=dict)  # order id -> live/filled/cancelled
    kinds: dict[int, str] = field(default_factory=dict)  # order id -> limit/ioc/market/...
    rejects: Counter[str] = field(default_factory=Counter)
    trades: int = 0
    # per message that printed trades: (lowest, highest) trade price, in ticks
    spans: list[tuple[int, int]] = field(default_factory=list)


def run(ex: Exchange, msgs: list[Message], out: Outcome) -> Outcome:
    for m in msgs:
        apply_message(ex, m)
        lo = hi = None
        for e in ex.out:
            kind = e[0]
            if kind == EV_ACCEPTED:
                o = e[1]
                out.final[o.oid] = "live"
                out.kinds[o.oid] = "market" if e[2] == MARKET else ("ioc" if o.tif == IOC else "other")
            elif kind == EV_CANCELLED:
                out.final[e[1].oid] = "cancelled"
            elif kind == EV_TRADE:
                out.trades += 1
                price = e[3]
                lo = price if lo is None else min(lo, price)
                hi = price if hi is None else max(hi, price)
                for o in (e[1], e[2]):
                    if not o.qty:
                        out.final[o.oid] = "filled"
            elif kind == EV_REJECTED:
                out.rejects[e[2]] += 1
        if lo is not None and hi is not None:
            out.spans.append((lo, hi))
        del ex.out[:]
    return out


def engine_live(ex: Exchange) -> dict[tuple[str, Any], tuple[str, int, int, int]]:
    return {
        (user, cid): (o.symbol, o.side, o.price, o.qty)
        for user, orders in ex.live.items()
        for cid, o in orders.items()
    }


# -- determinism ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenarios_are_deterministic_for_a_seed(name: str) -> None:
    a = scenario(name, 3000, 11)
    b = scenario(name, 3000, 11)
    assert a.instruments == b.instruments
    assert a.warmup == b.warmup
    assert a.messages == b.messages
    c = scenario(name, 3000, 12)
    assert c.messages != a.messages


def test_flow_is_deterministic_and_resumable() -> None:
    one = Flow(5)
    first = one.take(500) + one.take(500)
    two = Flow(5)
    assert two.take(1000) == first


def test_unknown_scenario_is_an_error() -> None:
    with pytest.raises(ValueError):
        scenario("nope", 10, 1)


# -- the generator's shadow book matches the engine ----------------------------------------------


@pytest.mark.parametrize("symbols", [1, 3])
def test_shadow_book_matches_the_engine(symbols: int) -> None:
    syms = [("S0", 10_000.0), ("S1", 2_500.0), ("S2", 40_000.0)][:symbols]
    flow = Flow(3, syms, FlowConfig(target=800))
    ex = new_exchange([(s, Decimal("0.01"), Decimal("1")) for s, _ in syms])
    out = run(ex, flow.seed_book(800), Outcome())
    out = run(ex, flow.take(20_000), out)
    assert engine_live(ex) == flow.live_orders()
    # Only the deliberate misses are refused, as unknown orders.
    assert set(out.rejects) <= {"unknown_order"}


def test_batch_runner_and_single_dispatch_agree() -> None:
    sc = scenario("normal", 5000, 2)
    a = sc.new_exchange()
    run_batch(a, sc.warmup + sc.messages, clear_every=333)
    assert a.out == []
    b = sc.new_exchange()
    for m in sc.warmup + sc.messages:
        apply_message(b, m)
    assert engine_live(a) == engine_live(b)
    assert a.seq == b.seq


# -- scenario shapes, measured through the engine ---------------------------------------------


def test_normal_flow_shape() -> None:
    sc = scenario("normal", 40_000, 1)
    ex = sc.new_exchange()
    run_batch(ex, sc.warmup)
    out = run(ex, sc.messages, Outcome())
    c = counts(sc.messages)
    ended = Counter(v for v in out.final.values() if v != "live")
    cancelled_share = ended["cancelled"] / (ended["cancelled"] + ended["filled"])
    assert 0.85 <= cancelled_share <= 0.95, cancelled_share
    assert 0.12 <= c["ioc"] / c[NEW] <= 0.18
    assert 0.17 <= c[MODIFY] / c["messages"] <= 0.23
    assert c["market"] > 0 and c["fok"] > 0
    accepted_kinds = Counter(out.kinds.values())
    assert 0.12 <= accepted_kinds["ioc"] / len(out.kinds) <= 0.18
    assert out.trades > 1000
    # Cancels and modifies hit live orders; the few misses are refused as unknown.
    assert set(out.rejects) == {"unknown_order"}
    assert out.rejects["unknown_order"] <= 0.02 * (c[CANCEL] + c[MODIFY])


def test_deep_book_after_warmup() -> None:
    sc = scenario("deep", 1000, 1)
    ex = sc.new_exchange()
    run_batch(ex, sc.warmup)
    resting = sum(len(orders) for orders in ex.live.values())
    book = ex.books[sc.instruments[0][0]]
    levels = len(book.depth(True, 10_000)) + len(book.depth(False, 10_000))
    assert 18_000 <= resting <= 22_000
    assert 50 <= levels <= 70


def test_crash_walks_thousands_of_ticks() -> None:
    sc = scenario("crash", 20_000, 1)
    ex = sc.new_exchange()
    run_batch(ex, sc.warmup)
    book = ex.books["AAPL"]
    bids = book.depth(True, 100_000)
    assert bids[0][0] - bids[-1][0] >= 3000  # the ladder
    out = run(ex, sc.messages, Outcome())
    walks = sorted((hi - lo for lo, hi in out.spans), reverse=True)
    assert walks[0] >= 1000
    assert sum(walks[:3]) >= 3000
    sells = [m for m in sc.messages if m[0] == NEW and m[5] == MARKET and m[4] == SELL]
    assert max(m[7] for m in sells) > 100_000  # lots: the crash orders are large


def test_cancel_storm_has_long_cancel_bursts() -> None:
    sc = scenario("cancel_storm", 30_000, 1)
    longest = run_len = 0
    for m in sc.messages:
        run_len = run_len + 1 if m[0] == CANCEL else 0
        longest = max(longest, run_len)
    assert longest >= 5000
    ex = sc.new_exchange()
    run_batch(ex, sc.warmup)
    out = run(ex, sc.messages, Outcome())
    assert set(out.rejects) <= {"unknown_order"}


def test_multi_symbol_spreads_flow_over_symbols() -> None:
    sc = scenario("multi_symbol", 20_000, 1)
    assert len(sc.instruments) >= 5
    per_symbol = Counter(m[3] for m in sc.messages if m[0] == NEW)
    assert set(per_symbol) == {sym for sym, _, _ in sc.instruments}
    assert per_symbol.most_common()[0][1] > 2 * per_symbol.most_common()[-1][1]  # Zipf-ish
    ex = sc.new_exchange()
    run_batch(ex, sc.warmup)
    out = run(ex, sc.messages, Outcome())
    assert set(out.rejects) <= {"unknown_order"}


def test_mixed_is_plain_adds_cancels_and_markets() -> None:
    sc = scenario("mixed", 20_000, 1)
    c = counts(sc.messages)
    assert c[MODIFY] == 0 and c["ioc"] == 0 and c["fok"] == 0
    assert 0.03 <= c["market"] / c["messages"] <= 0.08
    ex = sc.new_exchange()
    run_batch(ex, sc.warmup)
    out = run(ex, sc.messages, Outcome())
    assert not out.rejects


# -- the demo ------------------------------------------------------------------------------


def test_demo_runs_for_a_second_and_exits_cleanly() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hftbook.cli", "demo", "--seconds", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "hftbook demo:" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_demo_percentiles_without_hdrhistogram() -> None:
    from hftbook.demo import Percentiles

    p = Percentiles()
    p.hist = None  # the fallback: a sorted sample
    p.add(list(range(1, 1001)))
    p50, p99, p999 = p.quantiles()
    assert (p50, p99, p999) == (501, 991, 1000)
    assert p.max == 1000
