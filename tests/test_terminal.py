"""Terminal IPython, for real: an ``ipython`` process on a pseudo-terminal, driven through a streamed turn.

The process talks to the stand-in over HTTP (``ANTHROPIC_BASE_URL``). Terminal IPython cannot
update a display in place, so each step must be printed once, when complete, and the status
must stay on one line that rewrites itself with carriage returns.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from claude_magic.testing import StandIn
from test_magics import script

PROMPT = re.compile(r"In \[(\d+)\]: ")
TEXT = "I'll plot y = x squared for a few values of x, then describe the curve."
CODE = "import time\ntime.sleep(2.5)\nprint('squares', [x * x for x in range(4)])"


def _ipython(standin: StandIn, tmp_path: Path) -> pexpect.spawn:
    env = {
        **os.environ,
        "ANTHROPIC_BASE_URL": standin.base_url,
        "ANTHROPIC_API_KEY": "test",
        "CLAUDE_MAGIC_CACHE_DIR": str(tmp_path / "cache"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "TERM": "dumb",
        "COLUMNS": "200",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "IPython", "--no-banner", "--simple-prompt", "--colors=nocolor", "--HistoryManager.enabled=False"],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )
    child.expect(PROMPT)
    child.sendline("%load_ext claude_magic")
    child.expect(PROMPT)
    return child


def _run(child: pexpect.spawn, line: str) -> str:
    child.sendline(line)
    child.expect(PROMPT)
    before: str = child.before
    return before.split(line, 1)[-1]  # drop the echo of the input line


@pytest.mark.timeout(120)
def test_a_streamed_turn_prints_each_step_once_and_one_status_line(standin: StandIn, tmp_path: Path) -> None:
    standin.set_script(script([{"text": TEXT}, {"python": CODE}, {"text": "Done: the curve is a parabola."}]))
    child = _ipython(standin, tmp_path)
    try:
        out = _run(child, "%claude_exec Plot y = x**2.")
    finally:
        child.sendline("exit")
        child.close()
    assert out.count(TEXT) == 1, out
    assert out.count("I'll plot") == 1  # no partial sentences
    assert out.count("│ time.sleep(2.5)") == 1  # the code, once
    assert out.count("squares [0, 1, 4, 9]") == 1
    assert out.count("Done: the curve is a parabola.") == 1
    assert "running…" not in out
    assert out.count("tokens in") == 1  # the footer, once
    assert "Traceback" not in out
    # On a TTY the status is one line rewritten in place: it ticks, always after a carriage return.
    statuses = [match.start() for match in re.finditer("⏳ Claude is working", out)]
    assert len(statuses) >= 2, out
    assert all(out[start - 1] == "\r" for start in statuses)
    assert re.search(r"step 2, running Python · [12] s", out)
    assert out.index(TEXT) < out.index("squares [0") < out.index("tokens in")


@pytest.mark.timeout(120)
def test_no_stream_prints_the_text_once(standin: StandIn, tmp_path: Path) -> None:
    standin.set_script(script([{"text": TEXT}, {"python": "print('hello')"}]))
    child = _ipython(standin, tmp_path)
    try:
        out = _run(child, "%claude_exec --no-stream Plot y = x**2.")
    finally:
        child.sendline("exit")
        child.close()
    assert out.count(TEXT) == 1, out
    assert out.count("hello") == 2  # the code and its output
    assert out.count("tokens in") == 1


def test_the_stand_in_cli_speaks_plainly() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "claude_magic.testing", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "``" not in shown  # no raw reStructuredText
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:PORT" in shown and "example:" in shown
    server = subprocess.Popen(
        [sys.executable, "-m", "claude_magic.testing", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        assert server.stdout.readline().startswith("ANTHROPIC_BASE_URL=http://127.0.0.1:")
        line = server.stderr.readline()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert line.startswith("sandbox: ") and "network" in line, line
    assert "/tmp is the host's" not in line
    assert any(words in line for words in ("its own /tmp", "this machine's /tmp", "WITH network access")), line


def test_make_demo_labels_cells_by_what_they_do() -> None:
    import nbformat
    import run_demo

    notebook = nbformat.read(run_demo.NOTEBOOKS_DIR / "churn_analysis.ipynb", as_version=4)
    labels = list(run_demo.cell_labels(notebook).values())
    assert not any(label.startswith(("import ", "from ")) for label in labels), labels
    assert any(label.startswith("Claude: What are the main drivers of churn") for label in labels)
    assert "%claude_export" in labels
