"""The Agent Skills a key can use, as a table (``%claude_skills``).

Imports the renderer's helpers; ``claude_magic.results`` for types only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from claude_magic._format import plural
from claude_magic._render._html import CELL, MONO, MUTED, Markup, div, join, span
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import SkillInfo


def skills_bundle(skills: Sequence[SkillInfo], *, title: str = "", in_use: Sequence[str] = ()) -> MimeBundle:
    """Skills as rows of name, id (what ``--skills`` takes), source and latest version.

    Parameters
    ----------
    skills : sequence of SkillInfo
        Anthropic's and custom skills.
    title : str
        A caption; default says how many.
    in_use : sequence of str
        Skill ids loaded in the current container, marked as such.

    Returns
    -------
    MimeBundle
        ``text/html`` and ``text/plain``.
    """
    caption = title or f"{plural(len(skills), 'skill')} (use with %%claude_exec --skills ID,ID)"
    if not skills:
        return {"text/html": str(div("skills", caption, MUTED)), "text/plain": caption}
    columns = ("Name", "Id", "Source", "Latest version", "")
    rows = [
        (
            clean(skill.display_name),
            clean(skill.id),
            clean(skill.source),
            clean(skill.latest_version),
            "in this container" if skill.id in in_use else "",
        )
        for skill in skills
    ]
    head = join((Markup('<th style="{}">{}</th>').format(CELL, column) for column in columns), "")
    body = join(
        (
            Markup("<tr>{}</tr>").format(
                join(
                    [
                        Markup('<td style="{}">{}</td>').format(CELL, name),
                        Markup('<td style="{}">{}</td>').format(CELL, span("id", skill_id, MONO)),
                        *(Markup('<td style="{}">{}</td>').format(CELL, cell) for cell in rest),
                    ],
                    "",
                )
            )
            for name, skill_id, *rest in rows
        ),
        "",
    )
    table = Markup(
        '<table class="claude-magic-skills"><caption style="text-align: left">{}</caption>'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
    ).format(caption, head, body)
    plain = [caption, *(f"  {skill_id:<32} {name} ({source}, latest {version}) {mark}".rstrip()
                        for name, skill_id, source, version, mark in rows)]  # fmt: skip
    return {"text/html": str(div("skills", table)), "text/plain": "\n".join(plain)}
