"""What every scenario shares: the stand-in and its script, the data, sessions and SDK clients."""

from __future__ import annotations

import itertools
import os
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import numpy as np
import pandas as pd

from benchmarks.baseline import TOOLS
from claude_magic import Session
from claude_magic.testing import RecordedRequest, Script, StandIn

TOOL_VERSION = TOOLS[0]["type"]  # both sides use the tool version the tutorials use

_EIGHT_FILES = "\n".join(
    [
        "import os",
        "for n in range(8):",
        "    with open(os.path.join(os.environ['OUTPUT_DIR'], f'part_{n}.csv'), 'w') as f:",
        "        f.write('x,y\\n' + '1,2\\n' * 5000)",
        "print('wrote 8 files')",
    ]
)
_CHURN = [
    "import os, glob, pandas as pd\npath = glob.glob(os.path.join(os.environ['INPUT_DIR'], '*'))[0]\n"
    "df = pd.read_parquet(path) if path.endswith('.parquet') else pd.read_csv(path)\n"
    "print(df.shape)\nprint(df.groupby('tier')['churned'].mean().round(3))",
    "import os, numpy as np\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots()\nax.bar(['a', 'b', 'c'], [0.1, 0.2, 0.15])\n"
    "fig.savefig(os.path.join(os.environ['OUTPUT_DIR'], 'drivers.png'))\nprint('saved drivers.png')",
    "print('tier a: 10%, tier b: 20%, tier c: 15%')",
]

SCRIPT_DATA: dict[str, Any] = {
    "replies": [
        {
            "match": "(?m)^plain",
            "steps": [
                {"text": "Here is a short answer about the data, in two paragraphs of prose."},
                {"text": "And the second paragraph, which closes the answer."},
            ],
        },
        {
            "match": "(?m)^code",
            "steps": [
                {"text": "Let me add those numbers up; it only takes a moment."},
                {"python": "print(sum(range(1000)))"},
                {"text": "The sum is 499500."},
            ],
        },
        {"match": "(?m)^files", "steps": [{"text": "Writing the parts."}, {"python": _EIGHT_FILES}]},
        *[
            {"match": f"(?m)^stdout {label}$", "steps": [{"python": f"print(('y' * 99 + chr(10)) * {size // 100})"}]}
            for label, size in (("1k", 1_000), ("1m", 1_000_000), ("5m", 5_000_000))
        ],
        *[
            {"match": f"(?m)^churn {n}", "steps": [{"text": f"Step {n} of the analysis."}, {"python": code}]}
            for n, code in enumerate(_CHURN, start=1)
        ],
    ]
}
SCRIPT = Script.from_dict(SCRIPT_DATA)


def frame(rows: int, cols: int = 50, seed: int = 0) -> pd.DataFrame:
    """A typical analysis table: ids, counts, rounded measures, categories and flags."""
    rng = np.random.default_rng(seed)
    tiers = np.array(["basic", "standard", "premium", "family"], dtype=object)
    data: dict[str, Any] = {}
    for index in range(cols):
        kind = index % 5
        if kind == 0:
            data[f"count_{index}"] = rng.integers(0, 1000, rows)
        elif kind == 1:
            data[f"amount_{index}"] = rng.normal(100, 15, rows).round(2)
        elif kind == 2:
            data[f"tier_{index}"] = tiers[rng.integers(0, 4, rows)]
        elif kind == 3:
            data[f"flag_{index}"] = rng.integers(0, 2, rows).astype(bool)
        else:
            data[f"score_{index}"] = rng.random(rows)
    return pd.DataFrame(data)


def churn_frame(rows: int, seed: int) -> pd.DataFrame:
    """The churn table the 3-cell session analyses."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer": np.arange(rows),
            "tier": np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, rows)],
            "months": rng.integers(1, 60, rows),
            "spend": rng.normal(30, 8, rows).round(2),
            "churned": rng.integers(0, 2, rows).astype(bool),
        }
    )


@dataclass
class Bench:
    """The running stand-in and a scratch folder; makes sessions and clients pointed at it."""

    api: StandIn
    folder: Path
    repeats: int
    quick: bool
    settings: dict[str, Any] = field(default_factory=dict)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def scratch(self, label: str) -> Path:
        """A fresh folder."""
        path = self.folder / f"{label}-{next(self._counter)}"
        path.mkdir(parents=True)
        return path

    def session(self, **options: Any) -> Session:
        """A session with a fresh registry (nothing uploaded yet)."""
        place = self.scratch("session")
        return Session(
            base_url=self.api.base_url,
            download_dir=place / "downloads",
            cache_dir=place / "cache",
            max_retries=0,
            tool_version=TOOL_VERSION,
            **options,
        )

    def client(self) -> anthropic.Anthropic:
        """A plain SDK client, as the tutorial script makes it."""
        return anthropic.Anthropic(base_url=self.api.base_url, max_retries=0)

    @contextmanager
    def network(
        self, *, latency: float = 0.0, think: float = 0.0, gap: float = 0.0, bandwidth: float | None = None
    ) -> Iterator[None]:
        """Simulate a network and a server for the block's requests."""
        api = self.api
        api.latency, api.think_time, api.event_gap, api.bandwidth = latency, think, gap, bandwidth
        try:
            yield
        finally:
            api.latency, api.think_time, api.event_gap, api.bandwidth = 0.0, 0.0, 0.0, None


def server_ms(requests: list[RecordedRequest]) -> float:
    """Milliseconds during which the stand-in was busy with at least one request (the union of intervals)."""
    spans = sorted((r.started, r.finished if r.finished is not None else r.started) for r in requests)
    total, current_start, current_end = 0.0, None, None
    for start, end in spans:
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total * 1000


def median(values: list[float]) -> float:
    """The median (a name to import)."""
    return statistics.median(values)


def hermetic(folder: Path) -> None:
    """Never reach the real API or use a real key; keep every cache in *folder*."""
    for name in [name for name in os.environ if name.startswith("ANTHROPIC_")]:
        del os.environ[name]
    os.environ["ANTHROPIC_API_KEY"] = "benchmark-key"  # the stand-in accepts any key
    os.environ["CLAUDE_MAGIC_CACHE_DIR"] = str(folder / "cache")
