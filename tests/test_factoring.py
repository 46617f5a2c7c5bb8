"""Factoring what-if against a worked example, the selection of receivables, and the two
levers side by side."""

from __future__ import annotations

import pandas as pd
import pytest

from arlib.errors import ConfigError
from arlib.health import levers
from arlib.schemas import C

AS_OF = pd.Timestamp("2024-06-30")
ITEMS = pd.DataFrame(
    {
        C.customer_id: ["x", "x", "y", "z"],
        C.invoice_id: ["I1", "I2", "I3", "I4"],
        C.due_date: pd.to_datetime(["2024-07-30", "2024-06-20", "2024-07-15", "2024-03-01"]),
        C.open_amount: [60_000.0, 40_000.0, 5_000.0, 9_000.0],
        C.days_past_due: [0, 10, 0, 121],
    }
)
CARD = pd.DataFrame(
    {
        C.customer_id: ["x", "y", "z"],
        C.name: ["Xeno AG", "Ypsilon", "Zeta"],
        "grade": ["C", "A", "E"],
        C.segment: ["enterprise", "small", "small"],
        "days_late": [10.0, -4.0, 80.0],
    }
)
LOSS = {"A": 0.01, "B": 0.03, "C": 0.07, "D": 0.15, "E": 0.35}


def test_selection_by_grade_segment_days_and_name():
    sel = levers.select_receivables(ITEMS, CARD, grades=["C"])
    assert list(sel[C.invoice_id]) == ["I1", "I2"] and set(sel["days_late_usual"]) == {10.0}
    assert list(levers.select_receivables(ITEMS, CARD, segments=["small"])[C.invoice_id]) == [
        "I3",
        "I4",
    ]
    assert list(levers.select_receivables(ITEMS, CARD, min_days_past_due=90)[C.invoice_id]) == [
        "I4"
    ]
    named = levers.select_receivables(ITEMS, CARD, customers=["Ypsilon", "z"])
    assert list(named[C.invoice_id]) == ["I3", "I4"]
    assert levers.select_receivables(ITEMS, CARD, grades=["C"], segments=["small"]).empty
    # early payers are expected at the due date, not before
    assert named.set_index(C.invoice_id).loc["I3", "days_late_usual"] == 0.0


def test_factoring_against_the_worked_example():
    # Worked by hand. Xeno AG (grade C) usually pays 10 days late. I1: 60,000 due 30 Jul ->
    # expected 9 Aug, 40 days after 30 Jun; I2: 40,000 due 20 Jun -> expected 30 Jun, i.e. now:
    # 1 day at least. Weighted days = (60,000 x 40 + 40,000 x 1) / 100,000 = 24.4.
    # Advance 80% -> 80,000 now. Fee 1% of 100,000 = 1,000. Interest 80,000 x 6% x 24.4/365
    # = 320.876... -> 320.88. Cost 1,320.88. Financing saved at 8%: 80,000 x 8% x 24.4/365 =
    # 427.836... -> 427.84. Net cost 893.04. Effective rate 1,320.88 / 80,000 x 365 / 24.4 =
    # 24.70% a year, against 8% cost of capital.
    chosen = levers.select_receivables(ITEMS, CARD, grades=["C"])
    kw = dict(advance_rate=0.8, fee=0.01, discount_rate=0.06, cost_of_capital=0.08)
    r = levers.factoring_whatif(chosen, AS_OF, 5_000.0, LOSS, recourse=False, **kw)
    assert r["face_value"] == 100_000.0 and r["days_to_collect"] == pytest.approx(24.4)
    assert (r["cash_released"], r["fee_cost"], r["interest_cost"]) == (80_000.0, 1_000.0, 320.88)
    assert (r["total_cost"], r["financing_saved"], r["net_cost"]) == (1_320.88, 427.84, 893.04)
    assert r["effective_rate"] == pytest.approx(0.24699, abs=1e-5)
    # without recourse: 100,000 leave receivables (20 days of 5,000 a day) and the expected loss
    # of grade C (7%) passes to the factor
    assert (r["dso_change"], r["risk_transferred"]) == (-20.0, 7_000.0)
    with_recourse = levers.factoring_whatif(chosen, AS_OF, 5_000.0, LOSS, recourse=True, **kw)
    assert (with_recourse["dso_change"], with_recourse["risk_transferred"]) == (0.0, 0.0)
    assert with_recourse["net_cost"] == r["net_cost"]


def test_nothing_selected_says_so():
    r = levers.factoring_whatif(ITEMS.iloc[:0].assign(days_late_usual=[]), AS_OF, 1.0, LOSS)
    assert r["face_value"] == 0.0 and "nothing" in r["note"]


@pytest.mark.parametrize(
    "kw, key",
    [
        ({"advance_rate": 1.2}, "factoring_advance_rate"),
        ({"fee": -0.01}, "factoring_fee"),
        ({"discount_rate": 2}, "factoring_discount_rate"),
    ],
)
def test_bad_factoring_terms_name_the_parameter(kw, key):
    with pytest.raises(ConfigError, match=key):
        levers.factoring_costs(1000.0, 30, **kw)


def test_levers_side_by_side():
    disc = {"cash_released": 12_000.0, "net_cost": 3_000.0, "dso_change": -4.0}
    fac = levers.factoring_costs(100_000.0, 60, 0.8, 0.01, 0.06, 0.08)
    # by hand: fee 1,000 + interest 80,000 x 6% x 60/365 = 789.04; saved 80,000 x 8% x 60/365
    # = 1,052.05; net 736.99 a deal; kept up all year (365/60 turns): 736.99 x 365/60 = 4,483.36
    assert fac["net_cost"] == 736.99
    t = levers.levers_table(disc, {**fac, "items": 3, "dso_change": -20.0}).set_index("lever")
    assert t.loc["factoring", "cash_released"] == 80_000.0
    assert t.loc["factoring", "yearly_cost"] == 4_483.36
    assert t.loc["factoring", "cost_rate"] == pytest.approx(4_483.36 / 80_000)
    assert t.loc["early-payment discount", "yearly_cost"] == 3_000.0
    assert t.loc["early-payment discount", "cost_rate"] == 0.25
