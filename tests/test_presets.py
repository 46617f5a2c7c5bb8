"""``source_preset``: each system's open-item / aging export loads through params alone.

Each sample is built here in that system's layout (title rows, section headings, subtotal
rows, its headers, date and amount formats) and read with ``source_preset`` and nothing else
the layout needs. The open AR is the sum of the file's open amounts, worked by hand beside
each sample, and the reconciliation balances to the cent.
"""

from __future__ import annotations

import openpyxl
import pytest
from test_io_helpers import assert_reconciles

from arlib import io
from arlib.config import unit_params, validate
from arlib.errors import ConfigError, SourceError
from arlib.io.options import parse_source_options


def _xlsx(path, rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def _load(tmp_path, params: str, name: str, content):
    """Write the sample ``name`` and a unit params file; the unit's ledger, as the run reads it."""
    src = tmp_path / "export"
    src.mkdir()
    if isinstance(content, str):
        (src / name).write_text(content, encoding="utf-8")
    else:
        _xlsx(src / name, content)
    unit = tmp_path / "u1.yaml"
    unit.write_text(f"business_unit: u1\nsource: {src / name}\n{params}", encoding="utf-8")
    raw = unit_params(unit, None, {"output_dir": str(tmp_path / "out")})
    cfg = validate(raw, str(unit))
    return io.load_ledger(cfg), cfg


def _open(led, cfg) -> dict:
    items = led.open_items(cfg.as_of).set_index("invoice_id")["open_amount"]
    return items.round(2).to_dict()


def _noted(led, text: str) -> bool:
    """A load note ending with ``text`` (notes start with the source file's path)."""
    return any(n.endswith(text) for n in led.load_report.notes)


def _names(led) -> dict:
    return led.customers.set_index("customer_id")["name"].to_dict()


# SAP FBL5N, English layout, to Excel: title, header on row 3, text dates DD.MM.YYYY beside
# native ones, another company code, a totals line. Open AR of 1000: 1,190.00 + 595.00 +
# 2,380.50 = 4,165.50.
SAP = [
    ["Customer Line Item Display"],
    [],
    [
        "Company Code",
        "Customer",
        "Name 1",
        "Document Number",
        "Document Type",
        "Document Date",
        "Net Due Date",
        "Amount in Local Currency",
        "Local Currency",
    ],
    ["1000", "100017", "Müller AG", "1800001234", "RV", "15.01.2024", "14.02.2024", 1190.0, "EUR"],
    ["1000", "100017", "Müller AG", "1800001235", "RV", "01.02.2024", "02.03.2024", 595.0, "EUR"],
    ["1000", "200450", "Dupont SA", "1800001240", "RV", "05.03.2024", "04.04.2024", 2380.5, "EUR"],
    ["2000", "300001", "UK Ltd", "1900000001", "RV", "10.01.2024", "09.02.2024", 5000.0, "GBP"],
    [None, None, None, None, None, None, None, 9165.5, None],
]


def test_sap_fbl5n(tmp_path):
    led, cfg = _load(
        tmp_path,
        'business_unit: "1000"\nas_of: "2024-03-31"\nsource_preset: sap_fbl5n\n',
        "fbl5n.xlsx",
        SAP,
    )
    assert _open(led, cfg) == {"1800001234": 1190.0, "1800001235": 595.0, "1800001240": 2380.5}
    assert led.invoices["due_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-02-14",
        "2024-03-02",
        "2024-04-04",
    ]
    assert _names(led) == {"100017": "Müller AG", "200450": "Dupont SA"}
    assert _noted(
        led,
        "/fbl5n.xlsx: 1 layout row(s) with no Document Number, Net Due Date (titles, headings, "
        "subtotals) not read (row(s) 8)",
    )
    rec = assert_reconciles(led, "2024-03-31").set_index("line")
    assert rec.at["Open AR (ledger)", "amount"] == 4165.50


# Oracle Receivables Aging - 7 Buckets, CSV: title rows, DD-MON-YYYY dates, amounts with
# thousands separators, a customer total line. Open AR: 12,500.00 + 3,200.75 + 980.25 = 16,681.00.
ORACLE = """\
Vision Operations
Aging - 7 Buckets - By Amount Report
As of Date: 31-MAR-2024

Customer Name,Customer Number,Type,Transaction Number,Transaction Date,Due Date,Outstanding Amount,Currency,Current,1-30 Days Past Due
Acme Corp,1001,Invoice,INV-10045,15-JAN-2024,14-FEB-2024,"12,500.00",USD,,
Acme Corp,1001,Invoice,INV-10102,20-MAR-2024,19-APR-2024,"3,200.75",USD,"3,200.75",
Customer Total,,,,,,"15,700.75",,,
Globex Inc,1002,Invoice,INV-10090,01-MAR-2024,31-MAR-2024,980.25,USD,980.25,
"""


def test_oracle_receivables_aging(tmp_path):
    led, cfg = _load(
        tmp_path,
        'as_of: "2024-03-31"\ncurrency: USD\nsource_preset: oracle\n',
        "aging.csv",
        ORACLE,
    )
    assert _open(led, cfg) == {"INV-10045": 12500.0, "INV-10090": 980.25, "INV-10102": 3200.75}
    assert led.invoices.set_index("invoice_id")["invoice_date"].dt.strftime(
        "%Y-%m-%d"
    ).to_dict() == {
        "INV-10045": "2024-01-15",
        "INV-10102": "2024-03-20",
        "INV-10090": "2024-03-01",
    }
    assert _names(led) == {"1001": "Acme Corp", "1002": "Globex Inc"}
    rec = assert_reconciles(led, "2024-03-31").set_index("line")
    assert rec.at["Open AR (ledger)", "amount"] == 16681.0


# NetSuite A/R Aging Detail, CSV: $ amounts, an open credit memo in parentheses, M/D/YYYY,
# a total row per customer. Invoices 1,250.00 + 4,000.00 + 310.40 = 5,560.40 open; the credit
# memo (-50.00) is quarantined as a negative amount, as the policy in params says.
NETSUITE = """\
Wolfe Electronics
A/R Aging Detail
As of 3/31/2024
Customer,Transaction Type,Date,Document Number,PO/Check Number,Due Date,Age,Open Balance
C100 Anderson Ltd,Invoice,1/20/2024,INV1001,PO-7,2/19/2024,42,"$1,250.00"
C100 Anderson Ltd,Credit Memo,2/2/2024,CM0007,,2/2/2024,59,($50.00)
C100 Anderson Ltd,Invoice,3/1/2024,INV1020,,3/31/2024,0,"$4,000.00"
Total - C100 Anderson Ltd,,,,,,,"$5,200.00"
C200 Brook Inc,Invoice,2/14/2024,INV1009,,3/15/2024,16,$310.40
Total - C200 Brook Inc,,,,,,,$310.40
Total,,,,,,,"$5,510.40"
"""


def test_netsuite_ar_aging_detail(tmp_path):
    led, cfg = _load(
        tmp_path,
        'as_of: "2024-03-31"\ncurrency: USD\nsource_preset: netsuite\n'
        "validation_policy: {negative_amount: quarantine}\n",
        "aging.csv",
        NETSUITE,
    )
    assert _open(led, cfg) == {"INV1001": 1250.0, "INV1020": 4000.0, "INV1009": 310.4}
    q = led.load_report.quarantined["invoices"]
    assert q[["invoice_id", "problem"]].values.tolist() == [["CM0007", "negative_amount"]]
    rec = assert_reconciles(led, "2024-03-31").set_index("line")
    assert rec.at["Invoices read", "amount"] == 5510.40
    assert rec.at["Quarantined invoices", "amount"] == 50.0
    assert rec.at["Open AR (ledger)", "amount"] == 5560.40
    assert _noted(
        led,
        "/aging.csv: 3 layout row(s) with no Document Number, Due Date (titles, headings, "
        "subtotals) not read (row(s) 8, 10, 11)",
    )


# QuickBooks A/R Aging Detail to Excel: title rows, a section per aging bucket with its total,
# MM/DD/YYYY. "Amount" is the original amount, "Open Balance" what is open: 800.00 + 150.00 +
# 2,000.00 = 2,950.00.
QUICKBOOKS = [
    ["Craig's Design and Landscaping Services"],
    ["A/R Aging Detail"],
    ["As of March 31, 2024"],
    [],
    [
        None,
        "Date",
        "Transaction Type",
        "Num",
        "Customer",
        "Due Date",
        "Past Due",
        "Amount",
        "Open Balance",
    ],
    ["Current"],
    [
        None,
        "03/20/2024",
        "Invoice",
        "1037",
        "Sonnenschein Family Store",
        "04/19/2024",
        None,
        800.0,
        800.0,
    ],
    ["Total for Current", None, None, None, None, None, None, 800.0, 800.0],
    ["1 - 30 days past due"],
    [None, "02/10/2024", "Invoice", "1021", "Amy's Bird Sanctuary", "03/11/2024", 20, 450.0, 150.0],
    [None, "02/15/2024", "Invoice", "1024", "Cool Cars", "03/16/2024", 15, 2000.0, 2000.0],
    ["Total for 1 - 30 days past due", None, None, None, None, None, None, 2450.0, 2150.0],
    ["TOTAL", None, None, None, None, None, None, 3250.0, 2950.0],
]


def test_quickbooks_ar_aging_detail(tmp_path):
    led, cfg = _load(
        tmp_path,
        'as_of: "2024-03-31"\ncurrency: USD\nsource_preset: quickbooks\n',
        "aging.xlsx",
        QUICKBOOKS,
    )
    assert _open(led, cfg) == {"1037": 800.0, "1021": 150.0, "1024": 2000.0}
    assert sorted(led.customers["customer_id"]) == [
        "Amy's Bird Sanctuary",
        "Cool Cars",
        "Sonnenschein Family Store",
    ]
    assert led.invoices["due_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-04-19",
        "2024-03-11",
        "2024-03-16",
    ]
    rec = assert_reconciles(led, "2024-03-31").set_index("line")
    assert rec.at["Open AR (ledger)", "amount"] == 2950.0


# Xero Aged Receivables Detail, CSV: title rows, a heading row per contact (the customer) and
# its total row, D MMM YYYY. "Due" is what is open: 1,500.00 + 240.00 + 3,600.00 = 5,340.00.
XERO = """\
Aged Receivables Detail
Demo Company (UK)
As at 31 March 2024
Invoice Date,Invoice Number,Invoice Reference,Due Date,Total,Paid,Credited,Due
Bayside Club,,,,,,,
12 Jan 2024,INV-0021,P/O 9871,11 Feb 2024,1500.00,0.00,0.00,1500.00
2 Mar 2024,INV-0034,,1 Apr 2024,540.00,300.00,0.00,240.00
Total Bayside Club,,,,2040.00,300.00,0.00,1740.00
Ridgeway University,,,,,,,
20 Feb 2024,INV-0029,RU-44,21 Mar 2024,3600.00,0.00,0.00,3600.00
Total Ridgeway University,,,,3600.00,0.00,0.00,3600.00
Total,,,,5640.00,300.00,0.00,5340.00
"""


def test_xero_aged_receivables_detail(tmp_path):
    led, cfg = _load(
        tmp_path,
        'as_of: "2024-03-31"\ncurrency: GBP\nsource_preset: xero\n',
        "aged.csv",
        XERO,
    )
    assert _open(led, cfg) == {"INV-0021": 1500.0, "INV-0034": 240.0, "INV-0029": 3600.0}
    assert led.invoices.set_index("invoice_id")["customer_id"].to_dict() == {
        "INV-0021": "Bayside Club",
        "INV-0034": "Bayside Club",
        "INV-0029": "Ridgeway University",
    }
    rec = assert_reconciles(led, "2024-03-31").set_index("line")
    assert rec.at["Open AR (ledger)", "amount"] == 5340.0


# Microsoft Dynamics 365 Finance, customer aging / open transactions to Excel: native dates,
# "Amount" is the original, "Balance" what is open: 10,000.00 + 2,500.00 + 725.30 = 13,225.30.
DYNAMICS = [
    [
        "Customer account",
        "Name",
        "Voucher",
        "Invoice",
        "Date",
        "Due date",
        "Amount",
        "Balance",
        "Currency",
    ],
    [
        "US-001",
        "Contoso Retail San Diego",
        "ARI-000101",
        "CIV-000101",
        "01/10/2024",
        "02/09/2024",
        10000.0,
        10000.0,
        "USD",
    ],
    [
        "US-001",
        "Contoso Retail San Diego",
        "ARI-000140",
        "CIV-000140",
        "03/05/2024",
        "04/04/2024",
        4000.0,
        2500.0,
        "USD",
    ],
    [
        "US-004",
        "Cave Wholesales",
        "ARI-000122",
        "CIV-000122",
        "02/20/2024",
        "03/21/2024",
        725.3,
        725.3,
        "USD",
    ],
]


def test_dynamics_customer_aging(tmp_path):
    led, cfg = _load(
        tmp_path,
        'as_of: "2024-03-31"\ncurrency: USD\nsource_preset: dynamics\n',
        "aging.xlsx",
        DYNAMICS,
    )
    assert _open(led, cfg) == {"CIV-000101": 10000.0, "CIV-000140": 2500.0, "CIV-000122": 725.3}
    assert _names(led) == {"US-001": "Contoso Retail San Diego", "US-004": "Cave Wholesales"}
    assert led.invoices["invoice_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-10",
        "2024-03-05",
        "2024-02-20",
    ]
    rec = assert_reconciles(led, "2024-03-31").set_index("line")
    assert rec.at["Open AR (ledger)", "amount"] == 13225.30


def test_explicit_options_win_key_by_key(tmp_path):
    """A UK QuickBooks file: day-first dates set by hand; the preset's other keys stay (header
    found, layout rows skipped, open balance as amount), and a hand mapping adds a column."""
    uk = [list(r) for r in QUICKBOOKS]
    for row in uk[6:]:
        for i in (1, 5):
            if len(row) > i and isinstance(row[i], str):
                m, d, y = row[i].split("/")
                row[i] = f"{d}/{m}/{y}"
    led, cfg = _load(
        tmp_path,
        'as_of: "2024-03-31"\ncurrency: GBP\nsource_preset: quickbooks\n'
        "source_options: {dates: dayfirst, columns: {invoices: {Transaction Type: segment}}}\n",
        "aging.xlsx",
        uk,
    )
    assert led.invoices["due_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-04-19",
        "2024-03-11",
        "2024-03-16",
    ]
    assert _open(led, cfg) == {"1037": 800.0, "1021": 150.0, "1024": 2000.0}
    assert set(led.customers["segment"]) == {"Invoice"}


def test_unknown_preset_names_the_nearest():
    with pytest.raises(
        ConfigError,
        match=r"source_preset: 'quickbook' is not a preset; did you mean 'quickbooks'\?",
    ):
        parse_source_options({}, "quickbook")


def test_no_header_row_found_is_one_message(tmp_path):
    with pytest.raises(SourceError) as e:
        _load(
            tmp_path,
            'as_of: "2024-03-31"\nsource_preset: xero\n',
            "aged.csv",
            "Aged Receivables Detail\nFoo,Bar\n1,2\n",
        )
    assert str(e.value).startswith(
        f"{tmp_path / 'export'}/aged.csv: no header row found in the first 30 rows (looked for two or more of:"
    )
    assert str(e.value).endswith(
        "Fix: set source_options.header_row to the 1-based row of the header, and map its "
        "headers in source_options.columns"
    )


def test_readme_shows_each_preset_with_its_headers_and_dates():
    from pathlib import Path

    from arlib.io.presets import PRESETS

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name, preset in PRESETS.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        for col, headers in preset["columns"]["invoices"].items():
            assert f"{col}: {', '.join(headers)}" in row, (name, col)
        dates = preset["options"]["dates"]
        assert f"`dates: {dates}`" in row or f'`dates: "{dates}"`' in row, name


def test_report_exports_are_read_whole_not_through_the_file_cache(tmp_path):
    """The parse-once cache splits a file by unit row by row; a report export's title rows,
    headings and subtotals need the whole layout (header found, headings carried down)."""
    from arlib.io import filecache

    f = tmp_path / "aging.csv"
    f.write_text("x\n", encoding="utf-8")
    assert filecache.wanted(f, "invoices", parse_source_options({"cache": "always"}))
    assert not filecache.wanted(
        f, "invoices", parse_source_options({"cache": "always"}, "sap_fbl5n")
    )
