"""Contingent orders (oco, bracket): snapshot/restore in the middle of their flows, no leaks.

- A snapshot taken between any two commands of a contingent flow (dormant children, live OCO
  pairs, partially filled entries with active children, a dormant trailing stop-loss, an OCO
  iceberg with a variance generator) restores to an exchange that produces the same events and
  the same `state_hash` as the uninterrupted run, command by command.
- A long seeded flow of orders, OCOs and brackets leaves no cyclic garbage (the runtime may run
  with the cyclic GC off, see test_no_cycles.py), keeps `Exchange.links` to live orders only,
  and leaves `links` empty once every order is finished.
- The contingent extras of `accepted` are present only as they apply and come after every other
  field (docs/PROTOCOL.md, Events: "Contingent extras on accepted, after every other field"),
  which the subset matcher of the scenario files cannot check.
"""

from __future__ import annotations

import gc
import json
import random
from typing import Any

import pytest

from hftbook.core.exchange import Exchange

Cmd = dict[str, Any]
SYM = "XYZ"


def _inst(ts: int = 1) -> Cmd:
    return {"cmd": "instrument", "ts": ts, "symbol": SYM, "tick_size": "0.01", "lot_size": "1"}


def _new(ts: int, user: str, cid: Any, side: str, qty: int, price: Any = None, **kw: Any) -> Cmd:
    c: Cmd = {"cmd": "new", "ts": ts, "user": user, "id": cid, "symbol": SYM, "side": side,
              "type": "limit" if price is not None else "market", "qty": str(qty)}
    if price is not None:
        c["price"] = str(price)
    c.update(kw)
    return c


def _oco(ts: int, user: str, side: str, a: Cmd, b: Cmd) -> Cmd:
    return {"cmd": "oco", "ts": ts, "user": user, "symbol": SYM, "side": side, "orders": [a, b]}


def _bracket(ts: int, user: str, side: str, entry: Cmd, tp: Cmd | None = None,
             sl: Cmd | None = None, activation: str | None = None) -> Cmd:
    c: Cmd = {"cmd": "bracket", "ts": ts, "user": user, "symbol": SYM, "side": side, "entry": entry}
    if tp is not None:
        c["take_profit"] = tp
    if sl is not None:
        c["stop_loss"] = sl
    if activation is not None:
        c["activation"] = activation
    return c


def _book(ts: int) -> Cmd:
    return {"cmd": "book", "ts": ts, "symbol": SYM}


# A full-activation bracket with a dormant trailing stop-loss (prints while it is dormant must not
# move it), an OCO whose limit part is an iceberg with a variance (its generator must survive),
# a partial fill, activation by a cancel, then the take-profit trading and the OCO rule.
FLOW_FULL = [
    _inst(),
    _new(2, "mm", "a0", "sell", 1, 100),
    _new(3, "tk", "b0", "buy", 1, 100),
    _bracket(10, "alice", "buy", {"id": "E", "type": "limit", "qty": "5", "price": "99"},
             tp={"id": "TP", "price": "104"}, sl={"id": "SL", "type": "trailing_stop", "trail_amount": "2"}),
    _oco(11, "bob", "sell",
         {"id": "I", "type": "limit", "qty": "7", "price": "103", "display_qty": "2",
          "display_variance": "1"},
         {"id": "S", "type": "stop_limit", "qty": "3", "trigger_price": "96", "price": "95"}),
    _new(12, "mm", "a1", "sell", 1, 101),
    _new(13, "tk", "b1", "buy", 1, 101),
    _new(20, "mm", "s1", "sell", 2, 99),
    _book(21),
    _new(30, "tk", "b2", "buy", 3, 103),
    _book(31),
    {"cmd": "cancel", "ts": 40, "user": "alice", "id": "E"},
    _new(41, "mm", "b3", "buy", 1, 100),
    _new(42, "tk", "s3", "sell", 1, 100),
    _new(50, "tk", "b4", "buy", 1, 104),
    _new(51, "tk", "b5", "buy", 3, 103),
    _book(60),
]

# Partial activation: growth of a resting take-profit (back of the queue), a gtd stop-loss, the
# take-profit's trade resolving the pair, later fills changing nothing; a second bracket whose
# dormant children are cancelled by its gtd entry's expiry; day children at end_of_day.
FLOW_PARTIAL = [
    _inst(),
    _bracket(10, "alice", "buy", {"id": "E", "type": "limit", "qty": "6", "price": "100"},
             tp={"id": "TP", "price": "105"},
             sl={"id": "SL", "trigger_price": "95", "tif": "gtd", "expire_ts": 500},
             activation="partial"),
    _new(11, "mm", "a1", "sell", 1, 105),
    _new(20, "tk", "s1", "sell", 2, 100),
    _new(21, "mm", "a2", "sell", 1, 105),
    _new(30, "tk", "s2", "sell", 1, 100),
    _book(31),
    _new(40, "tk", "b1", "buy", 2, 105),
    _new(41, "tk", "s3", "sell", 1, 100),
    _new(50, "tk", "b2", "buy", 1, 105),
    _new(51, "tk", "s4", "sell", 2, 100),
    _bracket(60, "carol", "sell", {"id": "F", "type": "limit", "qty": "3", "price": "110", "tif": "gtd",
                                   "expire_ts": 80},
             tp={"id": "FTP", "price": "101", "tif": "day"}, sl={"id": "FSL", "trigger_price": "120"}),
    _bracket(61, "dave", "buy", {"id": "G", "type": "limit", "qty": "2", "price": "99"},
             tp={"id": "GTP", "price": "108", "tif": "day"},
             sl={"id": "GSL", "type": "trailing_stop", "trail_pct": "1.5"}, activation="partial"),
    _new(62, "mm", "s5", "sell", 1, 99),
    {"cmd": "tick", "ts": 80},
    {"cmd": "end_of_day", "ts": 90},
    _book(100),
]

# OCO pairs: two stops triggered by one print (the lower order id wins), a trailing part, a
# cancel_all over a live pair, a modify of a limit part that crosses, gtd parts.
FLOW_OCO = [
    _inst(),
    _new(2, "mm", "b1", "buy", 1, 97),
    _new(3, "mm", "b2", "buy", 5, 96),
    _oco(10, "alice", "sell", {"id": "X", "type": "stop", "qty": "2", "trigger_price": "99"},
         {"id": "Y", "type": "trailing_stop_limit", "qty": "1", "trail_amount": "1", "limit_offset": "0.5"}),
    _oco(11, "bob", "buy", {"id": "L", "type": "limit", "qty": "3", "price": "95", "tif": "gtd",
                            "expire_ts": 200},
         {"id": "T", "type": "stop", "qty": "3", "trigger_price": "110"}),
    _oco(12, "carol", "buy", {"id": "C1", "type": "limit", "qty": "1", "price": "94"},
         {"id": "C2", "type": "stop", "qty": "1", "trigger_price": "120"}),
    _new(13, "mm", "a1", "sell", 1, 98),
    _new(20, "tk", "s1", "sell", 1, 97),
    _book(21),
    {"cmd": "modify", "ts": 30, "user": "bob", "id": "L", "price": "98"},
    {"cmd": "cancel_all", "ts": 40, "user": "carol"},
    _oco(50, "carol", "sell", {"id": "C3", "type": "limit", "qty": "2", "price": "109", "tif": "gtd",
                               "expire_ts": 70},
         {"id": "C4", "type": "stop", "qty": "2", "trigger_price": "90", "tif": "gtd", "expire_ts": 70}),
    {"cmd": "tick", "ts": 60},
    {"cmd": "tick", "ts": 70},
    _book(80),
]

# An entry cancelled in a halt after a partial fill: its children wait (deferred) for the resume.
FLOW_HALT = [
    _inst(),
    _new(2, "mm", "a1", "sell", 2, "100"),
    _bracket(3, "u", "buy", {"id": "E", "type": "limit", "qty": "5", "price": "100"},
             {"id": "TP", "price": "104"}, {"id": "SL", "trigger_price": "90"}),
    _new(4, "mm", "b1", "buy", 9, "105"),
    {"cmd": "halt", "ts": 5, "symbol": SYM},
    {"cmd": "cancel", "ts": 6, "user": "u", "id": "E"},
    _book(7),
    {"cmd": "resume", "ts": 8, "symbol": SYM},
    _book(9),
]

FLOWS = {"full": FLOW_FULL, "partial": FLOW_PARTIAL, "oco": FLOW_OCO, "halt": FLOW_HALT}


def _run(cmds: list[Cmd], ex: Exchange | None = None) -> tuple[Exchange, list[list[dict[str, Any]]]]:
    ex = Exchange() if ex is None else ex
    return ex, [ex.apply(json.loads(json.dumps(c))) for c in cmds]


def _round_trip(ex: Exchange) -> Exchange:
    snap = ex.snapshot()
    twin = Exchange.restore(json.loads(json.dumps(snap)))
    assert twin.snapshot() == snap
    assert twin.state_hash() == ex.state_hash()
    return twin


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_flows_are_not_rejected(name: str) -> None:
    """The flows do what they are for: no command is refused by mistake."""
    _, events = _run(FLOWS[name])
    rejected = [e for evs in events for e in evs if e["type"] == "rejected"]
    assert not rejected, rejected


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_restore_at_every_cut_continues_like_the_uninterrupted_run(name: str) -> None:
    flow = FLOWS[name]
    reference, ref_events = _run(flow)
    ref_hashes = []
    ex = Exchange()
    for c in flow:
        ex.apply(json.loads(json.dumps(c)))
        ref_hashes.append(ex.state_hash())
    assert ref_hashes[-1] == reference.state_hash()
    for cut in range(len(flow) + 1):
        ex, _ = _run(flow[:cut])
        twin = _round_trip(ex)
        for i in range(cut, len(flow)):
            got = twin.apply(json.loads(json.dumps(flow[i])))
            assert got == ref_events[i], f"cut {cut}, command {i}: {flow[i]}"
            assert twin.state_hash() == ref_hashes[i], f"cut {cut}, command {i}"


def _states_seen(flow: list[Cmd]) -> set[str]:
    seen = set()
    ex = Exchange()
    for c in flow:
        ex.apply(json.loads(json.dumps(c)))
        snap = ex.snapshot()
        if snap["dormant"]:
            seen.add("dormant")
        for link in snap["links"]:
            if link.get("entry") and link["active"]:
                seen.add("active partial entry")
            if "peer" in link and link["peer"] is not None and not link["dormant"]:
                seen.add("live pair")
        if any(o.get("stop") and o["stop"]["kind"].startswith("trailing") for o in snap["dormant"]):
            seen.add("dormant trailing")
        if any(o.get("iceberg") for o in snap["orders"]) and snap["links"]:
            seen.add("iceberg with links")
        if snap["deferred"]:
            seen.add("deferred in a halt")
    return seen


def test_flows_pass_through_the_states_they_are_for() -> None:
    """Guard: the cuts above do fall inside dormant, active and partially activated states."""
    seen = set().union(*(_states_seen(f) for f in FLOWS.values()))
    assert seen >= {"dormant", "active partial entry", "live pair", "dormant trailing",
                    "iceberg with links", "deferred in a halt"}, seen


def test_dormant_trailing_stop_loss_survives_restore_without_a_reference() -> None:
    """A restored dormant trailing stop-loss is not watching prices: the print at 110 after the
    restore is not its reference; at activation it takes the last price (100), level 98."""
    setup = [
        _inst(),
        _bracket(10, "alice", "buy", {"id": "E", "type": "limit", "qty": "1", "price": "100"},
                 sl={"id": "SL", "type": "trailing_stop", "trail_amount": "2"}),
    ]
    follow = [
        _new(20, "mm", "a1", "sell", 1, 110),
        _new(21, "tk", "b1", "buy", 1, 110),
        _new(30, "tk", "s1", "sell", 1, 100),
        _new(40, "mm", "b2", "buy", 1, 99),
        _new(41, "tk", "s2", "sell", 1, 99),
        _new(42, "mm", "b3", "buy", 2, 98),
        _new(43, "tk", "s3", "sell", 1, 98),
    ]
    ex, _ = _run(setup)
    twin = _round_trip(ex)
    _, events = _run(follow, twin)
    flat = [e for evs in events for e in evs]
    triggered = [e for e in flat if e["type"] == "triggered"]
    assert [(e["id"], e["trigger_price"], e["ts"]) for e in triggered] == [("SL", "98", 43)]


# -- accepted extras ---------------------------------------------------------------------------

EXTRAS = ("oco", "take_profit", "stop_loss", "activation", "parent")


def _accepted(events: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {e["id"]: e for e in events if e["type"] == "accepted"}


def test_accepted_extras_only_as_they_apply_and_last() -> None:
    ex = Exchange()
    ex.apply(_inst())
    events: list[dict[str, Any]] = []
    for c in (
        _bracket(10, "u", "buy", {"id": "E1", "type": "limit", "qty": "1", "price": "90"},
                 tp={"id": "T1", "price": "95"}),
        _bracket(11, "u", "buy", {"id": "E2", "type": "limit", "qty": "1", "price": "90"},
                 sl={"id": "S2", "trigger_price": "85"}),
        _bracket(12, "u", "buy", {"id": "E3", "type": "limit", "qty": "1", "price": "90", "tif": "gtd",
                                  "expire_ts": 100, "display_qty": "1"},
                 tp={"id": "T3", "price": "95"}, sl={"id": "S3", "type": "trailing_stop_limit",
                                                      "trail_pct": "2", "limit_offset": "1"},
                 activation="partial"),
        _oco(13, "u", "sell", {"id": "O1", "type": "limit", "qty": "2", "price": "120",
                               "display_qty": "1"},
             {"id": "O2", "type": "stop", "qty": "2", "trigger_price": "80"}),
        _new(14, "u", "N", "buy", 1, 91),
    ):
        events.extend(ex.apply(c))
    acc = _accepted(events)
    present = {cid: {k for k in EXTRAS if k in e} for cid, e in acc.items()}
    assert present == {
        "E1": {"take_profit", "activation"},
        "T1": {"parent"},  # a lone child has no oco field
        "E2": {"stop_loss", "activation"},
        "S2": {"parent"},
        "E3": {"take_profit", "stop_loss", "activation"},
        "T3": {"parent", "oco"},
        "S3": {"parent", "oco"},
        "O1": {"oco"},
        "O2": {"oco"},
        "N": set(),
    }
    for cid, e in acc.items():
        keys = [k for k in e if k != "rests"]  # `rests` (book changes after the event) ends any event
        tail = keys[len(keys) - len(present[cid]):]
        assert set(tail) == present[cid], f"{cid}: contingent extras are not the last keys: {keys}"


# -- a long seeded flow: no cyclic garbage, links only for live orders ---------------------------

USERS = ("u0", "u1", "u2", "u3")


def _random_commands(n: int, seed: int) -> list[Cmd]:
    """Orders, OCOs and brackets of every kind around a drifting mid, with cancels, modifies,
    cancel_all, expiries and end_of_day. Ids are unique per command (parts add a suffix)."""
    rng = random.Random(seed)
    ids: list[tuple[str, str]] = []
    out: list[Cmd] = []
    mid = 100

    def px(spread: int) -> str:
        return str(max(1, mid + rng.randint(-spread, spread)))

    def resting_tif() -> Cmd:
        r = rng.random()
        if r < 0.15:
            return {"tif": "gtd", "expire_ts": ts + rng.randint(1, 40)}
        if r < 0.25:
            return {"tif": "day"}
        return {}

    def stop_part(cid: str, side: str, qty: int | None) -> Cmd:
        kind = rng.choice(("stop", "stop_limit", "trailing_stop", "trailing_stop_limit"))
        sign = 1 if side == "buy" else -1
        p: Cmd = {"id": cid, "type": kind}
        if qty is not None:
            p["qty"] = str(qty)
        if kind in ("stop", "stop_limit"):
            p["trigger_price"] = str(max(1, mid + sign * rng.randint(1, 6)))
        if kind == "stop_limit":
            p["price"] = str(max(1, mid + sign * rng.randint(0, 8)))
        if kind.startswith("trailing"):
            if rng.random() < 0.5:
                p["trail_amount"] = str(rng.randint(1, 4))
            else:
                p["trail_pct"] = rng.choice(("0.5", "1", "2.5"))
        if kind == "trailing_stop_limit":
            p["limit_offset"] = str(rng.randint(0, 2))
        p.update(resting_tif())
        return p

    for i in range(n):
        ts = 10 * (i + 1)
        mid = min(150, max(50, mid + rng.choice((-1, 0, 0, 1))))
        user = rng.choice(USERS)
        side = rng.choice(("buy", "sell"))
        other = "sell" if side == "buy" else "buy"
        away = -1 if side == "buy" else 1  # a price that would wait, for that side
        r = rng.random()
        cid = f"o{i}"
        if r < 0.30:
            kind = rng.random()
            if kind < 0.75:
                c = _new(ts, user, cid, side, rng.randint(1, 5), px(4),
                         tif=rng.choice(("gtc", "gtc", "ioc", "fok")),
                         stp=rng.choice(("none", "cancel_maker", "decrement")))
                if c["tif"] == "gtc" and rng.random() < 0.2:
                    c["display_qty"] = "1"
            elif kind < 0.85:
                c = _new(ts, user, cid, side, rng.randint(1, 5))
            else:
                c = {"cmd": "new", "ts": ts, "user": user, "id": cid, "symbol": SYM, "side": side,
                     **stop_part(cid, side, rng.randint(1, 3))}
            out.append(c)
            ids.append((user, cid))
        elif r < 0.45:
            parts = []
            for k in "ab":
                if rng.random() < 0.5:
                    p = {"id": cid + k, "type": "limit", "qty": str(rng.randint(1, 4)),
                         "price": str(max(1, mid + away * rng.randint(1, 5))),
                         "stp": rng.choice(("none", "cancel_maker")), **resting_tif()}
                    if rng.random() < 0.2 and p["qty"] != "1":
                        p["display_qty"] = "2"
                        p["display_variance"] = "1"
                else:
                    p = stop_part(cid + k, side, rng.randint(1, 4))
                parts.append(p)
            out.append(_oco(ts, user, side, parts[0], parts[1]))
            ids.extend((user, p["id"]) for p in parts)
        elif r < 0.62:
            et = rng.random()
            if et < 0.6:
                entry: Cmd = {"id": cid, "type": "limit", "qty": str(rng.randint(1, 5)), "price": px(3),
                              **resting_tif()}
            elif et < 0.7:
                entry = {"id": cid, "type": "market", "qty": str(rng.randint(1, 5))}
            elif et < 0.85:
                entry = {"id": cid, "type": "limit", "qty": str(rng.randint(1, 5)), "price": px(3),
                         "tif": rng.choice(("ioc", "fok"))}
            else:
                entry = stop_part(cid, side, rng.randint(1, 3))
            tp = sl = None
            if rng.random() < 0.8:
                tp = {"id": cid + "t", "price": str(max(1, mid - 2 * away + rng.randint(-2, 2))),
                      **resting_tif()}
                if rng.random() < 0.1:
                    tp["post_only"] = True
            if tp is None or rng.random() < 0.8:
                sl = stop_part(cid + "s", other, None)
            out.append(_bracket(ts, user, side, entry, tp, sl,
                                rng.choice(("full", "partial", None))))
            ids.extend((user, x["id"]) for x in (entry, tp, sl) if x is not None)
        elif r < 0.80 and ids:
            u, target = rng.choice(ids[-25:])
            out.append({"cmd": "cancel", "ts": ts, "user": u, "id": target})
        elif r < 0.92 and ids:
            u, target = rng.choice(ids[-25:])
            c = {"cmd": "modify", "ts": ts, "user": u, "id": target}
            if rng.random() < 0.7:
                c["price"] = px(4)
            if rng.random() < 0.5 or "price" not in c:
                c["qty"] = str(rng.randint(1, 5))
            out.append(c)
        elif r < 0.95:
            out.append({"cmd": "cancel_all", "ts": ts, "user": user})
        elif r < 0.98:
            out.append({"cmd": "tick", "ts": ts + 30})
        else:
            out.append({"cmd": "end_of_day", "ts": ts})
    return out


def _link_problems(ex: Exchange) -> list[str]:
    problems = []
    for oid, link in ex.links.items():
        o = link.order
        live = ex.live.get(o.user, {}).get(o.cid)
        if o.oid != oid or live is not o or not o.qty:
            problems.append(f"link {oid} for an order that is not live ({o.user}, {o.cid!r})")
    return problems


def test_random_flow_keeps_links_to_live_orders_and_ends_empty() -> None:
    ex = Exchange()
    ex.apply(_inst())
    counts: dict[str, int] = {}
    for i, c in enumerate(_random_commands(3000, seed=11)):
        for e in ex.apply(c):
            key = e["type"] + ":" + str(e.get("reason", ""))
            counts[key] = counts.get(key, 0) + 1
        problems = _link_problems(ex)
        assert not problems, f"after command {i} {c}: {problems}"
    # The flow does exercise the contingent paths.
    for key in ("activated:", "cancelled:oco", "cancelled:parent", "modified:parent_fill",
                "triggered:"):
        assert counts.get(key, 0) > 0, (key, counts)
    for user in USERS:
        ex.apply({"cmd": "cancel_all", "user": user})
    assert not any(ex.live.values())
    assert ex.links == {}


def test_links_empty_after_everything_fills() -> None:
    """Links also go when orders finish by trading and by the OCO rule, not only by cancels."""
    ex = Exchange()
    _run([
        _inst(),
        _bracket(10, "a", "buy", {"id": "E", "type": "limit", "qty": "2", "price": "100"},
                 tp={"id": "TP", "price": "105"}, sl={"id": "SL", "trigger_price": "95"},
                 activation="partial"),
        _bracket(11, "a", "buy", {"id": "E2", "type": "limit", "qty": "1", "price": "100"},
                 tp={"id": "TP2", "price": "105"}),
        _oco(12, "b", "sell", {"id": "A", "type": "limit", "qty": "1", "price": "106"},
             {"id": "B", "type": "stop", "qty": "1", "trigger_price": "90"}),
        _new(20, "t", "s1", "sell", 3, 100),
        _new(30, "t", "b1", "buy", 4, 106),
    ], ex)
    assert not any(ex.live.values())
    assert ex.links == {}


def test_random_flow_leaves_no_cyclic_garbage() -> None:
    cmds = [json.loads(json.dumps(c)) for c in _random_commands(4000, seed=5)]
    ex = Exchange()
    ex.apply(_inst())
    gc.collect()
    gc.disable()
    try:
        for c in cmds:
            ex.apply(c)
        for user in USERS:
            ex.apply({"cmd": "cancel_all", "user": user})
        found = gc.collect()
    finally:
        gc.enable()
    assert ex.links == {}
    # A handful of objects from the interpreter itself may turn up; a leak would be hundreds.
    assert found < 50, f"{found} objects were only reclaimable by the cyclic GC"


def test_random_flow_restores_mid_way() -> None:
    """Snapshots at a few points of the seeded flow continue exactly like the uninterrupted run."""
    cmds = [_inst(), *_random_commands(600, seed=23)]
    reference, ref_events = _run(cmds)
    for cut in (50, 173, 301, 444, 599):
        ex, _ = _run(cmds[:cut])
        twin = _round_trip(ex)
        for i in range(cut, len(cmds)):
            assert twin.apply(json.loads(json.dumps(cmds[i]))) == ref_events[i], f"cut {cut}, command {i}"
        assert twin.state_hash() == reference.state_hash()
