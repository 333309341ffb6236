"""Contract scenarios as data.

Each ``cases/NAME.jsonl`` is a replay input; ``cases/NAME.expected.jsonl`` lists the events it
must produce, one JSON object a line, in order. The expectations were derived by hand from
``shared/CONTRACT.md`` and ``docs/PROTOCOL.md``, not recorded from the engine.

Matching rule: the number of events must be equal, and every expected object must be a subset
of the actual event at the same position. Nested objects are compared recursively as subsets,
lists exactly, scalars by type and value (``true`` is not ``1``; ``1`` and ``1.0`` are equal).
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
DETERMINISM_CASES = (
    "r06_stp_cancel_maker.jsonl",
    "r12_gtd_expiry_order.jsonl",
    "m_metrics_depth_and_weights.jsonl",
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


def _run_in_process(case: Path) -> list[dict[str, Any]]:
    from hftbook.replay import replay_lines

    with case.open(encoding="utf-8") as f:
        return list(replay_lines(f))


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _mismatches(expected: Any, actual: Any, path: str) -> Iterator[str]:
    """Yield a line for every place where ``expected`` is not a subset of ``actual``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield f"{path}: expected an object, got {json.dumps(actual)}"
            return
        for key, value in expected.items():
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


def _console_script() -> Path:
    exe = Path(sys.executable).parent / ("hftbook.exe" if os.name == "nt" else "hftbook")
    assert exe.exists(), f"console script not installed next to the interpreter: {exe}"
    return exe


@pytest.mark.parametrize("name", DETERMINISM_CASES)
def test_replay_is_byte_identical_across_hash_seeds(name: str) -> None:
    case = CASES_DIR / name
    exe = _console_script()
    outputs = []
    for seed in HASH_SEEDS:
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run(
            [str(exe), "replay", str(case)], capture_output=True, env=env, timeout=120
        )
        assert proc.returncode == 0, f"seed {seed}: exit {proc.returncode}: {proc.stderr!r}"
        outputs.append(proc.stdout)
    assert outputs[0], "replay printed nothing"
    for seed, out in zip(HASH_SEEDS[1:], outputs[1:], strict=True):
        assert out == outputs[0], f"output under PYTHONHASHSEED={seed} differs from seed 0"

    # The console output is compact JSON, one event a line, and says what the scenario expects.
    lines = outputs[0].decode("utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    for line, event in zip(lines, events, strict=True):
        assert line == json.dumps(event, separators=(",", ":")), f"not compact JSON: {line}"
    problems = _diff(_load_expected(case), events)
    assert not problems, "\n".join(problems)
