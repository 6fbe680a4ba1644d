"""%%claude_map through a real IPython shell, the real SDK and the stand-in."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from claude_magic.testing import Script, StandIn
from test_map import ANALYSE, analysis

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def months(tmp_path: Path) -> Path:
    folder = tmp_path / "months"
    folder.mkdir()
    for month in range(1, 4):
        (folder / f"2024-{month:02d}.csv").write_text(f"day,revenue\n1,{month}\n")
    return folder


def run(shell: InteractiveShell, source: str) -> tuple[ExecutionResult, CapturedIO]:
    with capture_output() as captured:
        result = shell.run_cell(source)
    return result, captured


def ok(shell: InteractiveShell, source: str) -> CapturedIO:
    result, captured = run(shell, source)
    assert result.error_in_exec is None, captured.stderr
    assert "Traceback" not in captured.stdout + captured.stderr
    return captured


def usage_error(shell: InteractiveShell, source: str) -> str:
    result, captured = run(shell, source)
    assert type(result.error_in_exec) is UsageError, (result.error_in_exec, captured.stderr)
    assert "Traceback" not in captured.stdout + captured.stderr
    lines = captured.stderr.strip().splitlines()
    assert len(lines) == 1, captured.stderr
    return lines[0]


def html_of(captured: CapturedIO) -> str:
    return "\n".join(o.data["text/html"] for o in captured.outputs if "claude-map" in o.data.get("text/html", ""))


def test_map_shows_a_table_with_thumbnails_and_keeps_the_frame(
    shell: InteractiveShell, standin: StandIn, months: Path, tmp_path: Path
) -> None:
    standin.set_script(analysis())
    shell.user_ns["region"] = "north"
    captured = ok(
        shell, f"%%claude_map {months}/*.csv --out monthly --name q1\nTotal of {{{{item}}}} in {{{{region}}}}."
    )
    frame = shell.user_ns["monthly"]
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["status"]) == ["succeeded"] * 3
    table = html_of(captured)
    assert table.count('<img src="data:image/png;base64,') == 3
    assert "q1: 3 inputs, 3 succeeded" in table
    assert (tmp_path / "downloads" / "q1" / "2024-03.csv" / "chart.png").is_file()
    posted = next(r.json for r in standin.requests if r.path == "/v1/messages/batches" and r.json)
    assert posted["requests"][1]["params"]["messages"][0]["content"][-1]["text"] == "Total of 2024-02.csv in north."
    assert "q1" in captured.stderr  # the progress bar (text in a terminal)
    from claude_magic import map_turn

    turn = map_turn(frame, "2024-02.csv")
    assert turn is not None and turn.text.endswith("The total is in.")
    assert "2024-02.csv total 2\n" in turn.code[-1].result.stdout  # type: ignore[union-attr]


def test_sync_engine_and_variables_holding_inputs(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"bash": 'ls "$INPUT_DIR"'}]}]}))
    shell.user_ns["regions"] = {"north": pd.DataFrame({"x": [1]}), HOSTILE: pd.DataFrame({"x": [2]})}
    captured = ok(shell, "%%claude_map regions --sync 2 --out out\nLook at {{item}}.")
    assert not [r for r in standin.requests if r.path == "/v1/messages/batches"]
    assert list(shell.user_ns["out"]["name"]) == ["north", HOSTILE]
    table = html_of(captured)
    assert HOSTILE not in table and "&lt;img src=x onerror=alert(1)&gt;" in table


def test_bad_inputs_are_one_line(shell: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as stream:
        stream.truncate(501 * 1024 * 1024)
    assert "No inputs match 'nothing/*.csv'" in usage_error(shell, "%%claude_map nothing/*.csv\nLook.")
    assert "huge.csv is 501.0 MB, over the Files API limit" in usage_error(shell, f"%%claude_map {huge}\nLook.")
    assert "--sync needs at least 1 request at a time (got 0)" in usage_error(
        shell, f"%%claude_map {huge} --sync 0\nLook."
    )
    assert "The prompt is empty" in usage_error(shell, f"%%claude_map {huge}\n  ")
    assert "Give the inputs" in usage_error(shell, "%%claude_map\nLook.")
    assert "{{nope}} in the prompt names no variable" in usage_error(shell, f"%%claude_map {huge}\n{{{{nope}}}}")
    assert "--retry and --cancel" in usage_error(shell, "%claude_map --retry x --cancel y")
    assert "no such variable" in usage_error(shell, "%claude_map --retry missing")
    assert "No batch is waiting" in usage_error(shell, "%claude_map --resume")
    assert standin.requests == []


def test_retry_resume_and_cancel(shell: InteractiveShell, standin: StandIn, months: Path) -> None:
    standin.set_script(analysis())
    standin.batches.fail_items("2024-02", "expired", count=1)
    ok(shell, f"%%claude_map {months}/*.csv --out first\nTotal of {{{{item}}}}.")
    assert list(shell.user_ns["first"]["status"]) == ["succeeded", "expired", "succeeded"]
    ok(shell, "%claude_map --retry first --out first")
    assert list(shell.user_ns["first"]["status"]) == ["succeeded"] * 3

    standin.batches.processing_delay = 30
    batch_ids_before = set(standin.batches.batches)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))  # Ctrl-C while it waits
    timer.start()
    result, captured = run(shell, f"%%claude_map {months}/2024-01.csv\nTotal of {{{{item}}}}.")
    timer.join()
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    (batch_id,) = set(standin.batches.batches) - batch_ids_before
    notice = "\n".join(o.data.get("text/plain", "") for o in captured.outputs)
    assert f"%claude_map --resume {batch_id}" in notice and f"%claude_map --cancel {batch_id}" in notice
    assert standin.batches.get(batch_id).processing_status == "in_progress"  # the batch goes on

    captured = ok(shell, f"%claude_map --cancel {batch_id}")
    assert "Canceling" in "\n".join(o.data.get("text/plain", "") for o in captured.outputs)
    ok(shell, "%claude_map --resume --out late")
    assert list(shell.user_ns["late"]["status"]) == ["canceled"]


def test_one_items_turn_renders_like_a_turn(shell: InteractiveShell, standin: StandIn, months: Path) -> None:
    standin.set_script(
        Script.from_dict({"replies": [{"match": "", "steps": [{"python": ANALYSE}, {"text": HOSTILE}]}]})
    )
    magics: Any = shell.magics_manager.registry["ClaudeMagics"]
    result = magics.session.map("Total of {{item}}.", str(months / "2024-01.csv"), engine="sync")
    turn = result.turn("2024-01.csv")
    bundle = shell.display_formatter.format(turn)[0]
    assert "text/html" in bundle and HOSTILE not in bundle["text/html"]
    assert "data:image/png;base64," in bundle["text/html"]
