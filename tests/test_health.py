"""Health KPIs on small ledgers worked out by hand, plus invariants (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arlib import dso as core
from arlib import health
from arlib.errors import ConfigError, DataError
from arlib.health import breakdown
from arlib.ledger import Ledger
from arlib.schemas import C

# -- a hand-worked ledger ----------------------------------------------------------------------
# as_of 2024-06-30, window (2024-03-31, 2024-06-30], D = 91 days.
#   inv cust date        due         amount  events
#   A   c1   2024-03-15  2024-04-14  1000    pay 400 04-10, credit note 100 05-05 -> open 500, 77 dpd
#   B   c2   2024-04-20  2024-05-20   600    pay 600 06-10 (51 days to pay, 21 late)
#   C   c1   2024-05-10  2024-06-09   900    open, 21 dpd
#   D   c2   2024-06-15  2024-07-15  1200    open, current, disputed
#   E   c1   2024-02-01  2024-03-02   300    pay 300 04-01 (60 days to pay, 30 late)
#   F   c2   2024-04-05  2024-05-05   500    pay 520 05-01 (26 days to pay, 4 early; 20 overpaid)
#   advance receipt from c2: 250 on 2024-06-20, no invoice
# AR at window start (close 03-31): A 1000 + E 300 = 1300. S = B + C + D + F = 3200.
# AR at as_of: A 500 + C 900 + D 1200 = 2600, current 1200 (D), past due 1400.
INV = [
    ("A", "c1", "2024-03-15", "2024-04-14", 1000.0, False),
    ("B", "c2", "2024-04-20", "2024-05-20", 600.0, False),
    ("C", "c1", "2024-05-10", "2024-06-09", 900.0, False),
    ("D", "c2", "2024-06-15", "2024-07-15", 1200.0, True),
    ("E", "c1", "2024-02-01", "2024-03-02", 300.0, False),
    ("F", "c2", "2024-04-05", "2024-05-05", 500.0, False),
]
TXN = [
    ("t1", "c1", "A", "2024-04-10", 400.0, "payment"),
    ("t2", "c1", "A", "2024-05-05", 100.0, "credit_note"),
    ("t3", "c2", "B", "2024-06-10", 600.0, "payment"),
    ("t4", "c1", "E", "2024-04-01", 300.0, "payment"),
    ("t5", "c2", "F", "2024-05-01", 520.0, "payment"),
    ("t6", "c2", None, "2024-06-20", 250.0, "payment"),
]
CUST = [
    ("c1", "Alpha <script>alert(1)</script>", "small", 1000.0, 30),
    ("c2", "Beta GmbH", "enterprise", 5000.0, 30),
]


def frames(inv=INV, txn=TXN, cust=CUST, unit="X"):
    i = pd.DataFrame(
        inv, columns=[C.invoice_id, C.customer_id, C.invoice_date, C.due_date, C.amount, C.disputed]
    )
    i = i.assign(
        **{
            C.business_unit: unit,
            C.currency: "EUR",
            C.amount: i[C.amount].astype(float),
            C.disputed: i[C.disputed].astype(bool),
        }
    )
    i[C.invoice_date], i[C.due_date] = (
        pd.to_datetime(i[C.invoice_date]),
        pd.to_datetime(i[C.due_date]),
    )
    t = pd.DataFrame(txn, columns=[C.txn_id, C.customer_id, C.invoice_id, C.date, C.amount, C.kind])
    t = t.assign(
        **{
            C.business_unit: unit,
            C.date: pd.to_datetime(t[C.date]),
            C.amount: t[C.amount].astype(float),
        }
    )
    c = pd.DataFrame(cust, columns=[C.customer_id, C.name, C.segment, C.credit_limit, C.terms_days])
    c = c.assign(**{C.business_unit: unit, C.status: "active"})
    return i, t, c


def ledger(inv=INV, txn=TXN, cust=CUST, validate=True):
    return Ledger(*frames(inv, txn, cust), validate=validate)


@pytest.fixture(scope="module")
def k():
    return health.kpis(ledger(), "2024-06-30", 3)


# -- windows --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "as_of, months, start, days",
    [
        ("2024-06-30", 3, "2024-03-31", 91),  # month-end steps back to month-ends (not 03-30)
        ("2024-05-31", 3, "2024-02-29", 92),
        ("2024-02-29", 1, "2024-01-31", 29),  # one calendar month = February
        ("2024-05-15", 3, "2024-02-15", 90),
        ("2024-05-30", 3, "2024-02-29", 91),  # day 30 clipped to February's end
        ("2023-12-31", 12, "2022-12-31", 365),
    ],
)
def test_window_covers_calendar_months(as_of, months, start, days):
    w = core.window(as_of, months)
    assert (str(w.start.date()), w.days) == (start, days)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_window_months_must_be_a_positive_int(bad):
    with pytest.raises(ConfigError, match="window_months"):
        core.window("2024-06-30", bad)


# -- headline KPIs by hand ---------------------------------------------------------------------
def test_balances_and_flows(k):
    assert k["ar_window_start"] == 1300.0
    assert (k["open_ar"], k["current_ar"], k["past_due_ar"]) == (2600.0, 1200.0, 1400.0)
    assert k["billings_window"] == 3200.0
    assert k["collections_window"] == 400 + 600 + 300 + 520 + 250  # all cash, advance included
    assert k["credits_window"] == 100.0 and k["write_offs_window"] == 0.0


def test_dso_family(k):
    assert k["dso"] == pytest.approx(2600 / 3200 * 91)  # 73.9375
    assert k["bpdso"] == pytest.approx(1200 / 3200 * 91)  # 34.125
    assert k["add"] == pytest.approx(1400 / 3200 * 91)  # 39.8125
    # countback across several months: June 1200 (30 d), May 900 (31 d), then 500 of April's 1100 (30 d)
    assert k["dso_countback"] == pytest.approx(30 + 31 + 500 / 1100 * 30)


def test_cei_turnover_and_past_due_share(k):
    # credit note of 100 counts as having left AR: (1300 + 3200 - 2600) / (1300 + 3200 - 1200)
    assert k["cei"] == pytest.approx(1900 / 3300 * 100)
    # last month (2024-05-31, 06-30]: AR at 05-31 = A 500 + B 600 + C 900, billed D 1200
    assert k["cei_month"] == pytest.approx((2000 + 1200 - 2600) / (2000 + 1200 - 1200) * 100)
    assert k["turnover"] == pytest.approx((3200 * 365 / 91) / ((1300 + 2600) / 2))
    assert k["past_due_share"] == pytest.approx(1400 / 2600)


def test_payment_behaviour_is_amount_weighted(k):
    # settled by payment in the window: B (600; 51 d, +21), E (300; 60 d, +30), F (500; 26 d, -4)
    assert k["paid_count_window"] == 3
    assert k["days_to_pay"] == pytest.approx((600 * 51 + 300 * 60 + 500 * 26) / 1400)  # 44.0
    assert k["days_late"] == pytest.approx((600 * 21 + 300 * 30 - 500 * 4) / 1400)  # 14.0
    assert k["share_paid_late"] == pytest.approx(900 / 1400)


def test_disputes_concentration_limits_and_credit_balances(k):
    assert (k["disputed_open_count"], k["disputed_open_amount"]) == (1, 1200.0)
    assert k["disputed_share"] == pytest.approx(1200 / 2600)
    assert k["customers_open"] == 2 and k["top10_share"] == pytest.approx(1.0)
    assert k["hhi"] == pytest.approx((1400 / 2600) ** 2 + (1200 / 2600) ** 2)
    assert (k["customers_over_limit"], k["over_limit_amount"]) == (
        1,
        400.0,
    )  # c1 owes 1400, limit 1000
    assert (k["unapplied_cash"], k["overpaid"], k["credit_balances"]) == (250.0, 20.0, 270.0)
    assert k["net_ar"] == 2600 - 270  # both credits belong to c2, which owes 1200


def test_aging_keys(k):
    assert [
        k[f"aging_{b}"] for b in ("current", "1_30", "31_60", "61_90", "91_120", "over_120")
    ] == [1200.0, 900.0, 0.0, 500.0, 0.0, 0.0]
    assert k["aging_count_61_90"] == 1


def test_record_is_flat_json_and_table_explains_every_key(k):
    import json

    rec = k.record()
    assert json.loads(json.dumps(rec)) == rec
    assert rec["window_start"] == "2024-03-31" and rec["window_days"] == 91
    for key in (
        "dso",
        "dso_countback",
        "bpdso",
        "add",
        "cei",
        "turnover",
        "past_due_share",
        "billings_window",
        "collections_window",
        "top10_share",
        "hhi",
    ):
        assert key in rec
    tab = k.table()
    assert (tab["meaning"] != "").all()
    assert tab.set_index("kpi").loc["past_due_share", "shown"] == "53.8%"


def test_credit_note_lowers_ar_and_raises_cei():
    base = health.kpis(ledger(), "2024-06-30")
    more = TXN + [("t7", "c1", "C", "2024-06-20", 300.0, "credit_note")]
    k = health.kpis(ledger(txn=more), "2024-06-30")
    assert k["open_ar"] == base["open_ar"] - 300
    assert k["billings_window"] == base["billings_window"]  # S is gross
    assert k["collections_window"] == base["collections_window"]  # not cash
    assert k["cei"] == pytest.approx((1300 + 3200 - 2300) / (1300 + 3200 - 1200) * 100)


# -- not defined ---------------------------------------------------------------------------------
def test_zero_invoicing_in_window_is_not_defined_not_infinite():
    inv = [("A", "c1", "2024-01-10", "2024-02-09", 1000.0, False)]
    k = health.kpis(ledger(inv, [], CUST), "2024-06-30")
    assert k["billings_window"] == 0.0 and k["open_ar"] == 1000.0
    for key in ("dso", "bpdso", "add"):
        assert k[key] is None
        assert "nothing was invoiced" in k.reasons[key]
    assert k["turnover"] == 0.0  # no sales against an average AR of 1000: defined, and zero
    assert k.record()["dso_note"].startswith("not defined")
    # countback still walks back to January: Jun 30 + May 31 + Apr 30 + Mar 31 + Feb 29 + Jan 31
    assert k["dso_countback"] == pytest.approx(30 + 31 + 30 + 31 + 29 + 31)
    assert k["cei"] == pytest.approx(0.0)  # 1000 was collectible, nothing came in
    assert k["days_to_pay"] is None and "no invoice was paid" in k.reasons["days_to_pay"]
    assert all(v is None or math.isfinite(v) for v in k.values.values() if not isinstance(v, str))


def test_empty_ledger_does_not_crash():
    k = health.kpis(ledger([], [], CUST), "2024-06-30")
    assert k["open_ar"] == 0.0 and k["dso"] is None and k["dso_countback"] == 0.0
    assert k["past_due_share"] is None and k["hhi"] is None and k["cei"] is None
    assert "nothing was collectible" in k.reasons["cei"]


def test_mixed_currencies_are_refused():
    i, t, c = frames()
    i.loc[0, C.currency] = "USD"
    with pytest.raises(DataError, match="currency"):
        health.kpis(Ledger(i, t, c), "2024-06-30")


# -- breakdowns ----------------------------------------------------------------------------------
def test_customer_kpis_by_hand():
    ck = breakdown.customer_kpis(ledger(), "2024-06-30").set_index(C.customer_id)
    c1 = ck.loc["c1"]
    assert (c1["open_ar"], c1["past_due_ar"], c1["billings_window"]) == (1400.0, 1400.0, 900.0)
    assert c1["dso"] == pytest.approx(1400 / 900 * 91)
    # c1 invoiced Jun 0, May 900, Apr 0, Mar 1000: 30 + 31 + 30 + 500/1000 * 31
    assert c1["dso_countback"] == pytest.approx(30 + 31 + 30 + 15.5)
    assert c1["cei"] == pytest.approx((1300 + 900 - 1400) / (1300 + 900 - 0) * 100)
    assert c1["over_limit"] and c1["limit_use"] == pytest.approx(1.4)
    assert ck.loc["c2", "credit_balance"] == 270.0 and ck.loc["c2", "net_ar"] == 930.0
    assert ck[C.share].sum() == pytest.approx(1.0)


def test_segments_add_up_to_the_unit():
    seg = breakdown.segment_kpis(ledger(), "2024-06-30").set_index(C.segment)
    assert seg["open_ar"].to_dict() == {"small": 1400.0, "enterprise": 1200.0}
    assert seg["billings_window"].sum() == 3200.0


def test_aging_by_customer_shares_sum_to_one():
    a = breakdown.aging_by_customer(ledger(), "2024-06-30")
    assert a[C.share].sum() == pytest.approx(1.0)
    assert a.groupby(C.customer_id)[C.amount].sum().to_dict() == {"c1": 1400.0, "c2": 1200.0}


def test_drivers_add_up_to_the_kpis():
    led = ledger()
    d = breakdown.drivers(led, "2024-06-30")
    now, before = health.kpis(led, "2024-06-30"), health.kpis(led, "2024-05-31")
    for kpi in ("dso", "add", "past_due_share"):
        part = d.loc[d["kpi"] == kpi]
        assert part["current"].sum() == pytest.approx(now[kpi])
        assert part["previous"].sum() == pytest.approx(before[kpi])


def test_trend_matches_point_kpis_and_by_unit():
    led = ledger()
    t = breakdown.trend(led, "2024-06-30", months=4).set_index(C.month_end)
    assert list(t.index.strftime("%Y-%m-%d")) == [
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
        "2024-06-30",
    ]
    for d in ("2024-05-31", "2024-06-30"):
        k = health.kpis(led, d)
        assert t.loc[d, "dso"] == pytest.approx(k["dso"]) and t.loc[
            d, "cei_month"
        ] == pytest.approx(k["cei_month"])
    # the trend reads every month's balances from one pass: equal to each month's own KPIs
    for d in t.index:
        k = health.kpis(led, d).record()
        got = [t.loc[d, c] for c in breakdown.TREND_COLUMNS]
        want = [np.nan if k[c] is None else k[c] for c in breakdown.TREND_COLUMNS]
        assert got == pytest.approx(want, rel=0, abs=0, nan_ok=True), d
    i, tx, c = frames()
    i2, tx2, c2 = frames(unit="Y")
    two = Ledger(
        pd.concat([i, i2.assign(invoice_id=i2[C.invoice_id] + "y")]),
        pd.concat([tx, tx2.assign(txn_id=tx2[C.txn_id] + "y", invoice_id=tx2[C.invoice_id] + "y")]),
        pd.concat([c, c2]),
    )
    bu = breakdown.by_unit(two, "2024-06-30").set_index(C.business_unit)
    assert bu.loc["X", "dso"] == bu.loc["Y", "dso"] == pytest.approx(2600 / 3200 * 91)


# -- countback: a second, slow method -------------------------------------------------------------
def _countback_loop(ar: float, inv: pd.DataFrame, as_of: pd.Timestamp) -> float:
    """Month by month with the calendar, independent of arlib.dso's cumulative sums."""
    end, total = as_of, 0.0
    while ar > 0.005:
        start = (
            (end - pd.offsets.MonthEnd(1)) if end.is_month_end else end - pd.DateOffset(months=1)
        )
        billed = inv.loc[
            (inv[C.invoice_date] > start) & (inv[C.invoice_date] <= end), C.amount
        ].sum()
        days = (end - start).days
        if billed >= ar:
            return total + ar / billed * days
        total, ar, end = total + days, ar - billed, start
    return total


# -- properties ----------------------------------------------------------------------------------
@st.composite
def random_ledger(draw, write_offs: bool = False):
    n = draw(st.integers(1, 12))
    inv, txn = [], []
    for i in range(n):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 180)))
        cents = draw(st.integers(100, 1_000_000))
        inv.append(
            (
                f"I{i}",
                f"c{draw(st.integers(0, 3))}",
                day,
                day + pd.Timedelta(days=draw(st.sampled_from([0, 14, 30, 60]))),
                cents / 100,
                draw(st.booleans()),
            )
        )
        kinds = ["payment", "credit_note"] + (["write_off"] if write_offs else [])
        left = cents
        for j in range(draw(st.integers(0, 2))):
            part = draw(st.integers(1, left)) if left > 1 else left
            if part <= 0:
                break
            left -= part
            txn.append(
                (
                    f"T{i}_{j}",
                    inv[-1][1],
                    f"I{i}",
                    day + pd.Timedelta(days=draw(st.integers(0, 120))),
                    part / 100,
                    draw(st.sampled_from(kinds)),
                )
            )
    return inv, txn


def _scaled(inv, txn, f):
    return (
        [r[:4] + (round(r[4] * f, 2),) + r[5:] for r in inv],
        [r[:4] + (round(r[4] * f, 2),) + r[5:] for r in txn],
    )


CUST4 = [(f"c{i}", f"C{i}", "small", 1000.0, 30) for i in range(4)]
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(random_ledger(), st.sampled_from([3, 100, 12345]))
def test_scaling_amounts_leaves_dso_and_cei_unchanged(led, f):
    inv, txn = led
    a = health.kpis(ledger(inv, txn, CUST4, validate=False), "2024-06-30")
    b = health.kpis(ledger(*_scaled(inv, txn, f), CUST4, validate=False), "2024-06-30")
    # balances within a cent of zero count as zero (dso.TOL), which no scaling preserves: a
    # residual of 0.01 is "nothing" while 3 x 0.01 is not (found by hypothesis in CI)
    assume(all(v == 0 or abs(v) >= 1 for v in (a["open_ar"], a["ar_window_start"])))
    for key in (
        "dso",
        "dso_countback",
        "bpdso",
        "add",
        "cei",
        "cei_month",
        "turnover",
        "past_due_share",
        "hhi",
    ):
        if a[key] is None:
            assert b[key] is None
        else:
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-9)
    assert b["open_ar"] == pytest.approx(a["open_ar"] * f)


@FAST
@given(random_ledger(write_offs=True))
def test_buckets_sum_to_open_ar(led):
    k = health.kpis(ledger(*led, CUST4, validate=False), "2024-06-30")
    buckets = [
        v
        for key, v in k.values.items()
        if key.startswith("aging_") and not key.startswith("aging_count_")
    ]
    assert sum(buckets) == pytest.approx(k["open_ar"], abs=0.01)
    assert k["past_due_ar"] + k["current_ar"] == pytest.approx(k["open_ar"], abs=0.01)


@FAST
@given(random_ledger())
def test_cei_between_0_and_100_without_write_offs(led):
    k = health.kpis(ledger(*led, CUST4, validate=False), "2024-06-30")
    for key in ("cei", "cei_month"):
        assert k[key] is None or -1e-9 <= k[key] <= 100 + 1e-9


@FAST
@given(random_ledger(write_offs=True))
def test_countback_equals_the_calendar_loop(led):
    inv, txn = led
    led_ = ledger(inv, txn, CUST4, validate=False)
    k = health.kpis(led_, "2024-06-30")
    assert k["dso_countback"] == pytest.approx(
        _countback_loop(k["open_ar"], led_.invoices, pd.Timestamp("2024-06-30"))
    )


def test_countback_core_vectorised_rows_match_scalar():
    inv = np.array([[100.0, 0.0, 50.0], [0.0, 0.0, 0.0]])
    out = core.countback_dso(np.array([120.0, 0.0]), inv, [30, 31, 30])
    assert out[0] == pytest.approx(30 + 31 + 20 / 50 * 30) and out[1] == 0.0
    assert np.isnan(
        core.countback_dso(500.0, [100.0, 100.0], [30, 31])
    )  # AR beyond the history given


def test_health_plots_return_axes_with_the_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from arlib.health import credit
    from arlib.report.plots import health as hp

    led = ledger()
    t = breakdown.trend(led, "2024-06-30", months=4)
    ax = hp.dso_trend(t)
    assert [ln.get_label() for ln in ax.get_lines()] == [
        "DSO",
        "countback DSO",
        "best-possible DSO",
    ]
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx(list(t["dso"]), nan_ok=True)
    assert hp.cei_trend(t).get_ylim() == (0, 105)
    assert hp.past_due_trend(t).get_lines()[0].get_ydata()[-1] == pytest.approx(100 * 1400 / 2600)
    ck = breakdown.customer_kpis(led, "2024-06-30")
    assert len(hp.top_customers(ck, n=2).patches) == 4  # current + past due per customer
    card = credit.scorecard(led, "2024-06-30")
    rm = hp.risk_map(card)
    assert rm.get_xlabel() == "weighted days late"
    # one dot per customer with a days-late figure, at (days late, % of limit used), in its grade's colour
    dots = {
        (round(x, 6), round(y, 6)): tuple(c.get_facecolor()[0][:3])
        for c in rm.collections
        for x, y in c.get_offsets()
    }
    shown = card.dropna(subset=["days_late"])
    assert len(dots) == len(shown) and [
        tx.get_text() for tx in rm.get_legend().get_texts()
    ] == sorted(set(shown["grade"]))
    for _, row in shown.iterrows():
        key = (
            round(row["days_late"], 6),
            round(100 * (0 if pd.isna(row["limit_use"]) else row["limit_use"]), 6),
        )
        assert dots[key] == pytest.approx(matplotlib.colors.to_rgb(hp.GRADE_COLOURS[row["grade"]]))
    assert [p.get_height() for p in hp.grade_mix(card).patches][:5] == pytest.approx(
        list(card.groupby("grade")["open_ar"].sum().reindex(list("ABCDE"), fill_value=0))
    )
    empty = breakdown.trend(ledger([], [], CUST), "2024-06-30", months=3)
    assert empty.empty and [
        hp.dso_trend(empty).texts[0].get_text(),
        hp.cei_trend(empty).get_title(),
    ] == ["no data", "Collection effectiveness index"]
    plt.close("all")


def test_compare_formats_now_before_and_change(k):
    before = health.kpis(ledger(), "2024-05-31")
    tab = health.compare(k, before, ("dso", "past_due_share", "open_ar")).set_index("figure")
    # May: AR 2000 (A 500, B 600, C 900), 1600 past due (A, B) over billings 2100+... in 92 days
    assert tab.loc["DSO", "now"] == f"{2600 / 3200 * 91:.1f} days"
    assert tab.loc["DSO", "a month earlier"] == f"{before['dso']:.1f} days"
    assert (
        tab.loc["Past-due share", "change"]
        == f"{100 * (1400 / 2600 - before['past_due_share']):+.1f} pts"
    )
    assert tab.loc["Open AR", "change"] == "+600"  # 2600 - 2000
    assert list(health.compare(k).columns) == [
        "figure",
        "now",
        "a month earlier",
        "change",
        "meaning",
    ]


def test_view_formats_by_column_kind():
    ck = breakdown.customer_kpis(ledger(), "2024-06-30")
    v = breakdown.view(ck, breakdown.CUSTOMER_VIEW, n=1)
    assert list(v.columns[:4]) == ["Customer", "Segment", "Open AR", "Past-due AR"]
    row = v.iloc[0]
    assert (row["Open AR"], row["Past due"], row["DSO (days)"]) == (
        "1,400",
        "100.0%",
        f"{1400 / 900 * 91:.1f}",
    )
    assert (
        row["Customer"] == "Alpha <script>alert(1)</script>"
    )  # escaped by the report table, not here


def test_cash_without_a_known_customer_is_not_netted():
    txn = TXN + [("t8", "", None, "2024-06-25", 75.0, "payment")]
    k = health.kpis(ledger(txn=txn), "2024-06-30")
    assert k["unapplied_cash"] == 250 + 75 and k["credit_balances"] == 270 + 75
    assert k["net_ar"] == 2600 - 270  # the 75 belongs to no customer: shown, not netted
    bal = health.credit_balances(ledger(txn=txn), "2024-06-30")
    assert bal.loc[bal[C.customer_id].isna(), "unapplied_cash"].item() == 75.0
