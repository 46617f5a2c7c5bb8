"""Receivables health KPIs as of the close of a date: aging, the DSO family, CEI, turnover,
payment behaviour, disputes, concentration, credit-limit use and unapplied cash.

Definitions (``as_of`` is a close date; the window is the ``window_months`` calendar months
ending at ``as_of``, see :func:`arlib.dso.window`; ``D`` = days in the window):

* open / current / past-due AR: the as-of ledger (:meth:`arlib.ledger.Ledger.open_items`); an item
  is current when ``days_past_due <= 0``. AR is *gross*: customers' credit balances (unapplied cash,
  advance receipts, overpayments) are reported on their own line and netted only per customer.
* ``S`` = ``billings_window``: gross amount invoiced in the window (by invoice date). Credit notes
  are not netted from it; they lower AR instead.
* ``collections_window``: cash received in the window (``payment`` rows, applied or not). Credit
  notes, write-offs and recoveries are separate lines (``credits_window`` ...).
* ``dso`` = open AR / S x D; ``bpdso`` = current AR / S x D; ``add`` = dso - bpdso.
* ``dso_countback``: walk back month by month from ``as_of`` subtracting each month's invoicing
  from open AR (:func:`arlib.dso.countback_dso`).
* ``cei`` = (AR at window start + S - AR at ``as_of``) / (AR at window start + S - current AR at
  ``as_of``) x 100. AR movement, so credit notes and write-offs count as "collected" here.
  ``cei_month`` is the same over the last month only.
* ``turnover`` = (S x 365 / D) / mean(AR at window start, AR at ``as_of``).
* ``days_to_pay`` / ``days_late`` / ``share_paid_late``: invoices whose settlement completed in the
  window *by a payment* (not by a credit note or write-off), weighted by invoice amount.
* ``top10_share``: the 10 largest customers' share of open AR; ``hhi`` = sum of squared customer
  shares of open AR (0..1; 1 = one customer).

Not-defined figures (zero denominators) are ``None`` in :attr:`Kpis.values` with the reason in
:attr:`Kpis.reasons`, and ``NaN`` in frames; never ``inf``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from arlib import dso as core
from arlib import numbers
from arlib.errors import DataError
from arlib.health import shared
from arlib.i18n import t
from arlib.ledger import DEFAULT_THRESHOLDS, Ledger, aging_table, open_items_only
from arlib.schemas import CREDIT_NOTE, PAYMENT, RECOVERY, WRITE_OFF, C

#: key -> (label, unit, one-line plain-language meaning)
MEANINGS: dict[str, tuple[str, str, str]] = {
    "open_ar": ("Open AR", "amount", "Everything customers owe at the close of the day."),
    "current_ar": ("Current AR", "amount", "The part of open AR that is not yet due."),
    "past_due_ar": ("Past-due AR", "amount", "The part of open AR that is past its due date."),
    "ar_window_start": ("AR at window start", "amount", "Open AR just before the window began."),
    "billings_window": (
        "Billings",
        "amount",
        "Amount invoiced in the window (before credit notes).",
    ),
    "collections_window": (
        "Collections",
        "amount",
        "Cash received in the window, applied to invoices or not.",
    ),
    "credits_window": ("Credit notes", "amount", "Credit notes issued in the window."),
    "write_offs_window": ("Write-offs", "amount", "Amounts written off in the window."),
    "recoveries_window": (
        "Recoveries",
        "amount",
        "Cash received in the window on invoices already written off.",
    ),
    "dso": (
        "DSO",
        "days",
        "How many days of recent invoicing are still unpaid (open AR / billings x days).",
    ),
    "dso_countback": (
        "Countback DSO",
        "days",
        "How many of the most recent days' invoicing add up to open AR.",
    ),
    "bpdso": (
        "Best-possible DSO",
        "days",
        "The DSO if every past-due amount were collected (current AR / billings x days).",
    ),
    "add": (
        "Average days delinquent",
        "days",
        "Days of DSO caused by late payment (DSO - best-possible DSO).",
    ),
    "cei": (
        "CEI",
        "%",
        "Share of what could be collected in the window that was collected (100 = all).",
    ),
    "cei_month": (
        "CEI, last month",
        "%",
        "The collection effectiveness index over the last month only.",
    ),
    "turnover": (
        "Turnover",
        "times a year",
        "How many times a year the average AR is collected, at the window's billing rate.",
    ),
    "past_due_share": ("Past-due share", "%", "Share of open AR that is past due."),
    "paid_count_window": ("Invoices paid", "count", "Invoices paid in full in the window."),
    "days_to_pay": (
        "Days to pay",
        "days",
        "Average days from invoice to payment for invoices paid in the window (amount-weighted).",
    ),
    "days_late": (
        "Days late",
        "days",
        "Average days from due date to payment for invoices paid in the window (negative = early).",
    ),
    "share_paid_late": (
        "Share paid late",
        "%",
        "Share of the amount paid in the window that was paid after the due date.",
    ),
    "disputed_open_count": ("Disputed items", "count", "Open invoices flagged as disputed."),
    "disputed_open_amount": (
        "Disputed amount",
        "amount",
        "Open amount of invoices flagged as disputed.",
    ),
    "disputed_share": ("Disputed share", "%", "Share of open AR that is disputed."),
    "customers_open": ("Customers with open AR", "count", "Customers owing anything at the close."),
    "top10_share": ("Top-10 share", "%", "Share of open AR owed by the 10 largest debtors."),
    "hhi": (
        "Concentration (HHI)",
        "0-1",
        "Sum of squared customer shares of open AR: 1 = one customer owes everything.",
    ),
    "customers_over_limit": (
        "Customers over limit",
        "count",
        "Customers whose open AR exceeds their credit limit.",
    ),
    "over_limit_amount": (
        "Amount over limits",
        "amount",
        "Total open AR above customers' credit limits.",
    ),
    "unapplied_cash": (
        "Unapplied cash",
        "amount",
        "Cash received but not applied to any invoice (incl. advance receipts).",
    ),
    "overpaid": (
        "Overpayments",
        "amount",
        "Settlements beyond invoice amounts, owed back or to be applied.",
    ),
    "credit_balances": (
        "Customer credit balances",
        "amount",
        "Unapplied cash plus overpayments, per customer.",
    ),
    "net_ar": ("Net AR", "amount", "Open AR less customers' own credit balances."),
}
#: the headline figures of the report, in reading order
HEADLINE = (
    "open_ar",
    "current_ar",
    "past_due_ar",
    "past_due_share",
    "billings_window",
    "collections_window",
    "dso",
    "dso_countback",
    "bpdso",
    "add",
    "cei",
    "cei_month",
    "turnover",
    "days_to_pay",
    "days_late",
    "share_paid_late",
    "disputed_open_amount",
    "disputed_share",
    "top10_share",
    "hhi",
    "customers_over_limit",
    "over_limit_amount",
    "credit_balances",
    "net_ar",
)
SHARE_KEYS = ("past_due_share", "share_paid_late", "disputed_share", "top10_share")
for _k in SHARE_KEYS:  # shares are fractions 0..1, shown as percentages
    MEANINGS[_k] = (MEANINGS[_k][0], "share", MEANINGS[_k][2])


@dataclass(frozen=True)
class Kpis:
    """KPIs of one ledger at one close: ``values`` (``None`` = not defined) and ``reasons``."""

    as_of: pd.Timestamp
    window: core.Window
    values: dict[str, float | int | None]
    reasons: dict[str, str] = field(default_factory=dict)
    #: False for an open-item list: figures at earlier dates are unknown (items paid since are
    #: not in the list), so no month-on-month comparison is made
    history: bool = True

    def __getitem__(self, key: str):
        return self.values[key]

    def record(self) -> dict[str, str | float | int | None]:
        """Flat JSON-able dict for ``kpis.json``: values, window and ``<key>_note`` reasons."""
        out: dict = {
            "as_of": str(self.as_of.date()),
            "window_start": str(self.window.start.date()),
            "window_days": self.window.days,
        }
        out.update(self.values)
        out.update({f"{k}_note": r for k, r in self.reasons.items()})
        return out

    def table(self, keys: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per KPI: ``kpi, label, value, shown, unit, meaning`` (``shown`` is the value
        formatted, or the reason it is not defined)."""
        rows = []
        for k in keys or self.values:
            (label, meaning), unit = label_of(k), meaning_of(k)[1]
            v = self.values[k]
            rows.append(
                (
                    k,
                    label,
                    v,
                    t(self.reasons.get(k, "")) if v is None else fmt(v, unit),
                    unit,
                    meaning,
                )
            )
        return pd.DataFrame(rows, columns=["kpi", "label", "value", "shown", "unit", "meaning"])


def compare(now: Kpis, before: Kpis | None = None, keys: Sequence[str] = HEADLINE) -> pd.DataFrame:
    """The figures now and a month earlier, formatted: ``figure, now, a month earlier, change,
    meaning`` (change in points for percentages; blank when either side is not defined).

    Labels, meanings and units are in the report language (:func:`arlib.i18n.language`); the
    column names stay English and are translated where the table is shown."""
    rows = []
    for k in keys:
        (label, meaning), unit = label_of(k), meaning_of(k)[1]
        x, x0 = now.values.get(k), before.values.get(k) if before is not None else None
        x0 = x0 if now.history else None
        if x is None or x0 is None:
            change = ""
        elif unit in ("share", "%"):
            change = t("{change} pts").format(
                change=numbers.signed((100 if unit == "share" else 1) * (x - x0), "pct")
            )
        elif unit == "times a year":
            change = numbers.signed(x - x0, "ratio")
        else:  # no sign on a change that rounds to zero (never "-0.0")
            change = fmt(x - x0, unit)
            zero = round(x - x0, numbers.DECIMALS.get(unit, 3)) == 0
            change = change if change.startswith("-") or zero else "+" + change
        rows.append(
            (
                label,
                fmt(x, unit) if x is not None else t(now.reasons.get(k, "n/a")),
                (fmt(x0, unit) if now.history else t(EARLIER_UNKNOWN))
                if before is not None
                else "",
                change,
                meaning,
            )
        )
    return pd.DataFrame(rows, columns=["figure", "now", "a month earlier", "change", "meaning"])


def meaning_of(key: str) -> tuple[str, str, str]:
    """``(label, unit, meaning)`` of a KPI key, including the ``aging_*`` keys."""
    if key in MEANINGS:
        return MEANINGS[key]
    if key.startswith("aging_count_"):
        b = key.removeprefix("aging_count_").replace("_", "-")
        return (
            f"Aging count {b}",
            "count",
            f"Open invoices in the aging bucket {b} (days past due).",
        )
    if key.startswith("aging_"):
        b = key.removeprefix("aging_").replace("_", "-")
        return f"Aging {b}", "amount", f"Open AR in the aging bucket {b} (days past due)."
    return key, "", ""


def label_of(key: str, lang: str | None = None) -> tuple[str, str]:
    """``(label, meaning)`` of a KPI key for display, in ``lang`` (default: the report language).

    >>> label_of("open_ar", "zh")[0], label_of("aging_1_30", "en")[0]
    ('应收账款余额', 'Aging 1-30')
    """
    label, _, meaning = meaning_of(key)
    if key not in MEANINGS and key.startswith(
        "aging_"
    ):  # message ids with the bucket as a placeholder
        count = key.startswith("aging_count_")
        b = key.removeprefix("aging_count_" if count else "aging_").replace("_", "-")
        label = "Aging count {bucket}" if count else "Aging {bucket}"
        meaning = (
            "Open invoices in the aging bucket {bucket} (days past due)."
            if count
            else "Open AR in the aging bucket {bucket} (days past due)."
        )
        return t(label, lang).format(bucket=t(b, lang)), t(meaning, lang).format(bucket=t(b, lang))
    return t(label, lang), t(meaning, lang)


def fmt(value, unit: str) -> str:
    """A KPI value as text: ``fmt(0.2966, "share") == '29.7%'``; ``None`` -> ``'n/a'``. Unit
    words are in the report language (:func:`arlib.i18n.language`).

    >>> fmt(54.146, "days"), fmt(0.2966, "share"), fmt(1598340.14, "amount"), fmt(None, "%")
    ('54.1 days', '29.7%', '1,598,340', 'n/a')
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return t("n/a")
    kind = {"%": "pct", "times a year": "ratio"}.get(unit, unit)
    if kind in ("share", "pct", "amount", "count", "ratio"):
        text = numbers.fmt(value, kind)
        return t("{x}x a year").format(x=text) if unit == "times a year" else text
    if kind == "days":
        return t("{x} days").format(x=numbers.fmt(value, "days"))
    return numbers.fmt(value, "ratio", 3) if isinstance(value, float) else str(value)


class _Flows:
    """Cumulative invoicing and transaction amounts, for sums over any ``(start, end]``."""

    def __init__(self, ledger: Ledger):
        inv, txn = ledger.invoices, ledger.transactions
        self._inv = self._cum(inv[C.invoice_date], inv[C.amount])
        self._txn = {
            k: self._cum(txn.loc[of, C.date], txn.loc[of, C.amount])
            for k in (PAYMENT, CREDIT_NOTE, WRITE_OFF, RECOVERY)
            for of in [shared.of_kind(ledger, k)]
        }

    @staticmethod
    def _cum(dates: pd.Series, amounts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(dates.to_numpy(), kind="stable")
        d = dates.to_numpy()[order].astype("datetime64[D]")
        return d, np.concatenate([[0.0], np.cumsum(amounts.to_numpy(dtype=float)[order])])

    @staticmethod
    def _between(cum: tuple[np.ndarray, np.ndarray], start, end) -> float:
        d, c = cum
        i, j = np.searchsorted(
            d, [np.datetime64(pd.Timestamp(x).date(), "D") for x in (start, end)], side="right"
        )
        return round(float(c[j] - c[i]), 2)

    def invoiced(self, w: core.Window) -> float:
        return self._between(self._inv, w.start, w.end)

    def moved(self, kind: str, w: core.Window) -> float:
        return self._between(self._txn[kind], w.start, w.end)


#: the cumulative flows of each ledger: the trend asks for them at two dozen month-ends
_FLOWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _flows_of(ledger: Ledger) -> _Flows:
    if ledger not in _FLOWS:
        _FLOWS[ledger] = _Flows(ledger)
    return _FLOWS[ledger]


def check_one_currency(ledger: Ledger) -> str | None:
    """The ledger's single currency; raises :class:`DataError` when amounts cannot be summed."""
    cur = shared.currencies(ledger)  # asked for by every KPI call: read once per ledger
    if len(cur) > 1:
        raise DataError(
            "invoices",
            C.currency,
            len(ledger.invoices),
            f"mix currencies {sorted(cur)}",
            "compute KPIs per business unit (arlib.health.measures.by_unit) or convert first",
        )
    return str(cur[0]) if len(cur) else None


def _n_periods(ledger: Ledger, as_of) -> int:
    first = ledger.invoices[C.invoice_date].min()
    if pd.isna(first):
        return 1
    t = pd.Timestamp(as_of)
    return max(1, (t.year - first.year) * 12 + t.month - first.month + 2)


def period_invoicing(
    ledger: Ledger, as_of, by: pd.Series | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Invoicing per one-month period walking back from ``as_of`` to the first invoice.

    Returns a frame (one row per value of ``by``, a key aligned with the invoices, or one row
    ``"all"``; one column per period, newest first) and the days of each period.
    """
    periods = core.periods_back(as_of, _n_periods(ledger, as_of))
    edges = np.array([p.start for p in periods][::-1] + [periods[0].end], dtype="datetime64[ns]")
    days = np.array([p.days for p in periods], dtype=float)
    if by is None and (months := _monthly(ledger, edges)) is not None:
        return pd.DataFrame(months[None, ::-1], index=pd.Index(["all"], name="key")), days
    inv = ledger.invoices
    idx = np.searchsorted(edges, inv[C.invoice_date].to_numpy(), side="left") - 1  # (e_i, e_i+1]
    keep = (idx >= 0) & (idx < len(periods))
    if by is None:  # one row: no key to factorize (a column of 1.2 M "all" took ~0.4 s a call)
        codes, uniques = np.zeros(int(keep.sum()), dtype=int), pd.Index(["all"])
    else:
        codes, uniques = pd.factorize(by[keep])
    n = len(periods)  # bincount adds in row order, as np.add.at did, ~10x faster
    flat = codes * n + (n - 1 - idx[keep])
    amount = inv[C.amount].to_numpy(dtype=float)[keep]
    grid = np.bincount(flat, weights=amount, minlength=len(uniques) * n).reshape(-1, n)
    mat = pd.DataFrame(grid, index=pd.Index(uniques, name="key"))
    return mat, days


def _monthly(ledger: Ledger, edges: np.ndarray) -> np.ndarray | None:
    """The unit's invoicing in each period between consecutive ``edges`` (oldest first) when
    they are consecutive calendar month-ends, else None. Read from the ledger's invoicing per
    calendar month, summed once (the trend asks for two dozen windows): each month adds the
    same invoices in the same order as a sum over the periods alone, so the totals are the same
    to the bit."""
    month_ends = pd.DatetimeIndex(edges)
    if not len(month_ends) or not (month_ends == month_ends.normalize()).all():
        return None
    if not month_ends.equals(pd.date_range(month_ends[0], periods=len(month_ends), freq="ME")):
        return None
    table = shared.monthly_invoicing(ledger)
    if table is None:
        return None
    known, totals, counts = table
    pos = known.searchsorted(month_ends)
    inside = (pos[1:] < len(known)) & (known[np.minimum(pos[1:], len(known) - 1)] == month_ends[1:])
    inside &= pos[1:] > 0  # the month ending at known[p] is totals[p - 1]
    if not counts[pos[1:][inside] - 1].sum():  # no invoice in the periods: as np.bincount of
        return np.zeros(len(month_ends) - 1, dtype=np.int64)  # nothing, whole zeros
    out = np.zeros(len(month_ends) - 1)
    out[inside] = totals[pos[1:][inside] - 1]
    return out


def _payment_behaviour(ledger: Ledger, w: core.Window) -> dict[str, float | None]:
    # the invoices' columns as arrays, selected by one mask: no copy of the settlement frame
    s = shared.settlement(ledger)
    when = s[C.settled_date]
    rows = np.flatnonzero(shared.paid_by_payment(ledger) & (when > w.start) & (when <= w.end))
    amt = s[C.amount].to_numpy(dtype=float)[rows]
    tot = amt.sum()
    if tot <= core.TOL:
        return {
            "paid_count_window": len(rows),
            "days_to_pay": None,
            "days_late": None,
            "share_paid_late": None,
        }
    late = s["days_late"].to_numpy()[rows]
    return {
        "paid_count_window": int(len(rows)),
        "days_to_pay": float(np.dot(amt, s["days_to_pay"].to_numpy()[rows]) / tot),
        "days_late": float(np.dot(amt, late) / tot),
        "share_paid_late": float(amt[late > 0].sum() / tot),
    }


def _concentration(items: pd.DataFrame) -> dict[str, float | int | None]:
    per = items.groupby(C.customer_id)[C.open_amount].sum()
    tot = per.sum()
    if tot <= core.TOL:
        return {"customers_open": 0, "top10_share": None, "hhi": None}
    share = per / tot
    return {
        "customers_open": int((per > core.TOL).sum()),
        "top10_share": float(share.nlargest(10).sum()),
        "hhi": float((share**2).sum()),
    }


def credit_balances(ledger: Ledger, as_of, items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per customer: ``open_ar``, ``unapplied_cash``, ``overpaid``, ``credit_balance`` and ``net_ar``.

    A credit balance is netted against the open AR of the customer it belongs to; cash with no
    known customer (empty ``customer_id``) stays on its own line (a row with ``customer_id`` NaN).
    """
    items = ledger.open_items(as_of) if items is None else items
    ar = items.groupby(C.customer_id)[C.open_amount].sum().rename("open_ar")
    un = ledger.unapplied(as_of).set_index(C.customer_id)
    known = un.index.notna() & (un.index.astype(str).str.strip() != "")
    out = pd.concat([ar, un.loc[known]], axis=1).fillna(0.0)
    if (~known).any():
        lost = un.loc[~known].sum().to_frame().T.assign(open_ar=0.0)
        lost.index = [np.nan]
        out = pd.concat([out, lost])
    out["net_ar"] = out["open_ar"] - out["credit_balance"].where(out.index.notna(), 0.0)
    out.index.name = C.customer_id
    return out.round(2).reset_index()


def credit_use(ledger: Ledger, items: pd.DataFrame) -> pd.DataFrame:
    """Per customer with a limit: ``open_ar, credit_limit, limit_use`` (open AR / limit) and ``over_limit``."""
    cust = ledger.customers
    if cust is None or C.credit_limit not in cust:
        return pd.DataFrame(
            columns=[C.customer_id, "open_ar", C.credit_limit, "limit_use", "over_limit"]
        )
    ar = items.groupby(C.customer_id)[C.open_amount].sum()
    out = cust[[C.customer_id, C.credit_limit]].dropna().copy()
    out.insert(1, "open_ar", out[C.customer_id].map(ar).fillna(0.0).to_numpy())
    out["limit_use"] = core.safe_div(out["open_ar"], out[C.credit_limit])
    out["over_limit"] = out["open_ar"] > out[C.credit_limit] + core.TOL
    return out.reset_index(drop=True)


def _slug(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def kpis(
    ledger: Ledger, as_of, window_months: int = 3, thresholds: Sequence[int] = DEFAULT_THRESHOLDS
) -> Kpis:
    """All headline KPIs of ``ledger`` (one business unit) at the close of ``as_of``.

    See the module docstring for every definition; ``values`` also holds the aging per bucket as
    ``aging_<bucket>`` (amount) and ``aging_count_<bucket>``.
    """
    check_one_currency(ledger)
    w = core.window(as_of, window_months)
    items = ledger.open_items(w.end, thresholds)
    balance, collectible_month = balance_kpis(ledger, w)
    v: dict[str, float | int | None] = dict(balance)
    v.update(_payment_behaviour(ledger, w))
    disputed = items.loc[items[C.disputed].astype(bool), C.open_amount]
    v.update(
        disputed_open_count=int(len(disputed)),
        disputed_open_amount=round(float(disputed.sum()), 2),
        disputed_share=_share(disputed.sum(), v["open_ar"]),
    )
    v.update(_concentration(items))
    use = credit_use(ledger, items)
    v.update(
        customers_over_limit=int(use["over_limit"].sum()),
        over_limit_amount=round(
            float((use["open_ar"] - use[C.credit_limit]).clip(lower=0).sum()), 2
        ),
    )
    bal = credit_balances(ledger, w.end, items)
    v.update(
        unapplied_cash=round(float(bal["unapplied_cash"].sum()), 2),
        overpaid=round(float(bal["overpaid"].sum()), 2),
        credit_balances=round(float(bal["credit_balance"].sum()), 2),
        net_ar=round(float(bal["net_ar"].sum()), 2),
    )
    for row in aging_table(items).itertuples(index=False):
        v[f"aging_{_slug(str(row.bucket))}"] = round(float(row.amount), 2)
        v[f"aging_count_{_slug(str(row.bucket))}"] = int(row.count)
    reasons = _reasons(v, collectible_month)
    history = not open_items_only(ledger)
    if not history:
        v.update(dict.fromkeys(NEEDS_HISTORY))
        reasons.update(dict.fromkeys(NEEDS_HISTORY, NO_HISTORY))
    return Kpis(w.end, w, {k: _clean(x) for k, x in v.items()}, reasons, history)


#: figures made of invoicing and collections over time, which an open-item list does not hold
NEEDS_HISTORY = (
    "ar_window_start",
    "billings_window",
    "collections_window",
    "credits_window",
    "write_offs_window",
    "recoveries_window",
    "dso",
    "dso_countback",
    "bpdso",
    "add",
    "cei",
    "cei_month",
    "turnover",
    "paid_count_window",
    "days_to_pay",
    "days_late",
    "share_paid_late",
)
EARLIER_UNKNOWN = "n/a (open-item list)"
NO_HISTORY = (
    "not defined: the source is an open-item list with no payment history (invoices paid and "
    "cash collected are not in it)"
)


def _share(part: float, whole: float | None) -> float | None:
    return float(part / whole) if whole and whole > core.TOL else None


def _clean(x):
    if isinstance(x, float | np.floating) and not np.isfinite(x):
        return None
    return float(x) if isinstance(x, np.floating) else x


def ar_at(ledger: Ledger, dates: Sequence, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """``open_ar, current_ar, past_due_ar`` at the close of each date (duplicates allowed);
    ``known``: an earlier result of ``ar_at`` that holds every one of the dates."""
    idx = pd.DatetimeIndex([pd.Timestamp(d).normalize() for d in dates])
    bal = ledger.balances(idx.unique().sort_values()) if known is None else known
    return bal.reindex(idx)


def window_dates(w: core.Window) -> list[pd.Timestamp]:
    """The dates whose balances :func:`balance_kpis` reads: window start, last month's start, end."""
    return [w.start, core.window(w.end, 1).start, w.end]


def balance_kpis(
    ledger: Ledger, w: core.Window, known: pd.DataFrame | None = None
) -> tuple[dict[str, float | None], float]:
    """The AR-movement KPIs (DSO family, CEI, turnover, past-due share) of one window, and what
    was collectible in its last month (for the reason a monthly CEI is not defined).
    ``known``: balances already computed (:func:`ar_at`) at the :func:`window_dates`."""
    flows = _flows_of(ledger)
    m1 = core.window(w.end, 1)
    bal = ar_at(ledger, window_dates(w), known).to_numpy()
    ar0, ar_m1, (ar, cur, pdue) = bal[0, 0], bal[1, 0], bal[2]
    s, s1, d = flows.invoiced(w), flows.invoiced(m1), w.days
    mat, days = period_invoicing(ledger, w.end)
    out = {
        "open_ar": ar,
        "current_ar": cur,
        "past_due_ar": pdue,
        "ar_window_start": ar0,
        "billings_window": s,
        "collections_window": flows.moved(PAYMENT, w),
        "credits_window": flows.moved(CREDIT_NOTE, w),
        "write_offs_window": flows.moved(WRITE_OFF, w),
        "recoveries_window": flows.moved(RECOVERY, w),
        "dso": core.dso(ar, s, d),
        "dso_countback": core.countback_dso(ar, mat.to_numpy()[0], days),
        "bpdso": core.best_possible_dso(cur, s, d),
        "cei": core.cei(ar0, s, ar, cur),
        "cei_month": core.cei(ar_m1, s1, ar, cur),
        "turnover": core.turnover(s, d, ar0, ar),
        "past_due_share": _share(pdue, ar),
    }
    out["add"] = out["dso"] - out["bpdso"]
    return {
        k: (_clean(float(x)) if x is not None else None) for k, x in out.items()
    }, ar_m1 + s1 - cur


def _reasons(v: dict, collectible_month: float) -> dict[str, str]:
    collectible = (v["ar_window_start"] or 0) + (v["billings_window"] or 0) - (v["current_ar"] or 0)
    ctx = dict(
        billings=v["billings_window"] or 0.0,
        mean_ar=((v["ar_window_start"] or 0) + (v["open_ar"] or 0)) / 2,
        settled=1.0 if v.get("days_to_pay") is not None else 0.0,
        open_ar=v["open_ar"] or 0.0,
    )
    out = {}
    for k, x in v.items():
        if x is None:
            c = collectible_month if k == "cei_month" else collectible
            out[k] = core.undefined_reason(k, collectible=c, **ctx) or "not defined"
    return out
