"""Property test: snapshot and restore give back the same exchange.

On random command streams (the differential test's generator, iceberg-heavy and contingent-heavy
flows among them, so that icebergs with hidden parts and advanced generators, OCO pairs, dormant
and partly grown bracket children and halt-deferred activations are snapshotted mid-life), the
exchange is snapshotted at a random point; the snapshot goes through JSON text (it must be JSON-able), and
``Exchange.restore`` builds a second exchange from it. Then:

- the restored exchange has the same ``state_hash()``, and snapshots to the same data;
- fed the same remaining commands, both exchanges give identical events (messages
  included: it is the same engine) and identical state hashes after every command;
- a further snapshot/restore in the middle of the tail changes nothing either.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from test_differential import command_streams

from hftbook.core.exchange import Exchange

Cmd = dict[str, Any]


def _via_json(snap: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(snap, sort_keys=False)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _restored(ex: Exchange) -> Exchange:
    snap = ex.snapshot()
    again = Exchange.restore(_via_json(snap))
    assert again.state_hash() == ex.state_hash()
    assert _via_json(again.snapshot()) == _via_json(snap)
    return again


@given(
    st.one_of(command_streams(), command_streams(icebergs=True), command_streams(contingent=True),
              command_streams(auction=True)),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)
def test_snapshot_restore_round_trip(cmds: list[Cmd], cut_a: int, cut_b: int) -> None:
    split = cut_a % (len(cmds) + 1)
    second = split + cut_b % (len(cmds) - split + 1)
    original = Exchange()
    for cmd in cmds[:split]:
        original.apply(copy.deepcopy(cmd))
    copy_ex = _restored(original)
    for i, cmd in enumerate(cmds[split:], start=split):
        if i == second:
            copy_ex = _restored(copy_ex)
        want = original.apply(copy.deepcopy(cmd))
        got = copy_ex.apply(copy.deepcopy(cmd))
        assert json.dumps(got) == json.dumps(want), f"command #{i} {cmd}"
        assert copy_ex.state_hash() == original.state_hash(), f"after command #{i} {cmd}"


@given(command_streams())
def test_state_hash_is_a_function_of_the_commands(cmds: list[Cmd]) -> None:
    a, b = Exchange(), Exchange()
    for cmd in cmds:
        a.apply(copy.deepcopy(cmd))
        b.apply(copy.deepcopy(cmd))
    assert a.state_hash() == b.state_hash()
    assert _via_json(a.snapshot()) == _via_json(b.snapshot())
