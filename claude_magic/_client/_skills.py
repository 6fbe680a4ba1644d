"""The Agent Skills area of ``ApiClient``: list, create and delete skills.

Imports ``anthropic`` lazily, inside the methods that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from claude_magic._client._base import SdkHolder
from claude_magic._client._convert import _skill
from claude_magic._client._errors import _translated_errors
from claude_magic.results import SkillInfo


class SkillsApi(SdkHolder):
    """Agent Skills methods of ``ApiClient``."""

    def list_skills(self, source: str | None = None) -> list[SkillInfo]:
        """Every skill the key can use (Anthropic's and custom), or those of one *source* (auto-paginated)."""
        import anthropic

        chosen: Any = source if source is not None else anthropic.omit
        with _translated_errors(timeout=self.timeout):
            return [_skill(skill) for skill in self._sdk.skills.list(limit=100, source=chosen)]

    def create_skill(self, files: Sequence[tuple[str, bytes]], display_name: str | None = None) -> SkillInfo:
        """Upload a custom skill from (``top/relative/path``, bytes) pairs; SKILL.md at the top."""
        import anthropic

        name: Any = display_name if display_name is not None else anthropic.omit
        with _translated_errors(timeout=self.timeout):
            skill = self._sdk.skills.create(files=[(path, data) for path, data in files], display_name=name)
        return _skill(skill)

    def delete_skill(self, skill_id: str) -> bool:
        """Delete a custom skill and its versions (the API deletes a skill only once it has none); False if gone."""
        import anthropic

        try:
            with _translated_errors((anthropic.NotFoundError,), timeout=self.timeout):
                for version in list(self._sdk.skills.versions.list(skill_id)):
                    self._sdk.skills.versions.delete(version.id, skill_id=skill_id)
                self._sdk.skills.delete(skill_id)
        except anthropic.NotFoundError:
            return False
        return True
