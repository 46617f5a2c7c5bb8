"""As-of reconstruction of the receivables ledger.

An invoice is *open at the close of* ``as_of`` when ``invoice_date <= as_of`` and it is not
fully settled by payments, credit notes or write-offs dated ``<= as_of``. Its open amount is
the invoice amount less those settlements; days past due are ``as_of - due_date`` in days, and
the item is ``current`` when that is ``<= 0``.

The numeric core works on arrays: invoices are factorised to integer codes, transactions are
sorted by date once, and the settled amount of every invoice at any date is one ``bincount``
over a prefix of the transactions. Snapshots at many dates share one pass: each invoice is open
from its invoice date until the day its running settled total first covers it, so the (invoice,
date) pairs where it is open are enumerated directly and summed per bucket with one
``bincount``; the cost grows with the number of open pairs, not invoices times dates. Frame
wrappers add dates, buckets and tidy output.

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

import hashlib
from collections.abc import Sequence
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.schemas import (
    CREDIT_NOTE,
    PAYMENT,
    RECOVERY,
    SETTLING_KINDS,
    TXN_KINDS,
    WRITE_OFF,
    C,
    Customers,
    Invoices,
    Transactions,
)

DEFAULT_THRESHOLDS: tuple[int, ...] = (0, 30, 60, 90, 120)
_FLOW_NAMES = {
    PAYMENT: "collected",
    CREDIT_NOTE: "credited",
    WRITE_OFF: "written_off",
    RECOVERY: "recovered",
}
CENT = 0.005  # amounts within half a cent of zero are settled


def check_thresholds(thresholds) -> tuple[int, ...]:
    """Aging bucket lower bounds in days: start at 0, increase strictly."""
    t = tuple(int(x) for x in thresholds)
    if not t or t[0] != 0 or any(b <= a for a, b in zip(t, t[1:])):
        raise ConfigError(
            "aging_thresholds",
            f"must start at 0 and increase strictly, e.g. [0, 30, 60, 90, 120]; got {list(thresholds)}",
        )
    return t


def bucket_labels(thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> list[str]:
    """Labels of the aging buckets for ascending day thresholds starting at 0.

    >>> bucket_labels((0, 30, 60))
    ['current', '1-30', '31-60', 'over 60']
    """
    t = check_thresholds(thresholds)
    return ["current"] + [f"{a + 1}-{b}" for a, b in zip(t, t[1:])] + [f"over {t[-1]}"]


def bucket_index(days_past_due: np.ndarray, thresholds: Sequence[int]) -> np.ndarray:
    """Bucket number (0 = current) for each days-past-due value."""
    return np.searchsorted(np.asarray(thresholds), days_past_due, side="left")


def bucket_categorical(days_past_due: np.ndarray, thresholds: Sequence[int]) -> pd.Categorical:
    labels = bucket_labels(thresholds)
    return pd.Categorical.from_codes(bucket_index(days_past_due, thresholds), labels, ordered=True)


def _days(values) -> np.ndarray:
    """Dates as integer days since the epoch."""
    if not (
        isinstance(values, pd.Series) and values.dtype.kind == "M"
    ):  # already dates: no parsing
        values = pd.to_datetime(values)
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def _day(as_of) -> int:
    return int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype(np.int64))


_NEVER, _BEFORE_ALL = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def _is_arrow(values) -> bool:
    return (
        isinstance(values.dtype, pd.ArrowDtype)
        or getattr(values.dtype, "storage", None) == "pyarrow"
    )


def _positions(values: pd.Series, keys) -> np.ndarray:
    """Position of each value among the unique ``keys`` (-1 when absent). Arrow-backed text goes
    through Arrow's hash kernel (no Python strings are made), anything else through pandas."""
    if _is_arrow(values) and (isinstance(keys, tuple) or _is_arrow(keys)):
        import pyarrow as pa
        import pyarrow.compute as pc

        def flat(x):
            arr = x.array.__arrow_array__()
            return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr

        found = pc.index_in(
            flat(values), value_set=pa.array(keys) if isinstance(keys, tuple) else flat(keys)
        )
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Index(keys).get_indexer(values)


def _indexed(df: pd.DataFrame, own: bool) -> pd.DataFrame:
    """``df`` indexed 0..n-1: itself when ``own`` (handed over) and already so, else a copy."""
    if own and isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1:
        return df
    return df.reset_index(drop=True)


def _sorted_by_date(txn: pd.DataFrame, own: bool = False) -> pd.DataFrame:
    """Transactions in date order, ties by ``txn_id``: a stable sort, skipped when the frame is
    already in that order (as a Parquet store keeps it); with ``own``, such a frame is not
    copied either (see :func:`_indexed`)."""
    keys = [c for c in (C.date, C.txn_id) if c in txn]
    d = txn[C.date].to_numpy()
    in_order = len(txn) < 2 or bool((d[1:] >= d[:-1]).all())
    if in_order and len(keys) > 1 and len(txn) > 1:
        tie = d[1:] == d[:-1]
        ids = txn[C.txn_id].array
        try:
            in_order = bool(pd.array(ids[1:][tie] >= ids[:-1][tie]).fillna(False).all())
        except TypeError:  # ids of mixed types: let the sort decide
            in_order = False
    return (
        _indexed(txn, own)
        if in_order
        else txn.sort_values(keys, kind="stable").reset_index(drop=True)
    )


def _group_order(codes: np.ndarray) -> np.ndarray:
    """Positions of non-negative integer ``codes`` in a stable order by code. One sort of the
    unique keys ``code * n + position`` (numpy's vectorised sort) is several times faster than
    a stable argsort; codes too large for such keys take the argsort."""
    n = len(codes)
    if not n or int(codes.max()) >= (2**62) // n:
        return np.argsort(codes, kind="stable")
    key = codes.astype(np.int64) * n + np.arange(n)
    key.sort()
    return key % n


def _months(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of days since the epoch, looked up in a table of the days spanned
    (calendar arithmetic on every value costs several times more)."""
    if len(days) < 2 or int(days.max()) - int(days.min()) > len(days):
        return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    lo = int(days.min())
    table = np.arange(lo, int(days.max()) + 1).astype("datetime64[D]").astype("datetime64[M]")
    return table.astype(np.int64)[days - lo]


def _run_starts(groups: np.ndarray) -> np.ndarray:
    return np.r_[True, groups[1:] != groups[:-1]] if len(groups) else np.zeros(0, dtype=bool)


def _running_totals(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Running sum within each run of equal (sorted) ``groups``, added in order from zero so that
    every total is bit for bit the ``bincount`` of the same transactions."""
    start = _run_starts(groups)
    pos = np.arange(len(values))
    rank = pos - np.maximum.accumulate(np.where(start, pos, 0)) if len(values) else pos
    top = int(rank.max()) if len(rank) else 0
    if top > 64:  # a very long run: one cumulative sum (exact to far below a cent)
        cs = np.cumsum(values)
        return cs - (cs - values)[pos - rank]
    out = values.astype(float, copy=True)
    by_rank = np.argsort(rank.astype(np.int8), kind="stable")  # small ints: a radix sort
    edges = np.cumsum(np.bincount(rank, minlength=top + 1))
    for r in range(1, top + 1):
        idx = by_rank[edges[r - 1] : edges[r]]
        out[idx] += out[idx - 1]
    return out


def month_ends(start, end) -> pd.DatetimeIndex:
    """Month-end dates from the month of ``start`` to the month of ``end`` inclusive."""
    return pd.date_range(
        pd.Timestamp(start) + pd.offsets.MonthEnd(0),
        pd.Timestamp(end) + pd.offsets.MonthEnd(0),
        freq="ME",
    )


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
    return {
        "open_ar": total,
        "current_ar": current,
        "past_due_ar": round(total - current, 2),
        "past_due_share": (total - current) / total if total > 0 else None,
        "aging": amounts,
    }


class Ledger:
    """Invoices and their transactions, ready to be read at any close date.

    Parameters
    ----------
    invoices, transactions, customers
        Canonical frames (:mod:`arlib.schemas`); validated unless ``validate=False``.
    own
        The frames are handed over (the caller keeps no other use of them, e.g. frames just
        read): when already indexed 0..n-1 (and transactions in date order) the ledger keeps
        them as they are instead of copies. A big unit's read is ~70 MB smaller per million rows.
    invoice_codes
        Each transaction's invoice position (-1 when none), as the ledger would find it, found
        by the caller already (the snapshot reader, with Arrow's hash kernel on the text as
        read). Used only with ``own`` frames the ledger keeps in their order; otherwise, or
        when its length differs, the positions are found here.
    """

    def __init__(
        self,
        invoices: pd.DataFrame,
        transactions: pd.DataFrame,
        customers: pd.DataFrame | None = None,
        validate: bool = True,
        own: bool = False,
        invoice_codes: np.ndarray | None = None,
    ):
        if validate:
            invoices = Invoices.validate(invoices, lazy=True)
            transactions = Transactions.validate(transactions, lazy=True)
            if customers is not None:
                customers = Customers.validate(customers, lazy=True)
        self.invoices = _indexed(invoices, own)
        self.transactions = _sorted_by_date(transactions, own)
        self.customers = customers
        inv, txn = self.invoices, self.transactions
        kept = own and txn is transactions and invoice_codes is not None
        if not (kept and len(invoice_codes) == len(txn)):
            invoice_codes = None
        self._inv_day = _days(inv[C.invoice_date])
        self._due_day = _days(inv[C.due_date])
        self._amount = inv[C.amount].to_numpy(dtype=float)
        self._txn_day = _days(txn[C.date])
        self._txn_amount = txn[C.amount].to_numpy(dtype=float)
        codes = (
            _positions(txn[C.invoice_id], inv[C.invoice_id])
            if invoice_codes is None
            else np.asarray(invoice_codes, dtype=np.int64)
        )
        self._txn_code = codes  # -1: not applied to a known invoice
        self._kind = _positions(txn[C.kind], TXN_KINDS)  # index into TXN_KINDS, -1: unknown
        settling = np.isin(self._kind, [TXN_KINDS.index(k) for k in SETTLING_KINDS])
        self._settling = settling & (codes >= 0)

    # -- numeric core -----------------------------------------------------------------------
    def _prefix(self, day: int) -> int:
        return int(np.searchsorted(self._txn_day, day, side="right"))

    def settled_at(self, as_of) -> np.ndarray:
        """Settled amount (payments + credit notes + write-offs) per invoice at close of ``as_of``."""
        n = self._prefix(_day(as_of))
        keep = self._settling[:n]
        return np.bincount(
            self._txn_code[:n][keep],
            weights=self._txn_amount[:n][keep],
            minlength=len(self._amount),
        )

    def _open_mask(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        open_amt = self._amount - self.settled_at(pd.Timestamp(day, unit="D"))
        return (self._inv_day <= day) & (open_amt > CENT), open_amt

    @cached_property
    def _by_invoice(self) -> dict[str, np.ndarray]:
        """Settling transactions grouped by invoice (date order kept), with running totals, the
        day each invoice is first covered (``close``) and search keys ``invoice * span + day``."""
        sel = np.flatnonzero(self._settling)
        sel = sel[_group_order(self._txn_code[sel])]
        code, day = self._txn_code[sel], self._txn_day[sel]
        cum = _running_totals(self._txn_amount[sel], code)
        covered = np.flatnonzero(~(self._amount[code] - cum > CENT))
        covered = covered[_run_starts(code[covered])]
        close = np.full(len(self._amount), _NEVER, dtype=np.int64)
        close[code[covered]] = day[covered]
        close[~(self._amount > CENT)] = _BEFORE_ALL  # never open
        first = np.full(len(self._amount), _NEVER, dtype=np.int64)
        starts = _run_starts(code)
        first[code[starts]] = day[starts]
        lo = int(day.min()) if len(day) else 0
        span = (int(day.max()) if len(day) else 0) - lo + 2
        return {
            "code": code,
            "cum": cum,
            "close": close,
            "first": first,
            "lo": lo,
            "span": span,
            "key": code * span + (day - lo),
        }

    def _settled_on(self, inv: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Settled amount of invoice ``inv[j]`` at the close of ``days[j]``, pairwise."""
        b = self._by_invoice
        out = np.zeros(len(inv))
        p = np.flatnonzero(days >= b["first"][inv])  # others have no settlement yet
        q = inv[p] * b["span"] + np.clip(days[p] - b["lo"], -1, b["span"] - 1)
        pos = np.searchsorted(b["key"], q, side="right") - 1
        out[p] = b["cum"][pos]
        return out

    def _open_pairs(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (invoice, date) where the invoice is open at the close of ``days[k]`` (ascending
        days): invoice positions, date positions ``k`` and open amounts, by invoice then date."""
        if (
            self._txn_amount[self._settling] <= 0
        ).any():  # running totals not monotone: date by date
            pairs = [
                (np.flatnonzero(m), np.full(m.sum(), k), a[m])
                for k, (m, a) in enumerate(self._open_mask(int(d)) for d in days)
            ]
            inv, k, amt = (
                (np.concatenate(x) for x in zip(*pairs)) if pairs else (np.zeros(0, int),) * 3
            )
            order = np.lexsort((k, inv))
            return inv[order], k[order], amt[order]
        k0 = np.searchsorted(days, self._inv_day, side="left")
        n = np.clip(np.searchsorted(days, self._by_invoice["close"], side="left") - k0, 0, None)
        inv = np.repeat(np.arange(len(n)), n)
        k = np.arange(len(inv)) - np.repeat(np.cumsum(n) - n - k0, n)
        return inv, k, self._amount[inv] - self._settled_on(inv, days[k])

    # -- frames -----------------------------------------------------------------------------
    def open_items(self, as_of, thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """Invoices open at the close of ``as_of`` with ``open_amount``, ``days_past_due`` and ``bucket``."""
        day = _day(as_of)
        inv, _, open_amt = self._open_pairs(np.array([day], dtype=np.int64))
        out = self.invoices.iloc[inv].copy()
        out[C.open_amount] = np.round(open_amt, 2)
        dpd = day - self._due_day[inv]
        out[C.days_past_due] = dpd.astype(np.int64)
        out[C.bucket] = bucket_categorical(dpd, check_thresholds(thresholds))
        return out.reset_index(drop=True)

    def aging(self, as_of, thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """Open amount, count and share of open AR per bucket (every bucket listed, even empty):
        ``aging_table(open_items(as_of))`` from the arrays, without building the open items.
        As there, the amount is the sum of the open amounts rounded to the cent."""
        t = check_thresholds(thresholds)
        labels = bucket_labels(t)
        day = _day(as_of)
        inv, _, open_amt = self._open_pairs(np.array([day], dtype=np.int64))
        b = bucket_index(day - self._due_day[inv], t)
        amount = np.bincount(b, np.round(open_amt, 2), len(labels)).astype(float).round(2)
        total = amount.sum()
        return pd.DataFrame(
            {
                C.bucket: pd.Categorical(labels, labels, ordered=True),
                C.amount: amount,
                C.count: np.bincount(b, minlength=len(labels)),
                C.share: amount / total if total > 0 else 0.0,
            }
        )

    def history(
        self, dates: Sequence, thresholds: Sequence[int] = DEFAULT_THRESHOLDS
    ) -> pd.DataFrame:
        """Open balance per bucket at each date (e.g. month-ends): ``month_end, bucket, amount, count``."""
        t = check_thresholds(thresholds)
        labels = bucket_labels(t)
        dates = pd.DatetimeIndex(dates)
        if not len(dates):
            out = pd.DataFrame(columns=[C.month_end, C.bucket, C.amount, C.count])
            out[C.bucket] = pd.Categorical(out[C.bucket], labels, ordered=True)
            return out
        days = np.array([_day(d) for d in dates], dtype=np.int64)
        order = np.argsort(days, kind="stable")
        inv, k, open_amt = self._open_pairs(days[order])
        nb, slots = len(labels), len(dates) * len(labels)
        slot = k * nb + bucket_index(days[order][k] - self._due_day[inv], t)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        amt = np.bincount(slot, weights=open_amt, minlength=slots).reshape(-1, nb)[rank]
        cnt = np.bincount(slot, minlength=slots).reshape(-1, nb)[rank]
        return pd.DataFrame(
            {
                C.month_end: dates.repeat(nb),
                C.bucket: pd.Categorical(labels * len(dates), labels, ordered=True),
                C.amount: np.round(amt.ravel(), 2),
                C.count: cnt.ravel(),
            }
        )

    def balances(
        self, dates: Sequence, thresholds: Sequence[int] = DEFAULT_THRESHOLDS
    ) -> pd.DataFrame:
        """Open, current and past-due AR at each date, one row per date (index: the dates)."""
        h = self.history(dates, thresholds)
        wide = h.pivot_table(
            index=C.month_end, columns=C.bucket, values=C.amount, aggfunc="sum", observed=False
        )
        current = wide.iloc[:, 0]
        total = wide.sum(axis=1)
        return pd.DataFrame(
            {
                "open_ar": total.round(2),
                "current_ar": current.round(2),
                "past_due_ar": (total - current).round(2),
            }
        )

    def flows(self, freq: str = "M") -> pd.DataFrame:
        """Invoiced, collected, credited, written off and recovered amounts per period.

        ``collected`` is all cash (applied or not); ``recovered`` is cash on written-off invoices.
        """
        named = self.transactions[C.kind].notna().to_numpy()
        dated = not (
            self.invoices[C.invoice_date].isna().any() or self.transactions[C.date].isna().any()
        )
        if freq != "M" or not dated or not (len(self.invoices) or named.any()):
            return self._flows_grouped(freq)
        inv_m, txn_m = _months(self._inv_day), _months(self._txn_day[named])
        m0 = int(min(inv_m.min(initial=_NEVER), txn_m.min(initial=_NEVER)))
        n = int(max(inv_m.max(initial=_BEFORE_ALL), txn_m.max(initial=_BEFORE_ALL))) - m0 + 1
        cols = {
            "invoiced": np.bincount(inv_m - m0, weights=np.nan_to_num(self._amount), minlength=n)
        }
        kind, amount = self._kind[named], np.nan_to_num(self._txn_amount[named])
        for k, name in _FLOW_NAMES.items():
            sel = kind == TXN_KINDS.index(k)
            cols[name] = np.bincount(txn_m[sel] - m0, weights=amount[sel], minlength=n)
        index = pd.period_range(
            pd.Period(np.datetime64(m0, "M"), freq="M"), periods=n, freq="M", name="period"
        )
        return pd.DataFrame(cols, index=index).round(2)

    def _flows_grouped(self, freq: str) -> pd.DataFrame:
        inv = self.invoices.groupby(self.invoices[C.invoice_date].dt.to_period(freq))[
            C.amount
        ].sum()
        txn = self.transactions
        by_kind = (
            txn.groupby([txn[C.date].dt.to_period(freq), C.kind])[C.amount]
            .sum()
            .unstack(fill_value=0.0)
        )
        out = pd.concat(
            [
                inv.rename("invoiced"),
                by_kind.reindex(columns=list(_FLOW_NAMES)).rename(columns=_FLOW_NAMES),
            ],
            axis=1,
        )
        out = out.fillna(0.0).sort_index()
        if len(out):
            full = pd.period_range(out.index.min(), out.index.max(), freq=freq)
            out = out.reindex(full, fill_value=0.0)
        out.index.name = "period"
        return out.round(2)

    def settlement(self) -> pd.DataFrame:
        """Per invoice: ``settled_date`` (when settlements first cover the amount; NaT if never),
        ``days_to_pay`` and signed ``days_late`` (settled - due), and ``settled_by`` (kind of the
        closing transaction). Computed once per ledger (a report asks for it dozens of times);
        each call gets its own copy."""
        return self._settlement.copy()

    @cached_property
    def _settlement(self) -> pd.DataFrame:
        txn = self.transactions.loc[self._settling]
        codes = self._txn_code[self._settling]
        order = np.lexsort((np.arange(len(codes)), codes))  # by invoice, then date order kept
        codes, txn = codes[order], txn.iloc[order]
        cum = pd.Series(txn[C.amount].to_numpy()).groupby(codes).cumsum().to_numpy()
        done = cum >= self._amount[codes] - CENT
        first = pd.DataFrame(
            {
                "code": codes[done],
                C.settled_date: txn[C.date].to_numpy()[done],
                "settled_by": txn[C.kind].to_numpy()[done],
            }
        ).drop_duplicates("code")
        out = self.invoices[
            [C.invoice_id, C.customer_id, C.invoice_date, C.due_date, C.amount, C.disputed]
        ].copy()
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


def open_items_only(ledger: Ledger) -> bool:
    """True when the ledger was read from an open-item list (``source_options.frames.
    transactions: none``, recorded in its ``load_report``): its paid invoices and collections
    are unknown, not zero, so figures made of them are not defined."""
    return bool(getattr(getattr(ledger, "load_report", None), "open_items_only", False))


#: ``DataFrame.attrs`` key of the one sentence a table without rows is shown with instead of
#: "no rows" (:func:`arlib.report.tables.table`): why it is empty
EMPTY_REASON = "empty_reason"


def needs_history(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` without rows (same columns), saying that ``what`` needs the payment history an
    open-item list does not hold (:data:`EMPTY_REASON`).

    >>> needs_history(pd.DataFrame({"a": [1.0]}), "The roll-forward").attrs[EMPTY_REASON]
    'The roll-forward: not available without payment history; the source is an open-item list.'
    """
    out = frame.iloc[:0].copy()
    out.attrs[EMPTY_REASON] = (
        f"{what}: not available without payment history; the source is an open-item list."
    )
    return out


def aging_table(open_items: pd.DataFrame) -> pd.DataFrame:
    """Aging from open items: ``bucket, amount, count, share`` with every bucket listed."""
    g = open_items.groupby(C.bucket, observed=False)[C.open_amount]
    out = pd.DataFrame({C.amount: g.sum().round(2), C.count: g.size()})
    total = out[C.amount].sum()
    out[C.share] = out[C.amount] / total if total > 0 else 0.0
    return out.reset_index()


_FNV = np.uint64(0x100000001B3)  # the 64-bit FNV prime: odd, so each mixing step is one-to-one
_NULL = np.uint64(0x9E3779B97F4A7C15)  # the hash of a missing value in a text column


def _column_hashes(col: pd.Series) -> np.ndarray:
    """Each value's 64-bit hash (:func:`pandas.util.hash_pandas_object`). Text with few distinct
    values is hashed once per distinct value (``categorize``); mostly distinct text (ids) value
    by value, which skips building a table of 1 M distinct strings (5x faster). Both give the
    same hashes once missing values (hashed differently by the two) all get :data:`_NULL`: the
    choice, made on a sample, only sets the speed."""
    categorize = True
    if col.dtype == object and len(col) > 4096:
        sample = col.iloc[:: max(len(col) // 2048, 1)]
        categorize = sample.nunique(dropna=False) < len(sample) // 2
    out = pd.util.hash_pandas_object(col, index=False, categorize=categorize).to_numpy()
    if col.dtype == object:
        out[col.isna().to_numpy()] = _NULL
    return out


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """Each row's 64-bit hash of all its values, column by column in order (FNV-style mixing:
    a changed value, or two values swapped between columns, changes it).

    >>> df = pd.DataFrame({"a": ["x", "y"], "b": ["y", "x"]})
    >>> h = row_hashes(df)
    >>> bool(h[0] != h[1]), bool((row_hashes(df) == h).all())
    (True, True)
    """
    return _mixed(df, {})


def _mixed(df: pd.DataFrame, known: dict) -> np.ndarray:
    """:func:`row_hashes` with the hashes of some columns given (``known``: name -> hashes)."""
    rows = np.zeros(len(df), dtype=np.uint64)
    for name in df.columns:
        got = known.get(name)
        rows ^= _column_hashes(df[name]) if got is None else got
        rows *= _FNV
    return rows


def _text_only(col: pd.Series) -> bool:
    return col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) == "string"


def _known_hashes(ledger: Ledger) -> dict[str, dict[str, np.ndarray]]:
    """Column hashes of ``invoices.invoice_id`` and, from them, of ``transactions.invoice_id``:
    a transaction's id that names an invoice is that invoice's id (equal text, equal hash), so
    only the others (no invoice, or one the ledger does not hold) are hashed. Only when both
    columns hold text alone (the same value then always hashes the same way)."""
    ids, txn_ids = ledger.invoices[C.invoice_id], ledger.transactions[C.invoice_id]
    if not (len(ids) and len(txn_ids) and _text_only(ids) and _text_only(txn_ids)):
        return {}
    inv_hash = _column_hashes(ids)
    codes = ledger._txn_code
    txn_hash = inv_hash[np.maximum(codes, 0)]
    other = np.flatnonzero(codes < 0)
    if len(other):
        txn_hash[other] = _column_hashes(txn_ids.iloc[other])
    return {"invoices": {C.invoice_id: inv_hash}, "transactions": {C.invoice_id: txn_hash}}


def fingerprint(ledger: Ledger) -> dict:
    """Input fingerprint for the audit stamp: a content hash, row counts and control totals.

    ``sha256`` hashes, per frame, its name, its column names and the multiset of its rows: each
    row's 64-bit hash (:func:`row_hashes`, every value of the row), sorted.
    Any changed value, added, removed or duplicated row or renamed column changes it; the same
    rows in another order (a frame re-sorted) do not. No copy of the frames is made.

    >>> import pandas as pd
    >>> inv = pd.DataFrame({"invoice_id": ["A", "B"], "business_unit": "X", "customer_id": "c",
    ...     "invoice_date": pd.to_datetime(["2024-01-01"] * 2), "due_date": pd.to_datetime(
    ...     ["2024-01-31"] * 2), "amount": [100.0, 50.0], "currency": "EUR", "disputed": False})
    >>> txn = pd.DataFrame({"txn_id": ["p"], "business_unit": "X", "customer_id": "c",
    ...     "invoice_id": ["A"], "date": pd.to_datetime(["2024-02-10"]), "amount": [40.0],
    ...     "kind": "payment"})
    >>> a = fingerprint(Ledger(inv, txn))
    >>> fingerprint(Ledger(inv.iloc[::-1], txn)) == a  # the same rows in another order
    True
    >>> fingerprint(Ledger(inv.assign(amount=[100.0, 50.01]), txn))["sha256"] == a["sha256"]
    False
    """
    h = hashlib.sha256()
    frames = {"invoices": ledger.invoices, "transactions": ledger.transactions}
    if ledger.customers is not None:
        frames["customers"] = ledger.customers
    known = _known_hashes(ledger)
    for name, df in frames.items():
        rows = _mixed(df, known.get(name, {}))
        rows.sort()  # a multiset of rows: their order is not data
        h.update(name.encode())
        h.update("\x1f".join(map(str, df.columns)).encode())
        h.update(len(rows).to_bytes(8, "little"))
        h.update(rows.tobytes())
    txn = ledger.transactions
    return {
        "sha256": h.hexdigest(),
        "rows": {k: int(len(v)) for k, v in frames.items()},
        "control_totals": {
            "invoiced": round(float(ledger.invoices[C.amount].sum()), 2),
            **{
                f"{k}_total": round(float(v), 2)
                for k, v in txn.groupby(C.kind)[C.amount].sum().items()
            },
        },
    }


class LedgerArrays(NamedTuple):
    """A ledger's numeric core, shared read-only with the modules that read it many times
    (:mod:`arlib.provision`): per invoice ``inv_day``, ``due_day`` (days since the epoch) and
    ``amount``; per transaction (in the ledger's date order) ``txn_day``, ``txn_amount``,
    ``txn_code`` (position of its invoice, -1 when none) and ``txn_kind`` (index into
    :data:`arlib.schemas.TXN_KINDS`, -1 when unknown)."""

    inv_day: np.ndarray
    due_day: np.ndarray
    amount: np.ndarray
    txn_day: np.ndarray
    txn_amount: np.ndarray
    txn_code: np.ndarray
    txn_kind: np.ndarray


def ledger_arrays(ledger: Ledger) -> LedgerArrays:
    """The arrays the ledger was built with (no copies, no parsing: do not write to them)."""
    return LedgerArrays(
        ledger._inv_day,
        ledger._due_day,
        ledger._amount,
        ledger._txn_day,
        ledger._txn_amount,
        ledger._txn_code,
        ledger._kind,
    )


def open_pairs(ledger: Ledger, dates: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (invoice, date) where the invoice is open at the close of ``dates[k]`` (ascending):
    invoice positions, date positions ``k`` and unrounded open amounts, by invoice then date.
    For one date, the rows of :meth:`Ledger.open_items` in the same order (whose
    ``open_amount`` is this amount rounded to the cent)."""
    days = np.array([_day(d) for d in dates], dtype=np.int64)
    if len(days) > 1 and (np.diff(days) <= 0).any():
        raise ValueError("open_pairs: dates must be strictly ascending")
    return ledger._open_pairs(days)


def open_by_date(ledger: Ledger, dates: Sequence) -> dict[str, np.ndarray]:
    """The open items of :meth:`Ledger.open_items` at every date of ``dates`` from one pass, as
    arrays: ``invoice`` (row of ``ledger.invoices``), ``date`` (position in ``dates``),
    ``open_amount`` (rounded to the cent, as there) and ``days_past_due``; by invoice, then date.

    >>> from arlib import demo
    >>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
    >>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
    >>> got = open_by_date(led, ["2024-06-30", "2024-03-31"])
    >>> items = led.open_items("2024-03-31").sort_values(C.invoice_id)
    >>> at = got["date"] == 1
    >>> list(led.invoices[C.invoice_id].to_numpy()[got["invoice"][at]]) == list(items[C.invoice_id])
    True
    >>> bool((got["open_amount"][at] == items[C.open_amount]).all())
    True
    """
    days = np.array([_day(d) for d in dates], dtype=np.int64)
    order = np.argsort(days, kind="stable")  # the engine reads the dates in ascending order
    inv, k, amount = ledger._open_pairs(days[order])
    return {
        "invoice": inv,
        "date": order[k],
        "open_amount": np.round(amount, 2),
        "days_past_due": days[order][k] - ledger._due_day[inv],
    }


def settlement_arrays(ledger: Ledger, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``columns`` of :meth:`Ledger.settlement` (and ``index``, its row labels) as arrays,
    read from the frame the ledger computed once, without the full copy each
    :meth:`Ledger.settlement` call makes (a caller that needs a few columns of a million
    invoices, many times). The arrays are the ledger's own: read them, never write to them.

    >>> from arlib import demo
    >>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
    >>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
    >>> got = settlement_arrays(led, [C.invoice_id, "days_late"])
    >>> st = led.settlement()
    >>> bool((got[C.invoice_id] == st[C.invoice_id].to_numpy()).all())
    True
    >>> bool(np.array_equal(got["days_late"], st["days_late"].to_numpy(), equal_nan=True))
    True
    """
    st = ledger._settlement
    return {"index": st.index.to_numpy()} | {c: st[c].to_numpy() for c in columns}


def open_item_columns(
    ledger: Ledger, as_of, columns: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """``ledger.open_items(as_of)[[*columns, "open_amount", "days_past_due"]]``, value for value
    and row for row, and each row's position in ``ledger.invoices``: a caller that asks at
    many cut-offs (the cash backtests) copies the few invoice columns it reads, not all of
    them, and finds an invoice's other arrays by its position, not by its id.

    >>> from arlib import demo
    >>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
    >>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
    >>> pos, got = open_item_columns(led, "2024-05-31", [C.invoice_id])
    >>> want = led.open_items("2024-05-31")[[C.invoice_id, C.open_amount, C.days_past_due]]
    >>> got.equals(want), bool((led.invoices[C.invoice_id].to_numpy()[pos] == got[C.invoice_id]).all())
    (True, True)
    """
    day = _day(as_of)
    inv, _, open_amt = ledger._open_pairs(np.array([day], dtype=np.int64))
    out = ledger.invoices[list(columns)].iloc[inv].reset_index(drop=True)
    out[C.open_amount] = np.round(open_amt, 2)
    out[C.days_past_due] = (day - ledger._due_day[inv]).astype(np.int64)
    return inv, out


def settlement_frame(ledger: Ledger) -> pd.DataFrame:
    """The ledger's own :meth:`Ledger.settlement` frame, computed once, without the copy each
    :meth:`Ledger.settlement` call makes (a million-invoice unit's costs ~0.2 s and ~100 MB):
    for readers that select from it, never for writers (write to a selection or a copy).

    >>> from arlib import demo
    >>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
    >>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
    >>> settlement_frame(led).equals(led.settlement()), settlement_frame(led) is settlement_frame(led)
    (True, True)
    """
    return ledger._settlement
