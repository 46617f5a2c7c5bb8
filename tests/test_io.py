"""Sources: CSV in any delimiter and encoding, Excel sheets and header rows, Parquet, SQLite
stores with mapped tables and queries, one-unit files; and what the load report says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_io_helpers import AS_OF, BASE, CUSTOMERS, assert_reconciles, load, make_cfg, write_files

from arlib import io, report
from arlib.errors import ArlibError, DataError
from arlib.ledger import Ledger, fingerprint

DATA = Path(__file__).parent / "data"


def _open_ar(ledger, as_of=AS_OF) -> float:
    return round(float(ledger.open_items(as_of)["open_amount"].sum()), 2)


def test_base_folder_of_csv_files(tmp_path):
    ledger = load(write_files(tmp_path / "src", BASE))
    assert (
        len(ledger.invoices) == 3 and len(ledger.transactions) == 4 and len(ledger.customers) == 2
    )
    assert _open_ar(ledger) == 270.50
    assert ledger.invoices["disputed"].tolist() == [False, False, True]
    assert ledger.transactions["invoice_id"].tolist()[-1] is None  # the unapplied payment
    rec = assert_reconciles(ledger).set_index("line")["amount"]
    assert rec["of which unapplied (no invoice)"] == 30.0
    assert (
        str(ledger.load_report)
        == f"{tmp_path / 'src'}: 3 invoices, 4 transactions, 2 customers loaded"
    )


def test_gbk_export_with_chinese_headers():
    opts = {
        "encoding": "gbk",
        "dates": "%Y/%m/%d",
        "frames": {"transactions": "none", "customers": "none"},
        "columns": {
            "invoices": {
                "发票号": "invoice_id",
                "公司": "business_unit",
                "客户": "customer_id",
                "开票日期": "invoice_date",
                "到期日": "due_date",
                "金额": "amount",
                "币种": "currency",
                "争议": "disputed",
            }
        },
    }
    ledger = load(DATA / "gbk_invoices.csv", bu="cn", currency="CNY", source_options=opts)
    inv = ledger.invoices
    assert inv["invoice_id"].tolist() == ["FP-001", "FP-002"]
    assert inv["customer_id"].tolist() == ["上海华东物流有限公司", "北京长江食品有限公司"]
    assert inv["amount"].tolist() == [12000.0, 8500.50] and inv["disputed"].tolist() == [
        False,
        True,
    ]
    assert _open_ar(ledger) == 20500.50
    assert_reconciles(ledger)


def test_bom_semicolon_crlf_title_rows_footer_and_decimal_comma(tmp_path):
    text = (
        "AR open items, company X\r\n\r\n"
        "Beleg;Bereich;Kunde;Datum;Fällig;Betrag\r\n"
        "I1;x;C1;10.01.2024;09.02.2024;1.234,50\r\n"
        "I2;x;C2;01.02.2024;02.03.2024;(10,00)\r\n"
        "I3;x;C2;05.03.2024;04.04.2024;99,90\r\n"
        ";;;;Summe;1.324,40\r\n"
    )
    src = write_files(tmp_path / "src", {"op.csv": b"\xef\xbb\xbf" + text.encode("utf-8")})
    opts = {
        "header_row": 3,
        "footer_rows": 1,
        "dates": "dayfirst",
        "amounts": {"decimal": ","},
        "frames": {"transactions": "none"},
        "columns": {
            "invoices": {
                "Beleg": "invoice_id",
                "Bereich": "business_unit",
                "Kunde": "customer_id",
                "Datum": "invoice_date",
                "Fällig": "due_date",
                "Betrag": "amount",
            }
        },
    }
    policy = {"negative_amount": "quarantine"}
    ledger = load(src / "op.csv", source_options=opts, validation_policy=policy)
    assert ledger.invoices["amount"].tolist() == [1234.50, 99.90]
    assert ledger.invoices["invoice_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-10",
        "2024-03-05",
    ]
    rep = ledger.load_report
    assert rep.quarantined["invoices"][["invoice_id", "problem"]].values.tolist() == [
        ["I2", "negative_amount"]
    ]
    assert any("footer row(s) 7 skipped" in n for n in rep.notes)
    assert any("no currency column: every row taken as 'EUR'" in n for n in rep.notes)
    rec = assert_reconciles(ledger).set_index("line")["amount"]
    assert (
        rec["Invoices read"] == 1324.40 and rec["Quarantined invoices"] == 10.0
    )  # -10.00 set aside


def test_tab_and_pipe_delimiters_are_sniffed(tmp_path):
    files = {
        "invoices.tsv": BASE["invoices.csv"].replace(",", "\t"),
        "transactions.txt": BASE["transactions.csv"].replace(",", "|"),
        "customers.csv": CUSTOMERS,
    }
    ledger = load(write_files(tmp_path / "src", files))
    assert _open_ar(ledger) == 270.50 and len(ledger.transactions) == 4


def test_excel_workbook_with_sheets_header_row_and_serial_dates(tmp_path):
    book = openpyxl.Workbook()
    inv = book.active
    inv.title = "Rechnungen"
    inv.append(["Offene Posten per 30.06.2024"])
    inv.append(["Belegnr", "BuKrs", "Kunde", "Belegdatum", "Fälligkeit", "Betrag"])
    inv.append([1001.0, "x", "C1", dt.datetime(2024, 1, 10), 45331, 100.0])  # 45331 = 2024-02-09
    inv.append([1002, "x", "C1", dt.datetime(2024, 2, 1), 45353.0, 250.0])  # 2024-03-02
    inv.append([1003, "y", "C9", dt.datetime(2024, 2, 1), 45353, 999.0])
    pay = book.create_sheet("Zahlungen")
    pay.append(["Beleg", "BuKrs", "Rechnung", "Datum", "Betrag"])
    pay.append(["Z1", "x", 1001, dt.date(2024, 2, 5), 100.0])
    pay.append(["Z2", "x", 1002.0, dt.date(2024, 3, 1), 50.0])
    book.save(tmp_path / "export.xlsx")
    opts = {
        "sheet": {"invoices": "Rechnungen", "transactions": "Zahlungen"},
        "header_row": {"invoices": 2},
        "dates": {"due_date": "excel"},
        "frames": {"customers": "none"},
        "columns": {
            "invoices": {
                "Belegnr": "invoice_id",
                "BuKrs": "business_unit",
                "Kunde": "customer_id",
                "Belegdatum": "invoice_date",
                "Fälligkeit": "due_date",
                "Betrag": "amount",
            },
            "transactions": {
                "Beleg": "txn_id",
                "BuKrs": "business_unit",
                "Rechnung": "invoice_id",
                "Datum": "date",
                "Betrag": "amount",
            },
        },
    }
    ledger = load(tmp_path / "export.xlsx", source_options=opts)
    assert ledger.invoices["invoice_id"].tolist() == ["1001", "1002"]
    assert ledger.invoices["due_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-02-09",
        "2024-03-02",
    ]
    assert ledger.transactions["customer_id"].tolist() == ["C1", "C1"]  # taken from the invoices
    assert ledger.transactions["kind"].tolist() == ["payment", "payment"]
    assert _open_ar(ledger) == 200.0
    assert any(
        "no kind column: every row taken as 'payment'" in n for n in ledger.load_report.notes
    )
    assert_reconciles(ledger)


def test_excel_row_numbers_in_messages(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["title"])
    book.active.append(
        ["invoice_id", "business_unit", "customer_id", "invoice_date", "due_date", "amount"]
    )
    book.active.append(["A", "x", "C1", "2024-01-01", "2024-01-31", 5.0])
    book.active.append(["B", "x", "C1", "soon", "2024-01-31", 5.0])
    book.save(tmp_path / "inv.xlsx")
    with pytest.raises(DataError) as err:
        load(
            tmp_path / "inv.xlsx",
            source_options={"header_row": 2, "frames": {"transactions": "none"}},
        )
    assert (
        "inv.xlsx: column invoice_date: 1 row with a date not in the format 'auto' (e.g. row 4: 'soon')"
        in str(err.value)
    )


def _typed_base() -> dict[str, pd.DataFrame]:
    from io import StringIO

    frames = {
        name[:-4]: pd.read_csv(StringIO(text), dtype={"invoice_id": str})
        for name, text in BASE.items()
    }
    for f, cols in {"invoices": ["invoice_date", "due_date"], "transactions": ["date"]}.items():
        for c in cols:
            frames[f][c] = pd.to_datetime(frames[f][c])
    frames["invoices"]["disputed"] = frames["invoices"]["disputed"].eq("Yes")
    return frames


def test_parquet_folder(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in _typed_base().items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    ledger = load(folder)
    assert _open_ar(ledger) == 270.50 and ledger.invoices["disputed"].tolist() == [
        False,
        False,
        True,
    ]
    assert_reconciles(ledger)


def test_sqlite_store_matches_the_canonical_reader(tmp_path, small_demo):
    store = io.write_store(small_demo, tmp_path / "store.sqlite")
    as_of = "2026-10-31"
    ledger = load(store, bu="aa", as_of=as_of)
    old = io.read_frames(str(store), "aa")
    ref = Ledger(old["invoices"], old["transactions"], old["customers"])
    pd.testing.assert_frame_equal(ledger.open_items(as_of), ref.open_items(as_of))
    assert len(ledger.transactions) == len(ref.transactions) and set(
        ledger.invoices["business_unit"]
    ) == {"aa"}
    assert fingerprint(ledger)["control_totals"] == fingerprint(ref)["control_totals"]
    assert_reconciles(ledger, as_of)


def test_status_since_is_read_as_a_date_from_files_and_the_store(tmp_path, small_demo):
    """The optional customers.status_since: day-first text in a CSV (as configured), empty =
    unknown; a demo store keeps the generator's dates."""
    cust = (
        CUSTOMERS.replace("terms_days,status\n", "terms_days,status,Status Since\n")
        .replace("30,active\nC2", "30,insolvent,15/03/2024\nC2")
        .replace("C2,x,Beta Ltd,small,1000,30,active", "C2,x,Beta Ltd,small,1000,30,active,")
    )
    cust = cust.replace("C9,y,Gamma SA,small,1000,30,active", "C9,y,Gamma SA,small,1000,30,active,")
    src = write_files(tmp_path / "src", {**BASE, "customers.csv": cust})
    ledger = load(src, source_options={"dates": {"status_since": "dayfirst"}})
    since = ledger.customers.set_index("customer_id")["status_since"]
    assert since["C1"] == pd.Timestamp("2024-03-15") and pd.isna(since["C2"])
    store = io.write_store(small_demo, tmp_path / "store.sqlite")
    flagged = small_demo["customers"].dropna(subset=["status_since"])
    bu = flagged["business_unit"].iloc[0]
    want = (
        small_demo["customers"]
        .query("business_unit == @bu")
        .set_index("customer_id")["status_since"]
    )
    cur = small_demo["invoices"].query("business_unit == @bu")["currency"].iloc[0]
    got = load(store, bu=bu, as_of="2026-10-31", currency=cur).customers.set_index("customer_id")[
        "status_since"
    ]
    assert want.notna().any() and got.reindex(want.index).equals(want)


def test_database_with_own_table_and_column_names_and_a_query(tmp_path):
    import sqlalchemy as sa

    frames = _typed_base()
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    inv = frames["invoices"].rename(
        columns={"invoice_id": "Beleg", "business_unit": "BUKRS", "amount": "Betrag"}
    )
    with eng.begin() as con:
        inv.to_sql("rechnungen", con, index=False)
        frames["transactions"].to_sql("zahlungen", con, index=False)
    eng.dispose()
    opts = {
        "tables": {"invoices": "rechnungen"},
        "frames": {"customers": "none"},
        "queries": {"transactions": "SELECT * FROM zahlungen WHERE business_unit = :business_unit"},
        "columns": {
            "invoices": {"Beleg": "invoice_id", "BUKRS": "business_unit", "Betrag": "amount"}
        },
    }
    ledger = load(tmp_path / "erp.db", source_options=opts)
    assert (
        sorted(ledger.invoices["invoice_id"]) == ["I1", "I2", "I3"]
        and len(ledger.transactions) == 4
    )
    assert _open_ar(ledger) == 270.50
    assert ledger.load_report.source == f"sqlite:///{tmp_path / 'erp.db'}"
    with pytest.raises(
        DataError,
        match=r"table rechnungen: column business_unit: 0 rows match business unit 'q' "
        r"\(units in the source: x, y\)",
    ):
        load(tmp_path / "erp.db", bu="q", source_options=opts)


def test_one_unit_file_without_a_unit_column(tmp_path):
    strip = {
        k: "\n".join(
            ",".join(c for i, c in enumerate(line.split(",")) if i != 1)
            for line in v.splitlines()
            if ",y," not in line
        )
        + "\n"
        for k, v in BASE.items()
    }
    src = write_files(tmp_path / "src", strip)
    ledger = load(src, source_options={"one_unit": True})
    assert _open_ar(ledger) == 270.50 and set(ledger.invoices["business_unit"]) == {"x"}
    with pytest.raises(DataError) as err:
        load(src)
    fix = (
        "Fix: map the source headers in source_options.columns.{f}, e.g. {{'<header>': 'business_unit'}}, or set "
        "source_options.one_unit: true if the source holds this unit only"
    )
    assert str(err.value) == (
        "2 data problems in business unit 'x':\n"
        "  - invoices.csv: column business_unit: 3 rows cannot be read: no header for business_unit (headers: "
        "'invoice_id', 'customer_id', 'invoice_date', 'due_date', 'amount', 'currency', 'disputed'). "
        + fix.format(f="invoices")
        + "\n"
        "  - transactions.csv: column business_unit: 4 rows cannot be read: no header for business_unit (headers: "
        "'txn_id', 'customer_id', 'invoice_id', 'date', 'amount', 'kind'). "
        + fix.format(f="transactions")
    )


def test_constants_fill_a_column_the_source_lacks(tmp_path):
    inv = "\n".join(
        ",".join(line.split(",")[:6] + line.split(",")[7:])
        for line in BASE["invoices.csv"].splitlines()
    )
    ledger = load(
        write_files(tmp_path / "src", dict(BASE, **{"invoices.csv": inv + "\n"})),
        source_options={"constants": {"currency": "EUR"}},
    )
    assert ledger.invoices["currency"].eq("EUR").all() and not any(
        "currency" in n for n in ledger.load_report.notes
    )


def test_customers_derived_and_absent(tmp_path):
    src = write_files(tmp_path / "src", {k: v for k, v in BASE.items() if k != "customers.csv"})
    ledger = load(src)
    assert ledger.customers is None
    assert (
        "no customers frame: customer checks skipped (source_options.frames.customers)"
        in ledger.load_report.notes
    )
    ledger = load(src, source_options={"frames": {"customers": "derive"}})
    cust = ledger.customers
    assert cust["customer_id"].tolist() == ["C1", "C2"] and cust["terms_days"].tolist() == [30, 30]
    assert cust["segment"].eq("unknown").all() and cust["credit_limit"].isna().all()


def test_markup_in_data_is_text_in_reports(tmp_path):
    evil = "<script>alert(1)</script>"
    customers = (
        CUSTOMERS.replace("Beta Ltd", evil)
        .replace("segment", "segment,<b>note</b>")
        .replace("small,", "small,x,", 1)
        .replace("enterprise,", "enterprise,x,")
        .replace("C9,y,Gamma SA,small,", "C9,y,Gamma SA,small,x,")
    )
    ledger = load(write_files(tmp_path / "src", dict(BASE, **{"customers.csv": customers})))
    assert evil in ledger.customers["name"].tolist()  # kept verbatim: it is data
    page = report.table(ledger.customers)._repr_html_()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    note = ledger.load_report._repr_html_()
    # the unused column is mapping detail: in the load log (plain text), not in the report
    assert "<b>note</b>" in str(ledger.load_report) and "note" not in note.replace("notes", "")
    ledger.load_report.notes.append("src: 1 empty row(s) skipped <b>x</b>")  # a data note is shown
    assert "&lt;b&gt;x&lt;/b&gt;" in ledger.load_report._repr_html_()


def test_quarantine_files_are_replaced_by_a_clean_run(tmp_path):
    out = tmp_path / "out"
    dup = dict(
        BASE,
        **{"invoices.csv": BASE["invoices.csv"] + "I3,x,C2,2024-03-05,2024-04-04,80.50,EUR,Yes\n"},
    )
    ledger = load(write_files(tmp_path / "a", dup), output_dir=str(out))
    assert ledger.load_report.quarantine_files == [str(out / "quarantine-invoices.csv")]
    q = pd.read_csv(out / "quarantine-invoices.csv", dtype=str)
    assert q.iloc[0][
        ["source", "source_row", "problem", "reason", "invoice_id", "amount"]
    ].tolist() == [
        "invoices.csv",
        "6",
        "duplicate_row",
        "copying an earlier row exactly",
        "I3",
        "80.50",
    ]
    load(write_files(tmp_path / "b", BASE), output_dir=str(out))
    assert not list(out.glob("quarantine-*.csv"))


def test_amounts_are_rounded_to_the_cent_and_dtypes_are_canonical(tmp_path):
    text = BASE["invoices.csv"].replace("100.00", "100.004").replace("80.50", "80.505")
    src = write_files(tmp_path / "src", dict(BASE, **{"invoices.csv": text}))
    with pytest.raises(ArlibError, match="2 rows with more than two decimals"):
        load(src)  # never rounded silently (issue 17)
    ledger = load(src, validation_policy={"sub_cent_amount": "warn"})
    assert ledger.load_report.problems[["problem", "policy", "rows"]].values.tolist() == [
        ["sub_cent_amount", "warn", 2]
    ]
    assert ledger.invoices["amount"].tolist() == [
        100.0,
        250.0,
        80.51,
    ]  # half away from zero on the amount as written (80.505 is 80.50499.. in binary)
    assert ledger.invoices.dtypes.astype(str).to_dict() == {
        "invoice_id": "object",
        "business_unit": "object",
        "customer_id": "object",
        "invoice_date": "datetime64[ns]",
        "due_date": "datetime64[ns]",
        "amount": "float64",
        "currency": "object",
        "disputed": "bool",
    }
    assert ledger.customers["terms_days"].dtype == np.int64
    assert_reconciles(ledger)


def test_engine_for_and_missing_store(tmp_path):
    with pytest.raises(Exception, match="the data store does not exist. Fix: run `arlib demo`"):
        io.engine_for(str(tmp_path / "nope.sqlite"))
    with pytest.raises(Exception, match=r"nope\.sqlite: the data store does not exist"):
        io.load_ledger(make_cfg(tmp_path / "nope.sqlite"))


def test_parquet_dataset_partitioned_by_unit(tmp_path, small_demo):
    """The layout of arlib.io.parquet_store (<root>/<frame>/business_unit=<unit>/...), read one unit."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "store"
    for name, df in small_demo.items():
        pq.write_to_dataset(
            pa.Table.from_pandas(df, preserve_index=False),
            root / name,
            partition_cols=["business_unit"],
        )
    as_of = "2026-10-31"
    ledger = load(root, bu="bb", as_of=as_of, currency="CNY")
    pick = {k: v[v["business_unit"] == "bb"] for k, v in small_demo.items()}
    ref = Ledger(pick["invoices"], pick["transactions"], pick["customers"])
    assert set(ledger.invoices["business_unit"]) == {"bb"} and len(ledger.invoices) == len(
        ref.invoices
    )
    assert _open_ar(ledger, as_of) == _open_ar(ref, as_of)
    assert_reconciles(ledger, as_of)
