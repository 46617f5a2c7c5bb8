"""Group roll-up: every unit's ``kpis.json`` converted to the group currency and ranked.

Amounts are converted with one rate per currency (units of group currency per unit of the
unit's currency, at ``as_of``). Group ratios are recomputed from the summed amounts, never
averaged: group DSO = sum of open AR / sum of billings x window days; group CEI from the summed
AR at window start, billings, open and current AR; past-due share = past due / open.

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
#: KPI -> True when higher is better (for ranking and arrows)
RANKED = {
    "dso": False,
    "past_due_share": False,
    "cei": True,
    "forecast_collections_next": True,
    "allowance": False,
    "coverage_ratio": False,
}


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
    return float(num / den) if den else None


def consolidate(unit_kpis: list[dict], group_currency: str, fx_rates: dict) -> pd.DataFrame:
    """One row per unit plus a ``GROUP`` row: amounts in the group currency, ratios as reported
    by the unit (group ratios recomputed from the amounts)."""
    rows = []
    for k in unit_kpis:
        rate = rate_for(k.get("currency", group_currency), group_currency, fx_rates)
        row = {"business_unit": k["business_unit"], "currency": k.get("currency"), "fx_rate": rate}
        row.update({a: (k[a] * rate if k.get(a) is not None else np.nan) for a in AMOUNTS})
        row.update(
            {r: k.get(r) for r in ("dso", "past_due_share", "cei", "coverage_ratio", "window_days")}
        )
        rows.append(row)
    df = pd.DataFrame(rows).set_index("business_unit")
    tot = df[list(AMOUNTS)].sum(min_count=1)
    days = (
        df["window_days"].dropna().max()
        if "window_days" in df and df["window_days"].notna().any()
        else np.nan
    )
    cei_den = tot["ar_window_start"] + tot["billings_window"] - tot["current_ar"]
    group = dict(
        tot,
        currency=group_currency,
        fx_rate=1.0,
        window_days=days,
        dso=_ratio(tot["open_ar"] * days, tot["billings_window"]) if days == days else None,
        past_due_share=_ratio(tot["past_due_ar"], tot["open_ar"]),
        cei=_ratio(
            100 * (tot["ar_window_start"] + tot["billings_window"] - tot["open_ar"]), cei_den
        )
        if cei_den == cei_den
        else None,
        coverage_ratio=_ratio(tot["allowance"], tot["open_ar"])
        if tot["allowance"] == tot["allowance"]
        else None,
    )
    return pd.concat(
        [df, pd.DataFrame([group], index=[GROUP]).astype(df.dtypes.to_dict())]
    ).rename_axis("business_unit")


def ranking(consolidated: pd.DataFrame) -> pd.DataFrame:
    """Rank of each unit (1 = best) on each ranked KPI it reports."""
    units = consolidated.drop(index=GROUP)
    out = pd.DataFrame(index=units.index)
    for kpi, higher_better in RANKED.items():
        if kpi in units and units[kpi].notna().any():
            out[kpi] = (
                units[kpi]
                .astype(float)
                .rank(ascending=not higher_better, method="min")
                .astype("Int64")
            )
    return out


MONEY_COLUMNS = [
    "Open AR",
    "Past-due AR",
    "Billings (window)",
    "Collections (window)",
    "Forecast collections",
    "Allowance",
]
PCT_COLUMNS = ["Past-due share", "Coverage"]


def overview(consolidated: pd.DataFrame) -> pd.DataFrame:
    """The table of the group report: one row per unit and the group, readable headers."""
    cols = {
        "currency": "Currency",
        "fx_rate": "FX rate",
        "open_ar": "Open AR",
        "past_due_ar": "Past-due AR",
        "past_due_share": "Past-due share",
        "dso": "DSO",
        "cei": "CEI",
        "billings_window": "Billings (window)",
        "collections_window": "Collections (window)",
        "forecast_collections_next": "Forecast collections",
        "allowance": "Allowance",
        "coverage_ratio": "Coverage",
    }
    out = consolidated[[c for c in cols if c in consolidated]].rename(columns=cols)
    out = out.dropna(axis=1, how="all")
    for c in ("DSO", "CEI"):
        if c in out:
            out[c] = out[c].astype(float).round(1)
    return out.reset_index().rename(columns={"business_unit": "Business unit"})


def kpis(consolidated: pd.DataFrame, group_currency: str) -> dict:
    """Headline group figures for the group's ``kpis.json``."""
    g = consolidated.loc[GROUP]
    out = {
        "business_unit": GROUP,
        "currency": group_currency,
        "units": [str(u) for u in consolidated.index if u != GROUP],
    }
    for k in (*AMOUNTS, "dso", "past_due_share", "cei", "coverage_ratio"):
        if k in g and pd.notna(g[k]):
            out[k] = round(float(g[k]), 2) if k in AMOUNTS else float(g[k])
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
