"""The page driver: one notebook in JupyterLab or Notebook 7, with waits that know about the kernel.

:class:`LabPage` wraps a Playwright page showing one notebook: open it, wait for the kernel, run
cells (Shift+Enter) or all cells (the run-all command), wait for the execution to finish, read
outputs, find elements in them, set files on an ``<input type=file>`` in an output, screenshots.

Waits poll a condition with a deadline; nothing sleeps for a fixed time.  Both frontends run with
the app exposed as ``window.jupyterapp``, so the helpers (``lab_harness.js``) read the live notebook
model instead of guessing from the DOM.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _browser import Artifacts
from _server import App, CellSpec, JupyterLabServer, write_notebook

if TYPE_CHECKING:
    from typing import TypeAlias

    from playwright.sync_api import FilePayload, Locator, Page

    FileSpec: TypeAlias = str | Path | FilePayload | Sequence[str | Path] | Sequence[FilePayload]
    """What Playwright's ``set_input_files`` accepts: paths, or in-memory ``{name, mimeType, buffer}``."""

_LAB_JS = (Path(__file__).resolve().parent / "lab_harness.js").read_text()

_UPLOAD_BUTTON = ".widget-upload"
"""The ipywidgets FileUpload button (its ``<input type=file>`` is never attached to the DOM)."""


class LabTimeoutError(AssertionError):
    """A harness wait ran out of time; the message says what was awaited and what the page showed."""


class CellError(AssertionError):
    """A cell raised; the message carries the exception and its traceback (ANSI codes removed)."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LabPage:
    """A Playwright page showing one notebook in JupyterLab or (``app="notebook"``) Notebook 7.

    Cells are addressed by their 0-based index among *all* cells of the notebook.  Every wait has a
    timeout (seconds) and raises :class:`LabTimeoutError` with a screenshot path when it runs out.
    Console messages, page errors and JavaScript dialogs (``alert`` etc., dismissed automatically) are
    recorded in :attr:`console`, :attr:`page_errors` and :attr:`js_dialogs` — security tests can assert
    that hostile output ran no script.
    """

    def __init__(
        self,
        page: Page,
        server: JupyterLabServer,
        artifacts: Artifacts,
        *,
        app: App = "lab",
        default_timeout: float = 60.0,
    ) -> None:
        self.page = page
        self.server = server
        self.app: App = app
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
        self.page.goto(self.server.notebook_url(rel_path, self.app), wait_until="domcontentloaded")
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
