"""A naive reference exchange: the oracle for the property tests.

``ReferenceExchange`` implements the observable behaviour of ``docs/PROTOCOL.md`` (and the
parts of ``shared/CONTRACT.md`` it makes available) in the plainest way that works: every
live order of every symbol sits in one Python list, and every question ("who is the best
maker?", "is this id live?", "which orders expire?") is answered by a linear scan over that
list. Nothing is indexed, cached or incrementally maintained, so there is nothing to get out
of sync. It is written independently of the fast engine and is meant to be read, not run
in production: its cost per command is linear (per fill) in the number of live orders.

Modules, each stating its own invariants:

- ``decimals``: parsing input numbers exactly, formatting canonical decimal strings;
- ``model``: the plain records (instrument and its risk settings, a user's limits and kill
  switch, order, iceberg, event and level shapes);
- ``iceberg``: iceberg slices and refills, and their SplitMix64 generator;
- ``fields``: command field validation (``Malformed``, i.e. ``bad_command``);
- ``events``: the clock, trade ids and the writing of events;
- ``book``: the naive book, one list of resting orders searched by linear scans;
- ``stops``: the waiting stops, one plain list, and every symbol's last trade price;
- ``matching``: matching, self-trade prevention, iceberg refills and the FOK / post-only
  dry runs;
- ``links``: the contingent links (OCO pairs, brackets) and the dormant bracket children;
- ``state``: the exchange's whole mutable state, shared by the handlers;
- ``risk``: the risk settings of an instrument read from ``instrument``, the risk step of
  ``new``, the list commands and ``modify`` (kill switch, token bucket, qty, collar,
  notional, open orders) and the market protection;
- ``breaker``: the circuit breaker: a matching step's band, from the symbol's recent trades,
  and the volatility halt when the band stops a taker;
- ``call``: a halted symbol's call auction: what it collects (``halt_orders`` ``collect``) and
  the ``indicative`` events it publishes;
- ``auction``: the call auction's participants, reference and price, by brute force over every
  candidate price;
- ``uncross``: the uncross at a resume: rounds, front-to-front allocation with STP, auction
  trades, the cancel of held market remainders;
- ``incoming``: what an accepted order, a released stop, an ``oco`` part or an activated
  take-profit does (gates, band, FOK, matching, remainder);
- ``settle``: the contingent effects (the OCO rule, activation, growth, ``parent``
  cancels), settled window by window after each step, and the release of triggered stops;
- ``new_order``, ``contingent_commands`` (``oco``, ``bracket``), ``order_commands``,
  ``session_commands``, ``risk_commands`` (``limits``, ``kill_switch``), ``queries``: the
  command handlers;
- ``exchange``: ``ReferenceExchange``, which ties them together.

Invariants of the package:

- It is an independent oracle: it imports only the standard library and its own modules
  (relative imports), never the fast engine or anything else of ``hftbook``.
- The book of a running symbol is never crossed; only a halted symbol's call may cross it
  (collected limit orders rest without matching), and the uncross at its resume uncrosses
  it. Prices and quantities are integers (ticks and lots) inside and become canonical
  decimal strings only when an event is written.
- ``order_id`` counts accepted orders only; ``trade_id`` counts trades over the exchange.
- A user whose kill switch is on has no live order: switching it on cancels them all, and
  nothing of theirs can be accepted, activated or released until it is off.
- A live order is exactly one of: resting in the book, a waiting stop, a dormant bracket
  child (live, but in neither), a market order held by a halted symbol's call (in none of
  those); a stop that triggers is released within the same command, after that command's
  own matching and the contingent effects it caused, unless its symbol is halted (a
  volatility halt): then it waits, triggered, and is released at the resume, after the
  uncross, its contingent effects and the deferred activations.
- A symbol halted by its circuit breaker or by a ``halt`` with ``until_ts`` has
  ``halt_until`` set, and no command is handled at a ts at or past it with that halt in
  force (``apply`` resumes the symbol first: reason ``volatility`` / ``scheduled``).
- Every resume (manual, scheduled, volatility) writes ``resumed`` and then runs the uncross;
  afterwards the symbol's book is not crossed and no market order is held for it.
- Every event of a command is settled (``settle``) before the command returns: no OCO pair
  has a member that traded, triggered or left while the other is live, and no finished
  entry leaves its children dormant (unless a halt of its symbol defers their activation).
- An iceberg is one live order: a visible slice in the book (what matches, and what
  ``book`` and ``metrics`` show) and a hidden part outside it; every quantity reported
  for the order as a whole (``cancelled``, ``modified``) is the two together.

Algorithms (``algo``) are rejected ``unsupported``. The reference has no snapshot: it is only
ever run from the start of a command stream.
"""

from __future__ import annotations

from .exchange import ReferenceExchange

__all__ = ["ReferenceExchange"]
