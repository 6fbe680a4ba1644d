"""The long-session half of ``Session``: caching and thinking options, costs and caps, compaction, undo.

A mixin, so ``_session.py`` keeps its shape: ``Session`` calls ``_prepare_long_turn`` before a
turn and ``_finish_long_turn`` after it, and gains ``usage``, ``compact()`` and ``undo()``.
Stdlib and our own modules only; the SDK is reached through ``_client``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from claude_magic import _context as context
from claude_magic import _pricing as pricing
from claude_magic._costs import Budget, Caps, CostBook, preflight
from claude_magic._prompts import describe_attachments
from claude_magic._turn_memory import TurnLog
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import ContainerInfo, SessionUsage, TextStep, Turn, UploadedFile

if TYPE_CHECKING:
    from claude_magic._client import ApiClient
    from claude_magic._runner import TurnOutcome

Message = dict[str, Any]


class LongSessionMixin:
    """Options, costs, caps, compaction and undo for ``Session`` (see its parameters)."""

    # Provided by Session.
    model: str
    max_tokens: int
    tool_version: str | None
    _lock: threading.RLock
    _messages: tuple[Message, ...]
    _container: ContainerInfo | None
    _paused: bool
    _turns: TurnLog

    @property
    def client(self) -> ApiClient:  # pragma: no cover - Session's
        raise NotImplementedError

    def _init_long_session(
        self,
        *,
        cache: bool,
        cache_ttl: str,
        context_editing: bool,
        result_limit: int,
        thinking: str | int | None,
        effort: str | None,
        max_cost_per_cell: float | None,
        max_cost_per_session: float | None,
    ) -> None:
        context.ContextSettings(cache, cache_ttl, context_editing, result_limit, thinking, effort)  # type: ignore[arg-type]
        self.cache = cache
        self.cache_ttl = cache_ttl
        self.context_editing = context_editing
        self.result_limit = result_limit
        self.thinking = thinking
        self.effort = effort
        self.max_cost_per_cell = max_cost_per_cell
        self.max_cost_per_session = max_cost_per_session
        self._book = CostBook()
        self._undo: list[tuple[tuple[Message, ...], bool]] = []  # conversation before each undoable turn

    @property
    def usage(self) -> SessionUsage:
        """The running total of this conversation: tokens, cache share, container time, estimated cost."""
        return self._book.total

    def context_settings(self, *, think: str | int | None = None, effort: str | None = None) -> context.ContextSettings:
        """The settings a turn is sent with (``think`` and ``effort`` override the session's for one turn)."""
        return context.ContextSettings(
            cache=self.cache,
            cache_ttl=self.cache_ttl,  # type: ignore[arg-type]
            context_editing=self.context_editing,
            result_limit=self.result_limit,
            thinking=think if think is not None else self.thinking,
            effort=effort if effort is not None else self.effort,
        )

    def _prepare_long_turn(
        self,
        *,
        model: str,
        tool_version: str,
        max_tokens: int,
        settings: context.ContextSettings,
        history: tuple[Message, ...],
        prompt: str,
        attachments: tuple[UploadedFile, ...],
        extra_tools: tuple[dict[str, Any], ...] = (),
        force: bool,
    ) -> tuple[dict[str, Any], Budget | None]:
        """The turn's request options and, with caps set (and no ``force``), its checked budget."""
        options = settings.options()
        caps = Caps(self.max_cost_per_cell, self.max_cost_per_session)
        if force or not caps.active:
            return options, None
        tool_types = [tool_version, *(str(tool.get("type")) for tool in extra_tools)]
        reserve = 0.0 if pricing.container_time_is_free(tool_types) else pricing.container_cost(0.0)
        budget = Budget(model, caps, self._book.total.cost or 0.0, settings.cache, settings.cache_ttl, reserve)
        text = [{"type": "text", "text": describe_attachments(attachments)}] if attachments else []
        upcoming = [*history, {"role": "user", "content": [*text, {"type": "text", "text": prompt}]}]

        def count(messages: Any) -> int:
            return self.client.count_tokens(
                model=model, messages=messages, tool_version=tool_version, extra_tools=extra_tools, options=options
            )

        preflight(budget, upcoming, count, max_tokens)
        return options, budget

    def _finish_long_turn(
        self,
        outcome: TurnOutcome,
        turn: Turn,
        *,
        started: float,
        settings: context.ContextSettings,
        budget: Budget | None,
        max_tokens: int,
        attached: bool,
    ) -> tuple[TurnOutcome, Turn]:
        """Bound the history, price the turn, add its notices; a refused turn is left out of the conversation."""
        notices = list(turn.notices)
        history = outcome.history
        empty = bool(history) and not history[-1].get("content")  # e.g. a stop before any block
        dropped = outcome.stop_reason == "refusal" or empty
        if dropped:
            # A refused turn is left out, as the docs advise; an empty answer cannot be sent back at all.
            history = history[:-2] if outcome.prompt_sent else history[:-1]
        history, cut = context.bound_history(
            history, settings.result_limit, last_is_paused=outcome.stop_reason == "pause_turn"
        )
        if cut:
            notices.append(
                f"Trimmed {cut:,} characters of long output from what later cells resend (Claude was told; "
                "the Turn and the sandbox keep everything)."
            )
        if budget is not None and budget.lowered_to is not None:
            notices.append(f"max_tokens was lowered to {budget.lowered_to:,} to stay within the cost cap.")
        if (said := context.stop_notice(outcome.stop_reason, outcome.stop_details, max_tokens)) is not None:
            notices.append(said)
        code_ran = outcome.usage.code_execution_requests > 0
        cost, seconds = self._book.price(
            outcome.model,
            outcome.usage,
            container_id=outcome.container.id if outcome.container else None,
            started=started,
            ended=time.monotonic(),
            # Free when the request carried web_search/web_fetch 20260209+ (doc-CE "Usage and pricing").
            container_billed=(code_ran or attached) and not pricing.container_time_is_free(turn.server_tools),
        )
        total = self._book.add(outcome.usage, cost, seconds)
        turn = replace(
            turn,
            notices=tuple(notices),
            cost=cost,
            container_seconds=seconds,
            stop_details=outcome.stop_details,
            session_usage=total,
            kept=not dropped,
        )
        return replace(outcome, history=history), turn

    def _remember_for_undo(self, fresh: bool) -> None:
        """Keep the conversation as it was before the turn being committed (call under the lock)."""
        if fresh:
            self._undo.clear()
        self._undo.append((self._messages, self._paused))

    def undo(self) -> Turn:
        """Drop the last turn (its prompt and Claude's answer) from the conversation; returns it.

        The conversation goes back exactly to what it was before that turn, so it stays valid
        (a turn that resumed a paused one leaves it paused again). The sandbox is not undone:
        files and variables that turn made are still there, and the money spent stays spent.
        """
        with self._lock:
            if not self._undo or not self._turns.turns:
                raise ClaudeMagicError(
                    "Nothing to undo: no turn since the conversation started, was reset or was compacted."
                )
            self._messages, self._paused = self._undo.pop()
            return self._turns.pop()

    def compact(self, instructions: str | None = None) -> Turn:
        """Replace the conversation with the API's summary of it (a compaction), keeping the sandbox and files.

        Uses the explicit compaction request (``compaction={"type": "summarize"}``, beta); the
        ``compaction`` block comes back verbatim as the start of the new conversation. Returns
        a Turn holding the summary and what the compaction cost.
        """
        with self._lock:
            history, container, paused = self._messages, self._container, self._paused
        if not history:
            raise ClaudeMagicError("Nothing to compact: the conversation is empty.")
        if paused:
            raise ClaudeMagicError("Claude's last turn is paused: run a cell to let it finish, then %claude_compact.")
        from claude_magic._tool_versions import tool_version_for

        started = time.monotonic()
        compaction: dict[str, Any] = {"type": "summarize"}
        if instructions and instructions.strip():
            compaction["instructions"] = instructions.strip()
        response = self.client.send(
            model=self.model,
            max_tokens=self.max_tokens,
            messages=history,
            tool_version=self.tool_version or tool_version_for(self.model),
            container_id=container.id if container else None,
            stream=False,
            options={"compaction": compaction},
        )
        blocks = [block for block in response.content if block.get("type") == "compaction"]
        summary = str(blocks[-1].get("content") or "") if blocks else ""
        turn = Turn(
            prompt="%claude_compact" + (f" {instructions.strip()}" if instructions and instructions.strip() else ""),
            steps=(TextStep(summary),) if summary else (),
            model=response.model,
            usage=response.usage,
            container=container,
            stop_reason=response.stop_reason,
            duration=time.monotonic() - started,
        )
        if not summary:
            notice = "The API could not compact the conversation (no summary came back): it was left as it was."
        else:
            notice = "Compacted the conversation into a summary; the sandbox, its files and your uploads are kept."
        cost, _ = self._book.price(
            response.model, response.usage, container_id=None, started=0, ended=0, container_billed=False
        )
        total = self._book.add(response.usage, cost, 0.0)
        turn = replace(turn, notices=(notice,), cost=cost, session_usage=total)
        with self._lock:
            if summary:
                self._messages = context.compacted_history(blocks[-1])
                self._undo.clear()
            self._turns.append(turn)
        return turn
