"""What the API-area mixins of ``ApiClient`` share: the SDK client and the request timeout.

Imports ``anthropic`` for type checking only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import anthropic


class SdkHolder:
    """Base of the API-area mixins; ``ApiClient.__init__`` sets both attributes."""

    _sdk: anthropic.Anthropic
    timeout: float
