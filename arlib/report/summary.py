"""The executive summary and KPI tiles at the top of every unit report.

Built from the unit's merged ``kpis.json`` (every notebook's recorded figures), so each sentence
cites figures that the reports show; a sentence whose figures are missing is left out rather
than guessed. Templates are English message ids translated through :mod:`arlib.i18n`.

>>> k = {"currency": "EUR", "open_ar": 2000.0, "past_due_share": 0.25,
...      "previous_month": {"past_due_share": 0.2}}
>>> executive_summary(k)[0]
'Open receivables are 2,000 EUR; 25.0% is past due, up 5.0 points on the previous month-end.'
"""

from __future__ import annotations

from arlib.i18n import t
from arlib.report.tables import tiles

#: tile: (key, label, kind, True if higher is better / None)
TILES = (
    ("open_ar", "Open AR", "amount", None),
    ("past_due_share", "Past-due share", "share", False),
    ("dso", "DSO", "days", False),
    ("cei", "CEI (%)", "pct", True),
    ("forecast_collections_next", "Forecast collections", "amount", None),
    ("allowance", "Allowance", "amount", False),
)


def format_value(v, kind: str) -> str:
    if v is None:
        return "n/a"
    return {
        "amount": f"{v:,.0f}",
        "share": f"{100 * v:.1f}%",
        "days": f"{v:.1f}",
        "pct": f"{v:.1f}",
    }[kind]


def _delta(now, before, kind: str) -> float:
    return 100 * (now - before) if kind == "share" else now - before


def kpi_tiles(k: dict, lang: str = "en") -> str:
    """HTML tiles for the headline KPIs with their change on the previous month-end."""
    prev = k.get("previous_month") or {}
    items = []
    for key, label, kind, better in TILES:
        if k.get(key) is None:
            continue
        note = ""
        if prev.get(key) is not None:
            d = _delta(k[key], prev[key], kind)
            arrow = "▲" if d > 0 else "▼" if d < 0 else "="
            unit = {"share": " pts", "days": "", "pct": "", "amount": ""}[kind]
            worse = better is not None and d != 0 and (d > 0) != better
            note = (
                f"{'!' if worse else ''}{arrow} {abs(d):,.1f}{t(unit, lang)}"
                if kind != "amount"
                else f"{arrow} {abs(d):,.0f}"
            )
        items.append((t(label, lang), format_value(k[key], kind), note))
    return tiles(items)


def _updown(d: float, lang: str) -> str:
    return t("up", lang) if d > 0 else t("down", lang) if d < 0 else t("unchanged", lang)


def _position(k, prev, lang):
    if k.get("open_ar") is None or k.get("past_due_share") is None:
        return None
    s = t("Open receivables are {open} {cur}; {share} is past due", lang).format(
        open=format_value(k["open_ar"], "amount"),
        cur=k.get("currency", ""),
        share=format_value(k["past_due_share"], "share"),
    )
    if prev.get("past_due_share") is not None:
        d = 100 * (k["past_due_share"] - prev["past_due_share"])
        s += t(", {dir} {pts} points on the previous month-end", lang).format(
            dir=_updown(d, lang), pts=f"{abs(d):.1f}"
        )
    return s + t(".", lang)


def _dso(k, prev, lang):
    if k.get("dso") is None:
        return None
    if prev.get("dso") is None:
        return t("DSO is {dso} days.", lang).format(dso=f"{k['dso']:.1f}")
    d = k["dso"] - prev["dso"]
    s = t("DSO moved {dir} {d} days to {dso}", lang).format(
        dir=_updown(d, lang), d=f"{abs(d):.1f}", dso=f"{k['dso']:.1f}"
    )
    if k.get("add") is not None:
        s += t("; {add} days of it are due to late payment (average days delinquent)", lang).format(
            add=f"{k['add']:.1f}"
        )
    return s + t(".", lang)


def _cei(k, prev, lang):
    if k.get("cei") is None:
        return None
    return t(
        "Over the last {m} months customers paid {cei}% of what they could have paid (CEI).", lang
    ).format(m=k.get("window_months", 3), cei=f"{k['cei']:.1f}")


def _overdue(k, lang):
    top = k.get("top_overdue") or []
    if not top:
        return None
    names = t(", ", lang).join(
        t("{name} ({amount}, next step: {step})", lang).format(
            name=c["name"],
            amount=format_value(c["past_due"], "amount"),
            step=t(c.get("next_step") or "-", lang),
        )
        for c in top[:3]
    )
    return t("Act first, in the worklist's order: {names}.", lang).format(names=names)


def _forecast(k, lang):
    f = k.get("forecast_collections_next")
    if f is None:
        return None
    s = t("Collections of {f} {cur} are forecast for {period}", lang).format(
        f=format_value(f, "amount"),
        cur=k.get("currency", ""),
        period=_period(k.get("forecast_period"), lang),
    )
    lo, hi = k.get("forecast_collections_next_lo_80"), k.get("forecast_collections_next_hi_80")
    if lo is not None and hi is not None:
        s += t(" (80% range {lo} to {hi})", lang).format(
            lo=format_value(lo, "amount"), hi=format_value(hi, "amount")
        )
        cov = k.get("forecast_range_coverage_80")
        if cov is not None:  # the range's track record, next to it
            s += t("; such a range held {cov} of actual collections in the backtest", lang).format(
                cov=format_value(cov, "share")
            )
    last = k.get("collections_last_month")
    if last:
        gap = f - last
        s += t(", {gap} {dir} last month's collections", lang).format(
            gap=format_value(abs(gap), "amount"),
            dir=t("above", lang) if gap >= 0 else t("below", lang),
        )
    return s + t(".", lang)


def _allowance(k, lang):
    a = k.get("allowance")
    if a is None:
        return None
    s = t("The allowance for doubtful accounts is {a} {cur} ({cov} of open AR", lang).format(
        a=format_value(a, "amount"),
        cur=k.get("currency", ""),
        cov=format_value(k.get("coverage_ratio"), "share"),
    )
    before = k.get("allowance_previous")
    if before is not None:
        s += t("; {dir} {d} on the previous month-end", lang).format(
            dir=_updown(a - before, lang), d=format_value(abs(a - before), "amount")
        )
    return s + t(").", lang)


def _actions(k, lang):
    parts = []
    if k.get("worklist_items"):
        parts.append(
            t("{n} past-due items from {c} customers are on the collection worklist", lang).format(
                n=k["worklist_items"], c=k.get("worklist_customers", "?")
            )
        )
    if k.get("limits_to_change"):
        parts.append(
            t("{n} credit limits should be reviewed", lang).format(n=k["limits_to_change"])
        )
    return (t("; ", lang).join(parts) + t(".", lang)) if parts else None


def _period(value, lang: str) -> str:
    """A forecast period: a month start reads as "November 2026" / "2026年11月"."""
    if not value:
        return t("next month", lang)
    import pandas as pd

    d = pd.Timestamp(value)
    if d.day != 1:
        return d.strftime("%Y-%m-%d")
    return f"{d.year}年{d.month}月" if lang == "zh" else d.strftime("%B %Y")


# --- recorders: the figures the summary needs, recorded by the notebooks with arlib.record()
def month_before(previous) -> dict:
    """The health KPIs at the previous month-end (a :class:`arlib.health.measures.Kpis`), nested;
    nothing for an open-item list, whose earlier figures are unknown."""
    return {"previous_month": previous.record()} if previous.history else {}


def top_overdue(actions, n: int = 3) -> dict:
    """The first ``n`` customers of the collection worklist (:func:`arlib.health.credit.actions`,
    in its one ranking) with their past-due balance and next dunning step."""
    top = actions.head(n)
    return {
        "top_overdue": [
            {
                "customer_id": str(r.customer_id),
                "name": str(r.name),
                "past_due": round(float(r.past_due), 2),
                "next_step": str(r.next_step),
            }
            for r in top.itertuples(index=False)
        ]
    }


def previous_allowance(rollforward) -> dict:
    """The allowance at the previous month-end: the last month's opening balance of the roll-forward."""
    if rollforward is None or len(rollforward) == 0:
        return {}
    return {"allowance_previous": round(float(rollforward["opening"].iloc[-1]), 2)}


def recent_actual(series) -> dict:
    """The last period's actual collections (from a ``unique_id, ds, y`` series)."""
    if series is None or len(series) == 0:
        return {}
    last = series.sort_values("ds").iloc[-1]
    return {
        "collections_last_month": round(float(last["y"]), 2),
        "collections_last_period": str(last["ds"])[:10],
    }


def executive_summary(k: dict, lang: str = "en") -> list[str]:
    """Up to eight sentences, each from figures in ``k``; what moved, why, and what to do."""
    prev = k.get("previous_month") or {}
    out = [
        _position(k, prev, lang),
        _dso(k, prev, lang),
        _cei(k, prev, lang),
        _overdue(k, lang),
        _forecast(k, lang),
        _allowance(k, lang),
        _actions(k, lang),
    ]
    return [s for s in out if s][:8]


def top_block(k: dict, lang: str = "en") -> str:
    """Tiles and the executive summary as HTML (all data escaped)."""
    import html

    items = "".join(f"<li>{html.escape(s)}</li>" for s in executive_summary(k, lang))
    return (
        kpi_tiles(k, lang)
        + f'<div class="ar-summary"><b>{html.escape(t("Executive summary", lang))}</b>'
        f"<ul>{items}</ul></div>"
    )
