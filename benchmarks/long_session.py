"""Long sessions against the offline stand-in: what caching saves, and what the bound keeps out of requests.

Two side-by-side runs of ten turns each, through ``Session`` and the real SDK over HTTP:

1. **Billed input tokens per turn**, with and without prompt caching. Billed input is what the
   turn's input costs, in input-token equivalents: fresh input + 1.25 x cache writes + 0.1 x
   cache reads (the documented 5-minute cache prices). Each turn runs code printing 8,000
   characters, so the history grows as in a notebook. Goal: turn 10 <= 0.3 x without caching.
2. **Request bytes per turn** with five executions of 1 MiB of stdout each (5 MiB a turn; the
   stand-in caps one execution's stdout at 1 MiB), with and without the bound on old, large tool
   results. Without it the conversation passes the API's 32 MB request limit and gets HTTP 413.
   Goal: <= 2 MB and never 413.

The figures are printed, not asserted. No API key or network is needed::

    .venv/bin/python benchmarks/long_session.py [--turns 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

from claude_magic import errors
from claude_magic._session import Session
from claude_magic.testing import Script, StandIn

TALK = Script.from_dict(
    {"replies": [{"match": "", "steps": [{"python": "print('row,value\\n' * 500)"}, {"text": "Here it is."}]}]}
)
FLOOD = Script.from_dict(
    {"replies": [{"match": "", "steps": [*([{"python": "print('x' * (1024 * 1024 - 1))"}] * 5), {"text": "Done."}]}]}
)


def billed_input(turns: int, *, cache: bool) -> list[float]:
    """Billed input tokens of each turn, in input-token equivalents."""
    with StandIn(script=TALK) as api, tempfile.TemporaryDirectory() as folder:
        session = Session(base_url=api.base_url, download_dir=folder, cache_dir=folder, cache=cache, max_retries=0)
        figures = []
        for number in range(turns):
            usage = session.run(f"Step {number + 1}: add the next rows.").usage
            figures.append(
                usage.input_tokens + 1.25 * usage.cache_creation_input_tokens + 0.1 * usage.cache_read_input_tokens
            )
        session.close()
        return figures


def request_bytes(turns: int, *, bound: bool) -> list[int | str]:
    """The size of each turn's (last) Messages request, or ``"413"`` when the API refused it as too large."""
    with StandIn(script=FLOOD) as api, tempfile.TemporaryDirectory() as folder:
        session = Session(
            base_url=api.base_url,
            download_dir=folder,
            cache_dir=folder,
            max_retries=0,
            **({} if bound else {"result_limit": 0}),
        )
        figures: list[int | str] = []
        for number in range(turns):
            try:
                session.run(f"Step {number + 1}: print a lot.")
                sizes = [r.body_size for r in api.requests if r.path == "/v1/messages"]
                figures.append(sizes[-1])
            except errors.RequestTooLargeError:
                figures.append("413")
        session.close()
        return figures


def _megabytes(value: Any) -> str:
    return f"{value / 1e6:8.2f} MB" if isinstance(value, int) else f"{value:>11}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("ANTHROPIC_API_KEY", "benchmark")  # the stand-in accepts any key

    without, with_cache = billed_input(args.turns, cache=False), billed_input(args.turns, cache=True)
    print("Billed input tokens per turn (input + 1.25 x cache writes + 0.1 x cache reads)")
    print(f"{'turn':>4}  {'no caching':>12}  {'caching':>12}  {'ratio':>6}")
    for number, (off, on) in enumerate(zip(without, with_cache, strict=True), 1):
        print(f"{number:>4}  {off:>12,.0f}  {on:>12,.0f}  {on / off:>6.2f}")
    print(f"turn {args.turns}: caching bills {with_cache[-1] / without[-1]:.2f} x (goal <= 0.30)\n")

    unbounded, bounded = request_bytes(args.turns, bound=False), request_bytes(args.turns, bound=True)
    print("Request bytes per turn, 5 MiB of stdout a turn")
    print(f"{'turn':>4}  {'no bound':>11}  {'bound':>11}")
    for number, (off, on) in enumerate(zip(unbounded, bounded, strict=True), 1):
        print(f"{number:>4}  {_megabytes(off)}  {_megabytes(on)}")
    largest = max((size for size in bounded if isinstance(size, int)), default=0)
    refused = sum(1 for size in bounded if size == "413")
    print(f"with the bound: largest request {largest / 1e6:.2f} MB (goal <= 2 MB), {refused} refused with 413")


if __name__ == "__main__":
    main()
