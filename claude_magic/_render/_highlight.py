"""Code highlighted as inline-styled spans whose colours follow the JupyterLab theme.

``pygments`` is imported lazily, on the first code shown, so importing the renderer stays cheap.
pygments escapes the text it highlights; its output is wrapped in ``Markup`` only here.
"""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Final

from claude_magic._format import plural
from claude_magic._render._html import CODE_BG, PRE, Markup, details, pre
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from pygments.formatters import HtmlFormatter

COLLAPSE_LINES: Final = 20  # code longer than this starts collapsed


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


# The files Claude's sandbox writes most, by extension: named directly, so the first edit step
# does not pay pygments' scan of every lexer (about half a second, issue "Benchmarks").
_LEXER_BY_SUFFIX: Final = {
    ".py": "python", ".sh": "bash", ".bash": "bash", ".json": "json", ".md": "markdown", ".txt": "text",
    ".csv": "text", ".tsv": "text", ".log": "text", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".html": "html", ".js": "javascript", ".sql": "sql", ".r": "r", ".ini": "ini", ".xml": "xml",
}  # fmt: skip


@functools.lru_cache(maxsize=256)
def _lexer_name_for(filename: str) -> str:
    """A pygments lexer alias for a file name, by extension (the table first, pygments' patterns else)."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix in _LEXER_BY_SUFFIX:
        return _LEXER_BY_SUFFIX[suffix]
    from pygments.lexers import find_lexer_class_for_filename

    found = find_lexer_class_for_filename(filename)
    return found.aliases[0] if found is not None and found.aliases else "text"


def highlight(code: str, *, language: str | None = None, filename: str | None = None) -> Markup:
    """Highlight ``code`` as inline-styled HTML spans (plain escaped text for an unknown language)."""
    from pygments import highlight as pygments_highlight
    from pygments.lexer import Lexer
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    lexer: Lexer = TextLexer(stripnl=False)
    try:
        if language:
            lexer = get_lexer_by_name(language, stripnl=False)
        elif filename:
            lexer = get_lexer_by_name(_lexer_name_for(filename), stripnl=False)
    except ClassNotFound:
        pass
    # pygments escapes &, <, >, " and ' in the code it formats.
    return Markup(pygments_highlight(clean(code), lexer, _formatter()).rstrip("\n"))


def source(code: str, *, language: str | None = None, filename: str | None = None) -> Markup:
    """Highlighted code in a monospace box."""
    return pre("source", highlight(code, language=language, filename=filename), f"{PRE}; {CODE_BG}")


def code_block(code: str, label: str, *, language: str | None = None, filename: str | None = None) -> Markup:
    """Highlighted code under a header, in a ``<details>`` that starts open when short."""
    count = len(code.rstrip("\n").split("\n"))
    is_long = count > COLLAPSE_LINES
    summary = f"{label} · {plural(count, 'line')}" if is_long else label
    return details("code", clean(summary), source(code, language=language, filename=filename), is_open=not is_long)
