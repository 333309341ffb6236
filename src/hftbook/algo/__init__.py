"""Execution algorithms (TWAP, VWAP, POV) as clients of the exchange: docs/ALGO.md.

- ``schedule``: slice times and targets, pure math;
- ``params``: the `algo` command's fields, checked, in ticks and lots;
- ``parent``: a parent's running state and statistics;
- ``engine``: the live parents, their slices and children, through the contract door;
- ``venue``: an exchange plus the engine, the door `replay`, the API and `simulate` use;
- ``profile``: a volume profile learned from historical trades.
"""

from hftbook.algo.parent import planned_target
from hftbook.algo.venue import Venue

__all__ = ["Venue", "planned_target"]
