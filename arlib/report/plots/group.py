"""Charts of the group roll-up: units side by side on one KPI."""

from __future__ import annotations

import pandas as pd

from arlib.i18n import t
from arlib.report.group import GROUP
from arlib.report.plots import PALETTE, new_axes, thousands


def unit_bars(consolidated: pd.DataFrame, kpi: str, title: str, percent: bool = False, ax=None):
    """One bar per unit for ``kpi`` (best first by the KPI's direction is up to the caller's
    ordering), with the group figure as a dashed line."""
    ax = new_axes(ax, figsize=(6, 3))
    units = consolidated.drop(index=GROUP)[kpi].astype(float).dropna()
    scale = 100.0 if percent else 1.0
    ax.bar(units.index.astype(str), units.to_numpy() * scale, color=PALETTE[0])
    group = consolidated.at[GROUP, kpi]
    if pd.notna(group):
        ax.axhline(float(group) * scale, color=PALETTE[3], ls="--", lw=1.5, label=t("group"))
        ax.legend(frameon=False, fontsize=8)
    ax.set(title=t(title), xlabel="", ylabel="%" if percent else "")
    return ax if percent else thousands(ax)
