"""No silent misread (issue 17, part 1): exports shaped like real ones are read right or refused.

Each case builds a small file in the test, reads it through params only (``source`` and
``source_options``, as a user would), and asserts the exact message, or the exact figures and
that every source row is accounted for (the reconciliation balances, or the unit fails).
Figures are worked out by hand from the rows written here.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_io_helpers import AS_OF, BASE, assert_reconciles, load, write_files

from arlib.errors import ArlibError, ConfigError
from arlib.io.reconcile import DIFFERENCE, kpis, reconciled, reconciliation, summary
from arlib.run.runner import _unbalanced

matplotlib.use("Agg")

OPEN_ITEMS = {"frames": {"transactions": "none", "customers": "derive"}}
HEADER = ["invoice_id", "business_unit", "customer_id", "invoice_date", "due_date", "amount"]


def _lines(rec: pd.DataFrame) -> dict:
    """line -> (amount, rows, check); a line repeated for transactions keeps the invoices' one."""
    out: dict = {}
    for r in rec.itertuples():
        out.setdefault(r.line, (r.amount, r.rows, r.check))
    return out


def _csv(tmp_path, rows: list[str], name: str = "invoices.csv"):
    text = ",".join(HEADER) + "\n" + "\n".join(rows) + "\n"
    return write_files(tmp_path / "src", {name: text})


def _xlsx(tmp_path, rows: list[list], merged: list[str] = (), title: str | None = None):
    book = openpyxl.Workbook()
    ws = book.active
    if title:
        ws.append([title])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    for rng in merged:
        ws.merge_cells(rng)
    folder = tmp_path / "src"
    folder.mkdir(parents=True, exist_ok=True)
    book.save(folder / "invoices.xlsx")
    return folder


def _load_error(src, **options) -> str:
    with pytest.raises(ArlibError) as err:
        load(src, source_options={**OPEN_ITEMS, **options})
    return str(err.value)


# -- Excel as Excel shows it -----------------------------------------------------------------
BLOCKS = [  # business unit (and customer) merged over each customer's block, as in the issue
    ["I1", "x", "C1", "2024-01-10", "2024-02-09", 100.0],
    ["I2", None, None, "2024-02-01", "2024-03-02", 250.0],
    ["I3", "x", "C2", "2024-03-05", "2024-04-04", 80.5],
    ["I4", "y", "C9", "2024-03-05", "2024-04-04", 999.0],
    ["I5", None, None, "2024-03-06", "2024-04-05", 1.0],
]


def test_merged_unit_column_is_read_as_excel_shows_it(tmp_path):
    src = _xlsx(tmp_path, BLOCKS, ["B2:B3", "C2:C3", "B5:B6"])
    led = load(src, source_options=OPEN_ITEMS)
    assert led.invoices[["invoice_id", "customer_id"]].values.tolist() == [
        ["I1", "C1"],
        ["I2", "C1"],
        ["I3", "C2"],
    ]
    rec = assert_reconciles(led)
    by = _lines(rec)
    assert by["Invoices read"][:2] == (430.50, 3)  # 100 + 250 + 80.50
    assert by["Open AR (ledger)"][:2] == (430.50, 3)  # an open-item list: nothing settled
    assert by["Invoice rows in the source"][1] == 5
    assert by["of which other business units (not in this report)"][1] == 2  # I4, I5
    assert by["Source rows not accounted for"][1:] == (0, "ok")
    assert (
        "invoices.xlsx: sheet 'Sheet': 3 merged range(s) (B2:B3, C2:C3, B5:B6) filled with their "
        "first cell's value, as Excel shows them" in led.load_report.notes
    )
    assert str(summary(rec, "EUR")) == (
        "Invoices read 430.50 EUR; open AR 430.50 EUR. Every amount is accounted for to the cent."
    )


def test_unmerged_blank_unit_cells_are_refused_not_dropped(tmp_path):
    """The same blocks written as a fill-down CSV: the blank rows are items, not totals."""
    rows = ["I1,x,C1,2024-01-10,2024-02-09,100.00", "I2,,C1,2024-02-01,2024-03-02,250.00"]
    assert _load_error(_csv(tmp_path, rows)) == (
        "invoices.csv: column business_unit: 1 row have a customer_id or invoice_date but no "
        "business_unit, so they belong to no business unit (rows 3). Fix: fill business_unit on "
        "every row (a CSV needs it on each row; merged cells in .xlsx are read as Excel shows "
        "them), or set source_options.one_unit: true if the source holds this unit only"
    )


def test_an_amount_merged_over_rows_is_refused_not_copied(tmp_path):
    rows = [list(r) for r in BLOCKS[:2]]
    rows[1][1:3] = ["x", "C1"]
    assert _load_error(_xlsx(tmp_path, rows, ["F2:F3"])) == (
        "invoices.xlsx: sheet 'Sheet', cells F2:F3 merge one amount (100) over 2 rows: it cannot "
        "be told whether it is each row's amount or the block's. Fix: unmerge them in Excel and "
        "give each row its amount"
    )


def test_merge_across_header_and_data_is_refused(tmp_path):
    src = _xlsx(tmp_path, BLOCKS[:1], ["B1:B2"])
    assert _load_error(src) == (
        "invoices.xlsx: sheet 'Sheet', cells B1:B2 are merged across the header row 1 and the "
        "data. Fix: unmerge them in Excel, or set source_options.header_row to the row of the "
        "column headers"
    )


def test_merged_title_above_the_header_is_not_data(tmp_path):
    src = _xlsx(tmp_path, BLOCKS[:1], ["A1:F1"], title="Open items 30.06.2024")
    led = load(src, source_options={**OPEN_ITEMS, "header_row": 2})
    assert led.invoices["amount"].tolist() == [100.0]
    assert not any("merged" in n for n in led.load_report.notes)


def test_formula_cells_without_saved_values_are_named(tmp_path):
    rows = [r[:5] + ["=50*2"] for r in BLOCKS[:2]] + [BLOCKS[2]]
    rows[1][1:3] = ["x", "C1"]
    assert _load_error(_xlsx(tmp_path, rows)) == (
        "invoices.xlsx: sheet 'Sheet': formula cells saved without their values in column(s) "
        "amount (2 cells). Fix: open and save the file in Excel (which stores the values), or "
        "export values instead of formulas"
    )


# -- decimal separators ----------------------------------------------------------------------
GERMAN = [
    "I1,x,C1,2024-01-10,2024-02-09,1.250",
    "I2,x,C1,2024-02-01,2024-03-02,2.500",
    "I3,x,C2,2024-03-05,2024-04-04,80",
]


def test_german_thousands_are_refused_without_the_decimal_option(tmp_path):
    assert _load_error(_csv(tmp_path, GERMAN)) == (
        "invoices.csv: column amount: 2 rows have one separator before three digits, so they "
        "read two ways (e.g. row 2: '1.250'; row 3: '2.500': 1.250 is 1.25 with a decimal point, "
        "1250 with a thousands separator) and no other value tells which. Fix: set "
        "source_options.amounts.decimal to the file's decimal separator: ',' when '.' groups "
        "thousands (German, French exports), '.' when it is the decimal point"
    )


def test_german_thousands_with_decimal_comma_read_as_whole_euros(tmp_path):
    led = load(_csv(tmp_path, GERMAN), source_options={**OPEN_ITEMS, "amounts": {"decimal": ","}})
    assert led.invoices["amount"].tolist() == [1250.0, 2500.0, 80.0]
    assert _lines(assert_reconciles(led))["Open AR (ledger)"][0] == 3830.0


def test_decimal_point_stated_reads_the_same_text_as_cents(tmp_path):
    led = load(_csv(tmp_path, GERMAN), source_options={**OPEN_ITEMS, "amounts": {"decimal": "."}})
    assert led.invoices["amount"].tolist() == [1.25, 2.5, 80.0]


def test_decimal_comma_proven_by_the_column_is_refused_under_the_default(tmp_path):
    rows = [
        'I1,x,C1,2024-01-10,2024-02-09,"1.250,00"',
        'I2,x,C1,2024-02-01,2024-03-02,"2,5"',
        "I3,x,C2,2024-03-05,2024-04-04,1.000",
    ]
    assert _load_error(_csv(tmp_path, rows)) == (
        "invoices.csv: column amount: 2 rows use ',' as the decimal separator, but '.' is assumed "
        "(e.g. row 2: '1.250,00'; row 3: '2,5'). Fix: set source_options.amounts.decimal: ','"
    )


def test_a_column_with_cents_tells_its_decimal_point(tmp_path):
    rows = [
        "I1,x,C1,2024-01-10,2024-02-09,1.250",
        'I2,x,C1,2024-02-01,2024-03-02,"1,250.50"',
        "I3,x,C2,2024-03-05,2024-04-04,12.5",
    ]
    led = load(_csv(tmp_path, rows), source_options=OPEN_ITEMS)
    assert led.invoices["amount"].tolist() == [1.25, 1250.5, 12.5]


# -- amounts that are not amounts -----------------------------------------------------------
SUB_CENT = [
    "I1,x,C1,2024-01-10,2024-02-09,100.125",
    "I2,x,C1,2024-02-01,2024-03-02,250.00",
    "I3,x,C2,2024-03-05,2024-04-04,80.50",
]


def test_three_decimals_are_refused_not_rounded(tmp_path):
    assert _load_error(_csv(tmp_path, SUB_CENT)) == (
        "invoices.csv: column amount: 1 row with more than two decimals (e.g. row 2: '100.125'). "
        "Fix: correct them in the source, or set validation_policy.sub_cent_amount: warn to round "
        "them to the cent; or set validation_policy.sub_cent_amount: quarantine to set these rows "
        "aside"
    )


def test_three_decimals_quarantined_are_counted(tmp_path):
    led = load(
        _csv(tmp_path, SUB_CENT),
        source_options=OPEN_ITEMS,
        validation_policy={"sub_cent_amount": "quarantine"},
        output_dir=str(tmp_path / "out"),
    )
    by = _lines(assert_reconciles(led))
    assert by["Invoices read"][:2] == (430.63, 3)  # 100.13 (to the cent) + 250 + 80.50
    assert by["Quarantined invoices"][:2] == (-100.13, 1)
    assert by["Open AR (ledger)"][:2] == (330.50, 2)
    q = pd.read_csv(tmp_path / "out" / "quarantine-invoices.csv", dtype=str)
    assert q[["amount", "problem", "reason"]].values.tolist() == [
        ["100.125", "sub_cent_amount", "amount: more than two decimals"]
    ]


def test_three_decimals_rounded_only_when_asked(tmp_path):
    led = load(
        _csv(tmp_path, SUB_CENT),
        source_options=OPEN_ITEMS,
        validation_policy={"sub_cent_amount": "warn"},
    )
    assert led.invoices["amount"].tolist() == [100.13, 250.0, 80.5]
    assert led.load_report.problems[["problem", "policy", "rows"]].values.tolist() == [
        ["sub_cent_amount", "warn", 1]
    ]


def test_implausible_amount_is_refused(tmp_path):
    rows = ["I1,x,C1,2024-01-10,2024-02-09,999999999999999.99"] + SUB_CENT[1:]
    assert _load_error(_csv(tmp_path, rows)) == (
        "invoices.csv: column amount: 1 row with an amount beyond 1,000,000,000,000 in absolute "
        "value (e.g. row 2: '999999999999999.99'). Fix: correct them, or raise "
        "source_options.amounts.max_abs if such amounts are real; or set "
        "validation_policy.implausible_amount: quarantine to set these rows aside"
    )


def test_implausible_amount_quarantined_keeps_the_totals_exact(tmp_path):
    rows = ["I1,x,C1,2024-01-10,2024-02-09,999999999999999.99"] + SUB_CENT[1:]
    led = load(
        _csv(tmp_path, rows),
        source_options=OPEN_ITEMS,
        validation_policy={"implausible_amount": "quarantine"},
    )
    rec = assert_reconciles(led)
    by = _lines(rec)
    assert by["Quarantined invoices"][:2] == (0.0, 1)  # its amount is not summed (not exact)
    assert by["Open AR (ledger)"][:2] == (330.50, 2)
    assert reconciled(rec) and kpis(rec)["reconciliation"]["quarantined_rows"] == 1
    assert (
        "invoices.csv: 1 quarantined row(s) have no readable or convertible amount; they are "
        "counted in rows but not in amounts" in led.load_report.notes
    )


def test_a_lower_limit_can_be_set_and_is_checked(tmp_path):
    rows = ["I1,x,C1,2024-01-10,2024-02-09,20000.00"] + SUB_CENT[1:]
    msg = _load_error(_csv(tmp_path, rows), amounts={"max_abs": 10000})
    assert msg.startswith(
        "invoices.csv: column amount: 1 row with an amount beyond 10,000 in absolute value"
    )
    with pytest.raises(ConfigError) as err:
        load(_csv(tmp_path, rows), source_options={"amounts": {"max_abs": 1e20}})
    assert str(err.value) == (
        "parameter source_options.amounts.max_abs: must be a number > 0 and at most 1e+13 "
        "(cents stay exact), got 1e+20"
    )


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_infinite_parquet_amount_does_not_pass(tmp_path, bad):
    folder = tmp_path / "src"
    folder.mkdir()
    pd.DataFrame(
        {
            "invoice_id": ["I1", "I2"],
            "business_unit": "x",
            "customer_id": "C1",
            "invoice_date": pd.to_datetime(["2024-01-10", "2024-02-01"]),
            "due_date": pd.to_datetime(["2024-02-09", "2024-03-02"]),
            "amount": [100.0, bad],
        }
    ).to_parquet(folder / "invoices.parquet")
    assert _load_error(folder) == (
        "invoices.parquet: column amount: 1 row with an amount that is not a finite number "
        f"(e.g. row 2: {bad}). Fix: correct them in the source; or set "
        "validation_policy.bad_amount: quarantine to set these rows aside"
    )


# -- rows not read, by reason ----------------------------------------------------------------
def test_other_units_and_totals_lines_are_counted_by_reason(tmp_path):
    inv = BASE["invoices.csv"] + "Total,,,,,1430.50,,\n"
    led = load(write_files(tmp_path / "src", dict(BASE, **{"invoices.csv": inv})))
    rec = assert_reconciles(led)
    by = _lines(rec)
    assert by["Invoice rows in the source"][1] == 5
    assert by["of which other business units (not in this report)"][1] == 1  # I4 of unit y
    no_unit = "of which totals lines with no business unit (not read; amount as written)"
    assert by[no_unit][:2] == (1430.50, 1)
    assert by["of which read for this unit"][1] == 3
    assert by["Transaction rows in the source"][1] == 5
    checks = rec.loc[rec["line"] == "Source rows not accounted for", ["rows", "check"]]
    assert checks.values.tolist() == [[0, "ok"], [0, "ok"]]  # invoices, transactions
    k = kpis(rec)["reconciliation"]
    assert (k["rows_other_units"], k["rows_no_unit"], k["reconciled"]) == (2, 1, True)
    assert str(summary(rec, "EUR")) == (
        "Invoices read 430.50 EUR; open AR 270.50 EUR. 1 totals line(s) with no business unit "
        "not read (1,430.50 as written). Every amount is accounted for to the cent."
    )


def test_rows_lost_between_source_and_unit_fail_the_unit(tmp_path):
    led = load(write_files(tmp_path / "src", BASE))
    led.load_report.source_rows["invoices"]["rows"] += 2  # two rows that went nowhere
    rec = reconciliation(led, AS_OF)
    assert not reconciled(rec)
    assert _lines(rec)["Source rows not accounted for"][1:] == (2, "DIFFERS")
    flat = kpis(rec)
    assert _unbalanced(flat) == (
        "the reconciliation does not balance (difference 0.00; source rows not accounted for: "
        "2): amounts are missing or double counted. Fix: see the Data and reconciliation "
        "section of the report"
    )
    assert "Every amount is accounted for" not in str(summary(rec, "EUR"))


def test_a_difference_fails_the_unit_and_is_never_ok(tmp_path):
    rec = reconciliation(load(write_files(tmp_path / "src", BASE)), AS_OF)
    rec.loc[rec["line"] == DIFFERENCE, ["amount", "check"]] = [0.01, "DIFFERS"]
    assert _unbalanced(kpis(rec)).startswith(
        "the reconciliation does not balance (difference 0.01; source rows not accounted for: 0)"
    )
    s = summary(rec, "EUR")
    assert s.alarm and "RECONCILIATION DIFFERENCE of 0.01 EUR" in str(s)
    assert _unbalanced({"reconciliation": {"reconciled": True}}) == ""


# -- text ------------------------------------------------------------------------------------
def test_nul_byte_in_a_csv_is_refused(tmp_path):
    text = BASE["invoices.csv"].replace("I2,x", "I2\x00X,x")
    src = write_files(tmp_path / "src", dict(BASE, **{"invoices.csv": text}))
    with pytest.raises(ArlibError) as err:
        load(src)
    assert str(err.value) == (
        "invoices.csv: holds 1 NUL byte(s) (first on line 3), which would cut values short. Fix: "
        "if the file is UTF-16 set source_options.encoding: utf-16; else export it again, or "
        "remove the NUL bytes"
    )


def test_nul_byte_in_a_parquet_id_is_refused(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    pd.DataFrame(
        {
            "invoice_id": ["I1", "I2\x00X"],
            "business_unit": "x",
            "customer_id": "C1",
            "invoice_date": pd.to_datetime(["2024-01-10", "2024-02-01"]),
            "due_date": pd.to_datetime(["2024-02-09", "2024-03-02"]),
            "amount": [100.0, 250.0],
        }
    ).to_parquet(folder / "invoices.parquet")
    assert _load_error(folder) == (
        "invoices.parquet: column invoice_id: 1 row with a NUL byte in the text (e.g. row 2: "
        "'I2\\\\x00X'). Fix: export the data again, or remove the NUL bytes in the source; or set "
        "validation_policy.bad_value: quarantine to set these rows aside"
    )


def test_dollar_signs_in_customer_names_do_not_break_charts():
    from arlib.report.plots.health import top_customers

    customers = pd.DataFrame(
        {
            "name": ["$ave $^Co", "Cash $1 $Ltd", "Plain"],
            "open_ar": [300.0, 200.0, 100.0],
            "current_ar": [100.0, 200.0, 0.0],
            "past_due_ar": [200.0, 0.0, 100.0],
        }
    )
    ax = top_customers(customers, n=3)
    ax.figure.canvas.draw()  # mathtext would raise here on "$ave $^Co"
    shown = [tick.get_text() for tick in ax.get_yticklabels()]
    assert shown == ["Plain", r"Cash \$1 \$Ltd", r"\$ave \$^Co"]  # drawn as "$", not as maths
    matplotlib.pyplot.close(ax.figure)
    assert np.isclose(sum(p.get_width() for p in ax.patches), 600.0)


# -- the parse-once cache of big files gives the same counts and refusals ---------------------
def test_cache_counts_rows_by_reason_like_the_plain_read(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLIB_CACHE_DIR", str(tmp_path / "cache"))
    inv = BASE["invoices.csv"] + "Total,,,,,1430.50,,\n"
    src = write_files(tmp_path / "src", dict(BASE, **{"invoices.csv": inv}))
    plain = reconciliation(load(src), AS_OF)
    cached = reconciliation(load(src, source_options={"cache": "always"}), AS_OF)
    pd.testing.assert_frame_equal(plain, cached)
    assert _lines(cached)[
        "of which totals lines with no business unit (not read; amount as written)"
    ][:2] == (1430.50, 1)


def test_cache_refuses_items_without_unit_and_nul_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLIB_CACHE_DIR", str(tmp_path / "cache"))
    rows = ["I1,x,C1,2024-01-10,2024-02-09,100.00", "I2,,C1,2024-02-01,2024-03-02,250.00"]
    msg = _load_error(_csv(tmp_path / "a", rows), cache="always")
    assert msg.startswith(
        "invoices.csv: column business_unit: 1 row have a customer_id or invoice_date but no "
        "business_unit, so they belong to no business unit (rows 3)."
    )
    text = BASE["invoices.csv"].replace("I2,x", "I2\x00X,x")
    src = write_files(tmp_path / "b" / "src", dict(BASE, **{"invoices.csv": text}))
    with pytest.raises(ArlibError, match="invoices.csv: holds 1 NUL byte"):
        load(src, source_options={"cache": "always"})
