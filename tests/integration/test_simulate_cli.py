"""`hftbook simulate` as a user runs it: the installed console script, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HFTBOOK = str(Path(sys.executable).with_name("hftbook"))
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args: str, cwd: Path, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    return subprocess.run([HFTBOOK, "simulate", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


def test_simulate_prints_the_table_and_writes_pngs(tmp_path: Path) -> None:
    out = tmp_path / "charts"
    res = run("--seed", "3", "--duration-s", "6", "--out", str(out), "--progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("hftbook simulate: seed 3, 6 s of SIM")
    at = next(i for i, line in enumerate(lines) if line.startswith("Algorithms (from algo_done"))
    table = lines[at + 1:]
    assert table[0].split()[:4] == ["algo", "user", "side", "qty"]
    assert [row.split()[:2] for row in table[2:5]] == [["twap", "algo-twap"], ["vwap", "algo-vwap"],
                                                      ["pov", "algo-pov"]]
    pngs = sorted(p.name for p in out.iterdir())
    assert pngs == ["algo-pov.png", "algo-twap.png", "algo-vwap.png", "market.png"]
    for name in pngs:
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
        assert f"{out / name}" in res.stdout
    # The progress bar went to stderr, a line per tenth (not a terminal).
    assert "simulating: 0%" in res.stderr and "simulating: 100%" in res.stderr


def test_same_seed_same_output_under_any_hash_seed_and_the_commands_replay(tmp_path: Path) -> None:
    a = run("--seed", "9", "--duration-s", "5", "--no-plots", "--events", "a.events", "--commands", "a.cmds",
            cwd=tmp_path, seed="1")
    b = run("--seed", "9", "--duration-s", "5", "--no-plots", "--events", "b.events", cwd=tmp_path, seed="2")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and a.stderr == b.stderr == ""  # no bar off a terminal by default
    events = (tmp_path / "a.events").read_text()
    assert events == (tmp_path / "b.events").read_text() and '"type":"algo_done"' in events
    replay = subprocess.run([HFTBOOK, "replay", str(tmp_path / "a.cmds")], capture_output=True, text=True,
                            timeout=120)
    assert replay.returncode == 0 and replay.stdout == events
    assert not (tmp_path / "sim-out").exists()


def test_market_alone_and_bad_options(tmp_path: Path) -> None:
    alone = run("--algos", "none", "--duration-s", "2", "--no-plots", cwd=tmp_path)
    assert alone.returncode == 0 and "Crowd" in alone.stdout and "Algorithms" not in alone.stdout
    bad_qty = run("--qty", "2.5", "--duration-s", "2", cwd=tmp_path)
    assert bad_qty.returncode == 2 and "--qty" in bad_qty.stderr
    bad_algo = run("--algos", "twap,iceberg", cwd=tmp_path)
    assert bad_algo.returncode == 2 and "iceberg" in bad_algo.stderr
    unwritable = run("--duration-s", "2", "--out", "/dev/null/x", cwd=tmp_path)
    assert unwritable.returncode == 1 and "cannot write the charts" in unwritable.stderr


def test_profile_learns_weights_from_events(tmp_path: Path) -> None:
    """`hftbook profile`: the trades' volume per time bucket, ready for a vwap `profile`."""
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in (
        {"type": "trade", "ts": 0, "symbol": "X", "qty": "4"},
        {"type": "trade", "ts": 19, "symbol": "X", "qty": "6"},
        {"type": "accepted", "ts": 5, "symbol": "X", "qty": "9"},
    )) + "\n")
    exe = Path(sys.executable).with_name("hftbook")
    out = subprocess.run([str(exe), "profile", str(events), "--buckets", "2"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["4", "6"]
    bad = subprocess.run([str(exe), "profile", str(tmp_path / "missing"), "--buckets", "2"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "hftbook profile" in bad.stderr
