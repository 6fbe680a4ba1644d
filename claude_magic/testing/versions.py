"""Code execution tool versions, and which ones each model accepts.

The table follows the docs' per-model list ("Always use the tool version that corresponds to your
model version"; api-spec §13 "Tool version per model"): the current page lists ``20250825`` and
``20260120`` for Opus 4.5-4.7 and Sonnet 4.5/4.6; an older snapshot lists only ``20250825`` for
Haiku 4.5, Sonnet 4 and Opus 4.1. The legacy ``20250522`` is accepted by all of them. Newer models
(Sonnet 5, Opus 5, Opus 4.8, Fable, Mythos) and models the table does not know accept all four.
Whether a refused version is enforced is the ``tool_versions_by_model`` behaviour.
"""

from __future__ import annotations

import re
from typing import Final

from claude_magic.testing.envelope import ApiError, bad_request

LEGACY: Final = "code_execution_20250522"
BASH_EDITOR: Final = "code_execution_20250825"
REPL: Final = "code_execution_20260120"
REPL_0521: Final = "code_execution_20260521"
VERSIONS: Final = (LEGACY, BASH_EDITOR, REPL, REPL_0521)
REPL_VERSIONS: Final = frozenset({REPL, REPL_0521})

# (model-name pattern, accepted versions), first match wins; a pattern ends where the model's
# family does, so "claude-sonnet-4" does not catch "claude-sonnet-4-5".
_END = r"(?![0-9.])(?:$|[-@:])"
_START = r"(?:^|[./])"  # Bedrock names start "anthropic.claude-..."
BY_MODEL: Final[tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]] = (
    (re.compile(_START + r"claude-(?:sonnet-5|opus-5|opus-4-8" + _END + ")"), VERSIONS),
    (re.compile(_START + r"claude-(?:fable|mythos)-"), VERSIONS),
    (re.compile(_START + r"claude-haiku-4-5" + _END), (LEGACY, BASH_EDITOR)),
    (re.compile(_START + r"claude-opus-4-1" + _END), (LEGACY, BASH_EDITOR)),
    (re.compile(_START + r"claude-sonnet-4(?:-0|-20\d{6})?(?:$|@|-v\d)"), (LEGACY, BASH_EDITOR)),
    (re.compile(_START + r"claude-opus-4-[5-7]" + _END), (LEGACY, BASH_EDITOR, REPL)),
    (re.compile(_START + r"claude-sonnet-4-[56]" + _END), (LEGACY, BASH_EDITOR, REPL)),
)


def accepted_versions(model: str) -> tuple[str, ...]:
    """The code execution versions *model* accepts (all four when the table does not know it)."""
    for pattern, versions in BY_MODEL:
        if pattern.search(model):
            return versions
    return VERSIONS


def tool_version(tools: object) -> tuple[int, str] | None:
    """The index and type of the code execution tool in *tools*; 400 for an unknown version."""
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise bad_request("tools: Input should be a valid list")
    for index, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind.startswith("code_execution_"):
            if kind not in VERSIONS:
                raise bad_request(
                    f"tools.{index}.type: Input tag '{kind}' found using 'type' does not match any of the "
                    f"expected tags: {', '.join(repr(v) for v in VERSIONS)}"
                )
            return index, kind
    return None


def refusal(model: str, index: int, version: str) -> ApiError | None:
    """The 400 for *version* on *model*, or None when the model accepts it."""
    accepted = accepted_versions(model)
    if version in accepted:
        return None
    return bad_request(
        f"tools.{index}.type: '{version}' is not supported on model '{model}'. Supported code execution "
        f"tool versions for this model: {', '.join(accepted)}."
    )
