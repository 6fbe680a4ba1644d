"""The map runs a kernel started, kept beside the upload registry, so a paid batch survives a restart.

Two tables in the registry's SQLite database (``uploads.sqlite3`` in the cache folder), scoped like
the registry by a fingerprint of the credential and the server: ``map_runs`` (one row per run: the
batch id or a local id, its name, engine, settings and state) and ``map_items`` (the request of
each input: custom id, name, prompt and the uploaded file). A new ``Session`` on the same account
finds them, so ``Session.resume_map`` picks a batch up after a kernel restart. Stdlib only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from claude_magic._registry import open_database, transaction
from claude_magic.results import UploadedFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS map_runs (
    scope TEXT NOT NULL,
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    engine TEXT NOT NULL,
    created REAL NOT NULL,
    state TEXT NOT NULL,
    settings TEXT NOT NULL,
    PRIMARY KEY (scope, run_id)
);
CREATE TABLE IF NOT EXISTS map_items (
    scope TEXT NOT NULL,
    run_id TEXT NOT NULL,
    custom_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (scope, run_id, custom_id)
);
"""
_FILE_FIELDS = frozenset(field.name for field in fields(UploadedFile))

SUBMITTED = "submitted"  # a batch is processing; its results are not collected yet
COLLECTED = "collected"  # results were read (they stay on the API for 29 days)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What every request of a run is sent with."""

    prompt: str  # the template, with {{item}}
    model: str
    max_tokens: int
    tool_version: str
    folder: str  # where outputs go: <download_dir>/<map name>
    max_continuations: int = 5


@dataclass(frozen=True, slots=True)
class RunItem:
    """One input's request: its custom id in the batch, its name, its prompt and its file."""

    custom_id: str
    name: str
    prompt: str
    file: UploadedFile


@dataclass(frozen=True, slots=True)
class MapRun:
    """A stored run."""

    run_id: str  # the batch id (batch engine) or a local id (sync engine)
    name: str
    engine: str
    created: float
    state: str
    settings: RunSettings


class MapStore:
    """Map runs and their items in the registry database.

    Parameters
    ----------
    path
        The registry's SQLite file.
    scope
        The registry's scope (account and server).
    """

    def __init__(self, path: Path, scope: str) -> None:
        self.path = path
        self.scope = scope
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        open_database(path, _SCHEMA)

    def add(self, run: MapRun, items: Sequence[RunItem]) -> None:
        """Record a run and its items in one transaction."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO map_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.scope,
                    run.run_id,
                    run.name,
                    run.engine,
                    run.created,
                    run.state,
                    json.dumps(asdict(run.settings)),
                ),
            )
            db.executemany(
                "INSERT OR REPLACE INTO map_items VALUES (?, ?, ?, ?, ?)",
                [
                    (self.scope, run.run_id, item.custom_id, position, json.dumps(_item_json(item)))
                    for position, item in enumerate(items)
                ],
            )

    def set_state(self, run_id: str, state: str) -> None:
        """Mark a run submitted or collected."""
        with self._transaction() as db:
            db.execute("UPDATE map_runs SET state = ? WHERE scope = ? AND run_id = ?", (state, self.scope, run_id))

    def run(self, run_id: str) -> MapRun | None:
        """The stored run, if any."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT run_id, name, engine, created, state, settings FROM map_runs WHERE scope = ? AND run_id = ?",
                (self.scope, run_id),
            ).fetchone()
        return _run(row) if row else None

    def latest(self, *, state: str | None = None, engine: str | None = None) -> MapRun | None:
        """The newest run (in *state*, of *engine*), if any."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT run_id, name, engine, created, state, settings FROM map_runs WHERE scope = ? "
                "ORDER BY created DESC, rowid DESC",
                (self.scope,),
            ).fetchall()
        runs = [_run(row) for row in rows]
        return next(
            (run for run in runs if (state is None or run.state == state) and (engine is None or run.engine == engine)),
            None,
        )

    def items(self, run_id: str) -> Iterator[RunItem]:
        """The run's items in input order, read lazily."""
        with self._lock, closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            cursor = db.execute(
                "SELECT custom_id, item FROM map_items WHERE scope = ? AND run_id = ? ORDER BY position",
                (self.scope, run_id),
            )
            rows = cursor.fetchall()
        for custom_id, text in rows:
            yield _item(custom_id, text)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, self._lock)


def new_run_id() -> str:
    """A local id for a run that is not a batch (the sync engine)."""
    return f"map_{time.time_ns():x}"


def _item_json(item: RunItem) -> dict[str, Any]:
    return {"name": item.name, "prompt": item.prompt, "file": {**asdict(item.file), "reused": False}}


def _item(custom_id: str, text: str) -> RunItem:
    data = json.loads(text)
    file = UploadedFile(**{key: value for key, value in data["file"].items() if key in _FILE_FIELDS})
    return RunItem(custom_id, str(data["name"]), str(data["prompt"]), file)


def _run(row: tuple[Any, ...]) -> MapRun:
    run_id, name, engine, created, state, settings = row
    return MapRun(run_id, name, engine, float(created), state, RunSettings(**json.loads(settings)))
