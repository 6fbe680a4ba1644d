"""Hand data to Claude's server-side code execution tool from IPython and Jupyter.

Load with ``%load_ext claude_magic``. Importing this package imports neither IPython,
anthropic nor pandas: the magics module is imported when IPython loads the extension, and
everything below is imported on first access.

The public surface is ``__all__``: the ``Session``, the values it returns (``claude_magic.results``),
the errors it raises (``claude_magic.errors``), the picker widget, the offline stand-in
(``claude_magic.testing``) and the IPython load hooks. Modules whose names start with ``_`` are
internal and may change without notice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from claude_magic._version import __version__

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from claude_magic import errors, results, testing
    from claude_magic._live import LivePrinter
    from claude_magic._map_values import map_turn
    from claude_magic._session import Session
    from claude_magic.errors import (
        ApiError,
        ApiTimeoutError,
        AuthenticationFailedError,
        BadRequestError,
        ClaudeMagicError,
        ConnectionFailedError,
        ContainerGoneError,
        FileTooLargeError,
        LocalFileNotFoundError,
        MissingApiKeyError,
        OverloadedError,
        RateLimitedError,
        RequestTooLargeError,
        ToolVersionRefusedError,
        UnknownFileError,
    )
    from claude_magic.results import (
        CodeStep,
        ContainerInfo,
        EditStep,
        Execution,
        Notice,
        OutputFile,
        RemoteFile,
        StepUpdate,
        TextStep,
        Turn,
        UploadBatch,
        UploadedFile,
        Usage,
    )
    from claude_magic.widgets import UploadPicker

# name -> module it lives in (imported on first access, so `import claude_magic` stays light)
_EXPORTS: dict[str, str] = {
    "Session": "claude_magic._session",
    "LivePrinter": "claude_magic._live",
    "map_turn": "claude_magic._map_values",
    "UploadPicker": "claude_magic.widgets",
    **dict.fromkeys(
        (
            "ApiError", "ApiTimeoutError", "AuthenticationFailedError", "BadRequestError", "ClaudeMagicError",
            "ConnectionFailedError", "ContainerGoneError", "FileTooLargeError", "LocalFileNotFoundError",
            "MissingApiKeyError", "OverloadedError", "RateLimitedError", "RequestTooLargeError",
            "ToolVersionRefusedError", "UnknownFileError",
        ),
        "claude_magic.errors",
    ),
    **dict.fromkeys(
        (
            "CodeStep", "ContainerInfo", "EditStep", "Execution", "Notice", "OutputFile", "RemoteFile",
            "StepUpdate", "TextStep", "Turn", "UploadBatch", "UploadedFile", "Usage",
        ),
        "claude_magic.results",
    ),
}  # fmt: skip
_SUBMODULES = ("errors", "results", "testing")

__all__ = [
    "ApiError",
    "ApiTimeoutError",
    "AuthenticationFailedError",
    "BadRequestError",
    "ClaudeMagicError",
    "CodeStep",
    "ConnectionFailedError",
    "ContainerGoneError",
    "ContainerInfo",
    "EditStep",
    "Execution",
    "FileTooLargeError",
    "LivePrinter",
    "LocalFileNotFoundError",
    "MissingApiKeyError",
    "Notice",
    "OutputFile",
    "OverloadedError",
    "RateLimitedError",
    "RemoteFile",
    "RequestTooLargeError",
    "Session",
    "StepUpdate",
    "TextStep",
    "ToolVersionRefusedError",
    "Turn",
    "UnknownFileError",
    "UploadBatch",
    "UploadPicker",
    "UploadedFile",
    "Usage",
    "__version__",
    "errors",
    "load_ipython_extension",
    "map_turn",
    "results",
    "testing",
    "unload_ipython_extension",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"claude_magic.{name}")
    raise AttributeError(f"module 'claude_magic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(shell: InteractiveShell) -> None:
    """Register the ``%claude_*`` magics on *shell*; no network, no file reads."""
    from claude_magic._magics import ClaudeMagics

    ClaudeMagics.attach(shell)


def unload_ipython_extension(shell: InteractiveShell) -> None:
    """Remove the magics and close the session's HTTP connections."""
    from claude_magic._magics import ClaudeMagics

    ClaudeMagics.detach(shell)
