"""The 13-week cash view (and the same build by month): open items plus invoicing to come.

Cash per period is the sum of two parts, day by day:

* **open items**: every invoice open at ``as_of`` contributes its open amount times its chance
  of being paid on each day (:class:`arlib.forecast.paydates.PayDateModel`);
* **new invoicing**: invoicing after ``as_of`` is forecast by month (a time-series forecast of
  the monthly invoicing, :func:`arlib.forecast.engine.forecast`), spread over the days of each
  month by the weekday profile of recent invoicing (so a week with a bank holiday-like quiet
  weekday, or a month with five Mondays, gets its share: the weekly season is carried by the
  calendar, not fitted as 52 weekly parameters), and each day's invoices are paid after the
  unit's usual terms with the unit's days-late distribution.

Weeks end on a chosen weekday (``W-FRI``: Saturday to Friday). The periods are pandas periods
after the close of ``as_of``; the first holds the day after ``as_of``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.forecast.paydates import (
    ALL,
    GRID,
    PayDateModel,
    period_totals,
    periods_after,
    shift_pmf,
)
from arlib.ledger import Ledger
from arlib.schemas import C

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
OPEN_ITEMS, NEW_INVOICING, INVOICED = "open_items", "new_invoicing", "invoiced"


def week_period(week_ends_on: str) -> str:
    """The pandas period of weeks ending on ``week_ends_on`` (``"FRI"`` -> ``"W-FRI"``).

    >>> week_period("fri")
    'W-FRI'
    """
    day = str(week_ends_on).upper()[:3]
    if day not in WEEKDAYS:
        raise ConfigError(
            "week_ends_on", f"must be a weekday such as FRI or SUN, got {week_ends_on!r}"
        )
    return f"W-{day}"


def weekday_profile(ledger: Ledger, as_of, days: int = 365) -> np.ndarray:
    """Relative invoicing per weekday (Monday first), mean 1, from the ``days`` before
    ``as_of``; flat when there was no invoicing."""
    inv = _recent(ledger, as_of, days)
    by_day = pd.Series(inv[C.amount]).groupby(pd.DatetimeIndex(inv[C.invoice_date]).weekday).sum()
    prof = by_day.reindex(range(7), fill_value=0.0).to_numpy(float)
    return prof / prof.mean() if prof.sum() > 0 else np.ones(7)


def spread_by_day(monthly: pd.DataFrame, as_of, profile: np.ndarray) -> pd.Series:
    """Daily invoicing after ``as_of`` from a monthly forecast (``ds`` month start, ``yhat``):
    each month's total over its days in proportion to ``profile``; of the month holding
    ``as_of``, only the days after it (their share of the month's weight)."""
    as_of = pd.Timestamp(as_of)
    parts = []
    for ds, total in zip(pd.to_datetime(monthly["ds"]), monthly["yhat"].to_numpy(float)):
        days = pd.date_range(ds, ds + pd.offsets.MonthEnd(0), freq="D")
        w = profile[days.weekday]
        share = w / w.sum()
        keep = days > as_of
        parts.append(pd.Series(max(total, 0.0) * share[keep], index=days[keep]))
    return pd.concat(parts) if parts else pd.Series(dtype=float)


def invoicing_forecast(
    ledger: Ledger, as_of, days: int, method: str = "auto", flows: pd.DataFrame | None = None
) -> pd.Series:
    """Invoicing per day for ``days`` days after ``as_of``: a monthly forecast of invoicing
    (``method``, from the months closed by ``as_of``) spread by :func:`weekday_profile`.
    ``flows``: the ledger's monthly ``flows("M")``, when the caller has them."""
    return invoicing_forecasts(ledger, [as_of], [days], method, flows)[0]


def invoicing_forecasts(
    ledger: Ledger,
    cutoffs: Sequence,
    days: Sequence[int],
    method: str = "auto",
    flows: pd.DataFrame | None = None,
) -> list[pd.Series]:
    """:func:`invoicing_forecast` at each of ``cutoffs`` (for its ``days``): the monthly
    invoicing known at every cut-off forecast in one engine call per distinct horizon (the
    engine forecasts each series alone, so each is what a call of its own gives; the calls
    run on every core)."""
    from arlib.forecast.engine import UID, forecast
    from arlib.forecast.runoff import cash_series

    series, horizon = [], []
    for k, (as_of, n_days) in enumerate(zip(map(pd.Timestamp, cutoffs), days)):
        hist = cash_series(ledger, "MS", INVOICED, through=as_of, warm_up=False, flows=flows)
        end = as_of + pd.Timedelta(days=n_days)
        first = hist["ds"].max().to_period("M") + 1
        horizon.append(max(len(pd.period_range(first, end.to_period("M"), freq="M")), 1))
        series.append(hist[["ds", INVOICED]].rename(columns={INVOICED: "y"}).assign(**{UID: k}))
    fcs = {}
    for h in sorted(set(horizon)):
        batch = pd.concat([s for s, n in zip(series, horizon) if n == h], ignore_index=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = forecast(batch[[UID, "ds", "y"]], h, "MS", (80,), method, n_jobs=-1)
        fcs |= dict(tuple(fc.groupby(UID, sort=False)))
    out = []
    for k, (as_of, n_days) in enumerate(zip(map(pd.Timestamp, cutoffs), days)):
        daily = spread_by_day(fcs[k], as_of, weekday_profile(ledger, as_of))
        out.append(daily.loc[daily.index <= as_of + pd.Timedelta(days=n_days)])
    return out


def view_last(as_of, weeks: int, months: int, week: str) -> pd.Timestamp:
    """The last day a :class:`CashView` of ``weeks`` weeks (pandas period ``week``) and
    ``months`` months after ``as_of`` counts."""
    return max(
        periods_after(as_of, weeks, week)[-1].end_time,
        periods_after(as_of, max(months, 1), "M")[-1].end_time,
    ).normalize()


def terms_days(ledger: Ledger, as_of, days: int = 365) -> int:
    """The usual payment term (median days from invoice to due date) of recent invoicing."""
    src = _recent(ledger, as_of, days)
    if not len(src[C.due_date]):
        src = _recent(ledger, None, days)
    terms = (src[C.due_date] - src[C.invoice_date]) // np.timedelta64(1, "D")
    return int(round(float(np.median(terms))))


def _recent(ledger: Ledger, as_of, days: int) -> dict[str, np.ndarray]:
    """Invoice date, due date and amount of the invoices raised in the ``days`` up to
    ``as_of`` (all of them for ``None``), as arrays: a view asked at many cut-offs reads
    three columns, not a copy of the invoices."""
    inv = ledger.invoices
    cols = {c: inv[c].to_numpy() for c in (C.invoice_date, C.due_date, C.amount)}
    if as_of is None:
        return cols
    as_of = pd.Timestamp(as_of)
    d = cols[C.invoice_date]
    keep = (d <= as_of.to_datetime64()) & (d > (as_of - pd.Timedelta(days=days)).to_datetime64())
    return {c: v[keep] for c, v in cols.items()}


def new_invoicing_cash(
    invoicing: pd.Series, model: PayDateModel, terms: int, scale: float = 1.0, shift: int = 0
) -> pd.Series:
    """Expected cash per day from the invoicing of each future day: due after ``terms`` days,
    paid with the unit's days-late distribution (moved ``shift`` days later), times ``scale``."""
    pmf, _never, _n = model.distribution(None, ALL)
    if shift:
        pmf = shift_pmf(pmf, int(shift))
    nz = np.flatnonzero(pmf)
    if not len(invoicing) or not len(nz):
        return pd.Series(dtype=float)
    lags = pd.to_timedelta(terms + GRID[nz], unit="D")
    dates = (invoicing.index.to_numpy()[:, None] + lags.to_numpy()[None, :]).ravel()
    vals = (invoicing.to_numpy(float)[:, None] * scale * pmf[nz][None, :]).ravel()
    return pd.Series(vals, index=pd.DatetimeIndex(dates)).groupby(level=0).sum()


def cash_by_period(
    open_daily: pd.Series, new_daily: pd.Series, as_of, horizon: int, period: str
) -> pd.DataFrame:
    """``period_end, open_items, new_invoicing, yhat`` (``yhat`` = the sum of the two) for
    ``horizon`` periods (``"W-FRI"``, ``"M"``, ...) after ``as_of``."""
    a = period_totals(open_daily, as_of, horizon, period)
    b = period_totals(new_daily, as_of, horizon, period)
    out = pd.DataFrame({"period_end": a["period_end"], OPEN_ITEMS: a["yhat"]})
    out[NEW_INVOICING] = b["yhat"].to_numpy()
    out["yhat"] = out[OPEN_ITEMS] + out[NEW_INVOICING]
    return out


class CashView:
    """Daily expected cash of a unit after the model's ``as_of``, by open items and new
    invoicing, totalled by week (:meth:`weeks`) or month (:meth:`months`) and re-run under
    scenarios (:mod:`arlib.forecast.scenarios`).

    Invoicing is forecast far enough for ``weeks`` weeks ending on ``week_ends_on`` and
    ``months`` calendar months; cash from invoices raised after that is not counted.
    ``flows``: the ledger's monthly ``flows("M")``, when the caller has them; ``invoicing``:
    the :func:`invoicing_forecast` of the view, when the caller has it (see
    :func:`invoicing_forecasts`).
    """

    def __init__(
        self,
        ledger: Ledger,
        model: PayDateModel,
        weeks: int = 13,
        months: int = 6,
        week_ends_on: str = "FRI",
        method: str = "auto",
        flows: pd.DataFrame | None = None,
        invoicing: pd.Series | None = None,
    ):
        self.model, self.as_of = model, model.as_of_
        self.week, self.n_weeks, self.n_months = week_period(week_ends_on), weeks, months
        self.last = view_last(self.as_of, weeks, months, self.week)  # the last day counted
        # an open-item list has no invoicing history: invoicing to come is not estimated
        if getattr(model, "contractual", False):
            invoicing = pd.Series(dtype=float)
        elif invoicing is None:
            days = (self.last - self.as_of).days
            invoicing = invoicing_forecast(ledger, self.as_of, days, method, flows)
        self.invoicing = invoicing
        self.terms = terms_days(ledger, self.as_of)
        self.open_daily = model.daily(through=self.last)
        self.new_daily = new_invoicing_cash(self.invoicing, model, self.terms)

    def by_period(self, horizon: int, period: str) -> pd.DataFrame:
        """See :func:`cash_by_period` (``new_invoicing`` empty when it is not estimated).
        Raises :class:`~arlib.errors.ConfigError` for periods past the view's last day (its
        cash by day stops there)."""
        end = periods_after(self.as_of, horizon, period)[-1].end_time.normalize()
        if getattr(self, "last", None) is not None and end > self.last:
            raise ConfigError(
                "horizon",
                f"{horizon} periods of {period} end {end.date()}, after the view's last day "
                f"{self.last.date()}; build the CashView with more weeks or months",
            )
        out = cash_by_period(self.open_daily, self.new_daily, self.as_of, horizon, period)
        return out.assign(new_invoicing=np.nan) if self.model.contractual else out

    def weeks(self) -> pd.DataFrame:
        """The 13-week view (``weeks`` weeks ending on ``week_ends_on``)."""
        return self.by_period(self.n_weeks, self.week)

    def months(self) -> pd.DataFrame:
        """The same build by calendar month."""
        return self.by_period(self.n_months, "M")
