"""The health report's definitions in plain words, with this report's own dates.

Each figure is described as a reader checks it: "the amount invoiced from 2026-08-01 to
2026-10-31", not "(as_of - window_months months, as_of]". The dates come from
:func:`arlib.dso.window`, the same windows the figures use, so the text cannot drift from them.
Templates are English message ids translated through :func:`arlib.i18n.t` before the dates are
filled in (catalog: ``arlib/locale/zh_health.yaml``).

>>> s = health_definitions("2026-10-31", window_months=3, currency="EUR", business_unit="de")
>>> s[1]
'<b>Window</b>: the 3 calendar months from 2026-08-01 to 2026-10-31, 92 days.'
>>> "(as_of" in " ".join(s) or "window_months" in " ".join(s)
False
"""

from __future__ import annotations

import html

import pandas as pd

from arlib import dso
from arlib.i18n import t
from arlib.report.narrative import Sentences

#: the definitions in reading order (message ids; placeholders are filled with this report's
#: dates and values, escaped)
TEMPLATES = (
    "<b>Close</b>: every figure is read at the close of {as_of}, for business unit {unit}, "
    "in {currency}; nothing dated later is used.",
    "<b>Window</b>: the {months} calendar months from {start} to {end}, {days} days.",
    "<b>Open AR</b>: invoices dated up to {as_of}, less the payments, credit notes and "
    "write-offs dated up to {as_of}. <b>Current AR</b> is the part not yet due on {as_of}; "
    "<b>past-due AR</b> is the rest. Unapplied cash and overpayments are not in open AR; "
    "<b>net AR</b> sets them against their own customer only.",
    "<b>Billings</b>: the amount invoiced from {start} to {end}, before credit notes. "
    "<b>Collections</b>: the cash received in those days, applied to invoices or not (credit "
    "notes and write-offs are not cash).",
    "<b>AR at window start</b>: open AR at the close of {before}, the day before the window.",
    "<b>DSO</b>: open AR divided by the billings from {start} to {end}, times their {days} "
    "days: how many days of recent invoicing are still unpaid. <b>Best-possible DSO</b>: the "
    "same with current AR only. <b>Average days delinquent</b>: DSO less best-possible DSO, the "
    "days due to late payment. None of them is defined when nothing was invoiced in the window.",
    "<b>Countback DSO</b>: going back month by month from {as_of}, each month's invoicing is "
    "taken off open AR; every month used up counts all its days, and the month in which AR runs "
    "out counts the part of its days that the AR left is of its invoicing.",
    "<b>CEI</b>: of what could be collected in the window (AR on {before} plus the billings, "
    "less the AR not yet due on {as_of}), the part that left AR by {as_of}, by cash, credit "
    "notes or write-offs alike, in percent. <b>CEI, last month</b>: the same from {month_start} "
    "to {as_of} alone.",
    "<b>Turnover</b>: the billings from {start} to {end} scaled to a year (times 365 and "
    "divided by {days}), divided by the average of AR on {before} and on {as_of}.",
    "<b>Days to pay, days late and share paid late</b>: over the invoices paid in full by a "
    "payment from {start} to {end}, weighted by invoice amount; days late count from the due "
    "date and are negative for early payment.",
    "<b>Past-due share</b>: past-due AR as a share of open AR. <b>Disputed</b>: open items "
    "flagged as disputed.",
    "<b>Top-10 share</b>: the share of open AR owed by the 10 largest debtors. <b>HHI</b>: the "
    "sum of the squared shares of every customer, from near 0 (owed by many) to 1 (one customer "
    "owes everything).",
    "<b>Credit-limit use</b>: a customer's open AR as a share of its credit limit; over limit "
    "above 100%.",
)


def health_definitions(
    as_of, window_months: int, currency: str, business_unit: str, lang: str | None = None
) -> Sentences:
    """The definitions of the health report's figures for a close ``as_of`` and a window of
    ``window_months`` months, in ``lang`` (default: the report language), as HTML-safe bullet
    sentences. Raises :class:`arlib.errors.ConfigError` for a window under one month."""
    w = dso.window(as_of, window_months)
    last_month = dso.window(as_of, 1)
    day = lambda d: pd.Timestamp(d).strftime("%Y-%m-%d")  # noqa: E731
    values = {
        "as_of": day(w.end),
        "unit": business_unit,
        "currency": currency,
        "months": window_months,
        "start": day(w.start + pd.Timedelta(days=1)),
        "end": day(w.end),
        "days": w.days,
        "before": day(w.start),
        "month_start": day(last_month.start + pd.Timedelta(days=1)),
    }
    safe = {k: html.escape(str(v)) for k, v in values.items()}
    return Sentences(t(text, lang).format(**safe) for text in TEMPLATES)
