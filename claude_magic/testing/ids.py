"""Identifiers and timestamps in the formats the real API uses."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_id(prefix: str, length: int = 24, stem: str = "011C") -> str:
    """Return ids such as ``file_011CNha8iCJcU1wXNR6q4V8w`` (``msg_01…`` with ``stem="01"``)."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(length - len(stem)))
    return f"{prefix}_{stem}{body}"


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Format *moment* as ``2026-10-21T12:00:00.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
