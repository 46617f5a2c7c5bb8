"""A unit's loaded and validated ledger, written once per run and read by all its notebooks.

The runner loads a business unit with :func:`arlib.io.load_ledger` once, writes the result with
:func:`write_snapshot` into the unit's staging folder, and the notebooks read it back with
:func:`read_snapshot` (``load_ledger`` does so when the ``snapshot`` parameter is set). A
snapshot folder holds:

``invoices.parquet``, ``transactions.parquet``, ``customers.parquet`` (when the unit has one)
    the ledger's canonical frames, dtypes kept (text ids such as ``"007"`` stay text);
``load_report.json`` and ``report-*.parquet``
    the :class:`~arlib.io.intake.LoadReport`: its plain fields as JSON, its frames (counts,
    problems, quarantined rows) as Parquet;
``snapshot.json``
    the manifest, written last: format version, the unit's ``business_unit``, ``currency`` and
    ``as_of``, the input :func:`~arlib.ledger.fingerprint` and the sha256 of every other file.

Nothing in the folder can run code when read (Parquet and JSON only, no pickle). Every file is
written under a temporary name and renamed into place, so a file under its final name is
always complete. Reading checks every file against its sha256 and the data against the
fingerprint, and refuses with one :class:`~arlib.errors.SourceError` otherwise.

Example
-------
>>> import tempfile
>>> from arlib import demo
>>> from arlib.ledger import Ledger, fingerprint
>>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
>>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
>>> folder = tempfile.mkdtemp()
>>> manifest = write_snapshot(led, folder)
>>> sorted(manifest["files"])
['customers.parquet', 'invoices.parquet', 'transactions.parquet']
>>> fingerprint(read_snapshot(folder)) == manifest["fingerprint"]
True
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from arlib.errors import SourceError
from arlib.io.intake import LoadReport
from arlib.io.options import COLLECTOR_NOTES
from arlib.ledger import Ledger, fingerprint, ledger_arrays
from arlib.schemas import C

MANIFEST = "snapshot.json"
FORMAT, VERSION = "arlib-snapshot", 1
REPORT = "load_report.json"
#: recorded from the run's parameters and checked by :func:`read_snapshot` when it is asked to
KEYS = ("business_unit", "currency", "as_of")
#: Arrow types that come back to pandas as the same object column
_OBJECT_SAFE = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null, pa.types.is_date32)


# -- writing ---------------------------------------------------------------------------------
def _write_bytes(folder: Path, name: str, data: bytes) -> str:
    """``data`` under ``folder/name`` by way of a temporary name; returns its sha256."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def _text_columns(df: pd.DataFrame) -> list[str]:
    """Object columns Parquet would not give back as they are (numbers mixed with text, ...)."""
    out = []
    for col in df.select_dtypes(include="object").columns:
        try:
            kind = pa.array(df[col], from_pandas=True).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            kind = None
        if kind is None or not any(ok(kind) for ok in _OBJECT_SAFE):
            out.append(col)
    return out


def _arrow(df: pd.DataFrame) -> tuple[pa.Table | None, list[str]]:
    """The frame as an Arrow table, converted once, and its :func:`_text_columns` (read from the
    table's types; worked out column by column only when the frame does not convert)."""
    try:
        table = pa.Table.from_pandas(df)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None, _text_columns(df)
    kinds = dict(zip(table.schema.names, table.schema.types, strict=True))
    text = [
        col
        for col in df.select_dtypes(include="object").columns
        if not any(ok(kinds[str(col)]) for ok in _OBJECT_SAFE)
    ]
    return (table if not text else None), text


def _parquet(df: pd.DataFrame, name: str, exact: bool) -> tuple[bytes, list[str]]:
    """The frame as Parquet bytes and the columns stored as text. ``exact`` frames (the
    ledger's) must come back unchanged: a column that cannot is an error naming it."""
    table, text = _arrow(df)
    if text and exact:
        raise SourceError(
            f"{name}: column(s) {', '.join(map(str, text))} mix value types that Parquet cannot "
            "keep as they are. Fix: map the column to one type in source_options, or drop it"
        )
    if text:  # quarantined rows as read: kept as text rather than lost
        df = df.assign(**{c: df[c].map(lambda v: v if v is None else str(v)) for c in text})
        table = pa.Table.from_pandas(df)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes(), text


def _report_parts(report: LoadReport) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Every field of the report: plain values as JSON, frames as named Parquet tables."""
    meta, tables = {}, {}
    for f in fields(report):
        value = getattr(report, f.name)
        if isinstance(value, pd.DataFrame):
            tables[f"report-{f.name}.parquet"] = value
            meta[f.name] = {"table": f"report-{f.name}.parquet"}
        elif isinstance(value, dict) and any(isinstance(v, pd.DataFrame) for v in value.values()):
            names = {k: f"report-{f.name}-{k}.parquet" for k in value}
            tables.update({names[k]: v for k, v in value.items()})
            meta[f.name] = {"tables": names}
        else:
            meta[f.name] = {"json": value}
    return meta, tables


def _params(report: LoadReport | None, params: Mapping | None) -> dict[str, str]:
    """``business_unit``, ``currency`` and ``as_of`` (ISO) from the report and the params."""
    out = {k: getattr(report, k) for k in KEYS[:2]} if report is not None else {}
    if params is not None:
        out.update({k: params[k] for k in KEYS if params.get(k) is not None})
    if "as_of" in out:
        out["as_of"] = pd.Timestamp(out["as_of"]).date().isoformat()
    return {k: str(v) for k, v in out.items()}


#: the optional collector notes, kept on the ledger as ``ledger.collector_notes``
NOTES = COLLECTOR_NOTES


def write_snapshot(ledger: Ledger, folder: str | Path, params: Mapping | None = None) -> dict:
    """Write ``ledger`` (frames and ``load_report``) into ``folder`` and return the manifest.

    ``params`` (the run config the ledger was loaded with) records the unit's
    ``business_unit``, ``currency`` and ``as_of`` so that a notebook given another unit's or
    another close date's snapshot refuses it (see :func:`read_snapshot`). The manifest
    (``snapshot.json``) is written last: ``format``, ``version``, ``params``, ``fingerprint``
    (:func:`arlib.ledger.fingerprint`), ``frames`` and ``report`` (file names) and ``files``
    (file name -> sha256). Raises :class:`~arlib.errors.SourceError` when a ledger column cannot
    be stored unchanged.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = {"invoices": ledger.invoices, "transactions": ledger.transactions}
    if ledger.customers is not None:
        frames["customers"] = ledger.customers
    if getattr(ledger, NOTES, None) is not None:
        frames[NOTES] = getattr(ledger, NOTES)
    files, text = {}, {}
    for frame, df in frames.items():
        data, _ = _parquet(df, f"{folder}: {frame}", exact=True)
        files[f"{frame}.parquet"] = _write_bytes(folder, f"{frame}.parquet", data)
    report = getattr(ledger, "load_report", None)
    if report is not None:
        meta, tables = _report_parts(report)
        for name, df in tables.items():
            data, text[name] = _parquet(df, name, exact=False)
            files[name] = _write_bytes(folder, name, data)
        meta["text_columns"] = {k: v for k, v in text.items() if v}
        files[REPORT] = _write_bytes(folder, REPORT, _json(meta))
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "params": _params(report, params),
        "fingerprint": fingerprint(ledger),
        "frames": {frame: f"{frame}.parquet" for frame in frames},
        "report": REPORT if report is not None else None,
        "files": files,
    }
    _write_bytes(folder, MANIFEST, _json(manifest))
    return manifest


def _json(value) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


# -- reading ---------------------------------------------------------------------------------
def _refused(folder: Path, unit: str | None, what: str) -> SourceError:
    rerun = f"arlib run --bu {unit}" if unit else "arlib run --bu <unit>"
    return SourceError(
        f"{folder}: the snapshot cannot be used: {what}. Fix: rerun the unit with `{rerun}`"
    )


def _manifest(folder: Path) -> tuple[dict, bytes]:
    path = folder / MANIFEST
    if not path.is_file():
        raise _refused(folder, None, f"{MANIFEST} is missing")
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
        unit = manifest.get("params", {}).get("business_unit")
        fmt, version = manifest.get("format"), manifest.get("version")
    except (ValueError, AttributeError):
        raise _refused(folder, None, f"{MANIFEST} is not a snapshot manifest") from None
    if fmt != FORMAT or version != VERSION:
        raise _refused(
            folder, unit, f"{MANIFEST} is format {fmt!r} version {version}, not {VERSION}"
        )
    keys = ("params", "files", "frames", "fingerprint")
    whole = all(isinstance(manifest.get(k), dict) for k in keys)
    if not whole or not {"invoices", "transactions"} <= set(manifest["frames"]):
        raise _refused(folder, unit, f"{MANIFEST} lacks {', '.join(keys)} or a frame")
    return manifest, raw


def _verified(folder: Path, manifest: dict) -> None:
    """Every file of the manifest checked against its sha256, read in blocks (never whole)."""
    unit = manifest["params"].get("business_unit")
    bad = []
    for name, sha in manifest["files"].items():
        path = folder / name
        if Path(name).name != name or not path.is_file():
            bad.append(f"{name} is missing")
            continue
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        if digest != sha:
            bad.append(f"{name} differs from its sha256 in {MANIFEST}")
    named = [
        *manifest["frames"].values(),
        *([manifest["report"]] if manifest.get("report") else []),
    ]
    bad += [f"{n} is not listed in {MANIFEST}" for n in named if n not in manifest["files"]]
    if bad:
        raise _refused(folder, unit, "; ".join(bad))


def _frame(path: Path) -> pd.DataFrame:
    """A Parquet file as pandas, memory-mapped, each Arrow column freed once converted (the
    frame and its Arrow copy are never both whole in memory)."""
    return _pandas(pq.read_table(path, memory_map=True))


def _pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


_LEDGER = ("invoices", "transactions")


def _ledger_frames(folder: Path, names: dict) -> tuple[dict, np.ndarray | None]:
    """The snapshot's frames, and each transaction's invoice position (-1 none) when both id
    columns are text: found by Arrow's hash kernel on the text as read, and the transactions'
    ids that name an invoice made that invoice's own string objects (the same value, kept once
    in memory, no second set of Python strings made); ``None`` otherwise (the ledger finds them).
    """
    frames = {k: _frame(folder / name) for k, name in names.items() if k not in _LEDGER}
    inv = pq.read_table(folder / names["invoices"], memory_map=True)
    txn = pq.read_table(folder / names["transactions"], memory_map=True)
    key = inv.column(C.invoice_id) if C.invoice_id in inv.column_names else None
    frames["invoices"] = _pandas(inv)  # the key column's buffers stay while ``key`` is held
    at = txn.schema.get_field_index(C.invoice_id)
    text = key is not None and at >= 0 and _is_text(key.type) and _is_text(txn.field(at).type)
    if not text or key.null_count or key.type != txn.field(at).type:
        frames["transactions"] = _pandas(txn)
        return frames, None
    import pyarrow.compute as pc

    ids, column = frames["invoices"][C.invoice_id], txn.column(at)
    found = pc.index_in(column, value_set=key.combine_chunks())
    codes = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    values = ids.to_numpy()[np.maximum(codes, 0)]
    other = np.flatnonzero(codes < 0)
    if len(other):
        values[other] = column.take(pa.array(other)).to_pandas().to_numpy(dtype=object)
    df = _pandas(txn.remove_column(at))
    df.insert(at, C.invoice_id, values)
    frames["transactions"] = df
    return frames, codes


def _report(meta: dict, folder: Path) -> LoadReport:
    values = {}
    for f in fields(LoadReport):
        spec = meta[f.name]
        if "table" in spec:
            values[f.name] = _frame(folder / spec["table"])
        elif "tables" in spec:
            values[f.name] = {k: _frame(folder / name) for k, name in spec["tables"].items()}
        else:
            values[f.name] = spec["json"]
    return LoadReport(**values)


def _differences(got: dict, want: dict) -> str:
    parts = []
    for key in ("rows", "control_totals"):
        for k in sorted(set(got.get(key, {})) | set(want.get(key, {}))):
            g, w = got.get(key, {}).get(k), want.get(key, {}).get(k)
            if g != w:
                parts.append(f"{k} {g} read, {w} in {MANIFEST}")
    if not parts and got.get("sha256") != want.get("sha256"):
        parts.append("the content hash differs")
    return ", ".join(parts)


def _check_expected(folder: Path, manifest: dict, expect: Mapping) -> None:
    recorded, asked = manifest["params"], _params(None, expect)
    differ = [
        f"{k} {recorded[k]!r}, not {asked[k]!r}"
        for k in KEYS
        if k in recorded and k in asked and recorded[k] != asked[k]
    ]
    if differ:
        what = "it was written for " + ", ".join(differ)
        raise _refused(folder, asked.get("business_unit"), what)


def _share_invoice_ids(ledger: Ledger) -> None:
    """Each transaction's invoice id that names a known invoice becomes that invoice's own
    string object: the same value, kept once in memory instead of twice (~75 MB per million
    transactions). Only when both columns hold text alone (equal text is the same id)."""
    ids, txn = ledger.invoices[C.invoice_id], ledger.transactions
    if not len(txn) or any(
        col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) != "string"
        for col in (ids, txn[C.invoice_id])
    ):
        return
    codes = ledger_arrays(ledger).txn_code
    own = ids.to_numpy()[np.maximum(codes, 0)]
    txn[C.invoice_id] = np.where(codes >= 0, own, txn[C.invoice_id].to_numpy())


#: the frames of the last snapshot read in this process, kept for the next read of the same
#: files: a unit's notebooks run one after the other in one kernel, each reading the snapshot
_KEPT: dict = {}


def forget() -> None:
    """Drop the frames kept from the last read (the runner does before the customer reports,
    which do not read the unit's data: the kernel then holds no unit's frames it does not use)."""
    _KEPT.clear()


def _frames_of(folder: Path, manifest: dict, raw: bytes) -> tuple[dict, np.ndarray | None, bool]:
    """The snapshot's frames and invoice positions (:func:`_ledger_frames`), and whether they
    were kept from an earlier read of the very same files in this process: same folder, same
    manifest bytes, every file checked against its sha256 again just before. Each read gets
    frames of its own (shallow copies: a column replaced in one never reaches the next) whose
    data the caller checks against the fingerprint as on any read."""
    key = (str(folder.resolve()), raw)
    if _KEPT.get("key") == key:
        frames, codes, kept = _KEPT["frames"], _KEPT["codes"], True
    else:
        _KEPT.clear()  # before reading: never two snapshots' frames at once
        frames, codes = _ledger_frames(folder, manifest["frames"])
        _KEPT.update(key=key, frames=frames, codes=codes)
        kept = False
    mine = {k: df.copy(deep=False) for k, df in frames.items()}
    return mine, (None if codes is None else codes.copy()), kept


def read_snapshot(folder: str | Path, expect: Mapping | None = None) -> Ledger:
    """The ledger written by :func:`write_snapshot` into ``folder``, with its ``load_report``.

    Checks that every file matches its sha256 in ``snapshot.json`` and that the frames read
    give the fingerprint recorded there; with ``expect`` (a run config), also that the snapshot
    was written for its ``business_unit``, ``currency`` and ``as_of`` (those recorded).
    Raises :class:`~arlib.errors.SourceError` naming the folder, what differs and the fix
    (rerun the unit) otherwise. The frames of the last read are kept for the next read of
    the same files in this process (:func:`_frames_of`); checked the same way, and read again
    from the files when they no longer give the fingerprint (changed in memory by their user).
    """
    folder = Path(folder)
    manifest, raw = _manifest(folder)
    if expect is not None:
        _check_expected(folder, manifest, expect)
    _verified(folder, manifest)
    frames, codes, kept = _frames_of(folder, manifest, raw)
    try:
        return _checked(folder, manifest, frames, codes)
    except SourceError:
        if not kept:
            raise
        forget()  # the kept frames were changed in memory; the files passed their sha256
        return read_snapshot(folder, expect)


def _checked(folder: Path, manifest: dict, frames: dict, codes) -> Ledger:
    """The ledger of ``frames``, its load report read, its data checked against the manifest's
    fingerprint."""
    ledger = Ledger(
        frames["invoices"],
        frames["transactions"],
        frames.get("customers"),
        validate=False,
        own=True,
        invoice_codes=codes,
    )
    if codes is None:
        _share_invoice_ids(ledger)
    if NOTES in frames:
        setattr(ledger, NOTES, frames[NOTES])
    unit = manifest["params"].get("business_unit")
    if manifest.get("report"):
        try:
            meta = json.loads((folder / manifest["report"]).read_bytes())
            ledger.load_report = _report(meta, folder)
        except (ValueError, KeyError, TypeError) as e:
            raise _refused(folder, unit, f"{REPORT} cannot be read ({e})") from None
    got = fingerprint(ledger)
    if got != manifest["fingerprint"]:
        what = f"its data do not match the input fingerprint in {MANIFEST}"
        raise _refused(folder, unit, f"{what} ({_differences(got, manifest['fingerprint'])})")
    ledger.input_fingerprint = got  # verified here; the notebook's audit stamp reuses it
    release_freed_memory()
    return ledger


def release_freed_memory() -> bool:
    """Give the memory freed while reading (Arrow's buffers, decoded with the system allocator)
    back to the system: glibc keeps freed heap pages for reuse, and a kernel that read a big
    unit kept ~90 MB per million invoices it no longer used. True when done (glibc only)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to do
        trim = None
    if trim is None:
        return False
    trim(0)
    return True
