"""The gallery of produced files (``%claude_files outputs``), pruning them from the server, and upload expiry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets import TraitError

import office_files
from claude_magic import _render as render
from claude_magic._session import Session
from claude_magic.errors import ClaudeMagicError
from claude_magic.testing import Script, StandIn
from shells import shell_config, start_shell, stop_shell

CHART = """
import os
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [3, 1, 2])
plt.savefig(os.path.join(os.environ["OUTPUT_DIR"], "trend.png"))
"""


def replies() -> Script:
    return Script.from_dict(
        {
            "replies": [
                {"match": "chart", "steps": [{"python": CHART}]},
                {"match": "report", "steps": [{"python": office_files.PDF}, {"python": office_files.WORKBOOK}]},
                {"steps": [{"text": "nothing made"}]},
            ]
        }
    )


def test_produced_files_keep_their_turn_across_a_reset_and_prune_deletes_them_from_the_server(
    make_session: Any, standin: StandIn
) -> None:
    standin.set_script(replies())
    session: Session = make_session()
    session.run("a chart")
    session.run("talk only")
    session.reset()
    session.run("the report")
    produced = session.produced_files()
    assert [(item.file.name, item.turn) for item in produced] == [
        ("trend.png", 1), ("summary.pdf", 3), ("churn.xlsx", 3),
    ]  # fmt: skip
    assert all(item.file.data is None and item.file.path is not None for item in produced)  # bytes stay on disk
    ids = [item.file.file_id for item in produced]
    assert all(file_id in standin.files for file_id in ids)

    pruned = session.prune_outputs([ids[0]])
    assert [item.file.file_id for item in pruned] == [ids[0]] and ids[0] not in standin.files
    rest = session.prune_outputs()
    assert [item.file.name for item in rest] == ["summary.pdf", "churn.xlsx"]
    assert not any(file_id in standin.files for file_id in ids)
    assert all(item.deleted for item in session.produced_files())
    assert all(item.file.path is not None and item.file.path.exists() for item in produced)  # local copies stay
    assert session.prune_outputs() == ()


def test_the_gallery_shows_thumbnail_name_size_turn_path_and_file_id(make_session: Any, standin: StandIn) -> None:
    standin.set_script(replies())
    session: Session = make_session()
    session.run("a chart")
    session.run("the report")
    produced = session.produced_files()
    bundle = render.gallery_bundle(produced)
    html, plain = bundle["text/html"], bundle["text/plain"]
    assert html.count('<img src="data:image/png;base64,') == 2  # the chart, scaled, and the PDF's first page
    assert ">XLSX</span>" in html  # a badge for the workbook
    for item in produced:
        assert item.file.file_id in html and item.file.file_id in plain
        assert item.file.name in plain and str(item.file.path.name if item.file.path else "") in plain
    assert "Produced in this session: 3 files" in plain
    assert "turn 1: trend.png" in plain and "turn 2: summary.pdf" in plain


@pytest.fixture
def shell(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.chdir(tmp_path)
    config = shell_config(standin, tmp_path)
    config.ClaudeMagics.download_dir = str(tmp_path / "outputs")
    ip = start_shell(config)
    yield ip
    stop_shell(ip)


def shown(ip: InteractiveShell, line: str) -> str:
    with capture_output() as captured:
        ip.run_line_magic("claude_files", line)
    return "\n".join(output.data["text/plain"] for output in captured.outputs)


def test_outputs_and_prune_magics_say_what_they_delete_before_deleting(
    shell: InteractiveShell, standin: StandIn
) -> None:
    standin.set_script(replies())
    assert "No files produced yet" in shown(shell, "outputs")
    with capture_output():
        shell.run_cell_magic("claude_exec", "", "Make the report.")
    gallery = shown(shell, "outputs")
    assert "summary.pdf" in gallery and "churn.xlsx" in gallery and "turn 1" in gallery
    ids = [file_id for file_id, stored in standin.files.items() if stored.filename in ("summary.pdf", "churn.xlsx")]
    asked = shown(shell, "prune")
    assert "Would delete from the server: 2 files" in asked and "%claude_files prune --yes" in asked
    assert all(file_id in standin.files for file_id in ids)  # nothing deleted yet
    done = shown(shell, "prune --yes")
    assert "Deleted from the server: 2 files" in done
    assert not any(file_id in standin.files for file_id in ids)
    assert "deleted from the server" in shown(shell, "outputs")
    assert "Nothing to prune" in shown(shell, "prune --yes")
    for bad, message in (("outputs x.png", "takes no names"), ("list --yes", "--yes goes with prune")):
        with pytest.raises(UsageError, match=message):
            shell.run_line_magic("claude_files", bad)


def test_uploads_carry_the_expiry_setting(make_session: Any, standin: StandIn, tmp_path: Path) -> None:
    source = tmp_path / "sales.csv"
    source.write_text("month,revenue\njan,10\n")
    session: Session = make_session(expires_in_seconds=7200)
    uploaded = session.upload(source).files[0]
    stored = standin.files[uploaded.file_id]
    assert stored.expires_at is not None
    assert 7100 < (stored.expires_at - stored.created_at).total_seconds() <= 7200
    session.expires_in_seconds = None
    other = tmp_path / "other.csv"
    other.write_text("a\n1\n")
    assert standin.files[session.upload(other).files[0].file_id].expires_at is None
    with pytest.raises(ClaudeMagicError, match="between 3600"):
        session.expires_in_seconds = 60


def test_the_expiry_setting_on_the_magics(shell: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    shell.run_line_magic("config", "ClaudeMagics.expires_in_seconds = 3600")
    with capture_output():
        batch = shell.run_line_magic("claude_upload", "a.csv")
    assert standin.files[batch.files[0].file_id].expires_at is not None
    with pytest.raises(TraitError, match="between 3600"):
        shell.magics_manager.registry["ClaudeMagics"].expires_in_seconds = 5
