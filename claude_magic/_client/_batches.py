"""The Message Batches area of ``ApiClient``: create, retrieve, cancel, and stream results.

Never imports ``anthropic`` itself: it goes through the SDK client ``ApiClient`` holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from claude_magic._batch_types import BatchItemResult, BatchStatus
from claude_magic._client._base import SdkHolder
from claude_magic._client._convert import _batch_item, _batch_status
from claude_magic._client._errors import _translated_errors


class BatchesApi(SdkHolder):
    """Message Batches methods of ``ApiClient``."""

    def create_batch(self, requests: Sequence[Mapping[str, Any]]) -> BatchStatus:
        """Submit ``{"custom_id", "params"}`` requests (``params`` as for ``messages.create``) as one batch."""
        with _translated_errors(timeout=self.timeout):
            batch = self._sdk.messages.batches.create(requests=list(requests))  # type: ignore[arg-type]
        return _batch_status(batch)

    def retrieve_batch(self, batch_id: str) -> BatchStatus:
        """The batch's processing status and request counts."""
        with _translated_errors(timeout=self.timeout):
            return _batch_status(self._sdk.messages.batches.retrieve(batch_id))

    def cancel_batch(self, batch_id: str) -> BatchStatus:
        """Ask the API to cancel the batch: requests not started end ``canceled``."""
        with _translated_errors(timeout=self.timeout):
            return _batch_status(self._sdk.messages.batches.cancel(batch_id))

    def batch_results(self, batch_id: str) -> Iterator[BatchItemResult]:
        """The results of an ended batch, one line at a time, streamed from the ``.jsonl`` file.

        The response body is streamed (``with_streaming_response``), so only one line is held at a
        time however large the batch; the connection closes when the iterator is exhausted or closed.
        """
        with (
            _translated_errors(timeout=self.timeout),
            self._sdk.messages.batches.with_streaming_response.results(batch_id) as raw,
        ):
            for line in raw.parse():
                yield _batch_item(line)
