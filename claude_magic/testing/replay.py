"""``ReplayServer``: serves a cassette on 127.0.0.1, so a recorded session re-runs offline.

Each request is answered with the first unused recorded exchange it matches (see ``matching``):
the recorded status, headers and body, event streams with their recorded timing (``speed`` times
faster; 0 means no waiting). A request that matches nothing gets a 400 in the API's error envelope
naming the closest recorded request and where the two differ. Responses carry
``x-claude-magic-replay``, so a recorder in front of a replay records nothing.
Standard library only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from os import PathLike
from urllib.parse import urlsplit

from claude_magic.testing.cassette import REPLAY_HEADER, Cassette, Exchange, Headers, sse_frame
from claude_magic.testing.ids import new_id
from claude_magic.testing.loopback import Handler, LoopbackServer
from claude_magic.testing.matching import IdMap, Key, closest, incoming_key, recorded_key
from claude_magic.testing.recorder import read_request_body

log = logging.getLogger("claude_magic.testing")

_NOT_REPLAYED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"})
_SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A request the cassette had no answer for, and the message it was answered with."""

    method: str
    path: str
    message: str


class ReplayServer(LoopbackServer):
    """Serves a cassette; use as a context manager or call ``start()``/``stop()``.

    Parameters
    ----------
    cassette
        The cassette folder (``python -m claude_magic.testing record`` or ``recording_http_client`` wrote it).
    host, port
        Where to listen; port 0 picks a free one.
    speed
        How much faster than recorded to replay waits and event streams; 0 (the default) does not wait.
    fresh_ids
        Hand out new ids instead of the recorded ones (mapped back when requests name them).
    """

    def __init__(
        self,
        cassette: str | PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 0.0,
        fresh_ids: bool = False,
    ) -> None:
        self.cassette = Cassette(cassette)
        self.speed = speed
        self.ids = IdMap(fresh=fresh_ids)
        self.served: list[int] = []  # seq of each exchange served, in order
        self.unmatched: list[Unmatched] = []
        self._keys = [(exchange, recorded_key(exchange)) for exchange in self.cassette]
        self._used: set[int] = set()
        self._lock = threading.Lock()
        super().__init__(host, port)

    thread_name = "claude-replay"
    what = "the replay server"

    @property
    def unused(self) -> list[Exchange]:
        """Recorded exchanges not served (yet)."""
        return [exchange for exchange in self.cassette if exchange.seq not in self._used]

    # -- matching --------------------------------------------------------------------------------

    def find(self, key: Key) -> Exchange | None:
        """The recorded exchange to answer *key* with, marked used; None if nothing matches."""
        with self._lock:
            same = [(exchange, other) for exchange, other in self._keys if _same_target(key, other)]
            exact = [exchange for exchange, other in same if other.body == key.body]
            loose = [exchange for exchange, other in same if other.loose_body == key.loose_body]
            chosen = next((e for e in exact if e.seq not in self._used), None)
            if chosen is None and key.method in _SAFE_METHODS and exact:
                chosen = exact[-1]  # a repeated read: answer as last time
            if chosen is None and key.loose_body != key.body:
                # An upload whose bytes changed (another pyarrow writes other parquet bytes): same names suffice.
                chosen = next((e for e in loose if e.seq not in self._used), None)
            if chosen is not None:
                self._used.add(chosen.seq)
                self.served.append(chosen.seq)
            return chosen

    def _unmatched_message(self, key: Key) -> str:
        where = f"{key.method} {key.path}" + (f"?{key.query}" if key.query else "")
        message = f"Replay: no recorded exchange in {self.cassette.folder.name} matches {where}."
        found = closest(key, self._keys)
        if found is None:
            return message + " The cassette is empty."
        exchange, ratio, difference = found
        state = "already used" if exchange.seq in self._used else "unused"
        return f"{message} Closest recorded: {exchange.label} ({ratio:.0%} similar, {state}); {difference}."

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, handler: Handler) -> None:
        try:
            body = read_request_body(handler)
        except (ConnectionError, ValueError):
            handler.close_connection = True
            return
        url = urlsplit(handler.path)
        headers: Headers = [(k.lower(), v) for k, v in handler.headers.items()]
        key = incoming_key(self.ids, handler.command, url.path, url.query, headers, body)
        exchange = self.find(key)
        try:
            if exchange is None:
                self._refuse(handler, key)
            else:
                self._replay(handler, exchange)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _wait(self, seconds: float, since: float) -> None:
        if self.speed > 0:
            remaining = since + seconds / self.speed - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)

    def _replay(self, handler: Handler, exchange: Exchange) -> None:
        arrived = time.monotonic()
        response = exchange.response
        body = response["body"]
        headers = [(k, self.ids.to_live(v)) for k, v in response["headers"] if k not in _NOT_REPLAYED]
        headers.append((REPLAY_HEADER, str(exchange.seq)))
        self._wait(exchange.waited, arrived)
        handler.send_response(response["status"])
        for name, value in headers:
            handler.send_header(name, value)
        if body["kind"] == "sse":
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            began = time.monotonic()
            for event in body["events"]:
                self._wait(event["t"], began)
                data = event.get("text", "")
                if "data" in event:
                    data = json.dumps(event["data"], separators=(",", ":"), ensure_ascii=False)
                chunk = sse_frame(event["event"], self.ids.to_live(data))
                handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            return
        if body["kind"] == "json":
            data = self.ids.to_live(json.dumps(body["json"], ensure_ascii=False)).encode()
        elif body["kind"] in ("bytes", "multipart"):
            data = self.cassette.body(body)
        else:
            data = b""
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def _refuse(self, handler: Handler, key: Key) -> None:
        message = self._unmatched_message(key)
        log.warning("%s", message)
        self.unmatched.append(Unmatched(key.method, key.path, message))
        request_id = new_id("req")
        payload = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        data = json.dumps({**payload, "request_id": request_id}).encode()
        handler.send_response(400)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("request-id", request_id)
        handler.send_header("x-should-retry", "false")
        handler.send_header(REPLAY_HEADER, "unmatched")
        handler.end_headers()
        handler.wfile.write(data)


def _same_target(key: Key, other: Key) -> bool:
    return (key.method, key.path, key.query) == (other.method, other.path, other.query)
