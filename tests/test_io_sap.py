"""A SAP-style open-item export (FBL5N to Excel) loads through params alone.

The workbook has a title above the header, misspelt headers ("Belegnumer", "Netofälligkeit"),
dates as numbers (``20240115.0`` and ``20240214``), two currencies with an ECB-style rate file
(USD per EUR, decimal comma, day-first dates), page-break duplicate rows, an open credit memo
and a totals line. Worked by hand, as of 2024-03-31 in EUR:

======================  =========  =====================================================
row                     EUR        fate
======================  =========  =====================================================
4  1800001234  1190.00  1,190.00   open
5  1800001235   595.00    595.00   open
6  1800001240  USD 1000   925.93   open (1000 / 1.0800, rate of 2024-02-05)
7  1800001241  USD 250.5  229.82   open (250.50 / 1.0900, rate of 2024-03-12)
8  1600000077  -150.00   -150.00   quarantined: negative_amount (a credit memo)
9  copy of row 5          595.00   quarantined: duplicate_row
10 copy of row 6          925.93   quarantined: duplicate_row
11 company code 2000     (GBP)     another unit: not read
12 totals line                     no company code: noted, not read
======================  =========  =====================================================

Invoices read 4,311.68; quarantined 1,370.93; open AR 2,940.75. The GL, which nets the credit
memo, says 2,790.75: a difference of 150.00 that the reconciliation flags.
"""

from __future__ import annotations

import openpyxl
import pytest
from test_io_helpers import assert_reconciles

from arlib import io
from arlib.config import unit_params, validate
from arlib.io import reconcile

DEFAULTS = """\
# SAP FBL5N open items of company code 1000, exported to Excel; ECB reference rates.
as_of: "2024-03-31"
currency: EUR
source: {source}
gl_control_total: 2790.75
source_options:
  files: {{invoices: FBL5N_export.xlsx, fx_rates: ecb_rates.csv}}
  header_row: {{invoices: 3}}
  columns:
    invoices:
      Buchungskreis: business_unit
      Kunde: customer_id
      Belegnumer: invoice_id          # sic: the export's header
      Belegdatum: invoice_date
      Netofälligkeit: due_date        # sic
      Betrag in BW: amount
      Belegwährung: currency
    fx_rates: {{Währung: currency, Datum: date, Kurs: rate}}
  dates: {{invoice_date: yyyymmdd, due_date: yyyymmdd, date: dayfirst}}
  amounts: {{decimal: ","}}
  fx: {{quote: foreign_per_reporting}}
  frames: {{transactions: none, customers: none}}
validation_policy:
  negative_amount: quarantine   # open credit memos are listed; they are not invoices
"""
HEADER = [
    "Buchungskreis",
    "Kunde",
    "Belegnumer",
    "Belegdatum",
    "Netofälligkeit",
    "Betrag in BW",
    "Belegwährung",
    "Text",
]
ROWS = [
    ["1000", "100017", "1800001234", 20240115.0, 20240214, 1190.00, "EUR", "Lieferung 4711"],
    ["1000", "100017", "1800001235", 20240201.0, 20240302, 595.00, "EUR", "Lieferung 4712"],
    ["1000", "200450", "1800001240", 20240205.0, 20240306, 1000.00, "USD", "Export US"],
    ["1000", "200450", "1800001241", 20240312.0, 20240411, 250.50, "USD", "Export US"],
    ["1000", "100017", "1600000077", 20240220.0, 20240220, -150.00, "EUR", "Gutschrift"],
]


def _export(folder):
    folder.mkdir()
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "FBL5N"
    ws.append(["Kundenposten Buchungskreis 1000/2000"])
    ws.append([])
    ws.append(HEADER)
    for row in ROWS + [ROWS[1], ROWS[2]]:
        ws.append(row)
    ws.append(["2000", "300001", "1900000001", 20240110.0, 20240209, 5000.00, "GBP", "UK"])
    ws.append([None, None, None, None, None, 2884.50, None, "Summe"])
    book.save(folder / "FBL5N_export.xlsx")
    (folder / "ecb_rates.csv").write_text(
        "Währung;Datum;Kurs\nUSD;05.02.2024;1,0800\nUSD;12.03.2024;1,0900\n", encoding="utf-8"
    )
    return folder


@pytest.fixture
def sap_ledger(tmp_path):
    src = _export(tmp_path / "sap")
    params = tmp_path / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text(DEFAULTS.format(source=src), encoding="utf-8")
    (params / "1000.yaml").write_text('business_unit: "1000"\n', encoding="utf-8")
    raw = unit_params(
        params / "1000.yaml", params / "defaults.yaml", {"output_dir": str(tmp_path / "out")}
    )
    cfg = validate(raw, str(params / "1000.yaml"))
    return io.load_ledger(cfg), cfg


def test_open_items_in_euro(sap_ledger):
    led, cfg = sap_ledger
    inv = led.invoices.set_index("invoice_id")
    assert inv["amount"].to_dict() == {
        "1800001234": 1190.0,
        "1800001235": 595.0,
        "1800001240": 925.93,
        "1800001241": 229.82,
    }
    assert (
        inv["original_currency"].tolist() == ["EUR", "EUR", "USD", "USD"]
        and inv["currency"].eq("EUR").all()
    )
    assert inv["invoice_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-15",
        "2024-02-01",
        "2024-02-05",
        "2024-03-12",
    ]
    assert inv["due_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-02-14",
        "2024-03-02",
        "2024-03-06",
        "2024-04-11",
    ]
    assert led.open_items(cfg.as_of)["open_amount"].sum().round(2) == 2940.75


def test_quarantine_and_notes(sap_ledger):
    led, _ = sap_ledger
    q = led.load_report.quarantined["invoices"]
    assert q[["_row", "invoice_id", "problem"]].values.tolist() == [
        [8, "1600000077", "negative_amount"],
        [9, "1800001235", "duplicate_row"],
        [10, "1800001240", "duplicate_row"],
    ]
    assert led.load_report.frames.set_index("frame").loc[
        "invoices", ["rows_read", "rows_kept", "rows_quarantined"]
    ].tolist() == [7, 4, 3]
    notes = led.load_report.notes
    assert (
        "FBL5N_export.xlsx: 1 row(s) with no Buchungskreis belong to no business unit and are not read (row(s) 12)"
        in notes
    )
    assert "FBL5N_export.xlsx: columns not used: Text" in notes


def test_reconciles_and_flags_the_gl_difference(sap_ledger):
    led, cfg = sap_ledger
    rec = assert_reconciles(led, "2024-03-31", cfg.gl_control_total)
    by = rec.set_index("line")
    assert (
        by.at["Invoices read", "amount"] == 4311.68
        and by.at["Quarantined invoices", "amount"] == -1370.93
    )
    assert by.at["Open AR (ledger)", "amount"] == 2940.75
    assert by.loc["Open AR minus GL control total", ["amount", "check"]].tolist() == [
        150.0,
        "DIFFERS",
    ]
    assert str(reconcile.summary(rec, "EUR")) == (
        "Invoices read 4,311.68 EUR, of which 1,370.93 quarantined; open AR 2,940.75 EUR. 1 totals "
        "line(s) with no business unit not read (2,884.50 as written). Every amount is "
        "accounted for to the cent. OPEN AR DIFFERS FROM THE GL CONTROL TOTAL 2,790.75 EUR by 150.00 EUR."
    )
