"""One input of a map, from its answer to a ``MapItem``: steps, downloads, paused answers, the record on disk.

A batch answer that stopped with ``pause_turn`` is continued with ordinary (streamed) requests in
the item's container. How to continue a pause inside a batch item is not documented (api-spec §7,
§13): the batch has no follow-up request, and a paused turn can only go on by sending it back
unchanged as the last message, with the same tools and its container. An ordinary request does
exactly that, billed at the ordinary price.

Each item's whole turn (its content blocks and the files saved) is written as JSON next to the
outputs, under ``<map folder>/.turns/``; ``load_turn`` rebuilds the ``Turn`` from it, so a result
holds only a summary per item. Knows nothing of IPython; reaches the API through ``_client``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from claude_magic._client import ApiClient
from claude_magic._downloads import Downloader, safe_filename
from claude_magic._map_store import RunItem, RunSettings
from claude_magic._map_values import MapItem
from claude_magic._pricing import estimate_batch_cost, estimate_cost
from claude_magic._prompts import describe_attachments
from claude_magic._turns import TurnAssembler
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import CodeStep, ContainerInfo, EditStep, OutputFile, Response, TextStep, Turn, Usage

STDOUT_EXCERPT = 400  # characters of the end of the item's stdout kept in the table
_RECORDS = ".turns"  # a name sandbox files cannot take: safe_filename drops leading dots


def item_folder(folder: Path, name: str) -> Path:
    """Where input *name*'s output files go: ``<map folder>/<safe name>/``."""
    return folder / safe_filename(name, fallback="input")


def user_message(item: RunItem) -> dict[str, Any]:
    """The request's one user message: the input's ``container_upload``, the note on it, the prompt."""
    return {
        "role": "user",
        "content": [
            {"type": "container_upload", "file_id": item.file.file_id},
            {"type": "text", "text": describe_attachments([item.file])},
            {"type": "text", "text": item.prompt},
        ],
    }


def batch_params(item: RunItem, settings: RunSettings) -> dict[str, Any]:
    """The ``params`` of the input's batch request (non-streaming ``messages.create`` parameters)."""
    return {
        "model": settings.model,
        "max_tokens": settings.max_tokens,
        "messages": [user_message(item)],
        "tools": [{"type": settings.tool_version, "name": "code_execution"}],
    }


class ItemCollector:
    """Turns one answered request into a ``MapItem``, downloading its files and finishing a pause."""

    def __init__(self, client: ApiClient, settings: RunSettings) -> None:
        self._client = client
        self._settings = settings
        self._folder = Path(settings.folder)

    def not_run(self, item: RunItem, status: str, error: str | None = None) -> MapItem:
        """An item with no answer (errored, expired or canceled)."""
        return MapItem(item.name, status, custom_id=item.custom_id, error=error)

    def from_batch(self, item: RunItem, response: Response) -> MapItem:
        """A succeeded batch answer; a ``pause_turn`` is continued with ordinary requests."""
        assembler = TurnAssembler()
        downloader = Downloader(self._client, item_folder(self._folder, item.name))
        pending: list[tuple[str, Future[OutputFile]]] = []
        content: list[dict[str, Any]] = []
        counter = [0]

        def on_block(kind: Any, index: int, block: dict[str, Any]) -> None:
            for tool_use_id, file_id in assembler.on_block(kind, counter[0] + index, block):
                pending.append((tool_use_id, downloader.submit(file_id)))

        def take(answer: Response) -> None:
            for index, block in enumerate(answer.content):
                on_block("start", index, block)
                on_block("stop", index, block)
            counter[0] += len(answer.content)
            content.extend(answer.content)

        take(response)
        last, container, extra, error, segments = response, response.container, Usage(), None, 1
        try:
            while last.stop_reason == "pause_turn" and segments <= self._settings.max_continuations:
                if container is None:
                    error = "Claude paused and the answer names no container to continue in."
                    break
                last = self._client.send(
                    model=self._settings.model,
                    max_tokens=self._settings.max_tokens,
                    messages=[user_message(item), {"role": "assistant", "content": list(content)}],
                    tool_version=self._settings.tool_version,
                    container_id=container.id,
                )
                take(last)
                extra, segments = extra + last.usage, segments + 1
                container = last.container or container
        except ClaudeMagicError as exc:
            error = f"Claude paused; continuing in its container failed: {exc}"
        finally:
            files = _finish_downloads(assembler, pending)
            downloader.close()
        usage = response.usage + extra
        cost = estimate_batch_cost(response.model, response.usage, extra if segments > 1 else None)
        return self._summary(
            item, assembler, files, content, usage, cost, container, last.stop_reason, response.model, segments, error
        )

    def from_turn(self, item: RunItem, turn: Turn, content: Sequence[dict[str, Any]]) -> MapItem:
        """A turn the sync engine ran (``TurnRunner``): already downloaded, priced at the ordinary price."""
        assembler = TurnAssembler()
        assembler.steps = list(turn.steps)
        cost = estimate_cost(turn.model, turn.usage, turn.duration)
        return self._summary(
            item,
            assembler,
            list(turn.files),
            list(content),
            turn.usage,
            cost,
            turn.container,
            turn.stop_reason,
            turn.model,
            turn.segments,
            None,
        )

    def _summary(
        self,
        item: RunItem,
        assembler: TurnAssembler,
        files: list[OutputFile],
        content: list[dict[str, Any]],
        usage: Usage,
        cost: float | None,
        container: ContainerInfo | None,
        stop_reason: str | None,
        model: str,
        segments: int,
        error: str | None,
    ) -> MapItem:
        steps = assembler.steps
        texts = [step.text for step in steps if isinstance(step, TextStep) and step.text.strip()]
        stdout = "".join(
            step.result.stdout for step in steps if isinstance(step, CodeStep | EditStep) and step.result is not None
        )
        if stop_reason == "pause_turn" and error is None:
            error = f"Claude was still working after {segments} answers (pause_turn): rerun it with --retry."
        record = self._write_record(item, content, files, usage, container, stop_reason, model, segments)
        return MapItem(
            name=item.name,
            status="errored" if error else "succeeded",
            custom_id=item.custom_id,
            text=texts[-1] if texts else "",
            stdout=stdout[-STDOUT_EXCERPT:],
            files=tuple(file.path for file in files if file.path is not None),
            usage=usage,
            cost=cost,
            container=container.id if container else None,
            error=error,
            stop_reason=stop_reason,
            record=record,
        )

    def _write_record(
        self,
        item: RunItem,
        content: list[dict[str, Any]],
        files: list[OutputFile],
        usage: Usage,
        container: ContainerInfo | None,
        stop_reason: str | None,
        model: str,
        segments: int,
    ) -> Path:
        folder = self._folder / _RECORDS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{safe_filename(item.name, fallback='input')}.json"
        record = {
            "prompt": item.prompt,
            "model": model,
            "stop_reason": stop_reason,
            "container": container.id if container else None,
            "segments": segments,
            "usage": [usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens,
                      usage.cache_creation_input_tokens, usage.code_execution_requests],
            "content": content,
            "files": [
                {"file_id": f.file_id, "name": f.name, "media_type": f.media_type, "size": f.size,
                 "path": str(f.path) if f.path else None, "error": f.error}
                for f in files
            ],
        }  # fmt: skip
        path.write_text(json.dumps(record))
        return path


def load_turn(path: Path) -> Turn:
    """Rebuild an item's ``Turn`` from its record (images read back from disk)."""
    record = json.loads(path.read_text())
    files: dict[str, OutputFile] = {}
    for entry in record["files"]:
        local = Path(entry["path"]) if entry["path"] else None
        data = local.read_bytes() if local and local.is_file() and entry["media_type"].startswith("image/") else None
        files[entry["file_id"]] = OutputFile(
            entry["file_id"], entry["name"], entry["media_type"], entry["size"], local, data, entry["error"]
        )
    assembler = TurnAssembler()
    produced: list[tuple[str, str]] = []
    for index, block in enumerate(record["content"]):
        produced.extend(assembler.on_block("start", index, block))
        assembler.on_block("stop", index, block)
    for tool_use_id, file_id in produced:
        if file_id in files:
            assembler.attach_files(tool_use_id, [files[file_id]])
    container = record["container"]
    return Turn(
        prompt=record["prompt"],
        steps=tuple(assembler.steps),
        model=record["model"],
        files=tuple(files.values()),
        usage=Usage(*record["usage"]),
        container=ContainerInfo(container) if container else None,
        stop_reason=record["stop_reason"],
        segments=record["segments"],
    )


def _finish_downloads(assembler: TurnAssembler, pending: list[tuple[str, Future[OutputFile]]]) -> list[OutputFile]:
    files: list[OutputFile] = []
    for tool_use_id, future in pending:
        file = future.result()
        assembler.attach_files(tool_use_id, [file])
        files.append(file)
    return files
