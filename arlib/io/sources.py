"""Reading the raw frames of one business unit: files here, databases in :mod:`arlib.io.database`.

``source`` is a SQLAlchemy URL or an SQLite file (``.sqlite``, ``.sqlite3``, ``.db``), a data
file (CSV/TSV/TXT, XLSX/XLSM, Parquet) or a folder of them (``<frame>.<ext>``, or Parquet
dataset folders ``<frame>/`` such as :mod:`arlib.io.parquet_store` writes); paths are relative to
the project. Frames come back *raw*: source column names and values as read (text for CSV),
with the source row number in :data:`ROW` for messages, and only the unit's rows; rows that
belong to no unit are noted, never dropped silently.
"""

from __future__ import annotations

import io as _io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from arlib.config import project_root
from arlib.errors import ConfigError, DataError, SourceError
from arlib.io.excel import read_sheet
from arlib.io.layout import csv_header_row, excel_header_row, split_layout_rows
from arlib.io.mapping import is_empty, parse_amounts, parse_ids, resolve_columns, to_cents
from arlib.io.options import COLLECTOR_NOTES, FX_RATES, SourceOptions
from arlib.schemas import C

ROW = "_row"
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
UNIT_FRAMES = ("invoices", "transactions")


@dataclass
class Raw:
    """One frame as read: source columns plus :data:`ROW`; ``label`` names the file or table."""

    frame: str
    label: str
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    units_found: list[str] | None = None  # business units in the source (for an empty unit)
    #: rows in the source and those not read, by reason (rows, other_units, no_unit,
    #: no_unit_amount as written); None when the source filtered the unit itself (SQL, Parquet)
    source_rows: dict | None = None


def is_database(source: str, opts: SourceOptions) -> bool:
    return bool(opts.url_env) or "://" in source or Path(source).suffix.lower() in SQLITE_SUFFIXES


def resolve_path(path: str | Path, base: Path | None = None) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base or project_root()) / p


def with_rows(df: pd.DataFrame, first: int = 1) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    df[ROW] = range(first, first + len(df))
    return df


# -- files -----------------------------------------------------------------------------------
def encoding_name(encoding: str) -> str:
    """The codec that reads ``source_options.encoding`` (a BOM is skipped; GBK read as GB18030)."""
    return {
        "auto": "utf-8-sig",
        "utf-8": "utf-8-sig",
        "utf8": "utf-8-sig",
        "gbk": "gb18030",
        "gb2312": "gb18030",
    }.get(encoding.lower(), encoding)


def _decode(data: bytes, encoding: str, label: str) -> str:
    enc = encoding_name(encoding)
    try:
        return data.decode(enc)
    except LookupError:
        raise ConfigError(
            "source_options.encoding",
            f"{encoding!r} is not a known text encoding (e.g. utf-8, gb18030, cp1252, latin-1)",
        ) from None
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SourceError(
            f"{label}: is not {encoding if encoding != 'auto' else 'UTF-8'} text (line {line}, "
            f"byte 0x{data[e.start]:02x}). Fix: set source_options.encoding to the file's "
            "encoding, e.g. gb18030 for Chinese exports or cp1252 for Western Windows exports"
        ) from None


def delimiter(text: str, header_row: int, configured: str) -> str:
    if configured != "auto":
        return configured
    lines = text.splitlines()
    header = lines[header_row - 1] if len(lines) >= header_row else ""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(path: Path, frame: str, opts: SourceOptions, label: str) -> pd.DataFrame:
    text = _decode(path.read_bytes(), opts.file_option(frame, "encoding", "auto"), label)
    if "\x00" in text:  # the C parser ends a field at NUL: ids would be cut short silently
        line = text[: text.index("\x00")].count("\n") + 1
        raise SourceError(
            f"{label}: holds {text.count(chr(0)):,} NUL byte(s) (first on line {line}), which "
            "would cut values short. Fix: if the file is UTF-16 set source_options.encoding: "
            "utf-16; else export it again, or remove the NUL bytes"
        )
    header_row, delim = csv_header_row(text, frame, opts, label)
    sep = delimiter(text, header_row, delim)
    try:
        df = pd.read_csv(
            _io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skiprows=header_row - 1,
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise SourceError(
            f"{label}: cannot be read as delimited text with delimiter {sep!r} "
            f"({str(e).strip()}). Fix: check source_options.delimiter and "
            "source_options.header_row, and the quoting in the file"
        ) from None
    return with_rows(df, header_row + 1)


def _read_excel(path: Path, frame: str, opts: SourceOptions, label: str) -> pd.DataFrame:
    explicit = opts.columns.get(frame, {})

    def per_row(header: str) -> bool:  # an amount: merged over rows it cannot be copied
        return resolve_columns(frame, [header], explicit)[0].get(header) in (
            C.amount,
            C.credit_limit,
        )

    def header_of(grid: pd.DataFrame) -> int:
        return excel_header_row(grid, frame, opts, label)

    sheet = opts.file_option(frame, "sheet", 0)
    body, notes, header_row = read_sheet(path, sheet, header_of, label, per_row)
    body = with_rows(body, header_row + 1) if len(body.columns) else pd.DataFrame({ROW: []})
    body.attrs["notes"] = notes
    return body


def _read_parquet(path: Path, label: str, filters=None) -> pd.DataFrame:
    """A Parquet file or dataset as pandas would read it, except that a date column whose
    dates all fit ``datetime64[ns]`` arrives as such (a column of Python ``date`` objects took
    ~40 bytes a cell and a Python test per cell to parse; it reads the same)."""
    import pyarrow.parquet as pq  # only for Parquet sources

    try:
        table = pq.read_table(path, filters=filters, use_pandas_metadata=True)
        table, shared = repeated_text(native_dates(table))
        df = table.to_pandas(deduplicate_objects=False)
        for col in df.columns:  # hive partition columns come back categorical
            if isinstance(df[col].dtype, pd.CategoricalDtype):
                df[col] = text_of(df[col]) if col in shared else df[col].astype(object)
        return with_rows(df)
    except Exception as e:  # pyarrow.ArrowInvalid and friends
        raise SourceError(
            f"{label}: cannot be read as Parquet ({type(e).__name__}: {e}). "
            "Fix: check the file, or export it as CSV"
        ) from None


#: rows sampled by :func:`repeated_text` (as :func:`arlib.io.mapping.by_unique` samples)
_SAMPLE = 20_000


def repeated_text(table):
    """``table`` with its text columns of repeating values (customer ids, kinds, currencies:
    at most one distinct value in four of the first rows) dictionary-encoded, and their names.

    Arrow's ``to_pandas`` shares one ``str`` per distinct value only by hashing every cell of
    every text column (``deduplicate_objects``): at 1.2 M invoices that was most of the read,
    spent on ids that never repeat. Encoded here (hashed in C++, once) and spread back by
    :func:`text_of`, repeating values share their ``str`` as before, and ids are not hashed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    shared = set()
    for i, f in enumerate(table.schema):
        if not (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)):
            continue
        head = table.column(i).slice(0, _SAMPLE)
        if pc.count_distinct(head, mode="all").as_py() <= len(head) // 4:
            table = table.set_column(i, f.name, table.column(i).dictionary_encode())
            shared.add(f.name)
    return table, shared


def text_of(s: pd.Series) -> pd.Series:
    """A categorical column of text as Arrow would give it as text: one ``str`` per distinct
    value, ``None`` where missing."""
    cat = s.array
    text = np.append(np.asarray(cat.categories, dtype=object), None)  # code -1: the last, None
    values = text.take(cat.codes)
    return pd.Series(values, index=s.index, name=s.name, dtype=object)


def native_dates(table):
    """``table`` with its ``date32``/``date64`` columns as ``timestamp[ns]`` where every date
    fits (a safe cast: 9999-12-31, SAP's "never", does not; such a column stays as dates and is
    judged cell by cell as before)."""
    import pyarrow as pa

    for i, col_type in enumerate(table.schema):
        if pa.types.is_date(col_type.type):
            try:
                col = table.column(i).cast(pa.timestamp("ns"))
            except pa.ArrowInvalid:
                continue
            table = table.set_column(i, pa.field(col_type.name, col.type), col)
    return table


def _unit_filter(frame: str, opts: SourceOptions, bu: str | None):
    """A pyarrow filter on a canonical ``business_unit`` column or partition (memory bounded by the unit)."""
    mapped = C.business_unit in opts.columns.get(frame, {}).values()
    if bu is None or opts.one_unit or frame not in UNIT_FRAMES or mapped:
        return None
    return [(C.business_unit, "==", bu)]


def read_file(
    path: Path, frame: str, opts: SourceOptions, label: str, bu: str | None = None
) -> Raw:
    """One frame from a file, or a Parquet dataset folder (e.g. partitioned by business_unit,
    read for ``bu`` only); fully empty rows and ``footer_rows`` are dropped (and noted)."""
    if path.is_dir():
        df = _read_parquet(path, label, _unit_filter(frame, opts, bu))
        return Raw(frame, label, df.reset_index(drop=True))
    if not path.is_file():
        raise SourceError(
            f"{label}: file not found ({path}). Fix: check `source` and source_options.files"
        )
    suffix = path.suffix.lower()
    readers = {
        ".csv": _read_csv,
        ".tsv": _read_csv,
        ".txt": _read_csv,
        ".xlsx": _read_excel,
        ".xlsm": _read_excel,
    }
    try:
        if suffix in readers:
            df = readers[suffix](path, frame, opts, label)
        elif suffix in (".parquet", ".pq"):
            df = _read_parquet(path, label)
        else:
            raise SourceError(
                f"{label}: unsupported file type {suffix!r}. Fix: use CSV, XLSX or Parquet"
            )
    except OSError as e:  # permissions, a folder in the way, a file vanishing mid-read
        raise SourceError(
            f"{label}: cannot be read ({e.strerror or type(e).__name__}). Fix: check the file "
            "and its permissions"
        ) from None
    made = list(df.attrs.pop("notes", []))  # e.g. merged Excel ranges filled
    df = clean_columns(df)
    blank = blank_rows(df)
    if blank.any():
        df = df.loc[~blank]
    footer = opts.file_option(frame, "footer_rows", 0)
    skipped = df[ROW].iloc[-footer:].tolist() if footer else []
    if footer:
        df = df.iloc[:-footer]
    notes = made + skip_notes(label, int(blank.sum()), skipped)
    return Raw(frame, label, df.reset_index(drop=True), notes)


def clean_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Header names without a byte-order mark or surrounding spaces."""
    df.columns = [c if c == ROW else str(c).replace("\ufeff", "").strip() for c in df.columns]
    return df


def blank_rows(df: pd.DataFrame) -> np.ndarray:
    """True for the rows whose every cell is empty."""
    data_cols = [c for c in df.columns if c != ROW]
    if not data_cols:
        return np.ones(len(df), dtype=bool)
    return pd.DataFrame({c: is_empty(df[c]) for c in data_cols}).all(axis=1).to_numpy()


def skip_notes(label: str, blank: int, footer_rows: list[int]) -> list[str]:
    """The notes for skipped empty rows and footer rows."""
    notes = [f"{label}: {blank} empty row(s) skipped"] if blank else []
    if footer_rows:
        notes.append(
            f"{label}: footer row(s) {', '.join(map(str, footer_rows))} skipped "
            "(source_options.footer_rows)"
        )
    return notes


def _find_default(folder: Path, frame: str) -> Path | None:
    for suffix in FILE_SUFFIXES:
        p = folder / f"{frame}{suffix}"
        if p.is_file():
            return p
    if (folder / frame).is_dir() and any((folder / frame).rglob("*.parquet")):
        return folder / frame  # a Parquet dataset, e.g. arlib.io.parquet_store's layout
    return None


def locate_files(source: str, opts: SourceOptions) -> dict[str, Path]:
    """The file of each frame: ``source_options.files`` (relative to the source folder), else
    ``<frame>.<csv|xlsx|parquet...>`` in a source folder; a source file is the invoices file
    (and any frame given a ``sheet`` of it)."""
    src = resolve_path(source)
    if not src.exists():
        raise SourceError(
            f"{source}: no such file or folder ({src}). Fix: set `source` (relative to the project)"
        )
    base = src if src.is_dir() else src.parent
    out: dict[str, Path] = {}
    for frame in ("invoices", "transactions", "customers", FX_RATES, COLLECTOR_NOTES):
        if frame in opts.files:
            out[frame] = resolve_path(opts.files[frame], base)
        elif src.is_file() and (
            frame == "invoices"
            or isinstance(opts.file_keys.get("sheet"), dict)
            and frame in opts.file_keys["sheet"]
        ):
            out[frame] = src
        elif src.is_dir() and (found := _find_default(src, frame)):
            out[frame] = found
    return out


def unit_column(frame: str, columns: list[str], opts: SourceOptions) -> str | None:
    """The source column mapped to ``business_unit`` (None: the frame is not split by unit)."""
    if opts.one_unit or frame == FX_RATES:
        return None
    rename, _, _ = resolve_columns(
        frame,
        [c for c in columns if c != ROW],
        opts.columns.get(frame, {}),
        opts.soft_columns.get(frame),
    )
    return next((s for s, t in rename.items() if t == C.business_unit), None)


def no_unit_note(label: str, col: str, rows: list[int], count: int) -> str:
    """The note for ``count`` rows (first ``rows``) with no business unit."""
    shown = ", ".join(map(str, rows[:5])) + (" ..." if count > 5 else "")
    return (
        f"{label}: {count} row(s) with no {col} belong to no business unit and are not "
        f"read (row(s) {shown})"
    )


def filter_unit(raw: Raw, opts: SourceOptions, bu: str) -> Raw:
    """Keep the unit's rows (by the column mapped to ``business_unit``); count the others by
    reason in ``Raw.source_rows``. Rows with no unit that carry a customer or a date are items
    that belong to no unit: refused (:func:`refuse_items_without_unit`), never dropped; rows
    with neither (totals lines) are not read, and counted with their amount as written."""
    col = unit_column(raw.frame, list(raw.data.columns), opts)
    if col is None:
        return raw
    ids = parse_ids(raw.data[col])
    keep = (ids == bu).to_numpy()
    units = sorted(set(ids.dropna())) if raw.frame == "invoices" and not keep.any() else None
    notes = list(raw.notes)
    none = ids.isna().to_numpy()
    facts = no_unit_facts(raw.frame, raw.data, none, opts)
    refuse_items_without_unit(raw.label, col, facts)
    if none.any():  # such rows belong to no unit: say so rather than drop them silently
        notes.append(no_unit_note(raw.label, col, facts["rows"], facts["count"]))
    # a store read for the unit alone (Parquet filter) has only its rows: no copy then
    whole = keep.all() and raw.data.index.equals(pd.RangeIndex(len(raw.data)))
    data = raw.data if whole else raw.data.loc[keep].reset_index(drop=True)
    counts = source_rows(len(ids), len(data), facts)
    return Raw(raw.frame, raw.label, data, notes, units, counts)


def no_unit_facts(frame: str, data: pd.DataFrame, none: np.ndarray, opts: SourceOptions) -> dict:
    """The rows with no business unit (``none``): ``count`` and first ``rows``; ``items``, those
    with a customer or a date (``item_rows``, the columns in ``marks``); ``cents``, their amount
    as written. Summable over chunks (:func:`merge_no_unit`)."""
    rename, _, _ = resolve_columns(
        frame, [c for c in data.columns if c != ROW], opts.columns.get(frame, {})
    )
    source = {t: s for s, t in rename.items()}
    marks = [source[c] for c in (C.customer_id, C.invoice_date, C.date) if c in source]
    item = np.zeros(len(data), dtype=bool)
    if frame in UNIT_FRAMES and marks and none.any():
        item = none & ~np.all([is_empty(data[m]) for m in marks], axis=0)
    cents = 0
    if C.amount in source and none.any():
        cents = int(
            to_cents(parse_amounts(data.loc[none, source[C.amount]], opts.decimal)[0]).sum()
        )
    rows = data[ROW].to_numpy()
    return {
        "count": int(none.sum()),
        "rows": rows[none][:6].tolist(),
        "items": int(item.sum()),
        "item_rows": rows[item][:6].tolist(),
        "marks": marks,
        "cents": cents,
    }


def merge_no_unit(a: dict, b: dict) -> dict:
    """Two chunks' :func:`no_unit_facts` as one."""
    return {
        "count": a["count"] + b["count"],
        "rows": (a["rows"] + b["rows"])[:6],
        "items": a["items"] + b["items"],
        "item_rows": (a["item_rows"] + b["item_rows"])[:6],
        "marks": a["marks"] or b["marks"],
        "cents": a["cents"] + b["cents"],
    }


def refuse_items_without_unit(label: str, col: str, facts: dict) -> None:
    """Rows with no unit but a customer or a date are invoices or payments, not totals lines:
    a :class:`DataError` naming them (a fill-down CSV, or cells left empty under a block)."""
    n = facts["items"]
    if not n:
        return
    shown = ", ".join(map(str, facts["item_rows"][:5])) + (" ..." if n > 5 else "")
    raise DataError(
        label,
        col,
        n,
        f"have a {' or '.join(facts['marks'])} but no {col}, so they belong to no business unit "
        f"(rows {shown})",
        f"fill {col} on every row (a CSV needs it on each row; merged cells in .xlsx are read "
        "as Excel shows them), or set source_options.one_unit: true if the source holds this "
        "unit only",
    )


def source_rows(total: int, read: int, facts: dict) -> dict:
    """:attr:`Raw.source_rows` from the rows in the source, the unit's and the no-unit facts."""
    return {
        "rows": total,
        "other_units": total - read - facts["count"],
        "no_unit": facts["count"],
        "no_unit_amount": facts["cents"] / 100,
    }


def read_unit_frame(path: Path, frame: str, opts: SourceOptions, label: str, bu: str) -> Raw:
    """One frame of unit ``bu``: the file read whole, its layout rows set aside
    (:func:`arlib.io.layout.split_layout_rows`), then the unit's rows kept."""
    raw = read_file(path, frame, opts, label, bu)
    data, notes = split_layout_rows(raw.data, frame, opts, label, ROW)
    return filter_unit(Raw(frame, label, data, raw.notes + notes), opts, bu)


def read_files(
    source: str, opts: SourceOptions, bu: str, read=read_unit_frame
) -> tuple[dict[str, Raw], str]:
    """Raw frames of unit ``bu`` from files (see :func:`locate_files`), each read by ``read``
    (:func:`read_unit_frame`, or the parse-once cache of :mod:`arlib.io.filecache`)."""
    paths = locate_files(source, opts)
    need = {
        "invoices": True,
        "transactions": opts.frames["transactions"] == "read",
        "customers": opts.frames["customers"] in ("auto", "read"),
        FX_RATES: True,
        COLLECTOR_NOTES: True,
    }
    if need["transactions"] and "transactions" not in paths:
        raise SourceError(
            f"{source}: no transactions file. Fix: set source_options.files.transactions, or "
            "source_options.frames.transactions to none (an open-item list) or settled_date "
            "(one payment per invoice from its settled_date column)"
        )
    if opts.frames["customers"] == "read" and "customers" not in paths:
        raise SourceError(
            f"{source}: no customers file. Fix: set source_options.files.customers, or "
            "source_options.frames.customers to derive or none"
        )
    frames = {}
    for frame, path in paths.items():
        if need[frame]:
            label = str(
                Path(opts.files[frame])
                if frame in opts.files
                else Path(source)
                if path == resolve_path(source)
                else path.name
            )
            frames[frame] = read(path, frame, opts, label, bu)
    return frames, source
