#!/usr/bin/env python3
"""Synthetic data for the churn-messy-csv assessment.

    python3 generate.py --seed S --out DIR

Deterministic: the same seed gives byte-identical files. numpy, pandas and scikit-learn only.

Writes (see assessment.json and services/assessments/assessment-schema.ts):
    train.csv                        public training data, with the target column `churned`
    holdout/<variant>.csv            hidden holdout features, same rows and order in every variant
    labels/holdout_labels.csv        customer_id,churned for those rows, in that order
    labels/reference.csv             customer_id,label,probability of the simple reference model
    manifest.json                    versions, counts and the sha256 of every file above

How the data is made
--------------------
One population of customers is drawn at a single snapshot date (SNAPSHOT). Churn means the account
was cancelled in the CHURN_WINDOW_DAYS after the snapshot. The label is drawn from a logistic model
of the *true* feature values (contract type, tenure, support tickets, days since last login,
charges, discount, payment method, engagement) with nonlinear terms and interactions, plus an
unobserved component, so a good pipeline reaches a ROC-AUC in the mid 0.8s, not 0.99.
Newer customers churn far more (tenure enters the model), and customer ids follow signup order,
so train.csv (in id order) is sorted by signup date: unshuffled K-fold gives folds with very
different churn rates.

The recorded values are then made messy: mixed date formats, case/whitespace variants of
categorical levels, rare levels, missing values, charges as strings with "$" and thousands
separators and an unknown-value sentinel 99999, impossible tenures, a heavy-tailed engagement
column, a mostly missing NPS score, and ~3 % exact duplicate rows in train.csv.

`refund_issued` is recorded by billing after the churn window closes; it is "yes" for ~80 % of
churners and ~2.5 % of the others. train.csv and holdout/as_recorded.csv carry it as recorded.
At prediction time (the snapshot) no refund in the window has been issued yet, so
holdout/prediction_time.csv has refund_issued = "no" for every row. prediction_time is the
primary holdout; the messy variants are derived from it:
    unseen_levels      ~8 % of plan / region / payment_method replaced by levels absent from train
    missing_values     ~6 % missing in each column that is always filled in train.csv
    shuffled_columns   the same columns in another order
    extra_column       an unknown `acquisition_channel` column inserted among the known ones
    noisy_text         heavier case/whitespace noise in categoricals, other date formats

labels/reference.csv is the simple reference model the grader compares against: a class-weighted
logistic regression on three numeric columns (tenure_months with impossible values imputed,
support_tickets_90d, last_login_days_ago), fitted on train.csv as is, with the threshold that
minimises 10 x missed churners + 1 x unneeded calls on train.csv, applied to prediction_time.

manifest.json's positiveRate is the churn rate of train.csv.

Any change to the output must bump DATASET_VERSION (and assessment.json), and the expectations in
tests/fixtures/submissions/churn/expected.json were checked for the seed in assessment.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DATASET_VERSION = "1.0.0"
SNAPSHOT = date(2024, 7, 1)
CHURN_WINDOW_DAYS = 90
N_TRAIN_UNIQUE = 5825
DUPLICATE_FRACTION = 0.03
N_HOLDOUT = 4000
COST_FN, COST_FP = 10.0, 1.0

COLUMNS = [
    "customer_id", "signup_date", "plan", "contract_type", "payment_method", "region",
    "monthly_charges", "tenure_months", "support_tickets_90d", "avg_session_minutes",
    "last_login_days_ago", "nps_score", "discount_pct", "refund_issued",
]
TARGET = "churned"
MESSY_VARIANTS = ["unseen_levels", "missing_values", "shuffled_columns", "extra_column", "noisy_text"]
VARIANTS = ["prediction_time", "as_recorded"] + MESSY_VARIANTS
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS_LONG = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]


# ----------------------------------------------------------------------------------------------
# The population
# ----------------------------------------------------------------------------------------------

def _choice(rng: np.random.Generator, levels: list[str], p, size: int) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.asarray(levels, dtype=object)[rng.choice(len(levels), size=size, p=p / p.sum())]


def simulate_population(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """True (clean) feature values and the churn label for n customers."""
    # Account age: a growing company, so many recent signups; nobody older than ~7 years.
    tenure_days = np.minimum(rng.gamma(shape=1.15, scale=560.0, size=n), 2550.0) + rng.integers(5, 40, n)
    tenure_days = tenure_days.astype(int)
    signup = np.array([SNAPSHOT - timedelta(days=int(d)) for d in tenure_days], dtype=object)
    tenure_m = tenure_days / 30.44

    # Latent dissatisfaction and engagement drive tickets, logins, sessions and NPS.
    dissat = rng.normal(0.0, 1.0, n)
    engage = 0.55 * rng.normal(0.0, 1.0, n) - 0.45 * dissat + 0.15 * np.log1p(tenure_m)

    # Contract type depends on tenure (long-standing customers moved to annual contracts).
    lt = np.log1p(tenure_m)
    s_m2m = 1.5 - 0.45 * lt
    s_one = 0.0 * lt
    s_two = -1.7 + 0.38 * lt
    logits = np.column_stack([s_m2m, s_one, s_two]) + rng.gumbel(size=(n, 3))
    contract = np.asarray(["Month-to-month", "One year", "Two year"], dtype=object)[logits.argmax(1)]

    plan = _choice(rng, ["Basic", "Standard", "Premium", "Business"], [0.36, 0.36, 0.20, 0.08], n)
    legacy = (tenure_m > 48) & (rng.random(n) < 0.06)  # rare: only old accounts are on Legacy
    plan[legacy] = "Legacy"

    payment = _choice(rng, ["Credit card", "Bank transfer", "Electronic check", "Mailed check", "PayPal"],
                      [0.34, 0.25, 0.29, 0.10, 0.02], n)
    region = _choice(rng, ["North", "South", "East", "West", "Overseas"], [0.27, 0.25, 0.23, 0.235, 0.015], n)

    discount = _choice(rng, ["0", "5", "10", "15", "20", "25", "30"],
                       [0.58, 0.10, 0.12, 0.08, 0.06, 0.04, 0.02], n).astype(float)

    base_price = {"Basic": 25.0, "Standard": 55.0, "Premium": 95.0, "Legacy": 40.0}
    charges = np.empty(n)
    for lvl, mu in base_price.items():
        m = plan == lvl
        charges[m] = rng.normal(mu, 0.12 * mu, m.sum())
    m = plan == "Business"
    charges[m] = np.exp(rng.normal(np.log(850.0), 0.45, m.sum()))
    charges = np.round(np.maximum(charges, 9.0) * (1.0 - discount / 100.0), 2)
    # "Value for money": what the customer pays relative to their plan's list price.
    rel_price = np.log(charges / np.array([base_price.get(p, 850.0) for p in plan]))

    tickets = rng.poisson(np.exp(-0.35 + 0.55 * dissat))
    last_login = np.minimum(np.round(rng.exponential(np.exp(1.9 - 0.9 * engage))), 365).astype(int)
    session = np.round(np.exp(2.9 + 0.55 * engage + rng.normal(0.0, 0.75, n)), 1)
    heavy = rng.random(n) < 0.006  # sessions left open for days
    session[heavy] = np.round(rng.uniform(600, 6000, heavy.sum()), 1)
    nps = np.clip(np.round(7.2 - 1.6 * dissat + rng.normal(0, 1.5, n)), 0, 10)

    # ---- the churn model (true values) ----
    m2m = contract == "Month-to-month"
    two = contract == "Two year"
    z = (
        -4.15
        + 1.6 * m2m - 1.2 * two
        - 0.6 * (lt - 2.5) - 0.45 * m2m * (lt - 2.5)
        + 0.55 * np.minimum(tickets, 5)
        + 1.6 / (1.0 + np.exp(-(last_login - 20.0) / 5.0))
        + 0.55 * m2m * (np.log(charges) - np.log(55.0))
        - 0.3 * (plan == "Legacy")
        - 0.05 * discount * m2m
        + 0.75 * (payment == "Electronic check")
        + 0.45 * (session < 8)
        + rng.normal(0.0, 0.5, n)  # unobserved reasons
    )
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-z))
    refund = np.where(churn, rng.random(n) < 0.80, rng.random(n) < 0.025)

    return pd.DataFrame({
        "signup": signup, "tenure_m": tenure_m, "plan": plan, "contract": contract,
        "payment": payment, "region": region, "charges": charges, "tickets": tickets,
        "session": session, "last_login": last_login, "nps": nps, "discount": discount,
        "refund": refund, "churn": churn,
    })


# ----------------------------------------------------------------------------------------------
# Recording: how the CRM export writes those values (messy)
# ----------------------------------------------------------------------------------------------

def _case_ws_variant(rng: np.random.Generator, v: str, heavy: bool = False) -> str:
    k = int(rng.integers(0, 7 if heavy else 5))
    if k == 0:
        v = v.lower()
    elif k == 1:
        v = v.upper()
    elif k == 2:
        v = " " + v
    elif k == 3:
        v = v + "  "
    elif k == 4:
        v = v.title()
    elif k == 5:
        v = "\t" + v.swapcase() + " "
    else:
        v = "  " + v.lower() + "   "
    return v


def _noisy_levels(rng: np.random.Generator, values: np.ndarray, rate: float, heavy: bool = False) -> np.ndarray:
    out = values.copy()
    hit = np.flatnonzero(rng.random(len(out)) < rate)
    for i in hit:
        if isinstance(out[i], str):
            out[i] = _case_ws_variant(rng, out[i], heavy)
    return out


def _format_date(d: date, style: int) -> str:
    if style == 0:
        return d.isoformat()                                   # 2021-03-04
    if style == 1:
        return f"{d.month:02d}/{d.day:02d}/{d.year}"           # 03/04/2021 (month first)
    if style == 2:
        return f"{MONTHS[d.month - 1]} {d.day:02d} {d.year}"   # Mar 04 2021
    if style == 3:
        return f"{d.isoformat()} 00:00:00"                     # 2021-03-04 00:00:00
    # noisy_text only
    if style == 4:
        return f"{d.day:02d}.{d.month:02d}.{d.year}"           # 04.03.2021 (day first)
    if style == 5:
        return f"{d.year}/{d.month:02d}/{d.day:02d}"           # 2021/03/04
    if style == 6:
        return f"{MONTHS_LONG[d.month - 1]} {d.day}, {d.year}"  # March 4, 2021
    return f"{d.year}{d.month:02d}{d.day:02d}"                 # 20210304


def _format_money(rng: np.random.Generator, x: float) -> str:
    k = rng.random()
    if k < 0.45:
        return f"${x:,.2f}"      # $1,234.50
    if k < 0.75:
        return f"{x:.2f}"        # 1234.50
    if k < 0.90:
        return f"{x:,.2f}"       # 1,234.50
    return f"$ {x:.1f}"          # $ 1234.5


def record(rng: np.random.Generator, pop: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The export as the CRM writes it: strings, mixed formats, missing values, errors."""
    n = len(pop)
    styles = rng.choice(4, size=n, p=[0.55, 0.25, 0.12, 0.08])
    signup = np.array([_format_date(d, int(s)) for d, s in zip(pop["signup"], styles)], dtype=object)

    tenure = np.floor(pop["tenure_m"].to_numpy()).astype(int).astype(object)
    bad = np.flatnonzero(rng.random(n) < 0.012)
    tenure[bad] = rng.choice([-1, -12, -3, 999, 1200, 850, 600], size=len(bad))

    charges = np.array([_format_money(rng, x) for x in pop["charges"]], dtype=object)
    sentinel = rng.random(n) < 0.015
    charges[sentinel] = "99999"
    charges[(rng.random(n) < 0.01) & ~sentinel] = None

    session = pop["session"].to_numpy().astype(object)
    session[rng.random(n) < 0.02] = None
    nps = pop["nps"].to_numpy().astype(int).astype(object)
    nps[rng.random(n) < 0.82] = None

    def cat(values, miss_rate):
        out = _noisy_levels(rng, np.asarray(values, dtype=object), 0.09)
        if miss_rate:
            out[rng.random(n) < miss_rate] = None
        return out

    df = pd.DataFrame({
        "customer_id": ids,
        "signup_date": signup,
        "plan": cat(pop["plan"], 0.0),
        "contract_type": cat(pop["contract"], 0.0),
        "payment_method": cat(pop["payment"], 0.02),
        "region": cat(pop["region"], 0.03),
        "monthly_charges": charges,
        "tenure_months": tenure,
        "support_tickets_90d": pop["tickets"].to_numpy().astype(int),
        "avg_session_minutes": session,
        "last_login_days_ago": pop["last_login"].to_numpy().astype(int),
        "nps_score": nps,
        "discount_pct": pop["discount"].to_numpy().astype(int),
        "refund_issued": np.where(pop["refund"].to_numpy(), "yes", "no"),
    })
    return df[COLUMNS]


# ----------------------------------------------------------------------------------------------
# Holdout variants
# ----------------------------------------------------------------------------------------------

def make_variants(rng: np.random.Generator, recorded: pd.DataFrame, pop: pd.DataFrame) -> dict[str, pd.DataFrame]:
    n = len(recorded)
    as_recorded = recorded.copy()
    prediction_time = recorded.copy()
    prediction_time["refund_issued"] = "no"  # nothing has been refunded at the snapshot
    base = prediction_time
    out = {"prediction_time": prediction_time, "as_recorded": as_recorded}

    # New category levels never seen in train.csv.
    v = base.copy()
    new_levels = {
        "plan": ["Enterprise", "Student", "Family"],
        "region": ["Central", "Islands"],
        "payment_method": ["Crypto", "Gift card", "Direct debit"],
    }
    for col, levels in new_levels.items():
        hit = rng.random(n) < 0.08
        v.loc[hit, col] = rng.choice(levels, size=int(hit.sum()))
    out["unseen_levels"] = v

    # Missing values in columns that are never missing in train.csv.
    v = base.copy()
    for col in ["signup_date", "plan", "contract_type", "tenure_months", "support_tickets_90d",
                "last_login_days_ago", "discount_pct"]:
        hit = rng.random(n) < 0.06
        v[col] = v[col].astype(object)
        v.loc[hit, col] = None
    out["missing_values"] = v

    # Same columns, another order.
    order = list(base.columns)
    while order == list(base.columns) or order[0] == "customer_id":
        order = list(rng.permutation(base.columns))
    out["shuffled_columns"] = base[order].copy()

    # An extra column the training data never had, placed among the known ones.
    v = base.copy()
    v.insert(3, "acquisition_channel",
             rng.choice(["web", "partner", "retail store", "phone", "referral"], size=n))
    out["extra_column"] = v

    # Heavier case/whitespace noise in categoricals and other date formats.
    v = base.copy()
    for col in ["plan", "contract_type", "payment_method", "region"]:
        v[col] = _noisy_levels(rng, v[col].to_numpy(dtype=object), 0.45, heavy=True)
    styles = rng.choice([0, 4, 5, 6, 7], size=n, p=[0.2, 0.2, 0.2, 0.2, 0.2])
    v["signup_date"] = [_format_date(d, int(s)) for d, s in zip(pop["signup"], styles)]
    out["noisy_text"] = v
    return out


# ----------------------------------------------------------------------------------------------
# The reference model: deliberately simple, honest
# ----------------------------------------------------------------------------------------------

REFERENCE_COLUMNS = ["tenure_months", "support_tickets_90d", "last_login_days_ago"]


def _reference_features(df: pd.DataFrame) -> np.ndarray:
    x = pd.DataFrame({c: pd.to_numeric(df[c], errors="coerce") for c in REFERENCE_COLUMNS})
    if "tenure_months" in x:
        x.loc[(x["tenure_months"] < 0) | (x["tenure_months"] > 120), "tenure_months"] = np.nan
        x["tenure_months"] = np.log1p(x["tenure_months"])
    return x


def reference_predictions(train: pd.DataFrame, holdout: pd.DataFrame) -> pd.DataFrame:
    """Class-weighted logistic regression on three cleaned numeric columns, threshold set for
    the business cost on train.csv."""
    xtr = _reference_features(train)
    medians = xtr.median()
    xtr = xtr.fillna(medians).to_numpy()
    y = (train[TARGET] == "yes").to_numpy().astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
    model.fit(xtr, y)
    p_train = model.predict_proba(xtr)[:, 1]
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    costs = [COST_FN * np.sum((p_train < t) & (y == 1)) + COST_FP * np.sum((p_train >= t) & (y == 0))
             for t in grid]
    threshold = float(grid[int(np.argmin(costs))])
    p = model.predict_proba(_reference_features(holdout).fillna(medians).to_numpy())[:, 1]
    return pd.DataFrame({
        "customer_id": holdout["customer_id"].to_numpy(),
        "label": np.where(p >= threshold, "yes", "no"),
        "probability": np.round(p, 6),
    })


# ----------------------------------------------------------------------------------------------

def _write_csv(df: pd.DataFrame, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def generate(seed: int, out: str) -> dict:
    rng = np.random.default_rng(seed)
    n_total = N_TRAIN_UNIQUE + N_HOLDOUT
    pop = simulate_population(rng, n_total)

    # Customer ids follow signup order (the CRM numbers accounts as they are created).
    order = np.argsort(pd.to_datetime(pd.Series(pop["signup"])).to_numpy(), kind="stable")
    pop = pop.iloc[order].reset_index(drop=True)
    start = int(rng.integers(100000, 200000))
    ids = np.array([f"C{start + 3 * i + int(j)}" for i, j in enumerate(rng.integers(0, 3, n_total))], dtype=object)

    recorded = record(rng, pop, ids)
    labels = np.where(pop["churn"].to_numpy(), "yes", "no")

    is_holdout = np.zeros(n_total, dtype=bool)
    is_holdout[rng.choice(n_total, size=N_HOLDOUT, replace=False)] = True

    # train.csv: id order, a few percent exact duplicate rows next to their originals.
    tr_idx = np.flatnonzero(~is_holdout)
    train = recorded.iloc[tr_idx].copy()
    train[TARGET] = labels[tr_idx]
    n_dup = int(round(DUPLICATE_FRACTION * len(train)))
    dup_pos = np.sort(rng.choice(len(train), size=n_dup, replace=False))
    rows = np.sort(np.concatenate([np.arange(len(train)), dup_pos]), kind="stable")
    train = train.iloc[rows].reset_index(drop=True)

    # Holdout: random order, same rows in every variant.
    ho_idx = rng.permutation(np.flatnonzero(is_holdout))
    ho_recorded = recorded.iloc[ho_idx].reset_index(drop=True)
    ho_pop = pop.iloc[ho_idx].reset_index(drop=True)
    variants = make_variants(rng, ho_recorded, ho_pop)

    files: list[str] = []

    def write(df: pd.DataFrame, rel: str) -> None:
        _write_csv(df, os.path.join(out, rel))
        files.append(rel)

    write(train, "train.csv")
    for name in VARIANTS:
        write(variants[name], f"holdout/{name}.csv")
    write(pd.DataFrame({"customer_id": ho_recorded["customer_id"], TARGET: labels[ho_idx]}),
          "labels/holdout_labels.csv")
    write(reference_predictions(train, variants["prediction_time"]), "labels/reference.csv")

    manifest = {
        "datasetVersion": DATASET_VERSION,
        "seed": seed,
        "trainRows": int(len(train)),
        "holdoutRows": int(N_HOLDOUT),
        "positiveRate": round(float((train[TARGET] == "yes").mean()), 6),
        "variants": VARIANTS,
        "files": {rel: _sha256(os.path.join(out, rel)) for rel in sorted(files)},
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=2, sort_keys=False)
        f.write("\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    m = generate(args.seed, args.out)
    print(json.dumps({k: m[k] for k in ("datasetVersion", "seed", "trainRows", "holdoutRows", "positiveRate")}))


if __name__ == "__main__":
    main()
