"""The health KPIs broken down: per customer or segment, per business unit, per month (the
trend), and each customer's contribution to a KPI's change (the drivers).

Definitions are those of :mod:`arlib.health.measures`; per-customer figures use the customer's own
billings (a customer that bought nothing in the window has no DSO). Driver contributions use the
*unit's* billings, so that they add up to the unit's KPI:
``dso = sum over customers of open_ar_c / S x D`` and
``past_due_share = sum of past_due_ar_c / open AR``.

>>> from arlib import demo
>>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
>>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
>>> t = trend(led, "2024-06-30", months=3)
>>> [str(d.date()) for d in t["month_end"]]
['2024-04-30', '2024-05-31', '2024-06-30']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib import dso as core
from arlib import health
from arlib.health import shared
from arlib.i18n import t
from arlib.ledger import DEFAULT_THRESHOLDS, Ledger, open_by_date
from arlib.schemas import PAYMENT, C

TREND_COLUMNS = (
    "open_ar",
    "current_ar",
    "past_due_ar",
    "billings_window",
    "collections_window",
    "dso",
    "dso_countback",
    "bpdso",
    "add",
    "cei",
    "cei_month",
    "turnover",
    "past_due_share",
)


def _key(ledger: Ledger, by: str) -> pd.Series:
    """The grouping key of every invoice: its customer, or the customer's ``segment``."""
    inv = ledger.invoices
    if by == C.customer_id:
        return inv[C.customer_id]
    cust = ledger.customers
    if cust is None or by not in cust:
        return pd.Series("unknown", index=inv.index)
    return inv[C.customer_id].map(cust.set_index(C.customer_id)[by]).fillna("unknown")


def group_kpis(
    ledger: Ledger, as_of, window_months: int = 3, by: str = C.customer_id
) -> pd.DataFrame:
    """DSO family, CEI and balances per customer (``by="customer_id"``) or per ``segment``.

    Columns: ``by, open_ar, current_ar, past_due_ar, ar_window_start, billings_window,
    collections_window, dso, dso_countback, bpdso, add, cei, past_due_share, share`` (of the
    unit's open AR) and ``disputed_open_amount``; sorted by open AR, largest first. Every key
    with AR at either end of the window or with billings or cash in it is listed.
    """
    health.check_one_currency(ledger)
    w = core.window(as_of, window_months)
    inv, txn = ledger.invoices, ledger.transactions
    key = _key(ledger, by)
    # the open items at both ends of the window from one pass, as invoice rows: each row's key
    # is taken by position (no lookup of a million invoice ids)
    both = open_by_date(ledger, [w.start, w.end])
    end, start = (_open_frame(ledger, both, key, both["date"] == k) for k in (1, 0))
    cur = end[C.open_amount].where(end[C.days_past_due] <= 0, 0.0)
    in_w = (inv[C.invoice_date] > w.start) & (inv[C.invoice_date] <= w.end)
    paid = shared.of_kind(ledger, PAYMENT) & (txn[C.date] > w.start) & (txn[C.date] <= w.end)
    pay = txn.loc[paid.to_numpy()]
    pay_key = (
        pay[C.customer_id]
        if by == C.customer_id
        else pay[C.customer_id].map(_of_customer(ledger, key))
    )
    out = pd.DataFrame(
        {
            "open_ar": end.groupby("key")[C.open_amount].sum(),
            "current_ar": cur.groupby(end["key"]).sum(),
            "ar_window_start": start.groupby("key")[C.open_amount].sum(),
            "billings_window": inv.loc[in_w, C.amount].groupby(key[in_w]).sum(),
            "collections_window": pay[C.amount].groupby(pay_key.fillna("unknown")).sum(),
            "disputed_open_amount": end[C.open_amount]
            .where(end[C.disputed].astype(bool), 0.0)
            .groupby(end["key"])
            .sum(),
        }
    ).fillna(0.0)
    out.index.name = by
    out["past_due_ar"] = out["open_ar"] - out["current_ar"]
    mat, days = health.period_invoicing(ledger, w.end, by=key)
    ar, s, d = out["open_ar"].to_numpy(), out["billings_window"].to_numpy(), w.days
    out["dso"] = core.dso(ar, s, d)
    out["dso_countback"] = core.countback_dso(
        ar, mat.reindex(out.index, fill_value=0.0).to_numpy(), days
    )
    out["bpdso"] = core.best_possible_dso(out["current_ar"].to_numpy(), s, d)
    out["add"] = out["dso"] - out["bpdso"]
    out["cei"] = core.cei(out["ar_window_start"].to_numpy(), s, ar, out["current_ar"].to_numpy())
    out["past_due_share"] = core.safe_div(out["past_due_ar"], ar)
    out[C.share] = core.safe_div(ar, ar.sum())
    cols = [
        "open_ar",
        "current_ar",
        "past_due_ar",
        "ar_window_start",
        "billings_window",
        "collections_window",
        "dso",
        "dso_countback",
        "bpdso",
        "add",
        "cei",
        "past_due_share",
        C.share,
        "disputed_open_amount",
    ]
    return out[cols].round(6).sort_values("open_ar", ascending=False, kind="stable").reset_index()


def _open_frame(ledger: Ledger, both: dict, key: pd.Series, at: np.ndarray) -> pd.DataFrame:
    """The open items of :func:`arlib.ledger.open_by_date` at one date (rows ``at``) as
    ``key, open_amount, days_past_due, disputed``, in the order of
    :meth:`arlib.ledger.Ledger.open_items` (by invoice row)."""
    rows = both["invoice"][at]
    return pd.DataFrame(
        {
            "key": key.to_numpy()[rows],
            C.open_amount: both["open_amount"][at],
            C.days_past_due: both["days_past_due"][at],
            C.disputed: ledger.invoices[C.disputed].to_numpy()[rows],
        }
    )


def _of_customer(ledger: Ledger, key: pd.Series) -> pd.Series:
    """Each invoiced customer's key (its segment), indexed by customer id: every invoice of a
    customer has the same key, so its first invoice's is read."""
    ids = ledger.invoices[C.customer_id]
    first = ~ids.duplicated().to_numpy()
    return pd.Series(key.to_numpy()[first], index=ids.to_numpy()[first]).sort_index()


def customer_kpis(ledger: Ledger, as_of, window_months: int = 3) -> pd.DataFrame:
    """:func:`group_kpis` per customer, with ``name, segment, credit_limit, limit_use,
    over_limit, credit_balance`` (unapplied cash + overpayments) and ``net_ar``."""
    out = group_kpis(ledger, as_of, window_months, C.customer_id)
    cust = ledger.customers
    if cust is not None:
        info = cust.set_index(C.customer_id)[[C.name, C.segment, C.credit_limit]]
        out = out.join(info, on=C.customer_id)
        out.insert(1, C.name, out.pop(C.name))
        out["limit_use"] = core.safe_div(out["open_ar"], out[C.credit_limit].fillna(0.0))
        out["over_limit"] = out["open_ar"] > out[C.credit_limit].fillna(np.inf) + core.TOL
    bal = health.credit_balances(ledger, core.window(as_of, window_months).end)
    bal = bal.dropna(subset=[C.customer_id]).set_index(C.customer_id)["credit_balance"]
    out["credit_balance"] = out[C.customer_id].map(bal).fillna(0.0)
    out["net_ar"] = out["open_ar"] - out["credit_balance"]
    return out


def segment_kpis(ledger: Ledger, as_of, window_months: int = 3) -> pd.DataFrame:
    """:func:`group_kpis` per customer segment (``unknown`` when the ledger has no customers)."""
    return group_kpis(ledger, as_of, window_months, C.segment)


def aging_by_customer(
    ledger: Ledger, as_of, thresholds: Sequence[int] = DEFAULT_THRESHOLDS
) -> pd.DataFrame:
    """Long aging per customer with open AR: ``customer_id, bucket, amount, count, share`` (share of
    the unit's open AR; all shares add up to 1)."""
    items = ledger.open_items(as_of, thresholds)
    g = items.groupby([C.customer_id, C.bucket], observed=False)[C.open_amount]
    out = pd.DataFrame({C.amount: g.sum().round(2), C.count: g.size()}).reset_index()
    total = items[C.open_amount].sum()
    out[C.share] = out[C.amount] / total if total > core.TOL else np.nan
    has = out.groupby(C.customer_id)[C.amount].transform("sum") > core.TOL
    return out.loc[has].reset_index(drop=True)


def split_units(ledger: Ledger) -> dict[str, Ledger]:
    """One ledger per business unit (customers and transactions follow their unit)."""
    out = {}
    for bu in sorted(ledger.invoices[C.business_unit].unique()):
        cust = ledger.customers
        out[str(bu)] = Ledger(
            ledger.invoices.loc[ledger.invoices[C.business_unit] == bu],
            ledger.transactions.loc[ledger.transactions[C.business_unit] == bu],
            None if cust is None else cust.loc[cust[C.business_unit] == bu],
            validate=False,
        )
    return out


def by_unit(
    ledger: Ledger, as_of, window_months: int = 3, thresholds: Sequence[int] = DEFAULT_THRESHOLDS
) -> pd.DataFrame:
    """:func:`arlib.health.measures.kpis` for every business unit: one row per unit (``business_unit``
    column), one column per key of :meth:`arlib.health.measures.Kpis.record`."""
    rows = [
        {C.business_unit: bu, **health.kpis(sub, as_of, window_months, thresholds).record()}
        for bu, sub in split_units(ledger).items()
    ]
    return pd.DataFrame(rows)


def trend(ledger: Ledger, as_of, months: int = 24, window_months: int = 3) -> pd.DataFrame:
    """Monthly KPIs at ``as_of`` and the ``months - 1`` month(-end)s before it, oldest first.

    Columns: ``month_end`` and :data:`TREND_COLUMNS`; DSO, best-possible DSO, ADD, CEI and
    turnover use the ``window_months`` window ending at each date, ``cei_month`` its last month.
    Dates before the first invoice are left out.
    """
    health.check_one_currency(ledger)
    first = ledger.invoices[C.invoice_date].min()
    ends = [core.step_back(as_of, k) for k in range(months - 1, -1, -1)]
    windows = [core.window(d, window_months) for d in ends if not (pd.isna(first) or d < first)]
    # the balances at every date the windows read, from one pass of the ledger engine
    dates = sorted({d for w in windows for d in health.window_dates(w)})
    known = health.ar_at(ledger, dates) if dates else None
    rows = []
    for w in windows:
        values, _ = health.balance_kpis(ledger, w, known)
        rows.append({C.month_end: w.end, **{c: values[c] for c in TREND_COLUMNS}})
    out = pd.DataFrame(rows, columns=[C.month_end, *TREND_COLUMNS])
    return out.astype({C.month_end: "datetime64[ns]", **{c: float for c in TREND_COLUMNS}})


def drivers(ledger: Ledger, as_of, previous=None, window_months: int = 3) -> pd.DataFrame:
    """Each customer's contribution to ``dso``, ``add`` and ``past_due_share`` now and at
    ``previous`` (default: one month before ``as_of``).

    Long frame ``kpi, customer_id, name, previous, current, change``, sorted by kpi and by
    ``|change|`` (largest first). Contributions add up to the unit's KPI (NaN when the KPI is not
    defined, e.g. no billings).
    """
    previous = core.step_back(as_of, 1) if previous is None else pd.Timestamp(previous)
    now, before = (_contributions(ledger, d, window_months) for d in (as_of, previous))
    both = now.join(before, how="outer", lsuffix="_now", rsuffix="_before").fillna(0.0)
    rows = []
    for kpi in ("dso", "add", "past_due_share"):
        part = pd.DataFrame(
            {"kpi": kpi, "previous": both[f"{kpi}_before"], "current": both[f"{kpi}_now"]}
        )
        rows.append(part.assign(change=part["current"] - part["previous"]))
    out = pd.concat(rows).rename_axis(C.customer_id).reset_index()
    names = (
        ledger.customers.set_index(C.customer_id)[C.name]
        if ledger.customers is not None
        else pd.Series(dtype=str)
    )
    out.insert(2, C.name, out[C.customer_id].map(names).fillna(out[C.customer_id]))
    out = out.assign(_abs=out["change"].abs()).sort_values(
        ["kpi", "_abs"], ascending=[True, False], kind="stable"
    )
    return out.drop(columns="_abs").reset_index(drop=True)[
        ["kpi", C.customer_id, C.name, "previous", "current", "change"]
    ]


def _contributions(ledger: Ledger, as_of, window_months: int) -> pd.DataFrame:
    w = core.window(as_of, window_months)
    items = ledger.open_items(w.end)
    inv = ledger.invoices
    s = inv.loc[(inv[C.invoice_date] > w.start) & (inv[C.invoice_date] <= w.end), C.amount].sum()
    ar = items.groupby(C.customer_id)[C.open_amount].sum()
    pdue = (
        items[C.open_amount]
        .where(items[C.days_past_due] > 0, 0.0)
        .groupby(items[C.customer_id])
        .sum()
    )
    scale = w.days / s if s > core.TOL else np.nan
    total = ar.sum()
    return pd.DataFrame(
        {
            "dso": ar * scale,
            "add": pdue * scale,
            "past_due_share": pdue / total if total > core.TOL else np.nan,
        }
    )


#: column -> (header, kind) for :func:`view`
COLUMNS: dict[str, tuple[str, str]] = {
    C.customer_id: ("Customer ID", "text"),
    C.name: ("Customer", "text"),
    C.segment: ("Segment", "text"),
    "open_ar": ("Open AR", "amount"),
    "current_ar": ("Current AR", "amount"),
    "past_due_ar": ("Past-due AR", "amount"),
    "ar_window_start": ("AR at window start", "amount"),
    "billings_window": ("Billings", "amount"),
    "collections_window": ("Collections", "amount"),
    "dso": ("DSO (days)", "days"),
    "dso_countback": ("Countback DSO (days)", "days"),
    "bpdso": ("Best-possible DSO (days)", "days"),
    "add": ("Days delinquent", "days"),
    "cei": ("CEI (%)", "days"),
    "past_due_share": ("Past due", "share"),
    C.share: ("Share of open AR", "share"),
    "disputed_open_amount": ("Disputed", "amount"),
    C.credit_limit: ("Credit limit", "amount"),
    "limit_use": ("Limit use", "share"),
    "credit_balance": ("Credit balance", "amount"),
    "net_ar": ("Net AR", "amount"),
    "grade": ("Grade", "text"),
    "score": ("Score", "int"),
    "top_drivers": ("Drivers", "text"),
    "days_late": ("Days late", "days"),
    "share_late": ("Paid late", "share"),
    "recommended_limit": ("Recommended limit", "amount"),
    "limit_action": ("Limit", "text"),
    C.terms_days: ("Terms (days)", "int"),
    "recommended_terms": ("Recommended terms (days)", "int"),
    "rank": ("#", "int"),
    C.invoice_id: ("Invoice", "text"),
    C.invoice_date: ("Invoice date", "date"),
    C.due_date: ("Due date", "date"),
    C.open_amount: ("Open amount", "amount"),
    C.days_past_due: ("Days past due", "int"),
    C.bucket: ("Bucket", "text"),
    C.disputed: ("Disputed", "bool"),
    "expected_loss": ("Expected loss", "amount"),
    "priority": ("Priority", "amount"),
    "step": ("Step", "text"),
    "next_step": ("Customer's next step", "text"),
    "past_due": ("Past due", "amount"),
    "items": ("Items", "int"),
    "oldest_days": ("Oldest (days past due)", "int"),
}
CUSTOMER_VIEW = (
    C.name,
    C.segment,
    "open_ar",
    "past_due_ar",
    "past_due_share",
    C.share,
    "billings_window",
    "dso",
    "add",
    "cei",
    "disputed_open_amount",
    C.credit_limit,
    "limit_use",
    "credit_balance",
)
SEGMENT_VIEW = (
    C.segment,
    "open_ar",
    "past_due_ar",
    "past_due_share",
    C.share,
    "billings_window",
    "collections_window",
    "dso",
    "dso_countback",
    "bpdso",
    "add",
    "cei",
    "disputed_open_amount",
)
#: text columns whose values are words of the report (policy steps, actions, buckets), not data:
#: :func:`view` shows them in the report language
WORDS = (C.segment, C.bucket, C.status, "limit_action", "step", "next_step", "top_drivers")


def _cell(v, kind: str) -> str:
    if kind == "text":
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    if kind == "bool":
        return t("yes") if bool(v) else ""
    if v is None or pd.isna(v):
        return t("n/a")
    return {
        "amount": f"{v:,.0f}",
        "days": f"{v:.1f}",
        "share": f"{v:.1%}",
        "int": f"{v:,.0f}",
        "date": pd.Timestamp(v).strftime("%Y-%m-%d"),
    }[kind]


def view(frame: pd.DataFrame, columns: Sequence[str], n: int | None = None) -> pd.DataFrame:
    """The first ``n`` rows of ``columns`` as display text with readable headers (amounts
    without decimals, days to one decimal, shares as percentages, ``n/a`` where not defined).
    Headers, and the values of the :data:`WORDS` columns, are in the report language
    (:func:`arlib.i18n.language`); data (names, ids) is shown as it is.

    >>> view(pd.DataFrame({"open_ar": [1234.5], "dso": [np.nan]}), ["open_ar", "dso"])
      Open AR DSO (days)
    0   1,234        n/a
    """
    rows = frame.head(n) if n else frame
    out = {}
    for c in (c for c in columns if c in rows):
        header, kind = COLUMNS.get(c, (c, "text"))
        cells = [_cell(v, kind) for v in rows[c]]
        out[t(header)] = [t(v) for v in cells] if c in WORDS else cells
    return pd.DataFrame(out)
