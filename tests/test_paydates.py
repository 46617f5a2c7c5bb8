"""arlib.forecast.paydates: invoice-level payment dates on hand-built histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import invoices, transactions

from arlib.forecast import paydates
from arlib.forecast.paydates import GRID, PayDateModel
from arlib.ledger import Ledger

AS_OF = pd.Timestamp("2024-12-31")


def _customers(*rows):
    return pd.DataFrame(
        [
            dict(
                customer_id=c,
                business_unit="X",
                name=c.upper(),
                segment=seg,
                credit_limit=1000.0,
                terms_days=30,
                status="active",
            )
            for c, seg in rows
        ]
    )


def _history(customer, n, days_late, start="2024-01-01", every=7):
    """``n`` invoices of 100, one every ``every`` days, each paid ``days_late`` after its due
    date (30 days after the invoice)."""
    inv, txn = [], []
    for i in range(n):
        d = pd.Timestamp(start) + pd.Timedelta(days=i * every)
        due = d + pd.Timedelta(days=30)
        iid = f"{customer}-{i}"
        inv.append((iid, customer, d, due, 100.0))
        txn.append((iid, due + pd.Timedelta(days=days_late), 100.0, "payment", customer))
    return inv, txn


def _ledger(histories, open_rows, customers):
    inv, txn = [], []
    for h in histories:
        inv += h[0]
        txn += h[1]
    return Ledger(invoices(*inv, *open_rows), transactions(*txn), _customers(*customers))


def test_a_customer_always_ten_days_late_pays_ten_days_after_due():
    # c1 alone in its segment: 20 invoices, every one paid 10 days late
    led = _ledger(
        [_history("c1", 20, 10)],
        [("open1", "c1", "2024-12-20", "2025-01-19", 250.0)],
        [("c1", "A")],
    )
    m = PayDateModel(by="segment").fit(led, AS_OF)
    row = m.items_.set_index("invoice_id").loc["open1"]
    assert row["expected_date"] == pd.Timestamp("2025-01-29")
    assert row["expected_days_late"] == 10 and row["p_paid"] == pytest.approx(1.0)
    assert row["history_n"] == 20 and row["weight_own"] == pytest.approx(20 / 25)
    # all the cash lands on that day
    daily = m.daily()
    assert daily.to_dict() == {pd.Timestamp("2025-01-29"): pytest.approx(250.0)}


def test_a_new_customer_takes_its_segment_and_a_short_record_is_shrunk_to_it():
    # segment A: c1 20 invoices 10 days late, c3 10 invoices 30 days late, c4 5 invoices 40 late
    led = _ledger(
        [_history("c1", 20, 10), _history("c3", 10, 30), _history("c4", 5, 40)],
        [
            ("new1", "c2", "2024-12-20", "2025-01-19", 100.0),
            ("c4open", "c4", "2024-12-20", "2025-01-19", 100.0),
        ],
        [("c1", "A"), ("c2", "A"), ("c3", "A"), ("c4", "A")],
    )
    m = PayDateModel(by="segment", prior=5).fit(led, AS_OF)
    pmf, never, n = m.distribution("c2", "A")
    assert n == 0 and never[-1] == 0
    assert pmf[GRID == 10][0] == pytest.approx(20 / 35)
    assert pmf[GRID == 30][0] == pytest.approx(10 / 35)
    assert pmf[GRID == 40][0] == pytest.approx(5 / 35)
    # c4: five of its own, weight 5 / (5 + 5) = 0.5 on its own record (all at 40 days)
    pmf4, _, n4 = m.distribution("c4", "A")
    assert n4 == 5
    assert pmf4[GRID == 40][0] == pytest.approx(0.5 * 1 + 0.5 * 5 / 35)
    assert pmf4[GRID == 10][0] == pytest.approx(0.5 * 20 / 35)
    items = m.items_.set_index("invoice_id")
    # new customer: the segment's median (10 days: 20 of 35 invoices); c4: cumulative 0.29 at
    # 10, 0.43 at 30, 1.0 at 40 -> median 40 days
    assert items.loc["new1", "expected_days_late"] == 10
    assert items.loc["c4open", "expected_days_late"] == 40


def test_age_conditions_the_date_and_the_horizon_probability():
    # segment: half paid 5 days late, half 25 days late; an invoice already 10 days past due
    # can only be one of the late ones
    led = _ledger(
        [_history("c1", 10, 5), _history("c2", 10, 25)],
        [("old", "c9", "2024-11-21", "2024-12-21", 100.0)],
        [("c1", "A"), ("c2", "A"), ("c9", "A")],
    )
    m = PayDateModel(by="segment").fit(led, AS_OF)
    row = m.items_.set_index("invoice_id").loc["old"]
    assert row["expected_date"] == pd.Timestamp("2025-01-15") and row["p_paid"] == pytest.approx(1)
    h = m.with_horizon("2025-01-10").set_index("invoice_id")
    assert h.loc["old", "p_horizon"] == 0.0
    assert m.with_horizon("2025-01-15").set_index("invoice_id").loc["old", "p_horizon"] == 1.0


def test_write_offs_are_never_paid_and_open_items_are_censored():
    # 10 invoices written off 60 days after due, 10 paid 20 days late: half never pay
    inv, txn = _history("c1", 10, 20)
    bad_inv, bad_txn = _history("c2", 10, 60)
    bad_txn = [(t[0], t[1], t[2], "write_off", t[4]) for t in bad_txn]
    led = Ledger(
        invoices(*inv, *bad_inv, ("n1", "c3", "2024-12-20", "2025-01-19", 100.0)),
        transactions(*txn, *bad_txn),
        _customers(("c1", "A"), ("c2", "A"), ("c3", "A")),
    )
    m = PayDateModel(by="segment").fit(led, AS_OF)
    assert m.items_.set_index("invoice_id").loc["n1", "p_paid"] == pytest.approx(0.5)
    pmf, never = paydates.incidence(np.array([5, 10, 10]), np.array([1, 0, 1]))
    # one paid at 5 of 3 at risk; at 10, two at risk, one paid, one censored
    assert pmf[GRID == 5][0] == pytest.approx(1 / 3)
    assert pmf[GRID == 10][0] == pytest.approx(2 / 3 * 1 / 2)
    assert never[-1] == 0


def test_period_totals_split_daily_cash_by_week_and_month():
    daily = pd.Series(
        [10.0, 20.0, 40.0],
        index=pd.to_datetime(["2025-01-03", "2025-01-06", "2025-02-02"]),
    )
    weeks = paydates.period_totals(daily, AS_OF, 6, "W-FRI")
    assert weeks["period_end"].iloc[0] == pd.Timestamp("2025-01-03")
    # weeks ending Friday: (Dec 28 - Jan 3], (Jan 4 - Jan 10], ... Feb 2 is in the week ending Feb 7
    assert weeks["yhat"].tolist() == [10.0, 20.0, 0.0, 0.0, 0.0, 40.0]
    months = paydates.period_totals(daily, AS_OF, 2, "M")
    assert months["yhat"].tolist() == [30.0, 40.0]


def test_evaluate_scores_model_and_both_baselines_by_hand():
    # c1 always 10 days late; one invoice open at the cut-off, paid 10 days late after it
    inv, txn = _history("c1", 20, 10)
    inv.append(("x", "c1", "2024-11-15", "2024-12-15", 100.0))
    txn.append(("x", "2024-12-25", 100.0, "payment", "c1"))
    led = Ledger(invoices(*inv), transactions(*txn), _customers(("c1", "A")))
    ev = paydates.evaluate(led, ["2024-12-01"], AS_OF).set_index("invoice_id")
    assert ev.loc["x", "err_model"] == 0
    assert ev.loc["x", "err_due_date_baseline"] == 10
    assert ev.loc["x", "err_customer_mean_baseline"] == 0
