"""Estimate what a turn cost from its model, token counts and duration.

Stdlib only: it reads token counts through the ``TokenCounts`` protocol, so it imports nothing of
ours. The prices are a small hand-kept table of public list prices in US dollars; they go stale,
so every figure derived from them is shown as "estimated". Free container hours and regional
pricing are ignored; Message Batches (``estimate_batch_cost``) bill tokens at half price and code
execution as usual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "BATCH_TOKEN_FACTOR",
    "CONTAINER_DOLLARS_PER_HOUR",
    "CONTAINER_MINIMUM_SECONDS",
    "FREES_CODE_EXECUTION",
    "WEB_SEARCH_DOLLARS_EACH",
    "ContainerMeter",
    "ModelPrice",
    "TokenCounts",
    "container_cost",
    "container_time_is_free",
    "estimate_batch_cost",
    "estimate_cost",
    "model_price",
    "token_cost",
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
_CACHE_WRITE_1H_FACTOR: Final = 2.0  # 1-hour cache writes cost twice the input price (doc "Prompt caching")
# "free when web_search_20260209+ or web_fetch_20260209+ is in the request" (doc-CE "Usage and pricing").
_FREE_WITH: Final = re.compile(r"web_(?:search|fetch)_(\d{8})")
_FREE_SINCE: Final = 20260209


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
    def cache_creation_1h_input_tokens(self) -> int: ...
    @property
    def web_search_requests(self) -> int: ...


# "Code execution tool calls through the Messages Batches API are priced the same as those in regular
# Messages API requests" (doc-CE "Batch requests"); batch tokens cost half (api-spec §13).
BATCH_TOKEN_FACTOR: Final = 0.5


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

    @property
    def cache_write_1h(self) -> float:
        """Price of a million input tokens written to the 1-hour prompt cache."""
        return self.input * _CACHE_WRITE_1H_FACTOR


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
    tokens = token_cost(model, usage)
    if tokens is None:
        return None
    container = container_cost(duration) if usage.code_execution_requests and not code_execution_free else 0.0
    return tokens + container + usage.web_search_requests * WEB_SEARCH_DOLLARS_EACH


def token_cost(model: str, usage: TokenCounts) -> float | None:
    """Dollars for a turn's tokens: input, output, cache reads (0.1x) and writes (1.25x for 5 m, 2x for 1 h).

    Returns None when the model's prices are unknown.
    """
    price = model_price(model)
    if price is None:
        return None
    writes_1h = min(usage.cache_creation_1h_input_tokens, usage.cache_creation_input_tokens)
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_input_tokens * price.cache_read
        + (usage.cache_creation_input_tokens - writes_1h) * price.cache_write
        + writes_1h * price.cache_write_1h
    ) / 1_000_000


def container_time_is_free(tool_types: Iterable[str]) -> bool:
    """Whether code execution time is free for a request with these tool types (web tools 20260209+)."""
    return any((match := _FREE_WITH.fullmatch(kind)) and int(match[1]) >= _FREE_SINCE for kind in tool_types)


class ContainerMeter:
    """Billed container time, per container, by the documented rule: by execution time, 5-minute minimum.

    The docs do not say what one "use" is. Here a use of a container is billed from the start of
    the turn that opens it for at least five minutes; a turn that starts while that billed window
    is still open pays only for the time it runs past the window, so the minimum is paid once per
    use, not once per cell. The free monthly allowance is not known here and is ignored.
    """

    def __init__(self) -> None:
        self._billed_until: dict[str, float] = {}  # container id -> end of the time already billed

    def bill(self, container_id: str, started: float, ended: float) -> float:
        """Seconds to bill for a turn that used *container_id* from *started* to *ended* (monotonic)."""
        until = self._billed_until.get(container_id)
        if until is not None and started <= until:
            self._billed_until[container_id] = max(until, ended)
            return max(0.0, ended - until)
        seconds = max(ended - started, float(CONTAINER_MINIMUM_SECONDS))
        self._billed_until[container_id] = started + seconds
        return seconds


def estimate_batch_cost(model: str, batch: TokenCounts, ordinary: TokenCounts | None = None) -> float | None:
    """Estimate one batch item's cost: its batch tokens at half price, follow-up requests at full price.

    *ordinary* is the usage of ordinary requests made for the item (continuing a ``pause_turn``).
    Container time is charged once, at the 5-minute minimum, when code ran: a batch reports no
    durations.

    Examples
    --------
    >>> from claude_magic.results import Usage
    >>> round(estimate_batch_cost("claude-sonnet-4-5", Usage(1_000_000, 100_000)), 2)
    2.25
    """
    price = model_price(model)
    if price is None:
        return None
    tokens = (token_cost(model, batch) or 0.0) * BATCH_TOKEN_FACTOR + (
        (token_cost(model, ordinary) or 0.0) if ordinary else 0.0
    )
    ran_code = batch.code_execution_requests or (ordinary is not None and ordinary.code_execution_requests)
    return tokens + (container_cost(0.0) if ran_code else 0.0)
