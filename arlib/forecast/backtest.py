"""Honest accuracy: rolling-origin backtests, metrics, model choice, forecast vs actual.

A backtest refits every method at several cut-offs using only the data up to each cut-off
and compares the next ``horizon`` periods with what happened. :func:`accuracy` scores each
series and method (WAPE, MASE, sMAPE, bias, interval coverage) next to the seasonal naive
benchmark; :func:`choose_model` / :func:`best_method` pick the method from those scores, so
the report's model is chosen by evidence, not by hand.

Across closes, :mod:`arlib.forecast.history` keeps each run's forecast and sets it against what
was collected (on a project's first close, against this backtest).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError, DataError
from arlib.forecast.contractual import CONTRACTUAL
from arlib.forecast.engine import (
    DS,
    MODEL,
    UID,
    YHAT,
    Y,
    forecast,
    interval_columns,
    season_length_of,
)
from arlib.ledger import EMPTY_REASON, needs_history

CUTOFF = "cutoff"
DEFAULT_METHODS: tuple[str, ...] = ("auto", "ets", "arima", "theta", "snaive")
METRICS = ("wape", "mase", "smape", "bias")


def cutoffs(
    last,
    horizon: int,
    n_windows: int = 4,
    step: int | None = None,
    freq: str = "MS",
    observed: int | None = None,
) -> list[pd.Timestamp]:
    """Cut-offs (last training period) so that each window's ``horizon`` periods are observed,
    or, with ``observed``, at least the first ``observed`` of them (the latest windows are then
    scored on the periods observed so far).

    >>> [str(c.date()) for c in cutoffs("2024-12-01", 3, n_windows=2, step=2)]
    ['2024-07-01', '2024-09-01']
    >>> [str(c.date()) for c in cutoffs("2024-12-01", 3, n_windows=3, step=1, observed=1)]
    ['2024-09-01', '2024-10-01', '2024-11-01']
    """
    step = step or max(1, horizon // 2)
    off = pd.tseries.frequencies.to_offset(freq)
    last = pd.Timestamp(last)
    first = horizon if observed is None else int(observed)
    return sorted(last - off * (first + i * step) for i in range(n_windows))


def backtest(
    df: pd.DataFrame,
    horizon: int,
    methods: Sequence[str] = DEFAULT_METHODS,
    freq: str = "MS",
    levels: Sequence[int] = (80, 95),
    n_windows: int = 4,
    step: int | None = None,
    season_length: int | None = None,
    regressors: Sequence[str] = (),
    n_jobs: int = -1,
    observed: int | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of every method on every series.

    Cut-offs are counted back from each series' own last period (see :func:`cutoffs`; with
    ``observed``, the latest windows keep only the periods observed so far).
    Returns the forecast columns of :func:`arlib.forecast.engine.forecast` plus ``cutoff`` and the
    actual ``y``; windows whose training data are empty are skipped. ``regressors`` (for
    ``sarimax``) are forecast from their own history up to each cut-off, never taken from
    the future. Warnings from the refits are summarised once.
    """
    if df.empty:  # no history at all (an open-item list): nothing to backtest
        cols = [UID, CUTOFF, DS, MODEL, YHAT, *interval_columns(levels), "fitted", Y]
        kinds = {UID: object, CUTOFF: "M8[ns]", DS: "M8[ns]", MODEL: object}
        out = pd.DataFrame({c: pd.Series(dtype=kinds.get(c, float)) for c in cols})
        return needs_history(out, "The backtest") if EMPTY_REASON in df.attrs else out
    data = df[[UID, DS, Y, *regressors]].copy()
    data[DS] = pd.to_datetime(data[DS])
    # cut-offs per series, from each series' own last period (series may end at different dates)
    last = data.groupby(UID)[DS].transform("max")
    train = []
    for end in sorted(last.unique()):
        part = data.loc[last == end]
        train += [
            part.loc[part[DS] <= c].assign(_cut=c)
            for c in cutoffs(end, horizon, n_windows, step, freq, observed)
        ]
    train = pd.concat(train, ignore_index=True)
    if train.empty:
        raise DataError(
            "backtest input",
            DS,
            len(df),
            "leave no history before the first cut-off",
            "use fewer windows, a smaller step or horizon, or a longer history",
        )
    # every (series, cut-off) is one series to the engine: one parallel call, shared fits
    # readable keys: they appear in the summarised warnings
    key = train[UID].astype(str) + " (cut-off " + train["_cut"].dt.strftime("%Y-%m-%d") + ")"
    keys = train.assign(_key=key).drop_duplicates("_key").set_index("_key")[[UID, "_cut"]]
    train[UID] = key
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = forecast(
            train[[UID, DS, Y, *regressors]],
            horizon,
            freq,
            levels,
            list(methods),
            season_length=season_length,
            regressors=regressors,
            n_jobs=n_jobs,
        )
    for msg in sorted({str(w.message) for w in caught}):
        warnings.warn(f"backtest: {msg}", UserWarning, stacklevel=2)
    fc[CUTOFF] = fc[UID].map(keys["_cut"])
    fc[UID] = fc[UID].map(keys[UID])
    out = fc.merge(data[[UID, DS, Y]], on=[UID, DS], how="inner")
    cols = [UID, CUTOFF, DS, MODEL, YHAT, *interval_columns(levels), "fitted", Y]
    return out[cols].sort_values([UID, CUTOFF, MODEL, DS], kind="stable").reset_index(drop=True)


def _scales(history: pd.DataFrame, keys: pd.DataFrame, m: int) -> np.ndarray:
    """In-sample seasonal-naive MAE of each series up to each cut-off (lag 1 if too short)."""
    out = []
    for uid, cut in zip(keys[UID], keys[CUTOFF]):
        y = (
            history.loc[(history[UID] == uid) & (history[DS] <= cut)]
            .sort_values(DS)[Y]
            .to_numpy(float)
        )
        lag = m if len(y) > m else 1
        d = np.abs(y[lag:] - y[:-lag])
        out.append(d.mean() if len(d) and d.mean() > 0 else np.nan)
    return np.asarray(out)


def _score(g: pd.DataFrame, levels: Sequence[int]) -> pd.Series:
    y, f = g[Y].to_numpy(float), g[YHAT].to_numpy(float)
    e = f - y
    denom = np.abs(y) + np.abs(f)
    total = np.abs(y).sum()
    out = {
        "wape": np.abs(e).sum() / total if total > 0 else np.nan,
        "mase": np.nanmean(np.abs(e) / g["_scale"].to_numpy())
        if g["_scale"].notna().any()
        else np.nan,
        "smape": np.mean(np.where(denom > 0, 200 * np.abs(e) / np.where(denom > 0, denom, 1), 0.0)),
        "bias": e.sum() / total if total > 0 else np.nan,
    }
    for lv in levels:
        out[f"coverage_{lv}"] = np.mean((y >= g[f"{YHAT}_lo_{lv}"]) & (y <= g[f"{YHAT}_hi_{lv}"]))
    out["n"] = len(g)
    return pd.Series(out)


def accuracy(
    bt: pd.DataFrame,
    history: pd.DataFrame,
    freq: str = "MS",
    levels: Sequence[int] = (80, 95),
    season_length: int | None = None,
    baseline: str = "snaive",
) -> pd.DataFrame:
    """Accuracy per series and method over all windows of a backtest.

    Returns ``unique_id, model, wape, mase, smape, bias, coverage_80, coverage_95, n`` and,
    if the ``baseline`` method was backtested, ``relative_wape`` and ``relative_mase``
    (method / baseline; below 1 beats it). WAPE and bias are pooled over windows
    (``sum|e| / sum|y|``, ``sum(yhat - y) / sum|y|``: positive = over-forecast); MASE scales
    each window by the in-sample seasonal naive error up to its cut-off; sMAPE is in per cent
    (0-200).
    """
    if bt.empty:
        out = pd.DataFrame(
            columns=[UID, MODEL, *METRICS, *[f"coverage_{lv}" for lv in levels], "n"]
        )
        out.attrs.update({k: v for k, v in bt.attrs.items() if k == EMPTY_REASON})
        return out
    m = season_length if season_length is not None else season_length_of(freq)
    hist = history[[UID, DS, Y]].assign(**{DS: pd.to_datetime(history[DS])})
    keys = bt[[UID, CUTOFF]].drop_duplicates()
    keys = keys.assign(_scale=_scales(hist, keys, m))
    scored = bt.merge(keys, on=[UID, CUTOFF])
    acc = (
        scored.groupby([UID, MODEL], sort=True)
        .apply(_score, levels=levels, include_groups=False)
        .reset_index()
    )
    acc["n"] = acc["n"].astype(int)
    if baseline in set(acc[MODEL]):
        base = acc.loc[acc[MODEL] == baseline].set_index(UID)
        for k in ("wape", "mase"):
            acc[f"relative_{k}"] = acc[k].to_numpy() / acc[UID].map(base[k]).to_numpy()
    return acc


def choose_model(acc: pd.DataFrame, metric: str = "wape", baseline: str = "snaive") -> pd.DataFrame:
    """The method with the lowest ``metric`` per series (ties: the first in name order), with
    its score and the baseline's: ``unique_id, model, <metric>, baseline_<metric>``."""
    if metric not in METRICS or metric == "bias":
        raise ConfigError("selection_metric", f"must be one of wape, mase, smape; got {metric!r}")
    ok = acc.dropna(subset=[metric]).sort_values([UID, metric, MODEL], kind="stable")
    best = ok.groupby(UID, sort=True).head(1)[[UID, MODEL, metric]].reset_index(drop=True)
    base = acc.loc[acc[MODEL] == baseline].set_index(UID)[metric]
    best[f"baseline_{metric}"] = best[UID].map(base)
    return best


def best_method(acc: pd.DataFrame, metric: str = "wape") -> str:
    """One method for all series: the lowest mean ``metric`` across series, among methods
    scored on every series (ties: name order); ``contractual`` when nothing was backtested
    (no history: the open items' contractual runoff is the forecast)."""
    if acc.empty:
        return CONTRACTUAL
    scored = acc.dropna(subset=[metric])
    full = scored.groupby(MODEL)[UID].nunique() == acc[UID].nunique()
    ranked = (
        scored.loc[scored[MODEL].map(full)]
        .groupby(MODEL)[metric]
        .mean()
        .sort_index()
        .sort_values(kind="stable")
    )
    if ranked.empty:
        raise DataError(
            "backtest",
            metric,
            0,
            "are all missing (no actuals to score)",
            "run a backtest with observed windows",
        )
    return str(ranked.index[0])


def kpis(
    fc: pd.DataFrame,
    acc: pd.DataFrame,
    chosen: str,
    metric: str = "wape",
    baseline: str = "snaive",
    level: int = 80,
) -> dict:
    """Headline figures for ``kpis.json``: next period's forecast and its range, the
    horizon's total, the chosen method and its backtest ``metric`` next to the baseline's."""
    f = fc.loc[fc[MODEL] == chosen].sort_values(DS)
    if f.empty:  # no time-series forecast (an open-item list): only the method is recorded
        return {"forecast_method": chosen}
    scores = acc.groupby(MODEL)[metric].mean()
    first = f.iloc[0]
    return {
        "forecast_method": chosen,
        "forecast_period": pd.Timestamp(first[DS]).strftime("%Y-%m-%d"),
        "forecast_collections_next": round(float(first[YHAT]), 2),
        f"forecast_collections_next_lo_{level}": round(float(first[f"{YHAT}_lo_{level}"]), 2),
        f"forecast_collections_next_hi_{level}": round(float(first[f"{YHAT}_hi_{level}"]), 2),
        "forecast_collections_horizon": round(float(f[YHAT].sum()), 2),
        "forecast_horizon": len(f),
        f"forecast_backtest_{metric}": round(float(scores.get(chosen, np.nan)), 4),
        f"forecast_backtest_{metric}_{baseline}": round(float(scores.get(baseline, np.nan)), 4),
    }
