"""As-of reconstruction of the receivables ledger.

An invoice is *open at the close of* ``as_of`` when ``invoice_date <= as_of`` and it is not
fully settled by payments, credit notes or write-offs dated ``<= as_of``. Its open amount is
the invoice amount less those settlements; days past due are ``as_of - due_date`` in days, and
the item is ``current`` when that is ``<= 0``.

The numeric core works on arrays: invoices are factorised to integer codes, transactions are
sorted by date once, and the settled amount of every invoice at any date is one ``bincount``
over a prefix of the transactions. Frame wrappers add dates, buckets and tidy output.

Example
-------
>>> import pandas as pd
>>> inv = pd.DataFrame({"invoice_id": ["A", "B"], "business_unit": "X", "customer_id": "c1",
...     "invoice_date": pd.to_datetime(["2024-01-01", "2024-01-15"]),
...     "due_date": pd.to_datetime(["2024-01-31", "2024-02-14"]), "amount": [100.0, 50.0],
...     "currency": "EUR", "disputed": False})
>>> txn = pd.DataFrame({"txn_id": ["p1"], "business_unit": "X", "customer_id": "c1",
...     "invoice_id": ["A"], "date": pd.to_datetime(["2024-02-10"]), "amount": [40.0],
...     "kind": "payment"})
>>> led = Ledger(inv, txn)
>>> led.open_items("2024-02-29")[["invoice_id", "open_amount", "days_past_due", "bucket"]]
  invoice_id  open_amount  days_past_due bucket
0          A         60.0             29   1-30
1          B         50.0             15   1-30
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.schemas import (
    CREDIT_NOTE,
    PAYMENT,
    RECOVERY,
    SETTLING_KINDS,
    WRITE_OFF,
    C,
    Customers,
    Invoices,
    Transactions,
)

DEFAULT_THRESHOLDS: tuple[int, ...] = (0, 30, 60, 90, 120)
CENT = 0.005  # amounts within half a cent of zero are settled


def bucket_labels(thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> list[str]:
    """Labels of the aging buckets for ascending day thresholds starting at 0.

    >>> bucket_labels((0, 30, 60))
    ['current', '1-30', '31-60', 'over 60']
    """
    t = check_thresholds(thresholds)
    return ["current"] + [f"{a + 1}-{b}" for a, b in zip(t, t[1:])] + [f"over {t[-1]}"]


def check_thresholds(thresholds: Sequence[int]) -> tuple[int, ...]:
    t = tuple(int(x) for x in thresholds)
    if not t or t[0] != 0 or any(b <= a for a, b in zip(t, t[1:])):
        raise ConfigError(
            "aging_thresholds",
            f"must start at 0 and increase strictly, e.g. [0, 30, 60, 90, 120]; got {list(thresholds)}",
        )
    return t


def bucket_index(days_past_due: np.ndarray, thresholds: Sequence[int]) -> np.ndarray:
    """Bucket number (0 = current) for each days-past-due value."""
    return np.searchsorted(np.asarray(thresholds), days_past_due, side="left")


def bucket_categorical(days_past_due: np.ndarray, thresholds: Sequence[int]) -> pd.Categorical:
    labels = bucket_labels(thresholds)
    return pd.Categorical.from_codes(bucket_index(days_past_due, thresholds), labels, ordered=True)


def _days(values) -> np.ndarray:
    """Dates as integer days since the epoch."""
    return pd.to_datetime(values).values.astype("datetime64[D]").astype(np.int64)


def _day(as_of) -> int:
    return int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype(np.int64))


def month_ends(start, end) -> pd.DatetimeIndex:
    """Month-end dates from the month of ``start`` to the month of ``end`` inclusive."""
    return pd.date_range(pd.Timestamp(start) + pd.offsets.MonthEnd(0), pd.Timestamp(end) + pd.offsets.MonthEnd(0), freq="ME")


def trailing_month_ends(as_of, months: int) -> pd.DatetimeIndex:
    """The ``months`` month-ends up to ``as_of``; the last is ``as_of`` itself when it is not a
    month-end (a mid-month close is read as of that day).

    >>> [str(d.date()) for d in trailing_month_ends("2024-03-15", 3)]
    ['2024-01-31', '2024-02-29', '2024-03-15']
    """
    as_of = pd.Timestamp(as_of)
    ends = month_ends(as_of - pd.DateOffset(months=months - 1), as_of)
    return ends[:-1].append(pd.DatetimeIndex([as_of]))


def aging_summary(aging: pd.DataFrame) -> dict:
    """Headline position from an aging table: open, current and past-due AR, past-due share and
    the amount per bucket.

    >>> import pandas as pd
    >>> aging_summary(pd.DataFrame({"bucket": ["current", "1-30"], "amount": [75.0, 25.0]}))["past_due_share"]
    0.25
    """
    amounts = {str(b): round(float(a), 2) for b, a in zip(aging[C.bucket], aging[C.amount])}
    total = round(sum(amounts.values()), 2)
    current = amounts[next(iter(amounts))] if amounts else 0.0
    return {"open_ar": total, "current_ar": current, "past_due_ar": round(total - current, 2),
            "past_due_share": (total - current) / total if total > 0 else None, "aging": amounts}


class Ledger:
    """Invoices and their transactions, ready to be read at any close date.

    Parameters
    ----------
    invoices, transactions, customers
        Canonical frames (:mod:`arlib.schemas`); validated unless ``validate=False``.
    """

    def __init__(self, invoices: pd.DataFrame, transactions: pd.DataFrame,
                 customers: pd.DataFrame | None = None, validate: bool = True):
        if validate:
            invoices = Invoices.validate(invoices, lazy=True)
            transactions = Transactions.validate(transactions, lazy=True)
            if customers is not None:
                customers = Customers.validate(customers, lazy=True)
        self.invoices = invoices.reset_index(drop=True)
        self.transactions = transactions.sort_values([C.date, C.txn_id], kind="stable").reset_index(drop=True)
        self.customers = customers
        inv, txn = self.invoices, self.transactions
        self._inv_day = _days(inv[C.invoice_date])
        self._due_day = _days(inv[C.due_date])
        self._amount = inv[C.amount].to_numpy(dtype=float)
        self._txn_day = _days(txn[C.date])
        self._txn_amount = txn[C.amount].to_numpy(dtype=float)
        codes = pd.Index(inv[C.invoice_id]).get_indexer(txn[C.invoice_id])
        self._txn_code = codes  # -1: not applied to a known invoice
        self._settling = txn[C.kind].isin(SETTLING_KINDS).to_numpy() & (codes >= 0)

    # -- numeric core -----------------------------------------------------------------------
    def _prefix(self, day: int) -> int:
        return int(np.searchsorted(self._txn_day, day, side="right"))

    def settled_at(self, as_of) -> np.ndarray:
        """Settled amount (payments + credit notes + write-offs) per invoice at close of ``as_of``."""
        n = self._prefix(_day(as_of))
        keep = self._settling[:n]
        return np.bincount(self._txn_code[:n][keep], weights=self._txn_amount[:n][keep],
                           minlength=len(self._amount))

    def _open_mask(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        open_amt = self._amount - self.settled_at(pd.Timestamp(day, unit="D"))
        return (self._inv_day <= day) & (open_amt > CENT), open_amt

    # -- frames -----------------------------------------------------------------------------
    def open_items(self, as_of, thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """Invoices open at the close of ``as_of`` with ``open_amount``, ``days_past_due`` and ``bucket``."""
        day = _day(as_of)
        mask, open_amt = self._open_mask(day)
        out = self.invoices.loc[mask].copy()
        out[C.open_amount] = np.round(open_amt[mask], 2)
        dpd = day - self._due_day[mask]
        out[C.days_past_due] = dpd.astype(np.int64)
        out[C.bucket] = bucket_categorical(dpd, check_thresholds(thresholds))
        return out.reset_index(drop=True)

    def aging(self, as_of, thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """Open amount, count and share of open AR per bucket (every bucket listed, even empty)."""
        return aging_table(self.open_items(as_of, thresholds))

    def history(self, dates: Sequence, thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """Open balance per bucket at each date (e.g. month-ends): ``month_end, bucket, amount, count``."""
        t = check_thresholds(thresholds)
        labels = bucket_labels(t)
        rows = []
        for d in pd.DatetimeIndex(dates):
            day = _day(d)
            mask, open_amt = self._open_mask(day)
            idx = bucket_index(day - self._due_day[mask], t)
            amt = np.bincount(idx, weights=open_amt[mask], minlength=len(labels))
            cnt = np.bincount(idx, minlength=len(labels))
            rows.append(pd.DataFrame({C.month_end: d, C.bucket: labels, C.amount: np.round(amt, 2), C.count: cnt}))
        out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[C.month_end, C.bucket, C.amount, C.count])
        out[C.bucket] = pd.Categorical(out[C.bucket], labels, ordered=True)
        return out

    def balances(self, dates: Sequence, thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """Open, current and past-due AR at each date, one row per date (index: the dates)."""
        h = self.history(dates, thresholds)
        wide = h.pivot_table(index=C.month_end, columns=C.bucket, values=C.amount, aggfunc="sum", observed=False)
        current = wide.iloc[:, 0]
        total = wide.sum(axis=1)
        return pd.DataFrame({"open_ar": total.round(2), "current_ar": current.round(2),
                             "past_due_ar": (total - current).round(2)})

    def flows(self, freq: str = "M") -> pd.DataFrame:
        """Invoiced, collected, credited, written off and recovered amounts per period.

        ``collected`` is all cash (applied or not); ``recovered`` is cash on written-off invoices.
        """
        inv = self.invoices.groupby(self.invoices[C.invoice_date].dt.to_period(freq))[C.amount].sum()
        txn = self.transactions
        by_kind = txn.groupby([txn[C.date].dt.to_period(freq), C.kind])[C.amount].sum().unstack(fill_value=0.0)
        names = {PAYMENT: "collected", CREDIT_NOTE: "credited", WRITE_OFF: "written_off", RECOVERY: "recovered"}
        out = pd.concat([inv.rename("invoiced"), by_kind.reindex(columns=list(names)).rename(columns=names)], axis=1)
        out = out.fillna(0.0).sort_index()
        if len(out):
            full = pd.period_range(out.index.min(), out.index.max(), freq=freq)
            out = out.reindex(full, fill_value=0.0)
        out.index.name = "period"
        return out.round(2)

    def settlement(self) -> pd.DataFrame:
        """Per invoice: ``settled_date`` (when settlements first cover the amount; NaT if never),
        ``days_to_pay`` and signed ``days_late`` (settled - due), and ``settled_by`` (kind of the
        closing transaction)."""
        txn = self.transactions.loc[self._settling]
        codes = self._txn_code[self._settling]
        order = np.lexsort((np.arange(len(codes)), codes))  # by invoice, then date order kept
        codes, txn = codes[order], txn.iloc[order]
        cum = pd.Series(txn[C.amount].to_numpy()).groupby(codes).cumsum().to_numpy()
        done = cum >= self._amount[codes] - CENT
        first = pd.DataFrame({"code": codes[done], C.settled_date: txn[C.date].to_numpy()[done],
                              "settled_by": txn[C.kind].to_numpy()[done]}).drop_duplicates("code")
        out = self.invoices[[C.invoice_id, C.customer_id, C.invoice_date, C.due_date, C.amount, C.disputed]].copy()
        out[C.settled_date] = pd.NaT
        out["settled_by"] = None
        out.loc[first["code"].to_numpy(), C.settled_date] = first[C.settled_date].to_numpy()
        out.loc[first["code"].to_numpy(), "settled_by"] = first["settled_by"].to_numpy()
        out[C.settled_date] = pd.to_datetime(out[C.settled_date])
        out["days_to_pay"] = (out[C.settled_date] - out[C.invoice_date]).dt.days
        out["days_late"] = (out[C.settled_date] - out[C.due_date]).dt.days
        return out

    def unapplied(self, as_of) -> pd.DataFrame:
        """Unapplied cash and advance receipts per customer at close of ``as_of``: payments with no
        invoice, plus settlements beyond an invoice's amount (overpayments)."""
        day = _day(as_of)
        n = self._prefix(day)
        txn = self.transactions.iloc[:n]
        cash = txn.loc[(self._txn_code[:n] < 0) & (txn[C.kind] == PAYMENT).to_numpy()]
        unapplied = cash.groupby(C.customer_id)[C.amount].sum()
        over = np.clip(self.settled_at(as_of) - self._amount, 0, None)
        over = pd.Series(over, index=self.invoices[C.customer_id]).groupby(level=0).sum()
        out = pd.DataFrame({"unapplied_cash": unapplied, "overpaid": over[over > CENT]}).fillna(0.0)
        out["credit_balance"] = out.sum(axis=1)
        out.index.name = C.customer_id
        return out.round(2).reset_index()


def aging_table(open_items: pd.DataFrame) -> pd.DataFrame:
    """Aging from open items: ``bucket, amount, count, share`` with every bucket listed."""
    g = open_items.groupby(C.bucket, observed=False)[C.open_amount]
    out = pd.DataFrame({C.amount: g.sum().round(2), C.count: g.size()})
    total = out[C.amount].sum()
    out[C.share] = out[C.amount] / total if total > 0 else 0.0
    return out.reset_index()
