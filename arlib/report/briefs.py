"""The executive summaries of the forecast and provision reports: the answer first, from figures
the notebooks already recorded in the unit's ``kpis.json`` (no figure is computed here).

* forecast: what collections are forecast for the next period and the horizon, and how sure
  the forecast is (its 80% range, its backtest error against the seasonal naive benchmark);
* provision: the allowance, its movement on the previous month-end and why (charge,
  write-offs, recoveries; specific against collective), the other methods' range, and the
  bad-debt expense forecast.

A sentence whose figures are missing is left out. English text is the message id (translated
by :mod:`arlib.i18n`).

>>> k = {"currency": "EUR", "forecast_collections_next": 1200.0, "forecast_period": "2026-11-01",
...      "forecast_backtest_wape": 0.103, "forecast_backtest_wape_snaive": 0.111,
...      "forecast_method": "auto"}
>>> FORECAST.summary(k)[1]
'In the backtest the method used (auto) missed actual collections by 10.3% (WAPE), better than the seasonal naive benchmark (11.1%).'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arlib.i18n import t
from arlib.numbers import fmt
from arlib.report.summary import (
    _allowance,
    _forecast,
    _period,
    change_note,
    executive_summary,
    kpi_tiles,
    with_unit,
)
from arlib.report.tables import tiles


def _word(code: str, lang: str) -> str:
    """A method's code name in words (``roll_rate`` -> roll rate), translated."""
    shown = t(code, lang)
    return t(code.replace("_", " "), lang) if shown == code else shown


def _horizon(k, lang):
    total, h = k.get("forecast_collections_horizon"), k.get("forecast_horizon")
    if total is None or not h:
        return None
    return t("Over the next {h} periods {total} {cur} are forecast to come in.", lang).format(
        h=h, total=fmt(total, "amount"), cur=k.get("currency", "")
    )


def _accuracy(k, lang):
    wape = k.get("forecast_backtest_wape")
    if wape is None:
        return None
    s = t(
        "In the backtest the method used ({method}) missed actual collections by {wape} (WAPE)",
        lang,
    ).format(method=t(str(k.get("forecast_method", "")), lang), wape=fmt(wape, "share"))
    bench = k.get("forecast_backtest_wape_snaive")
    if bench is not None:
        better = wape <= bench
        s += t(
            ", better than the seasonal naive benchmark ({bench})"
            if better
            else ", worse than the seasonal naive benchmark ({bench}): treat it with care",
            lang,
        ).format(bench=fmt(bench, "share"))
    return s + t(".", lang)


def _composition(k, lang):
    by = k.get("allowance_by_bucket") or {}
    a = k.get("allowance")
    if a is None or not by:
        return None
    specific = by.get("specific", 0.0)
    collective = {b: v for b, v in by.items() if b != "specific"}
    s = t(
        "Of it, {spec} {cur} are specific provisions on flagged customers and {coll} {cur} the "
        "provision matrix",
        lang,
    ).format(
        spec=fmt(specific, "amount"),
        coll=fmt(sum(collective.values()), "amount"),
        cur=k.get("currency", ""),
    )
    if collective:
        top = max(collective, key=collective.get)
        s += t("; its largest line is the {bucket} bucket ({amount})", lang).format(
            bucket=t(top, lang), amount=fmt(collective[top], "amount")
        )
    return s + t(".", lang)


def _movement(k, lang):
    charge = k.get("allowance_charge_last_month")
    if charge is None:
        return None
    return t(
        "Last month the allowance took a charge of {charge}, less write-offs of {wo}, plus "
        "recoveries of {rec} {cur}.",
        lang,
    ).format(
        charge=fmt(charge, "amount"),
        wo=fmt(k.get("allowance_write_offs_last_month"), "amount"),
        rec=fmt(k.get("allowance_recoveries_last_month"), "amount"),
        cur=k.get("currency", ""),
    )


def _methods(k, lang):
    by = k.get("allowance_by_method") or {}
    if len(by) < 2:
        return None
    return t(
        "The {method} method is booked; the methods compared give {lo} to {hi} {cur}.", lang
    ).format(
        method=_word(str(k.get("provision_method", "")), lang),
        lo=fmt(min(by.values()), "amount"),
        hi=fmt(max(by.values()), "amount"),
        cur=k.get("currency", ""),
    )


def _expense(k, lang):
    x = k.get("bad_debt_expense_forecast")
    if x is None:
        return None
    s = t("Bad-debt expense of {x} {cur} is forecast up to {to}", lang).format(
        x=fmt(x, "amount"), cur=k.get("currency", ""), to=k.get("bad_debt_expense_forecast_to", "")
    )
    lo, hi = k.get("bad_debt_expense_forecast_lo"), k.get("bad_debt_expense_forecast_hi")
    if lo is not None and hi is not None:
        s += t(" (range {lo} to {hi})", lang).format(lo=fmt(lo, "amount"), hi=fmt(hi, "amount"))
    return s + t(".", lang)


def _forecast_tiles(k, lang):
    cur, items = k.get("currency", ""), []
    if k.get("forecast_collections_next") is not None:
        lo, hi = k.get("forecast_collections_next_lo_80"), k.get("forecast_collections_next_hi_80")
        note = t("80% range {lo} to {hi}", lang).format(lo=fmt(lo, "amount"), hi=fmt(hi, "amount"))
        items.append(
            (
                t("Forecast collections, {period}", lang).format(
                    period=_period(k.get("forecast_period"), lang)
                ),
                with_unit(k["forecast_collections_next"], "amount", cur),
                note if lo is not None and hi is not None else "",
            )
        )
    if k.get("forecast_collections_horizon") is not None:
        items.append(
            (
                t("Forecast collections, next {h} periods", lang).format(
                    h=k.get("forecast_horizon")
                ),
                with_unit(k["forecast_collections_horizon"], "amount", cur),
                "",
            )
        )
    if k.get("collections_last_month") is not None:
        items.append(
            (
                t("Collected, {period}", lang).format(
                    period=_period(k.get("collections_last_period"), lang)
                ),
                with_unit(k["collections_last_month"], "amount", cur),
                "",
            )
        )
    if k.get("forecast_backtest_wape") is not None:
        bench = k.get("forecast_backtest_wape_snaive")
        note, tone = "", None
        if bench is not None:
            note = t("seasonal naive: {x}", lang).format(x=fmt(bench, "share"))
            tone = "good" if k["forecast_backtest_wape"] <= bench else "bad"
        items.append(
            (
                t("Backtest error (WAPE)", lang),
                fmt(k["forecast_backtest_wape"], "share"),
                note,
                tone,
            )
        )
    return tiles(items)


def _provision_tiles(k, lang):
    cur, items = k.get("currency", ""), []
    prev_end = (k.get("previous_month") or {}).get("as_of", "")
    if k.get("allowance") is not None:
        note, tone = change_note(
            k["allowance"], k.get("allowance_previous"), "amount", False, prev_end, lang
        )
        items.append((t("Allowance", lang), with_unit(k["allowance"], "amount", cur), note, tone))
    if k.get("coverage_ratio") is not None:
        items.append((t("Coverage of open AR", lang), fmt(k["coverage_ratio"], "share"), ""))
    specific = (k.get("allowance_by_bucket") or {}).get("specific")
    if specific is not None:
        items.append((t("Specific provisions", lang), with_unit(specific, "amount", cur), ""))
    if k.get("bad_debt_expense_forecast") is not None:
        items.append(
            (
                t("Bad-debt expense forecast to {to}", lang).format(
                    to=k.get("bad_debt_expense_forecast_to", "")
                ),
                with_unit(k["bad_debt_expense_forecast"], "amount", cur),
                "",
            )
        )
    return tiles(items)


@dataclass(frozen=True)
class Brief:
    """A report's own tiles and summary sentences."""

    sentences: tuple[Callable, ...]
    tiles: Callable[[dict, str], str]

    def summary(self, k: dict, lang: str = "en") -> list[str]:
        return [s for s in (f(k, lang) for f in self.sentences) if s]


FORECAST = Brief((_forecast, _horizon, _accuracy), _forecast_tiles)
PROVISION = Brief((_allowance, _composition, _movement, _methods, _expense), _provision_tiles)
BRIEFS = {"forecast": FORECAST, "provision": PROVISION}


def top_block(k: dict, lang: str = "en", report: str = "health") -> str:
    """Tiles and the executive summary of ``report`` as HTML (all data escaped): the forecast
    and provision reports have their own (below), the others the unit's."""
    import html

    own = BRIEFS.get(report)
    sentences = own.summary(k, lang) if own else executive_summary(k, lang)
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
    return (
        (own.tiles(k, lang) if own else kpi_tiles(k, lang))
        + f'<div class="ar-summary"><b>{html.escape(t("Executive summary", lang))}</b>'
        f"<ul>{items}</ul></div>"
    )
