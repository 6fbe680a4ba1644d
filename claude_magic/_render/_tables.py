"""Tables of files: what was uploaded in this session, what the Files API holds, what one upload did.

Imports the rest of the renderer and, for types only, ``claude_magic.results``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final, Protocol

from claude_magic._format import human_size, plural, utc
from claude_magic._render._html import CELL, MUTED, Markup, details, div, join
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import UploadBatch, UploadedFile

NOTE_COLLAPSE_CHARS: Final = 160  # a description longer than this (a wide DataFrame) folds its details


def _note_html(note: str) -> Markup:
    """Small text under a row's name; a long one ("…: a (int64), b (object), …") folds after its colon."""
    style = f"{MUTED}; white-space: pre-wrap"
    head, colon, rest = note.partition(": ")
    if len(note) <= NOTE_COLLAPSE_CHARS or not colon:
        return div("description", note, style)
    return div("description", details("columns", f"{head}: show all", rest), style)


def _table(
    part: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> MimeBundle:
    """A compact table as HTML and aligned plain text; the first column is a name in ``<code>``.

    ``rows`` hold plain (cleaned, unescaped) strings; ``notes[i]`` is small text under row i's
    name. Columns whose header is "Size" are right-aligned in the plain text.
    """
    body: list[Markup] = []
    for index, row in enumerate(rows):
        note = notes[index] if index < len(notes) else ""
        first = Markup("<code>{}</code>{}").format(row[0], _note_html(note) if note else "")
        cells = join((Markup('<td style="{}">{}</td>').format(CELL, cell) for cell in [first, *row[1:]]), "")
        body.append(Markup("<tr>{}</tr>").format(cells))
    head = join((Markup('<th style="{}">{}</th>').format(CELL, column) for column in columns), "")
    markup = join(
        [
            div("title", Markup("<b>{}</b>").format(title)) if title else Markup(),
            Markup('<table class="claude-magic-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>').format(
                head, join(body, "")
            ),
        ],
        "",
    )
    widths = [max(len(row[column]) for row in rows) for column in range(len(columns))]
    plain = [title] if title else []
    for index, row in enumerate(rows):
        cells_text = [
            cell.rjust(widths[column]) if columns[column] == "Size" else cell.ljust(widths[column])
            for column, cell in enumerate(row)
        ]
        plain.append("  ".join(cells_text).rstrip())
        note = notes[index] if index < len(notes) else ""
        if note:
            plain.extend("    " + line for line in note.split("\n"))
    return {"text/html": str(div(part, markup)), "text/plain": "\n".join(plain)}


def uploaded_files_bundle(files: Sequence[UploadedFile], *, title: str = "", state: str | None = None) -> MimeBundle:
    """A compact table of uploaded files: name (with description), size, file id, state.

    Parameters
    ----------
    files : sequence of UploadedFile
        The files to list.
    title : str
        A line shown above the table.
    state : str, optional
        What to show in the State column for every file (e.g. ``"deleted"``); by default
        "uploaded", or "already uploaded" for a file that dedupe found on the server.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``.
    """
    heading = clean(title)
    if not files:
        message = heading or "No files uploaded yet: upload some with %claude_upload."
        return {"text/html": str(div("uploads", message)), "text/plain": message}
    rows = [
        (
            clean(file.name),
            human_size(file.size),
            clean(file.file_id),
            state if state is not None else ("already uploaded" if file.reused else "uploaded"),
        )
        for file in files
    ]
    notes = [clean(file.description) for file in files]
    return _table("uploads", heading, ("Name", "Size", "File id", "State"), rows, notes)


class RemoteFileLike(Protocol):
    """What ``remote_files_bundle`` reads from a Files API listing (``client.RemoteFile``)."""

    @property
    def id(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def downloadable(self) -> bool: ...
    @property
    def created_at(self) -> datetime | None: ...


def remote_files_bundle(files: Sequence[RemoteFileLike], *, title: str = "") -> MimeBundle:
    """A table of the files the Files API holds: name, size, file id, type, created, downloadable.

    Parameters
    ----------
    files : sequence of RemoteFileLike
        File metadata as listed by the server (``client.RemoteFile``).
    title : str
        A line shown above the table; by default how many files there are.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``.
    """
    heading = clean(title) or f"{plural(len(files), 'file')} on the Files API"
    if not files:
        return {"text/html": str(div("remote-files", heading)), "text/plain": heading}
    rows = [
        (
            clean(file.filename),
            human_size(file.size),
            clean(file.id),
            clean(file.mime_type),
            utc(file.created_at) if file.created_at is not None else "",
            "downloadable" if file.downloadable else "upload (not downloadable)",
        )
        for file in files
    ]
    return _table("remote-files", heading, ("Name", "Size", "File id", "Type", "Created", "Kind"), rows)


def upload_batch_bundle(batch: UploadBatch) -> MimeBundle:
    """What one upload did, as a table titled with how many files were sent or reused."""
    reused = sum(file.reused for file in batch.files)
    sent = len(batch.files) - reused
    if not batch.files:
        title = "No files to upload."
    elif reused and sent:
        title = f"{plural(sent, 'file')} uploaded, {reused:,} already uploaded"
    elif reused:
        title = f"{plural(reused, 'file')} already uploaded"
    else:
        title = f"{plural(sent, 'file')} uploaded"
    return uploaded_files_bundle(batch.files, title=title)
