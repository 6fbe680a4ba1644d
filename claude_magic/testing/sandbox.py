"""Runs scripted code in a subprocess, as close to the real container as this machine allows.

Enforced on every execution:

* **wall clock**: ``timeout`` seconds (default 30). Past it the whole process group gets SIGKILL
  and the caller reports ``execution_time_exceeded``.
* **memory**: an address-space limit (``ulimit -v``, default 4 GiB).
* **network**: none. The process runs in new user and network namespaces
  (``unshare --user --map-root-user --net``) that hold only a loopback interface that is down.
* **/tmp**: with a new mount namespace as well, the container's ``tmp/`` is bind-mounted on
  ``/tmp``, so ``/tmp/x`` in code and ``/tmp/x`` in an editor command are the same file. This is
  skipped when the stand-in's root or the interpreter lives under ``/tmp`` (they would vanish).
* **environment**: only ``INPUT_DIR`` (unless the ``repl_input_dir`` behaviour unsets it),
  ``OUTPUT_DIR``, ``HOME`` (the container), ``TMPDIR``,
  ``PATH`` (``python`` is the server's own interpreter, so the sandbox offers its libraries),
  ``MPLBACKEND=Agg``, ``PYTHONUNBUFFERED=1``, ``LANG`` and one thread for BLAS/OpenMP.
* **output**: stdout and stderr are kept up to 1 MiB each.

Not enforced: the rest of the filesystem. Code runs as the server's user and could read or write
host files outside ``/tmp``; scripted code is trusted test input, not an adversary. The text
editor (``editor.py``) does confine its paths to the container.

When namespaces are unavailable (no ``unshare``, or the kernel refuses), code runs as a plain
subprocess with the other limits; ``Sandbox.isolation`` records which level is in force.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

Isolation = Literal["net+tmp", "net", "none"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY = 4 * 1024**3
OUTPUT_LIMIT = 1024 * 1024
_UNSHARE = ("--user", "--map-root-user", "--net")


@dataclass(frozen=True)
class ExecOutcome:
    """What a run produced; ``timed_out`` means it was killed at the time limit."""

    stdout: str
    stderr: str
    return_code: int
    timed_out: bool = False


@functools.cache
def _namespaces(mount: bool) -> str | None:
    """None when ``unshare`` can make the namespaces (and bind /tmp if *mount*), else why not."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare is not installed"
    with tempfile.TemporaryDirectory() as scratch:
        argv = [unshare, *_UNSHARE, "--", "/bin/true"]
        if mount:
            argv = [unshare, *_UNSHARE, "--mount", "--", "/bin/sh", "-c", 'mount --bind "$1" /tmp', "sh", scratch]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"unshare failed: {err}"
    if done.returncode != 0:
        return f"unshare failed: {done.stderr.decode(errors='replace').strip() or done.returncode}"
    return None


def _under_tmp(paths: Sequence[str | Path]) -> bool:
    tmp = os.path.realpath("/tmp")
    return any(os.path.realpath(p) == tmp or os.path.realpath(p).startswith(tmp + os.sep) for p in paths)


class Sandbox:
    """Runs commands for containers under *root* with the limits above."""

    def __init__(self, root: Path, *, timeout: float = DEFAULT_TIMEOUT, memory: int | None = DEFAULT_MEMORY):
        self.root = root
        self.timeout = timeout
        self.memory = memory
        self._bin = root / ".bin"
        self._bin.mkdir(parents=True, exist_ok=True)
        for name in ("python", "python3"):
            shim = self._bin / name
            shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
            shim.chmod(0o755)
        (root / ".matplotlib").mkdir(exist_ok=True)
        self.isolation, self.isolation_note = self._choose_isolation()

    def _choose_isolation(self) -> tuple[Isolation, str]:
        interpreter = [sys.executable, sys.prefix, sys.base_prefix, sysconfig.get_paths()["purelib"]]
        if _under_tmp([self.root, *interpreter]):
            why_not_tmp = "the stand-in's root or the interpreter is under /tmp"
        else:
            why_not_tmp = _namespaces(mount=True) or ""
            if not why_not_tmp:
                return "net+tmp", "user, network and mount namespaces; container tmp/ mounted on /tmp"
        if (why_not_net := _namespaces(mount=False)) is None:
            return "net", f"user and network namespaces; /tmp not mapped: {why_not_tmp}"
        return "none", f"plain subprocess, network NOT blocked ({why_not_net})"

    @property
    def maps_tmp(self) -> bool:
        """True when code sees the container's ``tmp/`` as ``/tmp``."""
        return self.isolation == "net+tmp"

    def environment(self, home: Path, input_dir: Path | None, output_dir: Path) -> dict[str, str]:
        """The whole environment of a run; no ``INPUT_DIR`` when *input_dir* is None."""
        path = os.pathsep.join([str(self._bin), os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])
        return {
            "PATH": path,
            "HOME": str(home),
            **({"INPUT_DIR": str(input_dir)} if input_dir is not None else {}),
            "OUTPUT_DIR": str(output_dir),
            "TMPDIR": "/tmp" if self.maps_tmp else str(home / "tmp"),
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(self.root / ".matplotlib"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }

    def wrap(self, command: Sequence[str], tmp_dir: Path) -> list[str]:
        """*command* wrapped in this sandbox's limits (namespaces, /tmp mapping, memory), to run as is."""
        return self._argv(command, tmp_dir)

    def _argv(self, command: Sequence[str], tmp_dir: Path) -> list[str]:
        prelude = 'ulimit -v "$2" 2>/dev/null; shift 2; exec "$@"'
        if self.maps_tmp:
            prelude = 'mount --bind "$1" /tmp || exit 125; ' + prelude
        limit = str(self.memory // 1024) if self.memory else "unlimited"
        wrapped = ["/bin/sh", "-c", prelude, "sh", str(tmp_dir), limit, *command]
        if self.isolation == "none":
            return wrapped
        unshare = shutil.which("unshare") or "unshare"
        mount = ["--mount"] if self.maps_tmp else []
        return [unshare, *_UNSHARE, *mount, "--", *wrapped]

    def run(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        tmp_dir: Path,
        stdin: bytes | None = None,
    ) -> ExecOutcome:
        """Run *command* in *cwd*; never raises for the code's own failures."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                self._argv(command, tmp_dir),
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            if stdin is not None and proc.stdin is not None:
                threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
            timed_out = False
            try:
                proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)
                proc.wait()
            return ExecOutcome(_read(out), _read(err), proc.returncode, timed_out)


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, ValueError, OSError):
        pass


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _read(stream: IO[bytes]) -> str:
    stream.seek(0)
    data = stream.read(OUTPUT_LIMIT + 1)
    text = data[:OUTPUT_LIMIT].decode("utf-8", errors="replace")
    return text + "\n[output truncated at 1 MiB]\n" if len(data) > OUTPUT_LIMIT else text
