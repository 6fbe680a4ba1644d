"""Code execution containers: a working directory each, checkpointed when idle, gone past a hard limit.

Layout of a container directory (its working directory and ``$HOME``)::

    <root>/<container_id>/
        inputs/          $INPUT_DIR: files from ``container_upload`` blocks
        tmp/             seen by code as /tmp when the sandbox can map it (see ``sandbox``)
        .outputs/<n>/    $OUTPUT_DIR of the n-th execution, fresh and empty each time

Lifetime, as documented (doc-CE "Container reuse", api-spec §8, §13): after ``checkpoint_after``
idle seconds a container is *checkpointed*; a request naming it restores it with its files.
``expires_at`` is last activity + ``checkpoint_after``, a rolling value that does not report the
hard limit. ``max_container_age`` seconds after creation the container is gone; a request naming
it (or an id never issued) is answered per the ``expired_container`` behaviour.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from claude_magic.testing.behaviours import Behaviours
from claude_magic.testing.envelope import ApiError
from claude_magic.testing.ids import new_id, now, rfc3339

if TYPE_CHECKING:
    from claude_magic.testing.repl import Interpreter

_NO_RETRY = {"x-should-retry": "false"}


@dataclass
class Container:
    """One container: ``path`` is its working directory.

    ``last_active`` moves on every use; ``checkpointed`` is set by ``StandIn.checkpoint_container``
    (idleness past ``checkpoint_after`` counts as checkpointed too); ``restores`` counts requests
    that found it checkpointed; ``gone`` is set once it passed its hard limit or was expired.
    """

    id: str
    path: Path
    created_at: datetime
    last_active: datetime
    executions: int = 0
    checkpointed: bool = False
    restores: int = 0
    gone: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    interpreter: Interpreter | None = field(default=None, repr=False, compare=False)  # REPL tool versions

    def stop_interpreter(self) -> None:
        """Lose the Python state (a checkpoint restore or the end of the container); files stay."""
        if self.interpreter is not None:
            self.interpreter.close()
            self.interpreter = None

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


class ContainerStore:
    """Containers by id under *root*, living by the rules of *behaviours* (read at each request)."""

    def __init__(self, root: Path, behaviours: Behaviours) -> None:
        self.root = root
        self.behaviours = behaviours
        self.containers: dict[str, Container] = {}
        self._lock = threading.Lock()

    def create(self) -> Container:
        """A new, empty container."""
        container_id = new_id("container")
        path = self.root / container_id
        for sub in ("inputs", "tmp", ".outputs"):
            (path / sub).mkdir(parents=True)
        created = now()
        container = Container(container_id, path, created, created)
        with self._lock:
            self.containers[container_id] = container
        return container

    def expires_at(self, container: Container) -> datetime:
        """The rolling ``expires_at``: last activity + ``checkpoint_after``."""
        return container.last_active + timedelta(seconds=self.behaviours.checkpoint_after)

    def wire(self, container: Container) -> dict[str, str]:
        """The response's ``container`` object."""
        return {"id": container.id, "expires_at": rfc3339(self.expires_at(container))}

    def resolve(self, container_id: str) -> Container:
        """The container named *container_id*, restored if checkpointed; the behaviour's error if gone."""
        with self._lock:
            container = self.containers.get(container_id)
        if container is None:
            raise self._gone_error(container_id, known=False)
        moment = now()
        if not container.gone and moment >= container.created_at + timedelta(seconds=self.behaviours.max_container_age):
            self._drop(container)
        if container.gone:
            raise self._gone_error(container_id, known=True)
        if container.checkpointed or moment >= self.expires_at(container):
            # Restored from the checkpoint with its files; a REPL tool version's Python state
            # restarts (doc-CE "Container reuse": a checkpoint keeps files, not processes).
            container.checkpointed = False
            container.restores += 1
            with container.lock:
                container.stop_interpreter()
        self.touch(container)
        return container

    def touch(self, container: Container) -> None:
        """Record activity now (rolls ``expires_at`` forward)."""
        container.last_active = now()

    def checkpoint(self, container_id: str) -> None:
        """Mark the container checkpointed now; the next request naming it restores it."""
        self._get(container_id).checkpointed = True

    def expire(self, container_id: str) -> None:
        """Make the container gone now and drop its files."""
        self._drop(self._get(container_id))

    def _get(self, container_id: str) -> Container:
        with self._lock:
            container = self.containers.get(container_id)
        if container is None:
            raise KeyError(container_id)
        return container

    def close(self) -> None:
        """Stop every container's interpreter (the server is stopping)."""
        with self._lock:
            containers = list(self.containers.values())
        for container in containers:
            container.stop_interpreter()

    def _drop(self, container: Container) -> None:
        container.gone = True
        with container.lock:
            container.stop_interpreter()
            shutil.rmtree(container.path, ignore_errors=True)

    def _gone_error(self, container_id: str, *, known: bool) -> ApiError:
        answer = self.behaviours.expired_container
        if answer == "500":  # reported for expired ids: pydantic-ai #7833
            return ApiError(500, "Internal server error", error_type="api_error", headers=_NO_RETRY)
        if answer == "410":
            return ApiError(410, "container expired", error_type="not_found_error", headers=_NO_RETRY)
        if not known:
            return ApiError(404, f"Container not found: {container_id}", headers=_NO_RETRY)
        return ApiError(
            404,
            f"Container {container_id} has expired. Send the request again without the `container` "
            "parameter to start a new container.",
            headers=_NO_RETRY,
        )
