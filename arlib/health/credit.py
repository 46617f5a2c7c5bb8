"""Credit analysis: customer scorecard and grade, recommended limits and terms with their reason.

Everything is read *as of the close* of ``as_of``: invoices settled later and items opened later
are unknown. Policies (score rules and weights, grade cut-offs, cover months, terms caps) are
plain data with defaults here, so a params file can override them; the grade cut-offs are
calibrated on a backtest (:mod:`arlib.health.calibration`). The collection worklist, dunning and
the legal list are in :mod:`arlib.health.worklist`, the discount and factoring what-ifs in
:mod:`arlib.health.levers` (both re-exported here, their earlier home).

>>> list(grade([0, 10, 39.9, 99]))
['A', 'B', 'C', 'E']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from arlib import dso as core
from arlib.errors import ConfigError
from arlib.health import shared
from arlib.health.levers import discount_whatif  # noqa: F401  (its home before the levers module)
from arlib.health.scoring import driver_frames
from arlib.health.worklist import (  # noqa: F401  the worklist's home before its own module
    ACTIONS_VIEW,
    DEFAULT_LADDER,
    DISPUTE_STEP,
    HARD_STATUSES,
    LOSS_RATES,
    WORKLIST_VIEW,
    actions,
    check_ladder,
    dunning_step,
    export_worklist,
    legal_list,
    worklist,
)
from arlib.i18n import t
from arlib.ledger import Ledger
from arlib.schemas import WRITE_OFF, C

#: driver -> (value giving 0 points, value giving 100 points, weight); linear in between
SCORE_RULES: dict[str, tuple[float, float, float]] = {
    "days_late": (0.0, 45.0, 30.0),  # amount-weighted days late (open past-due items count)
    "late_trend": (0.0, 20.0, 15.0),  # recent minus earlier weighted days late
    "share_late": (0.1, 0.8, 20.0),  # share of the amount paid (or owed) late
    "dispute_share": (0.02, 0.25, 10.0),  # share of the amount invoiced that was disputed
    "limit_use": (0.8, 1.5, 15.0),  # open AR / credit limit
    "balance_growth": (0.25, 1.5, 10.0),  # growth of open AR over the recent months
}
#: grade -> upper score bound (scores 0..100, higher = riskier); the last grade takes the rest.
#: Used only when the backtest has too little history (the report calibrates them, see
#: :mod:`arlib.health.calibration`) or as fixed cut-offs given in params.
GRADE_CUTS = {"A": 10.0, "B": 25.0, "C": 40.0, "D": 60.0, "E": 100.0}
#: months of average billings a recommended limit covers, by grade; never 0: only a default
#: signal (status, an item ``default_days`` past due, a write-off) makes it "secure or cash only"
COVER_MONTHS = {"A": 3.0, "B": 2.5, "C": 2.0, "D": 1.5, "E": 1.0}
#: longest payment terms (days) recommended per grade; None = keep today's terms
TERMS_CAP = {"A": None, "B": None, "C": 45, "D": 30, "E": 15}
#: days past due of an open item that count as a default signal (and as default in the backtest)
DEFAULT_DAYS = 90
#: columns shown in the report (see :func:`arlib.health.breakdown.view`)
SCORECARD_VIEW = (
    C.name,
    "grade",
    "score",
    "top_drivers",
    "open_ar",
    C.credit_limit,
    "recommended_limit",
    "limit_action",
    "limit_reason",
    C.terms_days,
    "recommended_terms",
)


def _points(value: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.nan_to_num(np.clip((value - lo) / (hi - lo), 0.0, 1.0) * 100.0)


def score_points(drivers: pd.DataFrame, rules: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """``drivers`` (:func:`arlib.health.scoring.driver_frames`) with the points of each driver
    (``pts_<driver>``, 0-100 by its rule) and ``score``, their weighted mean to one decimal."""
    out = drivers
    total_w = sum(r[2] for r in rules.values())
    score = np.zeros(len(out))
    for name, (lo, hi, wt) in rules.items():
        out[f"pts_{name}"] = _points(out[name].to_numpy(dtype=float), lo, hi)
        score += out[f"pts_{name}"].to_numpy() * wt / total_w
    out["score"] = np.round(score, 1)
    return out


def scorecard(
    ledger: Ledger,
    as_of,
    lookback_months: int = 12,
    recent_months: int = 3,
    rules: Mapping[str, Sequence[float]] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    cuts: Mapping[str, float] | None = None,
    default_days: int = DEFAULT_DAYS,
    statuses: Sequence[str] = HARD_STATUSES,
) -> pd.DataFrame:
    """Risk score (0..100, higher = riskier), grade A-E and its drivers per customer.

    Drivers over the ``lookback_months`` before ``as_of``: ``days_late`` and ``share_late``
    (amount-weighted, invoices paid in the lookback plus items past due now), ``late_trend``
    (the same over the ``recent_months`` minus over the months before), ``dispute_share`` (of the
    amount invoiced in the lookback), ``limit_use`` (open AR / credit limit) and
    ``balance_growth`` (open AR now against ``recent_months`` ago, relative to the larger of that
    balance and a month's billings). Each driver scores 0-100 points (``pts_<driver>``, see
    :data:`SCORE_RULES`, ``weights`` overriding the weights); the score is their weighted mean,
    graded by ``cuts`` (default :data:`GRADE_CUTS`). Customers whose status is in ``statuses``
    are graded E. ``default_signal`` says what makes a customer a known default, if anything:
    its status, an open item ``default_days`` or more past due, or a write-off in the
    lookback (:func:`recommend` gives those, and only those, no credit). ``top_drivers`` says in
    words what drove the score.
    """
    rules = _rules(rules, weights)
    as_of = pd.Timestamp(as_of).normalize()
    look = core.window(as_of, lookback_months)
    out = score_points(driver_frames(ledger, [as_of], lookback_months, recent_months)[0], rules)
    cuts = dict(cuts or GRADE_CUTS)
    out["grade"] = grade(out["score"].to_numpy(), cuts)
    hard = out[C.status].isin(list(statuses)).to_numpy()
    out.loc[hard, "grade"] = list(cuts)[-1]
    out["default_signal"] = _default_signal(ledger, as_of, look.start, out, hard, default_days)
    # plain dicts, not iterrows: one Series per customer cost seconds at thousands of customers
    out["top_drivers"] = [_drivers_text(row, rules, statuses) for row in out.to_dict("records")]
    return out.sort_values(["score", "open_ar"], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _rules(rules, weights) -> dict[str, tuple[float, float, float]]:
    """:data:`SCORE_RULES` with ``rules`` and then ``weights`` (driver -> weight) applied."""
    out = {**SCORE_RULES, **(rules or {})}
    for k, w in (weights or {}).items():
        if k not in out or not isinstance(w, int | float) or isinstance(w, bool) or w < 0:
            raise ConfigError(
                "scorecard_weights",
                f"must map drivers {sorted(SCORE_RULES)} to weights >= 0; got {k!r}: {w!r}",
            )
        out[k] = (out[k][0], out[k][1], float(w))
    if sum(r[2] for r in out.values()) <= 0:
        raise ConfigError("scorecard_weights", "at least one driver needs a weight above 0")
    return out


def _default_signal(ledger, as_of, since, out, hard, default_days) -> np.ndarray:
    """Per customer of ``out``, what makes it a known default (``""``: nothing)."""
    items = ledger.open_items(as_of)
    old = set(items.loc[items[C.days_past_due] >= int(default_days), C.customer_id])
    txn = ledger.transactions
    wo = txn.loc[shared.of_kind(ledger, WRITE_OFF) & (txn[C.date] > since) & (txn[C.date] <= as_of)]
    written = set(wo[C.customer_id])
    ids, status = out[C.customer_id].to_numpy(), out[C.status].to_numpy()
    return np.array(
        [
            t("status {status}").format(status=t(s))
            if h
            else t("an item {days}+ days past due").format(days=int(default_days))
            if c in old
            else t("a write-off in the look-back")
            if c in written
            else ""
            for c, s, h in zip(ids, status, hard)
        ],
        dtype=object,
    )


def _drivers_text(row: Mapping, rules: Mapping, statuses: Sequence[str] = HARD_STATUSES) -> str:
    """What drove the score, in the report language (:func:`arlib.i18n.language`)."""
    parts = []
    if row[C.status] in statuses:
        parts.append(t("status {status}").format(status=t(row[C.status])))
    fmt = {
        "days_late": "{:.0f} days late",
        "late_trend": "lateness {:+.0f} days",
        "share_late": "{:.0%} paid late",
        "dispute_share": "{:.0%} disputed",
        "limit_use": "{:.0%} of limit",
        "balance_growth": "balance {:+.0%}",
    }
    ranked = sorted(((row[f"pts_{k}"] * rules[k][2], k) for k in rules), reverse=True)
    parts += [
        t("{driver} ({points} pts)").format(
            driver=t(fmt.get(k, k + " {:.2f}")).format(row[k]),
            points=f"{pts / sum(r[2] for r in rules.values()):.0f}",
        )
        for pts, k in ranked[:3]
        if pts > 0
    ]
    return t("; ").join(parts) or t("no risk signal")


def grade(score, cuts: Mapping[str, float] = GRADE_CUTS) -> np.ndarray:
    """Grade letter per score: the first grade whose upper bound the score is below.

    >>> list(grade([0, 10, 39.9, 99]))
    ['A', 'B', 'C', 'E']
    """
    names, bounds = list(cuts), np.array(list(cuts.values()), dtype=float)
    idx = np.searchsorted(bounds[:-1], np.asarray(score, dtype=float), side="right")
    return np.array(names, dtype=object)[idx]


def _nice(x: np.ndarray) -> np.ndarray:
    """Rounded up to two significant figures (e.g. 12,340 -> 13,000)."""
    x = np.asarray(x, dtype=float)
    mag = 10.0 ** (np.floor(np.log10(np.where(x > 0, x, 1.0))) - 1)
    return np.where(x > 0, np.ceil(x / mag) * mag, 0.0)


def recommend(
    card: pd.DataFrame,
    cover_months: Mapping[str, float] = COVER_MONTHS,
    terms_cap: Mapping[str, int | None] = TERMS_CAP,
    tolerance: float = 0.1,
    lookback_months: int = 12,
) -> pd.DataFrame:
    """Recommended credit limit and terms per customer, with the reason, flagged where they
    differ from today's.

    A customer with a ``default_signal`` (see :func:`scorecard`) gets limit 0 and terms 0:
    ``secure or cash only``, the signal named in ``limit_reason``. Every other customer gets
    ``recommended_limit`` = cover months of its grade x its monthly business, rounded up to two
    significant figures, where monthly business is the average monthly billings of the lookback,
    or (no billings) the amount it paid or owes in the lookback per month, or (neither) its open
    balance: never 0 for a customer without a default signal. ``limit_change`` when it differs
    from today's limit by more than ``tolerance`` (or there is none). ``recommended_terms`` =
    today's terms capped by the grade's cap. Adds ``limit_action`` in words.
    """
    out = card.copy()
    for key, table in (("limit_cover_months", cover_months), ("terms_cap_days", terms_cap)):
        missing = sorted(set(out["grade"]) - set(table))
        if missing:
            raise ConfigError(key, f"has no value for grade(s) {missing}; give one per grade")
    cover = out["grade"].map(cover_months).astype(float).to_numpy()
    if (cover <= 0).any():
        raise ConfigError("limit_cover_months", f"must be > 0 for every grade; got {cover_months}")
    signal = out.get("default_signal", pd.Series("", index=out.index)).fillna("").to_numpy()
    hard = signal != ""
    evidence = out.get("evidence", pd.Series(0.0, index=out.index)).fillna(0.0).to_numpy()
    basis = np.where(
        out["billings_month"] > 0,
        out["billings_month"],
        np.where(evidence > 0, evidence / lookback_months, out["open_ar"] / cover),
    )
    out["recommended_limit"] = np.where(hard, 0.0, _nice(basis * cover))
    cur = out[C.credit_limit].to_numpy(dtype=float)
    out["limit_change"] = ~(
        np.abs(out["recommended_limit"] - cur) <= tolerance * np.where(np.isnan(cur), 0, cur)
    )
    caps = out["grade"].map(lambda g: terms_cap.get(g)).to_numpy()
    terms = pd.to_numeric(out[C.terms_days], errors="coerce").to_numpy(dtype=float)
    rec = np.array(
        [t if c is None else c if np.isnan(t) else min(t, c) for t, c in zip(terms, caps)],
        dtype=float,
    )
    out["recommended_terms"] = np.where(hard, 0.0, rec)
    out["terms_change"] = ~np.isnan(terms) & (out["recommended_terms"] != terms)
    out["limit_action"] = np.select(
        [hard, ~out["limit_change"], np.isnan(cur), out["recommended_limit"] > cur],
        ["secure or cash only", "keep", "set limit", "raise"],
        "cut",
    )
    why = [
        t("cover: {months:g} x monthly billings (grade {grade})").format(months=m, grade=g)
        for m, g in zip(cover, out["grade"])
    ]
    out["limit_reason"] = np.where(hard, signal, why)
    return out


def summary(card: pd.DataFrame, work: pd.DataFrame, offer: Mapping | None = None) -> dict:
    """Flat headline figures of the credit section for ``kpis.json``: customers per grade,
    recommendations that differ, the worklist's size and expected loss, and the discount what-if
    (keys prefixed ``discount_``). ``limits_to_change`` only when the data has credit limits."""
    out: dict = {f"grade_{g}": int((card["grade"] == g).sum()) for g in GRADE_CUTS}
    if "limit_change" in card:
        out.update(terms_to_change=int(card["terms_change"].sum()))
        if C.credit_limit not in card or card[C.credit_limit].notna().any():  # none: no review
            out.update(limits_to_change=int(card["limit_change"].sum()))
    out.update(
        worklist_items=int(len(work)),
        worklist_customers=int(work[C.customer_id].nunique()),
        worklist_past_due=round(float(work[C.open_amount].sum()), 2),
        worklist_expected_loss=round(float(work["expected_loss"].sum()), 2),
    )
    out.update({f"discount_{k}": v for k, v in (offer or {}).items()})
    return out
