"""The allowance roll-forward split the way IFRS 7 (35H) and an auditor read it.

opening + new provisions - releases - utilisation (write-offs) + recoveries + FX = closing.

Each month-end's allowance is allocated to the open items it covers: a collective bucket's
allowance to the bucket's items in proportion to their open amounts, a specifically provisioned
customer's allowance to its items likewise, in whole cents by largest remainder (so the items'
allowances add up to the booked figure exactly). For every invoice, the month's movement is
``closing - opening + written off - recovered`` (its share of the charge): where positive it is
a *new provision* (a new item, or an item that aged or became doubtful), where negative a
*release* (an item paid, credited or moved to a lower rate). New provisions less releases is the
charge of :func:`arlib.provision.allowance.allowance_rollforward`, to the cent.

FX: amounts are converted to the unit's currency once, at each transaction's date
(:mod:`arlib.io.fx`); open items are not revalued, so the FX line is 0 by construction.

>>> allocate(1001, [1, 1, 1])
[334, 334, 333]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.ledger import Ledger, ledger_arrays
from arlib.provision.allowance import ALLOWANCE, SPECIFIC, TOTAL, cents, to_cents
from arlib.provision.monthends import ROW
from arlib.schemas import RECOVERY, TXN_KINDS, WRITE_OFF, C

SPLIT_COLUMNS = [
    "opening",
    "new_provisions",
    "releases",
    "charge",
    "write_offs",
    "recoveries",
    "fx",
    "closing",
]


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` cents shared in proportion to ``weights`` (largest remainder, ties to the
    first): whole cents that add up to ``total`` exactly."""
    w = np.asarray(weights, dtype=float)
    if not len(w):
        return []
    if w.sum() <= 0:
        w = np.ones(len(w))
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rest = int(total - base.sum())
    order = np.argsort(-(exact - base), kind="stable")[:rest]
    base[order] += 1
    return base.tolist()


def item_allowances(
    items: pd.DataFrame,
    table: pd.DataFrame,
    flagged: pd.DataFrame,
    specific: pd.DataFrame,
    pool_of: pd.Series | None = None,
) -> pd.Series:
    """Allowance in cents per invoice at one month-end: ``table``'s collective buckets over the
    pool ``items``, ``specific``'s per-customer allowance over the ``flagged`` items. A table
    booked pooled (``attrs["pool_lines"]``) is shared out per pool and bucket, ``pool_of``
    giving each customer's pool (:func:`arlib.provision.pools.pool_of`)."""
    parts = []
    lines = table.attrs.get("pool_lines")
    if lines and pool_of is not None:
        by_line = {(r["pool"], r[C.bucket]): r[ALLOWANCE] for r in lines}
        keys = list(
            zip(items[C.customer_id].map(pool_of).fillna("unknown"), items[C.bucket].astype(str))
        )
    else:
        by_bucket = table.set_index(C.bucket)[ALLOWANCE].drop([SPECIFIC, TOTAL], errors="ignore")
        by_line = dict(by_bucket.items())
        keys = list(items[C.bucket].astype(str))
    for line, grp in _slim(items, keys).groupby("line_", sort=False):
        total = to_cents(by_line.get(line, 0.0))
        parts.append(
            pd.Series(allocate(total, grp["cents_"].to_numpy()), index=grp["id_"].to_numpy())
        )
    spec = specific.set_index(C.customer_id)[ALLOWANCE] if len(specific) else pd.Series(dtype=float)
    for cust, grp in _slim(flagged, flagged[C.customer_id].to_numpy()).groupby("line_", sort=False):
        total = to_cents(spec.get(cust, 0.0))
        parts.append(
            pd.Series(allocate(total, grp["cents_"].to_numpy()), index=grp["id_"].to_numpy())
        )
    out = pd.concat(parts) if parts else pd.Series(dtype=np.int64)
    return out.astype(np.int64)


def _slim(items: pd.DataFrame, keys) -> pd.DataFrame:
    """The three columns shared out: ``line_`` (``keys``), ``cents_`` (open amount), ``id_``."""
    return pd.DataFrame(
        {
            "line_": keys,
            "cents_": cents(items[C.open_amount]),
            "id_": items[C.invoice_id].to_numpy(),
        }
    )


def shares(totals: np.ndarray, group: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """:func:`allocate` of every group at once: ``totals[g]`` cents shared over the items of
    group ``g`` (``group``: each item's group) in proportion to ``weights`` (whole cents, so
    that their sums are exact in any order), largest remainder, ties to the group's first
    item; the same cents as :func:`allocate` group by group.

    >>> shares(np.array([1001, 5]), np.array([0, 1, 0, 0]), np.array([1, 7, 1, 1])).tolist()
    [334, 5, 334, 333]
    """
    totals = np.asarray(totals, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    w = np.asarray(weights, dtype=float)
    n = len(totals)
    wsum = np.bincount(group, weights=w, minlength=n)
    if (wsum <= 0).any():  # as allocate: no weight at all, equal shares
        w = np.where((wsum <= 0)[group], 1.0, w)
        wsum = np.bincount(group, weights=w, minlength=n)
    exact = totals[group] * w / wsum[group]
    base = np.floor(exact).astype(np.int64)
    rest = totals.copy()
    np.subtract.at(rest, group, base)
    order = np.lexsort((np.arange(len(w)), -(exact - base), group))
    count = np.bincount(group, minlength=n)
    rank = np.empty(len(w), dtype=np.int64)
    rank[order] = np.arange(len(w)) - np.repeat(np.cumsum(count) - count, count)
    return base + (rank < rest[group])


def item_cents(
    items: pd.DataFrame,
    table: pd.DataFrame,
    flagged: pd.DataFrame,
    specific: pd.DataFrame,
    pool_of: pd.Series | None = None,
) -> pd.Series:
    """:func:`item_allowances` of items that carry their row in ``ledger.invoices``
    (:data:`arlib.provision.monthends.ROW`, as :func:`arlib.provision.monthends.month_end_items`
    gives them): the same cents per invoice, indexed by that row, each part shared out in one
    pass (:func:`shares`)."""
    lines = table.attrs.get("pool_lines")
    if lines and pool_of is not None:
        by_line = {(r["pool"], r[C.bucket]): r[ALLOWANCE] for r in lines}
        pool = items[C.customer_id].map(pool_of).fillna("unknown")
        bucket = items[C.bucket].astype(str).to_numpy()
        keys = pd.MultiIndex.from_arrays([pool.to_numpy(), bucket])
    else:
        by_bucket = table.set_index(C.bucket)[ALLOWANCE].drop([SPECIFIC, TOTAL], errors="ignore")
        by_line, keys = dict(by_bucket.items()), _bucket_groups(items[C.bucket])
    spec = specific.set_index(C.customer_id)[ALLOWANCE] if len(specific) else pd.Series(dtype=float)
    parts = [(items, keys, by_line), (flagged, flagged[C.customer_id].to_numpy(), spec)]
    out = []
    for frame, key, allowance in parts:
        group, uniques = key if isinstance(key, tuple) else pd.factorize(key)
        totals = [to_cents(allowance.get(u, 0.0)) for u in uniques]
        got = shares(np.asarray(totals, dtype=np.int64), group, cents(frame[C.open_amount]))
        out.append(pd.Series(got, index=frame[ROW].to_numpy(dtype=np.int64)))
    return pd.concat(out).astype(np.int64)


def _bucket_groups(bucket: pd.Series):
    """``(group of each item, bucket label of each group)``: the categorical's own codes when
    every item has a bucket (no text made per item), else the labels factorized. Which number
    a group gets does not change :func:`shares`."""
    if isinstance(bucket.dtype, pd.CategoricalDtype):
        codes = bucket.cat.codes.to_numpy()
        if not (codes < 0).any():
            return codes, [str(c) for c in bucket.cat.categories]
    return bucket.astype(str).to_numpy()


def split(
    allowances: Sequence[pd.Series], dates: Sequence, transactions: pd.DataFrame
) -> pd.DataFrame:
    """The roll-forward from item allowances (cents per invoice) at each of ``dates``: one row
    per date after the first, columns :data:`SPLIT_COLUMNS` in currency units.

    Write-offs and recoveries are the transactions dated in ``(previous date, date]``.
    """
    dates = pd.DatetimeIndex(dates)
    used = [_used(transactions, dates[i - 1], dates[i]) for i in range(1, len(dates))]
    return _split(allowances, dates, used)


def split_rows(allowances: Sequence[pd.Series], dates: Sequence, ledger: Ledger) -> pd.DataFrame:
    """:func:`split` of item allowances indexed by the items' rows in ``ledger.invoices``
    (:func:`item_cents`): the write-offs and recoveries of each period found by the ledger's
    invoice numbers instead of their ids (one written off on an invoice the ledger does not
    hold keeps its id apart, as there). The same figures, without matching ids."""
    dates = pd.DatetimeIndex(dates)
    used = [_used_rows(ledger, dates[i - 1], dates[i]) for i in range(1, len(dates))]
    return _split(allowances, dates, used)


def _split(allowances: Sequence[pd.Series], dates: pd.DatetimeIndex, used: list) -> pd.DataFrame:
    # every invoice of every date numbered once (matching ids date by date costs seconds)
    parts = [np.asarray(a.index) for a in allowances] + [u[0] for u in used]
    number, ids = pd.factorize(np.concatenate(parts)) if parts else (np.zeros(0, int), [])
    ends = np.cumsum([len(x) for x in parts])
    number = np.split(number, ends[:-1])
    rows = []
    for i in range(1, len(dates)):
        opening, closing = allowances[i - 1], allowances[i]
        _, wo, rec = used[i - 1]
        # per invoice: closing - opening + written off - recovered, in whole cents
        delta = np.zeros(len(ids), dtype=np.int64)
        np.add.at(delta, number[i], closing.to_numpy(dtype=np.int64))
        np.subtract.at(delta, number[i - 1], opening.to_numpy(dtype=np.int64))
        np.add.at(delta, number[len(allowances) + i - 1], wo - rec)
        new, rel = int(delta[delta > 0].sum()), int(-delta[delta < 0].sum())
        o, c = int(opening.sum()), int(closing.sum())
        rows.append((dates[i], o, new, rel, new - rel, int(wo.sum()), int(rec.sum()), 0, c))
    out = pd.DataFrame(
        [r[1:] for r in rows],
        columns=SPLIT_COLUMNS,
        index=pd.DatetimeIndex([r[0] for r in rows], name=C.month_end),
    )
    return out / 100


def _used(transactions: pd.DataFrame, lo, hi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The write-offs and recoveries dated in ``(lo, hi]``: their invoice ids (``""`` for
    none), and per transaction the cents written off and the cents recovered (0 for the
    other kind)."""
    txn = transactions.loc[(transactions[C.date] > lo) & (transactions[C.date] <= hi)]
    txn = txn.loc[txn[C.kind].isin([WRITE_OFF, RECOVERY])]
    key = np.asarray(txn[C.invoice_id].fillna("").astype(str), dtype=object)
    amount = cents(txn[C.amount])
    is_wo = (txn[C.kind] == WRITE_OFF).to_numpy()
    return key, np.where(is_wo, amount, 0), np.where(is_wo, 0, amount)


def _used_rows(ledger: Ledger, lo, hi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_used` keyed by invoice row: the write-offs and recoveries dated in ``(lo, hi]``
    (the ledger keeps its transactions in date order); one on no invoice the ledger holds is
    keyed ``-1 - n``, ``n`` numbering its id (empty for none) within the period."""
    a = ledger_arrays(ledger)
    stamps = ledger.transactions[C.date].to_numpy()
    first, last = (
        np.searchsorted(stamps, np.datetime64(pd.Timestamp(x)), "right") for x in (lo, hi)
    )
    kind = a.txn_kind[first:last]
    is_wo = kind == TXN_KINDS.index(WRITE_OFF)
    sel = np.flatnonzero(is_wo | (kind == TXN_KINDS.index(RECOVERY)))
    key, is_wo = a.txn_code[first:last][sel].copy(), is_wo[sel]
    unknown = np.flatnonzero(key < 0)
    if len(unknown):
        ids = ledger.transactions[C.invoice_id].iloc[first + sel[unknown]]
        key[unknown] = -1 - pd.factorize(ids.fillna("").astype(str))[0]
    amount = cents(a.txn_amount[first:last][sel])
    return key, np.where(is_wo, amount, 0), np.where(is_wo, 0, amount)
