"""The worklist workbook written a column at a time (:mod:`arlib.health.workbook`) against the
cell-by-cell xlsxwriter writer it replaces (kept below as the second method): both read back
with openpyxl give the same sheets, cells, values, types and formats, on messy frames."""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from arlib.health import workbook
from arlib.health.workbook import write_tables


def xlsxwriter_tables(path, sheets) -> None:
    """The replaced writer (``arlib.health.worklist.write_xlsx`` before), cell by cell."""
    import xlsxwriter

    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    wb = xlsxwriter.Workbook(str(path), {**options, "strings_to_numbers": False})
    bold, date = wb.add_format({"bold": True}), wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, frame in sheets.items():
        ws = wb.add_worksheet(str(name)[:31])
        ws.write_row(0, 0, [str(c) for c in frame.columns], bold)
        cols = []  # (values, writer, format) per column; constant memory: written row by row
        for col in frame.columns:
            s = frame[col]
            missing = s.isna().to_numpy()
            if s.dtype.kind == "M":
                vals = ((s - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).tolist()
                cols.append((vals, missing, ws.write_number, date))
            elif s.dtype.kind == "b":
                cols.append((s.tolist(), missing, ws.write_boolean, None))
            elif s.dtype.kind in "iuf":
                cols.append((s.tolist(), missing, ws.write_number, None))
            else:
                vals = [str(v) for v in s.to_numpy(dtype=object)]
                cols.append((vals, missing, ws.write_string, None))
        for r in range(len(frame)):
            for c, (vals, missing, write, fmt) in enumerate(cols):
                if not missing[r]:
                    write(r + 1, c, vals[r], fmt)
    wb.close()


def cells(path) -> dict:
    """Every sheet's cells as (value, data type, number format, bold) by coordinate."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = {
            c.coordinate: (c.value, c.data_type, c.number_format, bool(c.font and c.font.b))
            for row in ws.iter_rows()
            for c in row
            if c.value is not None
        }
        out[ws.title]["dims"] = ws.max_row, ws.max_column
    return out


def messy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": [
                "=1+1",
                'a & b <c> "d"',
                " lead",
                "trail ",
                "ctl\x01\x1f\ttab\nnew",
                "_x0041_ stays",
                "中文名称",
                None,
                "x" * 40_000,
                "\ufffe",
            ],
            "date": pd.to_datetime(
                ["2024-02-29", None, "1900-03-01", "2026-10-31", "2000-01-01"] * 2
            ),
            "amount": [1.25, np.nan, -3.0, 0.1 + 0.2, 1e17, -0.0, 123456789.123456789, 2.5, 0, 7],
            "days": np.arange(10, dtype="int64") * 1000 - 3,
            "disputed": [True, False] * 5,
            "bucket": pd.Categorical(["1-30", None, "over 120", "current", "1-30"] * 2),
            "mixed": [1, "b", None, 2.5, True, "c", pd.NA, "", " ", "z"],
        }
    )


def test_the_same_cells_as_the_cell_by_cell_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "BLOCK", 3)  # several blocks of rows, the last one short
    frame = messy()
    sheets = {"items": frame, "customers": frame.iloc[::-1], "empty": frame.iloc[:0]}
    write_tables(tmp_path / "new.xlsx", sheets)
    xlsxwriter_tables(tmp_path / "old.xlsx", sheets)
    new, old = cells(tmp_path / "new.xlsx"), cells(tmp_path / "old.xlsx")
    assert new == old
    items = new["items"]
    assert items["A2"][:2] == ("=1+1", "s")  # text, never a formula
    # control characters as Excel's _xHHHH_ escapes (openpyxl shows them undecoded), and a
    # literal _xHHHH_ escaped in turn, so that Excel shows it as written
    assert items["A6"][0] == "ctl_x0001__x001F_\ttab\nnew"
    assert items["A7"][0] == "_x005F_x0041_ stays"
    assert len(items["A10"][0]) == 32_767  # cut as Excel cuts it
    assert items["B2"][2] == "yyyy-mm-dd" and items["B2"][0] == pd.Timestamp("2024-02-29")
    assert items["A1"][3] and not items["A2"][3]  # a bold header
    assert "B3" not in items and "C3" not in items  # blanks for missing values
    assert new["empty"]["dims"] == (1, 7)


def test_a_big_sheet_streams_equal_to_the_cell_by_cell_writer(tmp_path):
    rng = np.random.default_rng(3)
    n = 2_500
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i % 97:05d}" for i in range(n)],
            "due_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600, n), "D"),
            "open_amount": rng.random(n) * 1000,
            "days_past_due": rng.integers(1, 400, n),
            "step": rng.choice(["call", "reminder", "legal/agency"], n),
        }
    )
    write_tables(tmp_path / "new.xlsx", {"items": frame})
    xlsxwriter_tables(tmp_path / "old.xlsx", {"items": frame})
    assert cells(tmp_path / "new.xlsx") == cells(tmp_path / "old.xlsx")


def test_an_infinite_number_is_refused_not_blanked(tmp_path):
    frame = pd.DataFrame({"priority": [1.0, math.inf]})
    with pytest.raises(ValueError, match="'items', column 'priority': 1 infinite"):
        write_tables(tmp_path / "w.xlsx", {"items": frame})


def test_column_letters():
    assert [workbook._letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]
