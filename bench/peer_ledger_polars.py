"""A polars peer of benchmark 1: the ledger engine's aggregates as one lazy polars query.

The formulation of ``peer_ledger_segments.sql``: the invoices and their settlements, sorted by
invoice and date, give every segment of constant open amount (the amount less the running
settled total, up to the next event); each segment with something open is exploded into the
month-ends it covers (a settlement dated d counts at month-end m when d <= m) and summed per
bucket. No joins but the small month-end table. Polars uses every core (2 on the bench
machine).

Returns the bench's three frames (``aging``, ``history``, ``flows``) with amounts rounded to
the cent, ``bucket`` as its label.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SETTLING = ["payment", "credit_note", "write_off"]
FLOW_KINDS = {
    "collected": "payment",
    "credited": "credit_note",
    "written_off": "write_off",
    "recovered": "recovery",
}


def _month(col: str):
    import polars as pl

    return pl.col(col).dt.year() * 12 + pl.col(col).dt.month() - 1


def _scan(root: Path, name: str, columns: list[str]):
    import polars as pl

    return pl.scan_parquet(f"{root.as_posix()}/{name}/*/*.parquet", hive_partitioning=True).select(
        pl.col("business_unit").alias("bu"), *columns
    )


def history(root: Path, ends: pd.DatetimeIndex, thresholds, cent: float = 0.005):
    """Open amount and count per (bu, month-end, bucket number); ``ends`` are month-ends."""
    import polars as pl

    inv = _scan(root, "invoices", ["invoice_id", "invoice_date", "due_date", "amount"]).select(
        "bu", "invoice_id", "amount", "due_date", date=pl.col("invoice_date"), o=pl.lit(0)
    )
    st = (
        _scan(root, "transactions", ["invoice_id", "date", "amount", "kind"])
        .filter(pl.col("kind").is_in(SETTLING) & pl.col("invoice_id").is_not_null())
        .select(
            "bu",
            "invoice_id",
            amount=-pl.col("amount"),
            due_date=pl.lit(None, dtype=pl.Date),
            date=pl.col("date"),
            o=pl.lit(1),
        )
    )
    first, last = ends[0].year * 12 + ends[0].month - 1, ends[-1].year * 12 + ends[-1].month - 1
    key = ["bu", "invoice_id"]
    new = (pl.col("invoice_id") != pl.col("invoice_id").shift(1)) | (
        pl.col("bu") != pl.col("bu").shift(1)
    )
    seg = (
        pl.concat([inv, st])
        .sort(*key, "date", "o")
        .with_columns(g=new.fill_null(True).cum_sum())  # invoice number, in sorted order
        .select(
            "bu",
            open=pl.col("amount").cum_sum().over("g"),
            due_date=pl.col("due_date").max().over("g"),
            m0=pl.max_horizontal(_month("date"), pl.lit(first)) - first,
            m1=pl.min_horizontal(
                (_month("date").shift(-1).over("g") - 1).fill_null(last), pl.lit(last)
            )
            - first,
        )
        .filter(
            (pl.col("open") > cent)
            & (pl.col("m0") <= pl.col("m1"))
            & pl.col("due_date").is_not_null()
        )
    )
    me = pl.LazyFrame(
        {"k": range(len(ends)), "month_end": pl.Series(ends.to_numpy().astype("datetime64[D]"))},
        schema_overrides={"k": pl.Int64},
    )
    pairs = seg.with_columns(k=pl.int_ranges("m0", pl.col("m1") + 1)).explode("k").join(me, on="k")
    dpd = (pl.col("month_end") - pl.col("due_date")).dt.total_days()
    bucket = pl.lit(len(thresholds))
    for i, t in reversed(list(enumerate(thresholds))):
        bucket = pl.when(dpd <= t).then(pl.lit(i)).otherwise(bucket)
    return pairs.group_by("bu", "month_end", bucket.alias("bucket")).agg(
        amount=pl.col("open").sum().round(2), count=pl.len()
    )


def flows(root: Path):
    """Invoiced and transacted amounts per (bu, month) by kind, as in ``Ledger.flows``."""
    import polars as pl

    inv = _scan(root, "invoices", ["invoice_date", "amount"]).select(
        "bu", month=pl.col("invoice_date").dt.truncate("1mo"), invoiced=pl.col("amount")
    )
    txn = _scan(root, "transactions", ["date", "amount", "kind"]).select(
        "bu",
        month=pl.col("date").dt.truncate("1mo"),
        invoiced=pl.lit(0.0),
        **{
            name: pl.when(pl.col("kind") == kind).then(pl.col("amount")).otherwise(0.0)
            for name, kind in FLOW_KINDS.items()
        },
    )
    return (
        pl.concat([inv, txn], how="diagonal")
        .fill_null(0.0)
        .group_by("bu", "month")
        .agg(pl.col("invoiced", *FLOW_KINDS).sum().round(2))
    )


def run(root: Path, ends: pd.DatetimeIndex, thresholds, labels) -> dict[str, pd.DataFrame]:
    """The bench's frames, computed by polars (both queries collected together)."""
    import polars as pl

    hist, fl = pl.collect_all([history(root, ends, thresholds), flows(root)])
    hist = hist.to_pandas()
    hist["bucket"] = hist["bucket"].map(dict(enumerate(labels)))
    hist["month_end"] = pd.to_datetime(hist["month_end"])
    aging = hist[hist["month_end"] == ends[-1]].drop(columns="month_end")
    return {"aging": aging, "history": hist, "flows": fl.to_pandas()}
