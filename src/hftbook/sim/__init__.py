"""`hftbook simulate`: a seeded market of agents on the engine, with execution algorithms sent in
(docs/SIMULATE.md).

    agents.py    the participants: market makers, noise takers, momentum traders
    market.py    the settings, the fair value's walk, the event loop over `hftbook.algo.Venue`
    parents.py   each parent read back from the events: fills, end, target and executed paths
    report.py    the summary table (plain text)
    plots.py     the PNGs (matplotlib, Agg): schedule vs execution per parent, the market
    command.py   the command: options, progress bar, output files

Invariants: a run is a pure function of its `SimConfig` (seeded generators only, no clock,
no hash-ordered iteration into output): the same seed gives byte-identical events, table and
commands, and the commands replay (`hftbook replay`) to the same events.
"""

from hftbook.sim.market import MarketConfig, ParentSpec, SimConfig, SimResult, run

__all__ = ["MarketConfig", "ParentSpec", "SimConfig", "SimResult", "run"]
