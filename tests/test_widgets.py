"""The file picker panel, driven as the browser drives it, on a real Session and the stand-in.

The browser's part is played the way ipywidgets' own tests play it: ``FileUpload.set_state`` with
the message the front end sends (name, type, size, content, last_modified), trait changes for
selections and ticks, ``Button.click()`` for clicks. Everything else is real: the Session, the SDK
over HTTP, the stand-in, the upload registry on disk.
"""

from __future__ import annotations

import glob
import html
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from claude_magic._disk_search import search_disk
from claude_magic._local_files import LocalFile
from claude_magic._session import Session
from claude_magic.results import UploadedFile
from claude_magic.testing import Script, StandIn
from claude_magic.widgets import BROWSER_UPLOAD_ADVICE_BYTES, PickerEntry, UploadPicker

HOSTILE = '<img src=x onerror="window.__pwned=1;alert(1)">'


# -- helpers -----------------------------------------------------------------------------------


def chosen(name: str, data: bytes, mime: str = "text/csv") -> dict[str, Any]:
    """One file as FileUpload's front end sends it when the user picks it."""
    return {"name": name, "type": mime, "size": len(data), "content": memoryview(data), "last_modified": 1.7e12}


def choose(picker: UploadPicker, *files: tuple[str, bytes]) -> None:
    """The user picks *files* in the browser's file dialog (one choice)."""
    picker.upload.set_state({"value": [chosen(name, data) for name, data in files]})


def posts(standin: StandIn, path: str) -> list[Any]:
    return [request for request in standin.requests if request.method == "POST" and request.path == path]


def row_of(picker: UploadPicker, file_id: str) -> widgets.HBox:
    rows = [row for row in picker.rows.children if isinstance(row, widgets.HBox) and file_id in _label(row)]
    assert len(rows) == 1, [_label(row) for row in picker.rows.children if isinstance(row, widgets.HBox)]
    return rows[0]


def _label(row: widgets.HBox) -> str:
    return " ".join(child.value for child in row.children if isinstance(child, widgets.HTML))


def tick_of(picker: UploadPicker, file_id: str) -> widgets.Checkbox:
    return next(child for child in row_of(picker, file_id).children if isinstance(child, widgets.Checkbox))


def button_of(picker: UploadPicker, file_id: str, description: str) -> widgets.Button:
    [button] = [
        child
        for child in row_of(picker, file_id).children
        if isinstance(child, widgets.Button) and child.description == description
    ]
    return button


def shown(widget: widgets.Widget) -> bool:
    return widget.layout.display != "none"


def confirm_delete(picker: UploadPicker, file_id: str) -> None:
    """Delete… then Yes, delete: what a person clicks."""
    button_of(picker, file_id, "Delete…").click()
    button_of(picker, file_id, "Yes, delete").click()


def counter(picker: UploadPicker) -> int:
    """The n the browser shows in "From this computer (n)": the length of the value it is sent."""
    return len(picker.upload.get_state()["value"])


def plain(markup: str) -> str:
    """What a person reads in an HTML widget: the markup without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def listed(picker: UploadPicker) -> list[tuple[str, str]]:
    return [(entry.name, entry.state) for entry in picker.entries]


@pytest.fixture
def picker(session: Session) -> Iterator[UploadPicker]:
    made = UploadPicker(session)
    yield made
    made.close()


# -- choosing files in the browser -----------------------------------------------------------


def test_two_files_chosen_together_are_listed_with_their_file_ids(
    picker: UploadPicker, session: Session, standin: StandIn
) -> None:
    choose(picker, ("a.csv", b"x,y\n1,2\n"), ("b.csv", b"x,y\n3,4\n"))
    assert listed(picker) == [("a.csv", "uploaded"), ("b.csv", "uploaded")]
    ids = [entry.file_id for entry in picker.entries]
    assert all(file_id.startswith("file_") and file_id in standin.files for file_id in ids)
    assert [standin.files[file_id].filename for file_id in ids] == ["a.csv", "b.csv"]
    assert [entry.file_id for entry in session.uploads] == ids
    assert [entry.file_id for entry in session.pending] == ids  # the next turn attaches both
    for file_id in ids:
        assert tick_of(picker, file_id).value is True
        assert "uploaded" in _label(row_of(picker, file_id))
    assert "2 of 2 files ready" in picker.status.value
    assert counter(picker) == 2  # "From this computer (2)", not "(0)"


def test_choosing_the_same_file_again_sends_no_bytes(picker: UploadPicker, standin: StandIn) -> None:
    choose(picker, ("a.csv", b"x,y\n1,2\n"))
    first = picker.entries[0].file_id
    sent = standin.uploaded_bytes
    choose(picker, ("a.csv", b"x,y\n1,2\n"))
    assert picker.entries == [PickerEntry("a.csv", 8, first, "already uploaded", where="attached next turn")]
    assert standin.uploaded_bytes == sent
    assert len(posts(standin, "/v1/files")) == 1
    assert "already uploaded" in _label(row_of(picker, first))


def test_the_same_name_with_new_bytes_replaces_the_row(picker: UploadPicker, standin: StandIn) -> None:
    choose(picker, ("a.csv", b"x\n1\n"))
    old = picker.entries[0].file_id
    choose(picker, ("a.csv", b"x\n2\n"))
    [entry] = picker.entries
    assert entry.file_id != old and entry.state == "uploaded"
    assert len(picker.rows.children) == 2  # the header and one row


def test_files_uploaded_before_the_panel_was_made_are_listed(session: Session) -> None:
    [early] = session.upload(("early.csv", b"x\n1\n")).files
    picker = UploadPicker(session)
    expected = PickerEntry("early.csv", early.size, early.file_id, "uploaded", where="attached next turn")
    assert picker.entries == [expected]
    assert tick_of(picker, early.file_id).value is True


# -- files on the kernel's disk --------------------------------------------------------------


def test_files_on_the_kernels_disk_are_found_by_glob_and_uploaded(
    session: Session, standin: StandIn, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (data / "old").mkdir(parents=True)
    for name in ("jan.csv", "feb.csv", "notes.txt", "old/dec.csv"):
        (data / name).write_text(f"{name}\n1,2\n")
    picker = UploadPicker(session, pattern=str(data / "**" / "*.csv"))
    picker.find_button.click()
    found = [value for _label, value in picker.disk_files.options]
    assert found == [str(data / name) for name in ("feb.csv", "jan.csv", "old/dec.csv")]
    assert "3 files match" in picker.status.value

    picker.disk_files.value = (str(data / "jan.csv"), str(data / "old/dec.csv"))
    picker.add_button.click()
    assert listed(picker) == [("jan.csv", "uploaded"), ("dec.csv", "uploaded")]
    assert {entry.source for entry in session.uploads} == {str(data / "jan.csv"), str(data / "old/dec.csv")}
    assert sorted(stored.filename for stored in standin.files.values()) == ["dec.csv", "jan.csv"]
    assert (picker.progress.value, picker.progress.max) == (2, 2)


def test_the_disk_chooser_explains_empty_results_and_missing_selections(session: Session, tmp_path: Path) -> None:
    picker = UploadPicker(session, pattern=str(tmp_path / "*.nothing"))
    picker.find_button.click()
    assert picker.disk_files.options == ()
    assert "No file matches" in picker.status.value
    picker.add_button.click()
    assert "Select files in the list first" in picker.status.value
    assert picker.entries == []


def test_a_disk_file_that_vanished_or_is_too_big_fails_in_its_row(
    session: Session, standin: StandIn, tmp_path: Path
) -> None:
    (tmp_path / "gone.csv").write_text("x\n")
    with (tmp_path / "huge.bin").open("wb") as stream:  # sparse: no real 600 MB on disk
        stream.truncate(600 * 1024 * 1024)
    (tmp_path / "fine.csv").write_text("x\n1\n")
    picker = UploadPicker(session, pattern=str(tmp_path / "*"))
    picker.find_button.click()
    picker.disk_files.value = tuple(value for _label, value in picker.disk_files.options)
    (tmp_path / "gone.csv").unlink()
    picker.add_button.click()
    states = {entry.name: (entry.state, entry.reason) for entry in picker.entries}
    assert states["fine.csv"] == ("uploaded", "")
    assert states["gone.csv"][0] == "failed" and "gone.csv" in states["gone.csv"][1]
    assert states["huge.bin"][0] == "failed" and "500 MB" in states["huge.bin"][1]
    assert len(posts(standin, "/v1/files")) == 1
    assert "1 of 3 files ready" in picker.status.value and "2 failed" in picker.status.value


def test_the_disk_list_is_filled_when_the_panel_is_shown(session: Session, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    (tmp_path / "b.csv").write_text("x\n")
    picker = UploadPicker(session, pattern=str(tmp_path / "*"))  # no Find pressed
    assert [value for _label, value in picker.disk_files.options] == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert "2 files match" in picker.status.value


def test_a_glob_over_the_whole_disk_stops_in_time_and_says_so(session: Session) -> None:
    started = time.monotonic()
    picker = UploadPicker(session, pattern="/**/*.no-such-extension", search_seconds=0.3)
    assert time.monotonic() - started < 5  # a full walk of / takes minutes on a real machine
    assert picker.disk_files.options == ()
    assert "stopped looking after 0.3 s" in picker.status.value and "Narrow the pattern" in picker.status.value


def test_a_glob_with_many_matches_stops_at_the_cap_and_says_so(session: Session, tmp_path: Path) -> None:
    for number in range(30):
        (tmp_path / f"f{number:02d}.csv").write_text("x\n")
    picker = UploadPicker(session, pattern=str(tmp_path / "**"), max_matches=10)
    assert len(picker.disk_files.options) == 10
    assert "Showing the first 10 files" in picker.status.value and "stopped at 10 files" in picker.status.value


def test_the_bounded_search_matches_what_glob_matches(tmp_path: Path) -> None:
    for name in ("a.csv", "b.txt", ".hidden.csv", "d/c.csv", "d/e/f.csv", ".git/g.csv", "d/.h/i.csv", "x[1].csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    patterns = ("*", "*.csv", "**", "**/*.csv", "d/**", "d/*/*.csv", ".*", "*/e/*", "a.csv", "x[[]1].csv", "nope/*")
    for pattern in patterns:
        full = str(tmp_path / pattern)
        expected = sorted(path for path in glob.glob(full, recursive=True) if os.path.isfile(path))
        assert list(search_disk(full).paths) == expected, pattern


# -- deleting and choosing what to attach ----------------------------------------------------


def test_delete_removes_the_file_from_server_registry_and_list(
    picker: UploadPicker, session: Session, standin: StandIn
) -> None:
    choose(picker, ("a.csv", b"x\n1\n"), ("b.csv", b"x\n2\n"))
    a, b = (entry.file_id for entry in picker.entries)
    confirm_delete(picker, a)
    assert a not in standin.files and b in standin.files
    assert session.registry.by_file_id(a) is None and session.registry.by_file_id(b) is not None
    assert [entry.file_id for entry in session.uploads] == [b]
    assert [entry.file_id for entry in picker.entries] == [b]
    assert not any(a in _label(row) for row in picker.rows.children if isinstance(row, widgets.HBox))
    assert f"Deleted a.csv ({a})" in picker.status.value
    # Deleting what is already gone says so and keeps the list.
    picker.delete(a)
    assert a in picker.status.value and [entry.file_id for entry in picker.entries] == [b]


def test_unticked_files_are_not_attached_to_the_next_turn(
    picker: UploadPicker, session: Session, standin: StandIn
) -> None:
    choose(picker, ("a.csv", b"x\n1\n"), ("b.csv", b"x\n2\n"), ("c.csv", b"x\n3\n"))
    a, b, c = (entry.file_id for entry in picker.entries)
    tick_of(picker, b).value = False
    assert [entry.file_id for entry in session.pending] == [a, c]
    assert "attaches a.csv, c.csv" in picker.status.value
    tick_of(picker, a).value = False
    tick_of(picker, b).value = True
    assert [entry.file_id for entry in session.pending] == [b, c]  # upload order, not click order

    standin.set_script(Script.from_dict({"replies": [{"steps": [{"text": "ok"}]}]}))
    session.run("Which files did you get?")
    [request] = posts(standin, "/v1/messages")
    content = request.json["messages"][-1]["content"]
    assert [block["file_id"] for block in content if block["type"] == "container_upload"] == [b, c]
    # The turn used the pending files up: Refresh shows that.
    picker.refresh_button.click()
    assert [tick_of(picker, file_id).value for file_id in (a, b, c)] == [False, False, False]


def test_rows_say_what_claude_sees_next_turn(picker: UploadPicker, session: Session, standin: StandIn) -> None:
    choose(picker, ("a.csv", b"x\n1\n"), ("b.csv", b"x\n2\n"))
    a, b = (entry.file_id for entry in picker.entries)
    tick_of(picker, b).value = False
    assert [entry.where for entry in picker.entries] == ["attached next turn", "not attached"]
    assert "attached next turn" in _label(row_of(picker, a)) and "not attached" in _label(row_of(picker, b))
    standin.set_script(Script.from_dict({"replies": [{"steps": [{"text": "ok"}]}]}))
    session.run("Look.")
    picker.refresh()  # what the magics do after a turn
    # a.csv is unticked now, yet it is there: the row says so; b.csv was never attached.
    assert [entry.where for entry in picker.entries] == ["in the container", "not attached"]
    assert tick_of(picker, a).value is False and "in the container" in _label(row_of(picker, a))
    assert "2 files uploaded: 0 attached next turn, 1 in the container." in plain(picker.summary.value)
    tick_of(picker, b).value = True
    assert [entry.where for entry in picker.entries] == ["in the container", "attached next turn"]
    assert "1 attached next turn, 1 in the container" in plain(picker.summary.value)
    # A new container holds nothing yet: every file is attached again.
    session.new_container()
    picker.refresh()
    assert [entry.where for entry in picker.entries] == ["attached next turn", "attached next turn"]


def test_status_and_counters_keep_in_step_with_later_uploads(standin: StandIn, tmp_path: Path) -> None:
    shell = _shell(standin)
    try:
        with capture_output():
            shell.run_cell("picker = %claude_upload --widget")
        picker = shell.user_ns["picker"]
        choose(picker, ("a.csv", b"x\n1\n"))
        assert "1 of 1 file ready" in picker.status.value and counter(picker) == 1
        assert "1 file uploaded: 1 attached next turn." in plain(picker.summary.value)
        (tmp_path / "b.csv").write_text("x\n2\n")
        with capture_output():
            shell.run_line_magic("claude_upload", str(tmp_path / "b.csv"))
        assert "1 of 1 file ready" not in picker.status.value  # it described the session before b.csv
        assert "2 files uploaded: 2 attached next turn." in plain(picker.summary.value)
        assert counter(picker) == 1  # "From this computer (1)": a.csv, not "(0)"
        choose(picker, ("c.csv", b"x\n3\n"))
        assert counter(picker) == 2
        confirm_delete(picker, picker.entries[0].file_id)
        assert counter(picker) == 1 and "2 files uploaded" in plain(picker.summary.value)
        # The chooser's value holds no bytes, and choosing the same file again still uploads it.
        assert all(len(item["content"]) == 0 for item in picker.upload.value)
        choose(picker, ("a.csv", b"x\n1\n"))
        assert [entry.name for entry in picker.entries] == ["b.csv", "c.csv", "a.csv"] and counter(picker) == 2
        picker.close()
    finally:
        shell.extension_manager.unload_extension("claude_magic")
        InteractiveShell.clear_instance()


def test_delete_asks_before_it_deletes(picker: UploadPicker, session: Session, standin: StandIn) -> None:
    choose(picker, ("a.csv", b"x\n1\n"))
    [a] = picker.entries
    ask = button_of(picker, a.file_id, "Delete…")
    assert ask.button_style == ""  # quiet: not a red button on every row
    yes, keep = button_of(picker, a.file_id, "Yes, delete"), button_of(picker, a.file_id, "Keep")
    assert not shown(yes) and not shown(keep)
    ask.click()
    assert a.file_id in standin.files and [entry.file_id for entry in session.uploads] == [a.file_id]
    assert shown(yes) and shown(keep) and not shown(ask) and yes.button_style == "danger"
    keep.click()
    assert shown(ask) and not shown(yes) and a.file_id in standin.files
    ask.click()
    yes.click()
    assert a.file_id not in standin.files and picker.entries == []


def test_the_saved_text_is_a_summary_not_the_widget_repr(standin: StandIn) -> None:
    shell = _shell(standin)
    try:
        with capture_output():
            shell.run_cell("picker = %claude_upload --widget")
        picker = shell.user_ns["picker"]
        choose(picker, ("a.csv", b"x\n1\n"))
        bundle, _metadata = shell.display_formatter.format(picker)
        text = bundle["text/plain"]
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert text.startswith("Files for Claude") and "1 file uploaded: 1 attached next turn." in text
        assert f"a.csv · 4 bytes · {picker.entries[0].file_id} · attached next turn" in text
        assert "children=" not in text and "Layout(" not in text
        assert repr(picker) == "<UploadPicker: 1 file uploaded: 1 attached next turn.>"
        picker.close()
    finally:
        shell.extension_manager.unload_extension("claude_magic")
        InteractiveShell.clear_instance()


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [(500, "api_error", "HTTP 500"), (413, "request_too_large", "HTTP 413")],
)
def test_a_failed_upload_shows_the_reason_and_keeps_the_list(
    picker: UploadPicker, session: Session, standin: StandIn, status: int, error_type: str, expected: str
) -> None:
    choose(picker, ("a.csv", b"x\n1\n"))
    [a] = picker.entries
    standin.fail_next(status, error_type=error_type, path_prefix="/v1/files")
    choose(picker, ("b.csv", b"x\n2\n"), ("c.csv", b"x\n3\n"))  # the first of the two fails
    states = {entry.name: entry for entry in picker.entries}
    assert [name for name in states] == ["a.csv", "c.csv", "b.csv"]  # session files, then failures
    assert states["a.csv"] == a
    assert states["c.csv"].state == "uploaded"
    failed = states["b.csv"]
    assert failed.state == "failed" and failed.file_id == "" and expected in failed.reason
    row = next(r for r in picker.rows.children if isinstance(r, widgets.HBox) and "b.csv" in _label(r))
    assert "failed: " in _label(row) and expected in _label(row)
    assert not any(isinstance(child, widgets.Checkbox | widgets.Button) for child in row.children)
    assert "1 failed" in picker.status.value and "2 of 2" not in picker.status.value
    assert (picker.progress.value, picker.progress.max, picker.progress.bar_style) == (2, 2, "warning")
    # Trying again works and replaces the failed row.
    choose(picker, ("b.csv", b"x\n2\n"))
    assert listed(picker) == [("a.csv", "uploaded"), ("c.csv", "uploaded"), ("b.csv", "uploaded")]


def test_a_failed_new_version_keeps_the_uploaded_one(picker: UploadPicker, session: Session, standin: StandIn) -> None:
    choose(picker, ("a.csv", b"x\n1\n"))
    [old] = picker.entries
    standin.fail_next(500, path_prefix="/v1/files")
    choose(picker, ("a.csv", b"x\n1\nchanged\n"))
    assert listed(picker) == [("a.csv", "uploaded"), ("a.csv", "failed")]
    assert picker.entries[0] == old
    assert [entry.file_id for entry in session.pending] == [old.file_id]


def test_no_api_key_or_no_server_is_reported_in_the_panel(
    picker: UploadPicker, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    choose(picker, ("a.csv", b"x\n1\n"))
    assert picker.entries[0].state == "failed" and "ANTHROPIC_API_KEY" in picker.entries[0].reason
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    standin.stop()
    choose(picker, ("a.csv", b"x\n1\n"))
    assert picker.entries[0].state == "failed" and "reach" in picker.entries[0].reason.lower()
    assert picker.upload.value == ()


class _FlakySession(Session):
    """A session that starts failing, once ``broken``, in a way nobody planned for."""

    broken = False

    def upload_file(self, local: LocalFile) -> UploadedFile:
        if self.broken:
            raise RuntimeError("disk on fire")
        return super().upload_file(local)

    def attach(self, names: Iterable[str]) -> None:
        if self.broken:
            raise RuntimeError("attach on fire")
        super().attach(names)


def test_nothing_raises_out_of_the_handlers(standin: StandIn, tmp_path: Path) -> None:
    session = _FlakySession(base_url=standin.base_url, cache_dir=tmp_path / "cache", max_retries=0)
    (tmp_path / "disk.csv").write_text("x\n")
    picker = UploadPicker(session, pattern=str(tmp_path / "*.csv"))
    choose(picker, ("kept.csv", b"x\n1\n"))
    [kept] = picker.entries
    session.broken = True

    choose(picker, ("a.csv", b"x\n1\n"))
    assert "RuntimeError: disk on fire" in picker.status.value
    assert counter(picker) == 1  # kept.csv
    picker.find_button.click()
    picker.disk_files.value = (str(tmp_path / "disk.csv"),)
    picker.add_button.click()
    assert "RuntimeError: disk on fire" in picker.status.value
    tick_of(picker, kept.file_id).value = False
    assert "RuntimeError: attach on fire" in picker.status.value
    assert tick_of(picker, kept.file_id).value is True  # the tick shows the session's state again
    picker.delete("file_unknown")
    assert "file_unknown" in picker.status.value
    assert picker.entries == [kept]  # the list survived it all
    session.close()


# -- advice, progress, escaping ----------------------------------------------------------------


def test_a_large_browser_file_gets_the_advice_to_use_the_kernels_disk(session: Session) -> None:
    picker = UploadPicker(session, advice_bytes=1000)
    choose(picker, ("small.csv", b"x\n" * 10))
    assert "kernel's disk" not in picker.status.value
    choose(picker, ("big.csv", b"x\n" * 600))  # 1,200 bytes
    assert picker.entries[-1].state == "uploaded"
    assert "big.csv: large files travel through the notebook" in picker.status.value
    assert "kernel&#x27;s disk" in picker.status.value
    # Several files that are large together get it too (one choice is one message to the kernel).
    choose(picker, ("p1.csv", b"1\n" * 300), ("p2.csv", b"2\n" * 300))
    assert "p1.csv, p2.csv: large files" in picker.status.value
    assert BROWSER_UPLOAD_ADVICE_BYTES < 10 * 1024 * 1024  # before Jupyter's websocket limit drops the choice


def test_the_panel_always_tells_about_the_browser_size_limit(picker: UploadPicker) -> None:
    def texts(widget: widgets.Widget) -> list[str]:
        own = [widget.value] if isinstance(widget, widgets.HTML) else []
        return own + [text for child in getattr(widget, "children", ()) for text in texts(child)]

    assert any("10 MB" in text and "kernel" in text for text in texts(picker))


def test_progress_reaches_its_maximum_and_reports_each_file(picker: UploadPicker) -> None:
    values: list[int] = []
    messages: list[str] = []
    picker.progress.observe(lambda change: values.append(change["new"]), names="value")
    picker.status.observe(lambda change: messages.append(change["new"]), names="value")
    choose(picker, *[(f"f{i}.csv", f"x\n{i}\n".encode()) for i in range(3)])
    assert values == [1, 2, 3]
    assert (picker.progress.value, picker.progress.max) == (3, 3)
    assert picker.progress.layout.visibility == "visible" and picker.progress.bar_style == "success"
    uploading = [message for message in messages if "Uploading" in message]
    assert len(uploading) == 3
    for number, message in enumerate(uploading):
        assert f"Uploading f{number}.csv" in message and f"{number + 1} of 3" in message


def test_html_in_file_names_and_reasons_is_escaped(picker: UploadPicker, session: Session, tmp_path: Path) -> None:
    # The API refuses names with < > " (so does the stand-in): the name comes back in a failed row.
    choose(picker, (f"{HOSTILE}.csv", b"x\n1\n"), ("fish & <chips>.csv", b"x\n2\n"))
    markup = " ".join(_label(row) for row in picker.rows.children if isinstance(row, widgets.HBox))
    markup += picker.status.value
    assert "<img" not in markup and "<chips>" not in markup and 'onerror="' not in markup
    assert "&lt;img src=x onerror=&quot;window.__pwned=1;alert(1)&quot;&gt;.csv" in markup
    assert "fish &amp; &lt;chips&gt;.csv" in markup
    assert all(entry.state == "failed" for entry in picker.entries)
    assert "&lt; &gt;" in markup  # the server's reason names the forbidden characters, escaped too
    # A name the API accepts can still carry HTML-special characters: listed escaped as well.
    choose(picker, ("it's 'fish' & chips.csv", b"x\n3\n"))
    markup = " ".join(_label(row) for row in picker.rows.children if isinstance(row, widgets.HBox))
    assert "it&#x27;s &#x27;fish&#x27; &amp; chips.csv" in markup
    # The kernel-disk chooser and its status carry names as text (option labels are text in the DOM).
    (tmp_path / "<b>bold<i>.csv").write_text("x\n")
    picker.pattern.value = str(tmp_path / "<b>*")
    picker.find_button.click()
    assert "&lt;b&gt;" in picker.status.value and "<b>" not in picker.status.value


# -- the magic -----------------------------------------------------------------------------------


def _shell(standin: StandIn) -> InteractiveShell:
    """A fresh shell with the extension loaded, pointed at the stand-in."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.ClaudeMagics.base_url = standin.base_url
    config.ClaudeMagics.max_retries = 0
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    shell.extension_manager.load_extension("claude_magic")
    return shell


def test_the_magic_shows_the_panel_on_the_kernels_session(standin: StandIn, tmp_path: Path) -> None:
    shell = _shell(standin)
    try:
        with capture_output():
            result = shell.run_cell("picker = %claude_upload --widget\npicker")
        assert result.error_in_exec is None
        picker = shell.user_ns["picker"]
        assert isinstance(picker, UploadPicker) and result.result is picker
        choose(picker, ("a.csv", b"x\n1\n"))
        magics = shell.magics_manager.registry["ClaudeMagics"]
        assert [entry.file_id for entry in magics.session.pending] == [picker.entries[0].file_id]
        picker.close()
    finally:
        shell.extension_manager.unload_extension("claude_magic")
        InteractiveShell.clear_instance()
