"""Rerunning a notebook replaces instead of piling up: a cell's files, and the exported code's writes stay local.

A real shell with the extension loaded talks to the stand-in, whose sandbox really writes the files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell

from claude_magic._manifest import MANIFEST_NAME, DownloadManifest
from claude_magic.testing import StandIn
from test_magics import ok, script

CHART = "import os\nopen(os.path.join(os.environ['OUTPUT_DIR'], 'chart.png'), 'wb').write(b'\\x89PNG run')"
CELL = "%%claude_exec\nDraw the chart."


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name != MANIFEST_NAME)


def test_rerunning_a_cell_replaces_the_files_it_saved(
    shell: InteractiveShell, standin: StandIn, tmp_path: Path
) -> None:
    standin.set_script(script([{"python": CHART}], [{"python": CHART}], [{"python": CHART}]))
    downloads = tmp_path / "downloads"
    ok(shell, CELL)
    ok(shell, CELL)
    assert _names(downloads) == ["chart.png"]  # not chart (1).png beside it
    manifest = json.loads((downloads / MANIFEST_NAME).read_text())
    assert [list(files) for files in manifest["cells"].values()] == [["chart.png"]]
    ok(shell, "%%claude_exec\nAnother cell draws one too.")
    assert _names(downloads) == ["chart (1).png", "chart.png"]  # another cell's file is not this cell's


def test_a_file_the_user_made_or_changed_is_never_touched(
    shell: InteractiveShell, standin: StandIn, tmp_path: Path
) -> None:
    standin.set_script(script(*[[{"python": CHART}]] * 3))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "chart.png").write_bytes(b"the user's own chart")
    ok(shell, CELL)
    ok(shell, CELL)
    assert (downloads / "chart.png").read_bytes() == b"the user's own chart"
    assert _names(downloads) == ["chart (1).png", "chart.png"]  # the rerun replaced only its own file
    (downloads / "chart (1).png").write_bytes(b"edited by the user")
    ok(shell, CELL)
    assert (downloads / "chart (1).png").read_bytes() == b"edited by the user"
    assert _names(downloads) == ["chart (1).png", "chart (2).png", "chart.png"]


def test_a_rerun_that_fails_keeps_the_files_of_the_run_before(
    shell: InteractiveShell, standin: StandIn, tmp_path: Path
) -> None:
    from test_magics import usage_error

    standin.set_script(script([{"python": CHART}], [{"python": CHART}]))
    downloads = tmp_path / "downloads"
    ok(shell, CELL)
    before = (downloads / "chart.png").read_bytes()
    standin.fail_next(529, error_type="overloaded_error", message="Overloaded", path_prefix="/v1/messages")
    assert "overloaded" in usage_error(shell, CELL)
    assert _names(downloads) == ["chart.png"] and (downloads / "chart.png").read_bytes() == before
    ok(shell, CELL)  # and the next successful rerun still replaces it
    assert _names(downloads) == ["chart.png"]


def test_the_manifest_releases_only_unchanged_files(tmp_path: Path) -> None:
    manifest = DownloadManifest(tmp_path)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    manifest.record("cell", [tmp_path / "a.txt", tmp_path / "b.txt", tmp_path.parent / "outside.txt"])
    assert manifest.files_of("cell") == ["a.txt", "b.txt"]
    (tmp_path / "b.txt").write_text("changed")
    assert manifest.release("cell") == [tmp_path.resolve() / "a.txt"]
    assert not (tmp_path / "a.txt").exists() and (tmp_path / "b.txt").read_text() == "changed"
    assert manifest.files_of("cell") == []
    (tmp_path / MANIFEST_NAME).write_text("not json")
    assert manifest.release("cell") == []  # a broken manifest forgets, never deletes


def test_exported_code_writes_to_a_local_folder_and_says_so(
    shell: InteractiveShell, standin: StandIn, tmp_path: Path
) -> None:
    sandbox_code = (
        "import os\n"
        "open('/tmp/squares.csv', 'w').write('n,sq\\n2,4\\n')\n"
        "open(os.path.join(os.environ['OUTPUT_DIR'], 'chart.png'), 'wb').write(b'local')\n"
        "print(open('/tmp/squares.csv').read())"
    )
    standin.set_script(script([{"python": sandbox_code}, {"bash": 'cp /tmp/squares.csv "$OUTPUT_DIR/"'}]))
    ok(shell, "%%claude_exec\nSquares.")
    downloaded = (tmp_path / "downloads" / "chart.png").read_bytes()
    ok(shell, "%claude_export --file analysis.py")
    exported = shell.rl_next_input
    assert exported.startswith("# %claude_export --file analysis.py\n")
    assert "writes\n# what it makes under claude_export/" in exported  # the header says where
    assert "'/tmp/" not in exported and "claude_export/tmp/squares.csv" in exported
    rerun = subprocess.run(
        [sys.executable, "analysis.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    assert (tmp_path / "claude_export" / "tmp" / "squares.csv").read_text() == "n,sq\n2,4\n"
    assert (tmp_path / "claude_export" / "outputs" / "chart.png").read_bytes() == b"local"
    assert (tmp_path / "claude_export" / "outputs" / "squares.csv").is_file()  # the bash step's cp
    assert (tmp_path / "downloads" / "chart.png").read_bytes() == downloaded  # the sandbox's file untouched
    assert not (tmp_path / "chart.png").exists()
