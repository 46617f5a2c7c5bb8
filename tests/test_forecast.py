"""arlib.forecast.engine: signal recovery, interval coverage, degenerate series, contract, determinism."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from arlib.errors import ConfigError, DataError
from arlib.forecast.engine import forecast, interval_columns, season_length_of
from arlib.forecast.models import combine, naive, predict_series, seasonal_test, snaive

H = 12
T = np.arange(72 + H)
TREND_SEASON = 200 + 0.8 * T + 25 * np.sin(2 * np.pi * T / 12)  # known signal


def _frame(values, uid="s", start="2019-01-01", freq="MS"):
    return pd.DataFrame(
        {"unique_id": uid, "ds": pd.date_range(start, periods=len(values), freq=freq), "y": values}
    )


RECOVERED_Y = TREND_SEASON[:72] + np.random.default_rng(3).normal(0, 2.0, 72)


@pytest.fixture(scope="module")
def recovered():
    y = RECOVERED_Y
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean series must not need any fallback
        fc = forecast(
            _frame(y),
            H,
            method=[
                "auto",
                "ensemble",
                "ets",
                "damped",
                "arima",
                "theta",
                "dot",
                "ces",
                "comb",
                "sarimax",
                "snaive",
            ],
            n_jobs=2,
        )
    return fc


@pytest.mark.parametrize(
    "method",
    ["auto", "ensemble", "ets", "damped", "arima", "theta", "dot", "ces", "comb", "sarimax"],
)
def test_each_model_recovers_trend_and_season(recovered, method):
    got = recovered.loc[recovered["model"] == method, "yhat"].to_numpy()
    truth = TREND_SEASON[72:]
    # noise sd is 2 on a level of ~260 with a seasonal swing of +-25: a model that misses the
    # season is off by up to 25 (~10%); one that gets both right is within a few per cent
    assert np.mean(np.abs(got - truth) / truth) < 0.04, method
    assert recovered.loc[recovered["model"] == method, "fitted"].eq(method).all()


def test_seasonal_naive_and_naive_recover_their_signals():
    season = np.tile([5.0, 9, 4, 7], 6)
    b = snaive(season, 6, 4, (80,))
    assert b["mean"].tolist() == [5.0, 9, 4, 7, 5, 9]
    assert np.allclose(b["lo-80"], b["mean"])  # no seasonal change -> zero width
    rw = np.array([1.0, 3, 2, 4])  # diffs 2, -1, 2 -> sigma = sqrt(3)
    b = naive(rw, 4, 1, (95,))
    assert b["mean"].tolist() == [4.0] * 4
    assert np.allclose(
        b["hi-95"] - b["mean"], 1.959964 * np.sqrt(3) * np.sqrt([1, 2, 3, 4]), rtol=1e-6
    )


def _coverage(fc, truth):
    m = fc.merge(truth, on=["unique_id", "ds"])
    return {
        lv: float(np.mean((m["y"] >= m[f"yhat_lo_{lv}"]) & (m["y"] <= m[f"yhat_hi_{lv}"])))
        for lv in (80, 95)
    }


@pytest.mark.parametrize("method,process", [("ets", "level"), ("naive", "walk")])
def test_intervals_cover_at_nominal_rate(method, process):
    rng = np.random.default_rng(11)
    n, h, k = 60, 6, 150
    shocks = rng.normal(0, 10, (k, n + h))
    ys = 500 + shocks if process == "level" else 500 + np.cumsum(shocks, axis=1)
    ds = pd.date_range("2018-01-01", periods=n + h, freq="MS")
    full = pd.DataFrame(
        {"unique_id": np.repeat(np.arange(k), n + h), "ds": np.tile(ds, k), "y": ys.ravel()}
    )
    train = full.loc[full["ds"] < ds[n]]
    cov = _coverage(
        forecast(train, h, method=method, season_length=1, n_jobs=2), full.loc[full["ds"] >= ds[n]]
    )
    assert abs(cov[80] - 0.80) < 0.06 and abs(cov[95] - 0.95) < 0.04, cov


def test_degenerate_series_are_handled_with_warnings():
    ds = pd.date_range("2020-01-01", periods=30, freq="MS")
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": "const", "ds": ds, "y": 7.0}),
            pd.DataFrame({"unique_id": "zeros", "ds": ds, "y": 0.0}),
            pd.DataFrame({"unique_id": "one", "ds": ds[:1], "y": [3.0]}),
            pd.DataFrame({"unique_id": "short", "ds": ds[:5], "y": [1.0, 2, 3, 4, 5]}),
            pd.DataFrame(
                {"unique_id": "gappy", "ds": ds.delete([4, 5]), "y": np.arange(28.0) + 10}
            ),
            pd.DataFrame({"unique_id": "nan", "ds": ds, "y": np.r_[np.nan, np.arange(29.0)]}),
            pd.DataFrame(
                {"unique_id": "spiky", "ds": ds, "y": np.where(np.arange(30) % 7 == 0, 50.0, 0.0)}
            ),
        ]
    )
    with pytest.warns(UserWarning) as rec:
        fc = forecast(df, 4, method=["auto", "ets", "snaive"], n_jobs=1)
    text = " ".join(str(w.message) for w in rec)
    assert "'short'" in text and "fewer than 8 observations; used naive instead of ets" in text
    assert "constant" in text and "interpolation" in text
    assert len(fc) == 7 * 3 * 4
    const = fc.loc[fc["unique_id"] == "const"]
    assert (const[["yhat", "yhat_lo_95", "yhat_hi_95"]] == 7.0).all().all()
    assert (const["fitted"] == "constant").all()
    assert np.isfinite(fc.loc[fc["unique_id"] != "one", "yhat_lo_95"]).all()
    assert (fc.loc[fc["unique_id"] == "short", "fitted"].isin(["naive"])).all()
    assert (fc["yhat_lo_95"].fillna(0) >= 0).all()  # never-negative history -> no negative cash
    gappy = fc.loc[(fc["unique_id"] == "gappy") & (fc["model"] == "ets"), "yhat"]
    assert np.allclose(gappy, np.arange(38.0, 42.0), atol=0.5)  # the line (+1 a month) continues


def test_contract_order_and_dates():
    ds = pd.date_range("2021-01-01", periods=40, freq="MS")
    rng = np.random.default_rng(0)
    df = pd.concat(
        [
            _frame(100 + rng.normal(0, 5, 40), "b", "2021-01-01"),
            _frame(50 + rng.normal(0, 5, 30), "a", "2021-03-01"),
        ]
    )
    fc = forecast(df, 3, method=["naive", "theta"])
    assert list(fc.columns) == [
        "unique_id",
        "ds",
        "model",
        "yhat",
        *interval_columns((80, 95)),
        "fitted",
    ]
    assert fc["unique_id"].tolist()[:6] == ["a"] * 6
    last_a = pd.Timestamp("2021-03-01") + pd.DateOffset(months=29)
    assert fc.loc[fc["unique_id"] == "a", "ds"].iloc[0] == last_a + pd.DateOffset(months=1)
    assert fc.loc[fc["unique_id"] == "b", "ds"].iloc[-1] == ds[-1] + pd.DateOffset(months=3)
    ordered = fc[["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]].to_numpy()
    assert (np.diff(ordered, axis=1) >= 0).all()


def test_deterministic_regardless_of_order_and_workers():
    rng = np.random.default_rng(5)
    df = pd.concat([_frame(TREND_SEASON[:48] + rng.normal(0, 3, 48), f"s{i}") for i in range(6)])
    a = forecast(df, 6, method="auto", n_jobs=1)
    b = forecast(df.sample(frac=1, random_state=1), 6, method="auto", n_jobs=2)
    pd.testing.assert_frame_equal(a, b)


def test_weekly_frequency_and_regressor():
    x = np.linspace(10, 40, 60) + np.sin(np.arange(60))
    y = 3 * x + np.random.default_rng(2).normal(0, 0.5, 60)
    ds = pd.date_range("2024-01-01", periods=60, freq="W-MON")
    df = pd.DataFrame({"unique_id": "u", "ds": ds[:56], "y": y[:56], "invoiced": x[:56]})
    fut = pd.DataFrame({"unique_id": "u", "ds": ds[56:], "invoiced": x[56:]})
    fc = forecast(
        df,
        4,
        freq="W-MON",
        method="sarimax",
        regressors=["invoiced"],
        exog_future=fut,
        season_length=1,
    )
    assert fc["ds"].tolist() == list(ds[56:])
    assert np.allclose(fc["yhat"], y[56:], atol=2.0)


def test_errors_name_the_problem():
    df = _frame(np.arange(30.0))
    with pytest.raises(ConfigError, match="method"):
        forecast(df, 3, method="prophet")
    with pytest.raises(ConfigError, match="horizon"):
        forecast(df, 0)
    with pytest.raises(ConfigError, match="freq"):
        season_length_of("fortnightly")
    with pytest.raises(DataError, match="repeat a"):
        forecast(pd.concat([df, df.tail(1)]), 3, method="naive")
    with pytest.raises(DataError, match="calendar"):
        forecast(df.assign(ds=df["ds"] + pd.Timedelta(days=3)), 3, method="naive")
    with pytest.raises(DataError, match="column y"):
        forecast(df.drop(columns="y"), 3)


def test_seasonal_test_and_fallback_on_failure():
    t = np.arange(48)
    assert seasonal_test(100 + 20 * np.cos(2 * np.pi * t / 12) + np.sin(t), 12)
    assert not seasonal_test(np.random.default_rng(1).normal(100, 5, 48), 12)
    res = predict_series(np.array([1.0, np.inf, 2.0, 3, 4, 5, 6, 7, 8, 9]), 2, 1, ["ets"])
    assert res.used["ets"] == "naive" and "ets failed" in res.notes[0].text


def test_combination_intervals_are_the_members_mixture():
    from scipy.optimize import brentq
    from scipy.stats import norm

    z = norm.ppf(0.975)
    a = {"mean": np.array([0.0]), "lo-95": np.array([-z]), "hi-95": np.array([z])}  # N(0, 1)
    b = {
        "mean": np.array([10.0]),
        "lo-95": np.array([10 - 2 * z]),
        "hi-95": np.array([10 + 2 * z]),
    }  # N(10, 4)
    got = combine([a, b], "mean", (95,))
    cdf = lambda q: 0.5 * norm.cdf(q) + 0.5 * norm.cdf(q, 10, 2)  # noqa: E731
    assert got["mean"][0] == 5.0
    assert got["lo-95"][0] == pytest.approx(brentq(lambda q: cdf(q) - 0.025, -20, 20), abs=1e-6)
    assert got["hi-95"][0] == pytest.approx(brentq(lambda q: cdf(q) - 0.975, -20, 30), abs=1e-6)


def test_auto_is_the_median_of_its_members(recovered):
    """auto's point forecast, worked out from its four members fitted separately: ETS, CES,
    DOTheta and the seasonal naive (whose values are last year's, checked by hand too)."""
    wide = recovered.pivot(index="ds", columns="model", values="yhat")
    members = wide[["ets", "ces", "dot", "snaive"]].to_numpy()
    assert wide["snaive"].to_numpy() == pytest.approx(RECOVERED_Y[72 - 12 : 72])
    want = (np.sort(members, axis=1)[:, 1] + np.sort(members, axis=1)[:, 2]) / 2
    assert wide["auto"].to_numpy() == pytest.approx(want, rel=1e-12)


def test_auto_on_yearly_data_uses_the_drift_as_its_benchmark():
    """No season: the benchmark member is the random walk with drift (12 to 32 in 11 steps:
    +20/11 a year), and auto is the middle of ETS, CES, DOTheta and that line."""
    y = np.array([12.0, 15, 14, 18, 21, 20, 24, 27, 26, 30, 33, 32])
    res = predict_series(y, 3, 1, ["auto", "ets", "ces", "dot", "bench"], levels=(80,))
    assert res.used["auto"] == "auto" and res.used["bench"] == "bench"
    assert res.bands["bench"]["mean"] == pytest.approx(32 + 20 / 11 * np.arange(1, 4), rel=1e-12)
    members = np.vstack([res.bands[k]["mean"] for k in ("ets", "ces", "dot", "bench")])
    s = np.sort(members, axis=0)
    assert res.bands["auto"]["mean"] == pytest.approx((s[1] + s[2]) / 2, rel=1e-12)


def test_point_combinations_by_hand():
    from arlib.forecast.models import point_combination

    means = np.array([[1.0, 4.0], [2.0, 4.0], [3.0, 4.0], [10.0, 8.0]])
    assert point_combination(means, "median").tolist() == [2.5, 4.0]
    assert point_combination(means, "mean").tolist() == [4.0, 5.0]
    assert point_combination(means, "median-mean").tolist() == [3.25, 4.5]
    with pytest.raises(ValueError, match="median-mean"):
        point_combination(means, "mode")
