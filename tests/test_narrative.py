"""Sentences from numbers: wording, the figures they cite, escaping."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arlib import health
from arlib.health import breakdown, credit
from arlib.ledger import Ledger
from arlib.report import narrative
from arlib.schemas import C

EVIL = "<script>alert(1)</script>"


def drivers(rows):
    return pd.DataFrame(
        rows, columns=["kpi", C.customer_id, C.name, "previous", "current", "change"]
    )


def test_dso_move_names_the_main_driver():
    d = drivers(
        [
            ("dso", "c1", "Harbor Foods", 10.0, 13.1, 3.1),
            ("dso", "c2", "Other", 32.9, 34.0, 1.1),
            ("dso", "c3", "Payer", 0.0, 0.0, 0.0),
        ]
    )
    s = narrative.explain_kpis({"dso": 47.1}, {"dso": 42.9}, d)
    assert list(s) == [
        "DSO rose 4.2 days to 47.1 days (from 42.9 days), mostly from Harbor Foods (+3.1 days)."
    ]


def test_driver_against_the_move_is_not_named_and_small_driver_is_not_mostly():
    d = drivers([("dso", "c1", "Up", 0.0, 1.0, 1.0), ("dso", "c2", "Down", 5.0, 0.0, -5.0)])
    assert (
        narrative.explain_kpis({"dso": 46.0}, {"dso": 50.0}, d)[0]
        == "DSO fell 4.0 days to 46.0 days (from 50.0 days): Down -5.0 days, the other customers +1.0 days."
    )
    d = drivers([("dso", "c1", "Other", 1.0, 0.5, -0.5), ("dso", "c2", "Down", 5.0, 3.5, -1.5)])
    assert narrative.explain_kpis({"dso": 48.0}, {"dso": 50.0}, d)[0].endswith(
        "mostly from Down (-1.5 days)."
    )
    d = drivers(
        [
            ("dso", "c1", "A", 0.0, 1.0, 1.0),
            ("dso", "c2", "B", 0.0, 0.9, 0.9),
            ("dso", "c3", "C", 0, 1.1, 1.1),
        ]
    )
    assert narrative.explain_kpis({"dso": 53.0}, {"dso": 50.0}, d)[0].endswith(
        "the largest part from C (+1.1 days)."
    )


def test_shares_move_in_points_and_amounts_in_percent():
    d = drivers([("past_due_share", "c1", "X", 0.2, 0.23, 0.03)])
    s = narrative.explain_kpis(
        {"past_due_share": 0.30, "open_ar": 1100.0, "cei": 80.0},
        {"past_due_share": 0.25, "open_ar": 1000.0, "cei": 80.04},
        d,
    )
    assert list(s) == [
        "Open AR rose 100 (+10.0%) to 1,100 (from 1,000).",
        "CEI was unchanged at 80.0%.",
        "The past-due share rose 5.0 points to 30.0% (from 25.0%), mostly from X (+3.0 points).",
    ]


def test_not_defined_says_why_and_never_crashes():
    now = {
        "dso": None,
        "dso_note": "not defined: nothing was invoiced in the window (billings = 0)",
        "cei": 50.0,
    }
    s = narrative.explain_kpis(now, {"dso": 40.0, "cei": None})
    assert list(s) == [
        "DSO is not defined: nothing was invoiced in the window (billings = 0).",
        "CEI is 50.0% (not defined a month earlier).",
    ]
    assert list(narrative.explain_kpis({"dso": 40.0})) == ["DSO is 40.0 days."]


def test_customer_names_are_escaped():
    d = drivers([("dso", "c1", EVIL, 0.0, 3.0, 3.0)])
    s = narrative.explain_kpis({"dso": 50.0}, {"dso": 47.0}, d)
    assert EVIL not in s._repr_html_() and "&lt;script&gt;alert(1)&lt;/script&gt;" in s[0]
    assert EVIL in s.text()  # plain text is the original
    assert s._repr_html_().startswith("<ul><li>DSO rose 3.0 days")


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 500), st.floats(0, 500))
def test_dso_sentence_cites_its_figures(now, before):
    s = narrative.explain_kpis({"dso": now}, {"dso": before})[0]
    if round(now - before, 1) == 0:
        assert s == f"DSO was unchanged at {now:.1f} days."
        return
    m = re.fullmatch(r"DSO (rose|fell) ([\d.]+) days to ([\d.]+) days \(from ([\d.]+) days\)\.", s)
    assert m, s
    assert m[1] == ("rose" if now > before else "fell")
    assert float(m[2]) == pytest.approx(abs(now - before), abs=0.051)
    assert (m[3], m[4]) == (f"{now:.1f}", f"{before:.1f}")


def _ledger():
    inv = pd.DataFrame(
        {
            C.invoice_id: ["A", "B", "C"],
            C.business_unit: "X",
            C.customer_id: ["c1", "c2", "c1"],
            C.invoice_date: pd.to_datetime(["2024-04-01", "2024-04-15", "2024-06-10"]),
            C.due_date: pd.to_datetime(["2024-05-01", "2024-05-15", "2024-07-10"]),
            C.amount: [1000.0, 500.0, 800.0],
            C.currency: "EUR",
            C.disputed: [False, True, False],
        }
    )
    txn = pd.DataFrame(
        {
            C.txn_id: ["t1", "t2"],
            C.business_unit: "X",
            C.customer_id: ["c2", "c1"],
            C.invoice_id: ["B", None],
            C.date: pd.to_datetime(["2024-06-20", "2024-06-25"]),
            C.amount: [500.0, 100.0],
            C.kind: "payment",
        }
    )
    cust = pd.DataFrame(
        {
            C.customer_id: ["c1", "c2"],
            C.business_unit: "X",
            C.name: [EVIL, "Beta"],
            C.segment: "small",
            C.credit_limit: [1500.0, 1000.0],
            C.terms_days: 30,
            C.status: "active",
        }
    )
    return Ledger(inv, txn, cust)


def test_end_to_end_on_a_ledger():
    led = _ledger()
    k, k0 = health.kpis(led, "2024-06-30"), health.kpis(led, "2024-05-31")
    # June: AR 1000 (A, 60 dpd) + 800 (C, current) = 1800 over billings 2300 in 91 days;
    # May: 1500 over 1500 in (02-29, 05-31] = 92 days, of which Beta's 500 is 500 / 1500 * 92 = 30.7 days
    s = narrative.explain_kpis(k, k0, breakdown.drivers(led, "2024-06-30"))
    dso = [x for x in s if x.startswith("DSO")][0]
    # Beta paid in June (-30.7 days) while A aged and C was billed: the rest moved the other way
    rest = (1800 / 2300 * 91 - 92) + 500 / 1500 * 92
    assert dso == (
        f"DSO fell {92 - 1800 / 2300 * 91:.1f} days to {1800 / 2300 * 91:.1f} days (from 92.0 days): "
        f"Beta -30.7 days, the other customers +{rest:.1f} days."
    )
    pos = narrative.explain_position(k)
    assert any("netted against their own customers, AR is 1,700" in x for x in pos)
    card = credit.recommend(credit.scorecard(led, "2024-06-30"))
    w = credit.worklist(led, "2024-06-30", card)
    ws = narrative.explain_worklist(w, credit.actions(w))
    assert (
        ws[0].startswith("The worklist holds 1 past-due item of 1 customer, 1,000 in all")
        and "&lt;script&gt;" in ws[1]
        and EVIL not in "".join(ws)
    )
    assert EVIL not in "".join(narrative.explain_credit(card))


def test_discount_and_trend_sentences():
    r = {
        "invoices_observed": 2,
        "take_up_share": 0.5,
        "take_up_rule": "invoices paid by their due date",
        "days_to_pay_now": 35.0,
        "days_to_pay_after": 30.0,
        "dso_change": -5.0,
        "dso_change_terms": 0.0,
        "cash_released": 27.32,
        "discount_cost": 19.95,
        "financing_benefit": 2.73,
        "net_cost": 17.22,
        "offer_annual_rate": 0.3724,
        "break_even_discount": 0.0027,
    }
    s = narrative.explain_discount(r, 0.02, 10, 30, 0.1)
    assert "release 27 of cash" in s[0] and "costs more than it saves (net +17 a year)" in s[1]
    assert narrative.explain_discount(
        {"invoices_observed": 0, "note": "not defined: no invoice was paid"}, 0.02, 10, 30, 0.1
    )[0].endswith("not defined: no invoice was paid.")
    t = pd.DataFrame(
        {
            C.month_end: pd.to_datetime(["2024-04-30", "2024-05-31", "2024-06-30"]),
            "dso": [50.0, 61.0, 55.0],
        }
    )
    assert narrative.explain_trend(t)[0] == (
        "Over the 3 months shown, DSO ranged from 50.0 days (Apr 2024) to "
        "61.0 days (May 2024); it is 55.0 days now."
    )


def test_coverage_reads_caveats_from_the_data():
    led = _ledger()
    s = narrative.explain_coverage(led, "2024-06-30")
    assert s[0] == "The data holds 3 invoices dated 2024-04-01 to 2024-06-10."
    assert any(
        x.startswith("The last invoice is dated 2024-06-10, 20 days before the close") for x in s
    )
    assert any(x.startswith("The data starts on 2024-04-01 with no opening balance") for x in s)
    assert not any("settled in full" in x for x in s)  # A and C are open
    paid = Ledger(
        led.invoices.iloc[[1]],
        led.transactions.iloc[[0]],
        led.customers.assign(credit_limit=float("nan")),
    )
    s = narrative.explain_coverage(paid, "2024-06-30")
    assert any("Every invoice in the data is settled in full, by 2024-06-20" in x for x in s)
    assert (
        s[-1]
        == "The data has no credit limits: limit use and over-limit customers are not assessed."
    )


def test_credit_sentences_count_recommendations():
    card = pd.DataFrame(
        {
            C.name: ["A", "B", "C", "D"],
            "grade": ["E", "A", "A", "B"],
            "score": [70.0, 5.0, 1.0, 12.0],
            "top_drivers": ["90 days late (30 pts)", "", "", ""],
            "limit_change": [True, True, False, True],
            "terms_change": [True, False, False, False],
            "limit_action": ["secure or cash only", "raise", "keep", "set limit"],
        }
    )
    assert list(narrative.explain_credit(card)) == [
        "Of 4 customers graded: 2 A, 1 B, 1 E.",
        "Recommended credit limits differ from today's by more than 10% for 2 customers (1 secure or cash only, 1 raise).",
        "Customers without a credit limit today: 1; a limit is recommended for each.",
        "Recommended payment terms differ from today's for 1 customer.",
        "Highest risk: A (score 70, grade E): 90 days late (30 pts).",
    ]


def test_explain_cash_says_what_drives_the_forecast_and_how_sure_it_is():
    from arlib.report.narrative import explain_cash

    weeks = pd.DataFrame(
        {
            "period_end": pd.date_range("2025-01-03", periods=5, freq="W-FRI"),
            "open_items": [100.0, 80.0, 20.0, 0.0, 0.0],
            "new_invoicing": [0.0, 20.0, 80.0, 150.0, 50.0],
        }
    )
    weeks["yhat"] = weeks["open_items"] + weeks["new_invoicing"]
    cov = pd.DataFrame(
        {"level": [80, 95], "model_coverage": [0.54, 0.8], "calibrated_coverage": [0.8125, 0.9]}
    )
    acc = pd.DataFrame(
        {
            "method": ["model", "due_date_baseline", "customer_mean_baseline"],
            "mae_days": [11.23, 20.7, 13.3],
        }
    )
    s = explain_cash(weeks, cov, acc, "EUR")
    assert list(s) == [
        "Over the next 5 weeks 500 EUR is expected: 200 from invoices already open and 300 "
        "from invoicing still to come.",
        "The largest week ends 2025-01-24 (150 EUR).",
        # first four weeks: 200 of 450
        "Invoices already open carry 44.4% of the first four weeks' cash.",
        "The monthly 80% range held 81.2% of actual collections out of sample (the model's own "
        "range: 54.0%).",
        "Payment dates were off by 11.2 days on average, against 20.7 days for the due date "
        "and 13.3 days for the customer's average delay.",
    ]


def test_explain_cash_gives_the_13_week_ranges_coverage_or_says_it_is_unchecked():
    from arlib.report.narrative import explain_cash

    weeks = pd.DataFrame(
        {
            "period_end": pd.date_range("2025-01-03", periods=2, freq="W-FRI"),
            "open_items": [100.0, 0.0],
            "new_invoicing": [0.0, 50.0],
            "yhat": [100.0, 50.0],
        }
    )
    cov = pd.DataFrame({"level": [80, 95], "model_coverage": np.nan, "calibrated_coverage": np.nan})
    acc = pd.DataFrame({"method": ["model"], "mae_days": [np.nan]})
    week = pd.DataFrame({"level": [80, 95], "calibrated_coverage": [0.7919, 0.9574]})
    s = list(explain_cash(weeks, cov, acc, "EUR", week_coverage=week))
    assert s[-1] == (
        "The 13-week view's 80% range held 79.2% of actual weeks out of sample, its 95% range "
        "95.7%."
    )
    unchecked = week.assign(calibrated_coverage=[0.8, np.nan])
    assert list(explain_cash(weeks, cov, acc, "EUR", week_coverage=unchecked))[-1] == (
        "The 13-week range has too few weeks of past errors to be checked out of sample."
    )
    assert len(explain_cash(weeks, cov, acc, "EUR")) == len(s) - 1
