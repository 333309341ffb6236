"""The per-user risk commands of the reference exchange: ``limits`` and ``kill_switch``
(``docs/PROTOCOL.md``, "``limits`` and ``kill_switch``: per-user risk"). The checks those
settings make are ``risk``'s.

Invariants:

- ``limits`` checks its fields in the order ``user``, ``max_open_orders``, ``rate``, ``burst``,
  then that ``rate`` and ``burst`` come together (all ``bad_command``); an absent or null field
  is off. On success it replaces all of the user's limits at once, starts the token bucket full
  at the command's ts with an empty ledger, leaves the kill switch as it is, and writes
  ``limits`` with every field (null when off).
- ``kill_switch`` needs a non-empty ``user`` and a bool ``active`` (``bad_command``); asking
  for the state already in force (a user never switched is off) is ``bad_state`` and changes
  nothing. Otherwise it writes ``kill_switch`` first, then, when switched on, cancels every
  live order of the user on every symbol (reason ``killed``, in ``order_id`` order), resting,
  waiting and dormant alike; what those cancels cause to linked orders is ``settle``'s.
- Each handler writes a ``UserRisk`` only when it succeeds.

Only the standard library is used.
"""

from __future__ import annotations

from typing import Any

from .decimals import MAX_UNITS
from .fields import Malformed, nonempty_str
from .model import UserRisk
from .state import ReferenceState

__all__ = ["cmd_kill_switch", "cmd_limits"]


def _user(cmd: dict[str, Any]) -> str:
    user = cmd.get("user")
    if not nonempty_str(user):
        raise Malformed("user must be a non-empty string")
    assert isinstance(user, str)
    return user


def _count(cmd: dict[str, Any], key: str) -> int | None:
    """An optional limit: None when absent or null, else an integer in 1 .. 2**63 - 1."""
    value = cmd.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_UNITS:
        raise Malformed(f"{key} must be an integer in 1 .. 2**63 - 1, or null")
    return value


def cmd_limits(state: ReferenceState, cmd: dict[str, Any]) -> None:
    user = _user(cmd)
    max_open = _count(cmd, "max_open_orders")
    rate = _count(cmd, "rate")
    burst = _count(cmd, "burst")
    if (rate is None) != (burst is None):
        raise Malformed("rate and burst go together")
    ts = state.events.ts
    killed = user in state.users and state.users[user].killed
    state.users[user] = UserRisk(max_open, rate, burst, since=ts, killed=killed)
    state.events.append(
        {
            "type": "limits",
            "ts": ts,
            "user": user,
            "max_open_orders": max_open,
            "rate": rate,
            "burst": burst,
        }
    )


def cmd_kill_switch(state: ReferenceState, cmd: dict[str, Any]) -> None:
    user = _user(cmd)
    active = cmd.get("active")
    if not isinstance(active, bool):
        raise Malformed("active must be a bool")
    current = state.users.get(user)
    if (current is not None and current.killed) == active:
        state.events.reject(cmd, "bad_state", "the kill switch is already " + ("on" if active else "off"))
        return
    if current is None:
        current = state.users[user] = UserRisk()
    current.killed = active
    state.events.append({"type": "kill_switch", "ts": state.events.ts, "user": user, "active": active})
    if active:
        state.cancel_each(state.orders_of(user, None), "killed")
