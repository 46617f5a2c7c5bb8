"""The reconciliation identity on a hand-worked ledger, the GL flag, and random ledgers."""

from __future__ import annotations

import pandas as pd
from conftest import invoices, transactions
from hypothesis import given, settings
from hypothesis import strategies as st

from arlib.io import reconcile
from arlib.ledger import Ledger

# A: 100 paid 60 then 50 (10 over-applied); B: 200 credited 20, written off 30, recovery 5;
# C: 50 invoiced after as_of with a payment of 50 before as_of; D: 70 untouched; cash 40 unapplied;
# a payment of 15 on B after as_of.
INV = [
    ("A", "c1", "2024-01-01", "2024-01-31", 100.0),
    ("B", "c1", "2024-01-10", "2024-02-09", 200.0),
    ("C", "c2", "2024-04-05", "2024-05-05", 50.0),
    ("D", "c2", "2024-02-01", "2024-03-02", 70.0),
]
TXN = [
    ("A", "2024-02-01", 60.0, "payment"),
    ("A", "2024-02-20", 50.0, "payment"),
    ("B", "2024-02-15", 20.0, "credit_note"),
    ("B", "2024-03-01", 30.0, "write_off"),
    ("B", "2024-03-10", 5.0, "recovery"),
    ("C", "2024-03-20", 50.0, "payment"),
    (None, "2024-03-05", 40.0, "payment"),
    ("B", "2024-04-10", 15.0, "payment"),
]
AS_OF = "2024-03-31"


def _rec(gl=None):
    led = Ledger(invoices(*INV), transactions(*TXN))
    return reconcile.reconciliation(led, AS_OF, gl), led


def test_hand_worked_identity():
    rec, led = _rec()
    got = dict(zip(rec["line"], rec["amount"]))
    # invoiced to as_of: A 100 + B 200 + D 70 = 370; settled: A 100 (capped), B 20 + 30; open B 150 + D 70
    assert got == {
        "Invoices read": 420.0,
        "Quarantined invoices": 0.0,
        "Invoices dated after as_of": -50.0,
        "Invoiced to as_of": 370.0,
        "Settled by payments": -100.0,
        "Credited": -20.0,
        "Written off": -30.0,
        "Open AR expected": 220.0,
        "Open AR (ledger)": 220.0,
        "Difference": 0.0,
        "Payments received to as_of": 200.0,
        "of which applied to invoices": 100.0,
        "of which over-applied (beyond invoice amount)": 10.0,
        "of which unapplied (no invoice)": 40.0,
        "of which on invoices dated after as_of": 50.0,
        "Credit notes and write-offs not reducing AR": 0.0,
        "Recoveries on written-off invoices": 5.0,
        "Transactions dated after as_of": 15.0,
        "Quarantined transactions": 0.0,
    }
    rows = dict(zip(rec["line"], rec["rows"]))
    assert (
        rows["Invoices read"] == 4
        and rows["Open AR (ledger)"] == 2
        and rows["Payments received to as_of"] == 4
    )
    assert rec.loc[rec["line"] == "Difference", "check"].item() == "ok" and reconcile.reconciled(
        rec
    )
    assert list(rec.columns) == ["section", "line", "amount", "rows", "check"]
    assert (
        led.unapplied(AS_OF)["credit_balance"].sum() == 50.0
    )  # the 40 unapplied + 10 over-applied


def test_gl_control_total_agrees_or_is_flagged():
    rec, _ = _rec(gl=220.0)
    assert rec.iloc[-2:][["line", "amount", "check"]].values.tolist() == [
        ["GL control total", 220.0, ""],
        ["Open AR minus GL control total", 0.0, "ok"],
    ]
    assert str(reconcile.summary(rec, "EUR")) == (
        "Invoices read 420.00 EUR; open AR 220.00 EUR. Every amount is accounted for to the cent. Open AR agrees "
        "with the GL control total."
    )
    rec, _ = _rec(gl=250.0)
    assert rec.iloc[-1][["amount", "check"]].tolist() == [
        -30.0,
        "DIFFERS",
    ] and reconcile.reconciled(rec)
    summary = reconcile.summary(rec, "EUR")
    assert summary.alarm and str(summary) == (
        "Invoices read 420.00 EUR; open AR 220.00 EUR. Every amount is accounted for to the cent. OPEN AR DIFFERS "
        "FROM THE GL CONTROL TOTAL 250.00 EUR by -30.00 EUR."
    )
    assert "#b2182b" in summary._repr_html_()
    assert reconcile.kpis(rec) == {
        "reconciliation": {
            "invoices_read": 420.0,
            "quarantined_invoices": 0.0,
            "quarantined_rows": 0,
            "open_ar": 220.0,
            "difference": 0.0,
            "source_rows_unaccounted": 0,
            "rows_other_units": 0,
            "rows_no_unit": 0,
            "reconciled": True,
            "gl_control_total": 250.0,
            "gl_difference": -30.0,
        }
    }


def test_summary_html_escapes_text():
    s = reconcile.Summary("<script>alert(1)</script>", False)
    assert "<script>" not in s._repr_html_() and "&lt;script&gt;" in s._repr_html_()


def test_difference_is_flagged_when_amounts_go_missing(tmp_path):
    from test_io_helpers import BASE, load, write_files

    loaded = load(write_files(tmp_path / "src", BASE))
    lost = Ledger(
        loaded.invoices.iloc[1:], loaded.transactions, loaded.customers
    )  # I1 (100.00) lost after reading
    lost.load_report = loaded.load_report
    rec = reconcile.reconciliation(lost, "2024-06-30")
    assert rec.loc[rec["line"] == "Difference", ["amount", "check"]].values.tolist() == [
        [100.0, "DIFFERS"]
    ]
    assert (
        not reconcile.reconciled(rec)
        and reconcile.kpis(rec)["reconciliation"]["reconciled"] is False
    )
    assert str(reconcile.summary(rec, "EUR")) == (
        "Invoices read 430.50 EUR; open AR 270.50 EUR. RECONCILIATION DIFFERENCE of 100.00 EUR: amounts are "
        "missing or double counted."
    )


@st.composite
def _ledgers(draw):
    n = draw(st.integers(1, 6))
    inv, txn = [], []
    for i in range(n):
        day = draw(st.integers(0, 90))
        amount = draw(st.integers(1, 100_000)) / 100
        inv.append(
            (
                f"I{i}",
                "c1",
                pd.Timestamp("2024-01-01") + pd.Timedelta(days=day),
                pd.Timestamp("2024-01-31") + pd.Timedelta(days=day),
                amount,
            )
        )
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["payment", "credit_note", "write_off", "recovery"]))
            txn.append(
                (
                    f"I{i}",
                    pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 120))),
                    draw(st.integers(1, 60_000)) / 100,
                    kind,
                )
            )
    for _ in range(draw(st.integers(0, 2))):
        txn.append(
            (None, pd.Timestamp("2024-02-01"), draw(st.integers(1, 10_000)) / 100, "payment")
        )
    return inv, txn


@settings(max_examples=30, deadline=None)
@given(_ledgers(), st.integers(0, 130))
def test_random_ledgers_reconcile_to_the_cent(data, day):
    inv, txn = data
    led = Ledger(invoices(*inv), transactions(*txn))
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
    rec = reconcile.reconciliation(led, as_of)
    by = dict(zip(rec["line"], rec["amount"]))
    assert by["Difference"] == 0.0
    cash = sum(
        by[k]
        for k in (
            "of which applied to invoices",
            "of which over-applied (beyond invoice amount)",
            "of which unapplied (no invoice)",
            "of which on invoices dated after as_of",
        )
    )
    assert round(cash, 2) == by["Payments received to as_of"]
