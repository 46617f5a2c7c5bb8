"""Charts of the group roll-up: units side by side on one KPI."""

from __future__ import annotations

import pandas as pd

from arlib.i18n import t
from arlib.report.group import GROUP
from arlib.report.plots import PALETTE, new_axes, thousands


def unit_bars(
    consolidated: pd.DataFrame,
    kpi: str,
    title: str,
    percent: bool = False,
    currency: str | None = None,
    target: float | None = None,
    ax=None,
):
    """One bar per unit for ``kpi``. A ratio gets the group figure as a dashed line (and the
    ``target``, if any, as a dotted one); an amount (``currency`` given, the axis names it) gets
    no group line: a total drawn over its own parts would dwarf them and mean nothing."""
    ax = new_axes(ax, figsize=(6, 3))
    units = consolidated.drop(index=GROUP)[kpi].astype(float).dropna()
    scale = 100.0 if percent else 1.0
    ax.bar(units.index.astype(str), units.to_numpy() * scale, color=PALETTE[0])
    group = consolidated.at[GROUP, kpi]
    if currency is None and pd.notna(group):
        ax.axhline(float(group) * scale, color=PALETTE[3], ls="--", lw=1.5, label=t("group"))
    if target is not None:
        ax.axhline(float(target) * scale, color=PALETTE[2], ls=":", lw=1.5, label=t("target"))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8)
    ylabel = currency if currency else ("%" if percent else "")
    ax.set(title=t(title), xlabel="", ylabel=ylabel)
    return ax if percent else thousands(ax)
