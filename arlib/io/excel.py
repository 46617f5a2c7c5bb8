"""Excel sheets read as Excel shows them.

openpyxl (and pandas on top of it) gives the value of a merged range in its first cell only and
leaves the others empty, while Excel shows the value over the whole range: a business-unit or
customer column merged over each block of rows would lose every row but the first. Here merged
ranges below the header are filled with their first cell's value (and noted). Formula cells
saved without their computed values (files written by scripts, never opened in Excel) would
read as empty: they are refused, naming the sheet, the columns and the counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from arlib.errors import SourceError


def read_sheet(
    path: Path, sheet, header_of, label: str, per_row=lambda header: False
) -> tuple[pd.DataFrame, list[str], int]:
    """The sheet as Excel shows it: ``(body, notes, header_row)``. ``header_of(grid)`` gives the
    1-based header row of the sheet's cells as read. Merged ranges below it are filled with their
    first cell's value (noted); formula cells saved without their values are refused (they
    would read as empty).
    ``per_row(header)`` is true for columns whose value belongs to each row (amounts): a
    range merged over rows there is refused, as copying it would count it once per row."""
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, openpyxl's InvalidFileException, ...
        raise SourceError(
            f"{label}: cannot be opened as an Excel workbook ({type(e).__name__}). "
            "Fix: save it as .xlsx, or export it as CSV"
        ) from None
    names = book.sheetnames
    if (isinstance(sheet, str) and sheet not in names) or (
        isinstance(sheet, int) and not 0 <= sheet < len(names)
    ):
        raise SourceError(
            f"{label}: has no sheet {sheet!r} (sheets: {', '.join(names)}). "
            "Fix: set source_options.sheet to a sheet name or a 0-based position"
        )
    ws = book[sheet] if isinstance(sheet, str) else book.worksheets[sheet]
    grid = pd.DataFrame(list(ws.values), dtype=object)
    header_row = header_of(grid)
    filled = _fill_merged(ws, grid, header_row, label, per_row)
    if len(grid) < header_row:
        return pd.DataFrame(), filled, header_row
    _refuse_uncached_formulas(path, ws.title, grid, header_row, label)
    header = [
        ("" if pd.isna(v) else str(v)) or f"Unnamed: {i}"
        for i, v in enumerate(grid.iloc[header_row - 1])
    ]
    body = grid.iloc[header_row:].copy()
    body.columns = header
    return body.reset_index(drop=True), filled, header_row


def _fill_merged(ws, grid: pd.DataFrame, header_row: int, label: str, per_row) -> list[str]:
    """Fill each merged range below the header with its first cell's value, in place (Excel
    shows that value over the whole range; openpyxl and pandas leave the other cells empty).
    A range reaching from the header into the data is refused: no reading of it is safe."""
    ranges = sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
    done = []
    for r in ranges:
        if r.max_row <= header_row:
            continue  # titles and headers: not data
        if r.min_row <= header_row:
            raise SourceError(
                f"{label}: sheet {ws.title!r}, cells {r.coord} are merged across the header row "
                f"{header_row} and the data. Fix: unmerge them in Excel, or set "
                "source_options.header_row to the row of the column headers"
            )
        value = grid.iat[r.min_row - 1, r.min_col - 1]
        heads = [grid.iat[header_row - 1, c - 1] for c in range(r.min_col, r.max_col + 1)]
        if r.max_row > r.min_row and any(per_row(str(h)) for h in heads if h is not None):
            raise SourceError(
                f"{label}: sheet {ws.title!r}, cells {r.coord} merge one amount ({value}) over "
                f"{r.max_row - r.min_row + 1} rows: it cannot be told whether it is each row's "
                "amount or the block's. Fix: unmerge them in Excel and give each row its amount"
            )
        grid.iloc[r.min_row - 1 : r.max_row, r.min_col - 1 : r.max_col] = value
        done.append(r.coord)
    if not done:
        return []
    more = f" and {len(done) - 3} more" if len(done) > 3 else ""
    return [
        f"{label}: sheet {ws.title!r}: {len(done)} merged range(s) ({', '.join(done[:3])}{more}) "
        "filled with their first cell's value, as Excel shows them"
    ]


def _refuse_uncached_formulas(
    path: Path, title: str, grid: pd.DataFrame, header_row: int, label: str
) -> None:
    """Formula cells saved without their computed values (files written by scripts or some
    exporters, never opened in Excel) read as empty: refuse, naming the sheet, columns, counts."""
    body = grid.iloc[header_row:]
    if not body.isna().to_numpy().any():
        return
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        rows = list(book[title].iter_rows(min_row=header_row + 1, values_only=True))
    finally:
        book.close()
    formulas = pd.DataFrame(rows, dtype=object).reindex(
        index=range(len(body)), columns=range(grid.shape[1])
    )
    is_formula = formulas.map(lambda v: isinstance(v, str) and v.startswith("="))
    lost = is_formula.to_numpy() & body.isna().to_numpy()
    if not lost.any():
        return
    counts = lost.sum(axis=0)
    head = grid.iloc[header_row - 1]
    cols = [
        f"{head.iat[j] if pd.notna(head.iat[j]) else get_column_letter(j + 1)!s} "
        f"({int(counts[j])} cell{'s' if counts[j] != 1 else ''})"
        for j in np.flatnonzero(counts)
    ]
    raise SourceError(
        f"{label}: sheet {title!r}: formula cells saved without their values in column(s) "
        f"{', '.join(cols)}. Fix: open and save the file in Excel (which stores the values), "
        "or export values instead of formulas"
    )
