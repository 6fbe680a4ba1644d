"""The values of one step of a turn: Claude's text, the code it ran and what that returned, the files it made.

Stdlib only. Re-exported by ``claude_magic.results``, where users import them from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True, slots=True)
class OutputFile:
    """A file the sandbox produced, downloaded with the Files API."""

    file_id: str
    name: str  # sanitised basename, as saved
    media_type: str
    size: int
    path: Path | None = None  # where it was saved locally; None if not saved
    data: bytes | None = field(default=None, repr=False)  # kept in memory for images
    error: str | None = None  # why it could not be downloaded, if it could not
    sha256: str | None = None  # of the bytes saved

    @property
    def is_image(self) -> bool:
        """Whether notebooks can show this file inline."""
        return self.media_type in IMAGE_TYPES and self.data is not None


@dataclass(frozen=True, slots=True)
class Execution:
    """What one tool call returned: streams, exit status, tool error, produced files."""

    stdout: str = ""
    stderr: str = ""
    return_code: int | None = None
    error_code: str | None = None  # e.g. "execution_time_exceeded"; None when the tool ran
    error_message: str | None = None
    file_ids: tuple[str, ...] = ()
    files: tuple[OutputFile, ...] = ()  # filled in once downloaded

    @property
    def failed(self) -> bool:
        """A tool error or a non-zero exit status."""
        return self.error_code is not None or (self.return_code not in (None, 0))


@dataclass(frozen=True, slots=True)
class Citation:
    """A source Claude cited for part of its text (a web search result or a fetched page)."""

    url: str | None
    title: str | None = None
    cited_text: str = ""


@dataclass(frozen=True, slots=True)
class TextStep:
    """Claude's prose (Markdown), with the sources it cited."""

    text: str
    kind: Literal["text"] = "text"
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True)
class CodeStep:
    """Python or bash that Claude ran; ``result`` is None until the result block arrives."""

    tool_use_id: str
    language: Literal["python", "bash"]
    code: str
    result: Execution | None = None
    kind: Literal["code"] = "code"


@dataclass(frozen=True, slots=True)
class EditStep:
    """A text-editor operation (view, create, str_replace) in the sandbox."""

    tool_use_id: str
    command: str
    path: str
    file_text: str | None = None  # create
    old_str: str | None = None  # str_replace
    new_str: str | None = None  # str_replace
    result: Execution | None = None  # stdout holds a view's content; stderr a tool error message
    diff_lines: tuple[str, ...] = ()  # str_replace result lines ("-old", "+new")
    is_file_update: bool | None = None  # create result
    kind: Literal["edit"] = "edit"


@dataclass(frozen=True, slots=True)
class ThinkingStep:
    """Claude's thinking before it acts (its plan); ``redacted`` when the API sent it encrypted.

    The blocks themselves (with their signatures) stay in the conversation unchanged.
    """

    text: str
    redacted: bool = False
    kind: Literal["thinking"] = "thinking"


@dataclass(frozen=True, slots=True)
class WebHit:
    """One result of a web search."""

    title: str
    url: str
    page_age: str | None = None


@dataclass(frozen=True, slots=True)
class WebSearchStep:
    """A web search the API ran for Claude; ``hits`` is None until the result arrives."""

    tool_use_id: str
    query: str
    hits: tuple[WebHit, ...] | None = None
    error_code: str | None = None
    kind: Literal["web_search"] = "web_search"

    @property
    def done(self) -> bool:
        """Whether the result (or an error) arrived."""
        return self.hits is not None or self.error_code is not None


@dataclass(frozen=True, slots=True)
class WebFetchStep:
    """A page the API fetched for Claude; ``fetched`` is False until the result arrives."""

    tool_use_id: str
    url: str
    fetched: bool = False
    title: str | None = None
    final_url: str | None = None  # as reported by the result (after redirects)
    retrieved_at: str | None = None
    error_code: str | None = None
    kind: Literal["web_fetch"] = "web_fetch"

    @property
    def done(self) -> bool:
        """Whether the result (or an error) arrived."""
        return self.fetched or self.error_code is not None


@dataclass(frozen=True, slots=True)
class ToolCallStep:
    """A call of one of your kernel functions, by Claude or by code in the sandbox (``caller == "code"``).

    ``result`` is the text sent back to Claude (None until the function returned); ``error`` a
    short message when it raised, timed out, was refused or returned too much.
    """

    tool_use_id: str
    name: str
    input: dict[str, Any]
    caller: Literal["direct", "code"] = "direct"
    result: str | None = None
    error: str | None = None
    duration: float | None = None  # seconds the function ran
    kind: Literal["tool_call"] = "tool_call"

    @property
    def done(self) -> bool:
        """Whether the call finished (returned or failed)."""
        return self.result is not None or self.error is not None


Step: TypeAlias = TextStep | CodeStep | EditStep | ThinkingStep | WebSearchStep | WebFetchStep | ToolCallStep
