"""Charts of the ledger itself: aging and balances over time.

Chart text is English message ids translated through :func:`arlib.i18n.t` into the report
language (set by :func:`arlib.report.plots.set_theme`)."""

from __future__ import annotations

import pandas as pd

from arlib.i18n import t
from arlib.report.plots import AGING_COLOURS, new_axes, thousands
from arlib.schemas import C


def currency_label(text: str, currency: str = "") -> str:
    """An axis label with the currency, in the report language: ``open amount EUR``
    (message ids ``"<text> {currency}"`` and ``"<text>"``)."""
    return t(text + " {currency}").format(currency=currency) if currency else t(text)


def aging_bars(aging: pd.DataFrame, currency: str = "", ax=None):
    """Open amount per aging bucket (frame from :func:`arlib.ledger.aging_table`)."""
    ax = new_axes(ax)
    colours = (AGING_COLOURS * 2)[: len(aging)]
    ax.bar([t(b) for b in aging[C.bucket].astype(str)], aging[C.amount], color=colours)
    for x, (amt, share) in enumerate(zip(aging[C.amount], aging[C.share])):
        ax.annotate(f"{share:.0%}", (x, amt), ha="center", va="bottom", fontsize=9)
    ax.set(
        title=t("Open receivables by days past due"),
        xlabel=t("days past due"),
        ylabel=currency_label("open amount", currency),
    )
    return thousands(ax)


def aging_history(history: pd.DataFrame, currency: str = "", ax=None):
    """Stacked month-end balances per bucket (frame from :meth:`arlib.ledger.Ledger.history`)."""
    ax = new_axes(ax)
    wide = history.pivot_table(
        index=C.month_end, columns=C.bucket, values=C.amount, aggfunc="sum", observed=False
    )
    ax.stackplot(
        wide.index,
        wide.T.to_numpy(),
        labels=[t(str(c)) for c in wide.columns],
        colors=(AGING_COLOURS * 2)[: wide.shape[1]],
        alpha=0.9,
    )
    ax.legend(loc="upper left", ncols=wide.shape[1], fontsize=8, frameon=False)
    ax.set(
        title=t("Month-end open receivables by aging bucket"),
        xlabel="",
        ylabel=currency_label("open amount", currency),
    )
    return thousands(ax)
