"""What the stand-in infers rather than knows: one table, each row with its source and a switch.

Every behaviour here is something the docs leave open, or something other SDK users report and the
docs do not state. ``Behaviours`` holds the current choice of each; ``BEHAVIOURS`` describes them.
A test that depends on a guess runs under each alternative::

    with StandIn(script, behaviours=Behaviours(expired_container="500")) as api:
        ...
        api.behaviours.expired_container = "410"  # the next request obeys

Sources: "api-spec" is ``/work/shared/api-spec.md`` (its sections are cited), "doc-CE" the code
execution tool's documentation page, "#N" an issue thread of the named project.

Imports only the standard library.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Final, Literal


@dataclass(frozen=True)
class Row:
    """One inferred behaviour: its field name, default, alternatives, source and meaning."""

    name: str
    default: object
    alternatives: tuple[str, ...]
    source: str
    description: str


BEHAVIOURS: Final[tuple[Row, ...]] = (
    Row(
        "expired_container",
        "404",
        ("404", "410", "500"),
        "doc-CE Container reuse (status undocumented, api-spec §3.6, §12.3); 500 reported in pydantic-ai #7833",
        "How a request naming an expired or unknown container is answered: 404 `not_found_error`; 410 "
        '`not_found_error` "container expired"; 500 untyped `api_error` "Internal server error" with no details.',
    ),
    Row(
        "checkpoint_after",
        300.0,
        ("any seconds >= 0",),
        'doc-CE Container reuse ("after about 5 minutes of inactivity a container is checkpointed"), api-spec §8',
        "Idle seconds after which a container is checkpointed (not dead); a request naming it restores it with "
        "its files. `expires_at` = last activity + this (rolling; it does not report the hard limit).",
    ),
    Row(
        "max_container_age",
        30 * 86400.0,
        ("any seconds >= 0",),
        "doc-CE Container reuse (30 days after creation), api-spec §13 Containers, corrected",
        "Hard limit after creation; past it the container is gone and answered per `expired_container`.",
    ),
    Row(
        "usage_code_execution_requests",
        False,
        ("false", "true"),
        "SDK `types/server_tool_usage.py` (no such field) vs doc-CE Usage example, api-spec §6, §13 Usage",
        "Whether `usage.server_tool_use` carries `code_execution_requests` (the count of code tool uses).",
    ),
    Row(
        "user_after_text_pause",
        "reject",
        ("reject", "accept"),
        "inferred from anthropic-sdk-python #1339, #1507 (those pauses ended in an open tool use), api-spec §4.1",
        "Whether a user message may follow a paused assistant turn that ended with text (no open tool use). "
        "One that ended with an open `server_tool_use` is always refused.",
    ),
    Row(
        "container_dict_without_skills",
        "reject",
        ("reject", "accept"),
        "pydantic-ai #5167 (reported), api-spec §13 Containers, corrected",
        '`container={"id": ...}` without skills: 400 "container: Input should be a valid string", or '
        "accepted. With skills the object form is always accepted.",
    ),
    Row(
        "tool_versions_by_model",
        "enforce",
        ("enforce", "accept_all"),
        'doc-CE "Tool versions" per-model table, api-spec §13 Tool version per model',
        "Whether a code execution version the model's row does not list is refused with a 400 naming the tool "
        "type and the model (table in `claude_magic/testing/versions.py`).",
    ),
    Row(
        "repl_input_dir",
        "env",
        ("env", "cwd"),
        "api-spec §8 Input files, §12.1 (the input directory is unverified); vercel/ai #15556 reports $INPUT_DIR",
        "On `code_execution_20260120` / `_20260521`: uploads land in `$INPUT_DIR` (env), or in the working "
        "directory with `$INPUT_DIR` unset (cwd).",
    ),
    Row(
        "stale_upload_refs",
        "validate",
        ("validate", "ignore"),
        "pydantic-ai #7864 (uploads take effect from the last user message); other servers may check all",
        "`container_upload` blocks in earlier user turns naming a deleted or expired file: 404 `not_found_error` "
        "(validate) or inert (ignore). The newest user turn's uploads are always checked.",
    ),
    Row(
        "history_without_container",
        "accept",
        ("accept", "reject"),
        "SDK `lib/threads/_thread_state.py` `_adopt_container` docstring, api-spec §3.6",
        "A request whose history holds code execution results but omits `container`: accepted (a new "
        "container) or 400.",
    ),
    Row(
        "cache_lookback",
        20.0,
        ("any count >= 0",),
        'doc "Prompt caching" ("checks for cache hits at ... about 20 blocks before" a breakpoint), api-spec §13',
        "How many block boundaries before a breakpoint are searched for a cached prefix. A unit is all tools, the "
        "system prompt, or one content block of a message (the doc's prefix order: tools, system, messages).",
    ),
    Row(
        "cache_min_tokens",
        1024.0,
        ("any count >= 0",),
        'doc "Prompt caching" minimum cacheable length (1024 tokens for most models; 2048-4096 for some)',
        "Prefixes shorter than this are not written to the cache (every block counts, thinking included).",
    ),
    Row(
        "clear_server_tool_results",
        "clear",
        ("clear", "skip"),
        'doc "Context editing" speaks of tool results; whether server tool results are cleared is unstated',
        "Whether `clear_tool_uses_20250919` clears code execution (server tool) results as it does client "
        "`tool_result`s, or only the latter.",
    ),
    Row(
        "compaction_placement",
        "assistant",
        ("assistant", "any"),
        "SDK `BetaCompactionBlockParam` (a content block of either role); the doc shows it in assistant turns",
        "Where a `compaction` block sent back may sit: in an assistant message only (400 otherwise), or in any.",
    ),
    Row(
        "undeclared_server_tools",
        "emit",
        ("emit", "skip"),
        "inferred: the real model cannot call a tool the request does not declare (doc-CE, api-spec §13 Other "
        "server tools); `emit` lets a client's handling of the blocks be tested without declaring them",
        "`web_search` / `web_fetch` / `tool_search` steps when the request declares no such tool: emitted "
        "anyway (emit), or skipped with a closing note (skip).",
    ),
)

ExpiredContainer = Literal["404", "410", "500"]
RejectOrAccept = Literal["reject", "accept"]


@dataclass
class Behaviours:
    """The stand-in's current choice for each row of ``BEHAVIOURS``; a live, mutable object.

    Assigning a value outside a row's alternatives raises ``ValueError``.
    """

    expired_container: ExpiredContainer = "404"
    checkpoint_after: float = 300.0
    max_container_age: float = 30 * 86400.0
    usage_code_execution_requests: bool = False
    user_after_text_pause: RejectOrAccept = "reject"
    container_dict_without_skills: RejectOrAccept = "reject"
    tool_versions_by_model: Literal["enforce", "accept_all"] = "enforce"
    repl_input_dir: Literal["env", "cwd"] = "env"
    stale_upload_refs: Literal["validate", "ignore"] = "validate"
    history_without_container: Literal["accept", "reject"] = "accept"
    cache_lookback: float = 20.0
    cache_min_tokens: float = 1024.0
    clear_server_tool_results: Literal["clear", "skip"] = "clear"
    compaction_placement: Literal["assistant", "any"] = "assistant"
    undeclared_server_tools: Literal["emit", "skip"] = "emit"

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, _checked(name, value))

    def set(self, assignment: str) -> None:
        """Apply ``NAME=VALUE`` written as text (the CLI's ``--behaviour``)."""
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep or name not in _FIELDS:
            raise ValueError(f"expected NAME=VALUE with NAME one of {', '.join(_FIELDS)}: {assignment!r}")
        setattr(self, name, _parse(name, text.strip()))


_FIELDS: Final = {f.name: f for f in dataclasses.fields(Behaviours)}
_HINTS: Final = typing.get_type_hints(Behaviours)


def _choices(name: str) -> tuple[object, ...] | None:
    hint = _HINTS[name]
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else None


def _checked(name: str, value: object) -> object:
    if name not in _FIELDS:
        raise AttributeError(f"Behaviours has no field {name!r}")
    hint = _HINTS[name]
    if (choices := _choices(name)) is not None:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, not {value!r}")
    elif hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, not {value!r}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{name} must be a number >= 0 (seconds, or a count), not {value!r}")
        value = float(value)
    return value


def _parse(name: str, text: str) -> object:
    hint = _HINTS[name]
    if hint is bool:
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{name} must be true or false, not {text!r}")
        return lowered in ("true", "1", "yes")
    if hint is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds, not {text!r}") from None
    return text


def markdown_table() -> str:
    """``BEHAVIOURS`` as a Markdown table (docs/script-format.md embeds it; a test keeps them equal)."""
    lines = ["| Behaviour | Default | Alternatives | Source | What it decides |", "|---|---|---|---|---|"]
    for row in BEHAVIOURS:
        default = str(row.default).lower() if isinstance(row.default, bool) else row.default
        alternatives = ", ".join(f"`{a}`" for a in row.alternatives)
        lines.append(f"| `{row.name}` | `{default}` | {alternatives} | {row.source} | {row.description} |")
    return "\n".join(lines) + "\n"
