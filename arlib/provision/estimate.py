"""Bad-debt provisions: loss rates, the provision matrix, the allowance and its roll-forward.

The allowance at ``as_of`` is built in two pools:

*specific*
    open items of customers whose ``status`` is flagged (default ``insolvent``, ``legal``),
    provisioned at ``specific_rate`` (default ``1 - expected_recovery``);
*collective*
    everything else, by aging bucket: exposure x loss rate (IFRS 9 simplified approach), the
    loss rates from one of :data:`METHODS`, after a forward-looking adjustment.

Methods
-------
``roll_rate``
    absorbing Markov chain on invoice-level monthly migration (:mod:`arlib.provision.rollrate`);
``roll_rate_product``
    the classic product of roll rates (same data);
``vintage``
    invoicing-month cohorts projected to ultimate (:mod:`arlib.provision.vintage`), applied per cohort.

Customer ``status`` is a snapshot taken at extraction, so past month-ends use it only from
``status_as_of`` on (see :func:`allowance_history`).

The models are fitted once per ledger, ``as_of`` and settings with :func:`fit_models` and
passed to every function as ``models=`` (:mod:`arlib.provision.models`); without it each
function fits its own.

An open-item list (no payment history) fits nothing: the allowance uses the ``loss_rates``
given in params (method ``loss_rates``, :mod:`arlib.provision.given`) or says that history or
``loss_rates`` is needed; every table that needs history is empty and says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from arlib.errors import ConfigError
from arlib.i18n import t
from arlib.ledger import Ledger, bucket_labels, month_ends, needs_history, open_items_only
from arlib.provision import given, movement, pools
from arlib.provision.allowance import (
    ALLOWANCE,
    EXPOSURE,
    LOSS_RATE,
    SPECIFIC,
    STATUS_SINCE,
    TOTAL,
    adjusted_rates,
    allowance_rollforward,
    movements,
    provision_matrix,
    scenario_table,
    specific_provisions,
    split_specific,
    to_cents,
)
from arlib.provision.allowance import write_off_candidates as _write_off_candidates
from arlib.provision.lossforecast import forecast_invoicing, monthly_invoicing
from arlib.provision.lossforecast import provision_forecast as _provision_forecast
from arlib.provision.models import ProvisionModels, models_for
from arlib.provision.models import rates as _rates
from arlib.provision.monthends import close_items, month_end_items
from arlib.provision.pools import fit_models
from arlib.provision.rollrate import RollRateModel
from arlib.provision.settings import METHODS, ONE_POOL, POOLED, ProvisionSettings, settings_with
from arlib.provision.vintage import VintageLossModel
from arlib.schemas import C

__all__ = [
    "METHODS",
    "ProvisionModels",
    "ProvisionSettings",
    "RollRateModel",
    "VintageLossModel",
    "adjusted_rates",
    "allowance_history",
    "allowance_rollforward",
    "compare_methods",
    "estimate_allowance",
    "fit_models",
    "forecast_invoicing",
    "kpis",
    "loss_rate_table",
    "monthly_invoicing",
    "movements",
    "forecast_table",
    "provision_forecast",
    "provision_matrix",
    "roll_rate_model",
    "rollforward",
    "scenario_table",
    "specific_provisions",
    "specific_table",
    "split_specific",
    "vintage_model",
    "write_off_candidates",
]


def _table(
    ledger: Ledger,
    as_of,
    s: ProvisionSettings,
    method: str,
    models: ProvisionModels | None,
    items: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The booked table at ``as_of``; ``items``: the open items there, when the caller has them."""
    if items is None:
        items = close_items(ledger, as_of, s.aging_thresholds)
    flagged, pool = split_specific(items, ledger.customers, s.specific_statuses, as_of)
    lines = ()
    if s.provision_booking == POOLED:
        pooled = pools.pool_lines(ledger, as_of, s, method, models, items)
        coll, lines = pools.by_bucket(pooled), pools.as_attrs(pooled)
    else:
        fitted = (
            {given.GIVEN: models.given}
            if method == given.GIVEN
            else models_for(models, ledger, as_of, s, [method])
        )
        exposure = pool.groupby(C.bucket, observed=False)[C.open_amount].sum()
        exposure.index = exposure.index.astype(str)
        coll = provision_matrix(exposure, _rates(method, fitted, pool), s.adjustment).iloc[:-1]
    spec = specific_provisions(flagged, ledger.customers, s.specific_rate, s.expected_recovery)
    s_exp, s_alw = (
        sum(to_cents(v) for v in spec[EXPOSURE]),
        sum(to_cents(v) for v in spec[ALLOWANCE]),
    )
    spec_row = {
        C.bucket: SPECIFIC,
        EXPOSURE: s_exp / 100,
        LOSS_RATE: s_alw / s_exp if s_exp else 0.0,
        ALLOWANCE: s_alw / 100,
    }
    out = pd.concat([coll, pd.DataFrame([spec_row])], ignore_index=True)
    exp_c, alw_c = sum(to_cents(v) for v in out[EXPOSURE]), sum(to_cents(v) for v in out[ALLOWANCE])
    out.loc[len(out)] = {
        C.bucket: TOTAL,
        EXPOSURE: exp_c / 100,
        LOSS_RATE: alw_c / exp_c if exp_c else 0.0,
        ALLOWANCE: alw_c / 100,
    }
    out[EXPOSURE], out[ALLOWANCE] = out[EXPOSURE].round(2), out[ALLOWANCE].round(2)
    out = out.reset_index(drop=True)
    out.attrs.update(method=method, as_of=str(pd.Timestamp(as_of).date()))
    if lines:  # booked pooled: the pool lines the overlay, sensitivity and Excel sheet read
        out.attrs.update(booking=POOLED, pools=s.provision_pools, pool_lines=lines)
    return out


def estimate_allowance(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    method: str | None = None,
    *,
    models: ProvisionModels | None = None,
) -> pd.DataFrame:
    """The allowance at ``as_of``: one line per aging bucket of the collective pool, a
    ``specific`` line and a ``total`` line (``bucket, exposure, base_loss_rate, loss_rate,
    allowance``; ``loss_rate`` of the total is the coverage of open AR). ``method`` overrides
    ``settings.provision_method``. ``models``: from :func:`fit_models` for the same ledger,
    ``as_of`` and settings (fitted here without).

    With ``provision_booking: pooled`` the collective lines are the sums of the pools' matrices
    (:mod:`arlib.provision.pools`; ``base_loss_rate`` exposure-weighted, ``loss_rate`` allowance
    / exposure), and ``attrs`` holds ``booking``, ``pools`` and the ``pool_lines``."""
    s = settings_with(settings, **({"provision_method": method} if method else {}))
    if open_items_only(ledger):  # the rates given in params, or the sentence asking for them
        s = settings_with(s, provision_booking=ONE_POOL)  # one matrix of the given rates
        models = models or fit_models(ledger, as_of, s)
        if models.given is None:
            return given.no_allowance([C.bucket, EXPOSURE, "base_loss_rate", LOSS_RATE, ALLOWANCE])
        return _table(ledger, as_of, s, given.GIVEN, models)
    return _table(ledger, as_of, s, s.provision_method, models)


def specific_table(
    ledger: Ledger, as_of, settings: ProvisionSettings | None = None
) -> pd.DataFrame:
    """The specific provisions at ``as_of``, one line per flagged customer (see
    :func:`arlib.provision.allowance.specific_provisions`), largest exposure first."""
    s = settings_with(settings)
    flagged, _ = split_specific(
        close_items(ledger, as_of, s.aging_thresholds), ledger.customers, s.specific_statuses, as_of
    )
    out = specific_provisions(flagged, ledger.customers, s.specific_rate, s.expected_recovery)
    return out.sort_values(EXPOSURE, ascending=False, kind="stable").reset_index(drop=True)


def roll_rate_model(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    *,
    models: ProvisionModels | None = None,
) -> RollRateModel:
    """A :class:`RollRateModel` fitted with the settings' look-back, weighting and buckets (the
    one in ``models`` when given); for an open-item list a stand-in whose tables are empty
    and say why (:func:`arlib.provision.given.roll_rates_stand_in`)."""
    if open_items_only(ledger):
        return given.roll_rates_stand_in()
    s = settings_with(settings)
    return models_for(models, ledger, as_of, s, ["roll_rate"])["roll_rate"]


def vintage_model(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    *,
    models: ProvisionModels | None = None,
) -> VintageLossModel:
    """A :class:`VintageLossModel` fitted with the settings' look-back, horizon and recovery rule
    (the one in ``models`` when given); for an open-item list a stand-in whose tables are empty
    and say why."""
    if open_items_only(ledger):
        return given.vintage_stand_in()
    s = settings_with(settings)
    return models_for(models, ledger, as_of, s, ["vintage"])["vintage"]


def loss_rate_table(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    *,
    models: ProvisionModels | None = None,
) -> pd.DataFrame:
    """Loss rate per bucket by method, before the forward-looking adjustment: ``bucket`` and one
    column per method (vintage rates are implied on the collective pool at ``as_of``); no rows
    for an open-item list (nothing learned)."""
    s = settings_with(settings)
    if open_items_only(ledger):
        return needs_history(pd.DataFrame(columns=[C.bucket, *METHODS]), "Learning loss rates")
    fitted = models_for(models, ledger, as_of, s, METHODS)
    items = close_items(ledger, as_of, s.aging_thresholds)
    _, pool = split_specific(items, ledger.customers, s.specific_statuses, as_of)
    out = pd.DataFrame({m: _rates(m, fitted, pool).to_numpy() for m in METHODS})
    out.insert(0, C.bucket, bucket_labels(s.aging_thresholds))
    return out


def compare_methods(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    *,
    models: ProvisionModels | None = None,
) -> pd.DataFrame:
    """Allowance by method: ``method, collective, specific, allowance, open_ar, coverage_ratio``
    (no rows for an open-item list: no method can be fitted)."""
    s = settings_with(settings)
    if open_items_only(ledger):
        cols = ["method", "collective", "specific", ALLOWANCE, "open_ar", "coverage_ratio"]
        return needs_history(pd.DataFrame(columns=cols), "Comparing loss-rate methods")
    models = fit_models(ledger, as_of, s, METHODS) if models is None else models
    items = close_items(ledger, as_of, s.aging_thresholds)  # once for the three methods
    rows = []
    for m in METHODS:
        t = _table(ledger, as_of, s, m, models, items).set_index(C.bucket)
        rows.append(
            {
                "method": m,
                "collective": round(t[ALLOWANCE].iloc[:-2].sum(), 2),
                "specific": t.at[SPECIFIC, ALLOWANCE],
                ALLOWANCE: t.at[TOTAL, ALLOWANCE],
                "open_ar": t.at[TOTAL, EXPOSURE],
                "coverage_ratio": t.at[TOTAL, LOSS_RATE],
            }
        )
    return pd.DataFrame(rows)


def allowance_history(
    ledger: Ledger,
    dates: Sequence,
    settings: ProvisionSettings | None = None,
    status_as_of=None,
    *,
    models: ProvisionModels | None = None,
) -> pd.Series:
    """Closing allowance at each date, each refitted on the data known at that date (at
    ``models.as_of``, the models given are used instead: the same fit).

    Customer status is a snapshot: without a ``status_since`` column in the customers frame,
    specific provisions apply only at dates on or after ``status_as_of`` (default: the last
    date) and earlier dates are collective only. With ``status_since``, each date uses the
    flags set by then.
    """
    tables = _history(ledger, dates, settings, status_as_of, models=models)
    vals = [t.iloc[-1][ALLOWANCE] for t, _ in tables]
    return pd.Series(vals, index=pd.DatetimeIndex(dates, name=C.month_end), name=ALLOWANCE)


def _history(
    ledger: Ledger, dates, settings, status_as_of=None, *, models=None
) -> list[tuple[pd.DataFrame, ProvisionSettings]]:
    """The allowance table at each date with the settings used there (see
    :func:`allowance_history`)."""
    return [
        (table, sd) for _, table, sd, _ in _tables(ledger, dates, settings, status_as_of, models)
    ]


def _tables(ledger: Ledger, dates, settings, status_as_of=None, models=None):
    """Per date ``(date, table, settings used, open items)``, one date at a time (the open
    items of all dates read in one pass, :func:`arlib.provision.monthends.month_end_items`,
    each date's by the table and its caller); the fits' warnings are issued once per message
    when the last date is done."""
    s = settings_with(settings)
    dates = pd.DatetimeIndex(dates)
    cut = pd.Timestamp(status_as_of) if status_as_of is not None else dates[-1]
    if ledger.customers is not None and STATUS_SINCE in ledger.customers:
        cut = dates[0]
    no_flags = settings_with(s, specific_statuses=())
    seen = {}
    for d, items in month_end_items(ledger, dates, s.aging_thresholds):
        sd = s if d >= cut else no_flags
        known = models if models is not None and d == models.as_of else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if known is not None:  # its fit's warnings count for this date as a refit's would
                known.replay_warnings([sd.provision_method])
            table = _table(ledger, d, sd, sd.provision_method, known, items)
        for w in caught:
            seen.setdefault(str(w.message), []).append(str(d.date()))
        yield d, table, sd, items
    for msg, when in seen.items():  # once per message, not once per month-end
        warnings.warn(
            f"allowance history, at {len(when)} of {len(dates)} dates ({when[0]} .. {when[-1]}): {msg}",
            stacklevel=4,
        )


def rollforward(
    ledger: Ledger,
    as_of,
    months: int = 12,
    settings: ProvisionSettings | None = None,
    *,
    models: ProvisionModels | None = None,
) -> pd.DataFrame:
    """Allowance roll-forward for the ``months`` months to ``as_of``, per month-end: ``opening,
    new_provisions, releases, charge, write_offs`` (utilisation), ``recoveries, fx, closing``
    (:mod:`arlib.provision.movement`), closing as in :func:`allowance_history` (earlier
    month-ends refitted on the data known then; ``as_of`` from ``models`` if given). The charge
    (bad-debt expense) is ``closing - opening + write_offs - recoveries``, to the cent."""
    if int(months) < 1:
        raise ConfigError("rollforward_months", f"must be >= 1, got {months}")
    if open_items_only(ledger):  # earlier month-ends are not in an open-item list
        cols = ["opening", "new_provisions", "releases", "charge", "write_offs", "recoveries"]
        frame = pd.DataFrame(columns=[*cols, "fx", "closing"], dtype=float)
        frame.index = pd.DatetimeIndex([], name=C.month_end)
        return needs_history(frame, "The allowance roll-forward")
    as_of = pd.Timestamp(as_of)
    dates = month_ends(as_of - pd.DateOffset(months=int(months)), as_of)
    if not as_of.is_month_end:
        dates = dates[:-1].append(pd.DatetimeIndex([as_of]))
    s = settings_with(settings)
    pool_of = (
        pools.pool_of(ledger, s.provision_pools, s.pool_keys)
        if s.provision_booking == POOLED
        else None
    )
    items = []
    for d, table, sd, open_items in _tables(ledger, dates, settings, as_of, models):
        flagged, pool = split_specific(open_items, ledger.customers, sd.specific_statuses, d)
        spec = specific_provisions(
            flagged, ledger.customers, sd.specific_rate, sd.expected_recovery
        )
        items.append(movement.item_cents(pool, table, flagged, spec, pool_of))
    return movement.split_rows(items, dates, ledger)


def provision_forecast(
    ledger: Ledger,
    as_of,
    horizon: int = 3,
    settings: ProvisionSettings | None = None,
    *,
    models: ProvisionModels | None = None,
    **kwargs,
) -> pd.DataFrame:
    """:func:`arlib.provision.lossforecast.provision_forecast` with the settings' look-back, adjustment and
    specific-provision policy, on the roll-rate model of ``models`` when given; extra keyword
    arguments pass through. No rows for an open-item list (no roll rates to run forward)."""
    s = settings_with(settings)
    if open_items_only(ledger):
        lv = int(kwargs.get("level", 80))
        cols = ["metric", C.month_end, "yhat", f"yhat_lo_{lv}", f"yhat_hi_{lv}"]
        return needs_history(pd.DataFrame(columns=cols), "The provision forecast")
    model = None if models is None else models_for(models, ledger, as_of, s, ["roll_rate"])
    return _provision_forecast(
        ledger,
        as_of,
        horizon,
        model=None if model is None else model["roll_rate"],
        lookback=s.roll_rate_lookback,
        weighting=s.roll_rate_weighting,
        adjustment=s.adjustment,
        statuses=s.specific_statuses,
        specific_rate=s.specific_rate,
        expected_recovery=s.expected_recovery,
        thresholds=s.aging_thresholds,
        **kwargs,
    )


def write_off_candidates(ledger: Ledger, as_of, **policy) -> pd.DataFrame:
    """:func:`arlib.provision.allowance.write_off_candidates`; no rows for an open-item list,
    whose customers' last payments are unknown (not "none"), so the policy cannot be applied."""
    out = _write_off_candidates(ledger, as_of, **policy)
    if open_items_only(ledger):
        return needs_history(out, "The write-off policy (no payment from the customer for a time)")
    return out


def forecast_table(forecast: pd.DataFrame) -> pd.DataFrame:
    """The provision forecast for display: ``metric, month_end, forecast, low, high`` (the range
    bounds renamed from ``yhat_lo_<level>`` / ``yhat_hi_<level>``), metrics in reading order and
    named in the report language (:func:`arlib.i18n.language`)."""
    lo = next(c for c in forecast.columns if c.startswith("yhat_lo"))
    hi = next(c for c in forecast.columns if c.startswith("yhat_hi"))
    out = forecast.rename(columns={"yhat": "forecast", lo: "low", hi: "high"})
    order = {
        m: i
        for i, m in enumerate(
            ("invoiced", "write_offs", "recoveries", "allowance", "charge", "cumulative_charge")
        )
    }
    out = out.sort_values(
        ["metric", C.month_end],
        key=lambda s: s.map(order) if s.name == "metric" else s,
        kind="stable",
    )
    out = out.assign(metric=out["metric"].map(lambda m: t(m)))
    return out[["metric", C.month_end, "forecast", "low", "high"]].reset_index(drop=True)


def kpis(
    allowance_table: pd.DataFrame,
    comparison: pd.DataFrame | None = None,
    forecast: pd.DataFrame | None = None,
) -> dict:
    """Headline figures for ``kpis.json`` from :func:`estimate_allowance`'s table:
    ``allowance``, ``allowance_by_bucket`` (collective buckets and ``specific``),
    ``coverage_ratio`` (allowance / open AR), ``provision_method`` and ``provision_booking``; with a
    :func:`compare_methods` frame also ``allowance_by_method`` and ``coverage_by_method``; with a
    :func:`provision_forecast` frame the horizon's ``bad_debt_expense_forecast`` and its range."""
    if not len(allowance_table):  # an open-item list without loss_rates: not defined, and why
        return {ALLOWANCE: None, f"{ALLOWANCE}_note": allowance_table.attrs.get("empty_reason")}
    t = allowance_table.set_index(C.bucket)
    out = {
        ALLOWANCE: float(t.at[TOTAL, ALLOWANCE]),
        "allowance_by_bucket": {str(b): float(a) for b, a in t[ALLOWANCE].drop(TOTAL).items()},
        "coverage_ratio": float(t.at[TOTAL, LOSS_RATE]),
        "provision_method": allowance_table.attrs.get("method"),
        "provision_booking": allowance_table.attrs.get("booking", ONE_POOL),
    }
    if comparison is not None and len(comparison):
        out["allowance_by_method"] = {
            m: float(a) for m, a in zip(comparison["method"], comparison[ALLOWANCE])
        }
        out["coverage_by_method"] = {
            m: float(c) for m, c in zip(comparison["method"], comparison["coverage_ratio"])
        }
    if forecast is not None and len(forecast):
        last = forecast.loc[forecast["metric"] == "cumulative_charge"].iloc[-1]
        lo = next(c for c in forecast.columns if c.startswith("yhat_lo"))
        hi = next(c for c in forecast.columns if c.startswith("yhat_hi"))
        out.update(
            bad_debt_expense_forecast=float(last["yhat"]),
            bad_debt_expense_forecast_lo=float(last[lo]),
            bad_debt_expense_forecast_hi=float(last[hi]),
            bad_debt_expense_forecast_to=str(pd.Timestamp(last[C.month_end]).date()),
        )
    return out
