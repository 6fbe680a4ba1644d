"""Frozen values that flow from the core to the renderer, the magics and the user.

Stdlib and ``claude_magic._format`` only; the renderer is imported lazily inside
``_repr_mimebundle_`` and ``__str__`` (it imports this module for types only, so there is no cycle). SDK objects never
reach this module: ``client`` converts them at the boundary.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeAlias

__all__ = [
    "CONTAINER_MAX_AGE",
    "IMAGE_TYPES",
    "Citation",
    "CodeStep",
    "ContainerInfo",
    "ContainerSkill",
    "EditStep",
    "Execution",
    "Notice",
    "OutputFile",
    "ProducedFile",
    "RemoteFile",
    "Response",
    "SessionUsage",
    "SkillInfo",
    "Step",
    "StepUpdate",
    "TextStep",
    "ThinkingStep",
    "ToolCallStep",
    "Turn",
    "TurnEvent",
    "UploadBatch",
    "UploadedFile",
    "Usage",
    "WebFetchStep",
    "WebHit",
    "WebSearchStep",
    "human_size",
]

from claude_magic._format import human_size as human_size  # re-exported for older imports
from claude_magic._step_values import (
    IMAGE_TYPES,
    Citation,
    CodeStep,
    EditStep,
    Execution,
    OutputFile,
    Step,
    TextStep,
    ThinkingStep,
    ToolCallStep,
    WebFetchStep,
    WebHit,
    WebSearchStep,
)

# "Containers expire 30 days after creation" (doc-CE "Container reuse", api-spec §8 and the 2026-12 addendum).
CONTAINER_MAX_AGE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, summed over a turn's segments.

    ``code_execution_requests`` is counted by us from the code-execution ``server_tool_use``
    blocks of the responses: the API reports no such counter (``ServerToolUsage`` has only web
    search and fetch counts), and bills container time instead. ``web_search_requests`` and
    ``web_fetch_requests`` are the API's own (``usage.server_tool_use``); searches are billed each.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0  # every cache write, whatever its TTL
    code_execution_requests: int = 0
    cache_creation_1h_input_tokens: int = 0  # the part of the writes with the 1-hour TTL (priced higher)
    web_search_requests: int = 0
    web_fetch_requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.code_execution_requests + other.code_execution_requests,
            self.cache_creation_1h_input_tokens + other.cache_creation_1h_input_tokens,
            self.web_search_requests + other.web_search_requests,
            self.web_fetch_requests + other.web_fetch_requests,
        )

    @property
    def prompt_tokens(self) -> int:
        """Every input token, fresh, read from the cache or written to it."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """What a session has used so far: tokens, the cache's share, container time and estimated cost.

    ``cost`` is in US dollars from list prices (``claude_magic._pricing``); None when a turn's
    model has no known price. ``container_seconds`` is billed container time as estimated there.
    """

    turns: int = 0
    usage: Usage = Usage()
    container_seconds: float = 0.0
    cost: float | None = 0.0

    @property
    def cache_share(self) -> float:
        """The share of input tokens read from the prompt cache (0 to 1)."""
        total = self.usage.prompt_tokens
        return self.usage.cache_read_input_tokens / total if total else 0.0

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, str]:
        from claude_magic._history_view import select, session_usage_bundle

        return select(session_usage_bundle(self), include, exclude)


@dataclass(frozen=True, slots=True)
class ContainerSkill:
    """An Agent Skill loaded in a container, with the version the server resolved (``"latest"`` made concrete)."""

    skill_id: str
    type: Literal["anthropic", "custom"]
    version: str


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """The sandbox a turn ran in.

    A container is checkpointed after about 5 minutes idle and restored by the next request
    that names it, until 30 days after it was created. ``expires_at`` is the server's shorter,
    rolling value: it passing is not the container's end. ``first_seen`` is when this session
    first saw the id (an upper bound of its creation), so ``restorable_until`` is a lower bound.
    """

    id: str
    expires_at: datetime | None = None
    first_seen: datetime | None = None
    skills: tuple[ContainerSkill, ...] = ()  # as the last response reported them, versions resolved

    @property
    def restorable_until(self) -> datetime | None:
        """When the container is gone for good (30 days after it was first seen)."""
        return self.first_seen + CONTAINER_MAX_AGE if self.first_seen is not None else None

    def is_past_hard_limit(self, moment: datetime | None = None) -> bool:
        """Whether the 30-day limit has certainly passed."""
        limit = self.restorable_until
        return limit is not None and (moment or datetime.now(UTC)) >= limit


@dataclass(frozen=True, slots=True)
class Turn:
    """One ``%%claude_exec``: every step in order, the files brought back, and the bill."""

    prompt: str
    steps: tuple[Step, ...]
    model: str
    files: tuple[OutputFile, ...] = ()
    usage: Usage = Usage()
    container: ContainerInfo | None = None
    stop_reason: str | None = None
    duration: float = 0.0  # seconds
    segments: int = 1  # responses in this turn (more than one after pause_turn)
    container_restarted: bool = False  # the old container was gone; a new one was started
    notices: tuple[str, ...] = ()  # things the user should know (e.g. a re-upload)
    tool_version: str | None = None  # the code execution tool version the turn was sent with
    request_ids: tuple[str, ...] = ()  # the API's request ids, for support tickets and provenance
    cost: float | None = None  # estimated US dollars: tokens incl. cache reads/writes, plus container time
    container_seconds: float = 0.0  # container time this turn adds to the bill (see _pricing)
    stop_details: dict[str, Any] | None = None  # the API's stop_details (a refusal's category, explanation)
    session_usage: SessionUsage | None = None  # the session's running total after this turn (footer hook)
    kept: bool = True  # False when the turn was not kept in the conversation (a refusal)
    server_tools: tuple[str, ...] = ()  # the other server tool types sent (web_search_20260209, ...)

    @property
    def text(self) -> str:
        """All of Claude's prose, joined."""
        return "\n\n".join(step.text for step in self.steps if isinstance(step, TextStep))

    @property
    def code(self) -> tuple[CodeStep, ...]:
        """The code steps, in order."""
        return tuple(step for step in self.steps if isinstance(step, CodeStep))

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, str]:
        from claude_magic import _render as render  # deferred: results stays import-light

        return render.select(render.turn_bundle(self), include, exclude)

    def __str__(self) -> str:
        """A readable transcript: the prompt, each step as text, the files and the footer line."""
        from claude_magic import _render as render

        return f"> {self.prompt.strip()}\n\n" + render.turn_bundle(self)["text/plain"]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file the Files API holds for this session, referenced by ``file_id``."""

    name: str
    file_id: str
    size: int
    sha256: str
    media_type: str
    source: str | None = None  # local path it came from, for re-upload; None for in-memory data
    description: str = ""  # e.g. a DataFrame's shape, columns and dtypes
    reused: bool = False  # True when dedupe found it already uploaded (no bytes sent)


@dataclass(frozen=True, slots=True)
class UploadBatch:
    """What one upload call did."""

    files: tuple[UploadedFile, ...]

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, str]:
        from claude_magic import _render as render

        return render.select(render.upload_batch_bundle(self), include, exclude)


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """File metadata as the Files API reports it."""

    id: str
    filename: str
    mime_type: str
    size: int
    downloadable: bool
    created_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def expired(self) -> bool:
        """Whether the file's content is no longer available."""
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Response:
    """One Messages API response, reduced to plain values."""

    content: list[dict[str, Any]]  # wire-shaped blocks, ready to send back as an assistant message
    stop_reason: str | None
    container: ContainerInfo | None
    usage: Usage
    model: str
    request_id: str | None = None
    stop_details: dict[str, Any] | None = None
    context_edits: tuple[dict[str, Any], ...] = ()  # context_management.applied_edits (beta)


@dataclass(frozen=True, slots=True)
class SkillInfo:
    """An Agent Skill the API offers: Anthropic's (``xlsx``, ``pptx``, ...) or one uploaded as custom."""

    id: str
    display_name: str
    source: str  # "anthropic", "custom", "anthropic_example" or "plugin"
    latest_version: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProducedFile:
    """A file Claude's code produced in this session, with the turn that made it (1 = the session's first)."""

    file: OutputFile
    turn: int
    deleted: bool = False  # deleted from the server by ``Session.prune_outputs``; the local copy stays


# Events a turn reports while it streams (``Session.run(on_event=...)``).


@dataclass(frozen=True, slots=True)
class StepUpdate:
    """Step ``index`` of the turn is new or changed; ``done`` once it will not change again."""

    index: int
    step: Step
    done: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """A status line for the user (continuing after pause_turn, new container, ...)."""

    message: str


TurnEvent: TypeAlias = StepUpdate | Notice
