"""The scripted model: turns a reply's steps into content blocks, running the code for real.

Steps are adapted to the request's code execution tool version (see docs/script-format.md):

* ``code_execution_20250522``: everything is Python (``code_execution``); ``bash`` and ``editor``
  steps become Python that does the same.
* ``code_execution_20250825``: ``python`` becomes a text-editor ``create`` of ``/tmp/cell_<n>.py``
  plus ``bash_code_execution`` running it; ``bash`` and ``editor`` use their sub-tools.
* ``_20260120`` / ``_20260521``: ``python`` runs as ``code_execution`` in the container's
  long-lived interpreter (``repl``), so Python state carries over from one execution to the next
  until the container is restored from a checkpoint; ``bash`` and ``editor`` use their sub-tools.
* no code execution tool: code steps are skipped and a closing text says so.

``web_search``, ``web_fetch`` and ``tool_search`` steps emit their server tool use and result
(``server_tools``) with any tool version or none.

``tool`` and ``program`` steps emit client ``tool_use`` blocks (the latter with a code-execution
``caller`` when the request allows it) and stop with ``tool_use``; see ``client_tools``.

A ``pause`` step ends the response with ``pause_turn``. When it directly follows a code or server
tool step, the last ``server_tool_use`` of that step is left open (as the real API does) and its code runs when
the paused turn is sent back; its result block then opens the next response.
"""

from __future__ import annotations

import collections
import itertools
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_magic.testing import editor, server_tools
from claude_magic.testing.behaviours import Behaviours
from claude_magic.testing.caching import PromptCache
from claude_magic.testing.client_tools import PROGRAMMATIC_CALLERS, Awaiting, text_block, with_tools
from claude_magic.testing.containers import Container, ContainerStore
from claude_magic.testing.context import Signer
from claude_magic.testing.files import MAX_FILE_BYTES, FileStore
from claude_magic.testing.history import Block, fingerprint
from claude_magic.testing.ids import new_id
from claude_magic.testing.repl import Interpreter
from claude_magic.testing.sandbox import Sandbox
from claude_magic.testing.script import (
    Bash,
    Editor,
    Pause,
    Program,
    Python,
    Reply,
    ReplyPicker,
    Script,
    ServerTool,
    Step,
    Stop,
    Text,
    Thinking,
    ToolSearch,
    ToolUse,
    WebFetch,
    WebSearch,
)
from claude_magic.testing.skills import SkillStore
from claude_magic.testing.versions import BASH_EDITOR, LEGACY, REPL_VERSIONS


@dataclass
class ToolCall:
    """One ``server_tool_use``: its id, sub-tool name and input."""

    name: str
    input: dict[str, Any]
    id: str = field(default_factory=lambda: new_id("srvtoolu"))
    refused: bool = False  # answer with ``invalid_tool_input`` instead of running
    step: ServerTool | None = None  # a web or tool-search step: its result is scripted, nothing runs

    def block(self, version: str | None) -> Block:
        block: Block = {"type": "server_tool_use", "id": self.id, "name": self.name, "input": self.input}
        if version != LEGACY:
            block["caller"] = {"type": "direct"}
        return block


@dataclass
class Paused:
    """A response that ended with ``pause_turn``, waiting to be sent back."""

    reply: Reply
    next_step: int
    version: str | None
    container_id: str | None
    open_call: ToolCall | None
    marks: tuple[tuple[str, str], ...]
    continued: bool = False

    def ends(self, blocks: Sequence[Block]) -> bool:
        """True when *blocks* end with this paused response's content."""
        size = len(self.marks)
        return len(blocks) >= size and fingerprint(blocks[len(blocks) - size :]) == self.marks


class ScriptedModel:
    """Picks replies, keeps paused turns, and runs code through the sandbox."""

    def __init__(
        self, script: Script, sandbox: Sandbox, containers: ContainerStore, files: FileStore, behaviours: Behaviours
    ) -> None:
        self.sandbox = sandbox
        self.containers = containers
        self.files = files
        self.behaviours = behaviours
        self.picker = ReplyPicker(script)
        self.skills = SkillStore()
        self._paused: list[Paused] = []
        self._awaiting: list[Awaiting] = []
        self._lock = threading.Lock()
        self._cells = itertools.count(1)
        self.signer = Signer(secrets.token_bytes(32))
        self.cache = PromptCache(behaviours)

    def set_script(self, script: Script) -> None:
        """Use *script* from now on (its unmatched replies start from the first)."""
        self.picker = ReplyPicker(script)

    def find_paused(self, blocks: Sequence[Block], *, pending_only: bool = False) -> Paused | None:
        """The paused response that *blocks* end with, if any (the longest match)."""
        with self._lock:
            hits = [p for p in self._paused if p.ends(blocks) and not (pending_only and p.continued)]
        return max(hits, key=lambda p: len(p.marks), default=None)

    def remember(self, paused: Paused | Awaiting) -> None:
        with self._lock:
            if isinstance(paused, Awaiting):
                self._awaiting.append(paused)
            else:
                self._paused.append(paused)

    def find_awaiting(self, blocks: Sequence[Block]) -> Awaiting | None:
        """The ``tool_use`` response that *blocks* end with, if any."""
        with self._lock:
            hits = [a for a in self._awaiting if a.ends(blocks)]
        return max(hits, key=lambda a: len(a.marks), default=None)

    def answer(
        self, awaiting: Awaiting, results: dict[str, tuple[str, bool]], version: str | None, container: Container | None
    ) -> TurnRun:
        """The response after the tool results of *awaiting* came back."""
        awaiting.answered = True
        run = TurnRun(self, awaiting.reply, awaiting.next_step, version, container, None)
        run.answered = (awaiting, results)
        return run

    def start(self, reply: Reply, version: str | None, container: Container | None) -> TurnRun:
        """A new response for *reply*."""
        return TurnRun(self, reply, 0, version, container, None)

    def resume(self, paused: Paused, version: str | None, container: Container | None) -> TurnRun:
        """The response continuing *paused*."""
        paused.continued = True
        return TurnRun(self, paused.reply, paused.next_step, version, container, paused.open_call)

    def next_cell(self) -> int:
        return next(self._cells)

    def input_dir(self, container: Container, version: str | None) -> Path | None:
        """Where uploads land for *version*: ``$INPUT_DIR``, or the working directory (then None)."""
        if version in REPL_VERSIONS and self.behaviours.repl_input_dir == "cwd":
            return None
        return container.input_dir


class TurnRun:
    """One response in the making: iterate ``blocks()``, then read ``stop_reason`` and ``container``."""

    def __init__(
        self,
        model: ScriptedModel,
        reply: Reply,
        start: int,
        version: str | None,
        container: Container | None,
        open_call: ToolCall | None,
    ) -> None:
        self.model = model
        self.reply = reply
        self.start = start
        self.version = version
        self.container = container
        self.open_call = open_call
        self.content: list[Block] = []
        self.stop_reason = "end_turn"
        self.stop_details: dict[str, Any] | None = None
        self.thinking = False  # the request enables thinking: thinking steps are emitted
        self.preface: list[Block] = []  # blocks opening the response (a compaction block from the compact edit)
        self.uses: collections.Counter[str] = collections.Counter()  # server tool uses by name
        self.declared: dict[str, set[str]] = {}  # tool name in the request -> its allowed callers
        self.answered: tuple[Awaiting, dict[str, tuple[str, bool]]] | None = None  # tool results to go on with

    def blocks(self) -> Iterator[Block]:
        """Produce the content blocks one by one; code runs between a tool use and its result."""
        for block in self._produce():
            self.content.append(block)
            if block["type"] == "server_tool_use":
                self.uses[str(block["name"])] += 1
            yield block

    @property
    def code_tool_uses(self) -> int:
        """How many code execution tool uses this response holds."""
        return sum(n for name, n in self.uses.items() if name not in server_tools.NAMES.values())

    def _produce(self) -> Iterator[Block]:
        yield from self.preface
        if self.open_call is not None:
            yield self._execute(self.open_call)
        if self.answered is not None:
            yield from self._after_tools(*self.answered)
        steps = self.reply.steps
        skipped = undeclared = 0
        index = self.start
        while index < len(steps):
            step = steps[index]
            pause_next = index + 1 < len(steps) and isinstance(steps[index + 1], Pause)
            if isinstance(step, Pause):
                if self.content:
                    self._pause(index + 1, None)
                    return
            elif isinstance(step, Text):
                yield text_block(step)
            elif isinstance(step, Stop):
                self.stop_reason = step.reason
                if step.reason == "refusal":
                    self.stop_details = {
                        "type": "refusal",
                        "category": step.category,
                        "explanation": step.explanation,
                    }
                return
            elif isinstance(step, Thinking):
                if self.thinking:
                    yield self._thinking(step, index)
            elif isinstance(step, ToolUse | Program):
                yield from self._client_calls(step, index + 1)
                return
            elif isinstance(step, WebSearch | WebFetch | ToolSearch) and not self._may_use(step):
                undeclared += 1
            elif isinstance(step, WebSearch | WebFetch | ToolSearch):
                call = ToolCall(server_tools.name(step), server_tools.tool_input(step), step=step)
                yield call.block(self.version)
                if pause_next:
                    self._pause(index + 2, call)
                    return
                yield self._execute(call)
            elif self.version is None:
                skipped += 1
            else:
                calls = self._plan(step)
                for position, call in enumerate(calls):
                    yield call.block(self.version)
                    if pause_next and position == len(calls) - 1:
                        self._pause(index + 2, call)
                        return
                    yield self._execute(call)
            index += 1
        if skipped:
            yield {
                "type": "text",
                "text": f"(stand-in) Skipped {skipped} code step(s): the request declares no code execution tool.",
            }
        if undeclared:
            yield {
                "type": "text",
                "text": f"(stand-in) Skipped {undeclared} server tool step(s): the request does not declare the tool.",
            }

    def _may_use(self, step: ServerTool) -> bool:
        """Whether the scripted model may use this server tool (see the ``undeclared_server_tools`` behaviour)."""
        return self.model.behaviours.undeclared_server_tools == "emit" or server_tools.name(step) in self.declared

    def _client_calls(self, step: ToolUse | Program, next_step: int) -> Iterator[Block]:
        """``tool_use`` blocks (from Claude, or from code in the sandbox), then stop with ``tool_use``."""
        calls = (step,) if isinstance(step, ToolUse) else step.calls
        programmatic = (
            isinstance(step, Program)
            and self.version in PROGRAMMATIC_CALLERS
            and all(self.declared.get(call.name, set()) & PROGRAMMATIC_CALLERS for call in calls)
        )
        program = None
        if programmatic:
            assert isinstance(step, Program)
            program = ToolCall("code_execution", {"code": step.code})
            self._container()
            yield program.block(self.version)
        ids = []
        for call in calls:
            block: Block = {"type": "tool_use", "id": new_id("toolu"), "name": call.name, "input": call.input}
            if program is not None:
                block["caller"] = {"type": "code_execution_20260120", "tool_id": program.id}
            elif self.version != LEGACY:
                block["caller"] = {"type": "direct"}
            ids.append((str(block["id"]), call.name))
            yield block
        self.stop_reason = "tool_use"
        code_after = step.code if isinstance(step, Program) and program is None else None
        container_id = self.container.id if self.container else None
        # ``blocks()`` has appended every yielded block by the time this generator resumes.
        marks = fingerprint(self.content)
        awaiting = Awaiting(self.reply, next_step, self.version, container_id, tuple(ids), marks, program, code_after)
        self.model.remember(awaiting)

    def _after_tools(self, awaiting: Awaiting, results: dict[str, tuple[str, bool]]) -> Iterator[Block]:
        """Run the code that waited on (or follows) the tool calls, with their results."""
        code = awaiting.program.input["code"] if awaiting.program is not None else awaiting.code_after
        if code is None:
            return
        answers: dict[str, list[tuple[str, bool]]] = {}
        for tool_id, name in awaiting.calls:
            answers.setdefault(name, []).append(results[tool_id])
        runnable = with_tools(str(code), answers)
        if awaiting.program is not None:
            call = ToolCall("code_execution", {"code": runnable}, id=awaiting.program.id)
            yield self._execute(call)
            return
        if self.version is None:
            return
        for call in self._plan(Python(runnable)):
            yield call.block(self.version)
            yield self._execute(call)

    def _thinking(self, step: Thinking, index: int) -> Block:
        signer = self.model.signer
        if step.redacted:
            return {"type": "redacted_thinking", "data": signer.redacted(f"{index}:{new_id('think')}")}
        return {"type": "thinking", "thinking": step.text, "signature": signer.sign(step.text)}

    def _pause(self, next_step: int, open_call: ToolCall | None) -> None:
        self.stop_reason = "pause_turn"
        container_id = self.container.id if self.container else None
        marks = fingerprint(self.content)
        self.model.remember(Paused(self.reply, next_step, self.version, container_id, open_call, marks))

    def _container(self) -> Container:
        if self.container is None:
            self.container = self.model.containers.create()
        return self.container

    def _plan(self, step: Step) -> list[ToolCall]:
        container = self._container()
        if isinstance(step, Python):
            if self.version != BASH_EDITOR:
                return [ToolCall("code_execution", {"code": step.code})]
            cell = self.model.next_cell()
            path = f"/tmp/cell_{cell}.py" if self.model.sandbox.maps_tmp else f"tmp/cell_{cell}.py"
            return [
                ToolCall("text_editor_code_execution", {"command": "create", "path": path, "file_text": step.code}),
                ToolCall("bash_code_execution", {"command": f"python {path}"}),
            ]
        if isinstance(step, Bash):
            if self.version == LEGACY:
                code = (
                    "import subprocess\n\n"
                    f"completed = subprocess.run({step.command!r}, shell=True, executable='/bin/bash')\n"
                    "raise SystemExit(completed.returncode)\n"
                )
                return [ToolCall("code_execution", {"code": code})]
            return [ToolCall("bash_code_execution", {"command": step.command})]
        assert isinstance(step, Editor)
        if self.version == LEGACY:
            try:
                path = editor.relative_path(container.path, step.path)
            except editor.EditorError:
                code = editor.as_python(step.tool_input(), step.path)
                return [ToolCall("code_execution", {"code": code}, refused=True)]
            return [ToolCall("code_execution", {"code": editor.as_python(step.tool_input(), path)})]
        return [ToolCall("text_editor_code_execution", step.tool_input())]

    def _execute(self, call: ToolCall) -> Block:
        if call.step is not None:
            return server_tools.result(call.step, call.id)
        container = self._container()
        with container.lock:
            if call.name == "text_editor_code_execution":
                content = editor.apply(container.path, call.input)
            elif call.refused:
                content = {"type": "code_execution_tool_result_error", "error_code": "invalid_tool_input"}
            else:
                content = self._run(container, call)
        self.model.containers.touch(container)
        return {"type": f"{call.name}_tool_result", "tool_use_id": call.id, "content": content}

    def _run(self, container: Container, call: ToolCall) -> dict[str, Any]:
        sandbox = self.model.sandbox
        output_dir = container.new_output_dir()
        env = sandbox.environment(container.path, self.model.input_dir(container, self.version), output_dir)
        if call.name == "code_execution" and self.version in REPL_VERSIONS:
            if container.interpreter is None:
                control = sandbox.root / ".repl" / container.id
                container.interpreter = Interpreter(sandbox, container.path, container.tmp_dir, control)
            outcome = container.interpreter.run(str(call.input.get("code", "")), env)
        elif call.name == "code_execution":
            code = str(call.input.get("code", ""))
            outcome = sandbox.run(
                ["python", "-"], cwd=container.path, env=env, tmp_dir=container.tmp_dir, stdin=code.encode()
            )
        else:
            command = ["bash", "-c", str(call.input.get("command", ""))]
            outcome = sandbox.run(command, cwd=container.path, env=env, tmp_dir=container.tmp_dir)
        prefix = call.name
        if outcome.timed_out:
            return {"type": f"{prefix}_tool_result_error", "error_code": "execution_time_exceeded"}
        produced = sorted(p for p in output_dir.iterdir() if p.is_file())
        if prefix == "bash_code_execution" and any(p.stat().st_size > MAX_FILE_BYTES for p in produced):
            return {"type": "bash_code_execution_tool_result_error", "error_code": "output_file_too_large"}
        outputs = [
            {"type": f"{prefix}_output", "file_id": self.model.files.add(p.name, p.read_bytes(), downloadable=True).id}
            for p in produced
            if p.stat().st_size <= MAX_FILE_BYTES
        ]
        return {
            "type": f"{prefix}_result",
            "stdout": outcome.stdout,
            "stderr": outcome.stderr,
            "return_code": outcome.return_code,
            "content": outputs,
        }
