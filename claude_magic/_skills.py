"""Agent Skills as the user names them, checked and turned into the API's ``SkillParams``.

Stdlib only. ``xlsx``, ``pptx``, ``docx`` and ``pdf`` are Anthropic's skills; a custom skill is
named by its id (``skill_01...``), optionally pinned with ``@version`` (``xlsx@20251013``,
``skill_01AbC@1759178010``); no version means ``"latest"``. At most 8 per request (api-spec §3.2,
§13 "Agent Skills"). A custom skill is uploaded from a folder whose root holds a ``SKILL.md``
manifest (the SDK's ``SkillCreateParams.files`` docstring).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from claude_magic.errors import ClaudeMagicError

ANTHROPIC_SKILLS: Final = ("xlsx", "pptx", "docx", "pdf")
MAX_SKILLS: Final = 8
MANIFEST: Final = "SKILL.md"
MAX_SKILL_BYTES: Final = 30 * 1024 * 1024  # the whole folder; the docs' upload limit is not stated, so be modest
MAX_SKILL_FILES: Final = 500

_CUSTOM_ID: Final = re.compile(r"skill_[A-Za-z0-9]+")
_VERSION: Final = re.compile(r"[A-Za-z0-9_.-]+")

SkillParam = dict[str, str]


class SkillError(ClaudeMagicError):
    """A skill name, list or folder that cannot be used; the message says what to do."""


def parse_skills(spec: str | Iterable[str | dict[str, Any]] | None) -> tuple[SkillParam, ...]:
    """The skills *spec* names, as ``SkillParams`` dicts, in order and without duplicates.

    Parameters
    ----------
    spec
        ``"xlsx,pptx"``, a list of such names, or dicts already in the API's shape.

    Raises
    ------
    SkillError
        For an unknown name, a malformed id or version, or more than ``MAX_SKILLS``.
    """
    if spec is None:
        return ()
    items: list[str | dict[str, Any]] = (
        [part for part in re.split(r"[,\s]+", spec) if part] if isinstance(spec, str) else list(spec)
    )
    chosen: dict[tuple[str, str], SkillParam] = {}
    for item in items:
        param = _param(item)
        chosen.setdefault((param["type"], param["skill_id"]), param)
    return check_count(tuple(chosen.values()))


def merge(*groups: Sequence[SkillParam]) -> tuple[SkillParam, ...]:
    """The skills of every group, first mention first; a later pin of the same skill wins."""
    merged: dict[tuple[str, str], SkillParam] = {}
    for group in groups:
        for param in group:
            merged[(param["type"], param["skill_id"])] = param
    return tuple(merged.values())


def check_count(skills: tuple[SkillParam, ...]) -> tuple[SkillParam, ...]:
    """*skills* unless they are more than the API takes in one request."""
    if len(skills) > MAX_SKILLS:
        names = ", ".join(param["skill_id"] for param in skills)
        raise SkillError(
            f"{len(skills)} skills ({names}): a request takes at most {MAX_SKILLS}. Name fewer, or start a new "
            "container (%claude_container --new) to drop the ones loaded earlier."
        )
    return skills


def _param(item: str | dict[str, Any]) -> SkillParam:
    if isinstance(item, dict):
        skill_id, kind = str(item.get("skill_id", "")), str(item.get("type", ""))
        version = str(item.get("version") or "latest")
        if kind not in ("anthropic", "custom") or not skill_id:
            raise SkillError(f"A skill needs a skill_id and a type of 'anthropic' or 'custom', not {item!r}.")
        return {"type": kind, "skill_id": skill_id, "version": version}
    name, _, version = item.strip().partition("@")
    version = version or "latest"
    if not _VERSION.fullmatch(version):
        raise SkillError(f"{item!r}: a skill version is a number or 'latest', e.g. xlsx@latest.")
    if name.lower() in ANTHROPIC_SKILLS:
        return {"type": "anthropic", "skill_id": name.lower(), "version": version}
    if _CUSTOM_ID.fullmatch(name):
        return {"type": "custom", "skill_id": name, "version": version}
    raise SkillError(
        f"Unknown skill {name!r}: use one of Anthropic's ({', '.join(ANTHROPIC_SKILLS)}) or a custom skill's id "
        "(skill_...; %claude_skills lists them)."
    )


def skill_folder_files(folder: str | Path) -> list[tuple[str, bytes]]:
    """The files to upload for a custom skill in *folder*: (``<folder name>/<relative path>``, bytes).

    The API wants every file under one top-level directory with ``SKILL.md`` at its root.
    Hidden files and ``__pycache__`` are left out.

    Raises
    ------
    SkillError
        When *folder* is not a folder, has no ``SKILL.md``, or is too large.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise SkillError(f"{folder} is not a folder: give the folder that holds the skill's {MANIFEST}.")
    if not (root / MANIFEST).is_file():
        raise SkillError(f"{folder} has no {MANIFEST} at its root: a skill folder needs one (its manifest).")
    top = root.resolve().name or "skill"
    files: list[tuple[str, bytes]] = []
    total = 0
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        data = path.read_bytes()
        total += len(data)
        if total > MAX_SKILL_BYTES or len(files) >= MAX_SKILL_FILES:
            raise SkillError(
                f"{folder} is too large for a skill (over {MAX_SKILL_FILES} files or {MAX_SKILL_BYTES // 2**20} MB)."
            )
        files.append((f"{top}/{relative.as_posix()}", data))
    return files
