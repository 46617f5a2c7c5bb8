"""Calibrated ranges: prediction intervals scaled by the method's own out-of-sample errors.

A model's interval assumes its own error model; on collections it is often too narrow (the de
unit's 80% range caught about two actuals in three). Split-conformal calibration fixes the width
from what the method actually got wrong in a rolling-origin backtest
(:func:`arlib.forecast.backtest.backtest`):

* each backtest point gets a *score*: the absolute error in units of the model's own
  half-width at that level, ``|y - yhat| / ((hi - lo) / 2)``, so the model's growth of the
  range with the horizon (and with the level of the series) is kept, and only its scale is
  learned;
* the calibrated half-width is the model's half-width times ``q``, the conformal quantile of
  the scores: the ``ceil((n + 1) * level / 100)``-th smallest of ``n`` scores (``inf`` when
  there are too few scores for that level: that range is then left out, not guessed);
* "too few" counts *target periods*, not backtest points: windows one period apart forecast
  the same month up to ``horizon`` times, and those errors share one actual, so 21 points
  from six months are six pieces of evidence, not 21. A level needs errors on at least
  ``ceil(level / (100 - level))`` distinct periods (4 for 80%, 19 for 95%, the least for which
  the conformal rank is finite) besides :data:`MIN_SCORES` points. Without this, the cn demo
  unit's first 95% ranges were built from the six summer months before its first year-end and
  missed half the year-end actuals (95% range: 89.9% out of sample; with it, 91.1%).

:func:`backtest_coverage` measures the result honestly: for every backtest cut-off, the range is
built only from errors whose actuals were known at that cut-off (forecast periods on or before
it) and scored on the periods after it, so the figure printed next to the range is an
out-of-sample coverage, not a fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError, DataError
from arlib.forecast.backtest import CUTOFF, backtest
from arlib.forecast.engine import DS, MODEL, UID, YHAT, Y, interval_columns
from arlib.ledger import EMPTY_REASON, needs_history

#: scores a level needs before a calibrated range is built from them
MIN_SCORES = 6
#: periods of history the earliest calibration window trains on
MIN_TRAIN = 9
#: floor of a model's half-width, as a share of |yhat| (a zero-width fallback would divide by 0)
_MIN_HALF = 1e-3


def _half(frame: pd.DataFrame, level: int) -> np.ndarray:
    """The model's own half-width at ``level``, floored at a small share of |yhat|."""
    half = (frame[f"{YHAT}_hi_{level}"] - frame[f"{YHAT}_lo_{level}"]).to_numpy(float) / 2
    return np.maximum(half, _MIN_HALF * np.abs(frame[YHAT].to_numpy(float)) + 1e-9)


def conformal_quantile(scores: Sequence[float], level: float) -> float:
    """The ``ceil((n + 1) * level / 100)``-th smallest score; ``inf`` if that exceeds ``n``.

    >>> conformal_quantile([0.5, 1.0, 2.0, 4.0], 50)  # ceil(5 * 0.5) = 3rd smallest
    2.0
    >>> conformal_quantile([0.5, 1.0, 2.0, 4.0], 95)
    inf
    """
    s = np.sort(np.asarray(scores, float)[np.isfinite(scores)])
    k = int(np.ceil((len(s) + 1) * level / 100))
    return float(s[k - 1]) if 0 < k <= len(s) else float("inf")


def periods_needed(level: float) -> int:
    """Distinct target periods of errors a ``level`` range needs: the least ``m`` with
    ``ceil((m + 1) * level / 100) <= m``.

    >>> periods_needed(80), periods_needed(95)
    (4, 19)
    """
    return int(np.ceil(level / (100 - level) - 1e-9))


def factors(bt: pd.DataFrame, levels: Sequence[int] = (80, 95)) -> dict[int, tuple[float, int]]:
    """Per level, ``(q, n)``: the factor that scales the model's half-width and the number of
    backtest points it was learned from (``q`` is ``inf`` below :data:`MIN_SCORES` points or
    with errors on fewer than :func:`periods_needed` distinct target periods of a series)."""
    out = {}
    for lv in levels:
        score = np.abs(bt[Y].to_numpy(float) - bt[YHAT].to_numpy(float)) / _half(bt, lv)
        ok = np.isfinite(score)
        n, m = int(ok.sum()), _periods(bt.loc[ok])
        enough = n >= MIN_SCORES and m >= periods_needed(lv)
        out[lv] = (conformal_quantile(score, lv) if enough else float("inf"), n)
    return out


def _periods(bt: pd.DataFrame) -> int:
    """Distinct (series, target period) pairs of backtest rows (every row its own period when
    the frame has no ``ds``)."""
    if DS not in bt:
        return len(bt)
    keys = [c for c in (UID, DS) if c in bt]
    return len(bt[keys].drop_duplicates())


def calibrate(
    fc: pd.DataFrame,
    bt: pd.DataFrame,
    levels: Sequence[int] = (80, 95),
    floor: float = 0.0,
    strict: bool = False,
) -> pd.DataFrame:
    """``fc`` with every interval rescaled by the backtest ``bt`` of the same method.

    ``yhat_lo/hi_<lv>`` become ``yhat -/+ q * half`` (``half`` the model's own half-width, ``q``
    from :func:`factors`), the lower bound no lower than ``floor`` (collections are not
    negative). ``result.attrs["calibration"]`` keeps ``{level: (q, n)}``.

    A level with too few backtest points is not guessed: its bounds become missing (shown as
    empty, ``null`` in ``kpis.json``) with a warning that says why and what to do, or, with
    ``strict``, :class:`~arlib.errors.DataError` is raised.

    >>> fc = pd.DataFrame({"yhat": [100.0], "yhat_lo_80": [90.0], "yhat_hi_80": [110.0]})
    >>> bt = pd.DataFrame({"y": [100.0 + e for e in (-20, 5, 10, -15, 20, 0, 10)],
    ...                    "yhat": 100.0, "yhat_lo_80": 90.0, "yhat_hi_80": 110.0})
    >>> calibrate(fc, bt, (80,))[["yhat_lo_80", "yhat_hi_80"]].to_numpy().tolist()  # q: 7th of 7 scores = 2
    [[80.0, 120.0]]
    """
    out = fc.copy()
    if fc.empty:  # no forecast (no history, e.g. an open-item list): no range to calibrate
        return out
    fac = factors(bt, levels)
    for lv, (q, n) in fac.items():
        lo, hi = f"{YHAT}_lo_{lv}", f"{YHAT}_hi_{lv}"
        if not np.isfinite(q):
            need = max(MIN_SCORES, periods_needed(lv))
            err = DataError(
                "backtest",
                lo,
                n,
                f"are too few backtest points to calibrate the {lv}% range (it needs at least "
                f"{need} points, on {periods_needed(lv)} different periods); the range is not shown",
                "raise calibration_windows, shorten forecast_horizon or wait for more history",
            )
            if strict:
                raise err
            warnings.warn(str(err), UserWarning, stacklevel=2)
            out[lo], out[hi] = np.nan, np.nan
            continue
        half = q * _half(out, lv)
        out[lo] = np.maximum(out[YHAT] - half, floor)
        out[hi] = out[YHAT] + half
    out.attrs["calibration"] = fac
    return out


def backtest_coverage(
    bt: pd.DataFrame, levels: Sequence[int] = (80, 95), min_scores: int = MIN_SCORES
) -> pd.DataFrame:
    """Out-of-sample coverage of the model's own range and of the calibrated range.

    For each cut-off of ``bt`` (one method; several series allowed, each calibrated on its
    own), the calibrated range is built from the points of earlier windows whose period is on
    or before that cut-off (known then) and scored on that window's points. Cut-offs with
    fewer than ``min_scores`` known points (or too few for the level, where no calibrated range
    would be shown) are left out of both columns.

    Returns one row per level: ``level``, ``model_coverage`` (share of actuals inside the
    model's own range), ``calibrated_coverage``, ``points`` and ``windows`` scored (no rows,
    saying why, for a backtest that is empty for lack of history).
    """
    if bt.empty and EMPTY_REASON in bt.attrs:  # no history (an open-item list): nothing to score
        cols = ["level", "model_coverage", "calibrated_coverage", "points", "windows"]
        return needs_history(pd.DataFrame(columns=cols), "Calibrating the range")
    if MODEL in bt and bt[MODEL].nunique() > 1:
        raise DataError(
            "backtest",
            MODEL,
            int(bt[MODEL].nunique()),
            "are methods in one calibration",
            "pass the backtest rows of one method",
        )
    hits: dict[int, list] = {lv: [] for lv in levels}
    raw: dict[int, list] = {lv: [] for lv in levels}
    windows = {lv: 0 for lv in levels}
    for _, one in bt.groupby(UID, sort=True):
        for cut in sorted(one[CUTOFF].unique()):
            known = one.loc[one[DS] <= cut]
            if len(known) < min_scores:
                continue
            window = one.loc[one[CUTOFF] == cut]
            y = window[Y].to_numpy(float)
            for lv in levels:
                fac = factors(known, (lv,))[lv][0]
                if not np.isfinite(fac):  # too few points: no range would be shown
                    continue
                windows[lv] += 1
                half = fac * _half(window, lv)
                yhat = window[YHAT].to_numpy(float)
                hits[lv] += list((y >= yhat - half) & (y <= yhat + half))
                raw[lv] += list(
                    (y >= window[f"{YHAT}_lo_{lv}"].to_numpy())
                    & (y <= window[f"{YHAT}_hi_{lv}"].to_numpy())
                )
    return pd.DataFrame(
        {
            "level": list(levels),
            "model_coverage": [np.mean(raw[lv]) if raw[lv] else np.nan for lv in levels],
            "calibrated_coverage": [np.mean(hits[lv]) if hits[lv] else np.nan for lv in levels],
            "points": [len(hits[lv]) for lv in levels],
            "windows": [windows[lv] for lv in levels],
        }
    )


def calibration_backtest(
    series: pd.DataFrame,
    horizon: int,
    method: str,
    freq: str = "MS",
    n_windows: int = 24,
    regressors: Sequence[str] = (),
    levels: Sequence[int] = (80, 95),
) -> pd.DataFrame:
    """Rolling-origin backtest of one ``method`` with cut-offs one period apart: the errors
    that calibrate its range. At most ``n_windows`` cut-offs, fewer when the series is short
    (the earliest trains on at least :data:`MIN_TRAIN` periods).

    When not even two windows fit (the history is too short for an honest range) it warns and
    returns no rows, so :func:`calibrate` leaves the ranges out. Raises
    :class:`~arlib.errors.ConfigError` for fewer than two ``n_windows``."""
    if int(n_windows) < 2:
        raise ConfigError("calibration_windows", f"must be at least 2, got {n_windows!r}")
    length = int(series.groupby(UID)[DS].nunique().min()) if len(series) else 0
    n = min(int(n_windows), length - horizon - MIN_TRAIN + 1)
    if n < 2 and length:  # no honest range: the forecast's ranges are left out (see calibrate)
        warnings.warn(
            str(
                DataError(
                    "cash series",
                    DS,
                    length,
                    f"are too few periods to calibrate a {horizon}-period range",
                    f"give at least {horizon + MIN_TRAIN + 1} periods of history or shorten "
                    "the horizon",
                )
            ),
            UserWarning,
            stacklevel=2,
        )
    if n < 2:  # (no series at all, e.g. an open-item list: said where the series is shown)
        cols = [UID, CUTOFF, DS, MODEL, YHAT, *interval_columns(levels), "fitted", Y]
        out = pd.DataFrame(columns=cols).astype({YHAT: float, Y: float, DS: "datetime64[ns]"})
        return needs_history(out, "Calibrating the range") if EMPTY_REASON in series.attrs else out
    regs = list(regressors) if method == "sarimax" else []
    return backtest(series, horizon, [method], freq, levels, n_windows=n, step=1, regressors=regs)


def kpis(coverage: pd.DataFrame) -> dict:
    """``forecast_range_coverage_<lv>`` (calibrated, out of sample) and
    ``forecast_model_range_coverage_<lv>`` (the model's own range) for ``kpis.json``."""
    out = {}
    for row in coverage.itertuples():
        for key, val in (
            (f"forecast_range_coverage_{row.level}", row.calibrated_coverage),
            (f"forecast_model_range_coverage_{row.level}", row.model_coverage),
        ):
            out[key] = None if pd.isna(val) else round(float(val), 4)
    return out
