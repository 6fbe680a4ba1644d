"""Time to first rendered output of ``%%claude_exec``, against the offline stand-in.

Starts ``claude_magic.testing.StandIn`` with a reply that streams some prose and then runs
Python, loads the extension into an ``InteractiveShell`` whose ``display_pub`` is a recording
``DisplayPublisher`` (IPython's own extension point for where displays go), and runs the cell
N times in the same kernel session (the container is reused, as in a notebook). Reported:

* first server event -> first rendered step: from when the stand-in began sending the response
  to ``POST /v1/messages`` (``RecordedRequest.responded``) to the first display of a step with
  visible content;
* request start -> first rendered step (``RecordedRequest.started``, so it includes the server);
* cell start -> first rendered step, and cell start -> request start (client-side overhead);
* total turn time (the whole ``run_cell``) and request start -> footer.

The first run also pays for importing the SDK (unless ``--settle`` lets the background import
that loading starts finish first) and for opening the connection; it is shown on its own and
left out of the medians. No API key or network is needed::

    .venv/bin/python benchmarks/first_output.py [--runs 10] [--latency 0.0] [--settle]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from claude_magic.testing import Script, StandIn

SCRIPT = Script.from_dict(
    {
        "replies": [
            {
                "match": ".",
                "steps": [
                    {"text": "Let me add those numbers up; it only takes a moment."},
                    {"python": "print(sum(range(1_000_000)))"},
                    {"text": "The sum is 499999500000."},
                ],
            }
        ]
    }
)


class RecordingPublisher(DisplayPublisher):
    """Records (time.monotonic(), bundle, update) for every display and display update."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.published: list[tuple[float, dict[str, Any], bool]] = []

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        self.published.append((time.monotonic(), data, update))


def _is_step(data: dict[str, Any]) -> bool:
    """A step with something to read (not the progress line, not an empty placeholder)."""
    if not data.get("text/plain", "").strip():
        return False
    markup = data.get("text/html", "")
    return "claude-magic-text" in markup or "claude-magic-step" in markup


def _is_footer(data: dict[str, Any]) -> bool:
    return "claude-magic-footer" in data.get("text/html", "")


def _one_turn(shell: InteractiveShell, api: StandIn, recorder: RecordingPublisher) -> dict[str, float]:
    recorder.published.clear()
    seen = len(api.requests)
    cell_start = time.monotonic()
    result = shell.run_cell("%%claude_exec\nAdd up the numbers below a million.")
    cell_end = time.monotonic()
    if result.error_in_exec is not None:
        raise SystemExit(f"the cell failed: {result.error_in_exec}")
    request = next(r for r in api.requests[seen:] if r.method == "POST" and r.path == "/v1/messages")
    first = next(at for at, data, _ in recorder.published if _is_step(data))
    footer = next(at for at, data, _ in recorder.published if _is_footer(data))
    return {
        "event_to_first": (first - (request.responded or request.started)) * 1000,
        "request_to_first": (first - request.started) * 1000,
        "cell_to_first": (first - cell_start) * 1000,
        "cell_to_request": (request.started - cell_start) * 1000,
        "request_to_footer": (footer - request.started) * 1000,
        "total": (cell_end - cell_start) * 1000,
    }


LABELS = {
    "event_to_first": "first server event -> first rendered step",
    "request_to_first": "request start -> first rendered step",
    "cell_to_first": "cell start -> first rendered step",
    "cell_to_request": "cell start -> request start",
    "request_to_footer": "request start -> footer (turn done)",
    "total": "total turn (run_cell)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured turns after one cold turn (default 10)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the stand-in waits before each response")
    parser.add_argument(
        "--settle",
        action="store_true",
        help="let the SDK import that loading starts in the background finish before the cold turn",
    )
    args = parser.parse_args(argv)

    for name in [name for name in os.environ if name.startswith("ANTHROPIC_")]:
        del os.environ[name]  # never reach the real API or use a real key
    os.environ["ANTHROPIC_API_KEY"] = "benchmark-key"  # the stand-in accepts any key
    with tempfile.TemporaryDirectory(prefix="claude-magic-bench-") as folder:
        os.environ["CLAUDE_MAGIC_CACHE_DIR"] = os.path.join(folder, "cache")
        with StandIn(script=SCRIPT) as api:
            api.latency = args.latency
            config = Config()
            config.HistoryManager.hist_file = ":memory:"
            config.ClaudeMagics.base_url = api.base_url
            config.ClaudeMagics.download_dir = os.path.join(folder, "downloads")
            config.ClaudeMagics.max_retries = 0
            shell = InteractiveShell.instance(config=config)
            shell.extension_manager.load_extension("claude_magic")
            if args.settle:
                for thread in threading.enumerate():
                    if thread.name.startswith("claude-magic"):
                        thread.join()
            recorder = RecordingPublisher(shell=shell)
            shell.display_pub = recorder
            try:
                cold = _one_turn(shell, api, recorder)
                warm = [_one_turn(shell, api, recorder) for _ in range(args.runs)]
            finally:
                shell.extension_manager.unload_extension("claude_magic")
                InteractiveShell.clear_instance()

    cold_kind = "after the background SDK import finished" if args.settle else "right after %load_ext"
    print(f"%%claude_exec against the stand-in: 1 cold turn ({cold_kind}), then {args.runs} turns")
    print(f"stand-in latency {args.latency:.3f} s per response")
    print()
    print(f"{'measurement (ms)':<40} {'cold':>8} {'median':>8} {'max':>8}")
    for key, label in LABELS.items():
        values = [run[key] for run in warm]
        print(f"{label:<40} {cold[key]:>8.1f} {statistics.median(values):>8.1f} {max(values):>8.1f}")
    print()
    print(f"({sys.executable}; the code step's run time in the sandbox is part of the turn, not of first output)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
