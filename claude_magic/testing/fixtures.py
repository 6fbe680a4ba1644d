"""The pytest fixture ``standin``: a running ``StandIn`` with an empty script.

Use it with ``pytest_plugins = ["claude_magic.testing.fixtures"]`` and call
``standin.set_script(...)`` in the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from claude_magic.testing.script import Script
from claude_magic.testing.server import StandIn


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A stand-in on a free port, stopped after the test."""
    with StandIn(script=Script()) as api:
        yield api
