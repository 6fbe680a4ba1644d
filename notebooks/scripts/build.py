"""Build the stand-in scripts (``*.json`` here) from the readable sources in ``src/``.

Each demo notebook has one script: a list of replies, each chosen by a ``match`` regex on the prompt,
whose ``python`` steps are the files in ``src/`` verbatim (so they stay reviewable and lintable) and
whose ``text`` steps are written below. See docs/script-format.md for the format.

    python notebooks/scripts/build.py           # write the JSON files
    python notebooks/scripts/build.py --check   # exit 1 if a JSON file is not what the sources give
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

Step = dict[str, Any]


def text(value: str) -> Step:
    return {"text": value.strip()}


def python(name: str) -> Step:
    return {"python": (SRC / name).read_text()}


def bash(command: str) -> Step:
    return {"bash": command}


def reply(match: str, *steps: Step) -> dict[str, Any]:
    return {"match": match, "steps": list(steps)}


def churn_analysis() -> list[dict[str, Any]]:
    return [
        reply(
            r"(?i)drivers of churn",
            text(
                "I'll load the customer table, compare churn across subscription tiers, watch-hour "
                "quartiles, account-age bands and payment failures, then fit a logistic regression over all "
                "the columns so the drivers are ranked after adjusting for one another."
            ),
            python("churn_drivers.py"),
            text("""
**What drives churn**

- **Account age**: new customers churn far more often, and churn falls steadily with tenure.
- **Payment failures**: every failed payment in the last 90 days raises the odds of churning; customers with
  three or more failures mostly churn.
- **Watch hours**: the lightest-viewing quarter churns several times as often as the heaviest-viewing quarter.
- **Subscription tier**: basic churns most and premium least, and the gap remains after adjusting for watch
  hours and everything else.

These four lead both the raw churn rates and the multivariable ranking. Weaker but real effects follow:
monthly rather than annual billing, a lower NPS score, more days since the last login, no autopay, support
tickets and promo sign-ups. Genres, device, region and demographics add little once these are accounted for.
`monthly_price` was left out of the model because tier, price tier, region and billing cycle almost fix it.

The charts are `churn_drivers.png` (churn by segment) and `driver_ranking.png` (the ranking). I also saved
every customer's predicted risk as `scored.parquet` in the working directory, for segmenting next.
"""),
        ),
        reply(
            r"(?i)segment",
            text(
                "I'll reuse `scored.parquet`, which the previous step left in this container's working "
                "directory, and segment the active customers by tier and predicted churn risk."
            ),
            python("churn_segments.py"),
            text("""
**At-risk customers**

- Risk is concentrated in the **basic** tier: it has by far the largest share of active customers in the
  high and at-risk bands, while most premium customers are low risk.
- Standard customers pay more, so the revenue at risk in standard is of the same order as in basic even though
  far fewer of them are at risk.
- Among at-risk customers the usual flags are basic tier, light viewing and a new account; about a third have
  recent payment failures, which are the quickest to act on.

`at_risk_users.csv` lists every active customer with a predicted churn risk of 40% or more, highest first,
with the flags behind the score and a suggested first action. `risk_segments.png` shows the risk mix and the
expected monthly revenue at risk per tier.
"""),
        ),
    ]


# Programmatic tool calling: sandbox code awaits a kernel function (top-level await, as in the sandbox's REPL).
KERNEL_TOOL_CODE = """\
import json

target = json.loads(await churn_target({"plan": "premium"}))
print(f"Target churn for {target['plan']}: {target['target']:.1%} (from the kernel, {target['source']})")
"""


def files_and_containers() -> list[dict[str, Any]]:
    # Order matters: the first match wins, so "read it back" comes before the plain "read".
    return [
        reply(
            r"(?i)kernel function|warehouse",
            {"program": {"code": KERNEL_TOOL_CODE, "calls": [{"name": "churn_target", "input": {"plan": "premium"}}]}},
            text(
                "The target came from your kernel's `churn_target` function, called from my code in the sandbox: "
                "only its small JSON answer reached the sandbox, and none of it passed through this conversation."
            ),
        ),
        reply(
            r"(?i)\bread\b.*\bback\b|still there",
            text("Let me see what is in the working directory and read back what I saved earlier."),
            bash("pwd && ls -la"),
            python("files_read_back.py"),
            {"editor": {"command": "view", "path": "notes.md"}},
            text(
                "Both files are still there: the working directory belongs to this container and persists "
                "between turns, whereas `$OUTPUT_DIR` is fresh for every execution."
            ),
        ),
        reply(
            r"(?i)\blist\b|what files|which files",
            bash('echo "INPUT_DIR=$INPUT_DIR" && ls -lh "$INPUT_DIR" && du -sh "$INPUT_DIR"'),
            text(
                "These are the files you uploaded; they are read-only inputs in `$INPUT_DIR`, with the sizes "
                "shown above."
            ),
        ),
        reply(
            r"(?i)chart|plot|histogram",
            python("files_chart.py"),
            text(
                "`distributions.png` shows the distributions of the main numeric columns, with each median "
                "marked. Anything saved to `$OUTPUT_DIR` comes back to you as a file."
            ),
        ),
        reply(
            r"(?i)\b(save|write|keep|remember)\b",
            python("files_write_state.py"),
            {
                "editor": {
                    "command": "create",
                    "path": "notes.md",
                    "file_text": (
                        "# Notes\n\n"
                        "- summary.json: row and column counts, means and churn rates of the upload.\n"
                        "- Both files live in the container's working directory, not in $OUTPUT_DIR.\n"
                    ),
                }
            },
            text(
                "I saved `summary.json` and `notes.md` in the working directory. They are not returned as "
                "files, but they stay in this container, so a later turn can read them back."
            ),
        ),
        reply(
            r"(?i)\b(read|load|open|look at|describe)\b",
            python("files_read.py"),
            text(
                "That is what each uploaded file holds. Tables come in as Parquet by default (types "
                "preserved); CSV uploads are read the same way."
            ),
        ),
    ]


def beyond_csv() -> list[dict[str, Any]]:
    return [
        reply(
            r"(?i)excel|xlsx|spreadsheet|workbook",
            text("I'll build the workbook with openpyxl so I can control formats, colours and the chart."),
            python("beyond_excel.py"),
            text(
                "`report.xlsx` has a **Summary** sheet with the headline numbers, **By tier** (with a bar "
                "chart of churn rate), **By region** and **By device** (churn rate coloured from green to "
                "red) and a filterable sample of 1,000 customers. Headers are frozen and numbers formatted "
                "as percentages and dollars."
            ),
        ),
        reply(
            r"(?i)statistic|significan|t-test|chi-square|hypothesis",
            python("beyond_stats.py"),
            text(
                "Both differences are statistically significant by a wide margin: churned customers watch "
                "markedly less (Welch's t-test, confirmed by the rank-based Mann-Whitney test since watch "
                "hours are skewed), and churn depends on the subscription tier (chi-square test of "
                "independence). "
                "With this many customers even small effects would be significant, so the effect sizes "
                "(Cohen's d, Cramér's V) and the confidence intervals in `stats_tests.png` are what matter."
            ),
        ),
        reply(
            r"(?i)image|photo|picture|edge",
            python("beyond_image.py"),
            text(
                "`image_edges.png` shows the original, its grayscale version and the edge map side by side. "
                "A light blur before `FIND_EDGES` keeps the grain out, so the edges are the outlines of the "
                "horizon, the hills, the sun and the buildings."
            ),
        ),
    ]


def many_inputs() -> list[dict[str, Any]]:
    return [
        reply(
            r"(?i)revenue by region",
            text("I'll total this month's revenue per region and chart it."),
            python("many_monthly.py"),
            text("Revenue by region is totalled above; `revenue.png` charts it, largest region first."),
        ),
    ]


def deliverables() -> list[dict[str, Any]]:
    return [
        reply(
            r"(?i)workbook",
            text("I'll summarise churn by tier and by region and write the workbook with the xlsx skill's tools."),
            python("deliverables_workbook.py"),
            text(
                "`churn_review.xlsx` has a **By tier** and a **By region** sheet (customers and churn rate, "
                "formatted as percentages); `churn_by_tier.png` shows the tier comparison."
            ),
        ),
        reply(
            r"(?i)deck|slides",
            text("The summaries from the workbook are still in the sandbox's Python session, so I'll reuse them."),
            python("deliverables_deck.py"),
            text("`churn_review.pptx` has a cover, a slide per breakdown and the next steps."),
        ),
    ]


SCRIPTS = {
    "churn_analysis": churn_analysis,
    "files_and_containers": files_and_containers,
    "beyond_csv": beyond_csv,
    "many_inputs": many_inputs,
    "deliverables": deliverables,
}


def render(name: str) -> str:
    return json.dumps({"replies": SCRIPTS[name]()}, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the JSON files are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name in SCRIPTS:
        path = HERE / f"{name}.json"
        content = render(name)
        if args.check:
            if not path.exists() or path.read_text() != content:
                stale.append(path.name)
        elif not path.exists() or path.read_text() != content:
            path.write_text(content)
            print(f"wrote {path.relative_to(HERE.parent.parent)}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python notebooks/scripts/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
