"""Client ids live elsewhere: a command's `live_elsewhere` ids count as live while it runs.

When the server shards symbols over several engines (`serve --pipeline --engines N`), a
client id can be live on one engine while the same user places it again on a symbol of
another. One exchange would refuse that `duplicate_id`, after the checks that come before
the duplicate check (fields, symbol, units) and counting the live order toward the user's
open-order limit. The gateway sends such a command to the symbol's engine with the ids in
`live_elsewhere`; `dispatch` (commands.py) has `hold` put a stand-in under each of them in
`live[user]` while the command's handler runs (after the time advanced and GTD orders
expired), so every check runs exactly as in one exchange, and `release` takes them out.
The field is part of the journaled command, so a replay does the same.

Invariants: stand-ins exist only while one command's handler runs; an id live here already is left alone;
a malformed field (not a list, unhashable ids, no valid user) holds nothing; the live map
is left as it was found (a user map made only for the stand-ins is removed again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange


class _Elsewhere:
    """Stands in for an order of another engine: never equal to a real order id, never GTD."""

    __slots__ = ()
    oid = 0
    tif = -1


ELSEWHERE = _Elsewhere()
Held = tuple[str, list[Any], bool]


def hold(ex: Exchange, cmd: dict[str, Any]) -> Held | None:
    user, ids = cmd.get("user"), cmd.get("live_elsewhere")
    if not isinstance(user, str) or type(ids) is not list:
        return None
    orders = ex.live.get(user)
    made = orders is None
    if orders is None:
        orders = ex.live[user] = {}
    held = []
    for cid in ids:
        try:
            if cid in orders:
                continue
        except TypeError:  # unhashable: cannot be anyone's id
            continue
        orders[cid] = ELSEWHERE  # type: ignore[assignment]
        held.append(cid)
    return user, held, made


def release(ex: Exchange, held: Held | None) -> None:
    if held is None:
        return
    user, cids, made = held
    orders: dict[Any, object] | None = ex.live.get(user)  # type: ignore[assignment]
    if orders is None:
        return
    for cid in cids:
        if orders.get(cid) is ELSEWHERE:
            del orders[cid]
    if made and not orders:
        del ex.live[user]


__all__ = ["ELSEWHERE", "hold", "release"]
