"""The big unit's key figures against an independent computation, to the cent.

A small store of the benchmark's synthetic group (``bench/synth.py``, the generator of the
``big_unit`` benchmark's 10 M-invoice store, here 30 k invoices over 4 units) is written as a
partitioned Parquet store; unit ``bu00`` (~10.8 k invoices) is read as the benchmark reads it
(``source_options: {frames: {customers: derive}}``). Open AR, the aging buckets, DSO, CEI and
the roll-rate allowance that arlib reports are then recomputed from the same Parquet files by
DuckDB SQL (balances at month-ends, window sums, the monthly migration between buckets) and
plain numpy for the absorbing Markov chain, sharing no code with arlib's ledger engine.
"""

from __future__ import annotations

import sys
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from arlib import health, io, provision
from arlib.config import validate
from arlib.io import parquet_store

AS_OF = "2026-10-31"
LABELS = ["current", "1-30", "31-60", "61-90", "91-120", "over 120"]
#: bucket number of days past due ``dpd`` for thresholds 0, 30, 60, 90, 120 (0 = not yet due)
BUCKET = "CASE WHEN dpd <= 0 THEN 0 WHEN dpd <= 30 THEN 1 WHEN dpd <= 60 THEN 2 WHEN dpd <= 90 THEN 3 WHEN dpd <= 120 THEN 4 ELSE 5 END"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "bench"))
    import synth

    root = tmp_path_factory.mktemp("bigunit") / "store"
    parquet_store.write_store(synth._tables(30_000, 4, 48, AS_OF, 5), root)
    return root


@pytest.fixture(scope="module")
def ledger(store):
    cfg = validate(
        {
            "business_unit": "bu00",
            "as_of": AS_OF,
            "currency": "EUR",
            "source": str(store),
            "source_options": {"frames": {"customers": "derive"}},
        }
    )
    return io.load_ledger(cfg)


@pytest.fixture(scope="module")
def sql(store):
    """A DuckDB connection with views ``inv`` and ``st`` (settlements) of unit bu00, and a
    macro ``open_at(d)``: each invoice open at the close of ``d`` with its open amount, days
    past due and written-off total so far."""
    con = duckdb.connect()
    read = "read_parquet('{}/{}/*/*.parquet', hive_partitioning = true)"
    con.execute(
        f"CREATE VIEW inv AS SELECT * FROM {read.format(store, 'invoices')} WHERE business_unit = 'bu00'"
    )
    con.execute(
        f"CREATE VIEW txn AS SELECT * FROM {read.format(store, 'transactions')} WHERE business_unit = 'bu00'"
    )
    con.execute(
        "CREATE VIEW st AS SELECT * FROM txn WHERE kind IN ('payment', 'credit_note', 'write_off') "
        "AND invoice_id IN (SELECT invoice_id FROM inv)"
    )
    con.execute(
        f"""CREATE MACRO open_at(d) AS TABLE
        SELECT i.invoice_id, i.amount - coalesce(s.settled, 0) AS open_amount,
               date_diff('day', i.due_date::DATE, d::DATE) AS dpd,
               {BUCKET.replace("dpd", "date_diff('day', i.due_date::DATE, d::DATE)")} AS bucket,
               coalesce(s.written_off, 0) AS written_off
        FROM inv i LEFT JOIN (
            SELECT invoice_id, sum(amount) AS settled,
                   sum(CASE WHEN kind = 'write_off' THEN amount ELSE 0 END) AS written_off
            FROM st WHERE date::DATE <= d::DATE GROUP BY invoice_id) s USING (invoice_id)
        WHERE i.invoice_date::DATE <= d::DATE AND i.amount - coalesce(s.settled, 0) > 0.005"""
    )
    return con


def _aging(con, d: str) -> pd.Series:
    got = con.execute(
        "SELECT bucket, round(sum(open_amount), 2) FROM open_at(?::DATE) GROUP BY bucket", [d]
    ).fetchall()
    return pd.Series(dict(got), dtype=float).reindex(range(len(LABELS)), fill_value=0.0)


def test_open_ar_and_aging_to_the_cent(ledger, sql):
    k = health.kpis(ledger, AS_OF)
    aging = _aging(sql, AS_OF)
    assert k["open_ar"] == pytest.approx(round(aging.sum(), 2), abs=0.005)
    assert k["current_ar"] == pytest.approx(aging[0], abs=0.005)
    table = ledger.aging(AS_OF).set_index("bucket")["amount"]
    for b, label in enumerate(LABELS):
        assert table[label] == pytest.approx(aging[b], abs=0.005), label
    assert 9_000 < len(ledger.invoices) < 13_000 and aging.sum() > 1e6  # a real, busy unit


def test_dso_and_cei_by_hand(ledger, sql):
    """DSO = open AR / billings x 92 days; CEI = (AR at the window start + billings - open AR)
    / (AR at the window start + billings - current AR) x 100, over (31 Jul, 31 Oct 2026]."""
    k = health.kpis(ledger, AS_OF, window_months=3)
    ar, ar0 = _aging(sql, AS_OF), _aging(sql, "2026-07-31")
    billed = sql.execute(
        "SELECT sum(amount) FROM inv WHERE invoice_date::DATE > DATE '2026-07-31' "
        "AND invoice_date::DATE <= DATE '2026-10-31'"
    ).fetchone()[0]
    assert k["billings_window"] == pytest.approx(round(billed, 2), abs=0.005)
    assert k["dso"] == pytest.approx(ar.sum() / billed * 92, rel=1e-9)
    cei = (ar0.sum() + billed - ar.sum()) / (ar0.sum() + billed - ar[0]) * 100
    assert k["cei"] == pytest.approx(cei, rel=1e-9)


def _migration(con, months: pd.DatetimeIndex) -> np.ndarray:
    """Amounts of each bucket at a month-end by where they are a month later: the buckets,
    then paid or credited, then written off (summed over the months)."""
    flows = np.zeros((6, 8))
    for d0, d1 in zip(months[:-1], months[1:]):
        rows = con.execute(
            """SELECT a.bucket, b.bucket, a.open_amount, coalesce(b.open_amount, 0),
                      coalesce(w.written_off, 0) - a.written_off
               FROM open_at(?::DATE) a
               LEFT JOIN open_at(?::DATE) b USING (invoice_id)
               LEFT JOIN (SELECT invoice_id, sum(amount) AS written_off FROM st
                          WHERE kind = 'write_off' AND date::DATE <= ?::DATE GROUP BY invoice_id) w
                 USING (invoice_id)""",
            [str(d0.date()), str(d1.date()), str(d1.date())],
        ).fetchall()
        for b0, b1, o0, o1, wo in rows:
            drop = max(o0 - o1, 0.0)
            wo = min(max(wo, 0.0), drop)
            if o1 > 0:
                flows[b0, b1] += o1
            flows[b0, 6] += drop - wo
            flows[b0, 7] += wo
    return flows


def test_roll_rate_allowance_to_the_cent(ledger, sql):
    """Allowance = exposure per bucket x the Markov chain's probability of being written off,
    the chain averaged (by volume) over the 12 months to as_of."""
    months = pd.date_range("2025-10-31", AS_OF, freq="ME")
    flows = _migration(sql, months)
    P = flows / flows.sum(axis=1, keepdims=True)
    Q, R = P[:, :6], P[:, 6:]
    loss = np.clip(np.linalg.solve(np.eye(6) - Q, R)[:, 1], 0, 1)
    exposure = _aging(sql, AS_OF)
    cent = Decimal("0.01")
    expected = [  # exposure x rate in cents, rounded half up (as an auditor would)
        float((Decimal(repr(e)) * Decimal(repr(float(r)))).quantize(cent, ROUND_HALF_UP))
        for e, r in zip(exposure, loss)
    ]
    settings = provision.ProvisionSettings()
    table = provision.estimate_allowance(ledger, AS_OF, settings=settings).set_index("bucket")
    for b, label in enumerate(LABELS):
        assert table.at[label, "exposure"] == pytest.approx(exposure[b], abs=0.005), label
        assert table.at[label, "base_loss_rate"] == pytest.approx(loss[b], abs=1e-9), label
        assert table.at[label, "allowance"] == pytest.approx(expected[b], abs=0.0101), label
    assert table.at["total", "allowance"] == pytest.approx(sum(expected), abs=0.015)
    assert 0 < sum(expected) < exposure.sum()


def test_excel_pack_kept_in_memory_follows_the_file(tmp_path):
    """Sheets added one after the other all land in the pack; a pack changed on disk by
    someone else in between is read again, not overwritten from memory."""
    import openpyxl

    from arlib.report.excel import add_sheet

    add_sheet(tmp_path, "First", pd.DataFrame({"amount": [1.25, 2.5]}), money=["amount"])
    path = add_sheet(tmp_path, "Second", pd.DataFrame({"amount": [3.0]}), money=["amount"])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["First", "Second"] and book["First"]["A3"].value == 2.5
    del book["First"]  # another writer changes the file
    book.save(path)
    add_sheet(tmp_path, "Third", pd.DataFrame({"amount": [4.0]}), money=["amount"])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Second", "Third"]
    assert [book["Second"]["A2"].value, book["Third"]["A2"].value] == [3.0, 4.0]
