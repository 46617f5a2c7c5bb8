"""Charts: data in, Axes out. One seaborn theme and a colour-blind-safe palette for every report.

The library never calls ``show()`` or ``savefig``; notebooks display the figures. The theme is
seaborn's "whitegrid" style and "notebook" context, applied from the values below rather than by
importing seaborn, whose import loads ``scipy.stats`` (about 1.2 s in every report kernel); a
test checks them against seaborn's ``set_theme``. Charts that need seaborn import it themselves.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import cycler, font_manager

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
#: seaborn 0.13 ``axes_style("whitegrid")`` (its "rocket" colour map left out: seaborn registers
#: it on import; the charts name their colour maps)
WHITEGRID = {
    "figure.facecolor": "white",
    "axes.labelcolor": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "axes.axisbelow": True,
    "grid.linestyle": "-",
    "text.color": ".15",
    "font.family": ["sans-serif"],
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "xtick.top": False,
    "ytick.right": False,
    "axes.grid": True,
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "grid.color": ".8",
    "axes.spines.left": True,
    "axes.spines.bottom": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "xtick.bottom": False,
    "ytick.left": False,
}
#: seaborn 0.13 ``plotting_context("notebook")``
NOTEBOOK = {
    "axes.linewidth": 1.25,
    "grid.linewidth": 1,
    "lines.linewidth": 1.5,
    "lines.markersize": 6,
    "patch.linewidth": 1,
    "xtick.major.width": 1.25,
    "ytick.major.width": 1.25,
    "xtick.minor.width": 1,
    "ytick.minor.width": 1,
    "xtick.major.size": 6,
    "ytick.major.size": 6,
    "xtick.minor.size": 4,
    "ytick.minor.size": 4,
    "font.size": 12,
    "axes.labelsize": 12,
    "axes.titlesize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 12,
}


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
    # matplotlib falls back glyph by glyph only across the families listed in font.family
    # what sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook", rc=...) sets
    matplotlib.rcParams.update({**NOTEBOOK, **WHITEGRID, "axes.prop_cycle": cycler(color=PALETTE)})
    matplotlib.rcParams.update(
        {
            "figure.figsize": (9, 3.6),
            "figure.dpi": 96,
            "axes.titleweight": "bold",
            "font.family": ["sans-serif", *cjk],
            "font.sans-serif": ["DejaVu Sans"],
            "axes.unicode_minus": False,
        }
    )
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
