"""Settings and helpers of the live lane, shared by its conftest and its tests (see conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from claude_magic._pricing import estimate_cost
from claude_magic._session import Session
from claude_magic.results import Turn, Usage

# Read at import, before tests/conftest.py's hermetic_env fixture replaces them for every test.
REAL = {name: os.environ.get(name) for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}
OPTED_IN = os.environ.get("CLAUDE_MAGIC_LIVE") == "1"
MODEL = os.environ.get("CLAUDE_MAGIC_LIVE_MODEL") or "claude-haiku-4-5"
TOOL_VERSION = os.environ.get("CLAUDE_MAGIC_LIVE_TOOL_VERSION") or "code_execution_20250825"
MAX_TOKENS = int(os.environ.get("CLAUDE_MAGIC_LIVE_MAX_TOKENS") or 2048)
BUDGET = float(os.environ.get("CLAUDE_MAGIC_LIVE_BUDGET") or 0.50)
RECORD_TO = os.environ.get("CLAUDE_MAGIC_LIVE_RECORD")
HOW = (
    "to run the live lane: CLAUDE_MAGIC_LIVE=1 ANTHROPIC_API_KEY=sk-ant-... make test-live (pytest -m live tests/live)"
)


@dataclass
class Spend:
    """What the live lane's turns cost, from their usage and the list prices in ``claude_magic._pricing``."""

    turns: list[Turn] = field(default_factory=list)

    def add(self, turn: Turn) -> Turn:
        self.turns.append(turn)
        return turn

    @property
    def dollars(self) -> float:
        return sum(estimate_cost(turn.model, turn.usage, turn.duration) or 0.0 for turn in self.turns)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for turn in self.turns:
            total = total + turn.usage
        return total


SPEND = Spend()


def cleanup(session: Session, extra_ids: tuple[str, ...] = ()) -> None:
    """Delete what a test left in the workspace: its uploads and the files its code produced."""
    for file_id in {entry.file_id for entry in session.uploads} | set(extra_ids):
        try:
            session.client.delete(file_id)
        except Exception as exc:  # cleanup must not hide the test's own result
            print(f"could not delete {file_id}: {exc}")
