"""Agent Skills: Anthropic's four, custom skills with versions, and ``container.skills`` resolution.

Shapes follow the SDK's models (``anthropic/types/skill.py``, ``deleted_skill.py``,
``skills/skill_version.py``, ``skills/deleted_skill_version.py``, ``container_skill.py``) and its
resources (``resources/skills/skills.py``, ``versions.py``: ``/v1/skills`` and
``/v1/skills/{id}/versions``, multipart ``files[]`` uploads, cursor pages with ``next_page``).

Inferred, not documented (the skills guide is known only from third-party copies, api-spec §9.1):
an upload needs ``SKILL.md`` at the root of one top-level folder with a YAML front matter holding
``name`` and ``description``; a skill is deleted only once its versions are (the guide's example
deletes them first); an unknown skill in ``container.skills`` is a 404 ``not_found_error``; more
than 8, or skills without the code execution tool, a 400.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from claude_magic.testing.envelope import ApiError, bad_request, not_found
from claude_magic.testing.ids import new_id, now, rfc3339
from claude_magic.testing.multipart import Part

MAX_SKILLS: Final = 8
MANIFEST: Final = "SKILL.md"
# Anthropic's skills and the version "latest" resolves to (a date, as the guide's examples show).
ANTHROPIC: Final = {
    "xlsx": ("Excel", "Create, edit and analyse spreadsheets with formulas, formatting and charts."),
    "pptx": ("PowerPoint", "Create and edit presentations: layouts, slides, speaker notes."),
    "docx": ("Word", "Create and edit documents with headings, tables, comments and tracked changes."),
    "pdf": ("PDF", "Create, fill, merge and extract PDF documents."),
}
ANTHROPIC_VERSION: Final = "20251013"
_FRONT_MATTER: Final = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


@dataclass
class SkillVersion:
    id: str
    name: str
    description: str
    files: dict[str, bytes]
    created_at: datetime = field(default_factory=now)


@dataclass
class StoredSkill:
    id: str
    display_name: str
    source: str
    created_at: datetime
    versions: list[SkillVersion] = field(default_factory=list)
    fixed_version: str | None = None  # Anthropic's skills: one published version
    updated_at: datetime = field(default_factory=now)
    seq: int = 0

    @property
    def latest_version(self) -> str:
        return self.fixed_version or self.versions[-1].id

    def wire(self) -> dict[str, Any]:
        return {
            "type": "skill",
            "id": self.id,
            "display_name": self.display_name,
            "source": {"type": self.source},
            "latest_version_id": self.latest_version,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        }


def _version_wire(skill: StoredSkill, version: SkillVersion) -> dict[str, Any]:
    return {
        "type": "skill_version",
        "id": version.id,
        "skill_id": skill.id,
        "name": version.name,
        "description": version.description,
        "created_at": rfc3339(version.created_at),
    }


class SkillStore:
    """Skills by id; Anthropic's are always there and read-only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        created = now()
        self.skills: dict[str, StoredSkill] = {
            skill_id: StoredSkill(skill_id, title, "anthropic", created, fixed_version=ANTHROPIC_VERSION, seq=0)
            for skill_id, (title, _) in ANTHROPIC.items()
        }

    # -- the endpoints ---------------------------------------------------------------------------

    def route(self, method: str, path: str, query: Mapping[str, Sequence[str]], parts: list[Part] | None) -> Any:
        """The JSON answer to a ``/v1/skills…`` request (``parts`` for a multipart POST)."""
        segments = path.strip("/").split("/")[2:]  # after "v1", "skills"
        if not segments and method == "GET":
            return self._list(query)
        if not segments and method == "POST":
            return self.create(parts or [], query).wire()
        skill = self._get(segments[0])
        if len(segments) == 1 and method == "GET":
            return skill.wire()
        if len(segments) == 1 and method == "DELETE":
            return self._delete(skill)
        if len(segments) >= 2 and segments[1] == "versions":
            return self._versions(skill, method, segments[2:], parts)
        raise ApiError(405, f"Method {method} not allowed on {path}")

    def create(self, parts: list[Part], query: Mapping[str, Sequence[str]] = {}) -> StoredSkill:
        """A new custom skill from the upload's ``files[]`` parts (and ``display_name``)."""
        version = self._read_upload(parts)
        display = next((p.data.decode() for p in parts if p.name == "display_name"), "") or version.name
        skill = StoredSkill(new_id("skill", stem="01"), display[:255], "custom", now(), [version], seq=next(self._seq))
        with self._lock:
            self.skills[skill.id] = skill
        return skill

    def _list(self, query: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        source: str | None = next(iter(query.get("source") or ()), None)
        limit = int((query.get("limit") or ["20"])[0])
        if not 1 <= limit <= 1000:
            raise bad_request("limit: must be between 1 and 1000")
        start = int((query.get("page") or ["0"])[0] or 0)
        with self._lock:
            chosen = [s for s in self.skills.values() if source in (None, s.source)]
        chosen.sort(key=lambda s: (-s.seq, s.id))
        page = chosen[start : start + limit]
        more = start + limit < len(chosen)
        return {"data": [s.wire() for s in page], "next_page": str(start + limit) if more else None}

    def _delete(self, skill: StoredSkill) -> dict[str, Any]:
        if skill.source != "custom":
            raise ApiError(
                403, f"Skill {skill.id} is published by Anthropic and cannot be deleted", error_type="permission_error"
            )
        if skill.versions:
            raise bad_request(f"Skill {skill.id} still has {len(skill.versions)} version(s): delete them first")
        with self._lock:
            del self.skills[skill.id]
        return {"type": "skill_deleted", "id": skill.id}

    def _versions(self, skill: StoredSkill, method: str, rest: list[str], parts: list[Part] | None) -> Any:
        if skill.source != "custom":
            raise not_found(f"Skill {skill.id} has no versions you can manage")
        if not rest and method == "GET":
            return {"data": [_version_wire(skill, v) for v in reversed(skill.versions)], "next_page": None}
        if not rest and method == "POST":
            version = self._read_upload(parts or [])
            if skill.versions and version.name != skill.versions[0].name:
                raise bad_request(f"SKILL.md name {version.name!r} differs from the skill's")
            skill.versions.append(version)
            skill.updated_at = now()
            return _version_wire(skill, version)
        found = next((v for v in skill.versions if rest and v.id == rest[0]), None)
        if found is None:
            raise not_found(f"Skill version not found: {rest[0] if rest else ''}")
        if method == "GET":
            return _version_wire(skill, found)
        if method == "DELETE":
            skill.versions.remove(found)
            return {"type": "skill_version_deleted", "id": found.id}
        raise ApiError(405, f"Method {method} not allowed")

    def _get(self, skill_id: str) -> StoredSkill:
        with self._lock:
            skill = self.skills.get(skill_id)
        if skill is None:
            raise not_found(f"Skill not found: {skill_id}")
        return skill

    def _read_upload(self, parts: list[Part]) -> SkillVersion:
        uploads = [p for p in parts if p.name in ("files[]", "files") and p.filename]
        if not uploads:
            raise bad_request("files: Field required")
        paths = [str(p.filename).replace("\\", "/") for p in uploads]
        tops = {path.split("/", 1)[0] for path in paths if "/" in path}
        if len(tops) != 1 or any("/" not in path for path in paths):
            raise bad_request("files: every file must be in the same top-level directory")
        top = tops.pop()
        files = {path: p.data for path, p in zip(paths, uploads, strict=True)}
        manifest = files.get(f"{top}/{MANIFEST}")
        if manifest is None:
            raise bad_request(f"files: {MANIFEST} must be at the root of the top-level directory")
        front = _front_matter(manifest.decode("utf-8", errors="replace"))
        if not front.get("name") or not front.get("description"):
            raise bad_request(f"{MANIFEST}: the YAML front matter must set `name` and `description`")
        return SkillVersion(str(time.time_ns() // 1000), front["name"], front["description"], files)

    # -- the Messages API's `container.skills` ---------------------------------------------------

    def resolve(self, params: list[dict[str, str]], has_code_tool: bool) -> list[dict[str, str]]:
        """``container.skills`` of a request, with versions resolved, as the response reports them."""
        if not params:
            return []
        if not has_code_tool:
            raise bad_request("container.skills: skills need the code execution tool in `tools`")
        if len(params) > MAX_SKILLS:
            raise bad_request(f"container.skills: at most {MAX_SKILLS} skills per request, got {len(params)}")
        resolved = []
        for index, param in enumerate(params):
            kind, skill_id, version = param["type"], param["skill_id"], param.get("version") or "latest"
            if kind not in ("anthropic", "custom"):
                raise bad_request(f"container.skills.{index}.type: Input should be 'anthropic' or 'custom'")
            with self._lock:
                skill = self.skills.get(skill_id)
            if skill is None or skill.source != kind:
                raise not_found(f"container.skills.{index}: {kind} skill not found: {skill_id}")
            known = [skill.fixed_version] if skill.fixed_version else [v.id for v in skill.versions]
            if version != "latest" and version not in known:
                raise not_found(f"container.skills.{index}: version {version} of skill {skill_id} not found")
            concrete = skill.latest_version if version == "latest" else version
            resolved.append({"type": kind, "skill_id": skill_id, "version": concrete})
        return resolved


def _front_matter(text: str) -> dict[str, str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}
    values = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t")):
            values[key.strip()] = value.strip().strip("\"'")
    return values
