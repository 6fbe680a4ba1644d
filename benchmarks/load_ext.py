"""How long ``%load_ext claude_magic`` and the light entry points take, in fresh interpreters.

Each measurement runs in its own subprocess (nothing cached in ``sys.modules``), N times:

* ``load_extension``: ``shell.extension_manager.load_extension("claude_magic")`` on an
  ``InteractiveShell`` that already exists, i.e. what ``%load_ext`` adds to IPython's start-up.
  Also reported: when the background import of the SDK that loading starts has finished.
* ``import claude_magic``.
* ``from claude_magic import Session; Session()``.

No API key and no network are used. Run with the project's interpreter::

    .venv/bin/python benchmarks/load_ext.py [--runs 10] [--strict]

``--strict`` exits with status 1 when the median load time is over the 50 ms target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

TARGET_MS = 50.0
HEAVY = ("anthropic", "httpx", "pandas", "pyarrow", "pygments", "ipywidgets")

_LOAD = textwrap.dedent(
    """
    import json, sys, threading, time
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    before = set(sys.modules)
    start = time.perf_counter()
    shell.extension_manager.load_extension("claude_magic")
    loaded = time.perf_counter()
    new = sorted(set(sys.modules) - before)
    heavy = sorted({name.split(".")[0] for name in new} & set(HEAVY))
    for thread in threading.enumerate():
        if thread.name.startswith("claude-magic"):
            thread.join()
    warm = time.perf_counter()
    print(json.dumps({"ms": (loaded - start) * 1000, "warm_ms": (warm - start) * 1000,
                      "modules": len(new), "heavy_sync": heavy}))
    """
)

_MAGICS_MODULE = textwrap.dedent(
    """
    import json, sys
    import IPython.core.interactiveshell
    before = set(sys.modules)
    import claude_magic._magics  # what loading imports itself, without the background thread
    heavy = sorted({name.split(".")[0] for name in set(sys.modules) - before} & set(HEAVY))
    print(json.dumps({"heavy_sync": heavy}))
    """
)

_IMPORT = textwrap.dedent(
    """
    import json, sys, time
    start = time.perf_counter()
    import claude_magic
    done = time.perf_counter()
    heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
    print(json.dumps({"ms": (done - start) * 1000, "heavy_sync": heavy}))
    """
)

_SESSION = textwrap.dedent(
    """
    import json, sys, time
    start = time.perf_counter()
    from claude_magic import Session
    Session()
    done = time.perf_counter()
    heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
    print(json.dumps({"ms": (done - start) * 1000, "heavy_sync": heavy}))
    """
)


def _child_env() -> dict[str, str]:
    """The caller's environment without any ANTHROPIC_* variable: loading must not need them."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    return env


def _measure(code: str, runs: int) -> list[dict[str, object]]:
    program = f"HEAVY = {HEAVY!r}\n{code}"
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, env=_child_env(), check=False
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"benchmark child failed with status {done.returncode}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def _row(label: str, values: list[float]) -> str:
    return f"{label:<44} {statistics.median(values):>9.1f} {max(values):>9.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh interpreters per measurement (default 10)")
    parser.add_argument("--strict", action="store_true", help=f"exit 1 if the median load is over {TARGET_MS} ms")
    args = parser.parse_args(argv)

    _measure(_LOAD, 1)  # warm the OS file cache and byte-code once, not counted
    load = _measure(_LOAD, args.runs)
    imported = _measure(_IMPORT, args.runs)
    session = _measure(_SESSION, args.runs)
    magics_module = _measure(_MAGICS_MODULE, 1)

    load_ms = [float(r["ms"]) for r in load]  # type: ignore[arg-type]
    print(f"claude_magic start-up cost, {args.runs} fresh interpreters each ({sys.executable})")
    print()
    print(f"{'measurement':<44} {'median ms':>9} {'max ms':>9}")
    print(_row("%load_ext claude_magic (load_extension)", load_ms))
    print(_row("  ... until background SDK import is done", [float(r["warm_ms"]) for r in load]))  # type: ignore[arg-type]
    print(_row("import claude_magic", [float(r["ms"]) for r in imported]))  # type: ignore[arg-type]
    print(_row("from claude_magic import Session; Session()", [float(r["ms"]) for r in session]))  # type: ignore[arg-type]
    print()
    print(f"modules imported by load_extension: {load[0]['modules']}")
    for label, results in (
        ("load_extension (claude_magic._magics)", magics_module),
        ("import claude_magic", imported),
        ("Session()", session),
        ("load_extension + its background thread, at return", load),
    ):
        heavy = sorted({name for r in results for name in r["heavy_sync"]})  # type: ignore[attr-defined]
        print(f"heavy modules ({', '.join(HEAVY)}) imported by {label}: {', '.join(heavy) or 'none'}")
    median = statistics.median(load_ms)
    verdict = "within" if median <= TARGET_MS else "OVER"
    print(f"\nload median {median:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    return 1 if args.strict and median > TARGET_MS else 0


if __name__ == "__main__":
    raise SystemExit(main())
