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
from arlib.numbers import fmt
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
    """A figure in the one style of its kind (:func:`arlib.numbers.fmt`); ``pct`` without its
    "%" (the label says "(%)"), as the index and the group report show it.

    >>> format_value(77.26, "pct"), format_value(-0.0001, "share")
    ('77.3', '0.0%')
    """
    text = fmt(v, kind)
    return text.rstrip("%") if kind == "pct" else text


def with_unit(v, kind: str, currency: str = "", lang: str = "en") -> str:
    """A tile's value with its unit: amounts with the currency, days with "days".

    >>> with_unit(2414269.88, "amount", "EUR"), with_unit(62.34, "days"), with_unit(0.369, "share")
    ('2,414,270 EUR', '62.3 days', '36.9%')
    """
    text = fmt(v, kind)
    if kind == "amount" and currency:
        return f"{text} {currency}"
    if kind == "days":
        return t("{x} days", lang).format(x=text)
    return text


def change_note(now, before, kind: str, better, since: str = "", lang: str = "en"):
    """(note, tone) of a tile: the change on ``before`` with an arrow and its unit (points for
    shares), "vs <since>", and "good"/"bad" by the direction that is ``better`` (None: neither).

    >>> change_note(0.369, 0.352, "share", False, "2026-09-30")
    ('▲ 1.7 pts vs 2026-09-30', 'bad')
    >>> change_note(62.3, 63.2, "days", False)
    ('▼ 0.9 days', 'good')
    """
    if now is None or before is None:
        return "", None
    d = (now - before) * (100 if kind == "share" else 1)
    shown = fmt(abs(d), "pct" if kind in ("share", "pct") else kind).rstrip("%")
    if float(shown.replace(",", "")) == 0:
        return t("= unchanged", lang) + (f" {t('vs', lang)} {since}" if since else ""), None
    arrow = "▲" if d > 0 else "▼"
    unit = {"share": " pts", "pct": " pts", "days": " days"}.get(kind, "")
    note = f"{arrow} {shown}{t(unit, lang)}" + (f" {t('vs', lang)} {since}" if since else "")
    tone = None if better is None else ("good" if (d > 0) == better else "bad")
    return note, tone


def kpi_tiles(k: dict, lang: str = "en", spec=TILES) -> str:
    """HTML tiles for the headline KPIs (with their units) and their change on the previous
    month-end, green when it is better and red when it is worse."""
    prev = k.get("previous_month") or {}
    since = prev.get("as_of", "")
    items = []
    for key, label, kind, better in spec:
        if k.get(key) is None:
            continue
        note, tone = change_note(k[key], prev.get(key), kind, better, since, lang)
        if key == "forecast_collections_next" and k.get("forecast_period"):
            label = t("Forecast collections, {period}", lang).format(
                period=_period(k["forecast_period"], lang)
            )
        label = label.replace(" (%)", "")  # the tile's value carries its "%"
        items.append(
            (t(label, lang), with_unit(k[key], kind, k.get("currency", ""), lang), note, tone)
        )
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
            dir=_updown(d, lang), pts=fmt(abs(d), "days")
        )
    return s + t(".", lang)


def _dso(k, prev, lang):
    if k.get("dso") is None:
        return None
    if prev.get("dso") is None:
        return t("DSO is {dso} days.", lang).format(dso=fmt(k["dso"], "days"))
    d = k["dso"] - prev["dso"]
    s = t("DSO moved {dir} {d} days to {dso}", lang).format(
        dir=_updown(d, lang), d=fmt(abs(d), "days"), dso=fmt(k["dso"], "days")
    )
    if k.get("add") is not None:
        s += t("; {add} days of it are due to late payment (average days delinquent)", lang).format(
            add=fmt(k["add"], "days")
        )
    return s + t(".", lang)


def _cei(k, prev, lang):
    if k.get("cei") is None:
        return None
    return t(
        "Over the last {m} months customers paid {cei}% of what they could have paid (CEI).", lang
    ).format(m=k.get("window_months", 3), cei=fmt(k["cei"], "pct").rstrip("%"))


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
    last = rollforward.iloc[-1]
    out = {"allowance_previous": round(float(last["opening"]), 2)}
    for col in ("charge", "write_offs", "recoveries"):  # why it moved in the last month
        if col in rollforward:
            out[f"allowance_{col}_last_month"] = round(float(last[col]), 2)
    return out


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
