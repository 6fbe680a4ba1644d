"""Web search, web fetch and cited text as mimebundles.

Everything here came from the web through the API: titles, URLs and quoted text are untrusted.
Links are made only for ``http``/``https`` URLs, every value is escaped by ``Markup.format``, and
links open nothing by themselves (no images, no prefetch).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from claude_magic._render._html import BOX, ERROR_FG, MUTED, Markup, div, join, span
from claude_magic._render._markdown import markdown_html
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import Citation, TextStep, WebFetchStep, WebSearchStep

_WEB_URL: Final = re.compile(r"https?://[^\s\"'<>]+$", re.IGNORECASE)
_SHOWN_HITS: Final = 10
_WEB_ERRORS: Final = {
    "max_uses_exceeded": "the search limit for this request was reached (max_uses)",
    "too_many_requests": "rate limited",
    "query_too_long": "the query was too long",
    "invalid_input": "the input was invalid",
    "unavailable": "the tool was unavailable",
    "url_not_accessible": "the page could not be reached",
    "url_not_allowed": "the URL is not allowed",
    "url_too_long": "the URL is too long",
    "unsupported_content_type": "the page's content type is not supported",
}


def _link(url: str | None, label: str) -> Markup:
    """A link for a web URL, else the label as plain text (never ``javascript:``, ``data:``, ``file:``)."""
    shown = clean(label)
    if url and _WEB_URL.match(url.strip()):
        return Markup('<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>').format(
            url.strip(), shown
        )
    return Markup("{}").format(shown)


def _error(code: str) -> tuple[Markup, str]:
    reason = _WEB_ERRORS.get(code, "the tool reported an error")
    message = f"{reason} ({code})"
    return div("tool-error", "⚠ " + clean(message), ERROR_FG), f"[error: {message}]"


def web_search_bundle(step: WebSearchStep) -> MimeBundle:
    """A web search: the query, then each hit's title linked to its URL."""
    query = clean(step.query)
    markup = [div("header", f"🔎 Web search: {query}", MUTED)]
    plain = [f"[Web search] {query}"]
    if step.error_code is not None:
        html_part, plain_part = _error(step.error_code)
        markup.append(html_part)
        plain.append(plain_part)
    elif step.hits is None:
        markup.append(div("running", "searching…", MUTED))
        plain.append("[searching…]")
    elif not step.hits:
        markup.append(div("hits", "no results", MUTED))
        plain.append("  (no results)")
    else:
        items = [
            Markup("<li>{}{}</li>").format(
                _link(hit.url, hit.title or hit.url),
                span("age", f" · {clean(hit.page_age)}", MUTED) if hit.page_age else "",
            )
            for hit in step.hits[:_SHOWN_HITS]
        ]
        more = len(step.hits) - _SHOWN_HITS
        if more > 0:
            items.append(Markup("<li>{}</li>").format(span("more", f"… and {more} more", MUTED)))
        markup.append(Markup('<ol class="claude-magic-hits" style="margin: 0.2em 0">{}</ol>').format(join(items, "")))
        plain.extend(f"  {n}. {clean(hit.title)} <{clean(hit.url)}>" for n, hit in enumerate(step.hits, 1))
    return {"text/html": str(div("step", join(markup), BOX)), "text/plain": "\n".join(plain)}


def web_fetch_bundle(step: WebFetchStep) -> MimeBundle:
    """A fetched page: its title linked to its URL (the final one, after redirects)."""
    url = step.final_url or step.url
    markup = [div("header", Markup("🌐 Web fetch: {}").format(_link(step.url, step.url)), MUTED)]
    plain = [f"[Web fetch] {clean(step.url)}"]
    if step.error_code is not None:
        html_part, plain_part = _error(step.error_code)
        markup.append(html_part)
        plain.append(plain_part)
    elif not step.fetched:
        markup.append(div("running", "fetching…", MUTED))
        plain.append("[fetching…]")
    else:
        title = step.title or url
        when = f" · retrieved {clean(step.retrieved_at)}" if step.retrieved_at else ""
        markup.append(div("page", Markup("{}{}").format(_link(url, title), span("age", when, MUTED))))
        plain.append(f"  {clean(title)} <{clean(url)}>{when}")
    return {"text/html": str(div("step", join(markup), BOX)), "text/plain": "\n".join(plain)}


def cited_text_bundle(step: TextStep) -> MimeBundle:
    """Claude's prose with its citations as numbered footnote links below it."""
    sources = _distinct(step.citations)
    marks = "".join(f"[{number}]" for number in range(1, len(sources) + 1))
    prose = markdown_html(step.text.rstrip() + (f" {marks}" if marks else ""))
    notes = [
        Markup("<li>{}{}</li>").format(
            _link(citation.url, citation.title or citation.url or "source"),
            span("quote", f" — “{clean(citation.cited_text)[:200]}”", MUTED) if citation.cited_text else "",
        )
        for citation in sources
    ]
    footnotes = Markup('<ol class="claude-magic-citations" style="margin: 0 0 0.4em 0; {}">{}</ol>').format(
        MUTED, join(notes, "")
    )
    plain = [clean(step.text).rstrip() + (f" {marks}" if marks else "")]
    plain.extend(
        f"  [{number}] {clean(c.title or c.url or 'source')}" + (f" <{clean(c.url)}>" if c.url else "")
        for number, c in enumerate(sources, 1)
    )
    return {"text/html": str(join([prose, footnotes], "")), "text/plain": "\n".join(plain)}


def _distinct(citations: tuple[Citation, ...]) -> list[Citation]:
    seen: dict[tuple[str | None, str | None], Citation] = {}
    for citation in citations:
        seen.setdefault((citation.url, citation.title), citation)
    return list(seen.values())
