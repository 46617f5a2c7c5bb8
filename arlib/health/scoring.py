"""The scorecard's driver values per customer, at one close or at many in one pass.

:func:`arlib.health.credit.scorecard` reads them at the close; the scorecard backtest
(:mod:`arlib.health.calibration`) at a dozen past month-ends. Both get them from
:func:`driver_frames`, which reads the ledger once for all the dates: the settlement per invoice
once, the open items at every date from one pass of the ledger engine
(:func:`arlib.ledger.open_by_date`), and per-customer sums by ``np.bincount`` over customer
codes. The definitions are the scorecard's (see there); at each date ``d`` with look-back
window ``(L, d]`` and recent window ``(R, d]``:

- *lateness* over ``(S, A]``: invoices paid by a payment in it with their days late, plus the
  items past due at ``A`` with their days past due so far, amount-weighted (``days_late``,
  ``share_late``, ``evidence`` = the weight);
- ``late_trend`` = lateness over ``(R, d]`` minus over ``(L, R]``;
- ``billings_month`` and ``dispute_share`` from the invoices dated in ``(L, d]``;
- ``open_ar`` now, and ``balance_growth`` against the open AR at ``R``.

Customers listed at a date: those with lateness evidence, billings or open AR then, sorted by id.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib import dso as core
from arlib.health import shared
from arlib.ledger import Ledger, open_by_date
from arlib.schemas import C

#: columns of a driver frame after the customer master columns
DRIVER_COLUMNS = (
    "open_ar",
    "billings_month",
    "days_late",
    "late_trend",
    "share_late",
    "evidence",
    "dispute_share",
    "limit_use",
    "balance_growth",
)


def customers_frame(ledger: Ledger, ids: pd.Index) -> pd.DataFrame:
    """``customer_id, name, segment, credit_limit, terms_days, status`` of ``ids`` (in that
    order) from the customer master; a customer missing there is named by its id, ``active``."""
    ids = pd.Index(ids, name=C.customer_id)
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


class _Arrays:
    """The ledger as the drivers read it: customer codes per invoice, the settlement and the
    invoices as plain arrays, and the open items at ``dates``."""

    def __init__(self, ledger: Ledger, dates: pd.DatetimeIndex):
        inv = ledger.invoices
        self.code, self.ids = shared.customer_codes(ledger)
        self.n = len(self.ids)
        st = shared.settlement(ledger)
        self.paid = shared.paid_by_payment(ledger)
        self.settled = st[C.settled_date].to_numpy()
        self.late = st["days_late"].to_numpy(dtype=float)
        self.amount = inv[C.amount].to_numpy(dtype=float)
        self.inv_date = inv[C.invoice_date].to_numpy()
        self.disputed = inv[C.disputed].astype(bool).to_numpy()
        self.dates = dates
        self.open = open_by_date(ledger, dates)
        self.open_code = self.code[self.open["invoice"]]

    def sums(self, codes: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(codes, weights=weights, minlength=self.n)

    def at(self, when: pd.Timestamp) -> np.ndarray:
        """Rows of the open items at ``when`` (one of ``dates``)."""
        return self.open["date"] == self.dates.get_loc(when)

    def lateness(self, as_of: pd.Timestamp, since: pd.Timestamp) -> dict[str, np.ndarray]:
        """Per customer code: amount-weighted ``w``, ``wl`` (x days late), ``late`` (x paid or
        owed late) and ``rows`` (count) over ``(since, as_of]`` (see the module docstring)."""
        a, s = np.datetime64(as_of), np.datetime64(since)
        paid = self.paid & (self.settled > s) & (self.settled <= a)
        due = self.at(as_of) & (self.open["days_past_due"] > 0)
        code = np.concatenate([self.code[paid], self.open_code[due]])
        w = np.concatenate([self.amount[paid], self.open["open_amount"][due]])
        late = np.concatenate([self.late[paid], self.open["days_past_due"][due].astype(float)])
        return {
            "w": self.sums(code, w),
            "wl": self.sums(code, w * late),
            "late": self.sums(code, w * (late > 0)),
            "rows": self.sums(code),
        }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den  # 0 / 0 is NaN: no evidence, no value


def driver_frames(
    ledger: Ledger,
    dates: Sequence,
    lookback_months: int = 12,
    recent_months: int = 3,
    default_days: int | None = None,
) -> list[pd.DataFrame]:
    """One frame per date of ``dates`` (normalised): the customers listed then (sorted by id)
    with :func:`customers_frame`'s columns and :data:`DRIVER_COLUMNS`; with ``default_days``
    also ``in_default``: the customer has an open item ``default_days`` or more past due then."""
    closes = [pd.Timestamp(d).normalize() for d in dates]
    looks = [core.window(d, lookback_months) for d in closes]
    recents = [core.window(d, recent_months) for d in closes]
    wanted = pd.DatetimeIndex(sorted({*closes, *(w.start for w in recents)}))
    arr = _Arrays(ledger, wanted)
    return [
        _frame(ledger, arr, d, look.start, recent.start, lookback_months, default_days)
        for d, look, recent in zip(closes, looks, recents, strict=True)
    ]


def _frame(ledger, arr: _Arrays, d, look, recent, lookback_months, default_days) -> pd.DataFrame:
    all_late = arr.lateness(d, look)
    now, before = arr.lateness(d, recent), arr.lateness(recent, look)
    in_look = (arr.inv_date > np.datetime64(look)) & (arr.inv_date <= np.datetime64(d))
    billed = arr.sums(arr.code[in_look], arr.amount[in_look])
    disputed = arr.sums(arr.code[in_look & arr.disputed], arr.amount[in_look & arr.disputed])
    at_d, at_r = arr.at(d), arr.at(recent)
    ar_now = arr.sums(arr.open_code[at_d], arr.open["open_amount"][at_d])
    ar_then = arr.sums(arr.open_code[at_r], arr.open["open_amount"][at_r])
    listed = (all_late["rows"] > 0) | (arr.sums(arr.code[in_look]) > 0)
    listed |= arr.sums(arr.open_code[at_d]) > 0
    codes = np.flatnonzero(listed)
    ids = np.asarray(arr.ids, dtype=object)[codes]
    order = sorted(range(len(ids)), key=ids.__getitem__)
    codes = codes[order]
    out = customers_frame(ledger, pd.Index(ids[order]))
    days_late = _ratio(all_late["wl"], all_late["w"])
    trend = _ratio(now["wl"], now["w"]) - _ratio(before["wl"], before["w"])
    out["open_ar"] = ar_now[codes]
    out["billings_month"] = billed[codes] / lookback_months
    out["days_late"] = days_late[codes]
    out["late_trend"] = trend[codes]
    out["share_late"] = _ratio(all_late["late"], all_late["w"])[codes]
    out["evidence"] = all_late["w"][codes]
    out["dispute_share"] = core.safe_div(disputed[codes], billed[codes])
    out["limit_use"] = core.safe_div(out["open_ar"], out[C.credit_limit].fillna(0.0))
    base = np.maximum(ar_then[codes], out["billings_month"].to_numpy())
    out["balance_growth"] = core.safe_div(out["open_ar"] - ar_then[codes], base)
    if default_days is not None:
        old = at_d & (arr.open["days_past_due"] >= int(default_days))
        out["in_default"] = (arr.sums(arr.open_code[old]) > 0)[codes]
    return out
