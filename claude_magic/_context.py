"""What each request carries to keep a long session fast and cheap, and the bound on what is resent.

* Request options (``TurnSettings.options``): automatic prompt caching (top-level
  ``cache_control``), server-side context editing (``context_management``, beta), thinking and
  effort.
* ``bound_history``: the client-side bound on old, large tool results, applied to the history a
  session keeps, so what is resent cannot grow by megabytes a turn.
* Notices for the stop reasons the SDK knows, and the history left by a compaction.

Stdlib only; knows nothing of HTTP or IPython.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

Message = dict[str, Any]
Effort = Literal["low", "medium", "high", "xhigh", "max"]
EFFORTS: Final = ("low", "medium", "high", "xhigh", "max")
CACHE_TTLS: Final = ("5m", "1h")

# Defaults: the bound trims results over 64,000 characters (about 16k tokens) to 8,000 at each end.
RESULT_LIMIT: Final = 64_000
RESULT_KEEP: Final = 8_000
# Context editing (off by default): the documented default trigger, keep the 3 newest tool uses,
# and clear only when it frees enough to be worth the cache write it causes.
EDIT_TRIGGER: Final = 100_000
EDIT_KEEP: Final = 3
EDIT_CLEAR_AT_LEAST: Final = 20_000
TRIMMED_NOTE: Final = (
    "[claude_magic trimmed {count:,} characters from the middle of this output to keep the conversation small; "
    "the user saw it in full. Files in the sandbox are unchanged: read them again if you need the full output.]"
)
_MARK: Final = "[claude_magic trimmed "  # trimming is idempotent: a trimmed text is never trimmed again
# Result fields that hold output text, per result content type (SDK ``*_result_block_param.py``).
_TEXT_FIELDS: Final = {
    "code_execution_result": ("stdout", "stderr"),
    "bash_code_execution_result": ("stdout", "stderr"),
    "text_editor_code_execution_view_result": ("content",),
}


@dataclass(frozen=True, slots=True)
class ContextSettings:
    """How a session keeps its requests cheap; every field has a safe default.

    Parameters
    ----------
    cache
        Send automatic prompt caching (top-level ``cache_control``).
    cache_ttl
        ``"5m"`` (writes cost 1.25x input) or ``"1h"`` (writes cost 2x, for pauses of more than 5 minutes).
    context_editing
        Ask the API to clear old tool results server-side (``clear_tool_uses_20250919``, beta).
    result_limit
        Tool results longer than this many characters are trimmed in the kept history (0: never).
    thinking
        None (the model's default), ``"adaptive"``, or a token budget (>= 1024) for extended thinking.
    effort
        ``output_config.effort``, or None for the model's default.
    """

    cache: bool = True
    cache_ttl: Literal["5m", "1h"] = "5m"
    context_editing: bool = False
    result_limit: int = RESULT_LIMIT
    thinking: str | int | None = None
    effort: str | None = None

    def __post_init__(self) -> None:
        if self.cache_ttl not in CACHE_TTLS:
            raise ValueError(f"cache_ttl must be '5m' or '1h', not {self.cache_ttl!r}")
        if self.effort is not None and self.effort not in EFFORTS:
            raise ValueError(f"effort must be one of {', '.join(EFFORTS)}, not {self.effort!r}")
        thinking_config(self.thinking)  # raises for a bad value

    def options(self) -> dict[str, Any]:
        """Request parameters for ``messages.create``/``stream`` (``TurnSettings.options``)."""
        options: dict[str, Any] = {}
        if self.cache:
            # Automatic caching: one marker the API moves to the last cacheable block (api-spec §13).
            options["cache_control"] = {"type": "ephemeral", **({"ttl": "1h"} if self.cache_ttl == "1h" else {})}
        if self.context_editing:
            options["context_management"] = {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "trigger": {"type": "input_tokens", "value": EDIT_TRIGGER},
                        "keep": {"type": "tool_uses", "value": EDIT_KEEP},
                        "clear_at_least": {"type": "input_tokens", "value": EDIT_CLEAR_AT_LEAST},
                    }
                ]
            }
        if (config := thinking_config(self.thinking)) is not None:
            options["thinking"] = config
        if self.effort is not None:
            options["output_config"] = {"effort": self.effort}
        return options


def thinking_config(value: str | int | None) -> dict[str, Any] | None:
    """The ``thinking`` parameter for ``--think`` (``"adaptive"`` or a budget of at least 1024 tokens)."""
    if value is None or value == "" or value == "off":
        return None
    if value == "adaptive":
        return {"type": "adaptive"}
    try:
        budget = int(value)
    except ValueError:
        raise ValueError(f"thinking is 'adaptive' or a token budget of at least 1024, not {value!r}") from None
    if budget < 1024:
        raise ValueError(f"a thinking budget is at least 1024 tokens (got {budget})")
    return {"type": "enabled", "budget_tokens": budget}


def bound_history(
    messages: Sequence[Message], limit: int = RESULT_LIMIT, keep: int = RESULT_KEEP, *, last_is_paused: bool = False
) -> tuple[tuple[Message, ...], int]:
    """*messages* with tool results over *limit* characters cut to *keep* at each end, and a note to Claude.

    Returns the messages and how many characters were cut. What the API permits: every
    ``server_tool_use`` must keep its result block, paired by ``tool_use_id`` (api-spec §3.6,
    "Every server_tool_use in history needs its result, whatever the tool"), and a result block
    sent back is a request param whose ``stdout``/``stderr`` (``*_code_execution_result_block_param``)
    or ``content`` (``text_editor_code_execution_view_result_block_param``) are plain strings;
    the docs' context editing does the same server-side, clearing result content while keeping
    the tool use ("Context editing": tool results are replaced with placeholder text). So only
    the text inside a result is shortened; blocks, ids, types, thinking blocks and encrypted
    results are left as they are. A paused last turn must go back unchanged (api-spec §4.1),
    so it is never touched. Trimming is idempotent: a trimmed history trims to itself, so the
    cached prefix stays identical from turn to turn.
    """
    if limit <= 0:
        return tuple(messages), 0
    keep = max(0, min(keep, (limit - len(TRIMMED_NOTE) - 16) // 2))  # a trimmed text stays under the limit
    kept: list[Message] = []
    cut = 0
    for position, message in enumerate(messages):
        if message.get("role") != "assistant" or (last_is_paused and position == len(messages) - 1):
            kept.append(message)
            continue
        content, removed = _bounded_content(message.get("content"), limit, keep)
        cut += removed
        kept.append({**message, "content": content} if removed else message)
    return tuple(kept), cut


def _bounded_content(content: Any, limit: int, keep: int) -> tuple[Any, int]:
    if not isinstance(content, list):
        return content, 0
    removed = 0
    blocks: list[Any] = []
    for block in content:
        inner = block.get("content") if isinstance(block, dict) and "tool_use_id" in block else None
        fields = _TEXT_FIELDS.get(str(inner.get("type"))) if isinstance(inner, dict) else None
        if not fields:
            blocks.append(block)
            continue
        assert isinstance(inner, dict)
        trimmed = dict(inner)
        for name in fields:
            text = inner.get(name)
            if isinstance(text, str) and len(text) > limit and _MARK not in text:
                gone = len(text) - 2 * keep
                trimmed[name] = text[:keep] + "\n" + TRIMMED_NOTE.format(count=gone) + "\n" + text[-keep:]
                removed += gone
        blocks.append({**copy.copy(block), "content": trimmed} if trimmed != inner else block)
    return blocks, removed


def stop_notice(stop_reason: str | None, details: Mapping[str, Any] | None, max_tokens: int) -> str | None:
    """What to tell the user about a turn's stop reason, and how to go on; None when there is nothing to say."""
    if stop_reason == "max_tokens":
        return (
            f"Claude reached the max_tokens limit ({max_tokens:,}) and stopped mid-answer: run a cell saying "
            '"go on" to let it continue, or raise --max-tokens (ClaudeMagics.max_tokens).'
        )
    if stop_reason == "model_context_window_exceeded":
        return (
            "The conversation filled Claude's context window: run %claude_compact (keeps the sandbox and its "
            "files) or %claude_reset, then run the cell again."
        )
    if stop_reason == "refusal":
        category = (details or {}).get("category")
        explanation = (details or {}).get("explanation")
        said = f" ({category})" if category else ""
        why = f": {explanation}" if explanation else ""
        return (
            f"Claude declined this request{said}{why}. The turn was left out of the conversation: rephrase the "
            "prompt and run the cell again."
        )
    if stop_reason == "compaction":
        return "The conversation was compacted into a summary; the sandbox and its files are unchanged."
    return None


def compacted_history(compaction_block: Mapping[str, Any]) -> tuple[Message, ...]:
    """The conversation after a compaction: the block, verbatim, in an assistant turn after a short user turn.

    The API drops what comes before a compaction block (api-spec §13 Compaction); the user turn
    in front of it only keeps the first message the user's, which the Messages API requires.
    """
    return (
        {"role": "user", "content": [{"type": "text", "text": "(The earlier conversation was compacted.)"}]},
        {"role": "assistant", "content": [dict(compaction_block)]},
    )
