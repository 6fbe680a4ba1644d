"""What a map runs over: the inputs as named files, and the prompt filled in for each.

Stdlib only (pandas is never imported: DataFrames are recognised by their methods). Every check
runs before anything is uploaded, so a bad input leaves nothing half done.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_magic._downloads import safe_filename
from claude_magic._local_files import DataFrameFormat, LocalFile, from_dataframe, from_path, is_dataframe
from claude_magic.errors import ClaudeMagicError

MAX_BATCH_REQUESTS = 100_000  # documented limit of one Message Batch (api-spec §13)
TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
ITEM = "item"  # {{item}} is the input's name


@dataclass(frozen=True, slots=True)
class MapInput:
    """One input of a map: its name (``{{item}}``, the output folder) and the file uploaded for it."""

    name: str
    file: LocalFile


def resolve(value: Any, *, fmt: DataFrameFormat | None = None) -> list[MapInput]:
    """The inputs *value* names, each checked (exists, size) and named, in a stable order.

    *value* is a glob or path, a list of paths, globs or DataFrames, a DataFrame, or a dict
    name → DataFrame or path. Paths are named by their file name, dict entries by their key,
    DataFrames in a list ``data_0``, ``data_1``, ….
    """
    inputs = _resolve(value, fmt)
    if not inputs:
        raise ClaudeMagicError("No inputs to map over: give a glob, a list of paths or DataFrames, or a dict.")
    names = [item.name for item in inputs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ClaudeMagicError(
            f"Several inputs are named {', '.join(repeated[:3])}: give each its own name (a dict name → input)."
        )
    if len(inputs) > MAX_BATCH_REQUESTS:
        raise ClaudeMagicError(
            f"{len(inputs):,} inputs are more than one Message Batch holds ({MAX_BATCH_REQUESTS:,}): split them."
        )
    return inputs


def _resolve(value: Any, fmt: DataFrameFormat | None) -> list[MapInput]:
    if isinstance(value, str | os.PathLike):
        return [MapInput(file.name, file) for file in _matching(os.fspath(value))]
    if is_dataframe(value):
        return [MapInput("data", from_dataframe(value, "data", fmt))]
    if isinstance(value, Mapping):
        return [_named(str(key), item, fmt) for key, item in value.items()]
    if isinstance(value, Sequence):
        inputs: list[MapInput] = []
        for index, item in enumerate(value):
            if is_dataframe(item):
                inputs.append(MapInput(f"data_{index}", from_dataframe(item, f"data_{index}", fmt)))
            elif isinstance(item, str | os.PathLike):
                inputs.extend(MapInput(file.name, file) for file in _matching(os.fspath(item)))
            else:
                raise ClaudeMagicError(
                    f"Input {index} is a {type(item).__name__}: a list holds paths, globs or DataFrames."
                )
        return inputs
    raise ClaudeMagicError(
        f"Cannot map over a {type(value).__name__}: give a glob, a list of paths or DataFrames, "
        "or a dict name → DataFrame or path."
    )


def _named(name: str, item: Any, fmt: DataFrameFormat | None) -> MapInput:
    if not name.strip():
        raise ClaudeMagicError("An input's name is empty: give every dict entry a name.")
    if is_dataframe(item):  # the key names the input; the file gets a safe form of it
        return MapInput(name, from_dataframe(item, safe_filename(name, fallback="input"), fmt))
    if isinstance(item, str | os.PathLike):
        files = _matching(os.fspath(item))
        if len(files) != 1:
            raise ClaudeMagicError(f"{name!r} names {len(files)} files ({os.fspath(item)!r}): give one file per name.")
        return MapInput(name, files[0])
    raise ClaudeMagicError(f"{name!r} is a {type(item).__name__}: a dict maps names to DataFrames or paths.")


def _matching(pattern: str) -> list[LocalFile]:
    text = os.path.expanduser(pattern)
    if glob.has_magic(text):
        matches = [match for match in sorted(glob.glob(text, recursive=True)) if Path(match).is_file()]
        if not matches:
            raise ClaudeMagicError(
                f"No inputs match {pattern!r}: check the glob (relative to the kernel's working directory)."
            )
        return [from_path(match) for match in matches]
    if Path(text).is_dir():
        folder = pattern.rstrip("/\\")
        raise ClaudeMagicError(f"{pattern!r} is a folder: map over the files in it with a glob, e.g. '{folder}/*'.")
    return [from_path(text)]


def fill(template: str, lookup: Callable[[str], Any], *, keep: Sequence[str] = (ITEM,)) -> str:
    """*template* with each ``{{name}}`` / ``{{name.attr}}`` replaced by ``str(lookup(name))``.

    Names in *keep* are left for later (``{{item}}`` is filled per input). *lookup* raises
    ``KeyError`` for an unknown name, which becomes a message saying so.
    """

    def value_of(match: re.Match[str]) -> str:
        head, *rest = match.group(1).split(".")
        if head in keep:
            return match.group(0)
        try:
            value = lookup(head)
        except KeyError:
            raise ClaudeMagicError(
                f"{{{{{head}}}}} in the prompt names no variable: define {head} or remove the braces."
            ) from None
        for attribute in rest:
            try:
                value = getattr(value, attribute)
            except AttributeError:
                raise ClaudeMagicError(f"{{{{{match.group(1)}}}}}: {head} has no attribute {attribute!r}.") from None
        return str(value)

    return TEMPLATE.sub(value_of, template)


def item_prompt(template: str, name: str) -> str:
    """The prompt for the input *name*: ``{{item}}`` replaced by the name."""
    return TEMPLATE.sub(lambda match: name if match.group(1) == ITEM else match.group(0), template)
