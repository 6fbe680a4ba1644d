"""What one kernel remembers between cells: uploads, the conversation and the container.

Plain Python, usable without IPython (``from claude_magic import Session``). It orchestrates the
``client`` (the only module that speaks to the SDK), the upload ``registry`` and ``downloads``.
Constructing a Session is cheap: the SDK is imported on first use.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from claude_magic import _downloads as downloads
from claude_magic._client import DEFAULT_MODEL, ApiClient, RemoteFile, Response, newest_tool_version
from claude_magic._local_files import DataFrameFormat, LocalFile, from_path, media_type_for, prepare
from claude_magic._registry import UploadRegistry, default_cache_dir
from claude_magic._turns import TurnAssembler, without_unpaired_tool_uses
from claude_magic.errors import (
    ApiError,
    ClaudeMagicError,
    ContainerGoneError,
    MissingApiKeyError,
    UnknownFileError,
)
from claude_magic.results import (
    CodeStep,
    ContainerInfo,
    EditStep,
    Notice,
    OutputFile,
    Turn,
    TurnEvent,
    UploadBatch,
    UploadedFile,
    Usage,
    human_size,
)

EventListener = Callable[[TurnEvent], None]

DEFAULT_MAX_TOKENS = 16_384  # under the SDK's non-streaming ceiling, so --no-stream works too
DEFAULT_BASE_URL = "https://api.anthropic.com"
_DOWNLOAD_WORKERS = 4


class Session:
    """A conversation with Claude's code execution tool, with uploads kept by file id.

    Parameters
    ----------
    model, max_tokens, tool_version
        Defaults for ``run``; ``tool_version=None`` means the newest the SDK knows.
    base_url
        API base URL; None lets the SDK decide (``ANTHROPIC_BASE_URL``, else the public API).
    download_dir
        Where files the sandbox produces are saved.
    cache_dir
        Where the upload registry lives (default ``$CLAUDE_MAGIC_CACHE_DIR`` or ``~/.cache/claude_magic``).
    max_continuations
        How many times a ``pause_turn`` is continued within one turn.

    Examples
    --------
    >>> session = Session()                                  # doctest: +SKIP
    >>> session.upload(df, name="sales")                      # doctest: +SKIP
    >>> turn = session.run("Plot monthly revenue.")           # doctest: +SKIP
    >>> turn.files[0].path                                    # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        tool_version: str | None = None,
        base_url: str | None = None,
        download_dir: str | os.PathLike[str] = "claude_outputs",
        cache_dir: str | os.PathLike[str] | None = None,
        max_continuations: int = 5,
        timeout: float = 600.0,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.tool_version = tool_version
        self.download_dir = Path(download_dir)
        self.max_continuations = max_continuations
        self._base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._client: ApiClient | None = None
        self._registry: UploadRegistry | None = None
        self._lock = threading.RLock()
        self._messages: list[dict[str, Any]] = []
        self._container: ContainerInfo | None = None
        self._uploads: dict[str, UploadedFile] = {}  # file_id -> file, in upload order
        self._pending: dict[str, UploadedFile] = {}  # to attach with the next turn
        self._memory: dict[str, LocalFile] = {}  # in-memory sources, by sha:name, for re-upload
        self._executor: ThreadPoolExecutor | None = None

    # State

    @property
    def container(self) -> ContainerInfo | None:
        """The container the next turn runs in (None: a new one)."""
        return self._container

    @property
    def history(self) -> list[dict[str, Any]]:
        """The conversation as sent to the API (a copy)."""
        return [dict(message) for message in self._messages]

    @property
    def uploads(self) -> tuple[UploadedFile, ...]:
        """Files uploaded (or reused) in this session, oldest first."""
        return tuple(self._uploads.values())

    @property
    def pending(self) -> tuple[UploadedFile, ...]:
        """Files the next turn attaches to the container."""
        return tuple(self._pending.values())

    @property
    def registry(self) -> UploadRegistry:
        """The on-disk record of uploads for this key and server."""
        if self._registry is None:
            key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
            if not key:
                raise MissingApiKeyError()
            from claude_magic._client import key_fingerprint

            base_url = (self._base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
            self._registry = UploadRegistry(
                self._cache_dir or default_cache_dir(), fingerprint=key_fingerprint(key), base_url=base_url
            )
        return self._registry

    @property
    def client(self) -> ApiClient:
        """The API client, created (and the SDK imported) on first use."""
        if self._client is None:
            self._client = ApiClient(base_url=self._base_url, timeout=self._timeout, max_retries=self._max_retries)
        return self._client

    def reset(self) -> None:
        """Forget the conversation and the container; this session's uploads are attached again next turn."""
        with self._lock:
            self._messages = []
            self._container = None
            self._pending = dict(self._uploads)

    def new_container(self) -> None:
        """Start the next turn in a fresh container (the conversation is kept); uploads are re-attached."""
        with self._lock:
            self._container = None
            self._pending = dict(self._uploads)

    def reconnect(self, *, base_url: str | None, timeout: float, max_retries: int) -> None:
        """Use new connection settings from the next request on (the registry follows the base URL)."""
        if self._client is not None:
            self._client.close()
        self._client = None
        self._registry = None
        self._base_url, self._timeout, self._max_retries = base_url, timeout, max_retries

    def export_inputs(self, folder: Path) -> list[Path]:
        """Copy this session's uploaded files into *folder*, so exported code can run locally."""
        written: list[Path] = []
        for entry in self._uploads.values():
            source = self._source(entry)
            if source is None:
                continue
            target = folder / downloads.safe_filename(entry.name)
            folder.mkdir(parents=True, exist_ok=True)
            with source.open() as stream:
                target.write_bytes(stream.read())
            written.append(target)
        return written

    def close(self) -> None:
        """Release the HTTP pool and download threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # Files

    def upload(self, value: Any, *, name: str | None = None, fmt: DataFrameFormat | None = None) -> UploadBatch:
        """Upload a DataFrame, path, glob, list of paths or (name, bytes); bytes already sent are reused.

        Files are checked (size, existence) before anything is sent; the next turn attaches them.
        """
        prepared = prepare(value, name=name, fmt=fmt)
        return UploadBatch(tuple(self.upload_file(local) for local in prepared))

    def upload_file(self, local: LocalFile) -> UploadedFile:
        """Upload one prepared file unless the server already holds the same bytes under the same name."""
        registry = self.registry
        known = registry.get(local.sha256, local.name)
        entry: UploadedFile | None = None
        if known is not None and self.client.metadata(known.file_id) is not None:
            entry = replace(known, reused=True, description=local.description or known.description)
        elif known is not None:
            registry.remove(known.file_id)
        if entry is None:
            entry = self._send(local)
        if local.data is not None:
            self._memory[UploadRegistry.key(local.sha256, local.name)] = local
        with self._lock:
            already_attached = entry.file_id in self._uploads and entry.file_id not in self._pending
            # Same name, new bytes: the new upload replaces the old one in this session.
            for file_id, other in list(self._uploads.items()):
                if other.name == entry.name and file_id != entry.file_id:
                    del self._uploads[file_id]
                    self._pending.pop(file_id, None)
            self._uploads[entry.file_id] = entry
            if not already_attached or self._container is None:
                self._pending[entry.file_id] = entry
        return entry

    def attach(self, names: Iterable[str]) -> None:
        """Choose exactly which of this session's files the next turn attaches (by name or file id)."""
        chosen = [self._lookup(name) for name in names]
        with self._lock:
            self._pending = {entry.file_id: entry for entry in chosen}

    def find(self, name_or_id: str) -> UploadedFile:
        """An uploaded file by name or file id (this session's first, then the registry's)."""
        return self._lookup(name_or_id, include_registry=True)

    def delete(self, name_or_id: str) -> UploadedFile:
        """Delete an uploaded file from the server, the registry and this session."""
        entry = self.find(name_or_id)
        self.client.delete(entry.file_id)
        self.registry.remove(entry.file_id)
        with self._lock:
            self._uploads.pop(entry.file_id, None)
            self._pending.pop(entry.file_id, None)
        return entry

    def remote_files(self) -> list[RemoteFile]:
        """Every file the server holds for this key, newest first."""
        return self.client.list_files()

    def download(self, file_id: str, folder: str | os.PathLike[str] | None = None) -> OutputFile:
        """Download one sandbox-produced file into *folder* (default: ``download_dir``)."""
        file = self._fetch(file_id, Path(folder) if folder is not None else self.download_dir)
        if file.error is not None:
            raise ClaudeMagicError(
                f"Could not download {file_id}: {file.error}. Only files Claude's code produced can be downloaded."
            )
        return file

    # Turns

    def run(
        self,
        prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        tool_version: str | None = None,
        stream: bool = True,
        download_dir: str | os.PathLike[str] | None = None,
        on_event: EventListener | None = None,
    ) -> Turn:
        """Send *prompt* as one user turn with the code execution tool and return what happened.

        Streams the response (``on_event`` hears each step as it arrives), continues ``pause_turn``
        automatically, downloads produced files concurrently, and keeps the conversation and the
        container for the next turn. If the turn fails or is interrupted, the conversation, the
        container id and the pending uploads are left exactly as they were.
        """
        if not prompt.strip():
            raise ClaudeMagicError("The prompt is empty: write what Claude should do.")
        started = time.monotonic()
        settings = _TurnSettings(
            model=model or self.model,
            max_tokens=max_tokens or self.max_tokens,
            tool_version=tool_version or self.tool_version or newest_tool_version(),
            stream=stream,
            folder=Path(download_dir) if download_dir is not None else self.download_dir,
        )
        notices: list[str] = []
        emit = on_event or (lambda event: None)
        container = self._container
        attachments = self._live(self.pending, notices, emit)
        restarted = False
        while True:
            assembler = TurnAssembler(emit)
            user_message = _user_message(prompt, attachments)
            try:
                outcome = self._converse(settings, [*self._messages, user_message], container, assembler, emit)
                break
            except ContainerGoneError:
                if restarted or container is None:
                    raise
                restarted = True
                container = None
                attachments = self._live(self.uploads, notices, emit)
                message = (
                    f"The container had expired: started a new one and attached {len(attachments)} "
                    f"file{'s' if len(attachments) != 1 else ''} again."
                )
                notices.append(message)
                emit(Notice(message))
        content, last, usage, segments = outcome
        with self._lock:  # commit only now: a failure or Ctrl-C above leaves the session untouched
            self._messages = [*self._messages, user_message, {"role": "assistant", "content": content}]
            self._container = last.container or container
            for entry in attachments:
                self._pending.pop(entry.file_id, None)
        files = tuple(
            file
            for step in assembler.steps
            if isinstance(step, CodeStep | EditStep) and step.result is not None
            for file in step.result.files
        )
        if last.stop_reason == "pause_turn":
            notices.append(f"Stopped after {segments} paused responses: run another cell to let Claude go on.")
        return Turn(
            prompt=prompt,
            steps=tuple(assembler.steps),
            model=last.model,
            files=files,
            usage=usage,
            container=self._container,
            stop_reason=last.stop_reason,
            duration=time.monotonic() - started,
            segments=segments,
            container_restarted=restarted,
            notices=tuple(notices),
        )

    def _converse(
        self,
        settings: _TurnSettings,
        messages: list[dict[str, Any]],
        container: ContainerInfo | None,
        assembler: TurnAssembler,
        emit: EventListener,
    ) -> tuple[list[dict[str, Any]], Response, Usage, int]:
        """Request, and continue after ``pause_turn`` by resending the paused turn last, unchanged."""
        content: list[dict[str, Any]] = []
        usage = Usage()
        downloads_: list[tuple[str, Future[OutputFile]]] = []
        segments = 0
        container_id = container.id if container else None

        def on_block(kind: Any, index: int, block: dict[str, Any]) -> None:
            for tool_use_id, file_id in assembler.on_block(kind, index, block):
                downloads_.append((tool_use_id, self._pool().submit(self._fetch, file_id, settings.folder)))
            self._harvest(downloads_, assembler)

        try:
            while True:
                segments += 1
                assembler.begin_response()
                paused = [{"role": "assistant", "content": content}] if content else []
                response = self.client.send(
                    model=settings.model,
                    max_tokens=settings.max_tokens,
                    messages=[*messages, *paused],
                    tool_version=settings.tool_version,
                    container_id=container_id,
                    on_block=on_block,
                    stream=settings.stream,
                )
                content = [*content, *response.content]
                usage = usage + response.usage
                if response.container is not None:
                    container_id = response.container.id
                if response.stop_reason != "pause_turn" or segments > self.max_continuations:
                    break
                emit(Notice(f"Claude paused its turn; continuing ({segments}/{self.max_continuations})…"))
            for tool_use_id, future in downloads_:
                assembler.attach_files(tool_use_id, [future.result()])
            downloads_.clear()
        except BaseException:
            for _, future in downloads_:
                future.cancel()
            raise
        return without_unpaired_tool_uses(content), response, usage, segments

    def _harvest(self, pending: list[tuple[str, Future[OutputFile]]], assembler: TurnAssembler) -> None:
        """Show downloads that have finished, in the main thread, while the turn goes on."""
        for item in [item for item in pending if item[1].done()]:
            pending.remove(item)
            assembler.attach_files(item[0], [item[1].result()])

    def _fetch(self, file_id: str, folder: Path) -> OutputFile:
        client = self.client
        try:
            meta = client.metadata(file_id)
            if meta is None:
                return OutputFile(file_id, file_id, "application/octet-stream", 0, error="the server no longer has it")
            data = client.download(file_id)
        except ApiError as exc:
            return OutputFile(file_id, file_id, "application/octet-stream", 0, error=str(exc))
        name = downloads.safe_filename(meta.filename, fallback=file_id)
        media_type = meta.mime_type or media_type_for(name)
        path = downloads.write_new_file(folder, name, data)
        keep = data if media_type.startswith("image/") else None
        return OutputFile(file_id, path.name, media_type, len(data), path=path, data=keep)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(_DOWNLOAD_WORKERS, thread_name_prefix="claude-magic-download")
        return self._executor

    def _send(self, local: LocalFile) -> UploadedFile:
        with local.open() as stream:
            remote = self.client.upload(local.name, stream, local.media_type)
        entry = UploadedFile(
            name=local.name,
            file_id=remote.id,
            size=local.size,
            sha256=local.sha256,
            media_type=local.media_type,
            source=local.source,
            description=local.description,
        )
        self.registry.put(entry)
        return entry

    def _live(self, files: Sequence[UploadedFile], notices: list[str], emit: EventListener) -> list[UploadedFile]:
        """The files to attach, each re-uploaded from its source if the server lost it."""
        live: list[UploadedFile] = []
        for entry in files:
            if self.client.metadata(entry.file_id) is not None:
                live.append(entry)
                continue
            source = self._source(entry)
            if source is None:
                with self._lock:
                    self._pending.pop(entry.file_id, None)
                    self._uploads.pop(entry.file_id, None)
                self.registry.remove(entry.file_id)
                raise UnknownFileError(
                    entry.name,
                    hint=(
                        f"The server no longer has {entry.name} ({entry.file_id}) and its local source is gone: "
                        "upload it again with %claude_upload, then run the cell again."
                    ),
                )
            self.registry.remove(entry.file_id)
            fresh = self._send(source)
            with self._lock:
                self._uploads = _swapped(self._uploads, entry.file_id, fresh)
                self._pending = _swapped(self._pending, entry.file_id, fresh)
            message = f"The server no longer had {entry.name}: uploaded it again as {fresh.file_id}."
            notices.append(message)
            emit(Notice(message))
            live.append(fresh)
        return live

    def _source(self, entry: UploadedFile) -> LocalFile | None:
        in_memory = self._memory.get(UploadRegistry.key(entry.sha256, entry.name))
        if in_memory is not None:
            return in_memory
        if entry.source and Path(entry.source).is_file():
            local = from_path(entry.source, name=entry.name)
            if local.sha256 == entry.sha256:
                return replace(local, description=entry.description)
        return None

    def _lookup(self, name_or_id: str, *, include_registry: bool = False) -> UploadedFile:
        for entry in reversed(self._uploads.values()):
            if name_or_id in (entry.name, entry.file_id):
                return entry
        if include_registry:
            for entry in self.registry:
                if name_or_id in (entry.name, entry.file_id):
                    return entry
        raise UnknownFileError(name_or_id, known=[entry.name for entry in self._uploads.values()])


@dataclass(frozen=True, slots=True)
class _TurnSettings:
    model: str
    max_tokens: int
    tool_version: str
    stream: bool
    folder: Path


def _swapped(files: dict[str, UploadedFile], old_id: str, fresh: UploadedFile) -> dict[str, UploadedFile]:
    """*files* with the entry for *old_id* replaced by *fresh*, in place in the order."""
    return {
        (fresh.file_id if key == old_id else key): (fresh if key == old_id else value) for key, value in files.items()
    }


def _user_message(prompt: str, attachments: Sequence[UploadedFile]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "container_upload", "file_id": entry.file_id} for entry in attachments]
    if attachments:
        content.append({"type": "text", "text": describe_attachments(attachments)})
    content.append({"type": "text", "text": prompt})
    return {"role": "user", "content": content}


def describe_attachments(attachments: Sequence[UploadedFile]) -> str:
    """The note that tells Claude which files it got and where inputs and outputs go."""
    lines = ["Files attached to this message are in the code execution container's input directory ($INPUT_DIR):"]
    for entry in attachments:
        detail = f" — {entry.description}" if entry.description else ""
        lines.append(f"- {entry.name} ({human_size(entry.size)}, {entry.media_type}){detail}")
    lines.append(
        "Save every file you want to hand back to the user (charts as PNG, tables as CSV, ...) in $OUTPUT_DIR; "
        "files saved there are returned."
    )
    return "\n".join(lines)
