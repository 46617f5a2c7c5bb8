"""The optional ``collector_notes`` frame: what collectors recorded about a customer or invoice.

One row per note: ``customer_id`` and/or ``invoice_id`` (a note on an invoice belongs to the
invoice's customer), ``date`` (when the note was taken), ``promise_date`` and
``promise_amount`` (a promise to pay that amount by that date; both empty when none),
``dispute_reason`` (empty when the note records no dispute) and ``owner`` (the collector; empty
is ``unassigned``). The frame is read like the others (``source_options.files`` /
``tables`` / ``queries`` / ``columns`` ``.collector_notes``; a ``collector_notes`` table or file
beside the others is found by name) and is optional: without it the worklist has no promises
and disputes by owner.

Bad notes are data problems with counts (``bad_note``, quarantined by default, never silently
dropped): an unknown customer or invoice, a promise dated before its note, a negative promise
amount, a promise date without an amount or an amount without a date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from arlib.io.options import COLLECTOR_NOTES  # noqa: F401  declared with the other frames
from arlib.io.validate import Finding, finding
from arlib.schemas import NOTE_COLUMNS, C

BAD_NOTE = "bad_note"
UNASSIGNED = "unassigned"
COLUMNS = NOTE_COLUMNS

#: the contract: only the note date is required; the checks of :func:`note_findings` judge
#: the rest (so that a bad note is quarantined, not a reason to refuse the unit's ledger)
CollectorNotes = pa.DataFrameSchema(
    {
        C.date: pa.Column("datetime64[ns]"),
        C.promise_date: pa.Column("datetime64[ns]", nullable=True),
        C.promise_amount: pa.Column(float, nullable=True),
    },
    name="CollectorNotes",
    strict=False,
    coerce=True,
)


def fill_customers(p, invoice_customers: dict) -> None:
    """A note on an invoice without a customer id belongs to the invoice's customer; empty
    owners become :data:`UNASSIGNED` (in place on the parsed frame ``p``)."""
    d = p.data
    if C.invoice_id in d and len(d):
        known = d[C.invoice_id].map(invoice_customers)
        d[C.customer_id] = d[C.customer_id].where(d[C.customer_id].notna(), known)
    owner = d[C.owner].astype(object)
    d[C.owner] = owner.where(owner.notna() & owner.astype(str).str.strip().ne(""), UNASSIGNED)


def note_findings(
    p, customer_ids: set | None, invoice_ids: set, alive: np.ndarray
) -> list[Finding | None]:
    """The ``bad_note`` findings on the rows still ``alive``: unknown customer (or none at
    all), unknown invoice, promise before the note, negative promise amount, half a promise."""
    d = p.data
    cust, inv = d[C.customer_id], d[C.invoice_id]
    known = cust.isin(customer_ids) if customer_ids is not None else cust.notna()
    p_date, p_amt = d[C.promise_date], d[C.promise_amount]
    fix_ids = "correct the note's customer_id or invoice_id, or add the customer"
    fix_promise = "correct the promise in the collectors' system (a promise follows its note)"
    checks = [
        (C.customer_id, ~known, cust, "with no customer_id known to the unit", fix_ids),
        (
            C.invoice_id,
            inv.notna() & ~inv.isin(invoice_ids),
            inv,
            "naming an unknown invoice",
            fix_ids,
        ),
        (
            C.promise_date,
            p_date < d[C.date],
            p_date,
            "promising payment before the note's date",
            fix_promise,
        ),
        (C.promise_amount, p_amt < 0, p_amt, "promising a negative amount", fix_promise),
        (
            C.promise_amount,
            p_date.isna() != p_amt.isna(),
            p_amt,
            "with a promise date but no amount, or an amount but no date",
            "give both promise_date and promise_amount, or neither",
        ),
    ]
    return [
        finding(p, BAD_NOTE, col, mask.to_numpy() & alive, shown, text, fix)
        for col, mask, shown, text, fix in checks
    ]


def empty_notes() -> pd.DataFrame:
    """A collector-notes frame with no rows (a unit without notes)."""
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    for c in (C.date, C.promise_date):
        out[c] = pd.Series(dtype="datetime64[ns]")
    out[C.promise_amount] = pd.Series(dtype=float)
    return out
