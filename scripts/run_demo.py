"""Run the demo notebooks end to end in a real kernel: the main job, ``make demo``.

Live when ``ANTHROPIC_API_KEY`` is set (unless ``--offline``): the notebooks talk to Claude. Otherwise each
notebook runs against the offline stand-in of the API (``python -m claude_magic.testing serve``) replaying
``notebooks/scripts/<notebook>.json``, whose code really runs. Each notebook is executed with nbclient with
``build/demo/<notebook>/`` as its working directory (files Claude's code produces land there), and written
with its outputs to ``build/demo/<notebook>.ipynb`` and ``.html``. Exits 1 if a cell fails.

    python scripts/run_demo.py [--all | NOTEBOOK ...] [--offline] [--out build/demo]

This module is the one place that knows how to start the stand-in and execute a notebook:
``tests/test_notebooks.py`` imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TextIO

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter
from nbformat import NotebookNode
from traitlets import default

from claude_magic.testing import RecordedRequest, RecordingProxy, ReplayServer, Script, StandIn

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
SCRIPTS_DIR = NOTEBOOKS_DIR / "scripts"
DEFAULT_OUT = ROOT / "build" / "demo"
NOTEBOOKS = ("churn_analysis", "files_and_containers", "beyond_csv", "many_inputs", "deliverables")
DEFAULT_NOTEBOOK = "churn_analysis"
OFFLINE_KEY = "offline-stand-in"  # the stand-in accepts any key
CELL_TIMEOUT = {"live": 900, "offline": 300}  # seconds per cell
STANDIN_START_TIMEOUT = 30.0
LABEL_WIDTH = 72  # characters of a cell's first line shown in the progress


class DemoError(Exception):
    """Something the user should read as one line, not as a traceback."""


# --- the data ------------------------------------------------------------------------------------------


def _make_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_data", NOTEBOOKS_DIR / "make_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare_data() -> str:
    """Write ``notebooks/data/streaming.csv`` and ``scene.png`` unless they are there; say what was done."""
    make_data = _make_data()
    started = time.perf_counter()
    csv: Path = make_data.DEFAULT_OUT
    written = make_data.write_streaming(csv)
    scene = csv.parent / "scene.png"
    if not scene.exists():
        make_data.make_scene().save(scene)
    verb = "generated" if written else "kept"
    return f"{verb} {csv.relative_to(ROOT)} ({make_data.DEFAULT_ROWS:,} rows) in {time.perf_counter() - started:.1f}s"


# --- where the notebooks' API calls go ---------------------------------------------------------------------


@dataclass
class Backend:
    """Where a notebook's API calls go: Claude (live) or a stand-in (offline)."""

    mode: Literal["live", "offline"]
    base_url: str | None = None  # the stand-in's URL (offline)
    standin: StandIn | None = None  # the stand-in itself when it runs in this process (its request log)

    @property
    def live(self) -> bool:
        return self.mode == "live"

    def kernel_env(self, *, cache_dir: Path, ipython_dir: Path) -> dict[str, str]:
        """The kernel's environment: this process's, pointed at the backend, with a build-local cache."""
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # let ipykernel choose the inline backend, so local charts show
        if self.live and self.base_url:  # live through a recording proxy
            env["ANTHROPIC_BASE_URL"] = self.base_url
        if not self.live:
            for name in [name for name in env if name.startswith("ANTHROPIC_")]:
                del env[name]  # no real key, token or URL reaches an offline run
            assert self.base_url is not None
            env.update(ANTHROPIC_BASE_URL=self.base_url, ANTHROPIC_API_KEY=OFFLINE_KEY)
        env.update(
            CLAUDE_MAGIC_CACHE_DIR=str(cache_dir),  # the upload registry: hermetic
            CLAUDE_MAGIC_DEMO_DIR=str(NOTEBOOKS_DIR),  # where the notebooks find make_data.py and data/
            IPYTHONDIR=str(ipython_dir),  # no personal profile, startup files or %config
        )
        return env


def describe_mode(live: bool, reason: str) -> str:
    """Which mode, why, and what it means for the outputs, in two lines."""
    if live:
        return f"LIVE ({reason}): the notebooks talk to Claude through the Anthropic API; this uses tokens."
    return (
        f"OFFLINE ({reason}): Claude is replaced by a local stand-in of the API replaying "
        "notebooks/scripts/<notebook>.json.\n"
        "  Its code really runs, but the outputs are produced by replayed code, not by a live model."
    )


@contextlib.contextmanager
def backend(
    name: str,
    *,
    live: bool,
    in_process: bool = False,
    log: Path | None = None,
    replay: Path | None = None,
    record: Path | None = None,
) -> Iterator[Backend]:
    """The backend for notebook *name*; offline, a stand-in serving its script until the block ends.

    The stand-in runs as ``python -m claude_magic.testing serve`` (stderr to *log*), or, with *in_process*,
    as a ``StandIn`` in this process, whose request log the caller can read (``Backend.standin.requests``).
    With *replay*, a cassette answers instead; with *record*, every exchange is recorded into that cassette.
    """
    if replay is not None:
        with ReplayServer(replay) as server:
            yield Backend("offline", base_url=server.base_url)
        return
    if record is not None:
        with backend(name, live=live, in_process=in_process, log=log) as inner:
            upstream = inner.base_url or os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
            with RecordingProxy(upstream, record) as proxy:
                yield Backend(inner.mode, base_url=proxy.base_url, standin=inner.standin)
        return
    if live:
        yield Backend("live")
        return
    script = SCRIPTS_DIR / f"{name}.json"
    if in_process:
        with StandIn(script=Script.from_json(script)) as api:
            yield Backend("offline", base_url=api.base_url, standin=api)
        return
    with _serve(script, log) as base_url:
        yield Backend("offline", base_url=base_url)


@contextlib.contextmanager
def _serve(script: Path, log: Path | None) -> Iterator[str]:
    """Start the stand-in CLI on a free port and yield its base URL; stop it afterwards."""
    command = [sys.executable, "-m", "claude_magic.testing", "serve", "--port", "0", "--script", str(script)]
    with contextlib.ExitStack() as stack:
        stderr: TextIO | int = stack.enter_context(log.open("w")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            first = _first_line(process, STANDIN_START_TIMEOUT)
            prefix = "ANTHROPIC_BASE_URL="
            if not first.startswith(prefix):
                where = f"; see {log}" if log is not None else ""
                raise DemoError(f"the stand-in did not start (exit status {process.poll()}){where}")
            yield first[len(prefix) :].strip()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The process's first line of stdout, or "" if it exits or stays silent for *timeout* seconds."""
    lines: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


# --- executing a notebook ----------------------------------------------------------------------------------


class _ThisPythonKernel(AsyncKernelManager):
    """A kernel running this interpreter (which has claude_magic), whatever kernelspecs are installed elsewhere."""

    @default("kernel_spec_manager")
    def _only_the_native_kernel(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[])  # only ipykernel's own "python3": sys.executable


def cell_labels(notebook: NotebookNode) -> dict[int, str]:
    """What each code cell does, in a few words: ``[2/8] Load the data`` rather than ``[2/8] import os``.

    A ``%%claude_exec`` cell is labelled by its prompt, another magic by its own line (they say what
    they do), and plain Python by the heading (else the first sentence) of the Markdown above it,
    numbered when several cells share one; else by its first line.
    """
    labels: dict[int, str] = {}
    heading = ""
    under_heading = 0
    for index, cell in enumerate(notebook.cells):
        lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
        if cell.cell_type == "markdown" and lines:
            titles = [line for line in lines if line.startswith("#")]
            title = titles[0] if titles else lines[0].replace("**", "").split(". ", 1)[0]
            heading = title.lstrip("#").strip().strip("*_.").strip()
            under_heading = 0
            continue
        if cell.cell_type != "code" or not lines:
            continue
        first = lines[0]
        if first.startswith(("%%claude_exec", "%claude_exec")):
            prompt = lines[1] if first.startswith("%%") and len(lines) > 1 else first.split(maxsplit=1)[-1]
            labels[index] = f"Claude: {prompt}"
        elif first.startswith("%"):
            labels[index] = first
        elif heading:
            under_heading += 1
            labels[index] = heading if under_heading == 1 else f"{heading} ({under_heading})"
        else:
            labels[index] = first
    return labels


class Progress:
    """One line per code cell: ``[N/M] what it does ... 3.2s``; on a terminal, elapsed time ticks while it runs."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stdout
        self.started = time.monotonic()
        self._tty = self.stream.isatty()
        self._label = ""
        self._open = False  # a cell's line is started but not finished
        self._cell_started = 0.0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self, number: int, label: str) -> None:
        first = label if len(label) <= LABEL_WIDTH else label[: LABEL_WIDTH - 1] + "…"
        width = len(str(self.total))
        self._label = f"  [{number:>{width}}/{self.total}] {first:<{LABEL_WIDTH}}"
        self._cell_started = time.monotonic()
        self._open = True
        if self._tty:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        else:
            self.stream.write(self._label)
            self.stream.flush()

    def done(self, failed: bool = False, status: str = "") -> None:
        if not self._open:
            return
        self._open = False
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        now = time.monotonic()
        status = status or ("FAILED" if failed else f"{now - self._cell_started:5.1f}s")
        line = f"{self._label} {status}   (total {now - self.started:.0f}s)"
        self.stream.write(f"\r{line}\n" if self._tty else line[len(self._label) :] + "\n")
        self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self.stream.write(f"\r{self._label} {time.monotonic() - self._cell_started:5.0f}s")
            self.stream.flush()


@dataclass
class Result:
    """One executed notebook: where it was written, what it holds, and what went wrong."""

    name: str
    notebook: NotebookNode
    ipynb: Path
    html: Path
    workdir: Path
    seconds: float
    error: str | None = None  # the failing cell, as one line
    requests: list[RecordedRequest] = field(default_factory=list)  # the in-process stand-in's log


def run_notebook(
    name: str,
    *,
    out: Path = DEFAULT_OUT,
    live: bool = False,
    in_process: bool = False,
    progress: TextIO | None = None,
    replay: Path | None = None,
    record: Path | None = None,
) -> Result:
    """Execute ``notebooks/<name>.ipynb`` in a fresh kernel against its backend; write ``.ipynb`` and ``.html``.

    The kernel's working directory is ``<out>/<name>/`` (emptied first), its upload registry
    ``<out>/.cache/<mode>`` (offline: emptied first). Cell errors do not raise: they are in ``Result.error``,
    and the notebook is written up to the failing cell.
    """
    started = time.monotonic()
    mode: Literal["live", "offline"] = "live" if live else "offline"
    workdir = out / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    cache_dir = out / ".cache" / mode
    if not live:
        shutil.rmtree(cache_dir, ignore_errors=True)  # a fresh stand-in holds no files: forget old ones
    notebook = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and cell.source.strip()]
    shown = Progress(len(code_cells), progress)
    labels = cell_labels(notebook)
    failed_cell: list[int] = []

    def on_execute(cell: NotebookNode, cell_index: int, **_: Any) -> None:
        shown.start(code_cells.index(cell_index) + 1, labels.get(cell_index, ""))

    def on_executed(cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any], **_: Any) -> None:
        failed = execute_reply.get("content", {}).get("status") != "ok"
        if failed:
            failed_cell.append(cell_index)
        shown.done(failed=failed)

    error: str | None = None
    requests: list[RecordedRequest] = []
    log = out / f"{name}.standin.log"
    with backend(name, live=live, in_process=in_process, log=log, replay=replay, record=record) as api:
        client = NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT[mode],
            kernel_name="python3",
            kernel_manager_class=_ThisPythonKernel,
            resources={"metadata": {"path": str(workdir)}},
            on_cell_execute=on_execute,
            on_cell_executed=on_executed,
        )
        env = api.kernel_env(cache_dir=cache_dir, ipython_dir=out / ".ipython")
        try:
            with (out / f"{name}.kernel.log").open("w") as kernel_log:  # the kernel's own warnings
                client.execute(env=env, stderr=kernel_log)
        except CellExecutionError as exc:
            where = f"cell {code_cells.index(failed_cell[0]) + 1}/{len(code_cells)}" if failed_cell else "a cell"
            error = f"{where} failed: {exc.ename}: {exc.evalue}".strip()
        except CellTimeoutError:
            error = f"a cell ran longer than {CELL_TIMEOUT[mode]}s"
        except DeadKernelError as exc:
            error = f"the kernel died: {exc}"
        finally:
            shown.done(status="STOPPED")  # only if a cell's line is still open (timeout, dead kernel, Ctrl-C)
        if api.standin is not None:
            requests = list(api.standin.requests)
    ipynb = out / f"{name}.ipynb"
    html = out / f"{name}.html"
    nbformat.write(notebook, ipynb)
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(notebook)
    html.write_text(body, encoding="utf-8")
    return Result(name, notebook, ipynb, html, workdir, time.monotonic() - started, error, requests)


# --- what to check in an executed notebook -----------------------------------------------------------------


def sandbox_failures(notebook: NotebookNode) -> list[str]:
    """Code Claude ran that failed (non-zero exit or tool error), as the renderer marks it in outputs."""
    found = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    for number, cell in enumerate(code_cells, start=1):
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            for line in text.splitlines() if isinstance(text, str) else []:
                if line.startswith(("[exit code ", "[Tool error: ")):
                    found.append(f"cell {number}: {line}")
    return found


# --- the command line --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help=f"any of {', '.join(NOTEBOOKS)}")
    parser.add_argument("--all", action="store_true", help="run every notebook")
    parser.add_argument("--offline", action="store_true", help="use the stand-in even if ANTHROPIC_API_KEY is set")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/demo)")
    parser.add_argument("--record", type=Path, metavar="CASSETTE", help="record the API exchanges (one notebook)")
    parser.add_argument("--replay", type=Path, metavar="CASSETTE", help="answer from a recorded cassette, offline")
    args = parser.parse_args(argv)
    if (args.record or args.replay) and (args.all or len(args.notebooks) > 1):
        parser.error("--record and --replay take one notebook: a cassette holds one session")
    unknown = sorted(set(args.notebooks) - set(NOTEBOOKS))
    if unknown:
        parser.error(f"unknown notebook(s): {', '.join(unknown)}; choose from {', '.join(NOTEBOOKS)}")
    names = list(NOTEBOOKS) if args.all else args.notebooks or [DEFAULT_NOTEBOOK]
    has_key = bool(os.environ.get("ANTHROPIC_API_KEY"))
    live = has_key and not args.offline and not args.replay
    reason = "ANTHROPIC_API_KEY is set" if live else ("--offline" if has_key else "no ANTHROPIC_API_KEY")
    if args.replay:
        reason = f"--replay {args.replay}: answers come from the cassette, not the scripted model"
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    print(describe_mode(live, reason))
    print(f"Data: {prepare_data()}")
    results: list[Result] = []
    for name in names:
        print(f"\n{name}.ipynb")
        try:
            result = run_notebook(name, out=out, live=live, replay=args.replay, record=args.record)
        except DemoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        results.append(result)
        print(f"  wrote {_shown(result.ipynb)} and {_shown(result.html)} ({result.seconds:.0f}s)")
        print(f"  files from Claude's code: {_shown(result.workdir / 'claude_outputs')}/")
        if result.error:
            print(f"  ERROR in {name}.ipynb: {result.error}", file=sys.stderr)
        for failure in sandbox_failures(result.notebook):
            kind = "WARNING" if live else "ERROR"  # offline, scripted code must not fail
            print(f"  {kind}: code in the sandbox failed in {failure}", file=sys.stderr)

    failed = [r.name for r in results if r.error or (not live and sandbox_failures(r.notebook))]
    print(f"\n{'Failed: ' + ', '.join(failed) if failed else 'Done'} in {time.monotonic() - started:.0f}s.")
    if not failed:
        for result in results:
            print(f"Open {_shown(result.html)} in a browser, or {_shown(result.ipynb)} in Jupyter.")
    return 1 if failed else 0


def _shown(path: Path) -> str:
    """*path* relative to the repository when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
