"""Claude's Markdown rendered to inert HTML with markdown-it-py.

CommonMark (plus tables and strikethrough) with raw HTML off, so ``<script>`` in prose is shown
as text; images off, since an image loads its URL with no click (a known way to leak data);
links only to the web (http, https) or within the page. Fenced code is highlighted like the code Claude ran.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Final

from claude_magic._render._highlight import source
from claude_magic._render._html import Markup, div
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

_SAFE_LINK: Final = re.compile(r"(?:https?://|#)", re.IGNORECASE)
_LANGUAGE: Final = re.compile(r"[\w+#.-]+")


def _validate_link(url: str) -> bool:
    """Web and in-page links only: never ``javascript:``, ``data:``, ``file:`` or a relative path."""
    return _SAFE_LINK.match(url.strip()) is not None


def _highlight_fence(code: str, language: str, attrs: str) -> str:
    # markdown-it uses a result that starts with "<pre" as the whole block.
    match = _LANGUAGE.match(language.strip())
    return str(source(code, language=match[0] if match else None))


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # on the first Markdown shown: importing the renderer stays cheap

    parser = MarkdownIt("commonmark", {"html": False, "highlight": _highlight_fence})
    parser.enable(["table", "strikethrough"]).disable("image")
    parser.validateLink = _validate_link  # type: ignore[method-assign]
    return parser


def markdown_html(text: str) -> Markup:
    """Claude's Markdown as HTML, in a ``claude-magic-text`` block."""
    rendered = _parser().render(clean(text))
    return div("text", Markup(rendered.strip("\n")), "margin: 0.4em 0")  # markdown-it escapes every text node
