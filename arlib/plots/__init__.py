"""Charts: data in, Axes out. One seaborn theme and a colour-blind-safe palette for every report.

The library never calls ``show()`` or ``savefig``; notebooks display the figures.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import seaborn as sns

#: Okabe-Ito, safe for the common forms of colour blindness
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: aging buckets from current (calm) to oldest (alarming), sequential and colour-blind safe
AGING_COLOURS = ["#1b7837", "#a6dba0", "#fee08b", "#fdae61", "#f46d43", "#a50026"]
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei"]


def set_theme() -> None:
    """The house theme: white grid, readable sizes, Okabe-Ito colours, CJK fallback fonts."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook",
                  rc={"figure.figsize": (9, 3.6), "figure.dpi": 96, "axes.titleweight": "bold",
                      "font.sans-serif": ["DejaVu Sans", *CJK_FONTS], "axes.unicode_minus": False})


def new_axes(ax=None, figsize=None):
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def thousands(ax, axis: str = "y"):
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax
