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
