"""Checking what a user typed into a magic, before anything is sent or changed.

Stdlib only, no IPython: each check raises ``InputError``, which the magics show as a one-line
``UsageError``. Checks run before the first request, so a mistake leaves the session as it was.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from claude_magic._format import plural
from claude_magic._local_files import LocalFile, is_dataframe
from claude_magic.results import Turn, UploadedFile

_TOKEN = re.compile(r"""(?:"[^"]*"|'[^']*'|\S)+""")  # a word, where quotes may hold spaces
_LONG_OPTION = re.compile(r"--[A-Za-z][\w-]*")


class InputError(Exception):
    """A mistake in what was typed; the message says what to do instead."""


def split_options(line: str, known: Mapping[str, bool]) -> tuple[str, str]:
    """Split a line-magic call into its leading options and the prompt after them.

    *known* maps each option string to whether it takes a value. Only those are taken (with
    their values); ``--`` ends the options. The prompt starts at the first other word, so
    ``%claude_exec -1 is negative`` sends ``-1 is negative``. An unknown ``--word`` is refused
    rather than sent, as it is most likely a mistyped option.
    """
    tokens = list(_TOKEN.finditer(line))
    end = 0  # where the options end in *line*
    index = 0
    while index < len(tokens):
        token = tokens[index].group()
        if token == "--":
            return line[:end], line[tokens[index].end() :].strip()
        option = token.split("=", 1)[0]
        if option in known:
            index += 2 if known[option] and "=" not in token and index + 1 < len(tokens) else 1
            end = tokens[index - 1].end()
            continue
        if _LONG_OPTION.fullmatch(option):
            raise InputError(
                f"unrecognized arguments: {option} (a prompt that starts with '-' goes after --, "
                f"as in %claude_exec -- {token} …)"
            )
        break
    return line[:end], line[end:].strip()


def check_exec_options(args: Any, *, download_dir: str, uploads: Sequence[UploadedFile]) -> None:
    """Refuse ``%%claude_exec`` option values that would fail later, or quietly do something else."""
    if args.out is not None and (not args.out.isidentifier() or keyword.iskeyword(args.out)):
        raise InputError(f"--out needs a variable name, not {args.out!r}.")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise InputError(f"--max-tokens must be at least 1, not {args.max_tokens}.")
    for option, value in (("--model", args.model), ("--tool-version", args.tool_version)):
        if value is not None and not value.strip():
            raise InputError(f"{option} needs a value.")
    if args.outdir is not None:
        check_folder(args.outdir, "--outdir")
    else:
        check_folder(download_dir, "ClaudeMagics.download_dir")
    known = {name for entry in uploads for name in (entry.name, entry.file_id)}
    missing = [name for name in args.attach or () if name not in known]
    if missing:
        listing = ", ".join(sorted(entry.name for entry in uploads)) or "none yet"
        raise InputError(
            f"No uploaded file named {missing[0]!r} (uploaded so far: {listing}). Upload it with %claude_upload."
        )


def check_folder(folder: str, what: str) -> None:
    """Refuse a folder that cannot be made: it, or a folder above it, is an existing file."""
    if not str(folder).strip():
        raise InputError(f"{what} needs a folder.")
    path = Path(folder).expanduser()
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                where = "is a file" if candidate == path else f"is inside {candidate}, which is a file"
                raise InputError(f"{what} {folder} {where}: give a folder.")
            return


def script_path(file: str | None) -> Path | None:
    """Where ``%claude_export --file`` writes; its folder may be missing (it is made), but not a file."""
    if file is None:
        return None
    if not file.strip():
        raise InputError("--file needs a path, e.g. --file analysis.py.")
    path = Path(file).expanduser()
    if path.is_dir():
        raise InputError(f"--file {file} is a folder: give a file path, e.g. {Path(file) / 'analysis.py'}.")
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise InputError(f"--file {file} is inside {folder}, which is a file: give a path in a folder.")
            break
    return path


def chosen_turns(numbers: Sequence[int] | None, turns: Sequence[Turn]) -> list[Turn]:
    """Turns by number, 1..N: Python's negative indexing would quietly pick another turn."""
    count = len(turns)
    if not count:
        raise InputError("Nothing to export yet: run a %%claude_exec cell first.")
    wrong = [number for number in numbers or () if not 1 <= number <= count]
    if wrong:
        raise InputError(
            f"There is no turn {wrong[0]}: this session has {plural(count, 'turn')}, pick --turn between 1 and {count}."
        )
    return [turns[number - 1] for number in numbers] if numbers else list(turns)


def output_file_id(target: str, turns: Sequence[Turn], uploads: Sequence[UploadedFile]) -> str:
    """The id of a file this session's turns produced, by name (newest first) or id; else a file id as given."""
    for turn in reversed(turns):
        for file in reversed(turn.files):
            if target in (file.name, file.file_id) or (file.path is not None and target == file.path.name):
                return file.file_id
    if target.startswith("file_"):
        return target
    if any(target in (entry.name, entry.file_id) for entry in uploads):
        raise InputError(f"{target} is an upload: only files Claude's code produced can be downloaded.")
    produced = sorted({file.name for turn in turns for file in turn.files})
    listing = (", ".join(produced[:10]) + (", …" if len(produced) > 10 else "")) if produced else "none yet"
    raise InputError(
        f"No file named {target!r} was produced in this session (produced so far: {listing}); "
        "give one of those names or a file id."
    )


def holds_dataframe(value: object) -> bool:
    """Whether *value* is a DataFrame or a list or dict holding one (what ``--format`` applies to)."""
    if is_dataframe(value):
        return True
    if isinstance(value, dict):
        return any(is_dataframe(item) for item in value.values())
    return isinstance(value, list | tuple) and any(is_dataframe(item) for item in value)


def check_distinct(files: Iterable[LocalFile]) -> None:
    """One upload per name: other bytes under a name already in the batch would replace the first."""
    seen: dict[str, str] = {}
    for file in files:
        if seen.setdefault(file.name, file.sha256) != file.sha256:
            raise InputError(
                f"Two sources would both be uploaded as {file.name}, the second replacing the first: "
                "upload one of them with --name."
            )


def kernel_functions(names: str | None, namespace: Mapping[str, Any]) -> list[Any]:
    """The functions ``--tools f,g`` names, from the kernel's namespace; one-line errors for bad names."""
    found = []
    for name in (part.strip() for part in (names or "").split(",")):
        if not name:
            continue
        if name not in namespace:
            raise InputError(f"--tools: no function named {name!r} in the kernel: define it first (def {name}(...)).")
        value = namespace[name]
        if not callable(value):
            raise InputError(f"--tools: {name} is a {type(value).__name__}, not a function.")
        found.append(value)
    if names is not None and not found:
        raise InputError("--tools needs function names, e.g. --tools get_orders,lookup_fx.")
    return found
