"""Agent Skills end to end: the real SDK over HTTP against the stand-in (strict validation where we build it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets import TraitError

from claude_magic._session import Session
from claude_magic._skills import SkillError, parse_skills, skill_folder_files
from claude_magic.testing import Script, StandIn
from shells import shell_config, start_shell, stop_shell

REPL = "code_execution_20260120"
MANIFEST = "---\nname: brand-colours\ndescription: Use the house colours in every chart.\n---\n# Brand colours\n"


def script(*replies: list[dict[str, Any]]) -> Script:
    return Script.from_dict({"replies": [{"steps": steps} for steps in replies]})


def strict(api: StandIn) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=api.base_url, max_retries=0, _strict_response_validation=True)


def sent_containers(api: StandIn) -> list[Any]:
    return [r.json.get("container") for r in api.requests if r.path == "/v1/messages" and r.json is not None]


@pytest.fixture
def skill_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "brand-colours"
    (folder / "scripts").mkdir(parents=True)
    (folder / "SKILL.md").write_text(MANIFEST)
    (folder / "scripts" / "palette.py").write_text("PALETTE = ['#123456']\n")
    (folder / ".hidden").write_text("not sent")
    return folder


# --- the stand-in's skills endpoints and container.skills, through the strict SDK ----------------------


def test_standin_lists_creates_versions_and_deletes_skills(standin: StandIn, skill_dir: Path) -> None:
    with strict(standin) as sdk:
        anthropic_ids = {skill.id for skill in sdk.skills.list(source="anthropic")}
        assert anthropic_ids == {"xlsx", "pptx", "docx", "pdf"}
        created = sdk.skills.create(files=skill_folder_files(skill_dir))
        assert created.source.type == "custom" and created.display_name == "brand-colours"
        assert sdk.skills.retrieve(created.id).latest_version_id == created.latest_version_id
        assert [s.id for s in sdk.skills.list(source="custom")] == [created.id]
        (version,) = sdk.skills.versions.list(created.id)
        assert version.name == "brand-colours" and version.description.startswith("Use the house colours")
        with pytest.raises(anthropic.BadRequestError, match="delete them first"):
            sdk.skills.delete(created.id)
        sdk.skills.versions.delete(version.id, skill_id=created.id)
        assert sdk.skills.delete(created.id).type == "skill_deleted"
        with pytest.raises(anthropic.NotFoundError):
            sdk.skills.retrieve(created.id)
        with pytest.raises(anthropic.BadRequestError, match=r"SKILL\.md"):
            sdk.skills.create(files=[("x/README.md", b"no manifest")])


def test_standin_resolves_container_skills_and_refuses_bad_ones(standin: StandIn) -> None:
    standin.set_script(script([{"text": "ok"}]))
    tools: Any = [{"type": REPL, "name": "code_execution"}]
    messages: Any = [{"role": "user", "content": "hi"}]
    xlsx: Any = {"type": "anthropic", "skill_id": "xlsx", "version": "latest"}
    with strict(standin) as sdk:
        reply = sdk.messages.create(
            model="claude-sonnet-5", max_tokens=64, tools=tools, messages=messages, container={"skills": [xlsx]}
        )
        assert reply.container is not None and reply.container.skills is not None
        assert [(s.skill_id, s.type, s.version) for s in reply.container.skills] == [("xlsx", "anthropic", "20251013")]
        unknown: Any = {"skills": [{"type": "anthropic", "skill_id": "xlsm"}]}
        with pytest.raises(anthropic.NotFoundError, match="xlsm"):
            sdk.messages.create(
                model="claude-sonnet-5", max_tokens=64, tools=tools, messages=messages, container=unknown
            )
        nine: Any = {"skills": [{"type": "custom", "skill_id": f"skill_{n}"} for n in range(9)]}
        with pytest.raises(anthropic.BadRequestError, match="at most 8"):
            sdk.messages.create(model="claude-sonnet-5", max_tokens=64, tools=tools, messages=messages, container=nine)
        with pytest.raises(anthropic.BadRequestError, match="code execution tool"):
            sdk.messages.create(model="claude-sonnet-5", max_tokens=64, messages=messages, container={"skills": [xlsx]})


# --- the session: skills only when used, then on every turn of that container ------------------------------


def test_skills_go_in_the_request_only_when_used_and_then_on_every_turn_of_the_container(
    make_session: Any, standin: StandIn
) -> None:
    standin.set_script(script(*[[{"python": "print('ran')"}]] * 5))
    session: Session = make_session(tool_version=REPL)
    first = session.run("no skills yet")
    assert first.container is not None and first.container.skills == ()
    second = session.run("make a workbook", skills="xlsx,pptx")
    third = session.run("a follow-up that names no skill")
    session.reset()
    fourth = session.run("a fresh container")
    session.run("and its follow-up")
    container_id = first.container.id
    wanted = [
        {"type": "anthropic", "skill_id": "xlsx", "version": "latest"},
        {"type": "anthropic", "skill_id": "pptx", "version": "latest"},
    ]
    assert sent_containers(standin) == [
        None,
        {"id": container_id, "skills": wanted},
        {"id": container_id, "skills": wanted},
        None,
        fourth.container.id if fourth.container else None,
    ]
    assert second.container is not None and third.container is not None
    assert [(s.skill_id, s.version) for s in third.container.skills] == [("xlsx", "20251013"), ("pptx", "20251013")]
    assert "skills xlsx 20251013, pptx 20251013" in str(third)


def test_a_session_default_skill_and_a_custom_skill_uploaded_from_a_folder(
    make_session: Any, standin: StandIn, skill_dir: Path
) -> None:
    standin.set_script(script([{"text": "ok"}], [{"text": "ok"}]))
    session: Session = make_session(tool_version=REPL, skills=["docx"])
    custom = session.add_skill(skill_dir)
    assert custom.id in {skill.id for skill in session.list_skills()}
    turn = session.run("write the report", skills=[custom.id, "docx@20251013"])
    assert turn.container is not None
    assert [(s.skill_id, s.type) for s in turn.container.skills] == [(custom.id, "custom"), ("docx", "anthropic")]
    assert turn.container.skills[0].version == custom.latest_version
    session.run("again, with the default")
    assert sent_containers(standin)[-1]["skills"][-1] == {"type": "anthropic", "skill_id": "docx", "version": "latest"}
    session.remove_skill(custom.id)
    assert custom.id not in standin.skills
    with pytest.raises(SkillError, match="Anthropic"):
        session.remove_skill("xlsx")


def test_bad_skill_names_fail_before_anything_is_sent(make_session: Any, standin: StandIn, tmp_path: Path) -> None:
    session: Session = make_session(tool_version=REPL)
    with pytest.raises(SkillError, match="Unknown skill 'excel'"):
        session.run("x", skills="excel")
    with pytest.raises(SkillError, match="at most 8"):
        session.run("x", skills=[f"skill_{n}" for n in range(9)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SkillError, match=r"no SKILL\.md"):
        session.add_skill(tmp_path / "empty")
    assert [r for r in standin.requests if r.path != "/v1/skills"] == []
    assert parse_skills("xlsx, XLSX ,pptx@1") == (
        {"type": "anthropic", "skill_id": "xlsx", "version": "latest"},
        {"type": "anthropic", "skill_id": "pptx", "version": "1"},
    )


# --- the magics -----------------------------------------------------------------------------------------


@pytest.fixture
def shell(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.chdir(tmp_path)
    config = shell_config(standin, tmp_path)
    config.ClaudeMagics.download_dir = str(tmp_path / "outputs")
    config.ClaudeMagics.tool_version = REPL
    ip = start_shell(config)
    yield ip
    stop_shell(ip)


def one_line_error(ip: InteractiveShell, source: str) -> str:
    with capture_output():
        result = ip.run_cell(source)
    error = result.error_in_exec or result.error_before_exec
    assert type(error) is UsageError, error
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_exec_skills_option_and_setting_and_the_skills_magic(
    shell: InteractiveShell, standin: StandIn, skill_dir: Path
) -> None:
    standin.set_script(script([{"text": "made it"}], [{"text": "again"}]))
    with capture_output() as shown:
        shell.run_cell_magic("claude_exec", "--skills xlsx,pptx --out turn", "Make a workbook and a deck.")
    assert sent_containers(standin)[0] == {"skills": list(parse_skills("xlsx,pptx"))}
    assert any("skills xlsx 20251013, pptx 20251013" in o.data.get("text/plain", "") for o in shown.outputs)
    with capture_output() as listed:
        shell.run_line_magic("claude_skills", "")
    text = listed.outputs[-1].data["text/plain"]
    assert "xlsx" in text and "in this container" in text
    with capture_output() as added:
        shell.run_line_magic("claude_skills", f"add {skill_dir}")
    custom_id = next(iter(s for s in standin.skills if s.startswith("skill_")))
    assert custom_id in added.outputs[-1].data["text/plain"]
    shell.run_line_magic("config", f"ClaudeMagics.skills = '{custom_id}'")
    with capture_output():
        shell.run_cell_magic("claude_exec", "", "Use the brand colours.")
    assert [s["skill_id"] for s in sent_containers(standin)[-1]["skills"]] == ["xlsx", "pptx", custom_id]
    with capture_output():
        shell.run_line_magic("claude_skills", f"remove {custom_id}")
    assert custom_id not in standin.skills


def test_bad_skill_input_gets_one_line(shell: InteractiveShell, standin: StandIn, tmp_path: Path) -> None:
    assert "Unknown skill 'excel'" in one_line_error(shell, "%%claude_exec --skills excel\nMake a workbook.")
    nine = ",".join(f"skill_{n}" for n in range(9))
    assert "at most 8" in one_line_error(shell, f"%%claude_exec --skills {nine}\nMake a workbook.")
    (tmp_path / "bare").mkdir()
    assert "no SKILL.md" in one_line_error(shell, f"%claude_skills add {tmp_path / 'bare'}")
    assert "not a folder" in one_line_error(shell, f"%claude_skills add {tmp_path / 'missing'}")
    assert "Anthropic" in one_line_error(shell, "%claude_skills remove pdf")
    assert "No custom skill" in one_line_error(shell, "%claude_skills remove skill_01Nope")
    assert "needs the skill's folder" in one_line_error(shell, "%claude_skills add")
    assert not [r for r in standin.requests if r.path == "/v1/messages"]
    with pytest.raises(TraitError, match="Unknown skill"):
        shell.magics_manager.registry["ClaudeMagics"].skills = "xlsx,excel"
    assert json.dumps(sent_containers(standin)) == "[]"
