"""The same analysis over many inputs: uploads, one request per input, an engine, one ``MapResult``.

``Mapper`` is what ``Session.map``, ``resume_map``, ``cancel_map`` and ``retry_map`` call. It
resolves and uploads the inputs (each once, deduplicated by the upload registry), builds each
input's request (the prompt with ``{{item}}`` filled in and the input's ``container_upload``), runs
them on the batch engine (``_batches``: Message Batches, half-price tokens) or the sync engine
(``_map_sync``: concurrent ordinary turns), reports progress, and keeps every run in the
``MapStore`` so it can be resumed or retried from a new kernel. Per-input problems stay per input.
Knows nothing of IPython.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from claude_magic._batch_types import BatchStatus
from claude_magic._batches import DEFAULT_POLL_CEILING, BatchEngine
from claude_magic._client import ApiClient
from claude_magic._downloads import safe_filename
from claude_magic._local_files import DataFrameFormat
from claude_magic._map_inputs import item_prompt, resolve
from claude_magic._map_store import COLLECTED, SUBMITTED, MapRun, MapStore, RunItem, RunSettings, new_run_id
from claude_magic._map_sync import SyncEngine
from claude_magic._map_values import Engine, MapItem, MapProgress, MapResult, ProgressListener
from claude_magic._tool_versions import tool_version_for
from claude_magic._uploads import UploadManager
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import Usage

ENGINES: tuple[Engine, ...] = ("batch", "sync")


@dataclass(frozen=True, slots=True)
class MapDefaults:
    """The session's defaults a map starts from."""

    model: str
    max_tokens: int
    tool_version: str | None
    download_dir: Path
    max_continuations: int


class Mapper:
    """Runs, resumes, cancels and retries maps for one session.

    Parameters
    ----------
    client
        Returns the API client (created on first use).
    uploads
        The session's upload manager (registry, dedupe, re-upload).
    poll_ceiling
        The longest wait between two polls of a batch, in seconds.
    """

    def __init__(
        self,
        client: Callable[[], ApiClient],
        uploads: UploadManager,
        *,
        poll_ceiling: float = DEFAULT_POLL_CEILING,
    ) -> None:
        self._client = client
        self._uploads = uploads
        self._poll_ceiling = poll_ceiling

    @property
    def store(self) -> MapStore:
        """The runs recorded for this account and server."""
        registry = self._uploads.registry
        return MapStore(registry.path, registry.scope)

    def map(
        self,
        prompt: str,
        inputs: Any,
        defaults: MapDefaults,
        *,
        engine: Engine = "batch",
        concurrency: int = 8,
        name: str | None = None,
        fmt: DataFrameFormat | None = None,
        on_progress: ProgressListener | None = None,
    ) -> MapResult:
        """Run *prompt* over each of *inputs*; see ``Session.map``."""
        check_options(prompt, engine, concurrency, name)
        resolved = resolve(inputs, fmt=fmt)  # every input checked before anything is sent
        map_name = name or f"map-{datetime.now():%Y%m%d-%H%M%S}"
        settings = RunSettings(
            prompt=prompt,
            model=defaults.model,
            max_tokens=defaults.max_tokens,
            tool_version=defaults.tool_version or tool_version_for(defaults.model),
            folder=os.fspath(defaults.download_dir / safe_filename(map_name, fallback="map")),
            max_continuations=defaults.max_continuations,
        )
        tracker = _Tracker(map_name, engine, len(resolved), on_progress)
        tracker.emit()
        with ThreadPoolExecutor(min(8, concurrency, len(resolved))) as pool:
            uploaded = list(pool.map(lambda entry: self._uploads.upload(entry.file), resolved))
        items = [
            RunItem(f"item-{index:05d}", entry.name, item_prompt(prompt, entry.name), file)
            for index, (entry, file) in enumerate(zip(resolved, uploaded, strict=True))
        ]
        run = MapRun(new_run_id(), map_name, engine, time.time(), SUBMITTED, settings)
        return self._run(run, items, tracker, concurrency)

    def resume(
        self, run_id: str | None = None, *, concurrency: int = 8, on_progress: ProgressListener | None = None
    ) -> MapResult:
        """Wait for a recorded batch (the newest not yet collected by default) and collect its results."""
        store = self.store
        run = store.run(run_id) if run_id else store.latest(state=SUBMITTED, engine="batch")
        if run is None:
            if run_id:
                raise ClaudeMagicError(
                    f"{run_id} is not a map this machine started with this key and server: nothing to resume."
                )
            raise ClaudeMagicError("No batch is waiting to be collected: every map started here was collected.")
        if run.engine != "batch":
            raise ClaudeMagicError(f"{run_id} ran on the sync engine: it has no batch to resume (use --retry).")
        items = list(store.items(run.run_id))
        tracker = _Tracker(run.name, "batch", len(items), on_progress, run_id=run.run_id)
        return self._collect_batch(run, items, tracker, concurrency)

    def cancel(self, run_id: str) -> BatchStatus:
        """Cancel a batch; what finished can still be collected with ``resume``."""
        return BatchEngine(self._client(), self.store).cancel(run_id)

    def retry(
        self,
        previous: Any,
        *,
        engine: Engine | None = None,
        concurrency: int = 8,
        on_progress: ProgressListener | None = None,
    ) -> MapResult:
        """Run the inputs of *previous* (a ``MapResult``, its ``frame`` or a run id) that did not succeed again."""
        run_id, kept = _previous(previous)
        store = self.store
        run = store.run(run_id)
        if run is None:
            raise ClaudeMagicError(f"No map {run_id} was recorded here with this key and server: nothing to retry.")
        failed = {item.name for item in kept if not item.ok} if kept else None
        items = [item for item in store.items(run_id) if failed is None or item.name in failed]
        if not items:
            raise ClaudeMagicError(f"Every input of {run.name} succeeded: nothing to retry.")
        chosen: Engine = engine or ("sync" if run.engine == "sync" else "batch")
        check_options(run.settings.prompt, chosen, concurrency, run.name)
        checked = self._uploads.check([item.file for item in items])
        fresh = {old: new for old, new in checked.replaced}
        dropped = {entry.file_id for entry in checked.dropped}
        gone = [item.name for item in items if item.file.file_id in dropped]
        if gone:
            raise ClaudeMagicError(
                f"The server no longer has the input {gone[0]} and its local source is gone: map it again."
            )
        items = [replace(item, file=fresh.get(item.file.file_id, item.file)) for item in items]
        tracker = _Tracker(run.name, chosen, len(items), on_progress)
        retried = self._run(
            MapRun(new_run_id(), run.name, chosen, time.time(), SUBMITTED, run.settings), items, tracker, concurrency
        )
        by_name = {item.name: item for item in retried.items}
        merged = (
            tuple(by_name.pop(item.name, item) for item in kept) + tuple(by_name.values()) if kept else retried.items
        )
        return replace(retried, items=merged)

    def _run(self, run: MapRun, items: Sequence[RunItem], tracker: _Tracker, concurrency: int) -> MapResult:
        client = self._client()
        if run.engine == "sync":
            engine = SyncEngine(client, self._uploads.check, concurrency=concurrency)
            self.store.add(replace(run, state=COLLECTED), items)
            tracker.phase("processing", run.run_id, processing=len(items))
            done = engine.run(run, items, tracker.item)
            return tracker.result(run, items, done)
        submitted = BatchEngine(client, self.store, poll_ceiling=self._poll_ceiling).submit(run, items)
        tracker.phase("submitted", submitted.run_id, processing=len(items))
        return self._collect_batch(submitted, items, tracker, concurrency)

    def _collect_batch(self, run: MapRun, items: Sequence[RunItem], tracker: _Tracker, concurrency: int) -> MapResult:
        engine = BatchEngine(self._client(), self.store, poll_ceiling=self._poll_ceiling)
        try:
            engine.wait(run.run_id, tracker.batch)
        except KeyboardInterrupt as interrupt:
            interrupt.add_note(
                f"Stopped waiting; the batch {run.run_id} goes on. Collect it later with "
                f"%claude_map --resume {run.run_id} (Session.resume_map), or cancel it with "
                f"%claude_map --cancel {run.run_id}."
            )
            raise
        tracker.phase("collecting", run.run_id, processing=len(items))
        done = engine.collect(run, items, tracker.item, concurrency=concurrency)
        self.store.set_state(run.run_id, COLLECTED)
        return tracker.result(run, items, done)


def check_options(prompt: str, engine: str, concurrency: int, name: str | None) -> None:
    """Refuse options that cannot work, before anything is sent."""
    if not prompt.strip():
        raise ClaudeMagicError("The prompt is empty: write what Claude should do with each input.")
    if engine not in ENGINES:
        raise ClaudeMagicError(f"Unknown engine {engine!r}: use 'batch' or 'sync'.")
    if concurrency < 1:
        raise ClaudeMagicError(f"Concurrency must be at least 1 (got {concurrency}): e.g. --sync 8.")
    if name is not None and not safe_filename(name, fallback="").strip():
        raise ClaudeMagicError(f"{name!r} cannot name a folder: give the map a name like monthly-revenue.")


class _Tracker:
    """Counts what happened so far and tells the listener (called from the waiting thread only)."""

    def __init__(
        self, name: str, engine: Engine, total: int, listener: ProgressListener | None, *, run_id: str | None = None
    ) -> None:
        self._started = time.monotonic()
        self._listener = listener
        self.state = MapProgress(name=name, engine=engine, total=total, run_id=run_id)

    def emit(self) -> None:
        self.state = replace(self.state, elapsed=time.monotonic() - self._started)
        if self._listener is not None:
            self._listener(self.state)

    def phase(self, phase: str, run_id: str | None, *, processing: int) -> None:
        """A new phase; from here on the items counted are those collected (the API's tallies give way)."""
        self.state = replace(
            self.state,
            phase=phase,
            run_id=run_id,
            processing=processing,
            succeeded=0,
            errored=0,
            expired=0,
            canceled=0,
        )
        self.emit()

    def batch(self, status: BatchStatus) -> None:
        counts = status.counts
        self.state = replace(
            self.state,
            phase="processing",
            processing=counts.processing,
            succeeded=counts.succeeded,
            errored=counts.errored,
            expired=counts.expired,
            canceled=counts.canceled,
        )
        self.emit()

    def item(self, item: MapItem) -> None:
        state = self.state
        counts = {key: getattr(state, key) for key in ("succeeded", "errored", "expired", "canceled")}
        counts[item.status if item.status in counts else "errored"] += 1
        self.state = replace(
            state,
            processing=max(0, state.total - sum(counts.values())),
            cost=state.cost + (item.cost or 0.0),
            succeeded=counts["succeeded"],
            errored=counts["errored"],
            expired=counts["expired"],
            canceled=counts["canceled"],
        )
        self.emit()

    def result(self, run: MapRun, items: Sequence[RunItem], done: dict[str, MapItem]) -> MapResult:
        ordered = tuple(done[item.custom_id] for item in items if item.custom_id in done)
        self.state = replace(self.state, phase="done", processing=0)
        self.emit()
        return MapResult(
            name=run.name,
            run_id=run.run_id,
            engine=run.engine,  # type: ignore[arg-type]
            items=ordered,
            folder=Path(run.settings.folder),
            model=run.settings.model,
            elapsed=self.state.elapsed,
        )


def _previous(previous: Any) -> tuple[str, list[MapItem]]:
    """The run id of a previous map, and its items when known (from a result or its frame)."""
    if isinstance(previous, MapResult):
        return previous.run_id, list(previous.items)
    if isinstance(previous, str):
        return previous, []
    attrs = getattr(previous, "attrs", None)
    meta = attrs.get("claude_map") if isinstance(attrs, dict) else None
    if not isinstance(meta, dict) or "run_id" not in meta:
        raise ClaudeMagicError(
            f"A {type(previous).__name__} is not a map's result: give the DataFrame %claude_map --out stored "
            "(or a MapResult, or a run id)."
        )
    return str(meta["run_id"]), _items_from_frame(previous)


def _items_from_frame(frame: Any) -> list[MapItem]:
    items = []
    for row in frame.to_dict("records"):
        cost = row.get("cost")
        items.append(
            MapItem(
                name=str(row["name"]),
                status=str(row["status"]),
                text=_text(row.get("text")) or "",
                stdout=_text(row.get("stdout")) or "",
                files=tuple(Path(path) for path in row.get("files") or ()),
                usage=Usage(int(row.get("input_tokens") or 0), int(row.get("output_tokens") or 0)),
                cost=float(cost) if cost is not None and cost == cost else None,
                container=_text(row.get("container")),
                error=_text(row.get("error")),
            )
        )
    return items


def _text(value: Any) -> str | None:
    """A frame cell as text; None for a missing value (None or NaN)."""
    return value if isinstance(value, str) and value else None
