"""The core Session, end to end: the real SDK over HTTP against the stand-in, which really runs code."""

from __future__ import annotations

import io
import itertools
import json
import socket
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from claude_magic import errors
from claude_magic._session import Session
from claude_magic.results import CodeStep, Notice, StepUpdate, TextStep, TurnEvent
from claude_magic.testing import Script, StandIn

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

PLOT_AND_TABLE = """
import os
import matplotlib.pyplot as plt
import pandas as pd
frame = pd.DataFrame({"x": range(5), "y": [v * v for v in range(5)]})
frame.to_csv(os.path.join(os.environ["OUTPUT_DIR"], "squares.csv"), index=False)
plt.plot(frame.x, frame.y)
plt.savefig(os.path.join(os.environ["OUTPUT_DIR"], "squares.png"))
print("rows", len(frame))
"""

READ_INPUT = """
import os, pandas as pd
names = sorted(os.listdir(os.environ["INPUT_DIR"]))
print("inputs", names)
frame = pd.read_parquet(os.path.join(os.environ["INPUT_DIR"], "sales.parquet"))
print("total", int(frame["revenue"].sum()))
"""


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


def posts(api: StandIn, path: str = "/v1/messages") -> list[Any]:
    return [request for request in api.requests if request.method == "POST" and request.path == path]


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame({"month": ["jan", "feb", "mar"], "revenue": [10, 20, 30]})


def test_uploading_the_same_dataframe_twice_sends_no_bytes_the_second_time(
    session: Session, standin: StandIn, sales: pd.DataFrame
) -> None:
    first = session.upload(sales, name="sales").files[0]
    sent = standin.uploaded_bytes
    second = session.upload(sales.copy(), name="sales").files[0]
    assert (first.name, first.reused) == ("sales.parquet", False)
    assert second.file_id == first.file_id and second.reused
    assert standin.uploaded_bytes == sent
    assert len(posts(standin, "/v1/files")) == 1
    assert session.uploads == (second,)


def test_registry_survives_a_kernel_restart(make_session: Any, standin: StandIn, sales: pd.DataFrame) -> None:
    first = make_session().upload(sales, name="sales").files[0]
    restarted = make_session()  # a new kernel: nothing in memory, the manifest on disk
    again = restarted.upload(sales, name="sales").files[0]
    assert again.reused and again.file_id == first.file_id
    assert len(posts(standin, "/v1/files")) == 1
    database = Path(restarted.registry.path).read_bytes()
    assert b"test-key" not in database and first.file_id.encode() in database


def test_paths_globs_and_bytes_upload(session: Session, tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv", "notes.txt"):
        (tmp_path / name).write_text(f"{name}\n1,2\n")
    batch = session.upload(str(tmp_path / "*.csv"))
    assert [file.name for file in batch.files] == ["a.csv", "b.csv"]
    assert session.upload([str(tmp_path / "notes.txt")]).files[0].media_type == "text/plain"
    assert session.upload(("raw.bin", b"\x00\x01")).files[0].size == 2
    renamed = session.upload(str(tmp_path / "a.csv"), name="q3.csv").files[0]
    assert renamed.name == "q3.csv"


def test_missing_file_and_oversized_file_fail_before_sending(
    session: Session, standin: StandIn, tmp_path: Path
) -> None:
    with pytest.raises(errors.LocalFileNotFoundError, match="nope"):
        session.upload(str(tmp_path / "nope*.csv"))
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as stream:  # sparse: no real 600 MB on disk
        stream.truncate(600 * 1024 * 1024)
    with pytest.raises(errors.FileTooLargeError, match="500 MB"):
        session.upload(str(huge))
    assert posts(standin, "/v1/files") == []


def test_first_turn_tells_claude_what_it_got(session: Session, standin: StandIn, sales: pd.DataFrame) -> None:
    standin.set_script(script([{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    turn = session.run("Total revenue?")
    body = posts(standin, "/v1/messages")[0].json
    user = body["messages"][-1]["content"]
    assert user[0]["type"] == "container_upload"
    note = user[1]["text"]
    assert "sales.parquet" in note and "3 rows × 2 columns" in note
    assert "month (" in note and "revenue (int64)" in note
    assert "$INPUT_DIR" in note and "$OUTPUT_DIR" in note
    assert user[-1] == {"type": "text", "text": "Total revenue?"}
    run = turn.code[0].result
    assert run is not None and "total 60" in run.stdout and "sales.parquet" in run.stdout
    # The next turn does not attach it again: the container already has it.
    standin.set_script(script([{"text": "ok"}]))
    session.run("Thanks")
    second = posts(standin, "/v1/messages")[-1].json["messages"][-1]["content"]
    assert [block["type"] for block in second] == ["text"]


def test_turn_brings_back_a_png_and_a_csv(session: Session, standin: StandIn, tmp_path: Path) -> None:
    standin.set_script(script([{"text": "Plotting."}, {"python": PLOT_AND_TABLE}, {"text": "Done."}]))
    events: list[TurnEvent] = []
    turn = session.run("Plot squares", on_event=events.append)
    assert [type(step) for step in turn.steps] == [TextStep, CodeStep, TextStep]
    assert turn.text.startswith("Plotting.")
    by_name = {file.name: file for file in turn.files}
    assert set(by_name) == {"squares.csv", "squares.png"}
    png = by_name["squares.png"]
    assert png.is_image and png.data is not None and png.data.startswith(PNG_SIGNATURE)
    assert png.path is not None and png.path.read_bytes() == png.data
    csv = by_name["squares.csv"]
    assert csv.data is None and csv.path is not None
    assert pd.read_csv(csv.path)["y"].tolist() == [0, 1, 4, 9, 16]
    assert csv.path.parent == (tmp_path / "downloads").resolve()
    assert turn.usage.output_tokens > 0 and turn.container is not None and turn.stop_reason == "end_turn"
    updates = [event for event in events if isinstance(event, StepUpdate)]
    assert updates and all(update.index < 3 for update in updates)
    assert updates[-1].done


def test_same_name_never_overwrites_an_existing_download(session: Session, standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "squares.csv").write_text("mine")
    standin.set_script(script([{"python": PLOT_AND_TABLE}]))
    turn = session.run("Plot squares")
    assert (tmp_path / "downloads" / "squares.csv").read_text() == "mine"
    assert {file.name for file in turn.files} == {"squares (1).csv", "squares.png"}


def test_pause_turn_is_continued_into_one_turn(session: Session, standin: StandIn) -> None:
    standin.set_script(
        script([{"python": "print('first')"}, {"pause": True}, {"python": "print('second')"}, {"text": "Both ran."}])
    )
    turn = session.run("Two steps please")
    assert turn.segments == 2 and turn.stop_reason == "end_turn"
    outputs = [step.result.stdout for step in turn.code if step.result]
    assert outputs == ["first\n", "second\n"]
    continuation = posts(standin, "/v1/messages")[1].json
    assert continuation["messages"][-1]["role"] == "assistant"
    assert continuation["container"] == posts(standin, "/v1/messages")[0].json.get("container", turn.container.id)  # type: ignore[union-attr]
    # History holds one user and one assistant message for the whole turn.
    assert [message["role"] for message in session.history] == ["user", "assistant"]


def test_second_turn_reuses_the_container(session: Session, standin: StandIn) -> None:
    standin.set_script(
        script(
            [{"python": "open('state.txt', 'w').write('from turn one')"}],
            [{"python": "print(open('state.txt').read())"}],
        )
    )
    first = session.run("Write state")
    second = session.run("Read state")
    assert first.container is not None and second.container is not None
    assert second.container.id == first.container.id
    assert posts(standin, "/v1/messages")[1].json["container"] == first.container.id
    assert second.code[0].result is not None and second.code[0].result.stdout == "from turn one\n"
    assert len(session.history) == 4


def test_expired_container_is_replaced_and_files_reattached(
    session: Session, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    first = session.run("Total?")
    assert first.container is not None
    standin.expire_container(first.container.id)
    events: list[TurnEvent] = []
    second = session.run("Total again?", on_event=events.append)
    assert second.container_restarted and second.container is not None
    assert second.container.id != first.container.id
    assert second.code[0].result is not None and "total 60" in second.code[0].result.stdout
    assert any(isinstance(event, Notice) and "expired" in event.message for event in events)
    assert session.container == second.container


def test_server_losing_an_upload_triggers_a_reupload_from_source(
    session: Session, standin: StandIn, tmp_path: Path
) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("month,revenue\njan,10\n")
    original = session.upload(str(path)).files[0]
    standin.expire_file(original.file_id)  # the server forgets it
    standin.set_script(script([{"bash": 'cat "$INPUT_DIR/sales.csv"'}]))
    turn = session.run("Show the file")
    assert any("uploaded it again" in notice for notice in turn.notices)
    assert turn.code[0].result is not None and "jan,10" in turn.code[0].result.stdout
    assert session.uploads[0].file_id != original.file_id


def test_lost_upload_without_a_source_says_what_to_do(session: Session, standin: StandIn, tmp_path: Path) -> None:
    path = tmp_path / "gone.csv"
    path.write_text("a\n1\n")
    uploaded = session.upload(str(path)).files[0]
    path.unlink()
    standin.expire_file(uploaded.file_id)
    standin.set_script(script([{"text": "ok"}]))
    turn = session.run("Use it")
    assert [notice for notice in turn.notices if "upload it again" in notice.lower()]
    assert uploaded.file_id not in json.dumps(posts(standin, "/v1/messages")[-1].json)
    assert session.uploads == () and session.pending == ()


def test_downloads_happen_concurrently(session: Session, standin: StandIn) -> None:
    code = (
        "import os\n"
        "for i in range(6):\n"
        "    open(os.path.join(os.environ['OUTPUT_DIR'], f'f{i}.txt'), 'w').write(str(i))\n"
    )
    standin.set_script(script([{"python": code}]))
    standin.latency = 0.2
    turn = session.run("Six files")
    assert sorted(file.name for file in turn.files) == [f"f{i}.txt" for i in range(6)]
    downloads = [r for r in standin.requests if r.path.endswith("/content")]
    assert len(downloads) == 6
    # Concurrent: some download started before another had finished.
    spans = sorted((r.started, r.finished) for r in downloads)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


@pytest.mark.parametrize(
    ("server_name", "expected"),
    [
        ("../../escape.txt", "escape.txt"),
        ("/etc/passwd", "passwd"),
        ("", "file_"),
        ("a" * 400 + ".txt", "a" * 196 + ".txt"),
        ("résumé 📈.png", "résumé 📈.png"),
        ("..", "file_"),
        ("CON", "_CON"),
    ],
)
def test_hostile_server_filenames_stay_in_the_download_folder(
    session: Session, standin: StandIn, tmp_path: Path, server_name: str, expected: str
) -> None:
    standin.set_script(
        script([{"python": "import os\nopen(os.path.join(os.environ['OUTPUT_DIR'], 'x.png'), 'wb').write(b'x')"}])
    )
    turn = session.run("Make a file")
    (file,) = turn.files
    standin.files[file.file_id].filename = server_name  # the server now reports a hostile name
    again = session.download(file.file_id)
    assert again.path is not None
    assert again.path.parent == (tmp_path / "downloads").resolve()
    assert again.name.startswith(expected[:5]) if expected != "file_" else again.name.startswith("file_")
    assert len(again.name.encode()) <= 200


@pytest.mark.parametrize(
    ("status", "error_type", "expected", "pattern"),
    [
        (401, "authentication_error", errors.AuthenticationFailedError, "ANTHROPIC_API_KEY"),
        (429, "rate_limit_error", errors.RateLimitedError, "Rate limited"),
        (529, "overloaded_error", errors.OverloadedError, "overloaded"),
        (500, "api_error", errors.ApiError, "API failed"),
        (400, "invalid_request_error", errors.BadRequestError, "refused"),
        (413, "request_too_large", errors.RequestTooLargeError, "%claude_reset"),
    ],
)
def test_api_errors_become_short_typed_errors(
    session: Session, standin: StandIn, status: int, error_type: str, expected: type[Exception], pattern: str
) -> None:
    standin.set_script(script([{"text": "hi"}]))
    standin.fail_next(status, error_type=error_type, path_prefix="/v1/messages")
    with pytest.raises(expected, match=pattern) as caught:
        session.run("Hello")
    assert f"HTTP {status}" in str(caught.value) and "request id req_" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert session.history == [] and session.container is None
    assert session.run("Hello").text == "hi"  # nothing was lost: the next turn works


def test_errors_mid_stream_are_reported_and_leave_no_trace(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"text": "one"}], [{"text": "two"}], [{"text": "three"}]))
    standin.stream_error(after_events=3, error_type="overloaded_error")
    with pytest.raises(errors.OverloadedError, match="mid-stream"):
        session.run("Hello")
    standin.break_stream(after_events=3)
    with pytest.raises(errors.ClaudeMagicError):
        session.run("Hello")
    assert session.history == []
    assert session.run("Hello").text == "three"


def test_missing_key_and_unreachable_server(monkeypatch: pytest.MonkeyPatch, make_session: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = make_session(base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(errors.ConnectionFailedError, match="Could not reach"):
        unreachable.run("Hello")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(errors.MissingApiKeyError, match="ANTHROPIC_API_KEY"):
        make_session().upload(("a.txt", b"a"))


def test_unknown_attachment_name(session: Session) -> None:
    with pytest.raises(errors.UnknownFileError, match="%claude_upload"):
        session.attach(["nothing.csv"])


def test_interrupt_leaves_the_session_as_it_was(session: Session, standin: StandIn, sales: pd.DataFrame) -> None:
    standin.set_script(
        script(
            [{"python": "print(1)"}], [{"text": "a"}, {"python": "print(2)"}, {"text": "b"}], [{"python": READ_INPUT}]
        )
    )
    first = session.run("One")
    session.upload(sales, name="sales")
    before = (session.history, session.container, session.pending)

    def interrupt(event: TurnEvent) -> None:
        if isinstance(event, StepUpdate) and isinstance(event.step, CodeStep):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        session.run("Two", on_event=interrupt)
    assert (session.history, session.container, session.pending) == before
    third = session.run("Three")  # the stand-in accepts the history: no dangling tool use
    assert third.container == first.container or third.container is not None
    assert third.code[0].result is not None and "total 60" in third.code[0].result.stdout


def test_reset_starts_fresh_and_reattaches(session: Session, standin: StandIn, sales: pd.DataFrame) -> None:
    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    first = session.run("Total?")
    session.reset()
    assert session.history == [] and session.container is None
    assert [entry.name for entry in session.pending] == ["sales.parquet"]
    second = session.run("Total?")
    assert second.container is not None and first.container is not None
    assert second.container.id != first.container.id
    assert second.code[0].result is not None and "total 60" in second.code[0].result.stdout


def test_delete_removes_from_server_registry_and_session(session: Session, standin: StandIn) -> None:
    uploaded = session.upload(("a.txt", b"hello")).files[0]
    session.delete("a.txt")
    assert uploaded.file_id not in standin.files
    assert session.uploads == () and session.registry.by_file_id(uploaded.file_id) is None
    again = session.upload(("a.txt", b"hello")).files[0]
    assert not again.reused


def test_import_is_light_and_session_construction_is_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, claude_magic\n"
        "from claude_magic import Session\n"
        "Session()\n"
        "heavy = [m for m in ('anthropic', 'IPython', 'pandas', 'ipywidgets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_stream_mode_gives_the_same_turn(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Plotting."}, {"python": PLOT_AND_TABLE}]))
    turn = session.run("Plot", stream=False)
    assert posts(standin, "/v1/messages")[0].json.get("stream") in (None, False)
    assert {file.name for file in turn.files} == {"squares.csv", "squares.png"}
    assert io.BytesIO(turn.files[0].data or b"").read(0) == b""
