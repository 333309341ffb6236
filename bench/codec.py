"""What a message costs on the wire: SBE (ours) vs JSON (stdlib) vs MessagePack.

    python -m bench.codec [--quick] [--json]

Two messages, as a gateway sees them: a limit NewOrder (client to server) and the
ExecutionReportNew that answers it (server to client). For each codec, ns per encode and per
decode (median of `--runs` timed loops), and the bytes on the wire. JSON and MessagePack
carry the contract's dicts (decimal strings); SBE its fixed blocks (int64 mantissas), framed.

Invariants: every codec round-trips the same content (checked before timing); nothing but
the encode or decode call is inside the timed loop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import msgpack

from hftbook import protocol as p

ORDER = {"cmd": "new", "id": "cl-000042", "symbol": "BTC-USD", "side": "buy", "type": "limit",
         "price": "30000.5", "qty": "0.25", "tif": "gtc", "stp": "none"}
REPORT = {"type": "accepted", "ts": 1_700_000_000_000_000_000, "user": "demo1", "id": "cl-000042",
          "symbol": "BTC-USD", "order_id": 123456, "side": "buy", "order_type": "limit", "price": "30000.5",
          "qty": "0.25", "tif": "gtc", "post_only": False, "stp": "none"}


def _time(fn: Callable[[], Any], n: int, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(samples)


def measure(n: int, runs: int) -> dict[str, Any]:
    order_msg = p.message_from_command(ORDER)
    [(_, report_msg)] = p.reports_from_event(REPORT)
    enc_json = json.JSONEncoder(separators=(",", ":")).encode
    dec_json = json.JSONDecoder().decode
    out: dict[str, Any] = {}
    for name, obj, msg in (("NewOrder", ORDER, order_msg), ("ExecutionReportNew", REPORT, report_msg)):
        sbe_bytes = p.encode_frame(msg, 1)
        json_bytes = enc_json(obj).encode()
        mp_bytes = msgpack.packb(obj)
        assert p.decode(sbe_bytes[p.LENGTH_PREFIX_SIZE:])[1] == msg
        assert json.loads(json_bytes) == obj and msgpack.unpackb(mp_bytes) == obj
        body = sbe_bytes[p.LENGTH_PREFIX_SIZE:]
        json_text = json_bytes.decode()
        out[name] = {
            "sbe": {"encode_ns": _time(partial(p.encode_frame, msg, 1), n, runs),
                    "decode_ns": _time(partial(p.decode, body), n, runs), "bytes": len(sbe_bytes)},
            "json": {"encode_ns": _time(partial(enc_json, obj), n, runs),
                     "decode_ns": _time(partial(dec_json, json_text), n, runs), "bytes": len(json_bytes)},
            "msgpack": {"encode_ns": _time(partial(msgpack.packb, obj), n, runs),
                        "decode_ns": _time(partial(msgpack.unpackb, mp_bytes), n, runs),
                        "bytes": len(mp_bytes)},
        }
    return {"n": n, "runs": runs, "messages": out}


def table(r: dict[str, Any]) -> str:
    lines = ["| message | codec | encode ns | decode ns | bytes |", "|---|---|---|---|---|"]
    for name, codecs in r["messages"].items():
        for codec, v in codecs.items():
            enc, dec = v["encode_ns"], v["decode_ns"]
            lines.append(f"| {name} | {codec} | {enc:,.0f} | {dec:,.0f} | {v['bytes']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="unused (the bench runner passes one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = measure(20_000 if args.quick else 100_000, 3 if args.quick else 7)
    print(json.dumps(r, indent=2) if args.json else table(r))


if __name__ == "__main__":
    main()
