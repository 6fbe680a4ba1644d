"""What ``%%claude_map`` needs besides IPython: checking its options, finding its inputs, its progress bar.

No IPython here (the magics module is the adapter): checks raise ``_magic_input.InputError``,
which the magics show as a one-line ``UsageError``. ``ProgressBar`` uses tqdm (its widget where the
frontend updates displays in place, text in a terminal) and is imported only by the magics.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping, Sequence
from typing import Any

from claude_magic._magic_input import InputError
from claude_magic._map_values import MapProgress


def check_args(args: Any, cell: str | None) -> str:
    """Which of run, retry, resume or cancel the options ask for; refuses combinations that cannot work."""
    modes = [
        mode
        for mode, given in (
            ("retry", args.retry is not None),
            ("resume", args.resume is not None),
            ("cancel", args.cancel is not None),
        )
        if given
    ]
    if len(modes) > 1:
        raise InputError(f"--{modes[0]} and --{modes[1]} do different things: give one of them.")
    if args.sync is not None and args.sync < 1:
        raise InputError(f"--sync needs at least 1 request at a time (got {args.sync}): e.g. --sync 8.")
    if args.out is not None and (not args.out.isidentifier() or keyword.iskeyword(args.out)):
        raise InputError(f"--out needs a variable name, not {args.out!r}.")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise InputError(f"--max-tokens must be at least 1, not {args.max_tokens}.")
    mode = modes[0] if modes else "run"
    if mode != "run":
        if args.inputs:
            raise InputError(f"--{mode} takes no inputs (got {' '.join(args.inputs)}).")
        if cell is not None and cell.strip():
            raise InputError(f"--{mode} reuses the stored prompt: run it as a line magic, %claude_map --{mode} ….")
        if mode == "cancel" and not args.cancel.strip():
            raise InputError("--cancel needs the batch id, e.g. %claude_map --cancel msgbatch_01….")
        return mode
    if not args.inputs:
        raise InputError(
            "Give the inputs: a glob (%%claude_map data/*.csv), paths, or a variable holding a list or dict."
        )
    if cell is None or not cell.strip():
        raise InputError("The prompt is empty: write what Claude should do with each input below %%claude_map.")
    return mode


def inputs_from(sources: Sequence[str], namespace: Mapping[str, Any]) -> Any:
    """The inputs the words name: variables (a list, a dict, a DataFrame) or paths and globs."""
    values = [namespace[source] if source.isidentifier() and source in namespace else source for source in sources]
    if len(values) == 1:
        return values[0]
    flat: list[Any] = []
    for source, value in zip(sources, values, strict=True):
        if isinstance(value, Mapping):
            raise InputError(f"{source} is a dict: give it alone, as %%claude_map {source}.")
        flat.extend(value if isinstance(value, list | tuple) else [value])
    return flat


class ProgressBar:
    """A live bar for a running map: inputs done of all, counts by status, elapsed time, cost so far."""

    def __init__(self, *, in_place: bool = False) -> None:
        self._in_place = in_place  # a kernel with widget comms gets tqdm's widget
        self._bar: Any = None
        self.last: MapProgress | None = None

    def __call__(self, progress: MapProgress) -> None:
        self.last = progress
        if self._bar is None:
            # Chosen by the shell's capability, not by tqdm.auto's guess at import time (which a test or an
            # earlier import can leave wrong).
            if self._in_place:
                from tqdm.notebook import tqdm
            else:
                from tqdm.std import tqdm

            self._bar = tqdm(total=progress.total, desc=progress.name, unit="input", leave=True)
        where = f" ({progress.run_id})" if progress.run_id and progress.engine == "batch" else ""
        self._bar.n = progress.finished
        self._bar.set_postfix_str(f"{progress.phase}{where}: {progress.summary()}", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        """Leave the bar as it last was."""
        if self._bar is not None:
            self._bar.close()
