"""Turn result values into Jupyter mimebundles.

Pure functions from ``claude_magic.results`` values to ``dict[str, str]``. Imports the stdlib,
``claude_magic._pricing`` and ``results`` (for types only); ``pygments`` is imported lazily by
the one function that highlights code. No HTTP, no SDK, no IPython.

Everything that came from the model or the sandbox is untrusted. Every bundle has
``text/plain``; every string that reaches ``text/html`` is escaped (pygments escapes the code
it highlights); Markdown prose is neutralised by ``_safe_markdown``; images travel as base64.
The HTML has no ``<script>``, no ``<style>`` blocks and no external URLs, only classes named
``claude-magic-*`` and small inline styles using JupyterLab's CSS variables with fallbacks.
"""

from __future__ import annotations

import base64
import difflib
import functools
import html
import os
import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias
from urllib.parse import quote

from claude_magic import _pricing as pricing
from claude_magic.results import human_size

if TYPE_CHECKING:
    from pygments.formatters import HtmlFormatter

    from claude_magic.results import (
        CodeStep,
        ContainerInfo,
        EditStep,
        Execution,
        OutputFile,
        Step,
        TextStep,
        ThinkingStep,
        Turn,
        UploadBatch,
        UploadedFile,
    )

__all__ = [
    "MimeBundle",
    "RemoteFileLike",
    "code_step_bundle",
    "container_bundle",
    "edit_step_bundle",
    "error_bundle",
    "export_bundle",
    "file_bundle",
    "notice_bundle",
    "progress_bundle",
    "remote_files_bundle",
    "select",
    "step_bundle",
    "text_step_bundle",
    "thinking_step_bundle",
    "turn_bundle",
    "turn_footer_bundle",
    "upload_batch_bundle",
    "uploaded_files_bundle",
]

MimeBundle: TypeAlias = dict[str, str]

COLLAPSE_LINES: Final = 20  # code longer than this starts collapsed
_MAX_LINE_CHARS: Final = 2_000  # a single output line longer than this is cut
_TRUNCATED_WHERE: Final = "full text in the Turn"

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), two-byte escapes.
_ANSI: Final = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_MUTED: Final = "color: var(--jp-ui-font-color2, #757575); font-size: var(--jp-ui-font-size0, 0.85em)"
_BOX: Final = "margin: 0.25em 0; padding: 0.35em 0.6em"
_CODE_BG: Final = "background: var(--jp-cell-editor-background, #f7f7f7)"
_ERROR_BG: Final = "background: var(--jp-rendermime-error-background, #fdd)"
_ERROR_FG: Final = "color: var(--jp-error-color1, #d32f2f)"
_ADD_FG: Final = "color: var(--jp-success-color1, #2e7d32)"
_HUNK_FG: Final = "color: var(--jp-ui-font-color2, #757575)"
_CELL: Final = "text-align: left; vertical-align: top; padding: 0.15em 0.6em"

_LANGUAGE_LABELS: Final = {"python": "Python", "bash": "bash"}
_EDIT_LABELS: Final = {"view": "View", "create": "Create", "str_replace": "Edit"}
_TOOL_ERRORS: Final = {
    "execution_time_exceeded": "the code ran past the sandbox time limit",
    "invalid_tool_input": "the tool rejected the input Claude sent",
    "unavailable": "the code execution tool was unavailable",
    "too_many_requests": "the sandbox was rate limited",
    "output_file_too_large": "an output file was too large to return",
    "file_not_found": "the file does not exist in the sandbox",
    "container_expired": "the sandbox container had expired",
}


# --- text helpers -----------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Drop terminal escapes and control characters; resolve carriage returns like a terminal."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    if "\r" in text:
        # A bare CR rewrites the line (progress bars): keep what was written last.
        text = "\n".join(_last_overwrite(line) for line in text.split("\n"))
    return _CONTROL.sub("", text)


def _last_overwrite(line: str) -> str:
    parts = [part for part in line.split("\r") if part]
    return parts[-1] if parts else ""


def _esc(text: str) -> str:
    """Escape text for HTML (quotes too); drop terminal escapes first."""
    return html.escape(_clean(text), quote=True)


def _div(part: str, inner_html: str, style: str = "") -> str:
    style_attr = f' style="{style}"' if style else ""
    return f'<div class="claude-magic-{part}"{style_attr}>{inner_html}</div>'


def _pre(part: str, text: str, style: str = _BOX) -> str:
    return f'<pre class="claude-magic-{part}" style="{style}">{_esc(text)}</pre>'


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _size(size: int) -> str:
    return human_size(size)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _utc(moment: datetime) -> str:
    """An absolute ISO 8601 time in UTC (naive datetimes are taken to be UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cost(dollars: float) -> str:
    return f"${dollars:,.4f}" if dollars < 1 else f"${dollars:,.2f}"


def _cut_line(line: str) -> str:
    if len(line) <= _MAX_LINE_CHARS:
        return line
    return f"{line[:_MAX_LINE_CHARS]} … [{len(line) - _MAX_LINE_CHARS:,} more characters]"


def _truncate(text: str, max_lines: int) -> tuple[str, int, str]:
    """Split cleaned ``text`` into (head, hidden line count, tail) to show at most ``max_lines``.

    Both ends are kept: the start of a printout and the end of a traceback matter most.
    ``max_lines < 1`` means no limit; overlong single lines are cut either way.
    """
    lines = [_cut_line(line) for line in _clean(text).rstrip("\n").split("\n")]
    if max_lines < 1 or len(lines) <= max_lines:
        return "\n".join(lines), 0, ""
    tail = max_lines // 4
    head = max_lines - tail
    return "\n".join(lines[:head]), len(lines) - max_lines, "\n".join(lines[len(lines) - tail :])


def _more_note(hidden: int) -> str:
    return f"… {_plural(hidden, 'more line')} ({_TRUNCATED_WHERE})"


def _stream(part: str, text: str, max_lines: int, style: str = _BOX) -> tuple[str, str]:
    """A stream (stdout, stderr, a viewed file) as (html, plain), truncated in both."""
    head, hidden, tail = _truncate(text, max_lines)
    if not hidden:
        return _pre(part, head, style), head
    note = _more_note(hidden)
    markup = [_pre(part, head, style), _div("truncated", html.escape(note), _MUTED)]
    plain = [head, note]
    if tail:
        markup.append(_pre(part, tail, style))
        plain.append(tail)
    return "\n".join(markup), "\n".join(plain)


def _quote_lines(text: str) -> str:
    return "\n".join("│ " + line for line in _clean(text).rstrip("\n").split("\n"))


# --- highlighting (pygments, imported lazily) -------------------------------------------------


def _var(name: str, fallback: str) -> str:
    # No space after the comma: pygments splits style definitions on whitespace.
    return f"var(--jp-mirror-editor-{name}-color,{fallback})"


@functools.cache
def _formatter() -> HtmlFormatter[str]:
    """An inline-styled pygments formatter whose colours follow the JupyterLab theme."""
    from pygments.formatters import HtmlFormatter
    from pygments.style import Style
    from pygments.token import Comment, Keyword, Name, Number, Operator, String

    class JupyterVariables(Style):
        """Colours from JupyterLab's editor variables, with light-theme fallbacks."""

        styles = {  # noqa: RUF012 (pygments reads a plain class attribute)
            Keyword: "bold " + _var("keyword", "#008000"),
            Operator: _var("operator", "#aa22ff"),
            Operator.Word: "bold " + _var("keyword", "#008000"),
            Name.Builtin: _var("builtin", "#008000"),
            Name.Function: _var("def", "#0000ff"),
            Name.Class: _var("def", "#0000ff"),
            Name.Decorator: _var("meta", "#aa22ff"),
            Name.Variable: _var("variable-2", "#0055aa"),
            Name.Tag: _var("tag", "#117700"),
            Name.Attribute: _var("attribute", "#0000cc"),
            String: _var("string", "#ba2121"),
            Number: _var("number", "#008800"),
            Comment: "italic " + _var("comment", "#408080"),
        }

    return HtmlFormatter(nowrap=True, noclasses=True, style=JupyterVariables)


def _highlight(code: str, *, language: str | None = None, filename: str | None = None) -> str:
    """Highlight ``code`` as inline-styled HTML spans (pygments escapes the text itself)."""
    from pygments import highlight
    from pygments.lexer import Lexer
    from pygments.lexers import TextLexer, get_lexer_by_name, get_lexer_for_filename
    from pygments.util import ClassNotFound

    lexer: Lexer = TextLexer(stripnl=False)
    try:
        if language:
            lexer = get_lexer_by_name(language, stripnl=False)
        elif filename:
            lexer = get_lexer_for_filename(filename, code, stripnl=False)
    except ClassNotFound:
        pass
    return highlight(_clean(code), lexer, _formatter()).rstrip("\n")


def _code_block(code: str, label: str, *, language: str | None = None, filename: str | None = None) -> str:
    """Highlighted code under a header, in a ``<details>`` that starts open when short."""
    count = len(code.rstrip("\n").split("\n"))
    is_long = count > COLLAPSE_LINES
    summary = f"{label} · {_plural(count, 'line')}" if is_long else label
    highlighted = _highlight(code, language=language, filename=filename)
    return (
        f'<details class="claude-magic-code"{"" if is_long else " open"}>'
        f'<summary class="claude-magic-header" style="{_MUTED}">{summary}</summary>'
        f'<pre class="claude-magic-source" style="{_BOX}; {_CODE_BG}">{highlighted}</pre>'
        "</details>"
    )


# --- Markdown neutralisation ------------------------------------------------------------------

_FENCE_OPEN: Final = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_FENCE_INFO: Final = re.compile(r"[\w+#.-]*")
_BACKTICKS: Final = re.compile(r"`+")
# "<" that could open raw HTML, an HTML block, an autolink, a comment or a declaration.
_TAG_START: Final = re.compile(r"<(?=[A-Za-z/!?])")
_LINK_TAIL: Final = re.compile(r"\](\(|:)")  # inline link "](" or reference definition "]:"
_SAFE_DESTINATION: Final = re.compile(r"\s*(?:https?://|#)", re.IGNORECASE)


def _neutralise_prose(text: str) -> str:
    """Make Markdown outside code fences inert: no raw HTML, no images, web links only."""
    text = _TAG_START.sub("&lt;", text.strip("\n"))
    # An image loads its URL with no click (a known way to leak data): make it a plain link.
    text = text.replace("![", "&#33;[")

    def link(match: re.Match[str]) -> str:
        if _SAFE_DESTINATION.match(text, match.end()):
            return match[0]
        # A character reference is never link syntax, so "](" stops opening a link.
        return "]&#40;" if match[1] == "(" else "]&#58;"

    return _LINK_TAIL.sub(link, text)


def _fence(lines: list[str], info: str) -> str:
    """Re-emit a code block at column 0 with a fence its content cannot close.

    The info string is never empty, so this opening line cannot close a fence that a
    renderer might see open where we did not.
    """
    body = "\n".join(lines)
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    match = _FENCE_INFO.match(info.strip())
    language = (match[0] if match else "") or "text"
    return f"{ticks}{language}\n{body}\n{ticks}" if lines else f"{ticks}{language}\n{ticks}"


def _safe_markdown(text: str) -> str:
    """Neutralise HTML, images and non-web links in Claude's Markdown, keeping fenced code.

    Fenced code blocks are found (CommonMark rules, top level) and re-emitted in a canonical
    form whose content is verbatim; everything else has every ``<`` that could start HTML
    replaced by ``&lt;``. The output's structure is ours, so a fence we misread costs looks,
    never safety: ``<`` in an inline code span shows as ``&lt;``.
    """
    lines = _clean(text).split("\n")
    out: list[str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.fullmatch(lines[i])
        if opening is None or (opening[2][0] == "`" and "`" in opening[3]):
            prose.append(lines[i])
            i += 1
            continue
        indent, marker, info = len(opening[1]), opening[2], opening[3]
        closing = re.compile(rf" {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*")
        body: list[str] = []
        i += 1
        while i < len(lines) and not closing.fullmatch(lines[i]):
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            i += 1
        i += 1  # the closing fence (or the end of the text)
        out.append(_neutralise_prose("\n".join(prose)))
        out.append(_fence(body, info))
        prose = []
    out.append(_neutralise_prose("\n".join(prose)))
    return "\n\n".join(part for part in out if part)


# --- steps ------------------------------------------------------------------------------------


def text_step_bundle(step: TextStep) -> MimeBundle:
    """Claude's prose as neutralised ``text/markdown`` plus the raw text as ``text/plain``."""
    return {"text/markdown": _safe_markdown(step.text), "text/plain": _clean(step.text)}


def _tool_error(result: Execution) -> tuple[str, str]:
    """A tool error (not a failing program) as (html, plain); empty strings when none."""
    if result.error_code is None:
        return "", ""
    reason = _TOOL_ERRORS.get(result.error_code, "the tool reported an error")
    text = f"Tool error: {reason} ({result.error_code})"
    if result.error_message:
        text += f": {_clean(result.error_message)}"
    return _div("tool-error", "⚠ " + _esc(text), f"{_BOX}; {_ERROR_BG}"), f"[{text}]"


def _execution(result: Execution | None, max_lines: int, *, stdout: bool = True) -> tuple[list[str], list[str]]:
    """The outputs of a tool call as (html parts, plain parts)."""
    if result is None:
        return [_div("running", "running…", _MUTED)], ["[running…]"]
    markup: list[str] = []
    plain: list[str] = []
    if stdout and _clean(result.stdout).strip("\n"):
        html_part, plain_part = _stream("stdout", result.stdout, max_lines)
        markup.append(html_part)
        plain.append(plain_part)
    if _clean(result.stderr).strip("\n"):
        html_part, plain_part = _stream("stderr", result.stderr, max_lines, f"{_BOX}; {_ERROR_BG}")
        markup.append(html_part)
        plain.append("[stderr]\n" + plain_part)
    if result.return_code not in (None, 0):
        markup.append(_div("exit", f"exit code {result.return_code}", _ERROR_FG))
        plain.append(f"[exit code {result.return_code}]")
    error_html, error_plain = _tool_error(result)
    if error_html:
        markup.append(error_html)
        plain.append(error_plain)
    return markup, plain


def code_step_bundle(step: CodeStep, *, show_code: bool = True, max_lines: int = 200) -> MimeBundle:
    """Code Claude ran (highlighted, collapsible) and what it printed, as HTML and a transcript.

    Parameters
    ----------
    step : CodeStep
        The step; ``step.result`` None renders as "running…".
    show_code : bool
        Show the code itself, not only its outputs.
    max_lines : int
        Lines of stdout and stderr shown at most (the full text stays in the step).

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``; both empty when the code is hidden and it printed
        nothing and did not fail.
    """
    label = _LANGUAGE_LABELS.get(step.language, step.language)
    markup: list[str] = []
    plain: list[str] = []
    if show_code:
        markup.append(_code_block(step.code, html.escape(label), language=step.language))
        plain.append(f"[{label}]\n{_quote_lines(step.code)}")
    outputs_html, outputs_plain = _execution(step.result, max_lines)
    markup.extend(outputs_html)
    plain.extend(outputs_plain)
    if not markup:
        return {"text/html": "", "text/plain": ""}
    return {"text/html": _div("step", "\n".join(markup)), "text/plain": "\n".join(plain)}


def _diff(step: EditStep) -> list[str]:
    if step.diff_lines:
        return [_clean(line) for line in step.diff_lines]
    old = _clean(step.old_str or "").split("\n")
    new = _clean(step.new_str or "").split("\n")
    return list(difflib.unified_diff(old, new, lineterm="", n=2))[2:]  # drop the ---/+++ header


def _diff_html(lines: list[str]) -> str:
    spans = []
    for line in lines:
        if line.startswith("+"):
            spans.append(f'<span class="claude-magic-diff-add" style="{_ADD_FG}">{_esc(line)}</span>')
        elif line.startswith("-"):
            spans.append(f'<span class="claude-magic-diff-del" style="{_ERROR_FG}">{_esc(line)}</span>')
        elif line.startswith("@@"):
            spans.append(f'<span class="claude-magic-diff-hunk" style="{_HUNK_FG}">{_esc(line)}</span>')
        else:
            spans.append(_esc(line))
    return f'<pre class="claude-magic-diff" style="{_BOX}; {_CODE_BG}">{chr(10).join(spans)}</pre>'


def edit_step_bundle(step: EditStep, *, show_code: bool = True, max_lines: int = 200) -> MimeBundle:
    """A text-editor operation: a viewed file, a created file, or a diff.

    Parameters
    ----------
    step : EditStep
        The step; ``view`` shows ``result.stdout``, ``create`` the new file (highlighted by
        its extension), ``str_replace`` a coloured diff.
    show_code : bool
        Show the file text or diff, not only the header and errors.
    max_lines : int
        Lines of a viewed file shown at most.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``.
    """
    label = _EDIT_LABELS.get(step.command, step.command)
    if step.command == "create" and step.is_file_update:
        label = "Overwrite"
    path = _clean(step.path)
    header = f"✎ {label} {path}"
    markup = [_div("header", html.escape(header), _MUTED)]
    plain = [f"[{label} {path}]"]
    result = step.result
    if show_code and step.command == "create" and step.file_text is not None:
        markup.append(_code_block(step.file_text, html.escape(path), filename=Path(path).name))
        plain.append(_quote_lines(step.file_text))
    elif show_code and step.command == "str_replace":
        lines = _diff(step)
        markup.append(_diff_html(lines) if lines else _div("diff", "(no change)", _MUTED))
        plain.append("\n".join(lines) if lines else "(no change)")
    is_view = step.command == "view"
    if is_view and show_code and result is not None and _clean(result.stdout).strip("\n"):
        view_html, view_plain = _stream("file-view", result.stdout, max_lines, f"{_BOX}; {_CODE_BG}")
        markup.append(view_html)
        plain.append(view_plain)
    outputs_html, outputs_plain = _execution(result, max_lines, stdout=not is_view)
    markup.extend(outputs_html)
    plain.extend(outputs_plain)
    return {"text/html": _div("step", "\n".join(markup)), "text/plain": "\n".join(plain)}


def thinking_step_bundle(step: ThinkingStep) -> MimeBundle:
    """Claude's thinking, collapsed in ``<details>`` (a minimal rendering; the render package replaces it)."""
    text = "(thinking redacted by the API)" if step.redacted else _clean(step.text)
    summary = "Claude's plan (thinking)"
    markup = (
        f'<details class="claude-magic-thinking" style="{_MUTED}"><summary>{html.escape(summary)}</summary>'
        f'<pre style="white-space: pre-wrap">{html.escape(text)}</pre></details>'
    )
    return {"text/html": markup, "text/plain": f"{summary}:\n{text}"}


def step_bundle(step: Step, *, show_code: bool = True, max_lines: int = 200) -> MimeBundle:
    """Render any step: prose as Markdown, code and edits as HTML; always with ``text/plain``.

    Parameters
    ----------
    step : Step
        A ``TextStep``, ``CodeStep`` or ``EditStep``.
    show_code : bool
        Show code, created files and diffs, not only outputs.
    max_lines : int
        Lines of each output stream shown at most; ``< 1`` for no limit.

    Returns
    -------
    MimeBundle
        A mimebundle; ``text/html`` and ``text/plain`` are empty strings for a hidden code
        step with nothing to show.
    """
    if step.kind == "text":
        return text_step_bundle(step)
    if step.kind == "thinking":
        return thinking_step_bundle(step)
    if step.kind == "code":
        return code_step_bundle(step, show_code=show_code, max_lines=max_lines)
    return edit_step_bundle(step, show_code=show_code, max_lines=max_lines)


# --- files ------------------------------------------------------------------------------------


def _relative(path: Path, link_base: Path | None) -> str:
    """``path`` relative to ``link_base`` (or the working directory), in POSIX form."""
    if link_base is None and not path.is_absolute():
        relative = path.as_posix()
    else:
        try:
            relative = Path(os.path.relpath(path, link_base if link_base is not None else Path.cwd())).as_posix()
        except ValueError:  # another drive on Windows: no relative path exists
            relative = path.name
    # Never "/x" or "//host/x" in an href: that would leave the notebook's server or host.
    return relative.lstrip("/") or path.name


def _image_html(file: OutputFile) -> str:
    data = base64.b64encode(file.data or b"").decode("ascii")
    name = _esc(file.name)
    return _div(
        "image",
        f'<img src="data:{html.escape(file.media_type)};base64,{data}" alt="{name}" title="{name}"'
        ' style="max-width: 100%">',
    )


def _file_parts(file: OutputFile, link_base: Path | None) -> tuple[str, str]:
    """A non-image file (or a failed download) as (html, plain)."""
    name = _clean(file.name)
    if file.error is not None:
        text = f"Could not download {name}: {_clean(file.error)}"
        return _div("file-error", "⚠ " + html.escape(text), f"{_BOX}; {_ERROR_BG}"), f"[{text}]"
    size = _size(file.size)
    if file.path is None:
        return (
            _div("file", f'{html.escape(name)} <span style="{_MUTED}">({size}, not saved)</span>'),
            f"{name} ({size}, not saved)",
        )
    relative = _clean(_relative(file.path, link_base))
    link = f'<a href="{html.escape(quote(relative), quote=True)}" download>{html.escape(name)}</a>'
    return (
        _div("file", f'📄 {link} <span style="{_MUTED}">({size})</span>'),
        f"{name} ({size}), saved to {relative}",
    )


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
        plain = f"<{file.media_type} {_clean(file.name)!r}, {len(file.data):,} bytes>"
        if file.path is not None:
            plain = f"{plain[:-1]}, saved to {_clean(_relative(file.path, link_base))}>"
        return {file.media_type: base64.b64encode(file.data).decode("ascii"), "text/plain": plain}
    markup, plain = _file_parts(file, link_base)
    return {"text/html": markup, "text/plain": plain}


# --- turns ------------------------------------------------------------------------------------


def _footer_items(turn: Turn) -> list[str]:
    usage = turn.usage
    items = [turn.model]
    if turn.container is not None:
        container = f"container {turn.container.id}"
        if turn.container.expires_at is not None:
            container += f" (expires {_utc(turn.container.expires_at)})"
        items.append(container)
    if turn.container_restarted:
        items.append("new container")
    tokens = f"{usage.input_tokens:,} tokens in / {usage.output_tokens:,} out"
    cached = [
        f"{count:,} {what}"
        for count, what in (
            (usage.cache_read_input_tokens, "cache read"),
            (usage.cache_creation_input_tokens, "cache write"),
        )
        if count
    ]
    items.append(f"{tokens} ({', '.join(cached)})" if cached else tokens)
    if usage.code_execution_requests:
        items.append(_plural(usage.code_execution_requests, "code execution"))
    items.append(_duration(turn.duration))
    if turn.segments > 1:
        pauses = turn.segments - 1
        items.append(f"continued after pause_turn {pauses} time{'' if pauses == 1 else 's'}")
    if turn.stop_reason not in (None, "end_turn", "pause_turn"):
        items.append(f"stop reason: {turn.stop_reason}")
    cost = pricing.estimate_cost(turn.model, usage, turn.duration)
    items.append(f"≈ {_cost(cost)} estimated" if cost is not None else "cost unknown")
    return [_clean(item) for item in items]


def turn_footer_bundle(turn: Turn) -> MimeBundle:
    """One muted line about a turn: model, container, tokens, time, pauses, estimated cost.

    Parameters
    ----------
    turn : Turn
        The finished turn.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``; notices follow on their own lines.
    """
    items = _footer_items(turn)
    notices = [_clean(notice) for notice in turn.notices]
    line = " · ".join(items)
    markup = [_div("summary", html.escape(line))]
    markup.extend(_div("notice", "ℹ " + html.escape(notice)) for notice in notices)
    plain = [line, *(f"ℹ {notice}" for notice in notices)]
    footer = _div("footer", "".join(markup), f"{_MUTED}; margin-top: 0.4em")
    return {"text/html": footer, "text/plain": "\n".join(plain)}


def turn_bundle(
    turn: Turn, *, show_code: bool = True, max_lines: int = 200, link_base: Path | None = None
) -> MimeBundle:
    """A whole turn as one bundle: steps, produced files and the footer.

    Prose goes into the HTML as escaped pre-wrapped text (not rendered Markdown); images are
    embedded as ``data:`` URLs.

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
    markup: list[str] = []
    plain: list[str] = []
    for step in turn.steps:
        if step.kind == "text":
            markup.append(_div("text", _esc(step.text), "white-space: pre-wrap; margin: 0.4em 0"))
            plain.append(_clean(step.text))
            continue
        bundle = step_bundle(step, show_code=show_code, max_lines=max_lines)
        if bundle["text/plain"] or bundle["text/html"]:
            markup.append(bundle["text/html"])
            plain.append(bundle["text/plain"])
    for file in turn.files:
        if file.error is None and file.is_image:
            markup.append(_image_html(file))
            plain.append(file_bundle(file, link_base=link_base)["text/plain"])
        else:
            file_html, file_plain = _file_parts(file, link_base)
            markup.append(file_html)
            plain.append(file_plain)
    footer = turn_footer_bundle(turn)
    markup.append(footer["text/html"])
    plain.append(footer["text/plain"])
    return {"text/html": _div("turn", "\n".join(markup)), "text/plain": "\n\n".join(plain)}


# --- uploads, container, status ---------------------------------------------------------------


def _table(
    part: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> MimeBundle:
    """A compact table as HTML and aligned plain text; the first column is a name in ``<code>``.

    ``rows`` hold plain (cleaned, unescaped) strings; ``notes[i]`` is small text under row i's
    name. Columns whose header is "Size" are right-aligned in the plain text.
    """
    body = []
    for index, row in enumerate(rows):
        note = notes[index] if index < len(notes) else ""
        small = _div("description", html.escape(note), f"{_MUTED}; white-space: pre-wrap") if note else ""
        cells = [f"<code>{html.escape(row[0])}</code>{small}", *(html.escape(cell) for cell in row[1:])]
        body.append("<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in cells) + "</tr>")
    head = "".join(f'<th style="{_CELL}">{html.escape(column)}</th>' for column in columns)
    markup = (_div("title", f"<b>{html.escape(title)}</b>") if title else "") + (
        f'<table class="claude-magic-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )
    widths = [max(len(row[column]) for row in rows) for column in range(len(columns))]
    plain = [title] if title else []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(widths[column]) if columns[column] == "Size" else cell.ljust(widths[column])
            for column, cell in enumerate(row)
        ]
        plain.append("  ".join(cells).rstrip())
        note = notes[index] if index < len(notes) else ""
        if note:
            plain.extend("    " + line for line in note.split("\n"))
    return {"text/html": _div(part, markup), "text/plain": "\n".join(plain)}


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
    heading = _clean(title)
    if not files:
        message = heading or "No files uploaded yet: upload some with %claude_upload."
        return {"text/html": _div("uploads", html.escape(message)), "text/plain": message}
    rows = [
        (
            _clean(file.name),
            _size(file.size),
            _clean(file.file_id),
            state if state is not None else ("already uploaded" if file.reused else "uploaded"),
        )
        for file in files
    ]
    notes = [_clean(file.description) for file in files]
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
    heading = _clean(title) or f"{_plural(len(files), 'file')} on the Files API"
    if not files:
        return {"text/html": _div("remote-files", html.escape(heading)), "text/plain": heading}
    rows = [
        (
            _clean(file.filename),
            _size(file.size),
            _clean(file.id),
            _clean(file.mime_type),
            _utc(file.created_at) if file.created_at is not None else "",
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
        title = f"{_plural(sent, 'file')} uploaded, {reused:,} already uploaded"
    elif reused:
        title = f"{_plural(reused, 'file')} already uploaded"
    else:
        title = f"{_plural(sent, 'file')} uploaded"
    return uploaded_files_bundle(batch.files, title=title)


def container_bundle(info: ContainerInfo | None) -> MimeBundle:
    """The session's sandbox container: id and expiry, or that there is none yet."""
    if info is None:
        text = "No container yet: the next %%claude_exec starts one."
    else:
        expiry = f"expires {_utc(info.expires_at)}" if info.expires_at is not None else "expiry unknown"
        text = f"Container {_clean(info.id)} ({expiry})"
    return {"text/html": _div("container", html.escape(text)), "text/plain": text}


def progress_bundle(message: str) -> MimeBundle:
    """A one-line, muted status such as ``"⏳ Claude is working… 3 steps, 12 s"``."""
    text = _clean(message)
    return {"text/html": _div("progress", html.escape(text), _MUTED), "text/plain": text}


def error_bundle(message: str) -> MimeBundle:
    """A short message flagged as an error (for failures shown as output, not raised)."""
    text = _clean(message)
    return {"text/html": _div("error", "⚠ " + html.escape(text), f"{_BOX}; {_ERROR_BG}"), "text/plain": text}


def notice_bundle(message: str) -> MimeBundle:
    """A muted information line (a re-upload, a new container, a reset)."""
    text = _clean(message)
    return {"text/html": _div("notice", "ℹ " + html.escape(text), _MUTED), "text/plain": f"ℹ {text}"}


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
    placement = "it appears" if len(cells) == 1 else "they appear"
    lines = [f"Exported {_plural(len(cells), 'cell')}: {placement} below this one where the frontend allows."]
    if inputs:
        copied = ", ".join(_clean(_relative(path, None)) for path in inputs)
        lines.append(f"Copied inputs: {copied}")
    if script:
        lines.append(f"Also wrote {_clean(script)}")
    code = "\n\n# %%\n".join(cells)
    markup = "".join(_div("export-line", html.escape(line)) for line in lines)
    if cells:
        markup += (
            f'<details class="claude-magic-code"><summary class="claude-magic-header" style="{_MUTED}">'
            f"Show the code to copy ({_plural(len(cells), 'cell')})</summary>"
            f'<pre class="claude-magic-source" style="{_BOX}; {_CODE_BG}">{_highlight(code, language="ipython3")}</pre>'
            "</details>"
        )
    plain = "\n".join(lines) + (f"\n\n{code}" if cells else "")
    return {"text/html": _div("export", markup), "text/plain": plain}


def select(
    bundle: MimeBundle, include: Collection[str] | None = None, exclude: Collection[str] | None = None
) -> MimeBundle:
    """Apply IPython's ``include``/``exclude`` filters, as ``_repr_mimebundle_`` must.

    Parameters
    ----------
    bundle : MimeBundle
        The full bundle.
    include, exclude : collection of str, optional
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
