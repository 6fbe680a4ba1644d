"""The long-session magics and options as a user meets them: a real shell, the real SDK, the stand-in.

``%claude_usage``, ``%claude_history`` (N, ``--undo``), ``%claude_compact``, ``--think``, ``--effort``,
``--force`` and the configuration traits behind them.
"""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from claude_magic import _render as render
from claude_magic.results import ThinkingStep, Turn
from claude_magic.testing import Script, StandIn

HOSTILE = "<script>alert(1)</script>"


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


def cell(shell: InteractiveShell, source: str) -> list[dict[str, Any]]:
    """Run a cell that must succeed; the displays it left, each with its last update applied."""
    with capture_output() as captured:
        result = shell.run_cell(source)
    assert result.error_in_exec is None, captured.stderr
    order: list[object] = []
    latest: dict[object, dict[str, Any]] = {}
    for index, output in enumerate(captured.outputs):
        key = output.transient.get("display_id", index)
        if key not in latest:
            order.append(key)
        latest[key] = output.data
    return [latest[key] for key in order if any(latest[key].values())]


def last_request(standin: StandIn) -> dict[str, Any]:
    found = [r for r in standin.requests if r.path == "/v1/messages" and r.json is not None]
    assert found[-1].json is not None
    return found[-1].json


def test_think_and_effort_show_the_plan_collapsed_above_the_code(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"thinking": f"Plan {HOSTILE}"}, {"python": "print(42)"}, {"text": "Done."}]))
    shown = cell(shell, "%%claude_exec --think --effort high --out turn\nCompute it.")
    request = last_request(standin)
    assert request["thinking"] == {"type": "adaptive"} and request["output_config"] == {"effort": "high"}
    markup = [bundle["text/html"] for bundle in shown if "text/html" in bundle]
    plan = next(index for index, text in enumerate(markup) if "<details" in text)
    code = next(index for index, text in enumerate(markup) if "42" in text)
    assert plan < code and HOSTILE not in markup[plan] and "&lt;script&gt;" in markup[plan]
    turn = shell.user_ns["turn"]
    assert isinstance(turn.steps[0], ThinkingStep)
    assert "Plan" in render.step_bundle(turn.steps[0])["text/plain"]


def test_line_form_takes_a_budget_only_with_equals(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "a"}], [{"text": "b"}]))
    cell(shell, "%claude_exec --think=2048 What is 2?")
    request = last_request(standin)
    assert request["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert request["messages"][-1]["content"][-1]["text"] == "What is 2?"
    cell(shell, "%claude_exec --think 1 plus 1")
    request = last_request(standin)
    assert request["thinking"] == {"type": "adaptive"} and request["messages"][-1]["content"][-1]["text"] == "1 plus 1"


def test_config_switches_caching_off_and_sets_defaults(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"text": "a"}], [{"text": "b"}]))
    cell(shell, "%%claude_exec\nfirst")
    assert last_request(standin)["cache_control"] == {"type": "ephemeral"}
    shell.run_line_magic("config", "ClaudeMagics.cache = False")
    shell.run_line_magic("config", 'ClaudeMagics.effort = "low"')
    shell.run_line_magic("config", 'ClaudeMagics.thinking = "adaptive"')
    cell(shell, "%%claude_exec\nsecond")
    request = last_request(standin)
    assert "cache_control" not in request and request["output_config"] == {"effort": "low"}
    assert request["thinking"] == {"type": "adaptive"}


def test_session_cap_refuses_in_one_line_and_force_runs(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"python": "print(1)"}]}]}))
    shell.run_line_magic("config", "ClaudeMagics.max_cost_per_session = 0.000001")
    with capture_output() as captured:
        result = shell.run_cell("%%claude_exec\ntoo dear")
    assert isinstance(result.error_in_exec, UsageError)
    message = captured.stderr.strip()
    assert message.startswith("UsageError: Not sent") and "\n" not in message and "--force" in message
    assert "Traceback" not in captured.stdout + captured.stderr
    assert not [r for r in standin.requests if r.path == "/v1/messages"]
    cell(shell, "%%claude_exec --force\nanyway")
    assert len([r for r in standin.requests if r.path == "/v1/messages"]) == 1


def test_usage_history_undo_and_compact(shell: InteractiveShell, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print(1)"}], [{"text": "two"}], [{"text": "three"}], [{"text": "four"}]))
    cell(shell, "%%claude_exec\nfirst prompt")
    cell(shell, "%%claude_exec\nsecond prompt")
    usage = cell(shell, "%claude_usage")[0]
    lines = usage["text/plain"].splitlines()
    assert lines[1].split()[:3] == ["#", "prompt", "input"] and "first prompt" in lines[2]
    assert "second prompt" in lines[3] and lines[-1].startswith("session: 2 turns")
    assert "<table>" in usage["text/html"]
    listing = cell(shell, "%claude_history")[0]["text/plain"]
    assert "first prompt" in listing and "second prompt" in listing
    again = shell.run_line_magic("claude_history", "1")
    assert isinstance(again, Turn) and again.prompt == "first prompt"
    with pytest.raises(UsageError, match="No turn 9"):
        shell.run_line_magic("claude_history", "9")
    undone = cell(shell, "%claude_history --undo")[0]["text/plain"]
    assert "second prompt" in undone and "sandbox is not undone" in undone
    assert "second prompt" not in cell(shell, "%claude_history")[0]["text/plain"]
    compacted = cell(shell, "%claude_compact Keep it short.")[0]["text/plain"]
    assert "Compacted" in compacted
    assert last_request(standin)["compaction"] == {"type": "summarize", "instructions": "Keep it short."}
    cell(shell, "%%claude_exec\nafter compacting")
    assert last_request(standin)["messages"][1]["content"][0]["type"] == "compaction"
    cell(shell, "%claude_history --undo")  # the turn after compacting can be undone, not the compaction
    with pytest.raises(UsageError, match="Nothing to undo"):
        shell.run_line_magic("claude_history", "--undo")
