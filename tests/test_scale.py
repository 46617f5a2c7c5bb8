"""Scale path: the Parquet store and the ledger engine's fast paths, checked against DuckDB
computing the same figures from their definitions (a naive cross join, fine at ~10k rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import invoices, transactions

from arlib import demo
from arlib.errors import SourceError
from arlib.io import parquet_store
from arlib.ledger import Ledger, bucket_labels, month_ends

AS_OF = "2026-10-31"
ENDS = month_ends("2024-11-30", AS_OF)


@pytest.fixture(scope="module")
def store(tmp_path_factory, small_demo):
    return parquet_store.write_store(small_demo, tmp_path_factory.mktemp("pq") / "store")


def _duckdb_history(root) -> pd.DataFrame:
    """Open AR per unit, month-end and bucket straight from the as-of rule."""
    duckdb = pytest.importorskip("duckdb")
    ends = ", ".join(f"DATE '{d:%Y-%m-%d}'" for d in ENDS)
    sql = f"""
    WITH inv AS (SELECT * FROM read_parquet('{root}/invoices/*/*.parquet', hive_partitioning = true)),
    st AS (SELECT * FROM read_parquet('{root}/transactions/*/*.parquet', hive_partitioning = true)
           WHERE kind IN ('payment', 'credit_note', 'write_off')),
    me AS (SELECT unnest([{ends}]) AS month_end),
    open AS (
      SELECT i.business_unit AS bu, m.month_end, date_diff('day', i.due_date, m.month_end) AS dpd,
             i.amount - coalesce(sum(t.amount) FILTER (WHERE t.date <= m.month_end), 0) AS open_amount
      FROM inv i CROSS JOIN me m
      LEFT JOIN st t ON t.business_unit = i.business_unit AND t.invoice_id = i.invoice_id
      WHERE i.invoice_date <= m.month_end
      GROUP BY i.business_unit, i.invoice_id, i.amount, i.due_date, m.month_end)
    SELECT bu, month_end, CASE WHEN dpd <= 0 THEN 0 WHEN dpd <= 30 THEN 1 WHEN dpd <= 60 THEN 2
           WHEN dpd <= 90 THEN 3 WHEN dpd <= 120 THEN 4 ELSE 5 END AS b,
           round(sum(open_amount), 2) AS amount, count(*) AS count
    FROM open WHERE open_amount > 0.005 GROUP BY ALL"""
    out = duckdb.sql(sql).df()
    out["bucket"] = out.pop("b").map(dict(enumerate(bucket_labels())))
    out["month_end"] = pd.to_datetime(out["month_end"]).astype("datetime64[ns]")
    return out


def _ours(root, arrow_strings: bool) -> pd.DataFrame:
    parts = []
    for bu in parquet_store.units(root):
        f = parquet_store.read_frames(root, bu, arrow_strings=arrow_strings)
        h = Ledger(f["invoices"], f["transactions"], f.get("customers"), validate=False).history(
            ENDS
        )
        parts.append(h[h["count"] > 0].assign(bu=bu))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("arrow_strings", [False, True])
def test_month_end_aging_equals_duckdb_to_the_cent(store, arrow_strings):
    ours, peer = _ours(store, arrow_strings), _duckdb_history(store)
    keys = ["bu", "month_end", "bucket"]
    ours["bucket"] = ours["bucket"].astype(str)
    got = ours.set_index(keys).sort_index()[["amount", "count"]]
    want = peer.set_index(keys).sort_index()[["amount", "count"]]
    assert len(got) > 100 and got.index.equals(want.index)
    np.testing.assert_array_equal(
        (got["amount"] * 100).round().astype(int), (want["amount"] * 100).round().astype(int)
    )
    np.testing.assert_array_equal(got["count"], want["count"])


def test_flows_equal_duckdb_monthly_sums(store):
    duckdb = pytest.importorskip("duckdb")
    f = parquet_store.read_frames(store, "bb")
    flows = Ledger(f["invoices"], f["transactions"], validate=False).flows()
    sql = f"""SELECT strftime(date_trunc('month', date), '%Y-%m') AS m, round(sum(amount), 2) AS collected
              FROM read_parquet('{store}/transactions/*/*.parquet', hive_partitioning = true)
              WHERE business_unit = 'bb' AND kind = 'payment' GROUP BY ALL ORDER BY m"""
    want = duckdb.sql(sql).df().set_index("m")["collected"]
    got = flows["collected"][flows["collected"] != 0]
    assert list(got.index.astype(str)) == list(want.index) and np.allclose(
        got.to_numpy(), want.to_numpy(), atol=0.005
    )


def test_store_round_trip_reads_one_unit_and_only_the_columns_asked(store, small_demo):
    got = parquet_store.read_frames(store, "aa")
    want = small_demo["invoices"][small_demo["invoices"]["business_unit"] == "aa"]
    assert parquet_store.units(store) == ["aa", "bb"]
    assert len(got["invoices"]) == len(want) and set(got["invoices"]["business_unit"]) == {"aa"}
    assert (
        got["invoices"]
        .set_index("invoice_id")["amount"]
        .sort_index()
        .equals(want.set_index("invoice_id")["amount"].sort_index())
    )
    assert got["transactions"]["date"].is_monotonic_increasing
    some = parquet_store.read_frames(
        store, "aa", {"invoices": ["invoice_id", "amount"]}, frames=("invoices",)
    )
    assert list(some) == ["invoices"] and list(some["invoices"].columns) == ["invoice_id", "amount"]


def test_other_units_files_are_never_opened(tmp_path, small_demo):
    root = parquet_store.write_store(small_demo, tmp_path / "s")
    for f in (root / "invoices").glob("business_unit=bb/*.parquet"):
        f.write_bytes(b"not parquet")  # reading aa must not touch bb's files
    assert len(parquet_store.read_frames(root, "aa")["invoices"]) > 0
    with pytest.raises(SourceError, match="no invoices/ folder"):
        parquet_store.read_frames(tmp_path / "nowhere", "aa")


def test_history_with_unsorted_and_repeated_dates_equals_open_items_per_date(small_demo):
    f = {k: v[v["business_unit"] == "bb"] for k, v in small_demo.items()}
    led = Ledger(f["invoices"], f["transactions"].sample(frac=1, random_state=3), f["customers"])
    dates = pd.DatetimeIndex(["2026-03-31", "2025-06-30", "2026-03-31", "2023-01-31", "2026-10-15"])
    hist = led.history(dates)
    for i, d in enumerate(dates):
        rows = hist.iloc[i * 6 : (i + 1) * 6]
        items = led.open_items(d)
        assert (rows["month_end"] == d).all()
        assert round(rows["amount"].sum(), 2) == round(items["open_amount"].sum(), 2)
        assert rows["count"].sum() == len(items)


def test_an_already_sorted_frame_and_a_shuffled_one_give_the_same_ledger(small_demo):
    f = {k: v[v["business_unit"] == "aa"] for k, v in small_demo.items()}
    txn = f["transactions"].sort_values(["date", "txn_id"])
    a = Ledger(f["invoices"], txn, validate=False)
    b = Ledger(f["invoices"], txn.sample(frac=1, random_state=1), validate=False)
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.settlement(), b.settlement())


def test_negative_settlements_fall_back_to_date_by_date():
    """Amounts must be > 0, but unvalidated data may break that: same answer as the definition."""
    led = Ledger(
        invoices(("A", "c1", "2024-01-01", "2024-01-31", 100.0)),
        transactions(("A", "2024-01-10", 100.0, "payment"), ("A", "2024-02-10", -40.0, "payment")),
        validate=False,
    )
    assert led.open_items("2024-01-31").empty
    assert led.open_items("2024-02-29")["open_amount"].tolist() == [40.0]
    h = led.history(["2024-01-31", "2024-02-29"])
    assert h.groupby("month_end")["amount"].sum().tolist() == [0.0, 40.0]


def test_demo_scale_flows_match_grouped_definition():
    f = demo.generate(seed=5, units={"xx": demo.UNITS["uk"]}, start="2024-01-01", end="2025-06-30")
    led = Ledger(f["invoices"], f["transactions"], f["customers"])
    inv = (
        f["invoices"]
        .groupby(f["invoices"]["invoice_date"].dt.strftime("%Y-%m"))["amount"]
        .sum()
        .round(2)
    )
    got = led.flows()["invoiced"]
    assert got[got != 0].rename(lambda p: str(p)).to_dict() == inv[inv != 0].to_dict()


def test_a_unit_report_reads_only_its_partition_of_a_parquet_store(tmp_path, small_demo):
    """The notebooks' loader on a store: other units' files are never opened (memory bounded by the unit)."""
    from arlib import config, io

    root = parquet_store.write_store(small_demo, tmp_path / "store")
    for name in (
        "invoices",
        "transactions",
    ):  # (customers, one row each, are read whole and filtered)
        for f in (root / name).glob("business_unit=bb/*.parquet"):
            f.write_bytes(b"not parquet")
    cfg = config.validate(
        {"business_unit": "aa", "as_of": AS_OF, "source": str(root), "currency": "EUR"}
    )
    led = io.load_ledger(cfg)
    want = small_demo["invoices"]["business_unit"].eq("aa").sum()
    assert len(led.invoices) == want and set(led.invoices["business_unit"]) == {"aa"}
