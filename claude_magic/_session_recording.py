"""The recording half of ``Session``: record every HTTP exchange into a cassette, and stop.

A mixin: recording swaps the transport (``_recording.recording_http_client``) and drops the API
client so the next request is made through it; the conversation, the container and the uploads
carry on. Stdlib and our own modules only.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from claude_magic.errors import ClaudeMagicError


class RecordingMixin:
    """Record the session's HTTP exchanges for offline replay (see ``Session``'s ``record`` parameter)."""

    # Provided by Session.
    _lock: threading.RLock
    _recording: Any  # the recording httpx client while recording

    def _drop_client(self) -> None:  # pragma: no cover - Session's
        raise NotImplementedError

    @property
    def recording(self) -> Path | None:
        """The cassette folder being recorded into, or None."""
        return self._recording.cassette_dir if self._recording is not None else None

    def record(self, cassette_dir: str | os.PathLike[str]) -> None:
        """Record every HTTP exchange from now on into *cassette_dir* (replaced on the first exchange).

        The conversation, the container and the uploads carry on: only the transport changes.
        """
        from claude_magic._recording import recording_http_client

        with self._lock:
            if self._recording is not None:
                raise ClaudeMagicError(f"Already recording into {self.recording}: stop that recording first.")
            self._recording = recording_http_client(cassette_dir)
            self._drop_client()

    def stop_recording(self) -> tuple[Path, int, int]:
        """Stop recording; returns the cassette folder, the exchanges recorded and those that came from a replay."""
        with self._lock:
            if self._recording is None:
                raise ClaudeMagicError("Not recording: start with Session.record(path) or %claude_record PATH.")
            recording, self._recording = self._recording, None
            self._drop_client()
        recording.close()
        return recording.cassette_dir, recording.recorded, recording.replayed
