"""A seeded synthetic group ledger of any size, written as a Parquet store partitioned by unit.

Vectorised end to end (numpy draws, pyarrow string kernels), so 10M invoices take seconds, not
minutes. Units have Zipf-like sizes (one large unit, a long tail), invoices span
``months`` months up to ``end``, and each invoice is paid in full, paid in two parts, partly
credited then paid, written off (some of it recovered later) or still open. Events after
``end`` have not happened. A few payments are unapplied cash (no invoice).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arlib.io import parquet_store

VERSION = 2  # bump when the generator changes: cached data is regenerated


def _ids(prefix: pa.Array, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _unit_of_rows(n: int, n_units: int, rng) -> np.ndarray:
    weights = 1.0 / np.sqrt(np.arange(1, n_units + 1))
    return np.sort(rng.choice(n_units, size=n, p=weights / weights.sum()))


def _invoices(n: int, n_units: int, months: int, end: np.datetime64, rng) -> dict:
    unit = _unit_of_rows(n, n_units, rng)
    start = (end.astype("datetime64[M]") - (months - 1)).astype("datetime64[D]")
    span = int((end - start).astype(int)) + 1
    growth = rng.random(n) ** 0.8  # more invoices in recent months
    inv_day = start + (growth * span).astype("timedelta64[D]")
    order = np.lexsort((inv_day, unit))
    unit, inv_day = unit[order], inv_day[order]
    terms = rng.choice(np.array([30, 45, 60]), size=n, p=[0.5, 0.3, 0.2])
    amount = np.round(np.exp(rng.normal(7.5, 1.1, n)), 2) + 0.01
    customer = rng.integers(0, 2_000, n)
    return {
        "unit": unit,
        "invoice_date": inv_day,
        "due_date": inv_day + terms.astype("timedelta64[D]"),
        "amount": amount,
        "customer": customer,
    }


def _settlements(inv: dict, end: np.datetime64, rng) -> dict:
    """(invoice row, date, amount, kind) of every transaction, unapplied cash has row -1."""
    n = len(inv["amount"])
    amount, due = inv["amount"], inv["due_date"]
    fate = rng.choice(
        5, size=n, p=[0.80, 0.08, 0.05, 0.04, 0.03]
    )  # full, split, credit+pay, write-off, open
    late = np.round(rng.gamma(2.0, 6.0, n) - 8).astype("timedelta64[D]")
    pay_day = np.maximum(due + late, inv["invoice_date"] + np.timedelta64(1, "D"))
    first = np.round(amount * rng.uniform(0.2, 0.8, n), 2)
    early = pay_day - rng.integers(10, 40, n).astype("timedelta64[D]")
    early = np.maximum(early, inv["invoice_date"])
    wo_day = due + rng.integers(150, 300, n).astype("timedelta64[D]")
    rows, days, amts, kinds = [], [], [], []

    def add(mask, day, amt, kind):
        idx = np.nonzero(mask)[0]
        rows.append(idx)
        days.append(day[idx])
        amts.append(np.asarray(amt)[idx])
        kinds.append(np.broadcast_to(kind, n)[idx])

    two_part = (fate == 1) | (fate == 2)
    add(fate == 0, pay_day, amount, 0)
    add(two_part, early, first, np.where(fate == 1, 0, 1))  # split payment, or a credit note first
    add(two_part, pay_day, np.round(amount - first, 2), 0)
    add(fate == 3, wo_day, amount, 2)
    rec = (fate == 3) & (rng.random(n) < 0.3)
    add(
        rec,
        wo_day + rng.integers(30, 200, n).astype("timedelta64[D]"),
        np.round(amount * 0.2, 2),
        3,
    )
    out = {
        "row": np.concatenate(rows),
        "date": np.concatenate(days),
        "amount": np.concatenate(amts),
        "kind": np.concatenate(kinds),
    }
    n_cash = n // 100  # unapplied cash and advance receipts
    cash_src = rng.integers(0, n, n_cash)
    out["row"] = np.concatenate([out["row"], np.full(n_cash, -1)])
    out["unit"] = np.concatenate([inv["unit"][out["row"][:-n_cash]], inv["unit"][cash_src]])
    out["customer"] = np.concatenate(
        [inv["customer"][out["row"][:-n_cash]], inv["customer"][cash_src]]
    )
    out["date"] = np.concatenate([out["date"], inv["invoice_date"][cash_src]])
    out["amount"] = np.concatenate([out["amount"], np.round(rng.uniform(100, 5000, n_cash), 2)])
    out["kind"] = np.concatenate([out["kind"], np.zeros(n_cash, dtype=int)])
    keep = (out["date"] <= end) & (out["amount"] > 0)
    return {k: v[keep] for k, v in out.items()}


def _tables(n: int, n_units: int, months: int, end: str, seed: int) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    end_d = np.datetime64(end, "D")
    inv = _invoices(n, n_units, months, end_d, rng)
    txn = _settlements(inv, end_d, rng)
    units = pa.array([f"bu{u:02d}" for u in range(n_units)])
    inv_id = _ids(pa.array(np.full(n, "I")), np.arange(n), 9)
    inv_tab = pa.table(
        {
            "invoice_id": inv_id,
            "business_unit": units.take(inv["unit"]),
            "customer_id": _ids(pa.array(np.full(n, "C")), inv["customer"], 5),
            "invoice_date": inv["invoice_date"],
            "due_date": inv["due_date"],
            "amount": inv["amount"],
            "currency": pa.array(np.full(n, "EUR")),
            "disputed": np.zeros(n, dtype=bool),
        }
    )
    row = txn["row"]
    txn_inv = pc.if_else(
        pa.array(row >= 0), inv_id.take(pa.array(np.maximum(row, 0))), pa.scalar(None, pa.string())
    )
    kinds = pa.array(["payment", "credit_note", "write_off", "recovery"])
    m = len(row)
    txn_tab = pa.table(
        {
            "txn_id": _ids(pa.array(np.full(m, "T")), rng.permutation(m), 10),
            "business_unit": units.take(txn["unit"]),
            "customer_id": _ids(pa.array(np.full(m, "C")), txn["customer"], 5),
            "invoice_id": txn_inv,
            "date": txn["date"],
            "amount": txn["amount"],
            "kind": kinds.take(txn["kind"]),
        }
    )
    return {"invoices": inv_tab, "transactions": txn_tab}


def ensure(
    root: Path,
    n_invoices: int,
    n_units: int = 24,
    months: int = 48,
    end: str = "2026-10-31",
    seed: int = 1,
) -> Path:
    """The store for these settings under ``root`` (generated once, reused while the spec matches)."""
    spec = {
        "version": VERSION,
        "n_invoices": n_invoices,
        "n_units": n_units,
        "months": months,
        "end": end,
        "seed": seed,
    }
    path = Path(root) / f"ledger_{n_invoices}"
    stamp = path / "spec.json"
    if stamp.exists() and json.loads(stamp.read_text()) == spec:
        return path
    tables = _tables(n_invoices, n_units, months, end, seed)
    parquet_store.write_store(tables, path)
    stamp.write_text(json.dumps(spec))
    return path
