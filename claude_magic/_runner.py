"""The turn runner: one user turn from request to outcome, surviving what the real API does.

It sends the request (streamed), continues ``pause_turn`` by resending the paused turn last and
unchanged, downloads produced files while the answer streams, recovers once from a lost
container or a lost attachment, and returns one ``TurnOutcome`` value. It changes no state of
its own: the ``Session`` commits the outcome, or nothing if this raises.

Knows nothing of IPython or of the renderer; the SDK is reached only through ``_client``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from claude_magic._client import ApiClient
from claude_magic._downloads import Downloader
from claude_magic._format import plural
from claude_magic._prompts import recap
from claude_magic._turn_messages import assistant_message, has_client_calls, user_message
from claude_magic._turn_values import BudgetCheck, Message, ToolHandler, TurnOutcome, TurnRequest, TurnSettings
from claude_magic._turns import TurnAssembler
from claude_magic._uploads import Checked
from claude_magic.errors import (
    ApiError,
    AuthenticationFailedError,
    BadRequestError,
    ContainerGoneError,
    CostCapError,
    OverloadedError,
    RateLimitedError,
    RequestTooLargeError,
    ToolVersionRefusedError,
)
from claude_magic.results import (
    CodeStep,
    ContainerInfo,
    EditStep,
    Notice,
    OutputFile,
    Response,
    TurnEvent,
    UploadedFile,
    Usage,
)

# The turn values live in ``_turn_values``; they are named here too for the modules that import them from the runner.
__all__ = [
    "BudgetCheck",
    "EventListener",
    "FileCheck",
    "Message",
    "ToolHandler",
    "TurnOutcome",
    "TurnRequest",
    "TurnRunner",
    "TurnSettings",
]

EventListener = Callable[[TurnEvent], None]
FileCheck = Callable[[Sequence[UploadedFile]], Checked]

# Error codes that name a file, not the container (SDK ``_error_classes``).
_FILE_ERROR_CODES = frozenset({"file_expired", "file_not_found", "file_not_downloadable"})
# Answers that say nothing about the container, whatever the request carried.
_NOT_ABOUT_THE_CONTAINER = (
    AuthenticationFailedError,
    OverloadedError,
    RateLimitedError,
    RequestTooLargeError,
    ToolVersionRefusedError,
)


@dataclass
class _Progress:
    """What has happened so far in this turn (mutable, local to one run)."""

    usage: Usage = field(default_factory=Usage)
    segments: int = 0
    notices: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    replaced: list[tuple[str, UploadedFile]] = field(default_factory=list)
    dropped: list[UploadedFile] = field(default_factory=list)
    capped: bool = False  # a cost cap stopped the turn's continuations
    rounds: list[Message] = field(default_factory=list)  # answered tool_use turns: assistant, tool_result user


@dataclass
class _TurnState:
    """The working parts of one run, handed to each of its steps (mutable, local to one run)."""

    settings: TurnSettings
    emit: EventListener
    assembler: TurnAssembler
    downloader: Downloader
    progress: _Progress = field(default_factory=_Progress)
    pending: list[tuple[str, Future[OutputFile]]] = field(default_factory=list)  # downloads not yet shown

    def say(self, message: str) -> None:
        """Tell the user something once: as a live notice now, and in the turn's notices."""
        self.progress.notices.append(message)
        self.emit(Notice(message))


class TurnRunner:
    """Runs turns against one API client.

    Parameters
    ----------
    client
        The API client.
    check_files
        Makes sure files are still on the server (re-uploading from their source); see ``UploadManager.check``.
    all_uploads
        Every file of the session, attached again when a new container has to be started.
    """

    def __init__(
        self, client: ApiClient, check_files: FileCheck, all_uploads: Callable[[], Sequence[UploadedFile]]
    ) -> None:
        self._client = client
        self._check_files = check_files
        self._all_uploads = all_uploads

    def run(self, request: TurnRequest, emit: EventListener) -> TurnOutcome:
        """Run *request* to its end; raises on failure, leaving every input as it was."""
        settings = request.settings
        state = _TurnState(settings, emit, TurnAssembler(emit), Downloader(self._client, settings.folder))
        progress = state.progress
        history = list(request.history)
        container = request.container
        restarted = False
        try:
            if container is not None and container.is_past_hard_limit():
                state.say(f"The sandbox {container.id} is past its 30-day limit: starting a new one.")
                container, restarted = None, True
            if request.resume_paused:
                state.say("Claude's previous turn was paused: letting it finish first.")
                base, paused = history[:-1], list(history[-1]["content"])
                state.assembler.seed(paused)
                content, last, container = self._converse(base, paused, container, state)
                history = [*base, *progress.rounds, assistant_message(content, last)]
                if last.stop_reason == "pause_turn" and not progress.capped:
                    state.say(
                        f"Claude is still working after {settings.max_continuations} more continuations: "
                        "your prompt was not sent yet. Run the cell again to let it go on."
                    )
                    return self._outcome(history, container, state, last, (), restarted, prompt_sent=False)
            attachments = list(request.attachments)
            if container is None and restarted:
                attachments = self._reattach(state)
            elif attachments:
                checked = self._check_files(attachments)
                self._note_check(checked, state)
                attachments = list(checked.live)
            content, last, container, attachments, history, restarted = self._send_prompt(
                request, history, container, attachments, restarted, state
            )
            history = [
                *history,
                user_message(request.prompt, attachments, committed=True),
                *progress.rounds,
                assistant_message(content, last),
            ]
            if last.stop_reason == "pause_turn" and not progress.capped:
                state.say(
                    f"Claude paused {settings.max_continuations + 1} times in this turn: run another cell "
                    "(any prompt) and it goes on from where it stopped first."
                )
            return self._outcome(history, container, state, last, tuple(attachments), restarted)
        except BaseException:
            state.downloader.cancel()
            raise
        finally:
            state.downloader.close()

    def _send_prompt(
        self,
        request: TurnRequest,
        history: list[Message],
        container: ContainerInfo | None,
        attachments: list[UploadedFile],
        restarted: bool,
        state: _TurnState,
    ) -> tuple[list[Message], Response, ContainerInfo | None, list[UploadedFile], list[Message], bool]:
        """Send the user's prompt; recover once from a lost attachment and once from a lost container."""
        files_checked = container_recovered = recapped = False
        while True:
            messages = [*history, user_message(request.prompt, attachments)]
            try:
                content, last, new_container = self._converse(messages, [], container, state)
                return content, last, new_container, attachments, history, restarted
            except ApiError as exc:
                if isinstance(exc, _NOT_ABOUT_THE_CONTAINER) or exc.status is None:
                    raise
                if attachments and not files_checked:
                    files_checked = True
                    checked = self._check_files(attachments)
                    if checked.replaced or checked.dropped:
                        self._note_check(checked, state)
                        attachments = list(checked.live)
                        continue
                if container is not None and not container_recovered and _means_lost_container(exc):
                    container_recovered, restarted = True, True
                    lost, container = container.id, None
                    attachments = self._reattach(state)
                    state.say(
                        f"The sandbox {lost} has expired or is gone ({_short(exc)}): started a new one "
                        f"and attached {plural(len(attachments), 'file')} again. Variables and files made there "
                        "are gone."
                    )
                    continue
                if restarted and history and not recapped and isinstance(exc, BadRequestError):
                    # The API may refuse a conversation whose code ran in a container it no longer has
                    # (SDK lib/threads/_thread_state.py): go on in a new conversation that recaps the old one.
                    recapped = True
                    history = [{"role": "user", "content": [{"type": "text", "text": recap(history)}]}]
                    history.append({"role": "assistant", "content": [{"type": "text", "text": "Understood."}]})
                    state.say(
                        "The API would not go on with this conversation in a new sandbox: continued in a new "
                        "conversation that starts with a recap of the earlier turns."
                    )
                    continue
                if container_recovered:
                    raise ContainerGoneError(
                        f"The sandbox was lost and a new one failed too: {exc}",
                        status=exc.status,
                        request_id=exc.request_id,
                        error_type=exc.error_type,
                        error_code=exc.error_code,
                    ) from exc
                raise

    def _converse(
        self,
        messages: list[Message],
        content: list[dict[str, Any]],
        container: ContainerInfo | None,
        state: _TurnState,
    ) -> tuple[list[dict[str, Any]], Response, ContainerInfo | None]:
        """Request, and continue after ``pause_turn`` by resending the paused turn last, unchanged."""
        settings, progress, assembler = state.settings, state.progress, state.assembler

        def on_block(kind: Any, index: int, block: dict[str, Any]) -> None:
            for tool_use_id, file_id in assembler.on_block(kind, index, block):
                state.pending.append((tool_use_id, state.downloader.submit(file_id)))
            _harvest(state.pending, assembler)

        continuations = tool_rounds = 0
        response: Response | None = None
        progress.rounds = []
        while True:
            paused = [{"role": "assistant", "content": content}] if content else []
            max_tokens = settings.max_tokens
            if settings.budget is not None:
                floor = int((settings.options.get("thinking") or {}).get("budget_tokens", 0)) + 1
                max_tokens = settings.budget(progress.usage, [*messages, *paused], settings.max_tokens, floor)
                if max_tokens <= 0 and response is None:
                    raise CostCapError(
                        "Stopped before the next request: this cell reached its cost cap. Raise the cap, run the "
                        "cell again with --force, or shrink the conversation with %claude_compact or %claude_reset."
                    )
                if max_tokens <= 0 and response is not None:
                    progress.capped = True
                    state.say(
                        "Stopped continuing: this cell reached its cost cap. Run a cell with --force (or raise the "
                        "cap) and Claude goes on from where it paused."
                    )
                    return content, response, container
            progress.segments += 1
            assembler.begin_response()
            response = self._client.send(
                model=settings.model,
                max_tokens=max_tokens,
                messages=[*messages, *progress.rounds, *paused],
                tool_version=settings.tool_version,
                container_id=container.id if container else None,
                on_block=on_block,
                stream=settings.stream,
                extra_tools=settings.extra_tools,
                skills=settings.skills,
                options=settings.options,
            )
            content = [*content, *response.content]
            progress.usage = progress.usage + response.usage
            if response.request_id:
                progress.request_ids.append(response.request_id)
            container = _next_container(container, response.container)
            for edit in response.context_edits:
                state.say(
                    f"The API cleared {edit.get('cleared_tool_uses', 0)} old tool results "
                    f"({edit.get('cleared_input_tokens', 0):,} tokens) from what Claude reads; "
                    "your history is unchanged."
                )
            handler = settings.tool_handler
            if response.stop_reason == "tool_use" and handler is not None and has_client_calls(content):
                if tool_rounds >= handler.max_rounds:
                    state.emit(
                        Notice(f"Claude kept calling your functions after {tool_rounds} rounds: stopped the turn.")
                    )
                    return content, response, container
                tool_rounds += 1
                # Results go back as a user message of only tool_result blocks, with the same tools and
                # the container (api-spec §3.6, §4.2); the assistant turn they answer stays as it was.
                results = handler.answer(content, assembler.finish_call)
                progress.rounds += [{"role": "assistant", "content": content}, {"role": "user", "content": results}]
                content = []
                continue
            if response.stop_reason != "pause_turn" or continuations >= settings.max_continuations:
                return content, response, container
            continuations += 1
            state.emit(Notice(f"Claude paused its turn; continuing ({continuations}/{settings.max_continuations})…"))

    def _reattach(self, state: _TurnState) -> list[UploadedFile]:
        checked = self._check_files(self._all_uploads())
        self._note_check(checked, state)
        return list(checked.live)

    def _note_check(self, checked: Checked, state: _TurnState) -> None:
        state.progress.replaced.extend(checked.replaced)
        state.progress.dropped.extend(checked.dropped)
        for notice in checked.notices:
            state.say(notice)

    def _outcome(
        self,
        history: list[Message],
        container: ContainerInfo | None,
        state: _TurnState,
        last: Response,
        attached: tuple[UploadedFile, ...],
        restarted: bool,
        *,
        prompt_sent: bool = True,
    ) -> TurnOutcome:
        progress, assembler = state.progress, state.assembler
        for tool_use_id, future in state.pending:
            assembler.attach_files(tool_use_id, [future.result()])
        state.pending.clear()
        files = tuple(
            file
            for step in assembler.steps
            if isinstance(step, CodeStep | EditStep) and step.result is not None
            for file in step.result.files
        )
        return TurnOutcome(
            history=tuple(history),
            container=container,
            steps=tuple(assembler.steps),
            files=files,
            usage=progress.usage,
            model=last.model,
            stop_reason=last.stop_reason,
            segments=progress.segments,
            notices=tuple(progress.notices),
            attached=attached,
            replaced=tuple(progress.replaced),
            dropped=tuple(progress.dropped),
            container_restarted=restarted,
            prompt_sent=prompt_sent,
            request_ids=tuple(progress.request_ids),
            stop_details=last.stop_details,
        )


def _means_lost_container(exc: ApiError) -> bool:
    """Whether a failed request that named a container most likely failed because the container is gone.

    The docs give no status for an expired container; 404 (unknown id), 410 and an untyped 500
    are all reported (pydantic-ai #7833). A 400 is about the request, whatever its message says;
    an answer naming a file is about that file.
    """
    if exc.error_code in _FILE_ERROR_CODES or exc.status is None:
        return False
    return exc.status in (404, 410) or (exc.status >= 500 and exc.status not in (503, 529))


def _next_container(current: ContainerInfo | None, reported: ContainerInfo | None) -> ContainerInfo | None:
    if reported is None:
        return current
    first_seen = current.first_seen if current is not None and current.id == reported.id else None
    return ContainerInfo(reported.id, reported.expires_at, first_seen or datetime.now(UTC), reported.skills)


def _harvest(pending: list[tuple[str, Future[OutputFile]]], assembler: TurnAssembler) -> None:
    """Show downloads that have finished, in the calling thread, while the turn goes on."""
    for item in [item for item in pending if item[1].done()]:
        pending.remove(item)
        assembler.attach_files(item[0], [item[1].result()])


def _short(exc: ApiError) -> str:
    return f"HTTP {exc.status}" if exc.status else type(exc).__name__
