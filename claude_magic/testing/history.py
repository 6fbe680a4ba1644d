"""Checks the ``messages`` of a request the way the real API does (spec §3.6, §4.1).

Consecutive messages of the same role form one turn, as the API merges them. Rules, each a 400
``invalid_request_error``:

* roles are ``user`` / ``assistant``; the first message is the user's; content is a string or a
  non-empty list of blocks with a ``type``;
* every ``server_tool_use`` has its result block later in the same assistant turn, whatever the
  tool; only the last block of a final (paused) assistant turn may lack it. A result block is one
  whose ``type`` ends in ``_tool_result`` (``tool_result`` itself is the client tools'); for the
  names in ``RESULT_TYPES`` it must be that type, for other names any such type;
* every result block follows its ``server_tool_use`` (or, for result types this module does not
  know, an earlier block of any kind with that id, such as an ``mcp_tool_use``);
* client ``tool_use`` blocks are answered by ``tool_result`` blocks in the next user turn;
* ``container_upload`` blocks sit in user turns.

Explicit nulls the SDK re-serialises (``"citations": null``, ``"caller": null``) are accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from claude_magic.testing.envelope import bad_request

RESULT_TYPES = {
    "code_execution": "code_execution_tool_result",
    "bash_code_execution": "bash_code_execution_tool_result",
    "text_editor_code_execution": "text_editor_code_execution_tool_result",
    "web_search": "web_search_tool_result",
    "web_fetch": "web_fetch_tool_result",
    "tool_search_tool_regex": "tool_search_tool_result",
    "tool_search_tool_bm25": "tool_search_tool_result",
}
_RESULT_BLOCKS = set(RESULT_TYPES.values())
CODE_RESULTS = frozenset(
    {"code_execution_tool_result", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result"}
)

Block = dict[str, Any]


def is_result(kind: str) -> bool:
    """True for a server tool's result block type (``*_tool_result``, not the client ``tool_result``)."""
    return kind.endswith("_tool_result")


@dataclass
class Turn:
    """Consecutive messages of one role; ``first`` is the index of the first message."""

    role: str
    first: int
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Conversation:
    """A checked ``messages`` list."""

    turns: list[Turn]

    @property
    def continues(self) -> bool:
        """True when the last turn is the assistant's: a paused turn sent back to go on."""
        return self.turns[-1].role == "assistant"

    @property
    def user_turn(self) -> Turn:
        """The newest user turn."""
        return next(t for t in reversed(self.turns) if t.role == "user")

    def prompt(self) -> str:
        """The text of the newest user turn."""
        return "\n".join(b.get("text") or "" for b in self.user_turn.blocks if b.get("type") == "text")

    def uploads(self) -> list[str]:
        """File ids of ``container_upload`` blocks in the turn being answered (none when continuing)."""
        if self.continues:
            return []
        return [str(b.get("file_id")) for b in self.user_turn.blocks if b.get("type") == "container_upload"]


def parse(messages: object) -> Conversation:
    """Check *messages* and group them into turns; raises a 400 ``ApiError``."""
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages: at least one message is required")
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        role, blocks = _message(index, message)
        if not turns or turns[-1].role != role:
            turns.append(Turn(role, index))
        turns[-1].blocks.extend(blocks)
    if turns[0].role != "user":
        raise bad_request('messages: first message must use the "user" role')
    deferred: set[str] = set()  # code waiting on client tools: its result comes in the next assistant turn
    for position, turn in enumerate(turns):
        final = position == len(turns) - 1
        if turn.role == "assistant":
            deferred = _check_server_tools(turn, final, deferred)
            if not final:
                _check_client_tools(turn, turns[position + 1])
    return Conversation(turns)


def _message(index: int, message: object) -> tuple[str, list[Block]]:
    if not isinstance(message, dict):
        raise bad_request(f"messages.{index}: Input should be a valid dictionary")
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise bad_request(f"messages.{index}.role: Input should be 'user' or 'assistant'")
    content = message.get("content")
    if isinstance(content, str) and content:
        return role, [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise bad_request(f"messages.{index}: all messages must have non-empty content")
    for position, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise bad_request(f"messages.{index}.content.{position}: each content block needs a `type`")
        kind = block["type"]
        if role == "user" and (kind == "server_tool_use" or is_result(kind)):
            raise bad_request(f"messages.{index}.content.{position}: `{kind}` blocks belong in assistant messages")
        if role == "assistant" and kind in ("container_upload", "tool_result"):
            raise bad_request(f"messages.{index}.content.{position}: `{kind}` blocks belong in user messages")
    return role, list(content)


def _check_server_tools(turn: Turn, final: bool, carried: set[str]) -> set[str]:
    """Check one assistant turn; returns the tool uses it defers to the next one (code waiting on client tools).

    A ``server_tool_use`` named as the ``caller`` of a client ``tool_use`` in the same turn is
    answered after the ``tool_result`` message: at the start of the next assistant turn (doc-PTC).
    """
    open_uses: dict[str, str] = dict.fromkeys(carried, "code_execution")
    other_ids: set[str] = set()  # earlier blocks with an id that are not server tool uses
    waiting = {
        str((b.get("caller") or {}).get("tool_id"))
        for b in turn.blocks
        if b["type"] == "tool_use" and (b.get("caller") or {}).get("tool_id")
    }
    for block in turn.blocks:
        kind = block["type"]
        if kind == "server_tool_use":
            open_uses[str(block.get("id"))] = str(block.get("name"))
        elif is_result(kind):
            use_id = str(block.get("tool_use_id"))
            name = open_uses.pop(use_id, None)
            if name is None and kind not in _RESULT_BLOCKS and use_id in other_ids:
                continue
            if name is None or RESULT_TYPES.get(name, kind) != kind:
                raise bad_request(
                    f"messages.{turn.first}: unexpected `tool_use_id` found in `{kind}` blocks: {use_id}. "
                    f"Each `{kind}` block must have a corresponding `server_tool_use` block before it."
                )
        elif isinstance(block.get("id"), str):
            other_ids.add(block["id"])
    last = turn.blocks[-1]
    deferred = {use_id for use_id in open_uses if use_id in waiting and not final}
    for use_id, name in open_uses.items():
        if use_id in deferred or (final and use_id in waiting):
            continue
        if final and last["type"] == "server_tool_use" and last.get("id") == use_id:
            continue
        result = RESULT_TYPES.get(name, f"{name}_tool_result")
        raise bad_request(f"`{name}` tool use with id `{use_id}` was found without a corresponding `{result}` block")
    return deferred


def _check_client_tools(turn: Turn, following: Turn) -> None:
    wanted = [str(b.get("id")) for b in turn.blocks if b["type"] == "tool_use"]
    answered = {str(b.get("tool_use_id")) for b in following.blocks if b["type"] == "tool_result"}
    missing = [i for i in wanted if i not in answered]
    if missing:
        raise bad_request(
            f"messages.{following.first}: `tool_use` ids were found without `tool_result` blocks immediately "
            f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` "
            "block in the next message."
        )


def fingerprint(blocks: Sequence[Block]) -> tuple[tuple[str, str], ...]:
    """What identifies a run of blocks when the SDK sends it back (it adds nulls, keeps ids and text)."""
    marks = []
    for block in blocks:
        kind = str(block.get("type"))
        key = block.get("id") or block.get("tool_use_id") or block.get("text") or block.get("file_id") or ""
        marks.append((kind, str(key)))
    return tuple(marks)
