"""The IPython adapter: ``%claude_upload``, ``%%claude_exec`` and friends.

A thin layer: it parses options (``magic_arguments``), reads configuration (traitlets), calls
the ``Session``, and hands the renderer's mimebundles to ``display``. It is the only module that
imports IPython. Expected failures become one-line ``UsageError``s.
"""

from __future__ import annotations

import contextlib
import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, observe, validate

from claude_magic import _data_safety as safety
from claude_magic import _history_view as history_view
from claude_magic import _magic_input as checks
from claude_magic import _render as render
from claude_magic._client import DEFAULT_MODEL, warm_up
from claude_magic._context import EFFORTS, RESULT_LIMIT
from claude_magic._export import export_cell, export_script
from claude_magic._live import INTERRUPTED, Update, choose_view
from claude_magic._local_files import is_dataframe, prepare
from claude_magic._manifest import DownloadManifest, cell_key
from claude_magic._provenance import write_export_manifest
from claude_magic._session import DEFAULT_MAX_TOKENS, MAX_EXPIRES_IN, MIN_EXPIRES_IN, Session
from claude_magic._skills import SkillError, parse_skills
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import (
    CodeStep,
    EditStep,
    Execution,
    TextStep,
    Turn,
    UploadBatch,
)

_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


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
        shell.input_transformers_cleanup.append(_line_prompt_call)
        threading.Thread(target=_warm_up, name="claude-magic-warm-imports", daemon=True).start()
        return instance

    @classmethod
    def detach(cls, shell: Any) -> None:
        """Undo ``attach``: IPython has no unregister, so remove our magics, registry entry and config."""
        manager = shell.magics_manager
        instance = manager.registry.pop(cls.__name__, None)
        if instance is None:
            return
        for kind, table in instance.magics.items():
            for name in table:
                manager.magics[kind].pop(name, None)
        if instance in shell.configurables:
            shell.configurables.remove(instance)
        if _line_prompt_call in shell.input_transformers_cleanup:
            shell.input_transformers_cleanup.remove(_line_prompt_call)
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
    @argument("-n", "--name", help="File name to upload under (default: the variable's or file's name).")
    @argument(
        "-f", "--format", dest="fmt", choices=("parquet", "csv"), help="How to serialise a DataFrame (default parquet)."
    )
    @argument("-w", "--widget", action="store_true", help="Show a file picker instead.")
    @argument("--columns", metavar="A,B", help="DataFrames: send only these columns.")
    @argument("--drop", metavar="A,B", help="DataFrames: leave these columns out.")
    @argument("--sample", type=int, metavar="N", help="DataFrames: send N rows chosen at random (seeded).")
    @argument("--seed", type=int, default=0, help="Seed for --sample (default 0).")
    @argument("--pseudonymize", metavar="A,B", help="DataFrames: replace these columns with salted hashes.")
    @argument("--dry-run", action="store_true", help="Show exactly what would be sent, and send nothing.")
    @argument("--yes", action="store_true", help="Send even above ClaudeMagics.confirm_upload_over.")
    @argument("sources", nargs="*", help="DataFrame variables, paths or globs.")
    @line_magic
    def claude_upload(self, line: str) -> Any:
        """Upload DataFrames or files once; later turns reference them by file id.

        Files go to the Files API; the next ``%%claude_exec`` attaches them to the container,
        where Claude's code finds them in ``$INPUT_DIR``. The same bytes are never sent twice.

        Examples
        --------
        ::

            %claude_upload df
            %claude_upload data/*.csv
            %claude_upload sales.xlsx --name q3.xlsx
            %claude_upload df --format csv
            %claude_upload --widget
            %claude_upload users --drop email,phone --pseudonymize user_id --dry-run
            %claude_upload events --columns user_id,amount --sample 1000

        ``--pseudonymize`` keeps the salted tokens and the way back in the kernel
        (``claude_pseudonyms.table("user_id")`` to merge results back). Files sent to the Files
        API stay until deleted (not zero-retention); a container keeps its data up to 30 days.
        """
        args = _parse_args(self.claude_upload, line)
        if args.widget and args.sources:
            raise UsageError("--widget shows a picker: give either sources or --widget, not both.")
        if args.widget:
            return self._picker()
        if not args.sources:
            raise UsageError(
                "Give a DataFrame variable, a path or a glob (e.g. %claude_upload df), or use --widget for a picker."
            )
        if args.name is not None and len(args.sources) > 1:
            raise UsageError("--name needs exactly one source.")
        if args.name is not None and not args.name.strip():
            raise UsageError("--name needs a file name, e.g. --name sales.csv.")
        values = [self._resolve_source(source) for source in args.sources]
        if args.fmt and not any(checks.holds_dataframe(value) for value in values):
            raise UsageError("--format converts DataFrames; files are uploaded as they are (drop --format).")
        options = safety.SafetyOptions(
            columns=safety.split_names(args.columns),
            drop=safety.split_names(args.drop),
            sample=args.sample,
            seed=args.seed,
            pseudonymize=safety.split_names(args.pseudonymize),
        )
        if options.active and not all(is_dataframe(value) for value in values):
            raise UsageError("--columns, --drop, --sample and --pseudonymize apply to DataFrame variables only.")
        with self._user_errors():
            # Read and check every source before sending any, so a bad one leaves nothing half done.
            local, frames = [], []
            for source, value in zip(args.sources, values, strict=True):
                if isinstance(value, bytes | bytearray | memoryview) and not args.name:
                    raise UsageError(f"{source} holds bytes: give them a file name, e.g. --name {source}.bin.")
                name = args.name or (source if not isinstance(value, str) else None)
                if options.active:
                    value = safety.apply(value, options, self.session.pseudonyms)
                prepared = prepare(value, name=name, fmt=args.fmt, known=self.session.known_frame)
                local.extend(prepared)
                frames.extend([value if is_dataframe(value) else None] * len(prepared))
            checks.check_distinct(local)
            if args.dry_run:
                return safety.dry_run(list(zip(local, frames, strict=True)))
            total = sum(file.size for file in local)
            if self.confirm_upload_over and total > self.confirm_upload_over and not args.yes:
                reason = (
                    f"Not sent: {total:,} bytes is over ClaudeMagics.confirm_upload_over "
                    f"({self.confirm_upload_over:,}). Check what would be sent below, then run again with --yes."
                )
                return safety.dry_run(list(zip(local, frames, strict=True)), reason)
            files = [self.session.upload_file(file) for file in local]
        if options.pseudonymize:
            self._user_ns["claude_pseudonyms"] = self.session.pseudonyms
        self._refresh_pickers()
        return UploadBatch(tuple(files))

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
                options, prompt = checks.split_options(line, _takes_value(self.claude_exec))
            else:
                options, prompt = line, cell
            args = _parse_args(self.claude_exec, options)
            checks.check_exec_options(args, download_dir=self.download_dir, uploads=self.session.uploads)
            if args.skills is not None:
                parse_skills(args.skills)  # a bad name fails here, before anything is sent
            args.functions = checks.kernel_functions(args.tools, self._user_ns)
        if not prompt.strip():
            where = "below %%claude_exec" if cell is not None else "after %claude_exec, on the same line"
            raise UsageError(f"The prompt is empty: write what Claude should do {where}.")
        key = cell_key(options, prompt)
        prompt = self._interpolate(prompt.strip())
        session = self.session
        with self._user_errors():
            turn = self._run_live(session, prompt, args, key)
        self._refresh_pickers()
        if args.out:
            self._user_ns[args.out] = turn

    @magic_arguments()
    @argument(
        "inputs", nargs="*", help="A glob, paths, or a variable holding a list of DataFrames or paths, or a dict."
    )
    @argument("--sync", type=int, metavar="N", help="Run N ordinary requests at once instead of a Message Batch.")
    @argument("--out", metavar="VAR", help="Store the results DataFrame in variable VAR.")
    @argument("--name", help="Name of the map and of its output folder (default: map-<date>-<time>).")
    @argument("-m", "--model", help="Model for every input (default: ClaudeMagics.model).")
    @argument("--max-tokens", type=int, help="Token limit for each answer.")
    @argument("--tool-version", help="Code execution tool version, e.g. code_execution_20250825.")
    @argument("--outdir", help="Folder for the map's folder of outputs (default: ClaudeMagics.download_dir).")
    @argument("-f", "--format", dest="fmt", choices=("parquet", "csv"), help="How to serialise DataFrames.")
    @argument("--retry", metavar="VAR", help="Rerun the inputs of the results in VAR that did not succeed.")
    @argument("--resume", nargs="?", const="", metavar="ID", help="Collect a batch (default: the newest waiting).")
    @argument("--cancel", metavar="ID", help="Cancel a batch; what finished can still be collected with --resume.")
    @no_var_expand
    @line_cell_magic
    def claude_map(self, line: str, cell: str | None = None) -> None:
        """Run the same analysis over many inputs, one request and container per input.

        The cell is the prompt; ``{{item}}`` is each input's name and ``{{name}}`` a Python
        variable. Each input is uploaded once and gets its own request. By default the requests
        go as one Message Batch (half-price tokens, most done within an hour); ``--sync N`` runs
        N ordinary requests at once instead. A bar shows progress; the cell then shows a table,
        one row per input, and ``--out VAR`` keeps it as a DataFrame. Output files go to
        ``<download_dir>/<name>/<input>/``. Ctrl-C stops waiting, not the batch.

        Examples
        --------
        ::

            %%claude_map data/2024-*.csv --out monthly
            Total revenue in {{item}} by region, and a bar chart saved as PNG.

            %claude_map --retry monthly --out monthly
            %claude_map --resume
            %claude_map --cancel msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d
        """
        from claude_magic import _map_cli as cli
        from claude_magic._map_inputs import fill

        with self._user_errors():
            args = _parse_args(self.claude_map, line)
            mode = cli.check_args(args, cell)
        session = self.session
        if mode == "cancel":
            with self._user_errors():
                status = session.cancel_map(args.cancel)
            notice = (
                f"Canceling {status.id}: requests not started yet end canceled. Collect what finished with "
                f"%claude_map --resume {status.id}."
            )
            display(render.notice_bundle(notice), raw=True)
            return
        # tqdm's widget needs a kernel's comms; a terminal (or a capturing shell) gets the text bar.
        bar = cli.ProgressBar(in_place=getattr(self._shell, "kernel", None) is not None)
        try:
            with self._user_errors():
                if mode == "retry":
                    if args.retry not in self._user_ns:
                        raise UsageError(f"--retry {args.retry}: no such variable; give the one --out stored.")
                    engine: Literal["sync"] | None = "sync" if args.sync else None
                    concurrency = args.sync or 8
                    result = session.retry_map(
                        self._user_ns[args.retry], engine=engine, concurrency=concurrency, on_progress=bar
                    )
                elif mode == "resume":
                    result = session.resume_map(args.resume or None, on_progress=bar)
                else:
                    prompt = fill(cell.strip() if cell else "", self._user_ns.__getitem__)
                    inputs = cli.inputs_from(args.inputs, self._user_ns)
                    result = session.map(
                        prompt,
                        inputs,
                        engine="sync" if args.sync else "batch",
                        concurrency=args.sync or 8,
                        name=args.name,
                        model=args.model,
                        max_tokens=args.max_tokens,
                        tool_version=args.tool_version,
                        download_dir=args.outdir,
                        fmt=args.fmt,
                        on_progress=bar,
                    )
        except KeyboardInterrupt:
            bar.close()
            last = bar.last
            if last is not None and last.engine == "batch" and last.run_id:
                message = (
                    f"Stopped waiting; the batch {last.run_id} goes on. Collect it with "
                    f"%claude_map --resume {last.run_id}, or stop it with %claude_map --cancel {last.run_id}."
                )
            else:
                message = "Interrupted: inputs not finished were not collected; rerun the cell to run them all."
            display(render.notice_bundle(message), raw=True)  # fmt: skip
            raise
        finally:
            bar.close()
        display(result)
        if args.out:
            self._user_ns[args.out] = result.frame

    @magic_arguments()
    @argument(
        "action",
        nargs="?",
        default="list",
        choices=("list", "delete", "download", "outputs", "prune"),
        help="What to do.",
    )
    @argument("target", nargs="*", help="File names or ids (delete, download).")
    @argument("--all", action="store_true", help="List every file the server holds for this key.")
    @argument("--to", help="Folder for download (default: ClaudeMagics.download_dir).")
    @argument("--yes", action="store_true", help="With prune: delete without asking first.")
    @line_magic
    def claude_files(self, line: str) -> Any:
        """List, delete or download files on the Files API; show or prune what Claude made.

        ``outputs`` shows every file Claude's code produced in this session (thumbnail, name,
        size, turn, local path, server file id). ``prune`` deletes those files from the server,
        where they count against the organisation's storage: it first lists what it would
        delete, and ``prune --yes`` deletes. The downloaded copies stay.

        Examples
        --------
        ::

            %claude_files
            %claude_files --all
            %claude_files delete sales.csv
            %claude_files download file_011CNha8iCJcU1wXNR6q4V8w --to results
            %claude_files outputs
            %claude_files prune --yes
        """
        args = _parse_args(self.claude_files, line)
        if args.action in ("outputs", "prune"):
            return self._outputs(args)
        if args.yes:
            raise UsageError("--yes goes with prune: %claude_files prune --yes.")
        if args.action != "list" and not args.target:
            raise UsageError(f"%claude_files {args.action} needs a file name or id.")
        if args.action == "list" and args.target:
            raise UsageError(
                f"%claude_files list takes no names (got {' '.join(args.target)}); --all lists the server's."
            )
        if args.all and args.action != "list":
            raise UsageError(f"--all goes with list, not {args.action}.")
        if args.to is not None and args.action != "download":
            raise UsageError("--to goes with download: %claude_files download NAME --to FOLDER.")
        with self._user_errors():
            if args.to is not None:
                checks.check_folder(args.to, "--to")
            if args.action == "delete":
                for target in args.target:  # look every name up first: all or nothing
                    self.session.find(target)
                deleted = [self.session.delete(target) for target in args.target]
                display(render.uploaded_files_bundle(deleted, title="Deleted", state="deleted"), raw=True)
                self._refresh_pickers()
                return None
            if args.action == "download":
                file_ids = [checks.output_file_id(target, self.turns, self.session.uploads) for target in args.target]
                files = [self.session.download(file_id, args.to) for file_id in file_ids]
                for file in files:
                    display(render.file_bundle(file), raw=True)
                return None
            if args.all:
                remote = self.session.remote_files()
                display(render.remote_files_bundle(remote), raw=True)
                return None
            display(
                render.uploaded_files_bundle(self.session.uploads, title="Uploaded in this session", state="uploaded"),
                raw=True,
            )
        return None

    @magic_arguments()
    @argument("--new", action="store_true", help="Start the next turn in a fresh container (uploads re-attached).")
    @line_magic
    def claude_container(self, line: str) -> None:
        """Show the current container's id and expiry, or start a new one with ``--new``."""
        args = _parse_args(self.claude_container, line)
        if args.new:
            self.session.new_container()
            self._refresh_pickers()
        display(render.container_bundle(self.session.container), raw=True)

    @line_magic
    def claude_reset(self, line: str) -> None:
        """Forget the conversation and the container; uploads stay and are attached again next turn."""
        if line.strip():
            raise UsageError("%claude_reset takes no arguments.")
        self.session.reset()
        self._refresh_pickers()
        display(render.notice_bundle("Started a fresh conversation; the next cell runs in a new container."), raw=True)

    @magic_arguments()
    @argument("--turn", type=int, action="append", help="Export only turn N (1 = first; repeatable).")
    @argument("--file", help="Also write the code as a Python script to this path.")
    @line_magic
    def claude_export(self, line: str) -> None:
        """Replace this cell with the code Claude ran, so the analysis can be rerun locally.

        As ``%load`` does, the cell's first line keeps the command as a comment (uncomment it to
        export again); rerunning the cell runs the code here, in local folders. Where the
        frontend cannot replace cells, the code is shown to copy; ``--file`` also writes it as
        a script.
        """
        args = _parse_args(self.claude_export, line)
        with self._user_errors():
            turns = checks.chosen_turns(args.turn, self.turns)
            script = checks.script_path(args.file)
        inputs = self.session.export_inputs(Path("claude_inputs"))
        folders = {"input_dir": "claude_inputs"}
        if script is not None:
            script.parent.mkdir(parents=True, exist_ok=True)  # a missing folder is made, as for downloads
            script.write_text(export_script(turns, **folders))
        # The manifest beside the exported code: which turns (model, container, request ids) and inputs it came from.
        write_export_manifest(Path("claude_export") / "manifest.json", turns, inputs)
        if script is not None:
            write_export_manifest(script.with_suffix(".manifest.json"), turns, inputs)
        # One cell: ipykernel keeps only the last set_next_input payload and JupyterLab reads only one.
        # It replaces this cell, as %load does: the first line keeps the command, commented out, so
        # rerunning the notebook reruns the code locally and never adds a second copy.
        source = f"# %claude_export {line.strip()}".rstrip() + "\n" + export_cell(turns, **folders)
        self._shell.set_next_input(source, replace=True)
        display(render.export_bundle([source], inputs=inputs, script=args.file), raw=True)

    # Long sessions

    @line_magic
    def claude_usage(self, line: str) -> Any:
        """Show what each turn of this conversation used and cost, and the session's total.

        Costs are estimated from list prices: tokens (cache reads at 0.1x, writes at 1.25x or
        2x the input price) plus container time, billed by time with a 5-minute minimum.
        """
        if line.strip():
            raise UsageError("%claude_usage takes no arguments.")
        display(history_view.usage_bundle(self.turns, self.session.usage), raw=True)
        return None

    @magic_arguments()
    @argument("turn", nargs="?", type=int, help="Show turn N again (1 = first).")
    @argument("--undo", action="store_true", help="Drop the last turn from the conversation.")
    @line_magic
    def claude_history(self, line: str) -> Any:
        """List this conversation's turns, show one again, or undo the last one.

        ``--undo`` drops the last prompt and Claude's answer from the conversation; the sandbox
        is not undone (files and variables it made stay).

        Examples
        --------
        ::

            %claude_history
            %claude_history 2
            %claude_history --undo
        """
        args = _parse_args(self.claude_history, line)
        if args.undo and args.turn is not None:
            raise UsageError("--undo drops the last turn: give no turn number with it.")
        if args.undo:
            with self._user_errors():
                turn = self.session.undo()
            display(
                render.notice_bundle(
                    f"Dropped the last turn ({turn.prompt[:60]!r}) from the conversation. The sandbox is not "
                    "undone: files and variables that turn made are still there."
                ),
                raw=True,
            )
            return None
        if args.turn is not None:
            turns = self.turns
            if not 1 <= args.turn <= len(turns):
                raise UsageError(f"No turn {args.turn}: this conversation has {len(turns)} (see %claude_history).")
            return turns[args.turn - 1]
        display(history_view.history_bundle(self.turns, self.session.usage), raw=True)
        return None

    @no_var_expand
    @line_magic
    def claude_compact(self, line: str) -> Any:
        """Summarise the conversation with the API's compaction, keeping the sandbox and its files.

        Later cells resend the summary instead of every earlier turn. Text after the magic is
        passed as instructions for the summary.

        Examples
        --------
        ::

            %claude_compact
            %claude_compact Keep the column names and the model's test scores.
        """
        with self._user_errors():
            turn = self.session.compact(line.strip() or None)
        display(render.notice_bundle(turn.notices[0]), raw=True)
        return None

    @magic_arguments()
    @argument("action", nargs="?", default="list", choices=("list", "add", "remove"), help="What to do.")
    @argument("target", nargs="?", help="add: the skill's folder; remove: the custom skill's id.")
    @argument("--name", help="add: the skill's display name (default: its SKILL.md name).")
    @argument("--custom", action="store_true", help="list: only custom skills.")
    @line_magic
    def claude_skills(self, line: str) -> Any:
        """List the Agent Skills Claude can load, upload a custom skill, or remove one.

        Anthropic's skills (``xlsx``, ``pptx``, ``docx``, ``pdf``) make real office files; a
        custom skill is a folder with a ``SKILL.md`` manifest at its root. Load skills in a turn
        with ``%%claude_exec --skills xlsx,pptx`` (or ``%config ClaudeMagics.skills = "xlsx"``);
        once loaded, a container keeps getting them on every turn.

        Examples
        --------
        ::

            %claude_skills
            %claude_skills add ./skills/brand-guidelines
            %claude_skills remove skill_01AbCdEfGhIjKlMnOpQrStUv
        """
        args = _parse_args(self.claude_skills, line)
        if args.action == "list" and args.target:
            raise UsageError(f"%claude_skills list takes no names (got {args.target}).")
        if args.action != "list" and not args.target:
            what = "the skill's folder" if args.action == "add" else "the custom skill's id"
            raise UsageError(f"%claude_skills {args.action} needs {what}.")
        if args.name is not None and args.action != "add":
            raise UsageError("--name goes with add: %claude_skills add FOLDER --name NAME.")
        with self._user_errors():
            session = self.session
            if args.action == "add":
                skill = session.add_skill(args.target, display_name=args.name)
                display(render.skills_bundle([skill], title=f"Uploaded the custom skill {skill.id}"), raw=True)
            elif args.action == "remove":
                session.remove_skill(args.target)
                display(render.notice_bundle(f"Removed the custom skill {args.target} and its versions."), raw=True)
            else:
                skills = session.list_skills("custom" if args.custom else None)
                in_use = [param["skill_id"] for param in session.container_skills]
                display(render.skills_bundle(skills, in_use=in_use), raw=True)
        return None

    # Helpers

    def _outputs(self, args: Any) -> None:
        """``%claude_files outputs`` and ``prune [--yes]``."""
        if args.target or args.all or args.to is not None:
            raise UsageError(f"%claude_files {args.action} takes no names, --all or --to.")
        if args.yes and args.action != "prune":
            raise UsageError("--yes goes with prune: %claude_files prune --yes.")
        session = self.session
        if args.action == "outputs":
            display(render.gallery_bundle(session.produced_files()), raw=True)
            return
        on_server = [item for item in session.produced_files() if not item.deleted]
        if not args.yes:
            confirm = "Run %claude_files prune --yes to delete them (the downloaded copies stay)."
            display(render.prune_bundle(on_server, done=False, confirm=confirm), raw=True)
            return
        with self._user_errors():
            pruned = session.prune_outputs()
        display(render.prune_bundle(pruned, done=True), raw=True)

    def _run_live(self, session: Session, prompt: str, args: Any, key: str) -> Turn:
        """Run one turn, showing each step as it arrives; files this cell saved last time make way."""
        manifest = DownloadManifest(Path(args.outdir) if args.outdir else session.download_dir)
        previous = manifest.set_aside(key)  # deleted only once this run succeeds
        view = choose_view(self._shell.display_pub, _show_in_place, show_code=self.show_code)
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

    def _resolve_source(self, source: str) -> Any:
        namespace = self._user_ns
        if source.isidentifier() and source in namespace:
            return namespace[source]
        if source.isidentifier() and not Path(source).exists():
            raise UsageError(f"No variable or file named {source!r}: define it, or give a path or glob.")
        return source

    def _interpolate(self, prompt: str) -> str:
        def value_of(match: re.Match[str]) -> str:
            head, *rest = match.group(1).split(".")
            if head not in self._user_ns:
                raise UsageError(f"{{{{{head}}}}} in the prompt names no variable: define {head} or remove the braces.")
            value = self._user_ns[head]
            for attribute in rest:
                try:
                    value = getattr(value, attribute)
                except AttributeError:
                    raise UsageError(f"{{{{{match.group(1)}}}}}: {head} has no attribute {attribute!r}.") from None
            return str(value)

        return _TEMPLATE.sub(value_of, prompt)

    def _picker(self) -> Any:
        from claude_magic.widgets import UploadPicker

        picker = UploadPicker(self.session)
        self._pickers.add(picker)
        return picker

    def _refresh_pickers(self) -> None:
        """Keep shown pickers in step with what the magics changed (uploads, attachments, deletions)."""
        for picker in list(self._pickers):
            picker.refresh()

    @contextmanager
    def _user_errors(self) -> Iterator[None]:
        try:
            yield
        except checks.InputError as exc:
            raise UsageError(str(exc)) from None
        except ClaudeMagicError as exc:
            if not self.short_errors:
                raise
            # UsageError itself, not a subclass: IPython matches `etype is UsageError`
            # and shows subclasses with a full traceback (ipython/ipython#14024).
            raise UsageError(str(exc)) from exc

    # Recording (the session's HTTP client records; conversation, container and uploads carry on)

    @magic_arguments()
    @argument("path", nargs="?", help="Cassette folder to record into (an existing cassette there is replaced).")
    @argument("--stop", action="store_true", help="Stop recording; later requests go straight to the API.")
    @line_magic
    def claude_record(self, line: str) -> None:
        """Record every API exchange of this session into a cassette folder, to replay it offline.

        Requests go through a recording proxy on 127.0.0.1 until ``--stop``. The cassette holds
        the requests, the responses (streams with their timing) and the files, never the API key.
        Anyone can then re-run the notebook without a key: start
        ``python -m claude_magic.testing replay PATH`` and set ``ANTHROPIC_BASE_URL`` to the URL
        it prints. Recording a replay writes nothing, so the cell can stay in the notebook.

        Examples
        --------
        %claude_record analysis.cassette
        %claude_record --stop
        """
        args = _parse_args(self.claude_record, line)
        session = self.session
        with self._user_errors():
            if args.stop:
                folder, recorded, replayed = session.stop_recording()
                message = f"Stopped recording: {recorded} exchanges in {folder}."
                if replayed and not recorded:
                    message = f"Stopped recording: the API was a replay, so {folder} was left as it was."
                display(render.notice_bundle(message), raw=True)
                return
            if not args.path:
                raise UsageError("Name the cassette folder: %claude_record PATH (or %claude_record --stop).")
            session.record(args.path)
        display(render.notice_bundle(f"Recording this session's API exchanges into {args.path}."), raw=True)


def _show_in_place(bundle: dict[str, str]) -> Update:
    """Display ``bundle`` and return what replaces it in place (the live view's ``Show``)."""
    handle = display(bundle, raw=True, display_id=True)

    def update(new: dict[str, str], metadata: Mapping[str, Any] | None = None, /) -> None:
        handle.update(new, raw=True, metadata=dict(metadata) if metadata else None)

    return update


_LINE_PROMPT = re.compile(r"^(\s*)%claude_exec(?:[ \t]+(.*?))?[ \t]*$")


def _line_prompt_call(lines: list[str]) -> list[str]:
    """Run ``%claude_exec …?`` lines as the magic, before IPython reads ``word?`` as a help request.

    An input transformer (IPython's cleanup stage): it rewrites the line into the call IPython
    itself would make, so ``%claude_exec What is the median of revenue?`` asks Claude instead
    of showing help for ``revenue``. Other lines are left to IPython.
    """
    if lines and lines[0].lstrip().startswith("%%"):
        return lines  # a cell magic's body is its own text
    rewritten = []
    for line in lines:
        body = line.rstrip("\n")
        match = _LINE_PROMPT.match(body)
        if match is None or not body.endswith("?"):
            rewritten.append(line)
            continue
        indent, rest = match.group(1), match.group(2) or ""
        newline = line[len(body) :]
        rewritten.append(f"{indent}get_ipython().run_line_magic('claude_exec', {rest!r}){newline}")
    return rewritten


def _takes_value(magic: Any) -> dict[str, bool]:
    """A magic's option strings, each with whether it takes a value (from its argparse parser)."""
    actions = magic.parser._option_string_actions
    # An optional value (``--think``) is taken only as ``--think=4096`` on a line: the prompt follows.
    return {option: action.nargs not in (0, "?") for option, action in actions.items()}


def _parse_args(magic: Any, line: str) -> Any:
    """``parse_argstring``, with one pair of matching quotes taken off each value.

    IPython splits magic lines without POSIX rules (so Windows paths keep their backslashes), which
    leaves the quotes in ``%claude_upload "my data.csv"``: the quoted path would then match no file.
    """
    args = parse_argstring(magic, line)
    for key, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, key, _unquote(value))
        elif isinstance(value, list):
            setattr(args, key, [_unquote(item) if isinstance(item, str) else item for item in value])
    return args


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _warm_up() -> None:
    """Do in the background what the first ``%%claude_exec`` would otherwise wait for.

    Imports the SDK and its streaming and result types, and renders one step of each kind, so
    the renderer's first use (pygments finding a lexer for a file name imports every lexer
    module: about 0.25 s) is paid before the user's first cell.
    """
    warm_up()
    with contextlib.suppress(Exception):  # warming is best effort: the first cell does the same work
        sample = Execution(stdout="ok\n", return_code=0)
        for step in (
            TextStep("Warming **up**."),
            CodeStep("srvtoolu_warm", "python", "print('ok')", sample),
            CodeStep("srvtoolu_warm", "bash", "echo ok", sample),
            EditStep("srvtoolu_warm", "create", "/tmp/warm.py", file_text="print('ok')\n"),
        ):
            render.step_bundle(step)
