"""Forecast against actual by customer and segment, for every earlier published run.

Each run keeps the cash it expects from its open invoices per customer and month
(:func:`expected_by_customer`, stored beside the collections forecast by
:func:`arlib.forecast.history.save_forecast` with ``kind="customers"``). A later close reads those
runs back (:func:`arlib.forecast.history.load_forecasts`) and sets each closed month against the
cash actually applied, in that month, to the invoices that were open at that run's close
(:func:`runs_vs_actual`): who paid less than expected, who more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from arlib.forecast import history
from arlib.forecast.engine import DS, MODEL, UID, YHAT, Y
from arlib.forecast.paydates import EARLY, PayDateModel
from arlib.forecast.paytable import CHUNK
from arlib.ledger import Ledger
from arlib.schemas import PAYMENT, C

KIND = "customers"
AS_OF, ERROR = history.AS_OF, history.ERROR


def expected_by_customer(model: PayDateModel, months: int) -> pd.DataFrame:
    """Expected cash from the open invoices per customer and calendar month after ``as_of``:
    ``unique_id`` (customer), ``ds`` (month start), ``model`` (``paydates``), ``yhat`` and
    ``segment`` (the model's group), months with no expected cash left out."""
    items, cond = model.items_, model.cond_
    first = (model.as_of_ + pd.Timedelta(days=1)).to_period("M")
    m0 = np.datetime64(first.start_time.date(), "M").astype(np.int64)
    due = model.anchors().to_numpy("datetime64[D]").astype(np.int64)
    open_amt = items[C.open_amount].to_numpy(float)
    n, span = len(items), max(int(months), 1)
    amt, hits = np.zeros(n * span), np.zeros(n * span, dtype=np.int64)
    # the days of the months counted, and the month of each (from the first after as_of)
    days = np.arange(
        np.datetime64(first.start_time.date(), "D"),
        np.datetime64((first + max(int(months), 0)).start_time.date(), "D"),
    )
    step = days.astype("datetime64[M]").astype(np.int64) - m0
    day0 = days.astype(np.int64)[:1] if len(days) else np.zeros(1, np.int64)
    for lo in range(0, n, CHUNK):  # per invoice and month, summed over its days in the months
        hi = min(lo + CHUNK, n)
        rows = cond.at(lo, hi, day0 + np.arange(len(days))[None, :] - due[lo:hi, None] + EARLY)
        keep = rows > 0
        slot = (np.arange(lo, hi)[:, None] * span + step[None, :])[keep]
        weights = (rows * open_amt[lo:hi, None])[keep]
        amt += np.bincount(slot, weights=weights, minlength=n * span)
        hits += np.bincount(slot, minlength=n * span)
    idx = np.flatnonzero(hits)
    row, step = idx // span, idx % span
    starts = pd.period_range(first, periods=span, freq="M").to_timestamp()
    frame = pd.DataFrame(
        {
            UID: items[C.customer_id].astype(str).to_numpy()[row],
            C.segment: items["group"].astype(str).to_numpy()[row],
            DS: starts[step],
            YHAT: amt[idx],
        }
    )
    out = frame.groupby([UID, C.segment, DS], as_index=False)[YHAT].sum()
    out[MODEL] = "paydates"
    return out[[UID, DS, MODEL, YHAT, C.segment]]


def applied_cash(ledger: Ledger, run_as_of, through) -> pd.DataFrame:
    """Cash applied per customer and month, after ``run_as_of`` and by ``through``, to the
    invoices open at the close of ``run_as_of``: ``unique_id, ds, y``."""
    run_as_of, through = pd.Timestamp(run_as_of), pd.Timestamp(through)
    open_ids = set(ledger.open_items(run_as_of)[C.invoice_id])
    txn = ledger.transactions
    pay = txn.loc[
        (txn[C.kind] == PAYMENT)
        & txn[C.invoice_id].isin(open_ids)
        & (txn[C.date] > run_as_of)
        & (txn[C.date] <= through)
    ]
    month = pay[C.date].dt.to_period("M").dt.to_timestamp()
    out = pay.groupby([pay[C.customer_id].astype(str), month])[C.amount].sum()
    return out.rename(Y).rename_axis([UID, DS]).reset_index()


def runs_vs_actual(
    store: str | Path, tag: str, as_of, ledger: Ledger, by: str = C.segment
) -> pd.DataFrame:
    """Every earlier published run of ``tag`` (before ``as_of``): expected against applied
    cash per ``by`` (``segment`` or ``customer_id``) for each month closed by ``as_of``.

    Returns ``as_of`` (the run), ``<by>``, ``ds``, ``yhat``, ``y``, ``error`` (``yhat - y``),
    largest absolute error first within a run; empty (those columns) when there is no earlier
    run with a closed month yet.
    """
    stored = history.load_forecasts(store, tag, before=as_of, kind=KIND)
    cols = [AS_OF, by, DS, YHAT, Y, ERROR]
    if stored.empty:
        return pd.DataFrame(columns=cols)
    closed = pd.Timestamp(as_of).to_period("M").start_time
    if pd.Timestamp(as_of) != pd.Timestamp(as_of).to_period("M").end_time.normalize():
        closed -= pd.offsets.MonthBegin(1)  # the month holding as_of is not over
    parts = []
    for run, part in stored.groupby(AS_OF, sort=True):
        part = part.loc[part[DS] <= closed]
        act = applied_cash(ledger, run, as_of)
        seg = part.drop_duplicates(UID).set_index(UID)[C.segment]
        act[C.segment] = act[UID].map(seg).fillna("unknown")
        act = act.loc[act[DS] <= closed]
        key = UID if by == C.customer_id else C.segment
        exp = part.groupby([key, DS])[YHAT].sum()
        got = act.groupby([key, DS])[Y].sum()
        both = pd.concat([exp, got], axis=1).fillna(0.0).reset_index()
        both = both.rename(columns={key: by}).assign(**{AS_OF: run})
        parts.append(both)
    out = pd.concat(parts, ignore_index=True)
    out[ERROR] = out[YHAT] - out[Y]
    out = out.assign(_abs=out[ERROR].abs()).sort_values([AS_OF, "_abs"], ascending=[True, False])
    return out[cols].reset_index(drop=True)
