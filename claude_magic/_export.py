"""Turning the code Claude ran into code a user can rerun locally.

Pure and stdlib only: ``Turn`` values in, Python source out. Bash commands become IPython
``!`` lines (or ``%%bash`` cells when they span several lines) and text-editor writes become
``pathlib`` calls, so the exported cells run in a notebook.

Run locally, the code must not write where the sandbox wrote: absolute sandbox paths (``/tmp/…``)
become paths under a local work folder, ``$OUTPUT_DIR`` points into it, and a header says so.
Files Claude's code produced in the sandbox (downloaded to ``claude_outputs/``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from claude_magic.results import CodeStep, EditStep, Turn

WORK_DIR: Final = "claude_export"
# "/tmp" at the start of a path: not inside another path ("a/tmp"), a name ("my/tmp") or a variable.
_SANDBOX_TMP: Final = re.compile(r"(?<![\w.~/$-])/tmp(?=/|\b)")

_PREAMBLE = """\
# Exported from Claude's sandbox. Run here, this code reads its inputs from {inputs}/ and writes
# what it makes under {work}/ ($OUTPUT_DIR is {outputs}/, the sandbox's /tmp is {work}/tmp/),
# so it never writes over the files downloaded from the sandbox.
import os
os.environ["INPUT_DIR"] = {inputs!r}
os.environ["OUTPUT_DIR"] = {outputs!r}
os.makedirs(os.environ["OUTPUT_DIR"], exist_ok=True)
os.makedirs({tmp!r}, exist_ok=True)"""


def export_cells(turns: Sequence[Turn], *, input_dir: str = "claude_inputs", work_dir: str = WORK_DIR) -> list[str]:
    """One notebook cell source per step that changed or ran something, after a preamble that sets the folders."""
    return _export(turns, notebook=True, input_dir=input_dir, work_dir=work_dir)


def export_cell(turns: Sequence[Turn], **folders: str) -> str:
    """All exported code as one notebook cell (frontends insert one cell per request)."""
    return "\n\n".join(_export(turns, notebook=True, **folders)) + "\n"


def export_script(turns: Sequence[Turn], **folders: str) -> str:
    """All exported code as a plain Python script (bash through ``subprocess``), cells marked ``# %%``."""
    return "\n\n# %%\n".join(_export(turns, notebook=False, **folders)) + "\n"


def local_paths(code: str, work_dir: str = WORK_DIR) -> str:
    """``code`` with absolute sandbox paths (``/tmp/…``) moved under the local ``work_dir``."""
    return _SANDBOX_TMP.sub(f"{work_dir}/tmp", code)


def _export(
    turns: Sequence[Turn], *, notebook: bool, input_dir: str = "claude_inputs", work_dir: str = WORK_DIR
) -> list[str]:
    preamble = _PREAMBLE.format(inputs=input_dir, work=work_dir, outputs=f"{work_dir}/outputs", tmp=f"{work_dir}/tmp")
    cells = [preamble]
    for number, turn in enumerate(turns, start=1):
        header = f"# Turn {number}: {_first_line(turn.prompt)}\n"
        for step in turn.steps:
            source = _step_source(step, notebook=notebook, work_dir=work_dir)
            if source:
                cells.append(header + source)
                header = ""
    return cells


def _step_source(step: object, *, notebook: bool, work_dir: str) -> str:
    if isinstance(step, CodeStep):
        code = local_paths(step.code, work_dir)
        if step.language == "python":
            return code.rstrip()
        return _shell(code.strip(), notebook=notebook)
    if isinstance(step, EditStep):
        path = local_paths(step.path, work_dir)
        if step.command == "create" and step.file_text is not None:
            return (
                "from pathlib import Path\n"
                f"Path({path!r}).parent.mkdir(parents=True, exist_ok=True)\n"
                f"Path({path!r}).write_text({local_paths(step.file_text, work_dir)!r})"
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
