# A small chart from the uploaded table: the distribution of up to four key numeric columns.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR", "."))

tables = [*sorted(INPUT_DIR.glob("*.parquet")), *sorted(INPUT_DIR.glob("*.csv"))]  # Parquet first
if not tables:
    raise FileNotFoundError(f"No .parquet or .csv file in {INPUT_DIR}")
path = tables[0]
df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)

preferred = ["monthly_watch_hours", "account_age_months", "monthly_price", "avg_session_minutes"]
numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 10]
columns = [c for c in preferred if c in numeric] or numeric[:4]

fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 3.4), squeeze=False)
for ax, col in zip(axes[0], columns, strict=True):
    values = df[col].dropna()
    shown = values[values <= values.quantile(0.99)]  # without the top 1%, which would squash the plot
    if (shown % 1 == 0).all():  # whole numbers: one bar per value (or per few values)
        step = max(1, int(np.ceil((shown.max() - shown.min()) / 40)))
        bins = np.arange(shown.min(), shown.max() + step + 1, step) - 0.5
    else:
        bins = 40
    ax.hist(shown, bins=bins, color="#4C72B0")
    ax.axvline(values.median(), color="black", linestyle="--", linewidth=1)
    ax.set_title(f"{col}\nmedian {values.median():,.1f}", fontsize=10)
    ax.set_xlabel(col.replace("_", " "))
    ax.set_ylabel("Rows")
fig.suptitle(f"{path.name}: distributions of {len(df):,} rows (top 1% of each column not shown)", fontsize=11)
fig.tight_layout()
fig.savefig(OUTPUT_DIR / "distributions.png", dpi=100)
plt.close(fig)
print(f"Saved distributions.png ({', '.join(columns)})")
