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
from arlib.errors import ConfigError, SourceError
from arlib.io.layout import csv_header_row, excel_header_row, split_layout_rows
from arlib.io.mapping import is_empty, parse_ids, resolve_columns
from arlib.io.options import FX_RATES, SourceOptions
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
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as e:  # zipfile.BadZipFile, openpyxl's InvalidFileException, ...
        raise SourceError(
            f"{label}: cannot be opened as an Excel workbook ({type(e).__name__}). "
            "Fix: save it as .xlsx, or export it as CSV"
        ) from None
    sheet = opts.file_option(frame, "sheet", 0)
    names = book.sheet_names
    if (isinstance(sheet, str) and sheet not in names) or (
        isinstance(sheet, int) and not 0 <= sheet < len(names)
    ):
        raise SourceError(
            f"{label}: has no sheet {sheet!r} (sheets: {', '.join(names)}). "
            "Fix: set source_options.sheet to a sheet name or a 0-based position"
        )
    grid = book.parse(sheet, header=None, dtype=object)
    header_row = excel_header_row(grid, frame, opts, label)
    if len(grid) < header_row:
        return pd.DataFrame({ROW: []})
    header = [
        ("" if pd.isna(v) else str(v)) or f"Unnamed: {i}"
        for i, v in enumerate(grid.iloc[header_row - 1])
    ]
    body = grid.iloc[header_row:].copy()
    body.columns = header
    body[ROW] = body.index + 1
    return body.reset_index(drop=True)


def _read_parquet(path: Path, label: str, filters=None) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path, filters=filters)
        for col in df.columns:  # hive partition columns come back categorical
            if isinstance(df[col].dtype, pd.CategoricalDtype):
                df[col] = df[col].astype(object)
        return with_rows(df)
    except Exception as e:  # pyarrow.ArrowInvalid and friends
        raise SourceError(
            f"{label}: cannot be read as Parquet ({type(e).__name__}: {e}). "
            "Fix: check the file, or export it as CSV"
        ) from None


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
    df = clean_columns(df)
    blank = blank_rows(df)
    if blank.any():
        df = df.loc[~blank]
    footer = opts.file_option(frame, "footer_rows", 0)
    skipped = df[ROW].iloc[-footer:].tolist() if footer else []
    if footer:
        df = df.iloc[:-footer]
    return Raw(
        frame, label, df.reset_index(drop=True), skip_notes(label, int(blank.sum()), skipped)
    )


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
    for frame in ("invoices", "transactions", "customers", FX_RATES):
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
    """Keep the unit's rows (by the column mapped to ``business_unit``)."""
    col = unit_column(raw.frame, list(raw.data.columns), opts)
    if col is None:
        return raw
    ids = parse_ids(raw.data[col])
    keep = (ids == bu).to_numpy()
    units = sorted(set(ids.dropna())) if raw.frame == "invoices" and not keep.any() else None
    notes = list(raw.notes)
    if ids.isna().any():  # such rows belong to no unit: say so rather than drop them silently
        rows = raw.data.loc[ids.isna().to_numpy(), ROW].tolist()
        notes.append(no_unit_note(raw.label, col, rows, len(rows)))
    return Raw(raw.frame, raw.label, raw.data.loc[keep].reset_index(drop=True), notes, units)


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
