"""The endpoints: ``/v1/files`` (upload, list, metadata, download, delete), ``/v1/messages`` and ``/v1/skills``.

``Routes`` answers one checked request on an ``Exchange``; the server (``server.py``) owns the
sockets, the request log and the injected faults.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import quote

from claude_magic.testing import messages, multipart, sse
from claude_magic.testing.batches import BatchStore
from claude_magic.testing.envelope import ApiError, bad_request, not_found
from claude_magic.testing.exchange import Exchange
from claude_magic.testing.faults import Faults
from claude_magic.testing.files import (
    MAX_EXPIRES_IN,
    MAX_FILE_BYTES,
    MIN_EXPIRES_IN,
    FileStore,
    clean_filename,
    mime_type_for,
)
from claude_magic.testing.model import ScriptedModel

MULTIPART_SLACK = 64 * 1024
_FILE_PATH = re.compile(r"^/v1/files/([^/]+)(/content)?$")
_BATCH_PATH = re.compile(r"^/v1/messages/batches/([^/]+)(?:/(cancel|results))?$")


class Routes:
    """Answers requests from the file store and the scripted model; counts uploaded bytes."""

    def __init__(
        self, files: FileStore, model: ScriptedModel, faults: Faults, batches: BatchStore | None = None
    ) -> None:
        self.files = files
        self.model = model
        self.faults = faults
        self.batches = batches
        self.uploaded = 0
        self._lock = threading.Lock()

    def route(
        self,
        exchange: Exchange,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        payload: object,
    ) -> None:
        """Answer one request (errors are raised as ``ApiError``)."""
        if path == "/v1/messages" and method == "POST":
            self._messages(exchange, payload, headers)
        elif path == "/v1/messages/count_tokens" and method == "POST":
            exchange.send_json(200, messages.count_tokens(payload, self.model, headers))
        elif path.startswith("/v1/messages/batches") and self.batches is not None:
            self._batches(exchange, self.batches, method, path, query, headers, body, payload)
        elif path == "/v1/skills" or path.startswith("/v1/skills/"):
            multipart_body = method == "POST" and "multipart/form-data" in headers.get("content-type", "")
            parts = multipart.parse(headers.get("content-type", ""), body) if multipart_body else None
            exchange.send_json(200, self.model.skills.route(method, path, query, parts))
        elif path == "/v1/files" and method == "POST":
            self._upload(exchange, headers.get("content-type", ""), body)
        elif path == "/v1/files" and method == "GET":
            exchange.send_json(200, self.files.list_page(query))
        elif match := _FILE_PATH.match(path):
            file_id, content = match.group(1), bool(match.group(2))
            if method == "GET" and content:
                stored = self.files.content(file_id)
                disposition = {"Content-Disposition": _attachment(stored.filename)}
                exchange.send_bytes(stored.data, stored.mime_type, disposition, throttle=True)
            elif method == "GET":
                exchange.send_json(200, self.files.get(file_id).metadata())
            elif method == "DELETE" and not content:
                self.files.delete(file_id)
                exchange.send_json(200, {"id": file_id, "type": "file_deleted"})
            else:
                raise ApiError(405, f"Method {method} not allowed on {path}")
        else:
            raise not_found(f"Not found: {method} {path}")

    def _upload(self, exchange: Exchange, content_type: str, body: bytes) -> None:
        with self._lock:
            self.uploaded += len(body)
        parts = multipart.parse(content_type, body)
        file_part = next((p for p in parts if p.name == "file"), None)
        if file_part is None:
            raise bad_request("file: Field required")
        if len(file_part.data) > MAX_FILE_BYTES:
            raise too_large()
        expires_in = None
        if raw := next((p.data for p in parts if p.name == "expires_in_seconds"), None):
            try:
                expires_in = int(raw.decode().strip())
            except ValueError:
                raise bad_request("expires_in_seconds: Input should be a valid integer") from None
            if not MIN_EXPIRES_IN <= expires_in <= MAX_EXPIRES_IN:
                raise bad_request(
                    f"expires_in_seconds: must be between {MIN_EXPIRES_IN} (one hour) and "
                    f"{MAX_EXPIRES_IN} (ninety days)"
                )
        mime = mime_type_for(file_part.filename or "")
        if mime == "application/octet-stream" and file_part.content_type:
            mime = file_part.content_type.split(";")[0].strip() or mime
        filename = clean_filename(file_part.filename, mime)
        stored = self.files.add(filename, file_part.data, mime_type=mime, expires_in=expires_in)
        exchange.send_json(200, stored.metadata())

    def _messages(self, exchange: Exchange, payload: object, headers: dict[str, str]) -> None:
        prepared = messages.prepare(payload, self.model, headers)
        if prepared.stream:
            exchange.send_stream(sse.events(prepared), self.faults.take_stream_fault())
        else:
            content = list(prepared.run.blocks())
            exchange.generating(sse.event_count(content))
            exchange.send_json(200, prepared.message(content))

    def _batches(
        self,
        exchange: Exchange,
        store: BatchStore,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        payload: object,
    ) -> None:
        base_url = f"http://{headers.get('host', '127.0.0.1')}"
        if path == "/v1/messages/batches":
            if method == "POST":
                exchange.send_json(200, store.create(payload, len(body)).wire(base_url))
            elif method == "GET":
                exchange.send_json(200, store.list_page(query, base_url))
            else:
                raise ApiError(405, f"Method {method} not allowed on {path}")
            return
        match = _BATCH_PATH.match(path)
        if match is None:
            raise not_found(f"Not found: {method} {path}")
        batch_id, action = match.groups()
        if action == "results" and method == "GET":
            exchange.send_file(store.results_file(batch_id), "application/binary")
        elif action == "cancel" and method == "POST":
            exchange.send_json(200, store.cancel_batch(batch_id).wire(base_url))
        elif action is None and method == "GET":
            exchange.send_json(200, store.get(batch_id).wire(base_url))
        elif action is None and method == "DELETE":
            exchange.send_json(200, store.delete(batch_id))
        else:
            raise ApiError(405, f"Method {method} not allowed on {path}")


def json_body(headers: dict[str, str], body: bytes) -> object:
    """The request's JSON payload, or None when it has none."""
    if not body or "json" not in headers.get("content-type", ""):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def too_large() -> ApiError:
    """The 413 for a body over the limit."""
    return ApiError(413, "Request exceeds the maximum allowed number of bytes.", error_type="request_too_large")


def check_auth(headers: dict[str, str]) -> None:
    """401 unless the request carries ``x-api-key`` or a bearer token (any value)."""
    bearer = headers.get("authorization", "")
    if headers.get("x-api-key") or (bearer.lower().startswith("bearer ") and bearer[7:].strip()):
        return
    message = "invalid x-api-key" if bearer else "x-api-key header is required"
    raise ApiError(401, message, error_type="authentication_error")


def _attachment(filename: str) -> str:
    """``Content-Disposition`` for *filename*: an ASCII fallback plus the RFC 5987 UTF-8 form."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
