"""``python -m claude_magic.testing serve --port PORT --script FILE``.

Prints ``ANTHROPIC_BASE_URL=http://127.0.0.1:PORT`` as its first line (flushed), then serves
until Ctrl-C or SIGTERM. ``--port 0`` picks a free port.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from claude_magic.testing.script import Script
from claude_magic.testing.server import StandIn

_DESCRIPTION = """\
Serve the offline stand-in of the Anthropic API (Files and Messages with code execution).

The first line printed is ANTHROPIC_BASE_URL=http://127.0.0.1:PORT: export it, with any
ANTHROPIC_API_KEY, and the real client talks to the stand-in. It serves until Ctrl-C or SIGTERM.

example:
  python -m claude_magic.testing serve --port 8765 --script notebooks/scripts/example.json
"""

# What each isolation level means for the code a script runs, in words (see sandbox.py).
_ISOLATION = {
    "net+tmp": "code runs with no network access, and each container has its own /tmp",
    "net": "code runs with no network access; /tmp is this machine's /tmp, shared by all containers",
    "none": "WARNING: code runs as a plain subprocess, WITH network access",
}


def _sandbox_line(isolation: str) -> str:
    """``sandbox: …`` for people: what the scripted code can reach, then why, in brackets."""
    kind, _, reason = isolation.partition(": ")
    meaning = _ISOLATION.get(kind)
    return f"sandbox: {meaning} [{reason}]" if meaning else f"sandbox: {isolation}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m claude_magic.testing",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the stand-in API until interrupted",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--script", help="a script JSON file (docs/script-format.md); empty if omitted")
    serve.add_argument("--container-ttl", type=float, default=300.0, help="idle seconds before a container expires")
    serve.add_argument("--exec-timeout", type=float, default=30.0, help="wall-clock seconds per execution")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    script = Script.from_json(args.script) if args.script else Script()
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    api = StandIn(
        script=script,
        host=args.host,
        port=args.port,
        container_ttl=args.container_ttl,
        exec_timeout=args.exec_timeout,
    )
    with api:
        print(f"ANTHROPIC_BASE_URL={api.base_url}", flush=True)
        print(_sandbox_line(api.sandbox_isolation), file=sys.stderr, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
