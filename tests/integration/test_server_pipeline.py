"""Every server test again, with `pipeline = true` and two engine processes: the gateways'
behaviour does not depend on where the engine runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import test_server
from test_server import *  # noqa: F403 - the same tests, collected again here
from test_server_binary import *  # noqa: F403


@pytest.fixture(autouse=True)
def _pipeline() -> Iterator[None]:
    test_server.MODE.update(pipeline=True, engines=2)
    yield
    test_server.MODE.clear()
