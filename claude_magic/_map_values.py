"""Frozen values of a map: one item's outcome, the whole result, and progress while it runs.

Stdlib only at import time: pandas is imported when a DataFrame is asked for, the renderer when
the result is displayed. An item keeps a small summary; its whole turn stays on disk (see
``_map_items``) and is rebuilt on demand, so a 1,000-item result does not hold 1,000 answers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from claude_magic.results import Turn, Usage

if TYPE_CHECKING:
    import pandas as pd

Engine: TypeAlias = Literal["batch", "sync"]
COLUMNS = (
    "name",
    "status",
    "text",
    "stdout",
    "files",
    "input_tokens",
    "output_tokens",
    "cost",
    "container",
    "error",
)


@dataclass(frozen=True, slots=True)
class MapItem:
    """What became of one input: its status, Claude's final text, a stdout excerpt, files, tokens and cost."""

    name: str
    status: str  # succeeded, errored, expired or canceled
    custom_id: str = ""
    text: str = ""  # Claude's final text
    stdout: str = ""  # an excerpt: the end of what the code printed
    files: tuple[Path, ...] = ()  # output files, saved under <download_dir>/<map name>/<input>/
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None  # estimated US dollars (batch tokens at half price)
    container: str | None = None
    error: str | None = None
    stop_reason: str | None = None
    record: Path | None = field(default=None, repr=False)  # the whole turn, on disk

    @property
    def ok(self) -> bool:
        """Whether the item succeeded."""
        return self.status == "succeeded"

    def turn(self) -> Turn | None:
        """This input's whole turn, rendered like a ``%%claude_exec`` turn; None when it never ran."""
        if self.record is None or not self.record.is_file():
            return None
        from claude_magic._map_items import load_turn

        return load_turn(self.record)


@dataclass(frozen=True, slots=True)
class MapResult:
    """The outcome of a map: one ``MapItem`` per input, in input order.

    ``frame`` is the results as a pandas DataFrame; displaying the result shows a summary table
    with thumbnails of the charts; ``turn(name)`` gives one input's whole turn.
    """

    name: str
    run_id: str  # the batch id, or a local id for the sync engine
    engine: Engine
    items: tuple[MapItem, ...]
    folder: Path
    model: str
    elapsed: float = 0.0

    @property
    def failed(self) -> tuple[MapItem, ...]:
        """Items that did not succeed."""
        return tuple(item for item in self.items if not item.ok)

    @property
    def cost(self) -> float | None:
        """Estimated US dollars of every item (None when the model's prices are unknown)."""
        costs = [item.cost for item in self.items if item.cost is not None]
        return sum(costs) if costs else None

    def item(self, name: str) -> MapItem:
        """The item of input *name*."""
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    def turn(self, name: str) -> Turn | None:
        """Input *name*'s whole turn, to display like a ``%%claude_exec`` turn."""
        return self.item(name).turn()

    @property
    def frame(self) -> pd.DataFrame:
        """One row per input: name, status, text, stdout, files, tokens, cost, container, error.

        ``frame.attrs["claude_map"]`` names the run, so ``%claude_map --retry VAR`` can rerun its failures.
        """
        import pandas as pd

        rows = [
            {
                "name": item.name,
                "status": item.status,
                "text": item.text,
                "stdout": item.stdout,
                "files": [str(path) for path in item.files],
                "input_tokens": item.usage.input_tokens,
                "output_tokens": item.usage.output_tokens,
                "cost": item.cost,
                "container": item.container,
                "error": item.error,
            }
            for item in self.items
        ]
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame.attrs["claude_map"] = {
            "run_id": self.run_id,
            "name": self.name,
            "engine": self.engine,
            "turns": {item.name: str(item.record) for item in self.items if item.record is not None},
        }
        return frame

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, str]:
        from claude_magic._map_render import result_bundle
        from claude_magic._render import select

        return select(result_bundle(self), include, exclude)


@dataclass(frozen=True, slots=True)
class MapProgress:
    """Where a running map stands: counts by status, time so far and the estimated cost so far."""

    name: str
    engine: Engine
    total: int
    run_id: str | None = None
    phase: str = "uploading"  # uploading, submitted, processing, collecting, done
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    expired: int = 0
    canceled: int = 0
    elapsed: float = 0.0
    cost: float = 0.0

    @property
    def finished(self) -> int:
        """Items with a final status."""
        return self.succeeded + self.errored + self.expired + self.canceled

    def summary(self) -> str:
        """``3 processing · 12 succeeded · 1 errored · $0.04``: the counts that are not zero."""
        counts = [
            (self.processing, "processing"),
            (self.succeeded, "succeeded"),
            (self.errored, "errored"),
            (self.expired, "expired"),
            (self.canceled, "canceled"),
        ]
        parts = [f"{count} {label}" for count, label in counts if count]
        parts.append(f"${self.cost:.2f}")
        return " · ".join(parts)


ProgressListener: TypeAlias = Callable[[MapProgress], None]


def map_turn(results: MapResult | pd.DataFrame, name: str) -> Turn | None:
    """Input *name*'s whole turn from a map's result or its DataFrame (``%claude_map --out``).

    Displayed, it renders like a ``%%claude_exec`` turn. None when that input never ran.
    """
    if isinstance(results, MapResult):
        return results.turn(name)
    meta = results.attrs.get("claude_map") or {}
    turns = meta.get("turns") or {}
    if name not in turns:
        if name not in set(results["name"]):
            raise KeyError(name)
        return None
    from claude_magic._map_items import load_turn

    return load_turn(Path(turns[name]))
