"""Validation machinery: policies, pandera failure cases as findings, decisions, the lazy error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import invoices

from arlib.errors import DataError
from arlib.io.canonical import Parsed
from arlib.io.options import PROBLEMS, parse_policy
from arlib.io.sources import ROW
from arlib.io.validate import (
    DataErrors,
    Finding,
    contract_findings,
    decide,
    finding,
    problems_table,
)
from arlib.schemas import Customers, Invoices


def _parsed(frame: str, data: pd.DataFrame) -> Parsed:
    data = data.reset_index(drop=True).assign(**{ROW: np.arange(2, len(data) + 2)})
    return Parsed(frame, f"{frame}.csv", data, data.drop(columns=[ROW]).astype(str))


def test_default_policy_and_every_problem_documented():
    policy = parse_policy({})
    assert dict(policy) == {
        "missing_value": "fail",
        "bad_date": "fail",
        "bad_amount": "fail",
        "bad_value": "fail",
        "negative_amount": "fail",
        "sub_cent_amount": "fail",
        "implausible_amount": "fail",
        "duplicate_row": "quarantine",
        "duplicate_id": "fail",
        "due_before_invoice": "quarantine",
        "payment_before_invoice": "warn",
        "overpayment": "warn",
        "unknown_invoice": "quarantine",
        "unknown_customer": "warn",
        "future_dated": "warn",
        "bad_note": "quarantine",
    }
    assert all(len(spec[2]) > 10 for spec in PROBLEMS.values())
    with pytest.raises(TypeError):
        policy["bad_date"] = "quarantine"  # read-only


def test_pandera_failures_become_findings_with_source_rows():
    inv = invoices(
        ("A", "c1", "2024-01-05", "2024-01-01", 10.0),
        ("A", "c1", "2024-01-01", "2024-01-31", -2.0),
        ("B", None, "2024-01-01", "2024-01-31", 3.0),
    )
    p = _parsed("invoices", inv)
    got = {
        (f.problem, f.column): (f.index.tolist(), f.examples)
        for f in contract_findings(p, Invoices, np.array([], int))
    }
    assert got == {
        ("duplicate_id", "invoice_id"): ([0, 1], ["row 2: 'A'", "row 3: 'A'"]),
        ("negative_amount", "amount"): ([1], ["row 3: -2.0"]),  # parsed value: no source map here
        ("missing_value", "customer_id"): ([2], ["row 4: empty"]),
        ("due_before_invoice", "due_date"): ([0], ["row 2: invoiced 2024-01-05, due 2024-01-01"]),
    }


def test_customers_unique_per_unit():
    cust = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2"],
            "business_unit": "x",
            "name": "n",
            "segment": "s",
            "credit_limit": [1.0, 2.0, None],
            "terms_days": 30,
            "status": ["active", "active", "closed"],
        }
    )
    f = contract_findings(_parsed("customers", cust), Customers, np.array([], int))
    assert [(x.problem, x.column, x.index.tolist()) for x in f] == [
        ("duplicate_id", "customer_id", [0, 1])
    ]


def test_fail_wins_over_quarantine_and_reasons_are_joined():
    p = _parsed(
        "invoices",
        invoices(
            ("A", "c1", "2024-01-01", "2024-01-31", 1.0),
            ("B", "c1", "2024-01-01", "2024-01-31", 1.0),
            ("C", "c1", "2024-01-01", "2024-01-31", 1.0),
        ),
    )
    policy = parse_policy({"future_dated": "quarantine"})
    fs = [
        finding(
            p,
            "future_dated",
            "invoice_date",
            np.array([True, True, False]),
            None,
            "dated after as_of 2023-12-31",
            "x",
        ),
        finding(
            p,
            "bad_date",
            "due_date",
            np.array([False, True, False]),
            None,
            "with a date not in the format 'auto'",
            "y",
        ),
        finding(
            p,
            "unknown_customer",
            "customer_id",
            np.array([True, False, True]),
            None,
            "with a customer_id not in the customers",
            "z",
        ),
    ]
    failed, quarantined, problem, reason = decide(3, fs, policy)
    assert failed.tolist() == [False, True, False] and quarantined.tolist() == [True, False, False]
    assert problem.to_dict() == {0: "future_dated, unknown_customer"}
    assert reason.to_dict() == {
        0: "invoice_date: dated after as_of 2023-12-31; customer_id: a customer_id not in the customers"
    }
    table = problems_table(fs, policy, {"invoices": p.data["amount"]})
    assert table[["problem", "policy", "rows", "amount"]].values.tolist() == [
        ["future_dated", "quarantine", 2, 2.0],
        ["bad_date", "fail", 1, 1.0],
        ["unknown_customer", "warn", 2, 2.0],
    ]


def test_one_problem_reads_like_a_data_error_several_are_listed():
    f = Finding(
        "invoices",
        "inv.csv",
        "bad_amount",
        "amount",
        np.array([3, 8]),
        "with an unreadable amount",
        "correct them",
        ["row 5: 'x'", "row 10: '1,2'"],
    )
    single = DataErrors([f], "de")
    assert isinstance(single, DataError) and str(single) == (
        "inv.csv: column amount: 2 rows with an unreadable amount (e.g. row 5: 'x'; row 10: '1,2'). Fix: correct them; "
        "or set validation_policy.bad_amount: quarantine to set these rows aside"
    )
    g = Finding(
        "transactions",
        "pay.csv",
        "overpayment",
        "amount",
        np.array([0]),
        "settling more than the invoice amount",
        "check",
        [],
    )
    many = DataErrors([f, g], "de", ["pay.csv: something else. Fix: x"])
    assert str(many).splitlines() == [
        "3 data problems in business unit 'de':",
        "  - " + f.line(),
        "  - pay.csv: column amount: 1 row settling more than the invoice amount. Fix: check; or set "
        "validation_policy.overpayment: quarantine to set these rows aside",
        "  - pay.csv: something else. Fix: x",
    ]
    assert many.rows == 3 and many.source == "inv.csv"
