"""``ApiClient``: the SDK client built once, with credentials resolved and fingerprinted, and each API area mixed in.

Imports ``anthropic`` lazily, inside ``ApiClient.__init__``.
"""

from __future__ import annotations

from typing import Any

from claude_magic import errors
from claude_magic._client._batches import BatchesApi
from claude_magic._client._credentials import _credential_identity, key_fingerprint
from claude_magic._client._files import FilesApi
from claude_magic._client._messages import MessagesApi
from claude_magic._client._skills import SkillsApi


class ApiClient(FilesApi, SkillsApi, MessagesApi, BatchesApi):
    """A thin wrapper over ``anthropic.Anthropic`` that speaks in our values and errors.

    Parameters
    ----------
    base_url
        API base URL; None lets the SDK decide (``ANTHROPIC_BASE_URL``, else the public API).
    timeout, max_retries
        Passed to the SDK, which does the retrying.
    http_client
        An ``httpx2.Client`` for the SDK to use (e.g. one that records a cassette); None: the SDK's own.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float = 600.0,
        max_retries: int = 2,
        http_client: Any = None,
    ) -> None:
        import anthropic

        # The SDK resolves credentials itself (api key, auth token, profiles, workload identity):
        # passing a key read here would switch its other sources off.
        try:
            self._sdk = anthropic.Anthropic(
                base_url=base_url, timeout=timeout, max_retries=max_retries, http_client=http_client
            )
        except anthropic.AnthropicError as exc:  # e.g. a profile named in the environment that is broken
            raise errors.MissingApiKeyError(str(exc).splitlines()[0] if str(exc) else "") from exc
        identity = _credential_identity(self._sdk)
        if identity is None:
            self._sdk.close()
            raise errors.MissingApiKeyError()
        self.fingerprint = key_fingerprint(identity)
        self.base_url = str(self._sdk.base_url).rstrip("/")
        self.timeout = timeout

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._sdk.close()
