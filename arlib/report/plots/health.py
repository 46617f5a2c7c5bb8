"""Charts of receivables health: the DSO family and CEI over time, concentration and credit risk.

Data in (frames from :mod:`arlib.health.breakdown` and :mod:`arlib.health.credit`), ``ax=None``, Axes out.
Chart text is English message ids translated through :func:`arlib.i18n.t` into the report
language (set by :func:`arlib.report.plots.set_theme`).
"""

from __future__ import annotations

import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from arlib.i18n import t
from arlib.report.plots import AGING_COLOURS, PALETTE, new_axes, plain_text, thousands
from arlib.report.plots.ledger import currency_label
from arlib.schemas import C

GRADE_COLOURS = dict(zip("ABCDE", ["#1b7837", "#a6dba0", "#fee08b", "#f46d43", "#a50026"]))


def _no_data(ax, title: str):
    ax.set(title=t(title), xticks=[], yticks=[])
    ax.text(0.5, 0.5, t("no data"), ha="center", va="center", transform=ax.transAxes, color="grey")
    return ax


def dso_trend(trend: pd.DataFrame, ax=None):
    """DSO, countback DSO and best-possible DSO per month; the gap (average days delinquent)
    shaded."""
    ax = new_axes(ax)
    if trend.empty:
        return _no_data(ax, "Days sales outstanding")
    x = trend[C.month_end]
    ax.fill_between(
        x,
        trend["bpdso"],
        trend["dso"],
        color=PALETTE[3],
        alpha=0.15,
        label=t("average days delinquent"),
    )
    ax.plot(x, trend["dso"], color=PALETTE[0], lw=2, marker="o", ms=3, label=t("DSO"))
    ax.plot(x, trend["dso_countback"], color=PALETTE[4], lw=1.5, ls="--", label=t("countback DSO"))
    ax.plot(x, trend["bpdso"], color=PALETTE[2], lw=1.5, label=t("best-possible DSO"))
    ax.set(title=t("Days sales outstanding"), xlabel="", ylabel=t("days"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left", ncols=4, fontsize=8, frameon=True)
    return ax


def cei_trend(trend: pd.DataFrame, ax=None):
    """Monthly CEI as bars and the window CEI as a line, on a 0-100 scale."""
    ax = new_axes(ax)
    if trend.empty:
        return _no_data(ax, "Collection effectiveness index")
    x = trend[C.month_end]
    ax.bar(x, trend["cei_month"], width=20, color=PALETTE[5], alpha=0.7, label=t("CEI, month"))
    ax.plot(x, trend["cei"], color=PALETTE[0], lw=2, marker="o", ms=3, label=t("CEI, window"))
    ax.set(
        title=t("Collection effectiveness index"),
        xlabel="",
        ylabel=t("% collected of collectible"),
        ylim=(0, 105),
    )
    ax.legend(loc="lower left", ncols=2, fontsize=8, frameon=False)
    return ax


def past_due_trend(trend: pd.DataFrame, ax=None):
    """Past-due share of open AR per month."""
    ax = new_axes(ax)
    if trend.empty:
        return _no_data(ax, "Past-due share of open receivables")
    ax.plot(
        trend[C.month_end], 100 * trend["past_due_share"], color=PALETTE[3], lw=2, marker="o", ms=3
    )
    ax.set(title=t("Past-due share of open receivables"), xlabel="", ylabel=t("% of open AR"))
    ax.set_ylim(bottom=0)
    return ax


def top_customers(customers: pd.DataFrame, n: int = 10, currency: str = "", ax=None):
    """The ``n`` largest debtors' open AR split into current and past due (frame from
    :func:`arlib.health.breakdown.customer_kpis`)."""
    ax = new_axes(ax, figsize=(9, 0.35 * n + 1.2))
    top = customers.loc[customers["open_ar"] > 0].nlargest(n, "open_ar").iloc[::-1]
    if top.empty:
        return _no_data(ax, t("Top {n} debtors").format(n=n))
    label = plain_text(top[C.name] if C.name in top else top[C.customer_id])
    ax.barh(label, top["current_ar"], color=AGING_COLOURS[0], label=t("current"))
    ax.barh(
        label,
        top["past_due_ar"],
        left=top["current_ar"],
        color=AGING_COLOURS[4],
        label=t("past due"),
    )
    total = customers["open_ar"].sum()
    for y, v in enumerate(top["open_ar"]):
        ax.annotate(
            f"{v / total:.0%}" if total > 0 else "",
            (v, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set(
        title=t("Top {n} debtors").format(n=n),
        xlabel=currency_label("open amount", currency),
        ylabel="",
    )
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return thousands(ax, "x")


def risk_map(card: pd.DataFrame, ax=None):
    """Customers by weighted days late (x) and credit-limit use (y), sized by open AR and
    coloured by grade (frame from :func:`arlib.health.credit.scorecard`)."""
    ax = new_axes(ax, figsize=(9, 4.5))
    if card["days_late"].notna().sum() == 0:
        return _no_data(ax, "Credit risk map (size = open AR)")
    d = card.assign(limit_use_pct=100 * card["limit_use"].fillna(0.0)).dropna(subset=["days_late"])
    sizes = 20 + 300 * np.sqrt(d["open_ar"].clip(lower=0) / max(d["open_ar"].max(), 1e-9))
    for grade, colour in GRADE_COLOURS.items():
        g = d["grade"] == grade
        if g.any():
            ax.scatter(
                d.loc[g, "days_late"],
                d.loc[g, "limit_use_pct"],
                s=sizes[g],
                color=colour,
                alpha=0.8,
                edgecolors="white",
                linewidths=0.5,
                label=grade,
            )
    legend = ax.legend(title=t("grade"), fontsize=8, frameon=False)
    for handle in legend.legend_handles:  # legend dots of one size, not the first customer's
        handle.set_sizes([40])
    ax.axvline(0, color="grey", lw=0.8)
    ax.axhline(100, color="grey", lw=0.8, ls="--")
    ax.set(
        title=t("Credit risk map (size = open AR)"),
        xlabel=t("weighted days late"),
        ylabel=t("% of credit limit used"),
    )
    return ax


def grade_mix(card: pd.DataFrame, currency: str = "", ax=None):
    """Open AR per risk grade, with the number of customers on each bar."""
    ax = new_axes(ax)
    g = (
        card.groupby("grade")["open_ar"]
        .agg(["sum", "size"])
        .reindex(list(GRADE_COLOURS), fill_value=0)
    )
    ax.bar(g.index, g["sum"], color=[GRADE_COLOURS[k] for k in g.index])
    for x, (amt, n) in enumerate(zip(g["sum"], g["size"])):
        ax.annotate(t("{n} customers").format(n=n), (x, amt), ha="center", va="bottom", fontsize=8)
    ax.set(
        title=t("Open receivables by risk grade"),
        xlabel=t("grade"),
        ylabel=currency_label("open amount", currency),
    )
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    return ax


def days_late_trend(behaviour: pd.DataFrame, ax=None):
    """One customer's amount-weighted days late per month of payment (bars: amount paid, right
    axis), frame from :func:`arlib.report.customer.account` (``behaviour``)."""
    ax = new_axes(ax)
    if behaviour.empty:
        return _no_data(ax, "Days late by month of payment")
    x = pd.to_datetime(behaviour["month"])
    ax.axhline(0, color="grey", lw=0.8)
    ax.plot(x, behaviour["days_late"], marker="o", color=PALETTE[3], label=t("days late"))
    ax.set(title=t("Days late by month of payment"), ylabel=t("days late"), xlabel="")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax
