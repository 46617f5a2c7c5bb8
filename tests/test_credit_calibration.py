"""Scorecard backtest and calibration, limits, one ranking and the legal list."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_credit import AS_OF, CUST, make

from arlib import demo, provision
from arlib.health import calibration as cal
from arlib.health import credit
from arlib.ledger import Ledger
from arlib.schemas import C


def test_auc_by_hand_and_from_pairs():
    # 2 bad (0.35, 0.8) x 2 good (0.1, 0.4): pairs bad > good: 0.35>0.1, 0.8>0.1, 0.8>0.4 = 3/4
    assert cal.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert cal.auc([1, 1, 1], [0, 1, 0]) == 0.5  # ties count half
    assert np.isnan(cal.auc([1, 2], [0, 0]))
    rng = np.random.default_rng(3)
    s, y = rng.normal(size=200), rng.random(200) < 0.3
    pairs = np.mean([(a > b) + 0.5 * (a == b) for a in s[y] for b in s[~y]])
    assert cal.auc(s, y) == pytest.approx(pairs)


def test_cuts_from_shares_never_leave_a_grade_empty_on_ties():
    scores = [0] * 6 + [10, 20, 30, 40]
    cuts = cal.cuts_from_shares(scores, {"A": 0.3, "B": 0.3, "C": 0.4})
    # 30% quantile is 0: the bound moves to the next distinct score, so A holds the six zeros
    assert cuts == {"A": 10.0, "B": 20.0, "C": 100.0}
    assert list(credit.grade(scores, cuts)) == ["A"] * 6 + ["B", "C", "C", "C"]


def test_outcome_is_an_item_reaching_90_days_or_a_write_off():
    # B1 and D2 (due 2024-05-01) reach 90 days past due on 2024-07-30, D1 on 2024-08-29; G3
    # (due 06-15) only on 09-13 and L3 (due 07-20) on 10-18, after the end of the period
    bad = cal.outcomes(make(), AS_OF, "2024-08-31", default_days=90)
    assert list(bad.index) == ["b", "d"]
    assert list(cal.outcomes(make(), AS_OF, "2024-10-31", 90).index) == ["b", "d", "g", "l"]
    assert list(cal.outcomes(make(), AS_OF, "2024-07-29", default_days=90).index) == []
    assert cal.in_default(make(), AS_OF, 60) == {"b", "d"}


def test_too_little_history_keeps_the_default_cut_offs():
    pts = cal.backtest(make(), AS_OF, months=6)
    ev = cal.calibrate(pts, fallback=credit.GRADE_CUTS)
    assert ev["basis"] == "default" and ev["cuts"] == credit.GRADE_CUTS
    assert "too little history" in ev["note"]


SIM = dataclasses.replace(
    demo.UNITS["de"],
    customers=60,
    mix=(0.5, 0.2, 0.1, 0.2),
    growth=0.0,
    invoices_per_customer_month=2.0,
)


@pytest.fixture(scope="module")
def sim():
    """A seeded ledger whose customers have known behaviours: prompt payers (no default),
    chronic late payers (a few items never paid), deteriorating and defaulting customers."""
    f = demo.generate(seed=5, units={"sim": SIM}, start="2023-01-01", end="2025-12-31")
    return Ledger(f["invoices"], f["transactions"], f["customers"]), f["customers"]


def test_backtest_on_a_simulation_recovers_the_risk_ordering(sim):
    led, cust = sim
    pts = cal.backtest(led, "2025-12-31", months=6)
    ev = cal.calibrate(pts, fallback=credit.GRADE_CUTS)
    assert ev["basis"] == "backtest" and ev["points"] == len(pts) > 200
    assert ev["auc"] > 0.8 and ev["gini"] == pytest.approx(2 * ev["auc"] - 1)
    g = ev["grades"].set_index("grade")
    # the grades hold about the target shares and the default rate rises from A to E
    assert g["share"].to_numpy() == pytest.approx(list(cal.GRADE_SHARES.values()), abs=0.08)
    assert ev["monotonic"] and g.loc["E", "default_rate"] > 5 * max(
        g.loc["A", "default_rate"], 0.01
    )
    # the known ordering: prompt payers score best, defaulting customers worst
    beh = pts[C.customer_id].map(cust.set_index(C.customer_id)["behaviour"])
    mean = pts.groupby(beh)["score"].mean()
    assert mean["prompt"] < mean["chronic_late"] and mean["prompt"] < mean["defaulting"]
    rate = pts.groupby(beh)["bad"].mean()
    assert rate["prompt"] < rate["defaulting"]


def test_limits_are_never_zero_without_a_default_signal(sim):
    led, _ = sim
    card = credit.recommend(credit.scorecard(led, "2025-12-31"))
    quiet = card["default_signal"] == ""
    assert quiet.sum() > 0 and (card.loc[quiet, "recommended_limit"] > 0).all()
    assert (card.loc[quiet, "limit_action"] != "secure or cash only").all()
    assert (card.loc[~quiet, "recommended_limit"] == 0).all()
    assert (card.loc[~quiet, "limit_reason"] == card.loc[~quiet, "default_signal"]).all()


def test_insolvent_customer_leaves_the_worklist_for_the_legal_list():
    cust = [r if r[0] != "b" else r[:4] + ("insolvent",) for r in CUST]
    led = make(cust=cust)
    card = credit.scorecard(led, AS_OF)
    work = credit.worklist(led, AS_OF, card)
    assert "b" not in set(work[C.customer_id]) and list(work[C.invoice_id]) == ["D1", "D2", "G3"]
    spec = provision.specific_table(led, AS_OF, provision.ProvisionSettings(expected_recovery=0.25))
    legal = credit.legal_list(led, AS_OF, card, spec)
    row = legal.set_index(C.customer_id).loc["b"]
    # b owes B1 3,000, 60 days past due; specific provision 3,000 x (1 - 25%) = 2,250
    assert (row["open_ar"], row["past_due"], row["oldest_days"]) == (3000.0, 3000.0, 60)
    assert row["specific_provision"] == 2250.0 and list(legal[C.customer_id]) == ["b"]


def test_one_ranking_first_item_belongs_to_first_customer():
    # d's two items together outrank b's one when b's single item is small
    inv = [("B1", "b", "2024-04-01", "2024-05-01", 100.0, False)] + [
        r for r in __import__("test_credit").INV if r[1] != "b"
    ]
    led = make(inv=inv)
    work = credit.worklist(led, AS_OF, credit.scorecard(led, AS_OF))
    acts = credit.actions(work)
    assert work[C.customer_id].iloc[0] == acts[C.customer_id].iloc[0]
    firsts = work.drop_duplicates(C.customer_id)[C.customer_id].tolist()
    assert firsts == acts[C.customer_id].tolist()  # the same customer order everywhere
    assert acts["priority"].is_monotonic_decreasing
