"""The one place that talks to the Anthropic SDK: files, streamed messages, typed errors.

This is the only module that imports ``anthropic``, and it does so lazily (the SDK takes about
two seconds to import). SDK objects never leave it: content blocks become plain wire-shaped
dicts, errors become ``claude_magic.errors`` exceptions. Retries and stream accumulation are
the SDK's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Literal, TypeAlias

from claude_magic import errors
from claude_magic.results import ContainerInfo, Usage

if TYPE_CHECKING:
    import anthropic

DEFAULT_MODEL = "claude-sonnet-5"
_FALLBACK_TOOL_VERSION = "code_execution_20260521"

# Stream callbacks: ("start" | "text" | "stop", block index within the response, block dict or text snapshot).
BlockEventKind: TypeAlias = Literal["start", "text", "stop"]
BlockListener: TypeAlias = Callable[[BlockEventKind, int, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """File metadata as the Files API reports it."""

    id: str
    filename: str
    mime_type: str
    size: int
    downloadable: bool
    created_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def expired(self) -> bool:
        """Whether the file's content is no longer available."""
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Response:
    """One Messages API response, reduced to plain values."""

    content: list[dict[str, Any]]  # wire-shaped blocks, ready to send back as an assistant message
    stop_reason: str | None
    container: ContainerInfo | None
    usage: Usage
    model: str


def newest_tool_version() -> str:
    """The newest ``code_execution_*`` tool version this SDK knows."""
    import anthropic.types as types

    versions = sorted(
        match.group(1) for name in dir(types) if (match := re.fullmatch(r"CodeExecutionTool(\d{8})Param", name))
    )
    return f"code_execution_{versions[-1]}" if versions else _FALLBACK_TOOL_VERSION


def warm_up() -> None:
    """Import the SDK now (about two seconds), e.g. in a background thread, so the first request does not wait."""
    with contextlib.suppress(ImportError):  # the first request will say what is missing
        import anthropic  # noqa: F401


def key_fingerprint(api_key: str) -> str:
    """A short, one-way fingerprint of a key, to keep per-key state without storing the key."""
    return hashlib.sha256(b"claude_magic:" + api_key.encode()).hexdigest()[:16]


class ApiClient:
    """A thin wrapper over ``anthropic.Anthropic`` that speaks in our values and errors.

    Parameters
    ----------
    base_url
        API base URL; None lets the SDK decide (``ANTHROPIC_BASE_URL``, else the public API).
    timeout, max_retries
        Passed to the SDK, which does the retrying.
    """

    def __init__(self, *, base_url: str | None = None, timeout: float = 600.0, max_retries: int = 2) -> None:
        api_key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        if not api_key:
            raise errors.MissingApiKeyError()
        import anthropic

        self._sdk = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self.fingerprint = key_fingerprint(api_key)
        self.base_url = str(self._sdk.base_url).rstrip("/")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._sdk.close()

    # Files API

    def upload(self, name: str, content: bytes | IO[bytes], media_type: str) -> RemoteFile:
        """Upload one file; returns its metadata."""
        with _translated_errors():
            meta = self._sdk.files.upload(file=(name, content, media_type))
        return _remote_file(meta)

    def metadata(self, file_id: str) -> RemoteFile | None:
        """The file's metadata, or None if the server no longer knows it or its content expired."""
        import anthropic

        try:
            with _translated_errors(None, passthrough=(anthropic.NotFoundError,)):
                meta = self._sdk.files.retrieve_metadata(file_id)
        except anthropic.NotFoundError:
            return None
        remote = _remote_file(meta)
        return None if remote.expired else remote

    def download(self, file_id: str) -> bytes:
        """The bytes of a file the sandbox produced."""
        with _translated_errors():
            return self._sdk.files.download(file_id).read()

    def delete(self, file_id: str) -> bool:
        """Delete a file; False if it was already gone."""
        import anthropic

        try:
            with _translated_errors(None, passthrough=(anthropic.NotFoundError,)):
                self._sdk.files.delete(file_id)
        except anthropic.NotFoundError:
            return False
        return True

    def list_files(self, limit: int = 1000) -> list[RemoteFile]:
        """Every file the key's workspace holds, newest first (auto-paginated)."""
        with _translated_errors():
            return [_remote_file(meta) for meta in self._sdk.files.list(limit=min(limit, 1000))]

    # Messages API

    def send(
        self,
        *,
        model: str,
        max_tokens: int,
        messages: Sequence[dict[str, Any]],
        tool_version: str,
        container_id: str | None,
        on_block: BlockListener | None = None,
        stream: bool = True,
    ) -> Response:
        """Send one request with the code execution tool, streamed unless ``stream`` is False.

        ``on_block`` hears each block start (with the block as sent), each text delta (with the
        text so far) and each block stop (with the finished block); without streaming, each block's
        start and stop once the whole response is in.
        """
        kwargs: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": list(messages),
            "tools": [{"type": tool_version, "name": "code_execution"}],
        }
        if container_id:
            kwargs["container"] = container_id
        listener: BlockListener = on_block or (lambda kind, index, block: None)
        if not stream:
            with _translated_errors(container_id):
                message = self._sdk.messages.create(**kwargs)
            for index, block in enumerate(message.content):
                listener("start", index, _plain(block))
                listener("stop", index, _plain(block))
            return _response(message)
        with _translated_errors(container_id), self._sdk.messages.stream(**kwargs) as events:
            for event in events:
                if event.type == "content_block_start":
                    listener("start", event.index, _plain(event.content_block))
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    block = events.current_message_snapshot.content[event.index]
                    listener("text", event.index, {"text": getattr(block, "text", "")})
                elif event.type == "content_block_stop":
                    listener("stop", event.index, _plain(event.content_block))
            message = events.get_final_message()
        return _response(message)


def _plain(block: Any) -> dict[str, Any]:
    data: dict[str, Any] = block.model_dump(mode="json", exclude_none=True)
    return data


def _remote_file(meta: Any) -> RemoteFile:
    return RemoteFile(
        id=meta.id,
        filename=meta.filename,
        mime_type=meta.mime_type,
        size=meta.size_bytes,
        downloadable=bool(getattr(meta, "downloadable", False)),
        created_at=meta.created_at,
        expires_at=getattr(meta, "expires_at", None),
    )


def _response(message: anthropic.types.Message) -> Response:
    usage = message.usage
    server = usage.server_tool_use
    code_runs = (server.model_extra or {}).get("code_execution_requests", 0) if server is not None else 0
    container = message.container
    return Response(
        content=[_plain(block) for block in message.content],
        stop_reason=message.stop_reason,
        container=ContainerInfo(container.id, container.expires_at) if container is not None else None,
        usage=Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            code_execution_requests=int(code_runs or 0),
        ),
        model=message.model,
    )


@contextmanager
def _translated_errors(
    container_id: str | None = None, passthrough: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Turn SDK exceptions into our short, typed errors (the SDK has already retried).

    With ``container_id``, an error that names the container becomes ``ContainerGoneError``.
    """
    import anthropic
    import httpx2 as httpx

    try:
        yield
    except passthrough:
        raise
    except anthropic.AuthenticationError as exc:
        raise errors.AuthenticationFailedError(
            "The API rejected the key: check ANTHROPIC_API_KEY and run the cell again",
            status=exc.status_code,
            request_id=exc.request_id,
        ) from exc
    except anthropic.RateLimitError as exc:
        raise errors.RateLimitedError(
            "Rate limited, even after retries: wait a minute and run the cell again",
            status=exc.status_code,
            request_id=exc.request_id,
        ) from exc
    except anthropic.APIStatusError as exc:
        # The real API answers a stale container with a 4xx, or a 500 when uploads come with it.
        if container_id and exc.status_code in (400, 404, 410, 500) and "container" in _server_message(exc).lower():
            raise errors.ContainerGoneError(
                f"The container {container_id} is gone ({_server_message(exc)})",
                status=exc.status_code,
                request_id=exc.request_id,
            ) from exc
        raise _status_error(exc) from exc
    except anthropic.APIConnectionError as exc:  # includes timeouts
        raise errors.ConnectionFailedError(
            f"Could not reach the API ({exc.message.rstrip('.')}): check the network or ANTHROPIC_BASE_URL "
            "and run the cell again."
        ) from exc
    except httpx.TransportError as exc:  # the SDK does not wrap transport errors in the middle of a stream
        raise errors.ConnectionFailedError(
            f"The connection broke while Claude was answering ({type(exc).__name__}): run the cell again."
        ) from exc


def _status_error(exc: Any) -> errors.ApiError:
    status: int = exc.status_code
    server_message = _server_message(exc)
    error_type = getattr(exc, "type", None) or ""
    if status == 200:  # an `event: error` in the middle of a stream
        status_text = "The API reported an error mid-stream"
        if error_type == "overloaded_error":
            return errors.OverloadedError(
                f"{status_text}: overloaded. Run the cell again in a moment", request_id=exc.request_id
            )
        return errors.ApiError(f"{status_text}: {server_message}. Run the cell again", request_id=exc.request_id)
    if status == 413:
        return errors.BadRequestError(
            f"The request is too large ({server_message}): send less data", status=status, request_id=exc.request_id
        )
    if status in (503, 529) or error_type == "overloaded_error":
        return errors.OverloadedError(
            "The API is overloaded, even after retries: run the cell again in a moment",
            status=status,
            request_id=exc.request_id,
        )
    if status >= 500:
        return errors.ApiError(
            f"The API failed ({server_message}): run the cell again", status=status, request_id=exc.request_id
        )
    if status == 403:
        return errors.ApiError(f"Permission denied: {server_message}", status=status, request_id=exc.request_id)
    return errors.BadRequestError(
        f"The API refused the request: {server_message}", status=status, request_id=exc.request_id
    )


def _server_message(exc: Any) -> str:
    message = getattr(exc, "api_message", None)
    if not message and isinstance(exc.body, dict):
        message = (exc.body.get("error") or {}).get("message")
    return str(message or exc.message).rstrip(".")
