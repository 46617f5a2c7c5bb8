"""The Excel pack beside the HTML: one formatted sheet per table (aging by customer, worklist,
forecast, provisions), written into ``<output_dir>/excel_pack.xlsx`` by the notebooks.

Each sheet is written once. :func:`add_sheet` and :func:`add_formula_sheet` keep the sheet as a
*part* in ``<output_dir>/.excel_pack/`` (its cells in Parquet, its header, formats and widths in
JSON); the pack is then written from all the parts, in the order they were added, by
xlsxwriter in constant-memory mode (rows streamed to disk, never a whole workbook in memory):

* in a run, the runner calls :func:`defer_pack` before a unit's notebooks and
  :func:`finish_pack` after them, so the pack is written once per unit;
* anywhere else (papermill, JupyterLab), each added sheet rewrites the pack at once, so the
  pack beside the notebook is always whole. A pack changed or removed by someone else since
  arlib wrote it is started again rather than mixed with sheets it no longer holds.

A sheet added again under the same name (Excel compares names ignoring case) replaces the
earlier one and moves to the end. Data never becomes a formula: text cells and headers pass
:func:`arlib.files.safe_cell` (the one guard of every file arlib writes) and are written as
text. Only :class:`Formula` values, built by arlib itself, are written as formulas (the live
sheets of the ECL pack, :mod:`arlib.report.eclbook`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from arlib.files import safe_cell
from arlib.i18n import display_frame, t
from arlib.numbers import EXCEL_FORMATS, kind_of

PACK = "excel_pack.xlsx"
PARTS = ".excel_pack"
MONEY_FORMAT = EXCEL_FORMATS["amount"]
PCT_FORMAT = EXCEL_FORMATS["share"]
#: how dates and times are shown (openpyxl's defaults, which the pack used before)
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd h:mm:ss"
_DEFERRED, _WRITTEN = "deferred", "written.json"


class Formula(str):
    """A formula written by arlib (``"=ROUND(B2*D2,2)"``); any other text is written as text."""


# -- adding sheets ---------------------------------------------------------------------------
def add_sheet(output_dir: str | Path, sheet: str, df: pd.DataFrame, money=(), pct=()) -> Path:
    """Add (or replace) ``sheet`` in the unit's pack: bold frozen header in the report language
    (:func:`arlib.i18n.display_frame`; the sheet name too), filters, number formats in the
    style of the HTML (:data:`arlib.numbers.EXCEL_FORMATS`: amounts with thousands
    separators and negatives red, percentages, days, ratios), widths fitted to the content.
    Returns the pack's path (written now, or by :func:`finish_pack` in a run).

    >>> import tempfile, openpyxl
    >>> d = tempfile.mkdtemp()
    >>> p = add_sheet(d, "Aging", pd.DataFrame({"bucket": ["current"], "amount": [1234.5]}), money=["amount"])
    >>> ws = openpyxl.load_workbook(p)["Aging"]
    >>> ws["B2"].value, ws["B2"].number_format
    (1234.5, '#,##0.00;[Red]-#,##0.00')
    """
    frame = df.reset_index(drop=True)
    kinds = [("amount" if c in money else "share" if c in pct else kind_of(c)) for c in frame]
    frame = display_frame(frame)
    columns, encoded, widths = [], [], []
    for j, kind in enumerate(kinds):
        col = frame.iloc[:, j]
        numeric = pd.api.types.is_numeric_dtype(col)
        array, is_json = _encode_column(col)
        columns.append({"format": EXCEL_FORMATS[kind] if kind and numeric else None})
        columns[-1]["json"] = is_json
        encoded.append(array)
        head = [len(f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in col.head(500)]
        widths.append(min(max(max([len(str(frame.columns[j])), *head]) + 2, 8), 50))
    spec = {
        "title": t(sheet)[:31],  # the sheet's name in the report language
        "header": [safe_cell(str(c)) for c in frame.columns],
        "columns": columns,
        "widths": widths,
        "filter": True,
    }
    table = pa.table({f"c{j}": a for j, a in enumerate(encoded)}) if encoded else None
    return _stage(output_dir, spec, table)


def add_formula_sheet(
    output_dir: str | Path,
    sheet: str,
    rows: list[list],
    money_cols: str = "",
    pct_cols: str = "",
    widths: dict[str, int] | None = None,
) -> Path:
    """Add (or replace) ``sheet`` from ``rows`` (the first is the header) whose cells are values
    or :class:`Formula`; ``money_cols``/``pct_cols`` are column letters (e.g. ``"BE"``) to
    format. Bold header, frozen first row."""
    n = max((len(r) for r in rows), default=0)
    formats = [None] * n
    for letters, fmt in ((money_cols, MONEY_FORMAT), (pct_cols, PCT_FORMAT)):
        for col in letters:
            if ord(col) - 65 < n:
                formats[ord(col) - 65] = fmt
    spec = {
        "title": sheet[:31],
        "rows": [[_tagged(v if isinstance(v, Formula) else _cell(v)) for v in r] for r in rows],
        "columns": [{"format": f, "json": True} for f in formats],
        "widths": {k: w for k, w in (widths or {}).items()},
        "filter": False,
    }
    return _stage(output_dir, spec, None)


def _cell(v):
    """A frame's value as a cell value: dates for timestamps, None for missing, text through
    the one guard of every file arlib writes (data never becomes a formula)."""
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().date()
    if pd.isna(v) if not isinstance(v, list | tuple | dict) else False:
        return None
    if hasattr(v, "item"):
        return v.item()
    return safe_cell(v if isinstance(v, int | float | str | bool) else str(v))


def _encode_column(col: pd.Series) -> tuple[pa.Array, bool]:
    """A column as Arrow cells: numbers, booleans and dates as they are, text through
    :func:`_cell`; a column mixing kinds (numbers and text, ...) as JSON-tagged cells (True)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_localize(None)
        return pa.array(
            col.to_numpy().astype("datetime64[D]"), pa.date32(), from_pandas=True
        ), False
    if pd.api.types.is_bool_dtype(col) or (
        pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype)
    ):
        return pa.array(col, from_pandas=True), False
    cells = [_cell(v) for v in col.astype(object)]
    if all(v is None or isinstance(v, str) for v in cells):
        return pa.array(cells, pa.string()), False
    return pa.array([json.dumps(_tagged(v)) for v in cells], pa.string()), True


def _tagged(v):
    """A cell value as JSON: text, formulas and dates tagged, numbers and booleans as they are."""
    if isinstance(v, Formula):
        return {"f": str(v)}
    if isinstance(v, dt.datetime):
        return {"t": v.isoformat()}
    if isinstance(v, dt.date):
        return {"d": v.isoformat()}
    return {"s": v} if isinstance(v, str) else v


def _untagged(v):
    if not isinstance(v, dict):
        return v
    kind, value = next(iter(v.items()))
    readers = {"f": Formula, "t": dt.datetime.fromisoformat, "d": dt.date.fromisoformat}
    return readers.get(kind, str)(value)


# -- the parts -------------------------------------------------------------------------------
def _parts(output_dir: str | Path) -> Path:
    return Path(output_dir).resolve() / PARTS


def _specs(folder: Path) -> list[tuple[Path, dict]]:
    """The staged parts in the order they were added: (spec path, spec)."""
    return [
        (p, json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(folder.glob("*.json"))
        if p.stem.isdigit()
    ]


def _identity(path: Path) -> list[int] | None:
    if not path.is_file():
        return None
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns]


#: characters Excel does not allow in a sheet's name
_NOT_IN_TITLE = set("[]:*?/\\")


def _stage(output_dir, spec: dict, table: pa.Table | None) -> Path:
    """Keep one sheet as a part; outside a run, rewrite the pack at once."""
    title = spec["title"]
    if not title or _NOT_IN_TITLE & set(title) or title[0] == "'" or title[-1] == "'":
        raise ValueError(
            f"Excel sheet name {title!r}: it must not be empty, start or end with ' or hold "
            "any of [ ] : * ? / \\. Fix: rename the sheet"
        )
    folder = _parts(output_dir)
    pack = folder.parent / PACK
    deferred = (folder / _DEFERRED).exists()
    if not deferred:
        written = folder / _WRITTEN
        known = json.loads(written.read_text()) if written.exists() else None
        if known != _identity(pack):  # changed, written or removed by someone else
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            _adopt(pack, folder)
    folder.mkdir(parents=True, exist_ok=True)
    specs = _specs(folder)
    for path, old in specs:  # a sheet added again replaces the earlier one
        if old["title"].casefold() == spec["title"].casefold():
            path.unlink()
            path.with_suffix(".parquet").unlink(missing_ok=True)
    seq = max((int(p.stem) for p, _ in specs), default=0) + 1
    if table is not None:
        pq.write_table(table, folder / f"{seq:04d}.parquet")
    (folder / f"{seq:04d}.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    if not deferred:
        _write_pack(folder, pack)
        (folder / _WRITTEN).write_text(json.dumps(_identity(pack)))
    return pack


def _adopt(pack: Path, folder: Path) -> None:
    """The sheets of a pack arlib did not write last, kept as parts (cells, formulas and number
    formats as read), so that adding a sheet never loses them; nothing when it is not a
    workbook."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(pack, read_only=True)
    except Exception:  # noqa: BLE001  missing, or not a workbook: nothing to keep
        return
    for k, ws in enumerate(book.worksheets, start=1):
        cells = [list(r) for r in ws.iter_rows()]
        formats = {}
        for c in (c for r in cells[1:] for c in r if getattr(c, "value", None) is not None):
            formats.setdefault(c.column - 1, c.number_format)
        n = max((len(r) for r in cells), default=0)
        spec = {
            "title": ws.title,
            "rows": [[_tagged(_read(c)) for c in r] for r in cells],
            "columns": [{"format": _shown(formats.get(j))} for j in range(n)],
            "widths": {},
            "filter": False,
        }
        (folder / f"{k:04d}.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    book.close()


def _read(c):
    v = getattr(c, "value", None)
    if isinstance(v, dt.datetime) and v.time() == dt.time():  # a date, as openpyxl reads it
        return v.date()
    return Formula(v) if getattr(c, "data_type", None) == "f" else v


def _shown(num_format: str | None) -> str | None:
    return None if num_format in (None, "General", DATE_FORMAT, DATETIME_FORMAT) else num_format


def defer_pack(output_dir: str | Path) -> None:
    """Start the pack of a run's unit: sheets added to ``output_dir`` from now on are only
    kept as parts, and :func:`finish_pack` writes the pack once."""
    folder = _parts(output_dir)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / _DEFERRED).touch()


#: packs being written on a thread (:func:`start_pack`), by parts folder: (thread, the parts
#: it writes, a box for its error)
_started: dict[Path, tuple[threading.Thread, list, dict]] = {}


def _state(folder: Path) -> list:
    """The parts as they are now (names and file identities): a pack written from them is
    current while this is unchanged."""
    files = sorted(folder.glob("[0-9]*.*")) if folder.is_dir() else []
    return [(p.name, _identity(p)) for p in files]


def start_pack(output_dir: str | Path) -> None:
    """Begin writing the deferred pack from the parts kept so far, on a thread, while the caller
    goes on (a run's unit does when its reports are done: its customer reports then run in the
    kernel, another process). :func:`finish_pack` waits for it, and writes the pack again if
    a part was added or replaced since. Nothing when no sheet was added."""
    folder = _parts(output_dir)
    if folder in _started or not folder.is_dir() or not _specs(folder):
        return
    parts, box = _state(folder), {}

    def write() -> None:
        try:
            _write_pack(folder, folder.parent / PACK)
        except BaseException as e:  # noqa: BLE001  raised again by finish_pack
            box["error"] = e

    thread = threading.Thread(target=write, name="arlib-excel-pack", daemon=True)
    _started[folder] = (thread, parts, box)
    thread.start()


def drop_pack(output_dir: str | Path) -> None:
    """Wait for a pack begun by :func:`start_pack` and forget it (a failed unit, whose files
    are removed next); nothing when none was begun or it was finished."""
    started = _started.pop(_parts(output_dir), None)
    if started is not None:
        started[0].join()


def finish_pack(output_dir: str | Path) -> Path | None:
    """Write the pack from the parts kept since :func:`defer_pack` and remove them; the pack's
    path, or None when no sheet was added (no pack then). A pack begun by :func:`start_pack`
    is waited for (its error raised here) and kept when the parts did not change since."""
    folder = _parts(output_dir)
    pack = folder.parent / PACK
    started = _started.pop(folder, None)
    try:
        if started is not None:
            thread, parts, box = started
            thread.join()
            if "error" in box:
                raise box["error"]
            if _state(folder) == parts:
                return pack
        if not folder.is_dir() or not _specs(folder):
            return None
        _write_pack(folder, pack)
        return pack
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- writing the pack ------------------------------------------------------------------------
def _write_pack(folder: Path, pack: Path) -> None:
    """The pack from the parts in ``folder``, written whole or not at all (a temporary name,
    then renamed)."""
    import xlsxwriter

    tmp = pack.with_name(f".{pack.name}.{secrets.token_hex(4)}.tmp")
    options = {
        "constant_memory": True,  # each row goes to disk when the next begins
        "strings_to_formulas": False,  # text is text: only Formula cells are formulas
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": True,
    }
    try:
        wb = xlsxwriter.Workbook(str(tmp), options)
        styles = _Styles(wb)
        for path, spec in _specs(folder):
            data = path.with_suffix(".parquet")
            _write_sheet(wb.add_worksheet(spec["title"]), spec, data, styles)
        wb.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, pack)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Styles:
    """One xlsxwriter format per number format (and the bold header), made once per pack."""

    def __init__(self, wb):
        self.wb, self.made = wb, {}
        self.header = wb.add_format({"bold": True})

    def __call__(self, num_format: str | None):
        if num_format is None:
            return None
        if num_format not in self.made:
            self.made[num_format] = self.wb.add_format({"num_format": num_format})
        return self.made[num_format]


def _write_sheet(ws, spec: dict, data: Path, styles: _Styles) -> None:
    formats = [styles(c["format"]) for c in spec["columns"]]
    dates = (styles(DATE_FORMAT), styles(DATETIME_FORMAT))
    widths = spec["widths"]  # by letter (formula sheets) or by position
    for col, width in widths.items() if isinstance(widths, dict) else enumerate(widths):
        if isinstance(col, str):
            ws.set_column(f"{col}:{col}", width)
        else:
            ws.set_column(col, col, width)
    rows = spec["rows"] if "rows" in spec else [spec["header"]]
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            _write(ws, i, j, _untagged(v), styles.header if i == 0 else formats[j], dates)
    n = len(rows) - 1
    if "rows" not in spec and data.exists():
        for batch in pq.ParquetFile(data).iter_batches(batch_size=50_000):  # bounded memory
            cols = [
                [_untagged(json.loads(v)) for v in a.to_pylist()] if c["json"] else a.to_pylist()
                for a, c in zip(batch.columns, spec["columns"], strict=True)
            ]
            for row in zip(*cols):
                n += 1
                for j, v in enumerate(row):
                    _write(ws, n, j, v, formats[j], dates)
    ws.freeze_panes(1, 0)
    if spec["filter"] and formats:
        ws.autofilter(0, 0, n, len(formats) - 1)


def _write(ws, i: int, j: int, v, fmt, dates) -> None:
    """One cell by its type: text always as text, formulas only when arlib made them."""
    if v is None or (isinstance(v, float) and v != v):
        return
    if isinstance(v, Formula):
        ws.write_formula(i, j, v, fmt)
    elif isinstance(v, bool):
        ws.write_boolean(i, j, v, fmt)
    elif isinstance(v, int | float):
        ws.write_number(i, j, v, fmt)
    elif isinstance(v, dt.datetime):
        ws.write_datetime(i, j, v, dates[1])
    elif isinstance(v, dt.date):
        ws.write_datetime(i, j, v, dates[0])
    else:
        ws.write_string(i, j, str(v), fmt)
