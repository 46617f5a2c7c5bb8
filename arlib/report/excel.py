"""The Excel pack beside the HTML: one formatted sheet per table (aging by customer, worklist,
forecast, provisions), written into ``<output_dir>/excel_pack.xlsx`` by the notebooks.

Data never becomes a formula: text cells and headers pass :func:`arlib.files.safe_cell` (the one
guard of every file arlib writes) and are written as text. Only :class:`Formula` values, built by
arlib itself, are written as formulas (the live sheets of the ECL pack, :mod:`arlib.report.eclbook`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from arlib.files import safe_cell
from arlib.i18n import display_frame, t
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
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path, wb, ws = _open_sheet(output_dir, t(sheet))  # the sheet's name in the report language
    frame = df.reset_index(drop=True)
    kinds = {c: "amount" if c in money else "share" if c in pct else kind_of(c) for c in frame}
    frame = display_frame(frame)
    _append(ws, [safe_cell(str(c)) for c in frame.columns], 1)
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        _append(ws, [_cell(v) for v in row], i)
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
    _save(wb, path)
    return path


def _cell(v):
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().date()
    if pd.isna(v) if not isinstance(v, list | tuple | dict) else False:
        return None
    if hasattr(v, "item"):
        return v.item()
    # text through the one guard of every file arlib writes: data never becomes a formula
    return safe_cell(v if isinstance(v, int | float | str | bool) else str(v))


class Formula(str):
    """A formula written by arlib (``"=ROUND(B2*D2,2)"``); any other text is written as text."""


#: the pack last saved by this process, by path, with the file's identity then: a unit's
#: notebooks add a dozen sheets one after the other in one kernel, and reading the pack back
#: (a million cells for a big unit) cost more than writing it
_SAVED: dict[Path, tuple[tuple, object]] = {}


def _identity(path: Path) -> tuple:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _load(path: Path):
    """The pack at ``path``: the workbook this process saved there if the file is still that
    one (same inode, size and modification time), else read from the file."""
    from openpyxl import Workbook, load_workbook

    if not path.exists():
        _SAVED.pop(path, None)
        return Workbook()
    known, wb = _SAVED.pop(path, (None, None))  # taken out: an edit that is not saved is lost
    return wb if known == _identity(path) else load_workbook(path)


def _save(wb, path: Path) -> None:
    wb.save(path)
    _SAVED.clear()  # one pack at a time: a unit's; the previous unit's is not kept in memory
    _SAVED[path] = (_identity(path), wb)


def _open_sheet(output_dir, sheet: str):
    path = (Path(output_dir) / PACK).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = _load(path)
    if "Sheet" in wb.sheetnames and len(wb.sheetnames) == 1 and wb["Sheet"].max_row == 1:
        del wb["Sheet"]
    title = sheet[:31]
    if title in wb.sheetnames:
        del wb[title]
    return path, wb, wb.create_sheet(title)


def _append(ws, values, row: int) -> None:
    """Write ``values`` as row ``row`` (1-based, rows written in order); text stays text (a
    leading ``=`` in data is not a formula). The row number is passed, not read from
    ``ws.max_row``, which scans every cell: quadratic in the rows of a sheet."""
    for j, v in enumerate(values, start=1):
        c = ws.cell(row=row, column=j, value=v)
        if c.data_type == "f" and not isinstance(v, Formula):
            c.data_type = "s"


def add_formula_sheet(
    output_dir: str | Path,
    sheet: str,
    rows: list[list],
    money_cols: str = "",
    pct_cols: str = "",
    widths: dict[str, int] | None = None,
) -> Path:
    """Add (or replace) ``sheet`` from ``rows`` (the first is the header) whose cells are values
    or :class:`Formula`; ``money_cols``/``pct_cols`` are column letters (e.g. ``"BE"``) to
    format. Bold header, frozen first row."""
    from openpyxl.styles import Font

    path, wb, ws = _open_sheet(output_dir, sheet)
    for i, row in enumerate(rows, start=1):
        _append(ws, [_cell(v) if not isinstance(v, Formula) else v for v in row], i)
    for c in ws[1]:
        c.font = Font(bold=True)
    for letters, fmt in ((money_cols, MONEY_FORMAT), (pct_cols, PCT_FORMAT)):
        for col in letters:
            for (c,) in ws.iter_rows(min_row=2, min_col=ord(col) - 64, max_col=ord(col) - 64):
                c.number_format = fmt
    for col, w in (widths or {}).items():
        ws.column_dimensions[col].width = w
    ws.freeze_panes = "A2"
    _save(wb, path)
    return path
