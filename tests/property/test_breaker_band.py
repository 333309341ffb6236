"""The circuit breaker's promise, checked from the outside on random risk-heavy flows: no
trade ever prints outside the band in force when its matching step started.

The checker knows only the commands and the events: the breaker settings from each accepted
`instrument` command, and every trade. A matching step's trades are consecutive `trade`
events of one taker (one order id); its band comes from the window of trades before the
step (ts > now - window, counted since the breaker was set; forgotten when the breaker is
removed or the tick changes), as docs/PROTOCOL.md defines it: armed with at least
`breaker_min_trades` trades, |p - mean| x 100 <= mean x pct. Also: a `halted` with reason
`volatility` comes only right after such a step's trades, on an armed breaker, and is
followed by the taker's `cancelled` with reason `volatility`.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from test_differential import command_streams

from hftbook.core.exchange import Exchange

Cmd = dict[str, Any]


class _Breaker:
    def __init__(self, cmd: Cmd) -> None:
        self.pct = Fraction(Decimal(str(cmd["breaker_pct"])))
        self.window = int(cmd["breaker_window_ns"])
        self.min_trades = int(cmd.get("breaker_min_trades") or 1)
        self.trades: list[tuple[int, Fraction]] = []  # (ts, price) since the breaker was set

    def band(self, now: int) -> tuple[Fraction, Fraction] | None:
        inside = [p for ts, p in self.trades if ts > now - self.window]
        if len(inside) < self.min_trades:
            return None
        mean = sum(inside, Fraction(0)) / len(inside)
        half = mean * self.pct / 100
        return mean - half, mean + half


def check_bands(cmds: list[Cmd]) -> int:
    """Replay `cmds`, check every step against its band; returns how many trades were
    checked against an armed band."""
    ex = Exchange()
    breakers: dict[str, _Breaker] = {}
    ticks: dict[str, str] = {}
    checked = 0
    for i, cmd in enumerate(cmds):
        events = ex.apply(copy.deepcopy(cmd))
        if cmd.get("cmd") == "instrument" and not any(e["type"] == "rejected" for e in events):
            sym = cmd["symbol"]
            tick_changed = ticks.get(sym) not in (None, str(Decimal(str(cmd["tick_size"])).normalize()))
            ticks[sym] = str(Decimal(str(cmd["tick_size"])).normalize())
            if cmd.get("breaker_pct") is None:
                breakers.pop(sym, None)
            elif sym not in breakers or tick_changed:
                breakers[sym] = _Breaker(cmd)
            else:
                kept = breakers[sym].trades
                breakers[sym] = _Breaker(cmd)
                breakers[sym].trades = kept
        band: tuple[Fraction, Fraction] | None = None
        taker: int | None = None
        step: list[tuple[int, Fraction]] = []
        sym = ""
        for j, e in enumerate(events):
            if e["type"] == "trade" and e.get("auction"):
                # An uncross is price discovery: the band does not bind it, its prints join
                # the window like any other (docs/PROTOCOL.md, "Call auction").
                _close(breakers.get(sym), step)
                step = []
                taker = None
                br = breakers.get(e["symbol"])
                if br is not None:
                    br.trades.append((e["ts"], Fraction(Decimal(e["price"]))))
                continue
            if e["type"] == "trade":
                if e["taker"]["order_id"] != taker or e["symbol"] != sym:
                    _close(breakers.get(sym), step)
                    step = []
                    taker, sym = e["taker"]["order_id"], e["symbol"]
                    br = breakers.get(sym)
                    band = None if br is None else br.band(e["ts"])
                price = Fraction(Decimal(e["price"]))
                if band is not None:
                    checked += 1
                    assert band[0] <= price <= band[1], (
                        f"command #{i}: trade {e['trade_id']} at {price} outside the band {band}")
                step.append((e["ts"], price))
                continue
            if e["type"] == "halted" and e["reason"] == "volatility":
                assert events[j - 1]["type"] == "trade" or band is not None or breakers.get(e["symbol"]), (
                    f"command #{i}: a volatility halt without a breaker")
                nxt = events[j + 1] if j + 1 < len(events) else None
                assert nxt is not None and nxt["type"] == "cancelled" and nxt["reason"] == "volatility", (
                    f"command #{i}: a volatility halt not followed by the taker's cancel: {nxt}")
            _close(breakers.get(sym), step)
            step = []
            taker = None
        _close(breakers.get(sym), step)
    return checked


def _close(br: _Breaker | None, step: list[tuple[int, Fraction]]) -> None:
    if br is not None:
        br.trades.extend(step)


@settings(max_examples=max(1, settings().max_examples // 2))
@given(command_streams(max_steps=120, risk=True))
def test_no_trade_prints_outside_the_band(cmds: list[Cmd]) -> None:
    check_bands(cmds)


def test_the_checker_sees_armed_bands() -> None:
    """The band check is not vacuous: a flow that sweeps through an armed band is checked
    and halted."""
    cmds: list[Cmd] = [
        {"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1", "breaker_pct": "2",
         "breaker_window_ns": 100, "breaker_halt_ns": 10},
        {"cmd": "new", "ts": 1, "user": "m", "id": 1, "symbol": "X", "side": "sell", "type": "limit",
         "price": "100", "qty": "1"},
        {"cmd": "new", "ts": 1, "user": "t", "id": 1, "symbol": "X", "side": "buy", "type": "market",
         "qty": "1"},
    ]
    cmds += [{"cmd": "new", "ts": 2, "user": "m", "id": 10 + k, "symbol": "X", "side": "sell",
              "type": "limit", "price": str(100 + k), "qty": "1"} for k in range(5)]
    cmds.append({"cmd": "new", "ts": 3, "user": "t", "id": 2, "symbol": "X", "side": "buy", "type": "market",
                 "qty": "5"})
    assert check_bands(cmds) == 3  # 100, 101, 102 in the band of 100 +/- 2%; then the halt
    ex = Exchange()
    events = [e for c in cmds for e in ex.apply(copy.deepcopy(c))]
    reasons = [e["reason"] for e in events if e["type"] in ("halted", "cancelled")]
    assert reasons == ["volatility", "volatility"]
