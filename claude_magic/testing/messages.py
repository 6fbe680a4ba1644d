"""``POST /v1/messages``: checks a request, sets up its container, and shapes the ``Message``.

The checks whose answer the docs leave open follow the model's ``Behaviours`` (see ``behaviours``).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from claude_magic.testing import caching, context, history, versions
from claude_magic.testing.behaviours import Behaviours
from claude_magic.testing.caching import CacheUsage
from claude_magic.testing.client_tools import Awaiting
from claude_magic.testing.containers import Container, ContainerStore
from claude_magic.testing.envelope import ApiError, bad_request
from claude_magic.testing.history import Block, Conversation
from claude_magic.testing.ids import new_id
from claude_magic.testing.model import ScriptedModel, TurnRun

MAX_REQUEST_BYTES = 32_000_000  # "Messages API 32 MB, Token Counting API 32 MB" (doc "Request size limits"): 413
_EFFORTS = ("low", "medium", "high", "xhigh", "max")


class CompactionRun:
    """The response to a compaction request: one ``compaction`` block, ``stop_reason: "compaction"``."""

    def __init__(self, block: Block, container: Container | None) -> None:
        self.block = block
        self.container = container
        self.content: list[Block] = []
        self.stop_reason = "compaction"
        self.stop_details: dict[str, Any] | None = None
        self.thinking = False
        self.uses: collections.Counter[str] = collections.Counter()
        self.code_tool_uses = 0

    def blocks(self) -> Iterator[Block]:
        self.content.append(self.block)
        yield self.block


@dataclass
class Prepared:
    """A checked request and the response run it starts."""

    run: TurnRun | CompactionRun
    model: str
    split: CacheUsage
    stream: bool
    store: ContainerStore
    behaviours: Behaviours
    skills: list[dict[str, str]] = field(default_factory=list)
    id: str = field(default_factory=lambda: new_id("msg", stem="01"))
    applied_edits: list[dict[str, Any]] | None = None  # None: the request had no context_management

    @property
    def input_tokens(self) -> int:
        """Every input token of the request, cached or not."""
        return self.split.input_tokens + self.split.cache_read_input_tokens + self.split.cache_creation_input_tokens

    def container(self) -> dict[str, Any] | None:
        """The response's ``container`` object, or None when no container was involved."""
        if self.run.container is None:
            return None
        wire: dict[str, Any] = dict(self.store.wire(self.run.container))
        if self.skills:
            wire["skills"] = self.skills
        return wire

    def usage(self, *, final: bool = True) -> dict[str, Any]:
        """``usage`` with token counts estimated from text lengths (about 4 characters a token)."""
        spoken = [b for b in self.run.content if not history.is_result(b["type"])]
        output = max(1, len(json.dumps(spoken)) // 4) if final else 1
        usage: dict[str, Any] = {**self.split.wire(), "output_tokens": output}
        if final:
            counts = {
                "web_search_requests": self.run.uses["web_search"],
                "web_fetch_requests": self.run.uses["web_fetch"],
            }
            if self.behaviours.usage_code_execution_requests:  # the doc example's field; not in the SDK
                counts["code_execution_requests"] = self.run.code_tool_uses
            usage["server_tool_use"] = counts
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
            "stop_details": self.run.stop_details if final else None,
            "container": self.container() if final else None,
            "usage": {**self.usage(final=final), "service_tier": "standard"},
            **self.management(),
        }

    def management(self) -> dict[str, Any]:
        """``context_management`` (beta) when the request asked for it."""
        if self.applied_edits is None:
            return {}
        return {"context_management": {"applied_edits": self.applied_edits}}


def prepare(body: object, model: ScriptedModel, headers: dict[str, str] | None = None) -> Prepared:
    """Check *body* and start its response; raises ``ApiError`` before any side effect."""
    behaviours = model.behaviours
    headers = headers or {}
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise bad_request("model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise bad_request("max_tokens: Field required (an integer >= 1)")
    tool = versions.tool_version(body.get("tools"))
    version = tool[1] if tool else None
    if tool and behaviours.tool_versions_by_model == "enforce" and (refused := versions.refusal(name, *tool)):
        raise refused
    context.check_params(body, headers)
    _check_cache_control(body.get("cache_control"))
    thinking = _thinking(body.get("thinking"), max_tokens)
    _check_effort(body.get("output_config"))
    conversation = history.parse(body.get("messages"))
    model.signer.check(conversation, behaviours)
    container_id, requested_skills = _container_param(body.get("container"), behaviours)
    skills = model.skills.resolve(requested_skills, has_code_tool=version is not None)
    compacting = body.get("compaction") is not None

    paused = None
    if conversation.continues and not compacting:
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
        earlier = model.find_paused(turn.blocks, pending_only=True) if turn.role == "assistant" else None
        if earlier and (earlier.open_call is not None or behaviours.user_after_text_pause == "reject"):
            raise bad_request(
                f'messages.{turn.first}: this assistant turn ended with `stop_reason: "pause_turn"`; send it '
                "back as the last message, with no user message after it, to let the model continue."
            )
    if container_id is None and behaviours.history_without_container == "reject":
        _check_history_has_no_code(conversation)
    uploads = [_upload_file(model, file_id) for file_id in conversation.uploads()]
    if behaviours.stale_upload_refs == "validate":
        _check_earlier_uploads(model, conversation)
    if uploads and version is None:
        raise bad_request("container_upload blocks need the code execution tool in `tools`")
    container = model.containers.resolve(container_id) if container_id else None

    if skills:  # skills are loaded into the container, so a request with them always has one
        container = container or model.containers.create()
    if uploads:
        container = container or model.containers.create()
        target = model.input_dir(container, version) or container.path
        with container.lock:
            target.mkdir(parents=True, exist_ok=True)
            for filename, data in uploads:
                (target / filename).write_bytes(data)
    visible, applied = read_context(body, name, conversation, model)
    found = caching.units(name, body.get("tools"), body.get("system"), visible)
    declared = _declared_tools(body.get("tools"))
    awaiting = _answered_calls(conversation, model)
    run: TurnRun | CompactionRun
    if compacting:
        instructions = body["compaction"].get("instructions")
        run = CompactionRun(model.signer.compaction_block(context.summary_of(visible, instructions)), container)
    elif paused is not None:
        run = model.resume(paused, version, container)
    elif awaiting is not None:
        results = _check_tool_results(conversation, awaiting, container_id, version, declared)
        run = model.answer(awaiting, results, version, container)
    else:
        run = model.start(model.picker.pick(conversation.prompt()), version, container)
        run.preface = _auto_compaction(body, found, visible, model)
    run.thinking = thinking
    split = model.cache.account(found, body.get("cache_control"))
    if isinstance(run, TurnRun):
        run.declared = declared
    reported = model.picker.script.model or name
    stream = bool(body.get("stream"))
    return Prepared(run, reported, split, stream, model.containers, behaviours, skills, applied_edits=applied)


def read_context(
    body: dict[str, Any], name: str, conversation: Conversation, model: ScriptedModel
) -> tuple[list[tuple[str, list[Block]]], list[dict[str, Any]] | None]:
    """What the model reads (after compaction blocks and context edits) and the edits applied."""
    visible = context.visible_turns(conversation)
    management = body.get("context_management")
    if not isinstance(management, dict):
        return visible, None

    def count(turns: list[tuple[str, list[Block]]]) -> int:
        units = caching.units(name, body.get("tools"), body.get("system"), turns)
        return units[-1].cumulative if units else 0

    applied: list[dict[str, Any]] = []
    for edit in management.get("edits") or []:
        if edit.get("type") == "clear_tool_uses_20250919":
            visible, report = context.clear_tool_uses(visible, edit, count, model.behaviours)
            if report is not None:
                applied.append(report)
    return visible, applied


def count_tokens(body: object, model: ScriptedModel, headers: dict[str, str]) -> dict[str, Any]:
    """``POST /v1/messages/count_tokens``: the request's input tokens, tools and edits included (no container)."""
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise bad_request("model: Field required")
    if "container" in body:
        raise bad_request("container: Extra inputs are not permitted")
    context.check_params(body, headers)
    _thinking(body.get("thinking"), None)
    conversation = history.parse(body.get("messages"))
    model.signer.check(conversation, model.behaviours)
    original = caching.units(name, body.get("tools"), body.get("system"), context.visible_turns(conversation))
    visible, applied = read_context(body, name, conversation, model)
    found = caching.units(name, body.get("tools"), body.get("system"), visible)
    result: dict[str, Any] = {"input_tokens": found[-1].cumulative if found else 0}
    if applied is not None:
        result["context_management"] = {"original_input_tokens": original[-1].cumulative if original else 0}
    return result


def _auto_compaction(
    body: dict[str, Any], found: list[caching.Unit], visible: list[tuple[str, list[Block]]], model: ScriptedModel
) -> list[Block]:
    """The ``compact_20260112`` edit: past its trigger, the response opens with a compaction block."""
    management = body.get("context_management")
    for edit in (management or {}).get("edits") or [] if isinstance(management, dict) else []:
        if edit.get("type") != "compact_20260112":
            continue
        trigger = (edit.get("trigger") or {}).get("value", 150_000)
        if found and found[-1].cumulative > trigger:
            return [model.signer.compaction_block(context.summary_of(visible, edit.get("instructions")))]
    return []


def _check_cache_control(value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise bad_request("cache_control.type: Input should be 'ephemeral'")
    if value.get("ttl", "5m") not in ("5m", "1h"):
        raise bad_request("cache_control.ttl: Input should be '5m' or '1h'")


def _thinking(value: object, max_tokens: int | None) -> bool:
    """Whether the request enables thinking; 400 for a malformed ``thinking``."""
    if value is None:
        return False
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("enabled", "adaptive", "between_tools", "disabled"):
        raise bad_request("thinking.type: Input should be 'enabled', 'adaptive', 'between_tools' or 'disabled'")
    assert isinstance(value, dict)
    if kind == "enabled":
        budget = value.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
            raise bad_request("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if max_tokens is not None and budget >= max_tokens:
            raise bad_request("max_tokens must be greater than thinking.budget_tokens")
    return kind in ("enabled", "adaptive", "between_tools")


def _check_effort(value: object) -> None:
    if value is None:
        return
    effort = value.get("effort") if isinstance(value, dict) else "?"
    if effort is not None and effort not in _EFFORTS:
        raise bad_request(f"output_config.effort: Input should be one of {', '.join(map(repr, _EFFORTS))}")


def _container_param(value: object, behaviours: Behaviours) -> tuple[str | None, list[dict[str, str]]]:
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
    if not skills and behaviours.container_dict_without_skills == "reject":
        raise bad_request("container: Input should be a valid string")  # reported: pydantic-ai #5167
    container_id = value.get("id")
    return (str(container_id) if container_id else None), skills


def _check_history_has_no_code(conversation: Conversation) -> None:
    for turn in conversation.turns:
        if turn.role == "assistant" and any(b["type"] in history.CODE_RESULTS for b in turn.blocks):
            raise bad_request(
                f"container: messages.{turn.first} holds code execution results, so this conversation runs in "
                "a container; pass that container's id as `container` to continue it."
            )


def _upload_file(model: ScriptedModel, file_id: str) -> tuple[str, bytes]:
    try:
        stored = model.files.get(file_id)
    except ApiError:
        raise bad_request(f"container_upload: File not found: {file_id}") from None
    if stored.is_expired():
        raise ApiError(404, f"File not found: {file_id}", error_code="file_expired")
    return stored.filename, stored.data


def _check_earlier_uploads(model: ScriptedModel, conversation: Conversation) -> None:
    """404 for a ``container_upload`` outside the turn being answered that names a file now gone."""
    answered = None if conversation.continues else conversation.user_turn
    for turn in conversation.turns:
        if turn.role != "user" or turn is answered:
            continue
        for block in turn.blocks:
            if block["type"] != "container_upload":
                continue
            file_id = str(block.get("file_id"))
            stored = model.files.files.get(file_id)
            if stored is None:
                raise ApiError(404, f"File not found: {file_id}")
            if stored.is_expired():
                raise ApiError(404, f"File not found: {file_id}", error_code="file_expired")


def _declared_tools(tools: object) -> dict[str, set[str]]:
    """Tool name -> allowed callers, for every tool the request declares."""
    declared: dict[str, set[str]] = {}
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            declared[tool["name"]] = set(tool.get("allowed_callers") or ["direct"])
    return declared


def _answered_calls(conversation: Conversation, model: ScriptedModel) -> Awaiting | None:
    """The ``tool_use`` response the newest user turn answers with ``tool_result`` blocks, if any."""
    if conversation.continues or len(conversation.turns) < 2:
        return None
    if not any(b["type"] == "tool_result" for b in conversation.turns[-1].blocks):
        return None
    awaiting = model.find_awaiting(conversation.turns[-2].blocks)
    if awaiting is None:
        ids = [str(b.get("tool_use_id")) for b in conversation.turns[-1].blocks if b["type"] == "tool_result"]
        raise bad_request(
            f"messages.{conversation.turns[-1].first}: unexpected `tool_use_id` found in `tool_result` blocks: "
            f"{', '.join(ids)}. Each `tool_result` block must have a corresponding `tool_use` block in the "
            "previous message."
        )
    return awaiting


def _check_tool_results(
    conversation: Conversation, awaiting: Awaiting, container_id: str | None, version: str | None,
    declared: dict[str, set[str]],
) -> dict[str, tuple[str, bool]]:  # fmt: skip
    """The rules for tool results (doc-STOP "tool_use", doc-PTC); returns id -> (text, is_error)."""
    turn = conversation.turns[-1]
    where = f"messages.{turn.first}"
    wanted = {tool_id for tool_id, _ in awaiting.calls}
    results: dict[str, tuple[str, bool]] = {}
    seen_other = False
    for block in turn.blocks:
        if block["type"] != "tool_result":
            seen_other = True
            if awaiting.programmatic:
                raise bad_request(
                    f"{where}: the message answering programmatic tool calls must contain only `tool_result` "
                    f"blocks, found `{block['type']}`"
                )
            continue
        if seen_other:
            raise bad_request(f"{where}: `tool_result` blocks must come first in the message, before any other")
        tool_id = str(block.get("tool_use_id"))
        if tool_id not in wanted or tool_id in results:
            raise bad_request(
                f"{where}: `tool_result` for `{tool_id}`, which no `tool_use` of the previous message has"
            )
        results[tool_id] = (_result_text(block, where, strict=awaiting.programmatic), bool(block.get("is_error")))
    if awaiting.container_id and container_id is None:
        what = "programmatic tool calls are pending" if awaiting.programmatic else "the turn ran code"
        raise bad_request(f"container: {what} in container `{awaiting.container_id}`; pass it as `container`")
    if awaiting.version != version:
        raise bad_request("tools: answer tool calls with the same code execution tool the turn used")
    for _, name in awaiting.calls:
        if name not in declared:
            raise bad_request(f"tools: the conversation calls `{name}`, but no `{name}` tool was provided")
    return results


def _result_text(block: Block, where: str, *, strict: bool) -> str:
    content = block.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise bad_request(f"{where}: `tool_result.content` must be a string or a list of blocks")
    texts = []
    for item in content:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind != "text":
            if strict:
                raise bad_request(f"{where}: programmatic tool results may hold only text, not `{kind}` blocks")
            continue
        texts.append(str(item.get("text") or ""))
    return "\n".join(texts)
