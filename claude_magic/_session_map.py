"""The many-inputs half of ``Session``: ``map``, ``resume_map``, ``cancel_map`` and ``retry_map``.

A mixin over ``_map.Mapper``: one request per input, on the Message Batches API or concurrently,
with the session's defaults and its upload manager. Stdlib and our own modules only; the SDK is
reached through ``_client``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_magic._batches import DEFAULT_POLL_CEILING
from claude_magic._map import MapDefaults, Mapper

if TYPE_CHECKING:
    from claude_magic._batch_types import BatchStatus
    from claude_magic._client import ApiClient
    from claude_magic._local_files import DataFrameFormat
    from claude_magic._map_values import Engine, MapResult, ProgressListener
    from claude_magic._uploads import UploadManager


class MapMixin:
    """Run one prompt over many inputs, each in its own request and container (see ``Session``)."""

    # Provided by Session.
    model: str
    max_tokens: int
    tool_version: str | None
    download_dir: Path
    max_continuations: int
    _files: UploadManager

    @property
    def client(self) -> ApiClient:  # pragma: no cover - Session's
        raise NotImplementedError

    def map(
        self,
        prompt: str,
        inputs: Any,
        *,
        engine: Engine = "batch",
        concurrency: int = 8,
        name: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        tool_version: str | None = None,
        download_dir: str | os.PathLike[str] | None = None,
        fmt: DataFrameFormat | None = None,
        on_progress: ProgressListener | None = None,
        poll_interval: float = DEFAULT_POLL_CEILING,
    ) -> MapResult:
        """Run the same prompt over each input, each in its own request and container.

        *inputs* is a glob or path, a list of paths or DataFrames, or a dict name → DataFrame or
        path; each is uploaded once (reused when already uploaded). ``{{item}}`` in *prompt* is
        the input's name. ``engine="batch"`` sends one Message Batch (half-price tokens; most end
        within an hour); ``"sync"`` runs *concurrency* ordinary streamed turns at once. Output
        files go to ``<download_dir>/<name>/<input>/``. An input that errors or expires is that
        row's status, not an exception. The run is recorded, so ``resume_map`` collects a batch
        after a restart and ``retry_map`` reruns what failed; a ``KeyboardInterrupt`` while
        waiting leaves the batch running (its note says how to resume or cancel).
        *poll_interval* is the longest wait between two polls of a batch.
        """
        defaults = MapDefaults(
            model=model or self.model,
            max_tokens=max_tokens or self.max_tokens,
            tool_version=tool_version or self.tool_version,
            download_dir=Path(download_dir) if download_dir is not None else self.download_dir,
            max_continuations=self.max_continuations,
        )
        mapper = Mapper(lambda: self.client, self._files, poll_ceiling=poll_interval)
        return mapper.map(
            prompt,
            inputs,
            defaults,
            engine=engine,
            concurrency=concurrency,
            name=name,
            fmt=fmt,
            on_progress=on_progress,
        )

    def resume_map(
        self,
        batch_id: str | None = None,
        *,
        concurrency: int = 8,
        on_progress: ProgressListener | None = None,
        poll_interval: float = DEFAULT_POLL_CEILING,
    ) -> MapResult:
        """Wait for a batch this machine started (the newest not yet collected by default) and collect it."""
        mapper = Mapper(lambda: self.client, self._files, poll_ceiling=poll_interval)
        return mapper.resume(batch_id, concurrency=concurrency, on_progress=on_progress)

    def cancel_map(self, batch_id: str) -> BatchStatus:
        """Cancel a batch; what finished before can still be collected with ``resume_map``."""
        return Mapper(lambda: self.client, self._files).cancel(batch_id)

    def retry_map(
        self,
        previous: Any,
        *,
        engine: Engine | None = None,
        concurrency: int = 8,
        on_progress: ProgressListener | None = None,
        poll_interval: float = DEFAULT_POLL_CEILING,
    ) -> MapResult:
        """Rerun the inputs of *previous* (a ``MapResult``, its ``frame`` or a run id) that did not succeed.

        Returns every input: the earlier successes with the new results in place of the failures.
        """
        mapper = Mapper(lambda: self.client, self._files, poll_ceiling=poll_interval)
        return mapper.retry(previous, engine=engine, concurrency=concurrency, on_progress=on_progress)
