"""The benchmark's report: the markdown table, the target checks, and the latency plot.

Input is the list of per-scenario result dicts the children wrote (`bench.measurements`), in
the order the scenarios ran; the table has one row per scenario in that order. The first GC
policy given is the table's main one; with both `default` and `tuned`, the throughput and
p99.9 columns are shown for `tuned` as well.

Invariants: targets are fixed constants, reported as pass/fail against the measured numbers
and never adjusted to pass; the floor-ratio and p99.9 targets are checked on the worst scenario
for each GC policy, the rate target on `mixed` (when it ran). Informational rows (bytes per
order after the flow, peak RSS, machine jitter) carry no verdict. Reporting only reads the
results; it never measures or changes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

# Targets (reported as pass/fail; never adjusted to pass).
TARGET_FLOOR_RATIO: Final = 0.25  # worst-case scenario rate / floor loop rate
TARGET_MIXED_RATE: Final = 1_000_000  # msg/s on `mixed`
TARGET_P999_NS: Final = 20_000
TARGET_BYTES_PER_ORDER: Final = 400


def _us(ns: float) -> str:
    us = ns / 1000.0
    return f"{us:.1f}" if us < 100 else f"{us:,.0f}"


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: list[dict[str, Any]], policies: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The markdown table and the target checks."""
    main = policies[0]
    has_tuned = "tuned" in policies and "default" in policies
    head = ["scenario", "msgs", "resting", f"msg/s ({main} GC)"]
    if has_tuned:
        head.append("msg/s (tuned GC)")
    head += ["x floor", "p50 us", "p99 us", f"p99.9 us ({main})"]
    if has_tuned:
        head.append("p99.9 us (tuned)")
    head += ["max us", "peak RSS MB", "B/order (book)", "B/order (after flow)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in results:
        thr = r["throughput"]
        lat = r["latency"]
        row = [r["scenario"], f"{r['messages']:,}", f"{r['resting_after_warmup']:,}",
               f"{thr[main]['median']:,.0f}"]
        if has_tuned:
            row.append(f"{thr['tuned']['median']:,.0f}")
        ratio = thr[main]["median"] / r["floor_rate"]
        row += [f"1/{1 / ratio:.1f}", _us(lat[main]["p50_ns"]), _us(lat[main]["p99_ns"]),
                _us(lat[main]["p99_9_ns"])]
        if has_tuned:
            row.append(_us(lat["tuned"]["p99_9_ns"]))
        mem = r["memory"]
        row += [_us(lat[main]["max_ns"]), f"{r['rss']['peak_bytes'] / 2**20:.0f}",
                f"{mem['warm_bytes_per_order']:.0f}", f"{mem['end_bytes_per_order']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")

    checks: dict[str, Any] = {}
    tlines = ["", "| target | measured | result |", "|---|---|---|"]
    for pol in policies:
        worst = min(results, key=lambda r: r["throughput"][pol]["median"] / r["floor_rate"])
        ratio = worst["throughput"][pol]["median"] / worst["floor_rate"]
        ok = ratio >= TARGET_FLOOR_RATIO
        checks[f"floor_ratio_{pol}"] = {"scenario": worst["scenario"], "ratio": ratio, "pass": ok}
        tlines.append(f"| worst scenario >= 1/4 of floor loop ({pol} GC) | {worst['scenario']}: "
                      f"1/{1 / ratio:.1f} ({worst['throughput'][pol]['median']:,.0f} vs "
                      f"{worst['floor_rate']:,.0f} msg/s) | {_mark(ok)} |")
    mixed = [r for r in results if r["scenario"] == "mixed"]
    for pol in policies:
        if mixed:
            rate = mixed[0]["throughput"][pol]["median"]
            ok = rate >= TARGET_MIXED_RATE
            checks[f"mixed_rate_{pol}"] = {"rate": rate, "pass": ok}
            tlines.append(f"| `mixed` >= 1,000,000 msg/s ({pol} GC) | {rate:,.0f} msg/s | {_mark(ok)} |")
    for pol in policies:
        worst = max(results, key=lambda r: r["latency"][pol]["p99_9_ns"])
        p = worst["latency"][pol]["p99_9_ns"]
        ok = p < TARGET_P999_NS
        checks[f"p99_9_{pol}"] = {"scenario": worst["scenario"], "ns": p, "pass": ok}
        tlines.append(f"| p99.9 < 20 us, worst scenario ({pol} GC) | {worst['scenario']}: "
                      f"{_us(p)} us | {_mark(ok)} |")

    def book_bpo(r: dict[str, Any]) -> float:
        return float(r["memory"]["warm_bytes_per_order"])

    def flow_bpo(r: dict[str, Any]) -> float:
        return float(r["memory"]["end_bytes_per_order"])

    worst = max(results, key=book_bpo)
    ok = book_bpo(worst) <= TARGET_BYTES_PER_ORDER
    checks["bytes_per_order"] = {"scenario": worst["scenario"], "bytes": book_bpo(worst), "pass": ok}
    tlines.append(f"| <= 400 bytes per resting order (tracemalloc over building the warmup book), "
                  f"worst scenario | {worst['scenario']}: {book_bpo(worst):.0f} B | {_mark(ok)} |")
    worst = max(results, key=flow_bpo)
    checks["bytes_per_order_after_flow"] = {"scenario": worst["scenario"], "bytes": flow_bpo(worst)}
    tlines.append(f"| bytes per resting order after the measured flow (dict slack and caches included; "
                  f"informational) | {worst['scenario']}: {flow_bpo(worst):.0f} B | - |")
    peak = max(results, key=lambda r: r["rss"]["peak_bytes"])
    checks["peak_rss"] = {"scenario": peak["scenario"], "bytes": peak["rss"]["peak_bytes"]}
    tlines.append(f"| peak RSS, worst scenario (informational) | {peak['scenario']}: "
                  f"{peak['rss']['peak_bytes'] / 2**20:.0f} MB | - |")
    noisy = max(results, key=lambda r: r["noise"]["p99_9_ns"])
    nz = noisy["noise"]
    checks["noise"] = {"p50_ns": nz["p50_ns"], "p99_9_ns": nz["p99_9_ns"], "max_ns": nz["max_ns"]}
    tlines.append(f"| machine jitter: fixed ~1 us of Python work timed the same way (informational) | "
                  f"p50 {_us(nz['p50_ns'])}, p99 {_us(nz['p99_ns'])}, p99.9 {_us(nz['p99_9_ns'])}, "
                  f"max {_us(nz['max_ns'])} us | - |")
    return "\n".join(lines + tlines), checks


def plot(results: list[dict[str, Any]], policies: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    rows = (len(results) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    ticks = [50.0, 90.0, 99.0, 99.9, 99.99, 99.999]
    for ax, r in zip(axes.flat, results, strict=False):
        for pol, style in zip(policies, ("-", "--"), strict=False):
            curve = [(p, v) for p, v in r["latency"][pol]["curve"] if 0.0 < p < 100.0]
            xs = [1.0 / (1.0 - p / 100.0) for p, _ in curve]
            ys = [v / 1000.0 for _, v in curve]
            ax.plot(xs, ys, style, marker=".", label=f"{pol} GC")
        noise = [(p, v) for p, v in r["noise"]["curve"] if 0.0 < p < 100.0]
        ax.plot([1.0 / (1.0 - p / 100.0) for p, _ in noise], [v / 1000.0 for _, v in noise],
                ":", color="grey", label="noise (1 us fixed work)")
        ax.axhline(TARGET_P999_NS / 1000.0, color="red", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([1.0 / (1.0 - p / 100.0) for p in ticks])
        ax.set_xticklabels([f"{p:g}" for p in ticks])
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (us)")
        ax.set_title(r["scenario"])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(results):]:
        ax.set_visible(False)
    fig.suptitle("hftbook: per-message latency of the integer door (red: 20 us target)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["plot", "report"]
