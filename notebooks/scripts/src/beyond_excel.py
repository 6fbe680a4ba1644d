# An Excel report written with openpyxl: a summary sheet, churn by tier (with a chart), by region and
# by device (with colour scales), and a filterable sample of customers.
import os
from datetime import date
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR", "."))
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
FORMATS = {
    "churn_rate": "0.0%",
    "avg_price": '"$"#,##0.00',
    "monthly_revenue": '"$"#,##0',
    "avg_watch_hours": "0.0",
    "customers": "#,##0",
    "churned": "#,##0",
}

tables = [*sorted(INPUT_DIR.glob("*.parquet")), *sorted(INPUT_DIR.glob("*.csv"))]  # Parquet first
if not tables:
    raise FileNotFoundError(f"No .parquet or .csv file in {INPUT_DIR}")
df = pd.read_parquet(tables[0]) if tables[0].suffix == ".parquet" else pd.read_csv(tables[0])
print(f"Loaded {tables[0].name}: {len(df):,} rows")


def breakdown(by: str) -> pd.DataFrame:
    table = df.groupby(by).agg(
        customers=("customer_id", "size"),
        churned=("churned", "sum"),
        churn_rate=("churned", "mean"),
        avg_price=("monthly_price", "mean"),
        avg_watch_hours=("monthly_watch_hours", "mean"),
        monthly_revenue=("monthly_price", "sum"),
    )
    return table.sort_values("customers", ascending=False).reset_index()


def write_table(ws, table: pd.DataFrame, first_row: int = 1) -> None:
    """Write a DataFrame with a styled header, number formats, widths, frozen header and a filter."""
    ws.append([c.replace("_", " ").title() for c in table.columns])
    for cell in ws[first_row]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(horizontal="center")
    for row in table.itertuples(index=False):
        ws.append([v.item() if hasattr(v, "item") else v for v in row])
    for i, name in enumerate(table.columns, start=1):
        letter = get_column_letter(i)
        for cell in ws[letter][first_row:]:
            cell.number_format = FORMATS.get(name, "General")
        ws.column_dimensions[letter].width = max(12, len(name) + 4)
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
    ws.auto_filter.ref = ws.dimensions


def colour_churn(ws, table: pd.DataFrame) -> None:
    letter = get_column_letter(table.columns.get_loc("churn_rate") + 1)
    ws.conditional_formatting.add(
        f"{letter}2:{letter}{len(table) + 1}",
        ColorScaleRule(
            start_type="min",
            start_color="63BE7B",
            mid_type="percentile",
            mid_value=50,
            mid_color="FFEB84",
            end_type="max",
            end_color="F8696B",
        ),
    )


wb = Workbook()
summary = wb.active
summary.title = "Summary"
summary["A1"] = "Streaming customers: churn report"
summary["A1"].font = Font(bold=True, size=14)
summary["A2"] = f"Source: {tables[0].name}, generated {date.today().isoformat()}"
kpis = [
    ("Customers", len(df), "#,##0"),
    ("Churned", int(df["churned"].sum()), "#,##0"),
    ("Churn rate", float(df["churned"].mean()), "0.0%"),
    ("Average monthly price", float(df["monthly_price"].mean()), '"$"#,##0.00'),
    ("Monthly revenue", float(df["monthly_price"].sum()), '"$"#,##0'),
    ("Average watch hours / month", float(df["monthly_watch_hours"].mean()), "0.0"),
]
for i, (label, value, fmt) in enumerate(kpis, start=4):
    summary.cell(row=i, column=1, value=label).font = Font(bold=True)
    summary.cell(row=i, column=2, value=value).number_format = fmt
summary.column_dimensions["A"].width = 30
summary.column_dimensions["B"].width = 16

for by, title in [("subscription_tier", "By tier"), ("region", "By region"), ("device", "By device")]:
    table = breakdown(by)
    ws = wb.create_sheet(title)
    write_table(ws, table)
    colour_churn(ws, table)
    if by == "subscription_tier":
        chart = BarChart()
        chart.title, chart.y_axis.title, chart.x_axis.title = "Churn rate by tier", "Churn rate", "Tier"
        chart.y_axis.numFmt = "0%"
        col = table.columns.get_loc("churn_rate") + 1
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=len(table) + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(table) + 1))
        chart.legend, chart.height, chart.width = None, 7, 12
        ws.add_chart(chart, "I2")

sample_columns = [
    "customer_id",
    "subscription_tier",
    "region",
    "device",
    "monthly_price",
    "monthly_watch_hours",
    "account_age_months",
    "payment_failures_90d",
    "churned",
]
write_table(wb.create_sheet("Customers (sample)"), df[sample_columns].head(1000))

out = OUTPUT_DIR / "report.xlsx"
wb.save(out)

# Read it back to check what was written.
check = load_workbook(out)
print(f"Saved {out.name} ({out.stat().st_size / 1024:.0f} KB):")
for ws in check.worksheets:
    print(f"  {ws.title:<20} {ws.dimensions:<8} charts: {len(ws._charts)}")
print(
    breakdown("subscription_tier").to_string(
        index=False,
        formatters={
            "churn_rate": "{:.1%}".format,
            "avg_price": "${:.2f}".format,
            "avg_watch_hours": "{:.1f}".format,
            "monthly_revenue": "${:,.0f}".format,
        },
    )
)
