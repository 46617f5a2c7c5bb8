"""Report exports as tables: where the header is, and which rows are layout, not data.

ERP and accounting packages export aging reports as they print them: title rows above the
header (company, report name, "As of ..."), a heading row per section or per customer, and
subtotal rows. With ``source_options.header_row: auto`` the header is the row, among the first
:data:`SCAN_ROWS`, that holds the most known headers (the mapped and preset spellings and the
canonical names), at least two. With ``skip_layout_rows: true`` an invoice row with no invoice
id and no due date is layout (a heading, a subtotal, a total): it is counted in a note, never read
as an invoice. With ``heading_rows: customer_id`` a heading row (one cell filled) names the
customer of the rows below it, as Xero's Aged Receivables Detail groups invoices by contact.

>>> grid = [["Acme Ltd"], [], ["Invoice Date", "Invoice Number", "Due"], ["1 Jan 2024", "INV-1", 5]]
>>> best_header_row(grid, {"invoicedate", "invoicenumber", "due"})
2
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

from arlib.errors import SourceError
from arlib.io.mapping import is_empty, norm_name, resolve_columns
from arlib.io.options import TARGETS, SourceOptions
from arlib.schemas import C

#: rows searched for the header when ``header_row: auto``
SCAN_ROWS = 30
_DELIMITERS = (",", ";", "\t", "|")


def expected_headers(frame: str, opts: SourceOptions) -> set[str]:
    """Loose names (:func:`norm_name`) of the headers a frame may have."""
    names = set(opts.columns.get(frame, {})) | set(TARGETS.get(frame, ()))
    for headers in (opts.soft_columns.get(frame) or {}).values():
        names |= set(headers)
    return {norm_name(n) for n in names}


def best_header_row(rows: list[list], expected: set[str]) -> int | None:
    """0-based index of the row with the most ``expected`` headers (>= 2), or None."""
    best, score = None, 1
    for i, row in enumerate(rows[:SCAN_ROWS]):
        hits = len({norm_name(v) for v in row if isinstance(v, str)} & expected)
        if hits > score:
            best, score = i, hits
    return best


def _no_header(label: str, expected: set[str]) -> SourceError:
    shown = ", ".join(sorted(expected)[:12])
    return SourceError(
        f"{label}: no header row found in the first {SCAN_ROWS} rows (looked for two or more of: "
        f"{shown} ...). Fix: set source_options.header_row to the 1-based row of the header, "
        "and map its headers in source_options.columns"
    )


def excel_header_row(grid: pd.DataFrame, frame: str, opts: SourceOptions, label: str) -> int:
    """The 1-based header row of a sheet: ``header_row``, or found when it is ``auto``."""
    configured = opts.file_option(frame, "header_row", 1)
    if configured != "auto":
        return configured
    expected = expected_headers(frame, opts)
    rows = grid.head(SCAN_ROWS).astype(object).where(grid.head(SCAN_ROWS).notna(), None)
    found = best_header_row(rows.values.tolist(), expected)
    if found is None:
        raise _no_header(label, expected)
    return found + 1


def csv_header_row(text: str, frame: str, opts: SourceOptions, label: str) -> tuple[int, str]:
    """``(header_row, delimiter)`` of delimited text; found when ``header_row`` is ``auto``
    (with the delimiter that splits it best, unless one is configured)."""
    configured = opts.file_option(frame, "header_row", 1)
    delimiter = opts.file_option(frame, "delimiter", "auto")
    if configured != "auto":
        return configured, delimiter
    expected = expected_headers(frame, opts)
    lines = text.splitlines()[:SCAN_ROWS]
    best = (None, 1, delimiter)
    for d in _DELIMITERS if delimiter == "auto" else (delimiter,):
        rows = list(csv.reader(lines, delimiter=d))
        row = best_header_row(rows, expected)
        hits = len({norm_name(v) for v in rows[row]} & expected) if row is not None else 0
        if hits > best[1]:
            best = (row, hits, d)
    if best[0] is None:
        raise _no_header(label, expected)
    return best[0] + 1, best[2]


def _filled(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in df.columns if not str(c).startswith("_")]
    return pd.DataFrame({c: ~is_empty(df[c]) for c in cols}, index=df.index)


def _carry_headings(df: pd.DataFrame, column: str, layout: np.ndarray) -> pd.DataFrame:
    """Heading rows (layout rows with one cell filled) name ``column`` of the rows below."""
    filled = _filled(df)
    heading = layout & (filled.sum(axis=1) == 1).to_numpy()
    text = df.where(filled).bfill(axis=1).iloc[:, 0]
    out = df.copy()
    out[column] = text.where(heading).astype(object).ffill().where(~layout)
    return out


def split_layout_rows(
    df: pd.DataFrame, frame: str, opts: SourceOptions, label: str, row_col: str
) -> tuple[pd.DataFrame, list[str]]:
    """The invoice rows without the layout rows (see the module docstring), and a note."""
    if frame != "invoices" or not opts.skip_layout_rows or df.empty:
        return df, []
    found = [c for c in df.columns if c != row_col]
    rename, _, _ = resolve_columns(
        frame, found, opts.columns.get(frame, {}), opts.soft_columns.get(frame)
    )
    keys = [s for s, t in rename.items() if t in (C.invoice_id, C.due_date)]
    if not keys:
        return df, []
    layout = np.logical_and.reduce([is_empty(df[k]) for k in keys])
    if opts.heading_rows:
        df = _carry_headings(df, opts.heading_rows, layout)
    if not layout.any():
        return df, []
    rows = df.loc[layout, row_col].tolist()
    note = (
        f"{label}: {len(rows)} layout row(s) with no {', '.join(keys)} (titles, headings, "
        f"subtotals) not read (row(s) {', '.join(map(str, rows[:8]))}{' ...' if len(rows) > 8 else ''})"
    )
    return df.loc[~layout].reset_index(drop=True), [note]
