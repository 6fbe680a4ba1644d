# Read every uploaded file in $INPUT_DIR: tables get their shape, column types, missing values and
# first rows; anything else just its size.
import os
from pathlib import Path

import pandas as pd

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 8)

files = sorted(p for p in INPUT_DIR.iterdir() if p.is_file())
print(f"{len(files)} file(s) in {INPUT_DIR}")
for path in files:
    print(f"\n=== {path.name} ({path.stat().st_size / 1e6:.2f} MB)")
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix == ".csv":
        df = pd.read_csv(path)
    else:
        print("not a table; skipped")
        continue
    memory_mb = df.memory_usage(deep=True).sum() / 1e6
    print(f"{df.shape[0]:,} rows x {df.shape[1]} columns, {memory_mb:.1f} MB in memory")
    kinds = df.dtypes.map(lambda t: "number" if pd.api.types.is_numeric_dtype(t) else "text")
    print("Column types:", ", ".join(f"{n} {k}" for k, n in kinds.value_counts().items()))
    missing = df.isna().sum()
    print("Missing values:", ", ".join(f"{c} ({n:,})" for c, n in missing[missing > 0].items()) or "none")
    print(df.head().to_string(max_cols=8))
