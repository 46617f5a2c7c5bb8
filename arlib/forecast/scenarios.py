"""Cash scenarios from params: customers pay later, named customers default, invoicing changes.

A scenario is a mapping (params ``forecast_scenarios: {name: {...}}``) with any of:

``pay_later_days``
    every matching open invoice is paid this many days later than its expected distribution
    says (negative: earlier); with no ``segment``/``customers`` filter, the invoicing still to
    come is paid later too;
``segment`` / ``customers``
    which customers pay later: one segment, or a list of customer ids (default: all);
``default``
    customer ids whose open invoices bring no more cash;
``invoicing_change``
    invoicing after ``as_of`` changes by this fraction (``-0.1``: 10% less).

:func:`compare` re-runs the :class:`arlib.forecast.weekly.CashView` under each scenario and
gives, per week or month, the base case and each scenario's difference from it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.forecast.weekly import CashView, cash_by_period, new_invoicing_cash
from arlib.schemas import C

KEYS = ("pay_later_days", "segment", "customers", "default", "invoicing_change")
BASE = "base"


def check(scenarios: Mapping) -> dict:
    """The scenarios, checked: a mapping of name -> mapping of :data:`KEYS`; errors name the
    scenario and the key."""
    if not isinstance(scenarios, Mapping):
        raise ConfigError("forecast_scenarios", "must be a mapping {name: {key: value}}")
    out = {}
    for name, spec in scenarios.items():
        where = f"forecast_scenarios.{name}"
        if not isinstance(spec, Mapping) or not spec:
            raise ConfigError(where, f"must be a non-empty mapping with keys among {list(KEYS)}")
        bad = [k for k in spec if k not in KEYS]
        if bad:
            raise ConfigError(where, f"unknown key {bad[0]!r}; use {', '.join(KEYS)}")
        if "segment" in spec and "customers" in spec:
            raise ConfigError(where, "give segment or customers, not both")
        for key in ("pay_later_days",):
            if key in spec and not isinstance(spec[key], int):
                raise ConfigError(f"{where}.{key}", f"must be whole days, got {spec[key]!r}")
        if "invoicing_change" in spec and not (
            isinstance(spec["invoicing_change"], int | float) and spec["invoicing_change"] > -1
        ):
            raise ConfigError(
                f"{where}.invoicing_change", "must be a fraction above -1, e.g. -0.1 for 10% less"
            )
        for key in ("customers", "default"):
            if key in spec and not isinstance(spec[key], list):
                raise ConfigError(f"{where}.{key}", "must be a list of customer ids")
        out[str(name)] = dict(spec)
    return out


def _daily(view: CashView, spec: Mapping, segments: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Open-item and new-invoicing cash per day under one scenario."""
    model, items = view.model, view.model.items_
    cust = items[C.customer_id].astype(str)
    match = np.ones(len(items), bool)
    if "segment" in spec:
        match = (cust.map(segments) == str(spec["segment"])).to_numpy()
    elif "customers" in spec:
        match = cust.isin([str(c) for c in spec["customers"]]).to_numpy()
    later = int(spec.get("pay_later_days", 0))
    cond, _ = model.conditional(items, np.where(match, later, 0))
    gone = cust.isin([str(c) for c in spec.get("default", [])]).to_numpy()
    cond[gone] = 0.0
    open_daily = model.daily(items, cond)
    everyone = "segment" not in spec and "customers" not in spec
    new_daily = new_invoicing_cash(
        view.invoicing,
        model,
        view.terms,
        scale=1.0 + float(spec.get("invoicing_change", 0.0)),
        shift=later if everyone else 0,
    )
    return open_daily, new_daily


def compare(view: CashView, scenarios: Mapping, ledger, horizon: int, period: str) -> pd.DataFrame:
    """Per period (``period_end``), the base case's cash and each scenario's difference from
    it (scenario minus base; negative: less cash), one column per scenario. Empty scenarios:
    the base case alone."""
    base = view.by_period(horizon, period)
    out = base[["period_end"]].assign(**{BASE: base["yhat"].to_numpy()})
    cust = ledger.customers
    segments = (
        cust.drop_duplicates(C.customer_id).set_index(C.customer_id)[C.segment].astype(str)
        if cust is not None and C.segment in cust.columns
        else pd.Series(dtype=str)
    )
    segments.index = segments.index.astype(str)
    for name, spec in check(scenarios).items():
        o, n = _daily(view, spec, segments)
        alt = cash_by_period(o, n, view.as_of, horizon, period)
        out[name] = alt["yhat"].to_numpy() - base["yhat"].to_numpy()
    return out
