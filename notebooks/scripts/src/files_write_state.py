# Work out a few facts about the uploaded table and keep them in the working directory, which
# persists between turns in this container, so a later step can use them without recomputing.
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
tables = [*sorted(INPUT_DIR.glob("*.parquet")), *sorted(INPUT_DIR.glob("*.csv"))]  # Parquet first
if not tables:
    raise FileNotFoundError(f"No .parquet or .csv file in {INPUT_DIR}")
path = tables[0]
df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)

numeric = [c for c in df.select_dtypes("number").columns if df[c].nunique() > 2]  # skip 0/1 flags
summary = {
    "source": path.name,
    "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    "rows": len(df),
    "columns": len(df.columns),
    "missing_cells": int(df.isna().sum().sum()),
    "numeric_means": {c: round(float(df[c].mean()), 3) for c in numeric[:6]},
}
if "churned" in df.columns:
    summary["churn_rate"] = round(float(df["churned"].mean()), 4)
if {"subscription_tier", "churned"} <= set(df.columns):
    summary["churn_rate_by_tier"] = df.groupby("subscription_tier")["churned"].mean().round(4).to_dict()

Path("summary.json").write_text(json.dumps(summary, indent=2) + "\n")
print(f"Wrote summary.json to {Path.cwd()}:")
print(json.dumps(summary, indent=2))
