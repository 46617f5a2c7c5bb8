"""Big CSV sources parsed once per file, not once per unit: a Parquet copy split by unit.

Without it every unit's load parses the whole file and holds it in memory (a 181 MB CSV with 100
business units: 2.1 GB for one unit, and the file parsed 100 times). Here the first load of such
a file parses it once, in chunks of :data:`CHUNK_ROWS` rows, into ``<cache>/<key>/``: one folder
of Parquet parts per business unit, the rows of no unit counted apart, and ``meta.json``. Every
unit then reads its own folder only: memory is bounded by a chunk while parsing and by the
unit's rows after. ``arlib run`` builds the copies before the units start, with progress on
stderr (:func:`prepare`); a notebook run on its own builds one on first use.

A unit gets exactly what :func:`arlib.io.sources.read_unit_frame` gives (the same text values,
row numbers, notes and units found; tested side by side). A file the chunked parse cannot read
(wrong encoding, broken quoting) is left to that plain read, which raises its usual message.

When: ``source_options.cache`` is ``auto`` (CSV/TSV/TXT files of :data:`AUTO_BYTES` or more),
``always`` or ``never``. Where: ``$ARLIB_CACHE_DIR``, else ``outputs/.cache/sources`` in the
project (beside the reports, which hold the same customer data, and never committed).

The key is the file's resolved path, size, modification time (ns) and SHA-256 of its first and
last MiB, plus every option that shapes the parse and this format's version. Hashing the whole
file would cost about a second per unit for a 200 MB file; size, time and both ends change when
an export is replaced or edited. A build is written to a temporary folder and renamed into place
under a lock: a killed build leaves no half copy, two units never build the same file at once,
and older copies of the same file are removed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from arlib.config import ARLIB_VERSION, project_root
from arlib.errors import ArlibError
from arlib.io.mapping import parse_ids
from arlib.io.options import PER_FRAME_FILE_KEYS, SourceOptions
from arlib.io.sources import (
    ROW,
    UNIT_FRAMES,
    Raw,
    blank_rows,
    clean_columns,
    delimiter,
    encoding_name,
    no_unit_note,
    read_file,
    read_unit_frame,
    skip_notes,
    unit_column,
)

CHUNK_ROWS = 200_000
AUTO_BYTES = 32 * 2**20  # CSV; a workbook of EXCEL_AUTO_BYTES takes as long to parse
EXCEL_AUTO_BYTES = 4 * 2**20
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_LABEL = "\x00label\x00"  # stands for the reader's label in the stored notes
FORMAT = 1  # bump when the layout or the parse changes: older copies are then rebuilt
META = "meta.json"
_ENDS = 2**20


class _Unreadable(Exception):
    """The chunked parse failed: the plain read raises the user's message."""


def cache_root() -> Path:
    env = os.environ.get("ARLIB_CACHE_DIR")
    return Path(env) if env else project_root() / "outputs" / ".cache" / "sources"


def wanted(path: Path, frame: str, opts: SourceOptions) -> bool:
    """Whether this frame's file is read through the cache (see the module docstring)."""
    if frame not in UNIT_FRAMES or opts.one_unit or opts.cache == "never":
        return False
    if opts.skip_layout_rows or opts.file_option(frame, "header_row", 1) == "auto":
        return False  # a report export (titles, headings, subtotals): read whole, as laid out
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in CSV_SUFFIXES + EXCEL_SUFFIXES:
        return False
    limit = AUTO_BYTES if suffix in CSV_SUFFIXES else EXCEL_AUTO_BYTES
    return opts.cache == "always" or path.stat().st_size >= limit


def read_frame(path: Path, frame: str, opts: SourceOptions, label: str, bu: str) -> Raw:
    """The reader :func:`arlib.io.sources.read_files` takes: the unit's rows from the cache
    when :func:`wanted`, else from the plain read."""
    if not wanted(path, frame, opts):
        return read_unit_frame(path, frame, opts, label, bu)
    try:
        folder = ensure(path, frame, opts)
    except _Unreadable:
        return read_unit_frame(path, frame, opts, label, bu)
    meta = json.loads((folder / META).read_text())
    if meta["unit_column"] is None:  # not split by unit: every row is the unit's
        return read_unit_frame(path, frame, opts, label, bu)
    return _unit_rows(folder, meta, frame, label, bu)


def _unit_rows(folder: Path, meta: dict, frame: str, label: str, bu: str) -> Raw:
    cols = meta["columns"]
    part = meta["units"].get(bu)
    if part is None:
        data = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
        data[ROW] = pd.Series([], dtype="int64")
    else:
        data = pq.read_table(folder / part).to_pandas()[[*cols, ROW]]
        data = data.sort_values(ROW, kind="stable").reset_index(drop=True)
        for col in meta["tagged"]:
            data[col] = _untag(data[col])
    notes = [n.replace(_LABEL, label) for n in meta["notes"]]
    if meta["no_unit"]["count"]:
        no = meta["no_unit"]
        notes.append(no_unit_note(label, meta["unit_column"], no["rows"], no["count"]))
    units = sorted(meta["units"]) if frame == "invoices" and part is None else None
    return Raw(frame, label, data, notes, units)


def key(path: Path, frame: str, opts: SourceOptions) -> str:
    """The cache key of ``path`` read as ``frame`` under ``opts``."""
    st = path.stat()
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(_ENDS))
        if st.st_size > _ENDS:
            fh.seek(max(_ENDS, st.st_size - _ENDS))
            h.update(fh.read())
    shape = {
        "format": FORMAT,
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ends": h.hexdigest(),
        "frame": frame,
        "arlib": ARLIB_VERSION,
        "file": {k: opts.file_option(frame, k) for k in PER_FRAME_FILE_KEYS},
        "columns": opts.columns.get(frame, {}),
    }
    text = json.dumps(shape, sort_keys=True, default=str)
    return f"{path.stem[:40]}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def ensure(path: Path, frame: str, opts: SourceOptions, progress=None) -> Path:
    """The cache folder of ``path`` (built now if missing); ``progress(done_bytes, total)``
    is called while building. Raises :class:`_Unreadable` when the chunked parse fails."""
    k = key(path, frame, opts)
    root = cache_root()
    folder = root / k
    if (folder / META).is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with _lock(root / f".{k}.lock"):
        if (folder / META).is_file():  # another process built it while this one waited
            return folder
        for stale in root.glob(f".{k}.tmp-*"):  # a killed build's leftovers (the lock is ours)
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f".{k}.tmp-{os.getpid()}"
        try:
            meta = _build(path, frame, opts, tmp, progress)
            (tmp / META).write_text(json.dumps(meta, indent=1))
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _prune(root, str(path.resolve()), frame, keep=k)
    return folder


@contextmanager
def _lock(file: Path):
    with file.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _prune(root: Path, source: str, frame: str, keep: str) -> None:
    """Remove older copies of the same file and frame (the file changed since)."""
    for meta_file in root.glob(f"*/{META}"):
        if meta_file.parent.name == keep:
            continue
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("source") == source and meta.get("frame") == frame:
            shutil.rmtree(meta_file.parent, ignore_errors=True)
            (root / f".{meta_file.parent.name}.lock").unlink(missing_ok=True)


def _chunks(path: Path, frame: str, opts: SourceOptions, fh):
    """The file's rows in chunks, parsed as :func:`arlib.io.sources.read_file` parses it."""
    enc = encoding_name(opts.file_option(frame, "encoding", "auto"))
    header_row = opts.file_option(frame, "header_row", 1)
    first = header_row + 1
    try:
        with path.open("r", encoding=enc, newline="") as text:
            head = "".join(line for _, line in zip(range(header_row), text))
        sep = delimiter(head, header_row, opts.file_option(frame, "delimiter", "auto"))
        reader = pd.read_csv(
            fh,
            encoding=enc,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skiprows=header_row - 1,
            skip_blank_lines=False,
            engine="c",
            chunksize=CHUNK_ROWS,
        )
        for chunk in reader:
            chunk.columns = [str(c) for c in chunk.columns]
            chunk[ROW] = range(first, first + len(chunk))
            first += len(chunk)
            yield clean_columns(chunk)
    except (UnicodeDecodeError, LookupError, pd.errors.ParserError, pd.errors.EmptyDataError):
        raise _Unreadable from None


def _build(path: Path, frame: str, opts: SourceOptions, out: Path, progress) -> dict:
    out.mkdir(parents=True)
    footer = opts.file_option(frame, "footer_rows", 0)
    total = path.stat().st_size
    meta = {
        "format": FORMAT,
        "source": str(path.resolve()),
        "frame": frame,
        "columns": None,
        "unit_column": None,
        "units": {},
        "blank": 0,
        "footer": [],
        "no_unit": {"count": 0, "rows": []},
        "rows": 0,
        "tagged": [],
    }
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _build_excel(path, frame, opts, out, meta)
    pending = None  # the last `footer` rows seen: the footer, unless more rows follow
    with path.open("rb") as fh:
        for n, chunk in enumerate(_chunks(path, frame, opts, fh)):
            if meta["columns"] is None:
                meta["columns"] = [c for c in chunk.columns if c != ROW]
                meta["unit_column"] = unit_column(frame, meta["columns"], opts)
            blank = blank_rows(chunk)
            meta["blank"] += int(blank.sum())
            chunk = chunk.loc[~blank]
            if footer:
                chunk = chunk if pending is None else pd.concat([pending, chunk])
                chunk, pending = chunk.iloc[:-footer], chunk.iloc[-footer:]
            _write(chunk, n, meta, out)
            if progress:
                progress(min(fh.tell(), total), total)
    if meta["columns"] is None:
        raise _Unreadable
    footer_rows = [] if pending is None else pending[ROW].tolist()
    meta["notes"] = skip_notes(_LABEL, meta.pop("blank"), footer_rows)
    return meta


def _build_excel(path: Path, frame: str, opts: SourceOptions, out: Path, meta: dict) -> dict:
    """A workbook cannot be parsed in chunks: it is read whole once (as the plain read does),
    and its cells, of mixed types, stored as tagged text where a column is not all text."""
    try:
        raw = read_file(path, frame, opts, _LABEL)
    except ArlibError:
        raise _Unreadable from None
    data = raw.data
    meta["columns"] = [c for c in data.columns if c != ROW]
    meta["unit_column"] = unit_column(frame, meta["columns"], opts)
    meta["notes"] = raw.notes
    for col in meta["columns"]:
        values = data[col].to_numpy(dtype=object)
        if not all(isinstance(v, str) for v in values):
            meta["tagged"].append(col)
    meta.pop("blank")
    _write(data, 0, meta, out)
    return meta


def _tag(v) -> str:
    """A cell as text that :func:`_untag` turns back into the same value and type."""
    if isinstance(v, str):
        return "s" + v
    if isinstance(v, bool | np.bool_):
        return "b1" if v else "b0"
    if isinstance(v, int | np.integer):
        return "i" + str(int(v))
    if isinstance(v, float | np.floating):
        return "f" + repr(float(v))
    if isinstance(v, pd.Timestamp):
        return "p" + v.isoformat()
    if isinstance(v, dt.datetime):
        return "D" + v.isoformat()
    if isinstance(v, dt.date):
        return "d" + v.isoformat()
    if isinstance(v, dt.time):
        return "t" + v.isoformat()
    if v is None:
        return "n"
    raise _Unreadable  # a type the cache does not know: the plain read is used


_UNTAG = {
    "s": str,
    "b": lambda t: t == "1",
    "i": int,
    "f": float,
    "p": pd.Timestamp,
    "D": dt.datetime.fromisoformat,
    "d": dt.date.fromisoformat,
    "t": dt.time.fromisoformat,
    "n": lambda t: None,
}


def _untag(col: pd.Series) -> pd.Series:
    return pd.Series(
        [_UNTAG[v[0]](v[1:]) for v in col.to_numpy(dtype=object)], index=col.index, dtype=object
    )


def _write(rows: pd.DataFrame, n: int, meta: dict, out: Path) -> None:
    meta["rows"] += len(rows)
    col = meta["unit_column"]
    if col is None:
        return
    ids = parse_ids(rows[col])
    none = ids.isna().to_numpy()
    if none.any():
        meta["no_unit"]["count"] += int(none.sum())
        meta["no_unit"]["rows"] = (meta["no_unit"]["rows"] + rows.loc[none, ROW].tolist())[:6]
    for unit, sub in rows.loc[~none].groupby(ids[~none].to_numpy(), sort=False):
        part = meta["units"].setdefault(str(unit), f"u{len(meta['units']):05d}")
        (out / part).mkdir(exist_ok=True)
        sub = sub.reset_index(drop=True)
        for tagged in meta["tagged"]:  # cells of mixed types (Excel), after the unit is known
            sub[tagged] = [_tag(v) for v in sub[tagged].to_numpy(dtype=object)]
        table = pa.Table.from_pandas(sub, preserve_index=False)
        pq.write_table(table, out / part / f"part-{n:05d}.parquet")


def prepare(sources: list[tuple[str, dict]], stream=None) -> list[str]:
    """Build the cache copies the units of a run will read, once, before they start; progress
    on ``stream`` (stderr). ``sources`` are ``(source, source_options)`` pairs; returns notes."""
    from arlib.io.options import parse_source_options
    from arlib.io.sources import is_database, locate_files

    stream = stream or sys.stderr
    notes, seen = [], set()
    for source, raw_opts in sources:
        try:
            opts = parse_source_options(raw_opts)
            if is_database(source, opts):
                continue
            paths = locate_files(source, opts)
        except ArlibError:
            continue  # the unit's own load reports it
        for frame, path in paths.items():
            item = (str(path.resolve()), frame, json.dumps(raw_opts, sort_keys=True, default=str))
            if item in seen or not wanted(path, frame, opts):
                continue
            seen.add(item)
            notes += _prepare_one(path, frame, opts, stream)
    return notes


def _prepare_one(path: Path, frame: str, opts: SourceOptions, stream) -> list[str]:
    if (cache_root() / key(path, frame, opts) / META).is_file():
        return []  # parsed by an earlier run
    mib = path.stat().st_size / 2**20
    t0 = time.perf_counter()
    shown = [-1]

    def progress(done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if pct // 10 > shown[0]:
            shown[0] = pct // 10
            print(
                f"arlib: reading {path.name} ({mib:,.0f} MiB) once for all units: {pct}%",
                file=stream,
                flush=True,
            )

    try:
        folder = ensure(path, frame, opts, progress)
    except _Unreadable:
        return []  # each unit's plain read gives the message
    meta = json.loads((folder / META).read_text())
    return [
        f"{path.name}: {meta['rows']:,} rows of {len(meta['units'])} business unit(s) read once "
        f"into the unit cache in {time.perf_counter() - t0:.1f} s"
    ]
