"""The upload registry: which bytes were already uploaded, so the same bytes are never sent twice.

One SQLite database in the cache folder (WAL journal), shared by every kernel on the machine:
each change is its own transaction, so two kernels on the same key never lose each other's
entries and a crash never leaves half a record. Entries are scoped by a fingerprint of the
credential and the base URL (never the credential itself): files uploaded with one key or to
one server are invisible to another. Stdlib only.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from claude_magic.results import UploadedFile

_FILENAME = "uploads.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    file_id TEXT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS uploads_by_file_id ON uploads (scope, file_id);
"""
_FIELDS = frozenset(field.name for field in fields(UploadedFile))


def default_cache_dir() -> Path:
    """``$CLAUDE_MAGIC_CACHE_DIR``, else the user's cache folder."""
    configured = os.environ.get("CLAUDE_MAGIC_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "claude_magic"


def open_database(path: Path, schema: str) -> None:
    """Create *schema* in the database at *path*, in WAL mode (persistent: readers never block the writer).

    Switching the journal mode needs the database to itself, and SQLite answers "database is
    locked" at once, without its busy timeout, while another connection is in the middle of
    something (two kernels, or a map's first uploads, opening a new database together): retry.
    """
    for attempt in range(200):
        try:
            with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(schema)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.005 * (1 + attempt % 10))


@contextmanager
def transaction(path: Path, lock: threading.Lock) -> Iterator[sqlite3.Connection]:
    """One short ``BEGIN IMMEDIATE`` transaction on a fresh connection (connections are not shared across threads)."""
    with lock, closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def scope_of(fingerprint: str, base_url: str) -> str:
    """The registry scope of one account on one server."""
    return hashlib.sha256(f"{fingerprint}|{base_url.rstrip('/')}".encode()).hexdigest()[:20]


class UploadRegistry:
    """Uploaded files by content hash and name, persisted in a SQLite database.

    Parameters
    ----------
    folder
        The cache folder holding the database.
    fingerprint, base_url
        Identify the account and server: files uploaded with one key are invisible to another.
    """

    def __init__(self, folder: Path, *, fingerprint: str, base_url: str) -> None:
        self.path = folder / _FILENAME
        self.scope = scope_of(fingerprint, base_url)
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        open_database(self.path, _SCHEMA)
        self._import_json_manifest(folder)

    @staticmethod
    def key(sha256: str, name: str) -> str:
        """Same bytes under the same name: the container sees them as the same file."""
        return f"{sha256}:{name}"

    def get(self, sha256: str, name: str) -> UploadedFile | None:
        """The upload of these bytes under this name, if any."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT entry FROM uploads WHERE scope = ? AND key = ?", (self.scope, self.key(sha256, name))
            ).fetchone()
        return _entry(row[0]) if row else None

    def by_file_id(self, file_id: str) -> UploadedFile | None:
        """The entry for a file id, if any."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT entry FROM uploads WHERE scope = ? AND file_id = ?", (self.scope, file_id)
            ).fetchone()
        return _entry(row[0]) if row else None

    def put(self, entry: UploadedFile) -> None:
        """Record an upload (replacing an older one of the same bytes and name)."""
        payload = json.dumps({**asdict(entry), "reused": False})
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO uploads (scope, key, file_id, entry) VALUES (?, ?, ?, ?)",
                (self.scope, self.key(entry.sha256, entry.name), entry.file_id, payload),
            )

    def remove(self, file_id: str) -> UploadedFile | None:
        """Forget a file id (deleted or gone on the server)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT entry FROM uploads WHERE scope = ? AND file_id = ?", (self.scope, file_id)
            ).fetchone()
            db.execute("DELETE FROM uploads WHERE scope = ? AND file_id = ?", (self.scope, file_id))
        return _entry(row[0]) if row else None

    def __iter__(self) -> Iterator[UploadedFile]:
        with self._transaction() as db:
            rows = db.execute("SELECT entry FROM uploads WHERE scope = ? ORDER BY rowid", (self.scope,)).fetchall()
        return iter([entry for (text,) in rows if (entry := _entry(text)) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, self._lock)

    def _import_json_manifest(self, folder: Path) -> None:
        """Take over the JSON manifest earlier versions wrote for this scope, once."""
        legacy = folder / f"uploads-{self.scope}.json"
        try:
            raw = json.loads(legacy.read_text())
        except (OSError, ValueError):
            return
        for item in raw.get("files", []) if isinstance(raw, dict) else []:
            entry = _entry(json.dumps(item))
            if entry is not None and self.get(entry.sha256, entry.name) is None:
                self.put(entry)
        legacy.unlink(missing_ok=True)


def _entry(text: str) -> UploadedFile | None:
    try:
        data: dict[str, Any] = json.loads(text)
        return UploadedFile(**{key: value for key, value in data.items() if key in _FIELDS})
    except (TypeError, ValueError):
        return None  # written by another version: it will be uploaded again
