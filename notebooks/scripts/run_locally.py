"""Run the stand-in scripts' code locally, without the server, as the sandbox would.

For each demo notebook, every example prompt below picks a reply the way the stand-in does (first ``match``
that ``re.search`` finds) and its ``python``, ``bash`` and ``editor`` steps run in order in one "container":
a working directory that persists across turns, ``$INPUT_DIR`` holding what the notebook uploads (the
generated customers as ``streaming.parquet``, and ``scene.png`` for the image demo) and a fresh, empty
``$OUTPUT_DIR`` for every execution. Each execution must exit 0 and each turn must produce its files.

    python notebooks/scripts/run_locally.py [--rows 50000] [--keep DIR] [script ...]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent
TIMEOUT = 30.0  # seconds per execution, as the stand-in's sandbox allows
MEMORY_KB = 4 * 1024 * 1024  # address-space limit, as the stand-in's sandbox sets

# The prompts the notebooks send, in notebook order, and the files each turn must put in $OUTPUT_DIR.
PROMPTS: dict[str, list[tuple[str, set[str]]]] = {
    "churn_analysis": [
        (
            "What are the main drivers of churn in this data? Show me charts.",
            {"churn_drivers.png", "driver_ranking.png"},
        ),
        (
            "Using your previous results, segment the active customers by tier and list the at-risk users.",
            {"at_risk_users.csv", "risk_segments.png"},
        ),
    ],
    "files_and_containers": [
        ("List the files you were given, with their sizes.", set()),
        ("Load the uploaded table and describe it.", set()),
        ("Make a small chart of the main numeric columns.", {"distributions.png"}),
        ("Save a short summary of the data in your working directory for later.", set()),
        ("Read that summary back and tell me what is in it.", set()),
        # A program step (sandbox code calling a kernel function) needs the stand-in: it is not run here.
        ("Ask my kernel function for the premium plan's churn target (the warehouse) and print it.", set()),
    ],
    "beyond_csv": [
        (
            "Here is an image: convert it to grayscale, detect the edges and show them side by side.",
            {"image_edges.png"},
        ),
        (
            "Write an Excel report of churn by tier, region and device, with formatting and a chart.",
            {"report.xlsx"},
        ),
        (
            (
                "Is the difference in watch hours between churned and retained customers statistically "
                "significant? Does churn depend on the tier?"
            ),
            {"stats_tests.png"},
        ),
    ],
}


@dataclass
class Execution:
    kind: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    outputs: list[Path]


@dataclass
class Turn:
    prompt: str
    reply_index: int
    executions: list[Execution] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(e.seconds for e in self.executions)

    @property
    def outputs(self) -> dict[str, Path]:
        return {p.name: p for e in self.executions for p in e.outputs}

    @property
    def failed(self) -> list[Execution]:
        return [e for e in self.executions if e.returncode != 0]


def load_script(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((HERE / f"{name}.json").read_text())
    return result


def choose_reply(script: dict[str, Any], prompt: str) -> int:
    """The index of the reply the stand-in gives: the first whose ``match`` finds the prompt."""
    for i, reply in enumerate(script["replies"]):
        if "match" in reply and re.search(reply["match"], prompt):
            return i
    raise LookupError(f"no reply matches {prompt!r}")


def prepare_inputs(input_dir: Path, rows: int, seed: int = 42) -> None:
    """Write what the notebooks upload: the customers as Parquet (read from CSV first) and an image."""
    import pandas as pd

    if str(NOTEBOOKS) not in sys.path:
        sys.path.insert(0, str(NOTEBOOKS))
    import make_data

    input_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    make_data.make_streaming(rows, seed).to_csv(buffer, index=False)
    buffer.seek(0)  # the notebooks read streaming.csv, then %claude_upload the DataFrame as Parquet
    pd.read_csv(buffer).to_parquet(input_dir / "streaming.parquet", index=False)
    make_data.make_scene(seed=seed).save(input_dir / "scene.png")


class Container:
    """A working directory plus $INPUT_DIR, and a fresh $OUTPUT_DIR for every execution."""

    def __init__(self, root: Path, input_dir: Path) -> None:
        self.root = root
        self.workdir = root / "work"
        self.input_dir = input_dir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def _new_output_dir(self) -> Path:
        self._count += 1
        out = self.root / "outputs" / f"{self._count:03d}"
        out.mkdir(parents=True)
        return out

    def execute(self, step: dict[str, Any]) -> Execution | None:
        """Run one step; text and pause steps run nothing and return None."""
        if "python" in step:
            script = self.root / "steps" / f"{self._count + 1:03d}.py"
            script.parent.mkdir(exist_ok=True)
            script.write_text(step["python"])
            return self._run("python", [sys.executable, str(script)])
        if "bash" in step:
            return self._run("bash", ["bash", "-c", step["bash"]])
        if "editor" in step:
            return self._edit(step["editor"])
        return None

    def _run(self, kind: str, argv: list[str]) -> Execution:
        out = self._new_output_dir()
        (self.workdir / "tmp").mkdir(exist_ok=True)
        # The stand-in sandbox's environment and limits: a bare environment, one BLAS thread, the
        # working directory as $HOME, a 4 GiB address-space limit and a 30 s wall clock.
        env = {
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.workdir),
            "INPUT_DIR": str(self.input_dir),
            "OUTPUT_DIR": str(out),
            "TMPDIR": str(self.workdir / "tmp"),
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(self.root / ".matplotlib"),
            "PYTHONUNBUFFERED": "1",
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        limited = [
            "/bin/sh",
            "-c",
            'ulimit -v "$1" 2>/dev/null; shift; exec "$@"',
            "sh",
            str(MEMORY_KB),
            *argv,
        ]
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                limited,
                cwd=self.workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, stdout, stderr = (
                -9,
                str(exc.stdout or ""),
                f"killed after {TIMEOUT:.0f}s (execution_time_exceeded)",
            )
        seconds = time.perf_counter() - start
        outputs = sorted(p for p in out.iterdir() if p.is_file())
        return Execution(kind, code, stdout, stderr, seconds, outputs)

    def _edit(self, command: dict[str, Any]) -> Execution:
        path = self.workdir / command["path"]
        start = time.perf_counter()
        stdout, code = "", 0
        if command["command"] == "create":
            path.write_text(command["file_text"])
        elif command["command"] == "str_replace":
            content = path.read_text()
            if content.count(command["old_str"]) != 1:
                return Execution("editor", 1, "", "old_str must occur exactly once", 0.0, [])
            path.write_text(content.replace(command["old_str"], command.get("new_str", "")))
        elif command["command"] == "view":
            if path.exists():
                stdout = path.read_text()
            else:
                code = 1
        return Execution(
            "editor", code, stdout, "" if code == 0 else f"{path} not found", time.perf_counter() - start, []
        )


def run_turn(container: Container, script: dict[str, Any], prompt: str) -> Turn:
    index = choose_reply(script, prompt)
    turn = Turn(prompt, index)
    for step in script["replies"][index]["steps"]:
        execution = container.execute(step)
        if execution is not None:
            turn.executions.append(execution)
    return turn


def run_script(name: str, root: Path, rows: int, seed: int = 42) -> list[Turn]:
    """Run every prompt of one notebook, in order, in one fresh container under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    prepare_inputs(root / "input", rows, seed)
    container = Container(root, root / "input")
    script = load_script(name)
    return [run_turn(container, script, prompt) for prompt, _ in PROMPTS[name]]


def problems(name: str, turns: list[Turn]) -> list[str]:
    """What went wrong: failed executions and missing or empty expected files."""
    found = []
    for turn, (_, expected) in zip(turns, PROMPTS[name], strict=True):
        for execution in turn.failed:
            found.append(
                f"{name} / {turn.prompt!r}: {execution.kind} exited {execution.returncode}\n{execution.stderr[-2000:]}"
            )
        outputs = turn.outputs
        for missing in sorted(expected - set(outputs)):
            found.append(f"{name} / {turn.prompt!r}: no {missing} in $OUTPUT_DIR")
        empty = [n for n in sorted(expected & set(outputs)) if outputs[n].stat().st_size == 0]
        found.extend(f"{name} / {turn.prompt!r}: {n} is empty" for n in empty)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*", metavar="script", help=f"any of {', '.join(PROMPTS)}")
    parser.add_argument("--rows", type=int, default=50_000, help="customers to generate (default 50000)")
    parser.add_argument("--keep", type=Path, help="run under this directory and keep it (default: temporary)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every execution's output")
    args = parser.parse_args(argv)
    unknown = set(args.scripts) - set(PROMPTS)
    if unknown:
        parser.error(f"unknown script(s): {', '.join(sorted(unknown))}")

    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for name in args.scripts or PROMPTS:
            start = time.perf_counter()
            turns = run_script(name, base / name, args.rows)
            print(f"{name} ({args.rows:,} rows, {time.perf_counter() - start:.1f}s with data generation)")
            for turn in turns:
                status = "FAILED" if turn.failed else "ok"
                print(f"  [{status}] {turn.seconds:5.1f}s reply {turn.reply_index}: {turn.prompt}")
                print(f"         outputs: {', '.join(sorted(turn.outputs)) or '-'}")
                if args.verbose:
                    for e in turn.executions:
                        print(f"--- {e.kind} ({e.seconds:.1f}s, exit {e.returncode})\n{e.stdout}{e.stderr}")
            failures += problems(name, turns)
    for failure in failures:
        print(f"PROBLEM: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
