"""Sources -> the ledger of one business unit, the embedded store, and audit helpers.

:func:`load_ledger` is the one entry the notebooks call. ``source`` is an SQLite file (the
demo's embedded store: no server to start), a SQLAlchemy URL (PostgreSQL, ...) or data files
(CSV, Excel, Parquet); ``source_options`` says how to read them and ``validation_policy``
what to do with bad rows. The work is done by :mod:`arlib.sources` (reading, unit filter in
SQL), :mod:`arlib.canonical` and :mod:`arlib.mapping` (names and values),
:mod:`arlib.validate` (lazy checks, quarantine), :mod:`arlib.fx` (currencies) and
:mod:`arlib.intake` (the steps in order); :mod:`arlib.reconcile` accounts for every amount.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa

from arlib.config import RunConfig
from arlib.database import with_driver
from arlib.errors import DataError, SourceError
from arlib.intake import load_frames
from arlib.ledger import Ledger
from arlib.schemas import FRAMES, C
from arlib.sources import resolve_path

DEMO_STORE = "outputs/demo/ar_demo.sqlite"
_DATE_COLS = {"invoices": [C.invoice_date, C.due_date], "transactions": [C.date], "customers": [C.status_since]}


def engine_for(source: str) -> sa.Engine:
    """A SQLAlchemy engine for a URL, or for a SQLite file path (relative to the project)."""
    if "://" in source:
        return sa.create_engine(with_driver(sa.engine.make_url(source)))
    path = resolve_path(source)
    if not path.exists():
        raise SourceError(f"{path}: the data store does not exist. Fix: run `arlib demo` to build the demo "
                          "store, or set `source` to your database URL or file")
    return sa.create_engine(f"sqlite:///{path}")


def write_store(frames: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write canonical frames to a SQLite store (replacing it), indexed by business unit."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    eng = sa.create_engine(f"sqlite:///{path}")
    with eng.begin() as con:
        for name, df in frames.items():
            out = df.copy()
            for col in _DATE_COLS.get(name, []):
                if col in out:
                    out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
            out.to_sql(name, con, index=False, chunksize=20_000)
            con.exec_driver_sql(f"CREATE INDEX ix_{name}_bu ON {name} (business_unit)")
    eng.dispose()
    return path


def read_frames(source: str, business_unit: str) -> dict[str, pd.DataFrame]:
    """The canonical frames of one business unit from a store that already holds canonical tables
    (such as the demo's), without mapping or checks; the notebooks use :func:`load_ledger`."""
    eng = engine_for(source)
    frames = {}
    try:
        with eng.connect() as con:
            for name in FRAMES:
                q = sa.text(f"SELECT * FROM {name} WHERE business_unit = :bu")  # table names are ours
                df = pd.read_sql(q, con, params={"bu": business_unit})
                for col in _DATE_COLS[name]:
                    if col in df:
                        df[col] = pd.to_datetime(df[col])
                frames[name] = df
    except sa.exc.OperationalError as e:
        raise SourceError(f"{source}: cannot read the store ({e.orig}). Fix: check `source`") from None
    finally:
        eng.dispose()
    frames["invoices"][C.disputed] = frames["invoices"][C.disputed].astype(bool)
    frames["transactions"][C.invoice_id] = frames["transactions"][C.invoice_id].astype(object).where(
        frames["transactions"][C.invoice_id].notna(), None)
    return frames


def load_ledger(cfg: RunConfig) -> Ledger:
    """The ledger of ``cfg.business_unit`` from ``cfg.source``, read as ``cfg.source_options``
    say and checked under ``cfg.validation_policy``.

    The returned ledger carries ``ledger.load_report`` (:class:`arlib.intake.LoadReport`): rows
    and amounts read, problems found, quarantined rows (written to ``cfg.output_dir``) and
    notes. Raises :class:`~arlib.errors.ArlibError` subclasses only, each one message naming the
    source, column, rows and fix (:class:`arlib.validate.DataErrors` lists several at once).
    """
    frames, report = load_frames(cfg)
    try:  # the rows passed the same pandera contracts lazily in arlib.intake.check
        ledger = Ledger(frames["invoices"], frames["transactions"], frames["customers"], validate=False)
    except pa.errors.SchemaErrors as e:  # a gap in the checks: still one message, never a traceback
        fc = e.failure_cases
        raise DataError(report.source, ", ".join(sorted(set(fc["column"].dropna().astype(str)))), len(fc),
                        f"break the data contract ({', '.join(sorted(set(fc['check'].astype(str))))})",
                        "report this to the arlib maintainers with the quarantine files") from None
    ledger.load_report = report
    return ledger


def fingerprint(ledger: Ledger) -> dict:
    """Input fingerprint for the audit stamp: a content hash, row counts and control totals."""
    h = hashlib.sha256()
    frames = {"invoices": ledger.invoices, "transactions": ledger.transactions}
    if ledger.customers is not None:
        frames["customers"] = ledger.customers
    for name, df in frames.items():
        body = df.sort_values(df.columns[0], kind="stable").reset_index(drop=True)
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(body, index=False).to_numpy().tobytes())
    txn = ledger.transactions
    return {
        "sha256": h.hexdigest(),
        "rows": {k: int(len(v)) for k, v in frames.items()},
        "control_totals": {
            "invoiced": round(float(ledger.invoices[C.amount].sum()), 2),
            **{f"{k}_total": round(float(v), 2) for k, v in txn.groupby(C.kind)[C.amount].sum().items()},
        },
    }


def to_jsonable(obj):
    """Numpy/pandas scalars and containers -> plain JSON types; NaN/inf -> None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, pd.Timestamp):
        return obj.strftime("%Y-%m-%d")
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
