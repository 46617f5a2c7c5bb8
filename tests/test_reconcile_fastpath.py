"""The reconciliation read from the ledger's own arrays (invoice positions and kinds found once
when the ledger was built, one open-items pass) gives the table of the text-matching
computation it replaced, kept here as the second method, line for line and to the cent: on a
hand-made messy ledger (orphan and missing invoice ids, an unknown kind, a reversal, a
zero invoice, invoices and cash after the close, several settlements on one day), on random
messy ledgers at every close, on a loaded unit with quarantined rows and a GL total, and on
a small demo unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import invoices, transactions
from hypothesis import given, settings
from hypothesis import strategies as st

from arlib.io import reconcile
from arlib.io.reconcile import DIFFERENCE, DIFFERS, GL_DIFFERENCE, OK, _Line, _source_lines
from arlib.ledger import Ledger
from arlib.schemas import CREDIT_NOTE, PAYMENT, RECOVERY, SETTLING_KINDS, WRITE_OFF, C

cents = reconcile._cents


# -- the second method: the computation the arrays replaced (text ids and kinds matched anew) --
def _allocate_by_text(ledger, day: pd.Timestamp) -> pd.DataFrame:
    txn, inv = ledger.transactions, ledger.invoices
    t = pd.DataFrame(
        {
            "kind": txn[C.kind].to_numpy(),
            "cents": cents(txn[C.amount]),
            "date": txn[C.date].to_numpy(),
            "code": pd.Index(inv[C.invoice_id]).get_indexer(txn[C.invoice_id]),
        }
    )
    t = t[(t["date"] <= day) & t["kind"].isin(SETTLING_KINDS)].copy()
    limit = np.where(t["code"] >= 0, cents(inv[C.amount])[t["code"].clip(lower=0)], 0)
    cum = t.groupby("code")["cents"].cumsum().to_numpy()
    applied = np.minimum(cum, limit) - np.minimum(cum - t["cents"].to_numpy(), limit)
    t["applied"] = np.where(t["code"] >= 0, np.clip(applied, 0, None), 0)
    t["over"] = t["cents"] - t["applied"]
    return t


def _cash_by_text(txn, alloc, to_date, day, report) -> list[_Line]:
    dated = (txn[C.date] <= day).to_numpy()
    pay = txn[dated & (txn[C.kind] == PAYMENT).to_numpy()]
    pay_alloc = alloc[alloc["kind"] == PAYMENT]
    applied = int(pay_alloc.loc[to_date, "applied"].sum())
    over = int(pay_alloc.loc[to_date, "over"].sum())
    unapplied = int(pay_alloc.loc[pay_alloc["code"] < 0, "cents"].sum())
    later = int(pay_alloc.loc[(pay_alloc["code"] >= 0) & ~to_date, "cents"].sum())
    other = alloc[alloc["kind"] != PAYMENT]
    other_cents = int(other.loc[to_date, "over"].sum() + other.loc[~to_date, "cents"].sum())
    rec = txn[dated & (txn[C.kind] == RECOVERY).to_numpy()]
    future = txn[~dated]
    q_rows, q_amt = report.quarantined_total("transactions") if report else (0, 0.0)
    return [
        _Line("cash", "Payments received to as_of", int(cents(pay[C.amount]).sum()), len(pay)),
        _Line("cash", "of which applied to invoices", applied),
        _Line("cash", "of which over-applied (beyond invoice amount)", over),
        _Line("cash", "of which unapplied (no invoice)", unapplied),
        _Line("cash", "of which on invoices dated after as_of", later),
        _Line("cash", "Credit notes and write-offs not reducing AR", other_cents),
        _Line(
            "cash", "Recoveries on written-off invoices", int(cents(rec[C.amount]).sum()), len(rec)
        ),
        _Line(
            "cash",
            "Transactions dated after as_of",
            int(cents(future[C.amount]).sum()),
            len(future),
        ),
        _Line("cash", "Quarantined transactions", int(cents(q_amt)), q_rows),
    ]


def by_text(ledger, as_of, gl=None) -> pd.DataFrame:
    """The reconciliation as computed before the ledger's arrays were used."""
    day = pd.Timestamp(as_of)
    inv, txn = ledger.invoices, ledger.transactions
    report = getattr(ledger, "load_report", None)
    inv_cents = cents(inv[C.amount])
    after = (inv[C.invoice_date] > day).to_numpy()
    q_rows, q_amt = report.quarantined_total("invoices") if report else (0, 0.0)
    if report is not None:
        r = report.frames.set_index("frame").loc["invoices"]
        read_rows, read_cents = int(r["rows_read"]), int(cents(r["amount_read"]))
    else:
        read_rows, read_cents = len(inv), int(inv_cents.sum())
    q_cents = int(cents(q_amt))
    alloc = _allocate_by_text(ledger, day)
    to_date = (alloc["code"] >= 0) & ~np.isin(alloc["code"], np.flatnonzero(after))
    applied = alloc[to_date].groupby("kind")["applied"].sum()
    invoiced = read_cents - q_cents - int(inv_cents[after].sum())
    expected = invoiced - sum(int(applied.get(k, 0)) for k in SETTLING_KINDS)
    items = ledger.open_items(day)
    open_cents = int(cents(items[C.open_amount]).sum())
    diff = expected - open_cents
    lines = [
        _Line("invoices", "Invoices read", read_cents, read_rows),
        _Line("invoices", "Quarantined invoices", -q_cents, q_rows),
        _Line(
            "invoices", "Invoices dated after as_of", -int(inv_cents[after].sum()), int(after.sum())
        ),
        _Line("invoices", "Invoiced to as_of", invoiced, int((~after).sum())),
        _Line("invoices", "Settled by payments", -int(applied.get(PAYMENT, 0))),
        _Line("invoices", "Credited", -int(applied.get(CREDIT_NOTE, 0))),
        _Line("invoices", "Written off", -int(applied.get(WRITE_OFF, 0))),
        _Line("invoices", "Open AR expected", expected),
        _Line("invoices", "Open AR (ledger)", open_cents, len(items)),
        _Line("invoices", DIFFERENCE, diff, None, OK if diff == 0 else DIFFERS),
    ]
    lines += _cash_by_text(txn, alloc, to_date, day, report)
    lines += _source_lines(report)
    if gl is not None:
        g = int(cents(gl))
        lines += [
            _Line("general ledger", "GL control total", g),
            _Line(
                "general ledger",
                GL_DIFFERENCE,
                open_cents - g,
                None,
                OK if open_cents == g else DIFFERS,
            ),
        ]
    out = pd.DataFrame(
        [
            {
                "section": ln.section,
                "line": ln.line,
                "amount": np.nan if ln.cents is None else ln.cents / 100,
                "rows": ln.rows,
                "check": ln.check,
            }
            for ln in lines
        ]
    )
    out["rows"] = out["rows"].astype("Int64")
    return out


def _same(ledger, as_of, gl=None) -> pd.DataFrame:
    got = reconcile.reconciliation(ledger, as_of, gl)
    pd.testing.assert_frame_equal(got, by_text(ledger, as_of, gl))
    return got


# -- a hand-made messy ledger -------------------------------------------------------------------
INV = [
    ("A", "c1", "2024-01-01", "2024-01-31", 100.0),
    ("B", "c1", "2024-01-10", "2024-02-09", 200.0),
    ("C", "c2", "2024-04-05", "2024-05-05", 50.0),  # after the close, paid before it
    ("D", "c2", "2024-02-01", "2024-03-02", 70.0),
    ("Z", "c2", "2024-02-01", "2024-03-02", 0.0),  # a zero invoice, paid anyway
]
TXN = [
    ("A", "2024-02-01", 60.0, PAYMENT),
    ("A", "2024-02-01", 50.0, PAYMENT),  # same day: 10.00 over-applied
    ("A", "2024-02-03", -20.0, PAYMENT),  # a reversal
    ("B", "2024-02-15", 20.0, CREDIT_NOTE),
    ("B", "2024-03-01", 300.0, WRITE_OFF),  # beyond the invoice
    ("B", "2024-03-10", 5.0, RECOVERY),
    ("C", "2024-03-20", 50.0, PAYMENT),
    ("Z", "2024-03-20", 9.99, PAYMENT),
    (None, "2024-03-05", 40.0, PAYMENT),  # no invoice
    ("ghost", "2024-03-06", 12.34, PAYMENT),  # an invoice the ledger does not hold
    ("ghost", "2024-03-07", 3.21, CREDIT_NOTE),
    ("D", "2024-03-08", 1.0, "refund"),  # a kind the engine does not know
    ("B", "2024-04-10", 15.0, PAYMENT),  # after the close
    ("D", "2024-04-11", 7.0, RECOVERY),
]


def _messy() -> Ledger:
    return Ledger(invoices(*INV), transactions(*TXN), validate=False)


def test_messy_ledger_gives_the_table_of_the_text_matching_computation():
    led = _messy()
    for as_of in ("2023-12-31", "2024-02-01", "2024-03-31", "2024-04-10", "2024-12-31"):
        _same(led, as_of)
    got = _same(led, "2024-03-31", gl=219.0)
    by = dict(zip(got["line"], got["amount"]))
    # A: 60 + 50 capped at 100, the reversal of -20 (refused by the load: outside the data
    # contract) is not given back by the capped running total, so A stays open 10.00 in the
    # ledger while the identity expects 0: the difference is shown, not hidden. B: 20
    # credited + 180 written off (capped); Z: a zero invoice, its 9.99 over-applied
    assert by["Settled by payments"] == -100.0 and by["Written off"] == -180.0
    assert by["Open AR (ledger)"] == 80.0 and by[DIFFERENCE] == -10.0
    assert got.loc[got["line"] == DIFFERENCE, "check"].item() == DIFFERS
    assert by["of which unapplied (no invoice)"] == 52.34  # 40.00 with no id, 12.34 on "ghost"
    assert by["of which over-applied (beyond invoice amount)"] == -0.01  # 10 - 20 + 9.99
    assert by["Transactions dated after as_of"] == 22.0
    assert by[GL_DIFFERENCE] == -139.0


@st.composite
def _messy_ledgers(draw):
    ids = [f"I{i}" for i in range(draw(st.integers(1, 6)))]
    inv = [
        (
            i,
            "c1",
            pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 90))),
            pd.Timestamp("2024-02-01"),
            draw(st.integers(0, 100_000)) / 100,
        )
        for i in ids
    ]
    txn = [
        (
            draw(st.sampled_from([*ids, None, "ghost"])),
            pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 120))),
            draw(st.integers(-5_000, 60_000)) / 100,
            draw(st.sampled_from([PAYMENT, CREDIT_NOTE, WRITE_OFF, RECOVERY, "refund"])),
        )
        for _ in range(draw(st.integers(0, 12)))
    ]
    return inv, txn


@settings(max_examples=40, deadline=None)
@given(_messy_ledgers(), st.integers(-5, 130))
def test_random_messy_ledgers_give_the_same_table(data, day):
    inv, txn = data
    led = Ledger(invoices(*inv), transactions(*txn), validate=False)
    _same(led, pd.Timestamp("2024-01-01") + pd.Timedelta(days=day), gl=123.45)


def test_loaded_unit_with_quarantine_and_a_gl_total(tmp_path):
    from test_io_helpers import BASE, load, write_files

    files = dict(BASE)
    files["invoices.csv"] += (
        "I5,x,C2,2024-13-45,2024-04-04,12.00,EUR,No\n"  # a bad date
        "I6,x,C2,2024-05-05,2024-04-04,13.00,EUR,No\n"  # due before it is dated
    )
    files["transactions.csv"] += (
        "T6,x,C2,I99,2024-04-02,5.00,payment\n"  # an unknown invoice
        "T7,x,C2,I6,2024-05-20,13.00,payment\n"  # on a quarantined invoice
    )
    loaded = load(
        write_files(tmp_path / "src", files), validation_policy={"bad_date": "quarantine"}
    )
    got = _same(loaded, "2024-06-30", gl=270.5)
    assert got.loc[got["line"] == "Quarantined invoices", "rows"].item() == 2
    assert got.loc[got["line"] == "Quarantined transactions", "rows"].item() == 2
    assert reconcile.reconciled(got)


def test_small_demo_unit(small_demo):
    f = {k: v.loc[v[C.business_unit] == "aa"] for k, v in small_demo.items()}
    led = Ledger(f["invoices"], f["transactions"], f["customers"])
    for as_of in ("2025-06-30", "2026-10-31"):
        got = _same(led, as_of)
        assert reconcile.reconciled(got)
