"""``/v1/messages/batches``: Message Batches, each request answered by the scripted model.

The shapes are the SDK's (``anthropic/types/messages/message_batch*.py``): a batch object with
``processing_status`` (``in_progress`` → ``canceling`` → ``ended``) and ``request_counts``, and a
``.jsonl`` results file of ``{custom_id, result}`` lines, ``result`` being ``succeeded`` (with the
``Message``), ``errored`` (with the error envelope), ``canceled`` or ``expired``. As the SDK says,
requests count as ``processing`` until the whole batch has ended; results are not in request order.

Documented limits (api-spec §13): at most 100,000 requests or 256 MB per batch (``max_requests``,
``max_bytes``; 413 ``request_too_large`` past the size). Each request runs as a non-streamed
``POST /v1/messages`` would, concurrently on ``workers`` threads after ``processing_delay`` seconds,
each in its own container unless it names one; ``usage.service_tier`` is ``"batch"``. Results are
written to disk as items finish and streamed from there, so neither side holds a whole batch.

``fail_items(match, outcome)`` makes the requests whose custom id or newest user text matches a regex
end ``errored`` or ``expired`` instead of running (the 24-hour expiry is not otherwise simulated).
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from claude_magic.testing import messages
from claude_magic.testing.envelope import ApiError, bad_request, not_found
from claude_magic.testing.ids import new_id, now, rfc3339
from claude_magic.testing.model import ScriptedModel

MAX_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024
BATCH_LIFETIME = timedelta(hours=24)
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_STATUSES = ("succeeded", "errored", "canceled", "expired")

Outcome = Literal["errored", "expired"]


@dataclass
class ItemRule:
    """Requests whose custom id or newest user text matches ``pattern`` end with ``outcome``."""

    pattern: re.Pattern[str]
    outcome: Outcome
    error_type: str = "api_error"
    message: str = "Internal server error"
    remaining: int | None = None  # None: every match

    def take(self, custom_id: str, text: str) -> bool:
        if self.remaining == 0 or not (self.pattern.search(custom_id) or self.pattern.search(text)):
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


@dataclass
class Batch:
    """One batch: its requests, what became of them, and where its results file is."""

    id: str
    requests: list[tuple[str, dict[str, Any]]]
    results_path: Path
    created_at: datetime = field(default_factory=now)
    processing_status: str = "in_progress"
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_STATUSES, 0))
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wire(self, base_url: str) -> dict[str, Any]:
        """The ``MessageBatch`` object."""
        ended = self.processing_status == "ended"
        done = sum(self.counts.values()) if ended else 0
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.processing_status,
            "request_counts": {
                "processing": len(self.requests) - done,
                **(self.counts if ended else dict.fromkeys(_STATUSES, 0)),
            },
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.created_at + BATCH_LIFETIME),
            "ended_at": rfc3339(self.ended_at) if self.ended_at else None,
            "cancel_initiated_at": rfc3339(self.cancel_initiated_at) if self.cancel_initiated_at else None,
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


class BatchStore:
    """The batches of one stand-in, processed in the background by the scripted model."""

    def __init__(self, root: Path, model: ScriptedModel, *, workers: int = 4) -> None:
        self.root = root
        self.model = model
        self.workers = workers
        self.processing_delay = 0.0
        self.max_requests = MAX_REQUESTS
        self.max_bytes = MAX_BATCH_BYTES
        self.batches: dict[str, Batch] = {}
        self._rules: list[ItemRule] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        root.mkdir(parents=True, exist_ok=True)

    def fail_items(
        self,
        match: str,
        outcome: Outcome = "errored",
        *,
        error_type: str = "api_error",
        message: str = "Internal server error",
        count: int | None = None,
    ) -> None:
        """Requests matching *match* (a regex on the custom id or the newest user text) end with *outcome*."""
        with self._lock:
            self._rules.append(ItemRule(re.compile(match), outcome, error_type, message, count))

    def close(self) -> None:
        """Stop processing (the stand-in is stopping)."""
        self._closed.set()
        for batch in list(self.batches.values()):
            batch.cancel.set()

    # -- endpoints -------------------------------------------------------------------------------

    def create(self, payload: object, body_size: int) -> Batch:
        """``POST /v1/messages/batches``: check the requests and start processing them."""
        if body_size > self.max_bytes:
            raise ApiError(
                413,
                f"Batch exceeds the maximum size of {self.max_bytes // 2**20} MB.",
                error_type="request_too_large",
            )
        raw = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(raw, list) or not raw:
            raise bad_request("requests: Field required (a non-empty list)")
        if len(raw) > self.max_requests:
            raise bad_request(f"requests: a batch holds at most {self.max_requests:,} requests, got {len(raw):,}")
        seen: set[str] = set()
        requests: list[tuple[str, dict[str, Any]]] = []
        for index, request in enumerate(raw):
            custom_id = request.get("custom_id") if isinstance(request, dict) else None
            params = request.get("params") if isinstance(request, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                raise bad_request(f"requests.{index}.custom_id: 1-64 letters, digits, '_' or '-'")
            if custom_id in seen:
                raise bad_request(f"requests.{index}.custom_id: {custom_id!r} is not unique in this batch")
            if not isinstance(params, dict):
                raise bad_request(f"requests.{index}.params: Field required")
            if params.get("stream"):
                raise bad_request(f"requests.{index}.params.stream: batch requests cannot be streamed")
            seen.add(custom_id)
            requests.append((custom_id, params))
        batch_id = new_id("msgbatch", stem="01")
        batch = Batch(batch_id, requests, self.root / f"{batch_id}.jsonl")
        batch.results_path.touch()
        with self._lock:
            self.batches[batch_id] = batch
        threading.Thread(target=self._process, args=(batch,), name=f"standin-{batch_id}", daemon=True).start()
        return batch

    def get(self, batch_id: str) -> Batch:
        """The batch, or a 404."""
        with self._lock:
            batch = self.batches.get(batch_id)
        if batch is None:
            raise not_found(f"Message batch not found: {batch_id}")
        return batch

    def cancel_batch(self, batch_id: str) -> Batch:
        """``POST …/{id}/cancel``: requests not started yet end ``canceled``; running ones finish."""
        batch = self.get(batch_id)
        with batch.lock:
            if batch.processing_status == "in_progress":
                batch.processing_status = "canceling"
                batch.cancel_initiated_at = now()
                batch.cancel.set()
        return batch

    def delete(self, batch_id: str) -> dict[str, Any]:
        """``DELETE …/{id}``: only once the batch has ended."""
        batch = self.get(batch_id)
        if batch.processing_status != "ended":
            raise bad_request(f"Message batch {batch_id} is still processing: cancel it first.")
        with self._lock:
            del self.batches[batch_id]
        batch.results_path.unlink(missing_ok=True)
        return {"id": batch_id, "type": "message_batch_deleted"}

    def results_file(self, batch_id: str) -> Path:
        """The ``.jsonl`` results of an ended batch."""
        batch = self.get(batch_id)
        if batch.processing_status != "ended":
            raise bad_request(f"Message batch {batch_id} has not finished processing; its results are not ready.")
        return batch.results_path

    def list_page(self, query: dict[str, list[str]], base_url: str) -> dict[str, Any]:
        """``GET /v1/messages/batches``: newest first, ``limit`` (1-1000), ``after_id`` / ``before_id``."""
        try:
            limit = int((query.get("limit") or ["20"])[0])
        except ValueError:
            raise bad_request("limit: Input should be a valid integer") from None
        if not 1 <= limit <= 1000:
            raise bad_request("limit: must be between 1 and 1000")
        with self._lock:
            ordered = sorted(self.batches.values(), key=lambda b: b.created_at, reverse=True)
        ids = [batch.id for batch in ordered]
        start, stop = 0, len(ordered)
        if after := (query.get("after_id") or [""])[0]:
            start = ids.index(after) + 1 if after in ids else len(ids)
        elif before := (query.get("before_id") or [""])[0]:
            stop = ids.index(before) if before in ids else 0
            start = max(0, stop - limit)
        chunk = ordered[start : min(stop, start + limit)]
        return {
            "data": [batch.wire(base_url) for batch in chunk],
            "has_more": start + limit < stop,
            "first_id": chunk[0].id if chunk else None,
            "last_id": chunk[-1].id if chunk else None,
        }

    # -- processing ------------------------------------------------------------------------------

    def _process(self, batch: Batch) -> None:
        batch.cancel.wait(self.processing_delay)
        with ThreadPoolExecutor(self.workers, thread_name_prefix=f"standin-{batch.id}") as pool:
            for _ in pool.map(lambda item: self._run_item(batch, *item), batch.requests):
                pass
        with batch.lock:
            batch.processing_status = "ended"
            batch.ended_at = now()

    def _run_item(self, batch: Batch, custom_id: str, params: dict[str, Any]) -> None:
        if batch.cancel.is_set() or self._closed.is_set():
            self._write(batch, custom_id, {"type": "canceled"})
            return
        rule = self._rule_for(custom_id, params)
        if rule is not None and rule.outcome == "expired":
            self._write(batch, custom_id, {"type": "expired"})
            return
        request_id = new_id("req")
        if rule is not None:
            error = ApiError(500 if rule.error_type == "api_error" else 400, rule.message, error_type=rule.error_type)
            self._write(batch, custom_id, {"type": "errored", "error": error.body(request_id)})
            return
        try:
            prepared = messages.prepare(params, self.model)
            content = list(prepared.run.blocks())
            message = prepared.message(content)
        except ApiError as exc:
            self._write(batch, custom_id, {"type": "errored", "error": exc.body(request_id)})
            return
        except Exception:  # a stand-in bug or a stopped stand-in: the item's error, as on the API
            error = ApiError(500, "Internal server error")
            self._write(batch, custom_id, {"type": "errored", "error": error.body(request_id)})
            return
        message["usage"]["service_tier"] = "batch"
        self._write(batch, custom_id, {"type": "succeeded", "message": message})

    def _rule_for(self, custom_id: str, params: dict[str, Any]) -> ItemRule | None:
        text = _newest_user_text(params.get("messages"))
        with self._lock:
            return next((rule for rule in self._rules if rule.take(custom_id, text)), None)

    def _write(self, batch: Batch, custom_id: str, result: dict[str, Any]) -> None:
        line = json.dumps({"custom_id": custom_id, "result": result}) + "\n"
        with batch.lock:
            batch.counts[result["type"]] += 1
            with batch.results_path.open("a", encoding="utf-8") as stream:
                stream.write(line)


def _newest_user_text(raw: object) -> str:
    for message in reversed(raw if isinstance(raw, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "\n".join(
                str(block.get("text", "")) for block in content or () if isinstance(block, dict) and "text" in block
            )
    return ""
