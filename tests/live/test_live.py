"""The live lane (see conftest.py): the extension against the real API, end to end, on a cheap model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from live_support import MAX_TOKENS, MODEL, TOOL_VERSION, Spend, cleanup

from claude_magic._session import Session
from claude_magic.errors import AuthenticationFailedError
from claude_magic.results import CodeStep, TextStep, Turn

pytestmark = pytest.mark.live

SALES = pd.DataFrame({"region": ["north", "south", "north", "east"], "revenue": [10.0, 20.0, 5.0, 7.5]})
PNG = b"\x89PNG\r\n\x1a\n"


def said(turn: Turn) -> str:
    """Everything the turn printed or wrote, for loose checks on a real model's answer."""
    parts = [step.text for step in turn.steps if isinstance(step, TextStep)]
    parts += [step.result.stdout for step in turn.steps if isinstance(step, CodeStep) and step.result]
    return "\n".join(parts)


def produced(*turns: Turn) -> tuple[str, ...]:
    return tuple(file.file_id for turn in turns for file in turn.files)


def test_upload_chart_follow_up_and_delete(live_session: Session, spend: Spend, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("The magic word is PELICAN-42.\n")
    live_session.upload(SALES, name="sales")
    live_session.upload(notes)
    names = {entry.name for entry in live_session.uploads}
    assert names == {"sales.parquet", "notes.txt"}
    listed = {file.id for file in live_session.remote_files()}
    assert {entry.file_id for entry in live_session.uploads} <= listed  # the Files listing has them

    chart = spend.add(
        live_session.run(
            "Using Python, read sales.parquet, print total revenue by region, and save a small bar chart of it "
            "as revenue.png (dpi 50) in $OUTPUT_DIR. Be brief."
        )
    )
    turns = [chart]
    try:
        assert any(isinstance(step, CodeStep) for step in chart.steps)
        pngs = [file for file in chart.files if file.media_type == "image/png"]
        assert pngs and pngs[0].path is not None and pngs[0].path.read_bytes().startswith(PNG)
        assert "15" in said(chart) and "20" in said(chart)  # north 10 + 5, south 20
        assert chart.container is not None

        follow_up = spend.add(
            live_session.run("In the same container, print the contents of notes.txt with bash. Be brief.")
        )
        turns.append(follow_up)
        assert follow_up.container is not None and follow_up.container.id == chart.container.id
        assert "PELICAN-42" in said(follow_up)

        deleted = live_session.delete("notes.txt")
        assert deleted.file_id not in {file.id for file in live_session.remote_files()}
        after = spend.add(live_session.run("Print 6 * 7 with Python. Be brief."))
        turns.append(after)
        assert "42" in said(after)
        assert all(entry.name != "notes.txt" for entry in live_session.uploads)
    finally:
        cleanup(live_session, produced(*turns))


@pytest.fixture
def live_shell(base_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.chdir(tmp_path)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.ClaudeMagics.model = MODEL
    config.ClaudeMagics.max_tokens = MAX_TOKENS
    config.ClaudeMagics.tool_version = TOOL_VERSION
    config.ClaudeMagics.download_dir = str(tmp_path / "downloads")
    if base_url:
        config.ClaudeMagics.base_url = base_url
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    shell.extension_manager.load_extension("claude_magic")
    yield shell
    magics = shell.magics_manager.registry["ClaudeMagics"]
    cleanup(magics.session, produced(*magics.turns))
    shell.extension_manager.unload_extension("claude_magic")
    InteractiveShell.clear_instance()


def test_magics_new_container_and_files_listing(live_shell: Any, spend: Spend):
    from IPython.utils.capture import capture_output

    def cell(source: str) -> str:
        with capture_output() as captured:
            result = live_shell.run_cell(source)
        assert result.error_in_exec is None, captured.stderr
        return "\n".join(str(output.data.get("text/plain", "")) for output in captured.outputs) + captured.stdout

    live_shell.user_ns["sales"] = SALES
    assert "sales.parquet" in cell("%claude_upload sales")
    cell("%%claude_exec\nWith Python, print the number of rows in sales.parquet. Be brief.")
    magics = live_shell.magics_manager.registry["ClaudeMagics"]
    first = spend.add(magics.turns[-1])
    assert first.container is not None and "4" in said(first)
    cell("%claude_container --new")
    cell("%%claude_exec\nWith Python, print the sum of the revenue column of sales.parquet. Be brief.")
    second = spend.add(magics.turns[-1])
    assert second.container is not None and second.container.id != first.container.id
    assert "42.5" in said(second)  # the upload was attached again in the new container
    listing = cell("%claude_files --all")
    assert "sales.parquet" in listing


def test_a_bad_key_is_refused_clearly(base_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-not-a-real-key-0000000000000000")
    session = Session(model=MODEL, base_url=base_url, cache_dir=tmp_path / "cache", max_retries=0)
    with pytest.raises(AuthenticationFailedError) as caught:
        session.remote_files()
    session.close()
    assert "ANTHROPIC_API_KEY" in str(caught.value) and caught.value.status == 401
