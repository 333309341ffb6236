"""`hftbook client` and `hftbook stats`: the shell's way into a running server.

`hftbook client '{"cmd":"new","id":1,"symbol":"AAPL","side":"buy","type":"limit","price":"190","qty":"5"}'`
logs on (the demo key by default), sends each command (or each stdin line), and prints every
message the server sends back as JSON lines until `--wait` seconds pass with nothing new.
`hftbook stats` reads `/metrics` and prints each stage's latency percentiles and the counters.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request

from hftbook.server.client import AsyncClient, ProtocolError


def run_client(url: str, key: str, secret: str, commands: list[str], wait: float) -> int:
    lines = commands or [line for line in sys.stdin if line.strip()]
    try:
        cmds = [json.loads(line) for line in lines]
    except json.JSONDecodeError as exc:
        print(f"hftbook client: not JSON: {exc}", file=sys.stderr)
        return 2

    async def go() -> int:
        try:
            c = await AsyncClient.open(url, key, secret)
        except (OSError, ProtocolError) as exc:
            print(f"hftbook client: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(c.logon))
        for cmd in cmds:
            await c.send(cmd)
        while True:
            try:
                msg = await c.recv(wait)
            except TimeoutError:
                break
            print(json.dumps(msg))
        await c.close()
        return 0

    return asyncio.run(go())


def run_stats(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError as exc:
        print(f"hftbook stats: {url}: {exc}", file=sys.stderr)
        return 1
    rows: dict[str, dict[str, float]] = {}
    counters = []
    for line in text.splitlines():
        if line.startswith("hftbook_latency_quantile_seconds{"):
            labels, value = line[len("hftbook_latency_quantile_seconds{"):].split("} ")
            parts = dict(p.split("=") for p in labels.split(","))
            rows.setdefault(parts["stage"].strip('"'), {})[parts["quantile"].strip('"')] = float(value)
        elif line.startswith("hftbook_") and not line.startswith("hftbook_latency") and " " in line:
            name, value = line.rsplit(" ", 1)
            if not name.endswith("_created"):
                counters.append((name, float(value)))
    quantiles = ("0.5", "0.9", "0.99", "0.999")
    names = ("p50", "p90", "p99", "p99.9")
    print(f"{'stage':<20}" + "".join(f"{n:>12}" for n in names))
    for stage, qs in rows.items():
        print(f"{stage:<20}" + "".join(f"{qs.get(q, 0) * 1e6:>10.1f}us" for q in quantiles))
    for name, value in counters:
        print(f"{name:<34}{value:>14,.0f}")
    return 0


__all__ = ["run_client", "run_stats"]
