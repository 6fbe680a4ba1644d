"""What the extension itself says to Claude: the note on attached files and the recap of a lost conversation.

Stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from claude_magic._format import human_size
from claude_magic.results import UploadedFile

_RECAP_TEXT_LIMIT = 1_500  # characters of each earlier message kept in a recap


def describe_attachments(attachments: Sequence[UploadedFile]) -> str:
    """The note that tells Claude which files it got and where inputs and outputs go."""
    lines = [
        "Files attached to this message are in the code execution container's input directory: $INPUT_DIR "
        "when that variable is set, else the working directory:"
    ]
    for entry in attachments:
        detail = f" — {entry.description}" if entry.description else ""
        lines.append(f"- {entry.name} ({human_size(entry.size)}, {entry.media_type}){detail}")
    lines.append(
        "Save every file you want to hand back to the user (charts as PNG, tables as CSV, ...) in $OUTPUT_DIR; "
        "files saved there are returned."
    )
    return "\n".join(lines)


def recap(history: Sequence[dict[str, Any]]) -> str:
    """The earlier conversation as plain text, for a new conversation in a new container."""
    lines = [
        "This conversation continues an earlier one whose code execution container was lost: its files and "
        "variables are gone (files attached again are in $INPUT_DIR). What was said before:"
    ]
    for message in history:
        texts = [
            str(block.get("text", ""))
            for block in message.get("content") or ()
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        text = "\n".join(texts).strip()
        if len(text) > _RECAP_TEXT_LIMIT:
            text = text[:_RECAP_TEXT_LIMIT] + " […]"
        if text:
            lines.append(f"[{message.get('role')}] {text}")
    return "\n\n".join(lines)
