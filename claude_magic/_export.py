"""Turning the code Claude ran into code a user can rerun locally.

Pure and stdlib only: ``Turn`` values in, Python source out. Bash commands become IPython
``!`` lines (or ``%%bash`` cells when they span several lines) and text-editor writes become
``pathlib`` calls, so the exported cells run in a notebook.
"""

from __future__ import annotations

from collections.abc import Sequence

from claude_magic.results import CodeStep, EditStep, Turn

_PREAMBLE = """\
# Inputs are read from $INPUT_DIR and outputs written to $OUTPUT_DIR, as in Claude's sandbox.
import os
os.environ.setdefault("INPUT_DIR", {inputs!r})
os.environ.setdefault("OUTPUT_DIR", {outputs!r})
os.makedirs(os.environ["OUTPUT_DIR"], exist_ok=True)"""


def export_cells(
    turns: Sequence[Turn], *, input_dir: str = "claude_inputs", output_dir: str = "claude_outputs"
) -> list[str]:
    """One notebook cell source per step that changed or ran something, after a preamble that sets the folders."""
    return _export(turns, notebook=True, input_dir=input_dir, output_dir=output_dir)


def export_cell(turns: Sequence[Turn], **folders: str) -> str:
    """All exported code as one notebook cell (frontends insert one cell per request)."""
    return "\n\n".join(_export(turns, notebook=True, **folders)) + "\n"


def export_script(turns: Sequence[Turn], **folders: str) -> str:
    """All exported code as a plain Python script (bash through ``subprocess``), cells marked ``# %%``."""
    return "\n\n# %%\n".join(_export(turns, notebook=False, **folders)) + "\n"


def _export(
    turns: Sequence[Turn], *, notebook: bool, input_dir: str = "claude_inputs", output_dir: str = "claude_outputs"
) -> list[str]:
    cells = [_PREAMBLE.format(inputs=input_dir, outputs=output_dir)]
    for number, turn in enumerate(turns, start=1):
        header = f"# Turn {number}: {_first_line(turn.prompt)}\n"
        for step in turn.steps:
            source = _step_source(step, notebook=notebook)
            if source:
                cells.append(header + source)
                header = ""
    return cells


def _step_source(step: object, *, notebook: bool) -> str:
    if isinstance(step, CodeStep):
        if step.language == "python":
            return step.code.rstrip()
        return _shell(step.code.strip(), notebook=notebook)
    if isinstance(step, EditStep):
        path = step.path
        if step.command == "create" and step.file_text is not None:
            return (
                "from pathlib import Path\n"
                f"Path({path!r}).parent.mkdir(parents=True, exist_ok=True)\n"
                f"Path({path!r}).write_text({step.file_text!r})"
            )
        if step.command == "str_replace" and step.old_str is not None:
            return (
                "from pathlib import Path\n"
                f"_text = Path({path!r}).read_text()\n"
                f"Path({path!r}).write_text(_text.replace({step.old_str!r}, {(step.new_str or '')!r}, 1))"
            )
        if step.command == "view":
            return f"from pathlib import Path\nprint(Path({path!r}).read_text())"
    return ""


def _shell(command: str, *, notebook: bool) -> str:
    """A bash command as code: IPython's ``!`` in a notebook, ``subprocess`` in a script."""
    if notebook and "\n" not in command:
        return f"!{command}"
    if notebook:  # a cell magic works only on a cell's first line, so call it
        return f"get_ipython().run_cell_magic('bash', '', {command!r})"
    return f"import subprocess\nsubprocess.run(['bash', '-c', {command!r}], check=True)"


def _first_line(text: str, limit: int = 80) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
