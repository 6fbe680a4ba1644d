"""Assembling a turn's steps from response blocks as they stream in.

Pure and stdlib only: it reads wire-shaped block dicts (see the code execution tool's block
types) and reports ``StepUpdate`` events; it knows nothing of HTTP or of IPython.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from claude_magic.results import (
    Citation,
    CodeStep,
    EditStep,
    Execution,
    OutputFile,
    Step,
    StepUpdate,
    TextStep,
    ThinkingStep,
    ToolCallStep,
    TurnEvent,
    WebFetchStep,
    WebHit,
    WebSearchStep,
)

EventListener = Callable[[TurnEvent], None]

# Results that become a step's output. Every block carrying ``tool_use_id`` answers a tool use
# (web search, web fetch, tool search, and result types this code has never heard of): pairing
# goes by that id, never by a list of known types.
_CODE_RESULT_TYPES = frozenset(
    {"code_execution_tool_result", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result"}
)
_WEB_RESULT_TYPES = frozenset({"web_search_tool_result", "web_fetch_tool_result"})


class TurnAssembler:
    """Builds the ordered steps of one turn, across the responses of a paused-and-continued turn."""

    def __init__(self, on_event: EventListener | None = None) -> None:
        self.steps: list[Step] = []
        self._on_event = on_event
        self._by_block: dict[int, int] = {}  # block index in the current response -> step index
        self._by_tool_use: dict[str, int] = {}  # server_tool_use id -> step index

    def begin_response(self) -> None:
        """A new response starts: its block indices start again at 0."""
        self._by_block = {}

    def on_block(self, kind: str, index: int, block: dict[str, Any]) -> list[tuple[str, str]]:
        """Take one stream event; returns ``(tool_use_id, file_id)`` pairs of files a result announced."""
        if kind == "text":
            step_index = self._by_block.get(index)
            if step_index is not None:
                self._set(step_index, TextStep(block.get("text", "")), done=False)
            return []
        block_type = block.get("type")
        if block_type == "text":
            text_step = TextStep(block.get("text", ""), citations=_citations(block))
            self._upsert_block(index, text_step, done=kind == "stop")
        elif block_type == "thinking" and (kind == "stop" or block.get("thinking")):
            # Shown whole when it stops (its plan, above the code it leads to); the block stays in history as sent.
            self._upsert_block(index, ThinkingStep(str(block.get("thinking") or "")), done=kind == "stop")
        elif block_type == "redacted_thinking":
            self._upsert_block(index, ThinkingStep("", redacted=True), done=kind == "stop")
        elif block_type == "server_tool_use":
            step = _tool_use_step(block)
            if step is not None:
                self._upsert_block(index, step, done=False)
                self._by_tool_use[step.tool_use_id] = self._by_block[index]
        elif block_type == "tool_use":  # a client tool: one of the kernel's functions
            caller = (block.get("caller") or {}).get("type", "direct")
            call = ToolCallStep(
                str(block.get("id", "")),
                str(block.get("name", "")),
                dict(block.get("input") or {}),
                caller="direct" if caller == "direct" else "code",
            )
            self._upsert_block(index, call, done=False)
            self._by_tool_use[call.tool_use_id] = self._by_block[index]
        elif block_type in _CODE_RESULT_TYPES and kind == "start":
            return self._apply_result(block)
        elif block_type in _WEB_RESULT_TYPES and kind == "start":
            self._apply_web_result(block)
        return []

    def finish_call(self, call: ToolCallStep) -> None:
        """Show what a kernel function returned (or why it failed) on its step."""
        step_index = self._by_tool_use.get(call.tool_use_id)
        if step_index is not None:
            self._set(step_index, call, done=True)

    def _apply_web_result(self, block: dict[str, Any]) -> None:
        step_index = self._by_tool_use.get(str(block.get("tool_use_id", "")))
        if step_index is None:
            return
        step, content = self.steps[step_index], block.get("content")
        if isinstance(step, WebSearchStep):
            if isinstance(content, list):
                hits = tuple(
                    WebHit(str(hit.get("title") or ""), str(hit.get("url") or ""), hit.get("page_age"))
                    for hit in content
                    if isinstance(hit, dict)
                )
                self._set(step_index, replace(step, hits=hits), done=True)
            else:
                code = str((content or {}).get("error_code") or "unavailable")
                self._set(step_index, replace(step, error_code=code), done=True)
        elif isinstance(step, WebFetchStep):
            content = content if isinstance(content, dict) else {}
            if content.get("type") == "web_fetch_result":
                document = content.get("content") or {}
                fetched = replace(
                    step,
                    fetched=True,
                    title=document.get("title"),
                    final_url=content.get("url"),
                    retrieved_at=content.get("retrieved_at"),
                )
                self._set(step_index, fetched, done=True)
            else:
                code = str(content.get("error_code") or "unavailable")
                self._set(step_index, replace(step, error_code=code), done=True)

    def seed(self, content: Sequence[dict[str, Any]]) -> None:
        """Show the tool uses a paused turn left open, so the results that close them land on a step."""
        self.begin_response()
        for index, block in enumerate(content):
            if block.get("type") == "server_tool_use" and block.get("id") in unpaired_tool_uses(content):
                self.on_block("start", -1 - index, block)
        self.begin_response()

    def attach_files(self, tool_use_id: str, files: Sequence[OutputFile]) -> None:
        """Add downloaded files to the step whose execution produced them."""
        step_index = self._by_tool_use.get(tool_use_id)
        if step_index is None:
            return
        step = self.steps[step_index]
        if isinstance(step, CodeStep | EditStep) and step.result is not None:
            result = replace(step.result, files=(*step.result.files, *files))
            self._set(step_index, replace(step, result=result), done=True)

    def pending_tool_uses(self) -> list[str]:
        """Tool uses still waiting for their result block."""
        return [
            tool_use_id
            for tool_use_id, step_index in self._by_tool_use.items()
            if isinstance(step := self.steps[step_index], CodeStep | EditStep) and step.result is None
        ]

    def _apply_result(self, block: dict[str, Any]) -> list[tuple[str, str]]:
        tool_use_id = block.get("tool_use_id", "")
        step_index = self._by_tool_use.get(tool_use_id)
        if step_index is None:
            return []
        step = self.steps[step_index]
        content = block.get("content") or {}
        if isinstance(step, EditStep):
            updated: Step = _edit_result(step, content)
        elif isinstance(step, CodeStep):
            updated = replace(step, result=_execution(content))
        else:
            return []
        self._set(step_index, updated, done=not _file_ids(content))
        return [(tool_use_id, file_id) for file_id in _file_ids(content)]

    def _upsert_block(self, index: int, step: Step, *, done: bool) -> None:
        step_index = self._by_block.get(index)
        if step_index is None:
            step_index = len(self.steps)
            self.steps.append(step)
            self._by_block[index] = step_index
            self._emit(step_index, step, done)
        else:
            self._set(step_index, step, done)

    def _set(self, step_index: int, step: Step, done: bool) -> None:
        self.steps[step_index] = step
        self._emit(step_index, step, done)

    def _emit(self, step_index: int, step: Step, done: bool) -> None:
        if self._on_event is not None:
            self._on_event(StepUpdate(step_index, step, done))


def _tool_use_step(block: dict[str, Any]) -> CodeStep | EditStep | WebSearchStep | WebFetchStep | None:
    name = block.get("name")
    tool_input = block.get("input") or {}
    tool_use_id = block.get("id", "")
    if name == "web_search":
        return WebSearchStep(tool_use_id, str(tool_input.get("query", "")))
    if name == "web_fetch":
        return WebFetchStep(tool_use_id, str(tool_input.get("url", "")))
    if name == "code_execution":
        return CodeStep(tool_use_id, "python", str(tool_input.get("code", "")))
    if name == "bash_code_execution":
        return CodeStep(tool_use_id, "bash", str(tool_input.get("command", "")))
    if name == "text_editor_code_execution":
        return EditStep(
            tool_use_id,
            command=str(tool_input.get("command", "")),
            path=str(tool_input.get("path", "")),
            file_text=tool_input.get("file_text"),
            old_str=tool_input.get("old_str"),
            new_str=tool_input.get("new_str"),
        )
    return None


def _citations(block: dict[str, Any]) -> tuple[Citation, ...]:
    """The sources a text block cites (web search results, fetched documents), in order."""
    found: list[Citation] = []
    for item in block.get("citations") or ():
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        title = item.get("title") or item.get("document_title")
        found.append(
            Citation(str(url) if url else None, str(title) if title else None, str(item.get("cited_text") or ""))
        )
    return tuple(found)


def _execution(content: dict[str, Any]) -> Execution:
    kind = content.get("type", "")
    if kind.endswith("_error"):
        return Execution(error_code=content.get("error_code"), error_message=content.get("error_message"))
    stdout = content.get("stdout")
    if stdout is None and "encrypted_stdout" in content:
        stdout = "(output encrypted by the API)"
    return Execution(
        stdout=stdout or "",
        stderr=content.get("stderr") or "",
        return_code=content.get("return_code"),
        file_ids=tuple(_file_ids(content)),
    )


def _edit_result(step: EditStep, content: dict[str, Any]) -> EditStep:
    kind = content.get("type", "")
    if kind.endswith("_error"):
        return replace(step, result=_execution(content))
    if kind.endswith("view_result"):
        return replace(step, result=Execution(stdout=content.get("content") or "", return_code=0))
    if kind.endswith("create_result"):
        return replace(step, result=Execution(return_code=0), is_file_update=content.get("is_file_update"))
    return replace(step, result=Execution(return_code=0), diff_lines=tuple(content.get("lines") or ()))


def _file_ids(content: dict[str, Any]) -> list[str]:
    return [item["file_id"] for item in content.get("content") or () if isinstance(item, dict) and "file_id" in item]


def unpaired_tool_uses(content: Sequence[dict[str, Any]]) -> set[str]:
    """Ids of ``server_tool_use`` blocks that no block in *content* answers by ``tool_use_id``."""
    used = {block.get("id") for block in content if block.get("type") == "server_tool_use"}
    answered = {block.get("tool_use_id") for block in content if "tool_use_id" in block}
    return {str(tool_use_id) for tool_use_id in used - answered}


def without_unpaired_tool_uses(content: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """*content* minus tool uses that never got a result, so the history stays valid."""
    dangling = unpaired_tool_uses(content)
    return [block for block in content if not (block.get("type") == "server_tool_use" and block.get("id") in dangling)]
