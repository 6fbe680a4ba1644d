"""The hand-written way, as the tutorials teach it: the baseline every figure is compared with.

Upload the CSV with ``client.files.upload``, call ``messages.create`` (not streaming) with the
code execution tool and a ``container_upload`` block, keep the container id for the next call,
print the blocks, then download each output file one after another. Nothing here is ours:
only the ``anthropic`` SDK, written the way the docs' examples are.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

import anthropic

MODEL = "claude-sonnet-5"
TOOLS: list[Any] = [{"type": "code_execution_20250825", "name": "code_execution"}]


def upload_csv(client: anthropic.Anthropic, frame: Any, name: str = "data.csv") -> str:
    """``df.to_csv`` then ``client.files.upload``; returns the file id."""
    data = frame.to_csv(index=False).encode()
    uploaded = client.files.upload(file=(name, io.BytesIO(data), "text/csv"))
    return uploaded.id


def upload_path(client: anthropic.Anthropic, path: Path) -> str:
    """Upload a file from disk, the docs' way (``open(path, "rb")``)."""
    with path.open("rb") as stream:
        uploaded = client.files.upload(file=(path.name, stream, "text/csv"))
    return uploaded.id


def print_blocks(content: list[Any], out: IO[str]) -> None:
    """Print each block the way the tutorials do: text, code, and the tool results' stdout/stderr."""
    for block in content:
        if block.type == "text":
            print(block.text, file=out)
        elif block.type == "server_tool_use":
            code = block.input.get("code") or block.input.get("command") or block.input.get("file_text") or ""
            print(f"[{block.name}]\n{code}", file=out)
        elif block.type.endswith("_tool_result"):
            result = block.content
            for attribute in ("stdout", "stderr", "content"):
                value = getattr(result, attribute, None)
                if isinstance(value, str) and value:
                    print(value, file=out)


def output_file_ids(content: list[Any]) -> list[str]:
    """The file ids the code produced (``..._output`` items of the tool results)."""
    ids = []
    for block in content:
        result = getattr(block, "content", None)
        for item in getattr(result, "content", None) or []:
            file_id = getattr(item, "file_id", None)
            if file_id:
                ids.append(file_id)
    return ids


def download_all(client: anthropic.Anthropic, file_ids: list[str], folder: Path) -> list[Path]:
    """Download each file one after another: its metadata for the name, then its content."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_id in file_ids:
        meta = client.files.retrieve_metadata(file_id)
        path = folder / Path(meta.filename).name
        client.files.download(file_id).write_to_file(path)
        paths.append(path)
    return paths


class Conversation:
    """A multi-turn script: the history, the container id, the first message's ``container_upload``."""

    def __init__(self, client: anthropic.Anthropic, folder: Path, *, max_tokens: int = 4096) -> None:
        self.client = client
        self.folder = folder
        self.max_tokens = max_tokens
        self.messages: list[Any] = []
        self.container_id: str | None = None

    def ask(self, prompt: str, out: IO[str], *, file_id: str | None = None) -> list[Path]:
        """One turn: create, print, download; returns the downloaded files."""
        content: list[Any] = [{"type": "text", "text": prompt}]
        if file_id is not None:
            content.insert(0, {"type": "container_upload", "file_id": file_id})
        self.messages.append({"role": "user", "content": content})
        extra: dict[str, Any] = {"container": self.container_id} if self.container_id else {}
        response = self.client.messages.create(
            model=MODEL, max_tokens=self.max_tokens, messages=self.messages, tools=TOOLS, **extra
        )
        if response.container is not None:
            self.container_id = response.container.id
        self.messages.append({"role": "assistant", "content": response.content})
        print_blocks(response.content, out)
        return download_all(self.client, output_file_ids(response.content), self.folder)
