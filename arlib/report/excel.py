"""The Excel pack beside the HTML: one formatted sheet per table (aging by customer, worklist,
forecast, provisions), written into ``<output_dir>/excel_pack.xlsx`` by the notebooks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from arlib.i18n import display_frame
from arlib.numbers import EXCEL_FORMATS, kind_of

PACK = "excel_pack.xlsx"
MONEY_FORMAT = EXCEL_FORMATS["amount"]
PCT_FORMAT = EXCEL_FORMATS["share"]


def add_sheet(output_dir: str | Path, sheet: str, df: pd.DataFrame, money=(), pct=()) -> Path:
    """Add (or replace) ``sheet`` in the unit's pack: bold frozen header in the report language
    (:func:`arlib.i18n.display_frame`; the sheet name too), filters, number formats in the
    style of the HTML (:data:`arlib.numbers.EXCEL_FORMATS`: amounts with thousands
    separators and negatives red, percentages, days, ratios), widths fitted to the content.

    >>> import tempfile, openpyxl
    >>> d = tempfile.mkdtemp()
    >>> p = add_sheet(d, "Aging", pd.DataFrame({"bucket": ["current"], "amount": [1234.5]}), money=["amount"])
    >>> ws = openpyxl.load_workbook(p)["Aging"]
    >>> ws["B2"].value, ws["B2"].number_format
    (1234.5, '#,##0.00;[Red]-#,##0.00')
    """
    from openpyxl import Workbook, load_workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(output_dir) / PACK
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = load_workbook(path) if path.exists() else Workbook()
    if "Sheet" in wb.sheetnames and len(wb.sheetnames) == 1 and wb["Sheet"].max_row == 1:
        del wb["Sheet"]
    from arlib.i18n import t

    title = t(sheet)[:31]
    if title in wb.sheetnames:
        del wb[title]
    ws = wb.create_sheet(title)
    frame = df.reset_index(drop=True)
    kinds = {c: "amount" if c in money else "share" if c in pct else kind_of(c) for c in frame}
    frame = display_frame(frame)
    ws.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for j, (col, kind) in enumerate(zip(frame.columns, kinds.values(), strict=True), start=1):
        letter = get_column_letter(j)
        ws[f"{letter}1"].font = Font(bold=True)
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        fmt = EXCEL_FORMATS[kind] if kind and numeric else None
        if fmt:
            for (c,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                c.number_format = fmt
        width = max(
            [len(str(col))]
            + [len(f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in frame[col].head(500)]
        )
        ws.column_dimensions[letter].width = min(max(width + 2, 8), 50)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    wb.save(path)
    return path


def _cell(v):
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().date()
    if pd.isna(v) if not isinstance(v, list | tuple | dict) else False:
        return None
    if hasattr(v, "item"):
        return v.item()
    return v if isinstance(v, int | float | str | bool) else str(v)
