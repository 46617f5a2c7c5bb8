"""Charts of the ledger itself: aging and balances over time."""

from __future__ import annotations

import pandas as pd

from arlib.plots import AGING_COLOURS, new_axes, thousands
from arlib.schemas import C


def aging_bars(aging: pd.DataFrame, currency: str = "", ax=None):
    """Open amount per aging bucket (frame from :func:`arlib.ledger.aging_table`)."""
    ax = new_axes(ax)
    colours = (AGING_COLOURS * 2)[: len(aging)]
    ax.bar(aging[C.bucket].astype(str), aging[C.amount], color=colours)
    for x, (amt, share) in enumerate(zip(aging[C.amount], aging[C.share])):
        ax.annotate(f"{share:.0%}", (x, amt), ha="center", va="bottom", fontsize=9)
    ax.set(title="Open receivables by days past due", xlabel="days past due", ylabel=f"open amount {currency}".strip())
    return thousands(ax)


def aging_history(history: pd.DataFrame, currency: str = "", ax=None):
    """Stacked month-end balances per bucket (frame from :meth:`arlib.ledger.Ledger.history`)."""
    ax = new_axes(ax)
    wide = history.pivot_table(index=C.month_end, columns=C.bucket, values=C.amount, aggfunc="sum", observed=False)
    ax.stackplot(wide.index, wide.T.to_numpy(), labels=[str(c) for c in wide.columns],
                 colors=(AGING_COLOURS * 2)[: wide.shape[1]], alpha=0.9)
    ax.legend(loc="upper left", ncols=wide.shape[1], fontsize=8, frameon=False)
    ax.set(title="Month-end open receivables by aging bucket", xlabel="", ylabel=f"open amount {currency}".strip())
    return thousands(ax)
