"""The upload registry: which bytes were already uploaded, so the same bytes are never sent twice.

A small JSON manifest on disk, one per API key fingerprint and base URL (never the key itself),
so it survives a kernel restart. Stdlib only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from claude_magic.results import UploadedFile

_VERSION = 1


def default_cache_dir() -> Path:
    """``$CLAUDE_MAGIC_CACHE_DIR``, else the user's cache folder."""
    configured = os.environ.get("CLAUDE_MAGIC_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "claude_magic"


class UploadRegistry:
    """Uploaded files by content hash and name, persisted to a manifest file.

    Parameters
    ----------
    folder
        Where manifests live.
    fingerprint, base_url
        Identify the account and server: files uploaded with one key are invisible to another.
    """

    def __init__(self, folder: Path, *, fingerprint: str, base_url: str) -> None:
        scope = hashlib.sha256(f"{fingerprint}|{base_url}".encode()).hexdigest()[:20]
        self.path = folder / f"uploads-{scope}.json"
        self._lock = threading.Lock()
        self._entries: dict[str, UploadedFile] = self._load()

    @staticmethod
    def key(sha256: str, name: str) -> str:
        """Same bytes under the same name: the container sees them as the same file."""
        return f"{sha256}:{name}"

    def get(self, sha256: str, name: str) -> UploadedFile | None:
        """The upload of these bytes under this name, if any."""
        return self._entries.get(self.key(sha256, name))

    def by_file_id(self, file_id: str) -> UploadedFile | None:
        """The entry for a file id, if any."""
        return next((entry for entry in self._entries.values() if entry.file_id == file_id), None)

    def put(self, entry: UploadedFile) -> None:
        """Record an upload and save the manifest."""
        with self._lock:
            self._entries[self.key(entry.sha256, entry.name)] = entry
            self._save()

    def remove(self, file_id: str) -> UploadedFile | None:
        """Forget a file id (deleted or gone on the server) and save."""
        with self._lock:
            for key, entry in list(self._entries.items()):
                if entry.file_id == file_id:
                    del self._entries[key]
                    self._save()
                    return entry
        return None

    def __iter__(self) -> Iterator[UploadedFile]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def _load(self) -> dict[str, UploadedFile]:
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(raw, dict) or raw.get("version") != _VERSION:
            return {}
        entries: dict[str, UploadedFile] = {}
        for item in raw.get("files", []):
            try:
                entry = UploadedFile(**{**item, "reused": False})
            except TypeError:
                continue  # written by another version: skip, it will be uploaded again
            entries[self.key(entry.sha256, entry.name)] = entry
        return entries

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": _VERSION, "files": [asdict(entry) for entry in self._entries.values()]}
        # Write then rename, so a crash never leaves half a manifest.
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".uploads-", suffix=".json")
        with os.fdopen(handle, "w") as stream:
            json.dump(payload, stream, indent=1)
        os.replace(temp, self.path)
