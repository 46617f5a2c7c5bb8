"""arlib.forecast.conformal: calibrated ranges on simulated series with known noise, measured out
of sample (each window's range built only from errors known at its cut-off)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from arlib.errors import ConfigError, DataError
from arlib.forecast import conformal, forecast


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


def test_a_short_history_borrows_the_95_range_from_the_80_and_says_so():
    bt = _simulated_backtest(0.5, windows=10, h=1)  # 10 months: enough for 80% (4), not 95% (19)
    fc = pd.DataFrame({"yhat": [100.0], "yhat_lo_80": [90.0], "yhat_hi_80": [110.0]})
    fc = fc.assign(yhat_lo_95=80.0, yhat_hi_95=120.0)
    assert conformal.bases(bt) == {80: 80, 95: 80}
    # q80: one score a month, so position 0.8 * (10 + 1) = 8.8 of the 10 sorted scores
    # |y - 100| / (80% half-width): 80% of the way from the 8th to the 9th
    score = np.sort((bt["y"] - 100).abs() / (bt["yhat_hi_80"] - 100))
    q80 = score[7] + 0.8 * (score[8] - score[7])
    # the borrowed 95% factor: q80, or the largest 95% score if larger (never narrower than the
    # largest error seen)
    q95 = max(q80, ((bt["y"] - 100).abs() / (bt["yhat_hi_95"] - 100)).max())
    with pytest.warns(UserWarning, match="95% range on its own .* here 10\\); it is the 80% "):
        out = conformal.calibrate(fc, bt)
    assert out["yhat_hi_80"].iloc[0] == pytest.approx(100 + q80 * 10)
    assert out["yhat_hi_95"].iloc[0] == pytest.approx(100 + q95 * 20)  # the model's 95% half
    assert out.attrs["calibration"][95] == (pytest.approx(q95), 10)
    with pytest.raises(DataError, match="19 different periods, here 10"):
        conformal.calibrate(fc, bt, strict=True)
    cov = conformal.backtest_coverage(bt).set_index("level")
    assert cov["calibrated_on"].tolist() == [80, 80]
    # scored at cut-offs 6-9 (the first six points are known at the 6th): 4 months each level
    assert cov["months_checked"].tolist() == [4, 4] and cov["windows"].tolist() == [4, 4]


def test_too_few_points_refuse_a_range():
    bt = _simulated_backtest(1.0, windows=3, h=1)  # too few even for 80%: nothing to borrow
    fc = bt.head(1)
    with pytest.warns(UserWarning) as said:
        out = conformal.calibrate(fc, bt)
    said = [str(w.message) for w in said]
    assert len(said) == 2 and "the 80% range on its own" in said[0] and "95%" in said[1]
    assert all("; the range is not shown" in m for m in said)
    assert out[["yhat_lo_95", "yhat_hi_95", "yhat_lo_80", "yhat_hi_80"]].isna().all().all()
    with pytest.raises(
        DataError,
        match=r"3 rows are too few backtest points to calibrate the 80% range on its own \(it "
        r"needs at least 6 points, on 4 different periods, here 3\)",
    ):
        conformal.calibrate(fc, bt, strict=True)


def test_a_range_needs_errors_on_enough_different_periods():
    # 21 errors on 6 target months (windows one month apart, 6 steps: each month forecast up to
    # six times, one actual) are 6 pieces of evidence: too few for a 95% range (19 periods),
    # enough for an 80% one (4), which the 95% range borrows; the same 21 errors on 21 months
    # calibrate both
    bt = _simulated_backtest(1.0, windows=7, h=6)
    few = bt.loc[bt["ds"] <= bt["cutoff"].max()]  # known at the last cut-off
    assert len(few) == 21 and few["ds"].nunique() == 6
    fac = conformal.factors(few)
    assert np.isfinite(fac[80][0]) and fac[95] == fac[80]
    assert conformal.bases(few) == {80: 80, 95: 80}
    spread = few.assign(ds=pd.date_range("2001-01-01", periods=21, freq="MS"))
    # 21 scores: the 95% factor is the ceil(22 * 0.95) = 21st smallest, the largest
    score = (spread["y"] - 100).abs() / (spread["yhat_hi_95"] - 100)
    assert conformal.factors(spread)[95] == (pytest.approx(score.max()), 21)
    assert conformal.bases(spread) == {80: 80, 95: 95}
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
    # every cut-off from month 9 to month 39 of 40, the last two scored on what is observed
    bt = conformal.calibration_backtest(_long(), 3, "naive")
    sizes = bt.groupby("cutoff").size()
    assert len(sizes) == 31 and sizes.tolist() == [3] * 29 + [2, 1]
    assert bt["ds"].nunique() == 31 and bt["ds"].min() == pd.Timestamp("2020-10-01")
    assert conformal.calibration_backtest(_long(), 3, "naive", n_windows=5)["cutoff"].nunique() == 5


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
            "months_checked": [9, 0],
            "sampling_margin": [0.26, np.nan],
            "calibrated_on": [80, np.nan],
        }
    )
    assert conformal.kpis(cov) == {
        "forecast_range_coverage_80": 0.8123,
        "forecast_model_range_coverage_80": 0.5417,
        "forecast_range_coverage_95": None,
        "forecast_model_range_coverage_95": 0.7,
        "forecast_range_months_checked_80": 9,
        "forecast_range_calibrated_on_80": 80,
        "forecast_range_months_checked_95": 0,
        "forecast_range_calibrated_on_95": None,
    }


def test_a_real_method_on_simulated_series_holds_its_level_in_the_backtest_and_after():
    """30 random walks seen through measurement noise (known: steps sd 10, noise sd 20), 40
    months each, forecast 6 months by ``naive``, whose own range assumes a pure random walk
    (too wide here). Each series is calibrated on its own backtest. The true coverage of the
    range shown, worked out by simulating each series' next 6 months from its known state, is
    at the level within 3 points (seeds 1-5: 81.5-83.4 and 96.0-97.4). The coverage the report
    prints (in time, only past errors: early cut-offs calibrate on few errors) is a noisier
    estimate of it, within the issue's target of 80 +- 7 and 95 +- 4 (seeds 1-5: 79.1-86.3 and
    95.4-98.1; the ceil rank counted in points gave 77.8-85.4 and 94.9-97.8)."""
    rng = np.random.default_rng(1)
    n, months, h = 30, 40, 6
    state = 1000 + np.cumsum(rng.normal(0, 10, (n, months)), axis=1)
    y = state + rng.normal(0, 20, (n, months))
    ds = pd.date_range("2020-01-01", periods=months, freq="MS")
    series = pd.DataFrame(
        {"unique_id": np.repeat([f"s{i:02d}" for i in range(n)], months), "ds": np.tile(ds, n)}
    ).assign(y=y.ravel())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = conformal.calibration_backtest(series, h, "naive")
        fc = forecast(series, h, method="naive")
    cov = conformal.backtest_coverage(bt).set_index("level")
    true = {80: [], 95: []}
    for i, (uid, f) in enumerate(fc.groupby("unique_id", sort=True)):
        shown = conformal.calibrate(f.sort_values("ds"), bt.loc[bt["unique_id"] == uid])
        future = state[i, -1] + np.cumsum(rng.normal(0, 10, (2000, h)), axis=1)
        future += rng.normal(0, 20, (2000, h))
        for lv in (80, 95):
            lo, hi = shown[f"yhat_lo_{lv}"].to_numpy(), shown[f"yhat_hi_{lv}"].to_numpy()
            true[lv].append(np.mean((future >= lo) & (future <= hi)))
    for lv in (80, 95):
        assert np.mean(true[lv]) == pytest.approx(lv / 100, abs=0.03)
        target = {80: 0.07, 95: 0.04}[lv]
        assert cov.loc[lv, "calibrated_coverage"] == pytest.approx(lv / 100, abs=target)
    assert cov.loc[80, "model_coverage"] > 0.88  # the model's own 80% range is far too wide
    # targets from month 10; scored from month 14, once 4 months of errors are known at a cut-off
    assert cov["months_checked"].tolist() == [n * 27, n * 27]


def _flat_backtest(rng, months: int, h: int = 6, sigma: float = 10.0) -> pd.DataFrame:
    """The backtest :func:`conformal.calibration_backtest` would give of a method that knows the
    truth of white noise around 100 (forecast 100, its own range exactly right): cut-offs every
    month from the ninth, the latest scored on the months observed so far. Every horizon's
    error of a month is the same number (one actual, one forecast), as on the IBM units."""
    y = 100 + rng.normal(0, sigma, months)
    ds = pd.date_range("2020-01-01", periods=months, freq="MS")
    pairs = [(c, t) for c in range(8, months - 1) for t in range(c + 1, min(c + h, months - 1) + 1)]
    c, t = np.array(pairs).T
    frame = pd.DataFrame({"unique_id": "s", "cutoff": ds[c], "ds": ds[t], "y": y[t], "yhat": 100.0})
    for lv in (80, 95):
        half = norm.ppf(0.5 + lv / 200) * sigma
        frame[f"yhat_lo_{lv}"], frame[f"yhat_hi_{lv}"] = 100 - half, 100 + half
    return frame


def test_a_short_history_counts_its_evidence_in_months_and_holds_the_level():
    """300 series of 15 months (errors on 6 distinct months, 21 backtest points: each month's
    errors repeat up to 6 times). The true coverage of the 80% range shown is worked out from
    the normal cdf: 2 * Phi(q * z80) - 1. The range holds 80% within 1.5 points (79.4 here; seeds
    3 and 4: 80.8 and 78.0). The split-conformal ceil rank counted in points, as if the 21
    repeats were 21 draws, held 1.3-1.6 points less on each seed (77.8 here)."""
    rng = np.random.default_rng(2)
    z80 = norm.ppf(0.9)
    new, points = [], []
    for _ in range(300):
        bt = _flat_backtest(rng, 15)
        assert len(bt) == 21 and bt["ds"].nunique() == 6
        new.append(2 * norm.cdf(conformal.factors(bt, (80,))[80][0] * z80) - 1)
        score = (bt["y"] - 100).abs() / (z80 * 10)
        points.append(2 * norm.cdf(conformal.conformal_quantile(score, 80) * z80) - 1)
    assert np.mean(new) == pytest.approx(0.80, abs=0.015)
    assert np.mean(new) - np.mean(points) > 0.01


def test_the_quantile_reads_between_scores_and_counts_one_more_period():
    # 3 months, each forecast twice with the same error (scores 1, 2, 3): 6 points on 3
    # periods, 2 points a period. Position 0.5 * (6 + 2) = 4 of the sorted scores placed at
    # j - 1/2 + 1 = 1.5, 2.5, ..., 6.5: between the 2nd (2.5, score 1) and 3rd (3.5, score 2)...
    scores = [1, 1, 2, 2, 3, 3]
    assert conformal.calibration_quantile(scores, 50, per_period=2) == pytest.approx(2.0)
    # ... so the median of three equal-weight months is the middle one, as for one point each
    assert conformal.calibration_quantile([1, 2, 3], 50) == pytest.approx(2.0)
    # 80% needs position 0.8 * 8 = 6.4 <= 6? no: 3 months are too few (4 needed), so inf
    assert conformal.calibration_quantile(scores, 80, per_period=2) == float("inf")
    # 75%: position 0.75 * 8 = 6.0, inside the last month's block (5.5-6.5): its score
    assert conformal.calibration_quantile(scores, 75, per_period=2) == pytest.approx(3.0)


def test_a_borrowed_95_range_is_never_narrower_than_the_largest_error_seen():
    # 8 months, one error each: errors 1..7 and one of 30 around a forecast of 100, model's
    # half-widths 10 (80%) and 15 (95%). 80%: position 0.8 * 9 = 7.2 of the sorted 80% scores
    # (0.1 .. 0.7, 3.0): 0.7 + 0.2 * (3.0 - 0.7) = 1.16. The 95% range borrows it (8 < 19
    # months): 1.16 * 15 = 17.4 would miss the error of 30 already seen, so its factor is the
    # largest 95% score, 30 / 15 = 2
    errors = [1, 2, 3, 4, 5, 6, 7, 30]
    bt = pd.DataFrame(
        {
            "unique_id": "s",
            "ds": pd.date_range("2024-01-01", periods=8, freq="MS"),
            "y": [100.0 + e for e in errors],
            "yhat": 100.0,
            "yhat_lo_80": 90.0,
            "yhat_hi_80": 110.0,
            "yhat_lo_95": 85.0,
            "yhat_hi_95": 115.0,
        }
    )
    fac = conformal.factors(bt)
    assert fac[80] == (pytest.approx(1.16), 8)
    assert fac[95] == (pytest.approx(2.0), 8)
    # without the large error the model's ratio decides: 95% borrows q80 itself
    calm = bt.assign(y=[100.0 + e for e in (1, 2, 3, 4, 5, 6, 7, 8)])
    q80 = 0.7 + 0.2 * (0.8 - 0.7)  # 80% scores 0.1 .. 0.8; the largest 95% score 8 / 15 < q80
    assert conformal.factors(calm)[95] == (pytest.approx(q80), 8)
