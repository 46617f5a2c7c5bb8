"""Display-ready tables and KPI tiles: readable headers, one number style, data escaped."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from arlib.i18n import LABELS, WORD_COLUMNS, column_label, t  # noqa: F401 (re-exported)
from arlib.numbers import _missing, fmt, kind_of

if TYPE_CHECKING:
    import pandas as pd


def tiles(items: list[tuple]) -> str:
    """KPI tiles: (label, value, note) or (label, value, note, tone) tuples, already formatted;
    all text escaped. ``tone`` "good" shows the note green, "bad" red; a note that starts with
    "!" is shown as a risk flag (red).

    >>> tiles([("DSO", "62.3 days", "▼ 1.0 vs 2026-09-30", "good")]).count('class="ar-good"')
    1
    """
    e = html.escape
    out = []
    for label, value, note, *tone in items:
        tone = tone[0] if tone else ("bad" if note.startswith("!") else None)
        cls = {"bad": "ar-flag", "good": "ar-good"}.get(tone, "n")
        out.append(
            f'<div class="ar-tile"><div class="k">{e(label)}</div><div class="v">{e(value)}</div>'
            f'<div class="{cls}">{e(note.lstrip("!"))}</div></div>'
        )
    return f'<div class="ar-tiles">{"".join(out)}</div>'


#: widest table shown in one piece; wider ones are split into panels that repeat the id columns
MAX_COLUMNS = 10


class Panels:
    """Several tables shown one under the other (a wide table split to fit a laptop screen)."""

    def __init__(self, parts):
        self.parts = parts

    def _repr_html_(self) -> str:
        return "".join(p.to_html() for p in self.parts)


#: tables with at least this many rows get a sort/filter bar (the inline script of the template)
SORTABLE_ROWS = 8


class Empty:
    """A table without rows, shown as one sentence saying so (never a header-only table)."""

    def __init__(self, message: str):
        self.message = message

    def _repr_html_(self) -> str:
        return f'<p class="ar-empty">{html.escape(self.message)}</p>'


#: the sentence shown for a table without rows, unless the caller gives its own
NO_ROWS = "Nothing to show at this close: no rows."


def table(
    df: pd.DataFrame,
    money: list[str] | tuple = (),
    pct: list[str] | tuple = (),
    decimals: int = 2,
    caption: str | None = None,
    max_columns: int = MAX_COLUMNS,
    empty: str | None = None,
):
    """A display-ready table: readable (translated) headers, thousands separators, negatives in
    red, percentages, days with one decimal, ratios with two, dates as YYYY-MM-DD, data escaped,
    stable element ids (the same frame gives the same HTML). A table without rows is one
    sentence (``empty``, else the frame's ``attrs["empty_reason"]`` saying why, e.g. that an
    open-item list has no history; translated; default :data:`NO_ROWS`). A table wider than
    ``max_columns`` is split into panels that repeat its leading text (identifier) columns; one
    with :data:`SORTABLE_ROWS` rows or more can be sorted and filtered in the browser.

    Returns an object with ``_repr_html_`` (a pandas Styler with ``escape="html"``, panels, or
    the sentence).

    >>> import pandas as pd
    >>> table(pd.DataFrame({"ds": []}))._repr_html_()
    '<p class="ar-empty">Nothing to show at this close: no rows.</p>'
    """
    import pandas as pd

    if len(df) == 0:
        return Empty(t(empty or df.attrs.get("empty_reason") or NO_ROWS))
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


def _number(kind: str | None):
    """The formatter of a float column whose kind is not given: days and ratios by name
    (``kind``), else two decimals (four significant digits below 1, for rates such as 0.128)."""

    def show(v) -> str:
        if _missing(v):
            return ""
        if kind:
            return fmt(v, kind)
        return fmt(v, "amount", 2) if abs(v) >= 1 or round(v, 6) == 0 else f"{v:.4g}"

    return show


def _word(v):
    """A word of ours in a table cell, translated; a code name (``invoicing_pattern``) in words.

    >>> _word("invoicing_pattern"), _word(3)
    ('invoicing pattern', 3)
    """
    if not isinstance(v, str):
        return v
    shown = t(v)
    return t(v.replace("_", " ")) if shown == v and "_" in v else shown


def _stable_uuid(df: pd.DataFrame) -> str:
    """An element id prefix from the table's content, so identical runs give identical HTML."""
    import hashlib

    import pandas as pd

    key = repr(list(df.columns)) + repr(df.shape)
    try:
        key += str(pd.util.hash_pandas_object(df, index=False).sum())
    except TypeError:  # unhashable cells (lists): the text form is stable too
        key += df.to_string()
    return hashlib.sha1(key.encode()).hexdigest()[:8]


def _styled(df: pd.DataFrame, money, pct, decimals, caption):
    import pandas as pd
    from pandas.io.formats.style import Styler

    df = df.copy()
    for c in WORD_COLUMNS & set(df.columns):
        df[c] = df[c].map(_word)
    if "bucket" in df:
        df["bucket"] = df["bucket"].astype(str).map(lambda v: t(v))
    rename = {c: column_label(c) for c in df.columns}
    kinds = {rename[c]: kind_of(c) for c in df.columns}
    money = [rename[c] for c in money if c in rename]
    pct = [rename[c] for c in pct if c in rename]
    df = df.rename(columns=rename)
    fmt_ = {c: (lambda v, d=decimals: "" if _missing(v) else fmt(v, "amount", d)) for c in money}
    fmt_.update({c: (lambda v: "" if _missing(v) else fmt(v, "share")) for c in pct})
    fmt_.update(
        {
            c: (lambda v: "" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d"))
            for c in df.columns
            if pd.api.types.is_datetime64_any_dtype(df[c])
        }
    )
    fmt_.update(
        {
            c: _number(kinds.get(c))
            for c in df.columns
            if c not in fmt_ and pd.api.types.is_float_dtype(df[c])
        }
    )
    sty = Styler(df, uuid=_stable_uuid(df), cell_ids=False)
    sty = sty.format(fmt_, escape="html", na_rep="")
    sty = sty.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if money:
        sty = sty.map(
            lambda v: "color: #b2182b" if isinstance(v, int | float) and v < -0.005 else "",
            subset=money,
        )
    text = [c for c in df.columns if df[c].dtype == object and c not in money and c not in pct]
    if text:
        sty = sty.set_properties(subset=text, **{"text-align": "left"})
    if caption:
        sty = sty.set_caption(html.escape(caption))
    cls = "ar-table ar-sortable" if len(df) >= SORTABLE_ROWS else "ar-table"
    return sty.set_table_attributes(f'class="{cls}"').hide(axis="index")
