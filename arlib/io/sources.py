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
import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from arlib.config import project_root
from arlib.errors import ConfigError, SourceError
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
def _decode(data: bytes, encoding: str, label: str) -> str:
    enc = {
        "auto": "utf-8-sig",
        "utf-8": "utf-8-sig",
        "utf8": "utf-8-sig",
        "gbk": "gb18030",
        "gb2312": "gb18030",
    }.get(encoding.lower(), encoding)
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


def _delimiter(text: str, header_row: int, configured: str) -> str:
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
    header_row = opts.file_option(frame, "header_row", 1)
    sep = _delimiter(text, header_row, opts.file_option(frame, "delimiter", "auto"))
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
    """The sheet as Excel shows it: merged ranges filled with their first cell's value (noted);
    formula cells saved without their values are refused (they would read as empty)."""
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, openpyxl's InvalidFileException, ...
        raise SourceError(
            f"{label}: cannot be opened as an Excel workbook ({type(e).__name__}). "
            "Fix: save it as .xlsx, or export it as CSV"
        ) from None
    sheet = opts.file_option(frame, "sheet", 0)
    names = book.sheetnames
    if (isinstance(sheet, str) and sheet not in names) or (
        isinstance(sheet, int) and not 0 <= sheet < len(names)
    ):
        raise SourceError(
            f"{label}: has no sheet {sheet!r} (sheets: {', '.join(names)}). "
            "Fix: set source_options.sheet to a sheet name or a 0-based position"
        )
    ws = book[sheet] if isinstance(sheet, str) else book.worksheets[sheet]
    header_row = opts.file_option(frame, "header_row", 1)
    grid = pd.DataFrame(list(ws.values), dtype=object)
    filled = _fill_merged(ws, grid, header_row, label)
    if len(grid) < header_row:
        return pd.DataFrame({ROW: []})
    _refuse_uncached_formulas(path, ws.title, grid, header_row, label)
    header = [
        ("" if pd.isna(v) else str(v)) or f"Unnamed: {i}"
        for i, v in enumerate(grid.iloc[header_row - 1])
    ]
    body = grid.iloc[header_row:].copy()
    body.columns = header
    body[ROW] = body.index + 1
    body = body.reset_index(drop=True)
    body.attrs["notes"] = filled
    return body


def _fill_merged(ws, grid: pd.DataFrame, header_row: int, label: str) -> list[str]:
    """Fill each merged range below the header with its first cell's value, in place (Excel
    shows that value over the whole range; openpyxl and pandas leave the other cells empty).
    A range reaching from the header into the data is refused: no reading of it is safe."""
    ranges = sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
    done = []
    for r in ranges:
        if r.max_row <= header_row:
            continue  # titles and headers: not data
        if r.min_row <= header_row:
            raise SourceError(
                f"{label}: sheet {ws.title!r}, cells {r.coord} are merged across the header row "
                f"{header_row} and the data. Fix: unmerge them in Excel, or set "
                "source_options.header_row to the row of the column headers"
            )
        value = grid.iat[r.min_row - 1, r.min_col - 1]
        grid.iloc[r.min_row - 1 : r.max_row, r.min_col - 1 : r.max_col] = value
        done.append(r.coord)
    if not done:
        return []
    more = f" and {len(done) - 3} more" if len(done) > 3 else ""
    return [
        f"{label}: sheet {ws.title!r}: {len(done)} merged range(s) ({', '.join(done[:3])}{more}) "
        "filled with their first cell's value, as Excel shows them"
    ]


def _refuse_uncached_formulas(
    path: Path, title: str, grid: pd.DataFrame, header_row: int, label: str
) -> None:
    """Formula cells saved without their computed values (files written by scripts or some
    exporters, never opened in Excel) read as empty: refuse, naming the sheet, columns, counts."""
    body = grid.iloc[header_row:]
    if not body.isna().to_numpy().any():
        return
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        rows = list(book[title].iter_rows(min_row=header_row + 1, values_only=True))
    finally:
        book.close()
    formulas = pd.DataFrame(rows, dtype=object).reindex(
        index=range(len(body)), columns=range(grid.shape[1])
    )
    is_formula = formulas.map(lambda v: isinstance(v, str) and v.startswith("="))
    lost = is_formula.to_numpy() & body.isna().to_numpy()
    if not lost.any():
        return
    counts = lost.sum(axis=0)
    head = grid.iloc[header_row - 1]
    cols = [
        f"{head.iat[j] if pd.notna(head.iat[j]) else get_column_letter(j + 1)!s} "
        f"({int(counts[j])} cell{'s' if counts[j] != 1 else ''})"
        for j in np.flatnonzero(counts)
    ]
    raise SourceError(
        f"{label}: sheet {title!r}: formula cells saved without their values in column(s) "
        f"{', '.join(cols)}. Fix: open and save the file in Excel (which stores the values), "
        "or export values instead of formulas"
    )


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
    notes = list(df.attrs.pop("notes", []))
    df.columns = [c if c == ROW else str(c).replace("\ufeff", "").strip() for c in df.columns]
    data_cols = [c for c in df.columns if c != ROW]
    blank = (
        pd.DataFrame({c: is_empty(df[c]) for c in data_cols}).all(axis=1)
        if data_cols
        else pd.Series(True, index=df.index)
    )
    if blank.any():
        df = df.loc[~blank.to_numpy()]
        notes.append(f"{label}: {int(blank.sum())} empty row(s) skipped")
    footer = opts.file_option(frame, "footer_rows", 0)
    if footer:
        skipped = df[ROW].iloc[-footer:].tolist()
        df = df.iloc[:-footer]
        notes.append(
            f"{label}: footer row(s) {', '.join(map(str, skipped))} skipped (source_options.footer_rows)"
        )
    return Raw(frame, label, df.reset_index(drop=True), notes)


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


def filter_unit(raw: Raw, opts: SourceOptions, bu: str) -> Raw:
    """Keep the unit's rows (by the column mapped to ``business_unit``)."""
    if opts.one_unit or raw.frame == FX_RATES:
        return raw
    rename, _, _ = resolve_columns(
        raw.frame, [c for c in raw.data.columns if c != ROW], opts.columns.get(raw.frame, {})
    )
    col = next((s for s, t in rename.items() if t == C.business_unit), None)
    if col is None:
        return raw
    ids = parse_ids(raw.data[col])
    keep = (ids == bu).to_numpy()
    units = sorted(set(ids.dropna())) if raw.frame == "invoices" and not keep.any() else None
    notes = list(raw.notes)
    if ids.isna().any():  # such rows belong to no unit: say so rather than drop them silently
        rows = raw.data.loc[ids.isna().to_numpy(), ROW].tolist()
        notes.append(
            f"{raw.label}: {len(rows)} row(s) with no {col} belong to no business unit and are not "
            f"read (row(s) {', '.join(map(str, rows[:5]))}{' ...' if len(rows) > 5 else ''})"
        )
    return Raw(raw.frame, raw.label, raw.data.loc[keep].reset_index(drop=True), notes, units)


def read_files(source: str, opts: SourceOptions, bu: str) -> tuple[dict[str, Raw], str]:
    """Raw frames of unit ``bu`` from files; see :func:`locate_files`."""
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
            frames[frame] = filter_unit(read_file(path, frame, opts, label, bu), opts, bu)
    return frames, source
