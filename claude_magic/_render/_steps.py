"""One step of a turn as a mimebundle: Claude's prose, the code it ran and what that printed, an edit.

Imports the rest of the renderer and, for types only, ``claude_magic.results``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Final

from claude_magic._format import plural
from claude_magic._render._highlight import code_block
from claude_magic._render._html import (
    ADD_FG,
    BOX,
    CODE_BG,
    ERROR_BG,
    ERROR_FG,
    HUNK_FG,
    LABEL,
    MONO,
    MUTED,
    PRE,
    STDERR,
    STDOUT,
    Markup,
    details,
    div,
    join,
    pre,
    span,
    text,
)
from claude_magic._render._markdown import markdown_html
from claude_magic._render._text import clean, has_text, lines_of, quote_lines, truncate

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import CodeStep, EditStep, Execution, Step, TextStep, ThinkingStep

OUTPUT_COLLAPSE_LINES: Final = 24  # a stream longer than this shows its ends and folds its middle
_PREVIEW_HEAD: Final = 8
_PREVIEW_TAIL: Final = 4

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


def text_step_bundle(step: TextStep) -> MimeBundle:
    """Claude's prose as inert HTML (rendered Markdown) plus the raw text as ``text/plain``."""
    return {"text/html": str(markdown_html(step.text)), "text/plain": clean(step.text)}


def stream_parts(part: str, label: str, value: str, max_lines: int, style: str) -> tuple[Markup, str]:
    """A stream (stdout, stderr, a viewed file) as (html, plain): labelled, boxed, long ones folded.

    HTML shows a long stream's first and last lines and folds the middle into a ``<details>``;
    both forms keep at most ``max_lines`` lines, with a note where lines were left out.
    """
    lines = lines_of(value)
    cut = truncate(lines, max_lines)
    plain = cut.plain()
    box = f"{PRE}; {style}"
    heading = div("label", label, LABEL) if label else Markup()
    kept = [*cut.head, *cut.tail]
    if len(lines) <= OUTPUT_COLLAPSE_LINES or len(kept) <= _PREVIEW_HEAD + _PREVIEW_TAIL:
        body = [pre(part, "\n".join(cut.head), box)]
        if cut.hidden:
            body.append(div("truncated", cut.note, MUTED))
        if cut.tail:
            body.append(pre(part, "\n".join(cut.tail), box))
    else:
        head, middle, tail = kept[:_PREVIEW_HEAD], kept[_PREVIEW_HEAD:-_PREVIEW_TAIL], kept[-_PREVIEW_TAIL:]
        # The hidden lines of a truncated stream sit where head and tail meet, inside the fold.
        split = min(max(len(cut.head) - _PREVIEW_HEAD, 0), len(middle))
        folded = [*middle[:split], cut.note, *middle[split:]] if cut.hidden else middle
        summary = f"{label or 'output'}: {plural(len(lines) - len(head) - len(tail), 'more line')}, click to show"
        body = [
            pre(part, "\n".join(head), f"{box}; margin-bottom: 0"),
            details("fold", summary, pre(part, "\n".join(folded), f"{box}; margin: 0")),
            pre(part, "\n".join(tail), f"{box}; margin-top: 0"),
        ]
    return join([heading, *body], ""), plain


def _tool_error(result: Execution) -> tuple[Markup, str]:
    """A tool error (not a failing program) as (html, plain); empty when none."""
    if result.error_code is None:
        return Markup(), ""
    reason = _TOOL_ERRORS.get(result.error_code, "the tool reported an error")
    message = f"Tool error: {reason} ({result.error_code})"
    if result.error_message:
        message += f": {clean(result.error_message)}"
    return div("tool-error", "⚠ " + clean(message), f"{BOX}; {ERROR_BG}"), f"[{message}]"


def _execution(
    result: Execution | None, max_lines: int, *, stdout: bool = True, interrupted: bool = False
) -> tuple[list[Markup], list[str]]:
    """The outputs of a tool call as (html parts, plain parts)."""
    if result is None:
        if interrupted:
            return [div("interrupted", "■ interrupted before it finished", ERROR_FG)], ["[interrupted]"]
        return [div("running", "running…", MUTED)], ["[running…]"]
    markup: list[Markup] = []
    plain: list[str] = []
    if stdout and has_text(result.stdout):
        html_part, plain_part = stream_parts("stdout", "stdout", result.stdout, max_lines, STDOUT)
        markup.append(html_part)
        plain.append(plain_part)
    if has_text(result.stderr):
        html_part, plain_part = stream_parts("stderr", "stderr", result.stderr, max_lines, STDERR)
        markup.append(html_part)
        plain.append("[stderr]\n" + plain_part)
    if result.return_code not in (None, 0):
        markup.append(div("exit", f"exit code {result.return_code}", ERROR_FG))
        plain.append(f"[exit code {result.return_code}]")
    error_html, error_plain = _tool_error(result)
    if error_plain:
        markup.append(error_html)
        plain.append(error_plain)
    return markup, plain


def code_step_bundle(
    step: CodeStep, *, show_code: bool = True, max_lines: int = 200, interrupted: bool = False
) -> MimeBundle:
    """Code Claude ran (highlighted, collapsible) and what it printed, as HTML and a transcript.

    Parameters
    ----------
    step : CodeStep
        The step; ``step.result`` None renders as "running…" (or "interrupted").
    show_code : bool
        Show the code itself, not only its outputs.
    max_lines : int
        Lines of stdout and stderr shown at most (the full text stays in the step).
    interrupted : bool
        The turn was interrupted: a step without a result never got one.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``; both empty when the code is hidden and it printed
        nothing and did not fail.
    """
    label = _LANGUAGE_LABELS.get(step.language, step.language)
    markup: list[Markup] = []
    plain: list[str] = []
    if show_code:
        markup.append(code_block(step.code, label, language=step.language))
        plain.append(f"[{label}]\n{quote_lines(step.code)}")
    outputs_html, outputs_plain = _execution(step.result, max_lines, interrupted=interrupted)
    markup.extend(outputs_html)
    plain.extend(outputs_plain)
    if not markup:
        return {"text/html": "", "text/plain": ""}
    return {"text/html": str(div("step", join(markup))), "text/plain": "\n".join(plain)}


def _diff(step: EditStep) -> list[str]:
    if step.diff_lines:
        return [clean(line) for line in step.diff_lines]
    old = clean(step.old_str or "").split("\n")
    new = clean(step.new_str or "").split("\n")
    return list(difflib.unified_diff(old, new, lineterm="", n=2))[2:]  # drop the ---/+++ header


def _diff_html(lines: list[str]) -> Markup:
    spans: list[Markup] = []
    for line in lines:
        if line.startswith("+"):
            spans.append(span("diff-add", line, ADD_FG))
        elif line.startswith("-"):
            spans.append(span("diff-del", line, ERROR_FG))
        elif line.startswith("@@"):
            spans.append(span("diff-hunk", line, HUNK_FG))
        else:
            spans.append(text(line))
    return pre("diff", join(spans), f"{PRE}; {CODE_BG}")


def edit_step_bundle(
    step: EditStep, *, show_code: bool = True, max_lines: int = 200, interrupted: bool = False
) -> MimeBundle:
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
    interrupted : bool
        The turn was interrupted: a step without a result never got one.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``.
    """
    label = _EDIT_LABELS.get(step.command, step.command)
    if step.command == "create" and step.is_file_update:
        label = "Overwrite"
    path = clean(step.path)
    markup = [div("header", f"✎ {label} {path}", MUTED)]
    plain = [f"[{label} {path}]"]
    result = step.result
    if show_code and step.command == "create" and step.file_text is not None:
        markup.append(code_block(step.file_text, path, filename=Path(path).name))
        plain.append(quote_lines(step.file_text))
    elif show_code and step.command == "str_replace":
        lines = _diff(step)
        markup.append(_diff_html(lines) if lines else div("diff", "(no change)", MUTED))
        plain.append("\n".join(lines) if lines else "(no change)")
    is_view = step.command == "view"
    if is_view and show_code and result is not None and has_text(result.stdout):
        view_html, view_plain = stream_parts("file-view", "", result.stdout, max_lines, CODE_BG)
        markup.append(view_html)
        plain.append(view_plain)
    outputs_html, outputs_plain = _execution(result, max_lines, stdout=not is_view, interrupted=interrupted)
    markup.extend(outputs_html)
    plain.extend(outputs_plain)
    return {"text/html": str(div("step", join(markup))), "text/plain": "\n".join(plain)}


def thinking_step_bundle(step: ThinkingStep) -> MimeBundle:
    """Claude's thinking, collapsed above the code as its plan; redacted thinking says so."""
    text = "(thinking redacted by the API)" if step.redacted else clean(step.text)
    summary = "Claude's plan (thinking)"
    markup = Markup('<details class="claude-magic-thinking" style="{}"><summary>{}</summary>{}</details>').format(
        MUTED, summary, Markup('<pre style="white-space: pre-wrap; {}">{}</pre>').format(MONO, text)
    )
    return {"text/html": str(markup), "text/plain": f"{summary}:\n{text}"}


def step_bundle(step: Step, *, show_code: bool = True, max_lines: int = 200, interrupted: bool = False) -> MimeBundle:
    """Render any step: prose as Markdown turned HTML, code and edits as HTML; always with ``text/plain``.

    Parameters
    ----------
    step : Step
        A ``TextStep``, ``CodeStep``, ``EditStep``, ``WebSearchStep``, ``WebFetchStep`` or ``ToolCallStep``.
    show_code : bool
        Show code, created files and diffs, not only outputs.
    max_lines : int
        Lines of each output stream shown at most; ``< 1`` for no limit.
    interrupted : bool
        The turn was interrupted: a tool call without a result says so instead of "running…".

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``, both empty strings for a hidden code step with nothing
        to show.
    """
    if step.kind == "text":
        if step.citations:
            from claude_magic._render._web import cited_text_bundle

            return cited_text_bundle(step)
        return text_step_bundle(step)
    if step.kind == "thinking":
        return thinking_step_bundle(step)
    if step.kind == "code":
        return code_step_bundle(step, show_code=show_code, max_lines=max_lines, interrupted=interrupted)
    if step.kind == "edit":
        return edit_step_bundle(step, show_code=show_code, max_lines=max_lines, interrupted=interrupted)
    if step.kind == "tool_call":
        from claude_magic._render._tools import tool_call_bundle

        return tool_call_bundle(step, max_lines=max_lines, interrupted=interrupted)
    from claude_magic._render._web import web_fetch_bundle, web_search_bundle

    return web_search_bundle(step) if step.kind == "web_search" else web_fetch_bundle(step)
