"""What a unit's reports could not say for lack of data: the notes of an "ok with notes" unit.

A report that ran to the end on data that lacks something (an open-item list has no payment
history; a customer file has no credit limits) is not a failure, and not a plain "ok" either:
some figures are not defined or rest on assumptions. Each report notebook records its notes
with ``arlib.record(datanotes.record(ledger, cfg, "health"))``; they travel in the notebook's
own section (key :data:`NOTES`, never merged flat), and the runner gives the unit the status
``ok with notes`` when any section has one (:func:`arlib.report.records.unit_status`), listed on
the index and in every report's header. A reconciliation that does not balance still fails the
unit: notes are for figures that are missing, never for figures that are wrong.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from arlib.i18n import t, t_filled
from arlib.ledger import Ledger, open_items_only
from arlib.schemas import PAYMENT, C

#: the record key of a section's notes (kept per section, see arlib.report.records)
NOTES = "notes"

_HISTORY = {
    "health": (
        "Receivables health: CEI, the DSO family, turnover and days to pay are not defined, and "
        "nothing is compared with the month before: the source is an open-item list with no "
        "payment history."
    ),
    "forecast": (
        "Cash forecast: the contractual runoff of the open items (due dates plus the lateness "
        "assumed in runoff_lateness); the backtest, the time-series forecast and the accuracy "
        "of payment dates need payment history, which the source (an open-item list) lacks."
    ),
}
_LOSS_RATES = (
    "Provision: the allowance uses the loss rates given in params (loss_rates), not rates "
    "learned from history; roll rates, vintages, the roll-forward, the loss backtest and the "
    "forecast need payment history, which the source (an open-item list) lacks."
)
_NO_RATES = (
    "Provision: no allowance; the source is an open-item list with no payment history and no "
    "loss_rates are given in params."
)
_NO_LIMITS = (
    "Receivables health: the data has no credit limits, so limit use, over-limit customers and "
    "limit reviews are not assessed."
)


#: the look-back (days) whose longest gap between activity dates sets the usual rhythm
RHYTHM_DAYS = 365
#: fewest distinct activity dates in the look-back for a rhythm to be judged at all
RHYTHM_MIN_DATES = 12


def quiet_days(dates, as_of) -> tuple[int, int, pd.Timestamp] | None:
    """``(gap, longest, last)`` for activity ``dates`` seen at the close ``as_of``: ``gap`` days
    from the latest date on or before the close to the close, ``longest`` the longest gap between
    consecutive distinct dates in the :data:`RHYTHM_DAYS` before that latest date; ``None`` with
    fewer than :data:`RHYTHM_MIN_DATES` distinct dates there (no rhythm to judge by).

    >>> d = pd.to_datetime([f"2024-01-{i:02d}" for i in range(1, 29, 2)])
    >>> quiet_days(d, "2024-02-20")
    (24, 2, Timestamp('2024-01-27 00:00:00'))
    """
    as_of = pd.Timestamp(as_of)
    days = pd.DatetimeIndex(pd.Series(dates).dropna().unique()).normalize()
    days = np.unique(days[days <= as_of].to_numpy())
    if not len(days):
        return None
    last = pd.Timestamp(days[-1])
    window = days[days > np.datetime64(last - pd.Timedelta(days=RHYTHM_DAYS))]
    if len(window) < RHYTHM_MIN_DATES:
        return None
    longest = int(np.diff(window).astype("timedelta64[D]").astype(np.int64).max())
    return int((as_of.normalize() - last).days), longest, last


def full_month_end(last) -> pd.Timestamp:
    """The end of the last calendar month that activity dated up to ``last`` covers in full:
    ``last`` itself when it is a month end, else the end of the month before.

    >>> [f"{full_month_end(d):%Y-%m-%d}" for d in ("2013-12-02", "2013-11-30", "2024-03-01")]
    ['2013-11-30', '2013-11-30', '2024-02-29']
    """
    nxt = pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
    return nxt.to_period("M").start_time - pd.Timedelta(days=1)


def stops(ledger: Ledger, as_of) -> list[tuple[str, int, int, pd.Timestamp]]:
    """``(activity, gap, longest, last)`` for each activity (``invoice``, ``payment``) that
    stops well before the close ``as_of``: silent for longer than both a week and twice the
    longest gap of the year before (see :func:`quiet_days`). Payments are judged only when the
    ledger has any."""
    out = []
    txn = ledger.transactions
    pay = txn.loc[txn[C.kind] == PAYMENT, C.date] if len(txn) else txn.get(C.date)
    for what, dates in (("invoice", ledger.invoices[C.invoice_date]), ("payment", pay)):
        got = None if dates is None or not len(dates) else quiet_days(dates, as_of)
        if got is not None and got[0] > max(7, 2 * got[1]):
            out.append((what, *got))
    return out


def supported_close(ledger: Ledger, as_of) -> pd.Timestamp:
    """The close the data support: ``as_of`` itself, or, when an activity stops well before it
    (:func:`stops`), the end of the last month every activity covers in full."""
    ends = [full_month_end(last) for *_, last in stops(ledger, as_of)]
    return min([pd.Timestamp(as_of), *ends])


#: the note on an activity that stops before the close; one catalog entry per activity
CUT_OFF = (
    "Data end before the close: the latest {what} is dated {last}, {gap} days before the close of "
    "{as_of}, while in the year before no two {what} dates were more than {longest} days apart. "
    "The extract may have been taken before the close, so the last month's figures may be "
    "partial: check the source, or set as_of to {supported}, the end of the last month the data "
    "cover in full."
)


def cut_off(ledger: Ledger, as_of) -> list[str]:
    """One note (:data:`CUT_OFF`) per activity that stops well before the close ``as_of``
    (:func:`stops`). Such data look like an extract taken before the close, so the last
    month's invoicing or collections may be partial (a figure that is low for a reason the
    report cannot see). The note names the close the data do support (:func:`full_month_end`
    of the latest date)."""
    day = "{:%Y-%m-%d}".format
    return [
        CUT_OFF.format(
            what=what,
            last=day(last),
            gap=gap,
            as_of=day(pd.Timestamp(as_of)),
            longest=longest,
            supported=day(full_month_end(last)),
        )
        for what, gap, longest, last in stops(ledger, as_of)
    ]


def translate(note: str, lang: str) -> str:
    """A unit's note (stored in English) in ``lang``: fixed notes through the catalog, notes
    with figures in them (:data:`CUT_OFF`) through their template; else unchanged."""
    for activity in ("invoice", "payment"):
        got = t_filled(note, CUT_OFF.replace("{what}", activity), lang)
        if got is not None:
            return got
    return t(note, lang)


def notes(ledger: Ledger, cfg: Mapping, section: str) -> list[str]:
    """The notes of report ``section`` (``health``, ``forecast``, ``provision``) on ``ledger``
    with the run config ``cfg``: one sentence per kind of figure the data cannot support."""
    out = []
    if open_items_only(ledger):
        if section == "provision":
            out.append(_LOSS_RATES if cfg.get("loss_rates") else _NO_RATES)
        elif section in _HISTORY:
            out.append(_HISTORY[section])
    cust = ledger.customers
    no_limits = cust is None or C.credit_limit not in cust or cust[C.credit_limit].isna().all()
    if section == "health" and no_limits:
        out.append(_NO_LIMITS)
    if cfg.get("as_of") is not None:
        out.extend(cut_off(ledger, cfg["as_of"]))
    return out


def record(ledger: Ledger, cfg: Mapping, section: str) -> dict:
    """``{"notes": [...]}`` for ``arlib.record`` (see :func:`notes`)."""
    return {NOTES: notes(ledger, cfg, section)}
