"""Code execution containers: a working directory each, with a rolling expiry.

Layout of a container directory (its working directory and ``$HOME``)::

    <root>/<container_id>/
        inputs/          $INPUT_DIR: files from ``container_upload`` blocks
        tmp/             seen by code as /tmp when the sandbox can map it (see ``sandbox``)
        .outputs/<n>/    $OUTPUT_DIR of the n-th execution, fresh and empty each time

A request naming an unknown container, or one whose ``expires_at`` has passed (or that is older
than 30 days), gets 404 ``not_found_error`` — the status third parties measured for unknown ids;
the real API documents no status for expired ones (spec §3.6, §12.3).
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from claude_magic.testing.envelope import not_found
from claude_magic.testing.ids import new_id, now, rfc3339

MAX_AGE = timedelta(days=30)


@dataclass
class Container:
    """One container: ``path`` is its working directory; ``expires_at`` rolls forward on use."""

    id: str
    path: Path
    created_at: datetime
    expires_at: datetime
    executions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def input_dir(self) -> Path:
        return self.path / "inputs"

    @property
    def tmp_dir(self) -> Path:
        return self.path / "tmp"

    def new_output_dir(self) -> Path:
        """A fresh, empty ``$OUTPUT_DIR`` for the next execution."""
        self.executions += 1
        out = self.path / ".outputs" / f"{self.executions:04d}"
        out.mkdir(parents=True)
        return out

    def is_expired(self, moment: datetime | None = None) -> bool:
        moment = moment or now()
        return moment >= self.expires_at or moment >= self.created_at + MAX_AGE

    def wire(self) -> dict[str, str]:
        """The response's ``container`` object."""
        return {"id": self.id, "expires_at": rfc3339(self.expires_at)}


class ContainerStore:
    """Containers by id under *root*; ``ttl`` seconds of idleness expire one."""

    def __init__(self, root: Path, ttl: float) -> None:
        self.root = root
        self.ttl = ttl
        self.containers: dict[str, Container] = {}
        self._lock = threading.Lock()

    def create(self) -> Container:
        """A new, empty container."""
        container_id = new_id("container")
        path = self.root / container_id
        for sub in ("inputs", "tmp", ".outputs"):
            (path / sub).mkdir(parents=True)
        created = now()
        container = Container(container_id, path, created, created + timedelta(seconds=self.ttl))
        with self._lock:
            self.containers[container_id] = container
        return container

    def resolve(self, container_id: str) -> Container:
        """The live container named *container_id*, its expiry refreshed; 404 if unknown or expired."""
        with self._lock:
            container = self.containers.get(container_id)
        if container is None:
            raise not_found(f"Container not found: {container_id}")
        if container.is_expired():
            raise not_found(
                f"Container {container_id} has expired. Send the request again without the "
                "`container` parameter to start a new container."
            )
        self.touch(container)
        return container

    def touch(self, container: Container) -> None:
        """Roll ``expires_at`` forward to now + ttl."""
        container.expires_at = now() + timedelta(seconds=self.ttl)

    def expire(self, container_id: str) -> None:
        """Make the container expired now and drop its files."""
        with self._lock:
            container = self.containers.get(container_id)
        if container is None:
            raise KeyError(container_id)
        container.expires_at = now()
        with container.lock:
            shutil.rmtree(container.path, ignore_errors=True)
