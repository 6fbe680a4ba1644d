"""A file picker panel built from stock ipywidgets: a thin adapter over ``Session`` uploads.

It imports ipywidgets and knows nothing of HTTP: every action goes through the session (the
same dedupe, registry and size checks as ``%claude_upload``). No custom JavaScript, so it works
wherever ipywidgets does (JupyterLab, Notebook 7, VS Code).

The list is drawn from the session each time (its uploads, what the next turn attaches, what an
earlier turn put in the container) plus the failures this panel saw, so an error can never lose
it. Handlers run outside any cell, where an exception would vanish: each one reports problems in
the panel instead of raising.
"""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from claude_magic import _picker_model as model
from claude_magic._disk_search import search_disk
from claude_magic._format import plural
from claude_magic._local_files import LocalFile, from_bytes, from_path
from claude_magic._picker_model import PickerEntry
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import human_size

if TYPE_CHECKING:
    from claude_magic._session import Session

__all__ = ["BROWSER_UPLOAD_ADVICE_BYTES", "PickerEntry", "UploadPicker"]

BROWSER_UPLOAD_ADVICE_BYTES = 5 * 1024 * 1024
"""Above this (one file, or one choice in total) the panel advises picking from the kernel's disk.

Files chosen in the browser travel to the kernel in one websocket message per choice, and Jupyter
Server (tornado) drops messages over 10 MiB by default: such a choice never reaches the kernel, so
the advice has to come before that limit.
"""


@dataclass
class _Row:
    box: widgets.HBox
    label: widgets.HTML
    tick: widgets.Checkbox | None = None


class UploadPicker(widgets.VBox):
    """Choose files from the browser or the kernel's disk; upload, list, delete and attach them.

    Parameters
    ----------
    session
        The session whose uploads this panel shows and changes.
    pattern
        The glob for the kernel-disk chooser; its matches are listed when the panel is made.
    advice_bytes
        Files chosen in the browser above this size (or choices above it in total) get advice to
        pick big files from the kernel's disk instead.
    max_matches, search_seconds
        The kernel-disk search stops at this many files or after this long (a glob such as ``/**``
        would otherwise walk the whole disk while the kernel waits), and says so.
    """

    def __init__(
        self,
        session: Session,
        *,
        pattern: str = "*",
        advice_bytes: int = BROWSER_UPLOAD_ADVICE_BYTES,
        max_matches: int = 500,
        search_seconds: float = 2.0,
    ) -> None:
        self._session = session
        self.advice_bytes = advice_bytes
        self.max_matches, self.search_seconds = max_matches, search_seconds
        self._states: dict[str, str] = {}  # file id -> "uploaded" | "already uploaded", as this panel saw it
        self._failures: dict[str, PickerEntry] = {}  # file name -> its last failed attempt
        self._from_browser: dict[str, None] = {}  # file ids chosen in this panel's browser chooser, in order
        self._rows: dict[str, _Row] = {}
        self._syncing = False  # True while the panel sets ticks or the chooser's value itself (not the user)
        self.upload = widgets.FileUpload(
            multiple=True, description="From this computer", layout={"width": "max-content"}
        )
        self.pattern = widgets.Text(
            value=pattern,
            description="On the kernel's disk",
            placeholder="data/*.csv",
            style={"description_width": "initial"},
        )
        self.find_button = widgets.Button(description="Find", tooltip="List files on the kernel's disk")
        self.disk_files = widgets.SelectMultiple(options=[], rows=6, description="", layout={"width": "60%"})
        self.add_button = widgets.Button(description="Upload selected", button_style="primary")
        self.refresh_button = widgets.Button(description="Refresh", tooltip="Show the session's files as they are now")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="", layout={"visibility": "hidden"})
        self.status = widgets.HTML(value="")
        self.summary = widgets.HTML(value="")
        self.rows = widgets.VBox()
        self._header = widgets.HTML(model.HEADER)
        self.upload.observe(self._guarded(self._on_upload_value), names="value")
        self.find_button.on_click(self._guarded(self._on_find_button_click))
        self.add_button.on_click(self._guarded(self._on_add_button_click))
        self.refresh_button.on_click(self._guarded(lambda _button: self.refresh()))
        super().__init__(
            children=[
                widgets.HTML("<b>Files for Claude</b>"),
                self.upload,
                widgets.HTML(
                    '<div style="font-size: smaller; line-height: 1.4; color: var(--jp-ui-font-color2, #616161)">'
                    f"{html.escape(model.HINT)}</div>"
                ),
                widgets.HBox([self.pattern, self.find_button]),
                widgets.HBox([self.disk_files, self.add_button]),
                self.progress,
                self.status,
                widgets.HBox([self.summary, self.refresh_button]),
                self.rows,
            ]
        )
        self._redraw()
        self._guarded(self._on_find_button_click)(None)  # the glob says what to list: list it now

    @property
    def entries(self) -> list[PickerEntry]:
        """The rows: the session's uploads (oldest first), then the failed attempts."""
        return model.session_entries(self._session, self._states) + list(self._failures.values())

    def refresh(self) -> None:
        """Redraw from the session (after ``%claude_upload``, a turn, ``%claude_files delete``...).

        The last action's message is cleared: it described the session as it was.
        """
        self._redraw()
        self.status.value = ""
        self.progress.layout.visibility = "hidden"

    def summary_text(self) -> str:
        """One line on what the session holds, as the panel's counters and its text/plain show it."""
        return model.summary_text(self.entries)

    def __repr__(self) -> str:
        return f"<UploadPicker: {self.summary_text()}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, with a readable text/plain (what a saved notebook shows without widgets)."""
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            self._redraw()
            bundle["text/plain"] = model.plain_text(self.entries)
        return bundle

    # Event handlers (they run outside any cell: report problems in the panel)

    def _guarded(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def run(argument: Any) -> None:
            try:
                handler(argument)
            except Exception as exc:  # nothing may escape into the kernel's comm handler, where it vanishes
                self._say(f"Something went wrong: {type(exc).__name__}: {exc}", warning=True)
                with contextlib.suppress(Exception):  # the session itself is broken: keep the panel as it is
                    self._redraw()

        return run

    def _on_upload_value(self, change: dict[str, Any]) -> None:
        chosen = [item for item in change["new"] or () if not item.get(model.STUB)]
        if self._syncing or not chosen:
            return  # the panel's own counter, or a frontend clearing the widget
        try:
            sizes = {str(item["name"]): len(item["content"]) for item in chosen}
            files: list[LocalFile | PickerEntry] = []
            for item in chosen:
                try:
                    files.append(from_bytes(str(item["name"]), bytes(item["content"]), item.get("type") or None))
                except ClaudeMagicError as exc:
                    files.append(PickerEntry(str(item["name"]), len(item["content"]), state="failed", reason=str(exc)))
            advice = model.large_file_advice(sizes, self.advice_bytes)
            self._upload_all(files, advice=advice, from_browser=True)
        finally:
            self._sync_counter()  # the chooser's "(n)" counts this session's files from this computer

    def _on_find_button_click(self, _: Any) -> None:
        pattern = os.path.expanduser(self.pattern.value.strip() or "*")
        found = search_disk(pattern, max_matches=self.max_matches, seconds=self.search_seconds)
        options = []
        for path in found.paths:
            try:
                options.append((f"{path} ({human_size(os.path.getsize(path))})", path))
            except OSError:  # gone or unreadable since the search
                continue
        self.disk_files.options = options
        message, warning = model.find_message(found, pattern)
        self._say(message, warning=warning)

    def _on_add_button_click(self, _: Any) -> None:
        paths = list(self.disk_files.value)
        if not paths:
            self._say("Select files in the list first (Find lists them).", warning=True)
            return
        files: list[LocalFile | PickerEntry] = []
        for path in paths:
            try:
                files.append(from_path(path))
            except ClaudeMagicError as exc:
                files.append(PickerEntry(Path(path).name, 0, state="failed", reason=str(exc)))
        self._upload_all(files)

    def _on_tick(self, file_id: str, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        chosen = {entry.file_id for entry in self._session.pending}
        chosen = chosen | {file_id} if change["new"] else chosen - {file_id}
        ordered = [entry for entry in self._session.uploads if entry.file_id in chosen]
        self._session.attach([entry.file_id for entry in ordered])
        self._redraw()
        names = ", ".join(entry.name for entry in ordered)
        self._say(
            f"The next %%claude_exec attaches {names}." if ordered else "The next %%claude_exec attaches no files."
        )

    # Actions

    def _upload_all(
        self, files: Sequence[LocalFile | PickerEntry], *, advice: str = "", from_browser: bool = False
    ) -> None:
        self.progress.max = max(len(files), 1)
        self.progress.value = 0
        self.progress.bar_style = ""
        self.progress.layout.visibility = "visible"
        failures = 0
        for number, local in enumerate(files, start=1):
            self.progress.description = f"{number}/{len(files)}"
            if isinstance(local, PickerEntry):
                entry = local
            else:
                self._say(f"Uploading {local.name} ({human_size(local.size)}, {number} of {len(files)})…")
                try:
                    uploaded = self._session.upload_file(local)
                except ClaudeMagicError as exc:
                    entry = PickerEntry(local.name, local.size, state="failed", reason=str(exc))
                else:
                    entry = PickerEntry(
                        uploaded.name,
                        uploaded.size,
                        uploaded.file_id,
                        "already uploaded" if uploaded.reused else "uploaded",
                    )
                    if from_browser:
                        self._from_browser[uploaded.file_id] = None
            self._record(entry)
            failures += entry.state == "failed"
            self.progress.value = number
        self.progress.bar_style = "warning" if failures else "success"
        done = len(files) - failures
        summary = f"{done} of {plural(len(files), 'file')} ready; the next %%claude_exec attaches the ticked ones."
        if failures:
            summary += f" {failures} failed: see the list."
        self._say(f"{summary} {advice}".strip(), warning=bool(failures or advice))

    def delete(self, file_id: str) -> None:
        """Delete a file from the server, the registry and the list (problems are shown in the panel)."""
        try:
            deleted = self._session.delete(file_id)
        except ClaudeMagicError as exc:
            self._say(str(exc), warning=True)
            return
        self._states.pop(file_id, None)
        self._redraw()
        self._say(f"Deleted {deleted.name} ({file_id}).")

    def _record(self, entry: PickerEntry) -> None:
        if entry.state == "failed":
            self._failures[entry.name] = entry  # the session's earlier upload of that name, if any, stays
        else:
            self._failures.pop(entry.name, None)
            self._states[entry.file_id] = entry.state
        self._redraw()

    # Drawing

    def _redraw(self) -> None:
        rows: list[widgets.Widget] = []
        seen: set[str] = set()
        for entry in self.entries:
            key = entry.file_id or f"failed:{entry.name}"
            seen.add(key)
            row = self._rows.get(key) or self._new_row(key, entry)
            row.label.value = model.row_label(entry)
            if row.tick is not None and row.tick.value != (entry.where == model.NEXT_TURN):
                with self._setting():
                    row.tick.value = entry.where == model.NEXT_TURN
            rows.append(row.box)
        self.rows.children = ([self._header] if rows else []) + rows
        for key in [key for key in self._rows if key not in seen]:  # shown no more: free their comms
            row = self._rows.pop(key)
            for child in row.box.children:
                child.close()
            row.box.close()
        self.summary.value = model.summary_markup(self.entries)
        self._sync_counter()

    def _sync_counter(self) -> None:
        """Make the chooser's "From this computer (n)" count this session's files chosen here."""
        uploads = {entry.file_id for entry in self._session.uploads}
        self._from_browser = {file_id: None for file_id in self._from_browser if file_id in uploads}
        value = model.counter_value(self._session, list(self._from_browser))
        current = self.upload.value
        names = [item["name"] for item in current if item.get(model.STUB)]
        if len(names) != len(current) or names != [item["name"] for item in value]:
            with self._setting():
                self.upload.value = value

    @contextlib.contextmanager
    def _setting(self) -> Iterator[None]:
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _new_row(self, key: str, entry: PickerEntry) -> _Row:
        label = widgets.HTML()
        if not entry.file_id:
            spacer = widgets.HTML("<span style='width:2em;display:inline-block'></span>")
            self._rows[key] = _Row(widgets.HBox([spacer, label]), label)
            return self._rows[key]
        file_id = entry.file_id
        tick = widgets.Checkbox(value=False, indent=False, layout={"width": "2em"}, description="")
        tick.observe(self._guarded(lambda change: self._on_tick(file_id, change)), names="value")
        # Deleting is rare and cannot be undone: a quiet button that asks before it acts.
        ask = widgets.Button(description="Delete…", tooltip="Delete this file from the server", layout={"width": "6em"})
        confirm = widgets.Button(description="Yes, delete", button_style="danger", layout={"display": "none"})
        keep = widgets.Button(description="Keep", layout={"display": "none"})

        def asking(now: bool) -> None:
            ask.layout.display = "none" if now else ""
            confirm.layout.display = keep.layout.display = "" if now else "none"

        ask.on_click(self._guarded(lambda _button: asking(True)))
        keep.on_click(self._guarded(lambda _button: asking(False)))
        confirm.on_click(self._guarded(lambda _button: self.delete(file_id)))
        self._rows[key] = _Row(widgets.HBox([tick, label, ask, confirm, keep]), label, tick)
        return self._rows[key]

    def _say(self, message: str, *, warning: bool = False) -> None:
        self.status.value = model.status_markup(message, warning=warning)
