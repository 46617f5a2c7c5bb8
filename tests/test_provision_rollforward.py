"""Allowance roll-forward: opening + charge - write-offs + recoveries = closing, to the cent."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from arlib.ledger import Ledger, month_ends
from arlib.provision.allowance import (
    allowance_rollforward,
    movements,
    to_cents,
    write_off_candidates,
)
from arlib.provision.estimate import (
    ProvisionSettings,
    allowance_history,
    estimate_allowance,
    rollforward,
)


def test_identity_holds_in_cents_for_awkward_amounts():
    idx = month_ends("2024-01-31", "2024-04-30")
    closing = pd.Series([100.005, 0.1 + 0.2, 1e9 / 3, 12.345], idx)
    wo = pd.Series([0.0, 33.335, 0.015, 7.0], idx)
    rec = pd.Series([0.0, 0.005, 1.1, 0.0], idx)
    rf = allowance_rollforward(closing, wo, rec, opening=50.0)
    assert len(rf) == 4 and rf["opening"].iloc[0] == 50.0
    c = rf.map(to_cents)
    assert (c["opening"] + c["charge"] - c["write_offs"] + c["recoveries"] == c["closing"]).all()
    assert (c["opening"].iloc[1:].to_numpy() == c["closing"].iloc[:-1].to_numpy()).all()
    assert rf["closing"].tolist() == [
        100.01,
        0.3,
        333333333.33,
        12.35,
    ]  # half up: 100.005 -> 100.01


def _flagged_ledger() -> Ledger:
    """One insolvent customer (flagged from 2024-01-01), fully provisioned (rate 100%).
    A 1000 invoiced Jan 10: 400 paid Mar 10, 600 written off May 15, 50 recovered Jun 20.
    D 250 invoiced May 20, still open."""
    inv = pd.DataFrame(
        {
            "invoice_id": ["A", "D"],
            "business_unit": "X",
            "customer_id": "x",
            "invoice_date": pd.to_datetime(["2024-01-10", "2024-05-20"]),
            "due_date": pd.to_datetime(["2024-02-09", "2024-06-19"]),
            "amount": [1000.0, 250.0],
            "currency": "EUR",
            "disputed": False,
        }
    )
    txn = pd.DataFrame(
        {
            "txn_id": ["t1", "t2", "t3"],
            "business_unit": "X",
            "customer_id": "x",
            "invoice_id": ["A", "A", "A"],
            "date": pd.to_datetime(["2024-03-10", "2024-05-15", "2024-06-20"]),
            "amount": [400.0, 600.0, 50.0],
            "kind": ["payment", "write_off", "recovery"],
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": ["x"],
            "business_unit": "X",
            "name": ["Xeno"],
            "segment": "small",
            "credit_limit": 1e4,
            "terms_days": 30,
            "status": ["insolvent"],
            "status_since": pd.to_datetime(["2024-01-01"]),
        }
    )
    return Ledger(inv, txn, cust)


def test_charge_on_a_hand_example():
    led = _flagged_ledger()
    dates = month_ends("2024-03-31", "2024-06-30")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny history: the roll-rate look-back is short
        closing = allowance_history(led, dates, ProvisionSettings())
    # by hand: the allowance is the customer's open amount: 600, 600, 250 (D), 250
    assert closing.tolist() == [600.0, 600.0, 250.0, 250.0]
    mv = movements(led, dates)
    assert mv["write_offs"].tolist() == [0.0, 0.0, 600.0, 0.0] and mv["recoveries"].tolist() == [
        0,
        0,
        0,
        50.0,
    ]
    rf = allowance_rollforward(closing, mv["write_offs"], mv["recoveries"])
    # April: nothing happens. May: A's 600 was fully provided, so its write-off costs nothing;
    # the expense is the new provision on D, 250. June: the 50 recovery is income.
    assert rf["charge"].tolist() == [0.0, 250.0, -50.0]


def test_first_period_of_movements_is_the_calendar_month():
    led = _flagged_ledger()
    mv = movements(led, pd.to_datetime(["2024-05-31"]))
    assert mv["write_offs"].tolist() == [600.0]  # May 15 is in (Apr 30, May 31]
    mv = movements(led, pd.to_datetime(["2024-05-14", "2024-05-15"]))
    assert mv["write_offs"].tolist() == [0.0, 600.0]


@pytest.fixture(scope="module")
def demo_us():
    from arlib import demo

    f = demo.generate(seed=7, units={"us": demo.UNITS["us"]})
    return Ledger(f["invoices"], f["transactions"], f["customers"], validate=False)


def test_demo_rollforward_reconciles_to_the_cent(demo_us):
    as_of = "2026-10-31"
    rf = rollforward(demo_us, as_of, months=6)
    assert len(rf) == 6 and rf.index[-1] == pd.Timestamp(as_of)
    c = rf.map(to_cents)
    assert (c["opening"] + c["charge"] - c["write_offs"] + c["recoveries"] == c["closing"]).all()
    assert (c["opening"].iloc[1:].to_numpy() == c["closing"].iloc[:-1].to_numpy()).all()
    assert rf["closing"].iloc[-1] == estimate_allowance(demo_us, as_of).iloc[-1]["allowance"]
    flows = demo_us.flows("M")  # independent: the ledger's own monthly totals
    months = rf.index.to_period("M")
    assert rf["write_offs"].tolist() == pytest.approx(
        flows.loc[months, "written_off"].tolist(), abs=0.005
    )
    assert rf["recoveries"].tolist() == pytest.approx(
        flows.loc[months, "recovered"].tolist(), abs=0.005
    )


def test_write_off_candidates_follow_the_policy(demo_us):
    as_of = pd.Timestamp("2026-10-31")
    wc = write_off_candidates(demo_us, as_of, min_days_past_due=120, no_payment_days=60)
    assert len(wc) and (wc["days_past_due"] >= 120).all() and (wc["days_since_payment"] >= 60).all()
    assert wc["approved"].isna().all() and list(wc.columns[-3:]) == [
        "approved",
        "approved_by",
        "note",
    ]
    # every open item of that age whose customer has been quiet is listed, and no other
    items = demo_us.open_items(as_of)
    pay = (
        demo_us.transactions.query("kind == 'payment' and date <= @as_of")
        .groupby("customer_id")["date"]
        .max()
    )
    quiet = items["customer_id"].map(pay).pipe(lambda d: d.isna() | ((as_of - d).dt.days >= 60))
    assert set(wc["invoice_id"]) == set(
        items.loc[quiet & (items["days_past_due"] >= 120), "invoice_id"]
    )


def test_split_into_new_provisions_releases_utilisation_on_the_hand_example():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny history: the roll-rate look-back is short
        rf = rollforward(_flagged_ledger(), "2024-06-30", months=3)
    # April: nothing moves. May: A's 600, fully provided, is written off (utilisation 600, no
    # charge); D's 250 is a new provision. June: the 50 recovered on A is released.
    assert rf["new_provisions"].tolist() == [0.0, 250.0, 0.0]
    assert rf["releases"].tolist() == [0.0, 0.0, 50.0]
    assert rf["write_offs"].tolist() == [0.0, 600.0, 0.0]
    assert rf["recoveries"].tolist() == [0.0, 0.0, 50.0]
    assert rf["fx"].tolist() == [0.0, 0.0, 0.0]
    assert rf["closing"].tolist() == [600.0, 250.0, 250.0]


def test_demo_split_components_sum_to_the_cent(demo_us):
    rf = rollforward(demo_us, "2026-10-31", months=6).map(to_cents)
    assert (rf["new_provisions"] - rf["releases"] == rf["charge"]).all()
    assert (
        rf["opening"]
        + rf["new_provisions"]
        - rf["releases"]
        - rf["write_offs"]
        + rf["recoveries"]
        + rf["fx"]
        == rf["closing"]
    ).all()
    assert (rf["new_provisions"] > 0).all() and (rf["releases"] > 0).all()
    # the charge is the one the plain roll-forward identity gives, from independent totals
    mv = movements(demo_us, rf.index)
    plain = allowance_rollforward(
        rf["closing"] / 100, mv["write_offs"], mv["recoveries"], opening=rf["opening"].iloc[0] / 100
    )
    assert plain["charge"].map(to_cents).tolist() == rf["charge"].tolist()
