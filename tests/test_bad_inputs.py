"""A corpus of malformed inputs (files and params): each case asserts the exact message, or the
quarantine counts and that the totals still reconcile to the cent.

Every case starts from the base dataset of :mod:`test_io_helpers` (unit ``x`` of three
invoices, four transactions and two customers; source rows are file lines, header = row 1) and
changes one thing. Messages were written out by hand from the rules in the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import openpyxl
import pandas as pd
import pytest
from test_io_helpers import AS_OF, BASE, assert_reconciles, load, quarantined_rows, write_files

from arlib.config import read_yaml, unit_params, validate
from arlib.errors import ArlibError, ConfigError


@dataclass
class Case:
    id: str
    edits: list = field(
        default_factory=list
    )  # (file, old, new); old=None appends a line, "*" replaces all
    params: dict = field(default_factory=dict)
    message: str | None = None  # exact str(error)
    quarantined: dict | None = None  # frame -> rows
    bu: str = "x"


def _files(edits) -> dict:
    files = dict(BASE)
    for name, old, new in edits:
        text = files.get(name, "")
        if old is None:
            files[name] = text + new + "\n"
        elif old == "*":
            files[name] = new
        else:
            assert old in text, (name, old)
            files[name] = text.replace(old, new)
    return files


FIX_DATE = (
    "set source_options.dates.{col} to the format used (iso, dayfirst, monthfirst, yyyymmdd, excel "
    "or a pattern such as %d.%m.%Y){guess}, or correct the values"
)
HINT = "; or set validation_policy.{p}: quarantine to set these rows aside"
HEADERS = "'invoice_id', 'business_unit', 'customer_id', 'invoice_date', 'due_date', {amt}, 'currency', 'disputed'"
DAYFIRST_INVOICES = """invoice_id,business_unit,customer_id,invoice_date,due_date,amount,currency,disputed
I1,x,C1,10/01/2024,2024-02-09,100.00,EUR,No
I2,x,C1,01/02/2024,2024-03-02,250.00,EUR,No
I3,x,C2,31/02/2024,2024-04-04,80.50,EUR,Yes
"""

CASES = [
    Case(
        "missing_amount_column",
        [("invoices.csv", "due_date,amount,", "due_date,Betrag,")],
        message="invoices.csv: column amount: 3 rows cannot be read: no header for amount (headers: "
        + HEADERS.format(amt="'Betrag'")
        + "). Fix: map the source headers in source_options.columns.invoices, "
        "e.g. {'<header>': 'amount'}",
    ),
    Case(
        "mapped_header_misspelt",
        [("invoices.csv", "due_date,amount,", "due_date,Betrag (EUR),")],
        {"source_options": {"columns": {"invoices": {"Betrg": "amount"}}}},
        message="invoices.csv: column amount: 3 rows cannot be read: amount is mapped from 'Betrg', which is not "
        "a header (nearest: 'Betrag (EUR)') (headers: "
        + HEADERS.format(amt="'Betrag (EUR)'")
        + "). Fix: map the "
        "source headers in source_options.columns.invoices, e.g. {'<header>': 'amount'}",
    ),
    Case(
        "dayfirst_date_without_format",
        [("invoices.csv", "I1,x,C1,2024-01-10", "I1,x,C1,31/01/2024")],
        message="invoices.csv: column invoice_date: 1 row with a date not in the format 'auto' (e.g. row 2: "
        "'31/01/2024'). Fix: "
        + FIX_DATE.format(col="invoice_date", guess="; they look like dayfirst dates")
        + HINT.format(p="bad_date"),
    ),
    Case(
        "impossible_date_quarantined",
        [("invoices.csv", "*", DAYFIRST_INVOICES)],
        {
            "source_options": {"dates": {"invoice_date": "dayfirst"}},
            "validation_policy": {"bad_date": "quarantine"},
        },
        quarantined={"invoices": 1, "transactions": 1},
    ),
    Case(
        "amount_with_bad_grouping",
        [
            (
                "invoices.csv",
                "I1,x,C1,2024-01-10,2024-02-09,100.00",
                'I1,x,C1,2024-01-10,2024-02-09,"1,23"',
            )
        ],
        message="invoices.csv: column amount: 1 row with an unreadable amount (e.g. row 2: '1,23'). Fix: correct "
        "them, or set source_options.amounts.decimal (now '.')" + HINT.format(p="bad_amount"),
    ),
    Case(
        "negative_invoice_in_parentheses",
        [("invoices.csv", "250.00,EUR", "(250.00),EUR")],
        message="invoices.csv: column amount: 1 row with a negative amount (e.g. row 3: '(250.00)'). Fix: credit "
        "notes belong in the transactions as kind credit_note; if the source's signs are reversed set "
        "source_options.amounts.flip_sign: [invoices]" + HINT.format(p="negative_amount"),
    ),
    Case(
        "duplicate_invoice_id",
        [("invoices.csv", None, "I2,x,C1,2024-02-02,2024-03-03,250.00,EUR,No")],
        message="invoices.csv: column invoice_id: 2 rows with a repeated invoice_id (every row with the id is "
        "counted) (e.g. row 3: 'I2'; row 6: 'I2'). Fix: keep one row per invoice_id in the source"
        + HINT.format(p="duplicate_id"),
    ),
    Case(
        "duplicate_invoice_id_quarantined",
        [("invoices.csv", None, "I2,x,C1,2024-02-02,2024-03-03,250.00,EUR,No")],
        {"validation_policy": {"duplicate_id": "quarantine"}},
        quarantined={"invoices": 2, "transactions": 1},
    ),
    Case(
        "exact_duplicate_rows",
        [
            ("invoices.csv", None, "I3,x,C2,2024-03-05,2024-04-04,80.50,EUR,Yes"),
            ("transactions.csv", None, "T2,x,C1,I2,2024-03-01,50.00,payment"),
        ],
        quarantined={"invoices": 1, "transactions": 1},
    ),
    Case(
        "due_before_invoice",
        [("invoices.csv", "2024-03-05,2024-04-04,80.50", "2024-03-05,2024-03-01,80.50")],
        quarantined={"invoices": 1, "transactions": 1},
    ),
    Case(
        "payment_before_invoice_quarantined",
        [("transactions.csv", "I2,2024-03-01", "I2,2024-01-15")],
        {"validation_policy": {"payment_before_invoice": "quarantine"}},
        quarantined={"transactions": 1},
    ),
    Case(
        "overpayment_fails",
        [("transactions.csv", "I2,2024-03-01,50.00", "I2,2024-03-01,300.00")],
        {"validation_policy": {"overpayment": "fail"}},
        message="transactions.csv: column amount: 1 row settling more than the invoice amount (e.g. row 3: "
        "invoice I2: settled 300.00 of 250.00). Fix: check the application of cash in the source"
        + HINT.format(p="overpayment"),
    ),
    Case(
        "overpayment_kept_by_default",
        [("transactions.csv", "I2,2024-03-01,50.00", "I2,2024-03-01,300.00")],
        quarantined={},
    ),
    Case(
        "unknown_invoice",
        [("transactions.csv", "T4,x,C2,,", "T4,x,C2,I99,")],
        quarantined={"transactions": 1},
    ),
    Case(
        "credit_note_on_unknown_invoice_kept",
        [("transactions.csv", "C2,I3,2024-03-20", "C2,I77,2024-03-20")],
        {"validation_policy": {"unknown_invoice": "warn"}},
        quarantined={},
    ),
    Case(
        "unknown_customer_fails",
        [("invoices.csv", "I3,x,C2", "I3,x,C7")],
        {"validation_policy": {"unknown_customer": "fail"}},
        message="invoices.csv: column customer_id: 1 row with a customer_id not in the customers (e.g. row 4: "
        "'C7'). Fix: add the customers to the customers frame, or map customer_id"
        + HINT.format(p="unknown_customer"),
    ),
    Case(
        "future_dated_invoice_quarantined",
        [("invoices.csv", "2024-03-05,2024-04-04,80.50", "2024-07-05,2024-08-04,80.50")],
        {"validation_policy": {"future_dated": "quarantine"}},
        quarantined={"invoices": 1, "transactions": 1},
    ),
    Case(
        "empty_business_unit",
        bu="z",
        message="invoices.csv: column business_unit: 0 rows match business unit 'z' (units in the source: x, y). "
        "Fix: check `business_unit` in the params file, or the data source",
    ),
    Case(
        "unmapped_transaction_kind",
        [("transactions.csv", "10.00,credit_note", "10.00,Gutschrift")],
        message="transactions.csv: column kind: 1 row with a kind not in payment, credit_note, write_off, recovery "
        "(values 'Gutschrift') (e.g. row 4: 'Gutschrift'). Fix: map them in source_options.values.kind"
        + HINT.format(p="bad_value"),
    ),
    Case(
        "disputed_flag_not_yes_no",
        [("invoices.csv", "80.50,EUR,Yes", "80.50,EUR,maybe")],
        message="invoices.csv: column disputed: 1 row with a flag that is not yes/no (e.g. row 4: 'maybe'). Fix: "
        "map them in source_options.values.disputed, e.g. {'J': true}" + HINT.format(p="bad_value"),
    ),
    Case(
        "missing_customer_id",
        [("invoices.csv", "I2,x,C1,", "I2,x,,")],
        message="invoices.csv: column customer_id: 1 row with no customer_id (e.g. row 3: empty). Fix: fill "
        "customer_id in the source" + HINT.format(p="missing_value"),
    ),
    Case(
        "ragged_csv_row",
        [("invoices.csv", "250.00,EUR,No", "250.00,EUR,No,extra")],
        message="invoices.csv: cannot be read as delimited text with delimiter ',' (Error tokenizing data. C "
        "error: Expected 8 fields in line 3, saw 9). Fix: check source_options.delimiter and "
        "source_options.header_row, and the quoting in the file",
    ),
    Case(
        "missing_fx_rate",
        [
            ("invoices.csv", "80.50,EUR", "80.50,USD"),
            ("fx_rates.csv", None, "currency,date,rate\nUSD,2024-01-01,0.9"),
        ],
        message="invoices.csv: column currency: 1 row with no FX rate to EUR within 7 days before the date: USD "
        "on 2024-03-05 (1 row) (e.g. row 4: 'USD'). Fix: add rates for those currencies and dates to the FX "
        "table, or raise source_options.fx.max_age_days",
    ),
    Case(
        "foreign_currency_without_fx_table",
        [("invoices.csv", "80.50,EUR", "80.50,USD")],
        message="invoices.csv: column currency: 1 row in a currency other than EUR and no FX-rate table: USD on "
        "2024-03-05 (1 row) (e.g. row 4: 'USD'). Fix: provide an FX table with columns currency, date, rate "
        "(source_options.files.fx_rates, tables.fx_rates or queries.fx_rates), or set `currency` to the data's "
        "currency",
    ),
    Case(
        "several_problems_at_once",
        [
            ("invoices.csv", "I1,x,C1,2024-01-10", "I1,x,C1,31/01/2024"),
            ("invoices.csv", "250.00,EUR", "abc,EUR"),
            ("transactions.csv", "10.00,credit_note", "10.00,Gutschrift"),
        ],
        message="3 data problems in business unit 'x':\n"
        "  - invoices.csv: column invoice_date: 1 row with a date not in the format 'auto' (e.g. row 2: "
        "'31/01/2024'). Fix: "
        + FIX_DATE.format(col="invoice_date", guess="; they look like dayfirst dates")
        + HINT.format(p="bad_date")
        + "\n"
        "  - invoices.csv: column amount: 1 row with an unreadable amount (e.g. row 3: 'abc'). Fix: correct them, "
        "or set source_options.amounts.decimal (now '.')" + HINT.format(p="bad_amount") + "\n"
        "  - transactions.csv: column kind: 1 row with a kind not in payment, credit_note, write_off, recovery "
        "(values 'Gutschrift') (e.g. row 4: 'Gutschrift'). Fix: map them in source_options.values.kind"
        + HINT.format(p="bad_value"),
    ),
    Case(
        "zero_payment",
        [("transactions.csv", "I2,2024-03-01,50.00", "I2,2024-03-01,0.00")],
        message="transactions.csv: column amount: 1 row with an amount of zero or less (e.g. row 3: '0.00'). Fix: "
        "if the source shows cash as negative numbers set source_options.amounts.flip_sign: [transactions]; else "
        "correct them" + HINT.format(p="negative_amount"),
    ),
    Case(
        "yyyymmdd_date_out_of_range",
        [
            ("transactions.csv", "2024-02-05", "20240205"),
            ("transactions.csv", "2024-03-01", "20241345"),
            ("transactions.csv", "2024-03-20", "20240320"),
            ("transactions.csv", "2024-04-01,30.00", "20240401,30.00"),
            ("transactions.csv", "2024-04-01,999.00", "20240401,999.00"),
        ],
        {
            "source_options": {"dates": {"date": "yyyymmdd"}},
            "validation_policy": {"bad_date": "quarantine"},
        },
        quarantined={"transactions": 1},
    ),
    Case("footer_total_line", [("invoices.csv", None, "Total,,,,,430.50,,")], quarantined={}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_file_case(case: Case, tmp_path):
    src = write_files(tmp_path / "src", _files(case.edits))
    params = dict(case.params, output_dir=str(tmp_path / "out"))
    if case.message is not None:
        with pytest.raises(ArlibError) as err:
            load(src, bu=case.bu, **params)
        assert str(err.value) == case.message
        return
    ledger = load(src, bu=case.bu, **params)
    assert quarantined_rows(ledger) == case.quarantined
    assert_reconciles(ledger, AS_OF)
    files = sorted(p.name for p in (tmp_path / "out").glob("quarantine-*.csv"))
    assert files == [
        f"quarantine-{f}.csv" for f in ("invoices", "transactions") if f in case.quarantined
    ]
    for name in files:  # one line per quarantined row, with its reason
        q = pd.read_csv(tmp_path / "out" / name)
        assert (
            len(q) == case.quarantined[name[len("quarantine-") : -4]] and q["reason"].notna().all()
        )


def test_quarantine_reasons_and_amounts(tmp_path):
    case = next(c for c in CASES if c.id == "duplicate_invoice_id_quarantined")
    src = write_files(tmp_path / "src", _files(case.edits))
    ledger = load(src, output_dir=str(tmp_path / "out"), **case.params)
    rec = assert_reconciles(ledger).set_index("line")
    assert (
        rec.at["Invoices read", "amount"] == 680.50
        and rec.at["Quarantined invoices", "amount"] == -500.0
    )
    assert (
        rec.at["Open AR (ledger)", "amount"] == 70.50
        and rec.at["Quarantined transactions", "amount"] == 50.0
    )
    q = pd.read_csv(tmp_path / "out" / "quarantine-invoices.csv", dtype=str)
    assert q["source_row"].tolist() == ["3", "6"] and set(q["problem"]) == {"duplicate_id"}
    assert (
        q["reason"].iloc[0]
        == "invoice_id: a repeated invoice_id (every row with the id is counted)"
    )
    t = pd.read_csv(tmp_path / "out" / "quarantine-transactions.csv", dtype=str)
    assert t[["txn_id", "problem", "reason"]].values.tolist() == [
        ["T2", "invoice_quarantined", "invoice_id: on a quarantined invoice"]
    ]


def test_overpayment_and_unapplied_credit_reconcile(tmp_path):
    over = next(c for c in CASES if c.id == "overpayment_kept_by_default")
    ledger = load(write_files(tmp_path / "a", _files(over.edits)))
    rec = assert_reconciles(ledger).set_index("line")["amount"]
    assert (
        rec["of which over-applied (beyond invoice amount)"] == 50.0
        and rec["Open AR (ledger)"] == 70.50
    )
    assert ledger.load_report.problems[["problem", "policy", "rows"]].values.tolist() == [
        ["overpayment", "warn", 1]
    ]
    cn = next(c for c in CASES if c.id == "credit_note_on_unknown_invoice_kept")
    ledger = load(write_files(tmp_path / "b", _files(cn.edits)), **cn.params)
    rec = assert_reconciles(ledger).set_index("line")["amount"]
    assert (
        rec["Credit notes and write-offs not reducing AR"] == 10.0
        and rec["Open AR (ledger)"] == 280.50
    )


def test_footer_line_is_noted_not_lost(tmp_path):
    case = next(c for c in CASES if c.id == "footer_total_line")
    ledger = load(write_files(tmp_path / "src", _files(case.edits)))
    assert (
        "invoices.csv: 1 row(s) with no business_unit belong to no business unit and are not read (row(s) 6)"
        in ledger.load_report.notes
    )


def test_excel_sheet_missing(tmp_path):
    src = write_files(tmp_path / "src", {k: v for k, v in BASE.items() if k != "invoices.csv"})
    book = openpyxl.Workbook()
    for line in BASE["invoices.csv"].splitlines():
        book.active.append(line.split(","))
    book.save(src / "invoices.xlsx")
    with pytest.raises(ArlibError) as err:
        load(src, source_options={"sheet": {"invoices": "Rechnungen"}})
    assert str(err.value) == (
        "invoices.xlsx: has no sheet 'Rechnungen' (sheets: Sheet). Fix: set source_options.sheet "
        "to a sheet name or a 0-based position"
    )


def test_missing_file(tmp_path):
    src = write_files(tmp_path / "src", BASE)
    with pytest.raises(ArlibError) as err:
        load(src, source_options={"files": {"customers": "kunden.csv"}})
    assert str(err.value) == (
        f"kunden.csv: file not found ({src / 'kunden.csv'}). Fix: check `source` and "
        "source_options.files"
    )


def test_not_utf8_without_encoding(tmp_path):
    text = BASE["invoices.csv"].replace("I2,x,C1,", "I2,x,北京,")
    src = write_files(tmp_path / "src", dict(BASE, **{"invoices.csv": text.encode("gbk")}))
    with pytest.raises(ArlibError) as err:
        load(src)
    assert str(err.value) == (
        "invoices.csv: is not UTF-8 text (line 3, byte 0xb1). Fix: set source_options.encoding "
        "to the file's encoding, e.g. gb18030 for Chinese exports or cp1252 for Western Windows "
        "exports"
    )


# -- params ----------------------------------------------------------------------------------
PARAM_CASES = [
    (
        {"source_options": {"colums": {}}},
        "parameter source_options.colums: is not a source option; did you mean 'columns'?",
    ),
    (
        {"source_options": {"columns": {"invoices": {"Betrag": "amout"}}}},
        "parameter source_options.columns.invoices: 'amout' (for source column 'Betrag') is not a column of invoices; "
        "did you mean 'amount'?",
    ),
    (
        {"source_options": {"columns": {"invoice": {}}}},
        "parameter source_options.columns.invoice: is not a frame; did you mean 'invoices'?",
    ),
    (
        {"source_options": {"values": {"kind": {"ZAH": "paymnt"}}}},
        "parameter source_options.values.kind: 'ZAH' maps to 'paymnt', which is not a valid kind; did you mean "
        "'payment'?",
    ),
    (
        {"source_options": {"dates": "ddmmyyyy"}},
        "parameter source_options.dates: 'ddmmyyyy' is not a date format; did you mean 'dayfirst'? (or a pattern "
        "such as '%d.%m.%Y')",
    ),
    (
        {"source_options": {"amounts": {"decimal": ";"}}},
        "parameter source_options.amounts.decimal: must be '.' or ',', got ';'",
    ),
    (
        {"source_options": {"constants": {"currency": "eur"}}},
        "parameter source_options.constants.currency: 'eur' is not a valid currency",
    ),
    (
        {"validation_policy": {"bad_dates": "fail"}},
        "parameter validation_policy.bad_dates: is not a data problem; did you mean 'bad_date'?",
    ),
    (
        {"validation_policy": {"bad_date": "skip"}},
        "parameter validation_policy.bad_date: must be one of fail, quarantine; got 'skip'",
    ),
    (
        {"validation_policy": {"bad_date": "warn"}},
        "parameter validation_policy.bad_date: must be one of fail, quarantine; got 'warn'",
    ),
    (
        {"source_options": {"password_env": "hunter2-secret"}},
        "parameter source_options.password_env: must be the NAME of an environment variable in capitals, such as "
        "ARLIB_PG_PASSWORD (the value given is not shown)",
    ),
    (
        {"source": "postgresql://ar:hunter2@localhost/ar"},
        "parameter source: holds a password (user info: postgresql://ar:***@localhost/ar); params are recorded in the reports. "
        "Fix: remove it from the URL and name an environment variable holding it in source_options.password_env",
    ),
    (
        {
            "source": "postgresql://ar@localhost/ar",
            "source_options": {"password_env": "ARLIB_TEST_NOT_SET_PW"},
        },
        "parameter source_options.password_env: environment variable ARLIB_TEST_NOT_SET_PW is not set. Fix: export "
        "ARLIB_TEST_NOT_SET_PW=<password> before running arlib (the value is never written to params or reports)",
    ),
]


@pytest.mark.parametrize(
    ("params", "message"), PARAM_CASES, ids=[m.split(":")[0].split()[1] for _, m in PARAM_CASES]
)
def test_params_case(params, message, tmp_path, monkeypatch):
    monkeypatch.delenv("ARLIB_TEST_NOT_SET_PW", raising=False)
    src = params.pop("source", None) or write_files(tmp_path / "src", BASE)
    with pytest.raises(ConfigError) as err:
        load(src, **params)
    assert str(err.value) == message
    assert "hunter2" not in str(err.value)


def test_query_must_filter_by_unit(tmp_path, small_demo):
    from arlib import io

    store = io.write_store(small_demo, tmp_path / "store.sqlite")
    with pytest.raises(ConfigError) as err:
        load(store, bu="aa", source_options={"queries": {"invoices": "SELECT * FROM invoices"}})
    assert str(err.value) == (
        "parameter source_options.queries.invoices: must filter by business unit with the bind "
        "parameter :business_unit (e.g. WHERE company_code = :business_unit), or set "
        "source_options.one_unit: true when it returns one unit's rows only"
    )


def test_undeclared_params_key_names_nearest(tmp_path):
    (tmp_path / "x.yaml").write_text("sourc: data/\n")
    with pytest.raises(ConfigError) as err:
        validate(unit_params(tmp_path / "x.yaml", None), str(tmp_path / "x.yaml"))
    assert (
        str(err.value)
        == f"{tmp_path / 'x.yaml'}: parameter sourc: is not a parameter of any notebook; did you mean 'source'?"
    )


def test_yaml_is_loaded_safely(tmp_path):
    (tmp_path / "x.yaml").write_text(
        "source: !!python/object/apply:os.system ['echo owned > owned.txt']\n"
    )
    with pytest.raises(ConfigError) as err:
        read_yaml(tmp_path / "x.yaml")
    assert str(err.value).startswith(
        f"{tmp_path / 'x.yaml'}: parameter (file): line 1, column 9: is not valid YAML: could not "
        "determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    )
    assert not (tmp_path / "owned.txt").exists()
