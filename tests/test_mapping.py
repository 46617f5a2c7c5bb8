"""Parsing source values: dates in every supported format, amounts, flags, codes, headers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arlib.io.mapping import (
    date_hint,
    excel_serial,
    map_codes,
    norm_name,
    parse_amounts,
    parse_bool,
    parse_dates,
    parse_ids,
    resolve_columns,
)


def _iso(series: pd.Series) -> list:
    return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in series]


@pytest.mark.parametrize(
    ("values", "fmt", "expected", "bad"),
    [
        (
            ["2019-03-07", "2019-3-7", "2019-03-07 14:30:00", "2019-03-07T14:30", "", None],
            "iso",
            ["2019-03-07", "2019-03-07", "2019-03-07", "2019-03-07", None, None],
            [0, 0, 0, 0, 0, 0],
        ),
        (
            ["07/03/2019", "7.3.2019", "07-03-2019", "31/02/2019", "2019-03-07"],
            "dayfirst",
            ["2019-03-07", "2019-03-07", "2019-03-07", None, None],
            [0, 0, 0, 1, 1],
        ),
        (
            ["03/07/2019", "3/7/2019", "13/07/2019"],
            "monthfirst",
            ["2019-03-07", "2019-03-07", None],
            [0, 0, 1],
        ),
        (
            ["20190307", "20190307.0", 20190307, 20190307.0, "20191307"],
            "yyyymmdd",
            ["2019-03-07"] * 4 + [None],
            [0, 0, 0, 0, 1],
        ),
        (
            [43531, 43531.0, "43531", 43531.99, "x"],
            "excel",
            ["2019-03-07"] * 4 + [None],
            [0, 0, 0, 0, 1],
        ),
        (["07.03.2019", "7.3.19"], "%d.%m.%Y", ["2019-03-07", None], [0, 1]),
        (
            ["2019-03-07", "20190307", 20190307.0, "07/03/2019", 43531],
            "auto",
            ["2019-03-07", "2019-03-07", "2019-03-07", None, None],
            [0, 0, 0, 1, 1],
        ),
    ],
)
def test_dates(values, fmt, expected, bad):
    got, mask = parse_dates(pd.Series(values, dtype=object), fmt)
    assert _iso(got) == expected
    assert mask.astype(int).tolist() == bad


def test_native_dates_pass_in_any_format():
    values = pd.Series(
        [pd.Timestamp("2019-03-07 10:00"), dt.date(2019, 3, 8), dt.datetime(2019, 3, 9), None]
    )
    for fmt in ("auto", "dayfirst", "excel"):
        got, bad = parse_dates(values, fmt)
        assert _iso(got) == ["2019-03-07", "2019-03-08", "2019-03-09", None] and not bad.any()
    got, bad = parse_dates(pd.Series(pd.to_datetime(["2019-03-07 23:59"]).tz_localize("UTC")))
    assert _iso(got) == ["2019-03-07"] and not bad.any()


@pytest.mark.parametrize("fmt", ["auto", "iso", "yyyymmdd", "dayfirst", "excel", "%Y%m%d"])
def test_dates_beyond_pandas_range_are_flagged_not_a_crash(fmt):
    values = pd.Series(
        ["9999-12-31", "99991231", 99991231.0, "31/12/9999", 2958465, "00010101"], dtype=object
    )
    got, bad = parse_dates(values, fmt)
    assert got.isna().all() and bad.all()


def test_excel_serial_epoch_and_range():
    assert _iso(excel_serial(pd.Series([1, 60, 61, 0, 3e6]))) == [
        "1899-12-31",
        "1900-02-28",
        "1900-03-01",
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("samples", "hint"),
    [
        (["31/01/2024", "05/02/2024"], "dayfirst"),
        (["01/31/2024"], "monthfirst"),
        (["01/02/2024"], "dayfirst or monthfirst"),
        (["43531"], "excel"),
        (["soon"], ""),
    ],
)
def test_date_hint(samples, hint):
    assert date_hint(samples) == hint


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("1,234.56", ".", 1234.56),
        ("1234.56", ".", 1234.56),
        ("$1,234.56", ".", 1234.56),
        ("1 234.56 €", ".", 1234.56),
        ("1\u00a0234.56", ".", 1234.56),
        ("USD 1,000,000", ".", 1_000_000.0),
        ("(1,234.56)", ".", -1234.56),
        ("-$5", ".", -5.0),
        ("$-5", ".", -5.0),
        ("5.00-", ".", -5.0),
        ("+7", ".", 7.0),
        ("¥300", ".", 300.0),
        ("CNY 300.5", ".", 300.5),
        (".5", ".", 0.5),
        ("1'234.5", ".", 1234.5),
        ("1.234,56", ",", 1234.56),
        ("1.234,56-", ",", -1234.56),
        ("12 345,67 €", ",", 12345.67),
        ("0,5", ",", 0.5),
        ("(3,10)", ",", -3.10),
        ("$ (1,234.56)", ".", -1234.56),
        ("($5.00)", ".", -5.0),
    ],
)
def test_amounts(text, decimal, value):
    got, bad = parse_amounts(pd.Series([text]), decimal)
    assert got.iloc[0] == pytest.approx(value) and not bad.any()


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("1,23", "."),
        ("1,2345.0", "."),
        ("1.234,56", "."),
        ("abc", "."),
        ("(5", "."),
        ("-(5)", "."),
        ("5-5", "."),
        ("1.23.4", "."),
        ("1,234.56", ","),
        ("12EURO34", "."),
    ],
)
def test_unreadable_amounts_are_flagged_not_guessed(text, decimal):
    got, bad = parse_amounts(pd.Series([text]), decimal)
    assert np.isnan(got.iloc[0]) and bad.tolist() == [True]


def test_amounts_native_and_empty():
    got, bad = parse_amounts(pd.Series([12.5, 3, None, "", " "], dtype=object))
    assert got.iloc[:2].tolist() == [12.5, 3.0] and got.iloc[2:].isna().all() and not bad.any()


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=-(10**11), max_value=10**11))
def test_formatted_amounts_round_trip(cents):
    value = cents / 100
    us = f"{abs(value):,.2f}"
    de = us.replace(",", "_").replace(".", ",").replace("_", ".")
    neg_us = f"({us})" if value < 0 else us
    neg_de = f"{de}-" if value < 0 else de
    got, bad = parse_amounts(pd.Series([neg_us, f"$ {neg_us}"]))
    assert not bad.any() and got.tolist() == [value, value]
    got, bad = parse_amounts(pd.Series([neg_de, f"{neg_de} EUR".replace("- EUR", " EUR-")]), ",")
    assert not bad.any() and got.tolist() == [value, value]


@settings(max_examples=15, deadline=None)
@given(st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2262, 4, 10)))
def test_dates_round_trip_in_every_format(day):
    forms = {
        "iso": day.isoformat(),
        "dayfirst": day.strftime("%d/%m/%Y"),
        "monthfirst": day.strftime("%m/%d/%Y"),
        "yyyymmdd": float(day.strftime("%Y%m%d")),
        "excel": (day - dt.date(1899, 12, 30)).days,
    }
    for fmt, value in forms.items():
        got, bad = parse_dates(pd.Series([value], dtype=object), fmt)
        assert got.iloc[0].date() == day and not bad.any(), fmt


def test_flags_and_codes():
    flags, bad = parse_bool(
        pd.Series(["Yes", "NO", "x", "", None, True, "J", "vielleicht"]), {"J": True}
    )
    assert (
        flags.tolist() == [True, False, True, False, False, True, True, None] and bad.tolist()[-1]
    )
    codes, bad = map_codes(
        pd.Series(["DZ", "dz", "Payment", "credit_note", None, "??"]),
        {"DZ": "payment"},
        ("payment", "credit_note"),
    )
    assert codes.tolist() == ["payment", "payment", "payment", "credit_note", None, None]
    assert bad.tolist() == [False, False, False, False, False, True]
    cur, bad = map_codes(pd.Series(["eur", "$", "USD"]), {"$": "USD"}, upper=True)
    assert cur.tolist() == ["EUR", "USD", "USD"] and not bad.any()


def test_ids_keep_text_and_drop_float_artifacts():
    assert parse_ids(
        pd.Series([5133177585.0, "007", " A 1 ", np.nan, ""], dtype=object)
    ).tolist() == ["5133177585", "007", "A 1", None, None]
    assert parse_ids(pd.Series([391, 406])).tolist() == ["391", "406"]


def test_header_names_in_any_language():
    found = [
        "发票号",
        "Kunde",
        "InvoiceDate",
        "due date",
        "Betrag (EUR)",
        "\ufeffcurrency",
        "extra",
    ]
    explicit = {
        "发票号": "invoice_id",
        "KUNDE": "customer_id",
        "Betrag (EUR)": "amount",
        "Nope": "disputed",
    }
    rename, missing, auto = resolve_columns("invoices", found, explicit)
    assert rename == {
        "发票号": "invoice_id",
        "Kunde": "customer_id",
        "Betrag (EUR)": "amount",
        "InvoiceDate": "invoice_date",
        "due date": "due_date",
        "\ufeffcurrency": "currency",
    }
    assert missing == {"disputed": "Nope"} and auto == ["InvoiceDate", "due date", "\ufeffcurrency"]
    assert norm_name("Due-Date ") == norm_name("due_date") == "duedate"


def test_native_number_columns_skip_the_decimal_check_because_they_prove_nothing():
    """The decimal-separator check returns at once on a numeric column (a typed Parquet or
    database column): worked out the long way, such a column gives no evidence and nothing
    ambiguous, so the check could never refuse it; text amounts are still checked."""
    from arlib.io.mapping import decimal_evidence

    floats = pd.Series([1.25, 1250.0, 1.0, -3.5, np.nan])
    ev, amb = decimal_evidence(floats)
    assert ev.isna().all() and not amb.any()
    ev, amb = decimal_evidence(pd.Series(["1.250", 7.0], dtype=object))  # text still read
    assert amb.tolist() == [True, False]
