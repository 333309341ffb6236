"""The machine around the benchmark: CPU taken by other processes, and this process's RSS.

Numbers from a shared machine are only as good as its quietness, so the parent watches the
whole machine's CPU time (`/proc/stat`) over the run and reports how much of it went to other
processes; a child reads its own resident set size (`/proc/self/statm`).

Invariants: the probes only read; they never change what they measure. Where `/proc` is
missing or unreadable (not Linux), `cpu_ticks` returns None and `CpuWatch.contention` reports
nothing (an empty dict and no note) rather than a guess. "Other processes" is the machine's
busy time minus this process's and its finished children's CPU time, never below zero.
"""

from __future__ import annotations

import os
import resource


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, steal) clock ticks of the whole machine so far, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, steal


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rss_now() -> int:
    """This process's resident set size now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class CpuWatch:
    """The machine's CPU use from construction on, split into ours and everyone else's."""

    def __init__(self) -> None:
        self.ticks_start = cpu_ticks()
        self.own_start = own_cpu_seconds()

    def contention(self, wall: float) -> tuple[dict[str, float], str | None]:
        """CPUs other processes (and the hypervisor's steal) used on average over `wall`
        seconds since construction, and the note the report prints about it."""
        ticks_end = cpu_ticks()
        if self.ticks_start is None or ticks_end is None:
            return {}, None
        hz = os.sysconf("SC_CLK_TCK")
        busy = (ticks_end[0] - self.ticks_start[0]) / hz
        own = own_cpu_seconds() - self.own_start
        contention = {"other_cpus": max(0.0, busy - own) / wall,
                      "steal_cpus": (ticks_end[1] - self.ticks_start[1]) / hz / wall}
        note = (f"\nother processes used {contention['other_cpus']:.2f} of {os.cpu_count()} CPUs on "
                f"average during the run (hypervisor steal {contention['steal_cpus']:.2f})")
        if contention["other_cpus"] > 0.2:
            note += ": they competed for the machine, so these numbers are pessimistic"
        return contention, note


__all__ = ["CpuWatch", "cpu_ticks", "own_cpu_seconds", "rss_now"]
