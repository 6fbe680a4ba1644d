"""``RecordingProxy``: a reverse proxy on 127.0.0.1 that records every exchange into a cassette.

Point a client at ``proxy.base_url`` instead of the API: each request is forwarded to the upstream
base URL as it came (credentials included, asking for an uncompressed body), and the response goes
back as it arrives: event streams event by event, with keep-alive and ``TCP_NODELAY`` on both sides.
What was exchanged is written to the cassette without credentials (see ``cassette``).
Standard library only.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from http.server import BaseHTTPRequestHandler
from os import PathLike
from typing import Any
from urllib.parse import urlsplit

from claude_magic.testing.cassette import (
    CassetteWriter,
    Headers,
    Secrets,
    SseParser,
    decoded,
    header,
    sse_event,
)
from claude_magic.testing.ids import new_id
from claude_magic.testing.loopback import Handler, LoopbackServer

log = logging.getLogger("claude_magic.testing")

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)
_CHUNK = 64 * 1024


def read_request_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request's body, by ``Content-Length`` or chunked."""
    if "chunked" in handler.headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


class RecordingProxy(LoopbackServer):
    """A recording reverse proxy; use as a context manager or call ``start()``/``stop()``.

    Parameters
    ----------
    upstream
        Base URL requests are forwarded to, e.g. ``https://api.anthropic.com`` or a stand-in's URL.
    cassette
        The cassette folder to write (replaced when the first exchange is recorded).
    host, port
        Where to listen; port 0 picks a free one.
    timeout
        Seconds to wait for the upstream to answer.
    """

    def __init__(
        self,
        upstream: str,
        cassette: str | PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 600.0,
    ) -> None:
        url = urlsplit(upstream)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"upstream must be an http(s) base URL, not {upstream!r}")
        self._scheme = url.scheme
        self._upstream_host = url.hostname
        self._upstream_port = url.port
        self._prefix = url.path.rstrip("/")
        self.timeout = timeout
        self.writer = CassetteWriter(cassette, recorder="proxy", upstream=upstream, secrets=Secrets.from_environment())
        super().__init__(host, port)

    thread_name = "claude-recorder"
    what = "the recorder"

    def connection_closed(self, handler: Handler) -> None:
        upstream = handler.state.pop("upstream", None)
        if upstream is not None:
            upstream.close()

    @property
    def recorded(self) -> int:
        """How many exchanges have been written."""
        return self.writer.count

    # -- forwarding ------------------------------------------------------------------------------

    def _connect(self) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._upstream_host, self._upstream_port, timeout=self.timeout)
        connection = http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=self.timeout)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _send_upstream(
        self, handler: Handler, method: str, target: str, body: bytes, headers: Headers
    ) -> http.client.HTTPResponse:
        """Send on the handler's upstream connection; a reused connection that went stale is reopened once."""
        for attempt in range(2):
            connection = handler.state.get("upstream")
            reused = connection is not None
            if connection is None:
                connection = handler.state["upstream"] = self._connect()
            try:
                connection.putrequest(method, self._prefix + target, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.endheaders(body or None)
                return connection.getresponse()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                connection.close()
                handler.state.pop("upstream", None)
                if not reused or attempt:
                    raise
        raise AssertionError("unreachable")

    def handle(self, handler: Handler) -> None:
        seq, started = self.writer.begin()
        method, target = handler.command, handler.path
        try:
            body = read_request_body(handler)
        except (ConnectionError, ValueError):
            handler.close_connection = True
            return
        incoming: Headers = list(handler.headers.items())
        outgoing = [(k, v) for k, v in incoming if k.lower() not in _HOP_BY_HOP | {"accept-encoding", "content-length"}]
        outgoing += [("Host", self._host_header()), ("Accept-Encoding", "identity")]
        if body or method in ("POST", "PUT", "PATCH"):
            outgoing.append(("Content-Length", str(len(body))))
        request = self.writer.request_record(method, target, incoming, body)
        sent = time.monotonic()
        try:
            upstream = self._send_upstream(handler, method, target, body, outgoing)
        except OSError as exc:
            self._unreachable(handler, exc)
            return
        waited = time.monotonic() - sent
        headers: Headers = list(upstream.getheaders())
        passed = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP | {"content-length"}]
        complete = False
        try:
            if header(headers, "content-type").startswith("text/event-stream"):
                events, complete = self._stream(handler, upstream, passed)
                response = self.writer.response_record(upstream.status, headers, None, events)
            else:
                data = upstream.read()
                handler.send_response(upstream.status)
                for name, value in passed:
                    handler.send_header(name, value)
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                if method != "HEAD":
                    handler.wfile.write(data)
                complete = True
                plain = decoded(data, header(headers, "content-encoding"))
                kept = headers if plain is not None else [*headers, ("x-recorded-encoding", "raw")]
                response = self.writer.response_record(upstream.status, kept, plain if plain is not None else data)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
            complete = False
            return
        finally:
            if (upstream.will_close or not complete) and "upstream" in handler.state:
                handler.state.pop("upstream").close()  # unread bytes would corrupt the next exchange
        self.writer.write(seq, started, waited, request, response, complete=complete)

    def _stream(
        self, handler: Handler, upstream: http.client.HTTPResponse, headers: Headers
    ) -> tuple[list[dict[str, Any]], bool]:
        """Pass an event stream through as it arrives; the events with their offsets, and whether it ended."""
        handler.send_response(upstream.status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        parser, events, began = SseParser(), [], time.monotonic()
        complete = True
        while True:
            try:
                chunk = upstream.read1(_CHUNK)
            except (OSError, http.client.IncompleteRead):
                complete = False
                handler.close_connection = True
                break
            if not chunk:
                break
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            handler.wfile.flush()
            offset = time.monotonic() - began
            events += [sse_event(offset, name, data) for name, data in parser.feed(chunk)]
        if complete:
            handler.wfile.write(b"0\r\n\r\n")
        return events, complete

    def _host_header(self) -> str:
        default = 443 if self._scheme == "https" else 80
        port = self._upstream_port
        return self._upstream_host if port in (None, default) else f"{self._upstream_host}:{port}"

    def _unreachable(self, handler: Handler, exc: OSError) -> None:
        """A 502 in the API's envelope; nothing is recorded."""
        log.warning("recorder could not reach %s: %s", self._upstream_host, exc)
        message = f"The recording proxy could not reach {self._upstream_host} ({type(exc).__name__}: {exc})"
        request_id = new_id("req")
        body = json.dumps(
            {"type": "error", "error": {"type": "api_error", "message": message}, "request_id": request_id}
        ).encode()
        handler.send_response(502)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("request-id", request_id)
        handler.send_header("x-should-retry", "false")
        handler.end_headers()
        handler.wfile.write(body)
