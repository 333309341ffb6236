"""`hftbook.analysis`: hand-checked numbers on a tiny replay, units inference, what counts as an
event, bounded sampling, the table, and the session volatility against the analytics.

The tiny session (symbol X, prices with up to 2 decimals, whole-lot quantities), by ts:
  1 s  mm rests a sell 10 @ 100.05 and a buy 20 @ 99.5   book 99.50 x 20 | 100.05 x 10
  2 s  a market buy of 4 takes 4 @ 100.05                 book 99.50 x 20 | 100.05 x 6
  3 s  an IOC sell of 25 @ 99.50 takes 20 @ 99.50         book      -     | 100.05 x 6
  4 s  mm rests a buy 5 @ 99.90                           book 99.90 x 5  | 100.05 x 6
  5 s  halt, then a `metrics` query (the engine's own numbers, to compare with)
Every expected value below is worked out in the comments.
"""

from __future__ import annotations

import io
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from hftbook.analysis import AnalysisError, Options, UnitsScan, analyze, auto_bar_ns, check_event, render
from hftbook.analysis.plots import file_names
from hftbook.analysis.progress import Progress
from hftbook.analysis.report import duration
from hftbook.analysis.run import RV_SCALE
from hftbook.analysis.sampling import NAN, BarSeries, Samples
from hftbook.analytics import Bar, BookSignals, SignalConfig, events
from hftbook.core.exchange import Exchange
from hftbook.core.numbers import canonical, fraction_str
from hftbook.marketdata import MarketDataFeed, SignalsDriver
from hftbook.replay import replay_lines

S = 1_000_000_000

TINY = [
    {"cmd": "instrument", "symbol": "X", "tick_size": "0.01", "lot_size": "1", "ts": 0},
    {"cmd": "new", "user": "mm", "id": "a", "symbol": "X", "side": "sell", "type": "limit", "price": "100.05",
     "qty": "10", "ts": 1 * S},
    {"cmd": "new", "user": "mm", "id": "b", "symbol": "X", "side": "buy", "type": "limit", "price": "99.5",
     "qty": "20", "ts": 1 * S},
    {"cmd": "new", "user": "t", "id": "m", "symbol": "X", "side": "buy", "type": "market", "qty": "4",
     "ts": 2 * S},
    {"cmd": "new", "user": "t", "id": "i", "symbol": "X", "side": "sell", "type": "limit", "price": "99.50",
     "qty": "25", "tif": "ioc", "ts": 3 * S},
    {"cmd": "new", "user": "mm", "id": "c", "symbol": "X", "side": "buy", "type": "limit", "price": "99.9",
     "qty": "5", "ts": 4 * S},
    {"cmd": "halt", "symbol": "X", "ts": 5 * S},
    {"cmd": "metrics", "symbol": "X"},
]


def _events(cmds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Through JSON text, as the command reads them (prices stay decimal strings).
    return [json.loads(json.dumps(e)) for e in replay_lines(json.dumps(c) for c in cmds)]


def test_tiny_session_by_hand() -> None:
    evs = _events(TINY)
    assert [e["type"] for e in evs] == ["accepted", "accepted", "accepted", "trade", "accepted", "trade",
                                        "cancelled", "accepted", "halted", "metrics"]
    a = analyze(evs)
    assert (a.events, a.batches, a.skipped, a.ts_backwards) == (10, 5, 0, 0)
    assert (a.first_ts, a.last_ts) == (1 * S, 5 * S)
    (x,) = a.symbols
    assert (x.symbol, x.tick, x.lot, x.events, x.halts) == ("X", Decimal("0.01"), Decimal(1), 10, 1)
    assert (x.first_ts, x.last_ts) == (1 * S, 5 * S)
    # 4 @ 100.05 and 20 @ 99.50: volume 24, notional 400.20 + 1990.00 = 2390.20
    assert (x.trades, x.volume, x.notional) == (2, Decimal(24), Decimal("2390.2"))
    assert x.vwap == Fraction("2390.2") / 24 == Fraction(11951, 120)  # 99.591666...
    assert (x.first_price, x.high, x.low, x.last_price) == (Decimal("100.05"), Decimal("100.05"),
                                                            Decimal("99.5"), Decimal("99.5"))
    # final book 99.90 x 5 | 100.05 x 6
    assert x.mid == Fraction("99.975")
    assert x.microprice == (Fraction("99.90") * 6 + Fraction("100.05") * 5) / 11  # 99.968181...
    assert x.spread_bps_last == 15 * 20000 / (9990 + 10005)  # 15 ticks over the mid, exactly as floats go
    assert x.imbalance_last == (5 - 6) / 11
    # samples: 1 s, 2 s, 3 s (no bid: no spread), 4 s, 5 s (the halt: values as at 4 s)
    s1, s4 = 55 * 20000 / (9950 + 10005), 15 * 20000 / (9990 + 10005)
    assert x.spread_bps_mean == (s1 + s1 + s4 + s4) / 4
    assert x.imbalance_mean == ((20 - 10) / 30 + (20 - 6) / 26 + -1.0 + (5 - 6) / 11 + (5 - 6) / 11) / 5
    # the mid (as bid + ask ticks) goes 19955, 19955, undefined, 19995: one return
    r = math.log(19995 / 19955)
    assert x.rv == math.sqrt(int(r * r * RV_SCALE) / RV_SCALE)
    assert x.rv == pytest.approx(abs(r), rel=1e-12)
    # OFI (lots): both sides appear +20 - 10; the ask shrinks 10 -> 6: +4; the bid goes: -20; a bid
    # appears: +5
    assert x.ofi_total == Decimal(10 + 4 - 20 + 5)
    # the engine's own metrics at the end agree
    m = evs[-1]
    assert Decimal(m["mid"]) == x.mid
    assert Decimal(m["microprice"]) == Decimal(fraction_str(x.microprice, 2 + 8))
    assert (m["spread_bps"], m["imbalance"]) == (x.spread_bps_last, x.imbalance_last)
    # one 60 s bar (the default) with both trades, in ticks and lots
    assert x.bars.bars == [Bar(0, 10005, 10005, 9950, 9950, 24, 10005 * 4 + 9950 * 20, 2)]
    smp = x.samples
    assert smp.ts == [1 * S, 2 * S, 3 * S, 4 * S, 5 * S]
    assert smp.seq == [2, 4, 7, 8, 10]  # events so far after each batch (the halt's holds the metrics)
    assert smp.lo[1:3] == [10005, 9950] and math.isnan(smp.lo[0]) and math.isnan(smp.hi[3])
    assert math.isnan(smp.mid[2]) and smp.mid[3] == (9990 + 10005) / 2


def test_tiny_session_table() -> None:
    text = render(analyze(_events(TINY)), "tiny.events")
    lines = text.splitlines()
    assert lines[0] == "hftbook analyze: tiny.events"
    assert lines[1] == "10 events in 5 batches, 1 symbol, ts 1000000000 .. 5000000000 (4 s)"
    trades = next(i for i, line in enumerate(lines) if line == "Trades")
    assert lines[trades + 1].split() == ["symbol", "events", "trades", "volume", "notional", "vwap", "first",
                                         "high", "low", "last", "span"]
    # VWAP 99.591666... rounded to 2 + 2 places; prices as the events print them
    assert lines[trades + 3].split() == ["X", "10", "2", "24", "2390.2", "99.5917", "100.05", "100.05",
                                         "99.5", "99.5", "4", "s"]
    book = next(i for i, line in enumerate(lines) if line.startswith("Book"))
    row = lines[book + 3].split()
    assert row[:3] == ["X", "0.01", "1"]
    assert row[6:8] == ["99.975", "99.9682"]  # microprice 99.96818... rounded half-even
    assert row[-2:] == ["-1", "1"]  # OFI total, halts


def test_bars_follow_the_bar_length() -> None:
    a = analyze(_events(TINY), options=Options(bar_ns=1 * S))
    bars = a.symbols[0].bars
    assert bars.interval == S
    assert bars.bars == [Bar(2 * S, 10005, 10005, 10005, 10005, 4, 40020, 1),
                         Bar(3 * S, 9950, 9950, 9950, 9950, 20, 199000, 1)]


def test_units_inference() -> None:
    scan = UnitsScan()
    evs: list[dict[str, Any]] = [
        {"type": "trade", "ts": 1, "symbol": "A", "trade_id": 1, "price": "100.05", "qty": "3", "side": "buy",
         "maker": {"order_id": 1}, "taker": {"order_id": 2}, "maker_refill": "0.125"},
        {"type": "accepted", "ts": 2, "symbol": "A", "order_id": 3, "price": "99.5", "qty": "1.50",
         "rests": [{"order_id": 3, "side": "buy", "price": "99.5", "qty": "1.5"}]},
        {"type": "accepted", "ts": 2, "symbol": "B", "order_id": 4, "price": "7", "qty": "2"},
        {"type": "rejected", "ts": 3, "symbol": "C", "reason": "bad_qty", "message": "x"},
        {"type": "book", "ts": 3, "symbol": "B", "bids": [["1.23456", "1", 1]], "asks": []},  # not read
    ]
    for i, e in enumerate(evs, 1):
        assert scan.add(i, e) is None
    units = scan.units()
    assert list(units) == ["A", "B", "C"]
    assert (units["A"].tick, units["A"].lot) == (Decimal("0.01"), Decimal("0.001"))  # 100.05; 0.125
    assert (units["B"].tick, units["B"].lot) == (Decimal(1), Decimal(1))
    assert (units["C"].tick, units["C"].lot) == (Decimal(1), Decimal(1))
    assert units["A"].price("99.5") == 9950 and units["A"].qty("1.50") == 1500
    assert (scan.events, scan.bad, scan.min_ts, scan.max_ts, scan.span) == (5, 0, 1, 3, 2)


@pytest.mark.parametrize(("value", "problem"), [
    ([1, 2], "a JSON array, not an object"),
    ("x", "a JSON string, not an object"),
    ({"cmd": "new", "symbol": "X"}, "a command (run `hftbook replay`"),
    ({"ts": 1}, 'no string "type"'),
    ({"type": "trade"}, '"ts" must be an integer >= 0'),
    ({"type": "halted", "ts": True, "symbol": "X"}, '"ts" must be an integer'),
    ({"type": "halted", "ts": -1, "symbol": "X"}, '"ts" must be an integer >= 0'),
    ({"type": "halted", "ts": 1}, 'halted event without a "symbol"'),
    ({"type": "cancelled", "ts": 1, "symbol": 5, "order_id": 1}, '"symbol" must be a string'),
    ({"type": "cancelled", "ts": 1, "symbol": "X", "order_id": "1"}, '"order_id" must be an integer'),
    ({"type": "trade", "ts": 1, "symbol": "X", "trade_id": 1, "price": "1", "qty": "1", "side": "buy",
      "maker": {"order_id": 1}}, '"taker" must be an object'),
    ({"type": "trade", "ts": 1, "symbol": "X", "trade_id": 1, "price": 1.5, "qty": "1", "side": "buy",
      "maker": {"order_id": 1}, "taker": {"order_id": 2}}, "price 1.5 is not a decimal string"),
    ({"type": "accepted", "ts": 1, "symbol": "X", "order_id": 1, "price": "1e2", "qty": "1"},
     "price '1e2' is not a decimal string"),
    ({"type": "modified", "ts": 1, "symbol": "X", "order_id": 1, "price": "1", "qty": "-1"},
     "quantity '-1' is not a decimal string"),
    ({"type": "rejected", "ts": 1, "symbol": "X", "rests": {}}, '"rests" must be a list'),
    ({"type": "accepted", "ts": 1, "symbol": "X", "order_id": 1, "price": None, "qty": "1",
      "rests": [{"order_id": 1, "side": "up", "price": "1", "qty": "1"}]}, '"rests" entry'),
])
def test_what_is_not_an_event(value: Any, problem: str) -> None:
    found = check_event(value)
    assert found is not None and problem in found


def test_events_that_leave_the_book_alone_need_only_type_and_ts() -> None:
    assert check_event({"type": "rejected", "ts": 0, "reason": "bad_command", "line": 3}) is None
    assert check_event({"type": "some_future_kind", "ts": 9}) is None


def test_a_stream_cut_at_the_front_names_the_line() -> None:
    evs = _events(TINY)[3:]  # starts at the first trade: its maker never rested
    with pytest.raises(AnalysisError) as err:
        analyze(evs)
    assert err.value.line == 1 and "maker 1 is not in the book" in str(err.value)
    with pytest.raises(AnalysisError, match=r"^line 2: not an event: a JSON array"):
        analyze([_events(TINY)[0], [1]])


def test_empty_input() -> None:
    a = analyze([])
    assert (a.events, a.batches, a.symbols, a.first_ts) == (0, 0, (), None)
    assert render(a, "e").splitlines() == ["hftbook analyze: e", "no events: nothing to analyze"]


def test_time_going_back_is_analysed_at_the_latest_ts() -> None:
    cmds = [dict(c) for c in TINY]
    cmds[3]["ts"] = 500_000_000  # the market buy at 0.5 s, after orders at 1 s
    a = analyze(_events(cmds))
    assert a.ts_backwards == 2  # its accepted and its trade
    assert a.symbols[0].samples.ts[:2] == [1 * S, 1 * S]
    assert "2 events had a ts below an earlier event's" in render(a, "t")


def test_a_long_run_of_one_ts_is_split_into_batches() -> None:
    cmds = [{k: v for k, v in c.items() if k != "ts"} for c in TINY]  # everything at ts 0
    evs = _events(cmds)
    assert analyze(evs).batches == 1
    a = analyze(evs, options=Options(max_batch=3))
    assert a.batches == 4  # 10 events, 3 a batch
    assert a.symbols[0].vwap == Fraction(11951, 120)  # the book is exact whatever the batches


def test_session_rv_is_the_analytics_rv_over_an_unbounded_window() -> None:
    # Random-ish flow on one symbol, one command per ts: the feed attached to the engine sees
    # the same batches as the analysis, and BookSignals with a window longer than the session
    # must give the same chain of mids, hence the same (integer) sum.
    ex = Exchange()
    ex.apply({"cmd": "instrument", "symbol": "Q", "tick_size": "0.5", "lot_size": "1", "ts": 0})
    feed = MarketDataFeed(channels=("l2", "trades"))
    feed.attach(ex)
    sig = BookSignals(SignalConfig(rv=events(10**9)))
    driver = SignalsDriver("Q", sig)
    out: list[dict[str, Any]] = []
    price = 200
    for i in range(1, 400):
        price += (i * 7919) % 5 - 2
        side = "buy" if (i * 31) % 3 else "sell"
        px = price - 2 if side == "buy" else price + 2
        if i % 4 == 0:
            px = price + 3 if side == "buy" else price - 3  # crosses: trades
        out += ex.apply({"cmd": "new", "user": f"u{i % 5}", "id": str(i), "symbol": "Q", "side": side,
                         "type": "limit", "price": str(px / 2), "qty": str(1 + i % 4), "ts": i * 1000,
                         "tif": "ioc" if i % 8 == 0 else "gtc"})
        driver.on_messages(feed.take())
    want = sig.snapshot()
    got = analyze(json.loads(json.dumps(out))).symbols[0]
    assert want.rv is not None and got.rv == want.rv
    assert got.trades == want.trades and got.trades > 20
    assert got.ofi_total == want.ofi_total and got.imbalance_last == want.imbalance


def test_samples_stay_bounded_and_keep_the_extremes() -> None:
    smp = Samples(8)
    for i in range(1000):
        trade = float(i % 97) if i % 3 == 0 else NAN
        smp.add(i, i + 1, float(i), float(i), 0.0, trade, trade, float(i % 10), NAN)
        assert len(smp) <= 8
    assert smp.stride == 128 and len(smp) == 8  # 1000 samples: 7 full buckets of 128 and one filling
    assert smp.ts[-1] == 999 and smp.seq[-1] == 1000 and smp.mid[-1] == 999.0
    assert min(smp.lo) == 0.0 and max(smp.hi) == 96.0
    assert smp.spread_n[:7] == [128] * 7 and sum(smp.spread_n) == 1000
    assert smp.spread_means()[0] == sum(i % 10 for i in range(128)) / 128
    assert all(math.isnan(x) for x in smp.imbalance_means())
    with pytest.raises(ValueError):
        Samples(7)


def test_bars_merge_two_by_two_when_too_many() -> None:
    series = BarSeries(10, 3)
    for k in (0, 1, 2, 3, 5, 9):
        series.add(Bar(k * 10, 100 + k, 110 + k, 90 + k, 101 + k, 1 + k, 10 * (1 + k), 1))
    # 10 ns bars at 0, 10, 20, 30 -> 20 ns bars at 0, 20; then 50 -> 40; then 90 -> 80: 4 > 3 -> 40 ns
    assert series.interval == 40
    assert [b.start for b in series.bars] == [0, 40, 80]
    assert series.bars[0] == Bar(0, 100, 113, 90, 104, 1 + 2 + 3 + 4, 100, 4)
    assert sum(b.volume for b in series.bars) == sum(1 + k for k in (0, 1, 2, 3, 5, 9))


def test_number_formats() -> None:
    assert canonical(Decimal("29999.000")) == "29999" and canonical(Decimal("0.10")) == "0.1"
    assert canonical(Decimal("1E+3")) == "1000" and canonical(Decimal("-0.00")) == "0"
    assert fraction_str(Fraction(1, 8), 2) == "0.12" and fraction_str(Fraction(3, 8), 2) == "0.38"
    assert fraction_str(Fraction(-5, 3), 3) == "-1.667"
    assert [duration(n) for n in (0, 999, 1500, 2_500_000, 4 * S, 61 * S, 3 * 3600 * S + 62 * S)] == [
        "0 ns", "999 ns", "1.5 us", "2.5 ms", "4 s", "1m 01s", "3h 01m 02s"]


def test_auto_bar_length_is_round_and_gives_about_a_hundred_bars() -> None:
    assert auto_bar_ns(0) == 60 * S
    assert auto_bar_ns(3000) == 50  # 30 ns wanted
    assert auto_bar_ns(100 * S) == 1 * S
    assert auto_bar_ns(101 * S) == 2 * S
    assert auto_bar_ns(6 * 3600 * S) == 300 * S  # 216 s wanted -> 5 min
    for span in (1, 7, 10**6 + 3, 10**11, 10**13, 10**17):
        assert span / auto_bar_ns(span) <= 100


def test_file_names_are_safe_and_distinct() -> None:
    names = file_names(["BTC/USD", "BTC_USD", "..", "eth", "ETH"])
    assert names == {"..": "symbol.png", "BTC/USD": "BTC_USD.png", "BTC_USD": "BTC_USD-3.png",
                     "ETH": "ETH.png", "eth": "eth-5.png"}


def test_progress_off_a_terminal_writes_a_line_per_tenth() -> None:
    out = io.StringIO()
    bar = Progress(out, tty=False)
    bar.start("scanning", 1000)
    for done in range(0, 1001, 50):
        bar.update(done)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "scanning: 0% (0.0 MB of 0.0 MB)"
    assert [line.split(":")[1].split()[0] for line in lines] == [f"{10 * i}%" for i in range(11)]


def test_progress_on_a_terminal_redraws_at_most_ten_times_a_second() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = Progress(out, tty=True, clock=lambda: now[0])
    bar.start("analyzing", 10_000_000)
    for i in range(1, 100):
        now[0] = i * 0.01  # 1 s in 99 updates
        bar.update(i * 100_000)
    bar.update(10_000_000)  # the end always shows
    bar.close()
    text = out.getvalue()
    assert 10 <= text.count("\r") <= 13  # the start, ~10 timed redraws, the end, the clear
    assert "100%" in text and "10.0 MB of 10.0 MB" in text
    assert text.endswith("\r\x1b[K")
