"""Turn result values into Jupyter mimebundles.

Pure functions from ``claude_magic.results`` values to ``dict[str, str]``, one responsibility per
module: ``_text`` (cleaning, truncation), ``_html`` (markupsafe shapes and styles), ``_markdown``
(markdown-it-py), ``_highlight`` (pygments, imported lazily), ``_steps``, ``_files``, ``_tables``
and ``_status`` (footer, container, notices). Imports ``markupsafe``, ``markdown_it``,
``claude_magic._format`` and ``claude_magic._pricing``; ``claude_magic.results`` for types only,
so ``results`` can import the renderer without a cycle. No HTTP, no SDK, no IPython.

Everything that came from the model or the sandbox is untrusted. Every bundle has
``text/plain``; HTML is built with ``Markup.format``, which escapes its arguments; Markdown goes
through markdown-it-py with raw HTML, images and non-web links off; images travel as base64.
The HTML has no ``<script>``, no ``<style>`` blocks and no external URLs, only classes named
``claude-magic-*`` and inline styles using JupyterLab's CSS variables with fallbacks.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from claude_magic._format import plural
from claude_magic._render._files import file_bundle, file_parts, image_html, relative
from claude_magic._render._gallery import gallery_bundle, prune_bundle
from claude_magic._render._highlight import COLLAPSE_LINES, source
from claude_magic._render._html import Markup, details, div, join
from claude_magic._render._skills import skills_bundle
from claude_magic._render._status import (
    container_bundle,
    error_bundle,
    notice_bundle,
    progress_bundle,
    short_id,
    turn_footer_bundle,
)
from claude_magic._render._steps import code_step_bundle, edit_step_bundle, step_bundle, text_step_bundle
from claude_magic._render._tables import (
    RemoteFileLike,
    remote_files_bundle,
    upload_batch_bundle,
    uploaded_files_bundle,
)
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic.results import Turn

__all__ = [
    "COLLAPSE_LINES",
    "MimeBundle",
    "RemoteFileLike",
    "code_step_bundle",
    "container_bundle",
    "edit_step_bundle",
    "error_bundle",
    "export_bundle",
    "file_bundle",
    "gallery_bundle",
    "notice_bundle",
    "progress_bundle",
    "prune_bundle",
    "remote_files_bundle",
    "select",
    "short_id",
    "skills_bundle",
    "step_bundle",
    "text_step_bundle",
    "turn_bundle",
    "turn_footer_bundle",
    "upload_batch_bundle",
    "uploaded_files_bundle",
]

MimeBundle: TypeAlias = dict[str, str]


def turn_bundle(
    turn: Turn, *, show_code: bool = True, max_lines: int = 200, link_base: Path | None = None
) -> MimeBundle:
    """A whole turn as one bundle: steps, produced files and the footer.

    Images are embedded as ``data:`` URLs.

    Parameters
    ----------
    turn : Turn
        The turn to show.
    show_code : bool
        Show code, created files and diffs, not only outputs.
    max_lines : int
        Lines of each output stream shown at most.
    link_base : Path, optional
        Directory that file links are relative to; default the working directory.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``.
    """
    markup: list[str | Markup] = []
    plain: list[str] = []
    for step in turn.steps:
        bundle = step_bundle(step, show_code=show_code, max_lines=max_lines)
        if bundle["text/plain"] or bundle["text/html"]:
            markup.append(Markup(bundle["text/html"]))  # built by step_bundle, escaped there
            plain.append(bundle["text/plain"])
    for file in turn.files:
        if file.error is None and file.is_image:
            markup.append(image_html(file))
            plain.append(file_bundle(file, link_base=link_base)["text/plain"])
        else:
            file_html, file_plain = file_parts(file, link_base)
            markup.append(file_html)
            plain.append(file_plain)
    footer = turn_footer_bundle(turn)
    markup.append(Markup(footer["text/html"]))
    plain.append(footer["text/plain"])
    return {"text/html": str(div("turn", join(markup))), "text/plain": "\n\n".join(plain)}


def export_bundle(cells: Sequence[str], *, inputs: Sequence[Path] = (), script: str | None = None) -> MimeBundle:
    """Report an export: how many cells were queued, inputs copied, the script; the code to copy.

    Parameters
    ----------
    cells : sequence of str
        The exported cell sources, in order.
    inputs : sequence of Path
        Local copies of the uploaded inputs that the code reads.
    script : str, optional
        Where the code was also written as a script.

    Returns
    -------
    MimeBundle
        ``text/html`` with the code in a collapsed ``<details>``, and ``text/plain`` with it in
        full (terminals cannot insert cells).
    """
    lines = [
        f"Exported {plural(len(cells), 'cell')}: the code replaces this cell's source where the frontend allows, "
        "as %load does (its first line keeps the command, commented out)."
    ]
    if inputs:
        lines.append(f"Copied inputs: {', '.join(clean(relative(path, None)) for path in inputs)}")
    if script:
        lines.append(f"Also wrote {clean(script)}")
    code = "\n\n# %%\n".join(cells)
    markup = join((div("export-line", line) for line in lines), "")
    if cells:
        markup += details(
            "code", f"Show the code to copy ({plural(len(cells), 'cell')})", source(code, language="ipython3")
        )
    plain = "\n".join(lines) + (f"\n\n{code}" if cells else "")
    return {"text/html": str(div("export", markup)), "text/plain": plain}


def select(
    bundle: MimeBundle, include: Collection[str] | None = None, exclude: Collection[str] | None = None
) -> MimeBundle:
    """Apply IPython's ``include``/``exclude`` filters, as ``_repr_mimebundle_`` must.

    Parameters
    ----------
    bundle : MimeBundle
        The full bundle.
    include, exclude : collection of str
        MIME types to keep only / to drop; empty or None means no filter.

    Returns
    -------
    MimeBundle
        A new dict with the selected entries.
    """
    return {
        mime: data
        for mime, data in bundle.items()
        if (not include or mime in include) and (not exclude or mime not in exclude)
    }
