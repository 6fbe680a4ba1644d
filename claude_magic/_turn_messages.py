"""The messages a turn sends and the ones it keeps in the conversation's history.

Stdlib and our own value modules only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from claude_magic._prompts import describe_attachments
from claude_magic._turn_values import Message
from claude_magic._turns import without_unpaired_tool_uses
from claude_magic.results import Response, UploadedFile


def assistant_message(content: list[dict[str, Any]], last: Response) -> Message:
    """The assistant message to keep: a paused turn whole (it must go back unchanged), else only paired tool uses.

    Client ``tool_use`` blocks left unanswered (no kernel functions, or too many rounds) are
    dropped too, with the code that was waiting for them.
    """
    if last.stop_reason == "pause_turn":
        return {"role": "assistant", "content": content}
    if last.stop_reason == "tool_use":
        content = [block for block in content if block.get("type") != "tool_use"]
    kept = without_unpaired_tool_uses(content) or [{"type": "text", "text": "(stopped before answering)"}]
    return {"role": "assistant", "content": kept}


def has_client_calls(content: Sequence[dict[str, Any]]) -> bool:
    """Whether *content* calls client tools (kernel functions) that wait for a ``tool_result``."""
    return any(block.get("type") == "tool_use" for block in content)


def user_message(prompt: str, attachments: Sequence[UploadedFile], *, committed: bool = False) -> Message:
    """The user turn; as *committed* to history it names the files but holds no ``container_upload`` block.

    ``container_upload`` blocks take effect in the turn being generated (pydantic-ai #7864); once
    the files are in the container, a reference kept in history would only turn into a 404 when
    the file is deleted or expires.
    """
    content: list[dict[str, Any]] = []
    if not committed:
        content = [{"type": "container_upload", "file_id": entry.file_id} for entry in attachments]
    if attachments:
        content.append({"type": "text", "text": describe_attachments(attachments)})
    content.append({"type": "text", "text": prompt})
    return {"role": "user", "content": content}
