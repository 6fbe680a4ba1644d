"""The files half of ``Session``: uploading, choosing, finding, deleting and exporting its uploads.

A mixin over ``_uploads.UploadManager`` (which does the uploading and keeps the registry). The
state these methods change (``_uploads``, ``_pending``) is ``Session``'s, which attaches the
pending files with the next turn and commits what the turn did with them. Stdlib and our own
modules only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_magic import _downloads as downloads
from claude_magic._defaults import MAX_EXPIRES_IN, MIN_EXPIRES_IN
from claude_magic._local_files import DataFrameFormat, LocalFile, prepare
from claude_magic.errors import ClaudeMagicError, UnknownFileError
from claude_magic.results import ContainerInfo, UploadBatch, UploadedFile

if TYPE_CHECKING:
    from claude_magic._uploads import UploadManager


class FilesMixin:
    """This session's uploaded files (see ``Session``)."""

    # Provided by Session.
    _lock: threading.RLock
    _files: UploadManager
    _container: ContainerInfo | None
    _uploads: dict[str, UploadedFile]  # file_id -> file, in upload order
    _pending: dict[str, UploadedFile]  # to attach with the next turn

    @property
    def expires_in_seconds(self) -> int | None:
        """Seconds after which the server deletes new uploads; None: kept until deleted."""
        return self._files.expires_in_seconds

    @expires_in_seconds.setter
    def expires_in_seconds(self, value: int | None) -> None:
        if value is not None and not MIN_EXPIRES_IN <= value <= MAX_EXPIRES_IN:
            raise ClaudeMagicError(
                f"expires_in_seconds must be between {MIN_EXPIRES_IN} (one hour) and {MAX_EXPIRES_IN} "
                f"(ninety days), not {value}."
            )
        self._files.expires_in_seconds = value

    def upload(self, value: Any, *, name: str | None = None, fmt: DataFrameFormat | None = None) -> UploadBatch:
        """Upload a DataFrame, path, glob, list of paths or (name, bytes); bytes already sent are reused.

        Files are checked (size, existence) before anything is sent; the next turn attaches them.
        """
        prepared = prepare(value, name=name, fmt=fmt, known=self.known_frame)
        return UploadBatch(tuple(self.upload_file(local) for local in prepared))

    def known_frame(self, fingerprint: str, name: str) -> LocalFile | None:
        """A file this session made from a DataFrame with the same content, so it is not serialised again."""
        return self._files.known_frame(fingerprint, name)

    def upload_file(self, local: LocalFile) -> UploadedFile:
        """Upload one prepared file unless the server already holds the same bytes under the same name."""
        entry = self._files.upload(local)
        with self._lock:
            already_attached = entry.file_id in self._uploads and entry.file_id not in self._pending
            # Same name, new bytes: the new upload replaces the old one in this session.
            for file_id, other in list(self._uploads.items()):
                if other.name == entry.name and file_id != entry.file_id:
                    del self._uploads[file_id]
                    self._pending.pop(file_id, None)
                    self._files.release(other)
            self._uploads[entry.file_id] = entry
            if not already_attached or self._container is None:
                self._pending[entry.file_id] = entry
        return entry

    def attach(self, names: Iterable[str]) -> None:
        """Choose exactly which of this session's files the next turn attaches (by name or file id)."""
        chosen = [self._lookup(name) for name in names]
        with self._lock:
            self._pending = {entry.file_id: entry for entry in chosen}

    def find(self, name_or_id: str) -> UploadedFile:
        """An uploaded file by name or file id (this session's first, then the registry's)."""
        try:
            return self._lookup(name_or_id)
        except UnknownFileError:
            found = self._files.find(name_or_id)
            if found is None:
                raise
            return found

    def delete(self, name_or_id: str) -> UploadedFile:
        """Delete an uploaded file from the server, the registry and this session.

        The container keeps the copy it already has; later turns never refer to the deleted id.
        """
        entry = self.find(name_or_id)
        self._files.delete(entry)
        with self._lock:
            self._uploads.pop(entry.file_id, None)
            self._pending.pop(entry.file_id, None)
        return entry

    def export_inputs(self, folder: Path) -> list[Path]:
        """Copy this session's uploaded files into *folder*, so exported code can run locally."""
        written: list[Path] = []
        for entry in self._uploads.values():
            source = self._files.source(entry)
            if source is None:
                continue
            target = folder / downloads.safe_filename(entry.name)
            folder.mkdir(parents=True, exist_ok=True)
            with source.open() as stream:
                target.write_bytes(stream.read())
            written.append(target)
        return written

    def _lookup(self, name_or_id: str) -> UploadedFile:
        for entry in reversed(self._uploads.values()):
            if name_or_id in (entry.name, entry.file_id):
                return entry
        raise UnknownFileError(name_or_id, known=[entry.name for entry in self._uploads.values()])
