"""One month's revenue by region: the total per region, and a bar chart of it."""

import glob
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

folder = os.environ.get("INPUT_DIR") or "."
path = sorted(p for p in glob.glob(os.path.join(folder, "*.csv")))[0]
month = pd.read_csv(path)
by_region = month.groupby("region")["revenue"].sum().sort_values(ascending=False)
print(os.path.basename(path), "total", int(by_region.sum()))
print(by_region.to_string())

ax = by_region.plot.bar(color="#4c72b0", figsize=(4, 3))
ax.set_title(os.path.basename(path).removesuffix(".csv"))
ax.set_ylabel("revenue")
plt.tight_layout()
plt.savefig(os.path.join(os.environ.get("OUTPUT_DIR", "."), "revenue.png"), dpi=80)
