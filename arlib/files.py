"""Files written whole or not at all (a full disk or a kill leaves no truncated file)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``path`` whole or not at all: a temp file in the same folder, flushed to disk,
    then renamed over the name (a full disk leaves no truncated file under ``path``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    write_atomic(path, json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


#: a text cell starting with one of these (after blanks) is run as a formula by spreadsheets:
#: ``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0`` (DDE), ``+1+1``, ``-1+1``, ``@SUM(...)``; tab and
#: carriage return too (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_BLANKS = " \u00a0\u3000"


def safe_cell(value):
    """A value that a spreadsheet shows as written: text that would start a formula gets a
    leading ``'`` (shown as text, never run); numbers, dates and other values are unchanged.

    >>> safe_cell("=HYPERLINK(\\"http://x\\",\\"pay\\")"), safe_cell(" -1+2"), safe_cell(-1.5)
    ('\\'=HYPERLINK("http://x","pay")', "' -1+2", -1.5)
    >>> safe_cell("ACME-1"), safe_cell("\\tcmd")
    ('ACME-1', "'\\tcmd")
    """
    if isinstance(value, str) and value.lstrip(_BLANKS)[:1] in FORMULA_START:
        return "'" + value
    return value


def read_back(value):
    """The value :func:`safe_cell` was given, from the text it wrote (for files arlib reads)."""
    if isinstance(value, str) and value[:1] == "'" and safe_cell(value[1:]) != value[1:]:
        return value[1:]
    return value


def spreadsheet_safe(df):
    """A copy of a DataFrame with every text cell and column name through :func:`safe_cell`:
    the one guard used by every CSV and Excel file arlib writes (exports, Excel pack,
    quarantine files, stored forecasts). Numeric columns are untouched."""
    out = df.rename(columns=lambda c: safe_cell(c) if isinstance(c, str) else c)
    for i, dtype in enumerate(out.dtypes):
        if str(dtype) in ("object", "string", "str", "category"):  # where text can be
            col = out.iloc[:, i].astype(object)
            out.isetitem(i, col.map(safe_cell, na_action="ignore"))
    return out
