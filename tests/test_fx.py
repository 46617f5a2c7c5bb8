"""Several currencies: conversion by date, quote conventions, staleness, and what a missing rate says."""

from __future__ import annotations

import pandas as pd
import pytest
from test_io_helpers import BASE, assert_reconciles, load, write_files

from arlib.errors import DataError
from arlib.io import fx
from arlib.io.options import parse_source_options

RATES = pd.DataFrame(
    {
        "currency": ["USD", "USD", "GBP"],
        "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-01"]),
        "rate": [0.90, 0.95, 1.20],
    }
)


def test_latest_rate_on_or_before_the_date():
    amount, rate, missing = fx.convert(
        pd.Series([100.0, 100.0, 100.0, 10.0]),
        pd.Series(["USD", "USD", "GBP", "EUR"]),
        pd.Series(pd.to_datetime(["2024-01-05", "2024-03-01", "2024-01-07", "2023-01-01"])),
        RATES,
        "EUR",
    )
    assert amount.tolist() == [90.0, 95.0, 120.0, 10.0] and rate.tolist() == [0.9, 0.95, 1.2, 1.0]
    assert not missing.any()


def test_foreign_per_reporting_quote_divides():
    amount, _, _ = fx.convert(
        pd.Series([108.0]),
        pd.Series(["USD"]),
        pd.Series(pd.to_datetime(["2024-01-02"])),
        RATES.assign(rate=[1.08, 1.1, 0.85]),
        "EUR",
        "foreign_per_reporting",
    )
    assert amount.tolist() == [100.0]


def test_stale_early_and_unknown_rates_are_missing():
    dates = pd.Series(pd.to_datetime(["2024-01-09", "2023-12-31", "2024-01-02", "2024-02-01"]))
    cur = pd.Series(["GBP", "USD", "CHF", "USD"])
    amount, _, missing = fx.convert(
        pd.Series([1.0, 1.0, 1.0, 1.0]), cur, dates, RATES, "EUR", max_age_days=7
    )
    assert missing.tolist() == [True, True, True, True] and amount.isna().all()
    assert fx.describe_missing(cur, dates, missing) == (
        "CHF on 2024-01-02 (1 row); GBP on 2024-01-09 (1 row); USD on 2023-12-31..2024-02-01 (2 rows)"
    )
    _, _, missing = fx.convert(
        pd.Series([1.0]),
        pd.Series(["USD"]),
        dates[3:].reset_index(drop=True),
        RATES,
        "EUR",
        max_age_days=31,
    )
    assert not missing.any()


def _two_currency_files(tmp_path, rates: str):
    inv = BASE["invoices.csv"].replace(
        "I2,x,C1,2024-02-01,2024-03-02,250.00,EUR", "I2,x,C1,2024-02-01,2024-03-02,250.00,USD"
    )
    txn = BASE["transactions.csv"].replace(
        "txn_id,business_unit,customer_id,invoice_id,date,amount,kind",
        "txn_id,business_unit,customer_id,invoice_id,date,amount,kind,currency",
    )
    lines = [ln + ("," if i else "") for i, ln in enumerate(txn.splitlines())]
    lines[2] = lines[2].replace(
        "I2,2024-03-01,50.00,payment,", "I2,2024-03-01,250.00,payment,USD"
    )  # settles I2 in full
    lines[4] = lines[4].replace(
        "2024-04-01,30.00,payment,", "2024-04-01,30.00,payment,USD"
    )  # unapplied USD cash
    return write_files(
        tmp_path / "src",
        dict(
            BASE,
            **{
                "invoices.csv": inv,
                "transactions.csv": "\n".join(lines) + "\n",
                "fx_rates.csv": rates,
            },
        ),
    )


def test_invoice_and_its_settlements_at_the_invoice_rate(tmp_path):
    rates = "currency,date,rate\nUSD,2024-01-31,0.92\nUSD,2024-02-29,0.94\nUSD,2024-03-29,0.93\n"
    ledger = load(_two_currency_files(tmp_path, rates))
    inv = ledger.invoices.set_index("invoice_id")
    assert inv.loc[
        "I2", ["amount", "currency", "original_amount", "original_currency"]
    ].tolist() == [230.0, "EUR", 250.0, "USD"]
    txn = ledger.transactions.set_index("txn_id")
    assert txn.loc["T2", "amount"] == 230.0  # the invoice's rate of 2024-01-31, not 2024-02-29's
    assert (
        txn.loc["T4", "amount"] == 27.90
    )  # unapplied USD cash at its own date's rate (2024-03-29: 0.93)
    assert "I2" not in set(
        ledger.open_items("2024-06-30")["invoice_id"]
    )  # settled in full leaves nothing open
    rec = assert_reconciles(ledger).set_index("line")["amount"]
    assert rec["Invoices read"] == 410.50 and rec["Open AR (ledger)"] == 70.50


def test_missing_rate_names_the_currency_and_dates(tmp_path):
    src = _two_currency_files(tmp_path, "currency,date,rate\nUSD,2024-01-01,0.92\n")
    with pytest.raises(DataError) as err:
        load(src)
    assert str(err.value) == (
        "2 data problems in business unit 'x':\n"
        "  - invoices.csv: column currency: 1 row with no FX rate to EUR within 7 days before the date: USD on "
        "2024-02-01 (1 row) (e.g. row 3: 'USD'). Fix: add rates for those currencies and dates to the FX table, or "
        "raise source_options.fx.max_age_days\n"
        "  - transactions.csv: column currency: 1 row with no FX rate to EUR within 7 days before the date: USD on "
        "2024-04-01 (1 row) (e.g. row 5: 'USD'). Fix: add rates for those currencies and dates to the FX table, or "
        "raise source_options.fx.max_age_days"
    )
    ledger = load(src, source_options={"fx": {"max_age_days": 100}})
    assert ledger.invoices.set_index("invoice_id").at["I2", "amount"] == 230.0


def test_fx_table_is_checked_like_any_frame(tmp_path):
    rates = "currency,date,rate\nUSD,2024-01-31,0.92\nUSD,2024-01-31,0.93\nUSD,2024-02-29,-1\n"
    with pytest.raises(DataError) as err:
        load(_two_currency_files(tmp_path, rates))
    text = str(err.value)
    assert (
        "fx_rates.csv: column rate: 1 row failing the check greater_than(0) (e.g. row 4: '-1')"
        in text
    )
    assert (
        "fx_rates.csv: column date: 2 rows with a repeated date (every row with the id is counted) "
        "(e.g. row 2: '2024-01-31'; row 3: '2024-01-31')"
    ) in text


def test_fx_options_are_validated():
    assert (
        parse_source_options(
            {"fx": {"quote": "foreign_per_reporting", "max_age_days": 3}}
        ).fx_max_age_days
        == 3
    )
    with pytest.raises(Exception, match="source_options.fx.quote: 'ecb' is not a quote convention"):
        parse_source_options({"fx": {"quote": "ecb"}})
    with pytest.raises(
        Exception,
        match="source_options.fx.max_age: is not an fx option; did you mean 'max_age_days'",
    ):
        parse_source_options({"fx": {"max_age": 3}})
