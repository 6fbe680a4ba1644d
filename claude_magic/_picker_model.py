"""What the file picker shows, as values and text: its rows, counters and messages.

``widgets`` draws these with ipywidgets; this module imports no widget library (stdlib and our
values only), so the wording and the escaping are testable and the widget module stays an adapter.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from claude_magic._disk_search import DiskSearch
from claude_magic._format import plural
from claude_magic.results import human_size

if TYPE_CHECKING:
    from claude_magic._session import Session

NEXT_TURN: Final = "attached next turn"
IN_CONTAINER: Final = "in the container"
NOT_ATTACHED: Final = "not attached"
STUB: Final = "claude_magic_uploaded"
"""Marks the FileUpload values the panel sets itself (see :func:`counter_value`)."""

HINT: Final = (
    "Files chosen here travel through the notebook's connection: Jupyter's default limit is about "
    "10 MB per choice, and a bigger choice never arrives. For big files, put them on the kernel's disk "
    "and pick them below."
)
HEADER: Final = "<small>tick: attach to the next turn · name · size · file id · upload · what Claude sees</small>"


@dataclass
class PickerEntry:
    """One row of the panel's list.

    ``state`` is how the upload went (uploaded | already uploaded | failed); ``where`` is what Claude
    sees of the file next turn: attached next turn | in the container (an earlier turn put it
    there) | not attached.
    """

    name: str
    size: int
    file_id: str = ""
    state: str = "uploaded"
    reason: str = ""
    where: str = ""


def session_entries(session: Session, states: Mapping[str, str]) -> list[PickerEntry]:
    """The session's uploads, oldest first, each with its upload state and what Claude sees of it."""
    pending = {entry.file_id for entry in session.pending}
    in_container = in_container_ids(session)
    return [
        PickerEntry(
            entry.name,
            entry.size,
            entry.file_id,
            states.get(entry.file_id, "uploaded"),
            where=NEXT_TURN
            if entry.file_id in pending
            else IN_CONTAINER
            if entry.file_id in in_container
            else NOT_ATTACHED,
        )
        for entry in session.uploads
    ]


def in_container_ids(session: Session) -> set[str]:
    """File ids an earlier turn attached to the container the next turn uses."""
    return {entry.file_id for entry in session.in_container}


def summary_text(entries: Sequence[PickerEntry]) -> str:
    """One line on what the session holds, e.g. ``3 files uploaded: 2 attached next turn, 1 in the container.``"""
    uploaded = [entry for entry in entries if entry.file_id]
    if not uploaded:
        return "No files uploaded yet."
    attached = sum(entry.where == NEXT_TURN for entry in uploaded)
    there = sum(entry.where == IN_CONTAINER for entry in uploaded)
    parts = [f"{attached} {NEXT_TURN}"] + ([f"{there} {IN_CONTAINER}"] if there else [])
    return f"{plural(len(uploaded), 'file')} uploaded: {', '.join(parts)}."


def plain_text(entries: Sequence[PickerEntry]) -> str:
    """The panel as text: what a saved notebook or a frontend without widgets shows."""
    lines = [f"Files for Claude (a file picker: run the cell to use it). {summary_text(entries)}"]
    lines += [
        f"  {entry.name} · {human_size(entry.size)} · {entry.file_id} · {entry.where}"
        for entry in entries
        if entry.file_id
    ]
    return "\n".join(lines)


def row_label(entry: PickerEntry) -> str:
    """A row's HTML (escaped): name, size, file id, upload state and what Claude sees."""
    state = entry.state if entry.state != "failed" else f"failed: {entry.reason}"
    where = f" · <b>{html.escape(entry.where)}</b>" if entry.where else ""
    return (
        f"<code>{html.escape(entry.name)}</code> · {human_size(entry.size)} · "
        f"<code>{html.escape(entry.file_id or '—')}</code> · {html.escape(state)}{where}"
    )


def status_markup(message: str, *, warning: bool = False) -> str:
    """The status line's HTML (escaped)."""
    colour = "var(--jp-warn-color0, #b35900)" if warning else "var(--jp-ui-font-color1, inherit)"
    return f'<span class="claude-magic-status" style="color:{colour}">{html.escape(message)}</span>'


def summary_markup(entries: Sequence[PickerEntry]) -> str:
    """The counters beside the list's title (escaped)."""
    head, colon, rest = summary_text(entries).partition(": ")
    return f"<span class='claude-magic-summary'><b>{html.escape(head + colon)}</b>{html.escape(rest)}</span>"


def find_message(found: DiskSearch, pattern: str) -> tuple[str, bool]:
    """What a kernel-disk search found, and whether that is a warning."""
    where = "" if os.path.isabs(pattern) else f" in {os.getcwd()}"
    number = len(found.paths)
    if found.stopped:
        return (
            f"Showing the first {plural(number, 'file')} matching {pattern}{where}: {found.stopped}. "
            "Narrow the pattern (e.g. data/*.csv) to see the rest.",
            True,
        )
    if number:
        verb = "matches" if number == 1 else "match"
        return f"{plural(number, 'file')} {verb} {pattern}{where}: select some and press Upload selected.", False
    return f"No file matches {pattern}{where}.", False


def large_file_advice(sizes: Mapping[str, int], advice_bytes: int) -> str:
    """Advice for a browser choice too big for the notebook's connection ("" when it is fine)."""
    large = [name for name, size in sizes.items() if size > advice_bytes]
    if not large and sum(sizes.values()) > advice_bytes:
        large = list(sizes)  # several files that are large together: one choice is one message
    if not large:
        return ""
    return (
        f"{', '.join(large)}: large files travel through the notebook's connection when chosen here "
        "(about 10 MB per choice at most, by default); for big files, put them on the kernel's disk and "
        "pick them below instead."
    )


def counter_value(session: Session, file_ids: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """A FileUpload value that makes its "From this computer (n)" count the files chosen there.

    FileUpload shows ``len(value)``: emptied after each choice it would read "(0)" right after an
    upload. These stand-ins carry no content, and the :data:`STUB` key keeps them from ever being
    taken for (or equal to) a new choice.
    """
    uploads = {entry.file_id: entry for entry in session.uploads}
    return tuple(
        {
            "name": uploads[file_id].name,
            "type": uploads[file_id].media_type,
            "size": uploads[file_id].size,
            "content": memoryview(b""),
            "last_modified": datetime.fromtimestamp(0, tz=UTC),
            STUB: True,
        }
        for file_id in file_ids
        if file_id in uploads
    )
