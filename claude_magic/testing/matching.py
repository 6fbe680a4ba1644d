"""How a replay server finds the recorded exchange for a request: ids mapped, bodies normalised.

A request matches a recorded one when its method, path, query and body are equal once every id the
replay handed out (files, containers, tool uses, messages, requests) is mapped back to the recorded id
it stands for. ``IdMap`` keeps that mapping both ways; with ``fresh=True`` the replay hands out new ids
instead of the recorded ones, which proves a client never depends on a particular id.
Standard library only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from claude_magic.testing.cassette import Exchange, header, parts_summary

# Real ids are a prefix, "_01" and 20-odd base58 characters; the length keeps words like file_name out.
ID_PATTERN = re.compile(r"\b(file|container|srvtoolu|toolu|msg|req)_(01[0-9A-Za-z]{16,})\b")
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_IGNORED_QUERY = frozenset({"beta"})


class IdMap:
    """Recorded ids and the ids the replay handed out in their place, kept consistent both ways."""

    def __init__(self, *, fresh: bool = False) -> None:
        self.fresh = fresh
        self._to_live: dict[str, str] = {}
        self._to_recorded: dict[str, str] = {}
        self._lock = threading.Lock()

    def to_live(self, text: str) -> str:
        """*text* (a recorded body) with each recorded id replaced by the id handed out for it."""
        return ID_PATTERN.sub(lambda match: self._live(match.group(0), match.group(1), match.group(2)), text)

    def to_recorded(self, text: str) -> str:
        """*text* (an incoming request) with each id the replay handed out replaced by its recorded id."""
        with self._lock:
            known = dict(self._to_recorded)
        return ID_PATTERN.sub(lambda match: known.get(match.group(0), match.group(0)), text)

    def _live(self, recorded: str, prefix: str, tail: str) -> str:
        if not self.fresh:
            return recorded
        with self._lock:
            if recorded not in self._to_live:
                live = f"{prefix}_01" + "".join(secrets.choice(_ALPHABET) for _ in range(len(tail) - 2))
                self._to_live[recorded], self._to_recorded[live] = live, recorded
            return self._to_live[recorded]


@dataclass(frozen=True, slots=True)
class Key:
    """What a request is matched on, with ids in the recorded space."""

    method: str
    path: str
    query: str
    body: str
    loose_body: str  # for uploads: the parts without their content hashes

    @property
    def text(self) -> str:
        """The key as one string, for similarity."""
        query = f"?{self.query}" if self.query else ""
        return f"{self.method} {self.path}{query}\n{self.body}"


def _canonical_query(query: dict[str, list[str]]) -> str:
    items = sorted((name, value) for name, values in query.items() if name not in _IGNORED_QUERY for value in values)
    return "&".join(f"{name}={value}" for name, value in items)


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _parts_key(parts: list[dict[str, Any]], *, with_content: bool) -> str:
    fields = ("name", "filename", "content_type", "sha256") if with_content else ("name", "filename")
    return _canonical_json([{field: part.get(field) for field in fields} for part in parts])


def recorded_key(exchange: Exchange) -> Key:
    """The key of a recorded request."""
    request = exchange.request
    body = request["body"]
    kind = body["kind"]
    if kind == "json":
        text = loose = _canonical_json(body["json"])
    elif kind == "multipart":
        text, loose = _parts_key(body["parts"], with_content=True), _parts_key(body["parts"], with_content=False)
    elif kind == "bytes":
        text = loose = f"sha256:{body['file']}"
    else:
        text = loose = ""
    return Key(request["method"], request["path"].rstrip("/") or "/", _canonical_query(request["query"]), text, loose)


def incoming_key(ids: IdMap, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes) -> Key:
    """The key of an incoming request, its ids mapped back to the recorded ones."""
    path = ids.to_recorded(path).rstrip("/") or "/"
    canonical_query = _canonical_query(parse_qs(ids.to_recorded(query), keep_blank_values=True))
    content_type = header(headers, "content-type")
    text = loose = ""
    if body:
        parts = parts_summary(content_type, body) if content_type.startswith("multipart/") else None
        if parts is not None:
            text, loose = _parts_key(parts, with_content=True), _parts_key(parts, with_content=False)
        else:
            try:
                text = loose = _canonical_json(json.loads(ids.to_recorded(body.decode("utf-8"))))
            except ValueError:
                text = loose = f"sha256:{hashlib.sha256(body).hexdigest()}"
    return Key(method.upper(), path, canonical_query, text, loose)


def closest(key: Key, candidates: list[tuple[Exchange, Key]]) -> tuple[Exchange, float, str] | None:
    """The most similar recorded request, its similarity (0-1) and where the two first differ."""
    if not candidates:
        return None
    pool = [item for item in candidates if item[1].method == key.method] or candidates
    # quick_ratio bounds ratio from above: rank by it, then compute the real ratio for a few.
    ranked = sorted(pool, key=lambda item: difflib.SequenceMatcher(None, key.text, item[1].text).quick_ratio())
    best: tuple[Exchange, float, str] | None = None
    for exchange, other in ranked[-5:]:
        matcher = difflib.SequenceMatcher(None, key.text, other.text, autojunk=False)
        ratio = matcher.ratio()
        if best is None or ratio > best[1]:
            best = (exchange, ratio, _first_difference(matcher, key.text, other.text))
    return best


def _first_difference(matcher: difflib.SequenceMatcher[str], sent: str, recorded: str) -> str:
    for tag, i1, _, j1, _ in matcher.get_opcodes():
        if tag != "equal":
            before = sent[max(0, i1 - 30) : i1]
            return f"after …{before!r}: sent {sent[i1 : i1 + 40]!r}, recorded {recorded[j1 : j1 + 40]!r}"
    return "they are equal (it was already used)"
