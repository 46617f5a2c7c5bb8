"""arlib.forecast.conformal: calibrated ranges on simulated series with known noise, measured out
of sample (each window's range built only from errors known at its cut-off)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from arlib.errors import ConfigError, DataError
from arlib.forecast import conformal


def _simulated_backtest(scale: float, sigma: float = 10.0, windows: int = 300, h: int = 4):
    """A method that forecasts a known level with noise ``sigma`` but states a range ``scale``
    times the true one: windows one period apart, ``h`` steps each, as a backtest frame."""
    rng = np.random.default_rng(5)
    start = pd.Timestamp("2000-01-01")
    rows = []
    y = 100.0 + rng.normal(0.0, sigma, windows + h)
    for w in range(windows):
        cut = start + pd.DateOffset(months=w)
        for k in range(1, h + 1):
            row = {"unique_id": "s", "cutoff": cut, "ds": cut + pd.DateOffset(months=k)}
            row |= {"model": "m", "yhat": 100.0, "y": y[w + k - 1]}
            for lv in (80, 95):
                half = scale * norm.ppf(0.5 + lv / 200) * sigma
                row |= {f"yhat_lo_{lv}": 100.0 - half, f"yhat_hi_{lv}": 100.0 + half}
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_calibrated_coverage_is_the_level_whatever_the_model_claims(scale):
    bt = _simulated_backtest(scale)
    cov = conformal.backtest_coverage(bt).set_index("level")
    # the model's own range: the normal coverage of scale * z (worked out from the normal cdf)
    for lv in (80, 95):
        own = 2 * norm.cdf(scale * norm.ppf(0.5 + lv / 200)) - 1
        assert cov.loc[lv, "model_coverage"] == pytest.approx(own, abs=0.04)
        assert cov.loc[lv, "calibrated_coverage"] == pytest.approx(lv / 100, abs=0.03)
    # the factor undoes the model's error: q ~ 1 / scale
    fac = conformal.factors(bt)
    assert fac[80][0] == pytest.approx(1 / scale, rel=0.12)
    assert fac[80][1] == len(bt)


def test_out_of_sample_uses_only_errors_known_at_each_cutoff():
    # errors are tiny for the first 40 windows, then ten times larger: an honest calibration
    # cannot know that at first, so the window right after the break is under-covered
    bt = _simulated_backtest(1.0, windows=80, h=1)
    late = bt["cutoff"] >= bt["cutoff"].iloc[40]
    bt.loc[late, "y"] = 100 + (bt.loc[late, "y"] - 100) * 10
    cov = conformal.backtest_coverage(bt).set_index("level")
    # the first late window is scored with early errors only: a look-ahead would cover it
    first_late = bt.loc[late].head(1)
    q_before = conformal.factors(bt.loc[bt["ds"] <= first_late["cutoff"].iloc[0]], (80,))[80][0]
    assert q_before < 2
    assert cov.loc[80, "calibrated_coverage"] < 0.8


def test_calibrate_scales_the_range_and_floors_at_zero():
    bt = _simulated_backtest(0.5, windows=200, h=1)
    fc = pd.DataFrame({"yhat": [5.0, 100.0], "yhat_lo_80": [4.0, 90.0], "yhat_hi_80": [6.0, 110.0]})
    q = conformal.factors(bt, (80,))[80][0]
    out = conformal.calibrate(fc, bt, (80,))
    assert out["yhat_hi_80"].tolist() == pytest.approx([5 + q * 1, 100 + q * 10])
    assert out["yhat_lo_80"].iloc[0] == max(0.0, 5 - q)  # never below zero
    assert out["yhat_lo_80"].iloc[1] == pytest.approx(100 - q * 10)
    assert out.attrs["calibration"][80] == (q, 200)


def test_too_few_points_refuse_a_range():
    bt = _simulated_backtest(1.0, windows=10, h=1)  # enough for 80%, not for 95%
    fc = bt.head(1)
    with pytest.warns(UserWarning, match="calibrate the 95% range .*; the range is not shown"):
        out = conformal.calibrate(fc, bt)
    assert out[["yhat_lo_95", "yhat_hi_95"]].isna().all().all()
    assert out[["yhat_lo_80", "yhat_hi_80"]].notna().all().all()
    with pytest.raises(
        DataError,
        match=r"10 rows are too few backtest points to calibrate the 95% range \(it needs at "
        r"least 19 points, on 19 different periods\)",
    ):
        conformal.calibrate(fc, bt, strict=True)


def test_a_range_needs_errors_on_enough_different_periods():
    # 21 errors on 6 target months (windows one month apart, 6 steps: each month forecast up to
    # six times, one actual) are 6 pieces of evidence: too few for a 95% range (19 periods),
    # enough for an 80% one (4); the same 21 errors on 21 months calibrate both
    bt = _simulated_backtest(1.0, windows=7, h=6)
    few = bt.loc[bt["ds"] <= bt["cutoff"].max()]  # known at the last cut-off
    assert len(few) == 21 and few["ds"].nunique() == 6
    fac = conformal.factors(few)
    assert fac[95] == (float("inf"), 21) and np.isfinite(fac[80][0])
    spread = few.assign(ds=pd.date_range("2001-01-01", periods=21, freq="MS"))
    # 21 scores: the 95% factor is the ceil(22 * 0.95) = 21st smallest, the largest
    score = (spread["y"] - 100).abs() / (spread["yhat_hi_95"] - 100)
    assert conformal.factors(spread)[95] == (pytest.approx(score.max()), 21)
    assert [conformal.periods_needed(lv) for lv in (50, 80, 90, 95, 99)] == [1, 4, 9, 19, 99]


def test_calibration_backtest_of_a_short_history_claims_no_range():
    series = pd.DataFrame(
        {"unique_id": "u", "ds": pd.date_range("2024-01-01", periods=12, freq="MS"), "y": 1.0}
    )
    with pytest.warns(UserWarning, match="too few periods to calibrate a 6-period range"):
        none = conformal.calibration_backtest(series, 6, "naive")
    # no rows: no range is shown, and no coverage is claimed
    fc = series.tail(1).assign(yhat=1.0, yhat_lo_80=0.5, yhat_hi_80=1.5, yhat_lo_95=0, yhat_hi_95=2)
    with pytest.warns(UserWarning, match="the range is not shown"):
        assert conformal.calibrate(fc, none)[["yhat_lo_80", "yhat_hi_95"]].isna().all().all()
    cov = conformal.backtest_coverage(none)
    assert cov["points"].tolist() == [0, 0] and cov["calibrated_coverage"].isna().all()
    with pytest.raises(ConfigError, match="calibration_windows: must be at least 2"):
        conformal.calibration_backtest(_long(), 3, "naive", n_windows=1)
    bt = conformal.calibration_backtest(_long(), 3, "naive")
    assert bt["cutoff"].nunique() == 24 and (bt.groupby("cutoff").size() == 3).all()


def _long():
    rng = np.random.default_rng(1)
    ds = pd.date_range("2020-01-01", periods=40, freq="MS")
    return pd.DataFrame({"unique_id": "u", "ds": ds, "y": 100 + rng.normal(0, 5, 40).cumsum()})


def test_kpis_round_and_name_both_coverages():
    cov = pd.DataFrame(
        {
            "level": [80, 95],
            "model_coverage": [0.5416666, 0.7],
            "calibrated_coverage": [0.8123, np.nan],
            "points": [24, 0],
            "windows": [4, 0],
        }
    )
    assert conformal.kpis(cov) == {
        "forecast_range_coverage_80": 0.8123,
        "forecast_model_range_coverage_80": 0.5417,
        "forecast_range_coverage_95": None,
        "forecast_model_range_coverage_95": 0.7,
    }
