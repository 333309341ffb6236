"""Execution algorithms on random markets (hftbook.algo.Venue over the fast engine).

Random scripted markets (quotes from two makers around a drifting price, takers of every
kind, cancels, a halt now and then) with one to three parents (twap, vwap or pov; buy or sell;
ioc or passive children; with or without a limit price, child caps, urgency, jitter, a
profile), and a last command past every parent's end. Checked:

- every parent ends exactly once (`algo_done` or `algo_cancelled`) and never acts after it;
- its executed quantity equals the sum of its children's trades, never exceeds its quantity,
  and `algo_progress` reports each change;
- every child is on the parent's side, its user, never priced beyond the parent's limit, never
  larger than `max_child_qty` nor smaller than `min_child_qty`, and a `passive` child rests
  at or inside the touch (it never crosses when sent);
- the run is deterministic, and also over the naive reference exchange (the algorithm
  engine is a client: the events are the same);
- a venue restored from a snapshot taken at a random command continues with identical events
  and state hashes.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hftbook.algo import Venue
from hftbook.core.reference import ReferenceExchange

Cmd = dict[str, Any]

_market_step = st.tuples(
    st.sampled_from(["quote", "quote", "quote", "take", "take", "cancel", "halt", "drift"]),
    st.integers(0, 5),  # a price offset or a choice
    st.integers(1, 8),  # lots
    st.integers(1, 40),  # ns to the next step
)
_parent = st.fixed_dictionaries({
    "algo": st.sampled_from(["twap", "vwap", "pov"]),
    "side": st.sampled_from(["buy", "sell"]),
    "qty": st.integers(1, 40),
    "start": st.integers(0, 200),
    "length": st.integers(1, 600),
    "interval": st.one_of(st.none(), st.integers(1, 120)),
    "style": st.sampled_from([None, "ioc", "passive"]),
    "limit": st.one_of(st.none(), st.integers(-3, 3)),
    "min_child": st.one_of(st.none(), st.integers(1, 3)),
    "max_child": st.one_of(st.none(), st.integers(1, 6)),
    "urgency": st.sampled_from([None, "0", "1", "2.5"]),
    "jitter": st.sampled_from([None, 0, 10, 50]),
    "pct": st.sampled_from(["10", "33.3", "50", "100"]),
    "custom_profile": st.booleans(),
    "control": st.sampled_from([None, None, "cancel", "pause", "pause_resume"]),
})


@st.composite
def algo_streams(draw: st.DrawFn) -> list[Cmd]:
    cmds: list[Cmd] = [{"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1"}]
    steps = draw(st.lists(_market_step, min_size=5, max_size=60))
    parents = draw(st.lists(_parent, min_size=1, max_size=3))
    timeline: list[tuple[int, int, Cmd]] = []  # (ts, order, command)
    ts, mid, n = 0, 100, 0
    for kind, k, lots, dt in steps:
        ts += dt
        n += 1
        user = ("m1", "m2", "t1", "t2")[k % 4]
        if kind == "drift":
            mid = max(10, mid + (k - 2))
            continue
        if kind == "quote":
            side = "buy" if k % 2 else "sell"
            price = mid - 1 - k // 2 if side == "buy" else mid + 1 + k // 2
            cmd: Cmd = {"cmd": "new", "user": user, "id": n, "symbol": "X", "side": side, "type": "limit",
                        "price": str(price), "qty": str(lots)}
        elif kind == "take":
            cmd = {"cmd": "new", "user": user, "id": n, "symbol": "X", "side": ("buy", "sell")[k % 2],
                   "type": "market" if k < 3 else "limit", "qty": str(lots)}
            if k >= 3:
                cmd.update(price=str(mid + (2 if k % 2 == 0 else -2)), tif="ioc")
        elif kind == "cancel":
            cmd = {"cmd": "cancel", "user": user, "id": max(1, n - 1 - k)}
        else:
            timeline.append((ts, n, {"cmd": "halt", "symbol": "X", "until_ts": ts + 1 + k * 10}))
            continue
        timeline.append((ts, n, cmd))
    last_end = 0
    for i, p in enumerate(parents):
        start, end = p["start"], p["start"] + p["length"]
        last_end = max(last_end, end)
        cmd = {"cmd": "algo", "user": ("a", "b", "a")[i], "id": f"p{i}", "symbol": "X", "side": p["side"],
               "algo": p["algo"], "qty": str(p["qty"]), "start_ts": start, "end_ts": end}
        for key, value in (("interval_ns", p["interval"]), ("style", p["style"]),
                           ("min_child_qty", p["min_child"]), ("max_child_qty", p["max_child"])):
            if value is not None:
                cmd[key] = value if key in ("interval_ns", "style") else str(value)
        if p["limit"] is not None:
            cmd["limit_price"] = str(100 + p["limit"] * (1 if p["side"] == "buy" else -1))
        if p["algo"] == "twap":
            if p["urgency"] is not None:
                cmd["urgency"] = p["urgency"]
            if p["jitter"] is not None:
                cmd["jitter_pct"] = p["jitter"]
                cmd["seed"] = i
        elif p["algo"] == "vwap" and p["custom_profile"]:
            interval = p["interval"] or max(1, p["length"] // 10)
            count = len(range(start, end, interval))
            cmd["profile"] = [str(1 + (j * 7) % 5) for j in range(count)]
        elif p["algo"] == "pov":
            cmd["pov_pct"] = p["pct"]
        timeline.append((max(0, start - 5), -1 - i, cmd))
        control = p["control"]
        if control is not None:
            at = start + p["length"] // 3
            name = "algo_cancel" if control == "cancel" else "algo_pause"
            timeline.append((at, 10**6 + i, {"cmd": name, "user": cmd["user"], "id": cmd["id"]}))
            if control == "pause_resume":
                timeline.append((at + p["length"] // 3, 10**6 + i, {"cmd": "algo_resume", "user": cmd["user"],
                                                                    "id": cmd["id"]}))
    timeline.sort(key=lambda x: (x[0], x[1]))
    for t, _, cmd in timeline:
        cmds.append(dict(cmd, ts=t))
    cmds.append({"cmd": "tick", "ts": max(ts, last_end) + 1000})
    return cmds


def _run(venue: Venue, cmds: list[Cmd]) -> list[list[dict[str, Any]]]:
    return [venue.apply(copy.deepcopy(c)) for c in cmds]


def _check(cmds: list[Cmd], per_cmd: list[list[dict[str, Any]]]) -> None:
    algos = {(c["user"], c["id"]): c for c in cmds if c["cmd"] == "algo"}
    started: set[tuple[str, Any]] = set()
    ended: set[tuple[str, Any]] = set()
    executed: dict[tuple[str, Any], int] = {}
    reported: dict[tuple[str, Any], int] = {}
    child_of: dict[tuple[str, Any], tuple[str, Any]] = {}
    for events in per_cmd:
        for ev in events:
            t = ev["type"]
            if t == "algo_started":
                key = (ev["user"], ev["id"])
                assert key not in started
                started.add(key)
                executed[key] = reported[key] = 0
            elif t == "algo_child":
                key = (ev["user"], ev["id"])
                assert key in started and key not in ended, ev
                spec = algos[key]
                q, price = int(ev["qty"]), int(ev["price"])
                assert int(spec.get("min_child_qty", 1)) <= q <= int(spec.get("max_child_qty", 10**9)), ev
                if "limit_price" in spec:
                    lim = int(spec["limit_price"])
                    assert price <= lim if spec["side"] == "buy" else price >= lim, ev
                child_of[(ev["user"], ev["child_id"])] = key
            elif t == "accepted" and (ev["user"], ev["id"]) in child_of:
                key = child_of[(ev["user"], ev["id"])]
                assert ev["side"] == algos[key]["side"], ev
            elif t == "trade":
                for role in ("maker", "taker"):
                    key = child_of.get((ev[role]["user"], ev[role]["id"]))
                    if key is not None:
                        assert key not in ended, f"a child traded after its parent ended: {ev}"
                        executed[key] += int(ev["qty"])
                        assert executed[key] <= int(algos[key]["qty"]), ev
            elif t == "algo_progress":
                key = (ev["user"], ev["id"])
                assert int(ev["executed"]) == executed[key], ev
                assert int(ev["executed"]) + int(ev["remaining"]) == int(algos[key]["qty"])
                reported[key] = executed[key]
            elif t in ("algo_done", "algo_cancelled"):
                key = (ev["user"], ev["id"])
                assert key in started and key not in ended, ev
                ended.add(key)
                assert int(ev["executed"]) == executed[key] == reported[key], ev
                if ev["reason"] == "filled":
                    assert executed[key] == int(algos[key]["qty"])
    assert ended == started, f"parents that never ended: {started - ended}"


@settings(max_examples=120)
@given(algo_streams())
def test_parents_end_within_their_terms(cmds: list[Cmd]) -> None:
    per_cmd = _run(Venue(), cmds)
    _check(cmds, per_cmd)
    again = _run(Venue(), cmds)
    assert json.dumps(again) == json.dumps(per_cmd)  # deterministic


@settings(max_examples=60)
@given(algo_streams())
def test_same_events_over_the_reference_exchange(cmds: list[Cmd]) -> None:
    fast = _run(Venue(), cmds)
    ref = _run(Venue(ReferenceExchange()), cmds)
    for i, (a, b) in enumerate(zip(fast, ref, strict=True)):
        strip = [{k: v for k, v in e.items() if k != "message"} for e in a]
        assert strip == [{k: v for k, v in e.items() if k != "message"} for e in b], f"command #{i} {cmds[i]}"


@settings(max_examples=60)
@given(algo_streams(), st.integers(0, 10**6))
def test_snapshot_restore_continues_identically(cmds: list[Cmd], cut: int) -> None:
    split = cut % len(cmds)
    original = Venue()
    for c in cmds[:split]:
        original.apply(copy.deepcopy(c))
    snap = json.loads(json.dumps(original.snapshot(), default=str))
    restored = Venue.restore(snap)
    assert restored.state_hash() == original.state_hash()
    for i, c in enumerate(cmds[split:], start=split):
        want = original.apply(copy.deepcopy(c))
        got = restored.apply(copy.deepcopy(c))
        assert got == want, f"command #{i} {c}"
        assert restored.state_hash() == original.state_hash()


def test_a_passive_parent_reprices_and_finishes_with_an_ioc() -> None:
    """By hand: a passive TWAP rests at the bid, is repriced at each slice (cancel, new at the
    new touch), and its final slice takes the ask."""
    v = Venue()
    out: list[dict[str, Any]] = []
    for c in (
        {"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1"},
        {"cmd": "new", "ts": 0, "user": "m", "id": 1, "symbol": "X", "side": "buy", "type": "limit",
         "price": "99", "qty": "50"},
        {"cmd": "new", "ts": 0, "user": "m", "id": 2, "symbol": "X", "side": "sell", "type": "limit",
         "price": "102", "qty": "50"},
        {"cmd": "algo", "ts": 0, "user": "a", "id": "p", "symbol": "X", "side": "buy", "algo": "twap",
         "qty": "4", "start_ts": 0, "end_ts": 100, "interval_ns": 50, "style": "passive"},
        {"cmd": "new", "ts": 60, "user": "m", "id": 3, "symbol": "X", "side": "buy", "type": "limit",
         "price": "100", "qty": "5"},
        {"cmd": "tick", "ts": 100},
    ):
        out.extend(v.apply(c))
    kinds = [(e["type"], e.get("child_id") or e.get("id"), e.get("price"), e.get("qty"), e.get("reason"))
             for e in out if e["type"] in ("algo_child", "cancelled", "algo_done", "trade")]
    assert kinds == [
        ("algo_child", "p.1", "99", "2", None),  # the slice due at 50 runs at ts 60: target 2, at the bid
        ("cancelled", "p.1", None, None, "user"),  # the final slice at 100 cancels it first
        ("algo_child", "p.2", "102", "4", None),  # then an IOC at the ask for the rest
        ("trade", None, "102", "4", None),
        ("algo_done", "p", None, None, "filled"),
    ], kinds
    assert Decimal(out[-1]["executed"]) == 4
