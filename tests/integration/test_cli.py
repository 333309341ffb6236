"""The `hftbook` console script as a user runs it: real processes, real files."""

import json
import os
import subprocess
import sys
from pathlib import Path

HFTBOOK = str(Path(sys.executable).with_name("hftbook"))


def run(*args: str, stdin: str | None = None, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    return subprocess.run([HFTBOOK, *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=60)


def test_replay_file_and_stdin_agree(tmp_path: Path) -> None:
    lines = [
        '{"cmd":"instrument","symbol":"X","tick_size":"0.01","lot_size":"1","ts":5}',
        "",
        "# a comment",
        '{"cmd":"new","user":"a","id":"1","symbol":"X","side":"sell","type":"limit","price":"1.5",'
        '"qty":"2"}',
        '{"cmd":"new","user":"b","id":"1","symbol":"X","side":"buy","type":"market","qty":2,"ts":9}',
        "{oops",
    ]
    f = tmp_path / "s.jsonl"
    f.write_text("\n".join(lines) + "\n")
    from_file = run("replay", str(f))
    from_stdin = run("replay", "-", stdin=f.read_text())
    assert from_file.returncode == 0 and from_stdin.returncode == 0
    assert from_file.stdout == from_stdin.stdout
    events = [json.loads(x) for x in from_file.stdout.splitlines()]
    assert [e["type"] for e in events] == ["accepted", "accepted", "trade", "rejected"]
    assert events[0]["ts"] == 5 and events[2]["ts"] == 9
    assert events[3]["reason"] == "bad_command" and events[3]["line"] == 6 and events[3]["ts"] == 9


def test_replay_missing_file_exits_nonzero_with_message(tmp_path: Path) -> None:
    res = run("replay", str(tmp_path / "nope.jsonl"))
    assert res.returncode == 1
    assert "cannot read" in res.stderr and res.stdout == ""


def test_replay_binary_garbage_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "bin.jsonl"
    f.write_bytes(b"\xff\xfe\x00garbage\n")
    res = run("replay", str(f))
    assert res.returncode == 1 and "UTF-8" in res.stderr


def test_replay_is_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    cmds = [{"cmd": "instrument", "symbol": s, "tick_size": "0.01", "lot_size": "1"} for s in "ABC"]
    for i in range(60):
        cmds.append({"cmd": "new", "user": f"u{i % 4}", "id": f"o{i}", "symbol": "ABC"[i % 3],
                     "side": "buy" if i % 2 else "sell", "type": "limit",
                     "price": f"{100 + (i % 7) - 3}.00", "qty": str(1 + i % 5), "ts": i,
                     "stp": ["none", "cancel_maker", "decrement"][i % 3]})
        if i % 5 == 4:
            cmds.append({"cmd": "cancel_all", "user": f"u{i % 4}", "symbol": "ABC"[i % 3]})
    cmds += [{"cmd": "book", "symbol": s} for s in "ABC"] + [{"cmd": "end_of_day"}]
    f = tmp_path / "flow.jsonl"
    f.write_text("\n".join(json.dumps(c) for c in cmds) + "\n")
    outputs = {run("replay", str(f), seed=seed).stdout for seed in ("0", "1", "999", "random")}
    assert len(outputs) == 1
    assert "trade" in next(iter(outputs))
