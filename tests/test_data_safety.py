"""What leaves the machine: %claude_upload --columns/--drop/--sample/--pseudonymize/--dry-run, checked at the stand-in.

Also the magics' bad inputs for --tools, and %%claude_exec --web / --tools through the real shell.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from claude_magic._data_safety import Pseudonyms
from claude_magic.results import ToolCallStep, WebSearchStep
from claude_magic.testing import StandIn
from tests.test_magics import ok, run, script, shell_config, start_shell, stop_shell, usage_error

pytest_plugins = ["claude_magic.testing.fixtures"]


@pytest.fixture
def shell(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    shell = start_shell(shell_config(standin, tmp_path))
    shell.user_ns["users"] = pd.DataFrame(
        {
            "user_id": [101, 102, 103, 104, 105, 106],
            "email": [f"u{i}@mail.test" for i in range(6)],
            "phone": [f"555-010{i}" for i in range(6)],
            "amount": [5.0, 7.5, 1.0, 3.0, 9.0, 2.5],
        }
    )
    yield shell
    stop_shell(shell)


def sent_frame(standin: StandIn) -> pd.DataFrame:
    """The DataFrame as the stand-in stored it (the bytes that reached the server)."""
    [stored] = standin.files.values()
    return pd.read_parquet(io.BytesIO(stored.data))


def shown(shell: InteractiveShell, line: str) -> dict[str, str]:
    """The bundle of the value a line magic returned (what the cell's Out shows)."""
    result, captured = run(shell, line)
    assert result.error_in_exec is None, captured.stderr
    bundle: dict[str, str] = result.result._repr_mimebundle_()
    return bundle


def file_posts(standin: StandIn) -> int:
    return sum(1 for r in standin.requests if r.method == "POST" and r.path == "/v1/files")


def test_columns_sends_only_those(shell: InteractiveShell, standin: StandIn) -> None:
    ok(shell, "%claude_upload users --columns user_id,amount")
    assert list(sent_frame(standin).columns) == ["user_id", "amount"]


def test_drop_leaves_columns_out(shell: InteractiveShell, standin: StandIn) -> None:
    ok(shell, "%claude_upload users --drop email,phone")
    frame = sent_frame(standin)
    assert list(frame.columns) == ["user_id", "amount"]
    assert not any(b"mail.test" in f.data or b"555-01" in f.data for f in standin.files.values())


def test_sample_is_seeded_and_sized(shell: InteractiveShell, standin: StandIn) -> None:
    ok(shell, "%claude_upload users --sample 3 --seed 7")
    frame = sent_frame(standin)
    expected = shell.user_ns["users"].sample(n=3, random_state=7)
    assert len(frame) == 3 and list(frame["user_id"]) == list(expected["user_id"])
    assert list(frame.index) == [0, 1, 2]  # which rows were chosen is not told by the index


def test_pseudonymize_hashes_keys_and_keeps_the_way_back(shell: InteractiveShell, standin: StandIn) -> None:
    ok(shell, "%claude_upload users --pseudonymize user_id --drop email,phone")
    frame = sent_frame(standin)
    tokens = list(frame["user_id"])
    assert all(str(token).startswith("user_id_") for token in tokens)
    assert not set(tokens) & {101, 102, 103, 104, 105, 106} and str(frame["user_id"].dtype) != "int64"
    pseudonyms: Pseudonyms = shell.user_ns["claude_pseudonyms"]
    assert pseudonyms.reveal("user_id", tokens) == [101, 102, 103, 104, 105, 106]
    joined = frame.merge(pseudonyms.table("user_id"), left_on="user_id", right_on="token", suffixes=("", "_real"))
    assert list(joined["user_id_real"]) == [101, 102, 103, 104, 105, 106]
    # The same value gets the same token in a later upload, so uploads still join.
    shell.user_ns["orders"] = pd.DataFrame({"user_id": [103], "total": [1]})
    ok(shell, "%claude_upload orders --pseudonymize user_id")
    orders = next(f for f in standin.files.values() if f.filename == "orders.parquet")
    assert pd.read_parquet(io.BytesIO(orders.data))["user_id"][0] == tokens[2]


def test_dry_run_shows_what_would_be_sent_and_sends_nothing(shell: InteractiveShell, standin: StandIn) -> None:
    bundle = shown(shell, "%claude_upload users --drop email,phone --sample 2 --dry-run")
    plain = bundle["text/plain"]
    assert "nothing was sent" in plain and "users.parquet" in plain
    assert "user_id: int64" in plain and "amount: float64" in plain and "email" not in plain
    assert "2 rows" in plain
    assert file_posts(standin) == 0 and not standin.files
    assert "<pre" in bundle["text/html"] and "user_id" in bundle["text/html"]


def test_uploads_over_the_size_setting_need_yes(shell: InteractiveShell, standin: StandIn) -> None:
    ok(shell, "%config ClaudeMagics.confirm_upload_over = 100")
    bundle = shown(shell, "%claude_upload users")
    assert "Not sent" in bundle["text/plain"] and "--yes" in bundle["text/plain"]
    assert file_posts(standin) == 0
    ok(shell, "%claude_upload users --yes")
    assert file_posts(standin) == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%claude_upload users --columns user_id,nope", "--columns: no column 'nope'"),
        ("%claude_upload users --drop nope", "--drop: no column 'nope'"),
        ("%claude_upload users --sample 60", "--sample 60 is more than the frame's 6 rows"),
        ("%claude_upload users --sample 0", "--sample needs a number of rows of at least 1"),
        ("%claude_upload users --pseudonymize nope", "--pseudonymize: no column 'nope'"),
        ("%claude_upload users --columns amount --drop amount", "name the same column"),
        ("%%claude_exec --tools nowhere\nGo.", "no function named 'nowhere' in the kernel"),
        ("%%claude_exec --tools users\nGo.", "--tools: users is a DataFrame, not a function"),
        ("%%claude_exec --tools ,\nGo.", "--tools needs function names"),
    ],
)
def test_bad_inputs_are_one_line(shell: InteractiveShell, standin: StandIn, line: str, expected: str) -> None:
    assert expected in usage_error(shell, line)
    assert file_posts(standin) == 0


def test_options_for_files_are_refused(shell: InteractiveShell, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    assert "apply to DataFrame variables only" in usage_error(shell, "%claude_upload notes.txt --drop a")


def test_exec_with_web_and_kernel_tools(shell: InteractiveShell, standin: StandIn) -> None:
    shell.run_cell("def lookup_fx(pair: str) -> float:\n    '''The rate of a currency pair.'''\n    return 1.08\n")
    search = {"web_search": {"query": "fx", "results": [{"title": "FX", "url": "https://fx.test"}]}}
    standin.set_script(script([search, {"tool": {"name": "lookup_fx", "input": {"pair": "EURUSD"}}}, {"text": "1.08"}]))
    bundles = ok(shell, "%%claude_exec --web --tools lookup_fx --out turn\nRate?")
    turn = shell.user_ns["turn"]
    assert any(isinstance(step, WebSearchStep) for step in turn.steps)
    call = next(step for step in turn.steps if isinstance(step, ToolCallStep))
    assert call.result == "1.08"
    text = "\n".join(bundle["text/plain"] for bundle in bundles)
    assert "[Web search] fx" in text and 'lookup_fx(pair="EURUSD")' in text
    tools = next(r.json for r in standin.requests if r.path == "/v1/messages" and r.json)["tools"]
    assert {tool["name"] for tool in tools} == {"code_execution", "web_search", "web_fetch", "lookup_fx"}
