"""Numeric core of the collection forecasts: one series (an array) in, point forecasts and
prediction intervals out.

Every model is a function ``fit(y, h, m, levels) -> bands`` where ``bands`` maps ``"mean"``,
``"lo-80"``, ``"hi-80"``, ... to arrays of length ``h``. The automatic univariate models come
from statsforecast (fast compiled code); the seasonal naive and naive benchmarks are computed
here; SARIMAX (statsmodels) takes optional regressors such as invoicing.

:func:`predict_series` runs the requested methods on one series, falls back to simpler
models when a series is too short, constant or a fit fails, and reports each fallback as a
:class:`Note` (the frame wrapper turns notes into warnings).

>>> y = np.array([10.0, 12, 11, 13, 12, 14, 13, 15, 14, 16])
>>> res = predict_series(y, h=2, m=1, methods=["naive"], levels=(80,))
>>> res.bands["naive"]["mean"].tolist(), res.used["naive"], res.notes
([16.0, 16.0], 'naive', [])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

with warnings.catch_warnings():  # statsforecast imports tqdm.auto, which warns inside kernels
    warnings.filterwarnings("ignore", message="IProgress not found")
    from statsforecast.models import AutoARIMA, AutoCES, AutoETS, DynamicOptimizedTheta, Theta

Bands = dict[str, np.ndarray]

#: Methods that combine other methods: name -> (members, how).
#: ``ensemble`` is the SCUM of Petropoulos & Svetunkov (2020), "A simple combination of
#: univariate models" (IJF 36:110-115): the median of ETS, CES, ARIMA and dynamic optimised
#: Theta, robust across the M3 and M4 data sets. ``auto`` keeps SCUM's median and puts a
#: benchmark (:func:`bench`: the seasonal naive, or for data without a season the random
#: walk with drift) where SCUM has ARIMA: ARIMA's automatic order search costs
#: about nine times AutoETS, a benchmark nothing, and a benchmark in the pool pulls the
#: median back when the fitted models agree on a trend or a season the data do not bear
#: out. Chosen on the mean gain over five sets from two other sources (Tourism, M1),
#: checked on M3 monthly and on M3 yearly and quarterly, which took no part in the choice
#: (figures and what was tried and rejected in ``bench/README.md``).
#: ``comb`` is the classic benchmark combination (mean of ETS, ARIMA and Theta).
COMBINATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "auto": (("ets", "ces", "dot", "bench"), "median"),
    "ensemble": (("ets", "ces", "arima", "dot"), "median"),
    "comb": (("ets", "arima", "theta"), "mean"),
}
MIN_OBS_MODEL = 8  # fewer observations than this: the model is replaced by a benchmark
#: Longer seasons (52 weeks) are handled by seasonal adjustment before ETS and ARIMA:
#: statsforecast's ETS has no seasonal models beyond 24 periods and a seasonal ARIMA search
#: over 52 lags takes minutes per series.
MAX_SEASON = 24


@dataclass(frozen=True)
class Note:
    """A fallback or caveat for one series; ``text`` reads after "series 'x': "."""

    text: str


@dataclass
class SeriesResult:
    bands: dict[str, Bands]
    used: dict[str, str]
    notes: list[Note] = field(default_factory=list)


def z_value(level: float) -> float:
    """Two-sided normal quantile for a central interval of ``level`` per cent.

    >>> round(z_value(95), 3)
    1.96
    """
    return NormalDist().inv_cdf(0.5 + level / 200.0)


def _gaussian(mean: np.ndarray, sd: np.ndarray, levels: Sequence[int]) -> Bands:
    out: Bands = {"mean": mean}
    for lv in levels:
        z = z_value(lv)
        out[f"lo-{lv}"], out[f"hi-{lv}"] = mean - z * sd, mean + z * sd
    return out


def naive(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """Last value carried forward; random-walk intervals (sd grows with sqrt(step))."""
    mean = np.full(h, y[-1], dtype=float)
    d = np.diff(y)
    sigma = np.sqrt(np.mean(d**2)) if len(d) else np.nan
    return _gaussian(mean, sigma * np.sqrt(np.arange(1, h + 1)), levels)


def snaive(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """Value of the same season last year; sd grows with sqrt(whole seasons ahead)."""
    if m <= 1 or len(y) < m:
        return naive(y, h, m, levels)
    steps = np.arange(h)
    mean = y[len(y) - m + steps % m].astype(float)
    e = y[m:] - y[:-m]
    sigma = np.sqrt(np.mean(e**2)) if len(e) else np.nan
    return _gaussian(mean, sigma * np.sqrt(steps // m + 1), levels)


def drift(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """Random walk with drift: the last value plus the mean change per step (the line
    through the first and last values); sd ``sigma * sqrt(k * (1 + k / (n - 1)))`` at step
    ``k``, which adds the drift's own uncertainty (as R's ``forecast::rwf``).

    >>> drift(np.array([1.0, 3, 2, 5, 6, 8]), 2, 1, (80,))["mean"].round(6).tolist()
    [9.4, 10.8]
    """
    if len(y) < 2:
        return naive(y, h, m, levels)
    n, b = len(y), (y[-1] - y[0]) / (len(y) - 1)
    steps = np.arange(1, h + 1)
    sigma = np.sqrt(np.mean((np.diff(y) - b) ** 2))
    return _gaussian(y[-1] + b * steps, sigma * np.sqrt(steps * (1 + steps / (n - 1))), levels)


def bench(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """The benchmark member of ``auto``, by the data's season length ``m``: for data with
    no season (``m == 1``: yearly) the random walk with drift, since a naive would hold a
    trended series flat; for seasonal data the seasonal naive, or the naive while the
    series is shorter than two seasons (as the seasonal models, which then drop the
    season). A seasonality test per series was tried instead and rejected: on M3 monthly
    the seasonal naive helps the median even where the test finds no season.

    >>> bench(np.array([1.0, 3, 2, 5, 6, 8]), 2, 1, (80,))["mean"].round(6).tolist()
    [9.4, 10.8]
    """
    if m == 1:
        return drift(y, h, m, levels)
    if len(y) >= 2 * m:
        return snaive(y, h, m, levels)
    return naive(y, h, m, levels)


def _sf(model, y: np.ndarray, h: int, levels: Sequence[int]) -> Bands:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.forecast(y=y, h=h, level=list(levels))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def seasonal_test(y: np.ndarray, m: int, alpha: float = 0.05) -> bool:
    """Is there a stable seasonal pattern? One-way ANOVA of the detrended series (classical
    decomposition) across the ``m`` seasons, at level ``alpha``; needs two full seasons.

    The autocorrelation test built into Theta (as in forecast::thetaf) has little power
    with three or four years of smooth monthly seasonality, the usual length of a cash
    history; this test finds such patterns and flags about as many M3 monthly series
    (about half), with the same Theta accuracy there.

    >>> t = np.arange(36)
    >>> seasonal_test(100 + 10 * np.sin(2 * np.pi * t / 12) + np.cos(t), 12)
    True
    >>> seasonal_test(100 + np.cos(t * 1.3), 12)
    False
    """
    from scipy.stats import f_oneway
    from statsmodels.tsa.seasonal import seasonal_decompose

    if m <= 1 or len(y) < 2 * m:
        return False
    mult = np.min(y) > 0
    trend = seasonal_decompose(y, model="multiplicative" if mult else "additive", period=m).trend
    r = y / trend if mult else y - trend
    season = np.arange(len(y)) % m
    ok = np.isfinite(r)
    groups = [r[ok & (season == k)] for k in range(m)]
    if min(len(g) for g in groups) < 1 or np.ptp(r[ok]) == 0:
        return False
    return bool(f_oneway(*groups).pvalue < alpha)


def _deseasonalised(model_factory, y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """Fit a non-seasonal model on the seasonally adjusted series (classical decomposition,
    multiplicative for positive data) and put the last seasonal indices back."""
    from statsmodels.tsa.seasonal import seasonal_decompose

    if not seasonal_test(y, m):
        return _sf(model_factory(), y, h, levels)
    mult = np.min(y) > 0
    idx = seasonal_decompose(y, model="multiplicative" if mult else "additive", period=m).seasonal
    if mult and np.min(idx) < 0.01:
        mult, idx = False, seasonal_decompose(y, model="additive", period=m).seasonal
    future = idx[len(y) - m :][np.arange(h) % m]
    out = _sf(model_factory(), y / idx if mult else y - idx, h, levels)
    return {k: v * future if mult else v + future for k, v in out.items()}


def ets(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """AutoETS; for long seasons (weekly data) on the seasonally adjusted series."""
    if m > MAX_SEASON:
        return _deseasonalised(lambda: AutoETS(season_length=1), y, h, m, levels)
    return _sf(AutoETS(season_length=m), y, h, levels)


def damped(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """AutoETS restricted to damped-trend models (additive damped trend, any error and
    season), Gardner & McKenzie's damped trend; long seasons as in :func:`ets`."""
    if m > MAX_SEASON:
        return _deseasonalised(lambda: AutoETS(season_length=1, damped=True), y, h, m, levels)
    return _sf(AutoETS(season_length=m, damped=True), y, h, levels)


def ces(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """AutoCES; its intervals worked out exactly rather than by statsforecast's simulation.

    statsforecast draws 5,000 normal perturbations of the model's states and takes the
    quantiles of the forecasts they give, which costs twenty times the fit. The forecast is
    linear in the states, so the draws are normal with the point forecast as mean and sd
    ``sigma * ||d forecast / d states||``: the same distribution without sampling error, for
    about a hundredth of the simulation's cost (see ``tests/test_models_ces.py``).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = AutoCES(season_length=m).fit(y)
        try:
            mean, sd = _ces_mean_sd(fit.model_, h)
        except (ImportError, AttributeError, TypeError, KeyError):  # another statsforecast
            out = fit.predict(h, level=list(levels))
            return {k: np.asarray(v, dtype=float) for k, v in out.items()}
    return _gaussian(mean, sd, levels)


def _ces_mean_sd(model: dict, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Point forecast of a fitted CES (statsforecast's ``model_``) and the sd of the
    forecasts under i.i.d. ``N(0, sigma2)`` perturbations of its states (the Jacobian of
    the linear forecast map, one column per state)."""
    from statsforecast.ces import cesforecast, switch_ces

    states = np.asarray(model["states"], dtype=float)
    season = switch_ces(model["seasontype"])

    def run(st: np.ndarray) -> np.ndarray:
        f = np.zeros(h)
        cesforecast(states=st, n=model["n"], m=model["m"], season=season, h=h, f=f, **model["par"])
        return f

    mean, flat = run(states), states.ravel()
    jac = np.empty((flat.size, h))
    for i in range(flat.size):
        bumped = flat.copy()
        bumped[i] += 1.0
        jac[i] = run(bumped.reshape(states.shape)) - mean
    return mean, np.sqrt(model["sigma2"] * np.sum(jac**2, axis=0))


def arima(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """AutoARIMA; for long seasons (weekly data: a seasonal search would take minutes) on
    the seasonally adjusted series."""
    if m > MAX_SEASON:
        return _deseasonalised(lambda: AutoARIMA(season_length=1), y, h, m, levels)
    return _sf(AutoARIMA(season_length=m), y, h, levels)


def theta(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """Standard Theta (SES with drift) on the seasonally adjusted series."""
    return _deseasonalised(lambda: Theta(season_length=1), y, h, m, levels)


def dot(y: np.ndarray, h: int, m: int, levels: Sequence[int]) -> Bands:
    """Dynamic optimised Theta on the seasonally adjusted series."""
    return _deseasonalised(lambda: DynamicOptimizedTheta(season_length=1), y, h, m, levels)


#: Single models: name -> (function, minimum observations, uses the season length).
MODELS: dict[str, tuple[Callable[..., Bands], int, bool]] = {
    "naive": (naive, 1, False),
    "snaive": (snaive, 1, True),
    "drift": (drift, 2, False),
    "bench": (bench, 1, True),
    "ets": (ets, MIN_OBS_MODEL, True),
    "damped": (damped, MIN_OBS_MODEL, True),
    "ces": (ces, MIN_OBS_MODEL, True),
    "arima": (arima, MIN_OBS_MODEL, True),
    "theta": (theta, MIN_OBS_MODEL, True),
    "dot": (dot, MIN_OBS_MODEL, True),
}


#: Members that are benchmarks rather than fitted models (they never fall back).
BENCHMARKS = frozenset({"naive", "snaive", "drift", "bench"})


def members(method: str) -> tuple[str, ...]:
    """The single models a method needs (itself, or a combination's members)."""
    return COMBINATIONS[method][0] if method in COMBINATIONS else (method,)


def point_combination(means: np.ndarray, how: str) -> np.ndarray:
    """Combine the members' point forecasts (rows = members) by ``how``: ``"mean"``,
    ``"median"`` or ``"median-mean"`` (the average of the two).

    >>> point_combination(np.array([[1.0], [2.0], [9.0]]), "median-mean").tolist()
    [3.0]
    """
    if how == "mean":
        return means.mean(axis=0)
    if how == "median":
        return np.median(means, axis=0)
    if how == "median-mean":
        return (np.median(means, axis=0) + means.mean(axis=0)) / 2
    raise ValueError(f"unknown combination {how!r}; use mean, median or median-mean")


def combine(parts: Sequence[Bands], how: str, levels: Sequence[int]) -> Bands:
    """Combine members: the point forecast by ``how`` (see :func:`point_combination`); the intervals as the
    central intervals of the equal-weight *mixture* of the members' predictive
    distributions (each read as normal from its own interval). Model-based intervals are
    usually too narrow because they ignore model uncertainty; the mixture adds the members'
    disagreement. On M3 monthly it brought the coverage of ETS+CES+DOTheta from 75/89% to
    77/92% (nominal 80/95) with better interval (Winkler) scores than averaging the bounds.

    >>> a = {"mean": np.array([10.0]), "lo-95": np.array([8.0]), "hi-95": np.array([12.0])}
    >>> same = combine([a, a], "mean", (95,))
    >>> same["lo-95"].round(6).tolist(), same["hi-95"].round(6).tolist()
    ([8.0], [12.0])
    """
    stack = {k: np.vstack([p[k] for p in parts]) for k in parts[0]}
    out = {"mean": point_combination(stack["mean"], how)}
    for lv in levels:
        lo, hi = stack[f"lo-{lv}"], stack[f"hi-{lv}"]
        z = z_value(lv)
        centre, sd = (lo + hi) / 2, (hi - lo) / (2 * z)
        tail = (1 - lv / 100) / 2
        out[f"lo-{lv}"] = _mixture_quantile(centre, sd, tail)
        out[f"hi-{lv}"] = _mixture_quantile(centre, sd, 1 - tail)
    return out


def _mixture_quantile(centre: np.ndarray, sd: np.ndarray, p: float) -> np.ndarray:
    """Quantile ``p`` of an equal-weight mixture of normals per column (bisection)."""
    from scipy.special import ndtr

    sd = np.maximum(sd, 0.0)
    lo = np.min(centre - 9 * sd, axis=0)
    hi = np.max(centre + 9 * sd, axis=0)
    for _ in range(60):
        mid = (lo + hi) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(
                sd > 0,
                (mid - centre) / np.where(sd > 0, sd, 1.0),
                np.where(mid >= centre, np.inf, -np.inf),
            )
        below = ndtr(u).mean(axis=0) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    out = (lo + hi) / 2
    return np.where(np.isnan(centre).any(axis=0) | np.isnan(sd).any(axis=0), np.nan, out)


def tidy(b: Bands, levels: Sequence[int], nonneg: bool) -> Bands:
    """Order the bounds (lo-95 <= lo-80 <= mean <= hi-80 <= hi-95) and clip at zero for
    series that were never negative (cash collected cannot be negative)."""
    mean = b["mean"]
    lo_prev, hi_prev = mean, mean
    for lv in sorted(levels):
        lo = np.fmin(b[f"lo-{lv}"], lo_prev)
        hi = np.fmax(b[f"hi-{lv}"], hi_prev)
        b[f"lo-{lv}"], b[f"hi-{lv}"] = lo, hi
        lo_prev, hi_prev = lo, hi
    if nonneg:
        b = {k: np.where(np.isnan(v), v, np.maximum(v, 0.0)) for k, v in b.items()}
    return b


def _fallback_name(n: int, m: int) -> str:
    return "snaive" if m > 1 and n >= m + 1 else "naive"


def _run_member(name: str, y: np.ndarray, h: int, m: int, levels, notes: list[Note]):
    fn, min_obs, seasonal = MODELS[name]
    n = len(y)
    fb = _fallback_name(n, m)
    if name == "snaive" and n < m:
        notes.append(
            Note(f"fewer than one season ({m} observations); used naive instead of snaive")
        )
        return naive(y, h, m, levels), "naive"
    if n < min_obs:
        notes.append(Note(f"fewer than {min_obs} observations; used {fb} instead of {name}"))
        return MODELS[fb][0](y, h, m, levels), fb
    m_used = m if seasonal and n >= 2 * m else 1
    if name == "bench":  # decides by the data's own season length, even on a short series
        m_used = m
    try:
        out = fn(y, h, m_used, levels)
        if not np.all(np.isfinite(out["mean"])):
            raise FloatingPointError("non-finite forecast")
        return out, name
    except Exception as err:  # any fit failure: the series still gets a forecast
        reason = f"{type(err).__name__}: {str(err)[:80]}"
        notes.append(Note(f"{name} failed ({reason}); used {fb} instead"))
        return MODELS[fb][0](y, h, m, levels), fb


def predict_series(
    y: np.ndarray,
    h: int,
    m: int,
    methods: Sequence[str],
    levels: Sequence[int] = (80, 95),
    exog: tuple[np.ndarray, np.ndarray] | None = None,
) -> SeriesResult:
    """Forecast one series with every requested method.

    Parameters
    ----------
    y
        Observations, oldest first, no gaps or NaN (at least one value).
    h, m
        Horizon and season length (1 for none).
    methods
        Names from :data:`MODELS`, :data:`COMBINATIONS` or ``"sarimax"``.
    exog
        ``(X, X_future)`` regressors for ``sarimax`` (rows = observations / horizon steps).

    Returns
    -------
    SeriesResult
        ``bands[method]`` (mean and bounds per level), ``used[method]`` (the model that
        actually produced it after any fallback) and ``notes``.
    """
    y = np.asarray(y, dtype=float)
    n, levels = len(y), tuple(levels)
    nonneg = bool(np.min(y) >= 0)
    notes: list[Note] = []
    if np.all(y == y[0]):
        flat = {"mean": np.full(h, y[0])} | {
            f"{s}-{lv}": np.full(h, y[0]) for lv in levels for s in ("lo", "hi")
        }
        notes.append(Note("is constant; used its value as the forecast with zero-width intervals"))
        return SeriesResult(
            {k: dict(flat) for k in methods}, {k: "constant" for k in methods}, notes
        )
    if n < 2:
        notes.append(Note("has a single observation; intervals are undefined (NaN)"))
    if m > 1 and n < 2 * m and any(k not in ("naive", "snaive") for k in methods):
        notes.append(
            Note(
                f"has fewer than two seasons ({2 * m} observations); models fitted without seasonality"
            )
        )
    cache: dict[str, tuple[Bands, str]] = {}
    bands, used = {}, {}
    for method in methods:
        if method == "sarimax":
            b, u = sarimax(y, h, m, levels, exog, notes)
        else:
            for name in members(method):
                if name not in cache:
                    cache[name] = _run_member(name, y, h, m, levels, notes)
            parts = [cache[name] for name in members(method)]
            fitted = [
                (p, want) for p, want in zip(parts, members(method)) if want not in BENCHMARKS
            ]
            fell_back = {p[1] for p, want in fitted if p[1] != want}
            if method in COMBINATIONS and len(fell_back) == 1 and all(p[1] != w for p, w in fitted):
                # too short for every fitted member: the benchmark they all fell back to
                b, u = {k: v.copy() for k, v in fitted[0][0][0].items()}, fitted[0][0][1]
            elif method in COMBINATIONS:
                b = combine([p[0] for p in parts], COMBINATIONS[method][1], levels)
                u = method
            else:
                b, u = {k: v.copy() for k, v in parts[0][0].items()}, parts[0][1]
        bands[method], used[method] = tidy(b, levels, nonneg), u
    return SeriesResult(bands, used, notes)


#: SARIMAX candidates: (order, seasonal order or None, trend); the lowest AIC wins.
#: Seasonal candidates replace the non-seasonal ones when there are two seasons of data.
_SARIMAX_GRID = (
    ((1, 0, 0), None, "c"),
    ((0, 1, 1), None, "n"),
    ((1, 0, 0), (0, 1, 1), "c"),
    ((0, 1, 1), (0, 1, 1), "n"),
)


def sarimax(y, h, m, levels, exog, notes: list[Note]) -> tuple[Bands, str]:
    """SARIMAX from statsmodels, optionally with regressors ``exog = (X, X_future)``; the
    order is chosen by AIC from a small grid (seasonal orders need two seasons of data)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    n = len(y)
    X, X_future = exog if exog is not None else (None, None)
    if n < MIN_OBS_MODEL + (0 if X is None else X.shape[1]):
        fb = _fallback_name(n, m)
        notes.append(Note(f"too few observations for sarimax; used {fb} instead"))
        return MODELS[fb][0](y, h, m, levels), fb
    best, best_aic = None, np.inf
    for order, seasonal, trend in _SARIMAX_GRID:
        use_seasonal = m > 1 and n >= 2 * m + 2
        if (seasonal is not None) != use_seasonal:
            continue
        so = (*seasonal, m) if seasonal else (0, 0, 0, 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            try:
                model = SARIMAX(y, exog=X, order=order, seasonal_order=so, trend=trend)
                res = model.fit(disp=False, maxiter=100)
            except Exception:  # a candidate that cannot be fitted is skipped
                continue
        if np.isfinite(res.aic) and res.aic < best_aic:
            best, best_aic = res, res.aic
    if best is None:
        fb = _fallback_name(n, m)
        notes.append(Note(f"sarimax failed for every order tried; used {fb} instead"))
        return MODELS[fb][0](y, h, m, levels), fb
    fc = best.get_forecast(h, exog=X_future)
    out: Bands = {"mean": np.asarray(fc.predicted_mean, dtype=float)}
    for lv in levels:
        ci = np.asarray(fc.conf_int(alpha=1 - lv / 100.0), dtype=float)
        out[f"lo-{lv}"], out[f"hi-{lv}"] = ci[:, 0], ci[:, 1]
    return out, "sarimax"
