"""Uploads: the registry, dedupe, making sure files are still on the server, and sources kept for re-upload.

Knows nothing of turns or of IPython. It talks to the Files API through ``_client.ApiClient``
(passed in as a factory, so nothing connects before it is needed) and keeps, for each file this
session uploaded, a way to send the same bytes again if the server loses them: the local path
it came from, or its bytes. Bytes are held in memory up to ``memory_limit`` (least recently used
first out) and the rest on disk under ``<cache_dir>/sources/``; both are released when the file is
deleted or replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from claude_magic._client import ApiClient
from claude_magic._local_files import LocalFile, from_path
from claude_magic._registry import UploadRegistry
from claude_magic.results import UploadedFile

DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking a list of files against the server found."""

    live: tuple[UploadedFile, ...]  # on the server now (some just uploaded again)
    replaced: tuple[tuple[str, UploadedFile], ...]  # (old file id, its re-upload)
    dropped: tuple[UploadedFile, ...]  # gone, and no source to send again
    notices: tuple[str, ...]


class UploadManager:
    """Uploads files once, remembers them across kernels, and re-sends them when the server lost them.

    Parameters
    ----------
    client
        Returns the API client (created on first use).
    cache_dir
        Holds the registry database and the spilled sources.
    memory_limit
        Bytes of in-memory sources (e.g. serialised DataFrames) held in memory; the rest go to disk.
    """

    def __init__(
        self, client: Callable[[], ApiClient], cache_dir: Path, *, memory_limit: int = DEFAULT_MEMORY_LIMIT
    ) -> None:
        self._client = client
        self._cache_dir = cache_dir
        self.memory_limit = memory_limit
        self.expires_in_seconds: int | None = None  # new uploads are deleted by the server after this
        self._registry: UploadRegistry | None = None
        self._memory: OrderedDict[str, LocalFile] = OrderedDict()  # registry key -> bytes in memory
        self._spilled: dict[str, LocalFile] = {}  # registry key -> bytes on disk
        self._held_lock = threading.RLock()  # maps upload several inputs at once
        self._frames: dict[tuple[str, str], str] = {}  # (DataFrame fingerprint, name) -> registry key of its bytes

    @property
    def registry(self) -> UploadRegistry:
        """The on-disk record of uploads for this credential and server."""
        if self._registry is None:
            client = self._client()
            self._registry = UploadRegistry(self._cache_dir, fingerprint=client.fingerprint, base_url=client.base_url)
        return self._registry

    @property
    def bytes_in_memory(self) -> int:
        """Bytes of sources held in memory now."""
        return sum(local.size for local in self._memory.values())

    def forget_connection(self) -> None:
        """The credential or server changed: the next use opens the registry of the new scope."""
        self._registry = None

    def upload(self, local: LocalFile) -> UploadedFile:
        """Upload *local* unless the server already holds the same bytes under the same name."""
        registry = self.registry
        known = registry.get(local.sha256, local.name)
        entry: UploadedFile | None = None
        if known is not None and self._client().metadata(known.file_id) is not None:
            entry = replace(known, reused=True, description=local.description or known.description)
        elif known is not None:
            registry.remove(known.file_id)
        if entry is None:
            entry = self._send(local)
        if local.data is not None:
            self._keep(local)
        key = UploadRegistry.key(local.sha256, local.name)
        if local.fingerprint is not None and (key in self._memory or key in self._spilled):
            self._frames[(local.fingerprint, local.name)] = key
        return entry

    def known_frame(self, fingerprint: str, name: str) -> LocalFile | None:
        """The held file made from a DataFrame with this fingerprint under this name, if any (no serialising)."""
        key = self._frames.get((fingerprint, name))
        if key is None:
            return None
        held = self._memory.get(key) or self._spilled.get(key)
        if held is None or (held.data is None and (held.path is None or not held.path.is_file())):
            self._frames.pop((fingerprint, name), None)
            return None
        return held

    def check(self, files: Sequence[UploadedFile]) -> Checked:
        """Make sure each file is still on the server, uploading it again from its source if not."""
        live: list[UploadedFile] = []
        replaced: list[tuple[str, UploadedFile]] = []
        dropped: list[UploadedFile] = []
        notices: list[str] = []
        client = self._client()
        for entry in files:
            if client.metadata(entry.file_id) is not None:
                live.append(entry)
                continue
            self.registry.remove(entry.file_id)
            source = self.source(entry)
            if source is None:
                dropped.append(entry)
                notices.append(
                    f"The server no longer has {entry.name} and its local source is gone: it was not attached. "
                    "Upload it again with %claude_upload if Claude needs it."
                )
                continue
            fresh = self._send(source)
            replaced.append((entry.file_id, fresh))
            live.append(fresh)
            notices.append(f"The server no longer had {entry.name}: uploaded it again as {fresh.file_id}.")
        return Checked(tuple(live), tuple(replaced), tuple(dropped), tuple(notices))

    def delete(self, entry: UploadedFile) -> None:
        """Delete a file from the server and the registry, and release its source."""
        self._client().delete(entry.file_id)
        self.registry.remove(entry.file_id)
        self.release(entry)

    def release(self, entry: UploadedFile) -> None:
        """Let go of the bytes kept to re-upload *entry* (it was deleted or replaced)."""
        key = UploadRegistry.key(entry.sha256, entry.name)
        self._memory.pop(key, None)
        self._frames = {frame: held for frame, held in self._frames.items() if held != key}
        spilled = self._spilled.pop(key, None)
        if spilled is not None and spilled.path is not None:
            with contextlib.suppress(OSError):
                spilled.path.unlink()

    def source(self, entry: UploadedFile) -> LocalFile | None:
        """Where the bytes of *entry* can be read again, if anywhere."""
        key = UploadRegistry.key(entry.sha256, entry.name)
        if (held := self._memory.get(key)) is not None:
            self._memory.move_to_end(key)
            return held
        if (spilled := self._spilled.get(key)) is not None and spilled.path is not None and spilled.path.is_file():
            return spilled
        if entry.source and Path(entry.source).is_file():
            local = from_path(entry.source, name=entry.name)
            if local.sha256 == entry.sha256:
                return replace(local, description=entry.description)
        return None

    def find(self, name_or_id: str) -> UploadedFile | None:
        """A registry entry by file name or id (newest first)."""
        for entry in reversed(list(self.registry)):
            if name_or_id in (entry.name, entry.file_id):
                return entry
        return None

    def held(self) -> Iterable[str]:
        """Registry keys whose bytes are kept (in memory or on disk)."""
        return [*self._memory, *self._spilled]

    def _send(self, local: LocalFile) -> UploadedFile:
        with local.open() as stream:
            remote = self._client().upload(
                local.name, stream, local.media_type, expires_in_seconds=self.expires_in_seconds
            )
        entry = UploadedFile(
            name=local.name,
            file_id=remote.id,
            size=local.size,
            sha256=local.sha256,
            media_type=local.media_type,
            source=local.source,
            description=local.description,
        )
        self.registry.put(entry)
        return entry

    def _keep(self, local: LocalFile) -> None:
        """Hold in-memory bytes for re-upload, spilling the least recently used to disk past the limit."""
        key = UploadRegistry.key(local.sha256, local.name)
        with self._held_lock:
            self._spilled.pop(key, None)
            self._memory[key] = local
            self._memory.move_to_end(key)
            while self._memory and self.bytes_in_memory > self.memory_limit:
                old_key, old = self._memory.popitem(last=False)
                self._spilled[old_key] = self._spill(old)

    def _spill(self, local: LocalFile) -> LocalFile:
        folder = self._cache_dir / "sources"
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(f"{local.sha256}:{local.name}".encode()).hexdigest()[:32]
        path = folder / name
        if not path.is_file():
            temp = path.with_suffix(".part")
            with local.open() as stream:
                temp.write_bytes(stream.read())
            temp.replace(path)
        return replace(local, data=None, path=path)
