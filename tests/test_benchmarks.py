"""The benchmark suite still runs: one tiny repeat of every scenario (figures are printed, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_suite_runs_once_on_small_data_and_writes_its_results(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- bench:start -->\nold\n<!-- bench:end -->\ntail\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--repeats",
            "1",
            "--quick",
            "--out",
            str(tmp_path),
            "--readme",
            str(readme),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    names = {figure["name"] for figure in results["figures"]}
    for expected in (
        "Load: %load_ext claude_magic",
        "First cell right after load",
        "First cell once the background import is done",
        "10-turn conversation, median of turns 6-10",
        "8 output files at 0.2 s latency",
        "3-cell churn session, client time (wall − server)",
        "First visible output (think 0.5 s, 30 ms between events)",
    ):
        assert expected in names, sorted(names)
    assert any(name.startswith("Dedupe hit") for name in names)
    assert any(name.startswith("Peak RSS") for name in names)
    assert any(name.startswith("Render a code step with 5 MB") for name in names)
    table = (tmp_path / "results.md").read_text()
    assert table.startswith("| Figure |") and "tutorial script" in table
    text = readme.read_text()
    assert "old" not in text and "| Figure |" in text and text.endswith("<!-- bench:end -->\ntail\n")
