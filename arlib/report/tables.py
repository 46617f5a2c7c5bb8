"""Display-ready tables and KPI tiles: readable headers, one number style, data escaped."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from arlib.i18n import t

if TYPE_CHECKING:
    import pandas as pd


def tiles(items: list[tuple[str, str, str]]) -> str:
    """KPI tiles: (label, value, note) triples, already formatted; all text escaped. A note that
    starts with "!" is shown as a risk flag."""
    e = html.escape
    out = []
    for label, value, note in items:
        cls = "ar-flag" if note.startswith("!") else "n"
        out.append(
            f'<div class="ar-tile"><div class="k">{e(label)}</div><div class="v">{e(value)}</div>'
            f'<div class="{cls}">{e(note.lstrip("!"))}</div></div>'
        )
    return f'<div class="ar-tiles">{"".join(out)}</div>'


#: display names of common columns (English); other snake_case names become "Days past due" style
LABELS = {
    "open_ar": "Open AR",
    "current_ar": "Current AR",
    "past_due_ar": "Past-due AR",
    "dso": "DSO",
    "dso_countback": "Countback DSO",
    "bpdso": "Best-possible DSO",
    "add": "ADD",
    "cei": "CEI",
    "hhi": "HHI",
    "customer_id": "Customer",
    "name": "Name",
    "invoice_id": "Invoice",
    "ar_window_start": "AR at window start",
    "yhat": "Forecast",
    "wape": "WAPE",
    "mase": "MASE",
    "smape": "sMAPE",
}


def column_label(col, lang: str | None = None) -> str:
    """The header shown for a column: a translation if the catalog has one, else a readable name.

    >>> column_label("days_past_due"), column_label("open_ar"), column_label("open_ar", "zh")
    ('Days past due', 'Open AR', '应收账款余额')
    """
    if not isinstance(col, str):
        return col
    label = LABELS.get(col) or (
        col.replace("_", " ").capitalize() if "_" in col or col.islower() else col
    )
    translated = t(col, lang)
    return translated if translated != col else t(label, lang)


#: columns whose values are words of ours (not data) and are translated in the report language
WORD_COLUMNS = {
    "method",
    "metric",
    "status",
    "model",
    "segment",
    "step",
    "next_step",
    "limit_action",
    "kind",
    "section",
    "line",
    "check",
    "frame",
    "problem",
    "policy",
}

#: widest table shown in one piece; wider ones are split into panels that repeat the id columns
MAX_COLUMNS = 10


class Panels:
    """Several tables shown one under the other (a wide table split to fit a laptop screen)."""

    def __init__(self, parts):
        self.parts = parts

    def _repr_html_(self) -> str:
        return "".join(p.to_html() for p in self.parts)


def table(
    df: pd.DataFrame,
    money: list[str] | tuple = (),
    pct: list[str] | tuple = (),
    decimals: int = 2,
    caption: str | None = None,
    max_columns: int = MAX_COLUMNS,
):
    """A display-ready table: readable (translated) headers, thousands separators, negatives in
    red, percentages, dates as YYYY-MM-DD, data escaped. A table wider than ``max_columns`` is
    split into panels that repeat its leading text (identifier) columns.

    Returns an object with ``_repr_html_`` (a pandas Styler with ``escape="html"``, or panels).
    """
    import pandas as pd

    if isinstance(df.index, pd.RangeIndex) or df.index.name is None:
        frame = df.reset_index(drop=isinstance(df.index, pd.RangeIndex))
    else:
        frame = df.reset_index()
    ids = []
    for c in frame.columns[:2]:
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype):
            ids.append(c)
        else:
            break
    rest = [c for c in frame.columns if c not in ids]
    width = max(max_columns - len(ids), 1)
    if len(frame.columns) <= max_columns:
        return _styled(frame, money, pct, decimals, caption)
    chunks = [rest[i : i + width] for i in range(0, len(rest), width)]
    return Panels(
        [
            _styled(frame[ids + ch], money, pct, decimals, caption if i == 0 else None)
            for i, ch in enumerate(chunks)
        ]
    )


def _number(v) -> str:
    """Other floats: two decimals, or four significant digits below 1 (rates such as 0.128)."""
    import pandas as pd

    if pd.isna(v):
        return ""
    return f"{v:,.2f}" if abs(v) >= 1 or v == 0 else f"{v:.4g}"


def _styled(df: pd.DataFrame, money, pct, decimals, caption):
    import pandas as pd

    df = df.copy()
    for c in WORD_COLUMNS & set(df.columns):
        df[c] = df[c].map(lambda v: t(v) if isinstance(v, str) else v)
    if "bucket" in df:
        df["bucket"] = df["bucket"].astype(str).map(lambda v: t(v))
    rename = {c: column_label(c) for c in df.columns}
    money = [rename[c] for c in money if c in rename]
    pct = [rename[c] for c in pct if c in rename]
    df = df.rename(columns=rename)
    fmt = {c: (lambda v, d=decimals: "" if pd.isna(v) else f"{v:,.{d}f}") for c in money}
    fmt.update({c: (lambda v: "" if pd.isna(v) else f"{v:.1%}") for c in pct})
    fmt.update(
        {
            c: (lambda v: "" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d"))
            for c in df.columns
            if pd.api.types.is_datetime64_any_dtype(df[c])
        }
    )
    fmt.update(
        {c: _number for c in df.columns if c not in fmt and pd.api.types.is_float_dtype(df[c])}
    )
    sty = df.style.format(fmt, escape="html", na_rep="")
    sty = sty.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if money:
        sty = sty.map(
            lambda v: "color: #b2182b" if isinstance(v, int | float) and v < 0 else "", subset=money
        )
    text = [c for c in df.columns if df[c].dtype == object and c not in money and c not in pct]
    if text:
        sty = sty.set_properties(subset=text, **{"text-align": "left"})
    if caption:
        sty = sty.set_caption(html.escape(caption))
    return sty.hide(axis="index")
