"""The client under each plausible answer where the docs are silent (the stand-in's ``Behaviours`` switches).

Every test here runs the real SDK over HTTP against the stand-in with one of its guessed
behaviours switched, so the client is right for each answer a real server might give.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd
import pytest

from claude_magic import errors
from claude_magic._session import Session
from claude_magic.results import Notice, TurnEvent
from claude_magic.testing import Behaviours, Script, StandIn
from test_session import posts, script

READ_INPUT = """
import os, pandas as pd
folder = os.environ.get("INPUT_DIR") or "."
frame = pd.read_parquet(os.path.join(folder, "sales.parquet"))
print("total", int(frame["revenue"].sum()))
"""


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame({"month": ["jan", "feb", "mar"], "revenue": [10, 20, 30]})


def test_every_server_tool_pairs_and_the_next_turn_is_accepted(session: Session, standin: StandIn) -> None:
    standin.set_script(
        script(
            [
                {"web_search": {"query": "gdp 2025", "results": [{"title": "GDP", "url": "https://example.org/gdp"}]}},
                {"web_fetch": {"url": "https://example.org/gdp", "title": "GDP", "text": "GDP grew."}},
                {"tool_search": {"query": "save", "tools": ["save_result"]}},
                {"python": "print('analysed')"},
                {"text": "Done."},
            ],
            [{"text": "Next turn accepted."}],
        )
    )
    first = session.run("Look it up and analyse")
    assert first.code[0].result is not None and first.code[0].result.stdout == "analysed\n"
    kinds = [block["type"] for block in session.history[-1]["content"]]
    assert kinds.count("server_tool_use") == 4
    assert {"web_search_tool_result", "web_fetch_tool_result", "tool_search_tool_result"} <= set(kinds)
    assert session.run("And then?").text == "Next turn accepted."


@pytest.mark.parametrize("stale_upload_refs", ["validate", "ignore"])
def test_a_deleted_upload_is_safe_however_old_references_are_treated(
    make_session: Any, standin: StandIn, sales: pd.DataFrame, stale_upload_refs: str
) -> None:
    standin.behaviours.stale_upload_refs = stale_upload_refs  # type: ignore[assignment]
    session = make_session()
    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    session.run("Total?")
    session.delete("sales.parquet")
    second = session.run("Total again?")
    assert second.code[0].result is not None and "total 60" in second.code[0].result.stdout


@pytest.mark.parametrize("answer", ["404", "410", "500"])
@pytest.mark.parametrize("history_without_container", ["accept", "reject"])
def test_a_lost_container_is_recovered_once_whatever_the_server_answers(
    make_session: Any, standin: StandIn, sales: pd.DataFrame, answer: str, history_without_container: str
) -> None:
    standin.behaviours.expired_container = answer  # type: ignore[assignment]
    standin.behaviours.history_without_container = history_without_container  # type: ignore[assignment]
    session = make_session()
    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}], [{"text": "third"}]))
    session.upload(sales, name="sales")
    first = session.run("Total?")
    assert first.container is not None
    standin.expire_container(first.container.id)
    events: list[TurnEvent] = []
    second = session.run("Total again?", on_event=events.append)
    assert second.container_restarted and second.container is not None
    assert second.container.id != first.container.id and session.container == second.container
    assert second.code[0].result is not None and "total 60" in second.code[0].result.stdout
    notices = [event.message for event in events if isinstance(event, Notice)]
    assert len([notice for notice in notices if "expired or is gone" in notice]) == 1
    if history_without_container == "reject":
        assert any("recap" in notice for notice in notices)
        assert "Total?" in json.dumps(session.history[0])  # the recap keeps what was asked before
    assert session.run("Third").text == "third"  # the next cell works, in the new container
    assert posts(standin)[-1].json["container"] == second.container.id


def test_an_idle_container_is_checkpointed_and_restored_not_replaced(
    make_session: Any, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.behaviours.checkpoint_after = 0.3
    session = make_session()
    standin.set_script(script([{"python": "open('state.txt', 'w').write('kept')"}], [{"bash": "cat state.txt"}]))
    first = session.run("Write state")
    time.sleep(0.6)  # idle past the checkpoint: the rolling expires_at has passed
    assert first.container is not None and first.container.expires_at is not None
    second = session.run("Read state")
    assert not second.container_restarted and second.container is not None
    assert second.container.id == first.container.id and second.container.first_seen == first.container.first_seen
    assert second.code[0].result is not None and second.code[0].result.stdout == "kept"
    assert standin.containers[first.container.id].restores == 1


def test_past_the_hard_limit_the_container_is_replaced(
    make_session: Any, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.behaviours.max_container_age = 1.0
    session = make_session()
    standin.set_script(script([{"python": READ_INPUT}], [{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    first = session.run("Total?")
    time.sleep(1.2)
    second = session.run("Total again?")
    assert second.container_restarted and second.container is not None and first.container is not None
    assert second.container.id != first.container.id
    assert second.code[0].result is not None and "total 60" in second.code[0].result.stdout


@pytest.mark.parametrize("user_after_text_pause", ["reject", "accept"])
def test_a_turn_paused_after_text_goes_on_in_the_next_cell(
    make_session: Any, standin: StandIn, user_after_text_pause: str
) -> None:
    standin.behaviours.user_after_text_pause = user_after_text_pause  # type: ignore[assignment]
    session = make_session(max_continuations=0)
    replies = [
        {"match": "Long", "steps": [{"text": "Part one."}, {"pause": True}, {"text": "Part two."}]},
        {"match": "Next", "steps": [{"text": "Answer."}]},
    ]
    standin.set_script(Script.from_dict({"replies": replies}))
    first = session.run("Long job")
    assert first.stop_reason == "pause_turn" and session.paused
    second = session.run("Next question")
    assert second.text == "Part two.\n\nAnswer." and not session.paused


def test_a_refused_tool_version_names_the_versions_to_try(make_session: Any, standin: StandIn) -> None:
    session = make_session(model="claude-haiku-4-5", tool_version="code_execution_20260120")
    standin.set_script(script([{"text": "hi"}]))
    with pytest.raises(errors.ToolVersionRefusedError, match="try --tool-version code_execution_20250825"):
        session.run("Hello")
    assert session.history == []
    default = make_session(model="claude-haiku-4-5")
    assert default.run("Hello").text == "hi"  # the version the table picks is accepted


def test_files_land_where_the_server_puts_them_and_claude_is_told(
    make_session: Any, standin: StandIn, sales: pd.DataFrame
) -> None:
    standin.behaviours.repl_input_dir = "cwd"
    session = make_session(tool_version="code_execution_20260120")
    standin.set_script(script([{"python": READ_INPUT}]))
    session.upload(sales, name="sales")
    turn = session.run("Total?")
    assert turn.code[0].result is not None and "total 60" in turn.code[0].result.stdout
    note = posts(standin)[-1].json["messages"][-1]["content"][1]["text"]
    assert "$INPUT_DIR" in note and "working directory" in note


def test_the_default_behaviours_are_the_documented_or_strictest_guesses() -> None:
    defaults = Behaviours()
    assert (defaults.expired_container, defaults.container_dict_without_skills, defaults.stale_upload_refs) == (
        "404",
        "reject",
        "validate",
    )
