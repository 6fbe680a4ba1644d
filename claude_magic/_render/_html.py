"""The few HTML shapes every bundle is made of, built with markupsafe so escaping is the default.

``Markup(...).format(...)`` escapes every argument that is not already ``Markup``: a helper here
never needs an escape call, and forgetting one cannot leak markup. Styles are inline and use
JupyterLab's CSS variables with fallbacks, so the output reads the same in JupyterLab, Notebook 7,
an nbconvert HTML export (with or without its CSS) and a page with JavaScript off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from markupsafe import Markup, escape

from claude_magic._render._text import clean

__all__ = ["Markup", "div", "join", "pre", "span", "text"]

# Every style names a fallback, so the output needs no stylesheet of ours or JupyterLab's.
MONO: Final = "font-family: var(--jp-code-font-family, ui-monospace, Menlo, Consolas, monospace)"
MUTED: Final = "color: var(--jp-ui-font-color2, #757575); font-size: var(--jp-ui-font-size0, 0.85em)"
BOX: Final = "margin: 0.25em 0; padding: 0.35em 0.6em"
PRE: Final = f"{BOX}; white-space: pre; overflow-x: auto; {MONO}"  # monospace even without any stylesheet
CODE_BG: Final = "background: var(--jp-cell-editor-background, #f7f7f7)"
STDOUT: Final = "background: var(--jp-layout-color2, #f4f4f4); border-left: 3px solid var(--jp-border-color1, #bdbdbd)"
ERROR_BG: Final = "background: var(--jp-rendermime-error-background, #fdd)"
STDERR: Final = f"{ERROR_BG}; border-left: 3px solid var(--jp-error-color1, #d32f2f)"
ERROR_FG: Final = "color: var(--jp-error-color1, #d32f2f)"
ADD_FG: Final = "color: var(--jp-success-color1, #2e7d32)"
HUNK_FG: Final = "color: var(--jp-ui-font-color2, #757575)"
CELL: Final = "text-align: left; vertical-align: top; padding: 0.15em 0.6em"
LABEL: Final = f"{MUTED}; margin-top: 0.3em"


def text(value: str) -> Markup:
    """Untrusted text, cleaned of terminal escapes and escaped (quotes too)."""
    return escape(clean(value))


def _attrs(part: str, style: str) -> Markup:
    if style:
        return Markup(' class="claude-magic-{}" style="{}"').format(part, style)
    return Markup(' class="claude-magic-{}"').format(part)


def div(part: str, inner: str | Markup = "", style: str = "") -> Markup:
    """``<div class="claude-magic-PART">``; ``inner`` is escaped unless it is ``Markup``."""
    return Markup("<div{}>{}</div>").format(_attrs(part, style), inner)


def span(part: str, inner: str | Markup, style: str = "") -> Markup:
    """``<span class="claude-magic-PART">``; ``inner`` is escaped unless it is ``Markup``."""
    return Markup("<span{}>{}</span>").format(_attrs(part, style), inner)


def pre(part: str, inner: str | Markup, style: str = PRE) -> Markup:
    """``<pre class="claude-magic-PART">`` in a monospace box; ``inner`` is escaped unless ``Markup``."""
    return Markup("<pre{}>{}</pre>").format(_attrs(part, style), inner)


def details(part: str, summary: str | Markup, body: str | Markup, *, is_open: bool = False) -> Markup:
    """A ``<details>`` whose muted ``<summary>`` says what is folded away."""
    template = Markup(
        '<details class="claude-magic-{}"{}><summary class="claude-magic-header" style="{}">{}</summary>{}</details>'
    )
    return template.format(part, Markup(" open") if is_open else "", MUTED, summary, body)


def join(parts: Iterable[str | Markup], separator: str = "\n") -> Markup:
    """Concatenate markup (plain strings among ``parts`` are escaped)."""
    return Markup(separator).join(parts)
