"""The open items the provision reads, from as few passes over the ledger as it can.

The roll-forward and the loss-rate backtest read the collective and specific pools at a dozen
month-ends each, and the allowance, the loss rates, the comparison of methods, the vintage fit,
the forecast and the write-off candidates all read them at the close. :meth:`Ledger.open_items`
costs a pass over every invoice and a copy of every invoice column per date: at a
million invoices, seconds per report. Here

* :func:`month_end_items` reads a run of dates in one pass (:func:`arlib.ledger.open_by_date`)
  and gives each date's items with only the columns the provision reads, plus :data:`ROW` (the
  item's row in ``ledger.invoices``, which numbers it without matching its id again);
* :func:`close_items` keeps the last date's full open items per ledger, and hands each caller
  its own copy.

Both give the rows, order and values of :meth:`Ledger.open_items` in their columns.

>>> from arlib import demo
>>> from arlib.ledger import Ledger
>>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
>>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
>>> (d, got), = month_end_items(led, ["2024-05-31"], (0, 30, 60, 90, 120))
>>> want = led.open_items("2024-05-31")
>>> got[COLUMNS].equals(want[COLUMNS]), len(got) == len(want) > 0
(True, True)
>>> bool((led.invoices["invoice_id"].to_numpy()[got[ROW]] == got["invoice_id"].to_numpy()).all())
True
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from arlib.ledger import Ledger, bucket_categorical, check_thresholds, open_by_date
from arlib.schemas import C

#: the item's row in ``ledger.invoices`` (its position)
ROW = "invoice_row"
#: the columns of :meth:`Ledger.open_items` the provision reads
COLUMNS = [
    C.customer_id,
    C.invoice_id,
    C.invoice_date,
    C.due_date,
    C.open_amount,
    C.days_past_due,
    C.bucket,
]


def month_end_items(
    ledger: Ledger, dates: Sequence, thresholds: Sequence[int]
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """``(date, items)`` for every date of ``dates`` in their order: the open items of
    :meth:`Ledger.open_items` at that date (same rows and order, :data:`COLUMNS` equal to
    its), with :data:`ROW`. One pass over the ledger for all dates; each frame is made when
    asked for."""
    t = check_thresholds(thresholds)
    dates = pd.DatetimeIndex(dates)
    got = open_by_date(ledger, dates)
    order = np.argsort(got["date"], kind="stable")  # by date; invoices ascending within one
    bounds = np.searchsorted(got["date"][order], np.arange(len(dates) + 1))
    # the invoice columns' arrays, taken from per date (selecting the columns copies them);
    # plain arrays into one frame: pandas checks object columns built from its own arrays for
    # missing values again, a tenth of a second per date at a million invoices
    kept = {c: _column(ledger.invoices[c]) for c in COLUMNS[:4]}
    for k, d in enumerate(dates):
        sel = order[bounds[k] : bounds[k + 1]]
        rows = got["invoice"][sel]
        dpd = got["days_past_due"][sel].astype(np.int64)
        cols = {c: a.take(rows) for c, a in kept.items()}
        cols[C.open_amount] = got["open_amount"][sel]
        cols[C.days_past_due] = dpd
        cols[C.bucket] = bucket_categorical(dpd, t)
        cols[ROW] = rows
        out = pd.DataFrame(cols, copy=False)
        yield d, out


def _column(values: pd.Series):
    """The column's numpy array when its dtype is numpy's (no copy), else its pandas array
    (Arrow-backed text keeps its dtype)."""
    return values.to_numpy() if isinstance(values.dtype, np.dtype) else values.array


#: ledger -> ((day, thresholds), open items): the last date asked, per ledger
_CLOSE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def close_items(ledger: Ledger, as_of, thresholds: Sequence[int]) -> pd.DataFrame:
    """:meth:`Ledger.open_items` at ``as_of``, read once per ledger and date (the report asks
    at the close a dozen times); each call gets its own copy to change."""
    key = (pd.Timestamp(as_of), check_thresholds(thresholds))
    kept = _CLOSE.get(ledger)
    if kept is None or kept[0] != key:
        kept = (key, ledger.open_items(as_of, key[1]))
        _CLOSE[ledger] = kept
    return kept[1].copy()
