"""What one kernel remembers between cells: uploads, the conversation, the container, the turns.

Plain Python, usable without IPython (``from claude_magic import Session``). The session owns the
state and commits it once per turn; ``_uploads.UploadManager`` does the uploading and
``_runner.TurnRunner`` runs turns. Its other methods come in mixins, one job each: uploads
(``_session_files``), costs and compaction (``_long_session``), many inputs (``_session_map``),
produced files (``_session_outputs``), Agent Skills (``_session_skills``) and recording
(``_session_recording``). Constructing a Session is cheap: the SDK is imported on first use.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from claude_magic._client import DEFAULT_MODEL, ApiClient
from claude_magic._context import RESULT_LIMIT
from claude_magic._data_safety import Pseudonyms
from claude_magic._defaults import DEFAULT_MAX_TOKENS, MAX_EXPIRES_IN, MIN_EXPIRES_IN
from claude_magic._kernel_tools import ToolLimits, turn_tools
from claude_magic._long_session import LongSessionMixin
from claude_magic._registry import UploadRegistry, default_cache_dir
from claude_magic._runner import TurnRunner
from claude_magic._session_files import FilesMixin
from claude_magic._session_map import MapMixin
from claude_magic._session_outputs import OutputsMixin
from claude_magic._session_recording import RecordingMixin
from claude_magic._session_skills import SkillsMixin
from claude_magic._skills import SkillParam, parse_skills
from claude_magic._tool_versions import tool_version_for
from claude_magic._turn_memory import TurnLog
from claude_magic._turn_values import TurnOutcome, TurnRequest, TurnSettings
from claude_magic._uploads import DEFAULT_MEMORY_LIMIT, UploadManager
from claude_magic.errors import ClaudeMagicError, MissingApiKeyError
from claude_magic.results import ContainerInfo, ProducedFile, Turn, TurnEvent, UploadedFile

__all__ = ["DEFAULT_MAX_TOKENS", "MAX_EXPIRES_IN", "MIN_EXPIRES_IN", "EventListener", "Session"]

EventListener = Callable[[TurnEvent], None]


class Session(LongSessionMixin, FilesMixin, MapMixin, OutputsMixin, SkillsMixin, RecordingMixin):
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

    def close(self) -> None:
        """Release the HTTP pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

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
        chosen_skills = self._turn_skills(skills, fresh=new)
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
            extra_tools=extra.params,
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
        turn = outcome.as_turn(
            prompt,
            duration=time.monotonic() - started,
            tool_version=settings.tool_version,
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
            self._note_produced(turn)
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


def _swapped(files: dict[str, UploadedFile], old_id: str, fresh: UploadedFile) -> dict[str, UploadedFile]:
    """*files* with the entry for *old_id* replaced by *fresh*, in place in the order."""
    return {
        (fresh.file_id if key == old_id else key): (fresh if key == old_id else value) for key, value in files.items()
    }
