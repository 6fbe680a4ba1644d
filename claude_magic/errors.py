"""Expected failures the user can act on, each with a message that says what to do.

Stdlib only: every layer may import this module. ``magics`` turns these into a one-line
``UsageError``; bugs are not caught and keep their traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class ClaudeMagicError(Exception):
    """An expected failure the user can act on. Shown without a traceback."""


class MissingApiKeyError(ClaudeMagicError):
    """No API key was found in the environment."""

    def __init__(self) -> None:
        super().__init__(
            "No API key: set ANTHROPIC_API_KEY in the kernel's environment (or point "
            "ANTHROPIC_BASE_URL at the offline stand-in) and run the cell again."
        )


class ApiError(ClaudeMagicError):
    """The API refused a request; carries the HTTP status and request id for support tickets."""

    def __init__(self, message: str, *, status: int | None = None, request_id: str | None = None) -> None:
        self.status = status
        self.request_id = request_id
        where = ", ".join(
            part
            for part in (f"HTTP {status}" if status else "", f"request id {request_id}" if request_id else "")
            if part
        )
        super().__init__(f"{message} ({where})" if where else message)


class AuthenticationFailedError(ApiError):
    """The API rejected the key."""


class RateLimitedError(ApiError):
    """Still rate limited after the SDK's retries."""


class OverloadedError(ApiError):
    """The API is overloaded or unavailable after retries."""


class BadRequestError(ApiError):
    """The API said the request was malformed; the message is the server's."""


class FileTooLargeError(ClaudeMagicError):
    """A file is over the Files API's 500 MB limit; refused before sending anything."""

    def __init__(self, name: str, size: int, limit: int) -> None:
        self.name, self.size, self.limit = name, size, limit
        super().__init__(
            f"{name} is {size / 2**20:,.1f} MB, over the Files API limit of {limit / 2**20:,.0f} MB: "
            "upload a smaller file (filter rows, or compress it) and try again."
        )


class LocalFileNotFoundError(ClaudeMagicError):
    """A path or glob given for upload matched nothing."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        super().__init__(f"No file matches {pattern!r}: check the path (relative to the kernel's working directory).")


class UnknownFileError(ClaudeMagicError):
    """A file name or id that the session has not uploaded, or that the server no longer knows."""

    def __init__(self, name: str, *, known: Iterable[str] = (), hint: str = "") -> None:
        self.name = name
        listing = ", ".join(sorted(known)) or "none yet"
        super().__init__(
            hint or f"No uploaded file named {name!r} (uploaded so far: {listing}). Upload it with %claude_upload."
        )


class ContainerGoneError(ApiError):
    """The request named a container the server no longer has (expired or unknown)."""


class ConnectionFailedError(ClaudeMagicError):
    """The API could not be reached."""


class InterruptedTurnError(ClaudeMagicError):
    """A turn was interrupted; the conversation was left as it was before it."""
