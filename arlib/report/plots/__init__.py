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


#: the language the house theme was last applied for (None: not yet in this process)
_themed: dict[str, str | None] = {"lang": None}


def set_theme(language: str = "en") -> None:
    """The house theme: white grid, readable sizes, Okabe-Ito colours; registers a CJK font so
    Chinese chart text renders (no empty boxes) and sets the report language for labels.

    Charts apply it themselves (:func:`new_axes`) for the report language that
    :func:`arlib.config.load` set from the ``report_language`` parameter; calling it is optional."""
    from arlib.i18n import set_language

    set_language(language)
    _themed["lang"] = language
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
    """``ax``, or new Axes in the house theme of the current report language (applied here when
    it was not yet, or for another language: the theme follows the parameter, not a cell)."""
    if ax is not None:
        return ax
    from arlib.i18n import language

    if _themed["lang"] != language():
        set_theme(language())
    _, ax = plt.subplots(figsize=figsize)
    return ax


def plain_text(values) -> list[str]:
    """Data shown as chart text (customer names, segments) with ``$`` escaped: matplotlib reads
    text between two ``$`` as mathtext, so a name such as ``"$ave $^Co"`` would crash the chart
    or show as formula. Every data-derived label goes through here.

    >>> plain_text(["A$ Pty $2", 7])
    ['A\\\\$ Pty \\\\$2', '7']
    """
    return [str(v).replace("$", r"\$") for v in values]


def thousands(ax, axis: str = "y"):
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax
