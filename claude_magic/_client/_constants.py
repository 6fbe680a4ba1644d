"""Defaults and names the client's modules share, and the tool versions the installed SDK defines.

Stdlib only at import time; ``anthropic`` is imported inside ``known_tool_versions``.
"""

from __future__ import annotations

import re

from claude_magic._defaults import DEFAULT_MODEL as DEFAULT_MODEL

DEFAULT_BASE_URL = "https://api.anthropic.com"
CODE_EXECUTION_TOOLS = frozenset({"code_execution", "bash_code_execution", "text_editor_code_execution"})


def known_tool_versions() -> tuple[str, ...]:
    """The ``code_execution_*`` tool versions this SDK defines, oldest first."""
    import anthropic.types as types

    return tuple(
        sorted(
            f"code_execution_{match.group(1)}"
            for name in dir(types)
            if (match := re.fullmatch(r"CodeExecutionTool(\d{8})Param", name))
        )
    )
