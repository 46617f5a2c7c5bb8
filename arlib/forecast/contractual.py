"""Contractual runoff: the cash an open-item list promises, by due date.

An open-item list has no payment history, so there is no payment behaviour to learn: the
runoff is then *contractual*. Each open item is expected in full on one date:

* an item not yet due: its due date plus the lateness assumed for ``current`` items;
* an item past due: the close plus the lateness assumed for its aging bucket (it is late
  already, so its due date says nothing more).

``lateness`` (the ``runoff_lateness`` parameter) maps bucket labels (``current``, ``1-30``,
..., ``over 120``) to days; a bucket not named assumes 0 days (a past-due item then falls in
the first period). Nothing is assumed written off, and no interval is given: without history
there is no measure of how uncertain the dates are (the interval columns are empty).

>>> import pandas as pd
>>> items = pd.DataFrame({"invoice_id": ["a", "b"], "open_amount": [100.0, 50.0],
...     "due_date": pd.to_datetime(["2024-07-10", "2024-05-01"]), "bucket": ["current", "31-60"]})
>>> expected_dates(items, pd.Timestamp("2024-06-30"), {"current": 10, "31-60": 45}).dt.strftime("%Y-%m-%d").tolist()
['2024-07-20', '2024-08-14']
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.ledger import DEFAULT_THRESHOLDS, bucket_labels
from arlib.schemas import C

CONTRACTUAL = "contractual"


def check_lateness(lateness: Mapping | None, thresholds=DEFAULT_THRESHOLDS) -> dict[str, int]:
    """``runoff_lateness`` checked: bucket label -> whole days >= 0; the error names the key."""
    labels = bucket_labels(thresholds)
    out = {}
    for bucket, days in (lateness or {}).items():
        key = f"runoff_lateness.{bucket}"
        if bucket not in labels:
            near = difflib.get_close_matches(str(bucket), labels, n=1, cutoff=0.4)
            hint = f"did you mean {near[0]!r}?" if near else f"buckets: {', '.join(labels)}"
            raise ConfigError(key, f"is not an aging bucket; {hint}")
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise ConfigError(key, f"must be a whole number of days >= 0, got {days!r}")
        out[str(bucket)] = days
    return out


def expected_dates(items: pd.DataFrame, as_of: pd.Timestamp, lateness: Mapping) -> pd.Series:
    """The date each open item is expected to be paid (see the module docstring)."""
    days = pd.to_timedelta(items[C.bucket].astype(str).map(lateness).fillna(0), unit="D")
    when = items[C.due_date].where(items[C.due_date] > as_of, as_of) + days
    return when.where(when > as_of, as_of + pd.Timedelta(days=1))


def contractual_runoff(
    items: pd.DataFrame,
    as_of: pd.Timestamp,
    periods: pd.PeriodIndex,
    lateness: Mapping,
    keys: np.ndarray,
    levels: Sequence[int] = (80, 95),
) -> pd.DataFrame:
    """Expected cash per period and key: the columns of
    :meth:`arlib.forecast.runoff.RunoffModel.predict`, ``model`` = ``contractual``, intervals
    empty, ``write_off`` 0; items expected after the last period are in no period."""
    when = expected_dates(items, as_of, lateness).dt.to_period(periods.freq)
    amt = items[C.open_amount].to_numpy(float)
    rows = []
    for key in sorted(set(keys)) or ["all"]:
        sel = keys == key
        per = pd.Series(amt[sel], index=when[sel].to_numpy()).groupby(level=0).sum()
        row = {
            "unique_id": key,
            "ds": periods.start_time,
            "model": CONTRACTUAL,
            "yhat": per.reindex(periods, fill_value=0.0).to_numpy(float),
        }
        for lv in levels:
            row[f"yhat_lo_{lv}"] = row[f"yhat_hi_{lv}"] = np.nan
        rows.append(pd.DataFrame(row | {"write_off": 0.0, "open_amount": amt[sel].sum()}))
    return pd.concat(rows, ignore_index=True)
