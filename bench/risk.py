"""What the pre-trade risk checks cost per message (`hftbook.core.risk`).

    python -m bench.risk [--quick] [--messages N] [--runs N] [--seed S] [--json]

The `normal` workload (`hftbook.workload.scenario`) runs through the engine's integer door
after its warmup, events emptied after every message, twice per run on fresh exchanges:
- `off`: no risk settings (the engine pays one truth test per order);
- `all on`: every check configured on every symbol and for every user, wide enough that
  none refuses (min/max qty, max notional, a 50% collar around the last trade, market
  protection of 10,000 ticks, max open orders and a token bucket per user), so the same
  orders are accepted and the difference is the cost of checking.
The loops alternate; each figure is the median of `--runs`. The target (the issue's): the
checks add under 15% to the core's per-message cost.

Invariants: the flow is a pure function of (seed, messages); warmup and setup are untimed;
both variants accept exactly the same orders (checked after each run: equal state hashes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from fractions import Fraction
from typing import Any, Final

from bench.gc_policy import GcPolicy
from hftbook.core.exchange import Exchange
from hftbook.core.risk import InstrumentRisk
from hftbook.core.types import MAX_UNITS
from hftbook.workload import apply_message, run_batch, scenario
from hftbook.workload.messages import NEW

TARGET_SHARE: Final = 0.15


def _configure(ex: Exchange, users: list[str]) -> None:
    for book in ex.books.values():
        book.risk = InstrumentRisk(1, MAX_UNITS, MAX_UNITS * MAX_UNITS, Fraction(50), None, 10_000, {})
    for user in users:
        ex.set_user_limits(user, 10**9, 10**9, 10**9)  # a billion orders a second: never empty


def measure(messages: int, runs: int, seed: int) -> dict[str, Any]:
    sc = scenario("normal", messages, seed)
    msgs = list(sc.messages)
    users = sorted({m[1] for m in (*sc.warmup, *msgs) if m[0] == NEW})
    times: dict[str, list[int]] = {"off": [], "all on": []}
    hashes: dict[str, str] = {}
    for _ in range(runs):
        for variant in times:
            ex = sc.new_exchange()
            if variant == "all on":
                _configure(ex, users)
            for m in sc.warmup:
                apply_message(ex, m)
            del ex.out[:]
            with GcPolicy("tuned"):
                t0 = time.perf_counter_ns()
                run_batch(ex, msgs, clear_every=1)
                times[variant].append(time.perf_counter_ns() - t0)
            for book in ex.books.values():
                book.risk = None  # the settings are not part of the comparison
            ex.user_limits.clear()
            ex.user_risk = False
            hashes[variant] = ex.state_hash()
    if hashes["off"] != hashes["all on"]:
        raise SystemExit("bench.risk: the checks refused orders; the comparison is void")
    ns = {v: statistics.median(t) / len(msgs) for v, t in times.items()}
    return {"messages": len(msgs), "runs": runs, "seed": seed, "ns_per_message": ns,
            "share": (ns["all on"] - ns["off"]) / ns["off"]}


def target_row(r: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The row for `bench.run`'s target table, and the check."""
    ns, share = r["ns_per_message"], r["share"]
    ok = share < TARGET_SHARE
    line = (f"| risk checks: every check on adds under {TARGET_SHARE:.0%} to the core's per-message "
            f"cost (`normal`) | {ns['all on']:,.0f} vs {ns['off']:,.0f} ns: +{share:.1%} "
            f"| {'PASS' if ok else 'FAIL'} |")
    return [line], {"ns_off": ns["off"], "ns_on": ns["all on"], "share": share, "pass": ok}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.risk", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 messages, 3 runs")
    ap.add_argument("--messages", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = measure(args.messages or (20_000 if args.quick else 200_000), args.runs or (3 if args.quick else 7),
                args.seed)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    ns = r["ns_per_message"]
    print(f"risk checks: {r['messages']:,} messages of `normal`, median of {r['runs']} runs")
    print(f"  off     {ns['off']:8.0f} ns/message")
    print(f"  all on  {ns['all on']:8.0f} ns/message  +{r['share']:.1%}")


if __name__ == "__main__":
    main()
