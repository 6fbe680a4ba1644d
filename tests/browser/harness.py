"""Real-browser end-to-end harness: JupyterLab and Notebook 7 on 127.0.0.1, driven by headless Chromium.

The pieces, each usable on its own or through the pytest fixtures in ``conftest.py``:

* ``_browser`` — is the stack there (:func:`require_browser_stack`), :func:`launch_chromium`,
  :class:`Artifacts` (screenshots under ``build/screenshots/<test>/``).
* ``_server`` — :func:`run_jupyterlab`: an isolated server that serves JupyterLab and Notebook 7,
  :class:`JupyterLabServer` (REST calls, themes, kernels, logs), :func:`write_notebook`.
* ``_pages`` — :class:`LabPage`: one notebook in either frontend; run cells, wait, read outputs.

Gotcha: Playwright's *sync* API keeps an asyncio loop marked as running in the main thread while it is
started, so ``asyncio.run()`` (nbclient, an asyncio stand-in server started in the test thread) fails
with "cannot be called from a running event loop" until Playwright is stopped.  The fixtures keep
Playwright scoped for that reason; run asyncio servers in their own thread.
"""

from __future__ import annotations

from _browser import (
    ARTIFACTS_ROOT,
    CHROMIUM_ARGS,
    CHROMIUM_ENV,
    DEFAULT_CHROMIUM,
    REQUIRE_ENV,
    Artifacts,
    browser_required,
    browser_stack_problem,
    find_chromium,
    launch_chromium,
    require_browser_stack,
    skip_or_fail,
    slug,
)
from _pages import CellError, LabPage, LabTimeoutError
from _server import DARK_THEME, LIGHT_THEME, App, JupyterLabServer, run_jupyterlab, write_notebook

__all__ = [
    "ARTIFACTS_ROOT",
    "CHROMIUM_ARGS",
    "CHROMIUM_ENV",
    "DARK_THEME",
    "DEFAULT_CHROMIUM",
    "LIGHT_THEME",
    "REQUIRE_ENV",
    "App",
    "Artifacts",
    "CellError",
    "JupyterLabServer",
    "LabPage",
    "LabTimeoutError",
    "browser_required",
    "browser_stack_problem",
    "find_chromium",
    "launch_chromium",
    "require_browser_stack",
    "run_jupyterlab",
    "skip_or_fail",
    "slug",
    "write_notebook",
]
