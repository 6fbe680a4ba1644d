"""Shared fixtures: a hermetic environment, the stand-in API, and sessions pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from claude_magic._session import Session
from claude_magic.testing import StandIn
from shells import shell_config, start_shell, stop_shell

pytest_plugins = ["claude_magic.testing.fixtures"]


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach the real API, read a developer's key or touch their cache."""
    for name in [name for name in os.environ if name.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("CLAUDE_MAGIC_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def make_session(standin: StandIn, tmp_path: Path) -> Iterator[type[Session]]:
    """Build sessions on the stand-in, closed at the end of the test."""
    made: list[Session] = []

    def build(**overrides: object) -> Session:
        options: dict[str, object] = {
            "base_url": standin.base_url,
            "download_dir": tmp_path / "downloads",
            "cache_dir": tmp_path / "cache",
            "max_retries": 0,
        }
        options.update(overrides)
        session = Session(**options)  # type: ignore[arg-type]
        made.append(session)
        return session

    yield build  # type: ignore[misc]
    for session in made:
        session.close()


@pytest.fixture
def session(make_session: type[Session]) -> Session:
    return make_session()


@pytest.fixture
def shell(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A real shell with the extension loaded, on the stand-in, working in a fresh folder."""
    monkeypatch.chdir(tmp_path)  # %claude_export writes claude_inputs/ in the working directory
    shell = start_shell(shell_config(standin, tmp_path))
    yield shell
    stop_shell(shell)
