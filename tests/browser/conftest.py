"""Fixtures for the real-browser tests (JupyterLab / Notebook 7 + headless Chromium).

The machinery is in ``_browser.py`` (Chromium, artifacts), ``_server.py`` (the Jupyter server) and
``_pages.py`` (the page driver); ``harness.py`` re-exports it for the tests.

Fixtures:

``browser_stack`` (session)
    The Chromium path.  Skips every browser test with the reason when Playwright, JupyterLab or
    Chromium is missing — or fails them when ``CLAUDE_MAGIC_REQUIRE_BROWSER=1`` (CI).
``chromium`` (module)
    A Playwright ``Browser`` (Debian's Chromium, headless).  Module-scoped because Playwright's sync
    API blocks ``asyncio.run()`` in this thread while it runs.
``jupyter_lab_env`` (module)
    Extra environment for the module's server and its kernels; ``{}`` here.  Override it in a test
    module (it must be module-scoped, so build a module-scoped stand-in for it)::

        @pytest.fixture(scope="module")
        def jupyter_lab_env(module_standin):
            return {"ANTHROPIC_BASE_URL": module_standin.base_url, "ANTHROPIC_API_KEY": "test"}

``jupyter_lab`` (module)
    A running :class:`harness.JupyterLabServer` with that environment, shared by the module's tests
    (each test gets its own browser context, workspace and kernel).  Log:
    ``build/browser-logs/<module>.jupyterlab.log``.
``jupyter_lab_factory`` (function)
    ``jupyter_lab_factory(env={...})`` starts a server of the test's own (e.g. pointed at a
    function-scoped ``standin``), stopped when the test ends (~3 s each).
``artifacts`` (function)
    :class:`harness.Artifacts` at ``build/screenshots/<test name>/`` (emptied first).
``lab_factory`` (function)
    ``lab_factory(server=None, app="lab", height=900)`` opens a :class:`harness.LabPage` in a fresh browser
    context on ``server`` (default: the module's ``jupyter_lab``), in JupyterLab or, with
    ``app="notebook"``, Notebook 7 (the same server serves both).
``lab`` (function)
    ``lab_factory()``: the usual way in.

Every page made here gets, at the end of its test, a failure screenshot if the test failed, a
``console.log`` beside the screenshots, and its notebooks' kernels shut down.  Every test in this
folder gets the ``browser`` marker; the session summary lists artifact folders and start-up times.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from harness import (
    ARTIFACTS_ROOT,
    App,
    Artifacts,
    JupyterLabServer,
    LabPage,
    launch_chromium,
    require_browser_stack,
    run_jupyterlab,
    slug,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

_HERE = Path(__file__).resolve().parent
_SUMMARY: list[str] = []
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()

LOGS_DIR = ARTIFACTS_ROOT / "browser-logs"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SUMMARY:
        terminalreporter.section("browser harness")
        for line in _SUMMARY:
            terminalreporter.write_line(line)


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(r.failed for r in request.node.stash.get(_REPORTS, {}).values())


@pytest.fixture(scope="session")
def browser_stack() -> Path:
    return require_browser_stack()


@pytest.fixture(scope="module")
def chromium(browser_stack: Path) -> Iterator[Browser]:
    started = time.monotonic()
    with launch_chromium(browser_stack) as browser:
        _SUMMARY.append(f"Chromium {browser.version} launched in {time.monotonic() - started:.1f}s")
        yield browser


@pytest.fixture(scope="module")
def jupyter_lab_env() -> dict[str, str]:
    return {}


@pytest.fixture(scope="module")
def jupyter_lab(
    browser_stack: Path, jupyter_lab_env: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[JupyterLabServer]:
    log = LOGS_DIR / f"{slug(request.module.__name__)}.jupyterlab.log"
    log.unlink(missing_ok=True)
    with run_jupyterlab(env=jupyter_lab_env, log_path=log) as server:
        _SUMMARY.append(f"JupyterLab on {server.base_url} ready in {server.startup_seconds:.1f}s (log {log})")
        yield server


@pytest.fixture
def jupyter_lab_factory(
    browser_stack: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., JupyterLabServer]]:
    started: list[JupyterLabServer] = []
    with contextlib.ExitStack() as stack:

        def start(
            env: Mapping[str, str] | None = None, *, root_dir: Path | None = None, extra_args: Sequence[str] = ()
        ) -> JupyterLabServer:
            log = LOGS_DIR / f"{slug(request.node.name)}-{len(started) + 1}.jupyterlab.log"
            log.unlink(missing_ok=True)
            server = stack.enter_context(
                run_jupyterlab(env=env, root_dir=root_dir, log_path=log, extra_args=extra_args)
            )
            started.append(server)
            _SUMMARY.append(f"{request.node.nodeid}: JupyterLab ready in {server.startup_seconds:.1f}s (log {log})")
            return server

        yield start


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Artifacts:
    found = Artifacts.for_test(request.node.name)
    print(f"browser artifacts: {found.directory}")
    _SUMMARY.append(f"{request.node.nodeid}: artifacts in {found.directory}")
    return found


@pytest.fixture
def lab_factory(
    chromium: Browser,
    artifacts: Artifacts,
    jupyter_lab_factory: Callable[..., JupyterLabServer],  # so pages close before those servers stop
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., LabPage]]:
    pages: list[LabPage] = []

    def open_lab(server: JupyterLabServer | None = None, app: App = "lab", height: int = 900) -> LabPage:
        target = server or request.getfixturevalue("jupyter_lab")
        context = chromium.new_context(viewport={"width": 1280, "height": height})
        page = LabPage(context.new_page(), target, artifacts, app=app)
        pages.append(page)
        return page

    try:
        yield open_lab
    finally:
        for page in pages:
            if _failed(request):
                try:
                    print(f"failure screenshot: {page.screenshot('failure')}")
                except Exception as exc:
                    print(f"no failure screenshot: {exc}")
                print(f"server log tail ({page.server.log_path}):\n{page.server.log_tail(30)}")
            page.close()
            if page.timings:
                timings = ", ".join(f"{k} {v:.1f}s" for k, v in page.timings.items())
                _SUMMARY.append(f"{request.node.nodeid}: {timings}")


@pytest.fixture
def lab(lab_factory: Callable[..., LabPage]) -> LabPage:
    return lab_factory()
