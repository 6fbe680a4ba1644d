"""A Jupyter server for the browser tests: JupyterLab and Notebook 7 on 127.0.0.1, isolated.

:func:`run_jupyterlab` starts an isolated server (own config, data, runtime, settings and workspace
dirs; a ``python3`` kernelspec running *this* interpreter so the kernel can import ``claude_magic``;
no news, update checks or extension-manager look-ups) with the environment a test passes (e.g.
``ANTHROPIC_BASE_URL``), waits until ``/api/status`` answers, and stops it and its kernels afterwards.
With the ``notebook`` package installed the same server also serves Notebook 7 (``/notebooks/...``);
both frontends run with the app exposed as ``window.jupyterapp`` so a page can read the live model.
:meth:`JupyterLabServer.set_theme` switches the theme the next page loads with.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

KERNEL_NAME = "python3"

App = Literal["lab", "notebook"]
"""Which frontend a page opens: JupyterLab (``/lab``) or Notebook 7 (``/notebooks``)."""

LIGHT_THEME, DARK_THEME = "JupyterLab Light", "JupyterLab Dark"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

    def notebook_url(self, notebook: str, app: App = "lab") -> str:
        """The URL that opens ``notebook`` in JupyterLab (a fresh workspace) or Notebook 7 (its own tab)."""
        if app == "notebook":
            return self.url(f"notebooks/{urllib.parse.quote(notebook)}")
        return self.lab_url(notebook)

    def set_theme(self, theme: str) -> None:
        """Use ``theme`` (e.g. :data:`DARK_THEME`) in pages loaded from now on, in both frontends.

        It is the user setting JupyterLab's theme menu writes; the server reads settings on each page
        load, so no restart is needed.
        """
        target = self.home / "settings" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"theme": theme}))

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
    # Notebook 7 runs as an extension of the same server: expose its app too (the CLI flag is LabApp's).
    server_config = {"JupyterNotebookApp": {"expose_app_in_browser": True}}
    (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps(server_config))
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
