"""Contract scenarios as data.

Each ``cases/NAME.jsonl`` is a replay input; ``cases/NAME.expected.jsonl`` lists the events it
must produce, one JSON object a line, in order. The expectations were derived by hand from
``shared/CONTRACT.md`` and ``docs/PROTOCOL.md``, not recorded from the engine.

Matching rule: the number of events must be equal, and every expected object must be a subset
of the actual event at the same position. Nested objects are compared recursively as subsets,
lists exactly, scalars by type and value (``true`` is not ``1``; ``1`` and ``1.0`` are equal).
An expected object may list keys that must NOT be present under ``"_absent"`` (for optional
fields such as ``maker_refill`` or ``oco``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CASES_DIR = Path(__file__).parent / "cases"
CASE_FILES = sorted(
    p for p in CASES_DIR.glob("*.jsonl") if not p.name.endswith(".expected.jsonl")
)

# Scenarios replayed through the console script under several hash seeds.
# They cover work over several users and symbols (end_of_day and gtd expiry order across
# symbols), float ratios, malformed lines (the exit status stays 0), and a stop cascade.
DETERMINISM_CASES = (
    "r12_day_end_of_day.jsonl",
    "m_metrics_depth_and_weights.jsonl",
    "p_malformed_lines.jsonl",
    "r11_cascade.jsonl",
)
HASH_SEEDS = ("0", "1", "12345")


def _expected_path(case: Path) -> Path:
    return case.with_name(case.name[: -len(".jsonl")] + ".expected.jsonl")


def _load_expected(case: Path) -> list[dict[str, Any]]:
    events = []
    with _expected_path(case).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            assert isinstance(obj, dict), f"{_expected_path(case).name}:{n} is not an object"
            events.append(obj)
    return events


def _run_in_process(case: Path, exchange: Any = None) -> list[dict[str, Any]]:
    """replay's events for a case, from the fast engine or the `exchange` given (anything
    with `apply` and `now`: the naive reference exchange)."""
    from hftbook.replay import replay_lines

    with case.open(encoding="utf-8") as f:
        return list(replay_lines(f, exchange))


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _mismatches(expected: Any, actual: Any, path: str) -> Iterator[str]:
    """Yield a line for every place where ``expected`` is not a subset of ``actual``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield f"{path}: expected an object, got {json.dumps(actual)}"
            return
        for key, value in expected.items():
            if key == "_absent":
                for name in value:
                    if name in actual:
                        yield f"{path}.{name}: present ({json.dumps(actual[name])}), expected absent"
                continue
            if key not in actual:
                yield f"{path}.{key}: missing (expected {json.dumps(value)})"
            else:
                yield from _mismatches(value, actual[key], f"{path}.{key}")
        return
    if _is_number(expected) and _is_number(actual):
        same = expected == actual
    elif isinstance(expected, list) and isinstance(actual, list):
        same = _lists_equal(expected, actual)
    else:
        same = type(expected) is type(actual) and expected == actual
    if not same:
        yield f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"


def _lists_equal(expected: list[Any], actual: list[Any]) -> bool:
    if len(expected) != len(actual):
        return False
    for e, a in zip(expected, actual, strict=True):
        if isinstance(e, dict) or isinstance(a, dict):
            if e != a:
                return False
        elif next(_mismatches(e, a, ""), None) is not None:
            return False
    return True


def _diff(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(expected) != len(actual):
        problems.append(f"expected {len(expected)} events, got {len(actual)}")
    for i in range(max(len(expected), len(actual))):
        exp = expected[i] if i < len(expected) else None
        act = actual[i] if i < len(actual) else None
        if exp is None:
            problems.append(f"event {i}: unexpected extra event\n    actual:   {json.dumps(act)}")
            continue
        if act is None:
            problems.append(f"event {i}: missing\n    expected: {json.dumps(exp)}")
            continue
        bad = list(_mismatches(exp, act, "event"))
        if bad:
            problems.append(
                f"event {i}:\n    expected: {json.dumps(exp)}\n    actual:   {json.dumps(act)}\n"
                + "\n".join(f"    - {b}" for b in bad)
            )
    return problems


def _case_id(case: Path) -> str:
    return case.name[: -len(".jsonl")]


def test_cases_are_paired() -> None:
    assert CASE_FILES, f"no scenarios found in {CASES_DIR}"
    missing = [c.name for c in CASE_FILES if not _expected_path(c).exists()]
    assert not missing, f"scenarios without an .expected.jsonl: {missing}"
    orphans = [
        p.name
        for p in CASES_DIR.glob("*.expected.jsonl")
        if not p.with_name(p.name.replace(".expected.jsonl", ".jsonl")).exists()
    ]
    assert not orphans, f"expected files without a scenario: {orphans}"


@pytest.mark.parametrize("case", CASE_FILES, ids=_case_id)
def test_scenario(case: Path) -> None:
    expected = _load_expected(case)
    actual = _run_in_process(case)
    problems = _diff(expected, actual)
    if problems:
        pytest.fail(f"{case.name}: events differ from the contract\n" + "\n".join(problems))


@pytest.mark.parametrize("case", CASE_FILES, ids=_case_id)
def test_reference_passes_scenario(case: Path) -> None:
    """The naive reference exchange (the property tests' oracle) meets every case too, key
    order included, so the oracle is pinned to the contract, not only to the engine. The
    algorithm engine is a client of either (`Venue`), so algo cases run over the oracle too."""
    from hftbook.algo import Venue
    from hftbook.core.reference import ReferenceExchange

    actual = _run_in_process(case, Venue(ReferenceExchange()))
    problems = _diff(_load_expected(case), actual)
    problems += [f"{ev}: {p}" for ev in actual for p in _order_problems(ev)]
    assert not problems, f"{case.name}:\n" + "\n".join(problems)


# Documented key order of each event type (PROTOCOL "Events and their key order"). Keys that are
# present must appear in this relative order; extra keys may appear anywhere.
KEY_ORDER: dict[str, tuple[str, ...]] = {
    "accepted": ("type", "ts", "user", "id", "symbol", "order_id", "side", "order_type", "price",
                 "qty", "tif", "post_only", "stp", "expire_ts", "trigger_price", "trail_amount",
                 "trail_pct", "limit_offset", "display_qty", "display_variance", "take_profit",
                 "stop_loss", "activation", "parent", "oco"),
    "activated": ("type", "ts", "user", "id", "symbol", "order_id", "qty"),
    "triggered": ("type", "ts", "user", "id", "symbol", "order_id", "trigger_price"),
    "rejected": ("type", "ts", "user", "id", "symbol", "cmd", "reason", "message", "line"),
    "trade": ("type", "ts", "symbol", "trade_id", "price", "qty", "side", "maker", "taker",
              "maker_refill"),
    "cancelled": ("type", "ts", "user", "id", "symbol", "order_id", "reason", "remaining"),
    "modified": ("type", "ts", "user", "id", "symbol", "order_id", "price", "qty", "reason", "refill"),
    "halted": ("type", "ts", "symbol", "reason"),
    "limits": ("type", "ts", "user", "max_open_orders", "rate", "burst"),
    "kill_switch": ("type", "ts", "user", "active"),
    "resumed": ("type", "ts", "symbol", "reason"),
    "book": ("type", "ts", "symbol", "bids", "asks"),
    "metrics": ("type", "ts", "symbol", "mid", "microprice", "imbalance", "weighted_imbalance",
                "spread_bps", "best_bid", "best_ask", "bid_qty", "ask_qty"),
}
PARTY_ORDER = ("user", "id", "order_id")


def _order_problems(event: dict[str, Any]) -> list[str]:
    problems = []
    keys = list(event)
    if "rests" in keys and keys[-1] != "rests":
        problems.append(f"rests is not the last key: {keys}")
    if keys[:2] != ["type", "ts"]:
        problems.append(f"does not start with type, ts: {keys}")
    documented = KEY_ORDER.get(str(event.get("type")), ())
    present = [k for k in keys if k in documented]
    if present != [k for k in documented if k in event]:
        problems.append(f"keys out of the documented order {documented}: {keys}")
    for party in ("maker", "taker"):
        if isinstance(event.get(party), dict) and list(event[party]) != list(PARTY_ORDER):
            problems.append(f"{party} keys are not {PARTY_ORDER}: {list(event[party])}")
    if event.get("type") == "rejected" and event.get("reason") == "bad_command":
        if keys[-1] != "line":
            problems.append(f"replay's bad_command does not end with line: {keys}")
    return problems


@pytest.mark.parametrize("case", CASE_FILES, ids=_case_id)
def test_event_key_order(case: Path) -> None:
    problems = [
        f"event {i} {json.dumps(event)}: {p}"
        for i, event in enumerate(_run_in_process(case))
        for p in _order_problems(event)
    ]
    assert not problems, "\n".join(problems)


def _console_script() -> Path:
    exe = Path(sys.executable).parent / ("hftbook.exe" if os.name == "nt" else "hftbook")
    assert exe.exists(), f"console script not installed next to the interpreter: {exe}"
    return exe


def test_replay_is_byte_identical_across_hash_seeds() -> None:
    exe = _console_script()
    for name in DETERMINISM_CASES:
        case = CASES_DIR / name
        outputs = []
        for seed in HASH_SEEDS:
            env = dict(os.environ, PYTHONHASHSEED=seed)
            proc = subprocess.run(
                [str(exe), "replay", str(case)], capture_output=True, env=env, timeout=120
            )
            assert proc.returncode == 0, f"{name}, seed {seed}: exit {proc.returncode}: {proc.stderr!r}"
            outputs.append(proc.stdout)
        assert outputs[0], f"{name}: replay printed nothing"
        for seed, out in zip(HASH_SEEDS[1:], outputs[1:], strict=True):
            assert out == outputs[0], f"{name}: output under PYTHONHASHSEED={seed} differs from seed 0"

        # The console prints compact JSON, one event a line, and says what the scenario expects.
        lines = outputs[0].decode("utf-8").splitlines()
        events = [json.loads(line) for line in lines]
        for line, event in zip(lines, events, strict=True):
            assert line == json.dumps(event, separators=(",", ":")), f"{name}: not compact: {line}"
        problems = _diff(_load_expected(case), events)
        assert not problems, f"{name}:\n" + "\n".join(problems)
