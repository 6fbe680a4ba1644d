"""The stand-in's long-session features, driven only through the real SDK with strict response validation.

Prompt cache accounting, thinking signatures, compaction, context editing, count_tokens, the stop
reasons scripts can end with, and the 32 MB request limit.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from claude_magic.testing import Behaviours, Script, StandIn

pytest_plugins = ["claude_magic.testing.fixtures"]

BASH = "code_execution_20250825"
TOOLS = [{"type": BASH, "name": "code_execution"}]
MODEL = "claude-sonnet-5"
BIG = "print('x' * 6000)"  # a result of ~6k characters: each turn adds well over the cache minimum
CACHE = {"type": "ephemeral"}


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


@pytest.fixture
def client(standin: StandIn) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        api_key="test", base_url=standin.base_url, max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


def create(client: anthropic.Anthropic, messages: list[Any], **params: Any) -> Any:
    params.setdefault("tools", TOOLS)
    return client.messages.create(model=MODEL, max_tokens=4096, messages=messages, **params)


def streamed(client: anthropic.Anthropic, messages: list[Any], **params: Any) -> Any:
    params.setdefault("tools", TOOLS)
    with client.messages.stream(model=MODEL, max_tokens=4096, messages=messages, **params) as stream:
        return stream.get_final_message()


def assistant(message: Any) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [block.model_dump(mode="json", exclude_none=True) for block in message.content],
    }


def conversation(client: anthropic.Anthropic, turns: int, **params: Any) -> list[Any]:
    """Run *turns* user turns, each resending the whole history; returns the responses."""
    history: list[Any] = []
    responses = []
    for number in range(turns):
        history.append({"role": "user", "content": f"turn {number}"})
        message = streamed(client, history, **params) if number % 2 else create(client, history, **params)
        responses.append(message)
        history.append(assistant(message))
        params["container"] = message.container.id
    return responses


# -- prompt caching ------------------------------------------------------------------------------


def test_turn_n_reads_the_prefix_turn_n_minus_1_wrote(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(script(*[[{"python": BIG}, {"text": "done"}]] * 4))
    first, second, third, fourth = [m.usage for m in conversation(client, 4, cache_control=CACHE)]
    total = [u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens for u in (second, third)]
    # Turn 2 writes its whole prompt; turn 3 reads exactly that and writes only what is new.
    assert second.cache_read_input_tokens == 0 and second.cache_creation_input_tokens == total[0]
    assert third.cache_read_input_tokens == total[0]
    assert third.cache_creation_input_tokens == total[1] - total[0] and third.input_tokens == 0
    assert fourth.cache_read_input_tokens == total[1]
    assert third.cache_creation is not None and third.cache_creation.ephemeral_5m_input_tokens > 0
    assert first.cache_read_input_tokens == 0


def test_no_cache_control_no_cache_and_the_ttl_expires(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(script(*[[{"python": BIG}]] * 6))
    plain = conversation(client, 3)
    assert all(m.usage.cache_read_input_tokens == m.usage.cache_creation_input_tokens == 0 for m in plain)
    history = [{"role": "user", "content": "a"}]
    one = create(client, history, cache_control={"type": "ephemeral", "ttl": "1h"})
    history += [assistant(one), {"role": "user", "content": "b"}]
    two = create(client, history, cache_control={"type": "ephemeral", "ttl": "1h"}, container=one.container.id)
    assert two.usage.cache_creation is not None and two.usage.cache_creation.ephemeral_1h_input_tokens > 0
    standin.age_prompt_cache(3601)
    history += [assistant(two), {"role": "user", "content": "c"}]
    three = create(client, history, cache_control=CACHE, container=one.container.id)
    assert three.usage.cache_read_input_tokens == 0  # the 1-hour entry has expired


def test_a_change_early_in_the_history_misses_the_cache(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(script(*[[{"python": BIG}]] * 3))
    responses = conversation(client, 2, cache_control=CACHE)
    history: list[Any] = [{"role": "user", "content": "turn 0 (edited)"}, assistant(responses[0])]
    history.append({"role": "user", "content": "turn 1"})
    again = create(client, history, cache_control=CACHE, container=responses[0].container.id)
    assert again.usage.cache_read_input_tokens == 0


# -- thinking ------------------------------------------------------------------------------------


def test_thinking_blocks_are_signed_checked_and_streamed(client: anthropic.Anthropic, standin: StandIn) -> None:
    steps = [{"thinking": "First look at the data."}, {"redacted_thinking": True}, {"python": "print(1)"}]
    standin.set_script(script(steps, [{"text": "ok"}], [{"text": "ok"}], [{"text": "ok"}]))
    history: list[Any] = [{"role": "user", "content": "go"}]
    with client.messages.stream(
        model=MODEL, max_tokens=4096, messages=history, tools=TOOLS, thinking={"type": "adaptive"}
    ) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert "thinking" in kinds and "signature" in kinds
    thinking, redacted = message.content[0], message.content[1]
    assert thinking.type == "thinking" and thinking.thinking == "First look at the data." and thinking.signature
    assert redacted.type == "redacted_thinking" and redacted.data
    history += [assistant(message), {"role": "user", "content": "next"}]
    container = message.container.id
    assert create(client, history, container=container).stop_reason == "end_turn"  # unchanged: accepted
    tampered = copy.deepcopy(history)
    tampered[1]["content"][0]["thinking"] = "Something else."
    with pytest.raises(anthropic.BadRequestError, match="signature"):
        create(client, tampered, container=container)
    tampered = copy.deepcopy(history)
    tampered[1]["content"][1]["data"] = "redacted:forged:Zm9v"
    with pytest.raises(anthropic.BadRequestError, match="redacted_thinking"):
        create(client, tampered, container=container)


def test_thinking_only_when_enabled_and_params_checked(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"thinking": "hmm"}, {"text": "a"}]}]}))
    plain = create(client, [{"role": "user", "content": "x"}])
    assert [b.type for b in plain.content] == ["text"]
    budget = create(client, [{"role": "user", "content": "x"}], thinking={"type": "enabled", "budget_tokens": 2048})
    assert budget.content[0].type == "thinking"
    with pytest.raises(anthropic.BadRequestError, match="budget_tokens"):
        create(client, [{"role": "user", "content": "x"}], thinking={"type": "enabled", "budget_tokens": 10})
    efforted = create(client, [{"role": "user", "content": "x"}], output_config={"effort": "max"})
    assert efforted.stop_reason == "end_turn"


# -- count_tokens --------------------------------------------------------------------------------


def test_count_tokens_includes_tools_and_matches_the_request(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(script([{"text": "ok"}]))
    messages: list[Any] = [{"role": "user", "content": "How many tokens is this?"}]
    with_tools = client.messages.count_tokens(model=MODEL, messages=messages, tools=TOOLS).input_tokens
    without = client.messages.count_tokens(model=MODEL, messages=messages).input_tokens
    assert with_tools > without > 0
    assert create(client, messages).usage.input_tokens == with_tools
    assert standin.requests[0].path == "/v1/messages/count_tokens"


# -- compaction ----------------------------------------------------------------------------------


def beta_create(client: anthropic.Anthropic, messages: list[Any], betas: list[str], **params: Any) -> Any:
    return client.beta.messages.create(
        model=MODEL, max_tokens=4096, messages=messages, tools=TOOLS, betas=betas, **params
    )


def test_compaction_round_trips_and_drops_what_came_before(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(script(*[[{"python": BIG}]] * 2, [{"text": "after"}], [{"text": "after"}]))
    responses = conversation(client, 2)
    history: list[Any] = [{"role": "user", "content": "turn 0"}, assistant(responses[0])]
    history += [{"role": "user", "content": "turn 1"}, assistant(responses[1])]
    container = responses[0].container.id
    compacted = beta_create(
        client, history, ["compact-2026-01-12"], compaction={"type": "summarize"}, container=container
    )
    assert compacted.stop_reason == "compaction" and [b.type for b in compacted.content] == ["compaction"]
    block = compacted.content[0].model_dump(mode="json", exclude_none=True)
    assert "turn 0" in block["content"] and block["encrypted_content"]
    fresh = [{"role": "user", "content": "(compacted)"}, {"role": "assistant", "content": [block]}]
    fresh.append({"role": "user", "content": "go on"})
    after = beta_create(client, fresh, ["compact-2026-01-12"], container=container)
    before = responses[1].usage.input_tokens
    assert after.stop_reason == "end_turn" and after.usage.input_tokens < before
    forged = copy.deepcopy(fresh)
    forged[1]["content"][0]["content"] = "A different summary."
    with pytest.raises(anthropic.BadRequestError, match="encrypted_content"):
        beta_create(client, forged, ["compact-2026-01-12"], container=container)


def test_compaction_needs_its_beta_and_its_place(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(script([{"text": "a"}], [{"text": "b"}]))
    history: list[Any] = [{"role": "user", "content": "hello"}]
    with pytest.raises(anthropic.BadRequestError, match="anthropic-beta"):
        beta_create(client, history, [], compaction={"type": "summarize"})
    edit = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    with pytest.raises(anthropic.BadRequestError, match="cannot be combined"):
        beta_create(
            client,
            history,
            ["compact-2026-01-12", "context-management-2025-06-27"],
            compaction={"type": "summarize"},
            context_management=edit,
        )
    block = beta_create(client, history, ["compact-2026-01-12"], compaction={"type": "summarize"}).content[0]
    in_user = [{"role": "user", "content": [block.model_dump(exclude_none=True), {"type": "text", "text": "go"}]}]
    with pytest.raises(anthropic.BadRequestError, match="assistant messages"):
        beta_create(client, in_user, ["compact-2026-01-12"])
    standin.behaviours.compaction_placement = "any"
    assert beta_create(client, in_user, ["compact-2026-01-12"]).stop_reason == "end_turn"


# -- context editing -----------------------------------------------------------------------------


EDIT = {
    "edits": [
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 1000},
            "keep": {"type": "tool_uses", "value": 2},
        }
    ]
}


@pytest.mark.parametrize("server_tools", ["clear", "skip"])
def test_clear_tool_uses_applies_server_side(server_tools: str, client: anthropic.Anthropic) -> None:
    behaviours = Behaviours(clear_server_tool_results=server_tools)  # type: ignore[arg-type]
    with StandIn(script(*[[{"python": BIG}]] * 4), behaviours=behaviours) as api:
        sdk = anthropic.Anthropic(api_key="t", base_url=api.base_url, max_retries=0, _strict_response_validation=True)
        responses = conversation(sdk, 3)
        history: list[Any] = []
        for number, message in enumerate(responses):
            history += [{"role": "user", "content": f"turn {number}"}, assistant(message)]
        history.append({"role": "user", "content": "more"})
        sent = json.dumps(history)
        with pytest.raises(anthropic.BadRequestError, match="context-management-2025-06-27"):
            beta_create(sdk, history, [], context_management=EDIT, container=responses[0].container.id)
        with sdk.beta.messages.stream(
            model=MODEL,
            max_tokens=4096,
            messages=history,
            tools=TOOLS,
            betas=["context-management-2025-06-27"],
            context_management=EDIT,
            container=responses[0].container.id,
        ) as stream:
            edited = stream.get_final_message()
        assert json.dumps(history) == sent  # the client's history is untouched
        assert edited.context_management is not None
        applied = edited.context_management.applied_edits
        if server_tools == "skip":
            assert applied == []
            return
        assert applied[0].type == "clear_tool_uses_20250919" and applied[0].cleared_tool_uses == 4
        counted = sdk.beta.messages.count_tokens(
            model=MODEL, messages=history, tools=TOOLS, betas=["context-management-2025-06-27"], context_management=EDIT
        )
        assert counted.context_management is not None
        original = counted.context_management.original_input_tokens
        assert original - counted.input_tokens == applied[0].cleared_input_tokens
        assert edited.usage.input_tokens == counted.input_tokens


# -- stop reasons and limits ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_scripted_stop_reasons(stream: bool, client: anthropic.Anthropic, standin: StandIn) -> None:
    refusal = {"reason": "refusal", "category": "cyber", "explanation": "Looks like malware."}
    standin.set_script(
        script(
            [{"text": "Starting"}, {"stop": "max_tokens"}, {"text": "never"}],
            [{"stop": refusal}],
            [{"stop": "model_context_window_exceeded"}],
        )
    )
    send = streamed if stream else create
    cut = send(client, [{"role": "user", "content": "a"}])
    assert cut.stop_reason == "max_tokens" and [b.type for b in cut.content] == ["text"]
    refused = send(client, [{"role": "user", "content": "b"}])
    assert refused.stop_reason == "refusal"
    assert refused.stop_details is not None and refused.stop_details.category == "cyber"
    assert refused.stop_details.explanation == "Looks like malware."
    assert send(client, [{"role": "user", "content": "c"}]).stop_reason == "model_context_window_exceeded"


def test_requests_over_32_mb_get_413(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(script([{"text": "ok"}]))
    with pytest.raises(anthropic.APIStatusError) as caught:
        create(client, [{"role": "user", "content": "x" * 33_000_000}])
    assert caught.value.status_code == 413
