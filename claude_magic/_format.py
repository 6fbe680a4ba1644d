"""Formatting for people: sizes, durations and plurals, shared by the renderer, the widget and the core.

Stdlib only.
"""

from __future__ import annotations


def human_size(size: int) -> str:
    """A byte count for people, in binary units (the Files API's 500 MB limit is 500 × 2**20 bytes)."""
    if size < 1024:
        return f"{size:,} byte" + ("" if size == 1 else "s")
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024:
            return f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TB"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 file"``, ``"3 files"``."""
    return f"{count:,} {noun if count == 1 else plural_form or noun + 's'}"


def duration(seconds: float) -> str:
    """``"0.4 s"``, ``"12 s"``, ``"3 min 5 s"``, ``"2 h 1 min"``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
