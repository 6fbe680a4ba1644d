"""Importing the SDK ahead of the first request (e.g. in a background thread), so the first cell does not wait.

Imports ``anthropic`` lazily, inside ``warm_up``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from claude_magic._client._convert import _plain


def warm_up() -> None:
    """Import the SDK now (about two seconds), e.g. in a background thread, so the first request does not wait.

    Also what the SDK imports on its first request: the streaming helpers and the OpenTelemetry
    propagators its tracing loads (about 0.25 s).
    """
    try:
        import anthropic
        import anthropic.lib.streaming
    except ImportError:  # the first request will say what is missing
        return
    with contextlib.suppress(Exception):  # private helpers of the SDK: best effort
        from anthropic import _tracing
        from anthropic._models import construct_type

        _tracing.trace_context_injector()
        # The SDK builds each model's pydantic schema on first use (~60 ms for a turn's types).
        for event in _WARM_EVENTS:
            parsed = construct_type(type_=anthropic.types.RawMessageStreamEvent, value=event)
            block = getattr(parsed, "content_block", None)
            if block is not None:
                _plain(block)


_WARM_EVENTS: tuple[dict[str, Any], ...] = (
    {
        "type": "message_start",
        "message": {
            "id": "msg_warm",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "warm",
            "stop_reason": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "warm"}},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "server_tool_use", "id": "srvtoolu_warm", "name": "bash_code_execution", "input": {}},
    },
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {
            "type": "bash_code_execution_tool_result",
            "tool_use_id": "srvtoolu_warm",
            "content": {
                "type": "bash_code_execution_result",
                "stdout": "",
                "stderr": "",
                "return_code": 0,
                "content": [],
            },
        },
    },
    {
        "type": "content_block_start",
        "index": 3,
        "content_block": {
            "type": "text_editor_code_execution_tool_result",
            "tool_use_id": "srvtoolu_warm",
            "content": {"type": "text_editor_code_execution_create_result", "is_file_update": False},
        },
    },
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "container": None}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
)
