"""Cassettes: recorded HTTP exchanges of a session, without credentials, in a folder.

A cassette folder holds ``cassette.json`` (what recorded it), ``exchanges.jsonl`` (one exchange per
line, in the order the requests arrived) and ``bodies/`` (request and response bodies that are not
JSON, such as uploads and downloaded files, each named by its sha256). One exchange::

    {"seq": 0, "started": 0.012, "waited": 0.2, "duration": 1.4,
     "request": {"method": "POST", "path": "/v1/messages", "query": {"beta": ["true"]},
                 "headers": [["content-type", "application/json"], ...],
                 "body": {"kind": "json", "json": {...}}},
     "response": {"status": 200, "headers": [["request-id", "req_..."], ...],
                  "body": {"kind": "sse", "events": [{"t": 0.001, "event": "message_start", "data": {...}}, ...]}}}

Body kinds: ``empty``; ``json`` (inline); ``sse`` (each event with ``t``, seconds after the response
headers); ``multipart`` (the raw body in ``bodies/<sha256>`` and a summary of its ``parts``); ``bytes``
(``bodies/<sha256>``). ``started`` is seconds after recording began, ``waited`` seconds until the
response headers, ``duration`` seconds until the last byte.

Credentials never reach the folder: ``Authorization``, ``x-api-key``, cookies and any header whose value
holds a secret are dropped, and every secret seen (the request's key or token, and the recording
process's ``ANTHROPIC_API_KEY`` / ``ANTHROPIC_AUTH_TOKEN``) is replaced by ``[REDACTED]`` in whatever is
written. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from claude_magic.testing import multipart
from claude_magic.testing.envelope import ApiError

FORMAT: str = "claude_magic.cassette"
VERSION: int = 1
META = "cassette.json"
EXCHANGES = "exchanges.jsonl"
BODIES = "bodies"
REDACTED = "[REDACTED]"
# A replay server marks its responses, so recording a replay writes nothing (and cannot overwrite the tape).
REPLAY_HEADER = "x-claude-magic-replay"

Headers = list[tuple[str, str]]

_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie", "set-cookie"})
# Not credentials, but they name the account or mean nothing once the bytes are stored.
_DROPPED_HEADERS = _CREDENTIAL_HEADERS | {
    "anthropic-organization-id",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "content-encoding",
    "host",
}
_MIN_SECRET = 8  # shorter "secrets" would redact ordinary text


class Secrets:
    """Every credential seen so far, to drop from headers and redact from everything written."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        for value in values:
            self.add(value)

    @classmethod
    def from_environment(cls) -> Secrets:
        """The recording process's own key and token, if set."""
        return cls([os.environ.get("ANTHROPIC_API_KEY"), os.environ.get("ANTHROPIC_AUTH_TOKEN")])

    def add(self, value: str | None) -> None:
        """Remember *value* (and its token part, for ``Bearer <token>``)."""
        if not value:
            return
        value = value.strip()
        token = value.split(None, 1)[1] if value.lower().startswith("bearer ") and " " in value else value
        with self._lock:
            for candidate in {value, token.strip()}:
                if len(candidate) >= _MIN_SECRET:
                    self._values.add(candidate)

    def learn(self, headers: Iterable[tuple[str, str]]) -> None:
        """Remember the credentials a request carries."""
        for name, value in headers:
            if name.lower() in ("authorization", "x-api-key", "proxy-authorization"):
                self.add(value)

    def text(self, value: str) -> str:
        """*value* with every secret replaced by ``[REDACTED]``."""
        for secret in self._snapshot():
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        """*value* with every secret replaced by ``[REDACTED]``."""
        for secret in self._snapshot():
            value = value.replace(secret.encode(), REDACTED.encode())
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> Headers:
        """Lower-cased headers without credentials, hop-by-hop headers or any value holding a secret."""
        secrets = self._snapshot()
        return [
            (name.lower(), value)
            for name, value in headers
            if name.lower() not in _DROPPED_HEADERS and not any(secret in value for secret in secrets)
        ]

    def _snapshot(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)


class SseParser:
    """Splits a byte stream into server-sent events as it arrives."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        """The events completed by *chunk*, as ``(event name, data text)``."""
        self._buffer += chunk.replace(b"\r\n", b"\n")
        events = []
        while b"\n\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n\n", 1)
            name, data = "message", []
            for line in raw.decode("utf-8", "replace").split("\n"):
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
            if data or name != "message":
                events.append((name, "\n".join(data)))
        return events


def sse_frame(name: str, data: str) -> bytes:
    """One event on the wire."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {name}\n{lines}\n".encode()


def decoded(body: bytes, encoding: str) -> bytes | None:
    """*body* without its ``Content-Encoding`` (gzip or deflate); None for an encoding we cannot undo."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return None


def header(headers: Iterable[tuple[str, str]], name: str) -> str:
    """The first value of header *name* ("" if absent)."""
    return next((value for key, value in headers if key.lower() == name), "")


def split_target(target: str) -> tuple[str, dict[str, list[str]]]:
    """A request target (``/v1/files?limit=5``) as its path and its query."""
    url = urlsplit(target)
    return url.path, parse_qs(url.query, keep_blank_values=True)


def public_url(url: str) -> str:
    """*url* without user info (which could hold a password)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parts_summary(content_type: str, body: bytes) -> list[dict[str, Any]] | None:
    """Each part of a multipart body (name, file name, type, sha256, size); None if it is not multipart."""
    try:
        parts = multipart.parse(content_type, body)
    except ApiError:
        return None
    return [
        {
            "name": part.name,
            "filename": part.filename,
            "content_type": part.content_type,
            "sha256": hashlib.sha256(part.data).hexdigest(),
            "size": len(part.data),
        }
        for part in parts
    ]


class CassetteWriter:
    """Appends exchanges to a cassette folder, thread-safely; the folder is (re)written on the first one.

    Parameters
    ----------
    folder
        The cassette folder; an existing cassette in it is replaced when the first exchange is written.
    recorder
        What records (``proxy`` or ``client``), kept in ``cassette.json``.
    upstream
        The API base URL being recorded, if known (user info is dropped).
    secrets
        Credentials to keep out; the recording process's own are always added.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        recorder: str,
        upstream: str | None = None,
        secrets: Secrets | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.secrets = secrets or Secrets()
        for value in (os.environ.get("ANTHROPIC_API_KEY"), os.environ.get("ANTHROPIC_AUTH_TOKEN")):
            self.secrets.add(value)
        self.recorder = recorder
        self.upstream = public_url(upstream) if upstream else None
        self.count = 0
        self.replayed = 0  # responses from a replay server, not recorded
        self._origin = time.monotonic()
        self._seq = 0
        self._lock = threading.Lock()
        self._opened = False
        self._pending: dict[str, bytes] = {}  # bodies by sha256, until their exchange is written

    def begin(self) -> tuple[int, float]:
        """A sequence number and start offset for a request that just arrived."""
        with self._lock:
            self._seq += 1
            return self._seq - 1, time.monotonic() - self._origin

    def offset(self) -> float:
        """Seconds since recording began."""
        return time.monotonic() - self._origin

    def request_record(self, method: str, target: str, headers: Headers, body: bytes) -> dict[str, Any]:
        """The ``request`` member of an exchange (bodies stored, secrets redacted)."""
        self.secrets.learn(headers)
        path, query = split_target(target)
        return {
            "method": method.upper(),
            "path": path,
            "query": query,
            "headers": self.secrets.headers(headers),
            "body": self._body(header(headers, "content-type"), body),
        }

    def response_record(
        self, status: int, headers: Headers, body: bytes | None, events: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The ``response`` member: *events* for a stream, else *body* (already decoded)."""
        record_body = (
            {"kind": "sse", "events": events}
            if events is not None
            else self._body(header(headers, "content-type"), body or b"")
        )
        return {"status": status, "headers": self.secrets.headers(headers), "body": record_body}

    def write(
        self,
        seq: int,
        started: float,
        waited: float,
        request: dict[str, Any],
        response: dict[str, Any],
        *,
        complete: bool = True,
    ) -> None:
        """Append one exchange and its bodies; a replay server's responses are not recorded."""
        digests = [body["file"] for body in (request["body"], response["body"]) if "file" in body]
        with self._lock:
            bodies = {digest: self._pending.pop(digest) for digest in digests if digest in self._pending}
        if header(response["headers"], REPLAY_HEADER):
            self.replayed += 1
            return
        exchange: dict[str, Any] = {
            "seq": seq,
            "started": round(started, 6),
            "waited": round(waited, 6),
            "duration": round(self.offset() - started, 6),
            "request": request,
            "response": response,
        }
        if not complete:
            exchange["complete"] = False
        line = self.secrets.text(json.dumps(exchange, ensure_ascii=False, separators=(",", ":")))
        with self._lock:
            self._open()
            for digest, data in bodies.items():
                if not (self.folder / BODIES / digest).exists():
                    (self.folder / BODIES / digest).write_bytes(data)
            with (self.folder / EXCHANGES).open("a", encoding="utf-8") as out:
                out.write(line + "\n")
            self.count += 1

    def _open(self) -> None:
        if self._opened:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / EXCHANGES).write_text("")
        shutil.rmtree(self.folder / BODIES, ignore_errors=True)
        (self.folder / BODIES).mkdir()
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "recorder": self.recorder,
            "upstream": self.upstream,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (self.folder / META).write_text(self.secrets.text(json.dumps(meta, indent=2)) + "\n")
        self._opened = True

    def _store(self, data: bytes) -> str:
        """Keep *data* until its exchange is written (a replayed one never is)."""
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._pending[digest] = data
        return digest

    def _body(self, content_type: str, body: bytes) -> dict[str, Any]:
        if not body:
            return {"kind": "empty"}
        body = self.secrets.data(body)
        if "json" in content_type:
            try:
                return {"kind": "json", "json": json.loads(body)}
            except ValueError:
                pass
        summary = parts_summary(content_type, body) if content_type.startswith("multipart/") else None
        kind = "multipart" if summary is not None else "bytes"
        record: dict[str, Any] = {"kind": kind, "file": self._store(body), "size": len(body)}
        if summary is not None:
            record["parts"] = summary
        return record


def sse_event(offset: float, name: str, data: str) -> dict[str, Any]:
    """One recorded event: its offset, name and data (parsed when it is JSON)."""
    event: dict[str, Any] = {"t": round(offset, 6), "event": name}
    try:
        event["data"] = json.loads(data)
    except ValueError:
        event["text"] = data
    return event


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request and its response, as read back from ``exchanges.jsonl``."""

    seq: int
    started: float
    waited: float
    request: dict[str, Any]
    response: dict[str, Any]

    @property
    def label(self) -> str:
        """``#3 POST /v1/messages``."""
        return f"#{self.seq} {self.request['method']} {self.request['path']}"


class Cassette:
    """A cassette folder, read: its exchanges in request order and its stored bodies."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        path = self.folder / EXCHANGES
        if not path.is_file():
            raise FileNotFoundError(f"{self.folder} is not a cassette: it has no {EXCHANGES}")
        self.meta: dict[str, Any] = (
            json.loads((self.folder / META).read_text()) if (self.folder / META).is_file() else {}
        )
        if self.meta.get("version", VERSION) > VERSION:
            raise ValueError(f"{self.folder} was written by a newer claude_magic (format {self.meta['version']})")
        exchanges = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.exchanges = [
            Exchange(item["seq"], item["started"], item["waited"], item["request"], item["response"])
            for item in sorted(exchanges, key=lambda item: item["seq"])
        ]

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges)

    def __len__(self) -> int:
        return len(self.exchanges)

    def body(self, record: dict[str, Any]) -> bytes:
        """The bytes of a ``bytes`` or ``multipart`` body record."""
        path: Path = self.folder / BODIES / str(record["file"])
        return path.read_bytes()
