"""Provenance: what a turn's outputs carry in their metadata, and the manifest beside exported code.

Stdlib only. Everything here is safe to save in a notebook and share: model, tool version,
container id, request ids, file ids with their SHA-256, token usage, the cost estimate and this
extension's version; never a credential, never a header.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from claude_magic import _pricing as pricing
from claude_magic._version import __version__
from claude_magic.results import Turn

METADATA_KEY: Final = "claude_magic"


def provenance(turn: Turn) -> dict[str, Any]:
    """The JSON-ready provenance of one turn."""
    cost = pricing.estimate_cost(turn.model, turn.usage, turn.duration)
    return {
        "version": __version__,
        "model": turn.model,
        "tool_version": turn.tool_version,
        "container_id": turn.container.id if turn.container is not None else None,
        "request_ids": list(turn.request_ids),
        "prompt_sha256": hashlib.sha256(turn.prompt.encode()).hexdigest(),
        "files": [
            {"file_id": file.file_id, "name": file.name, "size": file.size, "sha256": file.sha256}
            for file in turn.files
            if file.error is None
        ],
        "usage": {
            "input_tokens": turn.usage.input_tokens,
            "output_tokens": turn.usage.output_tokens,
            "cache_read_input_tokens": turn.usage.cache_read_input_tokens,
            "cache_creation_input_tokens": turn.usage.cache_creation_input_tokens,
            "code_execution_requests": turn.usage.code_execution_requests,
        },
        "cost_estimate_usd": round(cost, 6) if cost is not None else None,
        "stop_reason": turn.stop_reason,
        "segments": turn.segments,
    }


def output_metadata(turn: Turn) -> dict[str, Any]:
    """The ``metadata`` of each display a turn leaves in the notebook."""
    return {METADATA_KEY: provenance(turn)}


def write_export_manifest(path: Path, turns: Sequence[Turn], inputs: Sequence[Path]) -> Path:
    """Write the manifest of an export: which turns the code came from, and the inputs it reads."""
    manifest = {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": __version__,
        "turns": [provenance(turn) for turn in turns],
        "inputs": [
            {"path": str(file), "size": file.stat().st_size, "sha256": _file_sha256(file)}
            for file in inputs
            if file.is_file()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=1))
    return path


def _file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
