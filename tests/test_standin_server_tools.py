"""The stand-in's web_search / web_fetch / tool_search steps, and pairing for every server tool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import Message

from claude_magic.testing import Reply, Script, StandIn, ToolSearch, WebFetch, WebResult, WebSearch

pytest_plugins = ["claude_magic.testing.fixtures"]

BASH = "code_execution_20250825"
REPL = "code_execution_20260120"
TOOLS = [{"type": REPL, "name": "code_execution"}]

SEARCH = {"web_search": {"query": "pandas release", "results": [{"title": "pandas 3", "url": "https://pandas.test/3"}]}}
FETCH = {"web_fetch": {"url": "https://pandas.test/3", "title": "pandas 3", "text": "What's new."}}
TOOL_SEARCH = {"tool_search": {"query": "weather", "tools": ["get_weather"]}}
EVERY_TOOL = [{"text": "Looking."}, SEARCH, {"python": "print(6 * 7)"}, FETCH, TOOL_SEARCH, {"text": "Done."}]
EVERY_TYPE = [
    "text",
    "server_tool_use",
    "web_search_tool_result",
    "server_tool_use",
    "code_execution_tool_result",
    "server_tool_use",
    "web_fetch_tool_result",
    "server_tool_use",
    "tool_search_tool_result",
    "text",
]


@pytest.fixture
def client(standin: StandIn) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        api_key="test", base_url=standin.base_url, max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


def create(client: anthropic.Anthropic, messages: list[Any], **params: Any) -> Message:
    return client.messages.create(model="claude-sonnet-5", max_tokens=1024, messages=messages, tools=TOOLS, **params)


def streamed(client: anthropic.Anthropic, messages: list[Any], **params: Any) -> Message:
    with client.messages.stream(
        model="claude-sonnet-5", max_tokens=1024, messages=messages, tools=TOOLS, **params
    ) as stream:
        for _ in stream:
            pass
        return stream.get_final_message()


def check_every_tool(message: Message) -> None:
    assert [b.type for b in message.content] == EVERY_TYPE
    uses = [b for b in message.content if b.type == "server_tool_use"]
    assert [u.name for u in uses] == ["web_search", "code_execution", "web_fetch", "tool_search_tool_regex"]
    assert uses[0].input == {"query": "pandas release"}
    assert uses[2].input == {"url": "https://pandas.test/3"}
    search, run, fetch, found = (b for b in message.content if b.type.endswith("_tool_result"))
    assert [r.tool_use_id for r in (search, run, fetch, found)] == [u.id for u in uses]
    assert search.type == "web_search_tool_result"
    assert isinstance(search.content, list)
    assert [(hit.title, hit.url) for hit in search.content] == [("pandas 3", "https://pandas.test/3")]
    assert search.content[0].encrypted_content
    assert run.type == "code_execution_tool_result"
    assert run.content.type == "code_execution_result"
    assert run.content.stdout == "42\n"
    assert fetch.type == "web_fetch_tool_result"
    assert fetch.content.type == "web_fetch_result"
    assert fetch.content.url == "https://pandas.test/3"
    assert fetch.content.content.source.data == "What's new."
    assert fetch.content.content.title == "pandas 3"
    assert found.type == "tool_search_tool_result"
    assert found.content.type == "tool_search_tool_search_result"
    assert [r.tool_name for r in found.content.tool_references] == ["get_weather"]
    assert message.usage.server_tool_use is not None
    counts = message.usage.server_tool_use.model_dump()
    assert counts == {"web_search_requests": 1, "web_fetch_requests": 1}


@pytest.mark.parametrize("send", [create, streamed], ids=["json", "stream"])
def test_every_server_tool_validates_strictly(client: anthropic.Anthropic, standin: StandIn, send: Any) -> None:
    standin.set_script(Script([Reply(EVERY_TOOL)]))
    check_every_tool(send(client, [{"role": "user", "content": "go"}]))


@pytest.mark.parametrize("send", [create, streamed], ids=["json", "stream"])
def test_history_with_every_pair_intact_is_accepted(client: anthropic.Anthropic, standin: StandIn, send: Any) -> None:
    standin.set_script(Script([Reply(EVERY_TOOL), Reply([SEARCH, {"text": "Again."}])]))
    first = send(client, [{"role": "user", "content": "go"}])
    history = [{"role": "user", "content": "go"}, first.to_param(), {"role": "user", "content": "more"}]
    second = send(client, history, container=first.container.id)
    assert [b.type for b in second.content] == ["server_tool_use", "web_search_tool_result", "text"]


def without(message: Message, kind: str) -> dict[str, Any]:
    param = message.to_param()
    return {**param, "content": [b for b in param["content"] if not _is(b, kind)]}


def _is(block: Any, kind: str) -> bool:
    block_type = block["type"] if isinstance(block, dict) else block.type
    if kind == "web_search_use":
        name = block["name"] if isinstance(block, dict) else getattr(block, "name", None)
        return bool(block_type == "server_tool_use" and name == "web_search")
    return bool(block_type == kind)


@pytest.mark.parametrize(
    ("dropped", "match"),
    [
        ("web_search_use", "unexpected `tool_use_id` found in `web_search_tool_result` blocks"),
        ("web_search_tool_result", "`web_search` tool use with id `srvtoolu_\\w+` was found without a corresponding"),
        ("web_fetch_tool_result", "`web_fetch` tool use .* without a corresponding `web_fetch_tool_result` block"),
        ("tool_search_tool_result", "`tool_search_tool_regex` tool use .* `tool_search_tool_result` block"),
    ],
)
def test_history_with_half_a_pair_is_400(
    client: anthropic.Anthropic, standin: StandIn, dropped: str, match: str
) -> None:
    standin.set_script(Script([Reply(EVERY_TOOL), Reply([{"text": "never"}])]))
    first = create(client, [{"role": "user", "content": "go"}])
    history = [{"role": "user", "content": "go"}, without(first, dropped), {"role": "user", "content": "more"}]
    with pytest.raises(anthropic.BadRequestError, match=match):
        create(client, history, container=first.container.id)
    with pytest.raises(anthropic.BadRequestError, match=match):
        streamed(client, history, container=first.container.id)


@pytest.mark.parametrize("step", [SEARCH, FETCH, TOOL_SEARCH], ids=["web_search", "web_fetch", "tool_search"])
def test_pause_after_a_server_tool_leaves_it_open(
    client: anthropic.Anthropic, standin: StandIn, step: dict[str, Any]
) -> None:
    standin.set_script(Script([Reply([{"text": "Searching."}, step, {"pause": True}, {"text": "Found it."}])]))
    paused = streamed(client, [{"role": "user", "content": "go"}])
    assert paused.stop_reason == "pause_turn"
    assert paused.content[-1].type == "server_tool_use"
    history = [{"role": "user", "content": "go"}, paused.to_param()]
    with pytest.raises(anthropic.BadRequestError, match="was found without a corresponding"):
        create(client, [*history, {"role": "user", "content": "continue"}])
    resumed = create(client, history)
    assert [b.type for b in resumed.content] == [f"{next(iter(step))}_tool_result", "text"]
    assert resumed.content[0].tool_use_id == paused.content[-1].id


UNKNOWN_USE = {"type": "server_tool_use", "id": "srvtoolu_advisor", "name": "advisor", "input": {}}
UNKNOWN_RESULT = {"type": "advisor_tool_result", "tool_use_id": "srvtoolu_advisor", "content": {"type": "x"}}


@pytest.mark.parametrize(
    ("assistant", "match"),
    [
        ([UNKNOWN_USE, UNKNOWN_RESULT, {"type": "text", "text": "ok"}], None),
        (
            [
                {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "q", "server_name": "s", "input": {}},
                {"type": "mcp_tool_result", "tool_use_id": "mcptoolu_1", "content": "r"},
            ],
            None,
        ),
        ([UNKNOWN_USE, {"type": "text", "text": "ok"}], "`advisor` tool use with id `srvtoolu_advisor` was found"),
        ([UNKNOWN_RESULT, UNKNOWN_USE], "unexpected `tool_use_id` found in `advisor_tool_result`"),
    ],
    ids=["unknown-paired", "unknown-kind-paired", "unknown-unpaired", "result-before-use"],
)
def test_server_tools_the_stand_in_does_not_know_pair_by_id(
    client: anthropic.Anthropic, assistant: list[Any], match: str | None
) -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": assistant},
        {"role": "user", "content": "b"},
    ]
    if match is None:
        assert create(client, messages).stop_reason == "end_turn"
    else:
        with pytest.raises(anthropic.BadRequestError, match=match):
            create(client, messages)


def test_result_blocks_in_a_user_message_are_400(client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": [UNKNOWN_RESULT]}]
    with pytest.raises(anthropic.BadRequestError, match="belong in assistant messages"):
        create(client, messages)


def test_server_tool_steps_from_json_equal_the_python_classes() -> None:
    script = Script.from_dict({"replies": [{"steps": [SEARCH, FETCH, TOOL_SEARCH]}]})
    assert script.replies[0].steps == (
        WebSearch("pandas release", (WebResult("pandas 3", "https://pandas.test/3"),)),
        WebFetch("https://pandas.test/3", "What's new.", "pandas 3"),
        ToolSearch("weather", ("get_weather",)),
    )
    assert WebSearch("q", ({"title": "t", "url": "u"},)) == WebSearch("q", (WebResult("t", "u"),))  # type: ignore[arg-type]
    for bad in (
        {"web_search": {"results": []}},
        {"web_search": {"query": "q", "results": [{"title": "t"}]}},
        {"web_fetch": {"url": "u", "body": "x"}},
        {"tool_search": {"query": "q", "tools": "get_weather"}},
    ):
        with pytest.raises(ValueError, match=r"web_search|web_fetch|tool_search"):
            Script.from_dict({"replies": [{"steps": [bad]}]})


def test_server_tool_steps_run_without_a_code_execution_tool(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(Script([Reply([SEARCH, {"text": "No code."}])]))
    message = client.messages.create(
        model="claude-sonnet-5", max_tokens=100, messages=[{"role": "user", "content": "q"}]
    )
    assert [b.type for b in message.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert message.container is None
