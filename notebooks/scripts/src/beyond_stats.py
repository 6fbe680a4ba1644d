# Two hypothesis tests with scipy: do churned customers watch less (Welch t-test, with Mann-Whitney U
# as a check because watch hours are skewed), and does churn depend on the tier (chi-square)?
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR", "."))

tables = [*sorted(INPUT_DIR.glob("*.parquet")), *sorted(INPUT_DIR.glob("*.csv"))]  # Parquet first
if not tables:
    raise FileNotFoundError(f"No .parquet or .csv file in {INPUT_DIR}")
df = pd.read_parquet(tables[0]) if tables[0].suffix == ".parquet" else pd.read_csv(tables[0])


def p_text(p: float) -> str:
    return f"p = {p:.2e}" if p >= 1e-300 else "p < 1e-300"


churned = df.loc[df["churned"] == 1, "monthly_watch_hours"]
stayed = df.loc[df["churned"] == 0, "monthly_watch_hours"]

# 1. Watch hours: churned vs retained.
t = stats.ttest_ind(churned, stayed, equal_var=False)
ci = t.confidence_interval(0.95)
pooled_sd = np.sqrt(
    (churned.var() * (len(churned) - 1) + stayed.var() * (len(stayed) - 1)) / (len(churned) + len(stayed) - 2)
)
cohens_d = (churned.mean() - stayed.mean()) / pooled_sd
u = stats.mannwhitneyu(churned, stayed)
print("Monthly watch hours, churned vs retained")
print(f"  means {churned.mean():.1f} vs {stayed.mean():.1f} h", end=" ")
print(f"(medians {churned.median():.1f} vs {stayed.median():.1f})")
print(f"  Welch t = {t.statistic:.2f}, df = {t.df:,.0f}, {p_text(t.pvalue)}")
difference = churned.mean() - stayed.mean()
print(f"  difference {difference:+.1f} h, 95% CI [{ci.low:.1f}, {ci.high:.1f}]; Cohen's d = {cohens_d:.2f}")
print(
    f"  Mann-Whitney U {p_text(u.pvalue)}; P(a churned customer watches more than a retained one) = "
    f"{u.statistic / (len(churned) * len(stayed)):.2f}"
)

# 2. Churn vs subscription tier.
order = [tier for tier in ["basic", "standard", "premium"] if tier in set(df["subscription_tier"])]
table = pd.crosstab(df["subscription_tier"], df["churned"]).reindex(order)
chi2, p, dof, expected = stats.chi2_contingency(table)
cramers_v = np.sqrt(chi2 / (table.to_numpy().sum() * (min(table.shape) - 1)))
print("\nChurn by subscription tier (observed | expected if independent)")
for tier, row in table.iterrows():
    exp = expected[table.index.get_loc(tier)]
    print(f"  {tier:<9} churned {row[1]:>6,} | {exp[1]:>8,.0f}   rate {row[1] / row.sum():.1%}")
print(f"  chi-square = {chi2:,.1f}, df = {dof}, {p_text(p)}, Cramér's V = {cramers_v:.2f}")

print("\nAt the 5% level:")
print(
    "  watch hours:",
    "churned and retained customers differ" if t.pvalue < 0.05 else "no significant difference",
)
print("  tier:", "churn depends on the tier" if p < 0.05 else "no evidence that churn depends on the tier")

# Chart: the two comparisons, with 95% confidence intervals for the churn rates.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
upper = df["monthly_watch_hours"].quantile(0.99)
bins = np.linspace(0, upper, 40)
left.hist(stayed[stayed <= upper], bins=bins, alpha=0.6, density=True, label="retained", color="#4C72B0")
left.hist(churned[churned <= upper], bins=bins, alpha=0.6, density=True, label="churned", color="#C44E52")
left.set_title(f"Watch hours: Welch t = {t.statistic:.1f}, {p_text(t.pvalue)}")
left.set_xlabel("Monthly watch hours (top 1% not shown)")
left.set_ylabel("Density")
left.legend()

rates, errors = [], [[], []]
for tier in order:
    n_churned, n = int(table.loc[tier, 1]), int(table.loc[tier].sum())
    low, high = stats.binomtest(n_churned, n).proportion_ci(0.95, method="wilson")
    rates.append(n_churned / n)
    errors[0].append(n_churned / n - low)
    errors[1].append(high - n_churned / n)
right.bar(order, rates, yerr=errors, capsize=6, color="#4C72B0")
right.set_title(f"Churn rate by tier: chi-square = {chi2:,.0f}, {p_text(p)}")
right.set_xlabel("Subscription tier")
right.set_ylabel("Churn rate (95% Wilson CI)")
right.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
fig.tight_layout()
fig.savefig(OUTPUT_DIR / "stats_tests.png", dpi=100)
plt.close(fig)
print("Saved stats_tests.png")
