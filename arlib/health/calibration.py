"""Scorecard backtest and calibration: does a grade predict anything, and where do grades cut?

Every customer is scored (:func:`arlib.health.credit.scorecard`) at past month-ends and
compared with what happened over the following ``horizon_months``:

*default* (the outcome)
    an item of the customer reaches ``default_days`` days past due within the horizon, or an
    item of it is written off within the horizon. On a ledger where everything was paid (the
    IBM sample) a small ``default_days`` makes the outcome "paid late by more than that".

Customers already in default at the month-end (an open item ``default_days`` or more past due)
are left out of that month-end's sample: the score is meant to warn *before* a default.
Customer status is a snapshot taken at extraction, so the backtest does not use it.

The evidence: AUC (probability that a customer who defaulted scored riskier than one who did
not; 0.5 = no better than chance) and Gini = 2 AUC - 1, per driver and for the score, and the
default rate per grade (which must rise from A to E for the grades to mean anything). Grade
cut-offs are set from the pooled backtest scores by target grade shares
(:func:`cuts_from_shares`), unless fixed cut-offs are given.

>>> round(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 2)
0.75
>>> cuts_from_shares([0, 0, 0, 5, 10, 20, 30, 40, 60, 90], {"A": 0.3, "B": 0.3, "C": 0.4})
{'A': 5.0, 'B': 30.0, 'C': 100.0}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from arlib.errors import ConfigError
from arlib.health import shared
from arlib.ledger import Ledger, month_ends
from arlib.schemas import WRITE_OFF, C

#: grade -> target share of scored customer-months; the cut-offs follow from the backtest
GRADE_SHARES = {"A": 0.30, "B": 0.25, "C": 0.20, "D": 0.15, "E": 0.10}
#: backtest points needed (with at least MIN_DEFAULTS defaults) before cut-offs are calibrated
MIN_POINTS, MIN_DEFAULTS = 50, 5


def auc(score, bad) -> float:
    """Area under the ROC curve of ``score`` for the 0/1 outcome ``bad`` (ties count half);
    NaN when either class is empty (Mann-Whitney U / (n_bad x n_good))."""
    s, y = np.asarray(score, dtype=float), np.asarray(bad, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def check_shares(shares: Mapping[str, float]) -> dict[str, float]:
    """Grade shares ``{grade: share}``: shares > 0 summing to 1, best grade first."""
    try:
        out = {str(k): float(v) for k, v in dict(shares).items()}
    except (TypeError, ValueError):
        out = {}
    if not out or min(out.values()) <= 0 or abs(sum(out.values()) - 1) > 1e-6:
        raise ConfigError(
            "grade_shares",
            "must map each grade (best first) to a share > 0, the shares summing to 1, e.g. "
            f'{{"A": 0.3, "B": 0.25, "C": 0.2, "D": 0.15, "E": 0.1}}; got {shares!r}',
        )
    return out


def check_cuts(cuts: Mapping[str, float]) -> dict[str, float]:
    """Fixed cut-offs ``{grade: upper score bound}``, increasing, the last at least 100."""
    try:
        out = {str(k): float(v) for k, v in dict(cuts).items()}
    except (TypeError, ValueError):
        out = {}
    vals = list(out.values())
    if not out or any(b <= a for a, b in zip(vals, vals[1:])) or vals[-1] < 100:
        raise ConfigError(
            "grade_cutoffs",
            "must map each grade (best first) to an increasing upper score bound, the last "
            f'at least 100, e.g. {{"A": 10, "B": 25, "C": 40, "D": 60, "E": 100}}; got {cuts!r}',
        )
    return out


def cuts_from_shares(scores, shares: Mapping[str, float]) -> dict[str, float]:
    """Upper score bounds per grade so that the grades hold about ``shares`` of ``scores``.

    A bound is the score at the grade's cumulative share (a score equal to the bound falls in
    the next grade); where ties would make a bound repeat, it moves to the next distinct score,
    so a grade is never empty by construction. The last bound is 100 (scores run 0..100).
    """
    sh = check_shares(shares)
    s = np.sort(np.asarray(scores, dtype=float))
    names, cum = list(sh), np.cumsum(list(sh.values()))[:-1]
    bounds, prev = (
        [],
        (float(s[0]) if len(s) else -np.inf),
    )  # a bound at the lowest score empties a grade
    for q in cum:
        b = float(s[min(int(np.ceil(q * len(s))), len(s) - 1)]) if len(s) else 100.0
        if b <= prev:
            above = s[s > prev]
            b = float(above[0]) if len(above) else 100.0
        b = min(b, 100.0)
        bounds.append(b)
        prev = b
    return dict(zip(names, [*bounds, 100.0]))


def outcomes(ledger: Ledger, start, end, default_days: int = 90) -> pd.Series:
    """Customers that defaulted in ``(start, end]``: an item reached ``default_days`` days past
    due in that period (not settled by then), or was written off in it. Index: customer_id."""
    return _outcomes(shared.settlement(ledger), _write_offs(ledger), start, end, default_days)


def _write_offs(ledger: Ledger) -> pd.DataFrame:
    txn = ledger.transactions
    return txn.loc[shared.of_kind(ledger, WRITE_OFF), [C.customer_id, C.date]]


def _outcomes(s: pd.DataFrame, wo: pd.DataFrame, start, end, default_days: int) -> pd.Series:
    """:func:`outcomes` from the ledger's settlement ``s`` and write-offs ``wo``."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    # on the columns' arrays (a dozen calls per backtest over every invoice): NaT compares
    # False there as in pandas, so an unsettled item is still open
    first, last = np.datetime64(start), np.datetime64(end)
    hit = s[C.due_date].to_numpy() + np.timedelta64(int(default_days), "D")
    when = np.where(hit > first, hit, first + np.timedelta64(1, "D"))
    settled = s[C.settled_date].to_numpy()
    late = (when <= last) & (s[C.invoice_date].to_numpy() <= last) & ~(settled <= when)
    # an item already past the mark at start counts only if it was still open after start
    late &= ~(settled <= first)
    wo = wo.loc[(wo[C.date] > start) & (wo[C.date] <= end)]
    who = set(s[C.customer_id].to_numpy()[late]) | set(wo[C.customer_id])
    return pd.Series(True, index=pd.Index(sorted(who)))


def in_default(ledger: Ledger, as_of, default_days: int = 90) -> set:
    """Customers with an open item ``default_days`` or more past due at ``as_of``."""
    items = ledger.open_items(as_of)
    return set(items.loc[items[C.days_past_due] >= int(default_days), C.customer_id])


def backtest_dates(ledger: Ledger, as_of, months: int = 12, horizon_months: int = 12):
    """The month-ends scored: the last ``months`` month-ends whose horizon ends by ``as_of``
    (and after the first invoice)."""
    last = pd.Timestamp(as_of) - pd.DateOffset(months=int(horizon_months))
    first = ledger.invoices[C.invoice_date].min()
    dates = month_ends(last - pd.DateOffset(months=int(months)), last)
    return dates[(dates > first) & (dates <= last)][-int(months) :]


def backtest(
    ledger: Ledger,
    as_of,
    months: int = 12,
    horizon_months: int = 12,
    default_days: int = 90,
    lookback_months: int = 12,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per customer and past month-end scored: ``cutoff, customer_id, score``, the
    driver points ``pts_<driver>``, ``open_ar`` and ``bad`` (defaulted within the horizon).

    Month-ends from :func:`backtest_dates`; customers in default at the month-end are left out.
    Each month-end's rows are :func:`arlib.health.credit.scorecard`'s at that date (same order);
    the drivers of all the month-ends come from one pass
    (:func:`arlib.health.scoring.driver_frames`), the settlement is read once.
    """
    # credit's grades read the evidence built here: imported when called, not at import
    from arlib.health.credit import _rules, score_points
    from arlib.health.scoring import driver_frames

    dates = backtest_dates(ledger, as_of, months, horizon_months)
    rules = _rules(None, weights)
    frames = driver_frames(ledger, dates, lookback_months, default_days=default_days)
    settled, written_off = shared.settlement(ledger), _write_offs(ledger)
    parts = []
    for d, card in zip(dates, frames, strict=True):
        card = score_points(card, rules).sort_values(
            ["score", "open_ar"], ascending=False, kind="stable"
        )
        card = card.loc[~card["in_default"].to_numpy()]
        end = d + pd.DateOffset(months=int(horizon_months))
        bad = _outcomes(settled, written_off, d, end, default_days)
        pts = [c for c in card.columns if c.startswith("pts_")]
        part = card[[C.customer_id, "score", *pts, "open_ar"]].reset_index(drop=True)
        part.insert(0, "cutoff", d)
        part["bad"] = part[C.customer_id].isin(bad.index).to_numpy()
        parts.append(part)
    cols = ["cutoff", C.customer_id, "score", "open_ar", "bad"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def grade_table(points: pd.DataFrame, cuts: Mapping[str, float]) -> pd.DataFrame:
    """Per grade: ``grade, score_from, score_to, customer_months``, ``share``,
    ``defaults``, ``default_rate`` and ``open_ar_share``, from :func:`backtest` rows."""
    from arlib.health.credit import grade

    names, bounds = list(cuts), list(cuts.values())
    g = pd.Series(grade(points["score"].to_numpy(), cuts) if len(points) else [], dtype=object)
    rows = []
    total, ar = max(len(points), 1), float(points["open_ar"].sum()) if len(points) else 0.0
    for i, name in enumerate(names):
        m = (g == name).to_numpy()
        n, k = int(m.sum()), int(points["bad"].to_numpy()[m].sum()) if len(points) else 0
        rows.append(
            {
                "grade": name,
                "score_from": bounds[i - 1] if i else 0.0,
                "score_to": bounds[i],
                "customer_months": n,
                "share": n / total,
                "defaults": k,
                "default_rate": k / n if n else float("nan"),
                "open_ar_share": float(points["open_ar"].to_numpy()[m].sum()) / ar if ar else 0.0,
            }
        )
    return pd.DataFrame(rows)


def calibrate(
    points: pd.DataFrame,
    shares: Mapping[str, float] = GRADE_SHARES,
    cuts: Mapping[str, float] | None = None,
    fallback: Mapping[str, float] | None = None,
) -> dict:
    """Grade cut-offs and the evidence behind them, from :func:`backtest` rows.

    ``cuts`` given: used as they are (``basis`` "fixed"). Otherwise the cut-offs come from
    ``shares`` over the backtest scores (``basis`` "backtest") when there are at least
    :data:`MIN_POINTS` points and :data:`MIN_DEFAULTS` defaults, else ``fallback`` (the
    documented default cut-offs, ``basis`` "default: too little history", with a ``note``).
    Returns ``cuts, basis, note, points, defaults, auc, gini, monotonic`` (default rates rising
    from the best grade to the worst), ``grades`` (:func:`grade_table`) and ``drivers`` (AUC of
    each driver's points alone).
    """
    n, k = len(points), int(points["bad"].sum()) if len(points) else 0
    note = ""
    if cuts:
        use, basis = check_cuts(cuts), "fixed"
    elif n >= MIN_POINTS and k >= MIN_DEFAULTS:
        use, basis = cuts_from_shares(points["score"], shares), "backtest"
    else:
        use, basis = dict(fallback or {}), "default"
        note = (
            f"too little history to calibrate the grades ({n} scored customer-months, {k} "
            f"defaults; {MIN_POINTS} and {MIN_DEFAULTS} needed): the default cut-offs are used"
        )
    table = grade_table(points, use)
    rates = table["default_rate"].dropna().to_numpy()
    a = auc(points["score"], points["bad"]) if n else float("nan")
    drivers = pd.DataFrame(
        [
            {"driver": c[4:], "auc": auc(points[c], points["bad"])}
            for c in points.columns
            if c.startswith("pts_")
        ],
        columns=["driver", "auc"],
    )
    drivers["gini"] = 2 * drivers["auc"] - 1
    return {
        "cuts": use,
        "basis": basis,
        "note": note,
        "points": n,
        "defaults": k,
        "auc": a,
        "gini": 2 * a - 1,
        "monotonic": bool(len(rates) > 1 and np.all(np.diff(rates) >= 0)),
        "grades": table,
        "drivers": drivers,
    }


def evidence(
    ledger: Ledger,
    as_of,
    *,
    months: int = 12,
    horizon_months: int = 12,
    default_days: int = 90,
    lookback_months: int = 12,
    weights: Mapping[str, float] | None = None,
    shares: Mapping[str, float] = GRADE_SHARES,
    cuts: Mapping[str, float] | None = None,
) -> dict:
    """:func:`backtest` then :func:`calibrate` (falling back to the documented
    :data:`arlib.health.credit.GRADE_CUTS`); the result also holds the backtest rows as
    ``backtest`` and the settings as ``default_days`` and ``horizon_months``."""
    from arlib.health.credit import GRADE_CUTS

    check_shares(shares)
    pts = backtest(ledger, as_of, months, horizon_months, default_days, lookback_months, weights)
    out = calibrate(pts, shares, cuts, fallback=GRADE_CUTS)
    out.update(backtest=pts, default_days=int(default_days), horizon_months=int(horizon_months))
    return out


def summary(ev: Mapping) -> dict:
    """Flat figures of the backtest for ``kpis.json``: ``scorecard_auc``, ``scorecard_gini``,
    ``scorecard_points``, ``scorecard_defaults``, ``scorecard_cuts_basis``, ``grade_cut_<g>``
    and ``default_rate_<g>`` per grade."""

    def num(x):
        return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), 4)

    out = {
        "scorecard_auc": num(ev["auc"]),
        "scorecard_gini": num(ev["gini"]),
        "scorecard_points": int(ev["points"]),
        "scorecard_defaults": int(ev["defaults"]),
        "scorecard_cuts_basis": ev["basis"],
        "scorecard_grades_rise": bool(ev["monotonic"]),
    }
    for row in ev["grades"].itertuples(index=False):
        out[f"grade_cut_{row.grade}"] = float(row.score_to)
        out[f"default_rate_{row.grade}"] = num(row.default_rate)
    return out
