"""The Messages area of ``ApiClient``: one request with the code execution tool (streamed or not), token counts.

Also which ``anthropic-beta`` headers a request's parameters need. Never imports ``anthropic``
itself: it goes through the SDK client ``ApiClient`` holds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from claude_magic._client._base import SdkHolder
from claude_magic._client._convert import _plain, _response
from claude_magic._client._errors import _translated_errors
from claude_magic.results import Response

# Beta request parameters and the ``anthropic-beta`` header each needs (api-spec §13 Context editing, Compaction).
CONTEXT_MANAGEMENT_BETA = "context-management-2025-06-27"
COMPACTION_BETA = "compact-2026-01-12"
_BETA_EDITS = {"clear_tool_uses_20250919": CONTEXT_MANAGEMENT_BETA, "compact_20260112": COMPACTION_BETA}
# Parameters of count_tokens besides model, messages and tools (the SDK's ``messages.count_tokens``).
_COUNTABLE = ("system", "thinking", "output_config", "cache_control", "context_management")

# Stream callbacks: ("start" | "text" | "stop", block index within the response, block dict or text snapshot).
BlockEventKind: TypeAlias = Literal["start", "text", "stop"]
BlockListener: TypeAlias = Callable[[BlockEventKind, int, dict[str, Any]], None]


class MessagesApi(SdkHolder):
    """Messages API methods of ``ApiClient``."""

    def send(
        self,
        *,
        model: str,
        max_tokens: int,
        messages: Sequence[dict[str, Any]],
        tool_version: str,
        container_id: str | None,
        on_block: BlockListener | None = None,
        stream: bool = True,
        extra_tools: Sequence[dict[str, Any]] = (),
        skills: Sequence[dict[str, Any]] = (),
        options: Mapping[str, Any] | None = None,
    ) -> Response:
        """Send one request with the code execution tool, streamed unless ``stream`` is False.

        ``on_block`` hears each block start (with the block as sent), each text delta (with the
        text so far) and each block stop (with the finished block); without streaming, each block's
        start and stop once the whole response is in. The container goes as a plain id, and as an
        object only with ``skills``: the object form without skills is refused by the real API
        (reported, pydantic-ai #5167). ``extra_tools`` follow the code execution tool; ``options``
        are further request parameters of the SDK's ``messages.create`` (e.g. ``cache_control``).
        """
        kwargs: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": list(messages),
            "tools": [{"type": tool_version, "name": "code_execution"}, *extra_tools],
            **(options or {}),
        }
        if skills:
            kwargs["container"] = (
                {"id": container_id, "skills": list(skills)} if container_id else {"skills": list(skills)}
            )
        elif container_id:
            kwargs["container"] = container_id
        listener: BlockListener = on_block or (lambda kind, index, block: None)
        errors_for = functools.partial(_translated_errors, timeout=self.timeout, model=model, tool_version=tool_version)
        betas = beta_headers(kwargs)
        # Context editing and compaction exist only on the beta Messages API (``client.beta.messages``).
        api: Any = self._sdk.beta.messages if betas else self._sdk.messages
        if betas:
            kwargs["betas"] = betas
        if not stream:
            with errors_for():
                message = api.create(**kwargs)
            for index, block in enumerate(message.content):
                listener("start", index, _plain(block))
                listener("stop", index, _plain(block))
            return _response(message, getattr(message, "_request_id", None))
        with errors_for(), api.stream(**kwargs) as events:
            for event in events:
                if event.type == "content_block_start":
                    listener("start", event.index, _plain(event.content_block))
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    block = events.current_message_snapshot.content[event.index]
                    listener("text", event.index, {"text": getattr(block, "text", "")})
                elif event.type == "content_block_stop":
                    listener("stop", event.index, _plain(event.content_block))
            message = events.get_final_message()
            request_id = events.request_id
        return _response(message, request_id)

    def count_tokens(
        self,
        *,
        model: str,
        messages: Sequence[dict[str, Any]],
        tool_version: str,
        extra_tools: Sequence[dict[str, Any]] = (),
        options: Mapping[str, Any] | None = None,
    ) -> int:
        """Input tokens the request would have, tools included (``messages.count_tokens``; no container).

        Files in the container are not counted: count_tokens takes no ``container``.
        """
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "tools": [{"type": tool_version, "name": "code_execution"}, *extra_tools],
            **{key: value for key, value in (options or {}).items() if key in _COUNTABLE},
        }
        betas = beta_headers(kwargs)
        with _translated_errors(timeout=self.timeout, model=model, tool_version=tool_version):
            if betas:
                return int(self._sdk.beta.messages.count_tokens(**kwargs, betas=betas).input_tokens)
            return int(self._sdk.messages.count_tokens(**kwargs).input_tokens)


def beta_headers(params: Mapping[str, Any]) -> list[str]:
    """The ``anthropic-beta`` values a request's parameters need (empty: the GA Messages API will do)."""
    needed: list[str] = []
    if params.get("compaction") is not None:
        needed.append(COMPACTION_BETA)
    management = params.get("context_management")
    for edit in (management or {}).get("edits", ()) if isinstance(management, Mapping) else ():
        needed.append(_BETA_EDITS.get(str(edit.get("type")), CONTEXT_MANAGEMENT_BETA))
    return list(dict.fromkeys(needed))
