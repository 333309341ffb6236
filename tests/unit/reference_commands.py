"""Command builders shared by the reference oracle's unit tests (`test_reference_*.py`).

Plain dicts in the contract's shape: prices and quantities as decimal strings (ints are
converted; bools and `expire_ts` stay as given), `ts` 1 and symbol "X" unless given.
"""

from __future__ import annotations

from typing import Any

from hftbook.core.reference import ReferenceExchange

Cmd = dict[str, Any]
Event = dict[str, Any]


def instrument(symbol: str = "X", tick: str = "1", lot: str = "1", ts: int = 0, **fields: Any) -> Cmd:
    return {"cmd": "instrument", "ts": ts, "symbol": symbol, "tick_size": tick, "lot_size": lot, **fields}


def new(user: str, cid: str, side: str, otype: str, qty: Any, **fields: Any) -> Cmd:
    cmd: Cmd = {"cmd": "new", "ts": fields.pop("ts", 1), "user": user, "id": cid,
                "symbol": fields.pop("symbol", "X"), "side": side, "type": otype,
                "qty": str(qty)}  # fmt: skip
    for key, value in fields.items():  # prices as decimal strings; bools and expire_ts as is
        plain = isinstance(value, bool) or not isinstance(value, int) or key == "expire_ts"
        cmd[key] = value if plain else str(value)
    return cmd


def limit(user: str, cid: str, side: str, qty: Any, price: Any, **fields: Any) -> Cmd:
    return new(user, cid, side, "limit", qty, price=price, **fields)


def market(user: str, cid: str, side: str, qty: Any, **fields: Any) -> Cmd:
    return new(user, cid, side, "market", qty, **fields)


def stop(user: str, cid: str, side: str, qty: Any, trigger: int, **fields: Any) -> Cmd:
    return new(user, cid, side, "stop", qty, trigger_price=trigger, **fields)


def modify(user: str, cid: str, ts: int = 1, **fields: Any) -> Cmd:
    return {"cmd": "modify", "ts": ts, "user": user, "id": cid, **{k: str(v) for k, v in fields.items()}}


def cancel(user: str, cid: str, ts: int = 1) -> Cmd:
    return {"cmd": "cancel", "ts": ts, "user": user, "id": cid}


def halt(ts: int = 1, symbol: str = "X", **fields: Any) -> Cmd:
    return {"cmd": "halt", "ts": ts, "symbol": symbol, **fields}


def resume(ts: int = 1, symbol: str = "X") -> Cmd:
    return {"cmd": "resume", "ts": ts, "symbol": symbol}


def tick(ts: int) -> Cmd:
    return {"cmd": "tick", "ts": ts}


def limits(user: str, ts: int = 0, **fields: Any) -> Cmd:
    return {"cmd": "limits", "ts": ts, "user": user, **fields}


def kill(user: str, active: bool, ts: int = 1) -> Cmd:
    return {"cmd": "kill_switch", "ts": ts, "user": user, "active": active}


def ok(ex: ReferenceExchange, cmd: Cmd) -> list[Event]:
    """Apply a command that must not be rejected."""
    events = ex.apply(cmd)
    rejected = [ev for ev in events if ev["type"] == "rejected"]
    assert not rejected, (cmd, rejected)
    return events
