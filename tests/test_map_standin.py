"""The stand-in's Message Batches endpoints, read by the real SDK with strict response validation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types.messages import MessageBatchIndividualResponse

from claude_magic.testing import Script, StandIn

SCRIPT = Script.from_dict(
    {
        "replies": [
            {"match": "pause", "steps": [{"python": "print('before')"}, {"pause": True}, {"text": "after"}]},
            {"match": "", "steps": [{"python": "import os; print(os.getcwd())"}, {"text": "ran"}]},
        ]
    }
)


@pytest.fixture
def api() -> Iterator[StandIn]:
    with StandIn(script=SCRIPT) as standin:
        yield standin


@pytest.fixture
def sdk(api: StandIn) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(api_key="test", base_url=api.base_url, max_retries=0, _strict_response_validation=True)
    yield client
    client.close()


def request(custom_id: str, text: str, **params: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "params": {
            "model": "claude-sonnet-4-5",
            "max_tokens": 1000,
            "messages": [{"role": "user", "content": text}],
            "tools": [{"type": "code_execution_20250825", "name": "code_execution"}],
            **params,
        },
    }


def ended(sdk: anthropic.Anthropic, batch_id: str) -> Any:
    deadline = time.monotonic() + 60
    while (batch := sdk.messages.batches.retrieve(batch_id)).processing_status != "ended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return batch


def test_batch_lifecycle_in_the_sdks_shapes(api: StandIn, sdk: anthropic.Anthropic) -> None:
    api.batches.fail_items("r3", "errored", error_type="overloaded_error", message="Overloaded")
    api.batches.fail_items("late", "expired")
    created = sdk.messages.batches.create(
        requests=[request("r1", "one"), request("r2", "two"), request("r3", "three"), request("r4", "late")]  # type: ignore[list-item]
    )
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 4 and created.results_url is None
    batch = ended(sdk, created.id)
    assert batch.request_counts.model_dump() == {
        "processing": 0,
        "succeeded": 2,
        "errored": 1,
        "canceled": 0,
        "expired": 1,
    }
    assert batch.results_url == f"{api.base_url}/v1/messages/batches/{created.id}/results"
    with sdk.messages.batches.with_streaming_response.results(created.id) as raw:
        lines = [MessageBatchIndividualResponse.model_validate_json(line) for line in raw.iter_lines() if line]
    by_id = {line.custom_id: line.result for line in lines}
    assert {key: result.type for key, result in by_id.items()} == {
        "r1": "succeeded",
        "r2": "succeeded",
        "r3": "errored",
        "r4": "expired",
    }
    first = by_id["r1"]
    assert first.type == "succeeded"
    assert first.message.usage.service_tier == "batch"
    assert first.message.container is not None
    second = by_id["r2"]
    assert second.type == "succeeded" and second.message.container is not None
    assert first.message.container.id != second.message.container.id  # separate containers
    assert [b.type for b in first.message.content][-1] == "text"
    errored = by_id["r3"]
    assert errored.type == "errored" and errored.error.error.type == "overloaded_error"
    listed = sdk.messages.batches.list(limit=10)
    assert [item.id for item in listed.data] == [created.id]
    deleted = sdk.messages.batches.delete(created.id)
    assert deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        sdk.messages.batches.retrieve(created.id)


def test_items_run_concurrently_with_real_code(api: StandIn, sdk: anthropic.Anthropic) -> None:
    slow = "import time; time.sleep(1); print('slept')"
    api.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"python": slow}]}]}))
    started = time.monotonic()
    created = sdk.messages.batches.create(requests=[request(f"r{n}", f"sleep {n}") for n in range(4)])  # type: ignore[misc]
    ended(sdk, created.id)
    assert time.monotonic() - started < 3.5  # four one-second runs on four workers, not in a row
    results = list(sdk.messages.batches.results(created.id))
    outputs = [
        block.content.stdout  # type: ignore[union-attr]
        for line in results
        if line.result.type == "succeeded"
        for block in line.result.message.content
        if block.type == "bash_code_execution_tool_result"
    ]
    assert outputs == ["slept\n"] * 4


def test_a_paused_item_continues_with_an_ordinary_request(api: StandIn, sdk: anthropic.Anthropic) -> None:
    created = sdk.messages.batches.create(requests=[request("p", "pause here")])  # type: ignore[list-item]
    ended(sdk, created.id)
    (line,) = list(sdk.messages.batches.results(created.id))
    assert line.result.type == "succeeded"
    message = line.result.message
    assert message.stop_reason == "pause_turn" and message.container is not None
    follow = sdk.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1000,
        messages=[
            {"role": "user", "content": "pause here"},
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]},  # type: ignore[misc]
        ],
        tools=[{"type": "code_execution_20250825", "name": "code_execution"}],
        container=message.container.id,
    )
    assert follow.stop_reason == "end_turn" and follow.content[-1].type == "text"


def test_cancel_and_limits(api: StandIn, sdk: anthropic.Anthropic) -> None:
    api.batches.processing_delay = 30
    created = sdk.messages.batches.create(requests=[request("a", "one"), request("b", "two")])  # type: ignore[list-item]
    canceling = sdk.messages.batches.cancel(created.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    batch = ended(sdk, created.id)
    assert batch.request_counts.canceled == 2
    assert {line.result.type for line in sdk.messages.batches.results(created.id)} == {"canceled"}

    api.batches.max_requests = 2
    with pytest.raises(anthropic.BadRequestError, match="at most 2 requests"):
        sdk.messages.batches.create(requests=[request(f"r{n}", "x") for n in range(3)])  # type: ignore[misc]
    api.batches.max_bytes = 1000
    with pytest.raises(anthropic.APIStatusError, match="maximum size") as too_big:
        sdk.messages.batches.create(requests=[request("big", "x" * 2000)])  # type: ignore[list-item]
    assert too_big.value.status_code == 413
    with pytest.raises(anthropic.BadRequestError, match="not unique"):
        sdk.messages.batches.create(requests=[request("same", "x"), request("same", "y")])  # type: ignore[list-item]
    with pytest.raises(anthropic.BadRequestError, match="cannot be streamed"):
        sdk.messages.batches.create(requests=[request("s", "x", stream=True)])  # type: ignore[list-item]


def test_a_bad_request_errors_that_item_only(api: StandIn, sdk: anthropic.Anthropic) -> None:
    bad = request("bad", "x")
    bad["params"]["messages"] = [{"role": "assistant", "content": "no user first"}]
    created = sdk.messages.batches.create(requests=[bad, request("good", "fine")])  # type: ignore[list-item]
    ended(sdk, created.id)
    results = {line.custom_id: line.result for line in sdk.messages.batches.results(created.id)}
    assert results["good"].type == "succeeded"
    assert results["bad"].type == "errored"
    assert results["bad"].error.error.type == "invalid_request_error"
