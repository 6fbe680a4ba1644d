"""Which files each cell saved, so rerunning a cell replaces them instead of piling up ``chart (1).png``.

Stdlib only. A manifest file in the download folder maps a cell's key (a hash of its options and
prompt) to the names and SHA-256 digests of the files its last run saved. Before the cell runs
again, ``release`` deletes those files, but only the ones still exactly as saved: a file the user
changed, or made under the same name, is never touched (the new download then gets a numbered
name beside it, as before). The old files are first set aside (``set_aside``), and deleted only
once the new run has succeeded (``discard``); a failed or interrupted run puts them back (``restore``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

__all__ = ["MANIFEST_NAME", "DownloadManifest", "cell_key"]

MANIFEST_NAME: Final = ".claude_magic_manifest.json"
_VERSION: Final = 1
_HOLDING: Final = ".claude_magic_previous"


def cell_key(*parts: str) -> str:
    """A stable key for a cell from what identifies it (its options line and its raw prompt)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:32]


def _digest(path: Path) -> str | None:
    try:
        with path.open("rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        return None


class DownloadManifest:
    """The record of what each cell saved into one download folder.

    Parameters
    ----------
    folder : Path
        The download folder; the manifest is ``folder / MANIFEST_NAME``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        cells = data.get("cells") if isinstance(data, dict) else None
        if not isinstance(cells, dict):
            return {}
        return {
            str(key): {str(name): str(digest) for name, digest in files.items()}
            for key, files in cells.items()
            if isinstance(files, dict)
        }

    def _save(self, cells: dict[str, dict[str, str]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"version": _VERSION, "cells": cells}, indent=1, sort_keys=True)
        # Write then rename, so a crash never leaves half a manifest.
        descriptor, temporary = tempfile.mkstemp(prefix=".claude_magic_manifest.", dir=self.folder)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(payload)
        Path(temporary).replace(self.path)

    def files_of(self, key: str) -> list[str]:
        """Names of the files the cell's last run saved."""
        return sorted(self._load().get(key, {}))

    def release(self, key: str) -> list[Path]:
        """Delete the files the cell saved last time that are unchanged; forget the cell.

        Returns
        -------
        list of Path
            The files deleted. Changed or missing files are left alone (and forgotten).
        """
        cells = self._load()
        files = cells.pop(key, None)
        if files is None:
            return []
        root = self.folder.resolve()
        removed: list[Path] = []
        for name, digest in sorted(files.items()):
            path = root / name
            if path.parent != root or path.is_symlink() or _digest(path) != digest:
                continue  # moved, replaced or edited since: it is the user's now
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
        self._save(cells)
        return removed

    def set_aside(self, key: str) -> list[tuple[Path, Path]]:
        """Move the cell's unchanged files from last time into a holding folder; returns (original, held) pairs."""
        files = self._load().get(key, {})
        root = self.folder.resolve() if self.folder.exists() else self.folder
        held_dir = root / _HOLDING / key
        moved: list[tuple[Path, Path]] = []
        for name, digest in sorted(files.items()):
            path = root / name
            if path.parent != root or path.is_symlink() or _digest(path) != digest:
                continue  # moved, replaced or edited since: it is the user's now
            try:
                held_dir.mkdir(parents=True, exist_ok=True)
                held = held_dir / name
                path.replace(held)
            except OSError:
                continue
            moved.append((path, held))
        return moved

    def restore(self, moved: Iterable[tuple[Path, Path]]) -> None:
        """Put set-aside files back (a file made meanwhile under the same name is never overwritten)."""
        for original, held in moved:
            if not original.exists():
                with contextlib.suppress(OSError):
                    held.replace(original)
        self._tidy()

    def discard(self, key: str, moved: Iterable[tuple[Path, Path]]) -> None:
        """Delete set-aside files for good and forget what the cell saved before."""
        for _, held in moved:
            with contextlib.suppress(OSError):
                held.unlink()
        cells = self._load()
        if cells.pop(key, None) is not None:
            self._save(cells)
        self._tidy()

    def _tidy(self) -> None:
        holding = self.folder / _HOLDING
        for folder in sorted(holding.glob("*"), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            holding.rmdir()

    def record(self, key: str, paths: Iterable[Path]) -> None:
        """Remember the files a cell's run saved (those in this folder), with their digests."""
        root = self.folder.resolve()
        files: dict[str, str] = {}
        for path in paths:
            resolved = Path(path).resolve()
            if resolved.parent != root:
                continue
            digest = _digest(resolved)
            if digest is not None:
                files[resolved.name] = digest
        cells = self._load()
        if files:
            cells[key] = files
        else:
            cells.pop(key, None)
        if cells or self.path.exists():
            self._save(cells)
