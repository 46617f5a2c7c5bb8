"""Charts: data in, Axes out. One seaborn theme and a colour-blind-safe palette for every report.

The library never calls ``show()`` or ``savefig``; notebooks display the figures. The theme is
seaborn's "whitegrid" style and "notebook" context (``sns.set_theme``); a unit's notebooks share
one kernel, so seaborn is imported once per unit.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager

from arlib.report.images import CHART_DPI

#: Okabe-Ito, safe for the common forms of colour blindness
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: aging buckets from current (calm) to oldest (alarming), sequential and colour-blind safe
AGING_COLOURS = ["#1b7837", "#a6dba0", "#fee08b", "#fdae61", "#f46d43", "#a50026"]
CJK_FONTS = [
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
]


def cjk_font_file() -> Path | None:
    """Noto Sans CJK SC from the ``mplfonts`` wheel (a PyPI package: no root, no download)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NotoSansCJKsc-Regular.otf"
    return path if path.exists() else None


def set_theme(language: str = "en") -> None:
    """The house theme: white grid, readable sizes, Okabe-Ito colours; registers a CJK font so
    Chinese chart text renders (no empty boxes) and sets the report language for labels."""
    from arlib.i18n import set_language

    set_language(language)
    font = cjk_font_file()
    if font is not None and not any(f.fname == str(font) for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(font))
    installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [f for f in CJK_FONTS if f in installed][:1]
    import seaborn as sns

    # matplotlib falls back glyph by glyph only across the families listed in font.family
    rc = {
        "figure.figsize": (9, 3.6),
        "figure.dpi": CHART_DPI,  # sharp; arlib.report.images shows it at its 96-dpi size
        "axes.titleweight": "bold",
        "font.family": ["sans-serif", *cjk],
        "font.sans-serif": ["DejaVu Sans"],
        "axes.unicode_minus": False,
    }
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook", rc=rc)
    logging.getLogger("matplotlib.font_manager").setLevel(
        logging.ERROR
    )  # the CJK font has no bold face


def new_axes(ax=None, figsize=None):
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def thousands(ax, axis: str = "y"):
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax
