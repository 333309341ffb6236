"""`hftbook replay`: contract commands from JSON lines in, events as JSON lines out.

Invariants: the output is a pure function of the input bytes (no clock, no hash order:
event dicts are built in a fixed key order and dumped without sorting); a malformed line gives
one `rejected` (`bad_command`) event carrying its line number and replay goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, TextIO

from hftbook.algo import Venue


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _int(text: str) -> int:
    # int(str) refuses more than 4300 digits (CPython's DoS guard); such a number is still valid
    # JSON, so it is converted through Decimal and then refused by range checks downstream.
    return int(text) if len(text) < 4000 else int(Decimal(text))


# Built once: json.loads/dumps with options would build a new decoder/encoder per line.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)
_HUGE_INT_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_int, parse_constant=_no_constants)
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def parse_line(line: str) -> Any:
    """JSON with numbers kept exact (floats become Decimal); NaN/Infinity refused."""
    try:
        return _DECODER.decode(line)
    except ValueError:
        # Either malformed (the retry fails the same way) or an integer too long for int(str).
        return _HUGE_INT_DECODER.decode(line)


def replay_lines(lines: Iterable[str], exchange: Any = None) -> Iterator[dict[str, Any]]:
    """Apply each command line in order and yield the events. `exchange`: anything with the
    contract door (`apply`, `now`); by default a `Venue` (an Exchange that runs `algo`)."""
    ex = exchange if exchange is not None else Venue()
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            cmd = parse_line(text)
        except (ValueError, RecursionError) as exc:
            yield {
                "type": "rejected", "ts": ex.now, "reason": "bad_command",
                "message": f"not valid JSON: {exc}", "line": number,
            }
            continue
        for event in ex.apply(cmd):
            if event["type"] == "rejected" and event["reason"] == "bad_command":
                event["line"] = number
            yield event


def dump(event: dict[str, Any]) -> str:
    """One event as compact JSON, keys in the order they were built."""
    return _ENCODER.encode(event)


def replay_file(path: str, out: TextIO) -> None:
    """Replay a file to `out`; raises OSError if the file cannot be read."""
    with open(path, encoding="utf-8") as f:
        write = out.write
        for event in replay_lines(f):
            write(dump(event))
            write("\n")
