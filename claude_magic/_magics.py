"""The IPython adapter: ``ClaudeMagics`` (settings, session, loading) and ``%%claude_exec``.

A thin layer: it parses options (``magic_arguments``), reads configuration (traitlets), calls
the ``Session``, and hands the renderer's mimebundles to ``display``. Expected failures become
one-line ``UsageError``s. The other magics are grouped by family, as IPython's own are:
``_magics_files`` (uploads, files, export, recording, skills) and ``_magics_session`` (usage,
history, compaction, map); ``_magics_args`` holds what they share. Only these ``_magics*``
modules (and the load hooks in ``__init__``) import IPython or traitlets.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display
from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, observe, validate

from claude_magic import _magic_input as checks
from claude_magic import _render as render
from claude_magic._context import EFFORTS, RESULT_LIMIT
from claude_magic._defaults import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, MAX_EXPIRES_IN, MIN_EXPIRES_IN
from claude_magic._live import INTERRUPTED, choose_view
from claude_magic._magics_args import (
    MagicsFamily,
    interpolate,
    line_prompt_call,
    parse_args,
    show_in_place,
    takes_value,
    user_errors,
    warm_imports,
)
from claude_magic._magics_files import ClaudeFileMagics
from claude_magic._magics_session import ClaudeSessionMagics
from claude_magic._manifest import DownloadManifest, cell_key
from claude_magic._skills import SkillError, parse_skills
from claude_magic.results import Turn

if TYPE_CHECKING:
    from claude_magic._session import Session

# The families registered beside ClaudeMagics; each uses its settings and session.
_FAMILIES: tuple[type[MagicsFamily], ...] = (ClaudeFileMagics, ClaudeSessionMagics)

_LONG_SESSION_TRAITS = (
    "cache",
    "cache_ttl",
    "context_editing",
    "result_limit",
    "thinking",
    "effort",
    "max_cost_per_cell",
    "max_cost_per_session",
)


@magics_class
class ClaudeMagics(Magics):
    """Hand data to Claude's code execution tool and render what it ran.

    Configure with ``%config ClaudeMagics.<name> = value`` or, in ``ipython_config.py``,
    ``c.ClaudeMagics.<name> = value``. The API key is read from ``ANTHROPIC_API_KEY`` and is
    never a setting.
    """

    model = Unicode(DEFAULT_MODEL, help="Model used by %%claude_exec.").tag(config=True)
    max_tokens = Int(DEFAULT_MAX_TOKENS, help="Upper bound on tokens in one response.").tag(config=True)
    tool_version = Unicode(
        None, allow_none=True, help="Code execution tool version; None means the newest the SDK knows."
    ).tag(config=True)
    base_url = Unicode(
        None, allow_none=True, help="API base URL; None lets the SDK decide (ANTHROPIC_BASE_URL, else the public API)."
    ).tag(config=True)
    download_dir = Unicode("claude_outputs", help="Folder where files Claude's code produces are saved.").tag(
        config=True
    )
    stream = Bool(True, help="Render steps live as the response streams.").tag(config=True)
    show_code = Bool(True, help="Show the code Claude ran above its output.").tag(config=True)
    short_errors = Bool(True, help="Show expected failures as one line; False shows full tracebacks.").tag(config=True)
    timeout = Float(600.0, help="Seconds to wait for one API request.").tag(config=True)
    max_retries = Int(2, help="Retries for rate limits and transient errors (done by the SDK).").tag(config=True)
    max_continuations = Int(5, help="How often one turn is continued after pause_turn.").tag(config=True)
    # Long sessions: caching, bounded context, thinking, cost caps (README "Long sessions").
    cache = Bool(True, help="Prompt caching: later cells read the resent history at a tenth of the price.").tag(
        config=True
    )
    cache_ttl = Enum(["5m", "1h"], "5m", help="Cache lifetime: 5m (writes 1.25x input) or 1h (writes 2x).").tag(
        config=True
    )
    context_editing = Bool(False, help="Let the API clear old tool results from what Claude reads (beta).").tag(
        config=True
    )
    result_limit = Int(RESULT_LIMIT, help="Tool results longer than this (characters) are trimmed when resent.").tag(
        config=True
    )
    thinking = Unicode("", help="Default for --think: '' (off), 'adaptive', or a token budget such as '4096'.").tag(
        config=True
    )
    effort = Enum([*EFFORTS], None, allow_none=True, help="Default for --effort (None: the model's).").tag(config=True)
    max_cost_per_cell = Float(None, allow_none=True, help="Refuse a cell that would cost more (USD).").tag(config=True)
    max_cost_per_session = Float(None, allow_none=True, help="Refuse cells past this session total (USD).").tag(
        config=True
    )
    skills = Unicode(
        "", help="Agent Skills every turn loads, e.g. 'xlsx,pptx' or a custom skill's id (at most 8)."
    ).tag(config=True)
    expires_in_seconds = Int(
        None, allow_none=True, help="New uploads are deleted by the server after this many seconds (3600-7776000)."
    ).tag(config=True)
    web = Bool(False, help="Offer Claude web search and web fetch on every turn (as --web does).").tag(config=True)
    web_max_uses = Int(5, help="Web searches (and fetches) Claude may make per request.").tag(config=True)
    confirm_upload_over = Int(
        0, help="Uploads larger than this many bytes show what would be sent and need --yes; 0 turns this off."
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        # Set before super().__init__: it applies the shell's config, which fires our observers.
        self._session: Session | None = None
        self._pickers: weakref.WeakSet[Any] = weakref.WeakSet()  # shown pickers, redrawn when files change
        super().__init__(shell=shell, **kwargs)  # Magics.__init__ registers us with %config

    # Loading

    @classmethod
    def attach(cls, shell: Any) -> ClaudeMagics:
        """Register the magics on *shell* (idempotent) and warm the SDK import in the background."""
        existing = shell.magics_manager.registry.get(cls.__name__)
        if isinstance(existing, cls):
            return existing
        instance = cls(shell)
        shell.register_magics(instance)
        for family in _FAMILIES:
            shell.register_magics(family(instance))
        shell.input_transformers_cleanup.append(line_prompt_call)
        threading.Thread(target=warm_imports, name="claude-magic-warm-imports", daemon=True).start()
        return instance

    @classmethod
    def detach(cls, shell: Any) -> None:
        """Undo ``attach``: IPython has no unregister, so remove our magics, registry entries and config."""
        manager = shell.magics_manager
        instance = manager.registry.pop(cls.__name__, None)
        if instance is None:
            return
        families = [manager.registry.pop(family.__name__, None) for family in _FAMILIES]
        for part in [instance, *families]:
            if part is None:
                continue
            for kind, table in part.magics.items():
                for name in table:
                    manager.magics[kind].pop(name, None)
            if part in shell.configurables:
                shell.configurables.remove(part)
        if line_prompt_call in shell.input_transformers_cleanup:
            shell.input_transformers_cleanup.remove(line_prompt_call)
        instance.close()

    def close(self) -> None:
        """Release the session's HTTP connections (and stop recording)."""
        if self._session is not None:
            if self._session.recording is not None:
                self._session.stop_recording()
            self._session.close()
            self._session = None

    @property
    def _shell(self) -> Any:
        assert self.shell is not None  # set by Magics.__init__
        return self.shell

    @property
    def _user_ns(self) -> dict[str, Any]:
        namespace: dict[str, Any] = self._shell.user_ns
        return namespace

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The turns of this conversation (kept by the session)."""
        return self._session.turns if self._session is not None else ()

    @property
    def session(self) -> Session:
        """The kernel's session, created on first use (so loading never needs a key)."""
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> Session:
        from claude_magic._session import Session  # the SDK-facing core, on first use only

        session = Session(
            model=self.model,
            max_tokens=self.max_tokens,
            tool_version=self.tool_version,
            base_url=self.base_url,
            download_dir=self.download_dir,
            max_continuations=self.max_continuations,
            timeout=self.timeout,
            max_retries=self.max_retries,
            **self._long_session_settings(),
            skills=self.skills,
            expires_in_seconds=self.expires_in_seconds,
        )
        session.web_max_uses = self.web_max_uses
        return session

    def _long_session_settings(self) -> dict[str, Any]:
        return {
            "cache": self.cache,
            "cache_ttl": self.cache_ttl,
            "context_editing": self.context_editing,
            "result_limit": self.result_limit,
            "thinking": self.thinking or None,
            "effort": self.effort,
            "max_cost_per_cell": self.max_cost_per_cell,
            "max_cost_per_session": self.max_cost_per_session,
        }

    @observe(*_LONG_SESSION_TRAITS)
    def _update_long_session(self, change: Any) -> None:
        if self._session is not None:
            for name, value in self._long_session_settings().items():
                setattr(self._session, name, value)

    @validate("max_tokens", "max_continuations")
    def _check_positive(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1")
        return int(proposal["value"])

    @validate("timeout")
    def _check_timeout(self, proposal: Any) -> float:
        if proposal["value"] <= 0:
            raise TraitError("timeout must be more than 0 seconds")
        return float(proposal["value"])

    @validate("max_retries")
    def _check_retries(self, proposal: Any) -> int:
        if proposal["value"] < 0:
            raise TraitError("max_retries must be 0 or more")
        return int(proposal["value"])

    @validate("download_dir")
    def _check_download_dir(self, proposal: Any) -> str:
        if not str(proposal["value"]).strip():
            raise TraitError("download_dir must name a folder")
        return str(proposal["value"])

    @observe("model", "max_tokens", "tool_version", "download_dir", "max_continuations", "web_max_uses")
    def _update_defaults(self, change: Any) -> None:
        if self._session is not None:
            self._session.model = self.model
            self._session.max_tokens = self.max_tokens
            self._session.tool_version = self.tool_version
            self._session.download_dir = Path(self.download_dir)
            self._session.max_continuations = self.max_continuations
            self._session.web_max_uses = self.web_max_uses

    @validate("skills")
    def _check_skills(self, proposal: Any) -> str:
        try:
            parse_skills(proposal["value"])
        except SkillError as exc:
            raise TraitError(str(exc)) from None
        return str(proposal["value"])

    @validate("expires_in_seconds")
    def _check_expiry(self, proposal: Any) -> int | None:
        value = proposal["value"]
        if value is not None and not MIN_EXPIRES_IN <= value <= MAX_EXPIRES_IN:
            raise TraitError(f"expires_in_seconds must be between {MIN_EXPIRES_IN} and {MAX_EXPIRES_IN} (or None)")
        return None if value is None else int(value)

    @observe("skills", "expires_in_seconds")
    def _update_deliverables(self, change: Any) -> None:
        if self._session is not None:
            self._session.skills = parse_skills(self.skills)
            self._session.expires_in_seconds = self.expires_in_seconds

    @observe("base_url", "timeout", "max_retries")
    def _reconnect(self, change: Any) -> None:
        if self._session is not None:
            self._session.reconnect(base_url=self.base_url, timeout=self.timeout, max_retries=self.max_retries)

    # Magics

    @magic_arguments()
    @argument("-m", "--model", help="Model for this turn (default: ClaudeMagics.model).")
    @argument("--max-tokens", type=int, help="Token limit for each response of this turn.")
    @argument("--tool-version", help="Code execution tool version for this turn, e.g. code_execution_20250825.")
    @argument("--new", action="store_true", help="Start a fresh conversation and container first.")
    @argument("--out", metavar="VAR", help="Store the Turn in variable VAR.")
    @argument("--no-stream", action="store_true", help="Wait for the whole response instead of streaming.")
    @argument("--outdir", help="Save files Claude's code produces here (default: ClaudeMagics.download_dir).")
    @argument("--attach", action="append", metavar="NAME", help="Attach only these uploaded files (repeatable).")
    @argument(
        "--think",
        nargs="?",
        const="adaptive",
        metavar="BUDGET",
        help="Let Claude think first (adaptive), or with a token budget (--think=4096); shown as its plan.",
    )
    @argument("--effort", choices=EFFORTS, help="How much effort Claude puts in (default: ClaudeMagics.effort).")
    @argument("--force", action="store_true", help="Run even if the cell would pass a cost cap.")
    @argument(
        "--skills",
        metavar="IDS",
        help="Agent Skills to load, comma-separated: xlsx, pptx, docx, pdf or a custom skill's id (at most 8).",
    )
    @argument("--web", action="store_true", help="Let Claude search and fetch web pages in this turn.")
    @argument("--tools", metavar="F,G", help="Kernel functions Claude (and its sandbox code) may call.")
    @no_var_expand
    @line_cell_magic
    def claude_exec(self, line: str, cell: str | None = None) -> None:
        """Ask Claude to do what the cell says by writing and running code in its sandbox.

        The cell is the prompt. ``{{name}}`` puts the value of a Python variable into it;
        single braces stay as they are. Files uploaded with ``%claude_upload`` are attached;
        the container and the conversation carry over to the next cell. Claude's text, the code
        it ran, its output and the charts it saved appear below as they happen.

        Examples
        --------
        ::

            %%claude_exec --out turn
            Find the main drivers of churn in streaming.parquet and plot them.

            %claude_exec What is the median of {{column}}?
        """
        with self._user_errors():
            if cell is None:
                options, prompt = checks.split_options(line, takes_value(self.claude_exec))
            else:
                options, prompt = line, cell
            args = parse_args(self.claude_exec, options)
            checks.check_exec_options(args, download_dir=self.download_dir, uploads=self.session.uploads)
            if args.skills is not None:
                parse_skills(args.skills)  # a bad name fails here, before anything is sent
            args.functions = checks.kernel_functions(args.tools, self._user_ns)
        if not prompt.strip():
            where = "below %%claude_exec" if cell is not None else "after %claude_exec, on the same line"
            raise UsageError(f"The prompt is empty: write what Claude should do {where}.")
        key = cell_key(options, prompt)
        prompt = interpolate(prompt.strip(), self._user_ns)
        session = self.session
        with self._user_errors():
            turn = self._run_live(session, prompt, args, key)
        self.refresh_pickers()
        if args.out:
            self._user_ns[args.out] = turn

    @magic_arguments()
    @argument("--new", action="store_true", help="Start the next turn in a fresh container (uploads re-attached).")
    @line_magic
    def claude_container(self, line: str) -> None:
        """Show the current container's id and expiry, or start a new one with ``--new``."""
        args = parse_args(self.claude_container, line)
        if args.new:
            self.session.new_container()
            self.refresh_pickers()
        display(render.container_bundle(self.session.container), raw=True)

    @line_magic
    def claude_reset(self, line: str) -> None:
        """Forget the conversation and the container; uploads stay and are attached again next turn."""
        if line.strip():
            raise UsageError("%claude_reset takes no arguments.")
        self.session.reset()
        self.refresh_pickers()
        display(render.notice_bundle("Started a fresh conversation; the next cell runs in a new container."), raw=True)

    # Helpers

    def _run_live(self, session: Session, prompt: str, args: Any, key: str) -> Turn:
        """Run one turn, showing each step as it arrives; files this cell saved last time make way."""
        manifest = DownloadManifest(Path(args.outdir) if args.outdir else session.download_dir)
        previous = manifest.set_aside(key)  # deleted only once this run succeeds
        view = choose_view(self._shell.display_pub, show_in_place, show_code=self.show_code)
        try:
            turn = session.run(
                prompt,
                model=args.model,
                max_tokens=args.max_tokens,
                tool_version=args.tool_version,
                stream=self.stream and not args.no_stream,
                download_dir=args.outdir,
                on_event=view.on_event,
                attach=args.attach,
                new=args.new,
                think=args.think,
                effort=args.effort,
                force=args.force,
                skills=args.skills,
                web=args.web or self.web,
                tools=args.functions,
            )
        except KeyboardInterrupt:
            manifest.restore(previous)
            view.finish(None, interrupted=True)
            if not self.short_errors:
                raise
            # One line instead of a traceback through the SDK; still an error, so Run All stops here.
            raise UsageError(INTERRUPTED) from None
        except BaseException:
            manifest.restore(previous)
            view.finish(None, interrupted=True)
            raise
        manifest.discard(key, previous)
        view.finish(turn)
        manifest.record(key, [file.path for file in turn.files if file.path is not None])
        return turn

    def new_picker(self) -> Any:
        """A file picker on this kernel's session, redrawn when the magics change its files."""
        from claude_magic.widgets import UploadPicker

        picker = UploadPicker(self.session)
        self._pickers.add(picker)
        return picker

    def refresh_pickers(self) -> None:
        """Keep shown pickers in step with what the magics changed (uploads, attachments, deletions)."""
        for picker in list(self._pickers):
            picker.refresh()

    def _user_errors(self) -> contextlib.AbstractContextManager[None]:
        return user_errors(self.short_errors)
