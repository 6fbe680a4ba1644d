"""Saving files the sandbox produced: safe local names, never outside the folder, never overwriting.

Stdlib only. The names come from the server and are untrusted.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
import threading
import unicodedata
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from claude_magic.results import OutputFile, RemoteFile

log = logging.getLogger("claude_magic")

_MAX_NAME_BYTES = 200  # well under the 255-byte limit of common filesystems, leaving room for " (12)"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # control, format, surrogate, private, unassigned
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def without_invisible(text: str) -> str:
    """*text* without control, format (bidi overrides, zero-width) and line-separator characters.

    A right-to-left override (U+202E) makes ``x\u202egnp.exe`` display as ``xexe.png``; such
    characters have no place in a file name.
    """
    return "".join(char for char in text if unicodedata.category(char) not in _INVISIBLE)


def safe_filename(name: str, fallback: str = "file") -> str:
    """A local file name made from an untrusted one: a bare, printable name that stays in its folder.

    Keeps only the last path component, drops control, format (bidi) and reserved characters,
    leading dots and spaces, and shortens long names while keeping the extension.
    """
    text = without_invisible(unicodedata.normalize("NFC", name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    if not text or set(text) <= {"_", ".", " "}:
        text = fallback
    stem, dot, suffix = text.rpartition(".")
    if not dot or not stem:
        stem, suffix = text, ""
    suffix = suffix[:16]
    if stem.lower() in _RESERVED:
        stem = f"_{stem}"
    while len(f"{stem}.{suffix}".encode() if suffix else stem.encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return f"{stem}.{suffix}" if suffix else stem


def write_new_file(folder: Path, name: str, data: bytes) -> Path:
    """Write *data* under a safe form of *name* in *folder*; an existing file gets a numbered sibling.

    Uses exclusive creation, so an existing file is never overwritten, even by a concurrent writer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    safe = safe_filename(name)
    stem, dot, suffix = safe.rpartition(".")
    if not dot or not stem:
        stem, suffix = safe, ""
    for number in range(10_000):
        candidate = safe if number == 0 else (f"{stem} ({number}).{suffix}" if suffix else f"{stem} ({number})")
        path = root / candidate
        if path.parent != root or candidate in (".", ".."):  # belt and braces: safe_filename prevents this
            raise ValueError(f"refusing to write outside {root}: {name!r}")
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        return path
    raise FileExistsError(f"too many files named like {safe!r} in {root}")


class FileSource(Protocol):
    """What the downloader needs of the API client."""

    def metadata(self, file_id: str) -> RemoteFile | None: ...

    def download(self, file_id: str) -> bytes: ...


class Downloader:
    """Fetches the files a turn produced on a bounded pool; a failure is that file's error, never the turn's.

    ``cancel()`` (on an interrupt) drops queued downloads and guarantees no file is written
    after it returns: workers write under the same lock and check the flag first.
    """

    def __init__(self, source: FileSource, folder: Path, *, workers: int = 8) -> None:
        self._source = source
        self._folder = folder
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="claude-magic-download")
        self._write_lock = threading.Lock()
        self._cancelled = False
        self._futures: list[Future[OutputFile]] = []

    def submit(self, file_id: str) -> Future[OutputFile]:
        """Start fetching *file_id*."""
        future = self._pool.submit(self.fetch, file_id)
        self._futures.append(future)
        return future

    def fetch(self, file_id: str) -> OutputFile:
        """Download one file into the folder; any failure becomes the returned file's ``error``."""
        try:
            meta = self._source.metadata(file_id)
            if meta is None:
                return _failed(file_id, "the server no longer has it")
            data = self._source.download(file_id)
            name = safe_filename(meta.filename, fallback=file_id)
            media_type = meta.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            with self._write_lock:
                if self._cancelled:
                    return _failed(file_id, "interrupted before it was saved")
                path = write_new_file(self._folder, name, data)
        except OSError as exc:
            return _failed(file_id, f"could not save it in {self._folder}: {exc.strerror or exc}")
        except Exception as exc:  # any other failure (the API, the connection) is this file's, not the turn's
            log.debug("download of %s failed", file_id, exc_info=True)
            return _failed(file_id, str(exc) or type(exc).__name__)
        keep = data if media_type.startswith("image/") else None
        digest = hashlib.sha256(data).hexdigest()
        return OutputFile(file_id, path.name, media_type, len(data), path=path, data=keep, sha256=digest)

    def cancel(self) -> None:
        """Drop queued downloads; after this returns, nothing more is written."""
        with self._write_lock:
            self._cancelled = True
        for future in self._futures:
            future.cancel()

    def close(self) -> None:
        """Release the worker threads (running downloads finish without writing if cancelled)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _failed(file_id: str, reason: str) -> OutputFile:
    return OutputFile(file_id, file_id, "application/octet-stream", 0, error=reason)
