"""Cash scenarios from params: customers pay later, named customers default, invoicing changes.

A scenario is a mapping (params ``forecast_scenarios: {name: {...}}``) with any of:

``pay_later_days``
    every matching open invoice is paid this many days later than its expected distribution
    says (negative: earlier); with no ``segment``/``customers`` filter, the invoicing still to
    come is paid later too;
``segment`` / ``grade`` / ``customers``
    which customers pay later: one segment, one credit grade or a list of grades (the health
    report's scorecard grade, A best to E; see :func:`arlib.report.handoff.scenario_grades`),
    or a list of customer ids (default: all);
``default``
    customer ids whose open invoices bring no more cash;
``invoicing_change``
    invoicing after ``as_of`` changes by this fraction (``-0.1``: 10% less).

:func:`compare` re-runs the :class:`arlib.forecast.weekly.CashView` under each scenario and
gives, per week or month, the base case and each scenario's difference from it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.forecast.weekly import CashView, cash_by_period, new_invoicing_cash
from arlib.health.credit import GRADE_CUTS
from arlib.schemas import C

KEYS = ("pay_later_days", "segment", "grade", "customers", "default", "invoicing_change")
#: the keys that narrow who pays later (at most one per scenario)
FILTERS = ("segment", "grade", "customers")
BASE = "base"
#: the scorecard's grades, best first
GRADES = tuple(GRADE_CUTS)


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
        given = [k for k in FILTERS if k in spec]
        if len(given) > 1:
            raise ConfigError(where, f"give one of segment, grade or customers, not both {given}")
        if "grade" in spec and not (
            isinstance(spec["grade"], str) or (isinstance(spec["grade"], list) and spec["grade"])
        ):
            raise ConfigError(f"{where}.grade", "must be a grade such as D or a list [D, E]")
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


def _matching(cust: pd.Series, spec: Mapping, segments: pd.Series, grades: pd.Series) -> np.ndarray:
    """Which customers (``cust``, one per open item) the scenario's filter picks."""
    if "segment" in spec:
        return (cust.map(segments) == str(spec["segment"])).to_numpy()
    if "grade" in spec:
        wanted = spec["grade"] if isinstance(spec["grade"], list) else [spec["grade"]]
        return cust.map(grades).isin([str(g) for g in wanted]).to_numpy()
    if "customers" in spec:
        return cust.isin([str(c) for c in spec["customers"]]).to_numpy()
    return np.ones(len(cust), bool)


def _daily(
    view: CashView, spec: Mapping, segments: pd.Series, grades: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Open-item and new-invoicing cash per day under one scenario."""
    model, items = view.model, view.model.items_
    cust = items[C.customer_id].astype(str)
    match = _matching(cust, spec, segments, grades)
    later = int(spec.get("pay_later_days", 0))
    cond = model.conditional(items, np.where(match, later, 0))
    gone = cust.isin([str(c) for c in spec.get("default", [])]).to_numpy()
    open_daily = model.daily(items, cond.without(gone), through=view.last)
    everyone = not any(k in spec for k in FILTERS)
    new_daily = new_invoicing_cash(
        view.invoicing,
        model,
        view.terms,
        scale=1.0 + float(spec.get("invoicing_change", 0.0)),
        shift=later if everyone else 0,
    )
    return open_daily, new_daily


def compare(
    view: CashView,
    scenarios: Mapping,
    ledger,
    horizon: int,
    period: str,
    grades: pd.Series | None = None,
) -> pd.DataFrame:
    """Per period (``period_end``), the base case's cash and each scenario's difference from
    it (scenario minus base; negative: less cash), one column per scenario. Empty scenarios:
    the base case alone.

    ``grades`` (customer id -> grade letter) is needed by scenarios with a ``grade``; without
    it they raise :class:`~arlib.errors.ConfigError`. A grade no customer has moves nothing
    (its column is zero), so the grades present are named in that error too."""
    base = view.by_period(horizon, period)
    out = base[["period_end"]].assign(**{BASE: base["yhat"].to_numpy()})
    cust = ledger.customers
    segments = (
        cust.drop_duplicates(C.customer_id).set_index(C.customer_id)[C.segment].astype(str)
        if cust is not None and C.segment in cust.columns
        else pd.Series(dtype=str)
    )
    segments.index = segments.index.astype(str)
    grades = _grades(grades)
    for name, spec in check(scenarios).items():
        _known_grades(name, spec, grades)
        o, n = _daily(view, spec, segments, grades)
        alt = cash_by_period(o, n, view.as_of, horizon, period)
        out[name] = alt["yhat"].to_numpy() - base["yhat"].to_numpy()
    return out


def _grades(grades: pd.Series | None) -> pd.Series | None:
    """``grades`` indexed by customer id as text (``None`` stays ``None``)."""
    if grades is None:
        return None
    out = pd.Series(grades).astype(str)
    out.index = out.index.astype(str)
    return out


def _known_grades(name: str, spec: Mapping, grades: pd.Series | None) -> None:
    """Refuse a ``grade`` scenario without grades or with a grade unknown to the scorecard
    (a typo would move nothing while looking fine); warn when no customer has the grade."""
    if "grade" not in spec:
        return
    where = f"forecast_scenarios.{name}.grade"
    if grades is None:
        raise ConfigError(
            where,
            "needs the customers' credit grades; pass grades= (the notebook takes them from the "
            "health report's scorecard, arlib.report.handoff.scenario_grades)",
        )
    wanted = [
        str(g) for g in (spec["grade"] if isinstance(spec["grade"], list) else [spec["grade"]])
    ]
    present = set(grades.unique())
    bad = [g for g in wanted if g not in present | set(GRADES)]
    if bad:
        raise ConfigError(
            where,
            f"{bad[0]!r} is not a grade; use one of {', '.join(sorted(present | set(GRADES)))}",
        )
    if not present & set(wanted):
        warnings.warn(
            f"forecast_scenarios.{name}: no customer has grade {', '.join(wanted)} at the close; "
            "the scenario moves no cash",
            UserWarning,
            stacklevel=3,
        )
