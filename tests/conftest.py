"""Shared fixtures: tiny hand-made ledgers, a small demo store, and the real data in ../shared."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

from arlib import demo
from arlib.ledger import Ledger

#: the same examples on every run (CI and a developer see the same cases; a new failing case
#: comes from a change, not from chance)
settings.register_profile("repeatable", derandomize=True)
settings.load_profile("repeatable")

ROOT = Path(__file__).resolve().parents[1]
#: ../shared beside the checkout (CI clones the repo with shared/ next to it)
SHARED_DATA = ROOT.parent / "shared" / "data"
IBM_CSV = SHARED_DATA / "ibm_late_payment" / "WA_Fn-UseC_-Accounts-Receivable.csv"


def invoices(*rows, bu="X", currency="EUR") -> pd.DataFrame:
    """Rows of (invoice_id, customer_id, invoice_date, due_date, amount[, disputed])."""
    recs = [
        dict(
            invoice_id=r[0],
            business_unit=bu,
            customer_id=r[1],
            invoice_date=pd.Timestamp(r[2]),
            due_date=pd.Timestamp(r[3]),
            amount=float(r[4]),
            currency=currency,
            disputed=bool(r[5]) if len(r) > 5 else False,
        )
        for r in rows
    ]
    return pd.DataFrame(recs)


def transactions(*rows, bu="X") -> pd.DataFrame:
    """Rows of (invoice_id or None, date, amount, kind[, customer_id])."""
    recs = [
        dict(
            txn_id=f"t{i}",
            business_unit=bu,
            customer_id=r[4] if len(r) > 4 else "c1",
            invoice_id=r[0],
            date=pd.Timestamp(r[1]),
            amount=float(r[2]),
            kind=r[3],
        )
        for i, r in enumerate(rows)
    ]
    if not recs:
        return pd.DataFrame(
            columns=[
                "txn_id",
                "business_unit",
                "customer_id",
                "invoice_id",
                "date",
                "amount",
                "kind",
            ]
        )
    return pd.DataFrame(recs)


def demo_params(
    folder: Path, frames: dict[str, pd.DataFrame], units: dict[str, str], as_of: str = "2026-10-31"
) -> Path:
    """``folder/params``: ``defaults.yaml`` (``as_of`` and a SQLite store of ``frames``) plus one
    ``<unit>.yaml`` per entry of ``units`` (its YAML text)."""
    from arlib import io

    store = io.write_store(frames, folder / "store.sqlite")
    params = folder / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text(f'as_of: "{as_of}"\nsource: "{store}"\n')
    for unit, text in units.items():
        (params / f"{unit}.yaml").write_text(text)
    return params


def ledger(inv_rows, txn_rows=()) -> Ledger:
    return Ledger(invoices(*inv_rows), transactions(*txn_rows))


SMALL_UNITS = {
    "aa": dataclasses.replace(demo.UNITS["de"], customers=14),
    "bb": dataclasses.replace(demo.UNITS["cn"], customers=12),
}


@pytest.fixture(scope="session")
def small_demo() -> dict[str, pd.DataFrame]:
    """Two small demo units over 28 months (fast to run through the notebooks)."""
    return demo.generate(seed=11, units=SMALL_UNITS, start="2024-07-01", end="2026-10-31")


@pytest.fixture(scope="session")
def ibm_csv() -> Path:
    if not IBM_CSV.exists():
        pytest.skip(f"IBM sample not found at {IBM_CSV} (expected ../shared beside the checkout)")
    return IBM_CSV
