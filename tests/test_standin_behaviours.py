"""Each inferred behaviour of the stand-in, under each of its alternatives, through the real SDK."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import FileExpiredError, Message

from claude_magic.testing import BEHAVIOURS, Behaviours, Reply, Script, StandIn
from claude_magic.testing.behaviours import markdown_table
from claude_magic.testing.versions import accepted_versions

ROOT = Path(__file__).resolve().parents[1]
LEGACY = "code_execution_20250522"
BASH = "code_execution_20250825"
REPL = "code_execution_20260120"
REPL_0521 = "code_execution_20260521"
ANY = Script([Reply([{"bash": "echo ran"}], match="")])


def strict(api: StandIn, **options: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test",
        base_url=api.base_url,
        max_retries=options.pop("max_retries", 0),
        _strict_response_validation=True,
        **options,
    )


@pytest.fixture
def api() -> Iterator[StandIn]:
    with StandIn(ANY) as running:
        yield running


@pytest.fixture
def client(api: StandIn) -> Iterator[anthropic.Anthropic]:
    with strict(api) as sdk:
        yield sdk


def ask(
    client: anthropic.Anthropic,
    content: Any = "go",
    *,
    version: str | None = BASH,
    history: list[Any] | None = None,
    model: str = "claude-sonnet-5",
    **params: Any,
) -> Message:
    tools = [{"type": version, "name": "code_execution"}] if version else anthropic.omit
    messages = [*(history or []), {"role": "user", "content": content}]
    return client.messages.create(model=model, max_tokens=1024, messages=messages, tools=tools, **params)


def stdout(message: Message) -> str:
    blocks = [b for b in message.content if b.type in ("code_execution_tool_result", "bash_code_execution_tool_result")]
    return "".join(b.content.stdout for b in blocks)


def container_id(message: Message) -> str:
    assert message.container is not None
    return message.container.id


# -- the table ---------------------------------------------------------------------------------


def test_table_rows_are_the_fields_with_their_defaults() -> None:
    fields = dataclasses.fields(Behaviours)
    assert [row.name for row in BEHAVIOURS] == [f.name for f in fields]
    defaults = Behaviours()
    for row in BEHAVIOURS:
        assert getattr(defaults, row.name) == row.default
        assert row.source
        assert row.description


def test_docs_show_the_generated_table() -> None:
    assert markdown_table() in (ROOT / "docs" / "script-format.md").read_text(encoding="utf-8")


def test_bad_values_are_refused() -> None:
    behaviours = Behaviours()
    with pytest.raises(ValueError, match="expired_container must be one of '404', '410', '500'"):
        behaviours.expired_container = 404  # type: ignore[assignment]
    with pytest.raises(ValueError, match="seconds"):
        Behaviours(checkpoint_after=-1)
    with pytest.raises(ValueError, match="True or False"):
        Behaviours(usage_code_execution_requests="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NAME=VALUE"):
        behaviours.set("nonsense=1")
    behaviours.set("max_container_age=2.5")
    behaviours.set("usage_code_execution_requests=true")
    assert (behaviours.max_container_age, behaviours.usage_code_execution_requests) == (2.5, True)


def test_cli_sets_behaviours() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "claude_magic.testing", "serve", "--port", "0"]
    bad = subprocess.run([*command, "--behaviour", "expired_container=418"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "expired_container must be one of" in bad.stderr
    command += ["--behaviour", "expired_container=500", "--behaviour", "container_dict_without_skills=accept"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().split("=", 1)[1]
        with (
            anthropic.Anthropic(api_key="t", base_url=base_url, max_retries=0) as sdk,
            pytest.raises(anthropic.InternalServerError),
        ):
            ask(sdk, container={"id": "container_never_issued"})
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


# -- expired_container, checkpoint_after, max_container_age ------------------------------------


def check_gone_answer(error: anthropic.APIStatusError, answer: str) -> None:
    assert error.status_code == int(answer)
    assert error.response.headers["x-should-retry"] == "false"
    assert isinstance(error.body, dict)
    if answer == "500":
        assert isinstance(error, anthropic.InternalServerError)
        assert error.body["error"] == {"type": "api_error", "message": "Internal server error"}
    elif answer == "410":
        assert error.body["error"] == {"type": "not_found_error", "message": "container expired"}
    else:
        assert isinstance(error, anthropic.NotFoundError)
        assert error.body["error"]["type"] == "not_found_error"


@pytest.mark.parametrize("answer", ["404", "410", "500"])
def test_expired_and_unknown_containers_get_the_chosen_answer(answer: str) -> None:
    with StandIn(ANY, behaviours=Behaviours(expired_container=answer)) as api, strict(api, max_retries=2) as sdk:  # type: ignore[arg-type]
        first = ask(sdk)
        api.expire_container(container_id(first))
        for named in (container_id(first), "container_never_issued"):
            before = len(api.requests)
            with pytest.raises(anthropic.APIStatusError) as caught:
                ask(sdk, container=named)
            check_gone_answer(caught.value, answer)
            assert len(api.requests) == before + 1  # not retried, even the 500
        assert ask(sdk).stop_reason == "end_turn"  # the next request without the container works


def test_expired_container_answer_changes_mid_test(api: StandIn, client: anthropic.Anthropic) -> None:
    gone = container_id(ask(client))
    api.expire_container(gone)
    with pytest.raises(anthropic.NotFoundError):
        ask(client, container=gone)
    api.behaviours.expired_container = "500"
    with pytest.raises(anthropic.InternalServerError):
        ask(client, container=gone)


@pytest.mark.parametrize("checkpoint_after", [300.0, 3600.0])
def test_expires_at_rolls_from_last_activity(checkpoint_after: float) -> None:
    with StandIn(ANY, behaviours=Behaviours(checkpoint_after=checkpoint_after)) as api, strict(api) as sdk:
        first = ask(sdk)
        assert first.container is not None
        ahead = (first.container.expires_at - datetime.now(UTC)).total_seconds()
        assert checkpoint_after - 5 < ahead <= checkpoint_after
        time.sleep(0.05)
        later = ask(sdk, container=first.container.id)
        assert later.container is not None
        assert later.container.expires_at > first.container.expires_at  # rolling, not the hard limit
        assert api.containers[first.container.id].restores == 0


def test_checkpointed_container_is_restored_with_its_files(api: StandIn, client: anthropic.Anthropic) -> None:
    api.set_script(Script([Reply([{"bash": "cat kept.txt 2>/dev/null; echo kept > kept.txt"}], match="")]))
    first = ask(client)
    api.checkpoint_container(container_id(first))
    assert api.containers[container_id(first)].checkpointed
    again = ask(client, container=container_id(first))
    assert stdout(again) == "kept\n"
    assert api.containers[container_id(first)].restores == 1
    ask(client, container=container_id(first))
    assert api.containers[container_id(first)].restores == 1  # active again: no second restore


@pytest.mark.parametrize("answer", ["404", "410", "500"])
def test_past_the_hard_limit_is_answered_per_expired_container(answer: str) -> None:
    behaviours = Behaviours(max_container_age=0.4, checkpoint_after=0.1, expired_container=answer)  # type: ignore[arg-type]
    with StandIn(ANY, behaviours=behaviours) as api, strict(api) as sdk:
        first = ask(sdk)
        time.sleep(0.2)
        ask(sdk, container=container_id(first))  # checkpointed, within the limit: restored
        assert api.containers[container_id(first)].restores == 1
        time.sleep(0.3)
        with pytest.raises(anthropic.APIStatusError) as caught:
            ask(sdk, container=container_id(first))
        check_gone_answer(caught.value, answer)


# -- usage_code_execution_requests -------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("send", [False, True])
def test_usage_code_execution_requests(api: StandIn, client: anthropic.Anthropic, send: bool, stream: bool) -> None:
    api.behaviours.usage_code_execution_requests = send
    api.set_script(Script([Reply([{"bash": "true"}, {"python": "print(1)"}])]))
    tools = [{"type": REPL, "name": "code_execution"}]
    messages = [{"role": "user", "content": "go"}]
    if stream:
        with client.messages.stream(model="m", max_tokens=100, messages=messages, tools=tools) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(model="m", max_tokens=100, messages=messages, tools=tools)
    assert message.usage.server_tool_use is not None
    expected = {"web_search_requests": 0, "web_fetch_requests": 0}
    assert message.usage.server_tool_use.model_dump() == (
        {**expected, "code_execution_requests": 2} if send else expected
    )


# -- user_after_text_pause ---------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["reject", "accept"])
def test_user_message_after_a_paused_turn(api: StandIn, client: anthropic.Anthropic, choice: str) -> None:
    api.behaviours.user_after_text_pause = choice  # type: ignore[assignment]
    api.set_script(
        Script(
            [
                Reply([{"text": "Thinking."}, {"pause": True}, {"text": "Done."}], match="text"),
                Reply([{"bash": "true"}, {"pause": True}, {"text": "Done."}], match="tool"),
                Reply([{"text": "A new answer."}], match="next"),
            ]
        )
    )
    text_paused = ask(client, "text", version=None)
    history = [{"role": "user", "content": "text"}, text_paused.to_param()]
    if choice == "reject":
        with pytest.raises(anthropic.BadRequestError, match="pause_turn"):
            ask(client, "next", version=None, history=history)
    else:
        assert ask(client, "next", version=None, history=history).content[0].text == "A new answer."  # type: ignore[union-attr]
    tool_paused = ask(client, "tool")
    assert tool_paused.content[-1].type == "server_tool_use"
    history = [{"role": "user", "content": "tool"}, tool_paused.to_param()]
    with pytest.raises(anthropic.BadRequestError, match="without a corresponding"):  # always refused
        ask(client, "next", history=history, container=container_id(tool_paused))


# -- container_dict_without_skills -------------------------------------------------------------


@pytest.mark.parametrize("choice", ["reject", "accept"])
def test_container_as_a_dict(api: StandIn, client: anthropic.Anthropic, choice: str) -> None:
    api.behaviours.container_dict_without_skills = choice  # type: ignore[assignment]
    named = container_id(ask(client))
    if choice == "reject":
        with pytest.raises(anthropic.BadRequestError, match="container: Input should be a valid string"):
            ask(client, container={"id": named})
    else:
        assert container_id(ask(client, container={"id": named})) == named
    skills = [{"type": "anthropic", "skill_id": "xlsx", "version": "latest"}]
    with_skills = ask(client, container={"id": named, "skills": skills})
    assert with_skills.container is not None
    assert with_skills.container.id == named
    assert with_skills.container.skills is not None
    assert [s.skill_id for s in with_skills.container.skills] == ["xlsx"]


# -- tool_versions_by_model --------------------------------------------------------------------

REFUSED = [
    ("claude-haiku-4-5", REPL),
    ("claude-haiku-4-5-20251001", REPL_0521),
    ("claude-sonnet-4-20250514", REPL),
    ("claude-opus-4-1", REPL_0521),
    ("claude-opus-4-6", REPL_0521),
    ("claude-sonnet-4-5-20250929", REPL_0521),
]
ACCEPTED = [
    ("claude-haiku-4-5", BASH),
    ("claude-haiku-4-5", LEGACY),
    ("claude-opus-4-7", REPL),
    ("claude-sonnet-4-6", BASH),
    ("claude-sonnet-5", REPL_0521),
    ("claude-opus-4-8", REPL_0521),
    ("claude-mythos-5-1", REPL_0521),
    ("a-model-nobody-knows", REPL_0521),
]


@pytest.mark.parametrize(("model", "version"), REFUSED)
def test_versions_a_model_does_not_list_are_refused(client: anthropic.Anthropic, model: str, version: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        ask(client, model=model, version=version)
    assert caught.value.type == "invalid_request_error"
    assert f"'{version}'" in caught.value.message
    assert f"'{model}'" in caught.value.message
    assert BASH in caught.value.message  # names a version to try


@pytest.mark.parametrize(("model", "version"), ACCEPTED)
def test_versions_a_model_lists_are_accepted(client: anthropic.Anthropic, model: str, version: str) -> None:
    assert stdout(ask(client, model=model, version=version)) == "ran\n"


def test_accept_all_lets_any_version_through(api: StandIn, client: anthropic.Anthropic) -> None:
    api.behaviours.tool_versions_by_model = "accept_all"
    for model, version in REFUSED:
        assert stdout(ask(client, model=model, version=version)) == "ran\n"


def test_version_table_keeps_model_families_apart() -> None:
    assert accepted_versions("claude-sonnet-4-0") == (LEGACY, BASH)
    assert accepted_versions("anthropic.claude-haiku-4-5-20251001-v1:0") == (LEGACY, BASH)
    assert accepted_versions("claude-opus-4-5@20251101") == (LEGACY, BASH, REPL)
    assert accepted_versions("claude-opus-4-10") == (LEGACY, BASH, REPL, REPL_0521)
    assert accepted_versions("claude-sonnet-4-7") == (LEGACY, BASH, REPL, REPL_0521)


# -- repl_input_dir ----------------------------------------------------------------------------

WHERE = (
    "import os\n"
    "print(os.environ.get('INPUT_DIR') is not None)\n"
    "print(os.path.exists(os.path.join(os.environ.get('INPUT_DIR', '.'), 'in.csv')))\n"
    "print(os.path.exists('in.csv'))"
)


@pytest.mark.parametrize(
    ("choice", "version", "expected"),
    [
        ("env", REPL, "True\nTrue\nFalse\n"),
        ("env", REPL_0521, "True\nTrue\nFalse\n"),
        ("cwd", REPL, "False\nTrue\nTrue\n"),
        ("cwd", REPL_0521, "False\nTrue\nTrue\n"),
        ("cwd", BASH, "True\nTrue\nFalse\n"),  # only the REPL versions are in doubt
    ],
)
def test_repl_input_dir(api: StandIn, client: anthropic.Anthropic, choice: str, version: str, expected: str) -> None:
    api.behaviours.repl_input_dir = choice  # type: ignore[assignment]
    api.set_script(Script([Reply([{"python": WHERE}])]))
    upload = client.files.upload(file=("in.csv", b"a\n1\n", "text/csv"))
    message = ask(
        client, [{"type": "text", "text": "go"}, {"type": "container_upload", "file_id": upload.id}], version=version
    )
    assert stdout(message) == expected


# -- stale_upload_refs -------------------------------------------------------------------------


def upload_turn(client: anthropic.Anthropic) -> tuple[str, list[Any], str]:
    upload = client.files.upload(file=("in.csv", b"a\n1\n", "text/csv"))
    content = [{"type": "text", "text": "first"}, {"type": "container_upload", "file_id": upload.id}]
    first = ask(client, content)
    return upload.id, [{"role": "user", "content": content}, first.to_param()], container_id(first)


@pytest.mark.parametrize("gone", ["deleted", "expired"])
@pytest.mark.parametrize("choice", ["validate", "ignore"])
def test_uploads_in_earlier_turns_naming_a_gone_file(
    api: StandIn, client: anthropic.Anthropic, choice: str, gone: str
) -> None:
    api.behaviours.stale_upload_refs = choice  # type: ignore[assignment]
    file_id, history, container = upload_turn(client)
    if gone == "deleted":
        client.files.delete(file_id)
    else:
        api.expire_file(file_id)
    if choice == "ignore":
        assert stdout(ask(client, "again", history=history, container=container)) == "ran\n"
        return
    expected = FileExpiredError if gone == "expired" else anthropic.NotFoundError
    with pytest.raises(expected, match=f"File not found: {file_id}") as caught:
        ask(client, "again", history=history, container=container)
    assert caught.value.type == "not_found_error"


@pytest.mark.parametrize("choice", ["validate", "ignore"])
def test_uploads_in_the_newest_turn_are_always_checked(api: StandIn, client: anthropic.Anthropic, choice: str) -> None:
    api.behaviours.stale_upload_refs = choice  # type: ignore[assignment]
    deleted = client.files.upload(file=("a.csv", b"a"))
    client.files.delete(deleted.id)
    with pytest.raises(anthropic.BadRequestError, match=f"File not found: {deleted.id}"):
        ask(client, [{"type": "text", "text": "x"}, {"type": "container_upload", "file_id": deleted.id}])
    expired = client.files.upload(file=("b.csv", b"b"))
    api.expire_file(expired.id)
    with pytest.raises(FileExpiredError):
        ask(client, [{"type": "text", "text": "x"}, {"type": "container_upload", "file_id": expired.id}])


# -- history_without_container -----------------------------------------------------------------


@pytest.mark.parametrize("choice", ["accept", "reject"])
def test_history_with_code_results_but_no_container(api: StandIn, client: anthropic.Anthropic, choice: str) -> None:
    api.behaviours.history_without_container = choice  # type: ignore[assignment]
    first = ask(client)
    history = [{"role": "user", "content": "go"}, first.to_param()]
    if choice == "accept":
        fresh = ask(client, "again", history=history)
        assert container_id(fresh) != container_id(first)
    else:
        with pytest.raises(anthropic.BadRequestError, match=r"container: messages\.1 holds code execution results"):
            ask(client, "again", history=history)
    assert container_id(ask(client, "again", history=history, container=container_id(first))) == container_id(first)
    prose_only = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert ask(client, "again", history=prose_only).stop_reason == "end_turn"
