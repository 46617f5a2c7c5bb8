"""The benchmark member of ``auto``: random walk with drift, and the choice between it and
the seasonal naive by the series' own seasonality test."""

import numpy as np
import pytest

from arlib.forecast.models import bench, drift, predict_series, snaive, z_value

Y = np.array([1.0, 3, 2, 5, 6, 8])


def test_drift_by_hand():
    """Drift (8 - 1) / 5 = 1.4 a step; the changes less the drift are 0.6, -2.4, 1.6, -0.4,
    0.6, so sigma^2 = 9.2 / 5 = 1.84 and step 1's sd is sqrt(1.84 * 1 * (1 + 1/5))."""
    got = drift(Y, 3, 1, (80,))
    assert got["mean"] == pytest.approx([9.4, 10.8, 12.2], rel=1e-12)
    sd1 = np.sqrt(1.84 * 1.2)
    assert got["hi-80"][0] == pytest.approx(9.4 + z_value(80) * sd1, rel=1e-12)
    sd3 = np.sqrt(1.84 * 3 * (1 + 3 / 5))
    assert got["lo-80"][2] == pytest.approx(12.2 - z_value(80) * sd3, rel=1e-12)


def test_drift_matches_statsforecast():
    """A second implementation: statsforecast's RandomWalkWithDrift, means and bounds."""
    from statsforecast.models import RandomWalkWithDrift

    y = 50 + np.cumsum(np.random.default_rng(4).normal(0.5, 2.0, 40))
    want = RandomWalkWithDrift().forecast(y=y, h=6, level=[80, 95])
    got = drift(y, 6, 1, (80, 95))
    for k in ("mean", "lo-80", "hi-80", "lo-95", "hi-95"):
        assert got[k] == pytest.approx(want[k], rel=1e-9), k


def test_bench_follows_the_datas_season_length():
    """Seasonal data: last year's values (the naive while there are fewer than two seasons,
    as before); data without a season (m = 1): the line from the first to the last value."""
    t = np.arange(48)
    seasonal = 100 + 20 * np.sin(2 * np.pi * t / 12) + 0.5 * t + np.cos(3.1 * t)
    got = bench(seasonal, 12, 12, (80,))
    assert got["mean"].tolist() == seasonal[36:48].tolist()  # last year, value by value
    assert got["mean"].tolist() == snaive(seasonal, 12, 12, (80,))["mean"].tolist()
    assert bench(seasonal[:20], 3, 12, (80,))["mean"].tolist() == [seasonal[19]] * 3
    yearly = np.array([10.0, 12, 11, 15, 16, 18, 17, 21])  # (21 - 10) / 7 a year
    assert bench(yearly, 2, 1, (80,))["mean"] == pytest.approx(
        [21 + 11 / 7, 21 + 22 / 7], rel=1e-12
    )


def test_auto_on_yearly_and_short_monthly_data():
    """Through predict_series: yearly data get the drift as auto's benchmark; a monthly
    series of 20 months (too short for a season) keeps the naive, as before the drift."""
    yearly = np.array([12.0, 15, 14, 18, 21, 20, 24, 27, 26, 30, 33, 32])
    res = predict_series(yearly, 3, 1, ["auto", "bench"], levels=(80,))
    assert res.bands["bench"]["mean"] == pytest.approx(32 + 20 / 11 * np.arange(1, 4), rel=1e-12)
    monthly = 50 + np.random.default_rng(2).normal(0, 3, 20)
    res = predict_series(monthly, 3, 12, ["bench"], levels=(80,))
    assert res.bands["bench"]["mean"].tolist() == [monthly[-1]] * 3


def test_auto_on_a_too_short_series_is_its_fallback_alone():
    """Five values: ETS, CES and DOTheta all fall back to the naive, so auto is the naive
    (not a median of three naives and a drift), and says so."""
    res = predict_series(np.array([1.0, 2, 3, 4, 5]), 2, 1, ["auto"], levels=(80,))
    assert res.used["auto"] == "naive"
    assert res.bands["auto"]["mean"].tolist() == [5.0, 5.0]
