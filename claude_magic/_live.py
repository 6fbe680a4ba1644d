"""The one place that shows a turn while it streams, with the two live strategies side by side.

* ``InPlaceView``: for frontends that update a display in place (Jupyter kernels): one display
  per step, updated as it grows, and a status line that ticks while Claude or the sandbox works.
* ``PrintOnceView``: for frontends that cannot (terminal IPython, plain Python): each step is
  printed once, when it is complete, and progress is one carriage-return line on a TTY.

``choose_view`` picks by the shell's capability (style: "Two live strategies, one choice").
Stdlib and the renderer only: the magics hand in how to display, so this module never imports
IPython, and ``LivePrinter`` serves plain Python as ``Session.run(on_event=LivePrinter())``.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TextIO

from claude_magic import _render as render
from claude_magic._format import elapsed, plural
from claude_magic._provenance import output_metadata
from claude_magic.results import CodeStep, EditStep, Notice, OutputFile, Step, StepUpdate, TextStep, Turn, TurnEvent

__all__ = [
    "INTERRUPTED",
    "InPlaceView",
    "LivePrinter",
    "LiveView",
    "PrintOnceView",
    "Show",
    "choose_view",
    "updates_in_place",
]

TICK_SECONDS: Final = 1.0  # how often the status line's clock moves
_TEXT_REFRESH_SECONDS: Final = 0.15  # how often streaming text is re-rendered in place
INTERRUPTED: Final = "Interrupted: the conversation and container are as they were before this cell."


class Update(Protocol):
    """Replaces one display in place, optionally with output metadata."""

    def __call__(self, bundle: render.MimeBundle, metadata: Mapping[str, Any] | None = None, /) -> None: ...


Show = Callable[[render.MimeBundle], Update]
"""Display a bundle and return a function that replaces it in place (``display(..., display_id=True)``)."""


class LiveView(Protocol):
    """What the magics drive while a turn runs."""

    def on_event(self, event: TurnEvent) -> None:
        """Show a step update or a notice."""

    def finish(self, turn: Turn | None, *, interrupted: bool = False) -> None:
        """Stop the status, settle the steps, and show the footer of a finished turn."""


def updates_in_place(display_publisher: object) -> bool:
    """Whether a shell's display publisher can replace a display (Jupyter) or only prints (terminal).

    IPython's base ``DisplayPublisher.publish`` prints ``text/plain`` for every call, updates
    included; kernels and capturing publishers override it. The base is the first class in the
    publisher's method resolution order that defines ``publish``, seen from the root.
    """
    kind = type(display_publisher)
    definers = [cls for cls in kind.__mro__ if "publish" in vars(cls)]
    return len(definers) > 1


def choose_view(
    display_publisher: object, show: Show, *, show_code: bool, stream: TextIO | None = None
) -> InPlaceView | PrintOnceView:
    """The live view this shell can show: in place where displays update, else printed once."""
    if updates_in_place(display_publisher):
        return InPlaceView(show, show_code=show_code)
    out = stream if stream is not None else sys.stdout
    return PrintOnceView(out, show_code=show_code, spinner=_is_tty(out))


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream
        return False


class _Progress:
    """What the status line says: elapsed time and which step is under way."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps: dict[int, Step] = {}
        self.done: set[int] = set()

    def record(self, event: StepUpdate) -> None:
        self.steps[event.index] = event.step
        if event.done:
            self.done.add(event.index)
        else:
            self.done.discard(event.index)

    def line(self) -> str:
        running = [index for index in sorted(self.steps) if index not in self.done]
        if running:
            index = running[-1]
            what = f"step {index + 1}, {_activity(self.steps[index])}"
        elif self.steps:
            what = f"{plural(len(self.steps), 'step')} done, waiting for Claude"
        else:
            what = "waiting for Claude"
        return f"⏳ Claude is working · {what} · {elapsed(time.monotonic() - self.started)}"


def _activity(step: Step) -> str:
    if isinstance(step, TextStep):
        return "writing"
    if isinstance(step, CodeStep):
        language = "Python" if step.language == "python" else step.language
        return f"running {language}" if step.result is None else "downloading files"
    if step.kind == "web_search":
        return "searching the web"
    if step.kind == "web_fetch":
        return "fetching a page"
    if step.kind == "tool_call":
        return f"waiting for {step.name}" if not step.done else "continuing"
    if isinstance(step, EditStep):
        return f"editing {step.path}" if step.result is None else "downloading files"
    return "thinking"


class _Ticker:
    """Calls ``tick`` every ``interval`` seconds on a daemon thread until stopped.

    The thread runs in a copy of the starting thread's context, so a kernel routes what it
    displays to the running cell.
    """

    def __init__(self, tick: Callable[[], None], interval: float = TICK_SECONDS) -> None:
        self._tick = tick
        self._interval = interval
        self._stop = threading.Event()
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._loop,), name="claude-magic-status", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


class InPlaceView:
    """A running turn in a Jupyter output area: one display per step, updated in place."""

    def __init__(self, show: Show, *, show_code: bool, tick_seconds: float = TICK_SECONDS) -> None:
        self._show = show
        self._show_code = show_code
        self._lock = threading.Lock()
        self._progress = _Progress()
        self._steps: dict[int, Update] = {}
        self._latest: dict[int, Step] = {}
        self._files: dict[str, Update] = {}
        self._last_text_update: dict[int, float] = {}
        self._notices: list[str] = []
        self._status_line = self._progress.line()
        # The status is always the last display: a new output takes its place and a new status
        # goes below it, and at the end it becomes the footer. So no empty output is left behind.
        self._shown: dict[int, tuple[Update, render.MimeBundle]] = {}  # id(update) -> (update, last bundle)
        self._status: Update | None = show(render.progress_bundle(self._status_line))
        self.first_output_at: float | None = None
        self._ticker = _Ticker(self._tick, tick_seconds)

    def on_event(self, event: TurnEvent) -> None:
        """Show a notice once, or create or update the display of a step."""
        with self._lock:
            if isinstance(event, Notice):
                if event.message not in self._notices:
                    self._notices.append(event.message)
                    self._new_display(render.notice_bundle(event.message))
                return
            self._progress.record(event)
            self._show_step(event)
            self._redraw_status()

    def finish(self, turn: Turn | None, *, interrupted: bool = False) -> None:
        """Clear the status; mark unfinished steps interrupted; show the footer once."""
        self._ticker.stop()
        with self._lock:
            if interrupted:
                for index, step in self._latest.items():
                    if isinstance(step, CodeStep | EditStep) and step.result is None and index in self._steps:
                        self._steps[index](render.step_bundle(step, show_code=self._show_code, interrupted=True))
            metadata = output_metadata(turn) if turn is not None else None
            if metadata is not None:  # every output of the turn carries its provenance in the notebook
                for update, bundle in self._shown.values():
                    if update is not self._status:
                        update(bundle, metadata)
            if self._status is not None:
                # Outputs cannot be removed, only emptied: empty HTML renders as nothing in every frontend.
                empty = {"text/plain": "", "text/html": ""}
                self._status(render.turn_footer_bundle(turn, shown_notices=self._notices) if turn else empty, metadata)
                self._status = None

    def _tick(self) -> None:
        with self._lock:
            self._redraw_status()

    def _remember(self, update: Update, bundle: render.MimeBundle) -> None:
        self._shown[id(update)] = (update, bundle)

    def _new_display(self, bundle: render.MimeBundle) -> Update:
        """Show ``bundle`` where the status is, and move the status below it."""
        if self._status is None:
            shown = self._show(bundle)
            self._remember(shown, bundle)
            return shown
        taken = self._status
        taken(bundle)
        self._remember(taken, bundle)
        self._status_line = self._progress.line()
        self._status = self._show(render.progress_bundle(self._status_line))
        return taken

    def _redraw_status(self) -> None:
        line = self._progress.line()
        if self._status is not None and line != self._status_line:
            self._status_line = line
            self._status(render.progress_bundle(line))

    def _show_step(self, event: StepUpdate) -> None:
        now = time.monotonic()
        update = self._steps.get(event.index)
        self._latest[event.index] = event.step
        if update is None and isinstance(event.step, TextStep) and not event.step.text.strip():
            return  # no empty placeholder: the display is created with the first words
        if (
            update is not None
            and not event.done
            and event.step.kind == "text"
            and now - self._last_text_update.get(event.index, 0.0) < _TEXT_REFRESH_SECONDS
        ):
            return  # coalesce streaming text updates
        bundle = render.step_bundle(event.step, show_code=self._show_code)
        if update is None:
            self._steps[event.index] = self._new_display(bundle)
            if self.first_output_at is None:
                self.first_output_at = now
        else:
            update(bundle)
            self._remember(update, bundle)
        self._last_text_update[event.index] = now
        self._show_files(event.step)

    def _show_files(self, step: Step) -> None:
        if not isinstance(step, CodeStep | EditStep) or step.result is None:
            return
        done = {file.file_id: file for file in step.result.files}
        for file_id in step.result.file_ids:
            update = self._files.get(file_id)
            file = done.get(file_id)
            if file is not None:
                bundle = render.file_bundle(file)
                if update is None:
                    self._files[file_id] = self._new_display(bundle)
                else:
                    update(bundle)
                    self._remember(update, bundle)
            elif update is None:  # keep the file's place in the output order until it is downloaded
                self._files[file_id] = self._new_display(render.progress_bundle(f"Downloading {file_id}…"))


class PrintOnceView:
    """A running turn as text: each step printed once when complete, progress on one line.

    Parameters
    ----------
    stream : TextIO
        Where to print (the terminal).
    show_code : bool
        Print the code Claude ran, not only its output.
    spinner : bool
        Keep a status line that rewrites itself with carriage returns (on a TTY only).
    """

    def __init__(
        self, stream: TextIO, *, show_code: bool = True, spinner: bool = False, tick_seconds: float = TICK_SECONDS
    ) -> None:
        self._stream = stream
        self._show_code = show_code
        self._spinner = spinner
        self._lock = threading.Lock()
        self._progress = _Progress()
        self._latest: dict[int, Step] = {}
        self._printed: set[int] = set()
        self._printed_files: set[str] = set()
        self._notices: list[str] = []
        self._status_width = 0
        self._ticker = _Ticker(self._tick, tick_seconds) if spinner else None
        if spinner:
            self._draw_status()

    def __call__(self, event: TurnEvent) -> None:
        """An ``on_event`` listener: ``Session.run(prompt, on_event=view)``."""
        self.on_event(event)

    def on_event(self, event: TurnEvent) -> None:
        """Print a notice once, or a step once it is complete (and its files once downloaded)."""
        with self._lock:
            if isinstance(event, Notice):
                if event.message not in self._notices:
                    self._notices.append(event.message)
                    self._print(render.notice_bundle(event.message)["text/plain"])
                return
            self._progress.record(event)
            self._latest[event.index] = event.step
            if event.done:
                self._print_step(event.index, event.step)
                self._print_files(event.step, final=False)
            elif self._spinner:
                self._draw_status()

    def finish(self, turn: Turn | None, *, interrupted: bool = False) -> None:
        """Stop the spinner, print what was not printed yet, then the footer once."""
        if self._ticker is not None:
            self._ticker.stop()
        with self._lock:
            self._clear_status()
            self._spinner = False
            for index in sorted(self._latest):
                if index not in self._printed:
                    self._print_step(index, self._latest[index], interrupted=interrupted)
            for step in self._latest.values():
                self._print_files(step, final=True)
            if turn is not None:
                footer = render.turn_footer_bundle(turn, shown_notices=self._notices)["text/plain"]
                self._print(footer)
            self._stream.flush()

    def _print_step(self, index: int, step: Step, *, interrupted: bool = False) -> None:
        if index in self._printed or (isinstance(step, TextStep) and not step.text.strip()):
            return
        plain = render.step_bundle(step, show_code=self._show_code, interrupted=interrupted)["text/plain"]
        self._printed.add(index)
        if plain:
            self._print(plain)

    def _print_files(self, step: Step, *, final: bool) -> None:
        if not isinstance(step, CodeStep | EditStep) or step.result is None:
            return
        for file in step.result.files:
            if file.file_id not in self._printed_files:
                self._printed_files.add(file.file_id)
                self._print(_file_line(file))
        if final:
            for file_id in step.result.file_ids:
                if file_id not in self._printed_files:
                    self._printed_files.add(file_id)
                    self._print(f"(file {file_id} was not downloaded)")

    def _print(self, text: str) -> None:
        self._clear_status()
        self._stream.write(text.rstrip("\n") + "\n\n")
        if self._spinner:
            self._draw_status()
        self._stream.flush()

    def _tick(self) -> None:
        with self._lock:
            if self._spinner:
                self._draw_status()

    def _draw_status(self) -> None:
        line = self._progress.line()
        padding = " " * max(self._status_width - len(line), 0)
        self._stream.write(f"\r{line}{padding}")
        self._status_width = len(line)
        self._stream.flush()

    def _clear_status(self) -> None:
        if self._status_width:
            self._stream.write("\r" + " " * self._status_width + "\r")
            self._status_width = 0


def _file_line(file: OutputFile) -> str:
    return render.file_bundle(file)["text/plain"]


class LivePrinter(PrintOnceView):
    """Print a turn as it runs, each step once when complete: a ready ``on_event`` for plain Python.

    Examples
    --------
    >>> from claude_magic import LivePrinter, Session  # doctest: +SKIP
    >>> turn = Session().run("Plot y = x**2", on_event=LivePrinter())  # doctest: +SKIP
    >>> print(turn)  # doctest: +SKIP
    """

    def __init__(self, stream: TextIO | None = None, *, show_code: bool = True) -> None:
        super().__init__(stream if stream is not None else sys.stdout, show_code=show_code, spinner=False)
