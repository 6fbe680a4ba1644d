"""The fault matrix: every failure the API, the network, the disk or the user can throw at a turn.

For each fault, in a session that already has an upload, a conversation and a container: the
turn either recovers or fails with one short line; then the stand-in accepts the next request,
the container id and the upload registry are consistent, and the next cell works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from claude_magic import errors
from claude_magic._session import Session
from claude_magic.results import StepUpdate, TextStep, TurnEvent
from claude_magic.testing import Script, StandIn

READ_INPUT = """
import os, pandas as pd
frame = pd.read_parquet(os.path.join(os.environ["INPUT_DIR"], "sales.parquet"))
print("total", int(frame["revenue"].sum()))
"""
WRITE_FILE = "import os\nopen(os.path.join(os.environ['OUTPUT_DIR'], 'out.csv'), 'w').write('a,b\\n1,2\\n')\n"
BIG_FILE = "import os\nopen(os.path.join(os.environ['OUTPUT_DIR'], 'big.bin'), 'wb').write(os.urandom(300_000))\n"
REPLIES = [
    {"match": "^Prelude", "steps": [{"python": READ_INPUT}]},
    {"match": "^Fault: write", "steps": [{"python": WRITE_FILE}, {"text": "Wrote it."}]},
    {"match": "^Fault: big", "steps": [{"python": BIG_FILE}, {"text": "Made it."}]},
    {"match": "^Fault: pause", "steps": [{"python": "print(1)"}, {"pause": True}, {"python": "print(2)"},
                                         {"pause": True}, {"python": "print(3)"}, {"text": "Finished."}]},
    {"match": "^Fault: list", "steps": [{"bash": 'ls "$INPUT_DIR"'}, {"text": "Listed."}]},
    {"match": "^Fault", "steps": [{"text": "Answered the fault turn."}]},
    {"match": "^After", "steps": [{"python": READ_INPUT}, {"text": "after"}]},
]  # fmt: skip


def interrupt_at_text(event: TurnEvent) -> None:
    if isinstance(event, StepUpdate) and isinstance(event.step, TextStep) and event.step.text:
        raise KeyboardInterrupt


@dataclass(frozen=True)
class Fault:
    """One row: what goes wrong, the turn that meets it, and what the user must see."""

    name: str
    inject: Callable[[StandIn, Session, Path], dict[str, Any]]  # returns extra ``run`` arguments
    prompt: str = "Fault: plain"
    raises: type[BaseException] | None = None  # None: the turn recovers
    message: str = ""  # in the one-line error, or in a notice / file error when it recovers
    container_changes: bool = False


def fail(status: int, error_type: str | None, message: str = "boom", prefix: str = "/v1/messages") -> Any:
    def inject(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
        api.fail_next(status, error_type=error_type, message=message, path_prefix=prefix)
        return {}

    return inject


def expire_container(answer: str) -> Any:
    def inject(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
        api.behaviours.expired_container = answer  # type: ignore[assignment]
        assert session.container is not None
        api.expire_container(session.container.id)
        return {}

    return inject


def without_container(inject: Any) -> Any:
    def wrapped(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
        return {**inject(api, session, tmp), "new": True}

    return wrapped


def delete_old_attachment(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
    session.delete("sales.parquet")
    return {}


def expire_current_attachment(keep_source: bool) -> Any:
    def inject(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
        path = tmp / "notes.txt"
        path.write_text("some notes\n")
        entry = session.upload(str(path)).files[0]
        if not keep_source:
            path.unlink()
        api.expire_file(entry.file_id)
        return {}

    return inject


def local_download_failure(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
    blocker = tmp / "blocked"
    blocker.write_text("a file where the folder should be")
    return {"download_dir": blocker}


def remote_download_failure(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
    api.fail_next(500, error_type="api_error", message="Internal server error", count=2, path_prefix="/v1/files/")
    return {}


def interrupt_stream(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
    return {"on_event": interrupt_at_text}


def interrupt_downloads(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
    api.bandwidth = 200_000
    return {"on_event": interrupt_at_text}


def slow_server(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
    api.latency = 1.5
    session.reconnect(base_url=api.base_url, timeout=0.5, max_retries=0)
    return {}


def pause_past_limit(api: StandIn, session: Session, tmp: Path) -> dict[str, Any]:
    session.max_continuations = 1
    return {}


FAULTS = [
    Fault("429 past retries", fail(429, "rate_limit_error"), raises=errors.RateLimitedError, message="Rate limited"),
    Fault("529 past retries", fail(529, "overloaded_error"), raises=errors.OverloadedError, message="overloaded"),
    Fault("401 bad key", fail(401, "authentication_error"), raises=errors.AuthenticationFailedError,
          message="ANTHROPIC_API_KEY"),
    Fault("untyped 500 without a container", without_container(fail(500, "api_error", "Internal server error")),
          raises=errors.ApiError, message="API failed"),
    Fault("untyped 500 with a container", fail(500, "api_error", "Internal server error"),
          message="expired or is gone", container_changes=True),
    Fault("404 container", expire_container("404"), message="expired or is gone", container_changes=True),
    Fault("410 container", expire_container("410"), message="expired or is gone", container_changes=True),
    Fault("500 for an expired container", expire_container("500"), message="expired or is gone",
          container_changes=True),
    Fault("400 naming container_upload", fail(400, "invalid_request_error", "container_upload: bad block"),
          raises=errors.BadRequestError, message="container_upload: bad block"),
    Fault("413 too-large request", fail(413, "request_too_large", "Request too large"),
          raises=errors.RequestTooLargeError, message="%claude_reset"),
    Fault("stream broken mid-way", lambda api, s, t: api.break_stream(3) or {}, raises=errors.ConnectionFailedError,
          message="connection broke"),
    Fault("event: error mid-stream", lambda api, s, t: api.stream_error(3, "api_error") or {},
          raises=errors.ApiError, message="mid-stream"),
    Fault("timeout", slow_server, raises=errors.ApiTimeoutError, message="did not answer"),
    Fault("an old attachment gone", delete_old_attachment, message=""),
    Fault("a current attachment gone, re-uploadable", expire_current_attachment(True), prompt="Fault: list",
          message="uploaded it again"),
    Fault("a current attachment gone for good", expire_current_attachment(False), prompt="Fault: list",
          message="not attached"),
    Fault("local download failure", local_download_failure, prompt="Fault: write", message="could not save"),
    Fault("remote download failure", remote_download_failure, prompt="Fault: write", message="API failed"),
    Fault("pause past the limit", pause_past_limit, prompt="Fault: pause", message="run another cell"),
    Fault("interrupt during the stream", interrupt_stream, prompt="Fault: write", raises=KeyboardInterrupt),
    Fault("interrupt during downloads", interrupt_downloads, prompt="Fault: big", raises=KeyboardInterrupt),
]  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_fault(fault: Fault, make_session: Any, standin: StandIn, tmp_path: Path) -> None:
    standin.set_script(Script.from_dict({"replies": REPLIES}))
    session: Session = make_session()
    session.upload(pd.DataFrame({"month": ["jan", "feb"], "revenue": [10, 50]}), name="sales")
    session.run("Prelude")
    before = (session.history, session.container, session.uploads, session.pending, session.paused)
    extra = fault.inject(standin, session, tmp_path)

    if fault.raises is not None:
        with pytest.raises(fault.raises) as caught:
            session.run(fault.prompt, **extra)
        if fault.message:
            text = str(caught.value)
            assert fault.message in text and "\n" not in text and len(text) < 400
        assert (session.history, session.container, session.pending, session.paused) == (
            before[0], before[1], before[3], before[4],
        )  # fmt: skip
    else:
        turn = session.run(fault.prompt, **extra)
        said = [*turn.notices, *(file.error or "" for file in turn.files)]
        assert not fault.message or any(fault.message in line for line in said), said
        assert turn.container is not None and before[1] is not None
        assert (turn.container.id != before[1].id) == fault.container_changes
        assert session.container == turn.container and len(session.history) == len(before[0]) + 2

    # Whatever happened: consistent state, and the next cell works in it.
    standin.latency, standin.bandwidth = 0.0, None
    session.reconnect(base_url=standin.base_url, timeout=30, max_retries=0)
    session.max_continuations = 5
    registered = {entry.file_id for entry in session.registry}
    assert {entry.file_id for entry in session.uploads} <= registered
    for entry in session.uploads:
        assert standin.files[entry.file_id].is_expired() is False
    after = session.run("After")
    assert any(step.result and "total 60" in step.result.stdout for step in after.code)
    assert after.container is not None and posts_accepted(standin)


def posts_accepted(api: StandIn) -> bool:
    last = [request for request in api.requests if request.path == "/v1/messages"][-1]
    return last.finished is not None
