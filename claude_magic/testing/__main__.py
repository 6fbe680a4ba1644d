"""``python -m claude_magic.testing serve|record|replay``.

    serve --port PORT --script FILE [--behaviour NAME=VALUE ...]
                                              the stand-in API, answering as the script says
    record --to DIR --upstream URL [--port P]  a recording proxy in front of URL, writing a cassette to DIR
    replay CASSETTE [--port P] [--speed S]     serve a cassette, so a recorded session re-runs offline

Each prints ``ANTHROPIC_BASE_URL=http://127.0.0.1:PORT`` as its first line (flushed), then serves
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
from claude_magic.testing.recorder import RecordingProxy
from claude_magic.testing.replay import ReplayServer
from claude_magic.testing.script import Script
from claude_magic.testing.server import StandIn

DEFAULT_UPSTREAM = "https://api.anthropic.com"

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
    serve.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an inferred behaviour (repeatable): " + ", ".join(r.name for r in BEHAVIOURS),
    )
    serve.add_argument("--exec-timeout", type=float, default=30.0, help="wall-clock seconds per execution")
    record = commands.add_parser("record", help="record every exchange with an API into a cassette folder")
    record.add_argument("--to", required=True, metavar="DIR", help="the cassette folder to write (replaced)")
    record.add_argument("--upstream", default=DEFAULT_UPSTREAM, help=f"base URL to forward to ({DEFAULT_UPSTREAM})")
    record.add_argument("--host", default="127.0.0.1")
    record.add_argument("--port", type=int, default=0, help="0 picks a free port")
    replay = commands.add_parser("replay", help="serve a recorded cassette offline")
    replay.add_argument("cassette", metavar="CASSETTE", help="a cassette folder")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=0, help="0 picks a free port")
    replay.add_argument("--speed", type=float, default=1.0, help="times faster than recorded; 0 does not wait")
    replay.add_argument("--fresh-ids", action="store_true", help="hand out new ids instead of the recorded ones")
    return parser


def _serve_until_stopped(server: StandIn | RecordingProxy | ReplayServer, stop: threading.Event) -> None:
    with server:
        print(f"ANTHROPIC_BASE_URL={server.base_url}", flush=True)
        if isinstance(server, StandIn):
            print(_sandbox_line(server.sandbox_isolation), file=sys.stderr, flush=True)
        stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    script = Script.from_json(args.script) if args.command == "serve" and args.script else Script()
    behaviours = Behaviours()
    for assignment in getattr(args, "behaviour", []):
        try:
            behaviours.set(assignment)
        except ValueError as err:
            parser.error(f"--behaviour: {err}")
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if args.command == "record":
        proxy = RecordingProxy(args.upstream, args.to, host=args.host, port=args.port)
        _serve_until_stopped(proxy, stop)
        print(f"recorded {proxy.recorded} exchanges into {args.to}", file=sys.stderr, flush=True)
        return 0
    if args.command == "replay":
        try:
            replay = ReplayServer(
                args.cassette, host=args.host, port=args.port, speed=args.speed, fresh_ids=args.fresh_ids
            )
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _serve_until_stopped(replay, stop)
        print(f"served {len(replay.served)} of {len(replay.cassette)} exchanges", file=sys.stderr, flush=True)
        for unmatched in replay.unmatched:
            print(f"unmatched: {unmatched.message}", file=sys.stderr)
        return 1 if replay.unmatched else 0
    api = StandIn(
        script=script,
        host=args.host,
        port=args.port,
        behaviours=behaviours,
        exec_timeout=args.exec_timeout,
    )
    _serve_until_stopped(api, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
