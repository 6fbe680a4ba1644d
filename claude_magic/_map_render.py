"""Showing a map's result: a summary table, one row per input, with thumbnails of its charts.

Pure: a ``MapResult`` in, a mimebundle (``text/plain`` and ``text/html``) out. HTML is built with
markupsafe (``Markup(...).format(...)`` escapes every argument), since names, text and stdout come
from files, the model and the sandbox. Thumbnails are the items' PNGs read back from disk, as base64.
"""

from __future__ import annotations

import base64
from pathlib import Path

from markupsafe import Markup

from claude_magic._format import plural
from claude_magic._map_values import MapItem, MapResult

MAX_ROWS = 50  # rows shown; the DataFrame (--out) holds every one
THUMBNAIL_BYTES = 400_000  # a larger image is listed, not inlined
TEXT_CHARS = 240
_STATUS_COLOUR = {"succeeded": "#1a7f37", "errored": "#cf222e", "expired": "#9a6700", "canceled": "#6e7781"}
_CELL = "padding:4px 8px;border-bottom:1px solid #d0d7de;vertical-align:top;text-align:left"


def result_bundle(result: MapResult) -> dict[str, str]:
    """The summary of *result* as ``text/plain`` and ``text/html``."""
    return {"text/plain": _plain(result), "text/html": str(_html(result))}


def _headline(result: MapResult) -> str:
    counts: dict[str, int] = {}
    for item in result.items:
        counts[item.status] = counts.get(item.status, 0) + 1
    parts = [f"{count} {status}" for status, count in sorted(counts.items(), key=lambda pair: -pair[1])]
    cost = f" · est. ${result.cost:.2f}" if result.cost is not None else ""
    engine = f"batch {result.run_id}" if result.engine == "batch" else "sync"
    return (
        f"{result.name}: {len(result.items)} inputs, {', '.join(parts) or 'none'}{cost} · {engine} · "
        f"{result.elapsed:.0f} s · outputs in {result.folder}"
    )


def _plain(result: MapResult) -> str:
    lines = [_headline(result)]
    for item in result.items[:MAX_ROWS]:
        detail = item.error or _shorten(item.text, 80)
        files = f" [{plural(len(item.files), 'file')}]" if item.files else ""
        lines.append(f"  {item.name}: {item.status}{files} {detail}".rstrip())
    if len(result.items) > MAX_ROWS:
        lines.append(f"  … and {len(result.items) - MAX_ROWS} more (all in the DataFrame: --out VAR)")
    return "\n".join(lines)


def _html(result: MapResult) -> Markup:
    rows = Markup("").join(_row(item) for item in result.items[:MAX_ROWS])
    more = Markup("")
    if len(result.items) > MAX_ROWS:
        more = Markup("<p>… and {} more: every row is in the DataFrame (<code>--out VAR</code>).</p>").format(
            len(result.items) - MAX_ROWS
        )
    header = Markup("").join(
        Markup('<th style="{}">{}</th>').format(_CELL, label)
        for label in ("", "input", "status", "Claude's answer", "stdout (end)", "files", "tokens", "cost")
    )
    return Markup(
        '<div class="claude-map"><p><strong>{}</strong></p>'
        '<table style="border-collapse:collapse;font-size:0.9em"><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table>{}</div>"
    ).format(_headline(result), header, rows, more)


def _row(item: MapItem) -> Markup:
    colour = _STATUS_COLOUR.get(item.status, "#6e7781")
    answer = Markup("<span>{}</span>").format(_shorten(item.text, TEXT_CHARS))
    if item.error:
        answer = Markup('<span style="color:#cf222e">{}</span>').format(_shorten(item.error, TEXT_CHARS))
    stdout = Markup("")
    if item.stdout.strip():
        stdout = Markup('<pre style="margin:0;white-space:pre-wrap;max-width:28em">{}</pre>').format(
            _tail_lines(item.stdout, 4)
        )
    files = Markup("<br>").join(Markup("<code>{}</code>").format(path.name) for path in item.files)
    tokens = f"{item.usage.input_tokens:,} in / {item.usage.output_tokens:,} out" if item.ok else ""
    cost = f"${item.cost:.3f}" if item.cost is not None else ""
    cells = (
        _thumbnail(item.files),
        Markup("<strong>{}</strong>").format(item.name),
        Markup('<span style="color:{}">{}</span>').format(colour, item.status),
        answer,
        stdout,
        files,
        tokens,
        cost,
    )
    return Markup("<tr>{}</tr>").format(
        Markup("").join(Markup('<td style="{}">{}</td>').format(_CELL, cell) for cell in cells)
    )


def _thumbnail(paths: tuple[Path, ...]) -> Markup:
    for path in paths:
        if path.suffix.lower() != ".png" or not path.is_file() or path.stat().st_size > THUMBNAIL_BYTES:
            continue
        data = path.read_bytes()
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            continue
        encoded = base64.b64encode(data).decode("ascii")
        return Markup(
            '<img src="data:image/png;base64,{}" alt="{}" title="{}" style="max-width:120px;max-height:90px">'
        ).format(encoded, path.name, path.name)
    return Markup("")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _tail_lines(text: str, count: int) -> str:
    lines = text.rstrip("\n").splitlines()
    return "\n".join(line[:160] for line in lines[-count:])
