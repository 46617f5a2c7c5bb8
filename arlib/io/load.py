"""Sources -> the ledger of one business unit, the embedded store, and audit helpers.

:func:`load_ledger` is the one entry the notebooks call. ``source`` is an SQLite file (the
demo's embedded store: no server to start), a SQLAlchemy URL (PostgreSQL, ...) or data files
(CSV, Excel, Parquet); ``source_options`` says how to read them and ``validation_policy``
what to do with bad rows. The work is done by :mod:`arlib.io.sources` (reading, unit filter in
SQL), :mod:`arlib.io.canonical` and :mod:`arlib.io.mapping` (names and values),
:mod:`arlib.io.validate` (lazy checks, quarantine), :mod:`arlib.io.fx` (currencies) and
:mod:`arlib.io.intake` (the steps in order); :mod:`arlib.io.reconcile` accounts for every amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa

from arlib.config import RunConfig
from arlib.errors import ConfigError, DataError, SourceError
from arlib.io.database import check_source, with_driver
from arlib.io.intake import load_frames
from arlib.io.options import COLLECTOR_NOTES, parse_policy, parse_source_options
from arlib.io.snapshot import read_snapshot
from arlib.io.sources import resolve_path
from arlib.ledger import Ledger
from arlib.redact import mask_urls
from arlib.schemas import FRAMES, C

DEMO_STORE = "outputs/demo/ar_demo.sqlite"
_DATE_COLS = {
    "invoices": [C.invoice_date, C.due_date],
    "transactions": [C.date],
    "customers": [C.status_since],
    COLLECTOR_NOTES: [C.date, C.promise_date],
}


def engine_for(source: str) -> sa.Engine:
    """A SQLAlchemy engine for a URL, or for a SQLite file path (relative to the project)."""
    if "://" in source:
        return sa.create_engine(with_driver(sa.engine.make_url(source)))
    path = resolve_path(source)
    if not path.exists():
        raise SourceError(
            f"{path}: the data store does not exist. Fix: run `arlib demo` to build the demo "
            "store, or set `source` to your database URL or file"
        )
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
                q = sa.text(
                    f"SELECT * FROM {name} WHERE business_unit = :bu"
                )  # table names are ours
                df = pd.read_sql(q, con, params={"bu": business_unit})
                for col in _DATE_COLS[name]:
                    if col in df:
                        df[col] = pd.to_datetime(df[col])
                frames[name] = df
    except sa.exc.OperationalError as e:
        raise SourceError(
            mask_urls(f"{source}: cannot read the store ({e.orig}). Fix: check `source`")
        ) from None
    finally:
        eng.dispose()
    frames["invoices"][C.disputed] = frames["invoices"][C.disputed].astype(bool)
    frames["transactions"][C.invoice_id] = (
        frames["transactions"][C.invoice_id]
        .astype(object)
        .where(frames["transactions"][C.invoice_id].notna(), None)
    )
    return frames


def load_ledger(cfg: RunConfig) -> Ledger:
    """The ledger of ``cfg.business_unit`` from ``cfg.source``, read as ``cfg.source_options``
    say and checked under ``cfg.validation_policy``.

    The returned ledger carries ``ledger.load_report`` (:class:`arlib.io.intake.LoadReport`): rows
    and amounts read, problems found, quarantined rows (written to ``cfg.output_dir``) and
    notes; and ``ledger.collector_notes``, the checked collector notes (:mod:`arlib.io.notes`)
    or None when the source has none. Raises :class:`~arlib.errors.ArlibError` subclasses only, each one message naming the
    source, column, rows and fix (:class:`arlib.io.validate.DataErrors` lists several at once).

    When ``cfg`` has a ``snapshot`` folder (set by the runner, which loads each unit once), the
    ledger and its report are read from there instead (:func:`arlib.io.snapshot.read_snapshot`,
    refused unless written for the same unit, currency and ``as_of``); the source is not read.
    """
    if cfg.get("snapshot"):
        return read_snapshot(resolve_path(cfg.get("snapshot")), expect=cfg)
    check_params(cfg)
    frames, report = load_frames(cfg)
    try:  # the rows passed the same pandera contracts lazily in arlib.io.intake.check
        ledger = Ledger(
            frames["invoices"], frames["transactions"], frames["customers"], validate=False
        )
    except pa.errors.SchemaErrors as e:  # a gap in the checks: still one message, never a traceback
        fc = e.failure_cases
        raise DataError(
            report.source,
            ", ".join(sorted(set(fc["column"].dropna().astype(str)))),
            len(fc),
            f"break the data contract ({', '.join(sorted(set(fc['check'].astype(str))))})",
            "report this to the arlib maintainers with the quarantine files",
        ) from None
    ledger.load_report = report
    ledger.collector_notes = frames.get(COLLECTOR_NOTES)  # optional (arlib.io.notes)
    return ledger


def check_params(values: Mapping[str, Any], source: str | None = None) -> None:
    """The data-source parameters of a unit (``source``, ``source_options`` over its
    ``source_preset``, ``validation_policy``), checked when a run is planned, before papermill records them
    anywhere; the error names the params file (``source``) and the key. SQLAlchemy is loaded
    only for a database URL."""
    try:
        if isinstance(values.get("source"), str) and "://" in values["source"]:
            check_source(values["source"])
        if "source_options" in values or values.get("source_preset"):
            parse_source_options(values.get("source_options"), values.get("source_preset"))
        if "validation_policy" in values:
            parse_policy(values["validation_policy"])
    except ConfigError as e:
        raise ConfigError(e.key, e.problem, source) from None
