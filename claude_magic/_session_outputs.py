"""The produced-files half of ``Session``: the gallery of what turns made, pruning it, downloads.

A mixin: ``Session._commit`` calls ``_note_produced`` with each finished turn, and the session
gains ``produced_files()``, ``prune_outputs()``, ``download()`` and ``remote_files()``.
Stdlib and our own modules only; the SDK is reached through ``_client``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from claude_magic import _downloads as downloads
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import OutputFile, ProducedFile, RemoteFile, Turn

if TYPE_CHECKING:
    from claude_magic._client import ApiClient


class OutputsMixin:
    """Files Claude's code produced, kept across resets, and the server's copies of them (see ``Session``)."""

    # Provided by Session.
    download_dir: Path
    _lock: threading.RLock
    _produced: list[ProducedFile]  # every file a turn brought back, kept across resets
    _turn_number: int

    @property
    def client(self) -> ApiClient:  # pragma: no cover - Session's
        raise NotImplementedError

    def remote_files(self) -> list[RemoteFile]:
        """Every file the server holds for this key, newest first."""
        return self.client.list_files()

    def download(self, file_id: str, folder: str | os.PathLike[str] | None = None) -> OutputFile:
        """Download one sandbox-produced file into *folder* (default: ``download_dir``)."""
        fetcher = downloads.Downloader(self.client, Path(folder) if folder is not None else self.download_dir)
        try:
            file = fetcher.fetch(file_id)
        finally:
            fetcher.close()
        if file.error is not None:
            raise ClaudeMagicError(
                f"Could not download {file_id}: {file.error}. Only files Claude's code produced can be downloaded."
            )
        return file

    def produced_files(self) -> tuple[ProducedFile, ...]:
        """Every file Claude's code produced in this session, oldest first, with its turn (resets included)."""
        with self._lock:
            return tuple(self._produced)

    def prune_outputs(self, file_ids: Iterable[str] | None = None) -> tuple[ProducedFile, ...]:
        """Delete produced files from the server (they count against the organisation's storage).

        Only files still on the server are deleted (all, or those in *file_ids*); the local copies
        stay. Returns the files deleted now.
        """
        wanted = set(file_ids) if file_ids is not None else None
        with self._lock:
            chosen = [
                item for item in self._produced
                if not item.deleted and (wanted is None or item.file.file_id in wanted)
            ]  # fmt: skip
        for item in chosen:
            self.client.delete(item.file.file_id)
        done = {item.file.file_id for item in chosen}
        with self._lock:
            self._produced = [
                replace(item, deleted=True) if item.file.file_id in done else item for item in self._produced
            ]
        return tuple(replace(item, deleted=True) for item in chosen)

    def _note_produced(self, turn: Turn) -> None:
        """Number the committed *turn* and add its files to the gallery (called under the session's lock)."""
        self._turn_number += 1
        self._produced.extend(
            ProducedFile(_light(file), self._turn_number) for file in turn.files if file.error is None
        )


def _light(file: OutputFile) -> OutputFile:
    """*file* without its bytes when it is saved on disk (the gallery reads thumbnails from there)."""
    return replace(file, data=None) if file.path is not None else file
