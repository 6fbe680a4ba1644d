# Segment active customers by tier and churn risk, using the scores the churn-drivers step saved in the
# working directory (scored.parquet). Writes at_risk_users.csv and risk_segments.png to $OUTPUT_DIR.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR", "."))
SCORES = Path("scored.parquet")
AT_RISK = 0.40  # predicted churn probability from which a customer counts as at risk
BANDS = [0, 0.10, 0.25, AT_RISK, 1.0]
BAND_LABELS = ["low (<10%)", "medium (10-25%)", "high (25-40%)", f"at risk (>={AT_RISK:.0%})"]
pd.set_option("display.width", 120)

if not SCORES.exists():
    raise FileNotFoundError(
        f"{SCORES} is not in the working directory {Path.cwd()}: it is written by the churn-drivers "
        "analysis, which must run first in this same container."
    )
scored = pd.read_parquet(SCORES)
print(f"Loaded {SCORES} from {Path.cwd()}: {len(scored):,} scored customers")

# Customers who have already churned cannot be saved: segment the active ones.
active = scored[scored["churned"] == 0].copy()
active["risk_band"] = pd.cut(active["churn_risk"], BANDS, labels=BAND_LABELS, include_lowest=True)
tier_order = [t for t in ["basic", "standard", "premium"] if t in set(active["subscription_tier"])]
active["subscription_tier"] = pd.Categorical(active["subscription_tier"], tier_order, ordered=True)
print(
    f"Active customers: {len(active):,}; at risk (predicted churn >= {AT_RISK:.0%}): "
    f"{(active['churn_risk'] >= AT_RISK).sum():,}"
)

bands = pd.crosstab(active["subscription_tier"], active["risk_band"], normalize="index")
print("\nShare of active customers in each risk band, by tier:")
print(bands.map("{:.1%}".format).to_string())

summary = active.groupby("subscription_tier", observed=True).agg(
    active_customers=("customer_id", "size"),
    mean_risk=("churn_risk", "mean"),
    at_risk=("churn_risk", lambda r: int((r >= AT_RISK).sum())),
    expected_churners=("churn_risk", "sum"),
)
summary["revenue_at_risk"] = (
    (active["churn_risk"] * active["monthly_price"]).groupby(active["subscription_tier"], observed=True).sum()
)
print("\nBy tier (revenue at risk = expected monthly revenue lost, sum of risk x price):")
print(
    summary.to_string(
        formatters={
            "mean_risk": "{:.1%}".format,
            "expected_churners": "{:,.0f}".format,
            "revenue_at_risk": "${:,.0f}".format,
        }
    )
)

# Why each at-risk customer scores high, from the drivers found earlier, and what to try first.
light_viewing = scored["monthly_watch_hours"].quantile(0.25)
reasons = {  # in order of priority: the first that applies suggests the action
    "payment failures": (active["payment_failures_90d"] > 0, "fix billing: card-update reminder"),
    "new account": (active["account_age_months"] <= 6, "onboarding and first-month recommendations"),
    "light viewer": (active["monthly_watch_hours"] < light_viewing, "personalised re-engagement"),
    "basic tier": (active["subscription_tier"] == "basic", "trial of a higher tier"),
    "no autopay": (active["autopay"] == 0, "autopay incentive"),
}
flags = pd.DataFrame({name: mask for name, (mask, _) in reasons.items()})
active["suggested_action"] = np.select(
    [mask for mask, _ in reasons.values()], [action for _, action in reasons.values()], default="monitor"
)

at_risk = active[active["churn_risk"] >= AT_RISK].sort_values("churn_risk", ascending=False)
at_risk["risk_flags"] = flags.loc[at_risk.index].apply(lambda row: "; ".join(row.index[row]), axis=1)
at_risk = at_risk[
    [
        "customer_id",
        "subscription_tier",
        "churn_risk",
        "monthly_price",
        "monthly_watch_hours",
        "account_age_months",
        "payment_failures_90d",
        "risk_flags",
        "suggested_action",
    ]
]
at_risk.to_csv(OUTPUT_DIR / "at_risk_users.csv", index=False)
print(f"\nTop 10 of {len(at_risk):,} at-risk customers:")
short = {
    "subscription_tier": "tier",
    "churn_risk": "risk",
    "monthly_watch_hours": "watch_h",
    "account_age_months": "age_m",
    "payment_failures_90d": "pay_fail",
}
print(
    at_risk.head(10)
    .drop(columns=["monthly_price", "suggested_action"])
    .rename(columns=short)
    .to_string(index=False, formatters={"risk": "{:.0%}".format})
)
print("\nMost common reasons among at-risk customers:")
print(flags.loc[at_risk.index].mean().sort_values(ascending=False).map("{:.0%}".format).to_string())

# --- Chart: risk mix per tier, and the revenue at stake ------------------------------------------------
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
colours = ["#55A868", "#CCB974", "#DD8452", "#C44E52"]
bottom = np.zeros(len(bands))
for label, colour in zip(BAND_LABELS, colours, strict=True):
    share = bands[label].to_numpy() if label in bands else np.zeros(len(bands))
    left.bar(bands.index.astype(str), share, bottom=bottom, color=colour, label=label)
    bottom += share
left.set_title("Risk mix of active customers by tier")
left.set_xlabel("Subscription tier")
left.set_ylabel("Share of active customers")
left.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
left.set_ylim(0, 1.3)  # room for the legend above the bars
left.set_yticks(np.linspace(0, 1, 6))
left.legend(title="Predicted churn risk", fontsize=8, loc="upper center", ncol=2)

bars = right.bar(summary.index.astype(str), summary["revenue_at_risk"], color="#4C72B0")
right.bar_label(bars, labels=[f"{n:,} at risk" for n in summary["at_risk"]], padding=2, fontsize=9)
right.set_title("Expected monthly revenue at risk by tier")
right.set_xlabel("Subscription tier")
right.set_ylabel("Revenue at risk ($ per month)")
right.set_ylim(0, summary["revenue_at_risk"].max() * 1.15)
right.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"${v:,.0f}"))
fig.suptitle(f"Churn risk segments: {len(active):,} active customers", fontsize=13)
fig.tight_layout()
fig.savefig(OUTPUT_DIR / "risk_segments.png", dpi=100)
plt.close(fig)
print("\nSaved at_risk_users.csv and risk_segments.png to $OUTPUT_DIR")
