"""Web search and web fetch beside code execution: versions per model, steps, rendering, citations, pricing."""

from __future__ import annotations

from typing import Any

import pytest

from claude_magic import _pricing as pricing
from claude_magic._render import step_bundle, turn_bundle, turn_footer_bundle
from claude_magic._session import Session
from claude_magic._tool_versions import web_tool_versions
from claude_magic.results import CodeStep, TextStep, Usage, WebFetchStep, WebSearchStep
from claude_magic.testing import Script, StandIn

HOSTILE = "<script>alert(1)</script>"
SEARCH = {
    "web_search": {
        "query": "EUR USD rate 2026",
        "results": [
            {"title": f"ECB rates {HOSTILE}", "url": "https://ecb.test/rates", "page_age": "2 days"},
            {"title": "Sneaky", "url": "javascript:alert(1)"},
        ],
    }
}
FETCH = {"web_fetch": {"url": "https://ecb.test/rates", "title": "ECB reference rates", "text": "EUR/USD 1.08"}}
CITED = {
    "text": {
        "text": "The rate is 1.08.",
        "citations": [{"url": "https://ecb.test/rates", "title": "ECB reference rates", "cited_text": "EUR/USD 1.08"}],
    }
}
CODE = {"python": "print(round(100 * 1.08, 2))"}


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


@pytest.mark.parametrize(
    ("model", "code_version", "expected"),
    [
        ("claude-sonnet-5", "code_execution_20260521", ("web_search_20260318", "web_fetch_20260318")),
        ("claude-opus-4-6", "code_execution_20260120", ("web_search_20260209", "web_fetch_20260209")),
        ("claude-haiku-4-5-20251001", "code_execution_20250825", ("web_search_20250305", "web_fetch_20250910")),
        ("claude-sonnet-5", "code_execution_20250825", ("web_search_20250305", "web_fetch_20250910")),
        ("some-future-model", "code_execution_20250825", ("web_search_20250305", "web_fetch_20250910")),
    ],
)
def test_web_tool_versions_follow_the_model_and_the_sandbox(model: str, code_version: str, expected: Any) -> None:
    assert web_tool_versions(model, code_version) == expected


def test_a_turn_with_web_search_then_code(make_session: Any, standin: StandIn) -> None:
    standin.set_script(script([SEARCH, FETCH, CODE, CITED]))
    session: Session = make_session()
    session.web_max_uses = 3
    turn = session.run("Convert 100 EUR at today's rate.", web=True)
    kinds = [step.kind for step in turn.steps]
    assert kinds == ["web_search", "web_fetch", "code", "text"]
    search, fetch, code, text = turn.steps
    assert isinstance(search, WebSearchStep) and search.query == "EUR USD rate 2026"
    assert search.hits is not None and search.hits[0].url == "https://ecb.test/rates"
    assert isinstance(fetch, WebFetchStep) and fetch.fetched and fetch.title == "ECB reference rates"
    assert isinstance(code, CodeStep) and code.result is not None and code.result.stdout.strip() == "108.0"
    assert isinstance(text, TextStep) and text.citations[0].url == "https://ecb.test/rates"
    sent = next(r.json for r in standin.requests if r.path == "/v1/messages" and r.json)
    web = {tool["name"]: tool for tool in sent["tools"] if tool["name"] in ("web_search", "web_fetch")}
    assert web["web_search"] == {"type": "web_search_20260318", "name": "web_search", "max_uses": 3}
    assert web["web_fetch"]["type"] == "web_fetch_20260318"
    assert turn.usage.web_search_requests == 1 and turn.usage.web_fetch_requests == 1
    assert turn.server_tools == ("web_search_20260318", "web_fetch_20260318")
    # History stays valid: the next turn, with or without the web tools, is accepted.
    standin.set_script(script([{"text": "Same rate."}]))
    assert session.run("And tomorrow?").text == "Same rate."


def test_web_steps_render_escaped_with_web_links_only() -> None:
    search = WebSearchStep("srvtoolu_1", "q <b>", hits=())
    from claude_magic.results import WebHit

    hits = (WebHit(f"ECB {HOSTILE}", "https://ecb.test/rates", "2 days"), WebHit("Sneaky", "javascript:alert(1)"))
    html = step_bundle(WebSearchStep("srvtoolu_1", "q <b>", hits))["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html and "q &lt;b&gt;" in html
    assert 'href="https://ecb.test/rates"' in html and "javascript:" not in html.split("Sneaky")[0][-60:]
    assert 'href="javascript' not in html
    assert "searching" in step_bundle(WebSearchStep("srvtoolu_1", "q"))["text/plain"]
    assert search.done
    fetch = WebFetchStep("srvtoolu_2", "https://ecb.test/rates", fetched=True, title=HOSTILE)
    bundle = step_bundle(fetch)
    assert "<script>" not in bundle["text/html"] and "https://ecb.test/rates" in bundle["text/plain"]


def test_citations_become_footnote_links() -> None:
    from claude_magic.results import Citation

    step = TextStep("The rate is 1.08.", citations=(Citation("https://ecb.test/rates", "ECB", "EUR/USD 1.08"),))
    bundle = step_bundle(step)
    assert "1.08. [1]" in bundle["text/plain"] and "[1] ECB <https://ecb.test/rates>" in bundle["text/plain"]
    assert '<ol class="claude-magic-citations"' in bundle["text/html"]
    assert 'href="https://ecb.test/rates"' in bundle["text/html"]
    bad = TextStep("x", citations=(Citation("data:text/html,hi", HOSTILE),))
    html = step_bundle(bad)["text/html"]
    assert "href=" not in html and "<script>" not in html


def test_pricing_counts_searches_and_frees_code_execution_with_the_new_web_tools() -> None:
    usage = Usage(0, 0, code_execution_requests=1, web_search_requests=3)
    billed = pricing.estimate_cost("claude-sonnet-5", usage, 60.0)
    free = pricing.estimate_cost("claude-sonnet-5", usage, 60.0, code_execution_free=True)
    assert billed is not None and free is not None
    assert free == pytest.approx(3 * pricing.WEB_SEARCH_DOLLARS_EACH)
    assert billed == pytest.approx(free + pricing.container_cost(60.0))


def test_the_footer_shows_searches_and_free_code(make_session: Any, standin: StandIn) -> None:
    standin.set_script(script([SEARCH, CODE]))
    turn = make_session().run("Look it up.", web=True)
    footer = turn_footer_bundle(turn)["text/plain"]
    assert "1 web search" in footer
    free = pricing.estimate_cost(turn.model, turn.usage, turn.duration, code_execution_free=True)
    billed = pricing.estimate_cost(turn.model, turn.usage, turn.duration)
    assert free is not None and billed is not None and free < billed
    assert f"≈ ${free:,.4f} estimated" in footer
    assert "ECB rates" in turn_bundle(turn)["text/plain"]


@pytest.mark.parametrize("behaviour", ["emit", "skip"])
def test_undeclared_web_tools_follow_the_behaviour(make_session: Any, standin: StandIn, behaviour: str) -> None:
    standin.behaviours.undeclared_server_tools = behaviour  # type: ignore[assignment]
    standin.set_script(script([SEARCH, {"text": "ok"}]))
    turn = make_session().run("Search, without the tool.")
    searched = any(isinstance(step, WebSearchStep) for step in turn.steps)
    assert searched is (behaviour == "emit")
    standin.set_script(script([SEARCH, {"text": "ok"}]))
    assert any(isinstance(step, WebSearchStep) for step in make_session().run("With it.", web=True).steps)
