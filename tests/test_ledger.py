"""As-of ledger on tiny ledgers worked out by hand, plus invariants on the demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ledger
from hypothesis import given, settings
from hypothesis import strategies as st

from arlib.errors import ConfigError
from arlib.ledger import Ledger, aging_summary, bucket_labels, month_ends, trailing_month_ends

INV = [
    ("A", "c1", "2024-01-01", "2024-01-31", 100.0),
    ("B", "c1", "2024-02-10", "2024-03-11", 200.0),
    ("C", "c2", "2024-03-31", "2024-04-30", 50.0),
]


def test_bucket_labels_default_and_custom():
    assert bucket_labels() == ["current", "1-30", "31-60", "61-90", "91-120", "over 120"]
    assert bucket_labels([0, 15]) == ["current", "1-15", "over 15"]
    with pytest.raises(ConfigError, match="aging_thresholds"):
        bucket_labels([10, 30])
    with pytest.raises(ConfigError, match="increase strictly"):
        bucket_labels([0, 30, 30])


def test_paid_on_as_of_date_is_closed_paid_day_after_is_open():
    led = ledger(INV[:1], [("A", "2024-02-15", 100.0, "payment")])
    assert led.open_items("2024-02-15").empty  # paid at the close of as_of
    items = led.open_items("2024-02-14")
    assert items["invoice_id"].tolist() == ["A"] and items["days_past_due"].tolist() == [14]


def test_invoiced_on_as_of_date_is_open_and_current():
    items = ledger(INV).open_items("2024-03-31")
    row = items.set_index("invoice_id").loc["C"]
    assert row["open_amount"] == 50.0 and row["days_past_due"] == -30 and row["bucket"] == "current"
    assert "C" not in ledger(INV).open_items("2024-03-30")["invoice_id"].tolist()


@pytest.mark.parametrize(
    "as_of,dpd,bucket",
    [
        ("2024-01-31", 0, "current"),  # due today: not past due
        ("2024-02-01", 1, "1-30"),
        ("2024-03-01", 30, "1-30"),
        ("2024-03-02", 31, "31-60"),
        ("2024-05-30", 120, "91-120"),
        ("2024-05-31", 121, "over 120"),
    ],
)
def test_bucket_boundaries(as_of, dpd, bucket):
    row = ledger(INV[:1]).open_items(as_of).iloc[0]
    assert (row["days_past_due"], row["bucket"]) == (dpd, bucket)


def test_partial_payment_credit_note_write_off_and_recovery():
    txn = [
        ("A", "2024-02-05", 30.0, "payment"),
        ("A", "2024-02-20", 20.0, "credit_note"),
        ("B", "2024-03-20", 200.0, "payment"),
        ("A", "2024-04-30", 50.0, "write_off"),
        ("A", "2024-06-30", 10.0, "recovery"),
    ]
    led = ledger(INV, txn)
    by = lambda d: led.open_items(d).set_index("invoice_id")["open_amount"].to_dict()  # noqa: E731
    assert by("2024-02-10") == {"A": 70.0, "B": 200.0}
    assert by("2024-03-31") == {"A": 50.0, "C": 50.0}  # B paid in full, C invoiced that day
    assert by("2024-04-30") == {"C": 50.0}  # A written off
    assert by("2024-07-31") == {"C": 50.0}  # the recovery does not reopen A
    flows = led.flows()
    assert flows.loc["2024-02", ["collected", "credited"]].tolist() == [30.0, 20.0]
    assert flows.loc["2024-06", "recovered"] == 10.0 and flows.loc["2024-04", "written_off"] == 50.0


def test_unapplied_cash_and_overpayment_are_credit_balances():
    txn = [
        (None, "2024-01-10", 500.0, "payment", "c9"),
        ("A", "2024-02-01", 120.0, "payment", "c1"),
    ]
    led = ledger(INV[:1], txn)
    assert led.open_items("2024-02-01").empty
    un = led.unapplied("2024-02-01").set_index("customer_id")
    assert un.loc["c9", "unapplied_cash"] == 500.0 and un.loc["c1", "overpaid"] == 20.0
    assert led.unapplied("2024-01-09").empty


def test_settlement_dates_and_lateness():
    txn = [("A", "2024-01-20", 40.0, "payment"), ("A", "2024-02-05", 60.0, "payment")]
    s = ledger(INV[:2], txn).settlement().set_index("invoice_id")
    assert s.loc["A", "settled_date"] == pd.Timestamp("2024-02-05")
    assert (s.loc["A", "days_to_pay"], s.loc["A", "days_late"]) == (35, 5)
    assert pd.isna(s.loc["B", "settled_date"])


def test_aging_lists_every_bucket_and_summary():
    led = ledger(INV, [("A", "2024-02-05", 30.0, "payment")])
    aging = led.aging("2024-03-31")
    assert aging["bucket"].astype(str).tolist() == bucket_labels()
    # A: 70 open, 60 dpd -> 31-60; B: 200, 20 dpd -> 1-30; C: 50 current
    assert aging.set_index("bucket")["amount"].to_dict() == {
        "current": 50.0,
        "1-30": 200.0,
        "31-60": 70.0,
        "61-90": 0.0,
        "91-120": 0.0,
        "over 120": 0.0,
    }
    s = aging_summary(aging)
    assert (s["open_ar"], s["current_ar"], s["past_due_ar"]) == (320.0, 50.0, 270.0)
    assert s["past_due_share"] == pytest.approx(270 / 320)


def test_month_ends_and_trailing():
    assert [str(d.date()) for d in month_ends("2024-01-15", "2024-03-01")] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
    ]
    assert [str(d.date()) for d in trailing_month_ends("2024-06-30", 2)] == [
        "2024-05-31",
        "2024-06-30",
    ]


def test_history_equals_open_items_at_each_month_end(small_demo):
    """Two methods: the vectorised month-end history and open_items at each date."""
    f = {k: v[v["business_unit"] == "aa"] for k, v in small_demo.items()}
    led = Ledger(f["invoices"], f["transactions"], f["customers"])
    dates = month_ends("2025-01-31", "2026-10-31")[::5]
    hist = led.history(dates)
    for d in dates:
        direct = led.aging(d).set_index("bucket")["amount"]
        got = hist[hist["month_end"] == d].set_index("bucket")["amount"]
        np.testing.assert_allclose(got.to_numpy(), direct.to_numpy(), atol=0.011)


amounts = st.decimals(min_value="0.01", max_value="99999.99", places=2).map(float)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(amounts, st.integers(0, 200), st.integers(0, 90), st.floats(0, 1.2)),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 400),
)
def test_buckets_sum_to_open_ar_to_the_cent(rows, as_of_offset):
    base = pd.Timestamp("2024-01-01")
    inv = [
        (f"I{i}", "c1", base + pd.Timedelta(days=d), base + pd.Timedelta(days=d + terms), amt)
        for i, (amt, d, terms, _) in enumerate(rows)
    ]
    txn = [
        (f"I{i}", base + pd.Timedelta(days=d + 20), round(amt * paid, 2), "payment")
        for i, (amt, d, _, paid) in enumerate(rows)
        if round(amt * paid, 2) > 0
    ]
    led = ledger(inv, txn)
    as_of = base + pd.Timedelta(days=as_of_offset)
    items = led.open_items(as_of)
    aging = led.aging(as_of)
    # independent: open = amount - payments dated <= as_of, for invoices dated <= as_of
    expect = sum(
        max(round(a - (round(a * p, 2) if base + pd.Timedelta(days=d + 20) <= as_of else 0), 2), 0)
        for a, d, _, p in rows
        if base + pd.Timedelta(days=d) <= as_of
    )
    assert (
        round(aging["amount"].sum(), 2) == round(items["open_amount"].sum(), 2) == round(expect, 2)
    )
