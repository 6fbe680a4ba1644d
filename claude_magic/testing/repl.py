"""A long-lived Python interpreter per container, for the REPL tool versions (``_20260120`` and later).

On those versions "Python state survives between executions in a container" (api-spec §13, §9.2):
the stand-in keeps one interpreter per container and runs each ``code_execution`` in it, so a
variable defined by one execution is there in the next. The interpreter runs under the same
limits as every other execution (``sandbox.Sandbox``: no network, the address-space limit, the
wall clock per execution, the minimal environment, ``/tmp`` mapped); past the time limit it is
killed, and the next execution starts a fresh one, as after a checkpoint restore (the container's
files survive, its Python state does not).

Each execution's code is written to a file in a control folder outside the container; the worker
execs it with stdout and stderr pointed at two files there, then reports the exit status on its
own stdout, a pipe only the stand-in reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
from pathlib import Path
from typing import IO

from claude_magic.testing.sandbox import OUTPUT_LIMIT, ExecOutcome, Sandbox

WORKER = r"""
import json, os, sys, traceback

control = os.fdopen(os.dup(1), "w", buffering=1)
quiet = os.open(os.devnull, os.O_WRONLY)
os.dup2(quiet, 1)
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
for line in sys.stdin:
    request = json.loads(line)
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    status = 0
    try:
        with open(request["code"], encoding="utf-8") as source:
            code = compile(source.read(), "<stdin>", "exec")
        exec(code, namespace)
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, int) and stop.code is not None:
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    control.write(json.dumps({"status": status}) + "\n")
"""


class Interpreter:
    """One container's Python process; ``run`` executes code in it, starting it when needed."""

    def __init__(self, sandbox: Sandbox, home: Path, tmp_dir: Path, control_dir: Path) -> None:
        self.sandbox = sandbox
        self.home = home
        self.tmp_dir = tmp_dir
        self.control_dir = control_dir
        self.starts = 0  # how many processes this container has had (a restart loses the state)
        self._process: subprocess.Popen[bytes] | None = None
        self._runs = 0

    @property
    def alive(self) -> bool:
        """Whether a process holds state now."""
        return self._process is not None and self._process.poll() is None

    def run(self, code: str, env: dict[str, str]) -> ExecOutcome:
        """Execute *code* in the container's interpreter; *env* is this execution's environment."""
        if not self.alive:
            self._start(env)
        process = self._process
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        self._runs += 1
        source = self.control_dir / f"cell_{self._runs}.py"
        out, err = self.control_dir / f"cell_{self._runs}.out", self.control_dir / f"cell_{self._runs}.err"
        source.write_text(code, encoding="utf-8")
        request = {"code": str(source), "stdout": str(out), "stderr": str(err), "env": env}
        try:
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            return ExecOutcome("", "the interpreter exited\n", 1)
        try:
            reply = _read_line(process.stdout, self.sandbox.timeout)
        except (ValueError, OSError):  # stopped from another thread (the server is shutting down)
            self.stop()
            return ExecOutcome(_read(out), _read(err) + "the interpreter was stopped\n", -signal.SIGKILL)
        if reply is None:  # past the time limit: the interpreter and its state are gone
            self.stop()
            return ExecOutcome(_read(out), _read(err), -signal.SIGKILL, timed_out=True)
        if not reply:  # it exited (os._exit, killed for memory, ...): the next run starts afresh
            code_now = process.wait()
            self.stop()
            return ExecOutcome(_read(out), _read(err), code_now or 1)
        status = int(json.loads(reply).get("status", 1))
        return ExecOutcome(_read(out), _read(err), status)

    def stop(self) -> None:
        """Kill the process (and anything it started); the next ``run`` starts a fresh one."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        process.wait()

    def close(self) -> None:
        """Stop, and delete the control folder."""
        self.stop()
        shutil.rmtree(self.control_dir, ignore_errors=True)

    def _start(self, env: dict[str, str]) -> None:
        self.control_dir.mkdir(parents=True, exist_ok=True)
        worker = self.control_dir / "worker.py"
        worker.write_text(WORKER, encoding="utf-8")
        self._process = subprocess.Popen(
            self.sandbox.wrap(["python", "-u", str(worker)], self.tmp_dir),
            cwd=self.home,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.starts += 1


def _read_line(stream: IO[bytes], timeout: float) -> bytes | None:
    """One line from *stream*; None when none came within *timeout*, b"" at end of file."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return None
    return stream.readline()


def _read(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(OUTPUT_LIMIT + 1)
    except FileNotFoundError:
        return ""
    text = data[:OUTPUT_LIMIT].decode("utf-8", errors="replace")
    return text + "\n[output truncated at 1 MiB]\n" if len(data) > OUTPUT_LIMIT else text
