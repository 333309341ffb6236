"""The benchmark suite (`make bench`, `python -m bench.run`) and its profiling driver.

    run.py           the entry point: runs each scenario in a child process, reports
    measurements.py  what a child measures: throughput, floor loop, latency, memory
    gc_policy.py     the GC policies measured (`default`, `tuned`) as a context manager
    report.py        the markdown table, the target checks, the latency plot
    stops.py         what waiting stop orders cost a trade print: 100 vs 10,000 stops
    host.py          the machine: CPU contention from other processes, this process's RSS
    hotspots.py      where the engine spends its time, for cProfile and py-spy

Invariants: nothing here is imported by `hftbook`; the suite only drives the engine through
`hftbook.workload` and the integer door, and never changes the engine's behaviour.
"""
