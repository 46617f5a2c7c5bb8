"""Scorecard, limits, worklist, dunning and the discount what-if on a ledger worked out by hand."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from arlib.errors import ConfigError
from arlib.health import credit
from arlib.ledger import Ledger
from arlib.schemas import C

AS_OF = "2024-06-30"  # lookback (2023-06-30, 2024-06-30], recent (2024-03-31, 2024-06-30]
# g pays 5 days early, and has one small item 15 days past due
# l pays late (30, then 20 days), one large disputed invoice; nothing past due now
# b paid 40 days late, now owes 3,000 that is 60 days past due, over its 2,000 limit
# d has a disputed and an undisputed past-due item
INV = [
    ("G1", "g", "2024-01-10", "2024-02-09", 1000.0, False),
    ("G2", "g", "2024-05-01", "2024-05-31", 1000.0, False),
    ("G3", "g", "2024-06-01", "2024-06-15", 200.0, False),
    ("L1", "l", "2024-01-10", "2024-02-09", 1000.0, False),
    ("L2", "l", "2024-04-10", "2024-05-10", 2000.0, True),
    ("L3", "l", "2024-06-20", "2024-07-20", 500.0, False),
    ("B1", "b", "2024-04-01", "2024-05-01", 3000.0, False),
    ("B2", "b", "2023-12-01", "2023-12-31", 1000.0, False),
    ("D1", "d", "2024-05-01", "2024-05-31", 400.0, True),
    ("D2", "d", "2024-04-01", "2024-05-01", 100.0, False),
]
TXN = [
    ("t1", "g", "G1", "2024-02-04", 1000.0),
    ("t2", "g", "G2", "2024-05-26", 1000.0),
    ("t3", "l", "L1", "2024-03-10", 1000.0),
    ("t4", "l", "L2", "2024-05-30", 2000.0),
    ("t5", "b", "B2", "2024-02-09", 1000.0),
]
CUST = [
    ("g", "=cmd|' /C calc'!A0 Good", 5000.0, 30, "active"),
    ("l", "Late Ltd", 10000.0, 30, "active"),
    ("b", "Bad plc", 2000.0, 30, "active"),
    ("d", "Dispute AG", 1000.0, 30, "active"),
]


def make(inv=INV, txn=TXN, cust=CUST) -> Ledger:
    i = pd.DataFrame(
        inv, columns=[C.invoice_id, C.customer_id, C.invoice_date, C.due_date, C.amount, C.disputed]
    )
    i = i.assign(
        business_unit="X",
        currency="EUR",
        invoice_date=pd.to_datetime(i[C.invoice_date]),
        due_date=pd.to_datetime(i[C.due_date]),
    )
    t = pd.DataFrame(txn, columns=[C.txn_id, C.customer_id, C.invoice_id, C.date, C.amount])
    t = t.assign(business_unit="X", kind="payment", date=pd.to_datetime(t[C.date]))
    c = pd.DataFrame(cust, columns=[C.customer_id, C.name, C.credit_limit, C.terms_days, C.status])
    c = c.assign(business_unit="X", segment="small")
    return Ledger(i, t, c)


@pytest.fixture(scope="module")
def card():
    return credit.recommend(credit.scorecard(make(), AS_OF)).set_index(C.customer_id)


def test_scorecard_drivers_by_hand(card):
    b, lt, g = card.loc["b"], card.loc["l"], card.loc["g"]
    # b: paid B2 40 days late (1000) and owes B1 60 days past due (3000)
    assert b["days_late"] == pytest.approx((1000 * 40 + 3000 * 60) / 4000)
    assert b["share_late"] == 1.0
    assert b["late_trend"] == pytest.approx(60 - 40)  # recent: B1 open; before: B2 paid
    assert b["limit_use"] == pytest.approx(1.5)
    assert b["balance_growth"] == pytest.approx(
        3000 / (4000 / 12)
    )  # from 0, relative to a month's billings
    # l: paid 1000 30 days late, 2000 20 days late; 2000 of 3500 invoiced disputed
    assert lt["days_late"] == pytest.approx((1000 * 30 + 2000 * 20) / 3000)
    assert lt["late_trend"] == pytest.approx(20 - 30)
    assert lt["dispute_share"] == pytest.approx(2000 / 3500)
    # g: -5, -5, and 200 open 15 days past due
    assert g["days_late"] == pytest.approx((-5000 - 5000 + 200 * 15) / 2200)
    assert g["share_late"] == pytest.approx(200 / 2200)


def test_scores_and_grades_by_hand(card):
    # weights 30 days_late, 15 trend, 20 share late, 10 disputes, 15 limit use, 10 growth (of 100)
    assert card.loc["b", "score"] == pytest.approx(30 + 15 + 20 + 0 + 15 + 10)
    days_pts = (70000 / 3000) / 45 * 100
    assert card.loc["l", "score"] == pytest.approx(
        round((days_pts * 30 + 100 * 20 + 100 * 10 + 100 * 10) / 100, 1)
    )
    trend_pts, growth_pts = ((-2000 / 1200) + 5) / 20 * 100, (200 / (2200 / 12) - 0.25) / 1.25 * 100
    assert card.loc["g", "score"] == pytest.approx(
        round((trend_pts * 15 + growth_pts * 10) / 100, 1)
    )
    # d: 36 days late (80 pts), all late, 80% disputed, balance up from nothing
    assert card.loc["d", "score"] == pytest.approx((80 * 30 + 100 * 20 + 100 * 10 + 100 * 10) / 100)
    assert card["grade"].to_dict() == {"b": "E", "l": "D", "d": "E", "g": "A"}
    assert "60" not in card.loc["g", "top_drivers"] and "days late" in card.loc["b", "top_drivers"]


def test_status_overrides_grade():
    cust = [r if r[0] != "g" else r[:4] + ("insolvent",) for r in CUST]
    card = credit.scorecard(make(cust=cust), AS_OF).set_index(C.customer_id)
    assert card.loc["g", "grade"] == "E" and card.loc["g", "top_drivers"].startswith(
        "status insolvent"
    )


def test_recommended_limits_and_terms(card):
    # A: 3 months of billings (2200 / 12 * 3 = 550); D: 1.5 months (3500 / 12 * 1.5 = 437.5 ->
    # 440); E without a default signal (b is 60 days past due, under 90): 1 month (4000 / 12 =
    # 333.3 -> 340), not zero
    assert card.loc["g", "recommended_limit"] == 550.0 and card.loc["g", "limit_action"] == "cut"
    assert card.loc["l", "recommended_limit"] == 440.0
    assert card.loc["b", "recommended_limit"] == 340.0 and card.loc["b", "limit_action"] == "cut"
    assert card.loc["b", "limit_reason"] == "cover: 1 x monthly billings (grade E)"
    assert (card.loc["g", "recommended_terms"], card.loc["g", "terms_change"]) == (30, False)
    assert (card.loc["l", "recommended_terms"], card.loc["l", "terms_change"]) == (30, False)
    assert (card.loc["b", "recommended_terms"], card.loc["b", "terms_change"]) == (15, True)


def test_only_a_default_signal_means_secure_or_cash_only():
    # b's B1 and d's D2 are 60 days past due at AS_OF; with default_days=60 a default signal
    c = credit.recommend(credit.scorecard(make(), AS_OF, default_days=60)).set_index(C.customer_id)
    assert c.loc["b", "default_signal"] == "an item 60+ days past due"
    assert (c.loc["b", "recommended_limit"], c.loc["b", "recommended_terms"]) == (0.0, 0.0)
    assert c.loc["b", "limit_action"] == "secure or cash only"
    assert c.loc["b", "limit_reason"] == "an item 60+ days past due"
    assert c.loc["d", "limit_action"] == "secure or cash only"
    assert (c.drop(["b", "d"])["recommended_limit"] > 0).all()


def test_grade_cut_offs():
    assert list(credit.grade([0, 9.99, 10, 24.9, 25, 59.9, 60, 100])) == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "D",
        "E",
        "E",
    ]


def test_worklist_ranks_by_expected_loss_and_age(card):
    w = credit.worklist(make(), AS_OF, card.reset_index())
    # d (grade E, score 64 by hand): D1 400 x 0.35 x 30 = 4200 > D2 100 x 0.35 x 60 = 2100
    assert list(w[C.invoice_id]) == ["B1", "D1", "D2", "G3"]
    b1 = w.set_index(C.invoice_id).loc["B1"]
    assert (b1[C.days_past_due], b1["expected_loss"]) == (60, 3000 * 0.35)
    assert b1["priority"] == pytest.approx(3000 * 0.35 * 60) and b1["step"] == "hold deliveries"
    g3 = w.set_index(C.invoice_id).loc["G3"]
    assert (g3["expected_loss"], g3["priority"], g3["step"]) == (2.0, 30.0, "call")
    assert list(w["rank"]) == list(range(1, len(w) + 1))
    assert w["priority"].is_monotonic_decreasing
    d = w.set_index(C.invoice_id)
    assert d.loc["D1", "step"] == credit.DISPUTE_STEP  # disputed: sort out the dispute first
    assert (
        d.loc["D1", "next_step"] == d.loc["D2", "next_step"] == "hold deliveries"
    )  # D2 is 60 days past due
    assert set(w[C.invoice_id]) == {
        "B1",
        "D1",
        "D2",
        "G3",
    }  # every open past-due item, nothing else


def test_dispute_only_customer_gets_resolve_step(card):
    inv = [r for r in INV if r[0] != "D2"]
    w = credit.worklist(make(inv=inv), AS_OF, card.reset_index())
    assert w.set_index(C.invoice_id).loc["D1", "next_step"] == credit.DISPUTE_STEP


def test_actions_per_customer(card):
    a = credit.actions(credit.worklist(make(), AS_OF, card.reset_index())).set_index(C.customer_id)
    assert (
        a.loc["d", "past_due"] == 500.0
        and a.loc["d", "items"] == 2
        and a.loc["d", "oldest_days"] == 60
    )
    assert a.index[0] == "b"


@pytest.mark.parametrize(
    "ladder", [[], [[0, "x"]], [[5, "a"], [5, "b"]], [[1, ""]], [["a", "b"]], [[1.5, "x"]], [1, 2]]
)
def test_bad_ladders_are_config_errors(ladder):
    with pytest.raises(ConfigError, match="dunning_ladder"):
        credit.check_ladder(ladder)


def test_dunning_steps_follow_the_ladder():
    lad = [
        [1, "reminder"],
        [15, "call"],
        [30, "final notice"],
        [60, "hold deliveries"],
        [90, "legal/agency"],
    ]
    got = credit.dunning_step([-3, 0, 1, 14, 15, 29, 30, 59, 60, 89, 90, 400], lad)
    assert list(got) == [
        "",
        "",
        "reminder",
        "reminder",
        "call",
        "call",
        "final notice",
        "final notice",
        "hold deliveries",
        "hold deliveries",
        "legal/agency",
        "legal/agency",
    ]


def test_export_writes_csv_and_excel_without_formula_injection(card, tmp_path):
    w = credit.worklist(make(), AS_OF, card.reset_index())
    paths = credit.export_worklist(w, tmp_path / "out", per_customer=credit.actions(w))
    assert paths["csv"].read_bytes()[:3] == b"\xef\xbb\xbf"  # a BOM: Excel reads it as UTF-8
    back = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert len(back) == len(w) and back["Open amount"].sum() == pytest.approx(
        w[C.open_amount].sum()
    )
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["items", "customers"]
    names = [c.value for c in wb["items"]["C"][1:]]
    assert wb["items"]["C1"].value == "Name" and "Next step" in [c.value for c in wb["items"][1]]
    evil = [n for n in names if "calc" in n][0]
    assert evil.startswith("'=") and all(
        c.data_type != "f" for row in wb["items"].iter_rows() for c in row
    )


def test_discount_whatif_by_hand():
    # X1 paid on day 20 (10 days early: takes the discount, pays on day 10); X2 paid 20 days late
    inv = [
        ("X1", "x", "2024-03-01", "2024-03-31", 1000.0, False),
        ("X2", "x", "2024-04-01", "2024-05-01", 1000.0, False),
    ]
    txn = [("t1", "x", "X1", "2024-03-21", 1000.0), ("t2", "x", "X2", "2024-05-21", 1000.0)]
    led = make(inv, txn, [("x", "X", 1.0, 30, "active")])
    r = credit.discount_whatif(
        led, AS_OF, discount=0.02, discount_days=10, net_days=30, cost_of_capital=0.1
    )
    annual = 2000 * 365 / 366  # lookback (2023-06-30, 2024-06-30] has 366 days
    assert (
        r["take_up_share"] == 0.5
        and r["days_to_pay_now"] == 35.0
        and r["days_to_pay_after"] == 30.0
    )
    assert r["dso_change"] == -5.0 and r["dso_change_terms"] == 0.0
    assert r["cash_released"] == pytest.approx(annual / 365 * 5, abs=0.01)
    assert r["discount_cost"] == pytest.approx(annual * 0.5 * 0.02, abs=0.01)
    assert r["net_cost"] == pytest.approx(annual * 0.01 - annual / 365 * 5 * 0.1, abs=0.01)
    assert r["offer_annual_rate"] == pytest.approx(0.02 / 0.98 * 365 / 20)
    # longer net terms: the late payer keeps paying 20 days after the (later) due date
    r45 = credit.discount_whatif(led, AS_OF, 0.02, 10, 45, 0.1)
    assert r45["days_to_pay_after"] == pytest.approx((10 + 65) / 2)
    assert (r45["dso_change_terms"], r45["dso_change_discount"]) == (
        15.0,
        -12.5,
    )  # everyone later, takers back
    flat = credit.discount_whatif(led, AS_OF, 0.02, 10, 30, 0.1, take_up=1.0)
    assert flat["days_to_pay_after"] == 10.0 and flat["take_up_rule"] == "flat 100%"


@pytest.mark.parametrize(
    "kw, key",
    [
        ({"discount": 1.5}, "discount"),
        ({"discount_days": 40}, "discount_days"),
        ({"cost_of_capital": -0.1}, "cost_of_capital"),
        ({"take_up": 2.0}, "discount_take_up"),
    ],
)
def test_discount_whatif_rejects_bad_offers(kw, key):
    with pytest.raises(ConfigError, match=key):
        credit.discount_whatif(make(), AS_OF, **kw)


def test_discount_whatif_without_payments_is_not_defined():
    r = credit.discount_whatif(make(INV, []), AS_OF)
    assert r["invoices_observed"] == 0 and r["note"].startswith("not defined")
    assert not any(isinstance(v, float) and not np.isfinite(v) for v in r.values())


def test_summary_is_flat_and_adds_up(card):
    w = credit.worklist(make(), AS_OF, card.reset_index())
    offer = {"net_cost": 1.0, "cash_released": 2.0}
    s = credit.summary(card.reset_index(), w, offer)
    assert {k: s[k] for k in ("grade_A", "grade_D", "grade_E")} == {
        "grade_A": 1,
        "grade_D": 1,
        "grade_E": 2,
    }
    assert (s["worklist_items"], s["worklist_customers"], s["worklist_past_due"]) == (
        4,
        3,
        3000 + 400 + 100 + 200,
    )
    assert s["worklist_expected_loss"] == pytest.approx(3000 * 0.35 + 500 * 0.35 + 2.0)
    assert s["discount_net_cost"] == 1.0 and all(not isinstance(v, dict | list) for v in s.values())


def test_worklist_loss_rates_are_a_parameter(card):
    # worklist_loss_rates over the defaults: A 50% (was 1%), E 1% (was 35%); B, C, D unchanged
    w = credit.worklist(make(), AS_OF, card.reset_index(), loss_rates={"A": 0.5, "E": 0.01})
    d = w.set_index(C.invoice_id)
    assert d.loc["G3", "expected_loss"] == 100.0  # 200 x 0.5
    assert d.loc["G3", "priority"] == 1500.0  # x 15 days past due
    assert (
        d.loc["B1", "expected_loss"] == 30.0 and d.loc["B1", "priority"] == 1800.0
    )  # 3000 x 1% x 60
    assert d.loc["D1", "priority"] == 120.0 and d.loc["D2", "priority"] == 60.0
    # the ranking follows: g (1,500) now comes before d (180)
    assert list(w[C.invoice_id]) == ["B1", "G3", "D1", "D2"]
    with pytest.raises(ConfigError, match="worklist_loss_rates"):
        credit.worklist(make(), AS_OF, card.reset_index(), loss_rates={"E": 1.2})


def test_worklist_workbook_keeps_types_blanks_and_text_as_written(tmp_path):
    from arlib.health.workbook import write_tables as write_xlsx

    frame = pd.DataFrame(
        {
            "id": ["=1+1", "@x", None],
            "due": pd.to_datetime(["2024-02-29", None, "1900-03-01"]),
            "amount": [1.25, np.nan, -3.0],
            "days": [3, 0, 120],
            "disputed": [True, False, True],
            "bucket": pd.Categorical(["1-30", None, "over 120"]),
        }
    )
    write_xlsx(tmp_path / "w.xlsx", {"items": frame, "empty": frame.iloc[:0]})
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    rows = [[c.value for c in r] for r in wb["items"].iter_rows()]
    assert rows[0] == ["id", "due", "amount", "days", "disputed", "bucket"]
    assert rows[1] == ["=1+1", pd.Timestamp("2024-02-29"), 1.25, 3, True, "1-30"]
    assert rows[2] == ["@x", None, None, 0, False, None]
    assert rows[3] == [None, pd.Timestamp("1900-03-01"), -3.0, 120, True, "over 120"]
    assert wb["items"]["A2"].data_type == "s" and wb["items"]["B2"].number_format == "yyyy-mm-dd"
    assert [[c.value for c in r] for r in wb["empty"].iter_rows()] == [rows[0]]
