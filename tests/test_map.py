"""Session.map over many inputs, through the real SDK over HTTP against the stand-in's Batches endpoints."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from claude_magic._map_values import MapProgress
from claude_magic._session import Session
from claude_magic.errors import ClaudeMagicError
from claude_magic.testing import Script, StandIn

# Reads the one input, prints its total, saves a real PNG (standard library only: fast in the sandbox).
ANALYSE = """
import glob, os, struct, zlib
path = [p for p in glob.glob(os.path.join(os.environ["INPUT_DIR"], "*")) if os.path.isfile(p)][0]
rows = open(path).read().split()[1:]
print(os.path.basename(path), "total", sum(int(row.split(",")[1]) for row in rows))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
pixels = b"".join(b"\\x00" + b"\\x00\\x80\\xff" * 4 for _ in range(4))
png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b""))
open(os.path.join(os.environ["OUTPUT_DIR"], "chart.png"), "wb").write(png)
"""


def analysis(*, pause_on: str | None = None) -> Script:
    replies: list[dict[str, Any]] = []
    if pause_on:
        replies.append(
            {
                "match": pause_on,
                "steps": [
                    {"text": "Starting."},
                    {"python": ANALYSE},
                    {"pause": True},
                    {"text": "Finished after a pause."},
                ],
            }
        )
    replies.append({"match": "", "steps": [{"text": "Reading it."}, {"python": ANALYSE}, {"text": "The total is in."}]})
    return Script.from_dict({"replies": replies})


@pytest.fixture
def monthly(tmp_path: Path) -> Path:
    folder = tmp_path / "monthly"
    folder.mkdir()
    for month in range(1, 6):
        (folder / f"2024-{month:02d}.csv").write_text(f"day,revenue\n1,{month}\n2,{10 * month}\n")
    return folder


def batch_posts(standin: StandIn) -> list[dict[str, Any]]:
    return [r.json for r in standin.requests if r.method == "POST" and r.path == "/v1/messages/batches" and r.json]


def test_batch_engine_one_request_per_input_with_its_upload(
    session: Session, standin: StandIn, monthly: Path, tmp_path: Path
) -> None:
    standin.set_script(analysis())
    seen: list[MapProgress] = []
    result = session.map("Total revenue of {{item}}?", str(monthly / "*.csv"), name="months", on_progress=seen.append)

    (posted,) = batch_posts(standin)
    requests = posted["requests"]
    assert len(requests) == 5 and len({r["custom_id"] for r in requests}) == 5
    first = requests[0]["params"]
    assert first["tools"] == [{"type": "code_execution_20260521", "name": "code_execution"}]  # per model
    blocks = first["messages"][0]["content"]
    assert blocks[0]["type"] == "container_upload"
    assert blocks[-1]["text"] == "Total revenue of 2024-01.csv?"
    assert len({r["params"]["messages"][0]["content"][0]["file_id"] for r in requests}) == 5
    assert len(standin.files) >= 5 and sum(1 for r in standin.requests if r.path == "/v1/files") == 5

    frame = result.frame
    assert list(frame["name"]) == [f"2024-{m:02d}.csv" for m in range(1, 6)]
    assert set(frame["status"]) == {"succeeded"}
    assert "2024-03.csv total 33" in frame.loc[2, "stdout"]
    assert frame.loc[0, "text"] == "The total is in."
    assert len(set(frame["container"])) == 5  # each input its own container
    chart = Path(frame.loc[4, "files"][0])
    assert chart == tmp_path / "downloads" / "months" / "2024-05.csv" / "chart.png"
    assert chart.read_bytes().startswith(b"\x89PNG")
    # Batch price: tokens at half the ordinary price, plus the container minimum.
    item = result.items[0]
    assert item.cost is not None and item.cost > 0
    assert seen[0].phase == "uploading" and seen[-1].phase == "done" and seen[-1].succeeded == 5
    assert any(p.phase == "processing" and p.processing == 5 and p.run_id for p in seen)

    turn = result.turn("2024-02.csv")
    assert turn is not None
    assert turn.steps[0].kind == "text"
    assert any(file.is_image for file in turn.files)
    assert "2024-02.csv total 22" in turn.code[-1].result.stdout  # type: ignore[union-attr]


def test_uploads_are_reused_by_a_second_map(session: Session, standin: StandIn, monthly: Path) -> None:
    standin.set_script(analysis())
    session.map("Look at {{item}}.", str(monthly / "*.csv"), engine="sync", concurrency=5)
    session.map("Look again at {{item}}.", str(monthly / "*.csv"), engine="sync", concurrency=5)
    assert sum(1 for r in standin.requests if r.method == "POST" and r.path == "/v1/files") == 5


def test_mixed_outcomes_stay_per_item(session: Session, standin: StandIn, monthly: Path) -> None:
    standin.set_script(analysis())
    standin.batches.fail_items("2024-02", "errored", error_type="invalid_request_error", message="Bad thing <b>")
    standin.batches.fail_items("2024-04", "expired")
    result = session.map("Total of {{item}}.", str(monthly / "*.csv"))
    statuses = dict(zip(result.frame["name"], result.frame["status"], strict=True))
    assert statuses == {
        "2024-01.csv": "succeeded",
        "2024-02.csv": "errored",
        "2024-03.csv": "succeeded",
        "2024-04.csv": "expired",
        "2024-05.csv": "succeeded",
    }
    errored = result.item("2024-02.csv")
    assert errored.error is not None and "invalid_request_error: Bad thing <b>" in errored.error
    assert errored.files == () and errored.cost is None
    assert "expired" in (result.item("2024-04.csv").error or "")
    assert [item.name for item in result.failed] == ["2024-02.csv", "2024-04.csv"]


def test_a_paused_item_is_continued_in_its_own_container(session: Session, standin: StandIn, monthly: Path) -> None:
    standin.set_script(analysis(pause_on="2024-03"))
    result = session.map("Total of {{item}}.", str(monthly / "*.csv"))
    paused = result.item("2024-03.csv")
    assert paused.status == "succeeded" and paused.text == "Finished after a pause."
    assert "2024-03.csv total 33" in paused.stdout  # the open tool use ran when continued
    (follow_up,) = [r.json for r in standin.requests if r.path == "/v1/messages" and r.json]
    assert follow_up["container"] == paused.container
    assert follow_up["messages"][-1]["role"] == "assistant"  # the paused turn, sent back last and unchanged
    assert follow_up["stream"] is True
    assert paused.files and paused.files[0].name == "chart.png"
    others = [item for item in result.items if item.name != "2024-03.csv"]
    assert all(item.ok for item in others)


def test_sync_engine_runs_concurrent_streamed_turns(session: Session, standin: StandIn, monthly: Path) -> None:
    standin.set_script(analysis(pause_on="2024-05"))
    result = session.map("Total of {{item}}.", str(monthly / "*.csv"), engine="sync", concurrency=3, name="s")
    assert batch_posts(standin) == []
    posts = [r for r in standin.requests if r.path == "/v1/messages" and r.json]
    assert all(r.json and r.json["stream"] for r in posts)
    assert len(posts) == 6  # five inputs, one continued after its pause
    assert [item.status for item in result.items] == ["succeeded"] * 5
    assert result.item("2024-05.csv").text == "Finished after a pause."
    assert len({item.container for item in result.items}) == 5
    overlapping = sorted((r.started, r.finished or 0.0) for r in posts)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(overlapping))


def test_sync_item_failure_is_that_items_error(session: Session, standin: StandIn, monthly: Path) -> None:
    standin.set_script(analysis())
    standin.fail_next(400, "invalid_request_error", "refused <x>", path_prefix="/v1/messages")
    result = session.map("Total of {{item}}.", str(monthly / "*.csv"), engine="sync", concurrency=1)
    assert [item.status for item in result.items].count("errored") == 1
    assert "refused <x>" in (result.failed[0].error or "")


def test_retry_reruns_only_the_failed_items(session: Session, standin: StandIn, monthly: Path) -> None:
    standin.set_script(analysis())
    standin.batches.fail_items("2024-0[24]", "errored", count=2)
    first = session.map("Total of {{item}}.", str(monthly / "*.csv"), name="retry")
    assert len(first.failed) == 2
    frame = first.frame
    again = session.retry_map(frame)
    retried = batch_posts(standin)[-1]["requests"]
    assert [r["params"]["messages"][0]["content"][-1]["text"] for r in retried] == [
        "Total of 2024-02.csv.",
        "Total of 2024-04.csv.",
    ]
    assert [item.status for item in again.items] == ["succeeded"] * 5
    assert [item.name for item in again.items] == list(frame["name"])
    assert again.item("2024-01.csv").container == first.item("2024-01.csv").container  # kept, not rerun
    with pytest.raises(ClaudeMagicError, match="nothing to retry"):
        session.retry_map(again)


def test_resume_after_a_restart_collects_the_batch(
    make_session: type[Session], standin: StandIn, monthly: Path
) -> None:
    standin.set_script(analysis())
    standin.batches.processing_delay = 1.0
    first = make_session()

    def stop_waiting(progress: MapProgress) -> None:
        if progress.phase == "processing":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as interrupted:
        first.map("Total of {{item}}.", str(monthly / "*.csv"), name="resumed", on_progress=stop_waiting)
    (batch_id,) = standin.batches.batches
    assert any(f"--resume {batch_id}" in note for note in interrupted.value.__notes__)
    first.close()

    restarted = make_session()  # a new kernel: only the cache folder is shared
    result = restarted.resume_map()
    assert result.run_id == batch_id and result.name == "resumed"
    assert [item.status for item in result.items] == ["succeeded"] * 5
    with pytest.raises(ClaudeMagicError, match="No batch is waiting"):
        restarted.resume_map()
    assert restarted.resume_map(batch_id).run_id == batch_id  # results stay readable


def test_cancel_ends_items_not_started_as_canceled(
    make_session: type[Session], standin: StandIn, monthly: Path
) -> None:
    standin.set_script(analysis())
    standin.batches.processing_delay = 30.0
    session = make_session()

    statuses: list[str] = []

    def cancel_once_submitted(progress: MapProgress) -> None:
        if progress.phase == "processing" and progress.run_id and not statuses:
            statuses.append(session.cancel_map(progress.run_id).processing_status)

    result = session.map("Total of {{item}}.", str(monthly / "*.csv"), on_progress=cancel_once_submitted)
    assert statuses == ["canceling"]
    assert [item.status for item in result.items] == ["canceled"] * 5
    assert not [r for r in standin.requests if r.path == "/v1/messages"]
    with pytest.raises(ClaudeMagicError, match="knows no batch msgbatch_nope"):
        session.cancel_map("msgbatch_nope")


def test_dataframes_and_dicts_are_inputs(session: Session, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"bash": 'ls "$INPUT_DIR"'}]}]}))
    frames = {"north": pd.DataFrame({"x": [1]}), "south": pd.DataFrame({"x": [2]})}
    result = session.map("Look at {{item}}.", frames, engine="sync", concurrency=2)
    assert [item.name for item in result.items] == ["north", "south"]
    assert "south.parquet" in result.item("south").stdout
    listed = session.map("Look at {{item}}.", [pd.DataFrame({"y": [1]}), pd.DataFrame({"y": [2]})], engine="sync")
    assert [item.name for item in listed.items] == ["data_0", "data_1"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ("nowhere/*.csv", "No inputs match 'nowhere/*.csv'"),
        ([], "No inputs to map over"),
        ({"a": 3}, "'a' is a int: a dict maps names to DataFrames or paths"),
    ],
)
def test_bad_inputs_are_refused_before_anything_is_sent(
    session: Session, standin: StandIn, inputs: Any, message: str
) -> None:
    with pytest.raises(ClaudeMagicError, match=message.replace("(", r"\(").replace("*", r"\*")):
        session.map("Look at {{item}}.", inputs)
    assert standin.requests == []


def test_an_input_too_large_is_refused(session: Session, standin: StandIn, tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as stream:
        stream.truncate(501 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(ClaudeMagicError, match=r"huge\.csv is 501\.0 MB, over the Files API limit"):
        session.map("Look at {{item}}.", [str(huge)])
    with pytest.raises(ClaudeMagicError, match="Concurrency must be at least 1"):
        session.map("Look at {{item}}.", [str(huge)], engine="sync", concurrency=0)
    assert standin.requests == []


def test_the_stored_run_survives_in_the_registry_database(session: Session, standin: StandIn, monthly: Path) -> None:
    standin.set_script(analysis())
    result = session.map("Total of {{item}}.", str(monthly / "2024-01.csv"))
    stored = session.registry.path
    import sqlite3

    with sqlite3.connect(stored) as db:
        (settings,) = db.execute("SELECT settings FROM map_runs WHERE run_id = ?", (result.run_id,)).fetchone()
        (item,) = db.execute("SELECT item FROM map_items WHERE run_id = ?", (result.run_id,)).fetchone()
    assert json.loads(settings)["prompt"] == "Total of {{item}}."
    assert json.loads(item)["name"] == "2024-01.csv"
    assert "test-key" not in settings + item


def test_batch_tokens_cost_half_and_code_execution_the_same() -> None:
    from claude_magic._pricing import container_cost, estimate_batch_cost, estimate_cost
    from claude_magic.results import Usage

    usage = Usage(2_000_000, 200_000, code_execution_requests=1)
    tokens = estimate_cost("claude-sonnet-4-5", Usage(2_000_000, 200_000), 0.0)
    assert tokens is not None
    assert estimate_batch_cost("claude-sonnet-4-5", usage) == pytest.approx(tokens / 2 + container_cost(0.0))
    follow_up = Usage(1_000_000, 0)
    assert estimate_batch_cost("claude-sonnet-4-5", usage, follow_up) == pytest.approx(
        tokens / 2 + 3.0 + container_cost(0.0)
    )
