"""Frozen values for the Message Batches API, as ``_client`` hands them over (no SDK objects).

Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from claude_magic.results import Response

ItemStatus: TypeAlias = Literal["succeeded", "errored", "canceled", "expired"]
ITEM_STATUSES: tuple[ItemStatus, ...] = ("succeeded", "errored", "canceled", "expired")


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """``request_counts``: requests count as processing until the whole batch has ended."""

    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """One Message Batch as the API reports it."""

    id: str
    processing_status: str  # "in_progress", "canceling" or "ended"
    counts: BatchCounts
    created_at: datetime | None = None
    ended_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def ended(self) -> bool:
        """Whether processing has ended (results can be read)."""
        return self.processing_status == "ended"


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    """One line of a batch's results: the answer to one request, or why there is none."""

    custom_id: str
    status: ItemStatus
    response: Response | None = None  # succeeded
    error_type: str | None = None  # errored
    error_message: str | None = None
    request_id: str | None = None
