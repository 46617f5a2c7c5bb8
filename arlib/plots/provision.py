"""Charts of the bad-debt provision: loss rates, migration, vintages, roll-forward, forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arlib.plots import AGING_COLOURS, PALETTE, new_axes, thousands
from arlib.schemas import C


def loss_rates(table: pd.DataFrame, ax=None):
    """Grouped bars of loss rate per bucket, one colour per method (frame from
    :func:`arlib.provision.loss_rate_table`: ``bucket`` and one column per method)."""
    ax = new_axes(ax)
    methods = [c for c in table.columns if c != C.bucket]
    x = np.arange(len(table))
    width = 0.8 / max(len(methods), 1)
    for i, m in enumerate(methods):
        ax.bar(x + (i - (len(methods) - 1) / 2) * width, table[m], width, label=m.replace("_", " "),
               color=PALETTE[i % len(PALETTE)])
    ax.set_xticks(x, table[C.bucket].astype(str))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(frameon=False, fontsize=8)
    ax.set(title="Lifetime loss rate by aging bucket and method", xlabel="days past due", ylabel="loss rate")
    return ax


def migration(matrix: pd.DataFrame, ax=None):
    """Heatmap of the averaged one-month transition matrix (``RollRateModel.matrix_``)."""
    import seaborn as sns

    ax = new_axes(ax, figsize=(8, 3.8))
    sns.heatmap(matrix.astype(float), annot=True, fmt=".1%", cmap="Blues", cbar=False, vmin=0, vmax=1,
                linewidths=0.5, ax=ax, annot_kws={"fontsize": 8})
    ax.set(title="Where a month-end balance is one month later", xlabel="state a month later", ylabel="bucket")
    return ax


def vintage_curves(triangle: pd.DataFrame, development: pd.DataFrame | None = None, last: int = 24, ax=None):
    """Cumulative loss ratio by age, one line per cohort (the latest ``last``), with the expected
    curve of a new cohort (``VintageLossModel.triangle_`` and ``development_``)."""
    ax = new_axes(ax)
    cohorts = sorted(triangle["cohort"].unique())[-last:]
    shades = np.linspace(0.85, 0.35, len(cohorts))
    for shade, c in zip(shades, cohorts):
        t = triangle.loc[triangle["cohort"] == c]
        ax.plot(t["age"], t["loss_ratio"], color=str(shade), lw=1)
    if development is not None:
        ax.plot(development["age"], development["cumulative_ratio"], color=PALETTE[3], lw=2.5,
                label="expected (incremental loss ratios)")
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
    ax.set(title="Cumulative loss ratio of invoicing-month cohorts", xlabel="months since invoicing",
           ylabel="losses / invoiced")
    return ax


def rollforward(table: pd.DataFrame, currency: str = "", ax=None):
    """Monthly charge, write-offs and recoveries as bars and the closing allowance as a line
    (frame from :func:`arlib.provision.rollforward`)."""
    ax = new_axes(ax)
    x = np.arange(len(table))
    ax.bar(x - 0.27, table["charge"], 0.27, label="charge (bad-debt expense)", color=PALETTE[0])
    ax.bar(x, -table["write_offs"], 0.27, label="write-offs", color=PALETTE[3])
    ax.bar(x + 0.27, table["recoveries"], 0.27, label="recoveries", color=PALETTE[2])
    ax.plot(x, table["closing"], color="black", marker="o", lw=1.5, label="closing allowance")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [pd.Timestamp(d).strftime("%b %y") for d in table.index], fontsize=8)
    ax.legend(frameon=False, fontsize=8, ncols=4, loc="upper left")
    ax.set(title="Allowance roll-forward", xlabel="", ylabel=f"amount {currency}".strip())
    return thousands(ax)


def forecast(fc: pd.DataFrame, metric: str = "allowance", history: pd.Series | None = None,
             currency: str = "", ax=None):
    """Point forecast and range of one metric (frame from :func:`arlib.provision.provision_forecast`),
    after its recent history if given."""
    ax = new_axes(ax)
    f = fc.loc[fc["metric"] == metric]
    lo = next(c for c in f.columns if c.startswith("yhat_lo"))
    hi = next(c for c in f.columns if c.startswith("yhat_hi"))
    if history is not None and len(history):
        ax.plot(history.index, history.to_numpy(), color="black", marker="o", lw=1.5, label="actual")
    ax.fill_between(f[C.month_end], f[lo], f[hi], color=PALETTE[0], alpha=0.25, label=f"range ({lo[8:]}%)")
    ax.plot(f[C.month_end], f["yhat"], color=PALETTE[0], marker="o", lw=2, label="forecast")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set(title=f"Forecast: {metric.replace('_', ' ')}", xlabel="", ylabel=f"amount {currency}".strip())
    return thousands(ax)


def allowance_by_bucket(table: pd.DataFrame, currency: str = "", ax=None):
    """Exposure and allowance per line of the allowance table (collective buckets, specific)."""
    ax = new_axes(ax)
    t = table.loc[table[C.bucket] != "total"]
    x = np.arange(len(t))
    colours = (AGING_COLOURS + ["#555555"] * 4)[: len(t)]
    ax.bar(x, t["exposure"], color=colours, alpha=0.35, label="exposure")
    ax.bar(x, t["allowance"], color=colours, label="allowance")
    for xi, (e, a) in enumerate(zip(t["exposure"], t["allowance"])):
        ax.annotate(f"{a / e:.1%}" if e else "", (xi, a), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, t[C.bucket].astype(str))
    ax.set_yscale("symlog", linthresh=max(float(t["allowance"].max()) / 10, 1.0))
    ax.legend(frameon=False, fontsize=8)
    ax.set(title="Exposure and allowance (labels: coverage)", xlabel="", ylabel=f"amount {currency}".strip())
    return ax
