"""Failures a test asks for: injected error responses and broken or failing streams."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from claude_magic.testing.envelope import ApiError


@dataclass
class _Failure:
    error: ApiError
    remaining: int
    path_prefix: str | None


@dataclass(frozen=True)
class StreamFault:
    """What to do to the next streamed response after ``after_events`` SSE frames (pings count)."""

    after_events: int
    error_type: str | None = None  # None: close the connection; else send ``event: error``


class Faults:
    """Thread-safe queue of pending failures; each is used up by the requests it matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._stream: list[StreamFault] = []

    def fail_next(
        self,
        status: int,
        *,
        error_type: str | None = None,
        message: str | None = None,
        count: int = 1,
        error_code: str | None = None,
        path_prefix: str | None = None,
        retry: bool = False,
    ) -> None:
        """Queue *count* error responses for the next requests whose path starts with *path_prefix*."""
        if count < 1:
            raise ValueError("count must be at least 1")
        headers = {"x-should-retry": "true", "retry-after-ms": "1"} if retry else {"x-should-retry": "false"}
        error = ApiError(status, message, error_type=error_type, error_code=error_code, headers=headers)
        with self._lock:
            self._failures.append(_Failure(error, count, path_prefix))

    def add_stream_fault(self, fault: StreamFault) -> None:
        """Queue a fault for the next streamed response."""
        if fault.after_events < 0:
            raise ValueError("after_events must be >= 0")
        with self._lock:
            self._stream.append(fault)

    def take_failure(self, path: str) -> ApiError | None:
        """The injected error for a request to *path*, if one is pending."""
        with self._lock:
            for failure in self._failures:
                if failure.path_prefix is None or path.startswith(failure.path_prefix):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return failure.error
        return None

    def take_stream_fault(self) -> StreamFault | None:
        """The fault for the stream about to start, if one is pending."""
        with self._lock:
            return self._stream.pop(0) if self._stream else None
