"""Record a session against the stand-in, replay it offline, and get the same turns and the same rendering."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pandas as pd
import pytest

from claude_magic import _render as render
from claude_magic._recording import recording_http_client
from claude_magic._session import Session
from claude_magic.errors import BadRequestError
from claude_magic.results import CodeStep, Turn
from claude_magic.testing import Script, StandIn
from claude_magic.testing.cassette import EXCHANGES, Cassette
from claude_magic.testing.recorder import RecordingProxy
from claude_magic.testing.replay import ReplayServer

CANARY = "sk-ant-canary-XYZ-0123456789abcdefghijklmnop"
ROOT = Path(__file__).resolve().parent.parent

CHART = """
import os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
df = pd.read_parquet(os.path.join(os.environ["INPUT_DIR"], "sales.parquet"))
print(df.groupby("region")["revenue"].sum().to_string())
fig, ax = plt.subplots(figsize=(3, 2))
df.groupby("region")["revenue"].sum().plot.bar(ax=ax)
fig.savefig(os.path.join(os.environ["OUTPUT_DIR"], "revenue.png"), dpi=50)
"""

SCRIPT = Script.from_dict(
    {
        "replies": [
            {
                "match": "(?i)chart",
                "steps": [{"text": "I'll sum revenue by region and plot it."}, {"python": CHART}, {"text": "Done."}],
            },
            {
                "match": "(?i)notes",
                "steps": [
                    {"bash": 'cat "$INPUT_DIR/notes.txt"; ls "$INPUT_DIR"'},
                    {"editor": {"command": "create", "path": "summary.txt", "file_text": "two regions\n"}},
                    {"text": "The notes say hello."},
                ],
            },
            {"match": "(?i)again", "steps": [{"bash": 'ls "$INPUT_DIR"'}, {"text": "Still here."}]},
        ]
    }
)

SALES = pd.DataFrame({"region": ["north", "south", "north"], "revenue": [10.0, 20.0, 5.0]})
_IDS = re.compile(r"\b(file|container|srvtoolu|toolu|msg|req)_(?:…[0-9A-Za-z]{6}|[0-9A-Za-z]{16,})")
_TIMES = re.compile(r"\d+(\.\d+)?\s?(ms|s|min)\b|\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?( UTC)?")


def _normalised(text: str) -> str:
    return _TIMES.sub("<time>", _IDS.sub(r"\1_<id>", text))


def _session_flow(base_url: str, tmp: Path) -> dict[str, Any]:
    """A notebook's worth of calls on a fresh Session; what it produced, ids and timings stripped."""
    tmp.mkdir(parents=True, exist_ok=True)
    notes = tmp.parent / "notes.txt"  # one source path, so the upload tables read the same
    notes.write_text("hello from the notes\n")
    session = Session(
        base_url=base_url,
        download_dir=tmp / "downloads",
        cache_dir=tmp / "cache",
        max_retries=0,
        tool_version="code_execution_20250825",
    )
    try:
        uploads = [session.upload(SALES, name="sales"), session.upload(notes)]
        turns: list[Turn] = [session.run("Make a chart of revenue by region.")]
        turns.append(session.run("What do the notes say?"))
        session.delete("notes.txt")
        turns.append(session.run("Look again."))
        listing = sorted(file.filename for file in session.remote_files())
    finally:
        session.close()
    bundles = [render.upload_batch_bundle(batch) for batch in uploads]
    bundles += [render.turn_bundle(turn, link_base=tmp) for turn in turns]
    return {
        "steps": [[type(step).__name__ for step in turn.steps] for turn in turns],
        "stdout": [[s.result.stdout for s in turn.steps if isinstance(s, CodeStep) and s.result] for turn in turns],
        "files": [[(file.name, file.path.read_bytes()) for file in turn.files if file.path] for turn in turns],
        "containers": len({turn.container.id for turn in turns if turn.container}),
        "listing": listing,
        "rendered": [{mime: _normalised(str(value)) for mime, value in bundle.items()} for bundle in bundles],
    }


def _all_bytes(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


@pytest.fixture
def canary_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    return CANARY


@pytest.fixture
def recorded(tmp_path: Path, canary_key: str) -> tuple[Path, dict[str, Any]]:
    """A session recorded through the proxy in front of the stand-in, and what it produced."""
    cassette = tmp_path / "session.cassette"
    with StandIn(script=SCRIPT) as api, RecordingProxy(api.base_url, cassette) as proxy:
        result = _session_flow(proxy.base_url, tmp_path / "recording")
    return cassette, result


def test_a_replayed_session_gives_the_same_turns_and_rendering(recorded: tuple[Path, dict[str, Any]], tmp_path: Path):
    cassette, original = recorded
    assert original["files"][0][0][0] == "revenue.png"
    assert original["stdout"][0][0].split() == ["region", "north", "15.0", "south", "20.0"]
    with ReplayServer(cassette) as replay:
        replayed = _session_flow(replay.base_url, tmp_path / "replaying")
    assert replay.unmatched == []
    assert replay.unused == []
    assert replayed == original


def test_fresh_ids_are_mapped_back_consistently(recorded: tuple[Path, dict[str, Any]], tmp_path: Path):
    cassette, original = recorded
    recorded_ids = {m.group(0) for m in _IDS.finditer((cassette / EXCHANGES).read_text())}
    with ReplayServer(cassette, fresh_ids=True) as replay:
        replayed = _session_flow(replay.base_url, tmp_path / "fresh")
    assert replay.unmatched == []
    assert replayed == original
    handed_out = replay.ids.to_live((cassette / EXCHANGES).read_text())
    handed_out_ids = {m.group(0) for m in _IDS.finditer(handed_out)}
    assert len(recorded_ids) > 10 and len(handed_out_ids) == len(recorded_ids)
    assert not recorded_ids & handed_out_ids


def test_the_canary_key_never_reaches_the_cassette(recorded: tuple[Path, dict[str, Any]]):
    cassette, _ = recorded
    files = list(_all_bytes(cassette))
    assert len(files) > 3  # cassette.json, exchanges.jsonl, the uploads and the chart
    for path, data in files:
        assert CANARY.encode() not in data, path
        assert b"canary" not in data.lower(), path
    exchanges = Cassette(cassette).exchanges
    for exchange in exchanges:
        names = {name for name, _ in exchange.request["headers"] + exchange.response["headers"]}
        assert not names & {"authorization", "x-api-key", "cookie", "set-cookie"}
    kinds = [(e.request["method"], e.request["path"].split("/")[2], e.response["body"]["kind"]) for e in exchanges]
    assert ("POST", "files", "json") in kinds  # the upload's metadata
    assert ("POST", "messages", "sse") in kinds
    assert ("GET", "files", "bytes") in kinds  # the chart's bytes
    upload = next(e for e in exchanges if e.request["body"]["kind"] == "multipart")
    assert [part["filename"] for part in upload.request["body"]["parts"]] == ["sales.parquet"]


def test_streams_keep_their_timing(tmp_path: Path, canary_key: str):
    slow = Script.from_dict({"replies": [{"steps": [{"text": "one"}, {"python": "import time; time.sleep(0.4)"}]}]})
    cassette = tmp_path / "slow.cassette"
    with StandIn(script=slow) as api, RecordingProxy(api.base_url, cassette) as proxy:
        _raw_turn(proxy.base_url, "Go.")
    (stream,) = [e for e in Cassette(cassette) if e.response["body"]["kind"] == "sse"]
    offsets = [event["t"] for event in stream.response["body"]["events"]]
    assert offsets == sorted(offsets) and offsets[-1] - offsets[0] >= 0.35
    for speed, low, high in ((1.0, 0.35, 3.0), (0.0, 0.0, 0.3)):
        with ReplayServer(cassette, speed=speed) as replay:
            started = time.monotonic()
            _raw_turn(replay.base_url, "Go.")
            elapsed = time.monotonic() - started
        assert low <= elapsed <= high, (speed, elapsed)


def _raw_turn(base_url: str, prompt: str, http_client: Any = None) -> anthropic.types.Message:
    client = anthropic.Anthropic(
        base_url=base_url, max_retries=0, http_client=http_client, _strict_response_validation=True
    )
    with client.messages.stream(
        model="claude-sonnet-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": prompt}],
        tools=[{"type": "code_execution_20250825", "name": "code_execution"}],
    ) as stream:
        return stream.get_final_message()


def test_an_unmatched_request_names_the_closest_recorded_one(recorded: tuple[Path, dict[str, Any]], tmp_path: Path):
    cassette, _ = recorded
    with ReplayServer(cassette) as replay:
        session = Session(base_url=replay.base_url, cache_dir=tmp_path / "cache", download_dir=tmp_path, max_retries=0)
        session.upload(SALES, name="sales")
        session.upload(tmp_path / "notes.txt")  # the recording's, so only the prompt differs
        with pytest.raises(BadRequestError) as caught:
            session.run("Draw a chart of costs instead.")
        session.close()
    message = str(caught.value)
    assert "no recorded exchange" in message and "matches POST /v1/messages" in message
    first_turn = next(e for e in Cassette(cassette) if e.request["path"] == "/v1/messages")
    assert f"Closest recorded: {first_turn.label} (" in message
    assert "Draw a chart of costs" in message and "Make a chart of revenue" in message
    assert [u.path for u in replay.unmatched] == ["/v1/messages"]


def test_the_in_process_recorder_writes_the_same_format(tmp_path: Path, canary_key: str):
    cassette = tmp_path / "client.cassette"
    script = Script.from_dict(
        {"replies": [{"steps": [{"python": "import os; open(os.environ['OUTPUT_DIR'] + '/x.txt', 'w').write('42')"}]}]}
    )
    with StandIn(script=script) as api:
        http = recording_http_client(cassette)
        client = anthropic.Anthropic(base_url=api.base_url, http_client=http, _strict_response_validation=True)
        uploaded = client.beta.files.upload(file=("data.csv", b"a,b\n1,2\n", "text/csv"))
        message = _raw_turn(api.base_url, "Write x.txt", http_client=http)
        produced = [
            b.content.content[0].file_id for b in message.content if b.type == "bash_code_execution_tool_result"
        ]
        data = client.beta.files.download(produced[0]).read()
        client.close()
    assert data == b"42"
    exchanges = Cassette(cassette).exchanges
    assert [e.request["path"] for e in exchanges] == ["/v1/files", "/v1/messages", f"/v1/files/{produced[0]}/content"]
    assert json.loads((cassette / "cassette.json").read_text())["recorder"] == "client"
    for path, content in _all_bytes(cassette):
        assert CANARY.encode() not in content, path
    with ReplayServer(cassette) as replay:
        client = anthropic.Anthropic(base_url=replay.base_url, max_retries=0, _strict_response_validation=True)
        assert client.beta.files.upload(file=("data.csv", b"a,b\n1,2\n", "text/csv")).id == uploaded.id
        assert _raw_turn(replay.base_url, "Write x.txt").content == message.content
        assert client.beta.files.download(produced[0]).read() == b"42"
        client.close()


def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip().removeprefix("ANTHROPIC_BASE_URL=")


def test_the_command_line_records_and_replays(tmp_path: Path, canary_key: str):
    cassette = tmp_path / "cli.cassette"
    script = Script.from_dict({"replies": [{"steps": [{"text": "Hello from the tape."}]}]})
    command = [sys.executable, "-m", "claude_magic.testing"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with StandIn(script=script) as api:
        proxy = subprocess.Popen(
            [*command, "record", "--to", str(cassette), "--upstream", api.base_url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            live = _raw_turn(_first_line(proxy), "Hi")
        finally:
            proxy.terminate()
            _, stderr = proxy.communicate(timeout=10)
    assert "recorded 1 exchanges" in stderr
    replay = subprocess.Popen(
        [*command, "replay", str(cassette), "--speed", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        replayed = _raw_turn(_first_line(replay), "Hi")
    finally:
        replay.terminate()
        replay.communicate(timeout=10)
    assert replayed.content == live.content
    assert replayed.content[0].type == "text" and replayed.content[0].text == "Hello from the tape."


# -- %claude_record in a notebook, and the same notebook replayed ---------------------------------------

NOTEBOOK = [
    "%claude_record {cassette}",
    "%claude_upload sales",
    "%%claude_exec\nMake a chart of revenue by region.",
    "%claude_container --new",
    "%%claude_exec\nLook again.",
    "%claude_record --stop",
]


def _run_notebook(base_url: str, workdir: Path, cassette: Path) -> list[list[dict[str, str]]]:
    """Run NOTEBOOK's cells in a fresh shell; each cell's final bundles, ids and timings stripped."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.ClaudeMagics.base_url = base_url
    config.ClaudeMagics.download_dir = "downloads"  # in the working directory, so messages read the same
    config.ClaudeMagics.max_retries = 0
    config.ClaudeMagics.tool_version = "code_execution_20250825"
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    shell.extension_manager.load_extension("claude_magic")
    shell.user_ns["sales"] = SALES
    workdir.mkdir()
    os.chdir(workdir)
    cells = []
    try:
        for source in NOTEBOOK:
            with capture_output() as captured:
                result = shell.run_cell(source.format(cassette=cassette))
            assert result.error_in_exec is None, captured.stderr
            shown: dict[object, dict[str, str]] = {}
            for index, output in enumerate(captured.outputs):
                key = output.transient.get("display_id", index)
                if key in shown or not output.update:
                    shown[key] = {mime: _normalised(str(value)) for mime, value in output.data.items()}
            cells.append([bundle for bundle in shown.values() if any(bundle.values())])
    finally:
        shell.extension_manager.unload_extension("claude_magic")
        InteractiveShell.clear_instance()
    return cells


def test_a_notebook_recorded_with_the_magic_replays_with_the_same_outputs(
    tmp_path: Path, canary_key: str, monkeypatch: pytest.MonkeyPatch
):
    cassette = tmp_path / "notebook.cassette"
    monkeypatch.chdir(tmp_path)
    with StandIn(script=SCRIPT) as api:
        recorded = _run_notebook(api.base_url, tmp_path / "first", cassette)
        exchanges = (cassette / EXCHANGES).read_text()
        assert len(api.containers) == 2  # --new really started a second container
    assert "Recording this session" in recorded[0][0]["text/plain"]
    assert "Stopped recording: " in recorded[-1][0]["text/plain"]
    assert CANARY not in exchanges and exchanges.count('"path":"/v1/messages"') == 2
    with ReplayServer(cassette) as replay:
        replayed = _run_notebook(replay.base_url, tmp_path / "second", cassette)
    assert replay.unmatched == [] and replay.unused == []
    assert (cassette / EXCHANGES).read_text() == exchanges  # recording a replay wrote nothing
    assert replayed[:-1] == recorded[:-1]
    assert "the API was a replay" in replayed[-1][0]["text/plain"]


@pytest.mark.slow
def test_make_demo_replays_a_recorded_notebook(tmp_path: Path):
    import run_demo

    cassette = tmp_path / "churn.cassette"
    first = run_demo.run_notebook("churn_analysis", out=tmp_path / "first", record=cassette)
    assert first.error is None
    second = run_demo.run_notebook("churn_analysis", out=tmp_path / "second", replay=cassette)
    assert second.error is None

    def outputs(result: Any) -> list[list[dict[str, str]]]:
        cells = [cell for cell in result.notebook.cells if cell.cell_type == "code"]
        return [
            [
                {mime: _normalised(str(value)) for mime, value in output.get("data", {}).items()}
                for output in cell.get("outputs", [])
                if output.get("output_type") in ("display_data", "execute_result")
            ]
            for cell in cells
        ]

    assert len(Cassette(cassette)) > 5
    assert outputs(second) == outputs(first)


@pytest.mark.parametrize(
    ("opt_in", "key", "marker", "reason"),
    [
        (None, "sk-ant-x", "live", "not opted in"),
        ("1", None, "live", "needs ANTHROPIC_API_KEY"),
        ("1", "sk-ant-x", None, "only when selected with -m live"),
    ],
)
def test_the_live_lane_is_collected_and_skipped_with_how_to_run_it(
    opt_in: str | None, key: str | None, marker: str | None, reason: str
):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("ANTHROPIC_", "CLAUDE_MAGIC_"))}
    env.update({"CLAUDE_MAGIC_LIVE": opt_in} if opt_in else {})
    env.update({"ANTHROPIC_API_KEY": key} if key else {})
    command = [sys.executable, "-m", "pytest", "tests/live", "-q", "-rs", "-p", "no:cacheprovider"]
    command += ["-m", marker] if marker else []
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b3 skipped\b", done.stdout) and "passed" not in done.stdout
    assert reason in done.stdout and "CLAUDE_MAGIC_LIVE=1 ANTHROPIC_API_KEY=sk-ant-... make test-live" in done.stdout
