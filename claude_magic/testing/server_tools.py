"""Server tools other than code execution: the blocks ``web_search``, ``web_fetch`` and tool search emit.

Shapes follow the SDK's models (``anthropic/types/web_search_tool_result_block.py``,
``web_search_result_block.py``, ``web_fetch_tool_result_block.py``, ``web_fetch_block.py``,
``document_block.py``, ``tool_search_tool_result_block.py``, ``tool_reference_block.py``). The
scripted model emits them whether or not the request declares the tool, so a client's handling of
them can be tested without it; nothing is fetched.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from claude_magic.testing.ids import now, rfc3339
from claude_magic.testing.script import ServerTool, ToolSearch, WebFetch, WebSearch

Block = dict[str, Any]

NAMES: dict[type[ServerTool], str] = {
    WebSearch: "web_search",
    WebFetch: "web_fetch",
    ToolSearch: "tool_search_tool_regex",
}


def name(step: ServerTool) -> str:
    """The ``server_tool_use.name`` of *step*."""
    return NAMES[type(step)]


def tool_input(step: ServerTool) -> dict[str, Any]:
    """The ``server_tool_use.input`` of *step*."""
    if isinstance(step, WebFetch):
        return {"url": step.url}
    return {"query": step.query}


def result(step: ServerTool, tool_use_id: str) -> Block:
    """The result block answering the ``server_tool_use`` *tool_use_id* of *step*."""
    if isinstance(step, WebSearch):
        hits = [
            {
                "type": "web_search_result",
                "title": hit.title,
                "url": hit.url,
                "encrypted_content": opaque({"url": hit.url, "query": step.query}),
                "page_age": hit.page_age,
            }
            for hit in step.results
        ]
        return {"type": "web_search_tool_result", "tool_use_id": tool_use_id, "content": hits}
    if isinstance(step, WebFetch):
        document: Block = {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": step.text},
            "title": step.title,
        }
        content = {"type": "web_fetch_result", "url": step.url, "retrieved_at": rfc3339(now()), "content": document}
        return {"type": "web_fetch_tool_result", "tool_use_id": tool_use_id, "content": content}
    references = [{"type": "tool_reference", "tool_name": tool} for tool in step.tools]
    return {
        "type": "tool_search_tool_result",
        "tool_use_id": tool_use_id,
        "content": {"type": "tool_search_tool_search_result", "tool_references": references},
    }


def opaque(data: dict[str, str]) -> str:
    """Stand-in for the API's encrypted page content: opaque to clients, which send it back unchanged."""
    return base64.b64encode(json.dumps(data).encode()).decode()
