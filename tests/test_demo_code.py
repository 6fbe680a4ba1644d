"""The demo notebooks' scripted code really runs, independently of the stand-in server.

Each script in notebooks/scripts/ is replayed by notebooks/scripts/run_locally.py: the prompts the notebooks
send pick replies by their ``match`` regexes, and the steps run in order in a temporary "container" with
$INPUT_DIR and $OUTPUT_DIR set, on 5,000 generated customers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import make_data
import pandas as pd
import pytest
import run_locally

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ROWS = 5_000
DRIVERS = {"subscription_tier", "monthly_watch_hours", "account_age_months", "payment_failures_90d"}


SCRIPTS = list(run_locally.PROMPTS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each script run once, on demand, shared by the tests below."""
    cache: dict[str, Any] = {}

    def run(name: str) -> Any:
        if name not in cache:
            cache[name] = run_locally.run_script(name, tmp_path_factory.mktemp(name), ROWS)
        return cache[name]

    return {"run": run}


def test_json_matches_sources() -> None:
    proc = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "scripts" / "build.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_reply_is_used_by_a_prompt(name: str) -> None:
    script = run_locally.load_script(name)
    chosen = [run_locally.choose_reply(script, prompt) for prompt, _ in run_locally.PROMPTS[name]]
    assert sorted(chosen) == list(range(len(script["replies"])))


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_code_runs_and_produces_its_files(name: str, runs: dict[str, Any]) -> None:
    turns = runs["run"](name)
    assert run_locally.problems(name, turns) == []
    for turn in turns:
        for file_name, path in turn.outputs.items():
            if file_name.endswith(".png"):
                from PIL import Image

                with Image.open(path) as image:
                    assert image.format == "PNG"
                    assert image.width >= 400
                    assert image.height >= 250
            elif file_name.endswith(".csv"):
                assert len(pd.read_csv(path)) > 0
            elif file_name.endswith(".xlsx"):
                from openpyxl import load_workbook

                workbook = load_workbook(path)
                assert {"Summary", "By tier", "By region", "By device"} <= set(workbook.sheetnames)
                assert workbook["By tier"].max_row == 4  # header + three tiers


def test_churn_analysis_finds_the_real_drivers(runs: dict[str, Any]) -> None:
    stdout = runs["run"]("churn_analysis")[0].executions[0].stdout
    ranking = stdout.split("ranked by Wald chi-square", 1)[1].splitlines()[2:6]
    assert {line.split()[1] for line in ranking} == DRIVERS


def test_at_risk_users_are_active_and_high_risk(runs: dict[str, Any]) -> None:
    at_risk = pd.read_csv(runs["run"]("churn_analysis")[1].outputs["at_risk_users.csv"])
    assert at_risk["churn_risk"].min() >= 0.4
    assert at_risk["churn_risk"].is_monotonic_decreasing
    assert set(at_risk["subscription_tier"]) <= {"basic", "standard", "premium"}


@pytest.mark.parametrize(
    ("name", "prompt_index", "message"),
    [
        ("churn_analysis", 1, "scored.parquet is not in the working directory"),
        ("files_and_containers", 4, "summary.json is not in"),
    ],
)
def test_follow_ups_fail_clearly_in_a_new_container(tmp_path: Path, name: str, prompt_index: int, message: str) -> None:
    run_locally.prepare_inputs(tmp_path / "input", rows=500)
    container = run_locally.Container(tmp_path, tmp_path / "input")
    prompt = run_locally.PROMPTS[name][prompt_index][0]
    turn = run_locally.run_turn(container, run_locally.load_script(name), prompt)
    assert turn.failed
    assert message in turn.failed[0].stderr


def test_make_streaming_shape_and_signal() -> None:
    df = make_data.make_streaming(20_000, seed=3)
    assert df.shape == (20_000, 50)
    assert df.columns[0] == "customer_id"
    assert df.columns[-1] == "churned"
    assert df["customer_id"].is_unique
    assert 0.15 <= df["churned"].mean() <= 0.25
    assert set(df.columns[df.isna().any()]) == {"avg_rating_given", "nps_score"}
    by_tier = df.groupby("subscription_tier")["churned"].mean()
    assert by_tier["basic"] > by_tier["standard"] > by_tier["premium"]
    pd.testing.assert_frame_equal(df.head(100), make_data.make_streaming(20_000, seed=3).head(100))


def test_make_data_cli_is_idempotent(tmp_path: Path) -> None:
    out = tmp_path / "data" / "streaming.csv"
    assert make_data.write_streaming(out, rows=300)
    assert not make_data.write_streaming(out, rows=300)
    assert make_data.write_streaming(out, rows=400)
    assert len(pd.read_csv(out)) == 400
    assert make_data.main(["--rows", "400", "--out", str(out)]) == 0
