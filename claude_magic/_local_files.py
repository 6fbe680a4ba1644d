"""Turn what a user hands us (a DataFrame, a path, a glob, bytes) into files ready to upload.

Stdlib only at import time: pandas is never imported here; DataFrames are recognised by
their methods and serialised with their own ``to_parquet`` / ``to_csv``.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import mimetypes
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

from claude_magic._downloads import without_invisible
from claude_magic.errors import ClaudeMagicError, FileTooLargeError, LocalFileNotFoundError

MAX_UPLOAD_BYTES = 500 * 1024 * 1024  # the Files API's per-file limit
_CHUNK = 1024 * 1024
_EXTRA_TYPES = {".parquet": "application/vnd.apache.parquet", ".md": "text/markdown", ".jsonl": "application/jsonl"}

DataFrameFormat = Literal["parquet", "csv"]
# (fingerprint, file name) -> a file already made from a frame with that content, if one is held.
KnownFrame = Callable[[str, str], "LocalFile | None"]


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file ready to upload: its name, type, size, content hash and where its bytes are."""

    name: str
    media_type: str
    size: int
    sha256: str
    path: Path | None = None  # bytes are read from here ...
    data: bytes | None = field(default=None, repr=False)  # ... or held in memory
    description: str = ""
    fingerprint: str | None = None  # of the DataFrame it was made from (``frame_fingerprint``)

    def open(self) -> IO[bytes]:
        """A fresh binary stream of the content."""
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is None:
            raise ValueError(f"{self.name} has neither a path nor data")
        return self.path.open("rb")

    @property
    def source(self) -> str | None:
        """The local path the file can be read again from, if any."""
        return str(self.path) if self.path is not None else None


def media_type_for(name: str) -> str:
    """A MIME type guessed from a file name."""
    suffix = Path(name).suffix.lower()
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def from_bytes(name: str, data: bytes, media_type: str | None = None, description: str = "") -> LocalFile:
    """A file held in memory."""
    name = _checked_name(name)
    _check_size(name, len(data))
    return LocalFile(
        name=name,
        media_type=media_type or media_type_for(name),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        description=description,
    )


def from_path(path: str | os.PathLike[str], name: str | None = None) -> LocalFile:
    """A file on the kernel's disk (hashed by streaming, never loaded whole)."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise LocalFileNotFoundError(str(path))
    size = resolved.stat().st_size
    final_name = _checked_name(name or resolved.name)
    _check_size(final_name, size)
    digest = hashlib.sha256()
    with resolved.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return LocalFile(
        name=final_name,
        media_type=media_type_for(final_name),
        size=size,
        sha256=digest.hexdigest(),
        path=resolved.resolve(),
    )


def from_patterns(patterns: Iterable[str | os.PathLike[str]]) -> list[LocalFile]:
    """Files matching paths or globs, each matched once, in a stable order."""
    files: list[LocalFile] = []
    seen: set[Path] = set()
    for pattern in patterns:
        text = os.path.expanduser(os.fspath(pattern))
        matches = sorted(glob.glob(text, recursive=True)) if glob.has_magic(text) else [text]
        files_only = [m for m in matches if Path(m).is_file()]
        if not files_only and matches and all(Path(m).is_dir() for m in matches):
            folder = os.fspath(pattern).rstrip("/\\")
            raise ClaudeMagicError(
                f"{os.fspath(pattern)!r} is a folder: upload the files in it with a glob, e.g. '{folder}/*.csv'."
            )
        if not files_only:
            raise LocalFileNotFoundError(os.fspath(pattern))
        matches = files_only
        for match in matches:
            resolved = Path(match).resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(from_path(match))
    return files


def is_dataframe(value: object) -> bool:
    """Whether *value* looks like a pandas DataFrame (without importing pandas)."""
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_parquet") and hasattr(value, "dtypes")


def frame_fingerprint(frame: Any, fmt: str) -> str | None:
    """A hash of everything the serialised file depends on, computed without serialising.

    Row hashes of the values and the index (``pandas.util.hash_pandas_object``), the dtypes (with
    a categorical's categories), the column and index labels and names, ``attrs`` and the format.
    None when it could not vouch for the content: an object column holding anything but strings
    (``1`` and ``"1"`` hash alike there), or anything pandas cannot hash.
    """
    try:
        from pandas.api.types import infer_dtype
        from pandas.util import hash_pandas_object

        digest = hashlib.sha256(fmt.encode())
        for position, (column, dtype) in enumerate(frame.dtypes.items()):
            values = frame.iloc[:, position]
            if str(dtype) == "object" and infer_dtype(values, skipna=False) not in ("string", "empty"):
                return None
            digest.update(repr((column, str(dtype), getattr(dtype, "ordered", None))).encode())
            if hasattr(dtype, "categories"):
                digest.update(hash_pandas_object(dtype.categories, index=False).to_numpy().tobytes())
        index = frame.index
        labels = (list(frame.columns), frame.columns.names, str(frame.columns.dtype), index.names, str(index.dtype))
        digest.update(json.dumps(labels, default=repr).encode())
        digest.update(json.dumps(frame.attrs, default=repr, sort_keys=True).encode())
        if str(index.dtype) == "object" and infer_dtype(index, skipna=False) not in ("string", "empty"):
            return None
        digest.update(hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return digest.hexdigest()
    except (TypeError, ValueError, AttributeError, ImportError):
        return None


def from_dataframe(
    frame: Any, name: str = "data", fmt: DataFrameFormat | None = None, *, known: KnownFrame | None = None
) -> LocalFile:
    """A DataFrame serialised as Parquet (default; the sandbox has pyarrow) or CSV.

    A name ending in ``.parquet`` or ``.csv`` chooses the format. A DataFrame Parquet cannot store
    faithfully (duplicate or non-string column names, MultiIndex columns, an object column mixing
    types) is refused with what fails and the way out (``fmt="csv"``), never silently converted.
    *known* maps a frame's fingerprint and file name to a file already made from the same content:
    an unchanged frame is then not serialised again.
    """
    suffix = Path(name).suffix.lower()
    named: DataFrameFormat | None = "parquet" if suffix == ".parquet" else "csv" if suffix == ".csv" else None
    if fmt is not None and named is not None and fmt != named:
        raise ClaudeMagicError(f"The name {name!r} says {named} but the format asked for is {fmt}: pick one.")
    fmt = fmt or named or "parquet"
    stem = Path(name).stem if named is not None else name
    fingerprint = frame_fingerprint(frame, fmt) if fmt in ("parquet", "csv") else None
    if known is not None and fingerprint is not None:
        held = known(fingerprint, f"{stem}.{fmt}")
        if held is not None:
            return replace(held, description=describe_dataframe(frame), fingerprint=fingerprint)
    buffer = io.BytesIO()
    if fmt == "parquet":
        _check_parquet_columns(frame, stem)
        try:
            frame.to_parquet(buffer)
        except ImportError:
            raise ClaudeMagicError(
                "Writing Parquet needs pyarrow in the kernel: pip install pyarrow, or upload with --format csv."
            ) from None
        except (ValueError, TypeError, NotImplementedError) as exc:  # pyarrow's errors derive from these
            raise ClaudeMagicError(
                f"Parquet cannot store {stem}: {_parquet_problem(frame, exc)}; upload it with --format csv "
                "(fmt='csv'), or convert that column."
            ) from None
    elif fmt == "csv":
        buffer.write(frame.to_csv(index=False).encode())
    else:
        raise ClaudeMagicError(f"Unknown format {fmt!r}: use parquet or csv.")
    made = from_bytes(f"{stem}.{fmt}", buffer.getvalue(), description=describe_dataframe(frame))
    return replace(made, fingerprint=fingerprint)


def _check_parquet_columns(frame: Any, stem: str) -> None:
    """Refuse column labels Parquet would change or reject: it stores unique strings only."""
    labels = list(frame.columns)
    problem = ""
    if getattr(frame.columns, "nlevels", 1) > 1:
        problem = "its columns are a MultiIndex (Parquet stores one string per column)"
    elif len(set(labels)) != len(labels):
        repeated = sorted({str(label) for label in labels if labels.count(label) > 1})
        problem = f"column names repeat ({', '.join(repeated[:5])})"
    elif not all(isinstance(label, str) for label in labels):
        others = [label for label in labels if not isinstance(label, str)]
        kinds = sorted({type(label).__name__ for label in others})
        problem = f"column names must be strings, not {'/'.join(kinds)} (e.g. {others[0]!r})"
    if problem:
        raise ClaudeMagicError(
            f"Parquet cannot store {stem}: {problem}; upload it with --format csv (fmt='csv'), "
            "or rename the columns (e.g. df.columns = [str(c) for c in df.columns])."
        )


def _parquet_problem(frame: Any, exc: BaseException) -> str:
    """What pyarrow refused, in words: the first object column holding several types, else its message."""
    for column in frame.columns:
        values = frame[column]
        if str(values.dtype) != "object":
            continue
        kinds = sorted({type(value).__name__ for value in values.dropna()})
        if len(kinds) > 1:
            return f"column {column!r} mixes {' and '.join(kinds[:4])} values"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first[:200]


def describe_dataframe(frame: Any, max_columns: int = 80) -> str:
    """Shape, column names and dtypes: what Claude needs to read the file without guessing."""
    rows, cols = frame.shape
    pairs = [f"{column} ({dtype})" for column, dtype in frame.dtypes.items()]
    listed = ", ".join(pairs[:max_columns])
    more = f", … and {len(pairs) - max_columns} more" if len(pairs) > max_columns else ""
    return f"DataFrame, {rows:,} rows × {cols} columns: {listed}{more}"


def prepare(
    value: Any, *, name: str | None = None, fmt: DataFrameFormat | None = None, known: KnownFrame | None = None
) -> list[LocalFile]:
    """Whatever the user gave, as files: a DataFrame, a path or glob, a list or dict of them, or (name, bytes).

    DataFrames in a list are named ``<name>_0``, ``<name>_1``, … (``data_0`` … without a name) and
    those in a dict by their keys. Different bytes under one name are refused: the second file
    would replace the first. *known* lets unchanged DataFrames skip serialising (``from_dataframe``).
    """
    files = _prepare(value, name=name, fmt=fmt, known=known)
    contents: dict[str, set[str]] = {}
    for file in files:
        contents.setdefault(file.name, set()).add(file.sha256)
    repeated = sorted(file_name for file_name, hashes in contents.items() if len(hashes) > 1)
    if repeated:
        raise ClaudeMagicError(
            f"Several files would be uploaded as {', '.join(repeated[:3])}, each replacing the one before: "
            "give each a different name (upload them one at a time with --name)."
        )
    return files


def _prepare(
    value: Any, *, name: str | None, fmt: DataFrameFormat | None, known: KnownFrame | None = None
) -> list[LocalFile]:
    if isinstance(value, LocalFile):
        return [value]
    if is_dataframe(value):
        return [from_dataframe(value, name or "data", fmt, known=known)]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes | bytearray | memoryview):
        return [from_bytes(str(value[0]), bytes(value[1]))]
    if isinstance(value, bytes | bytearray | memoryview):
        if not name:
            raise ClaudeMagicError("Bytes need a file name: pass name='data.bin'.")
        return [from_bytes(name, bytes(value))]
    if isinstance(value, str | os.PathLike):
        files = from_patterns([value])
        if name and len(files) != 1:
            raise ClaudeMagicError(f"A name needs exactly one file, but {os.fspath(value)!r} matches {len(files)}.")
        if name:
            return [from_path(files[0].path or value, name=name)]
        return files
    if isinstance(value, Mapping):
        if not value:
            raise ClaudeMagicError("The dict is empty: nothing to upload.")
        return [
            file
            for key, item in value.items()
            for file in _prepare(item, name=str(key) if _nameless(item) else None, fmt=fmt, known=known)
        ]
    if isinstance(value, Sequence):
        if not value:
            raise ClaudeMagicError("The list is empty: nothing to upload.")
        return [
            file
            for index, item in enumerate(value)
            for file in _prepare(
                item, name=_numbered(name or "data", index) if is_dataframe(item) else None, fmt=fmt, known=known
            )
        ]
    hint = " (a Series: upload series.to_frame())" if hasattr(value, "to_frame") else ""
    raise ClaudeMagicError(
        f"Cannot upload a {type(value).__name__}{hint}: give a DataFrame, a path or glob, a list of paths, "
        "or (name, bytes)."
    )


def _nameless(item: object) -> bool:
    """Values that carry no file name of their own, so a dict key names them."""
    return is_dataframe(item) or isinstance(item, bytes | bytearray | memoryview)


def _numbered(name: str, index: int) -> str:
    """``frames`` -> ``frames_0``; ``frames.csv`` -> ``frames_0.csv``."""
    path = Path(name)
    if path.suffix.lower() in (".parquet", ".csv"):
        return f"{path.stem}_{index}{path.suffix}"
    return f"{name}_{index}"


def _check_size(name: str, size: int) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise FileTooLargeError(name, size, MAX_UPLOAD_BYTES)


def _checked_name(name: str) -> str:
    base = without_invisible(os.path.basename(name.replace("\\", "/"))).strip()
    if not base or base in (".", ".."):
        raise ClaudeMagicError(f"{name!r} is not a usable file name: give a name like data.csv.")
    return base
