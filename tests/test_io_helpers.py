"""Helpers for the data-intake tests (no tests here): a small hand-made dataset and shortcuts.

The base dataset, unit ``x`` (unit ``y`` is another unit in the same files), as of 2024-06-30:

=========  ======  ==========  ======  ============================================
invoice    amount  invoiced    cust    transactions
=========  ======  ==========  ======  ============================================
I1         100.00  2024-01-10  C1      T1 payment 100.00 on 2024-02-05 (settled)
I2         250.00  2024-02-01  C1      T2 payment 50.00 on 2024-03-01 -> 200.00 open
I3          80.50  2024-03-05  C2      T3 credit note 10.00 on 2024-03-20 -> 70.50 open
=========  ======  ==========  ======  ============================================

plus T4, 30.00 unapplied cash from C2. Invoices read 430.50; open AR 270.50.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from arlib import io
from arlib.config import validate
from arlib.io.reconcile import DIFFERENCE, reconciliation

AS_OF = "2024-06-30"
INVOICES = """invoice_id,business_unit,customer_id,invoice_date,due_date,amount,currency,disputed
I1,x,C1,2024-01-10,2024-02-09,100.00,EUR,No
I2,x,C1,2024-02-01,2024-03-02,250.00,EUR,No
I3,x,C2,2024-03-05,2024-04-04,80.50,EUR,Yes
I4,y,C9,2024-03-05,2024-04-04,999.00,EUR,No
"""
TRANSACTIONS = """txn_id,business_unit,customer_id,invoice_id,date,amount,kind
T1,x,C1,I1,2024-02-05,100.00,payment
T2,x,C1,I2,2024-03-01,50.00,payment
T3,x,C2,I3,2024-03-20,10.00,credit_note
T4,x,C2,,2024-04-01,30.00,payment
T5,y,C9,I4,2024-04-01,999.00,payment
"""
CUSTOMERS = """customer_id,business_unit,name,segment,credit_limit,terms_days,status
C1,x,Alpha GmbH,enterprise,5000,30,active
C2,x,Beta Ltd,small,1000,30,active
C9,y,Gamma SA,small,1000,30,active
"""
BASE = {"invoices.csv": INVOICES, "transactions.csv": TRANSACTIONS, "customers.csv": CUSTOMERS}


def write_files(folder: Path, files: dict[str, str | bytes], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode(encoding)
        (folder / name).write_bytes(data)
    return folder


def make_cfg(source, bu: str = "x", as_of: str = AS_OF, currency: str = "EUR", **params):
    """A validated run config (the notebooks' declared parameters) for ``source``."""
    return validate(
        {"business_unit": bu, "as_of": as_of, "currency": currency, "source": str(source), **params}
    )


def load(source, **params):
    return io.load_ledger(make_cfg(source, **params))


def assert_reconciles(ledger, as_of: str = AS_OF, gl_control_total=None) -> pd.DataFrame:
    """The reconciliation identity holds to the cent; returns the table."""
    rec = reconciliation(ledger, as_of, gl_control_total)
    by = rec.set_index("line")["amount"]
    assert rec.loc[rec["line"] == DIFFERENCE, "check"].item() == "ok", rec.to_string()
    parts = ["Invoices read", "Quarantined invoices", "Invoices dated after as_of"]
    assert round(sum(by[p] for p in parts), 2) == by["Invoiced to as_of"]
    settled = ["Settled by payments", "Credited", "Written off"]
    assert round(by["Invoiced to as_of"] + sum(by[p] for p in settled), 2) == by["Open AR (ledger)"]
    cash = [
        "of which applied to invoices",
        "of which over-applied (beyond invoice amount)",
        "of which unapplied (no invoice)",
        "of which on invoices dated after as_of",
    ]
    assert round(sum(by[p] for p in cash), 2) == by["Payments received to as_of"]
    return rec


def quarantined_rows(ledger) -> dict[str, int]:
    f = ledger.load_report.frames.set_index("frame")["rows_quarantined"]
    return {k: int(v) for k, v in f.items() if v}
