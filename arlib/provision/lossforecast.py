"""Provision forecast: the allowance and bad-debt expense of the next months.

The collective balance per bucket is run forward through the fitted roll-rate chain: each month
``v[h] = v[h-1] Q + invoiced[h] * e``, where ``Q`` is the bucket-to-bucket block of the
transition matrix and ``e`` is the share of a month's invoicing still open at its month-end,
per bucket (measured over the same look-back). Write-offs are ``v[h-1] R[:, written_off]``; the
allowance is ``v[h] . loss + specific``, with the chain's (Markov) loss rates after the
forward-looking adjustment, and specific provisions carried at their ``as_of`` amount (their
write-offs release the specific allowance and do not touch the charge). Recoveries are the
monthly mean of the look-back. The charge is the roll-forward's balancing figure.

The range comes from a bootstrap over the look-back months (each month's migration and
entry shares resampled together), so it reflects how much the roll rates moved from month
to month; invoicing is taken as given (a point forecast).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.ledger import Ledger, bucket_index, ledger_arrays, open_pairs
from arlib.provision.allowance import (
    column_sum,
    scenario_table,
    specific_provisions,
    split_specific,
)
from arlib.provision.monthends import close_items
from arlib.provision.rollrate import (
    RollRateModel,
    complete_rows,
    markov_loss_rates,
    transition_matrix,
)
from arlib.schemas import RECOVERY, TXN_KINDS, C

METRICS = ("invoiced", "write_offs", "recoveries", "allowance", "charge", "cumulative_charge")


def monthly_invoicing(ledger: Ledger, as_of) -> pd.Series:
    """Invoiced amount per complete calendar month up to ``as_of`` (index: month-ends)."""
    as_of = pd.Timestamp(as_of)
    last = as_of if as_of.is_month_end else as_of - pd.offsets.MonthEnd(1)
    dates = ledger.invoices[C.invoice_date].to_numpy()
    kept = dates <= np.datetime64(last)
    # grouped by month number (months since 1970, a monthly period's ordinal): the groups and
    # their sums of pandas' grouping by period, without a period per invoice or a frame copy
    month = dates[kept].astype("datetime64[M]").astype(np.int64)
    s = pd.Series(ledger.invoices[C.amount].to_numpy()[kept]).groupby(month).sum()
    s.index = pd.PeriodIndex.from_ordinals(s.index.to_numpy(), freq="M")
    if s.empty:
        return pd.Series(dtype=float, name="invoiced")
    s = s.reindex(pd.period_range(s.index.min(), last.to_period("M"), freq="M"), fill_value=0.0)
    s.index = s.index.to_timestamp(how="end").normalize()
    return s.rename("invoiced")


def forecast_invoicing(
    history: pd.Series, horizon: int, method: str = "seasonal_naive"
) -> pd.Series:
    """Monthly invoicing for ``horizon`` months after the history (index: month-ends).

    ``seasonal_naive`` (the default): the same month last year times the growth of the last 12
    months over the 12 before (with under 24 months: no growth; under 12 months: the mean of
    the last 3). Any other name is a method of :func:`arlib.forecast.engine.forecast` (``auto``,
    ``ets``, ``theta``, ``arima``, ``naive``, ...), whose point forecast is used.

    >>> h = pd.Series([10.0, 20.0] * 6 + [11.0, 22.0] * 6, pd.date_range("2023-01-31", periods=24, freq="ME"))
    >>> forecast_invoicing(h, 3).round(2).tolist()   # growth 10%: 11 * 1.1, 22 * 1.1, ...
    [12.1, 24.2, 12.1]
    """
    y = history.astype(float)
    idx = pd.date_range(y.index[-1] + pd.offsets.MonthEnd(1), periods=horizon, freq="ME")
    if method != "seasonal_naive":
        from arlib.forecast.engine import METHODS, forecast

        if method not in METHODS:
            raise ConfigError(
                "provision_invoicing_method",
                f"must be 'seasonal_naive' or one of {list(METHODS)}, got {method!r}",
            )
        df = pd.DataFrame(
            {
                "unique_id": "invoiced",
                "ds": y.index.to_period("M").to_timestamp(),
                "y": y.to_numpy(),
            }
        )
        fc = forecast(df, horizon, freq="MS", method=method, n_jobs=1)
        return pd.Series(np.maximum(fc["yhat"].to_numpy(), 0.0), idx, name="invoiced")
    if len(y) < 12:
        return pd.Series(y.iloc[-3:].mean(), idx, name="invoiced")
    growth = (
        y.iloc[-12:].sum() / y.iloc[-24:-12].sum()
        if len(y) >= 24 and y.iloc[-24:-12].sum() > 0
        else 1.0
    )
    vals = [y.iloc[len(y) - 12 + (h % 12)] * growth ** (1 + h // 12) for h in range(horizon)]
    return pd.Series(vals, idx, name="invoiced")


def entry_shares(
    ledger: Ledger, month_ends: pd.DatetimeIndex, thresholds
) -> tuple[np.ndarray, np.ndarray]:
    """Per look-back month: open amount at month-end of that month's invoices, per bucket
    ``[months, K]`` (each item's open amount rounded to the cent, as in its open items), and
    the amount invoiced in the month ``[months]``. One pass over the month-end states."""
    inv = ledger.invoices
    k = len(thresholds) + 1
    n = len(month_ends) - 1
    invoiced = np.zeros(n)
    dates, amounts = inv[C.invoice_date].to_numpy(), inv[C.amount].to_numpy()
    for i, (a, b) in enumerate(zip(month_ends[:-1], month_ends[1:])):
        new = (dates > np.datetime64(a)) & (dates <= np.datetime64(b))
        invoiced[i] = column_sum(amounts[new])
    pos, at, amount = open_pairs(ledger, month_ends[1:])
    # invoiced in the month (an item open at b was invoiced on or before b)
    new = inv[C.invoice_date].to_numpy()[pos] > month_ends[:-1].to_numpy()[at]
    ends = month_ends[1:].to_numpy().astype("datetime64[D]").astype(np.int64)
    dpd = ends[at[new]] - ledger_arrays(ledger).due_day[pos[new]]
    slot = at[new] * k + bucket_index(dpd, thresholds)
    entered = np.bincount(slot, weights=np.round(amount[new], 2), minlength=n * k)
    return entered.reshape(n, k), invoiced


def _recovered(ledger: Ledger, start, end) -> float:
    """Recoveries dated in ``(start, end]``, added up as the frame of them would be (the
    ledger's kind numbers, no text compared per transaction)."""
    txn = ledger.transactions
    stamps = txn[C.date].to_numpy()
    sel = (ledger_arrays(ledger).txn_kind == TXN_KINDS.index(RECOVERY)) & (
        (stamps > np.datetime64(start)) & (stamps <= np.datetime64(end))
    )
    return column_sum(txn[C.amount].to_numpy()[sel])


def _run_chain(P, entry, v0, invoicing, loss_adj, specific, recov):
    k = P.shape[0]
    Q, wo_col = P[:, :k], P[:, k + 1]
    v, alw_prev = v0, float(v0 @ loss_adj) + specific
    rows = []
    for inv in invoicing:
        wo = float(v @ wo_col)
        v = v @ Q + inv * entry
        alw = float(v @ loss_adj) + specific
        rows.append((inv, wo, recov, alw, alw - alw_prev + wo - recov))
        alw_prev = alw
    out = np.array(rows)
    return np.column_stack([out, np.cumsum(out[:, 4])])


def provision_forecast(
    ledger: Ledger,
    as_of,
    horizon: int = 3,
    *,
    lookback: int = 12,
    weighting: str = "volume",
    adjustment=0.0,
    statuses=("insolvent", "legal"),
    specific_rate: float | None = None,
    expected_recovery: float = 0.0,
    thresholds=(0, 30, 60, 90, 120),
    invoicing: pd.Series | None = None,
    invoicing_method: str = "seasonal_naive",
    n_boot: int = 200,
    level: int = 80,
    seed: int = 0,
    model: RollRateModel | None = None,
) -> pd.DataFrame:
    """Allowance, write-offs, recoveries and charge for ``horizon`` months after ``as_of``.

    Returns a tidy frame ``month_end, metric, yhat, yhat_lo_<level>, yhat_hi_<level>`` with
    metrics ``invoiced, write_offs, recoveries, allowance, charge, cumulative_charge`` (the
    last month's ``cumulative_charge`` is the expense of the whole horizon, with its own range).
    ``invoicing`` (index: month-ends) overrides the built-in invoicing forecast. ``model``: a
    :class:`RollRateModel` already fitted on ``ledger`` at ``as_of`` with ``lookback``,
    ``weighting`` and ``thresholds`` (fitted here without); ``ValueError`` if its settings differ.
    """
    if int(horizon) < 1:
        raise ConfigError("forecast_horizon", f"must be >= 1 month, got {horizon}")
    if not 0 < int(level) < 100:
        raise ConfigError("forecast_level", f"must be between 0 and 100, got {level}")
    if model is None:
        model = RollRateModel(lookback, weighting, thresholds).fit(ledger, as_of)
    elif (model.lookback, model.weighting, model.thresholds) != (
        lookback,
        weighting,
        tuple(thresholds),
    ):
        raise ValueError(
            f"the roll-rate model was fitted with lookback={model.lookback}, "
            f"weighting={model.weighting!r}, thresholds={model.thresholds}; this forecast asks "
            f"for {lookback}, {weighting!r}, {tuple(thresholds)}"
        )
    items = close_items(ledger, as_of, thresholds)
    flagged, pool = split_specific(items, ledger.customers, statuses, as_of)
    specific = float(
        specific_provisions(flagged, ledger.customers, specific_rate, expected_recovery)[
            "allowance"
        ].sum()
    )
    v0 = pool.groupby(C.bucket, observed=False)[C.open_amount].sum().to_numpy()
    if invoicing is None:
        invoicing = forecast_invoicing(
            monthly_invoicing(ledger, as_of), int(horizon), invoicing_method
        )
    inv_path = np.asarray(invoicing, dtype=float)[: int(horizon)]
    dates = pd.DatetimeIndex(invoicing.index[: int(horizon)])
    entered, invoiced = entry_shares(ledger, model.month_ends_, model.thresholds)
    recov = _recovered(ledger, model.month_ends_[0], model.month_ends_[-1]) / len(model.flows_)

    # the scenarios once: adjusted_rates' sum on arrays, not frames, for 200 resamples
    scenarios = scenario_table(adjustment)
    pairs = list(zip(scenarios["weight"], scenarios["adjustment"]))

    def path(months):
        P, _ = complete_rows(transition_matrix(model.flows_[months], weighting))
        loss = sum(w * np.minimum(markov_loss_rates(P)[:, 1] * (1 + a), 1.0) for w, a in pairs)
        tot = invoiced[months].sum()
        entry = entered[months].sum(axis=0) / tot if tot > 0 else np.zeros(len(v0))
        return _run_chain(P, entry, v0, inv_path, loss, specific, recov)

    all_months = np.arange(len(model.flows_))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cap warning would repeat for every resample
        point = path(all_months)
        rng = np.random.default_rng(seed)
        boot = np.stack(
            [path(rng.integers(0, len(all_months), len(all_months))) for _ in range(int(n_boot))]
        )
    alpha = (100 - int(level)) / 2
    lo, hi = np.percentile(boot, alpha, axis=0), np.percentile(boot, 100 - alpha, axis=0)
    frames = [
        pd.DataFrame(
            {
                C.month_end: dates,
                "metric": m,
                "yhat": point[:, j],
                f"yhat_lo_{level}": np.minimum(lo[:, j], point[:, j]),
                f"yhat_hi_{level}": np.maximum(hi[:, j], point[:, j]),
            }
        )
        for j, m in enumerate(METRICS)
    ]
    out = pd.concat(frames, ignore_index=True)
    num = out.columns[2:]
    out[num] = out[num].round(2)
    return out
