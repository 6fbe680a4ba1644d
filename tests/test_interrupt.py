"""Interrupting a turn in a real kernel (Kernel → Interrupt, i.e. SIGINT): one notice, no traceback.

A real ipykernel runs ``%%claude_exec`` against the stand-in while the sandbox sleeps; the test
interrupts it with ``KernelManager.interrupt_kernel()`` and reads every IOPub message the cell sent.
The same kernel also shows what ``%claude_export`` hands the frontend (a ``set_next_input`` payload).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from claude_magic.testing import StandIn
from test_magics import script

SLOW = "import time\nprint('started', flush=True)\ntime.sleep(30)\nprint('never')"


class Kernel:
    """A kernel of this interpreter, with the cell's IOPub messages at hand."""

    def __init__(self, manager: KernelManager, client: BlockingKernelClient) -> None:
        self.manager = manager
        self.client = client

    def execute(
        self, code: str, *, until: Any = None, timeout: float = 60
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Run ``code``; call ``until(messages)`` after each message, interrupt when it first says so."""
        msg_id = self.client.execute(code)
        messages: list[dict[str, Any]] = []
        interrupted = until is None
        deadline = time.monotonic() + timeout
        while True:
            message = self.client.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(message)
            if not interrupted and until(messages):
                interrupted = True
                self.manager.interrupt_kernel()
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        reply = self.client.get_shell_msg(timeout=10)
        return messages, reply


@pytest.fixture
def kernel(standin: StandIn, tmp_path: Path) -> Iterator[Kernel]:
    manager = KernelManager(kernel_name="python3")
    manager.kernel_spec_manager = KernelSpecManager(kernel_dirs=[])  # ipykernel's own: this interpreter
    env = {
        **os.environ,
        "ANTHROPIC_BASE_URL": standin.base_url,
        "ANTHROPIC_API_KEY": "test",
        "CLAUDE_MAGIC_CACHE_DIR": str(tmp_path / "cache"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    manager.start_kernel(env=env, cwd=str(tmp_path))
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    kernel = Kernel(manager, client)
    kernel.execute("%load_ext claude_magic")
    yield kernel
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    texts = []
    for message in messages:
        content = message["content"]
        texts.append(content.get("text", ""))
        texts.extend(str(value) for value in content.get("data", {}).values())
        texts.extend(content.get("traceback", []))
    return texts


@pytest.mark.timeout(120)
def test_interrupt_shows_one_notice_no_traceback_and_marks_the_step(kernel: Kernel, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Running a long job."}, {"python": SLOW}]))

    def code_is_running(messages: list[dict[str, Any]]) -> bool:
        texts = _texts(messages)  # the code is shown and running (not merely announced)
        return any("step 2, running Python" in text for text in texts) and any("time.sleep(30)" in t for t in texts)

    messages, reply = kernel.execute("%%claude_exec\nRun the long job.", until=code_is_running)
    everything = "\n".join(_texts(messages))
    assert reply["content"]["status"] == "error"  # Run All stops here
    assert reply["content"]["ename"] == "UsageError"
    assert "Traceback" not in everything and "KeyboardInterrupt" not in everything, everything
    assert "httpcore" not in everything and "anthropic" not in everything
    assert everything.count("Interrupted: the conversation and container are as they were") == 1, everything
    # The code step's display ends saying it was interrupted, not "running…".
    updates: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message["msg_type"] in ("display_data", "update_display_data"):
            updates[message["content"]["transient"]["display_id"]] = message["content"]["data"]
    code = [data for data in updates.values() if "time.sleep(30)" in data.get("text/plain", "")]
    assert len(code) == 1
    assert "[interrupted]" in code[0]["text/plain"] and "running…" not in code[0]["text/plain"]
    assert "interrupted before it finished" in code[0]["text/html"]

    # The kernel is usable afterwards, and the session as it was.
    standin.set_script(script([{"python": "print('after')"}]))
    messages, reply = kernel.execute("%%claude_exec\nGo on.")
    assert reply["content"]["status"] == "ok"
    assert any("after" in text for text in _texts(messages))


@pytest.mark.timeout(120)
def test_export_replaces_its_own_cell_with_a_marked_one(kernel: Kernel, standin: StandIn) -> None:
    standin.set_script(script([{"python": "open('/tmp/squares.txt', 'w').write('1 4 9')"}]))
    kernel.execute("%%claude_exec\nWrite squares.")
    _, reply = kernel.execute("%claude_export")
    (payload,) = [p for p in reply["content"]["payload"] if p["source"] == "set_next_input"]
    assert payload["replace"] is True  # rerunning %claude_export replaces, never adds a second cell
    first, _, rest = payload["text"].partition("\n")
    assert first == "# %claude_export"
    assert "claude_export/tmp/squares.txt" in rest and "'/tmp/" not in rest
