"""Calibrated ranges: prediction intervals scaled by the method's own out-of-sample errors.

A model's interval assumes its own error model; on collections it is often too narrow (the de
unit's 80% range caught about two actuals in three). Split-conformal calibration fixes the width
from what the method actually got wrong in a rolling-origin backtest
(:func:`arlib.forecast.backtest.backtest`):

* each backtest point gets a *score*: the absolute error in units of the model's own
  half-width at that level, ``|y - yhat| / ((hi - lo) / 2)``, so the model's growth of the
  range with the horizon (and with the level of the series) is kept, and only its scale is
  learned;
* the calibrated half-width is the model's half-width times ``q``, a quantile of the scores
  (:func:`calibration_quantile`) that counts the evidence in *target periods*: with ``n``
  scores on ``m`` distinct periods, the new range is one more period, ``n / m`` more points at
  ``+inf``, so ``q`` is read at the position ``level / 100 * (n + n / m)`` of the sorted scores
  (``inf`` past the last: that range is then left out, not guessed), interpolating between
  neighbouring scores (Weibull plotting positions) so the range holds its level on average
  rather than "at least" it. Counting the correction in points, as if 21 errors on 6 months
  were 21 draws, under-covered short histories: on 300 simulated 15-month series with known
  noise the ``ceil`` rank's 80% range held 77.8% of actuals on average, this one 79.4%;
* "too few" counts *target periods*, not backtest points: windows one period apart forecast
  the same month up to ``horizon`` times, and those errors share one actual, so 21 points
  from six months are six pieces of evidence, not 21. A level needs errors on at least
  ``ceil(level / (100 - level))`` distinct periods (4 for 80%, 19 for 95%, the least for which
  the quantile is finite) besides :data:`MIN_SCORES` points. Without this, the cn demo
  unit's first 95% ranges were built from the six summer months before its first year-end and
  missed half the year-end actuals (95% range: 89.9% out of sample; with it, 91.1%).

:func:`calibration_backtest` gathers as much of that evidence as the history holds: a cut-off at
every period from the first that leaves :data:`MIN_TRAIN` periods to train on, the latest ones
scored on the periods observed so far, so every period after the first :data:`MIN_TRAIN` is a
target (the demo units: 36 distinct months where 24 fixed windows gave about 25). When a level
still lacks the periods (95% on the IBM units' 22 months: 13), it *borrows* the nearest lower
calibrated level's factor (:func:`bases`), applied to the model's own half-width at its level,
and no smaller than the largest score seen at its level (with fewer than ``periods_needed``
periods any finite quantile of that level lies past the largest score): the model's ratio
between its 95% and 80% ranges is assumed, said in a warning and in the coverage table, and
checked out of sample like any range.

:func:`backtest_coverage` measures the result honestly: for every backtest cut-off, the range is
built only from errors whose actuals were known at that cut-off (forecast periods on or before
it), exactly as :func:`calibrate` would build it then, and scored on the periods after it, so the
figure printed next to the range is an out-of-sample coverage, not a fit. It also says what
that figure rests on: the distinct months checked and the sampling margin those allow.
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


def calibration_quantile(scores: Sequence[float], level: float, per_period: float = 1.0) -> float:
    """The ``level`` quantile of ``scores`` that a calibrated range uses, or ``inf``.

    The new range is one more target period, ``per_period`` more points (the scores' points per
    distinct period) at ``+inf``: the quantile sits at position ``r = level / 100 * (n +
    per_period)`` of the ``n`` sorted scores, placed at ``j - 1/2 + per_period / 2`` (``j`` for
    one point a period, Weibull plotting positions), linear in between; ``inf`` when ``r > n``,
    i.e. on fewer than :func:`periods_needed` periods. With one point a period the expected
    coverage of exchangeable periods is ``level`` (the split-conformal ``ceil`` rank gives at
    least ``level``, up to ``1 / (n + 1)`` more).

    >>> calibration_quantile([0.5, 1.0, 2.0, 4.0], 50)  # r = 2.5: between the 2nd and 3rd
    1.5
    >>> calibration_quantile([0.5, 1.0, 2.0, 4.0], 80), calibration_quantile([0.5, 1.0, 2.0, 4.0], 95)
    (4.0, inf)
    >>> calibration_quantile([1.0, 1.0, 2.0, 2.0], 50, per_period=2)  # two periods of two points
    1.5
    """
    s = np.sort(np.asarray(scores, float)[np.isfinite(scores)])
    r = level / 100 * (len(s) + per_period)
    if not len(s) or r > len(s) + 1e-9:
        return float("inf")
    pos = np.arange(1, len(s) + 1) - 0.5 + per_period / 2
    return float(np.interp(r, pos, s))


def periods_needed(level: float) -> int:
    """Distinct target periods of errors a ``level`` range needs: the least ``m`` with
    ``ceil((m + 1) * level / 100) <= m``.

    >>> periods_needed(80), periods_needed(95)
    (4, 19)
    """
    return int(np.ceil(level / (100 - level) - 1e-9))


def factors(bt: pd.DataFrame, levels: Sequence[int] = (80, 95)) -> dict[int, tuple[float, int]]:
    """Per level, ``(q, n)``: the factor that scales the model's half-width at that level and
    the number of backtest points it was learned from.

    ``q`` is the level's own :func:`calibration_quantile` when the errors suffice
    (:data:`MIN_SCORES` points on :func:`periods_needed` distinct target periods); else the
    factor of the nearest lower level that has its own, or the largest score at this level if
    that is larger (see :func:`bases`: a borrowed range); else ``inf``."""
    return {lv: (q, n) for lv, (q, n, _) in _plan(bt, levels).items()}


def bases(bt: pd.DataFrame, levels: Sequence[int] = (80, 95)) -> dict[int, int | None]:
    """Per level, the level whose errors calibrate it: itself, a lower level (too few distinct
    periods for its own: the lower level's factor times the model's own half-width at this
    level, so the model's ratio between the two levels is assumed) or ``None`` (no range).

    >>> bt = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=8, freq="MS"), "y": 1.0,
    ...                    "yhat": 1.0, "yhat_lo_80": 0.9, "yhat_hi_80": 1.1,
    ...                    "yhat_lo_95": 0.8, "yhat_hi_95": 1.2})
    >>> bases(bt)  # 8 months: enough for 80% (4), too few for 95% (19)
    {80: 80, 95: 80}
    >>> bases(bt.head(3))
    {80: None, 95: None}
    """
    return {lv: base for lv, (_, _, base) in _plan(bt, levels).items()}


def _plan(bt: pd.DataFrame, levels: Sequence[int]) -> dict[int, tuple[float, int, int | None]]:
    """``{level: (q, n, base)}`` of :func:`factors` and :func:`bases`, in ascending level."""
    own, widest = {}, {}
    for lv in sorted(levels):
        score = np.abs(bt[Y].to_numpy(float) - bt[YHAT].to_numpy(float)) / _half(bt, lv)
        ok = np.isfinite(score)
        n, m = int(ok.sum()), _periods(bt.loc[ok])
        enough = n >= MIN_SCORES and m >= periods_needed(lv)
        q = calibration_quantile(score[ok], lv, n / m) if enough else float("inf")
        own[lv], widest[lv] = (q, n), (float(score[ok].max()) if n else float("inf"))
    out = {}
    for lv, (q, n) in own.items():
        lower = [b for b in own if b < lv and np.isfinite(own[b][0])]
        if np.isfinite(q):
            out[lv] = (q, n, lv)
        elif lower:  # borrowed: never narrower than the largest error seen at this level
            out[lv] = (max(own[lower[-1]][0], widest[lv]), own[lower[-1]][1], lower[-1])
        else:
            out[lv] = (float("inf"), n, None)
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

    A level with too few backtest points of its own but a calibrated lower level (95% on a
    short history) borrows that level's factor (:func:`bases`), with a warning that says so; a
    level with nothing to borrow is not guessed: its bounds become missing (shown as empty,
    ``null`` in ``kpis.json``) with a warning that says why and what to do. With ``strict``,
    either case raises :class:`~arlib.errors.DataError` instead.

    >>> fc = pd.DataFrame({"yhat": [100.0], "yhat_lo_80": [90.0], "yhat_hi_80": [110.0]})
    >>> bt = pd.DataFrame({"y": [100.0 + e for e in (-20, 5, 10, -15, 20, 0, 10)],
    ...                    "yhat": 100.0, "yhat_lo_80": 90.0, "yhat_hi_80": 110.0})
    >>> calibrate(fc, bt, (80,))[["yhat_lo_80", "yhat_hi_80"]].to_numpy().tolist()  # q: 7th of 7 scores = 2
    [[80.0, 120.0]]
    """
    out = fc.copy()
    if fc.empty:  # no forecast (no history, e.g. an open-item list): no range to calibrate
        return out
    plan = _plan(bt, levels)
    for lv, (q, n, base) in plan.items():
        lo, hi = f"{YHAT}_lo_{lv}", f"{YHAT}_hi_{lv}"
        if base != lv:  # too few errors of its own: borrowed (said) or left out
            err = _too_few(bt, lv, n, base)
            if strict:
                raise err
            warnings.warn(str(err), UserWarning, stacklevel=2)
            if base is None:
                out[lo], out[hi] = np.nan, np.nan
                continue
        half = q * _half(out, lv)
        out[lo] = np.maximum(out[YHAT] - half, floor)
        out[hi] = out[YHAT] + half
    out.attrs["calibration"] = {lv: (q, n) for lv, (q, n, _) in plan.items()}
    return out


def _too_few(bt: pd.DataFrame, lv: int, n: int, base: int | None) -> DataError:
    """The message for a level without enough errors of its own (``base``: the level it
    borrows from, or ``None``: not shown)."""
    need = max(MIN_SCORES, periods_needed(lv))
    what = (
        "the range is not shown"
        if base is None
        else f"it is the {base}% calibration widened by the model's own ratio of its {lv}% to "
        f"its {base}% range (and no narrower than the largest error seen), a small-sample "
        "approximation: check its coverage below"
    )
    return DataError(
        "backtest",
        f"{YHAT}_lo_{lv}",
        n,
        f"are too few backtest points to calibrate the {lv}% range on its own (it needs at "
        f"least {need} points, on {periods_needed(lv)} different periods, here "
        f"{_periods(bt)}); {what}",
        "raise calibration_windows, shorten forecast_horizon or wait for more history",
    )


def backtest_coverage(
    bt: pd.DataFrame, levels: Sequence[int] = (80, 95), min_scores: int = MIN_SCORES
) -> pd.DataFrame:
    """Out-of-sample coverage of the model's own range and of the calibrated range.

    For each cut-off of ``bt`` (one method; several series allowed, each calibrated on its
    own), the calibrated range is built as :func:`calibrate` would build it then (own or
    borrowed factor, see :func:`bases`) from the points of earlier windows whose period is on
    or before that cut-off (known then), and scored on that window's points. Cut-offs with
    fewer than ``min_scores`` known points (or with no range for the level) are left out of
    both columns.

    Returns one row per level: ``level``, ``model_coverage`` (share of actuals inside the
    model's own range), ``calibrated_coverage``, ``points`` and ``windows`` scored, ``months_checked``
    (distinct target periods scored: windows one period apart share actuals, so this, not
    ``points``, is the evidence), ``sampling_margin`` (about how far the coverage could stray
    from the level by chance alone: ``1.96 * sqrt(p (1 - p) / months)`` with ``p`` the level)
    and ``calibrated_on`` (the level whose errors calibrate the range shown now, missing when
    none is shown). No rows, saying why, for a backtest that is empty for lack of history.

    >>> round(1.96 * (0.8 * 0.2 / 35) ** 0.5, 3)  # 80% range checked on 35 months: +-13 points
    0.133
    """
    cols = [
        "level",
        "model_coverage",
        "calibrated_coverage",
        "points",
        "windows",
        "months_checked",
        "sampling_margin",
        "calibrated_on",
    ]
    if bt.empty and EMPTY_REASON in bt.attrs:  # no history (an open-item list): nothing to score
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
    months: dict[int, set] = {lv: set() for lv in levels}
    shown: dict[int, set] = {lv: set() for lv in levels}
    for uid, one in bt.groupby(UID, sort=True):
        for lv, base in bases(one, levels).items():
            shown[lv].add(base)
        for cut in sorted(one[CUTOFF].unique()):
            known = one.loc[one[DS] <= cut]
            if len(known) < min_scores:
                continue
            window = one.loc[one[CUTOFF] == cut]
            y, yhat = window[Y].to_numpy(float), window[YHAT].to_numpy(float)
            for lv, (q, _, base) in _plan(known, levels).items():
                if base is None:  # too few points: no range would be shown
                    continue
                windows[lv] += 1
                months[lv] |= {(uid, d) for d in window[DS]}
                half = q * _half(window, lv)
                hits[lv] += list((y >= yhat - half) & (y <= yhat + half))
                raw[lv] += list(
                    (y >= window[f"{YHAT}_lo_{lv}"].to_numpy())
                    & (y <= window[f"{YHAT}_hi_{lv}"].to_numpy())
                )
    out = pd.DataFrame(
        {
            "level": list(levels),
            "model_coverage": [np.mean(raw[lv]) if raw[lv] else np.nan for lv in levels],
            "calibrated_coverage": [np.mean(hits[lv]) if hits[lv] else np.nan for lv in levels],
            "points": [len(hits[lv]) for lv in levels],
            "windows": [windows[lv] for lv in levels],
            "months_checked": [len(months[lv]) for lv in levels],
        }
    )
    p = out["level"].to_numpy(float) / 100
    out["sampling_margin"] = np.where(
        out["months_checked"] > 0,
        1.96 * np.sqrt(p * (1 - p) / out["months_checked"].clip(lower=1)),
        np.nan,
    )
    out["calibrated_on"] = pd.array(  # one level for every series, else missing
        [next(iter(shown[lv])) if len(shown[lv]) == 1 else None for lv in levels], dtype="Int64"
    )
    return out


def calibration_backtest(
    series: pd.DataFrame,
    horizon: int,
    method: str,
    freq: str = "MS",
    n_windows: int = 48,
    regressors: Sequence[str] = (),
    levels: Sequence[int] = (80, 95),
) -> pd.DataFrame:
    """Rolling-origin backtest of one ``method`` with cut-offs one period apart: the errors
    that calibrate its range. Every cut-off from the one that leaves :data:`MIN_TRAIN` periods
    to train on up to the period before the last, at most ``n_windows`` (the latest); the
    latest ``horizon - 1`` windows are scored on the periods observed so far, so the newest
    actuals count too and every period after the first :data:`MIN_TRAIN` is a target.

    When the history leaves fewer target periods than the lowest level needs
    (:func:`periods_needed`), no honest range is possible: it warns and returns no rows, so
    :func:`calibrate` leaves the ranges out. Raises :class:`~arlib.errors.ConfigError` for
    fewer than two ``n_windows``."""
    if int(n_windows) < 2:
        raise ConfigError("calibration_windows", f"must be at least 2, got {n_windows!r}")
    length = int(series.groupby(UID)[DS].nunique().min()) if len(series) else 0
    n = min(int(n_windows), length - MIN_TRAIN)
    need = max(2, periods_needed(min(levels)))
    if n < need and length:  # no honest range: the forecast's ranges are left out (see calibrate)
        warnings.warn(
            str(
                DataError(
                    "cash series",
                    DS,
                    length,
                    f"are too few periods to calibrate a {horizon}-period range",
                    f"give at least {MIN_TRAIN + need} periods of history",
                )
            ),
            UserWarning,
            stacklevel=2,
        )
    if n < need:  # (no series at all, e.g. an open-item list: said where the series is shown)
        cols = [UID, CUTOFF, DS, MODEL, YHAT, *interval_columns(levels), "fitted", Y]
        out = pd.DataFrame(columns=cols).astype({YHAT: float, Y: float, DS: "datetime64[ns]"})
        return needs_history(out, "Calibrating the range") if EMPTY_REASON in series.attrs else out
    regs = list(regressors) if method == "sarimax" else []
    return backtest(
        series, horizon, [method], freq, levels, n_windows=n, step=1, regressors=regs, observed=1
    )


def kpis(coverage: pd.DataFrame) -> dict:
    """``forecast_range_coverage_<lv>`` (calibrated, out of sample),
    ``forecast_model_range_coverage_<lv>`` (the model's own range),
    ``forecast_range_months_checked_<lv>`` (the distinct months that coverage rests on) and
    ``forecast_range_calibrated_on_<lv>`` (the level whose errors calibrate the range shown:
    a lower one when borrowed, ``null`` when no range is shown) for ``kpis.json``."""
    out = {}
    for row in coverage.itertuples():
        for key, val in (
            (f"forecast_range_coverage_{row.level}", row.calibrated_coverage),
            (f"forecast_model_range_coverage_{row.level}", row.model_coverage),
        ):
            out[key] = None if pd.isna(val) else round(float(val), 4)
        months, on = getattr(row, "months_checked", np.nan), getattr(row, "calibrated_on", np.nan)
        out[f"forecast_range_months_checked_{row.level}"] = None if pd.isna(months) else int(months)
        out[f"forecast_range_calibrated_on_{row.level}"] = None if pd.isna(on) else int(on)
    return out
