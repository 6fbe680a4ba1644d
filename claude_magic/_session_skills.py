"""The Agent Skills half of ``Session``: listing, adding and removing the skills a key can load.

A mixin; ``Session.run`` asks ``_turn_skills`` which skills a turn sends (``_skills`` parses and
merges them). Stdlib and our own modules only; the SDK is reached through ``_client``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_magic._skills import (
    ANTHROPIC_SKILLS,
    SkillError,
    SkillParam,
    check_count,
    merge,
    parse_skills,
    skill_folder_files,
)
from claude_magic.results import SkillInfo

if TYPE_CHECKING:
    from claude_magic._client import ApiClient


class SkillsMixin:
    """The skills on the server (Anthropic's and this key's custom ones), and those a turn loads (see ``Session``)."""

    # Provided by Session.
    skills: tuple[SkillParam, ...]
    _lock: threading.RLock
    _container_skills: tuple[SkillParam, ...]  # loaded in the current container: sent every turn

    @property
    def client(self) -> ApiClient:  # pragma: no cover - Session's
        raise NotImplementedError

    def list_skills(self, source: str | None = None) -> list[SkillInfo]:
        """The skills this key can load: Anthropic's and custom ones (or one *source*)."""
        return self.client.list_skills(source)

    def add_skill(self, folder: str | os.PathLike[str], *, display_name: str | None = None) -> SkillInfo:
        """Upload the folder as a custom skill (``SKILL.md`` at its root); use its id with ``skills=``."""
        return self.client.create_skill(skill_folder_files(Path(folder)), display_name=display_name)

    def remove_skill(self, skill_id: str) -> None:
        """Delete a custom skill and its versions from the server."""
        if skill_id.lower() in ANTHROPIC_SKILLS:
            raise SkillError(f"{skill_id} is one of Anthropic's skills: only custom skills can be removed.")
        if not skill_id.startswith("skill_"):
            raise SkillError(f"{skill_id!r} is not a custom skill's id (skill_...): %claude_skills lists them.")
        if not self.client.delete_skill(skill_id):
            raise SkillError(f"No custom skill {skill_id} on the server (already removed?).")

    def _turn_skills(
        self, skills: str | Iterable[str | dict[str, Any]] | None, *, fresh: bool
    ) -> tuple[SkillParam, ...]:
        """The skills a turn sends: the container's (none when *fresh*) and *skills* (default ``self.skills``)."""
        requested = parse_skills(skills) if skills is not None else self.skills
        with self._lock:
            loaded = () if fresh else self._container_skills
        return check_count(merge(loaded, requested))
