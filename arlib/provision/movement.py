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

from arlib.provision.allowance import ALLOWANCE, SPECIFIC, TOTAL, cents, to_cents
from arlib.schemas import RECOVERY, WRITE_OFF, C

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


def split(
    allowances: Sequence[pd.Series], dates: Sequence, transactions: pd.DataFrame
) -> pd.DataFrame:
    """The roll-forward from item allowances (cents per invoice) at each of ``dates``: one row
    per date after the first, columns :data:`SPLIT_COLUMNS` in currency units.

    Write-offs and recoveries are the transactions dated in ``(previous date, date]``.
    """
    dates = pd.DatetimeIndex(dates)
    used = [_used(transactions, dates[i - 1], dates[i]) for i in range(1, len(dates))]
    # every invoice of every date numbered once (matching ids date by date costs seconds)
    parts = [np.asarray(a.index, dtype=object) for a in allowances] + [u[0] for u in used]
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
