"""An offline stand-in of the Anthropic API that really runs code, for tests and demos.

``StandIn`` serves the Files and Messages endpoints on 127.0.0.1 over real HTTP, so the real
``anthropic`` client talks to it unchanged (``base_url=api.base_url``). A ``Script`` says what the
model does; its code steps run in a subprocess with the limits described in ``sandbox``.

What the stand-in infers rather than knows from the docs (the status for an expired container,
container lifetime, usage fields, ...) is listed in ``behaviours.BEHAVIOURS``, each row with its
source, and switched with ``StandIn(behaviours=Behaviours(...))``; docs/script-format.md shows
the table.

Importing this package imports only the standard library (not ``anthropic``).

    from claude_magic.testing import Script, StandIn

    script = Script.from_json('{"replies": [{"steps": [{"python": "print(6 * 7)"}]}]}')
    with StandIn(script=script) as api:
        client = anthropic.Anthropic(api_key="test", base_url=api.base_url)

``RecordingProxy`` records a session with any API (the real one included) into a cassette folder,
without credentials; ``ReplayServer`` serves that cassette so the session re-runs offline.
"""

from __future__ import annotations

from claude_magic.testing.behaviours import BEHAVIOURS, Behaviours
from claude_magic.testing.cassette import Cassette
from claude_magic.testing.containers import Container
from claude_magic.testing.files import StoredFile
from claude_magic.testing.recorder import RecordingProxy
from claude_magic.testing.replay import ReplayServer
from claude_magic.testing.script import (
    Bash,
    Cite,
    Editor,
    Pause,
    Program,
    Python,
    Reply,
    Script,
    Text,
    ToolSearch,
    ToolUse,
    WebFetch,
    WebResult,
    WebSearch,
)
from claude_magic.testing.server import RecordedRequest, StandIn

__all__ = [
    "BEHAVIOURS",
    "Bash",
    "Behaviours",
    "Cassette",
    "Cite",
    "Container",
    "Editor",
    "Pause",
    "Program",
    "Python",
    "RecordedRequest",
    "RecordingProxy",
    "ReplayServer",
    "Reply",
    "Script",
    "StandIn",
    "StoredFile",
    "Text",
    "ToolSearch",
    "ToolUse",
    "WebFetch",
    "WebResult",
    "WebSearch",
]
