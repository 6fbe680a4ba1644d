"""Numbers for people: sizes, durations, counted nouns and clock times.

Stdlib only, imported by the renderer, the live view, the widget and the session alike, so every
part of the package says "1.5 MB", "12.0 s" and "3 files" the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["duration", "elapsed", "human_size", "plural", "utc"]


def human_size(size: int) -> str:
    """A byte count in binary units (the Files API's 500 MB limit is 500 × 2**20 bytes).

    Examples
    --------
    >>> human_size(1), human_size(1536)
    ('1 byte', '1.5 KB')
    """
    if size < 1024:
        return f"{size:,} byte" + ("" if size == 1 else "s")
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024:
            return f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TB"


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, with an ``s`` unless there is exactly one.

    Examples
    --------
    >>> plural(1, "file"), plural(1200, "line")
    ('1 file', '1,200 lines')
    """
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def duration(seconds: float) -> str:
    """Seconds as ``"4.2 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def elapsed(seconds: float) -> str:
    """A running clock for a status line: ``"7 s"``, ``"1 min 05 s"`` (whole seconds, never frozen-looking)."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return duration(whole)


def utc(moment: datetime) -> str:
    """An absolute ISO 8601 time in UTC (naive datetimes are taken to be UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
