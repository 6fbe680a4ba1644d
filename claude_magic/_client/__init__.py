"""The one place that talks to the Anthropic SDK: files, skills, streamed messages, batches, typed errors.

Only the modules of this package import ``anthropic``, and they do so lazily (the SDK takes about
two seconds to import): importing this package does not import it. SDK objects never leave the
package: content blocks become plain wire-shaped dicts, errors become ``claude_magic.errors``
exceptions. Retries and stream accumulation are the SDK's own.

Modules, one responsibility each: ``_api`` (the ``ApiClient`` and its SDK client), ``_files``,
``_skills``, ``_messages`` and ``_batches`` (one API area each, as mixins of ``ApiClient``),
``_convert`` (SDK objects to our values), ``_errors`` (SDK exceptions to our errors),
``_credentials`` (what the SDK authenticates with, fingerprinted), ``_constants`` and ``_warm``
(importing the SDK ahead of the first request).
"""

from __future__ import annotations

from claude_magic._client._api import ApiClient
from claude_magic._client._constants import (
    CODE_EXECUTION_TOOLS,
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    known_tool_versions,
)
from claude_magic._client._credentials import key_fingerprint
from claude_magic._client._messages import (
    COMPACTION_BETA,
    CONTEXT_MANAGEMENT_BETA,
    BlockEventKind,
    BlockListener,
    beta_headers,
)
from claude_magic._client._warm import warm_up

__all__ = [
    "CODE_EXECUTION_TOOLS",
    "COMPACTION_BETA",
    "CONTEXT_MANAGEMENT_BETA",
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "ApiClient",
    "BlockEventKind",
    "BlockListener",
    "beta_headers",
    "key_fingerprint",
    "known_tool_versions",
    "warm_up",
]
