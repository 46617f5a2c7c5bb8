"""arlib.forecast.weekrange: the 13-week view's calibrated range, on simulated weeks with known
noise (coverage measured out of sample) and on a small demo unit (the backtest's actuals are
the week's cash receipts, counted again from the transactions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import transactions
from scipy.stats import norm

from arlib.forecast import weekrange
from arlib.ledger import Ledger
from arlib.schemas import PAYMENT, C


def _simulated(
    sigma: float = 0.1, cuts: int = 150, weeks: int = 13, grow: float = 0.0, bias: float = 0.0
):
    """A view that forecasts 100 a week; actual weeks are 100 * (1 + bias + e), e ~ N(0,
    sigma), the noise growing by ``grow`` per block of weeks ahead. Cut-offs one week apart."""
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2020-01-03")  # a Friday
    rows = []
    for c in range(cuts):
        cut = start + pd.Timedelta(weeks=c)
        for k in range(1, weeks + 1):
            s = sigma * (1 + grow * weekrange.block_of([k])[0])
            y = 100.0 * (1 + bias + rng.normal(0, s))
            rows.append((cut, cut + pd.Timedelta(weeks=k), k, 100.0, y))
    return pd.DataFrame(rows, columns=["cutoff", "period_end", "week_ahead", "yhat", "y"])


@pytest.mark.parametrize("grow, bias", [(0.0, 0.0), (1.0, 0.0), (0.0, 0.15)])
def test_weekly_range_holds_its_level_out_of_sample(grow, bias):
    bt = _simulated(grow=grow, bias=bias)
    cov = weekrange.backtest_coverage(bt).set_index("level")
    for lv in (80, 95):
        assert cov.loc[lv, "calibrated_coverage"] == pytest.approx(lv / 100, abs=0.03)
        assert cov.loc[lv, "points"] > 1000
    # the factors are the noise's known quantiles, bias -/+ z * sigma, per block of weeks ahead
    q = weekrange.factors(bt)
    for b in range(3):
        s = 0.1 * (1 + grow * b)
        for lv, z in ((80, norm.ppf(0.9)), (95, norm.ppf(0.975))):
            assert q[lv, b] == pytest.approx((bias - z * s, bias + z * s), abs=0.1 * z * s)


def test_calibrate_puts_the_blocks_factor_on_each_week_and_floors_at_zero():
    # block 1 (weeks 1-4): actuals 10% above and 30% below the view, alternating on 20 weeks;
    # each bound of the 80% range is the ceil(21 * 0.9) = 19th of 20 scores from its side:
    # from above 0.1 (ten -0.3, ten 0.1), from below -0.3
    cut = pd.Timestamp("2024-01-05")
    ends = cut + pd.to_timedelta(7 * np.arange(1, 21), unit="D")
    err = np.where(np.arange(20) % 2, -0.3, 0.1)
    bt = pd.DataFrame(
        {"cutoff": cut, "period_end": ends, "week_ahead": 1, "yhat": 50.0, "y": 50 * (1 + err)}
    )
    view = pd.DataFrame({"period_end": ends[:5], "yhat": [100.0, 10.0, 0.0, 40.0, 70.0]})
    with pytest.warns(
        UserWarning, match="too few weeks of known errors to calibrate the 80% range"
    ):
        out = weekrange.calibrate(view, bt, (80,))
    assert out["yhat_lo_80"].tolist()[:4] == pytest.approx([70.0, 7.0, 0.0, 28.0])
    assert out["yhat_hi_80"].tolist()[:4] == pytest.approx([110.0, 11.0, 0.0, 44.0])
    # week 5 is in the next block, which has no errors: no range rather than a guess
    assert np.isnan(out["yhat_hi_80"].iloc[4]) and np.isnan(out["yhat_lo_80"].iloc[4])
    with pytest.warns(UserWarning, match="not shown"):
        big = weekrange.calibrate(view.assign(yhat=[100.0, 10, 0, 1000, 70]), bt, (80,))
        lower = weekrange.calibrate(view.assign(yhat=-5.0), bt, (80,))  # never below zero
    assert big["yhat_lo_80"].iloc[3] == pytest.approx(700.0)
    assert big["yhat_hi_80"].iloc[3] == pytest.approx(1100.0)
    assert (lower["yhat_lo_80"].iloc[:4] == 0).all()


def test_cutoffs_are_week_ends_with_a_known_week_after_them():
    cuts = weekrange.cutoffs("2026-10-31", 3, 2, "FRI")  # a Saturday: its week ended Friday 30th
    assert [str(c.date()) for c in cuts] == ["2026-09-25", "2026-10-09", "2026-10-23"]
    assert [c.weekday() for c in weekrange.cutoffs("2026-10-31", 2, 1, "SUN")] == [6, 6]


def test_weekly_backtest_scores_known_weeks_against_the_cash_received(small_demo):
    frames = {
        k: v.loc[v["business_unit"] == "aa"].reset_index(drop=True) for k, v in small_demo.items()
    }
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    bt = weekrange.weekly_backtest(led, "2026-10-31", n_cutoffs=2, step=4)
    assert sorted(bt["cutoff"].unique()) == [pd.Timestamp("2026-09-25"), pd.Timestamp("2026-10-23")]
    # only weeks ended by the close: 5 after 25 September, 1 after 23 October
    assert bt.groupby("cutoff").size().tolist() == [5, 1]
    assert bt["period_end"].max() == pd.Timestamp("2026-10-30")
    first = bt.loc[bt["cutoff"] == bt["cutoff"].min()]
    assert first["week_ahead"].tolist() == [1, 2, 3, 4, 5]
    assert (first["period_end"] - first["cutoff"]).dt.days.tolist() == [7, 14, 21, 28, 35]
    # y: every payment dated in the week (Saturday to Friday), summed from the transactions
    txn = frames["transactions"]
    pay = txn.loc[txn[C.kind] == PAYMENT]
    for end, y in zip(bt["period_end"], bt["y"]):
        days = (pay[C.date] > end - pd.Timedelta(days=7)) & (pay[C.date] <= end)
        assert y == pytest.approx(pay.loc[days, C.amount].sum(), abs=0.01)
    assert (bt["yhat"] > 0).all()
    cov = weekrange.backtest_coverage(bt)
    assert cov["points"].tolist() == [0, 0]  # too few weeks known at either cut-off: none claimed
    assert weekrange.kpis(cov) == {"week_range_coverage_80": None, "week_range_coverage_95": None}


def test_an_open_item_list_gets_no_weekly_range_rather_than_a_guess(small_demo):
    from types import SimpleNamespace

    inv = small_demo["invoices"]
    led = Ledger(inv.loc[inv["business_unit"] == "aa"].reset_index(drop=True), transactions())
    led.load_report = SimpleNamespace(open_items_only=True)  # as read with transactions: none
    with pytest.warns(UserWarning, match="open-item list has no record of the cash collected"):
        bt = weekrange.weekly_backtest(led, "2026-10-31")
    assert bt.empty
    view = pd.DataFrame({"period_end": pd.date_range("2026-11-06", periods=2, freq="W-FRI")})
    out = weekrange.calibrate(view.assign(yhat=[10.0, 20.0]), bt)
    assert out[["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]].isna().all().all()
    assert weekrange.backtest_coverage(bt)["points"].tolist() == [0, 0]
