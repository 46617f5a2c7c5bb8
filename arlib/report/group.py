"""Group roll-up: every unit's ``kpis.json`` converted to the group currency and ranked.

Amounts are converted with one rate per currency (units of group currency per unit of the
unit's currency, at ``as_of``); the previous month-end is converted at the same rates, so a
change is a change in the units' own figures, not in exchange rates. Group ratios are
recomputed from the summed amounts, never averaged:

* DSO = sum of open AR / sum of each unit's daily billings (billings / its window days), which is
  sum of open AR / sum of billings x window days when the units share one window;
* CEI from the summed AR at window start, billings, open and current AR, only when every unit
  uses the same window (otherwise windows of different lengths would be mixed: not shown);
* past-due share = past due / open; coverage = allowance / open AR.

A group amount (allowance, forecast collections) is shown only when every unit reports it, and
forecast collections only when every unit forecasts the same period: a partial sum would pass
for the group's. The reason is kept in ``consolidated.attrs["notes"]``.

>>> units = [{"business_unit": "a", "currency": "EUR", "open_ar": 100.0, "current_ar": 60.0,
...           "past_due_ar": 40.0, "billings_window": 300.0, "window_days": 90, "dso": 30.0},
...          {"business_unit": "b", "currency": "USD", "open_ar": 200.0, "current_ar": 200.0,
...           "past_due_ar": 0.0, "billings_window": 200.0, "window_days": 90, "dso": 90.0}]
>>> g = consolidate(units, "EUR", {"USD": 0.5})
>>> [float(v) for v in g.loc["GROUP", ["open_ar", "past_due_share", "dso"]]]
[200.0, 0.2, 45.0]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.i18n import t

GROUP = "GROUP"
AMOUNTS = (
    "open_ar",
    "current_ar",
    "past_due_ar",
    "ar_window_start",
    "billings_window",
    "collections_window",
    "allowance",
    "forecast_collections_next",
)
#: KPIs ranked by performance -> True when higher is better. Size (open AR, allowance,
#: forecast collections) is not performance, and provision coverage is direction-neutral (a
#: higher coverage is more prudence, not worse collection): neither is ranked.
PERFORMANCE = {"dso": False, "past_due_share": False, "cei": True, "add": False}
RATIOS = ("dso", "past_due_share", "cei", "add", "coverage_ratio", "window_days")


def load_unit_kpis(reports_dir: str | Path, units: list[str] | None = None) -> list[dict]:
    """``kpis.json`` of the given ``units`` under ``reports_dir`` (the runner passes the units of
    this run that ran to the end, so a folder from another run is never summed); without
    ``units``, every unit folder there. A unit without figures is left out (the landing page
    shows its failure)."""
    folders = (
        [Path(reports_dir) / u for u in units]
        if units
        else sorted(
            p.parent for p in Path(reports_dir).glob("*/kpis.json") if p.parent.name != "group"
        )
    )
    out = []
    for folder in folders:
        path = folder / "kpis.json"
        kpis = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if kpis.get("open_ar") is not None:
            out.append(kpis)
    return out


def rate_for(currency: str, group_currency: str, fx_rates: dict) -> float:
    if currency == group_currency:
        return 1.0
    if currency not in fx_rates:
        raise ConfigError(
            "fx_rates",
            f"has no rate for {currency} -> {group_currency}; add e.g. "
            f"{currency}: 0.92 (units of {group_currency} per {currency} at as_of)",
        )
    return float(fx_rates[currency])


def _ratio(num, den):
    return float(num / den) if den and num == num and den == den else None


def _unit_row(k: dict, group_currency: str, fx_rates: dict) -> dict:
    rate = rate_for(k.get("currency", group_currency), group_currency, fx_rates)
    row = {"business_unit": k["business_unit"], "currency": k.get("currency"), "fx_rate": rate}
    row.update({a: (k[a] * rate if k.get(a) is not None else np.nan) for a in AMOUNTS})
    row.update({r: k.get(r) for r in RATIOS})
    row["forecast_period"] = k.get("forecast_period")
    return row


def _group_amounts(df: pd.DataFrame, notes: dict) -> pd.Series:
    """Sums of the converted amounts; an amount some units lack is not summed (noted)."""
    tot = df[list(AMOUNTS)].sum(min_count=1)
    for a in AMOUNTS:
        missing = df.index[df[a].isna()].astype(str).tolist()
        if missing and len(missing) < len(df):
            tot[a] = np.nan
            notes[a] = ("not reported by {units}: no group total", {"units": ", ".join(missing)})
    periods = set(df["forecast_period"].dropna())
    if len(periods) > 1:
        tot["forecast_collections_next"] = np.nan
        notes["forecast_collections_next"] = (
            "units forecast different periods ({periods}): no group total",
            {"periods": ", ".join(sorted(periods))},
        )
    return tot


def _group_row(df: pd.DataFrame, group_currency: str, notes: dict) -> dict:
    tot = _group_amounts(df, notes)
    days = df["window_days"].astype(float)
    daily = (df["billings_window"] / days).sum(min_count=1)  # NaN when any window is unknown
    one_window = days.notna().all() and days.nunique() == 1
    if not one_window:
        notes["cei"] = ("units use KPI windows of different lengths: no group CEI", {})
    cei_den = tot["ar_window_start"] + tot["billings_window"] - tot["current_ar"]
    cei_num = tot["ar_window_start"] + tot["billings_window"] - tot["open_ar"]
    periods = df["forecast_period"].dropna()
    return dict(
        tot,
        currency=group_currency,
        fx_rate=1.0,
        window_days=float(days.iloc[0]) if one_window else np.nan,
        dso=_ratio(tot["open_ar"], daily) if daily == daily else None,
        past_due_share=_ratio(tot["past_due_ar"], tot["open_ar"]),
        cei=_ratio(100 * cei_num, cei_den) if one_window else None,
        add=None,
        coverage_ratio=_ratio(tot["allowance"], tot["open_ar"]),
        forecast_period=periods.iloc[0] if len(set(periods)) == 1 else None,
    )


def consolidate(unit_kpis: list[dict], group_currency: str, fx_rates: dict) -> pd.DataFrame:
    """One row per unit plus a ``GROUP`` row: amounts in the group currency, ratios as reported
    by the unit (group ratios recomputed from the amounts, see the module docstring). Why a
    group figure is not shown is in ``.attrs["notes"]`` (KPI -> (message id, fields)), read
    with :func:`note`."""
    notes: dict[str, tuple[str, dict]] = {}
    df = pd.DataFrame([_unit_row(k, group_currency, fx_rates) for k in unit_kpis])
    df = df.set_index("business_unit").astype({r: float for r in RATIOS})
    group = pd.DataFrame([_group_row(df, group_currency, notes)], index=[GROUP])
    out = pd.concat([df, group.astype(df.dtypes.to_dict())]).rename_axis("business_unit")
    out.attrs["notes"] = notes
    return out


def note(consolidated: pd.DataFrame, kpi: str, lang: str = "en") -> str | None:
    """Why the group figure of ``kpi`` is not shown (translated), or None."""
    found = consolidated.attrs.get("notes", {}).get(kpi)
    return t(found[0], lang).format(**found[1]) if found else None


def previous_month(unit_kpis: list[dict]) -> list[dict]:
    """Each unit's figures at the previous month-end (as recorded by its reports), shaped like
    ``kpis.json`` for :func:`consolidate`: the health report's balance figures, the allowance
    then, and the last actual period's collections in place of a forecast (what the forecast
    is compared with). A unit without them keeps an empty row, so the group's previous sums
    are not partial (they are not shown)."""
    out = []
    for k in unit_kpis:
        prev = dict(k.get("previous_month") or {})
        prev.update(
            business_unit=k["business_unit"],
            currency=k.get("currency"),
            allowance=k.get("allowance_previous"),
            forecast_collections_next=k.get("collections_last_month"),
            forecast_period=k.get("collections_last_period"),
        )
        if prev.get("allowance") is not None and prev.get("open_ar"):
            prev["coverage_ratio"] = prev["allowance"] / prev["open_ar"]
        out.append(prev)
    return out


def ranking(consolidated: pd.DataFrame) -> pd.DataFrame:
    """Rank of each unit (1 = best) on each performance KPI it reports (:data:`PERFORMANCE`),
    and ``overall``: the order of the mean of those ranks (ties share the better rank).

    >>> g = pd.DataFrame({"dso": [30.0, 60.0, 45.0], "cei": [80.0, 90.0, 70.0]},
    ...                  index=pd.Index(["a", "b", GROUP], name="business_unit"))
    >>> ranking(g).to_dict("list")
    {'dso': [1, 2], 'cei': [2, 1], 'overall': [1, 1]}
    """
    units = consolidated.drop(index=GROUP)
    out = pd.DataFrame(index=units.index)
    for kpi, higher_better in PERFORMANCE.items():
        if kpi in units and units[kpi].notna().any():
            out[kpi] = (
                units[kpi]
                .astype(float)
                .rank(ascending=not higher_better, method="min")
                .astype("Int64")
            )
    if len(out.columns):
        out["overall"] = out.astype(float).mean(axis=1).rank(method="min").astype("Int64")
    return out


def rank_order(ranks: pd.DataFrame) -> list[str]:
    """The units best first by overall rank (ties by unit code)."""
    keys = ranks.assign(_u=ranks.index.astype(str))
    return keys.sort_values(["overall", "_u"] if "overall" in ranks else ["_u"])["_u"].tolist()


MONEY_COLUMNS = [
    "Open AR",
    "Past-due AR",
    "Billings (window)",
    "Collections (window)",
    "Forecast collections",
    "Allowance",
]


def overview(consolidated: pd.DataFrame) -> pd.DataFrame:
    """The conversion table of the group report: each unit's amounts in the group currency at
    its rate, to the cent, and the group's sum (the ratios are in the unit x KPI table)."""
    cols = {
        "currency": "Currency",
        "fx_rate": "FX rate",
        "open_ar": "Open AR",
        "past_due_ar": "Past-due AR",
        "billings_window": "Billings (window)",
        "collections_window": "Collections (window)",
        "forecast_collections_next": "Forecast collections",
        "allowance": "Allowance",
    }
    out = consolidated[[c for c in cols if c in consolidated]].rename(columns=cols)
    out = out.dropna(axis=1, how="all").rename(index={GROUP: t("Group")})
    return out.reset_index().rename(columns={"business_unit": "Business unit"})


def kpis(consolidated: pd.DataFrame, group_currency: str) -> dict:
    """Headline group figures for the group's ``kpis.json``."""
    g = consolidated.loc[GROUP]
    out = {
        "business_unit": GROUP,
        "currency": group_currency,
        "units": [str(u) for u in consolidated.index if u != GROUP],
    }
    for k in (*AMOUNTS, "dso", "past_due_share", "cei", "coverage_ratio", "window_days"):
        if k in g and pd.notna(g[k]):
            out[k] = round(float(g[k]), 2) if k in AMOUNTS else float(g[k])
    if g.get("forecast_period"):
        out["forecast_period"] = g["forecast_period"]
    out.update({f"{k}_note": note(consolidated, k) for k in consolidated.attrs.get("notes", {})})
    return out


def links(unit_kpis: list[dict], reports_dir: str | Path):
    """HTML links from the group report (in ``<reports_dir>/group/``) to each unit's reports."""
    import html

    from IPython.display import HTML

    items = []
    for k in unit_kpis:
        bu = str(k["business_unit"])
        reports = sorted(p.name for p in (Path(reports_dir) / bu).glob("*.html"))
        refs = " · ".join(
            f'<a href="../{html.escape(bu)}/{html.escape(r)}">{html.escape(Path(r).stem)}</a>'
            for r in reports
        )
        items.append(
            f"<li><b>{html.escape(bu)}</b> ({html.escape(str(k.get('currency', '')))}): {refs}</li>"
        )
    return HTML(f"<ul>{''.join(items)}</ul>")
