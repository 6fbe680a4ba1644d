"""SDK exceptions to our short, typed ``claude_magic.errors`` (the SDK has already retried).

Imports ``anthropic`` and ``httpx2`` lazily, inside ``_translated_errors``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from claude_magic import errors
from claude_magic._client._constants import known_tool_versions


@contextmanager
def _translated_errors(
    passthrough: tuple[type[BaseException], ...] = (),
    *,
    timeout: float | None = None,
    model: str | None = None,
    tool_version: str | None = None,
    uploading: str | None = None,
) -> Iterator[None]:
    """Turn SDK exceptions into our short, typed errors (the SDK has already retried).

    Whether an error means a lost container is not decided here: the turn runner knows what
    the request carried and checks what happened.
    """
    import anthropic
    import httpx2 as httpx

    try:
        yield
    except passthrough:
        raise
    except anthropic.AuthenticationError as exc:
        raise errors.AuthenticationFailedError(
            "The API rejected the credentials: check ANTHROPIC_API_KEY (or your profile) and run the cell again",
            **_details(exc),
        ) from exc
    except anthropic.RateLimitError as exc:
        raise errors.RateLimitedError(
            "Rate limited, even after retries: wait a minute and run the cell again", **_details(exc)
        ) from exc
    except anthropic.APIStatusError as exc:
        if uploading is not None and exc.status_code == 413:
            raise errors.RequestTooLargeError(
                f"{uploading} is too large for the Files API (500 MB per file): upload a smaller or compressed file",
                **_details(exc),
            ) from exc
        raise _status_error(exc, model=model, tool_version=tool_version) from exc
    except anthropic.APITimeoutError as exc:
        waited = f" within {timeout:g} s" if timeout else ""
        raise errors.ApiTimeoutError(
            f"The API did not answer{waited}: run the cell again, or raise ClaudeMagics.timeout for long turns."
        ) from exc
    except anthropic.APIConnectionError as exc:
        raise errors.ConnectionFailedError(
            f"Could not reach the API ({exc.message.rstrip('.')}): check the network or ANTHROPIC_BASE_URL "
            "and run the cell again."
        ) from exc
    except httpx.TimeoutException as exc:  # the SDK does not wrap transport errors in the middle of a stream
        raise errors.ApiTimeoutError(
            "The API stopped sending in the middle of the answer (read timeout): run the cell again."
        ) from exc
    except httpx.TransportError as exc:
        raise errors.ConnectionFailedError(
            f"The connection broke while Claude was answering ({type(exc).__name__}): run the cell again."
        ) from exc


def _details(exc: Any) -> dict[str, Any]:
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    details: dict[str, Any] = error["details"] if isinstance(error.get("details"), dict) else {}
    return {
        "status": exc.status_code,
        "request_id": exc.request_id,
        "error_type": getattr(exc, "type", None) or error.get("type") or None,
        "error_code": getattr(exc, "error_code", None) or details.get("error_code") or None,
    }


def _status_error(exc: Any, *, model: str | None, tool_version: str | None) -> errors.ApiError:
    status: int = exc.status_code
    server_message = _server_message(exc)
    details = _details(exc)
    error_type = details["error_type"] or ""
    if status == 200:  # an `event: error` in the middle of a stream
        details["status"] = None
        status_text = "The API reported an error mid-stream"
        if error_type == "overloaded_error":
            return errors.OverloadedError(f"{status_text}: overloaded. Run the cell again in a moment", **details)
        return errors.ApiError(f"{status_text}: {server_message}. Run the cell again", **details)
    if status == 413:
        return errors.RequestTooLargeError(
            "The request is too large for the API: the conversation resends every earlier output. "
            "Start afresh with %claude_reset (or --new), or upload large data as files instead of pasting it",
            **details,
        )
    if status in (503, 529) or error_type == "overloaded_error":
        return errors.OverloadedError(
            "The API is overloaded, even after retries: run the cell again in a moment", **details
        )
    if status >= 500:
        return errors.ApiError(f"The API failed ({server_message}): run the cell again", **details)
    if status == 403:
        return errors.ApiError(f"Permission denied: {server_message}", **details)
    if status == 400 and tool_version and tool_version in server_message:
        from claude_magic._tool_versions import BASH_AND_EDITOR, accepted_versions

        others = [v for v in (*accepted_versions(model or ""), *reversed(known_tool_versions())) if v != tool_version]
        first, *rest = list(dict.fromkeys(others)) or [BASH_AND_EDITOR]
        alternatives = f" (or {', '.join(rest[:2])})" if rest else ""
        return errors.ToolVersionRefusedError(
            f"The API refused the tool version {tool_version} for {model}: try --tool-version {first}{alternatives}",
            **details,
        )
    return errors.BadRequestError(f"The API refused the request: {server_message}", **details)


def _server_message(exc: Any) -> str:
    message = getattr(exc, "api_message", None)
    if not message and isinstance(exc.body, dict):
        message = (exc.body.get("error") or {}).get("message")
    return str(message or exc.message).rstrip(".")
