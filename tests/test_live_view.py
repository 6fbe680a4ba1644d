"""The live view in a real shell: a status that ticks, no empty outputs, notices once, print-once text.

A real ``InteractiveShell`` with the extension loaded talks to the stand-in over HTTP. In place
(a publisher that records updates, as a kernel's does) and printed once (IPython's base publisher,
as in terminal IPython) are both driven through ``run_cell``; ``LivePrinter`` and ``str(turn)``
through a plain ``Session``.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from claude_magic import LivePrinter
from claude_magic._live import updates_in_place
from claude_magic._session import Session
from claude_magic.testing import StandIn
from test_magics import (
    MAKE_PNG,
    RecordingPublisher,
    final_bundles,
    script,
)

MAKE_PLOT = MAKE_PNG.replace("red.png", "revenue.png")


def test_the_strategy_follows_the_publisher() -> None:
    assert not updates_in_place(DisplayPublisher())  # terminal IPython: it prints every update
    assert updates_in_place(RecordingPublisher())
    from ipykernel.zmqshell import ZMQDisplayPublisher
    from IPython.core.displaypub import CapturingDisplayPublisher

    assert updates_in_place(CapturingDisplayPublisher())
    assert updates_in_place(ZMQDisplayPublisher())


def test_status_ticks_and_names_the_running_step(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Let me wait."}, {"python": "import time\ntime.sleep(3.2)\nprint('ok')"}]))
    recorder = RecordingPublisher(shell=shell)
    saved, shell.display_pub = shell.display_pub, recorder
    try:
        result = shell.run_cell("%%claude_exec\nWait a bit.")
    finally:
        shell.display_pub = saved
    assert result.error_in_exec is None
    statuses = [e for e in recorder.published if e.data.get("text/plain", "").startswith("⏳ Claude is working")]
    running = [e for e in statuses if "running Python" in e.data["text/plain"]]
    # While the sandbox sleeps no event arrives, yet the clock moves: at least three distinct seconds shown.
    seconds = {re.search(r"(\d+) s$", e.data["text/plain"])[1] for e in running}  # type: ignore[index]
    assert len(seconds) >= 3, [e.data["text/plain"] for e in running]
    assert all("step 2, running Python" in e.data["text/plain"] for e in running)
    # The status display ends as the footer: nothing empty is left in the output area.
    last = recorder.published[-1]
    assert "claude-magic-footer" in last.data["text/html"] and last.update
    assert all(any(e.data.values()) for e in recorder.published)


def test_no_empty_output_is_left_behind(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Hi."}, {"python": "print(1)"}]))
    with capture_output() as captured:
        shell.run_cell("%%claude_exec\nSay hi.")
    latest: dict[object, dict[str, Any]] = {}
    for index, output in enumerate(captured.outputs):
        latest[output.transient.get("display_id", index)] = output.data
    assert all(any(data.values()) for data in latest.values()), latest
    assert "claude-magic-footer" in final_bundles(captured)[-1]["text/html"]


def test_a_notice_is_shown_once(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print(1)"}], [{"python": "print(2)"}]))
    with capture_output():
        shell.run_cell("%%claude_exec\nOne.")
    container = shell.magics_manager.registry["ClaudeMagics"].session.container
    standin.expire_container(container.id)
    with capture_output() as captured:
        shell.run_cell("%%claude_exec\nTwo.")
    shown = "\n".join(bundle["text/plain"] for bundle in final_bundles(captured))
    assert shown.count("has expired or is gone") == 1, shown
    html = "".join(bundle.get("text/html", "") for bundle in final_bundles(captured))
    assert html.count("has expired or is gone") == 1


def _terminal_cell(shell: InteractiveShell, capsys: pytest.CaptureFixture[str], source: str) -> str:
    shell.display_pub = DisplayPublisher(shell=shell)  # what terminal IPython has: it only prints
    result = shell.run_cell(source)
    assert result.error_in_exec is None, result.error_in_exec
    return capsys.readouterr().out


@pytest.mark.parametrize("flags", ["", "--no-stream"])
def test_where_displays_cannot_update_each_step_is_printed_once(
    shell: InteractiveShell, standin: StandIn, capsys: pytest.CaptureFixture[str], flags: str
) -> None:
    long_text = "I'll plot y = x squared for a few values of x, then describe the curve."
    standin.set_script(script([{"text": long_text}, {"python": "print('squares', [x * x for x in range(4)])"}]))
    out = _terminal_cell(shell, capsys, f"%%claude_exec {flags}\nPlot it.")
    assert out.count(long_text) == 1, out
    assert out.count("I'll plot") == 1  # no partial sentences
    assert out.count("print('squares'") == 1
    assert out.count("squares [0, 1, 4, 9]") == 1
    assert "running…" not in out
    assert out.count("tokens in") == 1  # the footer, once
    assert "Claude is working" not in out  # no TTY here: no status line at all
    assert out.index(long_text) < out.index("squares [0") < out.index("tokens in")


def test_live_printer_and_str_of_a_turn_in_plain_python(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Computing."}, {"python": "print(6 * 7)"}, {"text": "The answer is **42**."}]))
    stream = io.StringIO()
    turn = session.run("What is six times seven?", on_event=LivePrinter(stream))
    printed = stream.getvalue()
    assert printed.count("Computing.") == 1
    assert printed.count("print(6 * 7)") == 1
    assert printed.count("42\n") == 1
    assert "StepUpdate(" not in printed
    transcript = str(turn)
    assert transcript.startswith("> What is six times seven?\n")
    assert "Computing." in transcript and "│ print(6 * 7)" in transcript and "The answer is **42**." in transcript
    assert "tokens in" in transcript  # the footer line
    assert "Turn(" not in transcript and "StepUpdate" not in transcript
    assert len(transcript) < 1_000
    assert repr(turn).startswith("Turn(")  # repr stays the dataclass's


def test_the_live_printer_is_quick_to_show_a_finished_step(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print('first')"}, {"python": "import time\ntime.sleep(1.5)"}]))
    seen: list[tuple[float, str]] = []

    class Stamped(io.StringIO):
        def write(self, text: str) -> int:
            seen.append((time.monotonic(), text))
            return super().write(text)

    started = time.monotonic()
    session.run("Two steps.", on_event=LivePrinter(Stamped()))
    ended = time.monotonic()
    first = next(at for at, text in seen if "print('first')" in text)  # printed with its output, once done
    assert first - started < ended - started - 1.0  # printed before the second step finished


def test_the_readme_plain_python_snippet_runs_as_written(standin: StandIn, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("### From plain Python", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    standin.set_script(script([{"text": "Plotting."}, {"python": MAKE_PLOT}, {"text": "Revenue rises each month."}]))
    env = {**os.environ, "ANTHROPIC_BASE_URL": standin.base_url, "ANTHROPIC_API_KEY": "test"}
    done = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Revenue rises each month.") == 2  # live, then in print(turn)
    assert done.stdout.startswith("Plotting.")
    assert "> Plot monthly revenue." in done.stdout
    assert (tmp_path / "claude_outputs" / "revenue.png").is_file()
