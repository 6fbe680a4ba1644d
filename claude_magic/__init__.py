"""Hand data to Claude's server-side code execution tool from IPython and Jupyter.

Load with ``%load_ext claude_magic``. Importing this package imports neither IPython,
anthropic nor pandas: the magics module is imported when IPython loads the extension, and
``Session`` is imported on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from claude_magic._version import __version__

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from claude_magic._map_values import map_turn
    from claude_magic._session import Session

__all__ = ["Session", "__version__", "load_ipython_extension", "map_turn", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    if name == "Session":
        from claude_magic._session import Session

        return Session
    if name == "map_turn":
        from claude_magic._map_values import map_turn

        return map_turn
    raise AttributeError(f"module 'claude_magic' has no attribute {name!r}")


def load_ipython_extension(shell: InteractiveShell) -> None:
    """Register the ``%claude_*`` magics on *shell*; no network, no file reads."""
    from claude_magic._magics import ClaudeMagics

    ClaudeMagics.attach(shell)


def unload_ipython_extension(shell: InteractiveShell) -> None:
    """Remove the magics and close the session's HTTP connections."""
    from claude_magic._magics import ClaudeMagics

    ClaudeMagics.detach(shell)
