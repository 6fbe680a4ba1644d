"""A bounded glob: find files on the kernel's disk without walking the whole disk.

``glob.glob("/**", recursive=True)`` lists every file on the machine before it returns, and
``glob.iglob`` gives no control back while it walks directories that hold no match. This walk
matches glob's rules (``*`` and ``?`` within one path segment, ``**`` across segments, names
starting with a dot only when the pattern's segment does) one directory at a time, breadth first,
and stops at a number of matches, of entries looked at, or a deadline, saying which.

Stdlib only.
"""

from __future__ import annotations

import collections
import fnmatch
import glob
import os
import time
from dataclasses import dataclass

MAX_ENTRIES = 200_000
"""Directory entries looked at before the search gives up (a deadline alone could let a fast disk run long)."""


@dataclass(frozen=True, slots=True)
class DiskSearch:
    """The files found (sorted) and, when the search was cut short, why (else "")."""

    paths: tuple[str, ...]
    stopped: str = ""


def search_disk(
    pattern: str, *, max_matches: int = 500, seconds: float = 2.0, max_entries: int = MAX_ENTRIES
) -> DiskSearch:
    """Files matching the glob *pattern* (``~`` expanded), stopping early as the limits say.

    Parameters
    ----------
    pattern
        A glob, absolute or relative to the working directory; ``**`` matches any depth.
    max_matches
        Stop once this many files matched.
    seconds
        Stop after this long.
    max_entries
        Stop after looking at this many directory entries.
    """
    deadline = time.monotonic() + seconds
    parts = os.path.expanduser(pattern).split(os.sep)
    absolute = parts[0] == ""
    start = 1 if absolute else 0
    fixed = start  # leading segments without wildcards are a directory to start in, not a search
    while fixed < len(parts) - 1 and not glob.has_magic(parts[fixed]):
        fixed += 1
    root = os.sep.join(parts[:fixed]) or (os.sep if absolute else "")
    segments = tuple(parts[fixed:])
    if not segments or not os.path.isdir(root or "."):
        return DiskSearch(())
    found: list[str] = []
    looked = 0
    queue = collections.deque([(root, _closure(segments, {0}))])
    while queue:
        directory, states = queue.popleft()
        try:
            with os.scandir(directory or ".") as listing:
                entries = list(listing)
        except OSError:  # unreadable, or gone since it was listed
            continue
        for entry in sorted(entries, key=lambda item: item.name):
            looked += 1
            if looked > max_entries:
                return DiskSearch(tuple(sorted(found)), f"stopped after looking at {max_entries:,} entries")
            if looked % 256 == 0 and time.monotonic() > deadline:
                return DiskSearch(tuple(sorted(found)), f"stopped looking after {seconds:g} s")
            following = _closure(segments, _step(segments, states, entry.name))
            if not following:
                continue
            path = os.path.join(directory, entry.name)
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if any(state < len(segments) for state in following):
                    queue.append((path, following))
            elif len(segments) in following:
                found.append(path)
                if len(found) >= max_matches:
                    return DiskSearch(tuple(sorted(found)), f"stopped at {max_matches:,} files")
        if time.monotonic() > deadline and queue:
            return DiskSearch(tuple(sorted(found)), f"stopped looking after {seconds:g} s")
    return DiskSearch(tuple(sorted(found)))


def _step(segments: tuple[str, ...], states: frozenset[int], name: str) -> set[int]:
    """The pattern positions reached after matching one more path segment, *name*."""
    reached: set[int] = set()
    for state in states:
        if state >= len(segments):
            continue
        segment = segments[state]
        hidden = name.startswith(".") and not segment.startswith(".")
        if segment == "**":
            if not hidden:
                reached.add(state)  # ** goes on matching deeper segments
        elif not hidden and fnmatch.fnmatchcase(name, segment):
            reached.add(state + 1)
    return reached


def _closure(segments: tuple[str, ...], states: set[int]) -> frozenset[int]:
    """*states* plus the positions a ``**`` that matches no segment at all skips to."""
    done = set(states)
    todo = list(states)
    while todo:
        state = todo.pop()
        if state < len(segments) and segments[state] == "**" and state + 1 not in done:
            done.add(state + 1)
            todo.append(state + 1)
    return frozenset(done)
