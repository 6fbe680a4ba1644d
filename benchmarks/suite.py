"""Run every scenario in one process tree, print each figure and write the results.

    .venv/bin/python -m benchmarks [--repeats 5] [--quick] [--out build/bench] [--only NAME ...] [--readme README.md]

``--quick`` shrinks the data (for the smoke test); figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import fresh, notebook, scenarios
from benchmarks.bench_env import SCRIPT, Bench, hermetic
from benchmarks.harness import Results, update_readme
from claude_magic.testing import StandIn

IN_PROCESS: dict[str, Callable[[Bench, Results], None]] = {
    "start_up": fresh.start_up,
    "per_turn": scenarios.per_turn,
    "ten_turns": scenarios.ten_turns,
    "dataframes": scenarios.dataframes,
    "dedupe": scenarios.dedupe,
    "downloads": scenarios.downloads,
    "peak_rss": fresh.peak_rss,
}
NOTEBOOK = ("first_output", "churn", "render")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats per figure (default 5)")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke test")
    parser.add_argument("--out", type=Path, default=Path("build/bench"), help="where results go")
    parser.add_argument("--only", nargs="*", choices=[*IN_PROCESS, *NOTEBOOK], help="run only these scenarios")
    parser.add_argument("--readme", type=Path, help="also put the table in this README's bench markers")
    args = parser.parse_args(argv)
    chosen = args.only or [*IN_PROCESS, *NOTEBOOK]
    results = Results(settings={"repeats": args.repeats, "quick": args.quick})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="claude-magic-bench-") as temp:
        folder = Path(temp)
        hermetic(folder)
        with StandIn(script=SCRIPT, root=folder) as api:
            bench = Bench(api, folder, args.repeats, args.quick, results.settings)
            print(f"claude_magic benchmarks: {args.repeats} interleaved repeats ({sys.executable})", flush=True)
            for name in chosen:
                if name in IN_PROCESS:
                    IN_PROCESS[name](bench, results)
            if any(name in NOTEBOOK for name in chosen):
                with notebook.shell(bench) as (ip, recorder):
                    if "first_output" in chosen:
                        notebook.first_output(bench, results, ip, recorder)
                    if "churn" in chosen:
                        notebook.churn(bench, results, ip)
                    if "render" in chosen:
                        notebook.render(bench, results, ip, recorder)
    results.settings["seconds"] = round(time.monotonic() - started)
    json_path, md_path = results.write(args.out)
    print(f"\nwrote {json_path} and {md_path} in {results.settings['seconds']} s")
    if args.readme is not None and update_readme(args.readme, md_path.read_text().rstrip()):
        print(f"updated the performance table in {args.readme}")
    return 0
