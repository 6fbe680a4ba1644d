"""Server-sent events for ``stream: true`` (spec §5): the event sequence and its wire framing.

Text arrives in a few ``text_delta`` fragments; a ``server_tool_use`` starts with ``input: {}``
and streams its input as ``input_json_delta`` fragments; result blocks arrive whole in
``content_block_start``. A ``ping`` follows the first block and each tool use, so the client
sees the call before the code runs. ``container`` and the final usage come in ``message_delta``.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from typing import Any

from claude_magic.testing.history import Block
from claude_magic.testing.messages import Prepared

Event = tuple[str, dict[str, Any]]
_PING: Event = ("ping", {"type": "ping"})


def frame(name: str, data: dict[str, Any]) -> bytes:
    """One SSE frame: ``event: <name>`` and ``data: <json>``."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def events(prepared: Prepared) -> Generator[Event, None, None]:
    """The whole stream; blocks (and the code behind them) are produced as it is consumed."""
    yield "message_start", {"type": "message_start", "message": prepared.message([], final=False)}
    for index, block in enumerate(prepared.run.blocks()):
        yield from _block_events(index, block)
        if index == 0 or block["type"] == "server_tool_use":
            yield _PING
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": prepared.run.stop_reason,
                "stop_sequence": None,
                "stop_details": prepared.run.stop_details,
                "container": prepared.container(),
            },
            "usage": prepared.usage(),
            **prepared.management(),
        },
    )
    yield "message_stop", {"type": "message_stop"}


def event_count(blocks: list[Block]) -> int:
    """How many events streaming *blocks* takes (``events`` without running anything)."""
    pings = sum(1 for index, block in enumerate(blocks) if index == 0 or block["type"] == "server_tool_use")
    return 3 + pings + sum(sum(1 for _ in _block_events(index, block)) for index, block in enumerate(blocks))


def error_event(error_type: str, message: str, request_id: str) -> Event:
    """An ``event: error`` payload."""
    return "error", {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}


def _pieces(text: str, count: int = 3) -> list[str]:
    """Split *text* into up to *count* pieces, at spaces where possible."""
    if len(text) < 12:
        return [text]
    size = -(-len(text) // count)
    pieces, start = [], 0
    while start < len(text):
        stop = min(len(text), start + size)
        space = text.rfind(" ", start + 1, stop)
        stop = space + 1 if stop < len(text) and space > start else stop
        pieces.append(text[start:stop])
        start = stop
    return pieces


def _block_events(index: int, block: Block) -> Iterator[Event]:
    kind = block["type"]
    if kind == "text":
        yield _start(index, {"type": "text", "text": "", **({"citations": []} if block.get("citations") else {})})
        for piece in _pieces(block["text"]):
            yield _delta(index, {"type": "text_delta", "text": piece})
        for citation in block.get("citations") or ():
            yield _delta(index, {"type": "citations_delta", "citation": citation})
    elif kind == "thinking":
        yield _start(index, {"type": "thinking", "thinking": "", "signature": ""})
        for piece in _pieces(block["thinking"]):
            yield _delta(index, {"type": "thinking_delta", "thinking": piece})
        yield _delta(index, {"type": "signature_delta", "signature": block["signature"]})
    elif kind == "compaction":
        yield _start(index, {"type": "compaction", "content": None})
        delta = {"content": block.get("content"), "encrypted_content": block.get("encrypted_content")}
        yield _delta(index, {"type": "compaction_delta", **delta})
    elif kind in ("server_tool_use", "tool_use"):
        yield _start(index, {**block, "input": {}})
        yield _delta(index, {"type": "input_json_delta", "partial_json": ""})
        for piece in _pieces(json.dumps(block["input"])):
            yield _delta(index, {"type": "input_json_delta", "partial_json": piece})
    else:
        yield _start(index, block)
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


def _start(index: int, block: Block) -> Event:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> Event:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
