"""The batch engine: one Message Batch with a request per input, polled, then its results streamed.

Submitting records the batch id and its items in the ``MapStore`` first thing, so a kernel restart
loses nothing that was paid for. Waiting polls ``retrieve`` with a growing interval (most batches end
within an hour); a Ctrl-C stops the waiting only: the batch goes on, and ``resume`` picks it up.
Results are read line by line from the ``.jsonl`` stream and turned into items on a small pool with
a bounded window, so memory does not grow with the batch. Knows nothing of IPython; reaches the API
through ``_client``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from claude_magic._batch_types import BatchItemResult, BatchStatus
from claude_magic._client import ApiClient
from claude_magic._map_items import ItemCollector, batch_params
from claude_magic._map_store import SUBMITTED, MapRun, MapStore, RunItem
from claude_magic._map_values import MapItem
from claude_magic.errors import ApiError, ClaudeMagicError

MAX_BATCH_BYTES = 256 * 1024 * 1024  # documented limit of one batch request body (api-spec §13)
FIRST_POLL = 0.2  # seconds; the interval grows by half each time up to the ceiling
POLL_GROWTH = 1.5
DEFAULT_POLL_CEILING = 30.0

StatusListener = Callable[[BatchStatus], None]
ItemListener = Callable[[MapItem], None]


class BatchEngine:
    """Runs map items as one Message Batch.

    Parameters
    ----------
    client
        The API client.
    store
        Where the batch id and its items are recorded.
    poll_ceiling
        The longest wait between two status polls, in seconds.
    """

    def __init__(self, client: ApiClient, store: MapStore, *, poll_ceiling: float = DEFAULT_POLL_CEILING) -> None:
        self._client = client
        self._store = store
        self._poll_ceiling = poll_ceiling

    def submit(self, run: MapRun, items: Sequence[RunItem]) -> MapRun:
        """Create the batch and record it with its items; returns the run under the batch's id."""
        requests = [{"custom_id": item.custom_id, "params": batch_params(item, run.settings)} for item in items]
        size = sum(len(json.dumps(request)) for request in requests)
        if size > MAX_BATCH_BYTES:
            raise ClaudeMagicError(
                f"The batch would be {size / 2**20:,.0f} MB, over the API's {MAX_BATCH_BYTES // 2**20} MB per "
                "batch: map over fewer inputs at a time, or shorten the prompt."
            )
        status = self._client.create_batch(requests)
        submitted = MapRun(status.id, run.name, "batch", run.created, SUBMITTED, run.settings)
        self._store.add(submitted, items)
        return submitted

    def wait(self, batch_id: str, report: StatusListener) -> BatchStatus:
        """Poll until the batch has ended; *report* hears every status."""
        interval = FIRST_POLL
        while True:
            status = self.status(batch_id)
            report(status)
            if status.ended:
                return status
            time.sleep(interval)
            interval = min(interval * POLL_GROWTH, self._poll_ceiling)

    def status(self, batch_id: str) -> BatchStatus:
        """The batch's status; an unknown id is said in words."""
        try:
            return self._client.retrieve_batch(batch_id)
        except ApiError as exc:
            if exc.status == 404:
                raise ClaudeMagicError(
                    f"The API knows no batch {batch_id} for this key (results are kept 29 days)."
                ) from exc
            raise

    def cancel(self, batch_id: str) -> BatchStatus:
        """Ask the API to cancel the batch."""
        self.status(batch_id)  # an unknown id in words
        return self._client.cancel_batch(batch_id)

    def collect(
        self, run: MapRun, items: Sequence[RunItem], on_item: ItemListener, *, concurrency: int = 8
    ) -> dict[str, MapItem]:
        """Read the ended batch's results and make each an item (downloading its files), *concurrency* at once."""
        by_id = {item.custom_id: item for item in items}
        collector = ItemCollector(self._client, run.settings)
        done: dict[str, MapItem] = {}
        window: set[Future[MapItem]] = set()
        with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="claude-map-collect") as pool:
            for result in self._results(run.run_id):
                item = by_id.get(result.custom_id)
                if item is None:
                    continue  # not one of ours (the store was written by another version)
                window.add(pool.submit(_collect, collector, item, result))
                if len(window) >= 2 * max(1, concurrency):
                    finished, window = _wait_some(window)
                    _take(finished, done, on_item)
            while window:
                finished, window = _wait_some(window)
                _take(finished, done, on_item)
        for item in items:  # a request the results do not mention is not lost silently
            if item.custom_id not in done:
                missing = collector.not_run(item, "errored", "The batch's results do not mention this input.")
                done[item.custom_id] = missing
                on_item(missing)
        return done

    def _results(self, batch_id: str) -> Iterator[BatchItemResult]:
        return self._client.batch_results(batch_id)


def _collect(collector: ItemCollector, item: RunItem, result: BatchItemResult) -> MapItem:
    if result.status == "succeeded" and result.response is not None:
        return collector.from_batch(item, result.response)
    if result.status == "errored":
        kind = f"{result.error_type}: " if result.error_type else ""
        where = f" (request id {result.request_id})" if result.request_id else ""
        return collector.not_run(item, "errored", f"{kind}{result.error_message or 'no message'}{where}")
    if result.status == "expired":
        return collector.not_run(item, "expired", "The batch expired (24 hours) before this input ran.")
    return collector.not_run(item, "canceled", "The batch was canceled before this input ran.")


def _wait_some(window: set[Future[MapItem]]) -> tuple[set[Future[MapItem]], set[Future[MapItem]]]:
    finished, rest = wait(window, return_when=FIRST_COMPLETED)
    return set(finished), set(rest)


def _take(finished: set[Future[MapItem]], done: dict[str, MapItem], on_item: ItemListener) -> None:
    for future in finished:
        item = future.result()
        done[item.custom_id] = item
        on_item(item)
