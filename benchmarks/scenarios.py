"""Scenarios measured in this process through ``Session`` and the plain SDK (no IPython)."""

from __future__ import annotations

import io
import time
from typing import Any

from benchmarks import baseline
from benchmarks.bench_env import Bench, frame, median
from benchmarks.harness import Figure, Results, interleave, ms
from claude_magic._downloads import Downloader

USER = "user"


def _raw_stream(client: Any, messages: list[Any], container: str | None = None) -> Any:
    extra = {"container": container} if container else {}
    with client.messages.stream(
        model=baseline.MODEL, max_tokens=4096, messages=messages, tools=baseline.TOOLS, **extra
    ) as events:
        for _ in events:
            pass
        return events.get_final_message()


def _raw_create(client: Any, messages: list[Any]) -> Any:
    return client.messages.create(model=baseline.MODEL, max_tokens=4096, messages=messages, tools=baseline.TOOLS)


def per_turn(bench: Bench, results: Results) -> None:
    """One turn at zero latency: ``Session.run`` against raw ``messages.stream`` and ``messages.create``."""
    session, client = bench.session(), bench.client()
    for prompt, label in (("plain", "text reply"), ("code", "reply with a code step")):
        session.run(prompt, new=True)  # connection open, everything imported
        _raw_stream(client, [{"role": USER, "content": prompt}])

        def ours(prompt: str = prompt) -> float:
            start = time.perf_counter()
            session.run(prompt, new=True)
            return ms(start)

        def stream(prompt: str = prompt) -> float:
            start = time.perf_counter()
            _raw_stream(client, [{"role": USER, "content": prompt}])
            return ms(start)

        def create(prompt: str = prompt) -> float:
            start = time.perf_counter()
            _raw_create(client, [{"role": USER, "content": prompt}])
            return ms(start)

        count = bench.repeats * 4
        mine, streamed = interleave(count, ours, stream)
        created, _ = interleave(count, create)
        results.add(Figure(f"Per turn, zero latency, {label}", "ms", mine, streamed, "raw messages.stream", "<= 1.15x"))
        results.add(Figure(f"Per turn, zero latency, {label}", "ms", mine, created, "raw messages.create"))
    session.close()


def ten_turns(bench: Bench, results: Results) -> None:
    """A 10-turn conversation with a code step per turn: the steady state (turns 6-10) and its flatness."""
    turns = 10

    def ours_conversation() -> list[float]:
        session = bench.session()
        times = []
        for index in range(turns):
            start = time.perf_counter()
            session.run(f"code turn {index}")
            times.append(ms(start))
        session.close()
        return times

    def raw_conversation() -> list[float]:
        client = bench.client()
        messages: list[Any] = []
        container: str | None = None
        times = []
        for index in range(turns):
            start = time.perf_counter()
            messages.append({"role": USER, "content": f"code turn {index}"})
            message = _raw_stream(client, messages, container)
            container = message.container.id if message.container else container
            messages.append(
                {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]}
            )
            times.append(ms(start))
        client.close()
        return times

    ours_runs: list[list[float]] = []
    raw_runs: list[list[float]] = []
    interleave(
        bench.repeats,
        lambda: ours_runs.append(ours_conversation()) or 0.0,
        lambda: raw_runs.append(raw_conversation()) or 0.0,
    )
    steady = [median(run[5:]) for run in ours_runs]
    raw_steady = [median(run[5:]) for run in raw_runs]
    results.add(
        Figure(
            "10-turn conversation, median of turns 6-10",
            "ms",
            steady,
            raw_steady,
            "raw messages.stream loop",
            "<= 1.2x",
        )
    )
    results.add(
        Figure(
            "10-turn conversation, turn 10 / turn 2",
            "×",
            [run[9] / run[1] for run in ours_runs],
            [run[9] / run[1] for run in raw_runs],
            "raw messages.stream loop",
            note="flat is 1.0",
        )
    )


def dataframes(bench: Bench, results: Results) -> None:
    """A 50k x 50 DataFrame: bytes sent and time, Parquet (ours) against CSV (the script), with and without a cap."""
    rows = 5_000 if bench.quick else 50_000
    data = frame(rows)
    cap = 20e6  # bytes/s (160 Mbit/s)
    bench.settings["bandwidth cap"] = f"{cap / 1e6:.0f} MB/s"
    client = bench.client()

    def ours() -> tuple[float, float]:
        session = bench.session()
        before = bench.api.uploaded_bytes
        start = time.perf_counter()
        session.upload(data, name="data")
        took = ms(start)
        session.close()
        return took, float(bench.api.uploaded_bytes - before)

    def script() -> tuple[float, float]:
        before = bench.api.uploaded_bytes
        start = time.perf_counter()
        baseline.upload_csv(client, data)
        return ms(start), float(bench.api.uploaded_bytes - before)

    label = f"{rows // 1000}k × 50 DataFrame"
    for capped in (None, cap):
        sizes: dict[str, list[float]] = {"ours": [], "script": []}

        def run(side: Any, key: str, sizes: dict[str, list[float]] = sizes) -> float:
            took, sent = side()
            sizes[key].append(sent)
            return took

        with bench.network(bandwidth=capped):
            mine, theirs = interleave(bench.repeats, lambda: run(ours, "ours"), lambda: run(script, "script"))
        where = f"at {cap / 1e6:.0f} MB/s" if capped else "no cap"
        if capped is None:
            results.add(Figure(f"{label}: bytes sent, Parquet vs CSV", "bytes", sizes["ours"], sizes["script"]))
        results.add(Figure(f"{label}: upload time, Parquet vs CSV, {where}", "ms", mine, theirs))
    client.close()


def dedupe(bench: Bench, results: Results) -> None:
    """Uploading an unchanged DataFrame again: recognised without sending (ours), sent again (the script)."""
    client = bench.client()
    for rows, cols, goal in ((50_000, 50, "<= 20 ms"), (1_000_000, 10, "<= 150 ms")):
        if bench.quick:
            rows //= 20
        data = frame(rows, cols)
        session = bench.session()
        session.upload(data, name="data")
        sent: list[float] = []

        def ours(session: Any = session, data: Any = data, sent: list[float] = sent) -> float:
            before = bench.api.uploaded_bytes
            start = time.perf_counter()
            batch = session.upload(data, name="data")
            took = ms(start)
            sent.append(float(bench.api.uploaded_bytes - before))
            assert batch.files[0].reused, "the unchanged frame was uploaded again"
            return took

        def script(data: Any = data) -> float:
            start = time.perf_counter()
            baseline.upload_csv(client, data)
            return ms(start)

        mine, theirs = interleave(bench.repeats, ours, script)
        label = f"{rows // 1000}k × {cols}" if rows < 1_000_000 else f"{rows // 1_000_000}M × {cols}"
        results.add(
            Figure(
                f"Dedupe hit, {label} DataFrame",
                "ms",
                mine,
                theirs,
                "script uploads the CSV again",
                goal,
                note=f"{max(sent):.0f} bytes sent",
            )
        )
        session.close()
    client.close()


def downloads(bench: Bench, results: Results) -> None:
    """Eight output files at 0.2 s latency: our downloader, one download, and the script's loop."""
    client = bench.client()
    message = _raw_create(client, [{"role": USER, "content": "files"}])
    file_ids = baseline.output_file_ids(message.content)
    assert len(file_ids) == 8, file_ids
    session = bench.session()
    api_client = session.client

    def fetch(ids: list[str]) -> float:
        downloader = Downloader(api_client, bench.scratch("dl"))
        start = time.perf_counter()
        files = [future.result() for future in [downloader.submit(file_id) for file_id in ids]]
        took = ms(start)
        downloader.close()
        assert all(file.error is None for file in files), files
        return took

    def script() -> float:
        start = time.perf_counter()
        baseline.download_all(client, file_ids, bench.scratch("script-dl"))
        return ms(start)

    with bench.network(latency=0.2):
        fetch(file_ids[:1])  # connections open
        eight, one = interleave(bench.repeats, lambda: fetch(file_ids), lambda: fetch(file_ids[:1]))
        _, sequential = interleave(bench.repeats, lambda: 0.0, script)
        results.add(Figure("8 output files at 0.2 s latency", "ms", eight, one, "one download (ours)", "<= 1.3x"))
        results.add(Figure("8 output files at 0.2 s latency", "ms", eight, sequential, "script, one after another"))

        def turn() -> float:
            start = time.perf_counter()
            done = session.run("files", new=True)
            assert len(done.files) == 8
            return ms(start)

        def script_turn() -> float:
            conversation = baseline.Conversation(client, bench.scratch("script-turn"))
            start = time.perf_counter()
            conversation.ask("files", io.StringIO())
            return ms(start)

        mine, theirs = interleave(bench.repeats, turn, script_turn)
        results.add(Figure("A turn producing 8 files at 0.2 s latency", "ms", mine, theirs))
    session.close()
    client.close()
