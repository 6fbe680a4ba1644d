"""Generate the demo data: ``streaming.csv``, a streaming service's customers.

50,000 rows x 50 columns by default: ``customer_id``, 48 features and ``churned`` (0/1). The data is
synthetic and seeded, so every run gives the same file. Churn follows a logistic model whose strong
drivers are subscription tier, monthly watch hours, account age and payment failures; support tickets,
autopay, annual billing, days since last login, promo sign-up, buffering and a latent satisfaction
(seen through ``nps_score``) have weaker effects, and the rest of the columns are realistic noise.
``avg_rating_given`` (no ratings given) and ``nps_score`` (not surveyed) have missing values.

    python notebooks/make_data.py [--rows N] [--seed S] [--out notebooks/data/streaming.csv]
                                  [--image notebooks/data/scene.png]

The CSV is written only if it is missing or has a different number of rows. ``make_streaming`` and
``make_scene`` can be imported (e.g. by tests) to build the data in memory.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_ROWS = 50_000
DEFAULT_SEED = 42
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "streaming.csv"

TIERS = ("basic", "standard", "premium")
TIER_PRICE = {"basic": 8.99, "standard": 13.99, "premium": 19.99}
PRICE_TIERS = ("regular", "discounted", "legacy")
PRICE_TIER_FACTOR = {"regular": 1.0, "discounted": 0.75, "legacy": 0.88}
REGIONS = ("north_america", "europe", "latam", "apac", "mea")
REGION_PRICE_FACTOR = {"north_america": 1.0, "europe": 0.95, "latam": 0.6, "apac": 0.8, "mea": 0.7}
DEVICES = ("mobile", "tv", "web", "tablet", "console")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
SIGNUP_CHANNELS = ("web", "app_store", "tv_app", "partner")
GENRES = ("drama", "comedy", "action", "documentary", "kids", "scifi", "reality", "anime")


def _pick(rng: np.random.Generator, values: tuple[str, ...], probs: list[float], n: int) -> np.ndarray:
    return rng.choice(np.array(values, dtype=object), size=n, p=probs)


def make_streaming(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Return the synthetic customer table: ``rows`` x 50 columns, ``churned`` last."""
    rng = np.random.default_rng(seed)
    n = rows

    # Plan, price and region.
    tier = _pick(rng, TIERS, [0.42, 0.38, 0.20], n)
    price_tier = _pick(rng, PRICE_TIERS, [0.70, 0.18, 0.12], n)
    region = _pick(rng, REGIONS, [0.35, 0.28, 0.15, 0.15, 0.07], n)
    billing_cycle = np.where(rng.random(n) < 0.22, "annual", "monthly").astype(object)
    base = pd.Series(tier).map(TIER_PRICE).to_numpy(dtype=float)
    monthly_price = (
        base
        * pd.Series(price_tier).map(PRICE_TIER_FACTOR).to_numpy(dtype=float)
        * pd.Series(region).map(REGION_PRICE_FACTOR).to_numpy(dtype=float)
        * np.where(billing_cycle == "annual", 0.85, 1.0)
        * rng.normal(1.0, 0.03, n)  # taxes and currency conversion
    ).round(2)
    discount_applied = ((price_tier == "discounted") | (rng.random(n) < 0.06)).astype(int)
    promo_signup = (rng.random(n) < np.where(price_tier == "discounted", 0.55, 0.12)).astype(int)
    trial_converted = (rng.random(n) < 0.35).astype(int)
    signup_channel = _pick(rng, SIGNUP_CHANNELS, [0.40, 0.30, 0.20, 0.10], n)
    partner_bundle = ((signup_channel == "partner") | (rng.random(n) < 0.04)).astype(int)
    plan_changes_12m = rng.poisson(0.3, n)

    # Household and demographics.
    household_size = np.clip(rng.poisson(1.6, n) + 1, 1, 6)
    tier_idx = pd.Series(tier).map({t: i for i, t in enumerate(TIERS)}).to_numpy()
    max_profiles = np.array([2, 4, 5])[tier_idx]
    profiles = np.minimum(np.clip(household_size + rng.integers(-1, 2, n), 1, 5), max_profiles)
    # Most streams seen at once in the last 30 days: bigger households, up to the plan's limit.
    plan_streams = np.array([2, 3, 4])[tier_idx]
    max_concurrent_streams = np.minimum(1 + rng.binomial(household_size - 1, 0.45), plan_streams)
    age_band = _pick(rng, AGE_BANDS, [0.16, 0.27, 0.23, 0.18, 0.16], n)
    device = _pick(rng, DEVICES, [0.30, 0.35, 0.15, 0.10, 0.10], n)

    # Tenure, engagement and viewing habits.
    account_age_months = np.clip(1 + np.floor(rng.exponential(22.0, n)), 1, 120).astype(int)
    satisfaction = rng.normal(0.0, 1.0, n)  # latent: not a column, seen through nps_score
    mean_hours = np.array([18.0, 26.0, 34.0])[tier_idx] * (1 + 0.08 * (household_size - 2))
    mean_hours *= np.exp(0.15 * satisfaction)
    monthly_watch_hours = rng.gamma(2.2, mean_hours / 2.2).round(1)
    avg_session_minutes = np.clip(rng.normal(38 + 0.35 * monthly_watch_hours, 12), 5, 240).round(1)
    binge_sessions_30d = rng.poisson(monthly_watch_hours / 9)
    days_since_last_login = np.clip(
        np.floor(rng.exponential(30.0 / (1 + monthly_watch_hours / 8), n)), 0, 90
    ).astype(int)
    titles_completed_30d = rng.poisson(monthly_watch_hours / 6)
    new_release_views_30d = rng.poisson(0.5 + monthly_watch_hours / 12)
    watchlist_size = rng.poisson(np.clip(6 + 0.2 * monthly_watch_hours + 2 * satisfaction, 0.5, None))
    downloads_30d = rng.poisson(np.where(device == "mobile", 3.0, 0.8) + np.where(tier == "basic", 0.0, 1.0))
    shares = rng.dirichlet(np.full(len(GENRES) + 1, 1.6), n)  # the last share, "other", is not a column
    shares[:, GENRES.index("kids")] *= np.where(household_size >= 3, 1.8, 0.5)
    shares /= shares.sum(axis=1, keepdims=True)
    originals_share = rng.beta(2.0, 3.0, n).round(3)
    weekend_viewing_share = rng.beta(4.0, 6.0, n).round(3)
    late_night_share = rng.beta(2.0, 7.0, n).round(3)
    has_4k_screen = rng.random(n) < np.where(np.isin(device, ["tv", "console"]), 0.6, 0.15)
    pct_4k_viewing = np.where((tier == "premium") & has_4k_screen, rng.beta(3.0, 3.0, n), 0.0).round(3)

    # Quality of service, billing and support.
    buffering_events_30d = rng.poisson(np.where(region == "north_america", 3.0, 5.0))
    connection_mbps = rng.lognormal(np.log(np.where(region == "north_america", 9.0, 6.5)), 0.45)
    avg_bitrate_mbps = np.minimum(connection_mbps, np.array([5.0, 8.0, 16.0])[tier_idx]).round(2)
    autopay = (rng.random(n) < 0.72).astype(int)
    payment_failures_90d = rng.poisson(
        np.where(autopay == 1, 0.10, 0.42) * np.where(region == "latam", 1.6, 1.0)
    )
    support_tickets_90d = rng.poisson(0.35 + 0.45 * payment_failures_90d + 0.03 * buffering_events_30d)

    # Feedback and marketing.
    ratings_given_90d = rng.poisson(0.8 + monthly_watch_hours / 12)
    avg_rating_given = np.where(
        ratings_given_90d > 0, np.clip(rng.normal(3.6 + 0.3 * satisfaction, 0.6), 1, 5).round(2), np.nan
    )
    surveyed = rng.random(n) < 0.70
    nps = np.clip(np.rint(rng.normal(7 + 1.6 * satisfaction, 1.5)), 0, 10) + 0.0  # + 0.0 turns -0.0 into 0.0
    nps_score = np.where(surveyed, nps, np.nan)
    email_opens_30d = rng.poisson(np.clip(2.5 + 0.8 * satisfaction, 0.2, None))
    push_enabled = (rng.random(n) < np.where(device == "mobile", 0.7, 0.4)).astype(int)
    referrals_made = rng.poisson(np.clip(0.2 + 0.15 * satisfaction, 0.01, None))

    # Churn: a logistic model with four strong drivers, weaker effects and unexplained noise.
    logit = (
        -2.35
        + np.array([0.60, 0.0, -0.55])[tier_idx]
        - 0.90 * (np.log1p(monthly_watch_hours) - np.log1p(25.0))
        - 0.55 * (np.log(account_age_months) - np.log(18.0))
        + 0.75 * np.minimum(payment_failures_90d, 4)
        + 0.12 * support_tickets_90d
        - 0.25 * autopay
        - 0.45 * (billing_cycle == "annual")
        + 0.012 * days_since_last_login
        + 0.20 * promo_signup
        + 0.015 * buffering_events_30d
        - 0.30 * satisfaction
        + rng.normal(0.0, 0.4, n)
    )
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)

    width = max(6, len(str(n)))
    columns: dict[str, object] = {
        "customer_id": [f"C{i:0{width}d}" for i in range(1, n + 1)],
        "subscription_tier": tier,
        "price_tier": price_tier,
        "monthly_price": monthly_price,
        "billing_cycle": billing_cycle,
        "discount_applied": discount_applied,
        "promo_signup": promo_signup,
        "trial_converted": trial_converted,
        "signup_channel": signup_channel,
        "partner_bundle": partner_bundle,
        "plan_changes_12m": plan_changes_12m,
        "region": region,
        "age_band": age_band,
        "household_size": household_size,
        "profiles": profiles,
        "max_concurrent_streams": max_concurrent_streams,
        "device": device,
        "account_age_months": account_age_months,
        "monthly_watch_hours": monthly_watch_hours,
        "avg_session_minutes": avg_session_minutes,
        "binge_sessions_30d": binge_sessions_30d,
        "days_since_last_login": days_since_last_login,
        "titles_completed_30d": titles_completed_30d,
        "new_release_views_30d": new_release_views_30d,
        "watchlist_size": watchlist_size,
        "downloads_30d": downloads_30d,
        **{f"genre_{g}_share": shares[:, i].round(3) for i, g in enumerate(GENRES)},
        "originals_share": originals_share,
        "weekend_viewing_share": weekend_viewing_share,
        "late_night_share": late_night_share,
        "pct_4k_viewing": pct_4k_viewing,
        "buffering_events_30d": buffering_events_30d,
        "avg_bitrate_mbps": avg_bitrate_mbps,
        "autopay": autopay,
        "payment_failures_90d": payment_failures_90d,
        "support_tickets_90d": support_tickets_90d,
        "ratings_given_90d": ratings_given_90d,
        "avg_rating_given": avg_rating_given,
        "nps_score": nps_score,
        "email_opens_30d": email_opens_30d,
        "push_enabled": push_enabled,
        "referrals_made": referrals_made,
        "churned": churned,
    }
    df = pd.DataFrame(columns)
    # Same dtypes as reading the CSV back: int64, float64 and object (str) columns.
    for name in df.columns:
        if df[name].dtype.kind in "iub":
            df[name] = df[name].astype("int64")
    assert df.shape[1] == 50, df.shape
    return df


def make_scene(width: int = 640, height: int = 400, seed: int = DEFAULT_SEED) -> Image.Image:
    """Return a photo-like RGB landscape (sky, sun, hills, houses, grain) for the image demos."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(float)
    img = np.zeros((height, width, 3))
    # Sky: a vertical gradient from deep blue to a warm horizon.
    t = (y / height)[..., None]
    img[:] = (1 - t) * np.array([40, 90, 170]) + t * np.array([250, 190, 140])
    # Sun with a soft glow.
    cx, cy, r = 0.72 * width, 0.32 * height, 0.07 * min(width, height) + 10
    dist = np.hypot(x - cx, y - cy)
    glow = np.clip(1 - (dist - r) / (3 * r), 0, 1)[..., None] ** 2
    img = img * (1 - 0.5 * glow) + np.array([255, 230, 170]) * 0.5 * glow
    img[dist <= r] = [255, 244, 214]
    # Two layers of hills.
    for level, amp, freq, colour in ((0.62, 0.06, 2.5, (70, 120, 80)), (0.75, 0.05, 4.0, (40, 85, 50))):
        phase = rng.uniform(0, 2 * np.pi)
        ridge = height * (level + amp * np.sin(freq * 2 * np.pi * x[0] / width + phase))
        shade = 0.8 + 0.2 * (y - ridge[None, :]) / height
        mask = y >= ridge[None, :]
        img[mask] = (np.array(colour) * shade[..., None])[mask]
    # A few houses with roofs and windows.
    for _ in range(5):
        w = int(rng.integers(width // 20, width // 11))
        h = int(w * rng.uniform(0.6, 0.9))
        x0 = int(rng.integers(0, width - w))
        y0 = int(height * rng.uniform(0.80, 0.88))
        img[y0 - h : y0, x0 : x0 + w] = rng.choice([[200, 190, 170], [180, 90, 70], [230, 225, 210]])
        for k in range(h // 2):
            img[y0 - h - k, x0 + k : x0 + w - k] = [120, 50, 40]
        img[y0 - h + h // 4 : y0 - h // 2, x0 + w // 5 : x0 + w // 5 + w // 5] = [250, 220, 120]
    img += rng.normal(0, 6, img.shape)  # sensor grain
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _row_count(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


def write_streaming(out: Path, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> bool:
    """Write the CSV unless ``out`` already has ``rows`` rows; return whether it was written."""
    if out.exists() and _row_count(out) == rows:
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    make_streaming(rows, seed).to_csv(tmp, index=False)
    tmp.replace(out)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of customers (default 50000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV path to write")
    parser.add_argument("--image", type=Path, help="also write the demo landscape PNG here")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")

    start = time.perf_counter()
    written = write_streaming(args.out, args.rows, args.seed)
    verb = "wrote" if written else "kept existing"
    print(f"{verb} {args.out} ({args.rows:,} rows) in {time.perf_counter() - start:.2f}s")
    if args.image is not None:
        args.image.parent.mkdir(parents=True, exist_ok=True)
        make_scene(seed=args.seed).save(args.image)
        print(f"wrote {args.image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
