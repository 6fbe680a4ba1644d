"""The benchmark harness: figures, interleaved repeats, and the JSON and markdown results.

A ``Figure`` holds the extension's samples, a reference's samples (the tutorial script, the raw
SDK, or another measurement of ours) and an optional goal. ``interleave`` runs the two sides of
one figure alternately, repeat by repeat, so slow drift of the machine hits both alike.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measured figure: ours beside a reference, with the ratio of medians and an optional goal."""

    name: str
    unit: str  # "ms", "MB", "bytes", ...
    ours: list[float]
    reference: list[float] = field(default_factory=list)
    reference_label: str = "tutorial script"
    goal: str = ""  # e.g. "<= 1.15x", "<= 30 ms"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Median of ours over median of the reference (None without a reference)."""
        if not self.reference or not self.ours:
            return None
        base = statistics.median(self.reference)
        return statistics.median(self.ours) / base if base else None

    @property
    def met(self) -> bool | None:
        """Whether the goal holds (None without a goal)."""
        if not self.goal:
            return None
        kind, _, rest = self.goal.partition(" ")
        number = float(rest.split()[0].rstrip("x×"))
        value = self.ratio if rest.rstrip().endswith(("x", "×")) else statistics.median(self.ours)
        if value is None:
            return None
        return value <= number if kind == "<=" else value >= number

    def as_dict(self) -> dict[str, Any]:
        """The figure as JSON-ready data, with its summary statistics."""
        return {
            "name": self.name,
            "unit": self.unit,
            "ours": _summary(self.ours),
            "reference": _summary(self.reference) if self.reference else None,
            "reference_label": self.reference_label if self.reference else None,
            "ratio": self.ratio,
            "goal": self.goal or None,
            "met": self.met,
            "note": self.note or None,
        }


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "n": len(values),
        "samples": values,
    }


@dataclass
class Results:
    """Every figure of one run, in the order measured."""

    figures: list[Figure] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        """Record *figure* and print its line."""
        self.figures.append(figure)
        print(_line(figure), flush=True)
        return figure

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``results.json`` and ``results.md`` into *folder*."""
        folder.mkdir(parents=True, exist_ok=True)
        data = {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "seconds": round(time.monotonic() - self.started, 1),
            "settings": self.settings,
            "figures": [figure.as_dict() for figure in self.figures],
        }
        json_path = folder / "results.json"
        json_path.write_text(json.dumps(data, indent=2) + "\n")
        md_path = folder / "results.md"
        md_path.write_text(markdown(self.figures, self.settings) + "\n")
        return json_path, md_path


def _fmt(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / 1e6:.2f} MB" if value >= 1e5 else f"{value:,.0f} B"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _span(values: list[float], unit: str) -> str:
    if not values:
        return ""
    low, mid, high = min(values), statistics.median(values), max(values)
    shown = "" if unit == "bytes" else f" {unit}"
    if low == high:
        return f"{_fmt(mid, unit)}{shown}"
    return f"{_fmt(mid, unit)}{shown} ({_fmt(low, unit)}–{_fmt(high, unit)})"


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return f"{figure.goal}: {'met' if figure.met else 'NOT met'}"


def _line(figure: Figure) -> str:
    ratio = f"{figure.ratio:.2f}×" if figure.ratio is not None else ""
    reference = f"  vs {figure.reference_label} {_span(figure.reference, figure.unit)}" if figure.reference else ""
    return f"{figure.name:<58} {_span(figure.ours, figure.unit)}{reference}  {ratio}  {_verdict(figure)}".rstrip()


def markdown(figures: list[Figure], settings: dict[str, Any]) -> str:
    """The results as a markdown table: median (min–max) of each side, the ratio and the goal."""
    rows = [
        "| Figure | claude_magic | Reference | Ratio | Goal |",
        "|---|---|---|---|---|",
    ]
    for figure in figures:
        reference = f"{_span(figure.reference, figure.unit)} ({figure.reference_label})" if figure.reference else ""
        ratio = f"{figure.ratio:.2f}×" if figure.ratio is not None else ""
        name = figure.name + (f" — {figure.note}" if figure.note else "")
        rows.append(f"| {name} | {_span(figure.ours, figure.unit)} | {reference} | {ratio} | {_verdict(figure)} |")
    described = ", ".join(f"{key} {value}" for key, value in settings.items())
    rows.append("")
    rows.append(
        f"Median (min–max) of each side, interleaved repeats; ratio = median ours / median reference. {described}."
    )
    return "\n".join(rows)


def interleave(
    repeats: int, ours: Callable[[], float], reference: Callable[[], float] | None = None
) -> tuple[list[float], list[float]]:
    """Run *ours* and *reference* alternately (swapping which goes first each repeat)."""
    mine: list[float] = []
    theirs: list[float] = []
    for index in range(repeats):
        if reference is not None and index % 2:
            theirs.append(reference())
            mine.append(ours())
        else:
            mine.append(ours())
            if reference is not None:
                theirs.append(reference())
    return mine, theirs


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as took:`` leaves the elapsed milliseconds in ``took[0]``."""
    took: list[float] = []
    start = time.perf_counter()
    try:
        yield took
    finally:
        took.append((time.perf_counter() - start) * 1000)


def ms(start: float) -> float:
    """Milliseconds since ``time.perf_counter()`` read *start*."""
    return (time.perf_counter() - start) * 1000


def update_readme(readme: Path, table: str) -> bool:
    """Put *table* between the README's ``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers."""
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{table}\n{end}{tail}")
    return True
