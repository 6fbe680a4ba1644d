"""The live lane: a few tests against the real API, run only when a user with a key asks for them.

    CLAUDE_MAGIC_LIVE=1 ANTHROPIC_API_KEY=sk-ant-... make test-live      # = pytest -m live tests/live

Without ``CLAUDE_MAGIC_LIVE=1``, a key and ``-m live``, every test here is skipped with a reason
saying how to run it, so the plain ``pytest`` run (and CI) never spends anything. The real key
is read when this file is imported, before the suite's hermetic fixture wipes ``ANTHROPIC_*``.

Settings (environment): ``CLAUDE_MAGIC_LIVE_MODEL`` (default ``claude-haiku-4-5``),
``CLAUDE_MAGIC_LIVE_TOOL_VERSION`` (``code_execution_20250825``), ``CLAUDE_MAGIC_LIVE_MAX_TOKENS``
(2048), ``CLAUDE_MAGIC_LIVE_BUDGET`` (dollars; 0.50: once spent, the remaining tests are skipped),
``CLAUDE_MAGIC_LIVE_RECORD`` (a folder: each test's exchanges are recorded there as a cassette).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_support import (
    BUDGET,
    HOW,
    MAX_TOKENS,
    MODEL,
    OPTED_IN,
    REAL,
    RECORD_TO,
    SPEND,
    TOOL_VERSION,
    Spend,
    cleanup,
)

from claude_magic._session import Session
from claude_magic.testing import RecordingProxy


def _skip_reason(config: pytest.Config) -> str | None:
    if not OPTED_IN:
        return f"live lane (real API, costs money) not opted in; {HOW}"
    if not REAL["ANTHROPIC_API_KEY"]:
        return f"live lane needs ANTHROPIC_API_KEY; {HOW}"
    selected = str(config.getoption("markexpr") or "")
    if "live" not in selected or "not live" in selected:
        return f"live lane runs only when selected with -m live; {HOW}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _skip_reason(config)
    for item in items:
        if reason and item.get_closest_marker("live"):
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SPEND.turns:
        return
    usage = SPEND.usage
    terminalreporter.write_sep("-", "live lane spend")
    terminalreporter.write_line(
        f"{len(SPEND.turns)} turns on {MODEL}: {usage.input_tokens:,} input, {usage.output_tokens:,} output tokens, "
        f"{usage.code_execution_requests} code executions; about ${SPEND.dollars:.4f} at list prices "
        f"(budget ${BUDGET:.2f})"
    )


@pytest.fixture
def spend() -> Spend:
    """The lane's running total; a test that would start past the budget is skipped."""
    if SPEND.dollars >= BUDGET:
        pytest.skip(f"live lane budget of ${BUDGET:.2f} reached (CLAUDE_MAGIC_LIVE_BUDGET)")
    return SPEND


@pytest.fixture(autouse=True)
def real_api(hermetic_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give back the real key (and base URL, if one was set) that the hermetic fixture removed."""
    for name, value in REAL.items():
        if value:
            monkeypatch.setenv(name, value)


@pytest.fixture
def base_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The API's base URL, or a recording proxy in front of it with ``CLAUDE_MAGIC_LIVE_RECORD``."""
    if not RECORD_TO:
        yield REAL["ANTHROPIC_BASE_URL"]
        return
    upstream = REAL["ANTHROPIC_BASE_URL"] or "https://api.anthropic.com"
    with RecordingProxy(upstream, Path(RECORD_TO) / request.node.name) as proxy:
        yield proxy.base_url


@pytest.fixture
def live_session(base_url: str | None, tmp_path: Path) -> Iterator[Session]:
    """A Session on the real API with the lane's cheap settings; its files are deleted afterwards."""
    session = Session(
        model=MODEL,
        max_tokens=MAX_TOKENS,
        tool_version=TOOL_VERSION,
        base_url=base_url,
        download_dir=tmp_path / "downloads",
        cache_dir=tmp_path / "cache",
    )
    yield session
    cleanup(session)
    session.close()
