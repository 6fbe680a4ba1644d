"""Token counts and prompt caching as documented: a prefix identical to an earlier request's reads from cache.

A request is cut into *units*: all tools, then the system prompt, then each content block of each
message, in the order the docs give for the cache prefix (tools, system, messages). Each unit
has a token count (about 4 characters of its JSON a token) and a running digest of everything up
to and including it, so two requests share a cached prefix exactly when their units agree up to
a point.

With automatic caching (top-level ``cache_control``) the breakpoint is the last unit; blocks may
also carry their own ``cache_control`` breakpoints. A breakpoint reads the longest cached prefix
ending within ``cache_lookback`` units before it ("the system checks for hits at up to about 20
block boundaries before a breakpoint"), then writes the prefix up to the breakpoint if it is at
least ``cache_min_tokens`` long. A hit refreshes the entry's lifetime ("5m" or "1h"). The
guesses (lookback, minimum, what counts as a unit) are rows of ``behaviours.BEHAVIOURS``.

Imports only the standard library.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from claude_magic.testing.behaviours import Behaviours

_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def tokens_of(value: object) -> int:
    """About four characters of JSON a token (at least one)."""
    return max(1, len(json.dumps(value, separators=(",", ":"))) // 4)


def _canonical(value: Any) -> Any:
    """The value as the cache sees it: without ``cache_control`` markers and explicit nulls."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items()) if v is not None and k != "cache_control"}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


@dataclass(frozen=True)
class Unit:
    """One block boundary of a request: the digest of the prefix up to it, its tokens, and its own breakpoint."""

    digest: str
    tokens: int
    cumulative: int
    breakpoint: dict[str, Any] | None = None


def units(
    model: str, tools: object, system: object, turns: Sequence[tuple[str, Sequence[dict[str, Any]]]]
) -> list[Unit]:
    """Cut a request into cache units (tools, system, then each block of each turn)."""
    pieces: list[tuple[object, dict[str, Any] | None]] = []
    if tools:
        last_tool = tools[-1] if isinstance(tools, list) and tools else None
        mark = last_tool.get("cache_control") if isinstance(last_tool, dict) else None
        pieces.append((tools, mark))
    if system:
        pieces.append((system, None))
    for role, blocks in turns:
        for block in blocks:
            pieces.append(({"role": role, "block": block}, block.get("cache_control")))
    found: list[Unit] = []
    digest = hashlib.sha256(model.encode()).hexdigest()
    total = 0
    for value, mark in pieces:
        text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256((digest + text).encode()).hexdigest()
        count = tokens_of(value)
        total += count
        found.append(Unit(digest, count, total, mark if isinstance(mark, dict) else None))
    return found


@dataclass(frozen=True)
class CacheUsage:
    """How a request's input tokens split between fresh input, cache reads and cache writes."""

    input_tokens: int
    cache_read_input_tokens: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        """Tokens written to the cache, whatever the TTL."""
        return self.cache_creation_5m + self.cache_creation_1h

    def wire(self) -> dict[str, Any]:
        """The usage fields (``cache_creation`` with its TTL breakdown)."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
        }


class PromptCache:
    """The cached prefixes of one stand-in: digest -> (expiry, ttl); thread-safe."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.behaviours = behaviours
        self._entries: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self.offset = 0.0  # seconds added to the clock (``StandIn.age_prompt_cache``)

    def now(self) -> float:
        return time.monotonic() + self.offset

    def account(self, found: Sequence[Unit], top_level: object) -> CacheUsage:
        """Split the request's tokens, reading and writing the cache as documented."""
        total = found[-1].cumulative if found else 0
        breakpoints: list[tuple[int, str]] = []
        for index, unit in enumerate(found):
            if unit.breakpoint is not None:
                breakpoints.append((index, str(unit.breakpoint.get("ttl") or "5m")))
        if isinstance(top_level, dict) and found:
            ttl = str(top_level.get("ttl") or "5m")
            breakpoints = [b for b in breakpoints if b[0] != len(found) - 1] + [(len(found) - 1, ttl)]
        if not breakpoints:
            return CacheUsage(total)
        read = written_5m = written_1h = 0
        now = self.now()
        with self._lock:
            for index, ttl in sorted(breakpoints):
                lookback = int(self.behaviours.cache_lookback)
                for candidate in range(index, max(-1, index - lookback - 1), -1):
                    entry = self._entries.get(found[candidate].digest)
                    if entry is not None and entry[0] > now and found[candidate].cumulative > read:
                        read = found[candidate].cumulative
                        self._entries[found[candidate].digest] = (now + _TTL_SECONDS[entry[1]], entry[1])
                        break
                size = found[index].cumulative
                already = read + written_5m + written_1h
                if size >= self.behaviours.cache_min_tokens and size > already:
                    self._entries[found[index].digest] = (now + _TTL_SECONDS.get(ttl, 300.0), ttl)
                    if ttl == "1h":
                        written_1h += size - already
                    else:
                        written_5m += size - already
        return CacheUsage(total - read - written_5m - written_1h, read, written_5m, written_1h)
