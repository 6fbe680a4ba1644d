"""``python -m claude_magic.testing serve --port PORT --script FILE [--behaviour NAME=VALUE ...]``.

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

from claude_magic.testing.behaviours import BEHAVIOURS, Behaviours
from claude_magic.testing.script import Script
from claude_magic.testing.server import StandIn


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m claude_magic.testing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the stand-in API until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--script", help="a script JSON file (docs/script-format.md); empty if omitted")
    serve.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an inferred behaviour (repeatable): " + ", ".join(r.name for r in BEHAVIOURS),
    )
    serve.add_argument("--exec-timeout", type=float, default=30.0, help="wall-clock seconds per execution")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    script = Script.from_json(args.script) if args.script else Script()
    behaviours = Behaviours()
    for assignment in args.behaviour:
        try:
            behaviours.set(assignment)
        except ValueError as err:
            parser.error(f"--behaviour: {err}")
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    api = StandIn(
        script=script,
        host=args.host,
        port=args.port,
        behaviours=behaviours,
        exec_timeout=args.exec_timeout,
    )
    with api:
        print(f"ANTHROPIC_BASE_URL={api.base_url}", flush=True)
        print(f"sandbox: {api.sandbox_isolation}", file=sys.stderr, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
