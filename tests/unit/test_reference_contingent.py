"""Contingent orders (``oco``, ``bracket``) in the naive reference exchange.

The reference is the oracle of the property tests, so its contingent orders are pinned down
here without the fast engine (every scenario file, the hand-derived ``c_oco_*`` /
``c_bracket_*`` ones included, is fed to the reference by ``tests/scenarios/test_scenarios.py``
with the matcher's subset rule and the documented key order); small cases, checked by hand from
docs/PROTOCOL.md ("Contingent orders"), pin the timing and ordering details the scenario
files do not reach. Symbol X has tick 1 and lot 1 so that prices read as plain integers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hftbook.core.reference import ReferenceExchange

_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


Cmd = dict[str, Any]
Event = dict[str, Any]
CASES = sorted(
    p
    for p in (_SCENARIOS / "cases").glob("c_*.jsonl")
    if not p.name.endswith(".expected.jsonl")
)


def test_every_contingent_scenario_is_found() -> None:
    names = {c.name for c in CASES}
    assert sum(n.startswith("c_oco_") for n in names) >= 11
    assert sum(n.startswith("c_bracket_") for n in names) >= 18


# ---------------------------------------------------------------------------------------
# hand-checked cases


def exchange(*cmds: Cmd) -> ReferenceExchange:
    ex = ReferenceExchange()
    ex.apply({"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1"})
    for cmd in cmds:
        ex.apply(cmd)
    return ex


def limit(user: str, cid: Any, side: str, qty: int, price: int, ts: int = 1, **kw: Any) -> Cmd:
    return {"cmd": "new", "ts": ts, "user": user, "id": cid, "symbol": "X", "side": side,
            "type": "limit", "qty": str(qty), "price": str(price), **kw}  # fmt: skip


def market(user: str, cid: Any, side: str, qty: int, ts: int = 1) -> Cmd:
    return {"cmd": "new", "ts": ts, "user": user, "id": cid, "symbol": "X", "side": side,
            "type": "market", "qty": str(qty)}  # fmt: skip


def bracket(user: str, side: str, entry: Cmd, ts: int = 1, **kw: Any) -> Cmd:
    return {"cmd": "bracket", "ts": ts, "user": user, "symbol": "X", "side": side,
            "entry": entry, **kw}  # fmt: skip


def cmd(name: str, ts: int, **kw: Any) -> Cmd:
    return {"cmd": name, "ts": ts, **kw}


def brief(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as (type, id or (maker id, taker id), the one detail that matters)."""
    out: list[tuple[Any, ...]] = []
    for ev in events:
        t = ev["type"]
        if t == "trade":
            out.append((t, (ev["maker"]["id"], ev["taker"]["id"]), ev["price"], ev["qty"]))
        elif t in ("rejected", "cancelled"):
            out.append((t, ev.get("id"), ev["reason"]))
        elif t in ("activated", "modified"):
            out.append((t, ev["id"], ev["qty"]))
        elif t == "triggered":
            out.append((t, ev["id"], ev["trigger_price"]))
        elif t in ("halted", "resumed", "book"):
            out.append((t,))
        else:
            out.append((t, ev.get("id")))
    return out


ENTRY_5 = {"id": "E", "type": "limit", "qty": "5", "price": "100"}
TP = {"id": "T", "price": "105"}
SL = {"id": "S", "trigger_price": "90"}


def test_entries_are_handled_in_the_order_they_filled_maker_first() -> None:
    """One matching step fills two entries: the new bracket's entry (the taker, accepted
    earlier in the same window) and a resting entry (the maker). The entries are handled in
    the order of their first fill: the maker's bracket first, although the taker's
    ``accepted`` came before. What the maker's take-profit does is the next window's."""
    ex = exchange(
        bracket("u", "sell", {"id": "M", "type": "limit", "qty": "1", "price": "100"},
                take_profit={"id": "MT", "price": "99"}),
    )
    out = ex.apply(bracket("v", "buy", {"id": "B", "type": "limit", "qty": "1", "price": "100"},
                           take_profit={"id": "BT", "price": "102"}, ts=2))  # fmt: skip
    assert brief(out) == [
        ("accepted", "B"),
        ("accepted", "BT"),
        ("trade", ("M", "B"), "100", "1"),
        ("activated", "MT", "1"),  # M is the maker: handled first; MT rests at 99
        ("activated", "BT", "1"),  # BT sells at 102: nothing to take, it rests
    ]


def test_full_activation_waits_for_the_resume_in_finish_order() -> None:
    """Two full brackets partly filled, then both entries cancelled while halted: the children
    stay dormant (a lone take-profit too), and right after ``resumed`` they activate in the
    order the entries finished."""
    ex = exchange(
        bracket("u", "sell", dict(ENTRY_5, price="101"), take_profit={"id": "T", "price": "95"},
                stop_loss={"id": "S", "trigger_price": "110"}),
        bracket("v", "buy", dict(ENTRY_5, id="F", price="99"),
                take_profit={"id": "FT", "price": "106"}),
        limit("tk", "b1", "buy", 1, 101, ts=2),
        limit("tk", "s1", "sell", 2, 99, ts=2),
        cmd("halt", 3, symbol="X"),
    )
    assert brief(ex.apply(cmd("cancel", 4, user="v", id="F"))) == [("cancelled", "F", "user")]
    assert brief(ex.apply(cmd("modify", 4, user="v", id="FT", qty="1"))) == [
        ("rejected", "FT", "unknown_order")
    ]
    assert brief(ex.apply(cmd("cancel", 5, user="u", id="E"))) == [("cancelled", "E", "user")]
    assert brief(ex.apply(cmd("resume", 6, symbol="X"))) == [
        ("resumed",),
        ("activated", "FT", "2"),  # F finished first (filled 2)
        ("activated", "S", "1"),
        ("activated", "T", "1"),
    ]


def test_an_unfilled_entry_cancelled_in_a_halt_cancels_its_children_at_once() -> None:
    """No activation is due, only the ``parent`` cancels, which need no trading: they are not
    deferred to the resume."""
    ex = exchange(bracket("u", "buy", ENTRY_5, take_profit=TP, stop_loss=SL),
                  cmd("halt", 2, symbol="X"))  # fmt: skip
    assert brief(ex.apply(cmd("cancel", 3, user="u", id="E"))) == [
        ("cancelled", "E", "user"),
        ("cancelled", "S", "parent"),
        ("cancelled", "T", "parent"),
    ]
    assert brief(ex.apply(cmd("resume", 4, symbol="X"))) == [("resumed",)]


def test_an_expiry_activates_before_the_command_and_its_triggered_stop_is_released() -> None:
    """The GTD expiry of a partly filled entry (before the command) activates the children;
    the stop-loss, whose condition holds, is released before the command itself (a halt), so
    it trades while the symbol still runs."""
    ex = exchange(
        limit("mm", "b1", "buy", 5, 99),
        bracket("u", "buy", dict(ENTRY_5, tif="gtd", expire_ts=10),
                take_profit={"id": "T", "price": "110"},
                stop_loss={"id": "S", "trigger_price": "100"}),
        limit("tk", "s1", "sell", 1, 100, ts=2),
    )
    assert brief(ex.apply(cmd("halt", 10, symbol="X"))) == [
        ("cancelled", "E", "expired"),
        ("activated", "S", "1"),
        ("activated", "T", "1"),
        ("triggered", "S", "100"),
        ("cancelled", "T", "oco"),
        ("trade", ("b1", "S"), "99", "1"),
        ("halted",),
    ]


def test_growth_reaches_a_triggered_stop_loss_before_its_release() -> None:
    """A partial bracket's entry fills in a step whose later print fires the stop-loss: the
    growth comes after the step (the stop-loss has not emitted ``triggered`` yet, so its
    growth has not stopped), then the stop-loss is released with its grown quantity."""
    ex = exchange(
        limit("mm", "b1", "buy", 9, 98),
        bracket("u", "buy", ENTRY_5, stop_loss={"id": "S", "trigger_price": "99"},
                activation="partial"),
        limit("tk", "s1", "sell", 1, 100, ts=2),
    )
    assert brief(ex.apply(market("tk", "s2", "sell", 6, ts=3))) == [
        ("accepted", "s2"),
        ("trade", ("E", "s2"), "100", "4"),
        ("trade", ("b1", "s2"), "98", "2"),
        ("modified", "S", "5"),
        ("triggered", "S", "99"),
        ("trade", ("b1", "S"), "98", "5"),
    ]


def test_growth_of_a_stop_limit_shows_its_limit_and_of_a_take_profit_requeues_it() -> None:
    ex = exchange(
        bracket("u", "buy", ENTRY_5, take_profit=TP,
                stop_loss={"id": "S", "type": "stop_limit", "trigger_price": "95", "price": "94"},
                activation="partial"),
        limit("tk", "s1", "sell", 1, 100, ts=2),
        limit("mm", "a1", "sell", 1, 105, ts=3),
    )
    out = ex.apply(limit("tk", "s2", "sell", 2, 100, ts=4))
    assert brief(out)[-2:] == [("modified", "S", "3"), ("modified", "T", "3")]
    assert [out[-2]["price"], out[-2]["reason"], out[-1]["price"]] == ["94", "parent_fill", "105"]
    # the take-profit went behind mm's ask at 105
    assert ex.levels_view("X", False) == [(105, 4, 2, [(5, 1), (2, 3)])]


def test_a_take_profit_trading_with_its_own_entry_stops_the_growth() -> None:
    """Partial: the activated take-profit (sell 99) crosses its own resting entry (buy 100,
    STP none): that trade is both the take-profit's first trade (the OCO pair resolves) and a
    fill of the entry, which then raises nothing."""
    ex = exchange(bracket("u", "buy", ENTRY_5, take_profit={"id": "T", "price": "99"},
                          stop_loss=SL, activation="partial"))  # fmt: skip
    assert brief(ex.apply(limit("tk", "s1", "sell", 2, 100, ts=2))) == [
        ("accepted", "s1"),
        ("trade", ("E", "s1"), "100", "2"),
        ("activated", "S", "2"),
        ("activated", "T", "2"),
        ("trade", ("E", "T"), "100", "2"),
        ("cancelled", "S", "oco"),
    ]


def test_full_activation_uses_the_filled_quantity_even_above_the_submitted_one() -> None:
    ex = exchange(
        bracket("u", "buy", dict(ENTRY_5, qty="2"), take_profit=TP, stop_loss=SL),
        cmd("modify", 2, user="u", id="E", qty="4"),
    )
    assert brief(ex.apply(limit("tk", "s1", "sell", 4, 100, ts=3)))[-2:] == [
        ("activated", "S", "4"),
        ("activated", "T", "4"),
    ]
    # a dormant child's remaining is its own qty (the entry's at submission), not the entry's now
    ex = exchange(
        bracket("u", "buy", dict(ENTRY_5, qty="2"), take_profit=TP),
        cmd("modify", 2, user="u", id="E", qty="5"),
    )
    out = ex.apply(cmd("cancel", 3, user="u", id="T"))
    assert brief(out) == [("cancelled", "T", "user")] and out[0]["remaining"] == "2"


def test_a_released_stop_entry_keeps_its_dormant_children() -> None:
    """Between its ``triggered`` event and its matching a released stop entry is still live:
    the OCO settle right after ``triggered`` must not take it for finished."""
    ex = exchange(
        limit("mm", "a1", "sell", 1, 101),
        bracket("u", "buy", {"id": "E", "type": "stop", "qty": "2", "trigger_price": "101"},
                take_profit=TP, stop_loss=SL),
        limit("mm", "a2", "sell", 2, 102),
    )
    assert brief(ex.apply(limit("tk", "b1", "buy", 1, 101, ts=2))) == [
        ("accepted", "b1"),
        ("trade", ("a1", "b1"), "101", "1"),
        ("triggered", "E", "101"),
        ("trade", ("a2", "E"), "102", "2"),
        ("activated", "S", "2"),
        ("activated", "T", "2"),
    ]


def test_an_oco_part_cancelled_by_its_own_placement_cancels_the_other_after_both() -> None:
    """The parts are placed one after the other, then the command's effects are settled: the
    first part's STP cancel (cancel_taker against the user's own ask) is its exit, so the
    second part, placed meanwhile, is cancelled ``oco``."""
    ex = exchange(limit("u", "a1", "sell", 1, 100))
    out = ex.apply({"cmd": "oco", "ts": 2, "user": "u", "symbol": "X", "side": "buy", "orders": [
        {"id": "A", "type": "limit", "qty": "2", "price": "100", "stp": "cancel_taker"},
        {"id": "B", "type": "limit", "qty": "2", "price": "98"},
    ]})  # fmt: skip
    assert brief(out) == [
        ("accepted", "A"),
        ("accepted", "B"),
        ("cancelled", "A", "stp"),
        ("cancelled", "B", "oco"),
    ]
    assert ex.levels_view("X", True) == []


def test_a_modify_of_a_dormant_child_is_unknown_order_before_its_numbers_are_checked() -> None:
    """PROTOCOL, modify: fields -> ``unknown_order`` -> ``bad_price``, ``bad_qty``; a dormant
    child is not a resting limit order, so even a malformed price is ``unknown_order``."""
    ex = exchange(bracket("u", "buy", ENTRY_5, take_profit=TP))
    for change in ({"price": "100.5"}, {"qty": "0"}, {"price": "104"}):
        assert brief(ex.apply(cmd("modify", 2, user="u", id="T", **change))) == [
            ("rejected", "T", "unknown_order")
        ]


def test_list_commands_take_no_order_id_when_refused() -> None:
    ex = exchange(limit("mm", "a1", "sell", 1, 100))
    refused = [
        {"cmd": "oco", "ts": 2, "user": "u", "symbol": "X", "side": "buy", "orders": [
            {"id": "A", "type": "limit", "qty": "1", "price": "99"},
            {"id": "B", "type": "limit", "qty": "1", "price": "100"}]},  # would_trade
        bracket("u", "buy", {"id": "E", "type": "market", "qty": "1"}, stop_loss=SL,
                activation="half"),  # bad_command
        bracket("u", "sell", {"id": "E", "type": "market", "qty": "1"}, stop_loss=SL),
    ]  # fmt: skip
    assert [brief(ex.apply(c)) for c in refused] == [
        [("rejected", None, "would_trade")],
        [("rejected", None, "bad_command")],
        [("rejected", None, "no_liquidity")],
    ]
    out = ex.apply(bracket("u", "buy", dict(ENTRY_5, qty="1", price="99"), take_profit=TP))
    assert [ev["order_id"] for ev in out] == [2, 3]
