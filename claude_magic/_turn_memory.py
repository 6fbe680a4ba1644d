"""The turns a session keeps, with a bound on the image bytes they hold in memory.

Stdlib only. Every image a turn brought back is also saved on disk (``OutputFile.path``); past
the limit, the oldest turns' images keep only their path.
"""

from __future__ import annotations

from dataclasses import replace

from claude_magic.results import CodeStep, EditStep, Execution, OutputFile, Step, Turn


class TurnLog:
    """Turns in order; images beyond ``image_bytes_limit`` are dropped from memory, oldest first.

    The newest turn always keeps its images (it is the one being shown).
    """

    def __init__(self, *, image_bytes_limit: int) -> None:
        self.image_bytes_limit = image_bytes_limit
        self._turns: list[Turn] = []

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The turns, oldest first."""
        return tuple(self._turns)

    @property
    def image_bytes(self) -> int:
        """Image bytes held in memory by the kept turns."""
        return sum(_image_bytes(turn) for turn in self._turns)

    def append(self, turn: Turn) -> None:
        """Keep *turn*, then release the oldest images until the total is within the limit."""
        self._turns.append(turn)
        total = self.image_bytes
        for index, old in enumerate(self._turns[:-1]):  # the newest turn keeps its images
            if total <= self.image_bytes_limit:
                break
            held = _image_bytes(old)
            if held:
                self._turns[index] = _without_image_bytes(old)
                total -= held

    def clear(self) -> None:
        """Forget every turn."""
        self._turns.clear()

    def pop(self) -> Turn:
        """Forget the newest turn and return it (``Session.undo``)."""
        return self._turns.pop()


def _image_bytes(turn: Turn) -> int:
    return sum(len(file.data) for file in turn.files if file.data is not None)


def _light(file: OutputFile) -> OutputFile:
    return replace(file, data=None) if file.data is not None and file.path is not None else file


def _without_image_bytes(turn: Turn) -> Turn:
    steps: list[Step] = []
    for step in turn.steps:
        if isinstance(step, CodeStep | EditStep) and step.result is not None:
            result: Execution = replace(step.result, files=tuple(_light(file) for file in step.result.files))
            steps.append(replace(step, result=result))
        else:
            steps.append(step)
    return replace(turn, steps=tuple(steps), files=tuple(_light(file) for file in turn.files))
