"""A conversation that cannot wedge: the real SDK over HTTP against the stand-in, under each plausible API answer.

Each test shows one thing the core must survive (issue "A conversation that cannot wedge"):
deleted or expired files, lost containers however the server says so, pauses past the limit,
downloads that fail, options that are part of the turn's transaction, credentials the SDK
resolves, a reconnect to another server, and the tool version that follows the model.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from claude_magic import errors
from claude_magic._session import Session
from claude_magic.results import Notice, StepUpdate, TextStep, TurnEvent
from claude_magic.testing import Script, StandIn
from test_session import posts, script

READ_INPUT = """
import os, pandas as pd
folder = os.environ.get("INPUT_DIR", ".")
frame = pd.read_parquet(os.path.join(folder, "sales.parquet"))
print("total", int(frame["revenue"].sum()))
"""
WRITE_PNG = """
import os, struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = b"".join(b"\\x00" + b"\\xff\\x00\\x00" * 4 for _ in range(4))
png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(os.path.join(os.environ["OUTPUT_DIR"], "red.png"), "wb").write(png)
print("wrote red.png")
"""


def state(session: Session) -> tuple[Any, ...]:
    return (session.history, session.container, session.uploads, session.pending, session.paused)


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame({"month": ["jan", "feb", "mar"], "revenue": [10, 20, 30]})


# -- files in history --------------------------------------------------------------------------


def test_history_keeps_no_file_references_once_files_are_in_the_container(
    session: Session, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.set_script(script([{"python": READ_INPUT}], [{"text": "ok"}]))
    uploaded = session.upload(sales, name="sales").files[0]
    first = session.run("Total?")
    assert first.code[0].result is not None and "total 60" in first.code[0].result.stdout
    sent = posts(standin)[0].json["messages"][-1]["content"]
    assert sent[0] == {"type": "container_upload", "file_id": uploaded.file_id}
    assert "container_upload" not in json.dumps(session.history)
    assert "sales.parquet" in json.dumps(session.history)  # Claude is still told which file it got


@pytest.mark.parametrize("how", ["deleted", "expired"])
def test_a_deleted_or_expired_upload_never_breaks_later_turns(
    session: Session, standin: StandIn, sales: pd.DataFrame, how: str
) -> None:
    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}], [{"text": "still here"}]))
    uploaded = session.upload(sales, name="sales").files[0]
    session.run("Total?")
    if how == "deleted":
        session.delete("sales.parquet")
    else:
        standin.expire_file(uploaded.file_id)
    second = session.run("Total again?")  # the container still has its copy
    assert second.code[0].result is not None and "total 60" in second.code[0].result.stdout
    assert session.run("And now?").text == "still here"
    for request in posts(standin)[1:]:
        assert uploaded.file_id not in json.dumps(request.json)


# -- lost containers ---------------------------------------------------------------------------


def test_an_untyped_500_on_a_request_with_a_container_recovers_once(
    session: Session, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    first = session.run("Total?")
    assert first.container is not None
    standin.fail_next(500, error_type="api_error", message="Internal server error", path_prefix="/v1/messages")
    second = session.run("Total again?")
    assert second.container_restarted and second.container is not None
    assert second.container.id != first.container.id
    assert second.code[0].result is not None and "total 60" in second.code[0].result.stdout
    retry = posts(standin)[-1].json
    assert "container" not in retry
    assert any(block["type"] == "container_upload" for block in retry["messages"][-1]["content"])


def test_an_untyped_500_without_a_container_is_an_error_not_a_recovery(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"text": "hi"}]))
    standin.fail_next(500, error_type="api_error", message="Internal server error", path_prefix="/v1/messages")
    with pytest.raises(errors.ApiError, match="API failed"):
        session.run("Hello")
    assert len(posts(standin)) == 1 and state(session) == ([], None, (), (), False)


def test_a_400_that_mentions_containers_is_not_a_lost_container(
    session: Session, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.set_script(script([{"python": READ_INPUT}], [{"text": "after"}]))
    session.upload(sales, name="sales")
    session.run("Total?")
    before = state(session)
    standin.fail_next(
        400, error_type="invalid_request_error", message="container_upload: too many files in the container",
        path_prefix="/v1/messages",
    )  # fmt: skip
    events: list[TurnEvent] = []
    with pytest.raises(errors.BadRequestError, match="too many files"):
        session.run("Again", on_event=events.append)
    assert not [event for event in events if isinstance(event, Notice)]  # no false "expired" notice
    assert len(posts(standin)) == 2  # no wasted retry
    assert state(session) == before
    assert session.run("Again").text == "after"


def test_a_container_past_its_hard_limit_is_not_sent_again(
    session: Session, standin: StandIn, sales: pd.DataFrame
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    first = session.run("Total?")
    assert first.container is not None and first.container.first_seen is not None
    assert first.container.restorable_until == first.container.first_seen + timedelta(days=30)
    # A month later (the kernel kept running): the session knows the container cannot be restored.
    session._container = replace(first.container, first_seen=datetime.now(UTC) - timedelta(days=31))
    second = session.run("Total again?")
    assert "container" not in posts(standin)[-1].json
    assert second.container_restarted and any("30-day" in notice for notice in second.notices)


# -- pause_turn past the limit -----------------------------------------------------------------


def pauses(count: int) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for number in range(count):
        steps += [{"python": f"print('part {number}')"}, {"pause": True}]
    return [*steps, {"text": "All parts done."}]


def test_continuations_stop_exactly_at_the_limit(make_session: Any, standin: StandIn) -> None:
    session = make_session(max_continuations=2)
    standin.set_script(script(pauses(5)))
    turn = session.run("Many parts")
    assert len(posts(standin)) == 3 and turn.segments == 3
    assert turn.stop_reason == "pause_turn" and session.paused
    assert any("run another cell" in notice for notice in turn.notices)


def test_every_paused_segment_is_sent_back_not_only_the_last(make_session: Any, standin: StandIn) -> None:
    session = make_session(max_continuations=5)
    standin.set_script(script(pauses(2)))
    session.run("Two pauses")
    requests = posts(standin)
    assert len(requests) == 3
    first_ids = {block.get("id") for block in requests[1].json["messages"][-1]["content"]}
    third = {block.get("id") for block in requests[2].json["messages"][-1]["content"]}
    assert first_ids - {None} and first_ids - {None} <= third


def test_past_the_limit_the_next_cell_goes_on(make_session: Any, standin: StandIn) -> None:
    session = make_session(max_continuations=1)
    replies = [{"match": "Many", "steps": pauses(3)}, {"match": "Next", "steps": [{"text": "B"}]}]
    standin.set_script(Script.from_dict({"replies": replies}))
    first = session.run("Many parts")
    assert first.stop_reason == "pause_turn" and session.paused
    second = session.run("Next question")  # finishes the paused turn, then asks
    outputs = [step.result.stdout for step in second.code if step.result]
    assert outputs == ["part 1\n", "part 2\n"]
    assert second.stop_reason == "end_turn" and not session.paused
    assert second.text.endswith("B") and "All parts done." in second.text
    third = session.run("Next question")
    assert third.text == "B"
    assert [message["role"] for message in session.history] == ["user", "assistant"] * 3


# -- downloads ---------------------------------------------------------------------------------


def test_a_download_folder_that_is_a_file_fails_that_file_not_the_turn(
    make_session: Any, standin: StandIn, tmp_path: Path
) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("mine")
    session = make_session(download_dir=blocker)
    standin.set_script(script([{"python": WRITE_PNG}, {"text": "Saved."}], [{"text": "next"}]))
    turn = session.run("Make a chart")
    assert turn.text == "Saved." and len(turn.files) == 1
    assert turn.files[0].error is not None and "could not save" in turn.files[0].error
    assert session.container is not None and len(session.history) == 2
    assert blocker.read_text() == "mine"
    assert session.run("Next").text == "next"


def test_a_symlink_in_the_way_is_never_followed(session: Session, standin: StandIn, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "red.png").symlink_to(target)
    standin.set_script(script([{"python": WRITE_PNG}]))
    turn = session.run("Make a chart")
    assert target.read_text() == "keep me"
    assert turn.files[0].name == "red (1).png" and turn.files[0].error is None


def test_a_failing_download_is_that_files_error(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"python": WRITE_PNG}, {"text": "Saved."}], [{"text": "next"}]))

    def fail_downloads(event: TurnEvent) -> None:
        if isinstance(event, StepUpdate) and event.step.kind == "code" and getattr(event.step, "result", None):
            standin.fail_next(500, error_type="api_error", message="Internal server error", path_prefix="/v1/files/")

    turn = session.run("Make a chart", on_event=fail_downloads)
    assert turn.files[0].error is not None and "API failed" in turn.files[0].error
    assert len(session.history) == 2 and session.run("Next").text == "next"


def test_an_interrupt_during_downloads_writes_nothing_after_it(session: Session, standin: StandIn) -> None:
    big = "import os\nopen(os.path.join(os.environ['OUTPUT_DIR'], 'big.bin'), 'wb').write(os.urandom(300_000))\n"
    standin.set_script(script([{"python": big}, {"text": "Done."}]))
    standin.bandwidth = 200_000  # bytes/s: the download takes about 1.5 s

    def interrupt_on_text(event: TurnEvent) -> None:
        if isinstance(event, StepUpdate) and isinstance(event.step, TextStep) and event.step.text:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        session.run("Make a big file", on_event=interrupt_on_text)
    time.sleep(2.5)  # the download finishes on its thread, and must not write
    folder = session.download_dir
    assert not folder.exists() or list(folder.iterdir()) == []
    assert state(session) == ([], None, (), (), False)


# -- options are part of the transaction -------------------------------------------------------


def test_new_and_attach_change_nothing_when_the_turn_fails(
    session: Session, standin: StandIn, sales: pd.DataFrame, tmp_path: Path
) -> None:
    standin.set_script(script([{"python": READ_INPUT}], [{"text": "fresh"}]))
    session.upload(sales, name="sales")
    (tmp_path / "notes.txt").write_text("hello")
    session.run("Total?")
    session.upload(str(tmp_path / "notes.txt"))
    before = state(session)
    standin.fail_next(529, error_type="overloaded_error", message="Overloaded", path_prefix="/v1/messages")
    with pytest.raises(errors.OverloadedError):
        session.run("Start over", new=True, attach=["sales.parquet"])
    assert state(session) == before
    turn = session.run("Start over", new=True, attach=["sales.parquet"])
    assert turn.text == "fresh" and len(session.history) == 2
    sent = posts(standin)[-1].json
    assert "container" not in sent and len(sent["messages"]) == 1


# -- tool version and credentials --------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "version"),
    [
        ("claude-haiku-4-5", "code_execution_20250825"),
        ("claude-sonnet-4-5-20250929", "code_execution_20260120"),
        ("claude-sonnet-5", "code_execution_20260521"),
        ("some-future-model", "code_execution_20250825"),
    ],
)
def test_the_tool_version_follows_the_model(make_session: Any, standin: StandIn, model: str, version: str) -> None:
    session = make_session(model=model)
    standin.set_script(script([{"python": "print(1)"}]))
    session.run("One")
    assert posts(standin)[-1].json["tools"] == [{"type": version, "name": "code_execution"}]
    override = make_session(model=model, tool_version="code_execution_20250522")
    override.run("One")
    assert posts(standin)[-1].json["tools"][0]["type"] == "code_execution_20250522"


def test_credentials_come_from_the_sdk_profiles_included(
    monkeypatch: pytest.MonkeyPatch, make_session: Any, standin: StandIn, tmp_path: Path
) -> None:
    config = tmp_path / "anthropic"
    (config / "configs").mkdir(parents=True)
    (config / "credentials").mkdir()
    (config / "configs" / "dev.json").write_text(json.dumps({"authentication": {"type": "user_oauth"}}))
    secret = config / "credentials" / "dev.json"
    secret.write_text(json.dumps({"type": "oauth_token", "access_token": "profile-token-1"}))
    os.chmod(secret, 0o600)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(config))
    monkeypatch.setenv("ANTHROPIC_PROFILE", "dev")
    session = make_session()
    standin.set_script(script([{"text": "hello"}]))
    assert session.run("Hi").text == "hello"
    assert session.client.fingerprint
    for path in Path(session.registry.path).parent.iterdir():
        assert b"profile-token-1" not in path.read_bytes()


def test_no_credentials_at_all_is_one_line(monkeypatch: pytest.MonkeyPatch, make_session: Any, tmp_path: Path) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "empty"))
    with pytest.raises(errors.MissingApiKeyError, match="ANTHROPIC_API_KEY"):
        make_session().run("Hi")


def test_reconnecting_elsewhere_sends_neither_the_old_container_nor_the_history(
    session: Session, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.set_script(script([{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    session.run("Total?")
    with StandIn(script=script([{"text": "new server"}])) as other:
        notice = session.reconnect(base_url=other.base_url, timeout=30, max_retries=0)
        assert notice is not None and "fresh conversation" in notice
        assert session.run("Hello there").text == "new server"
        sent = posts(other)[0].json
        assert "container" not in sent and len(sent["messages"]) == 1
        assert "sales" not in json.dumps(sent)
    assert session.reconnect(base_url=standin.base_url, timeout=30, max_retries=0) is not None


def test_reconnecting_to_the_same_place_keeps_everything(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print(1)"}]))
    session.run("One")
    before = state(session)
    assert session.reconnect(base_url=standin.base_url, timeout=5, max_retries=0) is None
    assert state(session) == before
