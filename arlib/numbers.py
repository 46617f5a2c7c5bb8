"""One number style per kind of figure, shared by the HTML tables, the tiles, the narrative and
the Excel pack.

Kinds: ``amount`` (thousands separators, 2 decimals in tables, 0 in tiles and prose), ``share``
(a fraction shown as a percentage, 1 decimal), ``pct`` (already in percent, e.g. CEI 85.3),
``days`` (1 decimal), ``ratio`` (2 decimals: MASE, HHI, relative WAPE), ``count`` (whole
numbers). A value that rounds to zero is shown as zero, never as ``-0.0``.

>>> fmt(1234567.891, "amount"), fmt(-0.004, "amount"), fmt(0.1234, "share")
('1,234,568', '0', '12.3%')
>>> fmt(-0.04, "days"), fmt(1.23456, "ratio"), fmt(85.27, "pct"), fmt(None, "days")
('0.0', '1.23', '85.3%', 'n/a')
>>> kind_of("dso"), kind_of("days_past_due"), kind_of("mase"), kind_of("coverage_80")
('days', 'days', 'ratio', None)
"""

from __future__ import annotations

import math

#: decimals per kind (amounts: in prose and tiles; tables pass their own)
DECIMALS = {"amount": 0, "share": 1, "pct": 1, "days": 1, "ratio": 2, "count": 0}

#: Excel number formats per kind, the same style as the HTML
EXCEL_FORMATS = {
    "amount": "#,##0.00;[Red]-#,##0.00",
    "share": "0.0%",
    "pct": '0.0"%"',
    "days": "#,##0.0",
    "ratio": "0.00",
    "count": "#,##0",
}

#: column names (or their endings) whose kind is known without being told
_DAYS = ("dso", "bpdso", "add", "days", "dso_countback", "days_to_pay", "days_late")
_RATIOS = ("mase", "relative_wape", "relative_mase", "hhi", "turnover", "rmse_ratio")


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return bool(math.isnan(v))
    except TypeError:
        return False


def fmt(v, kind: str, decimals: int | None = None) -> str:
    """``v`` in the style of ``kind``; ``n/a`` when missing. See the module docstring."""
    if _missing(v):
        return "n/a"
    d = DECIMALS[kind] if decimals is None else decimals
    x = float(v) * (100 if kind == "share" else 1)
    if round(x, d) == 0:
        x = 0.0  # no negative zero
    text = f"{x:,.{d}f}"
    return text + "%" if kind in ("share", "pct") else text


def signed(v, kind: str, decimals: int | None = None) -> str:
    """A change with its sign (``+1.2``, ``-3``, ``0``); shares as percentage points.

    >>> signed(0.012, "share"), signed(-2.0, "days"), signed(-0.01, "days")
    ('+1.2', '-2.0', '0.0')
    """
    text = fmt(v, kind, decimals).rstrip("%")
    return text if text.startswith("-") or text.strip("0.,") == "" else "+" + text


def kind_of(column: str) -> str | None:
    """The kind of a column from its name (days, ratio), or None when its name does not say."""
    name = str(column).lower()
    if name in _RATIOS or name.endswith("_ratio_x"):
        return "ratio"
    if name in _DAYS or name.endswith(("_days", "days_past_due")) or name.startswith("days_"):
        return "days"
    return None
