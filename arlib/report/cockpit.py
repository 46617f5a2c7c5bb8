"""The group cockpit: headline tiles, the unit x KPI table against targets, what changed.

Built from :func:`arlib.report.group.consolidate` of this close and of the previous month-end
(both at this close's rates, so a change is the units' own, not the exchange rates'). Every
figure carries its unit (the group currency by name, days, %) and its period; a month-on-month
change is coloured by the KPI's direction: green when better, red when worse, grey when the KPI
has no better direction (open AR, provision coverage). All text from data is escaped; templates
are English message ids translated through :mod:`arlib.i18n`.

>>> change_class(50.0, 45.0, False), change_class(80.0, 75.0, True), change_class(1.0, 2.0, None)
('bad', 'good', 'flat')
"""

from __future__ import annotations

import html

import pandas as pd

from arlib.i18n import t
from arlib.report.group import GROUP, PERFORMANCE, note, rank_order
from arlib.report.summary import _period, format_value

#: headline KPI -> (label, kind, True when higher is better / None when no direction)
HEADLINE = {
    "open_ar": ("Open AR", "amount", None),
    "past_due_share": ("Past-due share", "share", False),
    "dso": ("DSO", "days", False),
    "cei": ("CEI", "pct", True),
    "allowance": ("Allowance", "amount", False),
    "forecast_collections_next": ("Forecast collections", "amount", True),
}
#: KPIs a target may be set for in ``params/group.yaml`` (see arlib.config.TARGET_KPIS)
TARGETED = ("dso", "cei", "past_due_share", "add")
#: columns of the unit x KPI table: KPI -> (header, kind, direction as in HEADLINE)
TABLE = {
    "open_ar": ("Open AR", "amount", None),
    "past_due_share": ("Past-due share", "share", False),
    "dso": ("DSO", "days", False),
    "cei": ("CEI", "pct", True),
    "add": ("Average days delinquent", "days", False),
    "coverage_ratio": ("Provision coverage", "share", None),
    "allowance": ("Allowance", "amount", None),
    "forecast_collections_next": ("Forecast collections", "amount", None),
}

CSS = """<style>
.gc-tiles { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.gc-tile { border: 1px solid #ccc; border-radius: 6px; padding: 6px 10px; min-width: 150px; flex: 1 1 150px; max-width: 280px; }
.gc-tile .k { font-size: 12px; color: #555; } .gc-tile .v { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.gc-tile .p { font-size: 11px; color: #777; } .gc-d { font-size: 12px; }
.gc .good { color: #1a7f37; } .gc .bad { color: #b2182b; font-weight: 600; } .gc .flat { color: #666; font-weight: normal; }
.gc-wrap { overflow-x: auto; max-width: 100%; }
.gc-table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
.gc-table th, .gc-table td { padding: 4px 8px; border-bottom: 1px solid #e3e3e3; text-align: right; }
.gc-table th { word-break: normal; overflow-wrap: normal; hyphens: manual; }
.gc-table td { white-space: nowrap; } .gc-table td.u, .gc-table th.u { text-align: left; }
.gc-table td.on { background: #e6f4ea; } .gc-table td.off { background: #fbe3e4; }
.gc-table tr.g td { font-weight: 600; border-top: 2px solid #999; }
.gc-table svg { display: block; margin-left: auto; }
</style>"""


class Html(str):
    """HTML text that a notebook displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


def change_class(now, before, higher_better, kind: str | None = None) -> str:
    """``good`` / ``bad`` / ``flat``: the colour of a move, by the KPI's direction; with its
    ``kind``, a move that rounds to nothing as shown is ``flat``."""
    if now is None or before is None or pd.isna(now) or pd.isna(before) or now == before:
        return "flat"
    if higher_better is None or (kind is not None and _shown(now - before, kind) == 0):
        return "flat"
    return "good" if (now > before) == higher_better else "bad"


def _shown(d: float, kind: str) -> float:
    """A change as it is shown: whole amounts, one decimal of days and points."""
    return round(d) if kind == "amount" else round(d * (100 if kind == "share" else 1), 1)


def as_number(v) -> float | None:
    """A figure as a float, or None when missing (None or NaN)."""
    return None if v is None or pd.isna(v) else float(v)


def value_text(v, kind: str, currency: str, lang: str) -> str:
    """A figure with its unit: ``1,234 EUR``, ``53.3 days``, ``29.7%``, ``86.1%`` (CEI)."""
    v = as_number(v)
    if v is None:
        return t("n/a", lang)
    if kind == "amount":
        return f"{format_value(v, 'amount')} {currency}"
    if kind == "days":
        return t("{x} days", lang).format(x=format_value(v, "days"))
    return format_value(v, kind) + ("%" if kind == "pct" else "")


def change_size(d: float, kind: str, currency: str, lang: str) -> str:
    """The size of a move ``d`` (already in points for shares) with its unit, sign dropped:
    ``1,234 EUR``, ``0.5 days``, ``4.8 pts``."""
    if kind == "amount":
        return f"{abs(round(d)):,.0f} {currency}".strip()
    unit = (t("days", lang) if kind == "days" else t("pts", lang)).strip()
    return f"{abs(round(d, 1)):.1f} {unit}"


def change_text(now, before, kind: str, currency: str, lang: str) -> str:
    """The move from ``before`` to ``now`` with its unit (points for shares and CEI); rounded
    before the sign is read, so a move that rounds to nothing reads ``=`` (never ``-0.0``)."""
    now, before = as_number(now), as_number(before)
    if now is None or before is None:
        return ""
    d = (now - before) * (100 if kind == "share" else 1)
    shown = _shown(now - before, kind)
    if shown == 0:
        return "= " + t("unchanged", lang)
    return f"{'▲' if shown > 0 else '▼'} {change_size(d, kind, currency, lang)}"


def _period_text(key: str, row: pd.Series, as_of: str, lang: str) -> str:
    if key == "forecast_collections_next":
        return t("forecast for {period}", lang).format(
            period=_period(row.get("forecast_period"), lang)
        )
    if key in ("dso", "cei"):
        days = as_number(row.get("window_days"))
        if days is None:
            return t("each unit's own window to {date}", lang).format(date=as_of)
        return t("{d}-day window to {date}", lang).format(d=f"{days:.0f}", date=as_of)
    return t("at {date}", lang).format(date=as_of)


def _against(key: str, previous: pd.DataFrame | None, lang: str) -> str:
    if key == "forecast_collections_next":
        return t("vs actual collections of the last period", lang)
    return t("vs previous month-end", lang)


def tiles(
    consolidated: pd.DataFrame, previous: pd.DataFrame | None, currency: str, as_of, lang="en"
) -> Html:
    """The group's headline tiles: value with unit, period, and the month-on-month change
    (forecast collections: against the last period's actual collections)."""
    e = html.escape
    as_of = str(pd.Timestamp(as_of).date())
    g = consolidated.loc[GROUP]
    p = previous.loc[GROUP] if previous is not None and GROUP in previous.index else pd.Series()
    notes = consolidated.attrs.get("notes", {})
    out = []
    for key, (label, kind, better) in HEADLINE.items():
        now, before = g.get(key), p.get(key)
        if as_number(now) is None and key not in notes:  # no unit reports it (e.g. not run)
            continue
        value = value_text(now, kind, currency, lang)
        sub = e(_period_text(key, g, as_of, lang))
        if key == "allowance" and as_number(g.get("coverage_ratio")) is not None:
            cover = format_value(float(g["coverage_ratio"]), "share")
            sub = e(t("coverage {share} of open AR", lang).format(share=cover)) + "<br>" + sub
            label = "Allowance and coverage"
        if key in notes and as_number(now) is None:
            sub = e(note(consolidated, key, lang))
        move = change_text(now, before, kind, currency, lang)
        delta = (
            f'<div class="gc-d {change_class(as_number(now), as_number(before), better, kind)}">{e(move)} '
            f'<span class="flat">{e(_against(key, previous, lang))}</span></div>'
            if move
            else ""
        )
        out.append(
            f'<div class="gc-tile"><div class="k">{e(t(label, lang))}</div>'
            f'<div class="v">{e(value)}</div><div class="p">{sub}</div>{delta}</div>'
        )
    return Html(f'{CSS}<div class="gc"><div class="gc-tiles">{"".join(out)}</div></div>')


def headers(kpis, currency: str, lang: str = "en") -> str:
    """``<th>`` cells of KPI columns, an amount's naming the currency: ``Open AR (EUR)``."""
    e = html.escape
    return "".join(
        f"<th>{e(t(TABLE[k][0], lang))}"
        + (f" ({e(currency)})" if TABLE[k][1] == "amount" else "")
        + "</th>"
        for k in kpis
    )


def meets(kpi: str, value, target) -> bool | None:
    """True when ``value`` meets the target of ``kpi`` (at most for DSO, ADD and the past-due
    share; at least for CEI); None when either is missing.

    >>> meets("dso", 44.9, 45), meets("cei", 79.0, 80), meets("dso", None, 45)
    (True, False, None)
    """
    value = as_number(value)
    if value is None or target is None:
        return None
    return value >= target if PERFORMANCE[kpi] else value <= target


def target_text(targets: dict, lang: str = "en") -> str:
    """The targets in words, e.g. ``DSO at most 45.0 days; CEI at least 80.0%``."""
    parts = []
    for kpi in TARGETED:
        if kpi in targets:
            label, kind, _ = TABLE[kpi]
            bound = t("at least", lang) if PERFORMANCE[kpi] else t("at most", lang)
            parts.append(f"{t(label, lang)} {bound} {value_text(targets[kpi], kind, '', lang)}")
    return t("; ", lang).join(parts)


def _cell(kpi, row, prev_row, targets, currency, lang) -> str:
    e = html.escape
    label, kind, better = TABLE[kpi]
    now = row.get(kpi)
    text = value_text(now, kind, "", lang).strip() if as_number(now) is not None else ""
    cls = ""
    if kpi in targets:
        ok = meets(kpi, now, targets[kpi])
        cls = "" if ok is None else (" on" if ok else " off")
    before = prev_row.get(kpi) if prev_row is not None else None
    move = change_text(now, before, kind, "", lang).strip() if text else ""
    delta = (
        f'<div class="gc-d {change_class(as_number(now), as_number(before), better, kind)}">{e(move)}</div>'
        if move
        else ""
    )
    return f'<td class="{kpi}{cls}">{e(text)}{delta}</td>'


def scorecard(
    consolidated: pd.DataFrame,
    previous: pd.DataFrame | None,
    ranks: pd.DataFrame,
    targets: dict,
    currency: str,
    lang: str = "en",
) -> Html:
    """The unit x KPI table: units in the order of their overall performance rank, the group
    last; cells of a KPI with a target shaded green (met) or red (missed); under each figure
    its month-on-month change, coloured by the KPI's direction. Coverage and the amounts are
    shown without a better or worse colour."""
    e = html.escape
    kpis = [k for k in TABLE if k in consolidated and consolidated[k].notna().any()]
    order = rank_order(ranks)
    head = headers(kpis, currency, lang)
    rows = []
    for bu in [*order, GROUP]:
        row = consolidated.loc[bu]
        prev_row = previous.loc[bu] if previous is not None and bu in previous.index else None
        rank = ranks["overall"].get(bu) if "overall" in ranks and bu != GROUP else None
        name = t("Group", lang) if bu == GROUP else str(bu)
        cells = "".join(_cell(k, row, prev_row, targets, currency, lang) for k in kpis)
        rows.append(
            f'<tr class="{"g" if bu == GROUP else ""}"><td>{"" if rank is None or pd.isna(rank) else int(rank)}</td>'
            f'<td class="u">{e(name)}</td>{cells}</tr>'
        )
    return Html(
        f'{CSS}<div class="gc gc-wrap"><table class="gc-table"><thead><tr><th>{e(t("Rank", lang))}</th>'
        f'<th class="u">{e(t("Business unit", lang))}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def target_note(targets: dict, lang: str = "en") -> Html:
    """The targets the table is shaded against, in words, or how to set them."""
    if not targets:
        text = t(
            "No targets are set; add targets for dso, cei, past_due_share or add to params/group.yaml.",
            lang,
        )
    else:
        text = t("Targets: {targets}.", lang).format(targets=target_text(targets, lang))
    return Html(f"<p>{html.escape(text)}</p>")


def ranking_table(ranks: pd.DataFrame, lang: str = "en"):
    """The ranking (:func:`arlib.report.group.ranking`) as a report table, best overall first."""
    from arlib.report.tables import table

    names = {k: t(TABLE[k][0], lang) for k in TABLE if k in ranks}
    names.update(overall=t("Overall", lang), business_unit=t("Business unit", lang))
    view = ranks.set_axis(ranks.index.astype(str)).loc[rank_order(ranks)]
    return table(view.rename_axis("business_unit").reset_index().rename(columns=names))
