# A workbook for the churn review: churn by tier and by region (openpyxl, as the xlsx skill does),
# with a chart image beside it. `by_tier` and `by_region` stay in the REPL for the next turn's deck.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
OUTPUT_DIR = Path(os.environ["OUTPUT_DIR"])
source = next(iter([*sorted(INPUT_DIR.glob("*.parquet")), *sorted(INPUT_DIR.glob("*.csv"))]))
customers = pd.read_parquet(source) if source.suffix == ".parquet" else pd.read_csv(source)


def summarise(column: str) -> pd.DataFrame:
    grouped = customers.groupby(column).agg(customers=("churned", "size"), churn_rate=("churned", "mean"))
    return grouped.sort_values("churn_rate", ascending=False).reset_index()


by_tier, by_region = summarise("subscription_tier"), summarise("region")
book = Workbook()
for index, (title, table) in enumerate((("By tier", by_tier), ("By region", by_region))):
    sheet = book.active if index == 0 else book.create_sheet()
    sheet.title = title
    sheet.append(["Segment", "Customers", "Churn rate"])
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1F4E78")
    for segment, count, rate in table.itertuples(index=False):
        sheet.append([segment, int(count), round(float(rate), 4)])
        sheet.cell(sheet.max_row, 3).number_format = "0.0%"
book.save(OUTPUT_DIR / "churn_review.xlsx")

ax = by_tier.plot.bar(x="subscription_tier", y="churn_rate", legend=False, rot=0, figsize=(5, 3))
ax.set_ylabel("churn rate")
ax.set_title("Churn rate by tier")
plt.tight_layout()
plt.savefig(OUTPUT_DIR / "churn_by_tier.png", dpi=100)
print(by_tier.to_string(index=False))
