"""A file picker panel built from stock ipywidgets: a thin adapter over ``Session`` uploads.

It imports ipywidgets and knows nothing of HTTP: every action goes through the session (the
same dedupe, registry and size checks as ``%claude_upload``). No custom JavaScript, so it works
wherever ipywidgets does (JupyterLab, Notebook 7, VS Code).

The list is drawn from the session each time (its uploads, their pending state) plus the
failures this panel saw, so an error can never lose it. Handlers run outside any cell, where an
exception would vanish: each one reports problems in the panel instead of raising.
"""

from __future__ import annotations

import contextlib
import glob
import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from claude_magic._format import human_size as _human_size
from claude_magic._local_files import LocalFile, from_bytes, from_path
from claude_magic.errors import ClaudeMagicError

if TYPE_CHECKING:
    from claude_magic._session import Session

BROWSER_UPLOAD_ADVICE_BYTES = 5 * 1024 * 1024
"""Above this (one file, or one choice in total) the panel advises picking from the kernel's disk.

Files chosen in the browser travel to the kernel in one websocket message per choice, and Jupyter
Server (tornado) drops messages over 10 MiB by default: such a choice never reaches the kernel, so
the advice has to come before that limit.
"""
_MAX_DISK_MATCHES = 500
_HINT = (
    "Files chosen here travel through the notebook's connection: Jupyter's default limit is about "
    "10 MB per choice, and a bigger choice never arrives. For big files, put them on the kernel's disk "
    "and pick them below."
)


@dataclass
class PickerEntry:
    """One row of the panel's list."""

    name: str
    size: int
    file_id: str = ""
    state: str = "uploaded"  # uploaded | already uploaded | failed
    reason: str = ""


class UploadPicker(widgets.VBox):
    """Choose files from the browser or the kernel's disk; upload, list, delete and attach them.

    Parameters
    ----------
    session
        The session whose uploads this panel shows and changes.
    pattern
        The initial glob for the kernel-disk chooser.
    advice_bytes
        Files chosen in the browser above this size (or choices above it in total) get advice to
        pick big files from the kernel's disk instead.
    """

    def __init__(
        self, session: Session, *, pattern: str = "*", advice_bytes: int = BROWSER_UPLOAD_ADVICE_BYTES
    ) -> None:
        self._session = session
        self.advice_bytes = advice_bytes
        self._states: dict[str, str] = {}  # file id -> "uploaded" | "already uploaded", as this panel saw it
        self._failures: dict[str, PickerEntry] = {}  # file name -> its last failed attempt
        self._rows: dict[str, tuple[widgets.HBox, widgets.HTML, widgets.Checkbox | None]] = {}
        self._syncing = False  # True while the panel sets ticks itself (not the user)
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
        self.rows = widgets.VBox()
        self._header = widgets.HTML("<small>attach to the next turn · name · size · file id · state</small>")
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
                    f"{html.escape(_HINT)}</div>"
                ),
                widgets.HBox([self.pattern, self.find_button]),
                widgets.HBox([self.disk_files, self.add_button]),
                self.progress,
                self.status,
                widgets.HBox([widgets.HTML("<b>Uploaded</b>"), self.refresh_button]),
                self.rows,
            ]
        )
        self.refresh()

    @property
    def entries(self) -> list[PickerEntry]:
        """The rows: the session's uploads (oldest first), then the failed attempts."""
        listed = [
            PickerEntry(entry.name, entry.size, entry.file_id, self._states.get(entry.file_id, "uploaded"))
            for entry in self._session.uploads
        ]
        return listed + list(self._failures.values())

    def refresh(self) -> None:
        """Redraw the list from the session (after ``%claude_upload``, a turn, ``%claude_files delete``...)."""
        pending = {entry.file_id for entry in self._session.pending}
        rows: list[widgets.Widget] = []
        seen: set[str] = set()
        for entry in self.entries:
            key = entry.file_id or f"failed:{entry.name}"
            seen.add(key)
            row = self._rows.get(key) or self._new_row(key, entry)
            row[1].value = self._label(entry)
            if row[2] is not None and row[2].value != (entry.file_id in pending):
                self._syncing = True
                try:
                    row[2].value = entry.file_id in pending
                finally:
                    self._syncing = False
            rows.append(row[0])
        self.rows.children = ([self._header] if rows else []) + rows
        for key in [key for key in self._rows if key not in seen]:  # shown no more: free their comms
            box, _label, _tick = self._rows.pop(key)
            for child in box.children:
                child.close()
            box.close()

    # Event handlers (they run outside any cell: report problems in the panel)

    def _guarded(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def run(argument: Any) -> None:
            try:
                handler(argument)
            except Exception as exc:  # nothing may escape into the kernel's comm handler, where it vanishes
                self._say(f"Something went wrong: {type(exc).__name__}: {exc}", warning=True)
                with contextlib.suppress(Exception):  # the session itself is broken: keep the panel as it is
                    self.refresh()

        return run

    def _on_upload_value(self, change: dict[str, Any]) -> None:
        chosen = list(change["new"] or ())
        if not chosen:
            return  # our own reset below, or a frontend clearing the widget
        try:
            sizes = {str(item["name"]): len(item["content"]) for item in chosen}
            large = [name for name, size in sizes.items() if size > self.advice_bytes]
            if not large and sum(sizes.values()) > self.advice_bytes:
                large = list(sizes)
            files: list[LocalFile | PickerEntry] = []
            for item in chosen:
                try:
                    files.append(from_bytes(str(item["name"]), bytes(item["content"]), item.get("type") or None))
                except ClaudeMagicError as exc:
                    files.append(PickerEntry(str(item["name"]), len(item["content"]), state="failed", reason=str(exc)))
            advice = (
                f"{', '.join(large)}: large files travel through the notebook's connection when chosen here "
                "(about 10 MB per choice at most, by default); for big files, put them on the kernel's disk and "
                "pick them below instead."
                if large
                else ""
            )
            self._upload_all(files, advice=advice)
        finally:
            self.upload.value = ()  # ready for the next choice (the same files again, too)

    def _on_find_button_click(self, _: Any) -> None:
        pattern = os.path.expanduser(self.pattern.value.strip() or "*")
        matches = [path for path in sorted(glob.glob(pattern, recursive=True)) if os.path.isfile(path)]
        options = []
        for path in matches[:_MAX_DISK_MATCHES]:
            try:
                options.append((f"{path} ({_human_size(os.path.getsize(path))})", path))
            except OSError:  # gone or unreadable since the glob
                continue
        self.disk_files.options = options
        where = "" if os.path.isabs(pattern) else f" in {os.getcwd()}"
        more = f" (showing the first {_MAX_DISK_MATCHES})" if len(matches) > _MAX_DISK_MATCHES else ""
        self._say(
            f"{_count(len(matches), 'file')} {'matches' if len(matches) == 1 else 'match'} {pattern}{where}{more}: "
            "select some and press Upload selected."
            if matches
            else f"No file matches {pattern}{where}."
        )

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
        names = ", ".join(entry.name for entry in ordered)
        self._say(
            f"The next %%claude_exec attaches {names}." if ordered else "The next %%claude_exec attaches no files."
        )

    # Actions

    def _upload_all(self, files: Sequence[LocalFile | PickerEntry], *, advice: str = "") -> None:
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
                self._say(f"Uploading {local.name} ({_human_size(local.size)}, {number} of {len(files)})…")
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
            self._record(entry)
            failures += entry.state == "failed"
            self.progress.value = number
        self.progress.bar_style = "warning" if failures else "success"
        done = len(files) - failures
        summary = f"{done} of {_count(len(files), 'file')} ready; the next %%claude_exec attaches the ticked ones."
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
        self.refresh()
        self._say(f"Deleted {deleted.name} ({file_id}).")

    def _record(self, entry: PickerEntry) -> None:
        if entry.state == "failed":
            self._failures[entry.name] = entry  # the session's earlier upload of that name, if any, stays
        else:
            self._failures.pop(entry.name, None)
            self._states[entry.file_id] = entry.state
        self.refresh()

    def _new_row(self, key: str, entry: PickerEntry) -> tuple[widgets.HBox, widgets.HTML, widgets.Checkbox | None]:
        label = widgets.HTML()
        tick: widgets.Checkbox | None = None
        if entry.file_id:
            file_id = entry.file_id
            tick = widgets.Checkbox(value=False, indent=False, layout={"width": "2em"}, description="")
            tick.observe(self._guarded(lambda change: self._on_tick(file_id, change)), names="value")
            delete = widgets.Button(description="Delete", button_style="danger", layout={"width": "6em"})
            delete.on_click(self._guarded(lambda _button: self.delete(file_id)))
            box = widgets.HBox([tick, label, delete])
        else:
            box = widgets.HBox([widgets.HTML("<span style='width:2em;display:inline-block'></span>"), label])
        self._rows[key] = (box, label, tick)
        return self._rows[key]

    @staticmethod
    def _label(entry: PickerEntry) -> str:
        state = entry.state if entry.state != "failed" else f"failed: {entry.reason}"
        return (
            f"<code>{html.escape(entry.name)}</code> · {_human_size(entry.size)} · "
            f"<code>{html.escape(entry.file_id or '—')}</code> · {html.escape(state)}"
        )

    def _say(self, message: str, *, warning: bool = False) -> None:
        colour = "var(--jp-warn-color0, #b35900)" if warning else "var(--jp-ui-font-color1, inherit)"
        self.status.value = f'<span class="claude-magic-status" style="color:{colour}">{html.escape(message)}</span>'


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
