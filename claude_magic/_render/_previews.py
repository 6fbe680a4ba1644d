"""Previews of office files the sandbox produced: workbooks, decks, documents and PDFs.

Each preview is read from the downloaded file on disk with a well-kept library, bounded (the first
sheets, rows, slides, headings; a PDF's first page), and shown below the file's download link, so
it is stored in the notebook with the output:

* ``.xlsx`` / ``.xlsm``: the first sheets as HTML tables (openpyxl, read-only, cached values);
* ``.pptx``: each slide's title and text outline (python-pptx);
* ``.docx``: the document's headings, by level (python-docx);
* ``.pdf``: the first page as a PNG (pypdfium2), with the page count.

The libraries are the optional extra ``previews``; when one is missing the preview is a one-line
note saying what to install. Everything read from a file is untrusted: HTML is built with
``Markup.format`` (escaped by construction) and images travel as base64 ``data:`` URLs. Imports
the renderer's helpers and, lazily, the libraries above; no SDK, no IPython.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from claude_magic._render._html import BOX, CELL, MUTED, Markup, div, join, span
from claude_magic._render._text import clean, cut_line

if TYPE_CHECKING:
    from claude_magic.results import OutputFile

MAX_SHEETS: Final = 3
MAX_ROWS: Final = 15
MAX_COLUMNS: Final = 12
MAX_SLIDES: Final = 20
MAX_SLIDE_LINES: Final = 6
MAX_HEADINGS: Final = 40
MAX_CELL_CHARS: Final = 80
MAX_PREVIEW_BYTES: Final = 50 * 1024 * 1024  # larger files get only their link
PDF_WIDTH: Final = 480  # pixels of the first-page image
INSTALL_HINT: Final = "pip install 'claude-magic[previews]'"

_PREVIEW_BOX: Final = f"{BOX}; border-left: 3px solid var(--jp-border-color2, #e0e0e0)"

Preview = tuple[Markup, str]  # (html, plain)


class MissingLibrary(Exception):
    """The library a preview needs is not installed."""


def previewable(name: str) -> bool:
    """Whether files named *name* get a preview."""
    return Path(name).suffix.lower() in _READERS


def preview_parts(file: OutputFile) -> Preview | None:
    """The preview of a downloaded office file as (html, plain), or None when it has none.

    Parameters
    ----------
    file : OutputFile
        A file saved on disk (``path`` set) whose name ends in ``.xlsx``, ``.xlsm``, ``.pptx``,
        ``.docx`` or ``.pdf``.

    Returns
    -------
    tuple of Markup and str, or None
        None for other files, files not saved, missing or too large; a one-line note when the
        library is missing or the file cannot be read.
    """
    if file.error is not None or file.path is None or not previewable(file.name):
        return None
    try:
        stat = file.path.stat()
    except OSError:
        return None
    if stat.st_size > MAX_PREVIEW_BYTES:
        return None
    return _cached(str(file.path), Path(file.name).suffix.lower(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _cached(path: str, suffix: str, mtime_ns: int, size: int) -> Preview:
    """One preview per file version (the key holds its modification time and size)."""
    library, reader = _READERS[suffix]
    try:
        html, plain = reader(Path(path))
    except MissingLibrary:
        message = f"No preview: it needs {library} ({INSTALL_HINT})."
        return div("preview-missing", message, MUTED), message
    except Exception as exc:  # a damaged or unusual file: the link still works
        message = f"No preview: {library} could not read the file ({type(exc).__name__}: {cut_line(str(exc))})."
        return div("preview-missing", message, MUTED), clean(message)
    return div("preview", html, _PREVIEW_BOX), plain


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingLibrary(module) from None


def _short(value: object) -> str:
    text = clean("" if value is None else str(value)).replace("\n", " ")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _more(count: int, noun: str) -> str:
    return f"… {count} more {noun}{'' if count == 1 else 's'}"


# Workbooks


def workbook(path: Path) -> Preview:
    """The first sheets of a workbook as tables of their first rows and columns (cached cell values)."""
    openpyxl = _need("openpyxl")
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        names = list(book.sheetnames)
        markup: list[Markup] = []
        plain = [f"Workbook: {len(names)} sheet{'' if len(names) == 1 else 's'} ({', '.join(map(_short, names))})"]
        for name in names[:MAX_SHEETS]:
            rows: list[list[str]] = []
            more_rows = False
            for row in book[name].iter_rows(values_only=True):
                if len(rows) == MAX_ROWS:
                    more_rows = True
                    break
                rows.append([_short(value) for value in row])
            while rows and not any(rows[-1]):
                rows.pop()
            width = max((len(row) for row in rows), default=0)
            shown = min(width, MAX_COLUMNS)
            table_rows = [row[:shown] + [""] * (shown - len(row[:shown])) for row in rows]
            notes = []
            if more_rows:
                notes.append(f"first {MAX_ROWS} rows")
            if width > MAX_COLUMNS:
                notes.append(f"first {MAX_COLUMNS} of {width} columns")
            markup.append(_sheet_table(name, table_rows, notes))
            plain.append(f"  Sheet {_short(name)}: " + ("; ".join(notes) or f"{len(rows)} rows"))
            plain.extend("    " + " | ".join(row) for row in table_rows[:5])
        if len(names) > MAX_SHEETS:
            markup.append(div("preview-more", _more(len(names) - MAX_SHEETS, "sheet"), MUTED))
        return join(markup), "\n".join(plain)
    finally:
        book.close()


def _sheet_table(name: str, rows: list[list[str]], notes: list[str]) -> Markup:
    caption = Markup("{} {}").format(name, span("note", f"({', '.join(notes)})", MUTED) if notes else "")
    if not rows:
        return div("sheet", Markup("<strong>{}</strong> {}").format(caption, span("note", "(empty)", MUTED)))
    head, *body = rows
    head_html = join((Markup('<th style="{}">{}</th>').format(CELL, cell) for cell in head), "")
    body_html = join(
        (Markup("<tr>{}</tr>").format(join((Markup('<td style="{}">{}</td>').format(CELL, c) for c in row), ""))
         for row in body),
        "",
    )  # fmt: skip
    return div(
        "sheet",
        Markup(
            '<table class="claude-magic-sheet"><caption style="text-align: left">{}</caption>'
            "<thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
        ).format(caption, head_html, body_html),
    )


# Decks


def deck(path: Path) -> Preview:
    """Each slide's title and the lines of its other text boxes, as an outline."""
    pptx = _need("pptx")
    presentation = pptx.Presentation(str(path))
    slides = list(presentation.slides)
    items: list[Markup] = []
    plain = [f"Deck: {len(slides)} slide{'' if len(slides) == 1 else 's'}"]
    for number, slide in enumerate(slides[:MAX_SLIDES], start=1):
        title_shape = slide.shapes.title
        title = _short(title_shape.text_frame.text) if title_shape is not None and title_shape.has_text_frame else ""
        lines: list[str] = []
        for shape in slide.shapes:
            # python-pptx makes a new proxy on each access: compare the shapes' ids, not the objects.
            is_title = title_shape is not None and shape.shape_id == title_shape.shape_id
            if is_title or not getattr(shape, "has_text_frame", False):
                continue
            lines.extend(_short(p.text) for p in shape.text_frame.paragraphs if p.text.strip())
        shown, hidden = lines[:MAX_SLIDE_LINES], max(0, len(lines) - MAX_SLIDE_LINES)
        outline = join((Markup("<li>{}</li>").format(line) for line in shown), "")
        if hidden:
            outline += Markup("<li>{}</li>").format(span("note", _more(hidden, "line"), MUTED))
        items.append(
            Markup("<li><strong>{}</strong>{}</li>").format(
                title or "(untitled)", Markup("<ul>{}</ul>").format(outline) if outline else ""
            )
        )
        plain.append(f"  {number}. {title or '(untitled)'}")
        plain.extend(f"     - {line}" for line in shown)
    html = Markup('<ol class="claude-magic-slides">{}</ol>').format(join(items, ""))
    if len(slides) > MAX_SLIDES:
        html += div("preview-more", _more(len(slides) - MAX_SLIDES, "slide"), MUTED)
    return html, "\n".join(plain)


# Documents


def document(path: Path) -> Preview:
    """The document's headings by level (its first paragraphs when it has none)."""
    docx = _need("docx")
    doc = docx.Document(str(path))
    paragraphs = [p for p in doc.paragraphs if p.text.strip()]
    headings: list[tuple[int, str]] = []
    for paragraph in paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if style == "Title":
            headings.append((0, _short(paragraph.text)))
        elif style.startswith("Heading"):
            level = style.removeprefix("Heading").strip()
            headings.append((int(level) if level.isdigit() else 1, _short(paragraph.text)))
    summary = f"Document: {len(paragraphs)} paragraphs, {len(doc.tables)} tables"
    if not headings:
        first = [_short(p.text) for p in paragraphs[:5]]
        html = join((Markup("<p>{}</p>").format(line) for line in first), "")
        return div("preview-note", summary + "; no headings", MUTED) + html, "\n".join([summary, *first])
    shown = headings[:MAX_HEADINGS]
    items = join(
        (Markup('<li style="margin-left: {}em">{}</li>').format(level * 1.2, text) for level, text in shown), ""
    )
    html = div("preview-note", summary, MUTED) + Markup('<ul class="claude-magic-headings">{}</ul>').format(items)
    if len(headings) > MAX_HEADINGS:
        html += div("preview-more", _more(len(headings) - MAX_HEADINGS, "heading"), MUTED)
    return html, "\n".join([summary, *(f"{'  ' * level}- {text}" for level, text in shown)])


# PDFs


def pdf(path: Path) -> Preview:
    """The first page as a PNG image, with the page count."""
    return pdf_first_page(path, PDF_WIDTH)


def pdf_first_page(path: Path, width: int) -> Preview:
    """The first page rendered *width* pixels wide, as an ``<img>`` with a ``data:`` URL."""
    pages, data = pdf_page_png(path, width)
    summary = f"PDF: {pages} page{'' if pages == 1 else 's'}"
    if data is None:
        return div("preview-note", summary, MUTED), summary
    img = Markup(
        '<img src="data:image/png;base64,{}" alt="first page of {}" style="max-width: 100%; border: 1px solid '
        'var(--jp-border-color2, #e0e0e0)">'
    ).format(data, path.name)
    return div("preview-note", summary + "; the first page:", MUTED) + div("pdf-page", img), summary


def pdf_page_png(path: Path, width: int) -> tuple[int, str | None]:
    """The page count and the first page as base64 PNG, *width* pixels wide (None for no pages)."""
    pdfium = _need("pypdfium2")
    document = pdfium.PdfDocument(str(path))
    try:
        pages = len(document)
        if not pages:
            return 0, None
        page = document[0]
        image = page.render(scale=width / max(page.get_width(), 1.0)).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return pages, base64.b64encode(buffer.getvalue()).decode("ascii")
    finally:
        document.close()


_READERS: Final[dict[str, tuple[str, Callable[[Path], Preview]]]] = {
    ".xlsx": ("openpyxl", workbook),
    ".xlsm": ("openpyxl", workbook),
    ".pptx": ("python-pptx", deck),
    ".docx": ("python-docx", document),
    ".pdf": ("pypdfium2", pdf),
}
