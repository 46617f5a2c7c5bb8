"""arlib.forecast.backtest: cut-offs, no look-ahead, hand-computed metrics, choice (runs across closes: test_forecast_history)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arlib.errors import ConfigError
from arlib.forecast.backtest import (
    accuracy,
    backtest,
    best_method,
    choose_model,
    cutoffs,
)


def test_cutoffs_leave_a_full_horizon_after_each():
    got = cutoffs("2024-12-01", horizon=3, n_windows=3, step=1)
    assert [str(c.date()) for c in got] == ["2024-07-01", "2024-08-01", "2024-09-01"]
    assert cutoffs("2024-12-01", 8, n_windows=1)[0] == pd.Timestamp("2024-04-01")


def test_backtest_uses_only_data_before_each_cutoff():
    ds = pd.date_range("2020-01-01", periods=30, freq="MS")
    y = (
        np.arange(30.0) ** 2
    )  # every value differs, so the last training value identifies the cut-off
    df = pd.DataFrame({"unique_id": "u", "ds": ds, "y": y})
    bt = backtest(df, horizon=3, methods=["naive"], n_windows=2, step=2)
    for cut, g in bt.groupby("cutoff"):
        assert (g["yhat"] == df.loc[df["ds"] == cut, "y"].item()).all()
        assert g["ds"].min() > cut and len(g) == 3
        assert np.array_equal(g["y"].to_numpy(), df.set_index("ds").loc[g["ds"], "y"].to_numpy())
    assert bt["cutoff"].nunique() == 2


def _bt():
    """Two windows of two steps, numbers chosen for hand computation."""
    return pd.DataFrame(
        {
            "unique_id": "u",
            "cutoff": pd.to_datetime(["2024-02-01"] * 2 + ["2024-03-01"] * 2).tolist() * 2,
            "ds": pd.to_datetime(["2024-03-01", "2024-04-01", "2024-04-01", "2024-05-01"] * 2),
            "model": ["good"] * 4 + ["snaive"] * 4,
            "yhat": [11.0, 18, 22, 30, 8, 25, 25, 20],
            "yhat_lo_80": [9.0, 17, 19, 29, 0, 0, 0, 0],
            "yhat_hi_80": [12.0, 19, 21, 31, 30, 30, 30, 30],
            "yhat_lo_95": [8.0, 16, 18, 28, 0, 0, 0, 0],
            "yhat_hi_95": [13.0, 21, 23, 32, 30, 30, 30, 30],
            "y": [10.0, 20, 20, 30] * 2,
        }
    )


def test_accuracy_matches_hand_computation():
    # history for the MASE scale with season length 1: |diffs| of 4, 8, 10 -> up to Feb: mean(4) = 4;
    # up to Mar: mean(4, 8) = 6
    hist = pd.DataFrame(
        {
            "unique_id": "u",
            "ds": pd.date_range("2024-01-01", periods=5, freq="MS"),
            "y": [2.0, 6, 14, 24, 30],
        }
    )
    acc = accuracy(_bt(), hist, season_length=1).set_index("model")
    g = acc.loc["good"]
    assert g["wape"] == pytest.approx((1 + 2 + 2 + 0) / 80)
    assert g["bias"] == pytest.approx((1 - 2 + 2 + 0) / 80)
    assert g["mase"] == pytest.approx(np.mean([1 / 4, 2 / 4, 2 / 6, 0 / 6]))
    assert g["smape"] == pytest.approx(np.mean([200 * 1 / 21, 200 * 2 / 38, 200 * 2 / 42, 0]))
    assert g["coverage_80"] == pytest.approx(0.75)  # only 20 in [17, 19] misses
    assert g["coverage_95"] == pytest.approx(1.0)
    s = acc.loc["snaive"]
    assert s["wape"] == pytest.approx((2 + 5 + 5 + 10) / 80)
    assert g["relative_wape"] == pytest.approx(g["wape"] / s["wape"])
    assert int(g["n"]) == 4


def test_choice_is_the_lowest_metric_with_baseline_alongside():
    acc = pd.DataFrame(
        {
            "unique_id": ["a", "a", "a", "b", "b"],
            "model": ["auto", "ets", "snaive", "auto", "snaive"],
            "wape": [0.10, 0.08, 0.12, 0.30, 0.20],
            "mase": [1.0, 0.9, 1.1, 2.0, 1.5],
        }
    )
    ch = choose_model(acc)
    assert ch["model"].tolist() == ["ets", "snaive"]
    assert ch["baseline_wape"].tolist() == [0.12, 0.20]
    # ets was scored on one series only, so it cannot be the method for all: snaive 0.16 < auto 0.20
    assert best_method(acc) == "snaive"
    with pytest.raises(ConfigError, match="selection_metric"):
        choose_model(acc, metric="bias")


def test_backtest_regressors_come_from_their_own_past():
    # invoicing steps from ~10 to 100 right after the only cut-off; collections are twice it.
    # An honest backtest forecasts invoicing from its past, so sarimax must not see the jump.
    ds = pd.date_range("2020-01-01", periods=40, freq="MS")
    x = np.where(np.arange(40) < 37, 10.0 + np.sin(np.arange(40)), 100.0)
    df = pd.DataFrame(
        {"unique_id": "u", "ds": ds, "y": 2 * x + np.cos(np.arange(40)) * 0.1, "invoiced": x}
    )
    bt = backtest(df, 3, ["sarimax"], n_windows=1, season_length=1, regressors=["invoiced"])
    assert bt["cutoff"].unique().tolist() == [ds[36]]
    assert (bt["yhat"] < 40).all() and (bt["y"] > 190).all()


def test_cutoffs_count_back_from_each_series_end():
    a = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": pd.date_range("2020-01-01", periods=30, freq="MS"),
            "y": np.arange(30.0),
        }
    )
    b = pd.DataFrame(
        {
            "unique_id": "b",
            "ds": pd.date_range("2015-01-01", periods=20, freq="MS"),
            "y": np.arange(20.0),
        }
    )
    bt = backtest(pd.concat([a, b]), horizon=2, methods=["naive"], n_windows=2, step=1)
    cuts = bt.groupby("unique_id")["cutoff"].unique()
    assert [str(c.date()) for c in cuts["a"]] == [
        "2022-03-01",
        "2022-04-01",
    ]  # last 2022-06, minus 2+1 and 2
    assert [str(c.date()) for c in cuts["b"]] == ["2016-05-01", "2016-06-01"]  # last 2016-08
