"""The Excel pack written once per unit: sheets kept as parts, the pack written from them by
xlsxwriter in constant-memory mode (:mod:`arlib.report.excel`). Values, formats, formulas and
the formula guard are read back with openpyxl, as a reader's Excel would show them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from arlib.report import excel
from arlib.report.excel import PACK, PARTS, Formula, add_formula_sheet, add_sheet


def _values(ws) -> list[tuple]:
    return list(ws.values)


def test_a_run_writes_the_pack_once_with_every_sheet_in_order(tmp_path, monkeypatch):
    writes = []
    real = excel._write_sheet
    monkeypatch.setattr(
        excel,
        "_write_sheet",
        lambda ws, spec, *a: writes.append(spec["title"]) or real(ws, spec, *a),
    )
    excel.defer_pack(tmp_path)
    add_sheet(tmp_path, "Aging", pd.DataFrame({"bucket": ["current"], "amount": [10.0]}))
    add_sheet(tmp_path, "Worklist", pd.DataFrame({"customer_id": ["C1"], "open_amount": [5.5]}))
    add_formula_sheet(tmp_path, "ECL", [["line", "amount"], ["a", 2.0], ["total", Formula("=B2")]])
    assert not (tmp_path / PACK).exists() and writes == []  # nothing written while notebooks run
    assert excel.finish_pack(tmp_path) == (tmp_path / PACK).resolve()
    assert writes == ["Aging", "Worklist", "ECL"]  # each sheet once
    assert not (tmp_path / PARTS).exists()  # the parts are gone with the run
    book = openpyxl.load_workbook(tmp_path / PACK)
    assert book.sheetnames == ["Aging", "Worklist", "ECL"]
    assert _values(book["Worklist"]) == [("Customer", "Open amount"), ("C1", 5.5)]
    ecl = book["ECL"]
    assert ecl["B3"].value == "=B2" and ecl["B3"].data_type == "f" and ecl["A1"].font.bold


def test_no_sheet_no_pack(tmp_path):
    excel.defer_pack(tmp_path)
    assert excel.finish_pack(tmp_path) is None
    assert not (tmp_path / PACK).exists() and not (tmp_path / PARTS).exists()


def test_cells_keep_their_type_and_format(tmp_path):
    df = pd.DataFrame(
        {
            "customer_id": ["007", "=1+1", None],  # ids stay text; data never a formula
            "open_amount": [1234.5, np.nan, -0.25],  # missing: an empty cell
            "share": [0.5, 0.25, 0.25],
            "count": pd.array([3, None, 1], dtype="Int64"),
            "disputed": [True, False, True],
            "due_date": pd.to_datetime(["2026-10-31", None, "2024-02-29"]),
            "note": [
                1,
                "two",
                dt.date(2026, 1, 2),
            ],  # mixed: each cell its own kind (a date as text, as before)
            "days_late": [1.5, 2.0, 3.0],
        }
    )
    path = add_sheet(tmp_path, "Mixed", df, money=["open_amount"], pct=["share"])
    ws = openpyxl.load_workbook(path)["Mixed"]
    rows = _values(ws)[1:]
    assert [r[0] for r in rows] == ["007", "'=1+1", None]
    assert [r[1] for r in rows] == [1234.5, None, -0.25]
    assert [r[3] for r in rows] == [3, None, 1] and [r[4] for r in rows] == [True, False, True]
    assert [r[5] for r in rows] == [dt.datetime(2026, 10, 31), None, dt.datetime(2024, 2, 29)]
    assert [r[6] for r in rows] == [1, "two", "2026-01-02"]
    assert ws["A3"].data_type == "s"
    assert ws["B2"].number_format == "#,##0.00;[Red]-#,##0.00"
    assert ws["C2"].number_format == "0.0%" and ws["H2"].number_format == "#,##0.0"
    assert ws["F2"].number_format == "yyyy-mm-dd" and ws["A2"].number_format == "General"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:H4"
    assert ws["A1"].font.bold and ws["A2"].font.bold is False
    # widths fitted to the content: the longest of header and values, plus 2 (xlsxwriter
    # stores a width in whole pixels, a little over the characters asked for)
    assert 13 <= ws.column_dimensions["B"].width < 14  # "Open amount"
    assert 21 <= ws.column_dimensions["F"].width < 22  # "2026-10-31 00:00:00", as before


def test_a_sheet_added_again_replaces_the_earlier_one(tmp_path):
    add_sheet(tmp_path, "Aging", pd.DataFrame({"amount": [1.0]}))
    add_sheet(tmp_path, "Other", pd.DataFrame({"amount": [2.0]}))
    path = add_sheet(tmp_path, "AGING", pd.DataFrame({"amount": [3.0]}))  # Excel ignores case
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Other", "AGING"] and book["AGING"]["A2"].value == 3.0


def test_outside_a_run_every_sheet_is_in_the_pack_at_once(tmp_path):
    add_sheet(tmp_path, "First", pd.DataFrame({"amount": [1.0]}))
    assert openpyxl.load_workbook(tmp_path / PACK).sheetnames == ["First"]
    add_sheet(tmp_path, "Second", pd.DataFrame({"amount": [2.0]}))
    assert openpyxl.load_workbook(tmp_path / PACK).sheetnames == ["First", "Second"]


def test_a_pack_removed_by_someone_else_starts_again(tmp_path):
    add_sheet(tmp_path, "Old", pd.DataFrame({"amount": [1.0]}))
    (tmp_path / PACK).unlink()
    path = add_sheet(tmp_path, "New", pd.DataFrame({"amount": [2.0]}))
    assert openpyxl.load_workbook(path).sheetnames == ["New"]


def test_a_foreign_pack_keeps_its_sheets_formulas_and_formats(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Theirs"
    ws.append(["month_end", "amount", "total"])
    ws.append([dt.date(2026, 10, 31), 12.5, "=B2*2"])
    ws["B2"].number_format = "#,##0.00"
    book.save(tmp_path / PACK)
    path = add_sheet(tmp_path, "Ours", pd.DataFrame({"amount": [1.0]}))
    got = openpyxl.load_workbook(path)
    assert got.sheetnames == ["Theirs", "Ours"]
    theirs = got["Theirs"]
    assert _values(theirs) == [
        ("month_end", "amount", "total"),
        (dt.datetime(2026, 10, 31), 12.5, "=B2*2"),
    ]
    assert theirs["C2"].data_type == "f" and theirs["B2"].number_format == "#,##0.00"


def test_a_sheet_name_excel_refuses_is_refused_when_added(tmp_path):
    with pytest.raises(ValueError, match=r"sheet name 'a/b'.*Fix: rename"):
        add_sheet(tmp_path, "a/b", pd.DataFrame({"x": [1]}))
    assert not (tmp_path / PACK).exists()


def test_a_large_sheet_is_streamed_not_held(tmp_path):
    """50,001 rows cross a part's batch: every row lands once, in order, with its amount."""
    n = 50_001
    df = pd.DataFrame({"invoice_id": [f"I{i}" for i in range(n)], "open_amount": np.arange(n) / 4})
    path = add_sheet(tmp_path, "Invoices", df, money=["open_amount"])
    ws = openpyxl.load_workbook(path, read_only=True)["Invoices"]
    rows = list(ws.values)[1:]
    assert len(rows) == n and rows[-1] == (f"I{n - 1}", (n - 1) / 4)
    assert sum(r[1] for r in rows) == pytest.approx(df["open_amount"].sum(), abs=1e-6)


def _book_values(path) -> dict:
    book = openpyxl.load_workbook(path)
    return {ws.title: _values(ws) for ws in book.worksheets}


def _sheets(folder) -> None:
    add_sheet(folder, "Aging", pd.DataFrame({"bucket": ["current", "1-30"], "amount": [10.0, 2.5]}))
    add_sheet(folder, "Worklist", pd.DataFrame({"customer_id": ["007"], "open_amount": [5.5]}))


def test_a_pack_begun_on_a_thread_is_the_pack_written_at_the_end(tmp_path):
    """Second method: the same sheets through the synchronous finish_pack."""
    early, late = tmp_path / "early", tmp_path / "late"
    for folder in (early, late):
        excel.defer_pack(folder)
        _sheets(folder)
    excel.start_pack(early)  # the customer reports would run now
    assert excel.finish_pack(early) == (early / PACK).resolve()
    assert excel.finish_pack(late) == (late / PACK).resolve()
    assert _book_values(early / PACK) == _book_values(late / PACK)
    assert _book_values(early / PACK)["Worklist"] == [("Customer", "Open amount"), ("007", 5.5)]
    assert not (early / PARTS).exists()


def test_a_sheet_added_after_the_pack_was_begun_is_in_the_pack(tmp_path):
    excel.defer_pack(tmp_path)
    _sheets(tmp_path)
    excel.start_pack(tmp_path)
    add_sheet(tmp_path, "Late", pd.DataFrame({"x": [1.0]}))  # after the thread took the parts
    add_sheet(tmp_path, "Aging", pd.DataFrame({"bucket": ["over 90"], "amount": [7.0]}))
    excel.finish_pack(tmp_path)
    got = _book_values(tmp_path / PACK)
    assert list(got) == ["Worklist", "Late", "Aging"]  # replaced sheets move to the end
    assert got["Aging"] == [("Bucket", "Amount"), ("over 90", 7.0)]


def test_a_pack_that_fails_on_its_thread_fails_at_the_end(tmp_path, monkeypatch):
    excel.defer_pack(tmp_path)
    _sheets(tmp_path)

    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(excel, "_write_pack", full)
    excel.start_pack(tmp_path)
    with pytest.raises(OSError, match="No space"):
        excel.finish_pack(tmp_path)
    assert not (tmp_path / PACK).exists() and not excel._started


def test_a_dropped_pack_is_waited_for_and_forgotten(tmp_path):
    excel.defer_pack(tmp_path)
    _sheets(tmp_path)
    excel.start_pack(tmp_path)
    excel.drop_pack(tmp_path)  # a failed unit: its files are removed next
    assert not excel._started and (tmp_path / PACK).exists()
    excel.start_pack(tmp_path / "none")  # no parts: nothing begun
    assert not excel._started
