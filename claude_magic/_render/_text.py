"""Untrusted text made printable: terminal escapes dropped, carriage returns resolved, long text cut.

Stdlib only. Every string from the model, the sandbox or the server passes through ``clean``
before it is shown, in HTML and in plain text alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from claude_magic._format import plural

MAX_LINE_CHARS: Final = 2_000  # a single output line longer than this is cut
TRUNCATED_WHERE: Final = "full text in the Turn"

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), two-byte escapes.
_ANSI: Final = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """Drop terminal escapes and control characters; resolve carriage returns like a terminal."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    if "\r" in text:
        # A bare CR rewrites the line (progress bars): keep what was written last.
        text = "\n".join(_last_overwrite(line) for line in text.split("\n"))
    return _CONTROL.sub("", text)


def _last_overwrite(line: str) -> str:
    parts = [part for part in line.split("\r") if part]
    return parts[-1] if parts else ""


def has_text(text: str) -> bool:
    """Whether ``text`` shows anything once cleaned."""
    return bool(clean(text).strip("\n"))


def cut_line(line: str) -> str:
    """A line of at most ``MAX_LINE_CHARS`` characters, saying how much was cut."""
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]} … [{len(line) - MAX_LINE_CHARS:,} more characters]"


def lines_of(text: str) -> list[str]:
    """Cleaned lines of ``text``, without the trailing newline, overlong lines cut."""
    return [cut_line(line) for line in clean(text).rstrip("\n").split("\n")]


@dataclass(frozen=True, slots=True)
class Truncated:
    """At most ``max_lines`` lines of a text: the ``head``, how many were ``hidden``, the ``tail``."""

    head: list[str]
    hidden: int
    tail: list[str]

    @property
    def note(self) -> str:
        """What stands in for the hidden lines."""
        return f"… {plural(self.hidden, 'more line')} ({TRUNCATED_WHERE})"

    def plain(self) -> str:
        """The kept lines and the note, as plain text."""
        if not self.hidden:
            return "\n".join(self.head)
        return "\n".join([*self.head, self.note, *self.tail])


def truncate(lines: list[str], max_lines: int) -> Truncated:
    """Keep at most ``max_lines`` of ``lines``: both ends, since a printout's start and a traceback's end matter.

    ``max_lines < 1`` means no limit.
    """
    if max_lines < 1 or len(lines) <= max_lines:
        return Truncated(lines, 0, [])
    tail = max_lines // 4
    head = max_lines - tail
    return Truncated(lines[:head], len(lines) - max_lines, lines[len(lines) - tail :] if tail else [])


def quote_lines(text: str) -> str:
    """``text`` with a bar before each line, as code appears in a plain transcript."""
    return "\n".join("│ " + line for line in clean(text).rstrip("\n").split("\n"))
