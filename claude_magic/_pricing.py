"""Estimate what a turn cost from its model, token counts and duration.

Stdlib only: it reads token counts through the ``TokenCounts`` protocol, so it imports nothing of
ours. The prices are a small hand-kept table of public list prices in US dollars; they go stale,
so every figure derived from them is shown as "estimated". Batch discounts, free container hours
and regional pricing are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "CONTAINER_DOLLARS_PER_HOUR",
    "CONTAINER_MINIMUM_SECONDS",
    "FREES_CODE_EXECUTION",
    "WEB_SEARCH_DOLLARS_EACH",
    "ModelPrice",
    "TokenCounts",
    "container_cost",
    "estimate_cost",
    "model_price",
]

CONTAINER_DOLLARS_PER_HOUR: Final = 0.05
WEB_SEARCH_DOLLARS_EACH: Final = 10.0 / 1000  # $10 per 1,000 searches; fetches cost only their tokens
CONTAINER_MINIMUM_SECONDS: Final = 5 * 60
# The server tool types whose presence makes code execution free (doc-CE "Usage and pricing"):
# web_search_20260209+ and web_fetch_20260209+; kept here so the pricing table stays stdlib-only.
FREES_CODE_EXECUTION: Final = frozenset(
    {"web_search_20260209", "web_search_20260318", "web_fetch_20260209", "web_fetch_20260309", "web_fetch_20260318"}
)
_CACHE_READ_FACTOR: Final = 0.1  # cache hits cost a tenth of the input price
_CACHE_WRITE_FACTOR: Final = 1.25  # 5-minute cache writes cost a quarter more than input


class TokenCounts(Protocol):
    """What a cost estimate reads from ``claude_magic.results.Usage``."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_input_tokens(self) -> int: ...
    @property
    def cache_creation_input_tokens(self) -> int: ...
    @property
    def code_execution_requests(self) -> int: ...
    @property
    def web_search_requests(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """List prices of one model, in US dollars per million tokens."""

    input: float
    output: float

    @property
    def cache_read(self) -> float:
        """Price of a million input tokens read from the prompt cache."""
        return self.input * _CACHE_READ_FACTOR

    @property
    def cache_write(self) -> float:
        """Price of a million input tokens written to the (5-minute) prompt cache."""
        return self.input * _CACHE_WRITE_FACTOR


# "claude-opus-4-5-20251101", "claude-sonnet-5", "anthropic.claude-haiku-4-5-v1:0": family, then version.
# The minor version has at most two digits so that a date suffix is not read as one.
_NEW_NAME: Final = re.compile(r"(opus|sonnet|haiku)[-.](\d{1,2})(?:[-.](\d{1,2}))?(?!\d)")
# "claude-3-5-haiku-20241022", "claude-3-opus-20240229": version, then family.
_OLD_NAME: Final = re.compile(r"(?<!\d)(\d+)(?:[-.](\d{1,2}))?-(opus|sonnet|haiku)")
_FAMILY: Final = re.compile(r"opus|sonnet|haiku")
_LATEST: Final = (99, 0)


def _family_and_version(model: str) -> tuple[str, tuple[int, int]] | None:
    name = model.lower()
    if match := _NEW_NAME.search(name):
        return match[1], (int(match[2]), int(match[3] or 0))
    if match := _OLD_NAME.search(name):
        return match[3], (int(match[1]), int(match[2] or 0))
    if match := _FAMILY.search(name):
        return match[0], _LATEST  # a bare family name: assume the newest prices
    return None


def model_price(model: str) -> ModelPrice | None:
    """Look up list prices by model family and version.

    Parameters
    ----------
    model : str
        A model id such as ``"claude-sonnet-4-5"``; matched by family name (opus, sonnet, haiku).

    Returns
    -------
    ModelPrice or None
        None for a model whose family is not known.
    """
    found = _family_and_version(model)
    if found is None:
        return None
    family, version = found
    if family == "opus":
        return ModelPrice(5.0, 25.0) if version >= (4, 5) else ModelPrice(15.0, 75.0)
    if family == "haiku":
        if version >= (4, 5):
            return ModelPrice(1.0, 5.0)
        return ModelPrice(0.8, 4.0) if version >= (3, 5) else ModelPrice(0.25, 1.25)
    return ModelPrice(3.0, 15.0)


def container_cost(duration: float) -> float:
    """Dollars for ``duration`` seconds of code-execution container time (5-minute minimum)."""
    return max(duration, CONTAINER_MINIMUM_SECONDS) / 3600 * CONTAINER_DOLLARS_PER_HOUR


def estimate_cost(
    model: str, usage: TokenCounts, duration: float, *, code_execution_free: bool = False
) -> float | None:
    """Estimate a turn's cost in US dollars from list prices.

    Tokens are priced per model (cache reads and writes at their usual multiples of the input
    price). Container time is charged only when code ran (``usage.code_execution_requests``),
    using the turn's wall-clock ``duration`` with a 5-minute minimum: an over-estimate, since
    the container idles while the model writes. It is free (``code_execution_free``) when the
    request carried ``web_search_20260209``+ or ``web_fetch_20260209``+ (doc-CE "Usage and
    pricing"). Web searches cost ``WEB_SEARCH_DOLLARS_EACH`` each.

    Parameters
    ----------
    model : str
        The model id the turn used.
    usage : TokenCounts
        Token and tool counts summed over the turn.
    duration : float
        The turn's duration in seconds.
    code_execution_free : bool
        The newer web tools were in the request, so container time is not billed.

    Returns
    -------
    float or None
        None when the model's prices are unknown.

    Examples
    --------
    >>> from claude_magic.results import Usage
    >>> round(estimate_cost("claude-sonnet-4-5", Usage(1_000_000, 100_000), 0.0), 2)
    4.5
    """
    price = model_price(model)
    if price is None:
        return None
    tokens = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_input_tokens * price.cache_read
        + usage.cache_creation_input_tokens * price.cache_write
    ) / 1_000_000
    container = container_cost(duration) if usage.code_execution_requests and not code_execution_free else 0.0
    return tokens + container + usage.web_search_requests * WEB_SEARCH_DOLLARS_EACH
