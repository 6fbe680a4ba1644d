"""The offline stand-in, driven only through the real ``anthropic`` client over HTTP."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.pagination import SyncPage
from anthropic.types import FileExpiredError, FileMetadata, FileNotDownloadableError, Message
from PIL import Image

from claude_magic.testing import Behaviours, Reply, Script, StandIn

pytest_plugins = ["claude_magic.testing.fixtures"]

ROOT = Path(__file__).resolve().parents[1]
LEGACY = "code_execution_20250522"
BASH = "code_execution_20250825"
REPL = "code_execution_20260120"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def strict_client(api: StandIn, **options: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test",
        base_url=api.base_url,
        max_retries=options.pop("max_retries", 0),
        _strict_response_validation=True,
        **options,
    )


@pytest.fixture
def client(standin: StandIn) -> Iterator[anthropic.Anthropic]:
    with strict_client(standin) as sdk:
        yield sdk


def ask(
    client: anthropic.Anthropic,
    content: Any,
    version: str | None = BASH,
    history: list[Any] | None = None,
    **params: Any,
) -> Message:
    tools = [{"type": version, "name": "code_execution"}] if version else anthropic.omit
    messages = [*(history or []), {"role": "user", "content": content}]
    return client.messages.create(model="claude-sonnet-5", max_tokens=1024, messages=messages, tools=tools, **params)


def results(message: Message) -> list[Any]:
    return [b.content for b in message.content if b.type.endswith("_tool_result")]


def output_ids(message: Message) -> list[str]:
    runs = [r for r in results(message) if r.type in ("code_execution_result", "bash_code_execution_result")]
    return [item.file_id for run in runs for item in run.content]


def steps(*items: dict[str, Any]) -> Script:
    return Script([Reply(items)])


# -- Files API ---------------------------------------------------------------------------------


def test_upload_metadata_download_delete(client: anthropic.Anthropic, standin: StandIn) -> None:
    meta = client.files.upload(file=("data.csv", b"a,b\n1,2\n", "text/csv"))
    assert (meta.filename, meta.mime_type, meta.size_bytes) == ("data.csv", "text/csv", 8)
    assert meta.id.startswith("file_")
    assert meta.downloadable is False
    assert meta.expires_at is None
    assert client.files.retrieve_metadata(meta.id) == meta
    assert standin.files[meta.id].data == b"a,b\n1,2\n"
    assert standin.uploaded_bytes > 8
    with pytest.raises(FileNotDownloadableError):
        client.files.download(meta.id)
    deleted = client.files.delete(meta.id)
    assert (deleted.id, deleted.type) == (meta.id, "file_deleted")
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.files.retrieve_metadata(meta.id)
    assert caught.value.request_id
    assert caught.value.request_id.startswith("req_")


def test_upload_keeps_basename_and_checks_expiry(client: anthropic.Anthropic) -> None:
    meta = client.files.upload(file=("../../etc/notes.txt", b"hi", "text/plain"), expires_in_seconds=3600)
    assert meta.filename == "notes.txt"
    assert meta.expires_at is not None
    assert 3590 < (meta.expires_at - meta.created_at).total_seconds() <= 3600
    with pytest.raises(anthropic.BadRequestError, match="expires_in_seconds"):
        client.files.upload(file=("x.txt", b"x"), expires_in_seconds=60)


def test_list_pages_with_cursor_newest_first(client: anthropic.Anthropic) -> None:
    ids = [client.files.upload(file=(f"f{i}.txt", b"x")).id for i in range(5)]
    first = client.files.list(limit=2)
    assert [f.id for f in first.data] == ids[::-1][:2]
    assert first.next_page
    assert first.next_page.startswith("page_")
    assert [f.id for f in client.files.list(limit=2)] == ids[::-1]
    picked = client.files.list(ids=[ids[0], ids[3], "file_unknown"])
    assert [f.id for f in picked.data] == [ids[3], ids[0]]
    assert picked.next_page is None


def test_list_pages_with_after_and_before_id(client: anthropic.Anthropic) -> None:
    ids = [client.files.upload(file=(f"f{i}.txt", b"x")).id for i in range(5)][::-1]
    page = client.get_api_list(
        "/v1/files", model=FileMetadata, page=SyncPage[FileMetadata], options={"params": {"limit": 2}}
    )
    assert (page.has_more, page.first_id, page.last_id) == (True, ids[0], ids[1])
    assert [f.id for f in page] == ids
    older = client.get_api_list(
        "/v1/files",
        model=FileMetadata,
        page=SyncPage[FileMetadata],
        options={"params": {"before_id": ids[4], "limit": 2}},
    )
    assert [f.id for f in older.data] == ids[2:4]
    assert older.has_more is True


def test_missing_credentials_get_401_and_x_api_key_is_accepted(client: anthropic.Anthropic, standin: StandIn) -> None:
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.files.list(extra_headers={"Authorization": anthropic.omit})
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "x-api-key header is required"},
        "request_id": caught.value.request_id,
    }
    client.files.list(extra_headers={"Authorization": anthropic.omit, "X-Api-Key": "k"})
    assert all("authorization" not in r.headers and "x-api-key" not in r.headers for r in standin.requests)
    assert standin.requests[-1].headers["anthropic-version"]


def test_requests_are_logged_and_unknown_routes_are_404(client: anthropic.Anthropic, standin: StandIn) -> None:
    ask(client, "hi", version=None)
    logged = standin.requests[-1]
    assert (logged.method, logged.path, logged.body_size > 0) == ("POST", "/v1/messages", True)
    assert logged.json is not None
    assert logged.json["messages"] == [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.NotFoundError):
        client.get("/v1/nothing", cast_to=object)


def test_upload_over_500_mb_gets_413_before_the_body(standin: StandIn) -> None:
    port = int(standin.base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("POST", "/v1/files")
    connection.putheader("Authorization", "Bearer test")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(600 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 413
    assert response.getheader("request-id", "").startswith("req_")
    assert body["error"] == {
        "type": "request_too_large",
        "message": "Request exceeds the maximum allowed number of bytes.",
    }


# -- code execution ----------------------------------------------------------------------------

PLOT = (
    "import os\nimport matplotlib.pyplot as plt\n"
    "plt.plot([0, 1, 2], [0, 1, 4])\n"
    "plt.savefig(os.path.join(os.environ['OUTPUT_DIR'], 'sine.png'))\nprint('saved')"
)


def test_legacy_python_turn_makes_a_real_png(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"text": "Plotting."}, {"python": PLOT}, {"text": "Done."}))
    message = ask(client, "plot it", version=LEGACY)
    assert [b.type for b in message.content] == ["text", "server_tool_use", "code_execution_tool_result", "text"]
    result = results(message)[0]
    assert (result.type, result.stdout, result.return_code) == ("code_execution_result", "saved\n", 0)
    (file_id,) = output_ids(message)
    data = client.files.download(file_id).read()
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size[0] > 100
    meta = client.files.retrieve_metadata(file_id)
    assert (meta.filename, meta.mime_type, meta.downloadable) == ("sine.png", "image/png", True)
    assert message.container is not None
    assert message.container.id in standin.containers


def test_bash_and_editor_turn_makes_a_csv(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(
        steps(
            {
                "python": "import csv\nwith open('sq.csv', 'w', newline='') as f:\n"
                "    csv.writer(f).writerows([('n', 'sq'), *((i, i * i) for i in range(1, 4))])\nprint('ok')"
            },
            {"bash": 'cp sq.csv "$OUTPUT_DIR/" && ls "$OUTPUT_DIR"'},
            {"editor": {"command": "view", "path": "sq.csv"}},
        )
    )
    message = ask(client, "make a csv", version=BASH)
    uses = [b for b in message.content if b.type == "server_tool_use"]
    assert [u.name for u in uses] == [
        "text_editor_code_execution",
        "bash_code_execution",
        "bash_code_execution",
        "text_editor_code_execution",
    ]
    assert uses[0].input["command"] == "create"
    assert uses[1].input["command"].startswith("python ")
    create, run, copy, view = results(message)
    assert create.type == "text_editor_code_execution_create_result"
    assert create.is_file_update is False
    assert (run.type, run.stdout, run.return_code) == ("bash_code_execution_result", "ok\n", 0)
    assert copy.stdout == "sq.csv\n"
    assert len(copy.content) == 1
    assert view.content == "n,sq\r\n1,1\r\n2,4\r\n3,9\r\n"
    assert view.total_lines == 4
    assert client.files.download(copy.content[0].file_id).read() == b"n,sq\r\n1,1\r\n2,4\r\n3,9\r\n"
    assert client.files.retrieve_metadata(copy.content[0].file_id).mime_type == "text/csv"


def test_streamed_turn_validates_and_streams_deltas(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"text": "I will run a short command for you now."}, {"bash": "echo streamed"}))
    kinds: list[str] = []
    with client.messages.stream(
        model="claude-sonnet-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": "go"}],
        tools=[{"type": BASH, "name": "code_execution"}],
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert kinds.count("text") > 1
    assert kinds.count("input_json") >= 1
    assert [b.type for b in final.content] == ["text", "server_tool_use", "bash_code_execution_tool_result"]
    assert final.content[1].input == {"command": "echo streamed"}
    assert results(final)[0].stdout == "streamed\n"
    assert final.container is not None
    assert final.stop_reason == "end_turn"
    assert final.usage.server_tool_use is not None
    assert final.usage.server_tool_use.model_dump() == {"web_search_requests": 0, "web_fetch_requests": 0}


def test_container_is_reused_across_requests(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(
        Script(
            [
                Reply([{"bash": "echo kept > state.txt"}], match="write"),
                Reply([{"python": "print(open('state.txt').read().strip())"}], match="read"),
            ]
        )
    )
    first = ask(client, "write", version=REPL)
    assert first.container is not None
    history = [{"role": "user", "content": "write"}, first.to_param()]
    second = ask(client, "read", version=REPL, history=history, container=first.container.id)
    assert second.container is not None
    assert second.container.id == first.container.id
    assert second.container.expires_at >= first.container.expires_at
    assert results(second)[0].stdout == "kept\n"
    fresh = ask(client, "read", version=REPL)
    assert fresh.container is not None
    assert fresh.container.id != first.container.id
    assert results(fresh)[0].return_code != 0


def test_container_upload_lands_in_input_dir(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(
        steps(
            {
                "python": "import os, pandas as pd\n"
                "df = pd.read_csv(os.path.join(os.environ['INPUT_DIR'], 'sales.csv'))\nprint(int(df['n'].sum()))"
            }
        )
    )
    meta = client.files.upload(file=("sales.csv", b"n\n1\n2\n39\n", "text/csv"))
    message = ask(client, [{"type": "text", "text": "sum it"}, {"type": "container_upload", "file_id": meta.id}])
    assert results(message)[-1].stdout == "42\n"
    with pytest.raises(anthropic.BadRequestError, match="file_missing"):
        ask(client, [{"type": "text", "text": "x"}, {"type": "container_upload", "file_id": "file_missing"}])


def test_pause_turn_continues_only_when_sent_back_last(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(
        steps({"text": "Working."}, {"python": "print('after pause')"}, {"pause": True}, {"text": "Done."})
    )
    paused = ask(client, "go", version=REPL)
    assert paused.stop_reason == "pause_turn"
    assert paused.container is not None
    assert paused.content[-1].type == "server_tool_use"
    history = [{"role": "user", "content": "go"}, paused.to_param()]
    with pytest.raises(
        anthropic.BadRequestError, match="was found without a corresponding `code_execution_tool_result`"
    ):
        ask(client, "continue", version=REPL, history=history, container=paused.container.id)
    with pytest.raises(anthropic.BadRequestError, match="container"):
        client.messages.create(
            model="m", max_tokens=100, messages=history, tools=[{"type": REPL, "name": "code_execution"}]
        )
    resumed = client.messages.create(
        model="claude-sonnet-5",
        max_tokens=1024,
        messages=history,
        tools=[{"type": REPL, "name": "code_execution"}],
        container=paused.container.id,
    )
    assert resumed.stop_reason == "end_turn"
    assert [b.type for b in resumed.content] == ["code_execution_tool_result", "text"]
    assert resumed.content[0].tool_use_id == paused.content[-1].id
    assert results(resumed)[0].stdout == "after pause\n"


def test_text_ended_pause_followed_by_a_user_message_is_refused(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"text": "Thinking."}, {"pause": True}, {"text": "Done."}))
    paused = ask(client, "go", version=None)
    assert paused.stop_reason == "pause_turn"
    history = [{"role": "user", "content": "go"}, paused.to_param()]
    with pytest.raises(anthropic.BadRequestError, match="pause_turn"):
        ask(client, "continue", version=None, history=history)
    resumed = client.messages.create(model="m", max_tokens=10, messages=history)
    assert [b.text for b in resumed.content if b.type == "text"] == ["Done."]


def test_unknown_paused_turn_is_refused(client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "I was paused?"}]
    with pytest.raises(anthropic.BadRequestError, match="pause_turn"):
        client.messages.create(model="m", max_tokens=10, messages=messages)


def test_time_limit_gives_the_error_block() -> None:
    with StandIn(steps({"python": "import time\ntime.sleep(30)"}), exec_timeout=1.0) as api, strict_client(api) as sdk:
        started = time.monotonic()
        message = ask(sdk, "sleep", version=REPL)
        assert time.monotonic() - started < 10
    (result,) = results(message)
    assert (result.type, result.error_code) == ("code_execution_tool_result_error", "execution_time_exceeded")


def test_memory_limit_applies() -> None:
    code = "try:\n    b = bytearray(1 << 30)\n    print('allocated')\nexcept MemoryError:\n    print('limited')"
    script = steps({"python": code})
    with StandIn(script, exec_memory=256 * 1024**2) as api, strict_client(api) as sdk:
        assert results(ask(sdk, "mem", version=REPL))[0].stdout == "limited\n"


def test_root_under_tmp_runs_without_the_tmp_mapping(tmp_path: Path) -> None:
    script = steps({"python": "print('ran')"}, {"editor": {"command": "view", "path": "/tmp"}})
    with StandIn(script, root=tmp_path) as api, strict_client(api) as sdk:
        assert not api.sandbox_isolation.startswith("net+tmp")
        message = ask(sdk, "go", version=BASH)
    create, run, listing = results(message)
    assert create.type == "text_editor_code_execution_create_result"
    assert run.stdout == "ran\n"
    assert listing.content.startswith("cell_")


def test_network_is_blocked_inside_code(client: anthropic.Anthropic, standin: StandIn) -> None:
    if standin.sandbox_isolation.startswith("none"):
        pytest.skip(f"no network namespace here: {standin.sandbox_isolation}")
    port = standin.base_url.rsplit(":", 1)[1]
    standin.set_script(
        steps(
            {
                "python": "import socket\ntry:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('connected')\n"
                "except OSError as err:\n    print('blocked', type(err).__name__)"
            }
        )
    )
    assert results(ask(client, "net", version=REPL))[0].stdout.startswith("blocked")


def test_editor_refuses_paths_escaping_the_container(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(
        steps(
            {"editor": {"command": "view", "path": "../../../../etc/passwd"}},
            {"editor": {"command": "view", "path": "/etc/passwd"}},
            {"editor": {"command": "create", "path": "/etc/standin-should-not-exist", "file_text": "x"}},
        )
    )
    escape, absolute, created = results(ask(client, "paths", version=BASH))
    assert (escape.type, escape.error_code) == ("text_editor_code_execution_tool_result_error", "invalid_tool_input")
    assert absolute.error_code == "file_not_found"
    assert created.type == "text_editor_code_execution_create_result"
    assert not Path("/etc/standin-should-not-exist").exists()
    (container,) = standin.containers.values()
    assert (container.path / "etc" / "standin-should-not-exist").read_text() == "x"


def test_expired_or_unknown_container_is_404(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(Script([Reply([{"bash": "true"}], match="")]))
    first = ask(client, "run")
    assert first.container is not None
    standin.expire_container(first.container.id)
    with pytest.raises(anthropic.NotFoundError, match="expired"):
        ask(client, "again", container=first.container.id)
    with pytest.raises(anthropic.NotFoundError, match="not found"):
        ask(client, "again", container="container_unknown")


def test_idle_container_is_checkpointed_and_restored_not_dead() -> None:
    script = Script([Reply([{"bash": 'echo -n "$(cat kept.txt 2>/dev/null)"; echo x > kept.txt'}], match="")])
    behaviours = Behaviours(checkpoint_after=0.3)
    with StandIn(script, behaviours=behaviours) as api, strict_client(api) as sdk:
        first = ask(sdk, "run")
        assert first.container is not None
        rolling = (first.container.expires_at - datetime.now(UTC)).total_seconds()
        assert 0 < rolling <= 0.3
        time.sleep(0.4)
        again = ask(sdk, "again", container=first.container.id)
        assert again.container is not None
        assert again.container.id == first.container.id
        assert results(again)[0].stdout == "x"  # files kept across the checkpoint
        assert api.containers[first.container.id].restores == 1
        assert again.container.expires_at > first.container.expires_at


def test_container_past_its_hard_limit_is_gone() -> None:
    script = Script([Reply([{"bash": "true"}], match="")])
    with StandIn(script, behaviours=Behaviours(max_container_age=0.5)) as api, strict_client(api) as sdk:
        first = ask(sdk, "run")
        assert first.container is not None
        ask(sdk, "again", container=first.container.id)
        time.sleep(0.6)
        with pytest.raises(anthropic.NotFoundError, match="expired"):
            ask(sdk, "again", container=first.container.id)
        assert api.containers[first.container.id].gone
        assert not api.containers[first.container.id].path.exists()


def test_code_steps_are_skipped_without_the_tool(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"text": "Hi."}, {"python": "print(1)"}))
    message = ask(client, "hello", version=None)
    assert [b.type for b in message.content] == ["text", "text"]
    assert "Skipped 1 code step" in message.content[1].text
    assert message.container is None


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([{"role": "assistant", "content": "hi"}], "first message"),
        (
            [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "bash_code_execution", "input": {}},
                        {"type": "text", "text": "t"},
                    ],
                },
                {"role": "user", "content": "y"},
            ],
            "`bash_code_execution` tool use with id `srvtoolu_1` was found without a corresponding "
            "`bash_code_execution_tool_result` block",
        ),
        ([{"role": "user", "content": []}], "non-empty content"),
    ],
)
def test_history_rules_give_400(client: anthropic.Anthropic, messages: list[Any], match: str) -> None:
    with pytest.raises(anthropic.BadRequestError, match=match):
        client.messages.create(model="m", max_tokens=10, messages=messages)


def test_replies_are_chosen_by_match_then_in_order(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(
        Script([Reply([{"text": "one"}]), Reply([{"text": "plot!"}], match="(?i)plot"), Reply([{"text": "two"}])])
    )
    texts = [ask(client, p, version=None).content[0].text for p in ("hi", "Plot", "hi", "plot", "hi")]
    assert texts[:4] == ["one", "plot!", "two", "plot!"]
    assert "no reply" in texts[4]


# -- injected failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.OverloadedError),
        (401, anthropic.AuthenticationError),
        (413, anthropic.ContentTooLargeError),
    ],
)
def test_injected_status_maps_to_sdk_class(
    client: anthropic.Anthropic, standin: StandIn, status: int, error_class: type[Exception]
) -> None:
    standin.fail_next(status, path_prefix="/v1/messages")
    client.files.list()
    with pytest.raises(error_class) as caught:
        ask(client, "hi", version=None)
    error = caught.value
    assert isinstance(error, anthropic.APIStatusError)
    assert error.status_code == status
    assert error.response.headers["x-should-retry"] == "false"
    assert isinstance(error.body, dict)
    assert error.body["request_id"] == error.request_id
    assert ask(client, "hi", version=None).stop_reason == "end_turn"


def test_injected_error_code_picks_the_specific_class(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.fail_next(404, error_code="file_expired", message="File not found: file_x")
    with pytest.raises(FileExpiredError):
        client.files.retrieve_metadata("file_x")


def test_retryable_failure_is_retried_by_the_sdk(standin: StandIn) -> None:
    standin.fail_next(529, count=2, retry=True)
    with strict_client(standin, max_retries=2) as sdk:
        assert sdk.files.list().data == []
    assert len(standin.requests) == 3


def test_expired_file_content_is_404_file_expired(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"bash": 'echo hi > "$OUTPUT_DIR/out.txt"'}))
    (file_id,) = output_ids(ask(client, "file"))
    assert client.files.download(file_id).text() == "hi\n"
    standin.expire_file(file_id)
    with pytest.raises(FileExpiredError):
        client.files.download(file_id)


def test_non_ascii_file_names_download_and_requests_are_timed(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"bash": 'echo hi > "$OUTPUT_DIR/résumé 📈.txt"'}))
    (file_id,) = output_ids(ask(client, "file"))
    assert client.files.retrieve_metadata(file_id).filename == "résumé 📈.txt"
    response = client.files.with_raw_response.download(file_id)
    assert response.headers["content-disposition"].endswith("UTF-8''r%C3%A9sum%C3%A9%20%F0%9F%93%88.txt")
    logged = standin.requests[-1]
    assert logged.finished is not None
    assert logged.responded is not None
    assert logged.started <= logged.responded <= logged.finished


def test_broken_stream_surfaces_as_a_transport_error(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"text": "A long enough answer to stream in parts."}))
    standin.break_stream(after_events=3)
    stream = client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    with pytest.raises((httpx2.TransportError, anthropic.APIConnectionError)), stream as events:
        events.get_final_message()


def test_stream_error_event_raises_api_status_error(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.set_script(steps({"text": "A long enough answer to stream in parts."}))
    standin.stream_error(after_events=2)
    stream = client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.APIStatusError) as caught, stream as events:
        events.get_final_message()
    assert caught.value.status_code == 200
    assert caught.value.type == "overloaded_error"


def test_latency_and_bandwidth_slow_responses(client: anthropic.Anthropic, standin: StandIn) -> None:
    standin.latency = 0.2
    started = time.monotonic()
    client.files.list()
    assert time.monotonic() - started >= 0.2
    standin.latency, standin.bandwidth = 0.0, 200_000
    started = time.monotonic()
    client.files.upload(file=("big.bin", b"\0" * 100_000))
    assert time.monotonic() - started >= 0.4


def test_think_time_and_event_gaps_pace_the_model_not_the_files(client: anthropic.Anthropic, standin: StandIn) -> None:
    reply = {"match": "", "steps": [{"text": "A long enough answer to stream in parts."}, {"text": "Done."}]}
    standin.set_script(Script.from_dict({"replies": [reply]}))
    standin.think_time, standin.event_gap = 0.3, 0.02
    started = time.monotonic()
    client.files.list()
    assert time.monotonic() - started < 0.25  # think time is the model's: file requests do not wait
    arrivals: list[float] = []
    started = time.monotonic()
    with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as events:
        arrivals.extend(time.monotonic() - started for _ in events)
    # 13 frames on the wire: message start, 2 blocks (start, 4 + 1 deltas, stop), a ping, delta and stop.
    assert arrivals[0] >= 0.3  # the first event waits for the think time
    assert arrivals[-1] - arrivals[0] >= 0.02 * 10  # then the events come spread out
    started = time.monotonic()
    client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert time.monotonic() - started >= 0.3 + 0.02 * 12  # not streaming is no faster


# -- script format and CLI ---------------------------------------------------------------------


def test_script_from_json_and_bad_steps(tmp_path: Path) -> None:
    source = '{"model": "claude-opus-4-8", "replies": [{"match": "x", "steps": [{"pause": true}]}]}'
    path = tmp_path / "s.json"
    path.write_text(source)
    assert Script.from_json(source).replies == Script.from_json(path).replies
    assert Script.from_json(str(path)).model == "claude-opus-4-8"
    with pytest.raises(ValueError, match="exactly one"):
        Script.from_dict({"replies": [{"steps": [{"text": "a", "python": "b"}]}]})
    with pytest.raises(ValueError, match="editor"):
        Script.from_dict({"replies": [{"steps": [{"editor": {"command": "view"}}]}]})


def test_cli_serves_the_example_script() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "claude_magic.testing", "serve", "--port", "0"]
    command += ["--script", str(ROOT / "notebooks" / "scripts" / "example.json")]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("ANTHROPIC_BASE_URL=http://127.0.0.1:")
        with anthropic.Anthropic(
            api_key="test", base_url=line.split("=", 1)[1], max_retries=0, _strict_response_validation=True
        ) as sdk:
            message = ask(sdk, "Please plot a sine wave", version=LEGACY)
            (file_id,) = output_ids(message)
            assert sdk.files.download(file_id).read().startswith(PNG_SIGNATURE)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
