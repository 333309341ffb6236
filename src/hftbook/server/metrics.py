"""Latency and counters of a running server: HDR histograms per stage, Prometheus text.

Stages (nanoseconds, `time.perf_counter_ns`, a monotonic clock; reading it costs about
50-80 ns here, which is below the histograms' 3 significant digits at these latencies):
- `decode`: a received message parsed (JSON) and checked by its session;
- `queue`: from the gateway handing a command to the engine to its batch starting;
- `apply`: the venue applying one command (the batch's apply time / its commands);
- `journal`: one batch's commit (write + fsync under `batch`);
- `send`: one message handed to the socket (WebSocket framing, or the SBE frame written);
- `wire_to_wire`: from a message's arrival to its first answer handed to the socket.

With `serve --pipeline` more stages come from the other processes (pipeline.py): the queue
wait at every ring (`ring_commands_eN`: gateway to engine N; `ring_journal_eN`,
`ring_marketdata_eN`, `ring_responses_eN`: engine N's results to each of their readers),
and `apply_eN`, `journal_eN` measured where they happen. A process sends its histograms
(`Stages.encoded`: HDR-encoded, cumulative) every `report_s`; `replace` installs them.

Invariants: recording is O(1) and never raises on an out-of-range value (it is clamped);
`/metrics` reads percentiles without resetting anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hdrh.histogram import HdrHistogram
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

STAGES = ("decode", "queue", "apply", "journal", "send", "wire_to_wire")
QUANTILES = (0.5, 0.9, 0.99, 0.999)
_MAX_NS = 60 * 10**9


class Stages:
    """Latency histograms by stage name with their sums (ns): the gateway's `Metrics`, and a
    pipeline process's `Reporter`, which sends `encoded()` for the gateway to `replace`."""

    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self.hist = {s: HdrHistogram(1, _MAX_NS, 3) for s in names}
        self.sums = dict.fromkeys(names, 0)

    def record(self, stage: str, ns: int) -> None:
        v = 1 if ns < 1 else _MAX_NS if ns > _MAX_NS else ns
        self.hist[stage].record_value(v)
        self.sums[stage] += v

    def add_stage(self, stage: str) -> None:
        if stage not in self.hist:
            self.hist[stage] = HdrHistogram(1, _MAX_NS, 3)
            self.sums[stage] = 0

    def encoded(self) -> dict[str, tuple[bytes, int]]:
        """Every stage as (HDR encoding, sum), for another process's `replace`."""
        return {k: (h.encode(), self.sums[k]) for k, h in self.hist.items()}

    def replace(self, stage: str, encoded: bytes, total: int) -> None:
        """Install a stage's cumulative histogram measured in another process."""
        self.hist[stage] = HdrHistogram.decode(encoded)
        self.sums[stage] = total


class Metrics(Stages):
    def __init__(self) -> None:
        super().__init__(STAGES)
        self.counters = {"commands": 0, "batches": 0, "events": 0, "sessions_opened": 0, "rejected_logons": 0,
                         "slow_consumers": 0, "throttled": 0}
        self.gauges: dict[str, Any] = {"sessions": lambda: 0}

    def percentiles(self, stage: str) -> dict[float, int]:
        h = self.hist[stage]
        return {q: h.get_value_at_percentile(q * 100) for q in QUANTILES}

    def prometheus(self) -> bytes:
        registry = CollectorRegistry()
        registry.register(_Collector(self))
        data: bytes = generate_latest(registry)
        return data


class _Collector:
    def __init__(self, m: Metrics) -> None:
        self.m = m

    def collect(self) -> Iterator[Any]:
        m = self.m
        lat = SummaryMetricFamily("hftbook_latency_seconds", "latency per stage", labels=["stage"])
        for stage in m.hist:
            h = m.hist[stage]
            lat.add_metric([stage], count_value=h.get_total_count(), sum_value=m.sums[stage] / 1e9)
        yield lat
        q = GaugeMetricFamily("hftbook_latency_quantile_seconds", "latency percentiles per stage",
                              labels=["stage", "quantile"])
        for stage in m.hist:
            for quantile, ns in m.percentiles(stage).items():
                q.add_metric([stage, str(quantile)], ns / 1e9)
        yield q
        for name, value in m.counters.items():
            c = CounterMetricFamily(f"hftbook_{name}", f"{name.replace('_', ' ')} since start")
            c.add_metric([], value)
            yield c
        for name, fn in m.gauges.items():
            g = GaugeMetricFamily(f"hftbook_{name}", f"{name} now")
            g.add_metric([], fn())
            yield g


__all__ = ["QUANTILES", "STAGES", "Metrics", "Stages"]
