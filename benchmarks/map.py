"""``Session.map`` against the offline stand-in: concurrency gained, and memory held by a large batch.

Two figures, in one run, no API key or network needed::

    .venv/bin/python benchmarks/map.py [--inputs 20] [--sync 8] [--think 1.0] [--batch-items 1000]

1. **Wall time.** The stand-in waits ``--think`` seconds before every response (``StandIn.latency``:
   uploads, file checks and messages alike). ``--inputs`` monthly CSV files are analysed (real code
   runs for each) once with a sequential loop of ``Session.run`` (upload, then one turn with only
   that file attached, in a new container), and once with ``Session.map(engine="sync",
   concurrency=--sync)``. Goal: the map takes at most 0.2× the loop's time.
2. **Peak memory of a batch result.** A ``--batch-items`` Message Batch whose answers each carry
   about 20 KB of text is submitted, then collected by a new ``Session`` (``resume_map``) under
   ``tracemalloc``: the peak of traced memory while the results are streamed and turned into
   rows, against the size of the results file. The results are read line by line, so the peak
   stays far below the file's size.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

from claude_magic import Session
from claude_magic.testing import Script, StandIn

ANALYSE = """
import glob, os
path = [p for p in glob.glob(os.path.join(os.environ["INPUT_DIR"], "*")) if os.path.isfile(p)][0]
rows = open(path).read().split()[1:]
print(os.path.basename(path), "total", sum(int(row.split(",")[1]) for row in rows))
"""
ANALYSIS = Script.from_dict(
    {"replies": [{"match": "", "steps": [{"text": "Adding it up."}, {"python": ANALYSE}, {"text": "Done."}]}]}
)
NOTES = "Working notes. " * 1_400  # about 20 KB of prose per answer
WORDY = Script.from_dict({"replies": [{"match": "", "steps": [{"text": NOTES}, {"text": "Done."}]}]})


def monthly_files(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"month-{index:04d}.csv"
        path.write_text("day,revenue\n" + "".join(f"{day},{(index * 7 + day) % 97}\n" for day in range(1, 29)))
        paths.append(path)
    return paths


def wall_time(root: Path, inputs: int, concurrency: int, think: float) -> tuple[float, float]:
    with StandIn(script=ANALYSIS) as api:
        api.latency = think
        paths = monthly_files(root / "loop", inputs)
        loop = Session(base_url=api.base_url, download_dir=root / "out-loop", cache_dir=root / "cache-loop")
        started = time.perf_counter()
        for path in paths:
            (uploaded,) = loop.upload(str(path)).files
            turn = loop.run(f"Total revenue of {path.name}?", attach=[uploaded.name], new=True)
            assert "total" in turn.code[-1].result.stdout  # type: ignore[union-attr]
        sequential = time.perf_counter() - started
        loop.close()

        paths = monthly_files(root / "map", inputs)
        mapper = Session(base_url=api.base_url, download_dir=root / "out-map", cache_dir=root / "cache-map")
        started = time.perf_counter()
        result = mapper.map("Total revenue of {{item}}?", str(root / "map" / "*.csv"), engine="sync",
                            concurrency=concurrency)  # fmt: skip
        mapped = time.perf_counter() - started
        assert [item.status for item in result.items] == ["succeeded"] * inputs, result.failed
        mapper.close()
    return sequential, mapped


def batch_memory(root: Path, items: int) -> tuple[int, int, float]:
    with StandIn(script=WORDY) as api:
        api.batches.workers = 8
        monthly_files(root / "batch", items)
        cache = root / "cache-batch"
        first = Session(base_url=api.base_url, download_dir=root / "out-batch", cache_dir=cache)
        submitted: list[str] = []

        def stop_once_submitted(progress: object) -> None:
            run_id = getattr(progress, "run_id", None)
            if run_id and not submitted:
                submitted.append(run_id)
                raise KeyboardInterrupt  # stop waiting: the batch goes on

        with contextlib.suppress(KeyboardInterrupt):
            first.map("Summarise {{item}}.", str(root / "batch" / "*.csv"), on_progress=stop_once_submitted)
        first.close()
        (batch_id,) = submitted
        batch = api.batches.get(batch_id)
        while batch.processing_status != "ended":
            time.sleep(0.2)
        results_size = batch.results_path.stat().st_size

        restarted = Session(base_url=api.base_url, download_dir=root / "out-batch", cache_dir=cache)
        tracemalloc.start()
        started = time.perf_counter()
        result = restarted.resume_map(batch_id)
        collected = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(result.items) == items
        assert all(item.ok for item in result.items)
        restarted.close()
    return peak, results_size, collected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--sync", type=int, default=8)
    parser.add_argument("--think", type=float, default=1.0, help="seconds the stand-in waits before each response")
    parser.add_argument("--batch-items", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("ANTHROPIC_API_KEY", "offline-stand-in")  # the stand-in accepts any key
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="claude-map-bench-") as folder:
        root = Path(folder)
        sequential, mapped = wall_time(root, args.inputs, args.sync, args.think)
        ratio = mapped / sequential
        verdict = "meets" if ratio <= 0.2 else "misses"
        print(f"{args.inputs} inputs, {args.think:g} s think time per request:")
        print(f"  sequential loop of Session.run : {sequential:6.1f} s")
        print(f"  Session.map(engine='sync', concurrency={args.sync}): {mapped:6.1f} s")
        print(f"  ratio {ratio:.2f}x ({verdict} the goal of <= 0.2x)")
        peak, size, collected = batch_memory(root, args.batch_items)
        print(f"{args.batch_items:,}-item batch result collected by a new Session in {collected:.1f} s:")
        print(f"  results file {size / 2**20:6.1f} MB, peak traced memory while collecting {peak / 2**20:6.1f} MB")
        print(f"  ({peak / size:.2f}x the results file; about {peak / args.batch_items / 1024:.1f} KB per item)")


if __name__ == "__main__":
    main()
