"""Defaults and limits the settings start from, in a module light enough for ``%load_ext`` to import.

Stdlib only, no imports at all: the magics read these when their class is defined, before any
session (and the SDK) is needed.
"""

from __future__ import annotations

from typing import Final

DEFAULT_MODEL: Final = "claude-sonnet-5"
DEFAULT_MAX_TOKENS: Final = 16_384  # under the SDK's non-streaming ceiling, so --no-stream works too
MIN_EXPIRES_IN: Final = 3600  # one hour (Files API ``expires_in_seconds``, api-spec §2.1)
MAX_EXPIRES_IN: Final = 7_776_000  # ninety days
