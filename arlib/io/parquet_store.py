"""A Parquet store for group ledgers larger than memory: one folder per frame, one partition per
business unit, read one unit at a time with only the columns asked for.

Layout (Hive partitioning, readable by DuckDB, Spark, polars and pyarrow alike)::

    <root>/invoices/business_unit=<unit>/part-0.parquet
    <root>/transactions/business_unit=<unit>/part-0.parquet
    <root>/customers/business_unit=<unit>/part-0.parquet      (optional)

Reading a unit prunes every other unit's files (the filter is pushed down to the partitions,
or to row-group statistics when a frame is one unpartitioned file), so memory is bounded by
the largest unit, not the group. Transactions are stored sorted by ``date, txn_id``, the
order the :class:`~arlib.ledger.Ledger` works in, so a unit is ready to use as read.

Example
-------
>>> import tempfile
>>> from arlib import demo
>>> frames = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-12-31")
>>> root = write_store(frames, tempfile.mkdtemp())
>>> units(root)
['xx']
>>> got = read_frames(root, "xx")
>>> len(got["invoices"]) == len(frames["invoices"]), got["invoices"]["invoice_date"].dtype
(True, dtype('<M8[ns]'))
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from arlib.errors import SourceError
from arlib.schemas import FRAMES, C

PARTITION = C.business_unit
_UNIQUE = (C.invoice_id, C.txn_id)  # columns whose values rarely repeat within a unit
_SORT = {
    "invoices": [C.invoice_date, C.invoice_id],
    "transactions": [C.date, C.txn_id],
    "customers": [C.customer_id],
}


def is_store(source: str | Path) -> bool:
    """True when ``source`` is a folder laid out as a Parquet store (has ``invoices/``)."""
    path = Path(source)
    return "://" not in str(source) and (path / "invoices").is_dir()


def _table(frame: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame, preserve_index=False)


def _sorted(name: str, table: pa.Table) -> pa.Table:
    keys = [(PARTITION, "ascending")] + [
        (k, "ascending") for k in _SORT.get(name, []) if k in table.column_names
    ]
    return table.take(pc.sort_indices(table, sort_keys=keys))


def write_store(
    frames: dict[str, pa.Table | pd.DataFrame], root: str | Path, row_group_size: int = 256_000
) -> Path:
    """Write canonical frames (pandas or Arrow) as a store under ``root``, replacing its frames.

    Only repetitive text (customer, currency, kind, ...) is dictionary-encoded: unique ids read
    faster plain. LZ4 compression: fast to read, and read by every Parquet engine."""
    root = Path(root)
    for name, frame in frames.items():
        table = _sorted(name, _table(frame))
        units_col = table.column(PARTITION).to_numpy(zero_copy_only=False)
        body = table.drop_columns([PARTITION])
        folder = root / name
        if folder.exists():
            shutil.rmtree(folder)
        starts = (
            [0] + [i for i in range(1, len(units_col)) if units_col[i] != units_col[i - 1]]
            if len(units_col)
            else []
        )
        for a, b in zip(starts, starts[1:] + [len(units_col)]):
            part = folder / f"{PARTITION}={quote(str(units_col[a]), safe='')}"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(
                body.slice(a, b - a),
                part / "part-0.parquet",
                row_group_size=row_group_size,
                compression="lz4",
                use_dictionary=[c for c in body.column_names if c not in _UNIQUE],
            )
    return root


def _dataset(root: Path, name: str) -> ds.Dataset:
    part = ds.partitioning(pa.schema([(PARTITION, pa.string())]), flavor="hive")
    return ds.dataset(root / name, format="parquet", partitioning=part)


def units(source: str | Path) -> list[str]:
    """Business units present in the store (from the invoice partitions)."""
    from urllib.parse import unquote

    folder = Path(source) / "invoices"
    return sorted(
        unquote(p.name.split("=", 1)[1]) for p in folder.glob(f"{PARTITION}=*") if p.is_dir()
    )


def read_table(
    source: str | Path, name: str, business_unit: str, columns: Sequence[str] | None = None
) -> pa.Table:
    """One frame of one unit as Arrow: only ``columns`` (default all), other units' files skipped."""
    root = Path(source)
    if not (root / name).is_dir():
        raise SourceError(
            f"{root}: no {name}/ folder in the Parquet store. Fix: check `source`, or write "
            "the store with arlib.io.parquet_store.write_store"
        )
    data = _dataset(root, name)
    cols = list(columns) if columns is not None else data.schema.names
    return data.to_table(columns=cols, filter=ds.field(PARTITION) == business_unit)


def to_frame(table: pa.Table, arrow_strings: bool = False) -> pd.DataFrame:
    """Arrow -> canonical pandas: dates as ``datetime64[ns]``; text as Python strings, or kept
    in Arrow memory (``string[pyarrow]``, no Python objects: much faster for large units)."""
    mapper = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    df = table.to_pandas(
        date_as_object=False,
        coerce_temporal_nanoseconds=True,
        types_mapper=mapper.get if arrow_strings else None,
    )
    for col in df.columns:
        if isinstance(
            df[col].dtype, pd.CategoricalDtype
        ):  # partition keys come back dictionary-encoded
            df[col] = df[col].astype(object)
    return df


def read_frames(
    source: str | Path,
    business_unit: str,
    columns: dict[str, Sequence[str]] | None = None,
    frames: Sequence[str] = tuple(FRAMES),
    arrow_strings: bool = False,
) -> dict[str, pd.DataFrame]:
    """Canonical frames of one business unit; ``columns`` limits the columns read per frame.

    A frame whose folder is missing (customers are optional) is left out. ``arrow_strings``
    keeps text columns in Arrow memory (see :func:`to_frame`).
    """
    root = Path(source)
    out = {}
    for name in frames:
        if name != "invoices" and not (root / name).is_dir():
            continue
        out[name] = to_frame(
            read_table(root, name, business_unit, (columns or {}).get(name)), arrow_strings
        )
    if C.invoice_id in out.get("transactions", ()) and not arrow_strings:
        txn = out["transactions"]
        txn[C.invoice_id] = txn[C.invoice_id].astype(object).where(txn[C.invoice_id].notna(), None)
    return out
