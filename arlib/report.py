"""What a report notebook hands to the runner, and how an executed notebook becomes HTML.

Notebooks record headline figures with :func:`record`; the figures travel inside the executed
notebook as a display output of mime type :data:`KPI_MIME` (invisible in the HTML), and the
runner merges them into the unit's ``kpis.json``. So the numbers in ``kpis.json`` are exactly
the numbers the notebook computed and showed, and a plain ``papermill`` run needs no files.
"""

from __future__ import annotations

import html
import json
import warnings
from pathlib import Path

import nbformat
import pandas as pd

from arlib.io import to_jsonable

KPI_MIME = "application/vnd.arlib.kpis+json"
TEMPLATES = Path(__file__).parent / "templates"


def record(kpis: dict) -> None:
    """Record headline figures (a flat, JSON-able mapping) for the unit's ``kpis.json``."""
    from IPython.display import display

    display({KPI_MIME: to_jsonable(kpis)}, raw=True)


def stamp(cfg, ledger) -> dict:
    """The audit stamp of a run: unit, close date, currency, input fingerprint, arlib version."""
    from arlib import __version__
    from arlib.config import redacted
    from arlib.io import fingerprint

    return {"business_unit": cfg.business_unit, "as_of": cfg.as_of.strftime("%Y-%m-%d"),
            "currency": cfg.currency, "input_fingerprint": fingerprint(ledger),
            "arlib_version": __version__, "parameters": redacted({k: v for k, v in cfg.items() if k != "output_dir"})}


def collect_kpis(nb: nbformat.NotebookNode) -> dict:
    """Merge every recorded mapping of an executed notebook, in cell order."""
    out: dict = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if KPI_MIME in data:
                payload = data[KPI_MIME]
                out.update(json.loads(payload) if isinstance(payload, str) else payload)
    return out


def _exporter():
    from nbconvert import HTMLExporter

    exp = HTMLExporter(template_name="arreport", extra_template_basedirs=[str(TEMPLATES)])
    exp.exclude_input = True
    exp.exclude_input_prompt = True
    exp.exclude_output_prompt = True
    exp.embed_images = True
    return exp


def to_html(nb: nbformat.NotebookNode, title: str) -> str:
    """One self-contained HTML page from an executed notebook: no code, images embedded, no
    external scripts or styles."""
    nb = nbformat.from_dict(nb)
    nb.metadata["title"] = title
    with warnings.catch_warnings():  # the KPI record output is meant to be invisible
        warnings.filterwarnings("ignore", message=".*is not able to be represented", category=UserWarning)
        body, _ = _exporter().from_notebook_node(nb)
    return body


def table(df: pd.DataFrame, money: list[str] | tuple = (), pct: list[str] | tuple = (),
          decimals: int = 2, caption: str | None = None):
    """A display-ready table: thousands separators, negatives marked, percentages, data escaped.

    Returns an object with ``_repr_html_`` (pandas Styler with ``escape="html"``).
    """
    fmt = {c: (lambda v, d=decimals: "" if pd.isna(v) else f"{v:,.{d}f}") for c in money if c in df}
    fmt.update({c: (lambda v: "" if pd.isna(v) else f"{v:.1%}") for c in pct if c in df})
    sty = df.style.format(fmt, escape="html", na_rep="")
    sty = sty.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    num = [c for c in money if c in df]
    if num:
        sty = sty.map(lambda v: "color: #b2182b" if isinstance(v, int | float) and v < 0 else "", subset=num)
    if caption:
        sty = sty.set_caption(html.escape(caption))
    return sty.hide(axis="index") if isinstance(df.index, pd.RangeIndex) else sty
