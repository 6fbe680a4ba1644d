"""The magics as a user meets them: a real InteractiveShell, real extension loading, the real SDK.

Every test loads ``claude_magic`` into ``InteractiveShell.instance()`` through the extension
manager, with its configuration set before loading, and talks over HTTP to the offline
stand-in, which really runs the code. Nothing of ours or of the SDK is patched: what the
user sees is observed with ``capture_output`` (which records ``update_display`` calls too)
or with a recording ``DisplayPublisher`` assigned to ``shell.display_pub``.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import UsageError
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from claude_magic.results import CodeStep, EditStep, TextStep, Turn, UploadBatch
from claude_magic.testing import RecordedRequest, Script, StandIn
from shells import shell_config, start_shell, stop_shell

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)>"

# A real PNG written with the standard library only (no matplotlib start-up in the sandbox).
MAKE_PNG = """
import os, struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = b"".join(b"\\x00" + b"\\xff\\x00\\x00" * 4 for _ in range(4))
png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(os.path.join(os.environ["OUTPUT_DIR"], "red.png"), "wb").write(png)
print("wrote red.png")
"""

READ_SALES = """
import os
import pandas as pd
frame = pd.read_parquet(os.path.join(os.environ["INPUT_DIR"], "sales.parquet"))
total = int(frame["revenue"].sum())
print("total", total)
open("state.txt", "w").write(f"total was {total}")
"""


# -- fixtures and helpers ----------------------------------------------------------------------


def script(*replies: list[dict[str, Any]]) -> Script:
    """Replies used in order, one per turn."""
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame({"month": ["jan", "feb", "mar"], "revenue": [10, 20, 30]})


def run(shell: InteractiveShell, source: str) -> tuple[ExecutionResult, CapturedIO]:
    with capture_output() as captured:
        result = shell.run_cell(source)
    return result, captured


def final_bundles(captured: CapturedIO) -> list[dict[str, Any]]:
    """What the output area shows at the end: each display in order, with its last update applied.

    Bundles that ended up empty (the cleared progress line) are left out.
    """
    order: list[object] = []
    latest: dict[object, dict[str, Any]] = {}
    for index, output in enumerate(captured.outputs):
        key = output.transient.get("display_id", index)
        if output.update:
            if key in latest:
                latest[key] = output.data
            continue
        if key not in latest:
            order.append(key)
        latest[key] = output.data
    return [latest[key] for key in order if any(latest[key].values())]


def ok(shell: InteractiveShell, source: str) -> list[dict[str, Any]]:
    """Run a cell that must succeed; return the bundles it left on screen."""
    result, captured = run(shell, source)
    assert result.error_in_exec is None, captured.stderr
    assert "Traceback" not in captured.stdout + captured.stderr
    return final_bundles(captured)


def usage_error(shell: InteractiveShell, source: str) -> str:
    """Run a cell that must fail with a one-line UsageError; return the line."""
    result, captured = run(shell, source)
    assert isinstance(result.error_in_exec, UsageError), (result.error_in_exec, captured.stderr)
    assert type(result.error_in_exec) is UsageError  # a subclass would print a full traceback
    assert "Traceback" not in captured.stdout + captured.stderr
    lines = captured.stderr.strip().splitlines()
    assert len(lines) == 1, captured.stderr
    assert lines[0].startswith("UsageError: ")
    assert len(lines[0]) < 400
    return lines[0]


def magics(shell: InteractiveShell) -> Any:
    return shell.magics_manager.registry["ClaudeMagics"]


def posts(standin: StandIn, path: str = "/v1/messages") -> list[RecordedRequest]:
    return [request for request in standin.requests if request.method == "POST" and request.path == path]


def sent_prompt(request: RecordedRequest) -> str:
    assert request.json is not None
    return str(request.json["messages"][-1]["content"][-1]["text"]).rstrip("\n")  # run_cell adds one


def plain(bundles: list[dict[str, Any]]) -> str:
    return "\n".join(bundle["text/plain"] for bundle in bundles)


def state(shell: InteractiveShell, standin: StandIn) -> tuple[Any, ...]:
    """Everything a failed magic must leave as it was."""
    session = magics(shell).session
    return (
        session.history,
        session.container,
        session.uploads,
        session.pending,
        list(magics(shell).turns),
        len(standin.requests),
        len(standin.files),
    )


# -- the main flow -----------------------------------------------------------------------------


def test_upload_then_exec_in_later_cells_reuses_container_and_its_files(
    shell: InteractiveShell, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.set_script(script([{"python": READ_SALES}], [{"python": "print(open('state.txt').read())"}]))
    shell.user_ns["sales"] = sales
    result, _ = run(shell, "batch = %claude_upload sales")
    assert result.error_in_exec is None
    batch = shell.user_ns["batch"]
    assert isinstance(batch, UploadBatch)
    assert [file.name for file in batch.files] == ["sales.parquet"]
    shown, _ = shell.display_formatter.format(batch)
    assert "sales.parquet" in shown["text/plain"]
    assert "sales.parquet" in shown["text/html"]

    first = plain(ok(shell, "%%claude_exec\nWhat is the total revenue?"))
    assert "total 60" in first
    container = magics(shell).session.container
    assert container is not None
    assert container.id[-6:] in first and "container container" not in first  # the footer names it briefly

    second = plain(ok(shell, "%%claude_exec\nWhat did you write down?"))
    assert "total was 60" in second  # a file the first cell's code wrote, read in the same container
    requests = posts(standin)
    assert len(requests) == 2
    assert requests[0].json is not None
    assert requests[1].json is not None
    assert requests[0].json.get("container") is None
    assert requests[1].json["container"] == container.id
    first_blocks = [block["type"] for block in requests[0].json["messages"][-1]["content"]]
    second_blocks = [block["type"] for block in requests[1].json["messages"][-1]["content"]]
    assert first_blocks[0] == "container_upload"
    assert second_blocks == ["text"]  # already in the container: not attached again
    assert batch.files[0].file_id in str(requests[0].json)
    assert [message["role"] for message in magics(shell).session.history] == ["user", "assistant"] * 2


def test_rendered_outputs_are_what_really_ran(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "I'll draw a **red** square."}, {"python": MAKE_PNG}, {"text": "Here it is."}]))
    bundles = ok(shell, "%%claude_exec\nDraw a red square.")
    assert bundles
    assert all("text/plain" in bundle for bundle in bundles)
    prose = [bundle for bundle in bundles if "claude-magic-text" in bundle.get("text/html", "")]
    assert [bundle["text/plain"] for bundle in prose] == ["I'll draw a **red** square.", "Here it is."]
    assert "<strong>red</strong>" in prose[0]["text/html"]
    (code,) = [bundle for bundle in bundles if "claude-magic-step" in bundle.get("text/html", "")]
    assert "wrote red.png" in code["text/plain"]
    assert "wrote red.png" in code["text/html"]
    assert "zlib.compress" in code["text/plain"]  # the code itself, above its output
    (image,) = [bundle for bundle in bundles if "image/png" in bundle]
    assert base64.b64decode(image["image/png"]).startswith(PNG_SIGNATURE)
    assert "red.png" in image["text/plain"]
    footer = bundles[-1]
    assert "claude-magic-footer" in footer["text/html"]
    assert "claude-sonnet-5" in footer["text/plain"]
    assert "tokens in" in footer["text/plain"]
    kinds = [
        "markdown" if "claude-magic-text" in b.get("text/html", "") else "png" if "image/png" in b else "html"
        for b in bundles
    ]
    assert kinds == ["markdown", "html", "png", "markdown", "html"]  # in the order it happened
    saved = Path(shell.config.ClaudeMagics.download_dir) / "red.png"
    assert saved.read_bytes().startswith(PNG_SIGNATURE)


def test_cell_returns_nothing_and_out_stores_the_turn(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Six times seven:"}, {"python": "print(6 * 7)"}]))
    result, _ = run(shell, "%%claude_exec --out turn\nCompute 6 * 7.")
    assert result.error_in_exec is None
    assert result.result is None
    turn = shell.user_ns["turn"]
    assert isinstance(turn, Turn)
    assert [type(step) for step in turn.steps] == [TextStep, CodeStep]
    assert turn.code[0].result is not None
    assert turn.code[0].result.stdout == "42\n"
    assert magics(shell).turns == (turn,)
    shown, _ = shell.display_formatter.format(turn)
    assert "42" in shown["text/plain"]
    assert "claude-magic-turn" in shown["text/html"]


# -- prompts -----------------------------------------------------------------------------------


def test_double_braces_interpolate_and_everything_else_passes_through(
    shell: InteractiveShell, standin: StandIn
) -> None:
    standin.set_script(script([{"text": "ok"}]))
    shell.user_ns["column"] = "revenue"
    shell.user_ns["cfg"] = SimpleNamespace(limit=SimpleNamespace(rows=500))
    cell = 'Median of {{column}} for {{ cfg.limit.rows }} rows; keep {x}, {{}} and f"{a}" and $HOME as written.'
    ok(shell, f"%%claude_exec\n{cell}")
    assert sent_prompt(posts(standin)[-1]) == (
        'Median of revenue for 500 rows; keep {x}, {{}} and f"{a}" and $HOME as written.'
    )


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("Use {{nope}} please", "{{nope}} in the prompt names no variable"),
        ("Use {{cfg.missing}}", "cfg has no attribute 'missing'"),
    ],
)
def test_unknown_template_names_send_nothing(
    shell: InteractiveShell, standin: StandIn, cell: str, message: str
) -> None:
    shell.user_ns["cfg"] = SimpleNamespace()
    before = len(standin.requests)
    assert message in usage_error(shell, f"%%claude_exec\n{cell}")
    assert len(standin.requests) == before == 0


def test_line_form_takes_options_before_the_prompt(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print('line form')"}]))
    shell.user_ns["n"] = 3
    bundles = ok(shell, "%claude_exec --out t --no-stream -m claude-haiku-5 What is {{n}} + {x}?")
    assert "line form" in plain(bundles)
    request = posts(standin)[-1]
    assert request.json is not None
    assert sent_prompt(request) == "What is 3 + {x}?"
    assert request.json["model"] == "claude-haiku-5"
    assert not request.json.get("stream")
    assert isinstance(shell.user_ns["t"], Turn)


def test_no_stream_gives_the_same_outputs(shell: InteractiveShell, standin: StandIn) -> None:
    steps = [{"text": "Drawing."}, {"python": MAKE_PNG}]
    standin.set_script(script(steps, steps))
    streamed = ok(shell, "%%claude_exec\nDraw.")
    whole = ok(shell, "%%claude_exec --no-stream\nDraw.")
    assert [bool(request.json.get("stream")) for request in posts(standin) if request.json] == [True, False]
    assert [sorted(bundle) for bundle in streamed] == [sorted(bundle) for bundle in whole]
    assert "wrote red.png" in plain(whole)


def test_new_starts_a_fresh_container(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(
        script(
            [{"python": "open('mark.txt', 'w').write('x')"}],
            [{"python": "import os; print(os.path.exists('mark.txt'))"}],
        )
    )
    ok(shell, "%%claude_exec\nLeave a mark.")
    first = magics(shell).session.container
    bundles = ok(shell, "%%claude_exec --new\nIs the mark there?")
    second = magics(shell).session.container
    assert first is not None
    assert second is not None
    assert first.id != second.id
    assert "False" in plain(bundles)
    last = posts(standin)[-1].json
    assert last is not None
    assert last.get("container") is None
    assert len(last["messages"]) == 1  # a fresh conversation too


def test_tool_version_flag_renders_bash_and_editor_steps(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(
        script(
            [
                {"bash": "echo from-bash; ls"},
                {"editor": {"command": "create", "path": "notes.txt", "file_text": "hello\n"}},
                {"editor": {"command": "str_replace", "path": "notes.txt", "old_str": "hello", "new_str": "bye"}},
                {"editor": {"command": "view", "path": "notes.txt"}},
            ]
        )
    )
    result, captured = run(shell, "%%claude_exec --tool-version code_execution_20250825 --out turn\nEdit notes.")
    assert result.error_in_exec is None, captured.stderr
    request = posts(standin)[-1].json
    assert request is not None
    assert [tool["type"] for tool in request["tools"]] == ["code_execution_20250825"]
    text = plain(final_bundles(captured))
    assert "[bash]" in text
    assert "from-bash" in text
    assert "[Create notes.txt]" in text
    assert "[Edit notes.txt]" in text
    assert "[View notes.txt]" in text
    assert "-hello" in text
    assert "+bye" in text
    turn = shell.user_ns["turn"]
    assert [step.kind for step in turn.steps] == ["code", "edit", "edit", "edit"]
    view = turn.steps[-1]
    assert isinstance(view, EditStep)
    assert view.result is not None
    assert "bye" in view.result.stdout


def test_outdir_saves_files_there(shell: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    standin.set_script(script([{"python": MAKE_PNG}]))
    ok(shell, f"%%claude_exec --outdir {tmp_path / 'elsewhere'} --out turn\nDraw.")
    (file,) = shell.user_ns["turn"].files
    assert file.path == (tmp_path / "elsewhere" / "red.png").resolve()
    assert file.path.read_bytes().startswith(PNG_SIGNATURE)
    assert not (tmp_path / "downloads" / "red.png").exists()


# -- %claude_export ----------------------------------------------------------------------------


def test_export_puts_the_code_that_ran_into_the_next_cell_and_a_script(
    shell: InteractiveShell, standin: StandIn, sales: pd.DataFrame, tmp_path: Path
) -> None:
    standin.set_script(script([{"python": READ_SALES}], [{"bash": "cat state.txt"}]))
    shell.user_ns["sales"] = sales
    ok(shell, "%claude_upload sales")
    ok(shell, "%%claude_exec\nTotal revenue?")
    ok(shell, "%%claude_exec\nShow the note.")
    bundles = ok(shell, "%claude_export --file analysis.py")
    queued = shell.rl_next_input  # what set_next_input handed to the frontend (the last call wins)
    assert READ_SALES.strip() in queued
    assert "cat state.txt" in queued
    assert queued.index("read_parquet") < queued.index("cat state.txt")
    assert "Exported 1 cell" in bundles[0]["text/plain"]
    assert "analysis.py" in bundles[0]["text/plain"]
    assert (tmp_path / "claude_inputs" / "sales.parquet").is_file()  # inputs copied for local reruns

    # The exported script runs locally against the copied input, as it ran in the sandbox (bash included).
    rerun = subprocess.run(
        [sys.executable, "analysis.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "total 60" in rerun.stdout
    assert "total was 60" in rerun.stdout  # the bash step's `cat state.txt`
    assert (tmp_path / "state.txt").read_text() == "total was 60"


def test_export_of_one_turn(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print('one')"}], [{"python": "print('two')"}]))
    ok(shell, "%%claude_exec\nFirst.")
    ok(shell, "%%claude_exec\nSecond.")
    ok(shell, "%claude_export --turn 2")
    assert "print('two')" in shell.rl_next_input
    assert "print('one')" not in shell.rl_next_input


# -- %claude_files, %claude_container, %claude_reset ------------------------------------------


def test_files_list_delete_download_and_all(shell: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n2\n")
    ok(shell, "%claude_upload a.csv b.csv")
    listing = plain(ok(shell, "%claude_files"))
    assert "a.csv" in listing
    assert "b.csv" in listing

    standin.set_script(script([{"python": MAKE_PNG}]))
    ok(shell, "%%claude_exec --out turn\nDraw.")
    (made,) = shell.user_ns["turn"].files
    everything = plain(ok(shell, "%claude_files --all"))
    assert "3 files on the Files API" in everything
    assert "a.csv" in everything
    assert made.file_id in everything

    downloaded = ok(shell, f"%claude_files download {made.file_id} --to {tmp_path / 'fetched'}")
    assert (tmp_path / "fetched" / "red.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "image/png" in downloaded[0]

    a_id = next(file.file_id for file in magics(shell).session.uploads if file.name == "a.csv")
    deleted = plain(ok(shell, "%claude_files delete a.csv"))
    assert "a.csv" in deleted
    assert "deleted" in deleted
    assert a_id not in standin.files
    assert [file.name for file in magics(shell).session.uploads] == ["b.csv"]
    assert "a.csv" not in plain(ok(shell, "%claude_files"))


def test_upload_paths_with_spaces_and_globs(shell: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / "my data.csv").write_text("x\n1\n")
    (tmp_path / "q1.csv").write_text("x\n2\n")
    (tmp_path / "q2.csv").write_text("x\n3\n")
    ok(shell, '%claude_upload "my data.csv" q*.csv')
    assert [file.name for file in magics(shell).session.uploads] == ["my data.csv", "q1.csv", "q2.csv"]
    assert len(posts(standin, "/v1/files")) == 3


def test_container_shows_and_replaces_the_sandbox(shell: InteractiveShell, standin: StandIn) -> None:
    assert "No container yet" in plain(ok(shell, "%claude_container"))
    standin.set_script(script([{"python": "print(1)"}], [{"python": "print(2)"}]))
    ok(shell, "%%claude_exec\nOne.")
    container = magics(shell).session.container
    assert container is not None
    assert container.id in plain(ok(shell, "%claude_container"))
    assert "No container yet" in plain(ok(shell, "%claude_container --new"))
    ok(shell, "%%claude_exec\nTwo.")
    last = posts(standin)[-1].json
    assert last is not None
    assert last.get("container") is None
    assert len(last["messages"]) == 3  # --new keeps the conversation, unlike --new on %%claude_exec


def test_reset_forgets_conversation_and_container_but_keeps_uploads(
    shell: InteractiveShell, standin: StandIn, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    ok(shell, "%claude_upload a.csv")
    standin.set_script(script([{"bash": "cat $INPUT_DIR/a.csv"}], [{"bash": "cat $INPUT_DIR/a.csv"}]))
    ok(shell, "%%claude_exec\nShow it.")
    first = magics(shell).session.container
    assert "fresh conversation" in plain(ok(shell, "%claude_reset"))
    assert magics(shell).session.history == []
    assert magics(shell).turns == ()
    assert usage_error(shell, "%claude_export").startswith("UsageError: Nothing to export")
    assert "x\n1" in plain(ok(shell, "%%claude_exec\nShow it again."))  # re-attached to the new container
    second = magics(shell).session.container
    assert first is not None
    assert second is not None
    assert first.id != second.id


# -- mistakes: one line, no traceback, nothing changed -----------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("%%claude_exec --bogus\nhi", "unrecognized arguments: --bogus"),
        ("%claude_exec --bogus hi", "unrecognized arguments: --bogus"),
        ("%%claude_exec --out 1bad\nhi", "--out needs a variable name"),
        ("%%claude_exec --max-tokens lots\nhi", "invalid int value"),
        ("%%claude_exec\n   \n", "The prompt is empty"),
        ("%claude_exec", "The prompt is empty"),
        ("%claude_exec --out t", "The prompt is empty"),
        ("%%claude_exec\nUse {{nope}}", "names no variable"),
        ("%%claude_exec --attach nothing.csv\nhi", "No uploaded file named 'nothing.csv'"),
        ("%%claude_exec --tool-version code_execution_19990101\nhi", "HTTP 400"),
        ("%claude_upload", "Give a DataFrame variable"),
        ("%claude_upload missing.csv", "No file matches 'missing.csv'"),
        ("%claude_upload undefined_variable", "undefined_variable"),
        ("%claude_upload a.csv missing.csv", "No file matches 'missing.csv'"),
        ("%claude_upload a.csv b.csv --name one.csv", "--name needs exactly one source"),
        ("%claude_upload a.csv --format xlsx", "invalid choice: 'xlsx'"),
        ("%claude_upload --bogus a.csv", "unrecognized arguments: --bogus"),
        ("%claude_files frobnicate", "invalid choice: 'frobnicate'"),
        ("%claude_files delete", "needs a file name or id"),
        ("%claude_files delete nothing.csv", "No uploaded file named 'nothing.csv'"),
        ("%claude_files delete b.csv nothing.csv", "No uploaded file named 'nothing.csv'"),
        ("%claude_files download file_nope", "Could not download file_nope"),
        ("%claude_container --bogus", "unrecognized arguments: --bogus"),
        ("%claude_reset now", "takes no arguments"),
        ("%claude_export --turn 5", "pick --turn between 1 and 1"),
        ("%claude_export --bogus", "unrecognized arguments: --bogus"),
    ],
)
def test_mistakes_are_one_line_usage_errors_that_change_nothing(
    shell: InteractiveShell, standin: StandIn, tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n2\n")
    ok(shell, "%claude_upload b.csv")
    standin.set_script(script([{"python": "print('before')"}]))
    ok(shell, "%%claude_exec\nBefore the mistake.")
    before = state(shell, standin)
    line = usage_error(shell, source)
    assert message in line
    after = state(shell, standin)
    if "HTTP 400" in message or "download" in message:  # the server was asked: one request more, nothing else
        assert after[:-2] == before[:-2]
        assert after[-1] == before[-1]
    else:
        assert after == before


def test_export_with_nothing_to_export(shell: InteractiveShell) -> None:
    line = usage_error(shell, "%claude_export")
    assert line == "UsageError: Nothing to export yet: run a %%claude_exec cell first."
    assert getattr(shell, "rl_next_input", None) is None  # nothing queued for the next cell


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (429, "rate_limit_error", "Rate limited"),
        (529, "overloaded_error", "overloaded"),
        (401, "authentication_error", "ANTHROPIC_API_KEY"),
    ],
)
def test_api_errors_are_one_line_and_the_next_cell_works(
    shell: InteractiveShell, standin: StandIn, status: int, error_type: str, expected: str
) -> None:
    standin.set_script(script([{"python": "print('first')"}], [{"python": "print('after the error')"}]))
    ok(shell, "%%claude_exec\nFirst.")
    before = state(shell, standin)
    standin.fail_next(status, error_type=error_type, path_prefix="/v1/messages")
    line = usage_error(shell, "%%claude_exec\nThis one fails.")
    assert expected in line
    assert f"HTTP {status}" in line
    assert "request id req_" in line
    assert state(shell, standin)[:5] == before[:5]  # history, container, uploads, pending, turns
    assert "after the error" in plain(ok(shell, "%%claude_exec\nTry again."))
    assert len(magics(shell).session.history) == 4


def test_short_errors_off_shows_the_real_exception(shell: InteractiveShell, standin: StandIn) -> None:
    shell.run_line_magic("config", "ClaudeMagics.short_errors = False")
    standin.fail_next(529, error_type="overloaded_error", path_prefix="/v1/messages")
    result, captured = run(shell, "%%claude_exec\nhi")
    assert type(result.error_in_exec).__name__ == "OverloadedError"
    assert "Traceback" in captured.stdout + captured.stderr


def test_expired_container_is_replaced_without_an_error(
    shell: InteractiveShell, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.set_script(script([{"python": READ_SALES}], [{"python": READ_SALES}]))
    shell.user_ns["sales"] = sales
    ok(shell, "%claude_upload sales")
    ok(shell, "%%claude_exec\nTotal?")
    old = magics(shell).session.container
    assert old is not None
    standin.expire_container(old.id)
    bundles = ok(shell, "%%claude_exec\nTotal again?")
    text = plain(bundles)
    assert "total 60" in text  # the upload was attached to the new container
    assert "has expired or is gone" in text
    assert "new sandbox" in bundles[-1]["text/plain"]
    new = magics(shell).session.container
    assert new is not None
    assert new.id != old.id


# -- untrusted output stays inert --------------------------------------------------------------


def test_hostile_model_and_sandbox_output_is_escaped(shell: InteractiveShell, standin: StandIn) -> None:
    code = (
        "import os, sys\n"
        f"print({HOSTILE!r})\n"
        f"print({HOSTILE!r}, file=sys.stderr)\n"
        "open(os.path.join(os.environ['OUTPUT_DIR'], '<img src=x onerror=alert(1)>.txt'), 'w').write('x')\n"
        "open(os.path.join(os.environ['OUTPUT_DIR'], '<script>alert(1)<script>.txt'), 'w').write('x')\n"
    )
    standin.set_script(script([{"text": f"Look: {HOSTILE}"}, {"python": code}, {"text": HOSTILE}]))
    result, captured = run(shell, "%%claude_exec --out turn\nBe hostile.")
    assert result.error_in_exec is None, captured.stderr
    turn = shell.user_ns["turn"]
    assert len(turn.files) == 2
    assert turn.code[0].result is not None
    assert HOSTILE in turn.code[0].result.stdout
    rich = [output.data.get(mime, "") for output in captured.outputs for mime in ("text/html", "text/markdown")]
    whole_turn, _ = shell.display_formatter.format(turn)
    rich.append(whole_turn["text/html"])
    for markup in rich:
        assert "<script" not in markup.lower()
        assert "<img src=x" not in markup.lower()
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in markup for markup in rich)  # shown, as text
    assert any("onerror=alert(1)" in markup for markup in rich)


# -- configuration -----------------------------------------------------------------------------


def test_config_magic_changes_the_model_of_the_next_request(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "one"}], [{"text": "two"}]))
    ok(shell, "%%claude_exec\nOne.")
    shell.run_line_magic("config", 'ClaudeMagics.model = "claude-opus-5"')
    ok(shell, "%%claude_exec\nTwo.")
    models = [request.json["model"] for request in posts(standin) if request.json]
    assert models == ["claude-sonnet-5", "claude-opus-5"]


def test_config_file_settings_apply_from_the_start(standin: StandIn, tmp_path: Path) -> None:
    config = shell_config(standin, tmp_path)  # what ipython_config.py's c.ClaudeMagics.* lines build
    config.ClaudeMagics.model = "claude-haiku-5"
    config.ClaudeMagics.show_code = False
    config.ClaudeMagics.max_tokens = 1234
    shell = start_shell(config)
    try:
        standin.set_script(script([{"python": "print('secret' + 'code')"}]))
        text = plain(ok(shell, "%%claude_exec\nRun it."))
        request = posts(standin)[-1].json
        assert request is not None
        assert (request["model"], request["max_tokens"]) == ("claude-haiku-5", 1234)
        assert "secretcode" in text
        assert "'secret' + 'code'" not in text
    finally:
        stop_shell(shell)


def test_no_setting_holds_the_api_key(shell: InteractiveShell) -> None:
    _, captured = run(shell, "%config ClaudeMagics")
    assert "ClaudeMagics.base_url" in captured.stdout
    assert "ClaudeMagics.model" in captured.stdout
    assert "test-key" not in captured.stdout
    instance = magics(shell)
    assert all("key" not in name for name in instance.trait_names(config=True))


# -- loading and unloading ---------------------------------------------------------------------


def test_loading_needs_no_key_and_no_network(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    shell = start_shell(shell_config(standin, tmp_path))
    try:
        assert "claude_exec" in shell.magics_manager.magics["cell"]
        assert standin.requests == []
        line = usage_error(shell, "%%claude_exec\nhi")
        assert "ANTHROPIC_API_KEY" in line
        shell.user_ns["frame"] = pd.DataFrame({"a": [1]})
        assert "ANTHROPIC_API_KEY" in usage_error(shell, "%claude_upload frame")
        assert standin.requests == []
    finally:
        stop_shell(shell)


def test_unload_removes_every_trace(shell: InteractiveShell) -> None:
    instance = magics(shell)
    assert instance in shell.configurables
    families = [m for m in shell.magics_manager.registry.values() if type(m).__module__.startswith("claude_magic")]
    assert len(families) == 3  # ClaudeMagics and its two families of magics
    ok(shell, "%unload_ext claude_magic")
    assert "ClaudeMagics" not in shell.magics_manager.registry
    assert not [m for m in shell.magics_manager.registry.values() if type(m).__module__.startswith("claude_magic")]
    for kind in ("line", "cell"):
        assert not [name for name in shell.magics_manager.magics[kind] if name.startswith("claude_")]
    assert instance not in shell.configurables
    assert not [c for c in shell.configurables if type(c).__module__.startswith("claude_magic")]
    assert "claude_magic" not in shell.extension_manager.loaded
    result, _ = run(shell, "%%claude_exec\nhi")
    assert result.error_in_exec is not None  # the magic is gone


def test_reload_leaves_a_clean_working_state(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print('before')"}], [{"python": "print('after')"}]))
    ok(shell, "%%claude_exec\nBefore.")
    old = magics(shell)
    ok(shell, "%reload_ext claude_magic")
    new = magics(shell)
    assert new is not old
    assert new.turns == ()
    assert new.session.history == []
    assert new.session.container is None
    assert [c for c in shell.configurables if type(c).__name__ == "ClaudeMagics"] == [new]
    ours = [c for c in shell.configurables if type(c).__module__.startswith("claude_magic")]
    assert len(ours) == 3 and all(getattr(c, "_owner", new) is new for c in ours)  # the families use the new one
    assert "after" in plain(ok(shell, "%%claude_exec\nAfter."))
    last = posts(standin)[-1].json
    assert last is not None
    assert len(last["messages"]) == 1


def test_loading_twice_keeps_one_instance(shell: InteractiveShell) -> None:
    instance = magics(shell)
    ok(shell, "%load_ext claude_magic")
    assert magics(shell) is instance
    assert [c for c in shell.configurables if type(c).__name__ == "ClaudeMagics"] == [instance]


# -- live rendering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    at: float  # time.time(), comparable with a timestamp the sandbox prints
    data: dict[str, Any]
    display_id: str | None
    update: bool


class RecordingPublisher(DisplayPublisher):
    """IPython's extension point for where displays go: record each publish with its time."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.published: list[Published] = []

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        display_id = (transient or {}).get("display_id")
        self.published.append(Published(time.time(), data, display_id, update))


def test_steps_are_shown_while_the_turn_is_still_running(shell: InteractiveShell, standin: StandIn) -> None:
    long_text = "Let me look at the data first; " * 8
    slow = "import time\ntime.sleep(0.6)\nprint('finished at', repr(time.time()))"
    standin.set_script(script([{"text": long_text}, {"python": slow}, {"text": "Done."}]))
    recorder = RecordingPublisher(shell=shell)
    saved, shell.display_pub = shell.display_pub, recorder
    try:
        result = shell.run_cell("%%claude_exec --out turn\nTake your time.")
    finally:
        shell.display_pub = saved
    assert result.error_in_exec is None
    turn = shell.user_ns["turn"]
    assert turn.code[0].result is not None
    finished_at = float(turn.code[0].result.stdout.split()[-1])  # the sandbox's clock, same machine
    events = recorder.published

    text_shown = next(e for e in events if "claude-magic-text" in e.data.get("text/html", ""))
    code_shown = next(e for e in events if "time.sleep(0.6)" in e.data.get("text/plain", ""))
    footer = next(e for e in events if "claude-magic-footer" in e.data.get("text/html", ""))
    assert text_shown.at < finished_at - 0.3  # prose was on screen while the code still ran
    assert code_shown.at < finished_at - 0.3  # and so was the code, marked as running
    assert "[running…]" in code_shown.data["text/plain"]
    assert text_shown.at < code_shown.at < footer.at
    assert events.index(footer) == len(events) - 1

    # The prose takes the status line's display (the status moves below it) and is then updated in place.
    first_text = next(e for e in events if "claude-magic-text" in e.data.get("text/html", ""))
    assert first_text.display_id
    assert all(e.data["text/plain"].strip() for e in events if not e.update)  # no empty placeholders
    same = [e for e in events if e.display_id == first_text.display_id]
    assert not same[0].update and "Claude is working" in same[0].data["text/plain"]
    assert all(e.update for e in same[1:])
    assert len(same) >= 3
    assert same[-1].data["text/plain"].strip() == long_text.strip()
    # The code display is updated in place with its output once it ran.
    code_updates = [e for e in events if e.display_id == code_shown.display_id]
    assert "finished at" in code_updates[-1].data["text/plain"]


def test_a_shown_picker_follows_what_the_magics_change(
    shell: InteractiveShell, standin: StandIn, tmp_path: Path
) -> None:
    picker = shell.run_line_magic("claude_upload", "--widget")
    (tmp_path / "a.csv").write_text("x\n1\n")
    ok(shell, "%claude_upload a.csv")
    assert [entry.name for entry in picker.entries] == ["a.csv"]
    assert picker.entries[0].file_id in standin.files
    ok(shell, "%claude_files delete a.csv")
    assert picker.entries == []
