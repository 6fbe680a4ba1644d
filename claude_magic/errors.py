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

    def __init__(self, reason: str = "") -> None:
        cause = f" ({reason.rstrip('.')})" if reason else ""
        super().__init__(
            f"No API credentials{cause}: set ANTHROPIC_API_KEY in the kernel's environment (or an "
            "ANTHROPIC_PROFILE the SDK can use) and run the cell again."
        )


class ApiError(ClaudeMagicError):
    """The API refused a request; carries the HTTP status and request id for support tickets.

    ``error_type`` is the envelope's ``error.type`` and ``error_code`` its ``error.details.error_code``
    (both None when the server sent none, e.g. an untyped 500).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        error_type: str | None = None,
        error_code: str | None = None,
    ) -> None:
        self.status = status
        self.request_id = request_id
        self.error_type = error_type
        self.error_code = error_code
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


class RequestTooLargeError(ApiError):
    """The request body was over the API's size limit (HTTP 413)."""


class ToolVersionRefusedError(BadRequestError):
    """The API refused the code execution tool version sent with this model."""


class ApiTimeoutError(ClaudeMagicError):
    """The API did not answer within the timeout."""


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
    """The container was lost and starting a new one did not help either."""


class ConnectionFailedError(ClaudeMagicError):
    """The API could not be reached."""


class InterruptedTurnError(ClaudeMagicError):
    """A turn was interrupted; the conversation was left as it was before it."""


class CostCapError(ClaudeMagicError):
    """A cell was not sent (or not continued) because it would pass a cost cap the user set."""
