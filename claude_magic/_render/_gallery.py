"""The gallery of what Claude made in a session, and the prune report.

One row per produced file: a thumbnail (images scaled down, a PDF's first page, a type badge for
the rest), the name, size, turn, local path and server file id. Imports the renderer's helpers;
``claude_magic.results`` for types only.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from claude_magic._format import human_size, plural
from claude_magic._render._files import relative
from claude_magic._render._html import CELL, MONO, MUTED, Markup, div, join, span
from claude_magic._render._previews import MissingLibrary, pdf_page_png
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import OutputFile, ProducedFile

THUMB_WIDTH: Final = 96
MAX_THUMB_SOURCE: Final = 8 * 1024 * 1024  # images larger than this get a badge, not a thumbnail
_THUMB_STYLE: Final = f"max-width: {THUMB_WIDTH}px; max-height: 72px"
_BADGE: Final = (
    "display: inline-block; padding: 0.2em 0.5em; border: 1px solid var(--jp-border-color1, #bdbdbd); "
    f"border-radius: 3px; {MONO}"
)


def gallery_bundle(items: Sequence[ProducedFile], *, link_base: Path | None = None) -> MimeBundle:
    """Every file produced in the session, oldest first, as a table with thumbnails.

    Parameters
    ----------
    items : sequence of ProducedFile
        From ``Session.produced_files()``.
    link_base : Path, optional
        Directory local paths are shown relative to; default the working directory.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``.
    """
    if not items:
        message = "No files produced yet: files Claude's code saves to $OUTPUT_DIR appear here."
        return {"text/html": str(div("gallery", message, MUTED)), "text/plain": message}
    title = f"Produced in this session: {plural(len(items), 'file')}"
    columns = ("", "Name", "Size", "Turn", "Local path", "Server file id")
    rows = [_row(item, link_base) for item in items]
    head = join((Markup('<th style="{}">{}</th>').format(CELL, column) for column in columns), "")
    body = join(
        (Markup("<tr>{}</tr>").format(join((Markup('<td style="{}">{}</td>').format(CELL, c) for c in cells), ""))
         for cells, _ in rows),
        "",
    )  # fmt: skip
    table = Markup(
        '<table class="claude-magic-gallery"><caption style="text-align: left">{}</caption>'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
    ).format(title, head, body)
    plain = [title, *(line for _, line in rows)]
    return {"text/html": str(div("gallery", table)), "text/plain": "\n".join(plain)}


def prune_bundle(items: Sequence[ProducedFile], *, done: bool, confirm: str = "") -> MimeBundle:
    """What ``prune`` deletes from the server (``done=False``: would delete, and *confirm* says how)."""
    if not items:
        message = "Nothing to prune: no produced file of this session is still on the server."
        return {"text/html": str(div("prune", message, MUTED)), "text/plain": message}
    verb = "Deleted from the server" if done else "Would delete from the server"
    lines = [f"{verb}: {plural(len(items), 'file')} ({human_size(sum(i.file.size for i in items))})"]
    lines.extend(f"  turn {i.turn}: {clean(i.file.name)} ({human_size(i.file.size)}) {i.file.file_id}" for i in items)
    if done:
        lines.append("The local copies stay where they were downloaded.")
    elif confirm:
        lines.append(confirm)
    markup = join((div("prune-line", line) for line in lines), "")
    return {"text/html": str(div("prune", markup)), "text/plain": "\n".join(lines)}


def _row(item: ProducedFile, link_base: Path | None) -> tuple[list[Markup | str], str]:
    file = item.file
    where = clean(relative(file.path, link_base)) if file.path is not None else "(not saved)"
    server = Markup("{} {}").format(
        span("id", file.file_id, MONO), span("state", "deleted from the server" if item.deleted else "", MUTED)
    )
    cells: list[Markup | str] = [
        _thumbnail(file), clean(file.name), human_size(file.size), str(item.turn), where, server,
    ]  # fmt: skip
    state = " (deleted from the server)" if item.deleted else ""
    line = f"  turn {item.turn}: {clean(file.name)} ({human_size(file.size)}) {where} {file.file_id}{state}"
    return cells, line


def _thumbnail(file: OutputFile) -> Markup:
    suffix = Path(file.name).suffix.lower()
    try:
        if file.media_type.startswith("image/") and file.media_type != "image/svg+xml":
            data = file.data if file.data is not None else _read_small(file.path)
            if data is not None:
                encoded = base64.b64encode(_scaled(data)).decode("ascii")
                return Markup('<img src="data:image/png;base64,{}" alt="{}" style="{}">').format(
                    encoded, clean(file.name), _THUMB_STYLE
                )
        if suffix == ".pdf" and file.path is not None and file.path.exists():
            _, page = pdf_page_png(file.path, THUMB_WIDTH)
            if page is not None:
                return Markup('<img src="data:image/png;base64,{}" alt="{}" style="{}">').format(
                    page, clean(file.name), _THUMB_STYLE
                )
    except (MissingLibrary, OSError, ValueError, RuntimeError, ImportError):
        pass  # a badge instead
    return span("badge", (suffix.lstrip(".") or "file").upper()[:5], _BADGE)


def _scaled(data: bytes) -> bytes:
    """A small PNG of an image (Pillow comes with matplotlib), so the notebook stays small."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((THUMB_WIDTH * 2, 144))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _read_small(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_THUMB_SOURCE:
            return None
        return path.read_bytes()
    except OSError:
        return None
