"""Real-browser end-to-end harness: JupyterLab on 127.0.0.1 driven by headless Chromium (Playwright).

The pieces, usable on their own or through the pytest fixtures in ``conftest.py``:

* :func:`browser_stack_problem` / :func:`require_browser_stack` — is Playwright, JupyterLab and a
  Chromium binary available?  Missing pieces skip the test locally and fail it when
  ``CLAUDE_MAGIC_REQUIRE_BROWSER=1`` (set by ``.ci/run``).
* :func:`run_jupyterlab` — a context manager that starts an isolated JupyterLab server (own config,
  data, runtime, settings and workspace dirs; a ``python3`` kernelspec running *this* interpreter so
  the kernel can import ``claude_magic``; no news, update checks or extension-manager look-ups) with
  the environment a test passes (e.g. ``ANTHROPIC_BASE_URL``), waits until ``/api/status`` answers and
  stops it and its kernels afterwards.
* :func:`launch_chromium` — Debian's ``/usr/bin/chromium`` under Playwright (Playwright's own browser
  download cannot work on these machines).
* :class:`LabPage` — wraps a Playwright page showing one notebook: open it, wait for the kernel, run
  cells (Shift+Enter) or all cells (the run-all command), wait for the execution to finish, read
  outputs, find elements in them, set files on an ``<input type=file>`` in an output, screenshots.
* :class:`Artifacts` — ``build/screenshots/<test name>/NN-step.png`` (``build/`` is git-ignored).

Waits poll a condition with a deadline; nothing sleeps for a fixed time.  JupyterLab runs with
``--LabApp.expose_app_in_browser`` so the helpers can read the live notebook model through
``window.jupyterapp`` instead of guessing from the DOM.

Gotcha: Playwright's *sync* API keeps an asyncio loop marked as running in the main thread while it is
started, so ``asyncio.run()`` (nbclient, an asyncio stand-in server started in the test thread) fails
with "cannot be called from a running event loop" until Playwright is stopped.  The fixtures keep
Playwright module-scoped for that reason; run asyncio servers in their own thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from typing import TypeAlias

    from playwright.sync_api import Browser, FilePayload, Locator, Page

    FileSpec: TypeAlias = str | Path | FilePayload | Sequence[str | Path] | Sequence[FilePayload]
    """What Playwright's ``set_input_files`` accepts: paths, or in-memory ``{name, mimeType, buffer}``."""

__all__ = [
    "ARTIFACTS_ROOT",
    "CHROMIUM_ARGS",
    "CHROMIUM_ENV",
    "DEFAULT_CHROMIUM",
    "REQUIRE_ENV",
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

KERNEL_NAME = "python3"


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
# Notebooks on disk
# --------------------------------------------------------------------------------------------------

CellSpec = str | Mapping[str, Any]
"""A code cell's source, or a ready nbformat cell (e.g. ``nbformat.v4.new_markdown_cell(...)``)."""


def write_notebook(path: Path, cells: Sequence[CellSpec], kernel_name: str = KERNEL_NAME) -> Path:
    """Write a v4 notebook whose metadata names ``kernel_name`` (so JupyterLab asks no kernel question)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(spec) if isinstance(spec, str) else nbformat.from_dict(dict(spec)) for spec in cells
    ]
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# --------------------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------------------

# Settings written into the server's private user-settings dir.
_LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # No "Would you like to receive official Jupyter news?" toast, no update check.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # Every cell stays attached to the DOM, so locators find cells outside the viewport.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # The tests write notebooks on disk; autosave would race with that ("file changed" dialogs).
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}

# Front-end plugins switched off (page_config.json in the private config dir).
_DISABLED_LAB_PLUGINS = (
    "@jupyterlab/apputils-extension:announcements",
    "@jupyterlab/extensionmanager-extension",
)

# Inherited variables that would point the server at someone else's config or credentials.
_SCRUBBED_ENV_PREFIXES = ("JUPYTER_", "JUPYTERLAB_", "JPY_", "IPYTHONDIR", "ANTHROPIC_")
"""Also ANTHROPIC_*: a developer's real key or base URL must never reach a test kernel; tests pass
the stand-in's values through ``env``."""


@dataclass
class JupyterLabServer:
    """A running JupyterLab server started by :func:`run_jupyterlab`."""

    base_url: str
    """``http://127.0.0.1:<port>/`` (always with the trailing slash)."""
    token: str
    root_dir: Path
    """Where notebooks live; the server's file browser root and the kernels' working dir."""
    home: Path
    """Private config/data/runtime/settings dirs."""
    log_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    startup_seconds: float = 0.0

    @property
    def port(self) -> int:
        return int(urllib.parse.urlsplit(self.base_url).port or 0)

    @property
    def runtime_dir(self) -> Path:
        return self.home / "runtime"

    def url(self, path: str = "", **query: str) -> str:
        """An absolute URL on the server with the token in its query string."""
        q = urllib.parse.urlencode({**query, "token": self.token})
        return f"{self.base_url}{path.lstrip('/')}?{q}"

    def lab_url(self, notebook: str, workspace: str | None = None) -> str:
        """The JupyterLab URL that opens ``notebook`` (relative to :attr:`root_dir`) in a fresh workspace.

        A workspace of its own per page keeps one test's open tabs from being restored in the next.
        """
        ws = workspace or f"t{uuid.uuid4().hex[:10]}"
        return self.url(f"lab/workspaces/{ws}/tree/{urllib.parse.quote(notebook)}")

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call the server's REST API (``/api/...``) with the token; returns the decoded JSON or None."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def shutdown_sessions(self, path: str | None = None) -> int:
        """Shut down the kernel sessions (all, or those of notebook ``path``); returns how many."""
        sessions = self.api("GET", "api/sessions") or []
        count = 0
        for session in sessions:
            if path is None or session.get("path") == path:
                with contextlib.suppress(urllib.error.URLError, OSError):
                    self.api("DELETE", f"api/sessions/{session['id']}")
                    count += 1
        return count

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kernel_pids(self) -> list[int]:
        """PIDs of kernels this server started (found by their connection file in our runtime dir)."""
        marker = str(self.runtime_dir).encode()
        pids = []
        for proc in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                cmdline = (proc / "cmdline").read_bytes()
                if marker in cmdline and b"kernel" in cmdline and int(proc.name) != self.process.pid:
                    pids.append(int(proc.name))
        return pids

    def stop(self, timeout: float = 20.0) -> None:
        """Shut down kernels, then the server (politely, then by signal); kill stray kernels."""
        if self.process.poll() is None:
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                self.shutdown_sessions()
                for kernel in self.api("GET", "api/kernels") or []:
                    with contextlib.suppress(urllib.error.URLError, OSError):
                        self.api("DELETE", f"api/kernels/{kernel['id']}")
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                self.api("POST", "api/shutdown", timeout=5)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGTERM)
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    _signal_group(self.process, signal.SIGKILL)
                    self.process.wait(5)
        _kill_pids(self.kernel_pids())


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _kill_pids(pids: Sequence[int], grace: float = 5.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
        if alive:
            time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _prepare_home(home: Path, python: str) -> dict[str, str]:
    """Create the server's private Jupyter dirs; return the environment variables that point at them."""
    dirs = {name: home / name for name in ("config", "data", "runtime", "path", "ipython", "settings", "ws")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    # The kernelspec: JUPYTER_PATH comes first in the search, so this python3 wins over any other.
    spec_dir = dirs["path"] / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    for plugin, values in _LAB_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        target = dirs["settings"] / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    labconfig = dirs["config"] / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    page_config = {"disabledExtensions": dict.fromkeys(_DISABLED_LAB_PLUGINS, True)}
    (labconfig / "page_config.json").write_text(json.dumps(page_config))
    return {
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_PATH": str(dirs["path"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["ws"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.contextmanager
def run_jupyterlab(
    *,
    env: Mapping[str, str] | None = None,
    root_dir: Path | None = None,
    python: str = sys.executable,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 90.0,
) -> Iterator[JupyterLabServer]:
    """Start JupyterLab on 127.0.0.1 (free port, random token), yield it, stop it and its kernels.

    ``env`` is added to this process's environment for the server and so for its kernels (e.g.
    ``{"ANTHROPIC_BASE_URL": stand_in.url, "ANTHROPIC_API_KEY": "test"}``).  ``python`` runs both the
    server and the kernels (default: this interpreter, i.e. the venv that has ``claude_magic``).
    ``root_dir`` defaults to a temporary dir removed afterwards; ``log_path`` gets the server's output
    (default: inside the private home, removed afterwards).  Inherited ``JUPYTER*``/``ANTHROPIC_*``
    variables are dropped and ``CLAUDE_MAGIC_CACHE_DIR`` points into the private home unless ``env``
    sets them.
    """
    with tempfile.TemporaryDirectory(prefix="claude-magic-lab-") as tmp:
        home = Path(tmp) / "home"
        root = root_dir or Path(tmp) / "root"
        root.mkdir(parents=True, exist_ok=True)
        log = log_path or home / "jupyterlab.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        server_env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
        server_env.update(_prepare_home(home, python))
        # The kernels get a cache of their own unless the test says otherwise (never the developer's).
        server_env["CLAUDE_MAGIC_CACHE_DIR"] = str(home / "claude-magic-cache")
        server_env.update(env or {})
        token = secrets.token_hex(24)

        server: JupyterLabServer | None = None
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            port = _free_port()
            cmd = [
                python, "-m", "jupyter", "lab",
                "--no-browser",
                "--allow-root",  # CI runs as root; jupyter refuses that otherwise
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                "--LabApp.expose_app_in_browser=True",
                f"--LabApp.user_settings_dir={home / 'settings'}",
                f"--LabApp.workspaces_dir={home / 'ws'}",
                *extra_args,
            ]  # fmt: skip
            started = time.monotonic()
            with log.open("ab") as log_file:
                log_file.write(f"\n$ {' '.join(cmd)}\n".encode())
                log_file.flush()
                process = subprocess.Popen(
                    cmd,
                    cwd=root,
                    env=server_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, so a stop can signal it whole
                )
            candidate = JupyterLabServer(
                base_url=f"http://127.0.0.1:{port}/",
                token=token,
                root_dir=root,
                home=home,
                log_path=log,
                process=process,
                env=server_env,
            )
            if _wait_for_status(candidate, startup_timeout):
                candidate.startup_seconds = time.monotonic() - started
                server = candidate
                break
            last_error = candidate.log_tail()
            candidate.stop()
            if "already in use" not in last_error:
                break
        if server is None:
            raise RuntimeError(f"JupyterLab did not start (log {log}):\n{last_error}")
        try:
            yield server
        finally:
            server.stop()


def _wait_for_status(server: JupyterLabServer, timeout: float) -> bool:
    """Poll ``/api/status`` until it answers (True) or the process dies / time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            server.api("GET", "api/status", timeout=2)
            return True
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.1)
    return False


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


# --------------------------------------------------------------------------------------------------
# The notebook page
# --------------------------------------------------------------------------------------------------

# Installed in every page before JupyterLab's own scripts; reads the live model via window.jupyterapp.
_LAB_JS = r"""
(() => {
  if (window.__labHarness) return;
  const H = {
    armed: new Map(),
    panel(path) {
      const app = window.jupyterapp;
      if (!app || !app.shell) return null;
      for (const w of app.shell.widgets('main')) {
        if (w && w.context && w.context.path === path && w.content && w.sessionContext) return w;
      }
      return null;
    },
    state(path) {
      const app = window.jupyterapp;
      const p = H.panel(path);
      if (!p) return {app: !!app, found: false};
      const sc = p.sessionContext;
      const kernel = sc.session ? sc.session.kernel : null;
      return {
        app: true, found: true, id: p.id,
        ready: p.context.isReady && sc.isReady,
        kernelStatus: kernel ? kernel.status : null,
        connectionStatus: kernel ? kernel.connectionStatus : null,
        kernelName: kernel ? kernel.name : null,
        cells: p.content.widgets.length,
        activeCellIndex: p.content.activeCellIndex,
        mode: p.content.mode,
      };
    },
    cell(path, i) {
      const p = H.panel(path);
      if (!p) throw new Error('notebook not open: ' + path);
      const c = p.content.widgets[i];
      if (!c) throw new Error('no cell ' + i + ' in ' + path + ' (' + p.content.widgets.length + ' cells)');
      return c;
    },
    cellInfo(path, i) {
      const m = H.cell(path, i).model;
      const code = m.type === 'code';
      return {
        type: m.type,
        source: m.sharedModel.getSource(),
        executionCount: code ? (m.executionCount ?? null) : null,
        executionState: code ? (m.executionState ?? null) : null,
        outputs: code ? m.outputs.toJSON() : [],
      };
    },
    // Record the execution counts a cell gets from now on (set when the reply and all of the
    // execution's output messages have been handled).
    arm(path, indices) {
      for (const i of indices) {
        const model = H.cell(path, i).model;
        const key = path + '#' + i;
        const old = H.armed.get(key);
        if (old) old.off();
        const rec = {counts: []};
        const onChange = (_m, args) => {
          if (args.name === 'executionCount' && typeof args.newValue === 'number') rec.counts.push(args.newValue);
        };
        model.stateChanged.connect(onChange);
        rec.off = () => model.stateChanged.disconnect(onChange);
        H.armed.set(key, rec);
      }
    },
    // {done, counts, errorAt}: done when every armed cell has a count, or when a cell errored and
    // the kernel is idle with nothing running (JupyterLab stops a run there).
    progress(path, indices) {
      const p = H.panel(path);
      if (!p) return {done: false, reason: 'notebook not open'};
      const kernel = p.sessionContext.session ? p.sessionContext.session.kernel : null;
      const idle = !!kernel && kernel.status === 'idle';
      const counts = [];
      let errorAt = null;
      let running = false;
      for (const i of indices) {
        const rec = H.armed.get(path + '#' + i);
        const m = p.content.widgets[i].model;
        counts.push(rec && rec.counts.length ? rec.counts[rec.counts.length - 1] : null);
        if (m.executionState === 'running') running = true;
        if (errorAt === null && rec && rec.counts.length &&
            m.outputs.toJSON().some(o => o.output_type === 'error')) errorAt = i;
      }
      const all = counts.every(c => c !== null);
      return {done: idle && !running && (all || errorAt !== null), counts, errorAt, idle, running};
    },
    disarm(path, indices) {
      for (const i of indices) {
        const key = path + '#' + i;
        const rec = H.armed.get(key);
        if (rec) { rec.off(); H.armed.delete(key); }
      }
    },
  };
  window.__labHarness = H;
})();
"""


_UPLOAD_BUTTON = ".widget-upload"
"""The ipywidgets FileUpload button (its ``<input type=file>`` is never attached to the DOM)."""


class LabTimeoutError(AssertionError):
    """A harness wait ran out of time; the message says what was awaited and what the page showed."""


class CellError(AssertionError):
    """A cell raised; the message carries the exception and its traceback (ANSI codes removed)."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LabPage:
    """A Playwright page showing one JupyterLab notebook, with waits that know about the kernel.

    Cells are addressed by their 0-based index among *all* cells of the notebook.  Every wait has a
    timeout (seconds) and raises :class:`LabTimeoutError` with a screenshot path when it runs out.
    Console messages, page errors and JavaScript dialogs (``alert`` etc., dismissed automatically) are
    recorded in :attr:`console`, :attr:`page_errors` and :attr:`js_dialogs` — security tests can assert
    that hostile output ran no script.
    """

    def __init__(
        self, page: Page, server: JupyterLabServer, artifacts: Artifacts, *, default_timeout: float = 60.0
    ) -> None:
        self.page = page
        self.server = server
        self.artifacts = artifacts
        self.default_timeout = default_timeout
        self.notebook_path: str | None = None
        self.opened: list[str] = []
        self.timings: dict[str, float] = {}
        self.console: list[str] = []
        self.page_errors: list[str] = []
        self.js_dialogs: list[str] = []
        self.dismissed_dialogs: list[str] = []
        page.set_default_timeout(default_timeout * 1000)
        page.add_init_script(_LAB_JS)
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))
        page.on("dialog", self._on_js_dialog)

    # -- notebooks ---------------------------------------------------------------------------------

    def open_notebook(self, name: str, cells: Sequence[CellSpec], *, timeout: float | None = None) -> Path:
        """Write ``<root_dir>/<name>.ipynb`` with ``cells``, open it and wait for an idle kernel."""
        rel = name if name.endswith(".ipynb") else f"{name}.ipynb"
        path = write_notebook(self.server.root_dir / rel, cells)
        started = time.monotonic()
        self.open_existing(rel, timeout=timeout)
        self.wait_for(
            "(a) => { const s = window.__labHarness.state(a[0]); return s.found && s.cells === a[1]; }",
            [rel, len(cells)],
            what=f"{len(cells)} cells in {rel}",
            timeout=timeout,
        )
        self.timings[f"open {rel}"] = time.monotonic() - started
        return path

    def open_existing(self, rel_path: str, *, timeout: float | None = None) -> None:
        """Open a notebook already under the server's root dir and wait until its kernel is idle."""
        self.notebook_path = rel_path
        if rel_path not in self.opened:
            self.opened.append(rel_path)
        self.page.goto(self.server.lab_url(rel_path), wait_until="domcontentloaded")
        self.wait_for_kernel_idle(timeout=timeout)

    def wait_for_kernel_idle(self, *, timeout: float | None = None) -> None:
        """Wait until the notebook is loaded and its kernel is connected and idle."""
        self.wait_for(
            """(path) => { const H = window.__labHarness; if (!H) return false; const s = H.state(path);
                 return s.found && s.ready && s.kernelStatus === 'idle' && s.connectionStatus === 'connected'; }""",
            self._path,
            what=f"an idle kernel for {self._path}",
            timeout=timeout,
        )

    def state(self) -> dict[str, Any]:
        """The notebook panel's state (kernel status, cell count, active cell...) as seen by JupyterLab."""
        return dict(self.page.evaluate("(p) => window.__labHarness ? window.__labHarness.state(p) : {}", self._path))

    def cell_count(self) -> int:
        return int(self.state().get("cells", 0))

    # -- running cells -----------------------------------------------------------------------------

    def run_cell(
        self, index: int, *, key: str = "Shift+Enter", allow_error: bool = False, timeout: float | None = None
    ) -> int:
        """Select cell ``index`` (click its prompt), press ``key`` and wait for the execution to finish.

        Returns the cell's execution count.  Shift+Enter on the last cell adds an empty cell below,
        as it does for a person; pass ``key="Control+Enter"`` to run in place.  A cell that raises
        fails with :class:`CellError` unless ``allow_error``.
        """
        self.select_cell(index)
        self._arm([index])
        self.page.keyboard.press(key)
        return self._wait_executed([index], allow_error=allow_error, timeout=timeout)[0] or 0

    def run_all(self, *, allow_error: bool = False, timeout: float | None = None) -> list[int | None]:
        """Run every cell (the ``notebook:run-all-cells`` command) and wait until all code cells ran.

        Returns the execution counts of the code cells with source, in order (None for cells that did
        not run because an earlier one raised; that raises :class:`CellError` unless ``allow_error``).
        """
        indices = self.code_cell_indices()
        self._arm(indices)
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        return self._wait_executed(indices, allow_error=allow_error, timeout=timeout)

    def code_cell_indices(self) -> list[int]:
        """Indices of the code cells that have source (empty cells are not executed by JupyterLab)."""
        return list(
            self.page.evaluate(
                """(path) => window.__labHarness.panel(path).content.widgets
                     .map((c, i) => [c.model.type, c.model.sharedModel.getSource().trim(), i])
                     .filter(([t, s]) => t === 'code' && s).map(x => x[2])""",
                self._path,
            )
        )

    def select_cell(self, index: int) -> None:
        """Make cell ``index`` the active cell in command mode, the way a click on its prompt does."""
        self.cell(index).locator(".jp-InputPrompt").first.click()
        self.wait_for(
            """(a) => { const s = window.__labHarness.state(a[0]);
                 return s.activeCellIndex === a[1] && s.mode === 'command'; }""",
            [self._path, index],
            what=f"cell {index} selected",
            timeout=10,
        )

    def execution_count(self, index: int) -> int | None:
        count = self.cell_info(index)["executionCount"]
        return None if count is None else int(count)

    def _arm(self, indices: list[int]) -> None:
        self.page.evaluate("(a) => window.__labHarness.arm(a[0], a[1])", [self._path, indices])

    def _wait_executed(self, indices: list[int], *, allow_error: bool, timeout: float | None) -> list[int | None]:
        what = f"cells {indices} of {self._path} to finish"
        try:
            progress = self.wait_for(
                "(a) => { const r = window.__labHarness.progress(a[0], a[1]); return r.done ? r : false; }",
                [self._path, indices],
                what=what,
                timeout=timeout,
            )
        finally:
            with contextlib.suppress(Exception):
                self.page.evaluate("(a) => window.__labHarness.disarm(a[0], a[1])", [self._path, indices])
        if progress["errorAt"] is not None and not allow_error:
            raise CellError(f"cell {progress['errorAt']} raised:\n{self.error_text(progress['errorAt'])}")
        return [None if c is None else int(c) for c in progress["counts"]]

    # -- cells and outputs -------------------------------------------------------------------------

    @property
    def notebook(self) -> Locator:
        """The open notebook's panel (scopes every other locator to it)."""
        panel_id = self.state().get("id")
        if not panel_id:
            raise LabTimeoutError(f"notebook {self._path} is not open")
        return self.page.locator(f'[id="{panel_id}"]')

    def cell(self, index: int) -> Locator:
        """Cell ``index``: the notebook's direct cell children only, so output HTML cannot pose as a cell."""
        return self.notebook.locator(".jp-WindowedPanel-viewport > .jp-Cell").nth(index)

    def output_area(self, index: int) -> Locator:
        """Cell ``index``'s (outermost) output area."""
        return self.cell(index).locator(".jp-Cell-outputWrapper .jp-OutputArea").first

    def output(self, index: int, selector: str) -> Locator:
        """Elements matching ``selector`` inside cell ``index``'s output, e.g. ``lab.output(1, "img")``."""
        return self.output_area(index).locator(selector)

    def output_text(self, index: int) -> str:
        """The rendered text of cell ``index``'s output area, as a person would read it."""
        return self.output_area(index).inner_text()

    def output_html(self, index: int) -> str:
        """The rendered HTML of cell ``index``'s output area (what the browser actually has in the DOM)."""
        return self.output_area(index).inner_html()

    def outputs(self, index: int) -> list[dict[str, Any]]:
        """Cell ``index``'s outputs from the live notebook model, as nbformat JSON."""
        return list(self.cell_info(index)["outputs"])

    def cell_info(self, index: int) -> dict[str, Any]:
        """``{type, source, executionCount, executionState, outputs}`` of cell ``index`` from the model."""
        return dict(self.page.evaluate("(a) => window.__labHarness.cellInfo(a[0], a[1])", [self._path, index]))

    def error_text(self, index: int) -> str:
        """The error outputs of cell ``index`` (name, value and traceback, ANSI codes removed)."""
        parts = []
        for out in self.outputs(index):
            if out.get("output_type") == "error":
                parts.append(f"{out.get('ename')}: {out.get('evalue')}")
                parts.append(_ANSI.sub("", "\n".join(out.get("traceback", []))))
        return "\n".join(parts)

    def wait_for_output_text(self, index: int, text: str, *, timeout: float | None = None) -> str:
        """Wait until cell ``index``'s output text contains ``text``; returns the whole output text."""
        from playwright.sync_api import expect

        area = self.output_area(index)
        deadline = time.monotonic() + (timeout or self.default_timeout)
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                expect(area).to_contain_text(text, timeout=max(min(remaining, 2.0), 0.1) * 1000)
                return area.inner_text()
            except AssertionError:
                self.dismiss_dialogs()
        current = ""
        with contextlib.suppress(Exception):
            current = area.inner_text(timeout=1000)
        shot = self._timeout_screenshot()
        raise LabTimeoutError(f"cell {index} output never contained {text!r}; it shows {current!r} (screenshot {shot})")

    def wait_for_output(
        self, index: int, selector: str, *, state: str = "visible", timeout: float | None = None
    ) -> Locator:
        """Wait for the first ``selector`` match in cell ``index``'s output; returns its locator."""
        locator = self.output(index, selector).first
        try:
            locator.wait_for(state=state, timeout=(timeout or self.default_timeout) * 1000)  # type: ignore[arg-type]
        except Exception as exc:
            shot = self._timeout_screenshot()
            raise LabTimeoutError(
                f"no {selector!r} ({state}) in cell {index}'s output: {exc} (screenshot {shot})"
            ) from exc
        return locator

    def set_output_files(
        self,
        index: int,
        files: FileSpec,
        *,
        selector: str = "input[type=file]",
        timeout: float | None = None,
    ) -> None:
        """Give ``files`` to the file input in cell ``index``'s output.

        An ``<input type=file>`` in the output's DOM (hidden or not) gets them through Playwright's
        ``set_input_files``.  An ipywidgets ``FileUpload`` keeps its input *detached* from the DOM, so
        for an output that shows a ``.widget-upload`` button and has no attached input this clicks the
        button and answers the browser's file chooser instead (:meth:`choose_files`), as a person would.
        ``files`` are paths, or ``{"name", "mimeType", "buffer"}`` payloads made in memory.
        """
        either = self.output(index, f"{selector}, {_UPLOAD_BUTTON}").first
        try:
            either.wait_for(state="attached", timeout=(timeout or self.default_timeout) * 1000)
        except Exception as exc:
            shot = self._timeout_screenshot()
            raise LabTimeoutError(
                f"no {selector!r} nor {_UPLOAD_BUTTON!r} in cell {index}'s output: {exc} (screenshot {shot})"
            ) from exc
        inputs = self.output(index, selector)
        if inputs.count():
            inputs.first.set_input_files(files)
        else:
            self.choose_files(index, files, click=_UPLOAD_BUTTON, timeout=timeout)

    def choose_files(
        self, index: int, files: FileSpec, *, click: str = _UPLOAD_BUTTON, timeout: float | None = None
    ) -> None:
        """Click ``click`` in cell ``index``'s output and answer the file chooser it opens with ``files``."""
        target = self.wait_for_output(index, click, timeout=timeout)
        with self.page.expect_file_chooser(timeout=(timeout or self.default_timeout) * 1000) as chooser:
            target.click()
        chooser.value.set_files(files)

    # -- screenshots, dialogs, waits ---------------------------------------------------------------

    def screenshot(self, step: str, *, cell: int | None = None) -> Path:
        """Save ``NN-<step>.png`` in the test's artifact folder (the page, or only cell ``cell``)."""
        path = self.artifacts.next_path(step)
        if cell is None:
            self.page.screenshot(path=str(path))
        else:
            self.cell(cell).screenshot(path=str(path))
        return path

    def dismiss_dialogs(self) -> list[str]:
        """Accept any JupyterLab dialog (e.g. kernel selection) and return their texts.

        None should appear with the server's settings; each one dismissed is kept in
        :attr:`dismissed_dialogs` so a test can assert that.
        """
        texts: list[str] = []
        dialogs = self.page.locator(".jp-Dialog")
        for _ in range(5):
            try:
                if dialogs.count() == 0:
                    break
                dialog = dialogs.first
                text = dialog.inner_text(timeout=2000)
                accept = dialog.locator(".jp-Dialog-button.jp-mod-accept")
                if accept.count():
                    accept.first.click(timeout=2000)
                else:
                    self.page.keyboard.press("Escape")
                dialog.wait_for(state="detached", timeout=5000)
            except Exception:  # the dialog went away by itself, or the page navigated
                continue
            texts.append(text)
        self.dismissed_dialogs.extend(texts)
        return texts

    def wait_for(self, predicate: str, arg: Any = None, *, what: str, timeout: float | None = None) -> Any:
        """Poll the JavaScript ``predicate(arg)`` until it returns something truthy; return that value.

        Between short polling slices it dismisses JupyterLab dialogs, so a dialog cannot block a wait.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        deadline = time.monotonic() + (timeout or self.default_timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                handle = self.page.wait_for_function(
                    predicate, arg=arg, polling=100, timeout=max(min(remaining, 2.0), 0.1) * 1000
                )
                return handle.json_value()
            except PlaywrightTimeoutError:
                self.dismiss_dialogs()
        shot = self._timeout_screenshot()
        state = {}
        with contextlib.suppress(Exception):
            state = self.state()
        raise LabTimeoutError(
            f"timed out after {timeout or self.default_timeout:.0f}s waiting for {what}; "
            f"notebook state {state}; screenshot {shot}; server log {self.server.log_path}"
        )

    def close(self) -> None:
        """Shut down the opened notebooks' kernels, write the console log and close the browser context."""
        for path in self.opened:
            with contextlib.suppress(Exception):
                self.server.shutdown_sessions(path)
        log = self.artifacts.directory / "console.log"
        lines = [*self.console, *(f"pageerror: {e}" for e in self.page_errors)]
        lines += [f"js-dialog: {d}" for d in self.js_dialogs]
        lines += [f"lab-dialog: {d}" for d in self.dismissed_dialogs]
        log.write_text("\n".join(lines) + ("\n" if lines else ""))
        with contextlib.suppress(Exception):
            self.page.context.close()

    # -- internals ---------------------------------------------------------------------------------

    @property
    def _path(self) -> str:
        if self.notebook_path is None:
            raise RuntimeError("no notebook open: call open_notebook() first")
        return self.notebook_path

    def _on_js_dialog(self, dialog: Any) -> None:
        self.js_dialogs.append(f"{dialog.type}: {dialog.message}")
        with contextlib.suppress(Exception):
            dialog.dismiss()

    def _timeout_screenshot(self) -> Path | str:
        try:
            return self.screenshot("timeout")
        except Exception as exc:
            return f"(none: {exc})"
