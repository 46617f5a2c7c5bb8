"""Credit analysis and collections: customer scorecard and grade, recommended limits and terms,
the prioritised collection worklist with dunning steps, and the early-payment discount what-if.

Everything is read *as of the close* of ``as_of``: invoices settled later and items opened later
are unknown. Policies (score rules, grade cut-offs, loss rates, cover months, terms caps, the
dunning ladder) are plain data with defaults here, so a params file can override them.

>>> check_ladder([[1, "reminder"], [30, "call"]])
((1, 'reminder'), (30, 'call'))
>>> list(dunning_step([0, 1, 29, 45], [[1, "reminder"], [30, "call"]]))
['', 'reminder', 'reminder', 'call']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from arlib import dso as core
from arlib.errors import ConfigError
from arlib.i18n import t
from arlib.ledger import Ledger
from arlib.schemas import PAYMENT, C

DEFAULT_LADDER = (
    (1, "reminder"),
    (15, "call"),
    (30, "final notice"),
    (60, "hold deliveries"),
    (90, "legal/agency"),
)
DISPUTE_STEP = "resolve dispute"
#: driver -> (value giving 0 points, value giving 100 points, weight); linear in between
SCORE_RULES: dict[str, tuple[float, float, float]] = {
    "days_late": (0.0, 45.0, 30.0),  # amount-weighted days late (open past-due items count)
    "late_trend": (0.0, 20.0, 15.0),  # recent minus earlier weighted days late
    "share_late": (0.1, 0.8, 20.0),  # share of the amount paid (or owed) late
    "dispute_share": (0.02, 0.25, 10.0),  # share of the amount invoiced that was disputed
    "limit_use": (0.8, 1.5, 15.0),  # open AR / credit limit
    "balance_growth": (0.25, 1.5, 10.0),  # growth of open AR over the recent months
}
#: grade -> upper score bound (scores 0..100, higher = riskier); the last grade takes the rest
GRADE_CUTS = {"A": 10.0, "B": 25.0, "C": 40.0, "D": 60.0, "E": 100.0}
#: expected share of a past-due item lost, by grade (for the worklist's expected loss)
LOSS_RATES = {"A": 0.01, "B": 0.03, "C": 0.07, "D": 0.15, "E": 0.35}
#: months of average billings a recommended limit covers, by grade (0 = secured or cash only)
COVER_MONTHS = {"A": 3.0, "B": 2.5, "C": 2.0, "D": 1.0, "E": 0.0}
#: longest payment terms (days) recommended per grade; None = keep today's terms
TERMS_CAP = {"A": None, "B": None, "C": 30, "D": 15, "E": 0}
HARD_STATUSES = ("insolvent", "legal")
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
    C.terms_days,
    "recommended_terms",
)
ACTIONS_VIEW = (C.name, "grade", "past_due", "items", "oldest_days", "expected_loss", "next_step")
WORKLIST_VIEW = (
    "rank",
    C.name,
    C.invoice_id,
    C.due_date,
    C.open_amount,
    C.days_past_due,
    C.disputed,
    "grade",
    "expected_loss",
    "step",
)


def check_ladder(ladder: Sequence) -> tuple[tuple[int, str], ...]:
    """A dunning ladder ``[[days past due, step], ...]`` with strictly increasing days >= 1."""
    try:
        out = tuple((int(d), str(s)) for d, s in ladder)
        ok = bool(out) and all(
            isinstance(d, int | np.integer) and not isinstance(d, bool) for d, _ in ladder
        )
    except (TypeError, ValueError):
        ok, out = False, ()
    if (
        not ok
        or out[0][0] < 1
        or any(b <= a for (a, _), (b, _) in zip(out, out[1:]))
        or any(not s.strip() for _, s in out)
    ):
        raise ConfigError(
            "dunning_ladder",
            "must be a list of [days past due, step] pairs with whole days >= 1 "
            f'increasing strictly and a step name, e.g. [[1, "reminder"], [30, "call"]]; got {ladder!r}',
        )
    return out


def dunning_step(days_past_due, ladder: Sequence = DEFAULT_LADDER) -> np.ndarray:
    """The ladder step for each days-past-due value (``""`` when not yet at the first step)."""
    lad = check_ladder(ladder)
    days = np.array([d for d, _ in lad])
    names = np.array(["", *[s for _, s in lad]], dtype=object)
    return names[np.searchsorted(days, np.asarray(days_past_due), side="right")]


def _points(value: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.nan_to_num(np.clip((value - lo) / (hi - lo), 0.0, 1.0) * 100.0)


def _weighted_late(df: pd.DataFrame, weight: str, late: str) -> pd.DataFrame:
    w = df[weight].to_numpy(dtype=float)
    g = (
        pd.DataFrame(
            {
                C.customer_id: df[C.customer_id].to_numpy(),
                "w": w,
                "wl": w * df[late].to_numpy(dtype=float),
                "late": w * (df[late].to_numpy(dtype=float) > 0),
            }
        )
        .groupby(C.customer_id)
        .sum()
    )
    return pd.DataFrame(
        {"days_late": g["wl"] / g["w"], "share_late": g["late"] / g["w"], "evidence": g["w"]}
    )


def _lateness(ledger: Ledger, as_of, since) -> pd.DataFrame:
    """Invoices paid in ``(since, as_of]`` with their days late, plus items past due at ``as_of``
    with their days past due so far (a customer who stopped paying must not look punctual)."""
    s = ledger.settlement()
    paid = s.loc[
        (s["settled_by"] == PAYMENT) & (s[C.settled_date] > since) & (s[C.settled_date] <= as_of)
    ]
    paid = paid[[C.customer_id, C.amount, "days_late"]]
    items = ledger.open_items(as_of)
    due = items.loc[items[C.days_past_due] > 0, [C.customer_id, C.open_amount, C.days_past_due]]
    due = due.set_axis([C.customer_id, C.amount, "days_late"], axis=1)
    return pd.concat([paid, due], ignore_index=True)


def scorecard(
    ledger: Ledger,
    as_of,
    lookback_months: int = 12,
    recent_months: int = 3,
    rules: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Risk score (0..100, higher = riskier), grade A-E and its drivers per customer.

    Drivers over the ``lookback_months`` before ``as_of``: ``days_late`` and ``share_late``
    (amount-weighted, invoices paid in the lookback plus items past due now), ``late_trend``
    (the same over the ``recent_months`` minus over the months before), ``dispute_share`` (of the
    amount invoiced in the lookback), ``limit_use`` (open AR / credit limit) and
    ``balance_growth`` (open AR now against ``recent_months`` ago, relative to the larger of that
    balance and a month's billings). Each driver scores 0-100 points (``pts_<driver>``, see
    :data:`SCORE_RULES`); the score is their weighted mean. Customers flagged ``insolvent`` or
    ``legal`` are graded E. ``top_drivers`` says in words what drove the score.
    """
    rules = {**SCORE_RULES, **(rules or {})}
    as_of = pd.Timestamp(as_of).normalize()
    look, recent = core.window(as_of, lookback_months), core.window(as_of, recent_months)
    all_late = _weighted_late(_lateness(ledger, as_of, look.start), C.amount, "days_late")
    now = _weighted_late(_lateness(ledger, as_of, recent.start), C.amount, "days_late")["days_late"]
    before = _lateness(ledger, recent.start, look.start)
    before = _weighted_late(before, C.amount, "days_late")["days_late"]
    inv = ledger.invoices
    in_look = inv.loc[(inv[C.invoice_date] > look.start) & (inv[C.invoice_date] <= as_of)]
    billed = in_look.groupby(C.customer_id)[C.amount].sum()
    disputed = (
        in_look[C.amount]
        .where(in_look[C.disputed].astype(bool), 0.0)
        .groupby(in_look[C.customer_id])
        .sum()
    )
    ar_now = ledger.open_items(as_of).groupby(C.customer_id)[C.open_amount].sum()
    ar_then = ledger.open_items(recent.start).groupby(C.customer_id)[C.open_amount].sum()
    out = _customers_frame(ledger, [all_late.index, billed.index, ar_now.index])
    ids = out[C.customer_id]
    out["open_ar"] = ids.map(ar_now).fillna(0.0).to_numpy()
    out["billings_month"] = ids.map(billed).fillna(0.0).to_numpy() / lookback_months
    out["days_late"] = ids.map(all_late["days_late"]).to_numpy()
    out["late_trend"] = (ids.map(now) - ids.map(before)).to_numpy()
    out["share_late"] = ids.map(all_late["share_late"]).to_numpy()
    out["dispute_share"] = core.safe_div(ids.map(disputed).fillna(0.0), ids.map(billed).fillna(0.0))
    out["limit_use"] = core.safe_div(out["open_ar"], out[C.credit_limit].fillna(0.0))
    base = np.maximum(ids.map(ar_then).fillna(0.0).to_numpy(), out["billings_month"].to_numpy())
    out["balance_growth"] = core.safe_div(out["open_ar"] - ids.map(ar_then).fillna(0.0), base)
    total_w = sum(r[2] for r in rules.values())
    score = np.zeros(len(out))
    for name, (lo, hi, wt) in rules.items():
        out[f"pts_{name}"] = _points(out[name].to_numpy(dtype=float), lo, hi)
        score += out[f"pts_{name}"].to_numpy() * wt / total_w
    out["score"] = np.round(score, 1)
    out["grade"] = grade(out["score"].to_numpy())
    hard = out[C.status].isin(HARD_STATUSES).to_numpy()
    out.loc[hard, "grade"] = "E"
    out["top_drivers"] = [_drivers_text(row, rules) for _, row in out.iterrows()]
    return out.sort_values(["score", "open_ar"], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _customers_frame(ledger: Ledger, indexes: list[pd.Index]) -> pd.DataFrame:
    ids = pd.Index(sorted(set().union(*[set(i) for i in indexes])), name=C.customer_id)
    cust = ledger.customers
    cols = [C.name, C.segment, C.credit_limit, C.terms_days, C.status]
    if cust is None:
        info = pd.DataFrame(index=ids, columns=cols)
    else:
        info = cust.set_index(C.customer_id).reindex(ids)[cols]
    info[C.name] = info[C.name].fillna(pd.Series(ids, index=ids))
    info[C.status] = info[C.status].fillna("active")
    info[C.credit_limit] = pd.to_numeric(info[C.credit_limit], errors="coerce")
    return info.reset_index()


def _drivers_text(row: pd.Series, rules: Mapping) -> str:
    """What drove the score, in the report language (:func:`arlib.i18n.language`)."""
    parts = []
    if row[C.status] in HARD_STATUSES:
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
) -> pd.DataFrame:
    """Recommended credit limit and terms per customer, flagged where they differ from today's.

    ``recommended_limit`` = average monthly billings x cover months of the grade, rounded up to
    two significant figures; ``limit_change`` when it differs from today's limit by more than
    ``tolerance`` (or there is none). ``recommended_terms`` = today's terms capped by the grade's
    cap; 0 means cash in advance or secured only. Adds ``limit_action`` in words.
    """
    out = card.copy()
    cover = out["grade"].map(cover_months).fillna(0.0).to_numpy()
    out["recommended_limit"] = _nice(out["billings_month"].to_numpy() * cover)
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
    out["recommended_terms"] = rec
    out["terms_change"] = ~np.isnan(terms) & (rec != terms)
    out["limit_action"] = np.select(
        [
            ~out["limit_change"],
            out["recommended_limit"] == 0,
            np.isnan(cur),
            out["recommended_limit"] > cur,
        ],
        ["keep", "secure or cash only", "set limit", "raise"],
        "cut",
    )
    return out


def worklist(
    ledger: Ledger,
    as_of,
    card: pd.DataFrame,
    ladder: Sequence = DEFAULT_LADDER,
    loss_rates: Mapping[str, float] = LOSS_RATES,
) -> pd.DataFrame:
    """Every open past-due item at ``as_of``, ranked for collection.

    ``expected_loss`` = open amount x the loss rate of the customer's grade; ``priority`` =
    expected loss x days past due (so an old item of a risky customer comes first; ties by
    amount). ``step`` is the item's dunning step by the ladder (``resolve dispute`` for disputed
    items); ``next_step`` is the customer's: the step of its oldest undisputed past-due item.
    """
    lad = check_ladder(ladder)
    items = ledger.open_items(as_of)
    due = items.loc[items[C.days_past_due] > 0].copy()
    info = card.set_index(C.customer_id)
    due.insert(0, C.name, due[C.customer_id].map(info[C.name]).fillna(due[C.customer_id]))
    due["grade"] = due[C.customer_id].map(info["grade"]).fillna("C")
    due["score"] = due[C.customer_id].map(info["score"])
    due["expected_loss"] = (
        due[C.open_amount] * due["grade"].map(loss_rates).fillna(max(loss_rates.values()))
    ).round(2)
    due["priority"] = (due["expected_loss"] * due[C.days_past_due]).round(2)
    disputed = due[C.disputed].astype(bool).to_numpy()
    due["step"] = np.where(
        disputed, DISPUTE_STEP, dunning_step(due[C.days_past_due].to_numpy(), lad)
    )
    oldest = due.loc[~disputed].groupby(C.customer_id)[C.days_past_due].max()
    due["next_step"] = due[C.customer_id].map(
        pd.Series(dunning_step(oldest.to_numpy(), lad), index=oldest.index)
    )
    due["next_step"] = due["next_step"].fillna(DISPUTE_STEP)
    due = due.sort_values(["priority", C.open_amount], ascending=False, kind="stable").reset_index(
        drop=True
    )
    due.insert(0, "rank", np.arange(1, len(due) + 1))
    cols = [
        "rank",
        C.customer_id,
        C.name,
        C.invoice_id,
        C.invoice_date,
        C.due_date,
        C.open_amount,
        C.days_past_due,
        C.bucket,
        C.disputed,
        "grade",
        "score",
        "expected_loss",
        "priority",
        "step",
        "next_step",
    ]
    return due[cols]


def actions(work: pd.DataFrame) -> pd.DataFrame:
    """The worklist per customer: ``customer_id, name, grade, past_due, items, oldest_days,
    expected_loss, priority, next_step``, highest priority first."""
    g = work.groupby([C.customer_id, C.name, "grade", "next_step"], sort=False)
    out = g.agg(
        past_due=(C.open_amount, "sum"),
        items=(C.invoice_id, "size"),
        oldest_days=(C.days_past_due, "max"),
        expected_loss=("expected_loss", "sum"),
        priority=("priority", "sum"),
    ).reset_index()
    out = out.sort_values("priority", ascending=False, kind="stable").reset_index(drop=True)
    return out[
        [
            C.customer_id,
            C.name,
            "grade",
            "past_due",
            "items",
            "oldest_days",
            "expected_loss",
            "priority",
            "next_step",
        ]
    ]


def _safe_text(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) are
    prefixed with ``'`` so data cannot inject formulas into the exported files."""
    out = df.copy()
    for c in out.select_dtypes(include="object").columns:
        out[c] = out[c].map(
            lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v
        )
    return out


def export_worklist(
    work: pd.DataFrame,
    output_dir,
    stem: str = "collection_worklist",
    per_customer: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write the worklist as ``<stem>.csv`` and ``<stem>.xlsx`` (sheets ``items`` and, when given,
    ``customers``) into ``output_dir`` (created if missing); returns the paths by format.
    Headers, sheet names and dunning steps are in the report language
    (:func:`arlib.i18n.display_frame`); the CSV starts with a UTF-8 byte-order mark, so Excel
    opens non-Latin names correctly."""
    from arlib.i18n import display_frame, t

    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    safe = display_frame(_safe_text(work))
    paths = {"csv": out_dir / f"{stem}.csv", "xlsx": out_dir / f"{stem}.xlsx"}
    safe.to_csv(paths["csv"], index=False, date_format="%Y-%m-%d", encoding="utf-8-sig")
    with pd.ExcelWriter(
        paths["xlsx"], engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD"
    ) as xw:
        safe.to_excel(xw, sheet_name=t("items"), index=False)
        if per_customer is not None:
            display_frame(_safe_text(per_customer)).to_excel(
                xw, sheet_name=t("customers"), index=False
            )
    return paths


def discount_whatif(
    ledger: Ledger,
    as_of,
    discount: float = 0.02,
    discount_days: int = 10,
    net_days: int = 30,
    cost_of_capital: float = 0.08,
    lookback_months: int = 12,
    take_up: float | None = None,
) -> dict:
    """Cash released, DSO change and net cost a year of offering ``discount``/``discount_days``
    net ``net_days``, from the invoices paid in the ``lookback_months`` before ``as_of``.

    Assumptions (stated in the result as ``take_up_rule``): takers pay on day
    ``min(observed days to pay, discount_days)``; by default the takers are the invoices that were
    paid by their due date (a customer who already pays on time takes a discount for paying
    earlier, a habitual late payer does not), or a flat ``take_up`` share of every invoice; others
    keep their observed lateness against the new net term. The DSO change is the change in
    amount-weighted days to pay. Yearly figures use the lookback's billings annualised; net cost =
    discounts granted - cash released x cost of capital (negative: the offer pays for itself).
    """
    _check_offer(discount, discount_days, net_days, cost_of_capital, take_up)
    w = core.window(as_of, lookback_months)
    s = ledger.settlement()
    s = s.loc[
        (s["settled_by"] == PAYMENT) & (s[C.settled_date] > w.start) & (s[C.settled_date] <= w.end)
    ]
    a, t, late = (
        s[C.amount].to_numpy(float),
        s["days_to_pay"].to_numpy(float),
        s["days_late"].to_numpy(float),
    )
    terms = t - late
    p = np.where(late <= 0, 1.0, 0.0) if take_up is None else np.full(len(a), float(take_up))
    t_take = np.minimum(t, discount_days)
    t_keep = np.maximum(t + (net_days - terms), 0.0)
    inv = ledger.invoices
    billed = inv.loc[
        (inv[C.invoice_date] > w.start) & (inv[C.invoice_date] <= w.end), C.amount
    ].sum()
    annual = float(billed * 365.0 / w.days)
    tot = a.sum()
    if tot <= core.TOL:
        return {
            "invoices_observed": 0,
            "annual_billings": annual,
            "note": "not defined: no invoice was paid in the lookback",
        }
    before = float(a @ t / tot)
    after = float(a @ (p * t_take + (1 - p) * t_keep) / tot)
    terms_only = float(a @ t_keep / tot)
    share = float(a @ p / tot)
    released = annual / 365.0 * (before - after)
    cost = annual * share * discount
    benefit = released * cost_of_capital
    return {
        "invoices_observed": int(len(a)),
        "annual_billings": round(annual, 2),
        "take_up_share": share,
        "take_up_rule": "invoices paid by their due date"
        if take_up is None
        else f"flat {take_up:.0%}",
        "days_to_pay_now": before,
        "days_to_pay_after": after,
        "dso_change": after - before,
        "dso_change_terms": terms_only - before,
        "dso_change_discount": after - terms_only,
        "cash_released": round(released, 2),
        "cash_released_discount": round(annual / 365.0 * (terms_only - after), 2),
        "discount_cost": round(cost, 2),
        "financing_benefit": round(benefit, 2),
        "net_cost": round(cost - benefit, 2),
        "offer_annual_rate": discount / (1 - discount) * 365.0 / max(net_days - discount_days, 1),
        "break_even_discount": benefit / (annual * share) if annual * share > core.TOL else None,
    }


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


def _check_offer(discount, discount_days, net_days, cost_of_capital, take_up) -> None:
    if not 0 <= discount < 1:
        raise ConfigError(
            "discount", f"must be a fraction in [0, 1), e.g. 0.02 for 2%; got {discount!r}"
        )
    if not 0 <= discount_days <= net_days:
        raise ConfigError(
            "discount_days", f"must be between 0 and net_days ({net_days}); got {discount_days!r}"
        )
    if not 0 <= cost_of_capital < 1:
        raise ConfigError(
            "cost_of_capital",
            f"must be a yearly rate in [0, 1), e.g. 0.08; got {cost_of_capital!r}",
        )
    if take_up is not None and not 0 <= take_up <= 1:
        raise ConfigError("discount_take_up", f"must be a share in [0, 1] or null; got {take_up!r}")
