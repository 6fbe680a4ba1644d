"""Scenarios measured through the magics in a real ``InteractiveShell``: what a notebook user sees.

Displays go to a recording ``DisplayPublisher`` (IPython's own extension point), so the time to
the first visible step is when the renderer handed a step to the frontend.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from benchmarks import baseline
from benchmarks.bench_env import TOOL_VERSION, Bench, churn_frame, server_ms
from benchmarks.harness import Figure, Results, interleave, ms


class RecordingPublisher(DisplayPublisher):
    """Records (perf_counter, bundle) for every display and display update."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.published: list[tuple[float, dict[str, Any]]] = []

    def publish(self, data: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self.published.append((time.perf_counter(), data))


def _is_step(data: dict[str, Any]) -> bool:
    """A step with something to read (not the progress line, not an empty placeholder)."""
    if not data.get("text/plain", "").strip():
        return False
    return "text/markdown" in data or "claude-magic-step" in data.get("text/html", "")


@contextmanager
def shell(bench: Bench) -> Iterator[tuple[InteractiveShell, RecordingPublisher]]:
    """An ``InteractiveShell`` with the extension loaded against the stand-in."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.ClaudeMagics.base_url = bench.api.base_url
    config.ClaudeMagics.download_dir = str(bench.scratch("magic-downloads"))
    config.ClaudeMagics.max_retries = 0
    config.ClaudeMagics.tool_version = TOOL_VERSION
    ip = InteractiveShell.instance(config=config)
    ip.extension_manager.load_extension("claude_magic")
    recorder = RecordingPublisher(shell=ip)
    ip.display_pub = recorder
    try:
        yield ip, recorder
    finally:
        ip.extension_manager.unload_extension("claude_magic")
        InteractiveShell.clear_instance()


def _cell(ip: InteractiveShell, source: str) -> None:
    result = ip.run_cell(source)
    if result.error_in_exec is not None or result.error_before_exec is not None:
        raise SystemExit(f"benchmark cell failed: {result.error_in_exec or result.error_before_exec}")


def first_output(bench: Bench, results: Results, ip: InteractiveShell, recorder: RecordingPublisher) -> None:
    """First visible output on a thinking server: our streamed step against the script's printed blocks."""
    client = bench.client()

    def ours() -> float:
        recorder.published.clear()
        start = time.perf_counter()
        _cell(ip, "%%claude_exec --new\ncode: add up the numbers")
        return (next(at for at, data in recorder.published if _is_step(data)) - start) * 1000

    def script() -> float:
        out = io.StringIO()
        start = time.perf_counter()
        conversation = baseline.Conversation(client, bench.scratch("visible"))
        message = client.messages.create(
            model=baseline.MODEL,
            max_tokens=4096,
            messages=[{"role": "user", "content": "code: add up the numbers"}],
            tools=baseline.TOOLS,
        )
        baseline.print_blocks(message.content[:1], out)  # the first block printed
        took = ms(start)
        del conversation
        return took

    with bench.network(latency=0.05, think=0.5, gap=0.03):
        mine, theirs = interleave(bench.repeats, ours, script)
    results.add(Figure("First visible output (think 0.5 s, 30 ms between events)", "ms", mine, theirs))
    client.close()


def churn(bench: Bench, results: Results, ip: InteractiveShell) -> None:
    """Three cells of a churn analysis on a slow server: wall time split into server and client time."""
    client = bench.client()
    rows = 2_000 if bench.quick else 20_000
    prompts = [f"churn {n}" for n in (1, 2, 3)]
    walls: dict[str, list[float]] = {"ours": [], "script": []}
    clients: dict[str, list[float]] = {"ours": [], "script": []}
    seeds = iter(range(1000))

    def measured(side: str, body: Any) -> float:
        seen = len(bench.api.requests)
        start = time.perf_counter()
        body()
        wall = ms(start)
        server = server_ms(bench.api.requests[seen:])
        walls[side].append(wall)
        clients[side].append(wall - server)
        return wall

    def ours() -> None:
        ip.user_ns["churn"] = churn_frame(rows, next(seeds))  # new bytes each time: a real upload
        _cell(ip, "%claude_reset")
        _cell(ip, "_upload = %claude_upload churn")
        for prompt in prompts:
            _cell(ip, f"%%claude_exec\n{prompt}")

    def script() -> None:
        out = io.StringIO()
        file_id = baseline.upload_csv(client, churn_frame(rows, next(seeds)), "churn.csv")
        conversation = baseline.Conversation(client, bench.scratch("churn"))
        for index, prompt in enumerate(prompts):
            conversation.ask(prompt, out, file_id=file_id if index == 0 else None)

    with bench.network(latency=0.05, think=0.3, gap=0.01, bandwidth=10e6):
        interleave(bench.repeats, lambda: measured("ours", ours), lambda: measured("script", script))
    results.add(Figure("3-cell churn session, wall time", "ms", walls["ours"], walls["script"]))
    results.add(
        Figure(
            "3-cell churn session, client time (wall − server)",
            "ms",
            clients["ours"],
            clients["script"],
            goal="<= 0.5x",
        )
    )
    client.close()


def render(bench: Bench, results: Results, ip: InteractiveShell, recorder: RecordingPublisher) -> None:
    """Rendering a code step's stdout: one render of the step, and the magic's turn against ``Session.run``'s.

    The stand-in's sandbox cuts output at 1 MiB (as a real one cuts it somewhere), so the 5 MB
    figure renders a step built here; the turns run 1 KB and 1 MB through the whole magic.
    """
    from claude_magic import _render
    from claude_magic.results import CodeStep, Execution

    client = bench.client()
    session = bench.session()
    for label, size in (("1k", 1_000), ("1m", 1_000_000), ("5m", 5_000_000)):
        shown = {"1k": "1 KB", "1m": "1 MB", "5m": "5 MB"}[label]
        stdout = ("y" * 99 + "\n") * (size // 100)
        step = CodeStep("srvtoolu_bench", "python", f"print(('y' * 99 + chr(10)) * {size // 100})", Execution(stdout))

        def once(step: CodeStep = step) -> float:
            start = time.perf_counter()
            _render.step_bundle(step)
            return ms(start)

        def printed(stdout: str = stdout) -> float:
            with open(os.devnull, "w") as sink:
                start = time.perf_counter()
                print(stdout, file=sink)
                return ms(start)

        renders, prints = interleave(bench.repeats, once, printed)
        results.add(
            Figure(f"Render a code step with {shown} of stdout, once", "ms", renders, prints, "script prints it")
        )
        if label == "5m":
            continue
        prompt = f"stdout {label}"
        session.run(prompt, new=True)
        publishes: list[int] = []

        def magic(prompt: str = prompt, publishes: list[int] = publishes) -> float:
            recorder.published.clear()
            start = time.perf_counter()
            _cell(ip, f"%%claude_exec --new\n{prompt}")
            publishes.append(len(recorder.published))
            return ms(start)

        def plain(prompt: str = prompt) -> float:
            start = time.perf_counter()
            session.run(prompt, new=True)
            return ms(start)

        cells, runs = interleave(bench.repeats, magic, plain)
        results.add(
            Figure(
                f"Turn printing {shown}: magic (rendered) vs Session.run",
                "ms",
                cells,
                runs,
                "Session.run, no rendering",
                note=f"{max(publishes)} displays/updates per turn",
            )
        )
    session.close()
    client.close()
