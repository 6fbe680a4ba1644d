"""Turn what a user hands us (a DataFrame, a path, a glob, bytes) into files ready to upload.

Stdlib only at import time: pandas is never imported here; DataFrames are recognised by
their methods and serialised with their own ``to_parquet`` / ``to_csv``.
"""

from __future__ import annotations

import glob
import hashlib
import io
import mimetypes
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from claude_magic.errors import ClaudeMagicError, FileTooLargeError, LocalFileNotFoundError

MAX_UPLOAD_BYTES = 500 * 1024 * 1024  # the Files API's per-file limit
_CHUNK = 1024 * 1024
_EXTRA_TYPES = {".parquet": "application/vnd.apache.parquet", ".md": "text/markdown", ".jsonl": "application/jsonl"}

DataFrameFormat = Literal["parquet", "csv"]


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
        matches = [m for m in matches if Path(m).is_file()]
        if not matches:
            raise LocalFileNotFoundError(os.fspath(pattern))
        for match in matches:
            resolved = Path(match).resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(from_path(match))
    return files


def is_dataframe(value: object) -> bool:
    """Whether *value* looks like a pandas DataFrame (without importing pandas)."""
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_parquet") and hasattr(value, "dtypes")


def from_dataframe(frame: Any, name: str = "data", fmt: DataFrameFormat = "parquet") -> LocalFile:
    """A DataFrame serialised as Parquet (default; the sandbox has pyarrow) or CSV."""
    stem = Path(name).stem if Path(name).suffix in (".parquet", ".csv") else name
    if Path(name).suffix == ".csv":
        fmt = "csv"
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer)
    elif fmt == "csv":
        buffer.write(frame.to_csv(index=False).encode())
    else:
        raise ClaudeMagicError(f"Unknown format {fmt!r}: use parquet or csv.")
    return from_bytes(f"{stem}.{fmt}", buffer.getvalue(), description=describe_dataframe(frame))


def describe_dataframe(frame: Any, max_columns: int = 80) -> str:
    """Shape, column names and dtypes: what Claude needs to read the file without guessing."""
    rows, cols = frame.shape
    pairs = [f"{column} ({dtype})" for column, dtype in frame.dtypes.items()]
    listed = ", ".join(pairs[:max_columns])
    more = f", … and {len(pairs) - max_columns} more" if len(pairs) > max_columns else ""
    return f"DataFrame, {rows:,} rows × {cols} columns: {listed}{more}"


def prepare(value: Any, *, name: str | None = None, fmt: DataFrameFormat | None = None) -> list[LocalFile]:
    """Whatever the user gave, as files: a DataFrame, a path or glob, a list of them, or (name, bytes)."""
    if isinstance(value, LocalFile):
        return [value]
    if is_dataframe(value):
        return [from_dataframe(value, name or "data", fmt or "parquet")]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes | bytearray | memoryview):
        return [from_bytes(str(value[0]), bytes(value[1]))]
    if isinstance(value, bytes | bytearray | memoryview):
        if not name:
            raise ClaudeMagicError("Bytes need a file name: pass name='data.bin'.")
        return [from_bytes(name, bytes(value))]
    if isinstance(value, str | os.PathLike):
        files = from_patterns([value])
        if name and len(files) == 1:
            return [from_path(files[0].path or value, name=name)]
        return files
    if isinstance(value, Sequence):
        return [file for item in value for file in prepare(item, fmt=fmt)]
    raise ClaudeMagicError(
        f"Cannot upload a {type(value).__name__}: give a DataFrame, a path or glob, a list of paths, or (name, bytes)."
    )


def _check_size(name: str, size: int) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise FileTooLargeError(name, size, MAX_UPLOAD_BYTES)


def _checked_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip()
    if not base or base in (".", ".."):
        raise ClaudeMagicError(f"{name!r} is not a usable file name: give a name like data.csv.")
    return base
