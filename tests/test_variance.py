"""arlib.forecast.variance: earlier runs' expected cash by customer and segment against actual."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import invoices, transactions
from test_paydates import AS_OF, _customers, _history

from arlib.forecast import history, variance
from arlib.forecast.paydates import PayDateModel
from arlib.ledger import Ledger


def test_an_earlier_run_against_what_each_customer_and_segment_paid(tmp_path):
    # c1 (segment A) always 10 days late: o1 (250, due 19 Jan) is expected on 29 Jan but is
    # paid on 3 Feb; c2 (segment B) pays o2 (100, due 26 Jan, expected 5 Feb) on 5 Feb
    inv1, txn1 = _history("c1", 20, 10)
    inv2, txn2 = _history("c2", 20, 10)
    led = Ledger(
        invoices(
            *inv1,
            *inv2,
            ("o1", "c1", "2024-12-20", "2025-01-19", 250.0),
            ("o2", "c2", "2024-12-27", "2025-01-26", 100.0),
        ),
        transactions(
            *txn1,
            *txn2,
            ("o1", "2025-02-03", 250.0, "payment", "c1"),
            ("o2", "2025-02-05", 100.0, "payment", "c2"),
        ),
        _customers(("c1", "A"), ("c2", "B")),
    )
    model = PayDateModel("segment").fit(led, AS_OF)
    expected = variance.expected_by_customer(model, 3)
    assert expected[["unique_id", "ds", "yhat", "segment"]].values.tolist() == [
        ["c1", pd.Timestamp("2025-01-01"), pytest.approx(250.0), "A"],
        ["c2", pd.Timestamp("2025-02-01"), pytest.approx(100.0), "B"],
    ]
    history.save_forecast(expected, tmp_path / "2024-12-31" / "X", AS_OF, "X", kind="customers")
    seg = variance.runs_vs_actual(tmp_path, "X", "2025-02-28", led, by="segment")
    got = {(r.segment, r.ds.month): (r.yhat, r.y, r.error) for r in seg.itertuples()}
    assert got == {
        ("A", 1): (pytest.approx(250.0), 0.0, pytest.approx(250.0)),
        ("A", 2): (0.0, 250.0, pytest.approx(-250.0)),
        ("B", 2): (pytest.approx(100.0), 100.0, pytest.approx(0.0)),
    }
    assert (seg["as_of"] == AS_OF).all()
    # by customer, and only closed months: at 15 February, February is not over
    cust = variance.runs_vs_actual(tmp_path, "X", "2025-02-15", led, by="customer_id")
    assert cust[["customer_id", "yhat", "y"]].values.tolist() == [["c1", pytest.approx(250), 0.0]]
    # a run on or after as_of is never read
    assert variance.runs_vs_actual(tmp_path, "X", AS_OF, led).empty
