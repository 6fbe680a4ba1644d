"""The values a turn is described by: what it is sent with, what it starts from, what it leaves behind.

Frozen dataclasses shared by ``_runner.TurnRunner`` (which takes a ``TurnRequest`` and returns a
``TurnOutcome``), ``Session`` and the map engines. Stdlib and ``results`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from claude_magic.results import ContainerInfo, OutputFile, Step, ToolCallStep, Turn, UploadedFile, Usage

Message = dict[str, Any]
# Asked before each request: (this turn's usage so far, messages, max_tokens, least useful max_tokens) ->
# the max_tokens the request may use, or 0 to stop (see ``_costs.Budget``).
BudgetCheck = Callable[[Usage, Sequence[Message], int, int], int]


class ToolHandler(Protocol):
    """Runs the client tools (kernel functions) a response calls; see ``_kernel_tools.ToolExecutor``."""

    @property
    def max_rounds(self) -> int:
        """How many ``tool_use`` responses one turn answers at most."""
        ...

    def answer(
        self, content: Sequence[dict[str, Any]], on_call: Callable[[ToolCallStep], None]
    ) -> list[dict[str, Any]]:
        """The ``tool_result`` blocks for the ``tool_use`` blocks of *content*."""
        ...


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """What one turn is sent with."""

    model: str
    max_tokens: int
    tool_version: str
    stream: bool
    folder: Path
    max_continuations: int
    extra_tools: tuple[dict[str, Any], ...] = ()  # tools beside code execution (web search, kernel functions)
    skills: tuple[dict[str, Any], ...] = ()  # Agent Skills: the container goes as an object with them
    options: Mapping[str, Any] = field(default_factory=dict)  # further request parameters (cache_control, ...)
    budget: BudgetCheck | None = None  # cost caps: asked before every request of the turn
    tool_handler: ToolHandler | None = None  # answers client tool calls (kernel functions); None: none offered


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """Everything a turn starts from; the runner changes none of it."""

    prompt: str
    history: tuple[Message, ...]
    container: ContainerInfo | None
    attachments: tuple[UploadedFile, ...]
    settings: TurnSettings
    resume_paused: bool = False  # the history ends with a paused assistant turn: finish it first


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """What a finished turn leaves behind, for the session to commit in one step."""

    history: tuple[Message, ...]
    container: ContainerInfo | None
    steps: tuple[Step, ...]
    files: tuple[OutputFile, ...]
    usage: Usage
    model: str
    stop_reason: str | None
    segments: int
    notices: tuple[str, ...]
    attached: tuple[UploadedFile, ...]  # files this turn put in the container
    replaced: tuple[tuple[str, UploadedFile], ...] = ()  # (old file id, re-upload)
    dropped: tuple[UploadedFile, ...] = ()  # files gone for good
    container_restarted: bool = False
    prompt_sent: bool = True
    request_ids: tuple[str, ...] = ()
    stop_details: dict[str, Any] | None = None

    def as_turn(self, prompt: str, *, duration: float, tool_version: str, server_tools: tuple[str, ...]) -> Turn:
        """The ``Turn`` the user gets for this outcome of *prompt*."""
        return Turn(
            prompt=prompt,
            steps=self.steps,
            model=self.model,
            files=self.files,
            usage=self.usage,
            container=self.container,
            stop_reason=self.stop_reason,
            duration=duration,
            segments=self.segments,
            container_restarted=self.container_restarted,
            notices=self.notices,
            tool_version=tool_version,
            request_ids=self.request_ids,
            server_tools=server_tools,
        )
