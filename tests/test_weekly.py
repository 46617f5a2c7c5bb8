"""arlib.forecast.weekly and scenarios: 13 weeks from open items plus invoicing to come, and
scenarios that move cash by hand-computed amounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_paydates import AS_OF, _history, _ledger

from arlib.errors import ConfigError
from arlib.forecast import scenarios, weekly
from arlib.forecast.paydates import PayDateModel
from arlib.ledger import Ledger


@pytest.fixture(scope="module")
def view():
    """c1 (segment A) always pays 10 days late, c2 (segment B) too; one open invoice
    each; invoicing to come: 1000 on Monday 6 January 2025 (terms 30 days)."""
    led = _ledger(
        [_history("c1", 20, 10), _history("c2", 20, 10)],
        [
            ("o1", "c1", "2024-12-20", "2025-01-19", 250.0),
            ("o2", "c2", "2024-12-27", "2025-01-26", 100.0),
        ],
        [("c1", "A"), ("c2", "B")],
    )
    model = PayDateModel(by="segment").fit(led, AS_OF)
    v = weekly.CashView.__new__(weekly.CashView)  # the invoicing forecast set by hand
    v.model, v.as_of, v.terms, v.last = model, AS_OF, 30, None  # last: no horizon cut
    v.invoicing = pd.Series([1000.0], index=pd.to_datetime(["2025-01-06"]))
    v.open_daily = model.daily()
    v.new_daily = weekly.new_invoicing_cash(v.invoicing, model, v.terms)
    return led, v


def test_weeks_are_open_items_plus_new_invoicing(view):
    _, v = view
    weeks = v.by_period(13, weekly.week_period("FRI"))
    assert len(weeks) == 13 and weeks["period_end"].iloc[0] == pd.Timestamp("2025-01-03")
    assert (weeks["period_end"].dt.weekday == 4).all()
    # o1 paid 29 Jan (week ending 31 Jan, the 5th); o2 paid 5 Feb (week ending 7 Feb, 6th);
    # the 6 Jan invoicing is due 5 Feb and paid 15 Feb (week ending 21 Feb, the 8th)
    want_open = np.zeros(13)
    want_open[4], want_open[5] = 250.0, 100.0
    want_new = np.zeros(13)
    want_new[7] = 1000.0
    assert weeks["open_items"].to_numpy() == pytest.approx(want_open)
    assert weeks["new_invoicing"].to_numpy() == pytest.approx(want_new)
    assert weeks["yhat"].to_numpy() == pytest.approx(want_open + want_new)
    months = v.by_period(3, "M")
    assert months["yhat"].tolist() == pytest.approx([250.0, 1100.0, 0.0])


def test_weekly_totals_equal_the_sum_of_invoice_expectations(small_demo):
    frames = {
        k: v.loc[v["business_unit"] == "aa"].reset_index(drop=True) for k, v in small_demo.items()
    }
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    model = PayDateModel(by="segment").fit(led, "2026-10-31")
    v = weekly.CashView(led, model, weeks=13, months=2, week_ends_on="FRI")
    weeks = v.weeks()
    # second method: per invoice, the chance of a payment by each week's end, differenced
    ends = weeks["period_end"]
    by_end = np.array([model.with_horizon(e)["p_horizon"].to_numpy() for e in ends])
    amt = model.items_["open_amount"].to_numpy()
    per_week = np.diff(np.vstack([np.zeros(len(amt)), by_end]), axis=0) @ amt
    assert weeks["open_items"].to_numpy() == pytest.approx(per_week, rel=1e-9)
    assert weeks["yhat"].to_numpy() == pytest.approx(weeks["open_items"] + weeks["new_invoicing"])
    # the invoicing forecast covers the 13 weeks (to Friday 29 January 2027) day by day
    assert v.invoicing.index.min() == pd.Timestamp("2026-11-01")
    assert v.invoicing.index.max() == pd.Timestamp("2027-01-29") == ends.iloc[-1]
    assert len(v.invoicing) == 90 and (v.invoicing > 0).any()
    assert len(v.months()) == 2


def test_spread_by_day_follows_the_weekday_profile():
    profile = np.array([2.0, 1, 1, 1, 1, 0, 0])  # Mondays twice the other weekdays, no weekend
    month = pd.DataFrame({"ds": [pd.Timestamp("2025-02-01")], "yhat": [2400.0]})
    daily = weekly.spread_by_day(month, "2024-12-31", profile)
    # February 2025: 4 Mondays (weight 2) and 16 other weekdays (weight 1): 24 weights of 100
    assert daily.sum() == pytest.approx(2400.0)
    assert daily[pd.Timestamp("2025-02-03")] == pytest.approx(200.0)
    assert daily[pd.Timestamp("2025-02-04")] == pytest.approx(100.0)
    assert daily[pd.Timestamp("2025-02-08")] == 0.0
    # a close inside the month keeps only the days after it
    assert weekly.spread_by_day(month, "2025-02-03", profile).sum() == pytest.approx(2200.0)


def test_scenarios_move_cash_by_the_hand_computed_amount(view):
    led, v = view
    sc = {
        "A pays a week later": {"pay_later_days": 7, "segment": "A"},
        "c2 defaults": {"default": ["c2"]},
        "invoicing -10%": {"invoicing_change": -0.1},
        "all pay 3 days later": {"pay_later_days": 3},
    }
    weeks = scenarios.compare(v, sc, led, 8, "W-FRI").set_index("period_end")
    wk = weeks.index
    # o1 (250) moves from 29 Jan (week to 31 Jan) to 5 Feb (week to 7 Feb)
    later = weeks["A pays a week later"]
    assert later[wk[4]] == pytest.approx(-250) and later[wk[5]] == pytest.approx(250)
    assert later.drop(wk[[4, 5]]).abs().max() == pytest.approx(0)
    assert weeks["c2 defaults"][wk[5]] == pytest.approx(-100)
    assert weeks["c2 defaults"].sum() == pytest.approx(-100)
    assert weeks["invoicing -10%"][wk[7]] == pytest.approx(-100)
    # everyone 3 days later: o2 5 Feb -> 8 Feb (week to 14 Feb); the new invoicing 15 Feb ->
    # 18 Feb stays in its week; o1 29 Jan -> 1 Feb (week to 7 Feb)
    three = weeks["all pay 3 days later"]
    assert three[wk[4]] == pytest.approx(-250) and three[wk[5]] == pytest.approx(250 - 100)
    assert three[wk[6]] == pytest.approx(100) and three[wk[7]] == pytest.approx(0)
    months = scenarios.compare(v, sc, led, 2, "M").set_index("period_end")
    assert months["A pays a week later"].tolist() == pytest.approx([-250, 250])
    assert months["base"].tolist() == pytest.approx([250, 1100])


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"x": {"pay_later": 3}}, "unknown key 'pay_later'"),
        ({"x": {"pay_later_days": 2.5}}, "must be whole days"),
        ({"x": {"invoicing_change": -1.5}}, "above -1"),
        ({"x": {"segment": "A", "customers": ["c1"]}}, "not both"),
        ({"x": {"default": "c1"}}, "list of customer ids"),
        ({"x": {}}, "non-empty mapping"),
    ],
)
def test_bad_scenarios_name_the_key(bad, match):
    with pytest.raises(ConfigError, match=match):
        scenarios.check(bad)


def test_a_grade_scenario_moves_the_cash_of_that_grade_only(view):
    led, v = view
    grades = pd.Series({"c1": "D", "c2": "A"})
    sc = {
        "D a week later": {"pay_later_days": 7, "grade": "D"},
        "A and D a week later": {"pay_later_days": 7, "grade": ["A", "D"]},
    }
    weeks = scenarios.compare(v, sc, led, 8, "W-FRI", grades=grades).set_index("period_end")
    wk = weeks.index
    # grade D is c1: o1 (250) from 29 Jan (week to 31 Jan) to 5 Feb (week to 7 Feb)
    d = weeks["D a week later"]
    assert d[wk[4]] == pytest.approx(-250) and d[wk[5]] == pytest.approx(250)
    assert d.abs().sum() == pytest.approx(500)
    # A and D: o2 (100, c2) too, 5 Feb -> 12 Feb (week to 14 Feb); invoicing to come stays put
    both = weeks["A and D a week later"]
    assert both[wk[4]] == pytest.approx(-250)
    assert both[wk[5]] == pytest.approx(250 - 100) and both[wk[6]] == pytest.approx(100)
    assert both[wk[7]] == pytest.approx(0) and both.sum() == pytest.approx(0)


def test_a_grade_scenario_refuses_a_typo_and_warns_on_an_empty_grade(view):
    led, v = view
    grades = pd.Series({"c1": "D", "c2": "A"})
    with pytest.raises(ConfigError, match="needs the customers' credit grades"):
        scenarios.compare(v, {"x": {"pay_later_days": 7, "grade": "D"}}, led, 8, "W-FRI")
    with pytest.raises(ConfigError, match="'d' is not a grade"):
        scenarios.compare(v, {"x": {"pay_later_days": 7, "grade": "d"}}, led, 8, "W-FRI", grades)
    with pytest.warns(UserWarning, match="no customer has grade E"):
        out = scenarios.compare(
            v, {"x": {"pay_later_days": 7, "grade": "E"}}, led, 8, "W-FRI", grades
        )
    assert out["x"].abs().max() == 0
    with pytest.raises(ConfigError, match="not both"):
        scenarios.check({"x": {"grade": "D", "segment": "A"}})


def test_scenario_grades_are_the_health_reports_own(tmp_path, small_demo):
    from arlib.config import RunConfig
    from arlib.report import customer, handoff

    frames = {
        k: v.loc[v["business_unit"] == "aa"].reset_index(drop=True) for k, v in small_demo.items()
    }
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    sc = {"slow D": {"pay_later_days": 5, "grade": "D"}}
    cfg = RunConfig({"as_of": "2026-10-31", "snapshot": str(tmp_path)})
    assert handoff.scenario_grades(cfg, led, {"all": {"pay_later_days": 5}}) is None
    # standalone: the scorecard computed as a customer report does, with a warning
    with pytest.warns(UserWarning, match="default scorecard settings"):
        got = handoff.scenario_grades(cfg, led, sc)
    unit = RunConfig(
        {
            "as_of": "2026-10-31",
            "scorecard_lookback_months": 12,
            "dunning_ladder": [[1, "x"]],
            "worklist_loss_rates": {"A": 0.01, "B": 0.03, "C": 0.07, "D": 0.15, "E": 0.35},
        }
    )
    card, _ = customer.unit_frames(led, unit)
    want = card.set_index("customer_id")["grade"].astype(str)
    assert got.sort_index().to_dict() == want.sort_index().to_dict()
    # in a run: the health report's hand-off is read as it is (here every customer graded E)
    card.assign(grade="E").to_parquet(tmp_path / customer.HANDOFF[0], index=False)
    handed = handoff.scenario_grades(cfg, led, sc)
    assert set(handed) == {"E"} and set(handed.index) == set(want.index)
