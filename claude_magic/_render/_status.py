"""Short lines about a turn and the session: the footer, the container, progress, notices, errors.

Imports ``claude_magic._pricing``, the rest of the renderer and, for types only,
``claude_magic.results``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Final

from claude_magic import _pricing as pricing
from claude_magic._format import duration, plural, utc
from claude_magic._render._html import BOX, ERROR_BG, MUTED, Markup, div, join
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import ContainerInfo, Turn

# What the API documents about a container's life (api-spec §8): `expires_at` is a shorter rolling
# value, not the container's end, so it is never shown as one.
_LIFETIME: Final = "kept 30 days, idle-checkpointed"
_ID_TAIL: Final = 6


def short_id(container_id: str) -> str:
    """``container_…Wx4b``: enough to tell containers apart in a footer."""
    prefix, underscore, rest = container_id.partition("_")
    if not underscore or len(rest) <= _ID_TAIL + 2:
        return container_id
    return f"{prefix}_…{rest[-_ID_TAIL:]}"


def _cost(dollars: float) -> str:
    return f"${dollars:,.4f}" if dollars < 1 else f"${dollars:,.2f}"


def _footer_items(turn: Turn) -> list[tuple[str, str]]:
    """(text, tooltip) pairs: model, sandbox, tokens, code runs, time, pauses, stop reason, cost."""
    usage = turn.usage
    items = [(turn.model, "")]
    if turn.container is not None:
        sandbox = f"{'new ' if turn.container_restarted else ''}sandbox {short_id(turn.container.id)}"
        until = turn.container.restorable_until
        lifetime = f"kept until {until:%b %d}, idle-checkpointed" if until is not None else _LIFETIME
        items.append((f"{sandbox}, {lifetime}", turn.container.id))
        if turn.container.skills:
            items.append(("skills " + skill_versions(turn.container), "Agent Skills loaded, with resolved versions"))
    elif turn.container_restarted:
        items.append(("new sandbox", ""))
    tokens = f"{usage.input_tokens:,} tokens in / {usage.output_tokens:,} out"
    cached = [
        f"{count:,} {what}"
        for count, what in (
            (usage.cache_read_input_tokens, "cached"),
            (usage.cache_creation_input_tokens, "cache write"),
        )
        if count
    ]
    items.append((f"{tokens} ({', '.join(cached)})" if cached else tokens, ""))
    if usage.code_execution_requests:
        items.append((plural(usage.code_execution_requests, "code run"), ""))
    if usage.web_search_requests:
        items.append((plural(usage.web_search_requests, "web search"), "billed per search"))
    if usage.web_fetch_requests:
        items.append((plural(usage.web_fetch_requests, "web fetch"), ""))
    items.append((duration(turn.duration), ""))
    if turn.segments > 1:
        pauses = turn.segments - 1
        items.append((plural(pauses, "pause"), f"Claude paused its turn {plural(pauses, 'time')}; it was continued"))
    if turn.stop_reason not in (None, "end_turn", "pause_turn"):
        items.append((f"stop reason: {turn.stop_reason}", ""))
    free = any(tool in pricing.FREES_CODE_EXECUTION for tool in turn.server_tools)
    cost = (
        turn.cost
        if turn.cost is not None
        else pricing.estimate_cost(turn.model, usage, turn.duration, code_execution_free=free)
    )
    items.append((f"≈ {_cost(cost)} estimated" if cost is not None else "cost unknown", ""))
    total = turn.session_usage
    if total is not None and total.turns > 1 and total.cost is not None:
        share = f", {total.cache_share:.0%} of input from cache" if total.usage.cache_read_input_tokens else ""
        items.append((f"session {_cost(total.cost)} over {total.turns} turns{share}", ""))
    return [(clean(item), clean(tip)) for item, tip in items]


def turn_footer_bundle(turn: Turn, *, shown_notices: Collection[str] = ()) -> MimeBundle:
    """One muted line about a turn: model, sandbox, tokens, time, pauses, estimated cost.

    Parameters
    ----------
    turn : Turn
        The finished turn.
    shown_notices : collection of str
        Notices already shown while the turn ran; the footer repeats none of them.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``; notices not yet shown follow on their own lines.
    """
    items = _footer_items(turn)
    notices = [clean(notice) for notice in turn.notices if notice not in shown_notices]
    # Items never break inside, only between, so a narrow output wraps cleanly.
    spans = [
        Markup('<span style="white-space: nowrap"{}>{}</span>').format(
            Markup(' title="{}"').format(tip) if tip else "", item
        )
        for item, tip in items
    ]
    summary = div("summary", join(spans, " · "))
    markup = [summary, *(div("notice", "ℹ " + notice) for notice in notices)]
    plain = [" · ".join(item for item, _ in items), *(f"ℹ {notice}" for notice in notices)]
    footer = div("footer", join(markup, ""), f"{MUTED}; margin-top: 0.4em")
    return {"text/html": str(footer), "text/plain": "\n".join(plain)}


def skill_versions(info: ContainerInfo) -> str:
    """``xlsx 20251013, pptx 20251013``: each skill with the version the API resolved."""
    return ", ".join(clean(f"{skill.skill_id} {skill.version}") for skill in info.skills)


def container_bundle(info: ContainerInfo | None) -> MimeBundle:
    """The session's sandbox container: its id and what the API says about its life."""
    if info is None:
        message = "No container yet: the next %%claude_exec starts one."
    else:
        message = (
            f"Container {clean(info.id)}: files stay between cells. After about 5 minutes idle it is checkpointed "
            "and the next cell restores it, for up to 30 days after it started"
        )
        until = info.restorable_until
        message += f" (until at least {utc(until)})." if until is not None else "."
        if info.expires_at is not None:
            message += f" (The API's rolling expires_at is {utc(info.expires_at)}; it moves with each request.)"
        if info.skills:
            message += f" Skills loaded: {skill_versions(info)}."
    return {"text/html": str(div("container", message)), "text/plain": message}


def progress_bundle(message: str) -> MimeBundle:
    """A one-line, muted status such as ``"⏳ Claude is working… 3 steps, 12 s"``."""
    line = clean(message)
    return {"text/html": str(div("progress", line, MUTED)), "text/plain": line}


def error_bundle(message: str) -> MimeBundle:
    """A short message flagged as an error (for failures shown as output, not raised)."""
    line = clean(message)
    return {"text/html": str(div("error", "⚠ " + line, f"{BOX}; {ERROR_BG}")), "text/plain": line}


def notice_bundle(message: str) -> MimeBundle:
    """A muted information line (a re-upload, a new container, a reset)."""
    line = clean(message)
    return {"text/html": str(div("notice", "ℹ " + line, MUTED)), "text/plain": f"ℹ {line}"}
