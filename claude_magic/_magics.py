"""The IPython adapter: ``%claude_upload``, ``%%claude_exec`` and friends.

A thin layer: it parses options (``magic_arguments``), reads configuration (traitlets), calls
the ``Session``, and hands the renderer's mimebundles to ``display``. It is the only module that
imports IPython. Expected failures become one-line ``UsageError``s.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Float, Int, TraitError, Unicode, observe, validate

from claude_magic import _magic_input as checks
from claude_magic import _render as render
from claude_magic._client import DEFAULT_BASE_URL, DEFAULT_MODEL, warm_up
from claude_magic._export import export_cell, export_script
from claude_magic._local_files import prepare
from claude_magic._session import DEFAULT_MAX_TOKENS, Session
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import (
    CodeStep,
    EditStep,
    Execution,
    Notice,
    Step,
    StepUpdate,
    TextStep,
    Turn,
    TurnEvent,
    UploadBatch,
)

if TYPE_CHECKING:
    from claude_magic.testing.recorder import RecordingProxy

_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_TEXT_REFRESH_SECONDS = 0.15  # how often streaming text is re-rendered


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
        self._stop_recording()
        if self._session is not None:
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
            self._session = Session(
                model=self.model,
                max_tokens=self.max_tokens,
                tool_version=self.tool_version,
                base_url=self.base_url,
                download_dir=self.download_dir,
                max_continuations=self.max_continuations,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._session

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

    @observe("model", "max_tokens", "tool_version", "download_dir", "max_continuations")
    def _update_defaults(self, change: Any) -> None:
        if self._session is not None:
            self._session.model = self.model
            self._session.max_tokens = self.max_tokens
            self._session.tool_version = self.tool_version
            self._session.download_dir = Path(self.download_dir)
            self._session.max_continuations = self.max_continuations

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
        with self._user_errors():
            # Read and check every source before sending any, so a bad one leaves nothing half done.
            local = []
            for source, value in zip(args.sources, values, strict=True):
                if isinstance(value, bytes | bytearray | memoryview) and not args.name:
                    raise UsageError(f"{source} holds bytes: give them a file name, e.g. --name {source}.bin.")
                name = args.name or (source if not isinstance(value, str) else None)
                local.extend(prepare(value, name=name, fmt=args.fmt, known=self.session.known_frame))
            checks.check_distinct(local)
            files = [self.session.upload_file(file) for file in local]
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
        if not prompt.strip():
            raise UsageError("The prompt is empty: write what Claude should do below %%claude_exec.")
        prompt = self._interpolate(prompt.strip())
        session = self.session
        with self._user_errors():
            turn = self._run_live(session, prompt, args)
        self._refresh_pickers()
        if args.out:
            self._user_ns[args.out] = turn

    @magic_arguments()
    @argument("action", nargs="?", default="list", choices=("list", "delete", "download"), help="What to do.")
    @argument("target", nargs="*", help="File names or ids (delete, download).")
    @argument("--all", action="store_true", help="List every file the server holds for this key.")
    @argument("--to", help="Folder for download (default: ClaudeMagics.download_dir).")
    @line_magic
    def claude_files(self, line: str) -> Any:
        """List, delete or download files on the Files API.

        Examples
        --------
        ::

            %claude_files
            %claude_files --all
            %claude_files delete sales.csv
            %claude_files download file_011CNha8iCJcU1wXNR6q4V8w --to results
        """
        args = _parse_args(self.claude_files, line)
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
        """Put the code Claude ran into a new cell below, so the analysis can be rerun locally.

        Where the frontend cannot insert cells, the code is shown to copy; ``--file`` also
        writes it as a script.
        """
        args = _parse_args(self.claude_export, line)
        with self._user_errors():
            turns = checks.chosen_turns(args.turn, self.turns)
            script = checks.script_path(args.file)
        inputs = self.session.export_inputs(Path("claude_inputs"))
        folders = {"input_dir": "claude_inputs", "output_dir": self.download_dir}
        if script is not None:
            script.parent.mkdir(parents=True, exist_ok=True)  # a missing folder is made, as for downloads
            script.write_text(export_script(turns, **folders))
        # One cell: ipykernel keeps only the last set_next_input payload and JupyterLab reads only one.
        source = export_cell(turns, **folders)
        self._shell.set_next_input(source, replace=False)
        display(render.export_bundle([source], inputs=inputs, script=args.file), raw=True)

    # Helpers

    def _run_live(self, session: Session, prompt: str, args: Any) -> Turn:
        """Run one turn, rendering each step as it arrives, in place."""
        view = _LiveView(show_code=self.show_code)
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
            )
        except KeyboardInterrupt:
            view.finish(None)
            display(
                render.notice_bundle("Interrupted: the conversation and container are as they were before this cell."),
                raw=True,
            )
            raise
        except BaseException:
            view.finish(None)
            raise
        view.finish(turn)
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

    # Recording (a local recording proxy in front of the API; the session is pointed at it)

    _recorder: RecordingProxy | None = None

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
        recorder = self._recorder
        if args.stop:
            if recorder is None:
                raise UsageError("Not recording: start with %claude_record PATH.")
            self._stop_recording()
            message = f"Stopped recording: {recorder.recorded} exchanges in {recorder.writer.folder}."
            if recorder.writer.replayed and not recorder.recorded:
                message = f"Stopped recording: the API was a replay, so {recorder.writer.folder} was left as it was."
            display(render.notice_bundle(message), raw=True)
            return
        if not args.path:
            raise UsageError("Name the cassette folder: %claude_record PATH (or %claude_record --stop).")
        if recorder is not None:
            raise UsageError(f"Already recording into {recorder.writer.folder}: run %claude_record --stop first.")
        from claude_magic.testing.recorder import RecordingProxy  # only when recording

        upstream = self.base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        try:
            self._recorder = RecordingProxy(upstream, args.path, timeout=self.timeout).start()
        except (OSError, ValueError) as exc:
            raise UsageError(f"Could not start recording: {exc}") from None
        self.session.reconnect(base_url=self._recorder.base_url, timeout=self.timeout, max_retries=self.max_retries)
        display(render.notice_bundle(f"Recording this session's API exchanges into {args.path}."), raw=True)

    def _stop_recording(self) -> None:
        """Point the session back at the API and stop the proxy."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        if self._session is not None:
            self._session.reconnect(base_url=self.base_url, timeout=self.timeout, max_retries=self.max_retries)
        recorder.stop()


class _LiveView:
    """The outputs of one running turn: one display per step, updated in place."""

    def __init__(self, *, show_code: bool) -> None:
        self._show_code = show_code
        self._started = time.monotonic()
        self._steps: dict[int, Any] = {}  # step index -> display handle
        self._files: dict[str, Any] = {}  # file id -> display handle (placeholder until downloaded)
        self._last_text_update: dict[int, float] = {}
        self._status = display(render.progress_bundle("Claude is working…"), raw=True, display_id=True)
        self.first_output_at: float | None = None

    def on_event(self, event: TurnEvent) -> None:
        if isinstance(event, Notice):
            display(render.notice_bundle(event.message), raw=True)
            return
        if isinstance(event, StepUpdate):
            self._show_step(event)
            self._status_update(len(self._steps))

    def finish(self, turn: Turn | None) -> None:
        # Outputs cannot be removed, only emptied: empty HTML renders as nothing in every frontend.
        self._status.update({"text/plain": "", "text/html": ""}, raw=True)
        if turn is not None:
            display(render.turn_footer_bundle(turn), raw=True)

    def _show_step(self, event: StepUpdate) -> None:
        now = time.monotonic()
        handle = self._steps.get(event.index)
        if handle is None and isinstance(event.step, TextStep) and not event.step.text.strip():
            return  # no empty placeholder: the display is created with the first words
        if (
            handle is not None
            and not event.done
            and event.step.kind == "text"
            and now - self._last_text_update.get(event.index, 0.0) < _TEXT_REFRESH_SECONDS
        ):
            return  # coalesce streaming text updates
        bundle = render.step_bundle(event.step, show_code=self._show_code)
        if handle is None:
            self._steps[event.index] = display(bundle, raw=True, display_id=True)
            if self.first_output_at is None:
                self.first_output_at = now
        else:
            handle.update(bundle, raw=True)
        self._last_text_update[event.index] = now
        self._show_files(event.step)

    def _show_files(self, step: Step) -> None:
        if not isinstance(step, CodeStep | EditStep) or step.result is None:
            return
        done = {file.file_id: file for file in step.result.files}
        for file_id in step.result.file_ids:
            handle = self._files.get(file_id)
            file = done.get(file_id)
            if file is not None:
                bundle = render.file_bundle(file)
                if handle is None:
                    self._files[file_id] = display(bundle, raw=True, display_id=True)
                else:
                    handle.update(bundle, raw=True)
            elif handle is None:  # keep the file's place in the output order until it is downloaded
                self._files[file_id] = display(
                    render.progress_bundle(f"Downloading {file_id}…"), raw=True, display_id=True
                )

    def _status_update(self, steps: int) -> None:
        elapsed = time.monotonic() - self._started
        counted = f"{steps} step" if steps == 1 else f"{steps} steps"
        self._status.update(render.progress_bundle(f"Claude is working… {counted}, {elapsed:.0f} s"), raw=True)


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
    return {option: action.nargs != 0 for option, action in actions.items()}


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
