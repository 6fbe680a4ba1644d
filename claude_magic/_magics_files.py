"""The file magics: ``%claude_upload``, ``%claude_files``, ``%claude_export``, ``%claude_record``, ``%claude_skills``.

Part of the IPython adapter: options are parsed with ``magic_arguments``, the work is the
``Session``'s, and what it returns goes to ``display`` as the renderer's mimebundles. The
settings and the session belong to ``ClaudeMagics``, which registers this family.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from claude_magic import _data_safety as safety
from claude_magic import _magic_input as checks
from claude_magic import _render as render
from claude_magic._export import export_cell, export_script
from claude_magic._local_files import is_dataframe, prepare
from claude_magic._magics_args import MagicsFamily, parse_args
from claude_magic._provenance import write_export_manifest
from claude_magic.results import UploadBatch


@magics_class
class ClaudeFileMagics(MagicsFamily):
    """Files in and out: uploads, the Files API, exported code, recorded cassettes and Agent Skills."""

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
        args = parse_args(self.claude_upload, line)
        if args.widget and args.sources:
            raise UsageError("--widget shows a picker: give either sources or --widget, not both.")
        if args.widget:
            return self._owner.new_picker()
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
            if self._owner.confirm_upload_over and total > self._owner.confirm_upload_over and not args.yes:
                reason = (
                    f"Not sent: {total:,} bytes is over ClaudeMagics.confirm_upload_over "
                    f"({self._owner.confirm_upload_over:,}). Check what would be sent below, then run again with --yes."
                )
                return safety.dry_run(list(zip(local, frames, strict=True)), reason)
            files = [self.session.upload_file(file) for file in local]
        if options.pseudonymize:
            self._user_ns["claude_pseudonyms"] = self.session.pseudonyms
        self._owner.refresh_pickers()
        return UploadBatch(tuple(files))

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
        args = parse_args(self.claude_files, line)
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
                self._owner.refresh_pickers()
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
        args = parse_args(self.claude_export, line)
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
        args = parse_args(self.claude_skills, line)
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
        args = parse_args(self.claude_record, line)
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

    def _resolve_source(self, source: str) -> Any:
        namespace = self._user_ns
        if source.isidentifier() and source in namespace:
            return namespace[source]
        if source.isidentifier() and not Path(source).exists():
            raise UsageError(f"No variable or file named {source!r}: define it, or give a path or glob.")
        return source
