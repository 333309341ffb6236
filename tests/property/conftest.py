"""Hypothesis profiles for the property tests.

Pick one with the environment variable ``HYPOTHESIS_PROFILE``:

- ``default``: what ``make test`` and CI run. Derandomized, so a CI run is reproducible and
  never flaky: the same examples every time. Sized so that the whole of ``tests/property``
  stays well under three minutes on a 2-core machine.
- ``fuzz``: what ``make fuzz`` runs. Random seed, many more examples, longer streams are
  reached; run it when matching code changes, and turn any failure into a scenario test.

No profile has a deadline: timings on shared machines are too noisy to be a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# The property test modules share their strategies (test_snapshot imports from
# test_differential); make that import work under any pytest import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile(
    "default",
    max_examples=300,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "fuzz",
    max_examples=2500,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
