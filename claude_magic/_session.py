"""What one kernel remembers between cells: uploads, the conversation, the container, the turns.

Plain Python, usable without IPython (``from claude_magic import Session``). The session owns the
state and commits it once per turn; ``_uploads.UploadManager`` does the uploading and
``_runner.TurnRunner`` runs turns. Constructing a Session is cheap: the SDK is imported on first use.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from claude_magic import _downloads as downloads
from claude_magic._batch_types import BatchStatus
from claude_magic._batches import DEFAULT_POLL_CEILING
from claude_magic._client import DEFAULT_MODEL, ApiClient
from claude_magic._context import RESULT_LIMIT
from claude_magic._data_safety import Pseudonyms
from claude_magic._kernel_tools import ToolLimits, turn_tools
from claude_magic._local_files import DataFrameFormat, LocalFile, prepare
from claude_magic._long_session import LongSessionMixin
from claude_magic._map import MapDefaults, Mapper
from claude_magic._map_values import Engine, MapResult, ProgressListener
from claude_magic._registry import UploadRegistry, default_cache_dir
from claude_magic._runner import TurnOutcome, TurnRequest, TurnRunner, TurnSettings
from claude_magic._skills import (
    ANTHROPIC_SKILLS,
    SkillError,
    SkillParam,
    check_count,
    merge,
    parse_skills,
    skill_folder_files,
)
from claude_magic._tool_versions import tool_version_for
from claude_magic._turn_memory import TurnLog
from claude_magic._uploads import DEFAULT_MEMORY_LIMIT, UploadManager
from claude_magic.errors import ClaudeMagicError, MissingApiKeyError, UnknownFileError
from claude_magic.results import (
    ContainerInfo,
    OutputFile,
    ProducedFile,
    RemoteFile,
    SkillInfo,
    Turn,
    TurnEvent,
    UploadBatch,
    UploadedFile,
)

EventListener = Callable[[TurnEvent], None]

DEFAULT_MAX_TOKENS = 16_384  # under the SDK's non-streaming ceiling, so --no-stream works too
MIN_EXPIRES_IN, MAX_EXPIRES_IN = 3600, 7_776_000  # one hour to ninety days (Files API, api-spec §2.1)


class Session(LongSessionMixin):
    """A conversation with Claude's code execution tool, with uploads kept by file id.

    Parameters
    ----------
    model, max_tokens, tool_version
        Defaults for ``run``; ``tool_version=None`` picks the version the docs list for the model.
    base_url
        API base URL; None lets the SDK decide (``ANTHROPIC_BASE_URL``, else the public API).
    download_dir
        Where files the sandbox produces are saved.
    cache_dir
        Where the upload registry lives (default ``$CLAUDE_MAGIC_CACHE_DIR`` or ``~/.cache/claude_magic``).
    max_continuations
        How many times a ``pause_turn`` is continued within one turn.
    memory_limit
        Bytes of in-memory upload sources and of turn images held in memory; the rest stay on disk.
    record
        A cassette folder: every HTTP exchange is recorded there (credentials removed), to replay
        offline with ``python -m claude_magic.testing replay``. See ``record()``.
    cache, cache_ttl
        Automatic prompt caching (on; ``"5m"`` or ``"1h"``): later turns read the resent history at a tenth
        of the input price.
    context_editing
        Let the API clear old tool results from what Claude reads (``clear_tool_uses_20250919``, beta; off).
    result_limit
        Tool results longer than this many characters are trimmed in the history later turns resend (0: never).
    thinking, effort
        Defaults for ``run(think=..., effort=...)``: ``"adaptive"`` or a token budget; ``low`` ... ``max``.
    max_cost_per_cell, max_cost_per_session
        Cost caps in US dollars (None: no cap); a cell that would pass one is refused before it is sent.
    skills
        Agent Skills every turn loads (``"xlsx,pptx"``, names or ``SkillParams`` dicts); see ``run``.
    expires_in_seconds
        New uploads are deleted by the server after this many seconds (3600 to 7776000); None keeps them.

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
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        record: str | os.PathLike[str] | None = None,
        cache: bool = True,
        cache_ttl: str = "5m",
        context_editing: bool = False,
        result_limit: int = RESULT_LIMIT,
        thinking: str | int | None = None,
        effort: str | None = None,
        max_cost_per_cell: float | None = None,
        max_cost_per_session: float | None = None,
        skills: str | Iterable[str | dict[str, Any]] | None = None,
        expires_in_seconds: int | None = None,
    ) -> None:
        self._init_long_session(
            cache=cache,
            cache_ttl=cache_ttl,
            context_editing=context_editing,
            result_limit=result_limit,
            thinking=thinking,
            effort=effort,
            max_cost_per_cell=max_cost_per_cell,
            max_cost_per_session=max_cost_per_session,
        )
        self.model = model
        self.max_tokens = max_tokens
        self.tool_version = tool_version
        self.download_dir = Path(download_dir)
        self.max_continuations = max_continuations
        self.web = False  # offer web search and web fetch on every turn
        self.web_max_uses: int | None = 5  # per tool and request
        self.tool_limits = ToolLimits()  # bounds on kernel functions called as tools
        self.pseudonyms = Pseudonyms()  # salted tokens of pseudonymized columns, and the way back (kernel only)
        self._base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries
        self._client: ApiClient | None = None
        self._lock = threading.RLock()
        self._files = UploadManager(
            lambda: self.client,
            Path(cache_dir) if cache_dir is not None else default_cache_dir(),
            memory_limit=memory_limit,
        )
        self._messages: tuple[dict[str, Any], ...] = ()
        self._container: ContainerInfo | None = None
        self._paused = False  # the last turn ended with pause_turn: the next one finishes it first
        self._uploads: dict[str, UploadedFile] = {}  # file_id -> file, in upload order
        self._pending: dict[str, UploadedFile] = {}  # to attach with the next turn
        self._in_container: dict[str, UploadedFile] = {}  # attached to the current container by earlier turns
        self._turns = TurnLog(image_bytes_limit=memory_limit)
        self._recording: Any = None  # the recording httpx client while recording
        self.skills: tuple[SkillParam, ...] = parse_skills(skills)
        self._container_skills: tuple[SkillParam, ...] = ()  # loaded in the current container: sent every turn
        self._produced: list[ProducedFile] = []  # every file a turn brought back, kept across resets
        self._turn_number = 0
        self.expires_in_seconds = expires_in_seconds
        if record is not None:
            self.record(record)

    # State

    @property
    def container(self) -> ContainerInfo | None:
        """The container the next turn runs in (None: a new one)."""
        return self._container

    @property
    def container_skills(self) -> tuple[SkillParam, ...]:
        """The skills the current container was given; every later turn in it sends them again."""
        return self._container_skills

    @property
    def expires_in_seconds(self) -> int | None:
        """Seconds after which the server deletes new uploads; None: kept until deleted."""
        return self._files.expires_in_seconds

    @expires_in_seconds.setter
    def expires_in_seconds(self, value: int | None) -> None:
        if value is not None and not MIN_EXPIRES_IN <= value <= MAX_EXPIRES_IN:
            raise ClaudeMagicError(
                f"expires_in_seconds must be between {MIN_EXPIRES_IN} (one hour) and {MAX_EXPIRES_IN} "
                f"(ninety days), not {value}."
            )
        self._files.expires_in_seconds = value

    @property
    def history(self) -> list[dict[str, Any]]:
        """The conversation as sent to the API (a copy)."""
        return [dict(message) for message in self._messages]

    @property
    def paused(self) -> bool:
        """Whether Claude's last turn stopped paused; the next ``run`` lets it finish first."""
        return self._paused

    @property
    def uploads(self) -> tuple[UploadedFile, ...]:
        """Files uploaded (or reused) in this session, oldest first."""
        return tuple(self._uploads.values())

    @property
    def pending(self) -> tuple[UploadedFile, ...]:
        """Files the next turn attaches to the container."""
        return tuple(self._pending.values())

    @property
    def in_container(self) -> tuple[UploadedFile, ...]:
        """This session's files that earlier turns put in the current container (it keeps them)."""
        return tuple(entry for file_id, entry in self._in_container.items() if file_id in self._uploads)

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The turns of this conversation, oldest first (older ones without their image bytes)."""
        return self._turns.turns

    @property
    def registry(self) -> UploadRegistry:
        """The on-disk record of uploads for this credential and server."""
        return self._files.registry

    @property
    def client(self) -> ApiClient:
        """The API client, created (and the SDK imported) on first use."""
        if self._client is None:
            self._client = ApiClient(
                base_url=self._base_url, timeout=self._timeout, max_retries=self._max_retries,
                http_client=self._recording,
            )  # fmt: skip
        return self._client

    @property
    def recording(self) -> Path | None:
        """The cassette folder being recorded into, or None."""
        return self._recording.cassette_dir if self._recording is not None else None

    def record(self, cassette_dir: str | os.PathLike[str]) -> None:
        """Record every HTTP exchange from now on into *cassette_dir* (replaced on the first exchange).

        The conversation, the container and the uploads carry on: only the transport changes.
        """
        from claude_magic._recording import recording_http_client

        with self._lock:
            if self._recording is not None:
                raise ClaudeMagicError(f"Already recording into {self.recording}: stop that recording first.")
            self._recording = recording_http_client(cassette_dir)
            self._drop_client()

    def stop_recording(self) -> tuple[Path, int, int]:
        """Stop recording; returns the cassette folder, the exchanges recorded and those that came from a replay."""
        with self._lock:
            if self._recording is None:
                raise ClaudeMagicError("Not recording: start with Session.record(path) or %claude_record PATH.")
            recording, self._recording = self._recording, None
            self._drop_client()
        recording.close()
        return recording.cassette_dir, recording.recorded, recording.replayed

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def memory_held(self) -> int:
        """Bytes this session holds in memory for re-uploads and turn images."""
        return self._files.bytes_in_memory + self._turns.image_bytes

    def reset(self) -> None:
        """Forget the conversation and the container; this session's uploads are attached again next turn."""
        with self._lock:
            self._messages, self._container, self._paused = (), None, False
            self._pending = dict(self._uploads)
            self._in_container = {}
            self._container_skills = ()
            self._turns.clear()
            self._undo.clear()

    def new_container(self) -> None:
        """Start the next turn in a fresh container (the conversation is kept); uploads are re-attached."""
        with self._lock:
            self._container = None
            self._pending = dict(self._uploads)
            self._in_container = {}
            self._container_skills = ()

    def reconnect(self, *, base_url: str | None, timeout: float, max_retries: int) -> str | None:
        """Use new connection settings from the next request on.

        When they reach another server or account, the conversation, the container and this
        session's uploads belong to the old one and are dropped, so nothing of them is sent to the
        new one. Returns a sentence saying so, or None.
        """
        old = (self._client.fingerprint, self._client.base_url) if self._client is not None else None
        if self._client is not None:
            self._client.close()
        with self._lock:
            self._client = None
            self._files.forget_connection()
            self._base_url, self._timeout, self._max_retries = base_url, timeout, max_retries
            had_state = bool(self._messages or self._container or self._uploads)
            if old is None or not had_state:
                return None
            try:
                new = (self.client.fingerprint, self.client.base_url)
            except MissingApiKeyError:
                new = None
            if new == old:
                return None
            self._messages, self._container, self._paused = (), None, False
            self._uploads, self._pending, self._in_container = {}, {}, {}
            self._container_skills = ()
            self._produced = []
            self._turns.clear()
            self._undo.clear()
        return (
            "Connected to another server or account: started a fresh conversation; files uploaded before "
            "belong to the old one (upload them again here)."
        )

    def export_inputs(self, folder: Path) -> list[Path]:
        """Copy this session's uploaded files into *folder*, so exported code can run locally."""
        written: list[Path] = []
        for entry in self._uploads.values():
            source = self._files.source(entry)
            if source is None:
                continue
            target = folder / downloads.safe_filename(entry.name)
            folder.mkdir(parents=True, exist_ok=True)
            with source.open() as stream:
                target.write_bytes(stream.read())
            written.append(target)
        return written

    def close(self) -> None:
        """Release the HTTP pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # Files

    def upload(self, value: Any, *, name: str | None = None, fmt: DataFrameFormat | None = None) -> UploadBatch:
        """Upload a DataFrame, path, glob, list of paths or (name, bytes); bytes already sent are reused.

        Files are checked (size, existence) before anything is sent; the next turn attaches them.
        """
        prepared = prepare(value, name=name, fmt=fmt, known=self.known_frame)
        return UploadBatch(tuple(self.upload_file(local) for local in prepared))

    def known_frame(self, fingerprint: str, name: str) -> LocalFile | None:
        """A file this session made from a DataFrame with the same content, so it is not serialised again."""
        return self._files.known_frame(fingerprint, name)

    def upload_file(self, local: LocalFile) -> UploadedFile:
        """Upload one prepared file unless the server already holds the same bytes under the same name."""
        entry = self._files.upload(local)
        with self._lock:
            already_attached = entry.file_id in self._uploads and entry.file_id not in self._pending
            # Same name, new bytes: the new upload replaces the old one in this session.
            for file_id, other in list(self._uploads.items()):
                if other.name == entry.name and file_id != entry.file_id:
                    del self._uploads[file_id]
                    self._pending.pop(file_id, None)
                    self._files.release(other)
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
        try:
            return self._lookup(name_or_id)
        except UnknownFileError:
            found = self._files.find(name_or_id)
            if found is None:
                raise
            return found

    def delete(self, name_or_id: str) -> UploadedFile:
        """Delete an uploaded file from the server, the registry and this session.

        The container keeps the copy it already has; later turns never refer to the deleted id.
        """
        entry = self.find(name_or_id)
        self._files.delete(entry)
        with self._lock:
            self._uploads.pop(entry.file_id, None)
            self._pending.pop(entry.file_id, None)
        return entry

    def remote_files(self) -> list[RemoteFile]:
        """Every file the server holds for this key, newest first."""
        return self.client.list_files()

    def download(self, file_id: str, folder: str | os.PathLike[str] | None = None) -> OutputFile:
        """Download one sandbox-produced file into *folder* (default: ``download_dir``)."""
        fetcher = downloads.Downloader(self.client, Path(folder) if folder is not None else self.download_dir)
        try:
            file = fetcher.fetch(file_id)
        finally:
            fetcher.close()
        if file.error is not None:
            raise ClaudeMagicError(
                f"Could not download {file_id}: {file.error}. Only files Claude's code produced can be downloaded."
            )
        return file

    # Many inputs (``_map``): one request per input, on the Message Batches API or concurrently

    def map(
        self,
        prompt: str,
        inputs: Any,
        *,
        engine: Engine = "batch",
        concurrency: int = 8,
        name: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        tool_version: str | None = None,
        download_dir: str | os.PathLike[str] | None = None,
        fmt: DataFrameFormat | None = None,
        on_progress: ProgressListener | None = None,
        poll_interval: float = DEFAULT_POLL_CEILING,
    ) -> MapResult:
        """Run the same prompt over each input, each in its own request and container.

        *inputs* is a glob or path, a list of paths or DataFrames, or a dict name → DataFrame or
        path; each is uploaded once (reused when already uploaded). ``{{item}}`` in *prompt* is
        the input's name. ``engine="batch"`` sends one Message Batch (half-price tokens; most end
        within an hour); ``"sync"`` runs *concurrency* ordinary streamed turns at once. Output
        files go to ``<download_dir>/<name>/<input>/``. An input that errors or expires is that
        row's status, not an exception. The run is recorded, so ``resume_map`` collects a batch
        after a restart and ``retry_map`` reruns what failed; a ``KeyboardInterrupt`` while
        waiting leaves the batch running (its note says how to resume or cancel).
        *poll_interval* is the longest wait between two polls of a batch.
        """
        defaults = MapDefaults(
            model=model or self.model,
            max_tokens=max_tokens or self.max_tokens,
            tool_version=tool_version or self.tool_version,
            download_dir=Path(download_dir) if download_dir is not None else self.download_dir,
            max_continuations=self.max_continuations,
        )
        mapper = Mapper(lambda: self.client, self._files, poll_ceiling=poll_interval)
        return mapper.map(
            prompt,
            inputs,
            defaults,
            engine=engine,
            concurrency=concurrency,
            name=name,
            fmt=fmt,
            on_progress=on_progress,
        )

    def resume_map(
        self,
        batch_id: str | None = None,
        *,
        concurrency: int = 8,
        on_progress: ProgressListener | None = None,
        poll_interval: float = DEFAULT_POLL_CEILING,
    ) -> MapResult:
        """Wait for a batch this machine started (the newest not yet collected by default) and collect it."""
        mapper = Mapper(lambda: self.client, self._files, poll_ceiling=poll_interval)
        return mapper.resume(batch_id, concurrency=concurrency, on_progress=on_progress)

    def cancel_map(self, batch_id: str) -> BatchStatus:
        """Cancel a batch; what finished before can still be collected with ``resume_map``."""
        return Mapper(lambda: self.client, self._files).cancel(batch_id)

    def retry_map(
        self,
        previous: Any,
        *,
        engine: Engine | None = None,
        concurrency: int = 8,
        on_progress: ProgressListener | None = None,
        poll_interval: float = DEFAULT_POLL_CEILING,
    ) -> MapResult:
        """Rerun the inputs of *previous* (a ``MapResult``, its ``frame`` or a run id) that did not succeed.

        Returns every input: the earlier successes with the new results in place of the failures.
        """
        mapper = Mapper(lambda: self.client, self._files, poll_ceiling=poll_interval)
        return mapper.retry(previous, engine=engine, concurrency=concurrency, on_progress=on_progress)

    def produced_files(self) -> tuple[ProducedFile, ...]:
        """Every file Claude's code produced in this session, oldest first, with its turn (resets included)."""
        with self._lock:
            return tuple(self._produced)

    def prune_outputs(self, file_ids: Iterable[str] | None = None) -> tuple[ProducedFile, ...]:
        """Delete produced files from the server (they count against the organisation's storage).

        Only files still on the server are deleted (all, or those in *file_ids*); the local copies
        stay. Returns the files deleted now.
        """
        wanted = set(file_ids) if file_ids is not None else None
        with self._lock:
            chosen = [
                item for item in self._produced
                if not item.deleted and (wanted is None or item.file.file_id in wanted)
            ]  # fmt: skip
        for item in chosen:
            self.client.delete(item.file.file_id)
        done = {item.file.file_id for item in chosen}
        with self._lock:
            self._produced = [
                replace(item, deleted=True) if item.file.file_id in done else item for item in self._produced
            ]
        return tuple(replace(item, deleted=True) for item in chosen)

    # Agent Skills

    def list_skills(self, source: str | None = None) -> list[SkillInfo]:
        """The skills this key can load: Anthropic's and custom ones (or one *source*)."""
        return self.client.list_skills(source)

    def add_skill(self, folder: str | os.PathLike[str], *, display_name: str | None = None) -> SkillInfo:
        """Upload the folder as a custom skill (``SKILL.md`` at its root); use its id with ``skills=``."""
        return self.client.create_skill(skill_folder_files(Path(folder)), display_name=display_name)

    def remove_skill(self, skill_id: str) -> None:
        """Delete a custom skill and its versions from the server."""
        if skill_id.lower() in ANTHROPIC_SKILLS:
            raise SkillError(f"{skill_id} is one of Anthropic's skills: only custom skills can be removed.")
        if not skill_id.startswith("skill_"):
            raise SkillError(f"{skill_id!r} is not a custom skill's id (skill_...): %claude_skills lists them.")
        if not self.client.delete_skill(skill_id):
            raise SkillError(f"No custom skill {skill_id} on the server (already removed?).")

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
        attach: Iterable[str] | None = None,
        new: bool = False,
        think: str | int | None = None,
        effort: str | None = None,
        force: bool = False,
        skills: str | Iterable[str | dict[str, Any]] | None = None,
        web: bool | None = None,
        tools: Sequence[Callable[..., Any]] = (),
    ) -> Turn:
        """Send *prompt* as one user turn with the code execution tool and return what happened.

        Streams the response (``on_event`` hears each step as it arrives), continues ``pause_turn``
        automatically, downloads produced files concurrently, and keeps the conversation and the
        container for the next turn. ``attach`` names exactly the files to attach; ``new`` starts
        a fresh conversation and container first. ``think`` (``"adaptive"`` or a token budget) and
        ``effort`` override the session's defaults for this turn; ``force`` ignores the cost caps.
        ``skills`` (default ``self.skills``) are Agent Skills to load; once a container has skills,
        every later turn in it sends them too. ``web`` adds web search and web fetch (default
        ``self.web``); ``tools`` are kernel functions Claude may call (and, on code execution
        versions that allow it, code in the sandbox too), run here within ``self.tool_limits``.
        If the turn fails or is interrupted, nothing changes: not the conversation, the
        container id, the pending uploads, nor these options.
        """
        if not prompt.strip():
            raise ClaudeMagicError("The prompt is empty: write what Claude should do.")
        started = time.monotonic()
        chosen_model = model or self.model
        chosen_version = tool_version or self.tool_version or tool_version_for(chosen_model)
        chosen_max = max_tokens or self.max_tokens
        try:
            context_settings = self.context_settings(think=think, effort=effort)
        except ValueError as exc:
            raise ClaudeMagicError(f"{exc}.") from None
        requested = parse_skills(skills) if skills is not None else self.skills
        with self._lock:
            loaded = () if new else self._container_skills
        chosen_skills = check_count(merge(loaded, requested))
        extra = turn_tools(
            chosen_model,
            chosen_version,
            web=self.web if web is None else web,
            web_max_uses=self.web_max_uses,
            functions=tools,
            limits=self.tool_limits,
        )
        with self._lock:
            history, container, paused = self._messages, self._container, self._paused
            attachments = tuple(self._pending.values())
            if new:
                history, container, paused, attachments = (), None, False, tuple(self._uploads.values())
        if attach is not None:
            attachments = tuple(self._lookup(name) for name in attach)
        options, budget = self._prepare_long_turn(
            model=chosen_model,
            tool_version=chosen_version,
            max_tokens=chosen_max,
            settings=context_settings,
            history=history,
            prompt=prompt,
            attachments=attachments,
            force=force,
        )
        settings = TurnSettings(
            model=chosen_model,
            max_tokens=chosen_max,
            tool_version=chosen_version,
            stream=stream,
            folder=Path(download_dir) if download_dir is not None else self.download_dir,
            max_continuations=self.max_continuations,
            options=options,
            budget=budget,
            skills=chosen_skills,
            extra_tools=extra.params,
            tool_handler=extra.executor,
        )
        client = self.client
        runner = TurnRunner(client, self._files.check, lambda: tuple(self._uploads.values()))
        request = TurnRequest(prompt, history, container, attachments, settings, resume_paused=paused)
        outcome = runner.run(request, on_event or (lambda event: None))
        turn = Turn(
            prompt=prompt,
            steps=outcome.steps,
            model=outcome.model,
            files=outcome.files,
            usage=outcome.usage,
            container=outcome.container,
            stop_reason=outcome.stop_reason,
            duration=time.monotonic() - started,
            segments=outcome.segments,
            container_restarted=outcome.container_restarted,
            notices=outcome.notices,
            tool_version=settings.tool_version,
            request_ids=outcome.request_ids,
            server_tools=extra.server_tools,
        )
        outcome, turn = self._finish_long_turn(
            outcome,
            turn,
            started=started,
            settings=context_settings,
            budget=budget,
            max_tokens=chosen_max,
            attached=bool(outcome.attached),
        )
        self._commit(outcome, turn, fresh=new, skills=chosen_skills)
        return turn

    def _commit(self, outcome: TurnOutcome, turn: Turn, *, fresh: bool, skills: tuple[SkillParam, ...] = ()) -> None:
        """Take a finished turn's outcome in one step (a failure or Ctrl-C before this changes nothing)."""
        with self._lock:
            self._remember_for_undo(fresh)
            if fresh:
                self._turns.clear()
            self._container_skills = skills if outcome.container is not None else ()
            self._turn_number += 1
            self._produced.extend(
                ProducedFile(_light(file), self._turn_number) for file in turn.files if file.error is None
            )
            self._messages = outcome.history
            self._container = outcome.container
            self._paused = outcome.stop_reason == "pause_turn"
            for old_id, fresh_entry in outcome.replaced:
                self._uploads = _swapped(self._uploads, old_id, fresh_entry)
                self._pending = _swapped(self._pending, old_id, fresh_entry)
            for entry in outcome.dropped:
                self._uploads.pop(entry.file_id, None)
                self._pending.pop(entry.file_id, None)
            if fresh or outcome.container_restarted or outcome.container is None:
                self._in_container = {}
            for old_id, _ in outcome.replaced:
                self._in_container.pop(old_id, None)
            self._in_container.update({entry.file_id: entry for entry in outcome.attached})
            if outcome.prompt_sent:
                attached = {entry.file_id for entry in outcome.attached}
                self._pending = {key: value for key, value in self._pending.items() if key not in attached}
                if fresh or outcome.container_restarted:
                    self._pending = {}
            self._turns.append(turn)

    def _lookup(self, name_or_id: str) -> UploadedFile:
        for entry in reversed(self._uploads.values()):
            if name_or_id in (entry.name, entry.file_id):
                return entry
        raise UnknownFileError(name_or_id, known=[entry.name for entry in self._uploads.values()])


def _light(file: OutputFile) -> OutputFile:
    """*file* without its bytes when it is saved on disk (the gallery reads thumbnails from there)."""
    return replace(file, data=None) if file.path is not None else file


def _swapped(files: dict[str, UploadedFile], old_id: str, fresh: UploadedFile) -> dict[str, UploadedFile]:
    """*files* with the entry for *old_id* replaced by *fresh*, in place in the order."""
    return {
        (fresh.file_id if key == old_id else key): (fresh if key == old_id else value) for key, value in files.items()
    }
