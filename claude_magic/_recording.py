"""Record a session's HTTP exchanges from inside the process, into a cassette folder.

``recording_http_client(folder)`` returns an ``httpx2.Client`` (the SDK's HTTP stack) whose transport
writes every exchange in the cassette format of ``claude_magic.testing.cassette``, credentials removed;
pass it to ``anthropic.Anthropic(http_client=...)``. Responses reach the SDK unchanged and as they
arrive: a stream is recorded event by event, with its timing, while the SDK reads it.

Imports ``httpx2``, never ``anthropic``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2

from claude_magic.testing.cassette import CassetteWriter, Headers, Secrets, SseParser, decoded, header, sse_event

# The SDK's own defaults (anthropic._constants), which a custom http_client would otherwise lose.
_TIMEOUT = httpx2.Timeout(timeout=600.0, connect=5.0)
_LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)


class RecordingTransport(httpx2.BaseTransport):
    """Wraps a transport and writes each exchange to *writer* once its response is read or closed."""

    def __init__(self, inner: httpx2.BaseTransport, writer: CassetteWriter) -> None:
        self.inner = inner
        self.writer = writer

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send *request* through the inner transport; the response streams through a recorder."""
        seq, started = self.writer.begin()
        body = request.read()
        headers: Headers = request.headers.multi_items()
        target = request.url.raw_path.decode("ascii")
        record = self.writer.request_record(request.method, target, headers, body)
        if self.writer.upstream is None:
            self.writer.upstream = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        request.headers["accept-encoding"] = "identity"  # record bodies as they are, not compressed
        sent = time.monotonic()
        response = self.inner.handle_request(request)
        waited = time.monotonic() - sent
        stream = _RecordingStream(self, response, seq, started, waited, record)
        return httpx2.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class _RecordingStream(httpx2.SyncByteStream):
    def __init__(
        self,
        transport: RecordingTransport,
        response: httpx2.Response,
        seq: int,
        started: float,
        waited: float,
        request: dict[str, Any],
    ) -> None:
        self._transport = transport
        self._response = response
        self._seq, self._started, self._waited, self._request = seq, started, waited, request
        self._headers: Headers = response.headers.multi_items()
        self._sse = header(self._headers, "content-type").startswith("text/event-stream")
        self._parser = SseParser()
        self._events: list[dict[str, Any]] = []
        self._chunks: list[bytes] = []
        self._began = time.monotonic()
        self._finished = False
        self._written = False

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._response.stream, httpx2.SyncByteStream)
        for chunk in self._response.stream:
            if self._sse:
                offset = time.monotonic() - self._began
                self._events += [sse_event(offset, name, data) for name, data in self._parser.feed(chunk)]
            else:
                self._chunks.append(chunk)
            yield chunk
        self._finished = True

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            self._write()

    def _write(self) -> None:
        if self._written:
            return
        self._written = True
        writer = self._transport.writer
        status = self._response.status_code
        if self._sse:
            response = writer.response_record(status, self._headers, None, self._events)
        else:
            raw = b"".join(self._chunks)
            plain = decoded(raw, header(self._headers, "content-encoding"))
            headers = self._headers if plain is not None else [*self._headers, ("x-recorded-encoding", "raw")]
            response = writer.response_record(status, headers, plain if plain is not None else raw)
        writer.write(self._seq, self._started, self._waited, self._request, response, complete=self._finished)


def _socket_options() -> list[tuple[int, int, int | bool]]:
    """TCP keep-alive as the SDK sets it up, so long streams survive idle middleboxes."""
    options: list[tuple[int, int, int | bool]] = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)]
    for name, value in (("TCP_KEEPINTVL", 60), ("TCP_KEEPCNT", 5), ("TCP_KEEPIDLE", 60)):
        option = getattr(socket, name, None)
        if option is not None:
            options.append((socket.IPPROTO_TCP, option, value))
    return options


def recording_http_client(cassette_dir: str | os.PathLike[str], **httpx_kwargs: Any) -> httpx2.Client:
    """An ``httpx2.Client`` that records every exchange into the cassette folder *cassette_dir*.

    Parameters
    ----------
    cassette_dir
        The cassette folder; an existing cassette there is replaced when the first exchange is written.
    **httpx_kwargs
        Passed to ``httpx2.Client``; ``transport`` (if given) is wrapped. Timeout, limits and redirects
        default to the SDK's own.

    Examples
    --------
    >>> client = anthropic.Anthropic(http_client=recording_http_client("session.cassette"))  # doctest: +SKIP
    """
    limits = httpx_kwargs.setdefault("limits", _LIMITS)
    httpx_kwargs.setdefault("timeout", _TIMEOUT)
    httpx_kwargs.setdefault("follow_redirects", True)
    inner = httpx_kwargs.pop("transport", None) or httpx2.HTTPTransport(limits=limits, socket_options=_socket_options())
    writer = CassetteWriter(cassette_dir, recorder="client", secrets=Secrets.from_environment())
    return RecordingClient(transport=RecordingTransport(inner, writer), **httpx_kwargs)


class RecordingClient(httpx2.Client):
    """An ``httpx2.Client`` that records; says where, and how much it wrote."""

    @property
    def _writer(self) -> CassetteWriter:
        transport = self._transport
        assert isinstance(transport, RecordingTransport)
        return transport.writer

    @property
    def cassette_dir(self) -> Path:
        """The cassette folder."""
        return self._writer.folder

    @property
    def recorded(self) -> int:
        """Exchanges written so far."""
        return self._writer.count

    @property
    def replayed(self) -> int:
        """Responses that came from a replay server (not recorded again)."""
        return self._writer.replayed
