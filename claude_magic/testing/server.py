"""``StandIn``: an offline stand-in of the Anthropic API on 127.0.0.1 that really runs code.

It serves ``/v1/files`` and ``/v1/messages`` over real HTTP/1.1 (keep-alive, ``TCP_NODELAY``),
checks auth (``Authorization: Bearer`` or ``x-api-key``, any value), logs every request, answers
errors in the API's envelope with a ``request-id``, and injects the failures a test asks for.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from claude_magic.testing.batches import BatchStore
from claude_magic.testing.behaviours import Behaviours
from claude_magic.testing.containers import Container, ContainerStore
from claude_magic.testing.envelope import ApiError, bad_request
from claude_magic.testing.exchange import Exchange
from claude_magic.testing.faults import Faults, StreamFault
from claude_magic.testing.files import MAX_FILE_BYTES, FileStore, StoredFile
from claude_magic.testing.ids import new_id
from claude_magic.testing.loopback import Handler, LoopbackServer
from claude_magic.testing.messages import MAX_REQUEST_BYTES
from claude_magic.testing.model import ScriptedModel
from claude_magic.testing.routes import MULTIPART_SLACK, Routes, check_auth, json_body, too_large
from claude_magic.testing.sandbox import DEFAULT_MEMORY, DEFAULT_TIMEOUT, Sandbox
from claude_magic.testing.script import Script

log = logging.getLogger("claude_magic.testing")


@dataclass
class RecordedRequest:
    """A request as received; ``headers`` are lower-cased and have the credentials removed.

    ``started``, ``responded`` and ``finished`` are ``time.monotonic()`` readings: when the
    request arrived, when the response's first bytes (status and headers; for a stream, the start
    of the first event) went out, and when its last bytes did (None until then).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: dict[str, Any] | None
    body_size: int
    started: float = 0.0
    finished: float | None = None
    responded: float | None = None


def _default_base() -> str:
    return "/var/tmp" if os.access("/var/tmp", os.W_OK) else tempfile.gettempdir()


class StandIn(LoopbackServer):
    """A running stand-in of the API; use as a context manager or call ``start()``/``stop()``.

    Parameters
    ----------
    script:
        What the model does (see ``docs/script-format.md``); empty by default.
    host, port:
        Where to listen; port 0 picks a free one.
    behaviours:
        The choices for what the docs leave open (``Behaviours``; defaults if omitted). The object
        stays live as ``api.behaviours``: a change applies from the next request.
    exec_timeout, exec_memory:
        Wall-clock seconds and address-space bytes allowed to each execution.
    root:
        Directory under which the stand-in makes its working folder (default ``/var/tmp``).
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        behaviours: Behaviours | None = None,
        exec_timeout: float = DEFAULT_TIMEOUT,
        exec_memory: int | None = DEFAULT_MEMORY,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.latency = 0.0  # seconds before every response's first byte
        self.bandwidth: float | None = None  # bytes/s for uploads and downloads
        self.think_time = 0.0  # further seconds before a /v1/messages response (the model thinking)
        self.event_gap = 0.0  # seconds between SSE events; a non-streamed reply waits as long in all
        self.requests: list[RecordedRequest] = []
        self.behaviours = behaviours if behaviours is not None else Behaviours()
        self.exec_timeout = exec_timeout
        self.exec_memory = exec_memory
        self._script = script or Script()
        super().__init__(host, port)
        self._base = Path(root) if root is not None else Path(_default_base())
        self._faults = Faults()
        self._files = FileStore()
        self._root: Path | None = None
        self._containers: ContainerStore | None = None
        self._model: ScriptedModel | None = None
        self._routes: Routes | None = None
        self._sandbox: Sandbox | None = None
        self._batches: BatchStore | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    thread_name = "claude-standin"
    what = "the stand-in"

    def _before_start(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="claude-standin-", dir=self._base))
        self._containers = ContainerStore(self._root / "containers", self.behaviours)
        self._sandbox = Sandbox(self._root, timeout=self.exec_timeout, memory=self.exec_memory)
        self._model = ScriptedModel(self._script, self._sandbox, self._containers, self._files, self.behaviours)
        self._batches = BatchStore(self._root / "batches", self._model)
        self._routes = Routes(self._files, self._model, self._faults, self._batches)

    def stop(self) -> None:
        """Stop serving, drop open connections and delete the containers' files."""
        if self.running and self._batches is not None:
            self._batches.close()
        super().stop()

    def _after_stop(self) -> None:
        if self._containers is not None:
            self._containers.close()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    # -- what tests read -------------------------------------------------------------------------

    @property
    def files(self) -> dict[str, StoredFile]:
        """Every file by id (the live dict)."""
        return self._files.files

    @property
    def containers(self) -> dict[str, Container]:
        """Every container by id (the live dict; empty before ``start()``)."""
        return self._containers.containers if self._containers else {}

    @property
    def batches(self) -> BatchStore:
        """The Message Batches (after ``start()``): ``processing_delay``, limits, ``fail_items(...)``."""
        if self._batches is None:
            raise RuntimeError("the stand-in is not running: call start() or use it in a with block")
        return self._batches

    @property
    def skills(self) -> dict[str, Any]:
        """Every skill by id, Anthropic's and custom (the live dict; empty before ``start()``)."""
        return dict(self._model.skills.skills) if self._model else {}

    @property
    def uploaded_bytes(self) -> int:
        """Total request-body bytes received by ``POST /v1/files``."""
        return self._routes.uploaded if self._routes else 0

    @property
    def sandbox_isolation(self) -> str:
        """How code is isolated: ``net+tmp``, ``net`` or ``none``, with the reason."""
        if self._sandbox is None:
            return "not started"
        return f"{self._sandbox.isolation}: {self._sandbox.isolation_note}"

    # -- what tests change -----------------------------------------------------------------------

    def set_script(self, script: Script) -> None:
        """Answer with *script* from now on."""
        self._script = script
        if self._model is not None:
            self._model.set_script(script)

    def fail_next(
        self,
        status: int,
        error_type: str | None = None,
        message: str | None = None,
        count: int = 1,
        error_code: str | None = None,
        path_prefix: str | None = None,
        retry: bool = False,
    ) -> None:
        """Make the next *count* requests (under *path_prefix*) fail with *status* in the real envelope.

        Sends ``x-should-retry: false`` unless *retry*, then ``x-should-retry: true`` and
        ``retry-after-ms: 1``.
        """
        self._faults.fail_next(
            status,
            error_type=error_type,
            message=message,
            count=count,
            error_code=error_code,
            path_prefix=path_prefix,
            retry=retry,
        )

    def break_stream(self, after_events: int) -> None:
        """The next streamed response closes its connection after *after_events* frames (pings count)."""
        self._faults.add_stream_fault(StreamFault(after_events))

    def stream_error(self, after_events: int, error_type: str = "overloaded_error") -> None:
        """The next streamed response sends ``event: error`` after *after_events* frames."""
        self._faults.add_stream_fault(StreamFault(after_events, error_type))

    def expire_container(self, container_id: str) -> None:
        """Make the container gone now (files dropped); requests naming it get the ``expired_container`` answer."""
        if self._containers is None:
            raise KeyError(container_id)
        self._containers.expire(container_id)

    def checkpoint_container(self, container_id: str) -> None:
        """Checkpoint the container now, as after idling; the next request naming it restores it.

        ``containers[id].restores`` counts the restores.
        """
        if self._containers is None:
            raise KeyError(container_id)
        self._containers.checkpoint(container_id)

    def age_prompt_cache(self, seconds: float) -> None:
        """Let *seconds* pass for the prompt cache (entries older than their TTL then miss)."""
        if self._model is None:
            raise RuntimeError("the stand-in is not running")
        self._model.cache.offset += seconds

    def expire_file(self, file_id: str) -> None:
        """The file's content is gone from now on: downloads get 404 ``file_expired``."""
        try:
            self._files.expire(file_id)
        except ApiError:
            raise KeyError(file_id) from None

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, handler: Handler) -> None:
        started = time.monotonic()
        url = urlsplit(handler.path)
        path = url.path.rstrip("/") or "/"
        latency = self.latency + (self.think_time if path == "/v1/messages" else 0.0)
        exchange = Exchange(handler, new_id("req"), latency, self.bandwidth, event_gap=self.event_gap)
        query = parse_qs(url.query, keep_blank_values=True)
        query.pop("beta", None)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        visible = {k: v for k, v in headers.items() if k not in ("authorization", "x-api-key")}
        record = RecordedRequest(handler.command, path, query, visible, None, 0, started)
        exchange.responding = lambda: setattr(record, "responded", time.monotonic())
        exchange.finishing = lambda: setattr(record, "finished", time.monotonic())
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        record.body_size = max(length, 0)
        is_upload = handler.command == "POST" and path == "/v1/files"
        limit = MAX_FILE_BYTES + MULTIPART_SLACK if is_upload else MAX_REQUEST_BYTES
        if length < 0 or (handler.command == "POST" and length > limit):
            self.requests.append(record)
            exchange.send_error(too_large() if length >= 0 else bad_request("Invalid Content-Length"), close=True)
            record.finished = time.monotonic()
            return
        try:
            body = exchange.read_body(length, throttle=is_upload)
        except ConnectionError:
            handler.close_connection = True
            return
        payload = json_body(headers, body)
        record.json = payload if isinstance(payload, dict) else None
        self.requests.append(record)
        try:
            if (failure := self._faults.take_failure(path)) is not None:
                raise failure
            check_auth(headers)
            assert self._routes is not None
            self._routes.route(exchange, handler.command, path, query, headers, body, payload)
        except ApiError as err:
            exchange.send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        except Exception:
            log.exception("stand-in failed on %s %s", handler.command, path)
            if exchange.responded:
                handler.close_connection = True
            else:
                exchange.send_error(ApiError(500, "Internal server error (stand-in bug; see its log)"))
        finally:
            if record.finished is None:
                record.finished = time.monotonic()
