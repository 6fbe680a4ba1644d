"""Mimebundles for the long-session views: ``%claude_usage``, ``%claude_history`` and the session total.

Pure functions from ``results`` values to ``dict[str, str]`` (``text/plain`` always, ``text/html``
escaped). Stdlib, ``_format`` and ``results`` only. The session total (``session_usage_bundle``)
is the hook for the turn footer: ``Turn.session_usage`` holds the value after each turn.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from claude_magic.results import SessionUsage, Turn

MimeBundle: TypeAlias = dict[str, str]
_PROMPT_CHARS: Final = 60
_MUTED: Final = "color: var(--jp-ui-font-color2, #757575)"


def select(bundle: MimeBundle, include: Collection[str] | None, exclude: Collection[str] | None) -> MimeBundle:
    """Honour ``_repr_mimebundle_``'s include/exclude."""
    return {k: v for k, v in bundle.items() if (include is None or k in include) and not (exclude and k in exclude)}


def money(cost: float | None) -> str:
    """``$0.0123`` (four decimals under a dollar), or ``unknown``."""
    if cost is None:
        return "unknown"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"


def session_line(total: SessionUsage) -> str:
    """One line: the session's tokens, cache share, container time and estimated cost."""
    usage = total.usage
    return (
        f"session: {total.turns} turn{'' if total.turns == 1 else 's'}, {usage.prompt_tokens:,} tokens in "
        f"({total.cache_share:.0%} from cache) / {usage.output_tokens:,} out, "
        f"container {total.container_seconds / 60:.1f} min, ≈ {money(total.cost)} estimated"
    )


def session_usage_bundle(total: SessionUsage) -> MimeBundle:
    """The session total as a muted line (the footer's hook)."""
    line = session_line(total)
    markup = f'<div class="claude-magic-session" style="{_MUTED}">{html.escape(line)}</div>'
    return {"text/plain": line, "text/html": markup}


def _short(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= _PROMPT_CHARS else flat[: _PROMPT_CHARS - 1] + "…"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str, footer: str) -> MimeBundle:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(footer)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    markup = (
        f'<div class="claude-magic-table"><div><b>{html.escape(title)}</b></div>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f'<div style="{_MUTED}">{html.escape(footer)}</div></div>'
    )
    return {"text/plain": "\n".join(lines), "text/html": markup}


def usage_bundle(turns: Sequence[Turn], total: SessionUsage) -> MimeBundle:
    """``%claude_usage``: one row per turn (tokens, cache reads and writes, container time, cost), then the total."""
    headers = ("#", "prompt", "input", "cache read", "cache write", "output", "container s", "cost")
    rows = [
        (
            str(number),
            _short(turn.prompt),
            f"{turn.usage.input_tokens:,}",
            f"{turn.usage.cache_read_input_tokens:,}",
            f"{turn.usage.cache_creation_input_tokens:,}",
            f"{turn.usage.output_tokens:,}",
            f"{turn.container_seconds:.0f}",
            money(turn.cost),
        )
        for number, turn in enumerate(turns, 1)
    ]
    return _table(headers, rows, "Usage by turn (estimated from list prices)", session_line(total))


def history_bundle(turns: Sequence[Turn], total: SessionUsage) -> MimeBundle:
    """``%claude_history``: one row per turn (prompt, steps, files, tokens, cost)."""
    headers = ("#", "prompt", "steps", "files", "tokens in/out", "cost", "note")
    rows = []
    for number, turn in enumerate(turns, 1):
        note = "" if turn.kept else "not kept (refused)"
        if turn.stop_reason not in (None, "end_turn", "refusal"):
            note = f"stopped: {turn.stop_reason}"
        rows.append(
            (
                str(number),
                _short(turn.prompt),
                str(len(turn.steps)),
                ", ".join(file.name for file in turn.files) or "-",
                f"{turn.usage.prompt_tokens:,}/{turn.usage.output_tokens:,}",
                money(turn.cost),
                note,
            )
        )
    footer = session_line(total) + " · %claude_history N shows turn N again; --undo drops the last turn"
    return _table(headers, rows, "Turns of this conversation", footer)
