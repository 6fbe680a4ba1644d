"""Bad input to the magics gets one line and changes nothing.

A table of mistakes a user makes. Each row runs in a fresh shell with the extension loaded
against the stand-in, after one upload and one turn (so there is a conversation, a container,
uploads, a registry and an output file). The mistake must raise ``UsageError`` itself with a
one-line message holding the expected words, print no traceback, send no request, and leave
everything as it was; the next cell then works. Below the table: the inputs that used to do
the wrong thing quietly, each shown doing the right thing now.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from claude_magic._downloads import safe_filename
from claude_magic._session import Session
from claude_magic.testing import StandIn
from test_magics import MAKE_PNG, PNG_SIGNATURE, magics, ok, posts, run, script, sent_prompt, shell_config

FRAMES: dict[str, pd.DataFrame] = {
    "sales": pd.DataFrame({"month": ["jan", "feb"], "revenue": [10, 20]}),
    "dup": pd.DataFrame([[1, 2]], columns=["a", "a"]),
    "mixed": pd.DataFrame({"a": [1, "x"]}),
    "intcols": pd.DataFrame([[1, 2]]),
    "multi": pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])),
}

# (magic line, cell or None, words the one-line message holds)
ROWS: list[tuple[str, str | None, str]] = [
    # %claude_upload
    ("%claude_upload", None, "Give a DataFrame variable"),
    ("%claude_upload missing.csv", None, "No file matches 'missing.csv'"),
    ("%claude_upload undefined_variable", None, "No variable or file named 'undefined_variable'"),
    ("%claude_upload a.csv missing.csv", None, "No file matches 'missing.csv'"),
    ("%claude_upload a.csv b.csv --name one.csv", None, "--name needs exactly one source"),
    ("%claude_upload q*.csv --name one.csv", None, "A name needs exactly one file"),
    ('%claude_upload a.csv --name ""', None, "--name needs a file name"),
    ("%claude_upload a.csv --name ..", None, "is not a usable file name"),
    ("%claude_upload a.csv --format xlsx", None, "invalid choice: 'xlsx'"),
    ("%claude_upload a.csv --format csv", None, "--format converts DataFrames"),
    ("%claude_upload a.csv -f", None, "expected one argument"),
    ("%claude_upload --bogus a.csv", None, "unrecognized arguments: --bogus"),
    ("%claude_upload --widget a.csv", None, "--widget shows a picker"),
    ("%claude_upload folder", None, "'folder' is a folder: upload the files in it with a glob, e.g. 'folder/*.csv'"),
    ("%claude_upload folder/", None, "is a folder"),
    ("%claude_upload nothing*.csv", None, "No file matches 'nothing*.csv'"),
    ('%claude_upload "no such file.csv"', None, "No file matches 'no such file.csv'"),
    ("%claude_upload big.bin", None, "over the Files API limit"),
    ("%claude_upload number", None, "Cannot upload a int"),
    ("%claude_upload blob", None, "blob holds bytes: give them a file name"),
    ("%claude_upload series", None, "series.to_frame()"),
    ("%claude_upload empty_list", None, "The list is empty"),
    ("%claude_upload empty_dict", None, "The dict is empty"),
    ("%claude_upload bad_list", None, "Cannot upload a int"),
    ("%claude_upload dup", None, "Parquet cannot store dup: column names repeat (a)"),
    ("%claude_upload mixed", None, "column 'a' mixes int and str values; upload it with --format csv"),
    ("%claude_upload intcols", None, "column names must be strings, not int"),
    ("%claude_upload multi", None, "its columns are a MultiIndex"),
    ("%claude_upload sales --name sales.parquet --format csv", None, "says parquet but the format asked for is csv"),
    ("%claude_upload sales dup", None, "Parquet cannot store dup"),  # the good one is not sent either
    ("%claude_upload one/x.csv two/x.csv", None, "would both be uploaded as x.csv"),
    ("%claude_upload */x.csv", None, "Several files would be uploaded as x.csv"),
    # %%claude_exec and %claude_exec
    ("%%claude_exec --bogus", "hi", "unrecognized arguments: --bogus"),
    ("%claude_exec --bogus hi", None, "unrecognized arguments: --bogus"),
    ("%claude_exec --what", None, "a prompt that starts with '-' goes after --"),
    ("%%claude_exec extra words", "hi", "unrecognized arguments: extra words"),
    ("%%claude_exec --out 1bad", "hi", "--out needs a variable name"),
    ("%%claude_exec --out class", "hi", "--out needs a variable name, not 'class'"),
    ("%%claude_exec --out a.b", "hi", "--out needs a variable name"),
    ("%%claude_exec --out", "hi", "expected one argument"),
    ("%%claude_exec -m", "hi", "expected one argument"),
    ('%%claude_exec --model ""', "hi", "--model needs a value"),
    ('%%claude_exec --tool-version ""', "hi", "--tool-version needs a value"),
    ("%%claude_exec --max-tokens lots", "hi", "invalid int value"),
    ("%%claude_exec --max-tokens 0", "hi", "--max-tokens must be at least 1, not 0"),
    ("%%claude_exec --max-tokens -5", "hi", "--max-tokens must be at least 1, not -5"),
    ("%claude_exec --max-tokens 0 hi", None, "--max-tokens must be at least 1"),
    ("%%claude_exec", "   \n", "The prompt is empty"),
    ("%claude_exec", None, "The prompt is empty"),
    ("%claude_exec --out t", None, "The prompt is empty"),
    ("%claude_exec --", None, "The prompt is empty"),
    ("%%claude_exec", "Use {{nope}}", "{{nope}} in the prompt names no variable"),
    ("%%claude_exec", "Use {{cfg.nope}}", "cfg has no attribute 'nope'"),
    ("%%claude_exec", "Use {{sales.nope}}", "sales has no attribute 'nope'"),
    ("%claude_exec Show {{missing}} now", None, "{{missing}} in the prompt names no variable"),
    ("%%claude_exec --attach nothing.csv", "hi", "No uploaded file named 'nothing.csv'"),
    ("%%claude_exec --new --attach nothing.csv", "hi", "No uploaded file named 'nothing.csv'"),
    ("%%claude_exec --outdir notes.txt", "hi", "--outdir notes.txt is a file"),
    ("%%claude_exec --outdir notes.txt/sub", "hi", "which is a file"),
    # %claude_files
    ("%claude_files frobnicate", None, "invalid choice: 'frobnicate'"),
    ("%claude_files --bogus", None, "unrecognized arguments: --bogus"),
    ("%claude_files delete", None, "needs a file name or id"),
    ("%claude_files delete nothing.csv", None, "No uploaded file named 'nothing.csv'"),
    ("%claude_files delete b.csv nothing.csv", None, "No uploaded file named 'nothing.csv'"),
    ("%claude_files delete b.csv --all", None, "--all goes with list"),
    ("%claude_files download", None, "needs a file name or id"),
    ("%claude_files download nothing.png", None, "was produced in this session (produced so far: red.png)"),
    ("%claude_files download b.csv", None, "b.csv is an upload: only files Claude's code produced"),
    ("%claude_files download red.png --to notes.txt", None, "--to notes.txt is a file"),
    ("%claude_files list b.csv", None, "takes no names"),
    ("%claude_files --to somewhere", None, "--to goes with download"),
    # %claude_container, %claude_reset
    ("%claude_container --bogus", None, "unrecognized arguments: --bogus"),
    ("%claude_container now", None, "unrecognized arguments: now"),
    ("%claude_reset now", None, "takes no arguments"),
    ("%claude_reset --hard", None, "takes no arguments"),
    # %claude_export
    ("%claude_export --turn 0", None, "There is no turn 0: this session has 1 turn"),
    ("%claude_export --turn -1", None, "There is no turn -1"),
    ("%claude_export --turn 2", None, "pick --turn between 1 and 1"),
    ("%claude_export --turn 1 --turn 5", None, "There is no turn 5"),
    ("%claude_export --turn x", None, "invalid int value"),
    ("%claude_export --file notes.txt/x.py", None, "which is a file"),
    ("%claude_export --file folder", None, "--file folder is a folder"),
    ('%claude_export --file ""', None, "--file needs a path"),
    ("%claude_export --bogus", None, "unrecognized arguments: --bogus"),
]


def make_files(root: Path) -> None:
    (root / "a.csv").write_text("x\n1\n")
    (root / "b.csv").write_text("x\n2\n")
    (root / "q1.csv").write_text("q\n1\n")
    (root / "q2.csv").write_text("q\n2\n")
    (root / "notes.txt").write_text("not a folder\n")
    (root / "folder").mkdir()
    (root / "folder" / "inside.csv").write_text("y\n1\n")
    for name, content in (("one", "z\n1\n"), ("two", "z\n2\n")):
        (root / name).mkdir()
        (root / name / "x.csv").write_text(content)
    with (root / "big.bin").open("wb") as stream:
        stream.truncate(600 * 2**20)  # sparse: 600 MB on paper, nothing on disk


def fill_namespace(shell: InteractiveShell) -> None:
    shell.user_ns.update(FRAMES)
    shell.user_ns.update(
        number=5,
        blob=b"\x00\x01",
        series=pd.Series([1, 2]),
        empty_list=[],
        empty_dict={},
        bad_list=[FRAMES["sales"], 5],
        cfg=SimpleNamespace(),
    )


@pytest.fixture
def warm(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A shell after one upload and one turn that produced red.png; the next reply prints 'after'."""
    monkeypatch.chdir(tmp_path)
    make_files(tmp_path)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=shell_config(standin, tmp_path))
    shell.extension_manager.load_extension("claude_magic")
    fill_namespace(shell)
    standin.set_script(script([{"python": MAKE_PNG}], [{"python": "print('after')"}]))
    ok(shell, "%claude_upload b.csv sales")
    ok(shell, "%%claude_exec\nDraw a red square.")
    yield shell
    shell.extension_manager.unload_extension("claude_magic")
    InteractiveShell.clear_instance()


def snapshot(shell: InteractiveShell, standin: StandIn) -> dict[str, Any]:
    """Everything a mistake must leave as it was (one place to adapt when state fields move)."""
    instance = magics(shell)
    session = instance.session
    root = Path.cwd()
    return {
        "history": session.history,
        "container": session.container,
        "uploads": session.uploads,
        "pending": session.pending,
        "registry": sorted((entry.name, entry.file_id) for entry in session.registry),
        "turns": list(instance.turns),
        "requests": len(standin.requests),
        "file posts": len(posts(standin, "/v1/files")),
        "message posts": len(posts(standin)),
        "server files": sorted(standin.files),
        "variables": sorted(name for name in shell.user_ns if not name.startswith("_")),
        "settings": instance.trait_values(config=True),
        "disk": sorted(
            (str(path.relative_to(root)), path.stat().st_size, path.stat().st_mtime_ns)
            for path in root.rglob("*")
            if path.is_file()
        ),
    }


def one_line_usage_error(shell: InteractiveShell, source: str) -> str:
    result, captured = run(shell, source)
    error = result.error_in_exec
    assert type(error) is UsageError, (error, captured.stderr)  # itself: a subclass prints a traceback
    assert "Traceback" not in captured.stdout + captured.stderr
    lines = captured.stderr.strip().splitlines()
    assert len(lines) == 1, captured.stderr
    assert "\n" not in str(error)
    assert lines[0] == f"UsageError: {error}"
    return lines[0]


@pytest.mark.parametrize(("line", "cell", "expected"), ROWS, ids=[f"{line} | {cell}" for line, cell, _ in ROWS])
def test_bad_input_gets_one_line_and_changes_nothing(
    warm: InteractiveShell, standin: StandIn, line: str, cell: str | None, expected: str
) -> None:
    before = snapshot(warm, standin)
    message = one_line_usage_error(warm, line if cell is None else f"{line}\n{cell}")
    assert expected in message
    assert snapshot(warm, standin) == before
    assert "after" in "\n".join(bundle["text/plain"] for bundle in ok(warm, "%%claude_exec\nGo on."))


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 60
    assert len({(line, cell) for line, cell, _ in ROWS}) == len(ROWS)


def test_export_before_any_turn(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=shell_config(standin, tmp_path))
    shell.extension_manager.load_extension("claude_magic")
    try:
        assert "Nothing to export yet" in one_line_usage_error(shell, "%claude_export --file out/x.py")
        assert not (tmp_path / "out").exists()
        assert standin.requests == []
    finally:
        shell.extension_manager.unload_extension("claude_magic")
        InteractiveShell.clear_instance()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("max_tokens = 0", "max_tokens must be at least 1"),
        ("max_tokens = -3", "max_tokens must be at least 1"),
        ("max_continuations = 0", "max_continuations must be at least 1"),
        ("timeout = 0", "timeout must be more than 0 seconds"),
        ("max_retries = -1", "max_retries must be 0 or more"),
        ('download_dir = ""', "download_dir must name a folder"),
    ],
)
def test_bad_config_values_are_refused_and_change_nothing(
    warm: InteractiveShell, standin: StandIn, caplog: pytest.LogCaptureFixture, setting: str, expected: str
) -> None:
    # IPython's %config logs what a setter raised (logging.error) instead of raising it.
    before = snapshot(warm, standin)
    with caplog.at_level(logging.ERROR):
        result, captured = run(warm, f"%config ClaudeMagics.{setting}")
    assert result.error_in_exec is None
    assert "Traceback" not in captured.stdout + captured.stderr
    assert [record.getMessage() for record in caplog.records] == [expected]
    assert snapshot(warm, standin) == before
    assert "after" in "\n".join(bundle["text/plain"] for bundle in ok(warm, "%%claude_exec\nGo on."))


# -- inputs that used to do the wrong thing quietly ---------------------------------------------


def test_prompt_may_start_with_a_dash(warm: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "yes"}], [{"text": "ok"}], [{"text": "ok"}]))
    ok(warm, "%claude_exec -1 is negative, is it not")
    assert sent_prompt(posts(standin)[-1]) == "-1 is negative, is it not"
    ok(warm, "%claude_exec --no-stream -- --what does this flag do")
    assert sent_prompt(posts(standin)[-1]) == "--what does this flag do"
    assert not posts(standin)[-1].json.get("stream")  # type: ignore[union-attr]
    ok(warm, "%claude_exec - list the columns")
    assert sent_prompt(posts(standin)[-1]) == "- list the columns"


def test_a_line_prompt_may_end_with_a_question_mark(warm: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "30"}], [{"text": "ok"}]))
    ok(warm, "%claude_exec What is the median of revenue?")  # IPython alone shows help for `revenue`
    assert sent_prompt(posts(standin)[-1]) == "What is the median of revenue?"
    ok(warm, "%%claude_exec\n%claude_exec stays text?")
    assert sent_prompt(posts(standin)[-1]) == "%claude_exec stays text?"
    ok(warm, "%unload_ext claude_magic")
    assert warm.transform_cell("%claude_exec why?\n") == "get_ipython().run_line_magic('pinfo', 'why')\n"


def test_export_turn_numbers_and_a_script_in_a_new_folder(warm: InteractiveShell, tmp_path: Path) -> None:
    ok(warm, "%%claude_exec\nSecond turn.")
    ok(warm, "%claude_export --turn 1 --file reports/2026/analysis.py")
    script_text = (tmp_path / "reports" / "2026" / "analysis.py").read_text()
    assert "zlib.compress" in script_text  # turn 1's code
    assert "print('after')" not in script_text  # not turn 2's


def test_download_by_the_name_a_turn_produced(warm: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    (made,) = magics(warm).turns[0].files
    assert made.name == "red.png"
    shown = ok(warm, f"%claude_files download red.png --to {tmp_path / 'fetched'}")
    assert (tmp_path / "fetched" / "red.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "image/png" in shown[0]
    assert [request.path for request in standin.requests if made.file_id in request.path]


def test_a_list_or_dict_of_dataframes_gets_one_name_each(warm: InteractiveShell, standin: StandIn) -> None:
    first, second = FRAMES["sales"], FRAMES["sales"].assign(revenue=[1, 2])
    warm.user_ns["frames"] = [first, second]
    warm.user_ns["by_key"] = {"north": first, "south": second}
    batch = warm.run_line_magic("claude_upload", "frames")
    assert [file.name for file in batch.files] == ["frames_0.parquet", "frames_1.parquet"]
    batch = warm.run_line_magic("claude_upload", "by_key --format csv")
    assert [file.name for file in batch.files] == ["north.csv", "south.csv"]
    names = [file.name for file in magics(warm).session.uploads]
    assert {"frames_0.parquet", "frames_1.parquet", "north.csv", "south.csv"} <= set(names)


def test_session_upload_of_a_list_names_each_frame(session: Session) -> None:
    first, second = FRAMES["sales"], FRAMES["sales"].assign(revenue=[3, 4])
    batch = session.upload([first, second])
    assert [file.name for file in batch.files] == ["data_0.parquet", "data_1.parquet"]
    assert len({file.file_id for file in batch.files}) == 2
    assert [file.name for file in session.uploads] == ["data_0.parquet", "data_1.parquet"]


def test_the_refused_frames_upload_as_csv(warm: InteractiveShell) -> None:
    for name in ("dup", "mixed", "intcols", "multi"):
        (file,) = warm.run_line_magic("claude_upload", f"{name} --format csv").files
        assert file.name == f"{name}.csv"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("x\u202egnp.exe", "xgnp.exe"),  # RIGHT-TO-LEFT OVERRIDE: would display as "xexe.png"
        ("report\u2066\u2069.pdf", "report.pdf"),  # isolates
        ("a\u200bb\u200d.txt", "ab.txt"),  # zero-width space and joiner
        ("\ufeffdata.csv", "data.csv"),  # byte order mark
        ("line\u2028break.txt", "linebreak.txt"),
        ("\u202e\u202d", "file"),
    ],
)
def test_safe_filename_drops_bidi_and_format_characters(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_server_file_names_lose_bidi_characters_on_disk(warm: InteractiveShell, standin: StandIn) -> None:
    code = "import os\nopen(os.path.join(os.environ['OUTPUT_DIR'], 'x\\u202egnp.exe'), 'w').write('MZ')\n"
    standin.set_script(script([{"python": code}]))
    ok(warm, "%%claude_exec --out turn\nWrite it.")
    (file,) = warm.user_ns["turn"].files
    assert file.name == "xgnp.exe"
    assert file.path is not None
    assert file.path.name == "xgnp.exe"
    assert not [name for name in os.listdir(file.path.parent) if "\u202e" in name]


def test_upload_names_lose_bidi_characters(session: Session) -> None:
    (file,) = session.upload(("x\u202egnp.exe", b"MZ")).files
    assert file.name == "xgnp.exe"
