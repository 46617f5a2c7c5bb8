"""Collector input on the worklist: promises to pay kept or broken, and disputes by age, per owner.

Read from the optional ``collector_notes`` frame (:mod:`arlib.io.notes`): a note (``date``) on
a customer or one of its invoices, by its ``owner``, may hold a promise to pay
(``promise_date``, ``promise_amount``) and/or a ``dispute_reason``. Nothing dated after
``as_of`` counts (a note taken later, or a payment received later).

*Promise.* Cash received against it is the customer's payments (on the promised invoice when
the note names one, else on any invoice or unapplied) dated from the note's date to the promise
date, both included. A promise is ``kept`` when that cash reaches the promised amount (to the
cent), ``broken`` when its date has come (``promise_date <= as_of``: the close of ``as_of``
holds that day's cash) and it has not, and ``pending`` while its date is after ``as_of``. A payment after the promise date does not
mend a broken promise (it came late). Each promise is judged on its own: one payment can keep
two promises whose windows both hold it.

*Dispute.* The first note with a dispute reason on an invoice (or, without an invoice, on the
customer) raises it; it is open at ``as_of`` while the invoice is open (the customer has open
items), and its age is ``as_of`` minus the day it was raised, in the buckets of
:data:`DISPUTE_AGES`.

>>> age_bucket([0, 30, 31, 95])
['0-30', '0-30', '31-60', 'over 90']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.ledger import Ledger
from arlib.schemas import PAYMENT, C

KEPT, BROKEN, PENDING = "kept", "broken", "pending"
#: dispute age buckets: upper bounds in days (the last is open)
DISPUTE_AGES = ((30, "0-30"), (60, "31-60"), (90, "61-90"))
UNASSIGNED = "unassigned"
PROMISE_COLUMNS = [
    "owner",
    C.customer_id,
    C.name,
    C.invoice_id,
    "noted",
    C.promise_date,
    C.promise_amount,
    "received",
    "shortfall",
    "state",
    "days_overdue",
]
DISPUTE_COLUMNS = [
    "owner",
    C.customer_id,
    C.name,
    C.invoice_id,
    C.dispute_reason,
    "raised",
    "age_days",
    "age_bucket",
    C.open_amount,
]


def age_bucket(days: Sequence[int]) -> list[str]:
    """The dispute-age bucket of each age in days."""
    bounds = np.array([b for b, _ in DISPUTE_AGES])
    names = np.array([n for _, n in DISPUTE_AGES] + [f"over {bounds[-1]}"], dtype=object)
    return names[np.searchsorted(bounds, np.asarray(days, dtype=float), side="left")].tolist()


def notes_of(ledger: Ledger) -> pd.DataFrame | None:
    """The ledger's collector notes (``ledger.collector_notes``, set by
    :func:`arlib.io.load_ledger`), or None when its source has none."""
    return getattr(ledger, "collector_notes", None)


def _known(notes: pd.DataFrame | None, as_of) -> pd.DataFrame:
    if notes is None or not len(notes):
        return pd.DataFrame(columns=[C.customer_id, C.invoice_id, C.date, "owner"])
    n = notes.loc[pd.to_datetime(notes[C.date]) <= pd.Timestamp(as_of)].copy()
    n[C.owner] = n[C.owner].fillna(UNASSIGNED).astype(str)
    return n


def _names(ledger: Ledger) -> pd.Series:
    cust = ledger.customers
    if cust is None:
        return pd.Series(dtype=object)
    return cust.drop_duplicates(C.customer_id).set_index(C.customer_id)[C.name]


def promises(ledger: Ledger, as_of, notes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every promise to pay noted by ``as_of`` (``notes``: default the ledger's, see
    :func:`notes_of`): :data:`PROMISE_COLUMNS`, broken first (the
    largest shortfall first), then pending, then kept. ``received`` is the cash in the window,
    ``shortfall`` the promised amount less it (at least 0), ``days_overdue`` the days since the
    promise date for a broken promise."""
    as_of = pd.Timestamp(as_of)
    n = _known(notes_of(ledger) if notes is None else notes, as_of)
    if C.promise_date in n:
        n = n.loc[n[C.promise_date].notna() & n[C.promise_amount].notna()]
    if not len(n):
        return pd.DataFrame(columns=PROMISE_COLUMNS)
    txn = ledger.transactions
    pay = txn.loc[(txn[C.kind] == PAYMENT) & (txn[C.date] <= as_of)]
    received = []
    for r in n.itertuples(index=False):
        end = min(pd.Timestamp(r.promise_date), as_of)
        mine = pay.loc[(pay[C.customer_id] == r.customer_id) & pay[C.date].between(r.date, end)]
        if isinstance(r.invoice_id, str) and r.invoice_id:
            mine = mine.loc[mine[C.invoice_id] == r.invoice_id]
        received.append(int(np.round(mine[C.amount].to_numpy() * 100).sum()))
    promised = np.round(n[C.promise_amount].to_numpy(dtype=float) * 100).astype(np.int64)
    got = np.asarray(received, dtype=np.int64)
    due = (n[C.promise_date] <= as_of).to_numpy()
    state = np.where(got >= promised, KEPT, np.where(due, BROKEN, PENDING))
    out = pd.DataFrame(
        {
            "owner": n[C.owner].to_numpy(),
            C.customer_id: n[C.customer_id].to_numpy(),
            C.name: n[C.customer_id].map(_names(ledger)).fillna(n[C.customer_id]).to_numpy(),
            C.invoice_id: n[C.invoice_id].to_numpy() if C.invoice_id in n else None,
            "noted": n[C.date].to_numpy(),
            C.promise_date: n[C.promise_date].to_numpy(),
            C.promise_amount: promised / 100,
            "received": got / 100,
            "shortfall": np.maximum(promised - got, 0) / 100,
            "state": state,
            "days_overdue": np.where(
                state == BROKEN, (as_of - n[C.promise_date]).dt.days.to_numpy(), 0
            ),
        }
    )
    order = out["state"].map({BROKEN: 0, PENDING: 1, KEPT: 2})
    out = out.assign(order_=order, neg_=-out["shortfall"])
    out = out.sort_values(["order_", "neg_", "owner", C.customer_id], kind="stable")
    return out[PROMISE_COLUMNS].reset_index(drop=True)


def disputes(ledger: Ledger, as_of, notes: pd.DataFrame | None = None) -> pd.DataFrame:
    """The disputes open at ``as_of`` from the notes (default the ledger's): :data:`DISPUTE_COLUMNS`, oldest first.
    ``open_amount``: the invoice's open amount (a dispute on the customer: its open AR);
    ``owner``: of the note that raised it."""
    as_of = pd.Timestamp(as_of)
    n = _known(notes_of(ledger) if notes is None else notes, as_of)
    if C.dispute_reason in n:
        reason = n[C.dispute_reason].astype(object)
        n = n.loc[reason.notna() & reason.astype(str).str.strip().ne("")]
    if not len(n):
        return pd.DataFrame(columns=DISPUTE_COLUMNS)
    inv = n[C.invoice_id].where(n[C.invoice_id].notna(), "") if C.invoice_id in n else ""
    first = n.assign(key_=inv).sort_values(C.date, kind="stable")
    first = first.drop_duplicates([C.customer_id, "key_"], keep="first")
    items = ledger.open_items(as_of)
    by_invoice = items.set_index(C.invoice_id)[C.open_amount]
    by_customer = items.groupby(C.customer_id)[C.open_amount].sum()
    amount = np.where(
        first["key_"].ne(""),
        first["key_"].map(by_invoice).to_numpy(dtype=float),
        first[C.customer_id].map(by_customer).to_numpy(dtype=float),
    )
    age = (as_of - first[C.date]).dt.days.to_numpy()
    out = pd.DataFrame(
        {
            "owner": first[C.owner].to_numpy(),
            C.customer_id: first[C.customer_id].to_numpy(),
            C.name: first[C.customer_id]
            .map(_names(ledger))
            .fillna(first[C.customer_id])
            .to_numpy(),
            C.invoice_id: first["key_"].replace("", None).to_numpy(),
            C.dispute_reason: first[C.dispute_reason].to_numpy(),
            "raised": first[C.date].to_numpy(),
            "age_days": age,
            "age_bucket": age_bucket(age),
            C.open_amount: np.round(amount, 2),
        }
    )
    out = out.loc[np.isfinite(amount) & (amount > 0)]
    return out.sort_values(["age_days", "owner"], ascending=[False, True], kind="stable")[
        DISPUTE_COLUMNS
    ].reset_index(drop=True)


def by_owner(promised: pd.DataFrame, disputed: pd.DataFrame) -> pd.DataFrame:
    """One row per owner: ``owner, promises, kept, broken, pending, broken_amount`` (the broken
    promises' shortfall), ``disputes, disputed_amount, oldest_dispute_days`` and one column per
    dispute-age bucket (open disputes in it); owners sorted by broken amount, then disputed
    amount, largest first."""
    buckets = age_bucket([b for b, _ in DISPUTE_AGES] + [DISPUTE_AGES[-1][0] + 1])
    owners = sorted(set(promised["owner"]) | set(disputed["owner"]))
    rows = []
    for o in owners:
        p, d = promised.loc[promised["owner"] == o], disputed.loc[disputed["owner"] == o]
        broken = p.loc[p["state"] == BROKEN]
        row = {
            "owner": o,
            "promises": len(p),
            KEPT: int((p["state"] == KEPT).sum()),
            BROKEN: len(broken),
            PENDING: int((p["state"] == PENDING).sum()),
            "broken_amount": round(float(broken["shortfall"].sum()), 2),
            "disputes": len(d),
            "disputed_amount": round(float(d[C.open_amount].sum()), 2),
            "oldest_dispute_days": int(d["age_days"].max()) if len(d) else 0,
        }
        row.update({f"disputes_{b}": int((d["age_bucket"] == b).sum()) for b in buckets})
        rows.append(row)
    cols = ["owner", "promises", KEPT, BROKEN, PENDING, "broken_amount", "disputes"]
    cols += ["disputed_amount", "oldest_dispute_days", *(f"disputes_{b}" for b in buckets)]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(
        ["broken_amount", "disputed_amount", "owner"], ascending=[False, False, True]
    ).reset_index(drop=True)


def summary(promised: pd.DataFrame, disputed: pd.DataFrame) -> dict:
    """Flat figures for ``kpis.json``: ``promises``, ``promises_broken``,
    ``promises_broken_amount``, ``disputes_open``, ``disputes_over_90_days``."""
    broken = promised.loc[promised["state"] == BROKEN]
    return {
        "promises": len(promised),
        "promises_broken": len(broken),
        "promises_broken_amount": round(float(broken["shortfall"].sum()), 2),
        "disputes_open": len(disputed),
        "disputes_over_90_days": int((disputed["age_days"] > 90).sum()) if len(disputed) else 0,
    }
