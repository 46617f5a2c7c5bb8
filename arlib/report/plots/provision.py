"""Charts of the bad-debt provision: loss rates, migration, vintages, roll-forward, forecast.

Chart text is English message ids translated through :func:`arlib.i18n.t` into the report
language (set by :func:`arlib.report.plots.set_theme`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arlib.i18n import t
from arlib.report.plots import AGING_COLOURS, PALETTE, new_axes, thousands
from arlib.report.plots.ledger import currency_label
from arlib.schemas import C


def loss_rates(table: pd.DataFrame, ax=None):
    """Grouped bars of loss rate per bucket, one colour per method (frame from
    :func:`arlib.provision.estimate.loss_rate_table`: ``bucket`` and one column per method)."""
    if table.empty:  # nothing to draw (no history, e.g. an open-item list): the table says why
        return None
    ax = new_axes(ax)
    methods = [c for c in table.columns if c != C.bucket]
    x = np.arange(len(table))
    width = 0.8 / max(len(methods), 1)
    for i, m in enumerate(methods):
        ax.bar(
            x + (i - (len(methods) - 1) / 2) * width,
            table[m],
            width,
            label=t(m.replace("_", " ")),
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_xticks(x, [t(b) for b in table[C.bucket].astype(str)])
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(frameon=False, fontsize=8)
    ax.set(
        title=t("Lifetime loss rate by aging bucket and method"),
        xlabel=t("days past due"),
        ylabel=t("loss rate"),
    )
    return ax


def migration(matrix: pd.DataFrame, ax=None):
    """Heatmap of the averaged one-month transition matrix (``RollRateModel.matrix_``)."""
    if matrix.empty:  # nothing to draw (no history, e.g. an open-item list): the table says why
        return None
    import seaborn as sns

    ax = new_axes(ax, figsize=(8, 3.8))
    states = matrix.astype(float)
    states = states.set_axis([t(str(c)) for c in states.columns], axis=1).set_axis(
        [t(str(i)) for i in states.index], axis=0
    )
    sns.heatmap(
        states,
        annot=True,
        fmt=".1%",
        cmap="Blues",
        cbar=False,
        vmin=0,
        vmax=1,
        linewidths=0.5,
        ax=ax,
        annot_kws={"fontsize": 8},
    )
    ax.set(
        title=t("Where a month-end balance is one month later"),
        xlabel=t("state a month later"),
        ylabel=t("bucket"),
    )
    return ax


def vintage_curves(
    triangle: pd.DataFrame, development: pd.DataFrame | None = None, last: int = 24, ax=None
):
    """Cumulative loss ratio by age, one line per cohort (the latest ``last``), with the expected
    curve of a new cohort (``VintageLossModel.triangle_`` and ``development_``)."""
    if triangle.empty:  # nothing to draw (no history, e.g. an open-item list): the table says why
        return None
    ax = new_axes(ax)
    cohorts = sorted(triangle["cohort"].unique())[-last:]
    shades = np.linspace(0.85, 0.35, len(cohorts))
    for shade, c in zip(shades, cohorts):
        cohort = triangle.loc[triangle["cohort"] == c]
        ax.plot(cohort["age"], cohort["loss_ratio"], color=str(shade), lw=1)
    if development is not None:
        ax.plot(
            development["age"],
            development["cumulative_ratio"],
            color=PALETTE[3],
            lw=2.5,
            label=t("expected (incremental loss ratios)"),
        )
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
    ax.set(
        title=t("Cumulative loss ratio of invoicing-month cohorts"),
        xlabel=t("months since invoicing"),
        ylabel=t("losses / invoiced"),
    )
    return ax


def rollforward(table: pd.DataFrame, currency: str = "", ax=None):
    """Monthly charge, write-offs and recoveries as bars and the closing allowance as a line
    (frame from :func:`arlib.provision.estimate.rollforward`)."""
    if table.empty:  # nothing to draw (no history, e.g. an open-item list): the table says why
        return None
    ax = new_axes(ax)
    x = np.arange(len(table))
    ax.bar(x - 0.27, table["charge"], 0.27, label=t("charge (bad-debt expense)"), color=PALETTE[0])
    ax.bar(x, -table["write_offs"], 0.27, label=t("write-offs"), color=PALETTE[3])
    ax.bar(x + 0.27, table["recoveries"], 0.27, label=t("recoveries"), color=PALETTE[2])
    ax.plot(x, table["closing"], color="black", marker="o", lw=1.5, label=t("closing allowance"))
    ax.axhline(0, color="grey", lw=0.8)
    months = [
        t("{month} {year}").format(month=t(f"{pd.Timestamp(d):%b}"), year=f"{pd.Timestamp(d):%y}")
        for d in table.index
    ]
    ax.set_xticks(x, months, fontsize=8)
    ax.legend(frameon=False, fontsize=8, ncols=4, loc="upper left")
    ax.set(title=t("Allowance roll-forward"), xlabel="", ylabel=currency_label("amount", currency))
    return thousands(ax)


def forecast(
    fc: pd.DataFrame,
    metric: str = "allowance",
    history: pd.Series | None = None,
    currency: str = "",
    ax=None,
):
    """Point forecast and range of one metric (frame from :func:`arlib.provision.estimate.provision_forecast`),
    after its recent history if given."""
    if fc.empty:  # nothing to draw (no history, e.g. an open-item list): the table says why
        return None
    ax = new_axes(ax)
    f = fc.loc[fc["metric"] == metric]
    lo = next(c for c in f.columns if c.startswith("yhat_lo"))
    hi = next(c for c in f.columns if c.startswith("yhat_hi"))
    if history is not None and len(history):
        ax.plot(
            history.index, history.to_numpy(), color="black", marker="o", lw=1.5, label=t("actual")
        )
    ax.fill_between(
        f[C.month_end],
        f[lo],
        f[hi],
        color=PALETTE[0],
        alpha=0.25,
        label=t("range ({level}%)").format(level=lo[8:]),
    )
    ax.plot(f[C.month_end], f["yhat"], color=PALETTE[0], marker="o", lw=2, label=t("forecast"))
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set(
        title=t("Forecast: {metric}").format(metric=t(metric.replace("_", " "))),
        xlabel="",
        ylabel=currency_label("amount", currency),
    )
    return thousands(ax)


def allowance_by_bucket(table: pd.DataFrame, currency: str = "", ax=None):
    """Exposure and allowance per line of the allowance table (collective buckets, specific)."""
    if table.empty:  # nothing to draw (no history, e.g. an open-item list): the table says why
        return None
    ax = new_axes(ax)
    lines = table.loc[table[C.bucket] != "total"]
    x = np.arange(len(lines))
    colours = (AGING_COLOURS + ["#555555"] * 4)[: len(lines)]
    ax.bar(x, lines["exposure"], color=colours, alpha=0.35, label=t("exposure"))
    ax.bar(x, lines["allowance"], color=colours, label=t("allowance"))
    for xi, (e, a) in enumerate(zip(lines["exposure"], lines["allowance"])):
        ax.annotate(f"{a / e:.1%}" if e else "", (xi, a), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [t(b) for b in lines[C.bucket].astype(str)])
    ax.set_yscale("symlog", linthresh=max(float(lines["allowance"].max()) / 10, 1.0))
    ax.legend(frameon=False, fontsize=8)
    ax.set(
        title=t("Exposure and allowance (labels: coverage)"),
        xlabel="",
        ylabel=currency_label("amount", currency),
    )
    return ax
