"""What the SDK resolved to authenticate with, reduced to a one-way fingerprint (never stored).

Stdlib only; the SDK client it reads is passed in.
"""

from __future__ import annotations

import hashlib
from typing import Any


def key_fingerprint(secret: str) -> str:
    """A short, one-way fingerprint of a credential, to keep per-account state without storing it."""
    return hashlib.sha256(b"claude_magic:" + secret.encode()).hexdigest()[:16]


def _credential_identity(sdk: Any) -> str | None:
    """What the SDK resolved to authenticate with, as a string to fingerprint (never stored)."""
    if sdk.api_key:
        return f"api_key:{sdk.api_key}"
    if sdk.auth_token:
        return f"auth_token:{sdk.auth_token}"
    credentials = getattr(sdk, "credentials", None)
    if credentials is not None:
        # A profile or federation provider: identified by what selects it (profile name, config
        # path, rule), never by a token, which rotates.
        attributes = vars(credentials) if hasattr(credentials, "__dict__") else {}
        selectors = sorted(
            f"{key}={value}"
            for key, value in attributes.items()
            if key.lstrip("_") in ("profile", "config_path", "federation_rule_id", "organization_id", "env_var")
        )
        return f"credentials:{type(credentials).__qualname__}:{';'.join(selectors)}"
    return None
