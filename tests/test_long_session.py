"""Long sessions through the Session: caching, costs and caps, the bound, compaction, stop reasons, undo, thinking.

The real SDK over HTTP against the stand-in, which accounts the cache, checks thinking
signatures and compaction blocks, and enforces the history rules (pairing by id).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from claude_magic import _pricing as pricing
from claude_magic import errors
from claude_magic._session import Session
from claude_magic.results import CodeStep, TextStep, ThinkingStep
from claude_magic.testing import Script, StandIn

BIG = "print('x' * 6000)"


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


def posts(api: StandIn, path: str = "/v1/messages") -> list[Any]:
    return [request for request in api.requests if request.method == "POST" and request.path == path]


# -- caching -------------------------------------------------------------------------------------


def test_caching_is_on_by_default_and_turn_n_reads_turn_n_minus_1(session: Session, standin: StandIn) -> None:
    standin.set_script(script(*[[{"python": BIG}, {"text": "done"}]] * 4))
    turns = [session.run(f"step {n}") for n in range(4)]
    assert all(request.json["cache_control"] == {"type": "ephemeral"} for request in posts(standin))
    written = turns[1].usage.cache_creation_input_tokens
    assert written == turns[1].usage.prompt_tokens  # turn 2's whole prompt was written
    assert turns[2].usage.cache_read_input_tokens == written  # and turn 3 read exactly it
    assert turns[3].usage.cache_read_input_tokens == turns[2].usage.prompt_tokens
    assert session.usage.cache_share > 0.3


def test_caching_off_and_one_hour_ttl(make_session: Any, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"python": BIG}]}]}))
    off = make_session(cache=False)
    for n in range(3):
        off.run(f"n {n}")
    assert all("cache_control" not in request.json for request in posts(standin))
    assert off.usage.usage.cache_read_input_tokens == off.usage.usage.cache_creation_input_tokens == 0
    hour = make_session(cache_ttl="1h")
    hour.run("a")
    second = hour.run("b")
    assert posts(standin)[-1].json["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert second.usage.cache_creation_1h_input_tokens == second.usage.cache_creation_input_tokens > 0
    with pytest.raises(ValueError, match="cache_ttl"):
        make_session(cache_ttl="2h")


# -- cost you can see ----------------------------------------------------------------------------


def test_turn_cost_and_session_total_follow_the_documented_prices(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"python": "print(1)"}], [{"text": "no code"}], [{"python": BIG}]))
    first, second, third = session.run("a"), session.run("b"), session.run("c")
    # Five minutes of container for the first use; later cells within that window add only their overrun.
    assert first.container_seconds == pricing.CONTAINER_MINIMUM_SECONDS
    assert second.container_seconds == 0.0 and third.container_seconds < 60
    price = pricing.model_price(session.model)
    assert price is not None
    usage = third.usage
    tokens = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_input_tokens * price.input * 0.1
        + usage.cache_creation_input_tokens * price.input * 1.25
    ) / 1e6
    assert third.cost == pytest.approx(tokens + third.container_seconds / 3600 * 0.05)
    total = session.usage
    assert total.turns == 3 and total.cost == pytest.approx(sum(t.cost or 0 for t in (first, second, third)))
    assert total.usage.code_execution_requests == first.usage.code_execution_requests + usage.code_execution_requests
    assert third.session_usage == total  # the footer's hook


# -- cost you can cap ----------------------------------------------------------------------------


def test_run_all_cannot_spend_past_the_session_cap(make_session: Any, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"python": BIG}, {"text": "ok"}]}]}))
    cap = 0.03
    session = make_session(max_cost_per_session=cap)
    refused = None
    for cell in range(12):  # a Run-All over many cells
        try:
            session.run(f"cell {cell}")
        except errors.CostCapError as exc:
            refused = str(exc)
            break
    assert refused is not None and session.usage.cost is not None
    assert session.usage.cost <= cap
    assert "\n" not in refused and "--force" in refused and "%claude_compact" in refused
    sent = len(posts(standin))
    with pytest.raises(errors.CostCapError):
        session.run("one more")
    assert len(posts(standin)) == sent  # refused before anything was sent
    session.run("forced", force=True)
    assert len(posts(standin)) == sent + 1


def test_cell_cap_lowers_max_tokens_and_large_histories_are_counted_first(make_session: Any, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"python": "print('y' * 60000)"}]}]}))
    session = make_session(max_cost_per_cell=0.2, result_limit=0)
    session.run("a")
    session.run("b")  # the history is now over the pre-flight threshold
    assert not posts(standin, "/v1/messages/count_tokens")
    turn = session.run("c")
    counted = posts(standin, "/v1/messages/count_tokens")
    assert len(counted) == 1 and counted[0].json["tools"][0]["name"] == "code_execution"
    assert "container" not in counted[0].json
    assert posts(standin)[-1].json["max_tokens"] < session.max_tokens
    assert any("max_tokens was lowered" in notice for notice in turn.notices)
    tight = make_session(max_cost_per_cell=0.0001)
    with pytest.raises(errors.CostCapError, match="Not sent"):
        tight.run("too dear")


def test_a_cap_stops_continuations_and_the_next_cell_goes_on(make_session: Any, standin: StandIn) -> None:
    steps = [{"python": BIG}, {"pause": True}, {"python": BIG}, {"pause": True}, {"text": "finished"}]
    standin.set_script(script(steps, [{"text": "next"}]))
    session = make_session(max_cost_per_cell=0.01)
    turn = session.run("long job")
    assert session.paused and any("cost cap" in notice for notice in turn.notices)
    finished = session.run("go on", force=True)
    assert not session.paused and "finished" in finished.text


# -- bounded context -----------------------------------------------------------------------------


def test_old_large_results_are_trimmed_with_a_note_and_files_kept(make_session: Any, standin: StandIn) -> None:
    write = "open('big.txt', 'w').write('z' * 50000); print('z' * 50000)"
    standin.set_script(script([{"python": write}], [{"bash": "wc -c big.txt"}], [{"text": "ok"}]))
    session = make_session(result_limit=10_000)
    first = session.run("make it")
    assert any("Trimmed" in notice for notice in first.notices)
    assert len(first.code[-1].result.stdout.strip()) == 50_000  # type: ignore[union-attr]  # the Turn keeps all
    kept = json.dumps(session.history)
    assert "claude_magic trimmed" in kept and len(kept) < 40_000
    second = session.run("how big is it?")  # accepted by the stand-in's history rules
    assert "50000" in second.code[0].result.stdout  # type: ignore[union-attr]  # the container's file is whole
    assert posts(standin)[-1].body_size < 40_000
    assert session.history[:2] == json.loads(kept)[:2]  # trimming is stable: the cached prefix stays the same


def test_server_side_context_editing_goes_to_the_beta_api(make_session: Any, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"python": BIG}]}]}))
    session = make_session(context_editing=True)
    session.run("a")
    request = posts(standin)[-1]
    assert "context-management-2025-06-27" in request.headers["anthropic-beta"]
    assert request.json["context_management"]["edits"][0]["type"] == "clear_tool_uses_20250919"
    assert request.json["cache_control"] == {"type": "ephemeral"}


# -- compaction ----------------------------------------------------------------------------------


def test_compaction_keeps_the_container_and_round_trips_the_block(session: Session, standin: StandIn) -> None:
    standin.set_script(
        script(
            [{"python": "open('kept.txt', 'w').write('still here'); print('x' * 6000)"}],
            [{"python": BIG}],
            [{"bash": "cat kept.txt"}],
            [{"text": "done"}],
        )
    )
    session.run("make a file")
    session.run("more")
    container = session.container
    compaction = session.compact("Keep the file names.")
    assert compaction.stop_reason == "compaction" and "make a file" in compaction.text
    request = posts(standin)[-1]
    assert request.json["compaction"] == {"type": "summarize", "instructions": "Keep the file names."}
    assert "compact-2026-01-12" in request.headers["anthropic-beta"]
    block = session.history[-1]["content"][0]
    assert block["type"] == "compaction"
    after = session.run("show the file")
    sent = posts(standin)[-1].json
    assert sent["messages"][1]["content"][0] == block and sent["container"] == container.id  # type: ignore[union-attr]
    assert "still here" in after.code[0].result.stdout  # type: ignore[union-attr]
    assert after.usage.prompt_tokens < 2_000
    session.undo()  # the turn after compacting; the compaction itself cannot be undone
    with pytest.raises(errors.ClaudeMagicError, match="undo"):
        session.undo()


def test_caching_trimming_and_compaction_together_stay_valid(make_session: Any, standin: StandIn) -> None:
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"thinking": "plan"}, {"python": BIG}]}]}))
    session = make_session(result_limit=3_000, thinking="adaptive", context_editing=True)
    for n in range(3):
        session.run(f"before {n}")
    session.compact()
    for n in range(3):
        turn = session.run(f"after {n}")
    assert turn.usage.cache_read_input_tokens > 0 and isinstance(turn.steps[0], ThinkingStep)
    assert len(posts(standin, "/v1/messages")) == 7


# -- stop reasons --------------------------------------------------------------------------------


def test_every_stop_reason_says_what_happened_and_how_to_go_on(session: Session, standin: StandIn) -> None:
    refusal = {"reason": "refusal", "category": "bio", "explanation": "Not this one."}
    standin.set_script(
        script(
            [{"text": "ok"}],
            [{"text": "Half"}, {"stop": "max_tokens"}],
            [{"python": "print(1)"}, {"stop": refusal}],
            [{"stop": "model_context_window_exceeded"}],
            [{"text": "fine"}],
        )
    )
    session.run("one")
    cut = session.run("two")
    assert cut.stop_reason == "max_tokens" and "go on" in cut.notices[-1]
    before = session.history
    refused = session.run("three")
    assert refused.stop_details == {"type": "refusal", "category": "bio", "explanation": "Not this one."}
    assert "Not this one." in refused.notices[-1] and not refused.kept
    assert session.history == before  # the refused turn is not in the conversation
    full = session.run("four")
    assert "%claude_compact" in full.notices[-1] and "%claude_reset" in full.notices[-1]
    assert session.run("five").text == "fine"


# -- history and undo ----------------------------------------------------------------------------


def test_undo_drops_the_last_pair_and_keeps_the_container(session: Session, standin: StandIn) -> None:
    standin.set_script(script([{"python": "open('a.txt','w').write('1')"}], [{"text": "two"}], [{"bash": "ls"}]))
    session.run("one")
    before, container = session.history, session.container
    session.run("two")
    undone = session.undo()
    assert undone.prompt == "two" and session.history == before
    assert session.container is not None and container is not None and session.container.id == container.id
    assert [turn.prompt for turn in session.turns] == ["one"]
    after = session.run("three")  # valid history: the stand-in accepts it, and the container kept a.txt
    assert "a.txt" in after.code[0].result.stdout  # type: ignore[union-attr]


def test_undo_of_a_turn_that_paused_leaves_a_valid_history(make_session: Any, standin: StandIn) -> None:
    standin.set_script(
        script([{"text": "a"}], [{"python": "print(1)"}, {"pause": True}, {"text": "b"}], [{"text": "c"}])
    )
    session = make_session(max_continuations=0)
    session.run("first")
    before = session.history
    session.run("pauses")
    assert session.paused
    session.undo()
    assert not session.paused and session.history == before
    assert session.run("again").text == "c"


# -- thinking and effort -------------------------------------------------------------------------


def test_thinking_is_a_plan_above_the_code_and_round_trips(session: Session, standin: StandIn) -> None:
    steps = [{"thinking": "Load, then plot."}, {"redacted_thinking": True}, {"python": "print(2)"}, {"text": "ok"}]
    standin.set_script(script(steps, [{"text": "again"}]))
    turn = session.run("plot", think="adaptive", effort="high")
    assert isinstance(turn.steps[0], ThinkingStep) and turn.steps[0].text == "Load, then plot."
    assert isinstance(turn.steps[1], ThinkingStep) and turn.steps[1].redacted
    assert isinstance(turn.steps[2], CodeStep) and isinstance(turn.steps[-1], TextStep)
    request = posts(standin)[-1].json
    assert request["thinking"] == {"type": "adaptive"} and request["output_config"] == {"effort": "high"}
    blocks = session.history[1]["content"]
    assert blocks[0]["signature"] and blocks[1]["type"] == "redacted_thinking"
    session.run("next", think=4096)  # the stand-in checks the signatures it issued
    assert posts(standin)[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert posts(standin)[-1].json["messages"][1]["content"][:2] == blocks[:2]
    with pytest.raises(errors.ClaudeMagicError, match="1024"):
        session.run("bad", think=10)


@pytest.mark.parametrize("module", ["_context", "_costs", "_history_view", "_long_session", "testing.caching"])
def test_new_modules_import_without_the_hosts(module: str) -> None:
    blocked = ("IPython", "ipywidgets", "ipykernel", "traitlets", "anthropic")
    code = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
    subprocess.run([sys.executable, "-c", code + f"import claude_magic.{module}\n"], check=True)
