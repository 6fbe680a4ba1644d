"""The demo notebooks: committed clean, and executed offline in a real kernel they run without errors.

Execution goes through scripts/run_demo.py (``make demo``), the one place that knows how to start the
stand-in and run a notebook: the churn notebook with an in-process stand-in, so its request log can be
read, and the others with the stand-in CLI, as ``make demo`` runs them.
"""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import run_demo
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


NOTEBOOKS: tuple[str, ...] = run_demo.NOTEBOOKS
IN_PROCESS = {"churn_analysis"}  # its request log shows which container each turn asked for


# --- committed notebooks (fast) ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_clean(name: str) -> None:
    notebook = nbformat.read(run_demo.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: a cell has outputs:\n{cell.source}"
            assert cell.execution_count is None, f"{name}: a cell has an execution count:\n{cell.source}"
        assert "execution" not in cell.metadata, f"{name}: a cell has execution timings"
    assert "widgets" not in notebook.metadata, f"{name}: the notebook holds widget state"


def test_committed_notebooks_match_their_builder() -> None:
    proc = subprocess.run(
        [sys.executable, str(run_demo.NOTEBOOKS_DIR / "build_notebooks.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


# --- executed offline (slow) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """Run a notebook offline once, on demand; every test of it shares the result."""
    run_demo.prepare_data()
    out = tmp_path_factory.mktemp("demo")
    results: dict[str, Any] = {}

    def run(name: str) -> Any:
        if name not in results:
            results[name] = run_demo.run_notebook(name, out=out, live=False, in_process=name in IN_PROCESS)
        return results[name]

    return run


def _outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_offline(name: str, executed: Callable[[str], Any]) -> None:
    result = executed(name)
    assert result.error is None, f"{name}: {result.error}"
    notebook = nbformat.read(result.ipynb, as_version=4)
    nbformat.validate(notebook)
    assert result.html.stat().st_size > 0
    errors = [output for output in _outputs(notebook) if output.output_type == "error"]
    assert errors == []
    assert run_demo.sandbox_failures(notebook) == []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells), f"{name}: not every cell ran"
    mode = next(output.text for output in _outputs(notebook) if output.output_type == "stream")
    assert mode.startswith("OFFLINE:")
    assert "produced by replayed code, not by a live model" in mode


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_shows_a_png(name: str, executed: Callable[[str], Any]) -> None:
    notebook = executed(name).notebook
    pngs = [base64.b64decode(o.data["image/png"]) for o in _outputs(notebook) if "image/png" in o.get("data", {})]
    assert pngs, f"{name}: no image/png output"
    for data in pngs:
        assert data.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            assert image.format == "PNG"


@pytest.mark.slow
def test_churn_follow_up_runs_in_the_first_turns_container(executed: Callable[[str], Any]) -> None:
    result = executed("churn_analysis")
    requests = [r for r in result.requests if r.method == "POST" and r.path == "/v1/messages"]
    assert len(requests) == 2, [r.json.get("container") for r in requests if r.json]
    first, follow_up = (request.json for request in requests)
    assert first is not None
    assert follow_up is not None
    assert "container" not in first  # the first turn starts a container
    # The follow-up names the container the first one ran in, and attaches no file again.
    stdout = "".join(o.text for o in _outputs(result.notebook) if o.output_type == "stream")
    assert f"drivers  ran in {follow_up['container']}" in stdout
    assert f"segments ran in {follow_up['container']}" in stdout
    assert "Same container: True" in stdout
    last_user = follow_up["messages"][-1]["content"]
    assert not [block for block in last_user if block.get("type") == "container_upload"]


@pytest.mark.slow
def test_saved_notebook_outputs_carry_provenance_and_no_secret(executed: Callable[[str], Any]) -> None:
    result = executed("churn_analysis")
    stamped = [o for o in _outputs(result.notebook) if "claude_magic" in o.get("metadata", {})]
    assert stamped, "no output carries claude_magic provenance"
    containers = {r.json.get("container") for r in result.requests if r.path == "/v1/messages" and r.json}
    for output in stamped:
        record = output.metadata["claude_magic"]
        assert record["model"] and record["tool_version"].startswith("code_execution_")
        assert record["container_id"] in containers or record["container_id"].startswith("container_")
        assert record["request_ids"] and all(isinstance(f["sha256"], str) for f in record["files"])
    saved = Path(result.ipynb).read_text()
    assert "authorization" not in saved.lower() and "sk-ant" not in saved


@pytest.mark.slow
def test_a_kernel_function_feeds_the_sandbox(executed: Callable[[str], Any]) -> None:
    result = executed("files_and_containers")
    texts = []
    for output in _outputs(result.notebook):
        texts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    shown = "\n".join(texts)
    assert 'churn_target(plan="premium") · called by code in the sandbox' in shown
    assert "Target churn for premium: 4.0% (from the kernel, targets table)" in shown
    assert "nothing was sent" in shown  # the --dry-run cell
