"""`hftbook analyze` as a user runs it: the installed console script on real files.

The input is real replay output: a seeded three-symbol workload (hftbook.workload) written as
contract commands, one millisecond apart, and run through `hftbook replay`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hftbook.core.types import SIDE_NAMES, STP_NAMES, TIF_NAMES, TYPE_NAMES
from hftbook.workload import CANCEL, NEW, Flow, FlowConfig

HFTBOOK = str(Path(sys.executable).with_name("hftbook"))
SYMBOLS = (("AAA", 10_000.0), ("BBB", 25_000.0), ("C/X", 4_000.0))  # mids in ticks of 0.01
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([HFTBOOK, *args], input=stdin, capture_output=True, env=dict(os.environ),
                         timeout=120, cwd=cwd)
    return subprocess.CompletedProcess(res.args, res.returncode, res.stdout.decode(), res.stderr.decode())


def _price(ticks: int) -> str:
    return f"{ticks // 100}.{ticks % 100:02d}"


def _commands(n: int, seed: int) -> list[dict[str, object]]:
    flow = Flow(seed, SYMBOLS, FlowConfig(target=150))
    cmds: list[dict[str, object]] = [
        {"cmd": "instrument", "symbol": sym, "tick_size": "0.01", "lot_size": "1", "ts": 0}
        for sym, _ in SYMBOLS
    ]
    ts = 0
    for m in flow.seed_book(150) + flow.take(n):
        ts += 1_000_000
        if m[0] == NEW:
            _, user, cid, sym, side, otype, price, qty, tif, _exp, post, stp = m
            c: dict[str, object] = {
                "cmd": "new", "user": user, "id": cid, "symbol": sym, "side": SIDE_NAMES[side],
                "type": TYPE_NAMES[otype], "qty": str(qty), "tif": TIF_NAMES[tif], "post_only": post,
                "stp": STP_NAMES[stp], "ts": ts,
            }
            if TYPE_NAMES[otype] != "market":
                c["price"] = _price(price)
        elif m[0] == CANCEL:
            c = {"cmd": "cancel", "user": m[1], "id": m[2], "ts": ts}
        else:
            c = {"cmd": "modify", "user": m[1], "id": m[2], "ts": ts}
            if m[3] is not None:
                c["price"] = _price(m[3])
            if m[4] is not None:
                c["qty"] = str(m[4])
        cmds.append(c)
    cmds.append({"cmd": "halt", "symbol": "AAA"})
    return cmds


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("analyze")
    cmds = d / "flow.jsonl"
    cmds.write_text("".join(json.dumps(c) + "\n" for c in _commands(2500, 11)))
    res = run("replay", str(cmds))
    assert res.returncode == 0, res.stderr
    out = d / "flow.events"
    out.write_text(res.stdout)
    return out


def _rows(table: str, title: str) -> dict[str, list[str]]:
    """symbol -> cells of one of the summary's tables."""
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 3
    rows: dict[str, list[str]] = {}
    for line in lines[start:]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells
    return rows


def test_summary_and_charts(events_file: Path) -> None:
    n_events = len(events_file.read_text().splitlines())
    assert n_events > 3000
    res = run("analyze", str(events_file))
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # no progress bar off a terminal for a small input
    assert f"{n_events:,} events in " in res.stdout
    trades = _rows(res.stdout, "Trades")
    book = _rows(res.stdout, "Book")
    assert list(trades) == list(book) == ["AAA", "BBB", "C/X"]
    for sym, cells in trades.items():
        n_trades = int(cells[2].replace(",", ""))
        assert n_trades > 0, f"{sym}: the workload trades on every symbol"
        low, high = float(cells[8]), float(cells[7])
        assert low <= float(cells[5]) <= high  # the VWAP is within the traded range
    assert book["AAA"][-1] == "1" and book["BBB"][-1] == "0"  # halts
    out_dir = Path(str(events_file) + ".analysis")
    charts = sorted(out_dir.iterdir())
    assert [p.name for p in charts] == ["AAA.png", "BBB.png", "C_X.png"]
    for p in charts:
        data = p.read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000
        assert f"{p}\n" in res.stdout


def test_stdin_gives_the_same_summary(events_file: Path, tmp_path: Path) -> None:
    from_file = run("analyze", str(events_file), "--no-plots")
    from_stdin = run("analyze", "-", "--no-plots", stdin=events_file.read_bytes(), cwd=tmp_path)
    assert from_file.returncode == from_stdin.returncode == 0
    assert from_stdin.stdout.splitlines()[0] == "hftbook analyze: stdin"
    assert from_file.stdout.splitlines()[1:] == from_stdin.stdout.splitlines()[1:]
    assert not (tmp_path / "hftbook-analysis").exists()  # --no-plots writes nothing


def test_progress_when_asked(events_file: Path, tmp_path: Path) -> None:
    res = run("analyze", str(events_file), "--progress", "--out", str(tmp_path / "charts"), "--bar", "0.5")
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert lines[0].startswith("scanning: 0%") and "scanning: 100%" in res.stderr
    assert "analyzing: 100%" in res.stderr and lines[-1].startswith("drawing 3 chart(s) into")
    assert (tmp_path / "charts" / "BBB.png").read_bytes().startswith(PNG)


def test_missing_file(tmp_path: Path) -> None:
    res = run("analyze", str(tmp_path / "nope.events"))
    assert res.returncode == 1 and res.stdout == ""
    missing = tmp_path / "nope.events"
    assert res.stderr == f"hftbook analyze: cannot read {missing}: No such file or directory\n"


def test_bad_line_stops_or_is_skipped(events_file: Path, tmp_path: Path) -> None:
    lines = events_file.read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.events"
    bad.write_text("".join(lines[:5]) + '{"type":"trade",\n' + "".join(lines[5:]))
    res = run("analyze", str(bad), "--no-plots")
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith(f"hftbook analyze: {bad} line 6: not JSON (")
    res = run("analyze", str(bad), "--no-plots", "--skip-bad")
    assert res.returncode == 0
    assert res.stderr.startswith(f"hftbook analyze: {bad} line 6: not JSON (") and "(skipped)" in res.stderr
    assert "skipped 1 bad line " in res.stdout
    good = run("analyze", str(events_file), "--no-plots")
    assert res.stdout.split("\n", 2)[2] == good.stdout.split("\n", 1)[1]  # the same numbers


def test_commands_instead_of_events(tmp_path: Path) -> None:
    f = tmp_path / "orders.jsonl"
    f.write_text('{"cmd":"instrument","symbol":"X","tick_size":"1","lot_size":"1"}\n')
    res = run("analyze", str(f))
    assert res.returncode == 1
    assert "line 1: not an event but a command (run `hftbook replay`" in res.stderr


def test_empty_input(tmp_path: Path) -> None:
    f = tmp_path / "empty.events"
    f.write_text("\n\n")
    res = run("analyze", str(f))
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout == f"hftbook analyze: {f}\nno events: nothing to analyze\n"
    assert not Path(str(f) + ".analysis").exists()
