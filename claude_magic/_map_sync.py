"""The sync engine: N concurrent streamed requests, one ordinary turn per input, each in its own container.

Each input runs through ``_runner.TurnRunner`` as a fresh one-turn conversation, so it gets the
runner's ``pause_turn`` continuation, attachment recovery and concurrent downloads. A runner
keeps no state between runs; the API client and the upload manager are shared and thread-safe.
A failure is that input's error, never the map's. Ctrl-C stops starting new inputs and stops
waiting; requests already sent finish in the background and are not collected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from claude_magic._client import ApiClient
from claude_magic._map_items import ItemCollector, item_folder
from claude_magic._map_store import MapRun, RunItem
from claude_magic._map_values import MapItem
from claude_magic._runner import FileCheck, TurnRequest, TurnRunner, TurnSettings
from claude_magic._uploads import Checked
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import Turn, UploadedFile

ItemListener = Callable[[MapItem], None]


class SyncEngine:
    """Runs map items as concurrent ordinary turns.

    Parameters
    ----------
    client
        The API client.
    check_files
        Makes sure an input's file is still on the server before it is attached (``UploadManager.check``).
    concurrency
        How many inputs run at once.
    """

    def __init__(self, client: ApiClient, check_files: FileCheck, *, concurrency: int) -> None:
        self._client = client
        self._check_files = check_files
        self._concurrency = concurrency

    def run(self, run: MapRun, items: Sequence[RunItem], on_item: ItemListener) -> dict[str, MapItem]:
        """Run every item; returns them by custom id."""
        collector = ItemCollector(self._client, run.settings)
        done: dict[str, MapItem] = {}
        pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="claude-map-sync")
        try:
            futures: set[Future[MapItem]] = {pool.submit(self._one, run, collector, item) for item in items}
            while futures:
                finished, futures = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = future.result()
                    done[item.custom_id] = item
                    on_item(item)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return done

    def _one(self, run: MapRun, collector: ItemCollector, item: RunItem) -> MapItem:
        settings = run.settings
        turn_settings = TurnSettings(
            model=settings.model,
            max_tokens=settings.max_tokens,
            tool_version=settings.tool_version,
            stream=True,
            folder=item_folder(Path(settings.folder), item.name),
            max_continuations=settings.max_continuations,
        )
        runner = TurnRunner(self._client, _trusting_first(self._check_files), lambda: (item.file,))
        started = time.monotonic()
        try:
            outcome = runner.run(TurnRequest(item.prompt, (), None, (item.file,), turn_settings), lambda event: None)
        except ClaudeMagicError as exc:
            return collector.not_run(item, "errored", str(exc))
        turn = Turn(
            prompt=item.prompt,
            steps=outcome.steps,
            model=outcome.model,
            files=outcome.files,
            usage=outcome.usage,
            container=outcome.container,
            stop_reason=outcome.stop_reason,
            duration=time.monotonic() - started,
            segments=outcome.segments,
            notices=outcome.notices,
        )
        content = outcome.history[-1]["content"] if outcome.history else []
        return collector.from_turn(item, turn, content)


def _trusting_first(check: FileCheck) -> FileCheck:
    """*check*, except that its first call trusts the files: the map uploaded or verified them just now.

    The runner checks attachments before it sends them; for an input the map has just uploaded
    (or found on the server, which ``UploadManager.upload`` verifies) that is one more request per
    input for nothing. Later calls (recovering from a lost file after an error) really check.
    """
    calls = [0]

    def checked(files: Sequence[UploadedFile]) -> Checked:
        calls[0] += 1
        if calls[0] == 1:
            return Checked(tuple(files), (), (), ())
        return check(files)

    return checked
