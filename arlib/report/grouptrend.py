"""The 12-month trend of each unit and of the group, as sparklines.

Each unit's health report records its month-end figures (:func:`monthly`, from
:func:`arlib.health.breakdown.trend`, the figures its own trend charts show) in ``kpis.json``;
the group report reads them back (:func:`series`), converts amounts at this close's rates (so
the line shows the units' own movement, not exchange rates) and recomputes the group's month by
month the way :mod:`arlib.report.group` does for the close: open AR and past-due AR summed, DSO =
sum of open AR / sum of daily billings, past-due share = past due / open. Nothing is invented: a
unit without recorded months has no line, and a group month is drawn only where every unit has
it.

>>> spark([1.0, 3.0, 2.0], width=20, height=10)[:60]
'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="1'
"""

from __future__ import annotations

import html

import pandas as pd

from arlib import dso as core
from arlib.i18n import t
from arlib.report.cockpit import CSS, TABLE, Html, headers, value_text
from arlib.report.group import GROUP, rate_for

#: recorded per month; amounts are converted to the group currency by the group report
MONTHLY_AMOUNTS = ("open_ar", "past_due_ar", "billings_window")
MONTHLY_RATIOS = ("dso", "past_due_share", "cei")
#: the sparkline columns: KPI -> True when it is an amount
SPARK_KPIS = ("open_ar", "past_due_share", "dso", "cei")


def monthly(trend: pd.DataFrame, window_months: int, months: int = 12) -> dict:
    """The last ``months`` month-ends of a unit's trend, for its ``kpis.json``:
    ``{"monthly": {"month_end": [...], "window_days": [...], <amounts and ratios>: [...]}}``."""
    last = trend.sort_values("month_end").tail(months)
    out: dict = {"month_end": [str(pd.Timestamp(d).date()) for d in last["month_end"]]}
    out["window_days"] = [core.window(d, window_months).days for d in last["month_end"]]
    for c in (*MONTHLY_AMOUNTS, *MONTHLY_RATIOS):
        out[c] = [None if pd.isna(v) else round(float(v), 6) for v in last[c]]
    return {"monthly": out}


def series(unit_kpis: list[dict], group_currency: str, fx_rates: dict) -> pd.DataFrame:
    """Long frame ``business_unit, month_end, kpi, value`` of every unit's recorded months (amounts
    in the group currency) and of the group (``GROUP``), oldest first."""
    frames = []
    for k in unit_kpis:
        m = k.get("monthly") or {}
        if not m.get("month_end"):
            continue
        rate = rate_for(k.get("currency", group_currency), group_currency, fx_rates)
        df = pd.DataFrame(m).assign(business_unit=str(k["business_unit"]))
        df[list(MONTHLY_AMOUNTS)] = df[list(MONTHLY_AMOUNTS)].astype(float) * rate
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["business_unit", "month_end", "kpi", "value"])
    wide = pd.concat(frames, ignore_index=True)
    n_units = wide["business_unit"].nunique()
    per_month = wide.assign(daily=wide["billings_window"] / wide["window_days"]).groupby(
        "month_end"
    )
    complete = per_month["business_unit"].nunique() == n_units
    sums = per_month[["open_ar", "past_due_ar", "daily"]].sum()[complete]
    group = pd.DataFrame(
        {
            "business_unit": GROUP,
            "month_end": sums.index,
            "open_ar": sums["open_ar"].to_numpy(),
            "dso": (sums["open_ar"] / sums["daily"]).to_numpy(),
            "past_due_share": (sums["past_due_ar"] / sums["open_ar"]).to_numpy(),
        }
    )
    both = pd.concat([wide, group], ignore_index=True)
    long = both.melt(
        id_vars=["business_unit", "month_end"], value_vars=list(SPARK_KPIS), var_name="kpi"
    )
    return long.dropna(subset=["value"]).sort_values(["business_unit", "kpi", "month_end"])


def spark(values, width: int = 120, height: int = 28, title: str = "") -> str:
    """An inline SVG sparkline of ``values`` (a line with its last point marked); ``title`` is
    the tooltip (escaped). Flat series draw mid-height."""
    v = [float(x) for x in values]
    lo, hi = min(v), max(v)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(len(v) - 1, 1)
    pts = [(2 + i * step, height - 3 - (x - lo) / span * (height - 6)) for i, x in enumerate(v)]
    if hi == lo:
        pts = [(x, height / 2) for x, _ in pts]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    lx, ly = pts[-1]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{html.escape(title)}</title>'
        f'<polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="{line}"/>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.2" fill="#D55E00"/></svg>'
    )


def _cell(s: pd.DataFrame, kpi: str, currency: str, lang: str) -> str:
    if len(s) < 2:
        return "<td></td>"
    kind = TABLE[kpi][1]
    first, last = s.iloc[0], s.iloc[-1]
    words = (
        f"{value_text(first['value'], kind, currency, lang)} ({first['month_end']}) → "
        f"{value_text(last['value'], kind, currency, lang)} ({last['month_end']})"
    )
    return (
        f"<td>{spark(s['value'], title=words)}"
        f'<div class="gc-d flat">{html.escape(value_text(first["value"], kind, "", lang).strip())} → '
        f"{html.escape(value_text(last['value'], kind, '', lang).strip())}</div></td>"
    )


def sparklines(long: pd.DataFrame, currency: str, order=None, lang: str = "en") -> Html:
    """A table of sparklines: one row per unit (in ``order``) and the group, one column per KPI
    (open AR in ``currency``, past-due share, DSO, CEI), each with its first and last value."""
    e = html.escape
    if long.empty:
        return Html(
            f"<p>{e(t('No unit recorded monthly figures (run the health report).', lang))}</p>"
        )
    units = [u for u in (order or sorted(set(long["business_unit"]) - {GROUP})) if u != GROUP]
    head = headers(SPARK_KPIS, currency, lang)
    rows = []
    for bu in [*units, GROUP]:
        mine = long[long["business_unit"] == bu]
        cells = "".join(_cell(mine[mine["kpi"] == k], k, currency, lang) for k in SPARK_KPIS)
        name = t("Group", lang) if bu == GROUP else bu
        rows.append(
            f'<tr class="{"g" if bu == GROUP else ""}"><td class="u">{e(name)}</td>{cells}</tr>'
        )
    return Html(
        f'{CSS}<div class="gc gc-wrap"><table class="gc-table"><thead><tr>'
        f'<th class="u">{e(t("Business unit", lang))}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
