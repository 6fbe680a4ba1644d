"""The conversation magics: ``%claude_usage``, ``%claude_history``, ``%claude_compact`` and ``%claude_map``.

Part of the IPython adapter: options are parsed with ``magic_arguments``, the work is the
``Session``'s, and what it returns goes to ``display`` as the renderer's mimebundles. The
settings and the session belong to ``ClaudeMagics``, which registers this family.
"""

from __future__ import annotations

from typing import Any, Literal

from IPython.core.error import UsageError
from IPython.core.magic import line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from claude_magic import _history_view as history_view
from claude_magic import _render as render
from claude_magic._magics_args import MagicsFamily, parse_args


@magics_class
class ClaudeSessionMagics(MagicsFamily):
    """The conversation as a whole: its usage and history, compaction, and one prompt mapped over many inputs."""

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
        args = parse_args(self.claude_history, line)
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
            args = parse_args(self.claude_map, line)
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
