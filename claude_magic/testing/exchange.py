"""One HTTP exchange: reading the body and writing JSON, bytes or an event stream.

Adds the ``request-id`` header to every response, applies the stand-in's latency before each
response and its bandwidth cap to throttled bodies, and frames streams with chunked encoding.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from claude_magic.testing import sse
from claude_magic.testing.envelope import ApiError
from claude_magic.testing.faults import StreamFault

log = logging.getLogger("claude_magic.testing")
_CHUNK = 64 * 1024


class Exchange:
    """Wraps a handler for one request; ``request_id`` goes on the response."""

    def __init__(
        self,
        handler: BaseHTTPRequestHandler,
        request_id: str,
        latency: float,
        bandwidth: float | None,
        *,
        event_gap: float = 0.0,
    ):
        self.handler = handler
        self.request_id = request_id
        self.latency = latency
        self.bandwidth = bandwidth
        self.event_gap = event_gap  # seconds between stream events (the model generating)
        self.responded = False
        # Called just before the last bytes go out, so a request is logged as finished before
        # the client can see its response (tests read the log right after the call returns).
        self.finishing: Callable[[], None] = lambda: None
        self.responding: Callable[[], None] = lambda: None  # just before the status line goes out

    def read_body(self, length: int, *, throttle: bool = False) -> bytes:
        """Read *length* bytes of request body, at most ``bandwidth`` bytes/s when *throttle*."""
        chunks, received, started = [], 0, time.monotonic()
        while received < length:
            chunk = self.handler.rfile.read(min(_CHUNK, length - received))
            if not chunk:
                raise ConnectionError("client closed the connection mid-body")
            chunks.append(chunk)
            received += len(chunk)
            if throttle:
                self._pace(received, started)
        return b"".join(chunks)

    def _pace(self, done: int, started: float) -> None:
        if self.bandwidth:
            ahead = done / self.bandwidth - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)

    def _head(self, status: int, headers: dict[str, str]) -> None:
        for value in headers.values():
            value.encode("latin-1")  # fail before anything is written, not half-way through
        if self.latency > 0:
            time.sleep(self.latency)
        self.responded = True
        self.responding()
        self.handler.send_response(status)
        self.handler.send_header("request-id", self.request_id)
        for key, value in headers.items():
            self.handler.send_header(key, value)
        self.handler.end_headers()

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """A JSON response with Content-Length."""
        body = json.dumps(payload).encode()
        self._head(status, {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})})
        self.finishing()
        self.handler.wfile.write(body)

    def generating(self, events: int) -> None:
        """Wait as long as streaming *events* would have taken (a non-streamed reply is no faster to write)."""
        if self.event_gap > 0 and events > 1:
            time.sleep(self.event_gap * (events - 1))

    def send_error(self, error: ApiError, *, close: bool = False) -> None:
        """The §1.3 envelope; *close* drops the connection (an unread body)."""
        headers = dict(error.headers)
        if close:
            headers["Connection"] = "close"
            self.handler.close_connection = True
        self.send_json(error.status, error.body(self.request_id), headers)

    def send_bytes(self, data: bytes, content_type: str, headers: dict[str, str], *, throttle: bool = False) -> None:
        """A binary response, written at most ``bandwidth`` bytes/s when *throttle*."""
        self._head(200, {"Content-Type": content_type, "Content-Length": str(len(data)), **headers})
        started = time.monotonic()
        for offset in range(0, len(data), _CHUNK):
            if offset + _CHUNK >= len(data):
                self.finishing()
            self.handler.wfile.write(data[offset : offset + _CHUNK])
            if throttle:
                self._pace(offset + _CHUNK, started)

    def send_file(self, path: Path, content_type: str) -> None:
        """A file from disk, read and written in chunks (never held whole)."""
        size = path.stat().st_size
        self._head(200, {"Content-Type": content_type, "Content-Length": str(size)})
        sent = 0
        with path.open("rb") as stream:
            while sent < size and (chunk := stream.read(min(_CHUNK, size - sent))):
                sent += len(chunk)
                if sent >= size:
                    self.finishing()
                self.handler.wfile.write(chunk)
        if size == 0:
            self.finishing()

    def send_stream(self, events: Generator[sse.Event, None, None], fault: StreamFault | None) -> None:
        """Stream *events*; a *fault* closes the connection or sends ``event: error`` mid-way."""
        stream_headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        self._head(200, {**stream_headers, "Transfer-Encoding": "chunked"})
        sent = 0
        try:
            for name, data in events:
                if fault is not None and sent == fault.after_events:
                    if fault.error_type is None:
                        self.handler.wfile.flush()
                        self.handler.close_connection = True
                        return
                    message = "Overloaded" if fault.error_type == "overloaded_error" else "Internal server error"
                    self._chunk(sse.frame(*sse.error_event(fault.error_type, message, self.request_id)))
                    break
                if sent and self.event_gap > 0:
                    time.sleep(self.event_gap)
                self._chunk(sse.frame(name, data))
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            self.handler.close_connection = True
            return
        except Exception:
            log.exception("stand-in failed while streaming")
            self._chunk(sse.frame(*sse.error_event("api_error", "Internal server error", self.request_id)))
        finally:
            events.close()
        self.finishing()
        self.handler.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.handler.wfile.flush()
