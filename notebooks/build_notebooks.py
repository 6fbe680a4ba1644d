"""Build the demo notebooks (``*.ipynb`` here) from the cell sources below, without outputs.

The notebooks are committed clean (no outputs, no execution counts) and executed by
``scripts/run_demo.py`` (``make demo``). Their prompts must pick the intended replies of the
stand-in scripts in ``scripts/*.json`` (see ``scripts/run_locally.py`` for example prompts).
Cell ids are fixed, so building twice gives the same files.

    python notebooks/build_notebooks.py           # write the notebooks
    python notebooks/build_notebooks.py --check   # exit 1 if a notebook is not what this file gives
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

Cell = tuple[str, str]  # (kind, source): kind is "md" or "code"


def md(source: str) -> Cell:
    return ("md", source.strip())


def code(source: str) -> Cell:
    return ("code", source.strip())


def running_it(name: str) -> Cell:
    return md(f"""
**Running it.** With `ANTHROPIC_API_KEY` set, the cells talk to Claude. Without a key, run
`python scripts/run_demo.py {name}` from the repository (`make demo` runs the churn notebook, `--all` all of them):
it starts a local stand-in of the API that replays the scripted replies in `notebooks/scripts/{name}.json`, whose
code really runs, executes the notebook in a real kernel and writes it, with its outputs, to `build/demo/`. The
first code cell's output says which of the two you are looking at.
""")


def mode_cell(name: str) -> Cell:
    """Say, first thing, whether the outputs come from Claude or from the offline stand-in."""
    return code(f"""
# Live or offline? This decides what the outputs below mean.
import os
from urllib.parse import urlsplit

BASE_URL = os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
if not os.environ.get("ANTHROPIC_API_KEY"):
    print(
        "NOT CONNECTED: ANTHROPIC_API_KEY is not set, so the %claude_* cells below will fail.\\n"
        "- Live: set ANTHROPIC_API_KEY where Jupyter starts, then restart the kernel.\\n"
        "- Offline, no key needed: from the repository run `python scripts/run_demo.py {name}`, which runs\\n"
        "  this notebook against the local stand-in and writes it to build/demo/. Or start the stand-in yourself:\\n"
        "      python -m claude_magic.testing serve --script notebooks/scripts/{name}.json\\n"
        "  and run  %env ANTHROPIC_BASE_URL=<the URL it prints>  and  %env ANTHROPIC_API_KEY=offline  here."
    )
elif urlsplit(BASE_URL).hostname in {{"127.0.0.1", "localhost", "::1"}}:
    print(
        f"OFFLINE: Claude is replaced by the local stand-in at {{BASE_URL}}, which replays the scripted "
        "replies in notebooks/scripts/{name}.json; their code really runs.\\n"
        "The outputs below were produced by replayed code, not by a live model."
    )
else:
    print(f"LIVE: every %%claude_exec below is answered by Claude through {{BASE_URL}} (and uses tokens).")
""")


def setup_cell(*extra: str) -> Cell:
    """Generate the data if it is missing, load it, load the extension."""
    lines = "".join(f"{line}\n" for line in extra)
    return code(f"""
import os
import sys
from pathlib import Path

import pandas as pd

# make_data.py and data/ sit next to this notebook; `make demo` runs it elsewhere and says where they are.
DEMO_DIR = Path(os.environ.get("CLAUDE_MAGIC_DEMO_DIR") or Path.cwd())
sys.path.insert(0, str(DEMO_DIR))
import make_data

DATA = DEMO_DIR / "data" / "streaming.csv"
if not DATA.exists():
    make_data.write_streaming(DATA)  # 50,000 synthetic customers; seeded, so always the same file
streaming = pd.read_csv(DATA)
print(f"{{DATA.name}}: {{len(streaming):,}} customers x {{streaming.shape[1]}} columns")
{lines}
%load_ext claude_magic
""")


def churn_analysis() -> list[Cell]:
    return [
        md("""
# What drives churn?

This notebook hands a table of 50,000 (synthetic) streaming-service customers to Claude's code execution
tool, asks what drives churn, then asks a follow-up in the same sandbox container:

1. `%claude_upload streaming` sends the DataFrame once, as `streaming.parquet`, to the Files API.
2. `%%claude_exec` sends the cell as a prompt. Claude writes and runs code in its sandbox; its text, the code,
   what the code printed and the charts it saved appear below the cell as they happen. `--out drivers` keeps
   the whole turn (steps, files, container, usage) in a variable.
3. The follow-up runs in the same container, so it can use what the first turn left on disk.
4. Files the code saves come back to this machine: the at-risk customers' CSV is read back with pandas.
5. `%claude_export` turns the code Claude ran into a cell that reruns the analysis locally.
"""),
        running_it("churn_analysis"),
        mode_cell("churn_analysis"),
        setup_cell(),
        md("""
## Upload the data once

The DataFrame goes up as Parquet (types preserved), named after the variable. Uploading the same bytes again
later reuses the file instead of sending it twice.
"""),
        code("%claude_upload streaming"),
        md("""
## Ask for the drivers of churn

The next `%%claude_exec` attaches `streaming.parquet` to a new container, where Claude's code finds it in
`$INPUT_DIR`. Charts saved to `$OUTPUT_DIR` are downloaded and shown inline.
"""),
        code("""
%%claude_exec --out drivers
What are the main drivers of churn in streaming.parquet? Rank them, and show the evidence in a
multi-panel chart.
"""),
        md("""
## A follow-up in the same container

The conversation and the container carry over: this cell reuses what the first turn computed (it saved
every customer's predicted risk in its working directory), without uploading anything again.
"""),
        code("""
%%claude_exec --out segments
Now segment the active customers by tier using your previous results, and save a CSV of the at-risk users.
"""),
        md("""
## Bring the results back

`segments.files` holds the files the turn produced, each downloaded to `claude_outputs/` (`.path`); images are
also kept in memory (`.data`). The CSV is an ordinary file, so pandas reads it.
"""),
        code("""
at_risk_csv = next(f.path for f in segments.files if f.name.endswith(".csv"))
at_risk = pd.read_csv(at_risk_csv)
print(f"{os.path.relpath(at_risk_csv)}: {len(at_risk):,} at-risk customers")
at_risk.head()
"""),
        code("""
# Both turns ran in one container: that is why the follow-up could read what the first turn saved.
print("drivers  ran in", drivers.container.id)
print("segments ran in", segments.container.id)
same_container = drivers.container.id == segments.container.id
print("Same container:", same_container)
assert same_container, "the follow-up ran in a new container"
"""),
        md("""
## Take the code with you

`%claude_export` puts the code Claude ran into a new cell below this one (in Jupyter; elsewhere it is shown to
copy), with the uploaded data copied to `claude_inputs/`, so the analysis reruns without Claude.
"""),
        code("%claude_export"),
    ]


def files_and_containers() -> list[Cell]:
    return [
        md("""
# Files and containers

Two things persist between `%%claude_exec` cells, and this notebook shows both:

* **Uploaded files** live on the Files API and are referenced by file id. `%claude_upload` sends the bytes
  once; the next turn attaches them to the sandbox container, and later turns reuse them without sending
  anything. Uploading the same bytes under the same name again reuses the file (a local registry remembers
  what the server holds, even across kernel restarts). `%claude_files` lists and deletes them.
* **The container**, the sandbox machine with its working directory, carries over from cell to cell until it
  expires or you ask for a new one.
"""),
        running_it("files_and_containers"),
        mode_cell("files_and_containers"),
        setup_cell(),
        md("## Upload once, reuse by file id"),
        code("%claude_upload streaming"),
        md("""
The next cell is the first turn: it starts a container and attaches `streaming.parquet` to it (the request
names the file id; no bytes are sent again). Claude finds it in `$INPUT_DIR`.
"""),
        code("""
%%claude_exec
List the files you were given, with their sizes.
"""),
        md("""
This turn sends only the prompt: the file is already in the container, so nothing is attached again.
"""),
        code("""
%%claude_exec
Load the uploaded table and describe it.
"""),
        md("""
## Uploading the same data again

The same DataFrame hashes to the same bytes, which the server already holds: nothing is sent, and the file is
reported as *already uploaded*.
"""),
        code("%claude_upload streaming"),
        md("""
## Listing and deleting files

A second, small table, uploaded as CSV this time (`--format csv`), then listed and deleted again. A deleted
file is removed from the server and from this session, so no later turn attaches it.
"""),
        code("""
by_tier = streaming.groupby("subscription_tier", as_index=False).agg(
    customers=("customer_id", "size"), churn_rate=("churned", "mean")
)
by_tier
"""),
        code("%claude_upload by_tier --format csv"),
        code("%claude_files"),
        code("%claude_files delete by_tier.csv"),
        code("%claude_files"),
        md("""
## The container keeps its working directory

Every execution gets a fresh `$OUTPUT_DIR` (what is saved there comes back as files, like the chart below), but
the working directory belongs to the container and persists: one cell saves a summary there, the next reads it
back.
"""),
        code("""
%%claude_exec
Make a small chart of the main numeric columns.
"""),
        code("""
%%claude_exec --out wrote
Save a short summary of the data in your working directory for later.
"""),
        code("""
%%claude_exec --out read_back
Read that summary back and tell me what is in it.
"""),
        code("""
print("saved in    ", wrote.container.id)
print("read back in", read_back.container.id)
print("Same container:", wrote.container.id == read_back.container.id)
"""),
        md("`%claude_container` shows the container the next cell runs in, and until when it is kept:"),
        code("%claude_container"),
        md("""
## When the container expires

A container is kept for a while after its last use; `expires_at` (above, and in each turn's footer) says until
when. If a cell runs after that, the API no longer knows the container. claude_magic then starts a new one,
attaches this session's uploaded files to it again (by file id: nothing is uploaded again), runs the cell there
and says so in a notice above the answer (`turn.container_restarted` is `True`). The conversation and the
uploads survive; what the old container had on disk, like the summary saved above, does not.

The same happens on purpose with `%claude_container --new` (or `%%claude_exec --new`, which also forgets the
conversation): the next turn runs in a fresh container, and the uploaded files are attached to it again.
"""),
        code("%claude_container --new"),
        code("""
%%claude_exec --out fresh
List the files you were given, with their sizes.
"""),
        code("""
print("before:", read_back.container.id)
print("now:   ", fresh.container.id)
print("New container:", fresh.container.id != read_back.container.id)
"""),
        md("""
## Picking files with a widget

`%claude_upload --widget` shows a panel to upload files from this computer or from the kernel's disk, list what
this session uploaded, attach or detach files for the next turn, and delete them. It is interactive in Jupyter;
in an exported copy of the notebook it is only a picture.
"""),
        code("%claude_upload --widget"),
        md("""
## Your kernel functions, called from the sandbox

The sandbox has no network and cannot reach your database; the kernel can. `--tools` offers plain Python
functions from the kernel to Claude: the JSON schema comes from the signature, type hints and docstring.
On code execution versions that allow it, Claude's code in the sandbox calls them directly (programmatic
tool calling), so a query's answer feeds the analysis without passing through the conversation. Each call
runs here, in the kernel, within a time limit, and shows below with what it returned.
"""),
        code("""
TARGETS = {"basic": 0.08, "standard": 0.06, "premium": 0.04}  # stands in for a warehouse query


def churn_target(plan: str) -> dict:
    \"\"\"The churn rate the business aims for on one plan.

    Parameters
    ----------
    plan : str
        The plan name: basic, standard or premium.
    \"\"\"
    return {"plan": plan, "target": TARGETS[plan], "source": "targets table"}
"""),
        code("""
%%claude_exec --tools churn_target
Ask my kernel function for the premium plan's churn target (the warehouse) and print it.
"""),
        md("""
Before uploading personal data, `%claude_upload` can send less: `--columns`, `--drop`, `--sample N` and
`--pseudonymize` (salted hashes, with the way back kept in the kernel). `--dry-run` shows exactly what
would be sent, and sends nothing:
"""),
        code("%claude_upload streaming --sample 1000 --dry-run"),
    ]


def beyond_csv() -> list[Cell]:
    return [
        md("""
# Beyond CSV

Claude's sandbox has the usual Python libraries, so the files going in and out need not be tables:

1. **An image**: a PNG is uploaded from disk and processed with Pillow (grayscale, edge detection).
2. **An Excel report**: written with openpyxl in the sandbox, downloaded, and opened here.
3. **A statistics question**: answered with scipy's hypothesis tests, with a chart of the evidence.
"""),
        running_it("beyond_csv"),
        mode_cell("beyond_csv"),
        setup_cell(
            'SCENE = DEMO_DIR / "data" / "scene.png"',
            "if not SCENE.exists():",
            "    make_data.make_scene().save(SCENE)  # a synthetic, photo-like landscape",
        ),
        md("""
## An image, processed with Pillow

`%claude_upload` takes paths and globs as well as DataFrames (`{SCENE}` is replaced by the variable's value).
"""),
        code('%claude_upload "{SCENE}"'),
        code("""
%%claude_exec --out edges
Here is an image: convert it to grayscale, detect the edges and show them side by side.
"""),
        md("""
## An Excel report, written with openpyxl

The customers go up as Parquet; the workbook comes back as a file in `claude_outputs/`, which openpyxl and
pandas open like any other.
"""),
        code("%claude_upload streaming"),
        code("""
%%claude_exec --out report
Write an Excel report of churn by tier, region and device, with formatting and a chart.
"""),
        code("""
import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter
from openpyxl import load_workbook

xlsx = next(f.path for f in report.files if f.name.endswith(".xlsx"))
print(f"{os.path.relpath(xlsx)}: sheets {load_workbook(xlsx, read_only=True).sheetnames}")
sheets = pd.read_excel(xlsx, sheet_name=None)  # every sheet, as a DataFrame
table = sheets.get("By tier", next(iter(sheets.values())))
if "Churn Rate" in table:
    ax = table.plot.bar(x=table.columns[0], y="Churn Rate", legend=False, rot=0, figsize=(5, 3))
    ax.set_title(f"Churn rate by tier, read back from {xlsx.name}")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    plt.show()
table
"""),
        md("## A statistics question, answered with scipy"),
        code("""
%%claude_exec --out stats
Is the difference in watch hours between churned and retained customers statistically significant? Does
churn depend on the tier?
"""),
        md("Every turn keeps the files it brought back:"),
        code("""
for turn in (edges, report, stats):
    for file in turn.files:
        print(f"{file.name:<16} {file.size:>9,} bytes  {os.path.relpath(file.path)}")
"""),
    ]


def many_inputs() -> list[Cell]:
    return [
        md("""
# The same analysis over many inputs

Twelve monthly sales extracts, one question for each: `%%claude_map` sends every file its own request, with the
file attached to its own sandbox container, as one Message Batch (tokens at half price; most batches end within
an hour). A bar shows the progress; the cell then shows one row per month with Claude's answer, the end of what
its code printed, the charts it saved and the estimated cost. `--out monthly` keeps the rows as a DataFrame.

* `{{item}}` in the prompt is each input's name; `--sync 8` would run eight ordinary requests at once instead.
* An input that errors or expires stays that row's status; `%claude_map --retry monthly` reruns only those.
* The batch id is stored with the upload registry: after a kernel restart, `%claude_map --resume` collects it.
"""),
        running_it("many_inputs"),
        mode_cell("many_inputs"),
        code("""
from pathlib import Path

import numpy as np
import pandas as pd

# Twelve monthly extracts, seeded: the same files every time.
FOLDER = Path("monthly")
FOLDER.mkdir(exist_ok=True)
rng = np.random.default_rng(2025)
for month in range(1, 13):
    rows = 200
    frame = pd.DataFrame({
        "day": rng.integers(1, 29, rows),
        "region": rng.choice(["north", "south", "east", "west"], rows, p=[0.4, 0.3, 0.2, 0.1]),
        "revenue": rng.gamma(2.0, 50.0 + 5 * month, rows).round(2),
    })
    frame.to_csv(FOLDER / f"2025-{month:02d}.csv", index=False)
print(sorted(path.name for path in FOLDER.glob("*.csv")))

%load_ext claude_magic
"""),
        md("## One request per month"),
        code("""
%%claude_map monthly/*.csv --out monthly --name monthly-revenue
For {{item}}: what is the revenue by region? Save a bar chart of it as revenue.png.
"""),
        md("The rows as a DataFrame, for pandas as usual:"),
        code("""
monthly[["name", "status", "text", "input_tokens", "output_tokens", "cost"]]
"""),
        md("""
Each month's chart was saved under `claude_outputs/monthly-revenue/<month>/`; here is March's. One month's whole
turn (the code Claude ran and what it printed) renders like an ordinary `%%claude_exec` turn.
"""),
        code("""
from IPython.display import Image
from claude_magic import map_turn

march = monthly.set_index("name").loc["2025-03.csv"]
Image(filename=march["files"][0])
"""),
        code("""
map_turn(monthly, "2025-03.csv")
"""),
    ]


def deliverables() -> list[Cell]:
    return [
        md("""
# Deliverables: a workbook and a deck from the churn analysis

After the analysis comes the hand-over. With Anthropic's **Agent Skills** (`--skills xlsx,pptx`) Claude makes real
office files in its sandbox; they come back like any other output, with a preview below each download link.

1. **A workbook** of churn by tier and by region, with a chart.
2. **A deck** made from the same numbers: on `code_execution_20260120` the sandbox keeps its Python state between
   turns, so the second turn reuses the tables the first one computed.
3. **The gallery** of what this session made, and what pruning it from the server would delete.
"""),
        running_it("deliverables"),
        mode_cell("deliverables"),
        setup_cell(),
        code("%claude_upload streaming"),
        md("""
## A workbook

`--skills` loads the skills into the container; every later turn in that container sends them again, and the
footer shows the versions the API resolved.
"""),
        code("""
%%claude_exec --skills xlsx,pptx --tool-version code_execution_20260120 --out workbook
Summarise churn by subscription tier and by region in an Excel workbook, with a chart of the tiers.
"""),
        md("## A deck, from the same numbers (the sandbox's Python state carried over)"),
        code("""
%%claude_exec --tool-version code_execution_20260120 --out deck
Now turn those summaries into a short slide deck for the churn review.
"""),
        code("""
print("skills:", ", ".join(f"{s.skill_id} {s.version}" for s in deck.container.skills))
for turn in (workbook, deck):
    for file in turn.files:
        print(f"{file.name:<20} {file.size:>9,} bytes  {os.path.relpath(file.path)}")
"""),
        md("""
## What this session made

`%claude_files outputs` lists every produced file with its turn, local path and server file id. The files count
against the organisation's storage until deleted: `%claude_files prune` says what it would delete, and
`%claude_files prune --yes` deletes them from the server (the downloaded copies stay).
"""),
        code("%claude_files outputs"),
        code("%claude_files prune"),
    ]


NOTEBOOKS: dict[str, Callable[[], list[Cell]]] = {
    "churn_analysis": churn_analysis,
    "files_and_containers": files_and_containers,
    "beyond_csv": beyond_csv,
    "many_inputs": many_inputs,
    "deliverables": deliverables,
}


def build(name: str) -> NotebookNode:
    """The notebook *name*, without outputs, with fixed cell ids."""
    cells = []
    for number, (kind, source) in enumerate(NOTEBOOKS[name](), start=1):
        cell_id = f"{name.replace('_', '-')}-{number:02d}"
        cells.append(new_markdown_cell(source, id=cell_id) if kind == "md" else new_code_cell(source, id=cell_id))
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        content = render(name)
        if path.exists() and path.read_text() == content:
            continue
        if args.check:
            stale.append(path.name)
        else:
            path.write_text(content)
            print(f"wrote notebooks/{path.name}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python notebooks/build_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
