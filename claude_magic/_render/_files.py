"""Files the sandbox produced: images inline as base64, others as relative download links (office files previewed).

Imports the rest of the renderer and, for types only, ``claude_magic.results``.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from claude_magic._format import human_size
from claude_magic._render._html import BOX, ERROR_BG, MUTED, Markup, div, span
from claude_magic._render._previews import preview_parts
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import OutputFile


def relative(path: Path, link_base: Path | None) -> str:
    """``path`` relative to ``link_base`` (or the working directory), in POSIX form."""
    if link_base is None and not path.is_absolute():
        result = path.as_posix()
    else:
        try:
            result = Path(os.path.relpath(path, link_base if link_base is not None else Path.cwd())).as_posix()
        except ValueError:  # another drive on Windows: no relative path exists
            result = path.name
    # Never "/x" or "//host/x" in an href: that would leave the notebook's server or host.
    return result.lstrip("/") or path.name


def image_html(file: OutputFile) -> Markup:
    """An image embedded as a ``data:`` URL (never a link the browser would fetch)."""
    data = base64.b64encode(file.data or b"").decode("ascii")
    name = clean(file.name)
    return div(
        "image",
        Markup('<img src="data:{};base64,{}" alt="{}" title="{}" style="max-width: 100%">').format(
            file.media_type, data, name, name
        ),
    )


def file_parts(file: OutputFile, link_base: Path | None) -> tuple[Markup, str]:
    """A non-image file (or a failed download) as (html, plain)."""
    name = clean(file.name)
    if file.error is not None:
        message = f"Could not download {name}: {clean(file.error)}"
        return div("file-error", "⚠ " + message, f"{BOX}; {ERROR_BG}"), f"[{message}]"
    size = human_size(file.size)
    if file.path is None:
        return (
            div("file", Markup("{} {}").format(name, span("size", f"({size}, not saved)", MUTED))),
            f"{name} ({size}, not saved)",
        )
    where = clean(relative(file.path, link_base))
    # "↓" rather than an emoji: it is in every text font, so it never shows as a missing glyph.
    link = Markup('↓ <a href="{}" download>{}</a> {}').format(quote(where), name, span("size", f"({size})", MUTED))
    plain = f"{name} ({size}), saved to {where}"
    # Workbooks, decks, documents and PDFs get a preview below their link (``_previews``).
    if (preview := preview_parts(file)) is not None:
        return div("file", link + preview[0]), f"{plain}\n{preview[1]}"
    return div("file", link), plain


def file_bundle(file: OutputFile, *, link_base: Path | None = None) -> MimeBundle:
    """Show a file the sandbox produced: inline if an image, else a download link.

    Parameters
    ----------
    file : OutputFile
        The downloaded file.
    link_base : Path, optional
        Directory links are relative to (the notebook's); default the working directory.
        Links never hold absolute paths.

    Returns
    -------
    MimeBundle
        ``{media_type: base64, "text/plain": ...}`` for an image; ``text/html`` and
        ``text/plain`` otherwise.
    """
    if file.error is None and file.is_image and file.data is not None:
        plain = f"<{file.media_type} {clean(file.name)!r}, {len(file.data):,} bytes>"
        if file.path is not None:
            plain = f"{plain[:-1]}, saved to {clean(relative(file.path, link_base))}>"
        return {file.media_type: base64.b64encode(file.data).decode("ascii"), "text/plain": plain}
    markup, plain = file_parts(file, link_base)
    return {"text/html": str(markup), "text/plain": plain}
