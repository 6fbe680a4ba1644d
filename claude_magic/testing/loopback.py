"""The one HTTP server shape the stand-in, the recording proxy and the replay server share.

A threaded stdlib server on 127.0.0.1 speaking HTTP/1.1 with keep-alive and ``TCP_NODELAY``
(Nagle's algorithm meets delayed ACKs: about 40 ms a request otherwise), serving on a background
thread. Subclasses answer each request in ``handle``; ``start``/``stop`` and the context manager
are here once.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

log = logging.getLogger("claude_magic.testing")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: LoopbackServer) -> None:
        self.app = app
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    """Hands every request to the server's ``handle``; ``state`` holds what a subclass keeps per connection."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.state: dict[str, Any] = {}
        self.server.app._connections.add(self.connection)

    def finish(self) -> None:
        self.server.app._connections.discard(self.connection)
        self.server.app.connection_closed(self)
        super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _serve(self) -> None:
        self.server.app.handle(self)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class LoopbackServer:
    """A server on a background thread; use as a context manager or call ``start()``/``stop()``.

    Subclasses implement ``handle`` and may extend ``_before_start`` / ``_after_stop``.
    """

    thread_name = "claude-loopback"
    what = "the server"  # for the error when the URL is asked for before start()

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def handle(self, handler: Handler) -> None:
        """Answer one request."""
        raise NotImplementedError

    def connection_closed(self, handler: Handler) -> None:
        """A client connection ended (release what was kept for it)."""

    def _before_start(self) -> None:
        """Set up what serving needs (called by ``start``)."""

    def _after_stop(self) -> None:
        """Clean up after serving stopped (called by ``stop``)."""

    def start(self) -> Self:
        """Start serving on a background thread; returns self."""
        if self._server is not None:
            return self
        self._before_start()
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._after_stop()

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (after ``start()``)."""
        if self._server is None:
            raise RuntimeError(f"{self.what} is not running: call start() or use it in a with block")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
