"""Kernel functions as Claude's tools: schemas, direct and programmatic calls, bounds, the stand-in's rules."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from claude_magic import errors
from claude_magic._kernel_tools import KernelToolError, ToolLimits, describe
from claude_magic._render import turn_bundle
from claude_magic._session import Session
from claude_magic.results import CodeStep, TextStep, ToolCallStep
from claude_magic.testing import Script, StandIn

REPL = "code_execution_20260120"
PTC_CODE = """
import json
rows = json.loads(await get_orders({"region": "EU"}))
print("orders", len(rows), "total", sum(r["amount"] for r in rows))
"""


def get_orders(region: str, limit: int = 10) -> list[dict[str, Any]]:
    """Orders of one region from the warehouse.

    Parameters
    ----------
    region : str
        Sales region code, e.g. "EU".
    limit : int
        At most this many orders.
    """
    rows = [{"id": 1, "region": "EU", "amount": 30}, {"id": 2, "region": "EU", "amount": 12}]
    return [row for row in rows if row["region"] == region][:limit]


def broken(region: str) -> str:
    """Always fails."""
    raise LookupError(f"no warehouse for {region}")


def slow(region: str) -> str:
    """Takes too long."""
    time.sleep(30)
    return "late"


def huge(region: str) -> str:
    """Returns far too much."""
    return "x" * 5000


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": {"name": name, "input": arguments}}


def tool_results(standin: StandIn) -> list[dict[str, Any]]:
    """The tool_result blocks the stand-in received, in order."""
    found = []
    for request in standin.requests:
        if request.path == "/v1/messages" and request.json:
            last = request.json["messages"][-1]
            if last["role"] == "user" and isinstance(last["content"], list):
                found += [block for block in last["content"] if block.get("type") == "tool_result"]
    return found


def test_schema_comes_from_signature_hints_and_docstring() -> None:
    tool = describe(get_orders)
    assert tool.name == "get_orders"
    assert tool.description.startswith("Orders of one region")
    schema = tool.input_schema
    assert schema["type"] == "object" and schema["required"] == ["region"]
    assert schema["properties"]["region"] == {"type": "string", "description": 'Sales region code, e.g. "EU".'}
    assert schema["properties"]["limit"]["type"] == "integer" and schema["properties"]["limit"]["default"] == 10
    assert schema["additionalProperties"] is False
    assert tool.param(programmatic=True)["allowed_callers"] == ["direct", "code_execution_20260120"]
    assert "allowed_callers" not in tool.param(programmatic=False)


def test_a_non_callable_or_a_lambda_is_refused_in_one_line() -> None:
    with pytest.raises(KernelToolError, match="not a function") as caught:
        describe(42)
    assert "\n" not in str(caught.value)
    with pytest.raises(KernelToolError, match="cannot be a tool name"):
        describe(lambda x: x)


def test_claude_calls_a_kernel_function_and_the_turn_goes_on(make_session: Any, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Fetching."}, call("get_orders", region="EU"), {"text": "Two orders."}]))
    session: Session = make_session()
    turn = session.run("How many EU orders?", tools=[get_orders])
    calls = [step for step in turn.steps if isinstance(step, ToolCallStep)]
    assert len(calls) == 1 and calls[0].caller == "direct" and calls[0].input == {"region": "EU"}
    assert json.loads(calls[0].result or "") == get_orders("EU")
    assert turn.text.endswith("Two orders.") and turn.stop_reason == "end_turn"
    sent = [r.json for r in standin.requests if r.path == "/v1/messages" and r.json]
    assert len(sent) == 2 and sent[0]["tools"] == sent[1]["tools"]  # same tools on the continuation
    assert any(tool.get("name") == "get_orders" for tool in sent[0]["tools"])
    # The history is valid for the next turn: tool_use answered by tool_result, then the answer.
    roles = [message["role"] for message in session.history]
    assert roles == ["user", "assistant", "user", "assistant"]
    standin.set_script(script([{"text": "Still here."}]))
    assert session.run("And now?").text == "Still here."
    plain = turn_bundle(turn)["text/plain"]
    assert 'get_orders(region="EU") · called by Claude' in plain


def test_sandbox_code_calls_a_kernel_function_programmatically(make_session: Any, standin: StandIn) -> None:
    program = {"program": {"code": PTC_CODE, "calls": [{"name": "get_orders", "input": {"region": "EU"}}]}}
    standin.set_script(script([program, {"text": "Done."}]))
    session: Session = make_session(tool_version=REPL)
    turn = session.run("Total EU orders, from code.", tools=[get_orders])
    call_step = next(step for step in turn.steps if isinstance(step, ToolCallStep))
    assert call_step.caller == "code"
    code = next(step for step in turn.steps if isinstance(step, CodeStep))
    assert code.result is not None and code.result.stdout.strip() == "orders 2 total 42"
    sent = [r.json for r in standin.requests if r.path == "/v1/messages" and r.json]
    assert sent[1]["container"] == turn.container.id  # type: ignore[union-attr]
    last_user = sent[1]["messages"][-1]["content"]
    assert [block["type"] for block in last_user] == ["tool_result"]  # only tool_result blocks
    assert isinstance(last_user[0]["content"], str)  # programmatic results are plain text
    tools = {tool["name"]: tool for tool in sent[0]["tools"]}
    assert tools["get_orders"]["allowed_callers"] == ["direct", "code_execution_20260120"]
    standin.set_script(script([{"text": "Next."}]))
    assert session.run("Next?").text == "Next."  # history with the programmatic call is valid


def test_without_programmatic_support_the_function_is_called_directly(make_session: Any, standin: StandIn) -> None:
    program = {"program": {"code": PTC_CODE, "calls": [{"name": "get_orders", "input": {"region": "EU"}}]}}
    standin.set_script(script([program, {"text": "Done."}]))
    session: Session = make_session(model="claude-haiku-4-5", tool_version=None)
    turn = session.run("Total EU orders.", tools=[get_orders])
    assert next(s for s in turn.steps if isinstance(s, ToolCallStep)).caller == "direct"
    sent = [r.json for r in standin.requests if r.path == "/v1/messages" and r.json]
    assert "allowed_callers" not in next(t for t in sent[0]["tools"] if t["name"] == "get_orders")
    assert "orders 2 total 42" in "".join(s.result.stdout for s in turn.code if s.result)


@pytest.mark.parametrize(
    ("function", "limits", "message"),
    [
        (broken, ToolLimits(), "LookupError: no warehouse for EU"),
        (slow, ToolLimits(timeout=0.3), "timed out after 0.3 s"),
        (huge, ToolLimits(max_result_chars=1000), "refused: the result has 5,000 characters, over the limit of 1,000"),
    ],
    ids=["raises", "times-out", "too-large"],
)
def test_failing_calls_go_back_as_errors_and_the_turn_finishes(
    make_session: Any, standin: StandIn, function: Any, limits: ToolLimits, message: str
) -> None:
    name = function.__name__
    standin.set_script(script([call(name, region="EU"), {"text": "Understood."}]))
    session: Session = make_session()
    session.tool_limits = limits
    started = time.monotonic()
    turn = session.run("Try it.", tools=[function])
    assert time.monotonic() - started < 10
    step = next(step for step in turn.steps if isinstance(step, ToolCallStep))
    assert step.error is not None and step.error.startswith(message) and step.result is None
    [result] = tool_results(standin)
    assert result["is_error"] is True and message in result["content"]
    assert turn.text == "Understood."
    assert message in turn_bundle(turn)["text/plain"]


def test_failing_programmatic_calls_reach_the_code_as_exceptions(make_session: Any, standin: StandIn) -> None:
    code = "try:\n    await broken({'region': 'EU'})\nexcept RuntimeError as exc:\n    print('caught', exc)\n"
    program = {"program": {"code": code, "calls": [{"name": "broken", "input": {"region": "EU"}}]}}
    standin.set_script(script([program]))
    turn = make_session(tool_version=REPL).run("Go.", tools=[broken])
    assert "caught Error: LookupError: no warehouse for EU" in turn.code[0].result.stdout  # type: ignore[union-attr]


def test_calls_over_the_per_turn_limit_are_refused(make_session: Any, standin: StandIn) -> None:
    steps = [call("get_orders", region="EU") for _ in range(3)]
    standin.set_script(script([*steps, {"text": "Enough."}]))
    session: Session = make_session()
    session.tool_limits = ToolLimits(max_calls=2)
    turn = session.run("Call thrice.", tools=[get_orders])
    errors_seen = [s.error for s in turn.steps if isinstance(s, ToolCallStep)]
    assert errors_seen[:2] == [None, None] and "limit of 2 tool calls" in (errors_seen[2] or "")


def test_invalid_input_is_answered_not_raised(make_session: Any, standin: StandIn) -> None:
    standin.set_script(script([call("get_orders", region=3), {"text": "OK."}]))
    turn = make_session().run("Bad call.", tools=[get_orders])
    found = [s.error or "" for s in turn.steps if isinstance(s, ToolCallStep)]
    assert found[0].startswith("invalid input") and turn.text == "OK."


def test_functions_run_in_the_kernel_thread(make_session: Any, standin: StandIn) -> None:
    database = sqlite3.connect(":memory:")  # usable only in the thread that made it
    database.execute("create table t (x)")
    database.execute("insert into t values (7)")

    def query(sql: str) -> list[Any]:
        """Run SQL."""
        return database.execute(sql).fetchall()

    standin.set_script(script([call("query", sql="select x from t"), {"text": "7."}]))
    turn = make_session().run("Query.", tools=[query])
    assert next(s for s in turn.steps if isinstance(s, ToolCallStep)).result == "[[7]]"


def test_a_turn_without_the_tools_keeps_a_valid_history(make_session: Any, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Let me call."}, call("get_orders", region="EU")]))
    session: Session = make_session()
    turn = session.run("Try.")  # no tools offered: the call cannot be answered
    assert turn.stop_reason == "tool_use"
    assert not any(b.get("type") == "tool_use" for m in session.history for b in m["content"])
    standin.set_script(script([{"text": "Fine."}]))
    assert session.run("Again.").text == "Fine."


# -- the stand-in's rules, with a strict SDK client ------------------------------------------


@pytest.fixture
def client(standin: StandIn) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        api_key="test", base_url=standin.base_url, max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


TOOL = {
    "name": "get_orders",
    "description": "Orders.",
    "input_schema": {"type": "object", "properties": {"region": {"type": "string"}}},
    "allowed_callers": ["direct", "code_execution_20260120"],
}


def first_call(client: anthropic.Anthropic, standin: StandIn, *, stream: bool) -> tuple[Any, list[Any]]:
    program = {"program": {"code": PTC_CODE, "calls": [{"name": "get_orders", "input": {"region": "EU"}}]}}
    standin.set_script(script([program, {"text": "Done."}]))
    params: dict[str, Any] = {
        "model": "claude-sonnet-5",
        "max_tokens": 512,
        "tools": [{"type": REPL, "name": "code_execution"}, TOOL],
    }
    messages: list[Any] = [{"role": "user", "content": "go"}]
    if stream:
        with client.messages.stream(messages=messages, **params) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(messages=messages, **params)
    return message, [*messages, {"role": "assistant", "content": message.content}]


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_standin_pauses_code_on_a_programmatic_call(
    client: anthropic.Anthropic, standin: StandIn, stream: bool
) -> None:
    message, history = first_call(client, standin, stream=stream)
    assert message.stop_reason == "tool_use" and message.container is not None
    server_use, tool_use = message.content
    assert server_use.type == "server_tool_use" and tool_use.type == "tool_use"
    assert tool_use.caller is not None and tool_use.caller.type == "code_execution_20260120"
    assert tool_use.caller.tool_id == server_use.id
    rows = json.dumps(get_orders("EU"))
    answer = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": rows}]}
    done = client.messages.create(
        model="claude-sonnet-5",
        max_tokens=512,
        tools=[{"type": REPL, "name": "code_execution"}, TOOL],  # type: ignore[list-item]
        messages=[*history, answer],
        container=message.container.id,
    )
    assert [block.type for block in done.content] == ["code_execution_tool_result", "text"]
    assert done.content[0].content.stdout.strip() == "orders 2 total 42"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("no-container", "pass it as `container`"),
        ("text-too", "only `tool_result` blocks"),
        ("wrong-id", "without `tool_result` blocks immediately after"),
        ("extra-id", "which no `tool_use` of the previous message has"),
        ("missing-tool", "but no `get_orders` tool was provided"),
        ("image-content", "may hold only text"),
    ],
)
def test_standin_enforces_the_tool_result_rules(
    client: anthropic.Anthropic, standin: StandIn, change: str, expected: str
) -> None:
    message, history = first_call(client, standin, stream=False)
    tool_use = message.content[1]
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use.id, "content": "[]"}
    content: list[Any] = [result]
    tools: list[Any] = [{"type": REPL, "name": "code_execution"}, TOOL]
    params: dict[str, Any] = {"container": message.container.id}  # type: ignore[union-attr]
    if change == "no-container":
        params = {}
    elif change == "text-too":
        content.append({"type": "text", "text": "here you are"})
    elif change == "wrong-id":
        result["tool_use_id"] = "toolu_nope"
    elif change == "extra-id":
        content.append({**result, "tool_use_id": "toolu_nope"})
    elif change == "missing-tool":
        tools = tools[:1]
    elif change == "image-content":
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
        result["content"] = [image]
    with pytest.raises(anthropic.BadRequestError, match=expected.replace("(", r"\(")):
        client.messages.create(
            model="claude-sonnet-5",
            max_tokens=512,
            tools=tools,
            messages=[*history, {"role": "user", "content": content}],
            **params,
        )


def test_session_reports_a_bad_tool_as_one_line(make_session: Any) -> None:
    with pytest.raises(errors.ClaudeMagicError, match="not a function") as caught:
        make_session().run("x", tools=["get_orders"])
    assert "\n" not in str(caught.value)


def test_text_steps_still_plain(make_session: Any, standin: StandIn) -> None:
    standin.set_script(script([{"text": "Plain."}]))
    turn = make_session().run("Hi", tools=[get_orders])
    assert turn.steps == (TextStep("Plain."),)
