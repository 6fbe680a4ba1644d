"""Errors in the API's wire envelope (spec §1.3) and the default type for each status."""

from __future__ import annotations

from typing import Any

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_MESSAGE_BY_TYPE = {
    "invalid_request_error": "There was an issue with the format or content of your request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource was not found.",
    "timeout_error": "Request timed out.",
    "conflict_error": "The request conflicts with the current state of the resource.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of requests has exceeded your rate limit.",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


def default_error_type(status: int) -> str:
    """The ``error.type`` the real API uses for *status*."""
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def default_message(error_type: str) -> str:
    """A message like the real API's for *error_type*."""
    return _MESSAGE_BY_TYPE.get(error_type, "An error occurred.")


class ApiError(Exception):
    """An error response: raised anywhere in the stand-in, written by the server as the §1.3 envelope."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        error_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.error_type = error_type or default_error_type(status)
        self.message = message or default_message(self.error_type)
        self.error_code = error_code
        self.headers = dict(headers or {})
        super().__init__(f"{status} {self.error_type}: {self.message}")

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON body: ``{"type": "error", "error": {...}, "request_id": ...}``."""
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.error_code:
            error["details"] = {"error_code": self.error_code}
        return {"type": "error", "error": error, "request_id": request_id}


def bad_request(message: str) -> ApiError:
    """A 400 ``invalid_request_error``."""
    return ApiError(400, message)


def not_found(message: str, *, error_code: str | None = None) -> ApiError:
    """A 404 ``not_found_error``."""
    return ApiError(404, message, error_code=error_code)
