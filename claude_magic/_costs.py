"""Cost you can see and cap: each turn's estimated cost, the session's running total, and the caps.

A turn's cost is its tokens at list prices (cache reads and writes at their multiples) plus the
container time it adds by the documented billing (``_pricing.ContainerMeter``). There is no usage
counter for code execution: ``Usage.code_execution_requests`` is counted from the response blocks.

Caps (``max_cost_per_cell``, ``max_cost_per_session``; US dollars, off by default) are kept in
two places: a pre-flight estimate before a cell is sent (``messages.count_tokens`` when the
history is large), and a ``Budget`` the turn runner asks before every request, which lowers
``max_tokens`` so that a request's worst case fits what is left, or stops the turn. So a
Run-All over many cells cannot spend past the session cap, except by container time a long
execution runs past its reserve (the docs bill it by time, which no request can bound).

Stdlib only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from claude_magic import _pricing as pricing
from claude_magic.errors import CostCapError
from claude_magic.results import SessionUsage, Usage

Message = dict[str, Any]
PREFLIGHT_CHARS: Final = 100_000  # above this the pre-flight asks count_tokens instead of guessing
_CHARS_PER_TOKEN: Final = 3.0  # a local guess that over-counts JSON-heavy history (safe for a cap)
_MIN_OUTPUT: Final = 256  # fewer output tokens than this is not worth a request


def guess_tokens(value: object) -> int:
    """A cautious local token count (about 3 characters of JSON a token)."""
    return int(len(json.dumps(value, separators=(",", ":"))) / _CHARS_PER_TOKEN) + 1


@dataclass(frozen=True, slots=True)
class Caps:
    """Cost caps in US dollars; None is no cap."""

    per_cell: float | None = None
    per_session: float | None = None

    @property
    def active(self) -> bool:
        """Whether any cap is set."""
        return self.per_cell is not None or self.per_session is not None


class CostBook:
    """Prices turns and keeps the session's running total (tokens, cache share, container time, cost)."""

    def __init__(self) -> None:
        self._meter = pricing.ContainerMeter()
        self.total = SessionUsage()

    def price(
        self,
        model: str,
        usage: Usage,
        *,
        container_id: str | None,
        started: float,
        ended: float,
        container_billed: bool,
    ) -> tuple[float | None, float]:
        """A turn's (cost, billed container seconds); cost None when the model's prices are unknown."""
        seconds = 0.0
        if container_billed and container_id is not None:
            seconds = self._meter.bill(container_id, started, ended)
        tokens = pricing.token_cost(model, usage)
        if tokens is None:
            return None, seconds
        searches = usage.web_search_requests * pricing.WEB_SEARCH_DOLLARS_EACH
        return tokens + searches + seconds / 3600 * pricing.CONTAINER_DOLLARS_PER_HOUR, seconds

    def add(self, usage: Usage, cost: float | None, seconds: float) -> SessionUsage:
        """Add a finished turn to the total; returns the new total."""
        total = self.total
        self.total = replace(
            total,
            turns=total.turns + 1,
            usage=total.usage + usage,
            container_seconds=total.container_seconds + seconds,
            cost=None if cost is None or total.cost is None else total.cost + cost,
        )
        return self.total

    def reset(self) -> None:
        """Start the total again (a fresh conversation keeps nothing of the old bill but the meter)."""
        self.total = SessionUsage()


@dataclass
class Budget:
    """What one turn may still spend; the runner asks it before each request.

    Parameters
    ----------
    model
        The turn's model (for its prices).
    caps
        The caps in force.
    spent
        What the session had spent before this turn.
    caching
        Whether requests write the cache (input is then priced at the write price, the worst case).
    ttl
        The cache TTL (``"1h"`` writes cost more).
    container_reserve
        Dollars held back for container time (the 5-minute minimum when the container bills).
    first_tokens
        Input tokens of the turn's first request when known (from ``count_tokens``).
    """

    model: str
    caps: Caps
    spent: float
    caching: bool
    ttl: str
    container_reserve: float
    first_tokens: int | None = None
    lowered_to: int | None = None

    def left(self, turn_so_far: Usage) -> float:
        """Dollars this turn may still spend (infinite without caps)."""
        price = pricing.token_cost(self.model, turn_so_far) or 0.0
        limits = []
        if self.caps.per_cell is not None:
            limits.append(self.caps.per_cell - price)
        if self.caps.per_session is not None:
            limits.append(self.caps.per_session - self.spent - price)
        return min(limits) if limits else float("inf")

    def input_cost(self, tokens: int) -> float:
        """Worst-case dollars for *tokens* of input (written to the cache when caching)."""
        price = pricing.model_price(self.model)
        if price is None:
            return 0.0
        rate = price.input
        if self.caching:
            rate = price.cache_write_1h if self.ttl == "1h" else price.cache_write
        return tokens * rate / 1_000_000

    def __call__(self, turn_so_far: Usage, messages: Sequence[Message], max_tokens: int, floor: int) -> int:
        """The ``max_tokens`` the next request may use so its worst case fits, or 0 to stop.

        Raises ``CostCapError`` for the turn's first request (nothing has been spent yet).
        """
        if not self.caps.active:
            return max_tokens
        price = pricing.model_price(self.model)
        first = turn_so_far == Usage()
        if price is None:
            raise CostCapError(
                f"A cost cap is set but the price of {self.model} is not known: unset the cap or run with --force."
            )
        tokens = self.first_tokens if first and self.first_tokens is not None else guess_tokens(list(messages))
        room = self.left(turn_so_far) - self.input_cost(tokens) - (self.container_reserve if first else 0.0)
        allowed = min(max_tokens, int(room / price.output * 1_000_000)) if room > 0 else 0
        if allowed < max(floor, _MIN_OUTPUT):
            if first:
                raise CostCapError(self.refusal(tokens))
            return 0
        if allowed < max_tokens:
            self.lowered_to = allowed
        return allowed

    def refusal(self, tokens: int) -> str:
        """The one-line refusal: what it would cost, which cap, and how to go on."""
        cost = self.input_cost(tokens) + self.container_reserve
        which = []
        if self.caps.per_cell is not None:
            which.append(f"the cell cap is ${self.caps.per_cell:.2f}")
        if self.caps.per_session is not None:
            which.append(f"the session has spent ${self.spent:.2f} of its ${self.caps.per_session:.2f} cap")
        return (
            f"Not sent: this cell would cost at least ${cost:.4f} ({tokens:,} input tokens) and {', '.join(which)}. "
            "Raise ClaudeMagics.max_cost_per_cell / max_cost_per_session, run the cell with --force, or shrink the "
            "conversation with %claude_compact or %claude_reset."
        )


TokenCounter = Callable[[Sequence[Message]], int]


def preflight(budget: Budget, messages: Sequence[Message], count: TokenCounter, max_tokens: int) -> None:
    """Check a cell against the caps before anything is sent; large histories are counted by the API.

    Sets ``budget.first_tokens``; raises ``CostCapError`` with the one-line refusal.
    """
    if not budget.caps.active:
        return
    size = len(json.dumps(list(messages), separators=(",", ":")))
    budget.first_tokens = count(messages) if size > PREFLIGHT_CHARS else guess_tokens(list(messages))
    budget(Usage(), messages, max_tokens, floor=0)
