"""A file picker panel built from stock ipywidgets: a thin adapter over ``Session`` uploads.

It imports ipywidgets and knows nothing of HTTP: every action goes through the session (the
same dedupe, registry and size checks as ``%claude_upload``). No custom JavaScript, so it works
wherever ipywidgets does (JupyterLab, Notebook 7, VS Code).
"""

from __future__ import annotations

import glob
import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from claude_magic.errors import ClaudeMagicError
from claude_magic.uploads import LocalFile, from_bytes, from_path

if TYPE_CHECKING:
    from claude_magic.session import Session

BROWSER_UPLOAD_ADVICE_BYTES = 20 * 1024 * 1024  # above this, picking from the kernel's disk is better
_MAX_DISK_MATCHES = 500


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
    """

    def __init__(self, session: Session, *, pattern: str = "*") -> None:
        self._session = session
        self.entries: list[PickerEntry] = []
        self.upload = widgets.FileUpload(multiple=True, description="From this computer")
        self.pattern = widgets.Text(value=pattern, description="On the kernel", placeholder="data/*.csv")
        self.find_button = widgets.Button(description="Find", tooltip="List files on the kernel's disk")
        self.disk_files = widgets.SelectMultiple(options=[], rows=6, description="")
        self.add_button = widgets.Button(description="Upload selected", button_style="primary")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="", layout={"visibility": "hidden"})
        self.status = widgets.HTML(value="")
        self.rows = widgets.VBox()
        self.errors = widgets.Output()
        self.upload.observe(self._on_upload_value, names="value")
        self.find_button.on_click(self._on_find_button_click)
        self.add_button.on_click(self._on_add_button_click)
        super().__init__(
            children=[
                widgets.HTML("<b>Files for Claude</b>"),
                self.upload,
                widgets.HBox([self.pattern, self.find_button]),
                widgets.HBox([self.disk_files, self.add_button]),
                self.progress,
                self.status,
                self.rows,
                self.errors,
            ]
        )
        for entry in session.uploads:
            self.entries.append(PickerEntry(entry.name, entry.size, entry.file_id, "uploaded"))
        self._refresh_rows()

    # Event handlers (they run outside any cell: report problems in the panel)

    def _on_upload_value(self, change: dict[str, Any]) -> None:
        chosen = list(change["new"] or ())
        if not chosen:
            return
        large = [item["name"] for item in chosen if int(item.get("size") or 0) > BROWSER_UPLOAD_ADVICE_BYTES]
        files: list[LocalFile | PickerEntry] = []
        for item in chosen:
            try:
                files.append(from_bytes(str(item["name"]), bytes(item["content"]), item.get("type") or None))
            except ClaudeMagicError as exc:
                files.append(
                    PickerEntry(str(item["name"]), int(item.get("size") or 0), state="failed", reason=str(exc))
                )
        self._upload_all(files)
        if large:
            self._say(
                f"{', '.join(large)}: large files travel through the notebook's websocket when chosen here; "
                "for big files, put them on the kernel's disk and pick them below instead.",
                warning=True,
            )
        with self.errors:
            self.upload.value = ()  # ready for the next choice; our observer ignores the empty value

    def _on_find_button_click(self, _: Any) -> None:
        pattern = os.path.expanduser(self.pattern.value.strip() or "*")
        matches = [path for path in sorted(glob.glob(pattern, recursive=True)) if os.path.isfile(path)]
        self.disk_files.options = [
            (f"{path} ({_human_size(os.path.getsize(path))})", path) for path in matches[:_MAX_DISK_MATCHES]
        ]
        more = f" (showing the first {_MAX_DISK_MATCHES})" if len(matches) > _MAX_DISK_MATCHES else ""
        self._say(f"{len(matches)} files match {pattern}{more}." if matches else f"No file matches {pattern}.")

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

    # Actions

    def _upload_all(self, files: Sequence[LocalFile | PickerEntry]) -> None:
        self.progress.max = max(len(files), 1)
        self.progress.value = 0
        self.progress.layout.visibility = "visible"
        failures = 0
        for local in files:
            self.progress.description = f"{self.progress.value + 1}/{len(files)}"
            if isinstance(local, PickerEntry):
                entry = local
            else:
                try:
                    uploaded = self._session.upload_file(local)
                    entry = PickerEntry(
                        uploaded.name,
                        uploaded.size,
                        uploaded.file_id,
                        "already uploaded" if uploaded.reused else "uploaded",
                    )
                except ClaudeMagicError as exc:
                    entry = PickerEntry(local.name, local.size, state="failed", reason=str(exc))
            failures += entry.state == "failed"
            self._record(entry)
            self.progress.value += 1
        self.progress.layout.visibility = "hidden"
        done = len(files) - failures
        self._say(
            f"{done} of {len(files)} files ready; the next %%claude_exec attaches the ticked ones."
            + (f" {failures} failed: see the list." if failures else ""),
            warning=bool(failures),
        )

    def delete(self, file_id: str) -> None:
        """Delete a file from the server, the registry and the list."""
        try:
            self._session.delete(file_id)
        except ClaudeMagicError as exc:
            self._say(str(exc), warning=True)
            return
        self.entries = [entry for entry in self.entries if entry.file_id != file_id]
        self._refresh_rows()
        self._say(f"Deleted {file_id}.")

    def _record(self, entry: PickerEntry) -> None:
        # One row per file name: a new upload of the same name replaces the old row.
        self.entries = [old for old in self.entries if old.name != entry.name]
        self.entries.append(entry)
        self._refresh_rows()

    def _set_attached(self, file_id: str, attached: bool) -> None:
        chosen = {entry.file_id for entry in self._session.pending}
        chosen = chosen | {file_id} if attached else chosen - {file_id}
        try:
            self._session.attach(sorted(chosen))
        except ClaudeMagicError as exc:
            self._say(str(exc), warning=True)

    def _refresh_rows(self) -> None:
        pending = {entry.file_id for entry in self._session.pending}
        rows = [widgets.HTML("<small>attach · name · size · file id · state</small>")] if self.entries else []
        for entry in self.entries:
            rows.append(self._row(entry, entry.file_id in pending))
        self.rows.children = rows

    def _row(self, entry: PickerEntry, attached: bool) -> widgets.HBox:
        state = entry.state if entry.state != "failed" else f"failed: {entry.reason}"
        label = widgets.HTML(
            f"<code>{html.escape(entry.name)}</code> · {_human_size(entry.size)} · "
            f"<code>{html.escape(entry.file_id or '—')}</code> · {html.escape(state)}"
        )
        children: list[Any] = []
        if entry.file_id:
            tick = widgets.Checkbox(value=attached, indent=False, layout={"width": "2em"}, description="")
            tick.observe(_bind(self._set_attached, entry.file_id), names="value")
            delete = widgets.Button(description="Delete", button_style="danger", layout={"width": "6em"})
            delete.on_click(lambda _button, file_id=entry.file_id: self.delete(file_id))
            children = [tick, label, delete]
        else:
            children = [widgets.HTML("<span style='width:2em;display:inline-block'></span>"), label]
        return widgets.HBox(children)

    def _say(self, message: str, *, warning: bool = False) -> None:
        colour = "var(--jp-warn-color0, #b35900)" if warning else "var(--jp-ui-font-color1, inherit)"
        self.status.value = f'<span class="claude-magic-status" style="color:{colour}">{html.escape(message)}</span>'


def _bind(action: Callable[[str, bool], None], file_id: str) -> Callable[[dict[str, Any]], None]:
    return lambda change: action(file_id, bool(change["new"]))


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
