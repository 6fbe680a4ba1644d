"""The scripted model's client tools: ``tool`` and ``program`` steps waiting for their ``tool_result``.

A response that stops with ``tool_use`` is remembered as ``Awaiting``; the request that answers it
(checked in ``messages``) lets the reply go on. ``program`` code runs once the results are in, each
tool an async function returning its result's text (``with_tools``). Also the cited ``text`` block.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claude_magic.testing import server_tools
from claude_magic.testing.history import Block, fingerprint
from claude_magic.testing.script import Reply, Text

if TYPE_CHECKING:
    from claude_magic.testing.model import ToolCall

PROGRAMMATIC_CALLERS = frozenset({"code_execution_20260120", "code_execution_20260521"})


@dataclass
class Awaiting:
    """A response that stopped with ``tool_use``: client tool calls waiting for their ``tool_result``."""

    reply: Reply
    next_step: int
    version: str | None
    container_id: str | None
    calls: tuple[tuple[str, str], ...]  # (tool_use id, tool name), in order
    marks: tuple[tuple[str, str], ...]
    program: ToolCall | None = None  # the code waiting on the calls (programmatic), run once they are answered
    code_after: str | None = None  # the code to run afterwards when the tools were called directly instead
    answered: bool = False

    @property
    def programmatic(self) -> bool:
        """Whether the calls came from code in the sandbox."""
        return self.program is not None

    def ends(self, blocks: Sequence[Block]) -> bool:
        """True when *blocks* end with this response's content."""
        size = len(self.marks)
        return len(blocks) >= size and fingerprint(blocks[len(blocks) - size :]) == self.marks


def text_block(step: Text) -> Block:
    block: Block = {"type": "text", "text": step.text}
    if step.citations:
        block["citations"] = [
            {
                "type": "web_search_result_location",
                "url": cite.url,
                "title": cite.title,
                "cited_text": cite.cited_text,
                "encrypted_index": server_tools.opaque({"url": cite.url}),
            }
            for cite in step.citations
        ]
    return block


_TOOL_PRELUDE = """\
import ast as _ast, asyncio as _asyncio, json as _json
_ANSWERS = _json.loads({answers!r})


def _tool(_name):
    async def call(arguments=None):
        text, is_error = _ANSWERS[_name].pop(0)
        if is_error:
            raise RuntimeError(text)
        return text
    call.__name__ = _name
    return call


"""


def with_tools(code: str, answers: dict[str, list[tuple[str, bool]]]) -> str:
    """*code* made runnable: each tool an async function returning its results in order; top-level await allowed."""
    prelude = _TOOL_PRELUDE.format(answers=json.dumps(answers))
    bindings = "".join(f"{name} = _tool({name!r})\n" for name in answers if name.isidentifier())
    runner = (
        f"_compiled = compile({code!r}, '<cell>', 'exec', flags=_ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)\n"
        "_pending = eval(_compiled, globals())\n"
        "if _asyncio.iscoroutine(_pending):\n"
        "    _asyncio.run(_pending)\n"
    )
    return prelude + bindings + runner
