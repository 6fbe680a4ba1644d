"""Provenance: every output of a turn carries where it came from, and exports write a manifest. No secrets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

from claude_magic import __version__
from claude_magic.testing import StandIn
from test_magics import MAKE_PNG, magics, ok, posts, script


class MetadataPublisher(DisplayPublisher):
    """Records the last data and metadata published for each display id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def publish(  # type: ignore[override]
        self, data: dict[str, Any], metadata: dict[str, Any] | None = None, *args: Any, **kwargs: Any
    ) -> None:
        display_id = (kwargs.get("transient") or {}).get("display_id") or f"anonymous-{len(self.last)}"
        self.last[display_id] = (data, metadata or {})


def test_every_output_of_a_turn_carries_its_provenance(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Plotting."}, {"python": MAKE_PNG}, {"text": "Done."}]))
    publisher = MetadataPublisher(shell=shell)
    shell.display_pub = publisher
    shell.run_cell("%%claude_exec\nDraw red.", store_history=False)
    outputs = [(data, meta) for data, meta in publisher.last.values() if data.get("text/plain")]
    assert len(outputs) >= 4  # text, code, image, text, footer
    turn = magics(shell).turns[-1]
    for _data, meta in outputs:
        record = meta["claude_magic"]
        assert record["version"] == __version__ and record["model"] == turn.model
        assert record["tool_version"] == posts(standin)[-1].json["tools"][0]["type"]
        assert turn.container is not None and record["container_id"] == turn.container.id
        assert record["request_ids"] and all(rid.startswith("req_") for rid in record["request_ids"])
        assert record["usage"]["output_tokens"] == turn.usage.output_tokens
        (file,) = record["files"]
        png = turn.files[0]
        assert png.path is not None and file["sha256"] == hashlib.sha256(png.path.read_bytes()).hexdigest()
    assert "test-key" not in json.dumps([meta for _, meta in outputs])


def test_export_writes_a_manifest_beside_the_code(shell: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    standin.set_script(script([{"python": "print(6 * 7)"}]))
    ok(shell, "%%claude_exec\nCompute.")
    ok(shell, "%claude_export --file out/analysis.py")
    for path in (tmp_path / "claude_export" / "manifest.json", tmp_path / "out" / "analysis.manifest.json"):
        manifest = json.loads(path.read_text())
        (turn,) = manifest["turns"]
        assert turn["model"] and turn["container_id"].startswith("container_") and turn["request_ids"]
        assert "test-key" not in path.read_text()
