"""`hftbook.sim`: agents send valid commands, a seed reproduces the run byte for byte, every
parent ends within its quantity, and the table's numbers match a recomputation from the events.

Runs are short (8 simulated seconds, a few thousand commands) so the file stays fast.
"""

from __future__ import annotations

import io
import random
from decimal import Decimal
from typing import Any

import pytest

from hftbook.core.instrument import Instrument
from hftbook.replay import dump, replay_lines
from hftbook.sim import MarketConfig, ParentSpec, SimConfig, SimResult, run
from hftbook.sim.agents import BUY, MarketMaker, MomentumTrader, NoiseTaker, View
from hftbook.sim.command import Options, StepBar, UsageError, build_config
from hftbook.sim.parents import ParentRun, executed_path, parents, participation, target_path
from hftbook.sim.plots import file_names
from hftbook.sim.report import render

S = 1_000_000_000
INST = Instrument("SIM", Decimal("0.01"), Decimal("1"))


def _config(seed: int, duration_s: int = 8, **kw: Any) -> SimConfig:
    return build_config(Options(seed=seed, duration_ns=duration_s * S, **kw))


def _recorded(config: SimConfig) -> tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]:
    cmds: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def record(cmd: dict[str, Any], evs: list[dict[str, Any]]) -> None:
        cmds.append(dict(cmd))
        events.extend(evs)

    return run(config, on_apply=record), cmds, events


@pytest.fixture(scope="module")
def base() -> tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]:
    return _recorded(_config(5))


# -- agents -------------------------------------------------------------------------------------


def _check_command(cmd: dict[str, Any], user: str) -> None:
    assert cmd["user"] == user
    assert cmd["cmd"] in ("new", "modify", "cancel")
    if cmd["cmd"] == "new":
        assert cmd["symbol"] == "SIM" and cmd["side"] in ("buy", "sell")
        assert cmd["type"] in ("limit", "market")
        assert isinstance(INST.qty_from_wire(cmd["qty"]), int)
        assert (cmd["type"] == "market") == ("price" not in cmd)
        assert cmd.get("tif", "gtc") in ("gtc", "ioc")
    if "price" in cmd:
        p = INST.price_from_wire(cmd["price"])
        assert isinstance(p, int) and p > 0
    if cmd["cmd"] == "modify":
        assert "price" in cmd or "qty" in cmd


def test_agents_build_valid_commands_with_unique_ids() -> None:
    agents = [MarketMaker("mm", INST, random.Random(1)), NoiseTaker("nz", INST, random.Random(2), rate=1.0),
              MomentumTrader("mo", INST, random.Random(3), lookback=2, threshold=1, rate=1.0, cooldown=0)]
    view = View(fair=10_000, bid=9_999, ask=10_001, last=10_000)
    new_ids: dict[str, list[Any]] = {a.user: [] for a in agents}
    for step in range(60):
        view.step, view.fair = step, 10_000 + step // 3  # a rising market: momentum buys
        view.last = view.fair
        for a in agents:
            for cmd in a.act(view):
                _check_command(cmd, a.user)
                if cmd["cmd"] == "new":
                    new_ids[a.user].append(cmd["id"])
    for ids in new_ids.values():
        assert len(ids) == len(set(ids))
    assert new_ids["mm"] and new_ids["nz"] and new_ids["mo"]


def test_market_maker_quotes_both_sides_around_fair_and_leans_on_inventory() -> None:
    mm = MarketMaker("mm", INST, random.Random(0), half_spread=2, levels=2, gap=1, size=10, requote=1.0,
                     skew_lots=10)
    cmds = mm.act(View(fair=10_000))
    prices = {(c["side"], INST.price_from_wire(c["price"])) for c in cmds}
    assert prices == {("buy", 9_998), ("buy", 9_997), ("sell", 10_002), ("sell", 10_003)}
    mm.position = 30  # long 30 lots: the centre moves 3 ticks down
    moves = mm.act(View(fair=10_000))
    assert all(c["cmd"] == "modify" for c in moves)
    assert sorted(INST.price_from_wire(c["price"]) for c in moves) == [9_994, 9_995, 9_999, 10_000]  # type: ignore[type-var]
    mm.position = 500  # beyond max_position: the bids are withdrawn
    out = mm.act(View(fair=10_000))
    cancelled = [c["id"] for c in out if c["cmd"] == "cancel"]
    assert sorted(cancelled) == sorted(cid for (side, _), cid in mm.slots.items() if side == BUY)
    assert all(c["cmd"] != "new" or c["side"] == "sell" for c in out)


def test_momentum_follows_the_move_and_noise_needs_an_opposite_side() -> None:
    mo = MomentumTrader("mo", INST, random.Random(0), lookback=3, threshold=2, rate=1.0, cooldown=5)
    sent = []
    for step, last in enumerate([100, 100, 100, 99, 97, 97, 97]):
        sent += mo.act(View(step=step, bid=last - 1, ask=last + 1, last=last))
    assert [c["side"] for c in sent] == ["sell"]  # a down-move of 3 ticks; then the cooldown
    nz = NoiseTaker("nz", INST, random.Random(0), rate=1.0)
    assert all(not nz.act(View(bid=None, ask=None)) for _ in range(20))


def test_agent_follows_its_orders_from_the_events() -> None:
    mm = MarketMaker("mm", INST, random.Random(0), levels=1, requote=1.0)
    (bid, ask) = sorted(mm.act(View(fair=10_000)), key=lambda c: c["side"])
    assert set(mm.live) == {bid["id"], ask["id"]}
    mm.on_event({"type": "trade", "ts": 0, "symbol": "SIM", "price": "99.98", "qty": "5", "side": "sell",
                 "maker": {"user": "mm", "id": bid["id"]}, "taker": {"user": "x", "id": 1}})
    assert mm.position == 5 and mm.live[bid["id"]][2] == mm.size - 5
    mm.on_event({"type": "cancelled", "ts": 0, "user": "mm", "id": ask["id"], "reason": "stp"})
    assert set(mm.live) == {bid["id"]}


# -- the run --------------------------------------------------------------------------------------


def test_agents_are_never_refused(base: tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    result, cmds, events = base
    assert result.commands == len(cmds) > 3_000 and result.events == len(events)
    assert len(result.trades) > 300
    assert not [e for e in events if e["type"] == "rejected"]
    kinds = {a.kind for a in result.agents if a.traded}
    assert kinds == {"market_maker", "noise", "momentum"}
    # Every lot the parents bought, the crowd sold.
    bought = sum(r.executed for r in parents(result))
    assert sum(a.position for a in result.agents) == -bought


def test_same_seed_same_bytes_other_seed_differs(
        base: tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    result, cmds, events = base
    again, cmds2, events2 = _recorded(_config(5))
    assert [dump(e) for e in events2] == [dump(e) for e in events]
    assert [dump(c) for c in cmds2] == [dump(c) for c in cmds]
    assert render(again) == render(result)
    other, _, events3 = _recorded(_config(6))
    assert [dump(e) for e in events3] != [dump(e) for e in events]
    assert render(other) != render(result)


def test_commands_replay_to_the_same_events(
        base: tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    _, cmds, events = base
    replayed = list(replay_lines(dump(c) for c in cmds))
    assert [dump(e) for e in replayed] == [dump(e) for e in events]


def test_every_parent_ends_within_its_quantity(
        base: tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    result, _, _ = base
    runs = parents(result)
    assert [r.algo for r in runs] == ["twap", "vwap", "pov"]
    for r in runs:
        assert r.end is not None and r.end["type"] in ("algo_done", "algo_cancelled")
        executed = INST.qty_from_wire(r.end["executed"])
        assert executed == r.executed <= r.qty
        assert r.end["reason"] in ("filled", "end") and (r.end["reason"] == "filled") == (executed == r.qty)


def test_a_window_beyond_the_run_is_cancelled_at_the_end() -> None:
    cfg = SimConfig(seed=2, duration_ns=3 * S, parents=(
        ParentSpec("twap", "late", "p", "sell", 50, 1 * S, 9 * S, (("interval_ns", S // 2),)),))
    result = run(cfg)
    (r,) = parents(result)
    assert r.end is not None and r.end["type"] == "algo_cancelled" and r.end["reason"] == "user"
    assert r.end["ts"] == 3 * S and r.executed <= r.qty


def test_refused_parents_are_reported_and_late_ones_refused_up_front() -> None:
    cfg = SimConfig(seed=2, duration_ns=2 * S, parents=(
        ParentSpec("pov", "bad", "p", "buy", 10, 1 * S, 2 * S, (("pov_pct", "0"),)),))
    result = run(cfg)
    assert [(e["user"], e["reason"]) for e in result.refused] == [("bad", "bad_command")]
    assert parents(result) == []
    with pytest.raises(ValueError):
        run(SimConfig(duration_ns=2 * S, parents=(ParentSpec("twap", "u", "p", "buy", 1, 3 * S, 4 * S),)))


def _algo_table(text: str) -> dict[str, dict[str, str]]:
    """user -> column -> cell, from the Algorithms table (columns from the dashes line)."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Algorithms"))
    header, dashes, *rows = lines[at + 1:]
    spans, pos = [], 0
    for group in dashes.split("  "):
        spans.append((pos, pos + len(group)))
        pos += len(group) + 2
    names = [header[a:b].strip() for a, b in spans]
    out = {}
    for row in rows:
        if not row.strip():
            break
        cells = {n: row[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)}
        out[cells["user"]] = cells
    return out


def test_table_matches_a_recomputation_from_the_events(
        base: tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    result, _, events = base
    table = _algo_table(render(result))
    ends = {e["user"]: e for e in events if e["type"] in ("algo_done", "algo_cancelled")}
    starts = {e["user"]: e for e in events if e["type"] == "algo_started"}
    assert set(table) == set(ends) == {"algo-twap", "algo-vwap", "algo-pov"}
    for user, row in table.items():
        # Executed, recomputed from the children's trades in the raw events.
        prefix = f"{starts[user]['id']}."
        executed = sum(int(e["qty"]) for e in events if e["type"] == "trade" and any(
            p["user"] == user and str(p["id"]).startswith(prefix) for p in (e["maker"], e["taker"])))
        qty = int(starts[user]["qty"])
        assert row["executed"] == str(executed) == ends[user]["executed"]
        assert row["completion %"] == f"{executed * 100 / qty:.1f}"
        # Participation: executed / every trade from the first slice (the first command at or
        # after start_ts) to the end event, from the raw stream.
        end_at = events.index(ends[user])
        volume = sum(int(e["qty"]) for e in events[:end_at]
                     if e["type"] == "trade" and e["ts"] >= starts[user]["start_ts"])
        assert row["participation %"] == f"{executed * 100 / volume:.2f}"
        assert ends[user]["participation"] == pytest.approx(executed / volume, rel=1e-12)
        run_ = next(r for r in parents(result) if r.user == user)
        assert participation(run_, result) == pytest.approx(executed / volume, rel=1e-12)
        assert row["slip bps arrival"] == f"{ends[user]['slippage_bps_arrival']:+.2f}"
        assert row["end"].startswith(ends[user]["reason"])


def test_paths_end_at_the_executed_quantity_and_the_target_is_monotone(
        base: tuple[SimResult, list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    result, _, _ = base
    times = [s.ts for s in result.samples]
    for r in parents(result):
        target = target_path(r, result, times)
        done = executed_path(r, times)
        assert target == sorted(target) and done == sorted(done)
        assert done[-1] == r.executed and target[-1] <= r.qty
        assert all(t == 0 for ts, t in zip(times, target, strict=True) if ts < r.start_ts)
        if r.algo != "pov":
            assert target[-1] == r.qty  # twap and vwap: the whole quantity by end_ts


# -- the command's pieces -------------------------------------------------------------------------


def test_build_config_defaults_and_refusals() -> None:
    cfg = _config(1, duration_s=30)
    assert [(p.algo, p.user, p.start_ts, p.end_ts) for p in cfg.parents] == [
        ("twap", "algo-twap", 6 * S, 27 * S), ("vwap", "algo-vwap", 6 * S, 27 * S),
        ("pov", "algo-pov", 6 * S, 27 * S)]
    assert dict(cfg.parents[2].fields)["pov_pct"] == "10"
    twice = build_config(Options(algos=("twap", "twap")))
    assert [p.user for p in twice.parents] == ["algo-twap", "algo-twap-2"]
    for bad in (Options(qty="1.5"), Options(qty="0"), Options(algos=("iceberg",)),
                Options(start_ns=5 * S, end_ns=5 * S), Options(end_ns=31 * S), Options(duration_ns=10),
                Options(pov_pct="0"), Options(pov_pct="abc"), Options(pov_pct="100.5")):
        with pytest.raises(UsageError):
            build_config(bad)
    assert build_config(Options(algos=())).parents == ()
    assert build_config(Options(algos=("twap",), pov_pct="abc")).parents[0].algo == "twap"  # pov only
    assert MarketConfig().tick == "0.01"


def test_step_bar_writes_tenths_off_a_terminal() -> None:
    from hftbook.analysis.progress import Progress

    err = io.StringIO()
    bar = StepBar(Progress(err, False), False, 10 * S)
    for ts in range(0, 10 * S + 1, S // 100):
        bar(ts)
    lines = err.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("simulating: 0%") and lines[-1].startswith("simulating: 100%")


def test_file_names_are_unique_and_safe() -> None:
    def run_(user: str, cid: str) -> ParentRun:
        return ParentRun({}, 0, "twap", user, cid, "buy", 1, 0, 1)

    names = file_names([run_("algo-twap", "p1"), run_("a/b", "p1"), run_("x", "1"), run_("x", "2"),
                        run_("market", "p")])
    assert names == ["algo-twap.png", "a_b.png", "x-1.png", "x-2.png", "market-5.png"]
