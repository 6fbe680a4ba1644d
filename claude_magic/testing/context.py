"""Context management as the stand-in does it: thinking signatures, compaction blocks, context edits.

* Thinking blocks carry a ``signature`` (an HMAC of the thinking text under the stand-in's own
  key) and redacted thinking an opaque ``data`` the stand-in issued; both must come back
  unchanged, or the request is a 400 (the SDK's ``ThinkingBlock.signature`` docstring: "pass
  them back exactly as received").
* A ``compaction`` request (top-level ``compaction={"type": "summarize"}``, beta) answers with one
  ``compaction`` block, alone, and ``stop_reason: "compaction"``; its ``encrypted_content`` is
  checked when it comes back, and the messages before it are dropped from what the model reads
  (api-spec §13 Compaction).
* ``clear_tool_uses_20250919`` (beta ``context-management-2025-06-27``) clears the oldest tool
  results once the input passes its trigger, keeping the newest ``keep`` tool uses; it is applied
  to what the model reads and counts, never to the client's history (api-spec §13 Context editing).

Imports only the standard library.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any

from claude_magic.testing.behaviours import Behaviours
from claude_magic.testing.envelope import bad_request
from claude_magic.testing.history import Block, Conversation, is_result

CONTEXT_BETA = "context-management-2025-06-27"
COMPACT_BETA = "compact-2026-01-12"
CLEARED = "[cleared by context management]"
# Documented defaults of clear_tool_uses_20250919 (doc "Context editing").
DEFAULT_TRIGGER = 100_000
DEFAULT_KEEP = 3


class Signer:
    """Signs what the stand-in hands out, and checks it when it comes back."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, text: str) -> str:
        return base64.b64encode(hmac.new(self._key, text.encode(), hashlib.sha256).digest()).decode()

    def redacted(self, seed: str) -> str:
        """Opaque ``data`` of a redacted thinking block: a signed token."""
        return "redacted:" + self.sign("redacted:" + seed) + ":" + base64.b64encode(seed.encode()).decode()

    def check(self, conversation: Conversation, behaviours: Behaviours) -> None:
        """400 unless every thinking, redacted thinking and compaction block is as the stand-in issued it."""
        for turn in conversation.turns:
            for position, block in enumerate(turn.blocks):
                kind = block["type"]
                where = f"messages.{turn.first}.content.{position}"
                if kind == "thinking" and not hmac.compare_digest(
                    str(block.get("signature") or ""), self.sign(str(block.get("thinking") or ""))
                ):
                    raise bad_request(f"{where}: Invalid `signature` in `thinking` block")
                if kind == "redacted_thinking" and not self._valid_redacted(str(block.get("data") or "")):
                    raise bad_request(f"{where}: Invalid `data` in `redacted_thinking` block")
                if kind == "compaction" and not self._valid_compaction(block):
                    raise bad_request(f"{where}: Invalid `encrypted_content` in `compaction` block")
                if kind == "compaction" and turn.role != "assistant" and behaviours.compaction_placement == "assistant":
                    raise bad_request(f"{where}: `compaction` blocks belong in assistant messages")

    def _valid_redacted(self, data: str) -> bool:
        parts = data.split(":")
        if len(parts) != 3 or parts[0] != "redacted":
            return False
        try:
            seed = base64.b64decode(parts[2]).decode()
        except ValueError:
            return False
        return hmac.compare_digest(parts[1], self.sign("redacted:" + seed))

    def compaction_block(self, summary: str) -> Block:
        """A ``compaction`` block whose ``encrypted_content`` signs its summary."""
        sealed = json.dumps({"summary": summary, "mac": self.sign("compaction:" + summary)})
        return {
            "type": "compaction",
            "content": summary,
            "encrypted_content": base64.b64encode(sealed.encode()).decode(),
        }

    def _valid_compaction(self, block: Block) -> bool:
        try:
            sealed = json.loads(base64.b64decode(str(block.get("encrypted_content") or "")))
        except ValueError:
            return False
        summary = sealed.get("summary") if isinstance(sealed, dict) else None
        return (
            isinstance(summary, str)
            and block.get("content") == summary
            and hmac.compare_digest(str(sealed.get("mac")), self.sign("compaction:" + summary))
        )


def betas(headers: dict[str, str]) -> set[str]:
    """The ``anthropic-beta`` header's values."""
    return {value.strip() for value in headers.get("anthropic-beta", "").split(",") if value.strip()}


def check_params(body: dict[str, Any], headers: dict[str, str]) -> None:
    """400 for beta parameters without their beta header, or combined as the docs forbid."""
    enabled = betas(headers)
    management = body.get("context_management")
    if body.get("compaction") is not None:
        if COMPACT_BETA not in enabled:
            raise bad_request(f"compaction: this parameter needs the `anthropic-beta: {COMPACT_BETA}` header")
        if management is not None:
            raise bad_request("compaction: cannot be combined with `context_management`")
        if not isinstance(body["compaction"], dict) or body["compaction"].get("type") != "summarize":
            raise bad_request("compaction.type: Input should be 'summarize'")
    if management is None:
        return
    edits = management.get("edits") if isinstance(management, dict) else None
    if not isinstance(edits, list):
        raise bad_request("context_management.edits: Input should be a valid list")
    for index, edit in enumerate(edits):
        kind = edit.get("type") if isinstance(edit, dict) else None
        needed = {"clear_tool_uses_20250919": CONTEXT_BETA, "compact_20260112": COMPACT_BETA}.get(str(kind))
        if needed is None:
            raise bad_request(f"context_management.edits.{index}.type: unknown edit type {kind!r}")
        if needed not in enabled:
            raise bad_request(f"context_management: `{kind}` needs the `anthropic-beta: {needed}` header")


def visible_turns(conversation: Conversation) -> list[tuple[str, list[Block]]]:
    """What the model reads: from the last compaction block on (the API drops what came before it)."""
    turns = [(turn.role, list(turn.blocks)) for turn in conversation.turns]
    for index in range(len(turns) - 1, -1, -1):
        role, blocks = turns[index]
        positions = [i for i, block in enumerate(blocks) if block["type"] == "compaction"]
        if positions:
            return [(role, blocks[positions[-1] :]), *turns[index + 1 :]]
    return turns


def clear_tool_uses(
    turns: list[tuple[str, list[Block]]],
    edit: dict[str, Any],
    count: Callable[[list[tuple[str, list[Block]]]], int],
    behaviours: Behaviours,
) -> tuple[list[tuple[str, list[Block]]], dict[str, Any] | None]:
    """Apply one ``clear_tool_uses_20250919`` edit; returns the edited view and the applied-edit report."""
    trigger = (edit.get("trigger") or {}).get("value", DEFAULT_TRIGGER)
    keep = (edit.get("keep") or {}).get("value", DEFAULT_KEEP)
    at_least = (edit.get("clear_at_least") or {}).get("value", 0)
    excluded = set(edit.get("exclude_tools") or ())
    before = count(turns)
    if before <= trigger:
        return turns, None
    uses: list[tuple[str, str]] = []  # (id, name) of tool uses, oldest first
    for _, blocks in turns:
        for block in blocks:
            if block["type"] == "tool_use" or (
                block["type"] == "server_tool_use" and behaviours.clear_server_tool_results == "clear"
            ):
                uses.append((str(block.get("id")), str(block.get("name"))))
    clearable = [use_id for use_id, name in uses if name not in excluded]
    doomed = set(clearable[: max(0, len(clearable) - int(keep))])
    if not doomed:
        return turns, None
    edited = copy.deepcopy(turns)
    for _, blocks in edited:
        for index, block in enumerate(blocks):
            answers = str(block.get("tool_use_id"))
            if answers in doomed and (block["type"] == "tool_result" or is_result(block["type"])):
                blocks[index] = {"type": block["type"], "tool_use_id": answers, "content": CLEARED}
            elif block.get("id") in doomed and edit.get("clear_tool_inputs") is True:
                blocks[index] = {**block, "input": {}}
    cleared = before - count(edited)
    if cleared < at_least:
        return turns, None
    report = {"type": "clear_tool_uses_20250919", "cleared_tool_uses": len(doomed), "cleared_input_tokens": cleared}
    return edited, report


def summary_of(turns: Sequence[tuple[str, Sequence[Block]]], instructions: str | None) -> str:
    """A deterministic stand-in for the model's summary: what the user asked, turn by turn."""
    asked = [
        " ".join(str(b.get("text") or "") for b in blocks if b["type"] == "text").strip()
        for role, blocks in turns
        if role == "user"
    ]
    lines = [f"Summary of {len(turns)} earlier turns (stand-in)."]
    if instructions and instructions.strip():
        lines.append(f"Instructions: {instructions.strip()}")
    lines.extend(f"- The user asked: {text[:200]}" for text in asked if text)
    return "\n".join(lines)
