"""The one place that talks to the Anthropic SDK: files, streamed messages, typed errors.

This is the only module that imports ``anthropic``, and it does so lazily (the SDK takes about
two seconds to import). SDK objects never leave it: content blocks become plain wire-shaped
dicts, errors become ``claude_magic.errors`` exceptions. Retries and stream accumulation are
the SDK's own.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any, Literal, TypeAlias

from claude_magic import errors
from claude_magic._batch_types import BatchCounts, BatchItemResult, BatchStatus
from claude_magic.results import ContainerInfo, ContainerSkill, RemoteFile, Response, SkillInfo, Usage

DEFAULT_MODEL = "claude-sonnet-5"
DEFAULT_BASE_URL = "https://api.anthropic.com"
CODE_EXECUTION_TOOLS = frozenset({"code_execution", "bash_code_execution", "text_editor_code_execution"})
# Beta request parameters and the ``anthropic-beta`` header each needs (api-spec §13 Context editing, Compaction).
CONTEXT_MANAGEMENT_BETA = "context-management-2025-06-27"
COMPACTION_BETA = "compact-2026-01-12"
_BETA_EDITS = {"clear_tool_uses_20250919": CONTEXT_MANAGEMENT_BETA, "compact_20260112": COMPACTION_BETA}
# Parameters of count_tokens besides model, messages and tools (the SDK's ``messages.count_tokens``).
_COUNTABLE = ("system", "thinking", "output_config", "cache_control", "context_management")

# Stream callbacks: ("start" | "text" | "stop", block index within the response, block dict or text snapshot).
BlockEventKind: TypeAlias = Literal["start", "text", "stop"]
BlockListener: TypeAlias = Callable[[BlockEventKind, int, dict[str, Any]], None]


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


def warm_up() -> None:
    """Import the SDK now (about two seconds), e.g. in a background thread, so the first request does not wait.

    Also what the SDK imports on its first request: the streaming helpers and the OpenTelemetry
    propagators its tracing loads (about 0.25 s).
    """
    try:
        import anthropic
        import anthropic.lib.streaming
    except ImportError:  # the first request will say what is missing
        return
    with contextlib.suppress(Exception):  # private helpers of the SDK: best effort
        from anthropic import _tracing
        from anthropic._models import construct_type

        _tracing.trace_context_injector()
        # The SDK builds each model's pydantic schema on first use (~60 ms for a turn's types).
        for event in _WARM_EVENTS:
            parsed = construct_type(type_=anthropic.types.RawMessageStreamEvent, value=event)
            block = getattr(parsed, "content_block", None)
            if block is not None:
                _plain(block)


_WARM_EVENTS: tuple[dict[str, Any], ...] = (
    {
        "type": "message_start",
        "message": {
            "id": "msg_warm",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "warm",
            "stop_reason": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "warm"}},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "server_tool_use", "id": "srvtoolu_warm", "name": "bash_code_execution", "input": {}},
    },
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {
            "type": "bash_code_execution_tool_result",
            "tool_use_id": "srvtoolu_warm",
            "content": {
                "type": "bash_code_execution_result",
                "stdout": "",
                "stderr": "",
                "return_code": 0,
                "content": [],
            },
        },
    },
    {
        "type": "content_block_start",
        "index": 3,
        "content_block": {
            "type": "text_editor_code_execution_tool_result",
            "tool_use_id": "srvtoolu_warm",
            "content": {"type": "text_editor_code_execution_create_result", "is_file_update": False},
        },
    },
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "container": None}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
)


def key_fingerprint(secret: str) -> str:
    """A short, one-way fingerprint of a credential, to keep per-account state without storing it."""
    return hashlib.sha256(b"claude_magic:" + secret.encode()).hexdigest()[:16]


class ApiClient:
    """A thin wrapper over ``anthropic.Anthropic`` that speaks in our values and errors.

    Parameters
    ----------
    base_url
        API base URL; None lets the SDK decide (``ANTHROPIC_BASE_URL``, else the public API).
    timeout, max_retries
        Passed to the SDK, which does the retrying.
    http_client
        An ``httpx2.Client`` for the SDK to use (e.g. one that records a cassette); None: the SDK's own.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float = 600.0,
        max_retries: int = 2,
        http_client: Any = None,
    ) -> None:
        import anthropic

        # The SDK resolves credentials itself (api key, auth token, profiles, workload identity):
        # passing a key read here would switch its other sources off.
        try:
            self._sdk = anthropic.Anthropic(
                base_url=base_url, timeout=timeout, max_retries=max_retries, http_client=http_client
            )
        except anthropic.AnthropicError as exc:  # e.g. a profile named in the environment that is broken
            raise errors.MissingApiKeyError(str(exc).splitlines()[0] if str(exc) else "") from exc
        identity = _credential_identity(self._sdk)
        if identity is None:
            self._sdk.close()
            raise errors.MissingApiKeyError()
        self.fingerprint = key_fingerprint(identity)
        self.base_url = str(self._sdk.base_url).rstrip("/")
        self.timeout = timeout

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._sdk.close()

    # Files API

    def upload(
        self, name: str, content: bytes | IO[bytes], media_type: str, *, expires_in_seconds: int | None = None
    ) -> RemoteFile:
        """Upload one file; returns its metadata. ``expires_in_seconds``: the server deletes it after that."""
        import anthropic

        expiry: Any = expires_in_seconds if expires_in_seconds is not None else anthropic.omit
        with _translated_errors(timeout=self.timeout, uploading=name):
            meta = self._sdk.files.upload(file=(name, content, media_type), expires_in_seconds=expiry)
        return _remote_file(meta)

    def metadata(self, file_id: str) -> RemoteFile | None:
        """The file's metadata, or None if the server no longer knows it or its content expired."""
        import anthropic

        try:
            with _translated_errors((anthropic.NotFoundError,), timeout=self.timeout):
                meta = self._sdk.files.retrieve_metadata(file_id)
        except anthropic.NotFoundError:
            return None
        remote = _remote_file(meta)
        return None if remote.expired else remote

    def download(self, file_id: str) -> bytes:
        """The bytes of a file the sandbox produced."""
        with _translated_errors(timeout=self.timeout):
            return self._sdk.files.download(file_id).read()

    def delete(self, file_id: str) -> bool:
        """Delete a file; False if it was already gone."""
        import anthropic

        try:
            with _translated_errors((anthropic.NotFoundError,), timeout=self.timeout):
                self._sdk.files.delete(file_id)
        except anthropic.NotFoundError:
            return False
        return True

    def list_files(self, limit: int = 1000) -> list[RemoteFile]:
        """Every file the key's workspace holds, newest first (auto-paginated)."""
        with _translated_errors(timeout=self.timeout):
            return [_remote_file(meta) for meta in self._sdk.files.list(limit=min(limit, 1000))]

    # Agent Skills

    def list_skills(self, source: str | None = None) -> list[SkillInfo]:
        """Every skill the key can use (Anthropic's and custom), or those of one *source* (auto-paginated)."""
        import anthropic

        chosen: Any = source if source is not None else anthropic.omit
        with _translated_errors(timeout=self.timeout):
            return [_skill(skill) for skill in self._sdk.skills.list(limit=100, source=chosen)]

    def create_skill(self, files: Sequence[tuple[str, bytes]], display_name: str | None = None) -> SkillInfo:
        """Upload a custom skill from (``top/relative/path``, bytes) pairs; SKILL.md at the top."""
        import anthropic

        name: Any = display_name if display_name is not None else anthropic.omit
        with _translated_errors(timeout=self.timeout):
            skill = self._sdk.skills.create(files=[(path, data) for path, data in files], display_name=name)
        return _skill(skill)

    def delete_skill(self, skill_id: str) -> bool:
        """Delete a custom skill and its versions (the API deletes a skill only once it has none); False if gone."""
        import anthropic

        try:
            with _translated_errors((anthropic.NotFoundError,), timeout=self.timeout):
                for version in list(self._sdk.skills.versions.list(skill_id)):
                    self._sdk.skills.versions.delete(version.id, skill_id=skill_id)
                self._sdk.skills.delete(skill_id)
        except anthropic.NotFoundError:
            return False
        return True

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
        extra_tools: Sequence[dict[str, Any]] = (),
        skills: Sequence[dict[str, Any]] = (),
        options: Mapping[str, Any] | None = None,
    ) -> Response:
        """Send one request with the code execution tool, streamed unless ``stream`` is False.

        ``on_block`` hears each block start (with the block as sent), each text delta (with the
        text so far) and each block stop (with the finished block); without streaming, each block's
        start and stop once the whole response is in. The container goes as a plain id, and as an
        object only with ``skills``: the object form without skills is refused by the real API
        (reported, pydantic-ai #5167). ``extra_tools`` follow the code execution tool; ``options``
        are further request parameters of the SDK's ``messages.create`` (e.g. ``cache_control``).
        """
        kwargs: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": list(messages),
            "tools": [{"type": tool_version, "name": "code_execution"}, *extra_tools],
            **(options or {}),
        }
        if skills:
            kwargs["container"] = (
                {"id": container_id, "skills": list(skills)} if container_id else {"skills": list(skills)}
            )
        elif container_id:
            kwargs["container"] = container_id
        listener: BlockListener = on_block or (lambda kind, index, block: None)
        errors_for = functools.partial(self._translated_errors, model=model, tool_version=tool_version)
        betas = beta_headers(kwargs)
        # Context editing and compaction exist only on the beta Messages API (``client.beta.messages``).
        api: Any = self._sdk.beta.messages if betas else self._sdk.messages
        if betas:
            kwargs["betas"] = betas
        if not stream:
            with errors_for():
                message = api.create(**kwargs)
            for index, block in enumerate(message.content):
                listener("start", index, _plain(block))
                listener("stop", index, _plain(block))
            return _response(message, getattr(message, "_request_id", None))
        with errors_for(), api.stream(**kwargs) as events:
            for event in events:
                if event.type == "content_block_start":
                    listener("start", event.index, _plain(event.content_block))
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    block = events.current_message_snapshot.content[event.index]
                    listener("text", event.index, {"text": getattr(block, "text", "")})
                elif event.type == "content_block_stop":
                    listener("stop", event.index, _plain(event.content_block))
            message = events.get_final_message()
            request_id = events.request_id
        return _response(message, request_id)

    def count_tokens(
        self,
        *,
        model: str,
        messages: Sequence[dict[str, Any]],
        tool_version: str,
        extra_tools: Sequence[dict[str, Any]] = (),
        options: Mapping[str, Any] | None = None,
    ) -> int:
        """Input tokens the request would have, tools included (``messages.count_tokens``; no container).

        Files in the container are not counted: count_tokens takes no ``container``.
        """
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "tools": [{"type": tool_version, "name": "code_execution"}, *extra_tools],
            **{key: value for key, value in (options or {}).items() if key in _COUNTABLE},
        }
        betas = beta_headers(kwargs)
        with self._translated_errors(model=model, tool_version=tool_version):
            if betas:
                return int(self._sdk.beta.messages.count_tokens(**kwargs, betas=betas).input_tokens)
            return int(self._sdk.messages.count_tokens(**kwargs).input_tokens)

    # Message Batches API

    def create_batch(self, requests: Sequence[Mapping[str, Any]]) -> BatchStatus:
        """Submit ``{"custom_id", "params"}`` requests (``params`` as for ``messages.create``) as one batch."""
        with _translated_errors(timeout=self.timeout):
            batch = self._sdk.messages.batches.create(requests=list(requests))  # type: ignore[arg-type]
        return _batch_status(batch)

    def retrieve_batch(self, batch_id: str) -> BatchStatus:
        """The batch's processing status and request counts."""
        with _translated_errors(timeout=self.timeout):
            return _batch_status(self._sdk.messages.batches.retrieve(batch_id))

    def cancel_batch(self, batch_id: str) -> BatchStatus:
        """Ask the API to cancel the batch: requests not started end ``canceled``."""
        with _translated_errors(timeout=self.timeout):
            return _batch_status(self._sdk.messages.batches.cancel(batch_id))

    def batch_results(self, batch_id: str) -> Iterator[BatchItemResult]:
        """The results of an ended batch, one line at a time, streamed from the ``.jsonl`` file.

        The response body is streamed (``with_streaming_response``), so only one line is held at a
        time however large the batch; the connection closes when the iterator is exhausted or closed.
        """
        with (
            _translated_errors(timeout=self.timeout),
            self._sdk.messages.batches.with_streaming_response.results(batch_id) as raw,
        ):
            for line in raw.parse():
                yield _batch_item(line)

    @contextmanager
    def _translated_errors(self, *, model: str | None = None, tool_version: str | None = None) -> Iterator[None]:
        with _translated_errors(timeout=self.timeout, model=model, tool_version=tool_version):
            yield


def beta_headers(params: Mapping[str, Any]) -> list[str]:
    """The ``anthropic-beta`` values a request's parameters need (empty: the GA Messages API will do)."""
    needed: list[str] = []
    if params.get("compaction") is not None:
        needed.append(COMPACTION_BETA)
    management = params.get("context_management")
    for edit in (management or {}).get("edits", ()) if isinstance(management, Mapping) else ():
        needed.append(_BETA_EDITS.get(str(edit.get("type")), CONTEXT_MANAGEMENT_BETA))
    return list(dict.fromkeys(needed))


def _credential_identity(sdk: Any) -> str | None:
    """What the SDK resolved to authenticate with, as a string to fingerprint (never stored)."""
    if sdk.api_key:
        return f"api_key:{sdk.api_key}"
    if sdk.auth_token:
        return f"auth_token:{sdk.auth_token}"
    credentials = getattr(sdk, "credentials", None)
    if credentials is not None:
        # A profile or federation provider: identified by what selects it (profile name, config
        # path, rule), never by a token, which rotates.
        attributes = vars(credentials) if hasattr(credentials, "__dict__") else {}
        selectors = sorted(
            f"{key}={value}"
            for key, value in attributes.items()
            if key.lstrip("_") in ("profile", "config_path", "federation_rule_id", "organization_id", "env_var")
        )
        return f"credentials:{type(credentials).__qualname__}:{';'.join(selectors)}"
    return None


def _plain(block: Any) -> dict[str, Any]:
    data: dict[str, Any] = block.model_dump(mode="json", exclude_none=True)
    return data


def _batch_status(batch: Any) -> BatchStatus:
    counts = batch.request_counts
    return BatchStatus(
        id=batch.id,
        processing_status=batch.processing_status,
        counts=BatchCounts(counts.processing, counts.succeeded, counts.errored, counts.canceled, counts.expired),
        created_at=batch.created_at,
        ended_at=batch.ended_at,
        expires_at=batch.expires_at,
    )


def _batch_item(line: Any) -> BatchItemResult:
    result = line.result
    if result.type == "succeeded":
        return BatchItemResult(line.custom_id, "succeeded", response=_response(result.message, None))
    if result.type == "errored":
        envelope = result.error
        error = getattr(envelope, "error", None)
        return BatchItemResult(
            line.custom_id,
            "errored",
            error_type=getattr(error, "type", None),
            error_message=getattr(error, "message", None),
            request_id=getattr(envelope, "request_id", None),
        )
    return BatchItemResult(line.custom_id, "expired" if result.type == "expired" else "canceled")


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


def _skill(skill: Any) -> SkillInfo:
    return SkillInfo(
        id=skill.id,
        display_name=skill.display_name,
        source=skill.source.type if hasattr(skill.source, "type") else str(skill.source),
        latest_version=skill.latest_version_id,
        created_at=skill.created_at,
    )


def _response(message: Any, request_id: str | None) -> Response:
    """Our ``Response`` from a GA ``Message`` or a beta ``BetaMessage`` (same shape where we read it)."""
    usage = message.usage
    content = [_plain(block) for block in message.content]
    code_runs = sum(
        1 for block in content if block.get("type") == "server_tool_use" and block.get("name") in CODE_EXECUTION_TOOLS
    )
    container = message.container
    creation = getattr(usage, "cache_creation", None)
    management = getattr(message, "context_management", None)
    details = message.stop_details
    return Response(
        content=content,
        stop_reason=message.stop_reason,
        container=(
            ContainerInfo(
                container.id,
                container.expires_at,
                skills=tuple(ContainerSkill(s.skill_id, s.type, s.version) for s in container.skills or ()),
            )
            if container is not None
            else None
        ),
        usage=Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            code_execution_requests=code_runs,
            cache_creation_1h_input_tokens=(creation.ephemeral_1h_input_tokens or 0) if creation else 0,
            web_search_requests=getattr(usage.server_tool_use, "web_search_requests", 0) or 0,
            web_fetch_requests=getattr(usage.server_tool_use, "web_fetch_requests", 0) or 0,
        ),
        model=message.model,
        request_id=request_id,
        stop_details=details.model_dump(mode="json", exclude_none=True) if details is not None else None,
        context_edits=tuple(_plain(edit) for edit in management.applied_edits) if management is not None else (),
    )


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
