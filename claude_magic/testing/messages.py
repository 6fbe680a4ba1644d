"""``POST /v1/messages``: checks a request, sets up its container, and shapes the ``Message``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from claude_magic.testing import history
from claude_magic.testing.containers import Container
from claude_magic.testing.envelope import ApiError, bad_request
from claude_magic.testing.history import Block
from claude_magic.testing.ids import new_id
from claude_magic.testing.model import VERSIONS, ScriptedModel, TurnRun


@dataclass
class Prepared:
    """A checked request and the response run it starts."""

    run: TurnRun
    model: str
    input_tokens: int
    stream: bool
    skills: list[dict[str, str]] = field(default_factory=list)
    id: str = field(default_factory=lambda: new_id("msg", stem="01"))

    def container(self) -> dict[str, Any] | None:
        """The response's ``container`` object, or None when no container was involved."""
        if self.run.container is None:
            return None
        wire: dict[str, Any] = dict(self.run.container.wire())
        if self.skills:
            wire["skills"] = self.skills
        return wire

    def usage(self, *, final: bool = True) -> dict[str, Any]:
        """``usage`` with token counts estimated from text lengths (about 4 characters a token)."""
        spoken = [b for b in self.run.content if b["type"] in ("text", "server_tool_use")]
        output = max(1, len(json.dumps(spoken)) // 4) if final else 1
        usage: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "output_tokens": output,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        if final:
            usage["server_tool_use"] = {
                "web_search_requests": 0,
                "web_fetch_requests": 0,
                "code_execution_requests": self.run.tool_uses,
            }
        return usage

    def message(self, content: list[Block], *, final: bool = True) -> dict[str, Any]:
        """The ``Message`` object; with ``final=False`` the ``message_start`` snapshot."""
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self.run.stop_reason if final else None,
            "stop_sequence": None,
            "stop_details": None,
            "container": self.container() if final else None,
            "usage": {**self.usage(final=final), "service_tier": "standard"},
        }


def prepare(body: object, model: ScriptedModel) -> Prepared:
    """Check *body* and start its response; raises ``ApiError`` before any side effect."""
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise bad_request("model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise bad_request("max_tokens: Field required (an integer >= 1)")
    version = _tool_version(body.get("tools"))
    conversation = history.parse(body.get("messages"))
    container_id, skills = _container_param(body.get("container"))

    paused = None
    if conversation.continues:
        paused = model.find_paused(conversation.turns[-1].blocks)
        if paused is None:
            raise bad_request(
                "The final assistant message is not a paused turn of this stand-in: only a response with "
                '`stop_reason: "pause_turn"`, sent back unchanged as the last message, can be continued.'
            )
        if paused.container_id and container_id is None:
            raise bad_request(
                f"container: the paused turn ran in container `{paused.container_id}`; pass it as "
                "`container` to continue."
            )
        if paused.version != version:
            raise bad_request("tools: continue a paused turn with the same code execution tool it used")
    for turn in conversation.turns[:-1]:
        if turn.role == "assistant" and model.find_paused(turn.blocks, pending_only=True):
            raise bad_request(
                f'messages.{turn.first}: this assistant turn ended with `stop_reason: "pause_turn"`; send it '
                "back as the last message, with no user message after it, to let the model continue."
            )
    uploads = [_upload_file(model, file_id) for file_id in conversation.uploads()]
    if uploads and version is None:
        raise bad_request("container_upload blocks need the code execution tool in `tools`")
    container = model.containers.resolve(container_id) if container_id else None

    if uploads:
        container = container or model.containers.create()
        _copy_uploads(container, uploads)
    if paused is not None:
        run = model.resume(paused, version, container)
    else:
        run = model.start(model.picker.pick(conversation.prompt()), version, container)
    size = len(json.dumps([body.get("system"), body.get("tools"), body.get("messages")]))
    reported = model.picker.script.model or name
    return Prepared(run, reported, max(1, size // 4), bool(body.get("stream")), skills)


def _tool_version(tools: object) -> str | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise bad_request("tools: Input should be a valid list")
    for index, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind.startswith("code_execution_"):
            if kind not in VERSIONS:
                raise bad_request(
                    f"tools.{index}.type: Input tag '{kind}' found using 'type' does not match any of the "
                    f"expected tags: {', '.join(repr(v) for v in VERSIONS)}"
                )
            return kind
    return None


def _container_param(value: object) -> tuple[str | None, list[dict[str, str]]]:
    if value is None:
        return None, []
    if isinstance(value, str):
        return value, []
    if not isinstance(value, dict):
        raise bad_request("container: Input should be a string or an object")
    skills = [
        {"type": str(s.get("type")), "skill_id": str(s.get("skill_id")), "version": str(s.get("version") or "latest")}
        for s in value.get("skills") or []
        if isinstance(s, dict)
    ]
    container_id = value.get("id")
    return (str(container_id) if container_id else None), skills


def _upload_file(model: ScriptedModel, file_id: str) -> tuple[str, bytes]:
    try:
        stored = model.files.get(file_id)
    except ApiError:
        raise bad_request(f"container_upload: File not found: {file_id}") from None
    if stored.is_expired():
        raise ApiError(404, f"File not found: {file_id}", error_code="file_expired")
    return stored.filename, stored.data


def _copy_uploads(container: Container, uploads: list[tuple[str, bytes]]) -> None:
    with container.lock:
        container.input_dir.mkdir(parents=True, exist_ok=True)
        for filename, data in uploads:
            (container.input_dir / filename).write_bytes(data)
