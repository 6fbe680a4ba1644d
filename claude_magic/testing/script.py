"""The scripted model's script: replies made of steps, loaded from JSON or built in Python.

See ``docs/script-format.md`` for the format. Example::

    Script(replies=[
        {"match": "(?i)plot", "steps": [{"text": "Plotting."}, {"python": "print(1)"}]},
        Reply([Text("Fallback reply.")]),
    ])
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Cite:
    """A source cited by a ``Text``: a web search result location."""

    url: str
    title: str | None = None
    cited_text: str = ""


@dataclass(frozen=True)
class Text:
    """Claude's prose, optionally citing web sources."""

    text: str
    citations: tuple[Cite, ...] = ()

    def __post_init__(self) -> None:
        cites = tuple(c if isinstance(c, Cite) else Cite(**c) for c in self.citations)
        object.__setattr__(self, "citations", cites)


@dataclass(frozen=True)
class ToolUse:
    """A call of a client tool: the response stops with ``tool_use`` until its ``tool_result`` comes back."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Program:
    """Python that calls client tools from the sandbox (programmatic tool calling).

    The response holds the code's ``server_tool_use`` and one ``tool_use`` per call (with a
    code-execution ``caller``) and stops with ``tool_use``; once the results come back the code
    runs, each tool an async function returning its result's text in the order of *calls*. Where
    the request does not allow the tools to be called from code, they are called directly and
    the code runs afterwards as an ordinary Python step.
    """

    code: str
    calls: tuple[ToolUse, ...] = ()

    def __post_init__(self) -> None:
        calls = tuple(c if isinstance(c, ToolUse) else ToolUse(**c) for c in self.calls)
        object.__setattr__(self, "calls", calls)


@dataclass(frozen=True)
class Python:
    """Python code to run."""

    code: str


@dataclass(frozen=True)
class Bash:
    """A shell command to run."""

    command: str


@dataclass(frozen=True)
class Editor:
    """A text-editor command: ``view``, ``create`` or ``str_replace``."""

    command: str
    path: str
    file_text: str | None = None
    old_str: str | None = None
    new_str: str | None = None
    view_range: tuple[int, int] | None = None

    def tool_input(self) -> dict[str, Any]:
        """The ``server_tool_use.input`` of this command."""
        data: dict[str, Any] = {"command": self.command, "path": self.path}
        for key in ("file_text", "old_str", "new_str"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        if self.view_range is not None:
            data["view_range"] = list(self.view_range)
        return data


@dataclass(frozen=True)
class Pause:
    """End the response with ``stop_reason: "pause_turn"``."""


@dataclass(frozen=True)
class WebResult:
    """One hit of a ``WebSearch``."""

    title: str
    url: str
    page_age: str | None = None


@dataclass(frozen=True)
class WebSearch:
    """A ``web_search`` server tool use and its result: the *results* as found for *query*."""

    query: str
    results: tuple[WebResult, ...] = ()

    def __post_init__(self) -> None:
        hits = tuple(r if isinstance(r, WebResult) else WebResult(**r) for r in self.results)
        object.__setattr__(self, "results", hits)


@dataclass(frozen=True)
class WebFetch:
    """A ``web_fetch`` server tool use and its result: the page at *url* as plain *text*."""

    url: str
    text: str = ""
    title: str | None = None


@dataclass(frozen=True)
class ToolSearch:
    """A ``tool_search_tool_regex`` server tool use finding the client *tools* named."""

    query: str
    tools: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tools", tuple(self.tools))


@dataclass(frozen=True)
class Thinking:
    """Claude's thinking: a signed ``thinking`` block, or ``redacted_thinking`` when *redacted*.

    Emitted only when the request enables thinking (``enabled`` or ``adaptive``).
    """

    text: str = ""
    redacted: bool = False


STOP_REASONS = ("max_tokens", "refusal", "model_context_window_exceeded", "stop_sequence")


@dataclass(frozen=True)
class Stop:
    """End the response here with *reason*; a refusal carries ``stop_details`` (category, explanation)."""

    reason: str
    category: str | None = None
    explanation: str | None = None

    def __post_init__(self) -> None:
        if self.reason not in STOP_REASONS:
            raise ValueError(f"a stop step's reason is one of {', '.join(STOP_REASONS)}: {self.reason!r}")


ServerTool = WebSearch | WebFetch | ToolSearch
Step = Text | Python | Bash | Editor | Pause | WebSearch | WebFetch | ToolSearch | Thinking | Stop | ToolUse | Program
_EDITOR_KEYS = {"command", "path", "file_text", "old_str", "new_str", "view_range"}
_KINDS = (
    "text",
    "python",
    "bash",
    "editor",
    "pause",
    "web_search",
    "web_fetch",
    "tool_search",
    "thinking",
    "redacted_thinking",
    "stop",
    "tool",
    "program",
)
_CITE_KEYS = {"url", "title", "cited_text"}
_SERVER_KEYS: dict[str, tuple[set[str], set[str]]] = {  # kind: (required keys, allowed keys)
    "web_search": ({"query"}, {"query", "results"}),
    "web_fetch": ({"url"}, {"url", "title", "text"}),
    "tool_search": ({"query"}, {"query", "tools"}),
}
_RESULT_KEYS = {"title", "url", "page_age"}


def _server_step(kind: str, value: object) -> ServerTool:
    required, allowed = _SERVER_KEYS[kind]
    if not isinstance(value, Mapping) or not required <= value.keys() <= allowed:
        raise ValueError(f"a {kind} step needs {sorted(required)} and only {sorted(allowed)}: {value!r}")
    if kind == "web_search":
        results = value.get("results", [])
        if not isinstance(results, list) or not all(
            isinstance(r, Mapping) and {"title", "url"} <= r.keys() <= _RESULT_KEYS for r in results
        ):
            raise ValueError(f"web_search results are [{{'title', 'url', 'page_age'?}}, ...]: {results!r}")
        return WebSearch(str(value["query"]), tuple(WebResult(**r) for r in results))
    if kind == "web_fetch":
        return WebFetch(str(value["url"]), str(value.get("text", "")), value.get("title"))
    tools = value.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ValueError(f"tool_search tools are a list of tool names: {tools!r}")
    return ToolSearch(str(value["query"]), tuple(tools))


def step_from_dict(data: Mapping[str, Any]) -> Step:
    """Build a step from its JSON form, e.g. ``{"python": "print(1)"}``."""
    kinds = [key for key in _KINDS if key in data]
    if len(kinds) != 1 or len(data) != 1:
        raise ValueError(f"a step needs exactly one of {', '.join(_KINDS)}: {dict(data)!r}")
    value = data[kinds[0]]
    if kinds[0] in _SERVER_KEYS:
        return _server_step(kinds[0], value)
    if kinds[0] == "thinking":
        if not isinstance(value, str):
            raise ValueError(f"a thinking step takes a string: {value!r}")
        return Thinking(value)
    if kinds[0] == "redacted_thinking":
        if value is not True:
            raise ValueError('a redacted_thinking step is written {"redacted_thinking": true}')
        return Thinking(redacted=True)
    if kinds[0] == "stop":
        if isinstance(value, str):
            return Stop(value)
        if not isinstance(value, Mapping) or not {"reason"} <= value.keys() <= {"reason", "category", "explanation"}:
            raise ValueError(f"a stop step is a reason or {{'reason', 'category'?, 'explanation'?}}: {value!r}")
        return Stop(str(value["reason"]), value.get("category"), value.get("explanation"))
    if kinds[0] == "tool":
        return _tool_use(value)
    if kinds[0] == "program":
        if not isinstance(value, Mapping) or not {"code", "calls"} >= value.keys() or "code" not in value:
            raise ValueError(f"a program step is {{'code': str, 'calls': [{{'name', 'input'}}, ...]}}: {value!r}")
        calls = value.get("calls", [])
        if not isinstance(calls, list):
            raise ValueError(f"program calls are a list of {{'name', 'input'}}: {calls!r}")
        return Program(str(value["code"]), tuple(_tool_use(call) for call in calls))
    if kinds[0] == "text" and isinstance(value, Mapping):
        cites = value.get("citations", [])
        if not {"text"} <= value.keys() <= {"text", "citations"} or not isinstance(cites, list):
            raise ValueError(f"a cited text step is {{'text': str, 'citations': [...]}}: {value!r}")
        if not all(isinstance(c, Mapping) and {"url"} <= c.keys() <= _CITE_KEYS for c in cites):
            raise ValueError(f"citations are [{{'url', 'title'?, 'cited_text'?}}, ...]: {cites!r}")
        return Text(str(value["text"]), tuple(Cite(**c) for c in cites))
    if kinds[0] == "pause":
        if value is not True:
            raise ValueError('a pause step is written {"pause": true}')
        return Pause()
    if kinds[0] == "editor":
        if not isinstance(value, Mapping) or not {"command", "path"} <= value.keys() <= _EDITOR_KEYS:
            raise ValueError(f"an editor step needs command and path, and only {sorted(_EDITOR_KEYS)}: {value!r}")
        view_range = value.get("view_range")
        return Editor(**{**value, "view_range": tuple(view_range) if view_range else None})
    if not isinstance(value, str):
        raise ValueError(f"a {kinds[0]} step takes a string: {value!r}")
    if kinds[0] == "text":
        return Text(value)
    return Python(value) if kinds[0] == "python" else Bash(value)


def _tool_use(value: object) -> ToolUse:
    if not isinstance(value, Mapping) or value.keys() != {"name", "input"} or not isinstance(value["input"], Mapping):
        raise ValueError(f"a tool call is {{'name': str, 'input': {{...}}}}: {value!r}")
    return ToolUse(str(value["name"]), dict(value["input"]))


class Reply:
    """One scripted answer: *steps*, used for prompts that *match* (a regex), or in order if None."""

    def __init__(self, steps: Iterable[Step | Mapping[str, Any]], match: str | None = None) -> None:
        self.steps: tuple[Step, ...] = tuple(s if not isinstance(s, Mapping) else step_from_dict(s) for s in steps)
        self.match = match
        self.pattern = re.compile(match) if match is not None else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        """Build a reply from ``{"match": ..., "steps": [...]}``."""
        unknown = data.keys() - {"match", "steps"}
        if unknown or not isinstance(data.get("steps"), list):
            raise ValueError(f"a reply is {{'match'?: str, 'steps': [...]}}, got {dict(data)!r}")
        return cls(data["steps"], data.get("match"))

    def __repr__(self) -> str:
        return f"Reply(steps={list(self.steps)!r}, match={self.match!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reply) and (self.steps, self.match) == (other.steps, other.match)

    __hash__ = None  # type: ignore[assignment]


class Script:
    """The replies the stand-in gives, and optionally the model name it reports."""

    def __init__(self, replies: Iterable[Reply | Mapping[str, Any]] = (), model: str | None = None) -> None:
        self.replies: tuple[Reply, ...] = tuple(r if isinstance(r, Reply) else Reply.from_dict(r) for r in replies)
        self.model = model

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        """Build a script from ``{"model"?: str, "replies": [...]}``."""
        unknown = data.keys() - {"model", "replies"}
        if unknown:
            raise ValueError(f"unknown script keys: {sorted(unknown)}")
        return cls(data.get("replies", []), data.get("model"))

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> Script:
        """Load from a JSON string (starting with ``{``) or from a file path."""
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text = source
        else:
            text = Path(source).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:
        return f"Script(replies={list(self.replies)!r}, model={self.model!r})"


NO_REPLY = Reply([Text("(stand-in) The script has no reply left for this prompt.")])


class ReplyPicker:
    """Chooses replies: the first ``match`` hit, else the next unmatched reply in order."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._unmatched = [r for r in script.replies if r.pattern is None]
        self._lock = threading.Lock()

    def pick(self, prompt: str) -> Reply:
        """The reply for a new user turn whose text is *prompt*."""
        for reply in self.script.replies:
            if reply.pattern is not None and reply.pattern.search(prompt):
                return reply
        with self._lock:
            return self._unmatched.pop(0) if self._unmatched else NO_REPLY
