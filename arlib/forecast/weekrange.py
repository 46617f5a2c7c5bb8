"""A calibrated 80% and 95% range on the 13-week cash view, from its own out-of-sample errors.

The 13-week view (:class:`arlib.forecast.weekly.CashView`) is a build, not a fitted time-series
model: it has no error model of its own. Its range comes from what the same build got wrong
before (split-conformal, as :mod:`arlib.forecast.conformal` does for the monthly forecast):

* **backtest** (:func:`weekly_backtest`): at cut-offs ``step`` weeks apart (week ends before
  ``as_of``), the payment-date model is fitted and the view built with only what was known
  then; each week of it with a known actual (``collected`` cash of the week, applied or not,
  from :meth:`arlib.ledger.Ledger.flows`) gives a *score*, the signed relative error
  ``(y - yhat) / yhat``;
* **range** (:func:`calibrate`): week ``k`` of the view gets ``yhat * (1 + q_lo)`` to
  ``yhat * (1 + q_hi)``, the lower bound no lower than 0, with ``q_lo`` and ``q_hi`` the
  conformal quantiles (:func:`arlib.forecast.conformal.conformal_quantile`) of the scores from
  below and from above at :func:`tail_level` (90% each for the 80% range), over the weeks
  ahead in the same *block* as ``k`` (:data:`BLOCKS`: weeks 1-4, 5-8 and 9-13 ahead; the
  error of a week four weeks out is not that of next week, and one block per week would leave
  too few errors). Signed errors, because the build leaves out cash it cannot see (unapplied
  receipts) and so runs low on some units: a symmetric range around it held 71% of the us
  demo unit's weeks at 80%, the signed one 76%. A block needs errors on
  :func:`~arlib.forecast.conformal.periods_needed` distinct weeks (9 for each 90% bound, 39
  for each 97.5% bound), else that range is left out with a warning;
* **coverage** (:func:`backtest_coverage`): for every cut-off, the range built only from errors
  whose week had ended by then, scored on that cut-off's weeks: the out-of-sample share of
  actual weeks inside it, printed next to the range.

The first week of a view whose ``as_of`` is not a week end is short; its range is that of a
full first week (relative errors, so it scales with the week's cash).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from arlib.errors import ConfigError, DataError
from arlib.forecast.conformal import MIN_SCORES, MIN_TRAIN, conformal_quantile, periods_needed
from arlib.forecast.paydates import PayDateModel, by_due_date
from arlib.forecast.weekly import CashView, invoicing_forecasts, view_last, week_period
from arlib.ledger import Ledger, open_items_only
from arlib.schemas import C

CUTOFF, DS, STEP, YHAT, Y = "cutoff", "period_end", "week_ahead", "yhat", "y"
#: weeks ahead calibrated together (first, last), inclusive
BLOCKS = ((1, 4), (5, 8), (9, 13))
#: floor of the denominator of a score, as a share of the mean forecast week
_MIN_SHARE = 1e-3
#: invoices from which a unit's backtest views are built on several worker processes (a
#: small unit's views take less time than starting them)
PARALLEL_FROM = 100_000


def block_of(step) -> np.ndarray:
    """Index in :data:`BLOCKS` of each week ahead (weeks past 13 join the last block).

    >>> block_of([1, 4, 5, 13, 14]).tolist()
    [0, 0, 1, 2, 2]
    """
    firsts = np.array([b[0] for b in BLOCKS])
    return np.searchsorted(firsts, np.asarray(step, int), side="right") - 1


def cutoffs(as_of, n: int, step: int = 2, week_ends_on: str = "FRI") -> list[pd.Timestamp]:
    """``n`` week ends ``step`` weeks apart, the latest one week before the last week end on
    or before ``as_of`` (so every cut-off has at least one week of known actuals).

    >>> [str(c.date()) for c in cutoffs("2024-12-31", 2, 2, "FRI")]
    ['2024-12-06', '2024-12-20']
    """
    period = week_period(week_ends_on)
    last_end = pd.Period(pd.Timestamp(as_of), period).end_time.normalize()
    if last_end > pd.Timestamp(as_of):
        last_end -= pd.Timedelta(weeks=1)
    latest = last_end - pd.Timedelta(weeks=1)
    return [latest - pd.Timedelta(weeks=step * i) for i in range(int(n) - 1, -1, -1)]


def weekly_actuals(ledger: Ledger, week_ends_on: str = "FRI") -> pd.Series:
    """Cash collected per week (applied or not), indexed by the week's last day."""
    y = ledger.flows(week_period(week_ends_on))["collected"]
    y.index = y.index.end_time.normalize()
    return y


def weekly_backtest(
    ledger: Ledger,
    as_of,
    n_cutoffs: int = 26,
    step: int = 4,
    weeks: int = 13,
    week_ends_on: str = "FRI",
    method: str = "auto",
    n_jobs: int = -1,
    **model_args,
) -> pd.DataFrame:
    """The 13-week view rebuilt at :func:`cutoffs` with only what was known then, set against
    the weeks that have ended by ``as_of``.

    Returns one row per (cut-off, week): ``cutoff, period_end, week_ahead`` (1 = the week after
    the cut-off), ``yhat`` (the view's cash) and ``y`` (cash collected that week).
    ``model_args`` go to :class:`~arlib.forecast.paydates.PayDateModel`. A unit of
    :data:`PARALLEL_FROM` invoices or more rebuilds its cut-offs' views on ``n_jobs`` worker
    processes (``-1``: every core; each view is the same computation wherever it runs, so the
    rows do not depend on it). Cut-offs less than
    :data:`~arlib.forecast.conformal.MIN_TRAIN` months after the first invoice are skipped
    (no invoicing history to forecast from). Raises :class:`~arlib.errors.ConfigError` for
    fewer than two ``n_cutoffs``."""
    if int(n_cutoffs) < 2:
        raise ConfigError("week_range_cutoffs", f"must be at least 2, got {n_cutoffs!r}")
    cols = [CUTOFF, DS, STEP, YHAT]
    if open_items_only(ledger):  # collections unknown: nothing to check the view against
        warnings.warn(
            "13-week range: an open-item list has no record of the cash collected each week, so "
            "the 13-week view cannot be checked against it and no range is shown",
            UserWarning,
            stacklevel=2,
        )
        return pd.DataFrame(columns=[*cols, Y])
    as_of = pd.Timestamp(as_of)
    start = ledger.invoices[C.invoice_date].min() + pd.DateOffset(months=MIN_TRAIN)
    actual = weekly_actuals(ledger, week_ends_on)
    # once for all cut-offs: the settlement by due date and the monthly flows
    settled, flows, rows = by_due_date(ledger), ledger.flows("M"), []
    with warnings.catch_warnings():  # the cut-offs' own warnings are the report's, not these
        warnings.simplefilter("ignore")
        cuts = [c for c in cutoffs(as_of, n_cutoffs, step, week_ends_on) if c >= start]
        lasts = [view_last(c, weeks, 1, week_period(week_ends_on)) for c in cuts]
        days = [(last - c).days for c, last in zip(cuts, lasts)]
        # the invoicing to come at every cut-off, forecast together (one engine call)
        invoicing = invoicing_forecasts(ledger, cuts, days, method, flows)
        job = _Views(
            ledger, settled, flows, cuts, invoicing, weeks, week_ends_on, method, model_args
        )
        workers = n_jobs if len(ledger.invoices) >= PARALLEL_FROM else 1
        for cut, w in zip(cuts, _each(job, len(cuts), workers)):
            known = w["period_end"] <= as_of
            rows.append(
                pd.DataFrame(
                    {
                        CUTOFF: cut,
                        DS: w.loc[known, "period_end"].to_numpy(),
                        STEP: np.arange(1, len(w) + 1)[known.to_numpy()],
                        YHAT: w.loc[known, "yhat"].to_numpy(float),
                    }
                )
            )
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
    out[Y] = actual.reindex(pd.DatetimeIndex(out[DS])).fillna(0.0).to_numpy(float)
    return out


class _Views:
    """What each cut-off's view is built from: :meth:`weeks_at` builds cut-off ``k``'s."""

    def __init__(self, ledger, settled, flows, cuts, invoicing, weeks, week_ends_on, method, args):
        self.ledger, self.settled, self.flows = ledger, settled, flows
        self.cuts, self.invoicing, self.weeks = cuts, invoicing, weeks
        self.week_ends_on, self.method, self.args = week_ends_on, method, args

    def weeks_at(self, k: int) -> pd.DataFrame:
        """Cut-off ``k``'s 13-week view: the payment-date model fitted then, its invoicing."""
        model = PayDateModel(**self.args).fit(
            self.ledger, self.cuts[k], dates=False, settled=self.settled
        )
        view = CashView(
            self.ledger,
            model,
            self.weeks,
            1,
            self.week_ends_on,
            self.method,
            self.flows,
            self.invoicing[k],
        )
        return view.weeks()


#: the views being built on worker processes (forked: they read it, nothing is pickled)
_JOB: _Views | None = None


def _view_of(k: int) -> pd.DataFrame:
    return _JOB.weeks_at(k)


def _each(job: _Views, n: int, n_jobs: int) -> list[pd.DataFrame]:
    """``job.weeks_at(k)`` for ``k < n``, in order, on ``n_jobs`` forked worker processes
    (``-1``: every core; 1 or one cut-off: here)."""
    global _JOB
    workers = min((os.cpu_count() or 1) if n_jobs == -1 else n_jobs, n)
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return [job.weeks_at(k) for k in range(n)]
    _JOB = job
    gc.freeze()  # the workers' collections leave the objects they share with this process be
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_view_of, range(n)))
    finally:
        gc.unfreeze()
        _JOB = None


def _scores(bt: pd.DataFrame) -> np.ndarray:
    """Signed relative errors ``(y - yhat) / yhat`` (``yhat`` floored at a small share of its
    mean)."""
    yhat = bt[YHAT].to_numpy(float)
    floor = _MIN_SHARE * (np.abs(yhat).mean() if len(yhat) else 0.0) + 1e-9
    return (bt[Y].to_numpy(float) - yhat) / np.maximum(yhat, floor)


def tail_level(level: float) -> float:
    """The one-sided level of each bound of a two-sided ``level`` range.

    >>> tail_level(80), tail_level(95)
    (90.0, 97.5)
    """
    return 100 - (100 - level) / 2


def factors(
    bt: pd.DataFrame, levels: Sequence[int] = (80, 95)
) -> dict[tuple[int, int], tuple[float, float]]:
    """``{(level, block): (q_lo, q_hi)}``: per block of :data:`BLOCKS`, the conformal quantiles
    of the signed relative errors at :func:`tail_level` from below and from above, so a build
    that runs low (cash it does not see, such as unapplied receipts) gets a range shifted up
    rather than one merely wider. ``(-inf, inf)`` with fewer than
    :data:`~arlib.forecast.conformal.MIN_SCORES` errors or errors on fewer than
    ``periods_needed(tail_level(level))`` distinct weeks (9 for 80%, 39 for 95%)."""
    score, block = _scores(bt), block_of(bt[STEP])
    out = {}
    for b in range(len(BLOCKS)):
        mine = block == b
        weeks_known = bt.loc[mine, DS].nunique()
        for lv in levels:
            tail = tail_level(lv)
            if mine.sum() >= MIN_SCORES and weeks_known >= periods_needed(tail):
                hi = conformal_quantile(score[mine], tail)
                out[lv, b] = (-conformal_quantile(-score[mine], tail), hi)
            else:
                out[lv, b] = (-np.inf, np.inf)
    return out


def _bounds(yhat: np.ndarray, step, q: dict, lv: int) -> tuple[np.ndarray, np.ndarray]:
    fac = np.array([q[lv, b] for b in block_of(step)], float).reshape(-1, 2)
    with np.errstate(invalid="ignore"):  # 0 * inf: no range for a zero week without errors
        lo, hi = yhat * (1 + fac[:, 0]), yhat * (1 + fac[:, 1])
    return np.maximum(lo, 0.0), hi


def calibrate(view: pd.DataFrame, bt: pd.DataFrame, levels: Sequence[int] = (80, 95)):
    """``view`` (:meth:`~arlib.forecast.weekly.CashView.weeks`) with ``yhat_lo_<lv>`` and
    ``yhat_hi_<lv>`` from the backtest ``bt`` (:func:`weekly_backtest`). A range without enough
    errors is left empty (missing) with a warning that says why and what to do (none for an
    empty ``bt``: :func:`weekly_backtest` has said why it has no rows)."""
    out = view.copy()
    q = factors(bt, levels)
    step = np.arange(1, len(out) + 1)
    for lv in levels:
        lo, hi = _bounds(out[YHAT].to_numpy(float), step, q, lv)
        missing = ~np.isfinite(hi)
        if missing.any() and len(bt):
            warnings.warn(
                str(
                    DataError(
                        "13-week backtest",
                        DS,
                        int(bt[DS].nunique()),
                        f"are too few weeks of known errors to calibrate the {lv}% range of "
                        f"{int(missing.sum())} of the {len(out)} weeks (each block of weeks "
                        f"ahead needs {periods_needed(tail_level(lv))}); those ranges are not "
                        "shown",
                        "raise week_range_cutoffs or wait for more history",
                    )
                ),
                UserWarning,
                stacklevel=2,
            )
        out[f"{YHAT}_lo_{lv}"] = np.where(missing, np.nan, lo)
        out[f"{YHAT}_hi_{lv}"] = np.where(missing, np.nan, hi)
    return out


def backtest_coverage(bt: pd.DataFrame, levels: Sequence[int] = (80, 95)) -> pd.DataFrame:
    """Out-of-sample coverage of the calibrated weekly range: at each cut-off the range is built
    from the errors of weeks ended by then and scored on that cut-off's weeks; weeks whose block
    has too few errors then are left out.

    Returns one row per level: ``level``, ``calibrated_coverage``, ``points`` (weeks scored)
    and ``windows`` (cut-offs with at least one week scored)."""
    hits: dict[int, list] = {lv: [] for lv in levels}
    windows = {lv: 0 for lv in levels}
    for cut in sorted(bt[CUTOFF].unique()):
        known, now = bt.loc[bt[DS] <= cut], bt.loc[bt[CUTOFF] == cut]
        q = factors(known, levels)
        y, yhat = now[Y].to_numpy(float), now[YHAT].to_numpy(float)
        for lv in levels:
            lo, hi = _bounds(yhat, now[STEP], q, lv)
            ok = np.isfinite(hi)
            windows[lv] += int(ok.any())
            hits[lv] += list((y[ok] >= lo[ok]) & (y[ok] <= hi[ok]))
    return pd.DataFrame(
        {
            "level": list(levels),
            "calibrated_coverage": [np.mean(hits[lv]) if hits[lv] else np.nan for lv in levels],
            "points": [len(hits[lv]) for lv in levels],
            "windows": [windows[lv] for lv in levels],
        }
    )


def kpis(coverage: pd.DataFrame) -> dict:
    """``week_range_coverage_<lv>`` (out of sample, ``None`` when not measured) for
    ``kpis.json``."""
    return {
        f"week_range_coverage_{row.level}": (
            None if pd.isna(row.calibrated_coverage) else round(float(row.calibrated_coverage), 4)
        )
        for row in coverage.itertuples()
    }
