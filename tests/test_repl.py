"""REPL state persistence: Python state survives between executions on code_execution_20260120 and later.

The stand-in keeps one interpreter per container for those versions (under the sandbox's limits), restarts
it when the container is restored from a checkpoint, and runs every execution afresh on the older versions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_magic._export import export_script
from claude_magic._session import Session
from claude_magic.results import CodeStep
from claude_magic.testing import Script, StandIn

REPL_VERSIONS = ("code_execution_20260120", "code_execution_20260521")
OLD_VERSIONS = ("code_execution_20250522", "code_execution_20250825")
DEFINE = "import os\ncounter = 41\nprint('defined')"
USE = "counter += 1\nprint('counter', counter)"


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


def last_run(turn: Any) -> Any:
    runs = [step.result for step in turn.steps if isinstance(step, CodeStep) and step.result is not None]
    return runs[-1]


@pytest.mark.parametrize("version", REPL_VERSIONS)
def test_a_variable_from_an_earlier_turn_is_there_on_the_repl_versions(
    make_session: Any, standin: StandIn, version: str
) -> None:
    standin.set_script(script([{"python": DEFINE}], [{"python": USE}], [{"python": USE}]))
    session: Session = make_session(tool_version=version)
    session.run("define it")
    second, third = session.run("use it"), session.run("use it again")
    assert last_run(second).stdout == "counter 42\n" and last_run(third).stdout == "counter 43\n"
    (container,) = standin.containers.values()
    assert container.interpreter is not None and container.interpreter.starts == 1


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_each_execution_starts_afresh_on_the_older_versions(make_session: Any, standin: StandIn, version: str) -> None:
    standin.set_script(script([{"python": DEFINE}], [{"python": USE}]))
    session: Session = make_session(tool_version=version)
    session.run("define it")
    result = last_run(session.run("use it"))
    assert result.return_code != 0 and "NameError: name 'counter' is not defined" in result.stderr


def test_a_checkpoint_restore_keeps_the_files_and_loses_the_python_state(make_session: Any, standin: StandIn) -> None:
    keep = "from pathlib import Path\nPath('kept.txt').write_text('still here')\ncounter = 1"
    read = "from pathlib import Path\nprint(Path('kept.txt').read_text())\nprint(counter)"
    standin.set_script(script([{"python": keep}], [{"python": read}]))
    session: Session = make_session(tool_version=REPL_VERSIONS[0])
    first = session.run("write a file and a variable")
    assert first.container is not None
    standin.checkpoint_container(first.container.id)
    result = last_run(session.run("read both"))
    assert result.stdout == "still here\n" and "NameError: name 'counter' is not defined" in result.stderr
    assert standin.containers[first.container.id].restores == 1


def test_the_long_lived_interpreter_keeps_the_sandbox_limits(tmp_path: Path) -> None:
    replies = script(
        [{"python": "state = 'before'"}],
        [{"python": "import time\ntime.sleep(30)"}],
        [{"python": "print(globals().get('state'))"}],
        [{"python": "block = bytearray(2 * 1024**3)\nprint('allocated')"}],
        [{"python": "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\nprint('reached')"}],
    )
    with (
        StandIn(replies, exec_timeout=3.0, exec_memory=1024**3) as api,
        anthropic.Anthropic(
            api_key="test", base_url=api.base_url, max_retries=0, _strict_response_validation=True
        ) as sdk,
    ):
        tools: Any = [{"type": REPL_VERSIONS[0], "name": "code_execution"}]
        container: Any = None
        results = []
        for prompt in ("one", "two", "three", "four", "five"):
            reply = sdk.messages.create(
                model="claude-sonnet-5",
                max_tokens=64,
                tools=tools,
                messages=[{"role": "user", "content": prompt}],
                **({"container": container} if container else {}),
            )
            assert reply.container is not None
            container = reply.container.id
            results.append(next(block for block in reply.content if block.type == "code_execution_tool_result"))
        timed_out, after, memory, network = (result.content for result in results[1:])
        assert timed_out.type == "code_execution_tool_result_error"
        assert timed_out.error_code == "execution_time_exceeded"
        assert after.type == "code_execution_result" and after.stdout == "None\n"  # killed: a fresh interpreter
        assert memory.type == "code_execution_result" and "MemoryError" in memory.stderr
        if api.sandbox_isolation.startswith("net"):
            assert network.type == "code_execution_result"
            assert network.return_code != 0 and "reached" not in network.stdout


def test_an_exported_repl_session_runs_in_order(make_session: Any, standin: StandIn, tmp_path: Path) -> None:
    write = (
        "import os\n"
        "with open(os.path.join(os.environ['OUTPUT_DIR'], 'count.txt'), 'w') as f:\n"
        "    f.write(str(counter))"
    )
    standin.set_script(script([{"python": DEFINE}], [{"python": USE}], [{"python": write}]))
    session: Session = make_session(tool_version=REPL_VERSIONS[1])
    turns = [session.run(prompt) for prompt in ("define", "use", "write")]
    assert turns[-1].files[0].path is not None and turns[-1].files[0].path.read_text() == "42"
    script_path = tmp_path / "analysis.py"
    script_path.write_text(export_script(turns))
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC")}
    done = subprocess.run(
        [sys.executable, str(script_path)], cwd=tmp_path, capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "defined\ncounter 42\n"
    assert (tmp_path / "claude_export" / "outputs" / "count.txt").read_text() == "42"
