"""Collection forecasts for many series at once: tidy frames in, tidy forecasts out.

:func:`forecast` is the one public entry point. It validates the long frame
``unique_id, ds, y``, fills gaps, runs the per-series numeric core
(:mod:`arlib.forecast.models`) on every series, in parallel over the machine's cores, and
returns one row per series, method and step with 80 and 95 per cent prediction intervals.

Methods
-------
``auto``
    The median of ETS, CES, dynamic optimised Theta and the seasonal naive (a random walk
    with drift for data without a season; the naive for a series shorter than two seasons);
    intervals from the equal-weight mixture of the four (see
    :data:`arlib.forecast.models.COMBINATIONS` and :func:`arlib.forecast.models.combine`
    for why). The default.
``ets``, ``damped``, ``arima``, ``theta``, ``ces``, ``dot``
    Automatic ETS (error/trend/damping/season chosen by AICc), ETS restricted to damped
    trends, automatic ARIMA, standard Theta, complex exponential smoothing and dynamic
    optimised Theta (statsforecast).
``ensemble``
    Median of ETS, CES, ARIMA and dynamic optimised Theta (more accurate than ``auto``,
    about four times slower: for a few series, e.g. one unit's collections).
``comb``
    Mean of ETS, ARIMA and Theta, the classic benchmark combination.
``snaive``, ``naive``
    Seasonal naive (same period last season) and naive (last value) benchmarks.
Seasonal models use the season length of ``freq`` (12 for months, 52 for weeks). Theta and
dynamic optimised Theta, and ETS, damped ETS and ARIMA for seasons over 24 periods, are fitted to the
seasonally adjusted series when an ANOVA test finds a stable seasonal pattern
(:func:`arlib.forecast.models.seasonal_test`) and the pattern is put back afterwards.

``sarimax``
    statsmodels SARIMAX, order by AIC from a small grid, with optional ``regressors``
    (e.g. invoicing) whose future values come from ``exog_future`` or, if not given, from an
    ``auto`` forecast of the regressors themselves.
"""

from __future__ import annotations

import os
import warnings
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from arlib.errors import ConfigError, DataError
from arlib.forecast.models import COMBINATIONS, MODELS, predict_series
from arlib.ledger import EMPTY_REASON, needs_history

UID, DS, Y, MODEL, YHAT, FITTED = "unique_id", "ds", "y", "model", "yhat", "fitted"
METHODS: tuple[str, ...] = ("auto", *sorted(set(MODELS) | set(COMBINATIONS) - {"auto"}), "sarimax")
SOURCE = "forecast input"
_SEASONS = {
    "M": 12,
    "MS": 12,
    "ME": 12,
    "Q": 4,
    "QS": 4,
    "QE": 4,
    "W": 52,
    "D": 7,
    "B": 5,
    "Y": 1,
    "YS": 1,
    "YE": 1,
    "A": 1,
    "AS": 1,
    "h": 24,
    "H": 24,
}


def empty_forecast(levels: Sequence[int] = (80, 95)) -> pd.DataFrame:
    """A forecast frame with no rows: ``unique_id, ds, model, yhat`` and the interval columns."""
    cols = [UID, DS, MODEL, YHAT, *interval_columns(levels)]
    kinds = {UID: object, DS: "M8[ns]", MODEL: object}
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, float)) for c in cols})


def interval_columns(levels: Sequence[int]) -> list[str]:
    """``['yhat_lo_80', 'yhat_hi_80', ...]`` for the given levels."""
    return [f"{YHAT}_{side}_{lv}" for lv in levels for side in ("lo", "hi")]


def season_length_of(freq: str) -> int:
    """Observations per year (per week for daily data) for a pandas frequency string.

    >>> season_length_of("MS"), season_length_of("W-MON"), season_length_of("QS-JAN")
    (12, 52, 4)
    """
    base = freq.split("-")[0].lstrip("0123456789")
    if base not in _SEASONS:
        raise ConfigError(
            "freq", f"unknown frequency {freq!r}; use e.g. 'MS' (monthly) or 'W-MON' (weekly)"
        )
    return _SEASONS[base]


def _check_args(horizon, levels, methods, regressors, df) -> None:
    if not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ConfigError("horizon", f"must be a whole number of periods >= 1, got {horizon!r}")
    bad = [lv for lv in levels if not 0 < lv < 100]
    if bad:
        raise ConfigError("levels", f"must be percentages strictly between 0 and 100, got {bad}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ConfigError(
            "method", f"unknown method {unknown or methods}; choose from {list(METHODS)}"
        )
    missing = [c for c in (UID, DS, Y, *regressors) if c not in df.columns]
    if missing:
        raise DataError(
            SOURCE,
            missing[0],
            len(df),
            "lack this required column",
            f"pass a long frame with columns {UID}, {DS}, {Y}"
            + (" and the regressors" if regressors else ""),
        )


def _prepare(df: pd.DataFrame, freq: str, regressors: Sequence[str], notes: dict) -> pd.DataFrame:
    """Validated, sorted frame with every series on a complete calendar (gaps interpolated)."""
    cols = [UID, DS, Y, *regressors]
    data = df[cols].copy()
    data[DS] = pd.to_datetime(data[DS], errors="coerce")
    for col in (Y, *regressors):
        data[col] = pd.to_numeric(data[col], errors="coerce").astype(float)
    if data[DS].isna().any():
        raise DataError(
            SOURCE, DS, int(data[DS].isna().sum()), "have no valid date", "give every row a date"
        )
    dup = data.duplicated([UID, DS])
    if dup.any():
        raise DataError(
            SOURCE,
            DS,
            int(dup.sum()),
            "repeat a (unique_id, ds) pair",
            "aggregate to one value per series and period first",
        )
    offset = pd.tseries.frequencies.to_offset(freq)
    off = ~data[DS].map(offset.is_on_offset)
    if off.any():
        raise DataError(
            SOURCE,
            DS,
            int(off.sum()),
            f"are not on the {freq!r} calendar (e.g. {data.loc[off, DS].iloc[0].date()})",
            "pass the freq that matches the dates, e.g. 'MS' for month starts or 'W-MON' for weeks starting Monday",
        )
    parts = []
    for uid, g in data.sort_values([UID, DS], kind="stable").groupby(UID, sort=True):
        full = g.set_index(DS).reindex(pd.date_range(g[DS].min(), g[DS].max(), freq=freq))
        full.index.name = DS
        full[UID] = pd.Series([uid] * len(full), index=full.index, dtype=object)
        if full[Y].notna().sum() == 0:
            notes["has no values; left out of the forecast"].append(uid)
            continue
        if full[[Y, *regressors]].isna().any().any():
            notes["has missing periods or values; filled by linear interpolation"].append(uid)
            full[[Y, *regressors]] = full[[Y, *regressors]].interpolate(limit_direction="both")
        parts.append(full.reset_index())
    if not parts:
        raise DataError(
            SOURCE, Y, len(df), "hold no usable values", "pass at least one series with a numeric y"
        )
    return pd.concat(parts, ignore_index=True)[cols]


def _task(args):
    y, h, m, methods, levels, exog = args
    return predict_series(y, h, m, methods, levels, exog)


def _run(tasks: list, n_jobs: int) -> list:
    heavy = any(m not in ("naive", "snaive") for m in tasks[0][3]) if tasks else False
    workers = min(n_jobs, len(tasks))
    if workers <= 1 or not heavy or len(tasks) < 4:
        return [_task(t) for t in tasks]
    chunk = max(1, len(tasks) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_task, tasks, chunksize=chunk))


def _warn(notes: dict) -> list[str]:
    msgs = []
    for text, uids in notes.items():
        if len(uids) == 1:
            msg = f"series {uids[0]!r}: {text}"
        else:
            eg = ", ".join(repr(u) for u in uids[:3])
            msg = f"{len(uids)} series (e.g. {eg}): {text}"
        msgs.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=3)
    return msgs


def forecast(
    df: pd.DataFrame,
    horizon: int,
    freq: str = "MS",
    levels: Sequence[int] = (80, 95),
    method: str | Sequence[str] = "auto",
    *,
    season_length: int | None = None,
    regressors: Sequence[str] = (),
    exog_future: pd.DataFrame | None = None,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """Forecast every series of a long frame (an empty frame gives an empty forecast).

    Parameters
    ----------
    df
        Long frame with ``unique_id, ds, y`` (plus any ``regressors`` columns). Rows may come
        in any order; ``ds`` must lie on the ``freq`` calendar.
    horizon
        Number of periods to forecast (e.g. 13 weeks, 6-12 months).
    freq
        pandas frequency of ``ds``: ``"MS"`` month starts, ``"W-MON"`` weeks, ...
    levels
        Prediction-interval levels in per cent.
    method
        A name from :data:`METHODS` or a list of names (models shared by several methods
        are fitted once).
    season_length
        Override the season length implied by ``freq`` (12 for monthly, 52 for weekly).
    regressors, exog_future
        Regressor columns for ``sarimax`` and their future values (``unique_id, ds`` and
        the regressors for every forecast step); without ``exog_future`` the regressors are
        forecast with ``auto``.
    n_jobs
        Worker processes; ``-1`` uses every core. The result does not depend on it.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, model, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95,
        fitted``: one row per series, method and step, sorted in that order. ``model`` is
        the method asked for; ``fitted`` is the model that produced the row after any
        fallback (``constant``, ``naive``, ``snaive``, ...). Fallbacks are also issued as
        warnings and listed in ``result.attrs["notes"]``.

    Raises
    ------
    ConfigError
        Unknown method or frequency, horizon < 1, levels outside (0, 100).
    DataError
        Missing columns, unparsable or off-calendar dates, duplicate periods.

    Examples
    --------
    >>> df = pd.DataFrame({"unique_id": "de", "ds": pd.date_range("2024-01-01", periods=6, freq="MS"),
    ...                    "y": [10.0, 11, 12, 13, 14, 15]})
    >>> forecast(df, 2, method="naive")[["ds", "model", "yhat"]]
              ds  model  yhat
    0 2024-07-01  naive  15.0
    1 2024-08-01  naive  15.0
    """
    methods = [method] if isinstance(method, str) else list(method)
    levels = tuple(int(lv) for lv in levels)
    if df.empty:  # no history at all (an open-item list): nothing to forecast from
        out = empty_forecast(levels)
        return needs_history(out, "A time-series forecast") if EMPTY_REASON in df.attrs else out
    _check_args(horizon, levels, methods, regressors, df)
    m = season_length if season_length is not None else season_length_of(freq)
    notes: dict[str, list] = defaultdict(list)
    data = _prepare(df, freq, regressors, notes)
    futures = _future_exog(data, horizon, freq, regressors, exog_future, methods)
    groups = list(data.groupby(UID, sort=True))
    tasks = []
    for uid, g in groups:
        exog = None
        if regressors and "sarimax" in methods:
            exog = (g[list(regressors)].to_numpy(float), futures[uid])
        tasks.append((g[Y].to_numpy(float), int(horizon), m, methods, levels, exog))
    results = _run(tasks, (os.cpu_count() or 1) if n_jobs == -1 else n_jobs)
    frames = []
    for (uid, g), res in zip(groups, results):
        for note in res.notes:
            notes[note.text].append(uid)
        ds = pd.date_range(g[DS].iloc[-1], periods=horizon + 1, freq=freq)[1:]
        for meth in methods:
            b = res.bands[meth]
            cols = {
                UID: [uid] * horizon,
                DS: ds,
                MODEL: meth,
                YHAT: b["mean"],
            }  # a list: uid may be a tuple
            cols |= {f"{YHAT}_{s}_{lv}": b[f"{s}-{lv}"] for lv in levels for s in ("lo", "hi")}
            frames.append(pd.DataFrame(cols | {FITTED: res.used[meth]}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["notes"] = _warn(notes)
    return out


def _future_exog(data, horizon, freq, regressors, exog_future, methods) -> dict:
    """Future regressor values per series: given, or forecast with ``auto``."""
    if not regressors or "sarimax" not in methods:
        return {}
    if exog_future is None:
        long = data[[UID, DS, *regressors]].melt(id_vars=[UID, DS], var_name="_reg", value_name=Y)
        long[UID] = list(zip(long[UID], long["_reg"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = forecast(long[[UID, DS, Y]], horizon, freq, (80,), "auto", n_jobs=1)
        fc[["_uid", "_reg"]] = pd.DataFrame(fc[UID].tolist(), index=fc.index)
        exog_future = fc.pivot_table(index=["_uid", DS], columns="_reg", values=YHAT).reset_index()
        exog_future = exog_future.rename(columns={"_uid": UID})
    out = {}
    for uid, g in exog_future.groupby(UID):
        vals = g.sort_values(DS)[list(regressors)].to_numpy(float)
        if len(vals) < horizon:
            raise DataError(
                "exog_future",
                str(regressors[0]),
                len(vals),
                f"cover fewer than {horizon} steps for series {uid!r}",
                "give regressor values for every forecast step",
            )
        out[uid] = vals[:horizon]
    missing = set(data[UID]) - set(out)
    if missing:
        raise DataError(
            "exog_future",
            UID,
            len(missing),
            "are series without future regressor values",
            "add their rows",
        )
    return out
