"""Headless Chromium for the browser tests: is the stack there, launch it, where artifacts go.

* :func:`browser_stack_problem` / :func:`require_browser_stack` — is Playwright, JupyterLab, Notebook 7
  and a Chromium binary available?  Missing pieces skip the test locally and fail it when
  ``CLAUDE_MAGIC_REQUIRE_BROWSER=1`` (set by ``.ci/run``).
* :func:`launch_chromium` — Debian's ``/usr/bin/chromium`` under Playwright (Playwright's own browser
  download cannot work on these machines).
* :class:`Artifacts` — ``build/screenshots/<test name>/NN-step.png`` (``build/`` is git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REQUIRE_ENV = "CLAUDE_MAGIC_REQUIRE_BROWSER"
"""When set to ``1`` a missing browser stack fails the browser tests instead of skipping them."""

CHROMIUM_ENV = "CLAUDE_MAGIC_CHROMIUM"
"""Path (or command name) of the Chromium binary; default :data:`DEFAULT_CHROMIUM`."""

DEFAULT_CHROMIUM = "/usr/bin/chromium"

CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home at start-up and this machine's closed network refuses it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_ROOT = REPO_ROOT / "build"
"""Screenshots go to ``ARTIFACTS_ROOT/screenshots/<test>``, server logs to ``ARTIFACTS_ROOT/browser-logs``."""


# --------------------------------------------------------------------------------------------------
# Is the browser stack there?
# --------------------------------------------------------------------------------------------------


def browser_required() -> bool:
    """True when a missing browser stack must fail rather than skip (CI sets the variable)."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


def find_chromium(candidate: str | None = None) -> Path | None:
    """The Chromium executable to use, or None when it is not installed.

    ``candidate`` (else ``$CLAUDE_MAGIC_CHROMIUM``, else ``/usr/bin/chromium``) may be a path or a name
    looked up on ``PATH``.  Only the default falls back to a ``chromium`` found on ``PATH``.
    """
    explicit = candidate or os.environ.get(CHROMIUM_ENV) or None
    names = [explicit] if explicit else [DEFAULT_CHROMIUM, "chromium", "chromium-browser"]
    for name in names:
        path = Path(name) if os.sep in name else (Path(found) if (found := shutil.which(name)) else None)
        if path is not None and path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def browser_stack_problem(chromium: str | None = None) -> str | None:
    """Why the browser tests cannot run here, or None when Playwright, JupyterLab and Chromium are there."""
    problems: list[str] = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        problems.append(f"Playwright is not importable ({exc}); pip install 'claude-magic[browser]'")
    try:
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        problems.append(f"JupyterLab is not importable ({exc}); pip install 'claude-magic[browser]'")
    try:
        import notebook  # noqa: F401
    except ImportError as exc:
        problems.append(f"Notebook 7 is not importable ({exc}); pip install 'claude-magic[browser]'")
    if find_chromium(chromium) is None:
        wanted = chromium or os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
        problems.append(f"no Chromium executable at {wanted!r} (set ${CHROMIUM_ENV} or `apt-get install chromium`)")
    return "; ".join(problems) or None


def require_browser_stack(chromium: str | None = None) -> Path:
    """Return the Chromium path, or skip the test (fail it when ``$CLAUDE_MAGIC_REQUIRE_BROWSER=1``)."""
    problem = browser_stack_problem(chromium)
    if problem is not None:
        skip_or_fail(f"browser stack unavailable: {problem}")
    path = find_chromium(chromium)
    assert path is not None
    return path


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test with ``reason`` locally; fail it when ``$CLAUDE_MAGIC_REQUIRE_BROWSER=1``."""
    import pytest

    if browser_required():
        pytest.fail(f"{reason} — required because {REQUIRE_ENV}=1", pytrace=False)
    pytest.skip(f"{reason} (set {REQUIRE_ENV}=1 to make this an error)")


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def slug(text: str, max_len: int = 80) -> str:
    """A file-name-safe version of ``text`` (test names, step names)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned[:max_len] or "x"


@dataclass
class Artifacts:
    """A per-test folder for screenshots and logs; files are numbered in the order they are taken."""

    directory: Path
    _count: int = field(default=0, init=False, repr=False)

    @classmethod
    def for_test(cls, test_name: str, root: Path | None = None) -> Artifacts:
        """``build/screenshots/<test name>/``, emptied first so old runs do not mix in."""
        directory = (root or ARTIFACTS_ROOT / "screenshots") / slug(test_name)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory)

    def next_path(self, step: str, suffix: str = ".png") -> Path:
        """``NN-<step><suffix>`` with NN counting up from 01."""
        self._count += 1
        return self.directory / f"{self._count:02d}-{slug(step)}{suffix}"


# --------------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def launch_chromium(executable: Path | str | None = None, *, extra_args: Sequence[str] = ()) -> Iterator[Browser]:
    """Start Playwright and a headless Chromium from ``executable`` (default :func:`find_chromium`).

    Playwright gives the browser a fresh temporary ``--user-data-dir`` and removes it on close.
    Never call ``playwright install``: the pip wheel carries the driver, the browser is Debian's.
    """
    from playwright.sync_api import sync_playwright

    path = Path(executable) if executable else find_chromium()
    if path is None:
        raise FileNotFoundError(f"no Chromium found (set ${CHROMIUM_ENV})")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(path), headless=True, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()
