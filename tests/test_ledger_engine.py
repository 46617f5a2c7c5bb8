"""The ledger engine's bench workload against independent computations, to the cent.

On a small store from the ledger bench's own generator (two-part payments, credit notes,
write-offs and recoveries, unapplied cash), the per-unit work the bench times (aging at
``as_of``, 36 month-end agings, monthly flows) must equal each peer of the bench: DuckDB by a
range join, by unnested spans and an ASOF join, by segments of constant open amount, and
polars when it is installed (``.[bench]``). The peers share no code with the engine.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, invoices, transactions

from arlib.ledger import Ledger, aging_table

sys.path.insert(0, str(ROOT / "bench"))
import bench_ledger  # noqa: E402
import synth  # noqa: E402


@pytest.fixture(scope="module")
def bench_store(tmp_path_factory):
    return synth.ensure(tmp_path_factory.mktemp("synth"), 6_000, n_units=3)


@pytest.fixture(scope="module")
def ours(bench_store):
    return bench_ledger.ours(bench_store, jobs=2)


@pytest.mark.parametrize("peer", bench_ledger.PEERS)
def test_bench_workload_equals_every_peer_to_the_cent(bench_store, ours, peer):
    if peer == "polars":
        pytest.importorskip("polars")
    assert bench_ledger.compare(ours, bench_ledger.peer(bench_store, peer)) == "equal to the cent"
    history = ours["history"]
    assert history["bu"].nunique() == 3 and (history["count"] > 0).sum() > 300


def test_compare_reports_a_one_cent_difference(bench_store, ours):
    """The equality check can fail: one month-end bucket off by a cent is named."""
    other = {k: v.copy() for k, v in ours.items()}
    h = other["history"]
    i = h.index[h["count"] > 0][7]
    h.loc[i, "amount"] = round(h.loc[i, "amount"] + 0.01, 2)
    assert bench_ledger.compare(ours, other).startswith("history differs in 2 rows")


def test_aging_equals_the_aging_table_of_the_open_items(small_demo):
    """``Ledger.aging`` computes from arrays; the same frame as from the open items."""
    f = {k: v[v["business_unit"] == "aa"] for k, v in small_demo.items()}
    led = Ledger(f["invoices"], f["transactions"], f["customers"])
    for as_of in ("2024-06-30", "2025-03-15", "2026-10-31"):
        for t in ((0, 30, 60, 90, 120), (0, 45)):
            want = aging_table(led.open_items(as_of, t))
            pd.testing.assert_frame_equal(led.aging(as_of, t), want)
    assert led.aging("2026-10-31")["count"].sum() > 50


def test_aging_by_hand_with_a_partial_payment_and_an_overpayment():
    led = Ledger(
        invoices(
            ("A", "c1", "2024-01-01", "2024-01-31", 100.0),
            ("B", "c1", "2024-01-15", "2024-03-15", 50.0),
            ("C", "c2", "2023-10-01", "2023-10-31", 30.0),
        ),
        transactions(
            ("A", "2024-02-10", 40.0, "payment"),
            ("C", "2024-02-01", 35.0, "payment"),  # overpaid: not open, not negative
        ),
    )
    got = led.aging("2024-02-29").set_index("bucket")
    # A: 60.00 open, 29 days past due; B: 50.00 current; C: settled
    assert got.loc["current", "amount"] == 50.0 and got.loc["1-30", "amount"] == 60.0
    assert got["count"].tolist() == [1, 1, 0, 0, 0, 0]
    np.testing.assert_allclose(got["share"].sum(), 1.0)
