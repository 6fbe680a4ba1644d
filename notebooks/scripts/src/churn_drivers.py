# What drives churn? Churn rates by segment, a univariate screen of every column, a multivariable
# logistic regression (fitted with scipy) whose Wald tests rank the drivers, and two charts.
# Writes scored.parquet to the working directory for follow-up questions.
import itertools
import os
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import optimize, special, stats

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR", "."))
TARGET = "churned"
pd.set_option("display.width", 120)


def load_customers() -> pd.DataFrame:
    """streaming.parquet if it was uploaded, else the first Parquet or CSV file in INPUT_DIR."""
    preferred = INPUT_DIR / "streaming.parquet"
    candidates = [preferred, *sorted(INPUT_DIR.glob("*.parquet")), *sorted(INPUT_DIR.glob("*.csv"))]
    for path in candidates:
        if path.is_file():
            print(f"Loading {path.name}")
            return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    raise FileNotFoundError(f"No .parquet or .csv file in {INPUT_DIR}")


def churn_by(group: pd.Series) -> pd.DataFrame:
    """Customers and churn rate per level of ``group``, in the group's own order."""
    table = df.groupby(group, observed=True)[TARGET].agg(customers="size", churn_rate="mean")
    return table.round({"churn_rate": 3})


df = load_customers()
print(f"Shape: {df.shape[0]:,} rows x {df.shape[1]} columns")
overall = df[TARGET].mean()
print(f"Churn rate: {overall:.1%} ({df[TARGET].sum():,} churned)")
missing = df.isna().mean()
print("Missing values:", ", ".join(f"{c} {v:.1%}" for c, v in missing[missing > 0].items()) or "none")

# --- Churn rate by the segments the business asks about --------------------------------------------
edges = df["monthly_watch_hours"].quantile([0, 0.25, 0.5, 0.75]).round().astype(int).tolist()
quartile_labels = [f"{lo}-{hi}" for lo, hi in itertools.pairwise(edges)] + [f"{edges[-1]}+"]
tier_order = [t for t in ["basic", "standard", "premium"] if t in set(df["subscription_tier"])]
segments = {
    "Subscription tier": pd.Categorical(df["subscription_tier"], categories=tier_order, ordered=True),
    "Watch-hour quartile (hours/month)": pd.qcut(df["monthly_watch_hours"], 4, labels=quartile_labels),
    "Account age (months)": pd.cut(
        df["account_age_months"],
        bins=[0, 3, 6, 12, 24, 48, np.inf],
        labels=["1-3", "4-6", "7-12", "13-24", "25-48", "49+"],
    ),
    "Payment failures (90 days)": df["payment_failures_90d"].clip(upper=3).map({0: "0", 1: "1", 2: "2", 3: "3+"}),
}
segment_tables = {}
for name, group in segments.items():
    segment_tables[name] = churn_by(pd.Series(group, index=df.index, name=name))
    print(f"\nChurn rate by {name.lower()}:\n{segment_tables[name].to_string()}")

# --- Univariate screen: point-biserial r for numbers, Cramér's V (chi-square) for categories ---------
features = [c for c in df.columns if c not in (TARGET, "customer_id")]
numeric = [c for c in features if pd.api.types.is_numeric_dtype(df[c])]
categorical = [c for c in features if c not in numeric]
rows = []
for col in numeric:
    ok = df[col].notna()
    r, p = stats.pointbiserialr(df.loc[ok, TARGET], df.loc[ok, col])
    rows.append((col, "point-biserial r", r, abs(r), p))
for col in categorical:
    table = pd.crosstab(df[col], df[TARGET])
    chi2, p, dof, _ = stats.chi2_contingency(table)
    v = np.sqrt(chi2 / (table.to_numpy().sum() * (min(table.shape) - 1)))
    rows.append((col, "Cramér's V", v, v, p))
screen = pd.DataFrame(rows, columns=["feature", "measure", "value", "strength", "p_value"])
screen = screen.sort_values("strength", ascending=False).reset_index(drop=True)
print("\nStrongest univariate associations with churn:")
print(
    screen.head(10)
    .drop(columns="strength")
    .to_string(formatters={"value": "{:+.3f}".format, "p_value": "{:.1e}".format})
)

# --- Multivariable logistic regression --------------------------------------------------------------
# Numbers are standardised (binary flags kept 0/1); missing values get the median plus a
# missing-indicator column; categories are one-hot encoded against their most common level.
blocks, groups, describe = [], {}, {}
for col in categorical:
    reference = df[col].value_counts().idxmax()
    dummies = pd.get_dummies(df[col], prefix=col, prefix_sep="=", dtype=float)
    dummies = dummies.drop(columns=f"{col}={reference}")
    blocks.append(dummies)
    groups[col] = list(dummies.columns)
    describe[col] = f"vs {reference}"
for col in numeric:
    x = df[col].astype(float)
    cols = {}
    if x.isna().any():
        cols[f"{col}__missing"] = x.isna().astype(float)
        x = x.fillna(x.median())
    if set(x.unique()) <= {0.0, 1.0}:
        cols[col], describe[col] = x, "yes vs no"
    else:
        describe[col] = f"per +1 SD ({x.std():.3g})"
        if x.min() >= 0 and x.nunique() > 20 and x.skew() > 1:  # long right tail: diminishing effect
            x, describe[col] = np.log1p(x), "per +1 SD, log scale"
        cols[col] = (x - x.mean()) / x.std()
    blocks.append(pd.DataFrame(cols))
    groups[col] = list(cols)
X = pd.concat(blocks, axis=1)
X.insert(0, "intercept", 1.0)
# Multicollinearity: a number that other columns almost determine (variance inflation factor > 10,
# e.g. a price set by the plan) would split its effect with them, so leave it out, worst first.
while True:
    design = X.drop(columns="intercept")
    vif = pd.Series(np.diag(np.linalg.pinv(np.corrcoef(design.to_numpy(), rowvar=False))), index=design.columns)
    vif = vif[vif.index.isin(numeric)].sort_values(ascending=False)
    if vif.empty or vif.iloc[0] <= 10:
        break
    worst = vif.index[0]
    print(f"Leaving out {worst}: variance inflation factor {vif.iloc[0]:.0f}, mostly set by other columns")
    X = X.drop(columns=groups.pop(worst))
y = df[TARGET].to_numpy(dtype=float)

# Fit on a random 80% and keep 20% to check the model on customers it has not seen.
rng = np.random.default_rng(0)
train = rng.random(len(df)) < 0.8
Xt, yt = X.to_numpy()[train], y[train]


def neg_log_likelihood(beta):
    z = Xt @ beta
    return np.sum(np.logaddexp(0, z) - yt * z)


def gradient(beta):
    return Xt.T @ (special.expit(Xt @ beta) - yt)


def hessian(beta):
    p = special.expit(Xt @ beta)
    return (Xt * (p * (1 - p))[:, None]).T @ Xt


fit = optimize.minimize(
    neg_log_likelihood,
    np.zeros(X.shape[1]),
    jac=gradient,
    hess=hessian,
    method="trust-exact",
    options={"gtol": 1e-3},  # the gradient is a sum over ~40k rows: the default 1e-8 is below float noise
)
beta = pd.Series(fit.x, index=X.columns)
cov = pd.DataFrame(np.linalg.pinv(hessian(fit.x)), index=X.columns, columns=X.columns)
risk = special.expit(X.to_numpy() @ fit.x)


def auc(labels, scores):
    """Area under the ROC curve via the Mann-Whitney U statistic."""
    u = stats.mannwhitneyu(scores[labels == 1], scores[labels == 0]).statistic
    return u / ((labels == 1).sum() * (labels == 0).sum())


print(
    f"\nLogistic regression: {X.shape[1] - 1} terms, converged={fit.success}, "
    f"AUC train {auc(yt, risk[train]):.3f}, holdout {auc(y[~train], risk[~train]):.3f}"
)

# Wald chi-square per feature (all of its columns jointly) ranks the drivers, adjusted for the rest.
ranking = []
for col, cols in groups.items():
    b, v = beta[cols].to_numpy(), cov.loc[cols, cols].to_numpy()
    wald = float(b @ np.linalg.solve(v, b))
    main = max((c for c in cols if not c.endswith("__missing")), key=lambda c: abs(beta[c]))
    label = main.split("=", 1)[1] + " " if "=" in main else ""
    ranking.append(
        {
            "feature": col,
            "wald_chi2": wald,
            "df": len(cols),
            "p_value": stats.chi2.sf(wald, len(cols)),
            "odds_ratio": np.exp(beta[main]),
            "effect": f"{label}{describe[col]}",
        }
    )
ranking = pd.DataFrame(ranking).sort_values("wald_chi2", ascending=False).reset_index(drop=True)
ranking.index += 1
print("\nChurn drivers ranked by Wald chi-square (multivariable logistic regression):")
print(
    ranking.head(15).to_string(
        formatters={"wald_chi2": "{:,.1f}".format, "p_value": "{:.1e}".format, "odds_ratio": "{:.2f}".format}
    )
)
weak = ranking.loc[ranking["p_value"] >= 0.01, "feature"]
print(
    textwrap.fill(
        f"{len(weak)} of {len(ranking)} features are not significant at the 1% level once the others "
        f"are in the model: {', '.join(weak)}",
        width=110,
    )
)

# --- Charts -----------------------------------------------------------------------------------------
segment_max = max(t["churn_rate"].max() for t in segment_tables.values())
fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharey=True)
for ax, (name, table) in zip(axes.flat, segment_tables.items(), strict=True):
    bars = ax.bar([str(i) for i in table.index], table["churn_rate"], color="#4C72B0")
    ax.bar_label(bars, labels=[f"{r:.0%}" for r in table["churn_rate"]], padding=2, fontsize=9)
    line = ax.axhline(overall, color="grey", linestyle="--", linewidth=1)
    ax.set_title(f"Churn rate by {name.split(' (')[0].lower()}")
    ax.set_xlabel(name)
    ax.set_ylabel("Churn rate")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylim(0, segment_max * 1.15)
fig.suptitle(f"Churn rate by segment: {len(df):,} customers", fontsize=14)
fig.legend([line], [f"overall churn rate {overall:.0%}"], loc="upper right")
fig.tight_layout()
fig.savefig(OUTPUT_DIR / "churn_drivers.png", dpi=100)
plt.close(fig)

top = ranking.head(12).iloc[::-1]
fig, ax = plt.subplots(figsize=(9, 5.5))
labels = [f"{f}: {e}" if " vs " in e else f for f, e in zip(top["feature"], top["effect"], strict=True)]
colours = ["#C44E52" if r > 1 else "#55A868" for r in top["odds_ratio"]]
bars = ax.barh(labels, top["wald_chi2"], color=colours)
ax.bar_label(bars, labels=[f"OR {r:.2f}" for r in top["odds_ratio"]], padding=3, fontsize=8)
ax.set_xscale("log")
ax.set_xlim(right=top["wald_chi2"].max() * 3)  # room for the labels
ax.set_xlabel("Wald chi-square (log scale), adjusted for all other columns")
ax.set_ylabel("Feature")
ax.set_title(
    "Churn drivers ranked by a multivariable logistic regression\n"
    "red: raises churn risk, green: lowers it (OR: odds ratio, see the table)"
)
fig.tight_layout()
fig.savefig(OUTPUT_DIR / "driver_ranking.png", dpi=100)
plt.close(fig)

# --- Keep the scores in the working directory for follow-up questions --------------------------------
keep = [
    "customer_id",
    "subscription_tier",
    "monthly_price",
    "monthly_watch_hours",
    "account_age_months",
    "payment_failures_90d",
    "support_tickets_90d",
    "autopay",
    "billing_cycle",
    "days_since_last_login",
    TARGET,
]
scored = df[[c for c in keep if c in df.columns]].assign(churn_risk=risk.round(4))
scored.to_parquet("scored.parquet", index=False)
print(
    f"\nSaved churn_drivers.png and driver_ranking.png to $OUTPUT_DIR; "
    f"scored.parquet ({len(scored):,} rows) to {Path.cwd()}"
)
