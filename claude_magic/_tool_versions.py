"""Which code execution tool version to send with which model: one table, with its source.

Stdlib only. The docs keep a per-model table and say: "Older tool versions are not guaranteed
to be backwards-compatible with newer models. Always use the tool version that corresponds to
your model version." (doc-CE "Tool versions"; api-spec.md §3.1 and the 2026-12 addendum).
The current page lists ``code_execution_20250825`` and ``code_execution_20260120`` for Opus
4.5–4.7 and Sonnet 4.5/4.6; an older snapshot lists only ``20250825`` for Haiku 4.5, Sonnet 4
and Opus 4.1; the models newer than the table (Opus 4.8, Opus 5.x, Sonnet 5, Fable, Mythos)
"accept all three current versions". Each row gives the versions a model accepts, preferred
first. A model the table does not know gets ``code_execution_20250825``, the one version every
listed model accepts. ``ClaudeMagics.tool_version`` / ``Session(tool_version=...)`` override it.
"""

from __future__ import annotations

import re
from typing import Final

LEGACY: Final = "code_execution_20250522"
BASH_AND_EDITOR: Final = "code_execution_20250825"
REPL: Final = "code_execution_20260120"
LATEST: Final = "code_execution_20260521"
SAFE_DEFAULT: Final = BASH_AND_EDITOR

# (pattern for the model name without its date or platform suffix, accepted versions preferred first).
TABLE: Final[tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]] = (
    (re.compile(r"(haiku-4-5|sonnet-4|sonnet-4-0|opus-4|opus-4-0|opus-4-1)$"), (BASH_AND_EDITOR,)),
    (re.compile(r"(opus-4-[5-7]|sonnet-4-[56])$"), (REPL, BASH_AND_EDITOR)),
    (
        re.compile(r"(opus-4-[89]|opus-[5-9](-\d+)?|sonnet-[5-9](-\d+)?|haiku-[5-9](-\d+)?)$|fable|mythos"),
        (LATEST, REPL, BASH_AND_EDITOR),
    ),
)
# "claude-sonnet-4-20250514", "anthropic.claude-haiku-4-5-20251001-v1:0", "claude-opus-4-1@20250805".
_SUFFIX: Final = re.compile(r"(-\d{8})?(-v\d+(:\d+)?)?(@.*)?$")


def accepted_versions(model: str) -> tuple[str, ...]:
    """The versions the docs list for *model*, preferred first; unknown models get the safe default."""
    name = _SUFFIX.sub("", model.lower().strip())
    for pattern, versions in TABLE:
        if pattern.search(name):
            return versions
    return (SAFE_DEFAULT,)


def tool_version_for(model: str) -> str:
    """The code execution tool version to send with *model*."""
    return accepted_versions(model)[0]


# Web search and web fetch, per model (api-spec §3.1, §6 and the 2026-12 addendum "Other server
# tools in a response"; SDK ``types/web_search_tool_2026*_param.py``, ``web_fetch_tool_2026*_param.py``).
# ``web_search_20260209`` / ``web_fetch_20260209`` and later "require" ``code_execution_20260120``
# or later (doc-CE "Tool versions"), and with them code execution is free (doc-CE "Usage and
# pricing"). The models that accept only ``code_execution_20250825`` get the versions before that
# (``web_search_20250305``, ``web_fetch_20250910``); the 20260120 models the first 2026 versions;
# the models newer than the table the newest versions the SDK defines (``_20260318``). A row
# holds (web search type, web fetch type), chosen by the code execution version in use, so an
# overridden ``tool_version`` never pairs a new web tool with an old sandbox.
WEB_SEARCH_BASIC: Final = "web_search_20250305"
WEB_FETCH_BASIC: Final = "web_fetch_20250910"
WEB_SEARCH_2026: Final = "web_search_20260209"
WEB_FETCH_2026: Final = "web_fetch_20260209"
WEB_SEARCH_LATEST: Final = "web_search_20260318"
WEB_FETCH_LATEST: Final = "web_fetch_20260318"
_NEEDS_REPL: Final = frozenset({WEB_SEARCH_2026, WEB_FETCH_2026, WEB_SEARCH_LATEST, WEB_FETCH_LATEST})
WEB_TABLE: Final[tuple[tuple[re.Pattern[str], tuple[str, str]], ...]] = (
    (TABLE[0][0], (WEB_SEARCH_BASIC, WEB_FETCH_BASIC)),
    (TABLE[1][0], (WEB_SEARCH_2026, WEB_FETCH_2026)),
    (TABLE[2][0], (WEB_SEARCH_LATEST, WEB_FETCH_LATEST)),
)
# Programmatic tool calling: client tools opt in with this caller on 20260120+ (not on Haiku 4.5,
# where 20260120 "behaves like 20250825"); api-spec §9.3.
PROGRAMMATIC_CALLER: Final = "code_execution_20260120"
_PROGRAMMATIC_VERSIONS: Final = frozenset({REPL, LATEST})


def web_tool_versions(model: str, code_version: str) -> tuple[str, str]:
    """The (web search, web fetch) tool types to send with *model* beside *code_version*."""
    name = _SUFFIX.sub("", model.lower().strip())
    chosen = (WEB_SEARCH_BASIC, WEB_FETCH_BASIC)
    for pattern, versions in WEB_TABLE:
        if pattern.search(name):
            chosen = versions
            break
    if code_version not in _PROGRAMMATIC_VERSIONS and any(v in _NEEDS_REPL for v in chosen):
        return WEB_SEARCH_BASIC, WEB_FETCH_BASIC
    return chosen


def web_tools(model: str, code_version: str, max_uses: int | None) -> tuple[dict[str, object], ...]:
    """The web search and web fetch tool entries for a request."""
    search, fetch = web_tool_versions(model, code_version)
    limit: dict[str, object] = {"max_uses": max_uses} if max_uses is not None else {}
    return ({"type": search, "name": "web_search", **limit}, {"type": fetch, "name": "web_fetch", **limit})


def supports_programmatic_calls(model: str, code_version: str) -> bool:
    """Whether sandbox code may call client tools (``allowed_callers``) with *code_version* on *model*."""
    name = _SUFFIX.sub("", model.lower().strip())
    return code_version in _PROGRAMMATIC_VERSIONS and "haiku-4-5" not in name
