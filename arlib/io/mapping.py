"""Source values -> canonical values: column names, dates, amounts, flags, codes and ids.

Every parser is vectorised and returns the parsed values together with a mask of the values
it could not read (non-empty but unparseable). Empty cells become missing values and are left
for the frame contract to judge. Nothing is guessed: ambiguous dates such as ``03/04/2024``
are read only when ``source_options.dates`` says day-first or month-first.

>>> parse_dates(pd.Series(["2019-03-07", "20190307", 20190307.0, "07/03/2019"]))[0].dt.strftime("%Y-%m-%d").tolist()
['2019-03-07', '2019-03-07', '2019-03-07', nan]
>>> parse_amounts(pd.Series(["$1,234.50", "(12.00)", "1.234,50-", "EUR 7"]))[0].tolist()
[1234.5, -12.0, nan, 7.0]
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

_EMPTY = re.compile(r"^\s*$")
_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u3000": " "}


def norm_name(name: str) -> str:
    """A header compared loosely: case, spaces, punctuation and a BOM ignored.

    >>> norm_name(" Invoice-Date\\ufeff"), norm_name("invoice_date")
    ('invoicedate', 'invoicedate')
    """
    return re.sub(r"[\W_]+", "", str(name).replace("\ufeff", "")).casefold()


def _kind(s: pd.Series) -> str:
    """pandas' inferred kind of a column's values (``string``, ``integer``, ``mixed``, ...)."""
    return pd.api.types.infer_dtype(s, skipna=True)


def is_empty(s: pd.Series) -> np.ndarray:
    """True where a cell holds nothing: NaN/None/NaT or only whitespace."""
    out = s.isna().to_numpy()
    if s.dtype != object:
        return out
    kind = _kind(s)
    if kind in NO_TEXT:
        return out  # e.g. dates from a typed Parquet column: no cell can be blank text
    if kind == "string":
        return out | by_unique(s, lambda u: u.str.strip().eq("")).to_numpy(
            dtype=bool, na_value=False
        )
    obj = ~out & s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if obj.any():
        out[obj] = s[obj].str.strip().eq("").to_numpy()
    return out


_ODD_SPACE = re.compile("[" + "".join(_SPACES) + "]")


#: kinds of :func:`pandas.api.types.infer_dtype` that hold no ``str`` value (and no blank text)
NO_TEXT = frozenset(
    {"empty", "integer", "floating", "mixed-integer-float", "decimal", "complex", "boolean"}
    | {"datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period"}
)
#: rows sampled by :func:`by_unique` to judge whether a column repeats its values
_SAMPLE = 20_000


def by_unique(s: pd.Series, fn) -> pd.Series:
    """``fn(s)`` for an element-wise ``fn`` on a text column (``str`` or missing cells), worked
    out once per distinct value and spread back when the values repeat (customer ids, kinds,
    currencies, units); a column of mostly distinct values (invoice ids) is given to ``fn``
    whole. Both ways give the same values: every missing cell (None or NaN) stands for one
    missing value, as it does for every ``fn`` of this module.

    >>> by_unique(pd.Series([" a", "b ", " ", None] * 500), _strip_ids).tolist()[:4]
    ['a', 'b', None, None]
    """
    head = s.iloc[:_SAMPLE]
    if len(s) < 1_000 or head.nunique(dropna=False) > len(head) // 4:
        return fn(s)
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    done = fn(pd.Series(uniques.astype(object), dtype=object))
    return pd.Series(done.to_numpy()[codes], index=s.index, dtype=done.dtype, name=s.name)


#: a cell that :meth:`str.strip` would change or that is empty, between NUL separators (``\\s``
#: of a ``str`` pattern is :meth:`str.isspace`, the test :meth:`str.strip` uses)
_UNCLEAN = re.compile(r"(?:^|\x00)(?:\s|\x00|$)|\s(?:\x00|$)")


#: every character :meth:`str.isspace` says is whitespace (what :meth:`str.strip` removes;
#: Python 3.11's Unicode 14), for Arrow's regular expressions (RE2), whose ``\\s`` is ASCII
#: only; tests/test_load_fastpaths.py checks the list against every character
_ALL_SPACE = (
    r"\x{9}\x{a}\x{b}\x{c}\x{d}\x{1c}\x{1d}\x{1e}\x{1f}\x{20}\x{85}\x{a0}\x{1680}\x{2000}"
    r"\x{2001}\x{2002}\x{2003}\x{2004}\x{2005}\x{2006}\x{2007}\x{2008}\x{2009}\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
#: :data:`_UNCLEAN` for one cell in Arrow: whitespace at either end, or a NUL anywhere
_ARROW_UNCLEAN = rf"^[{_ALL_SPACE}]|[{_ALL_SPACE}]$|\x{{0}}"


def clean_text(values: list | np.ndarray) -> bool:
    """True when every value is a ``str`` that :meth:`str.strip` leaves as it is, not empty and
    without a NUL byte: tested in Arrow (C++, the whitespace of :meth:`str.isspace` listed),
    or by one search over the joined text for text Arrow cannot hold (lone surrogates); not a
    Python call a cell.

    >>> clean_text(["A-1", "B 2"]), clean_text(["A-1 "]), clean_text(["", "x"]), clean_text(["a" + chr(0)])
    (True, False, False, False)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return False  # not all text (Arrow would take bytes as text), or none
    try:
        arr = pa.array(values, type=pa.large_string())
    except (pa.ArrowException, UnicodeError):  # e.g. a lone surrogate: not UTF-8
        joined = "\x00".join(values)
        return joined.count("\x00") == len(values) - 1 and not _UNCLEAN.search(joined)
    return (
        pc.min(pc.binary_length(arr)).as_py() > 0
        and not pc.any(pc.match_substring_regex(arr, _ARROW_UNCLEAN)).as_py()
    )


def _strip_ids(s: pd.Series) -> pd.Series:
    present = s.notna()
    if clean_text(s[present].to_numpy()):  # mostly distinct ids, as exported: nothing to strip
        return s.where(present, None).astype(object)
    t = s.str.strip()
    return t.where(t.notna() & t.ne(""), None).astype(object)


def _text(s: pd.Series) -> pd.Series:
    t = s.astype(str)
    if t.str.contains(_ODD_SPACE).any():
        t = t.str.replace(_ODD_SPACE, " ", regex=True)
    return t.str.strip()


def parse_ids(s: pd.Series) -> pd.Series:
    """Identifiers as text; whole numbers lose a trailing ``.0`` (Excel reads ids as floats).

    >>> parse_ids(pd.Series([12345.0, " A-1 ", None, "007"])).tolist()
    ['12345', 'A-1', None, '007']
    """
    kind = _kind(s)
    if kind in ("string", "empty") and s.dtype == object:
        return by_unique(s, _strip_ids)
    if kind == "integer" and pd.api.types.is_integer_dtype(s):
        return s.astype(str).astype(object)

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        text = str(v).strip()
        return text or None

    return pd.Series([one(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype=object)


# -- dates -----------------------------------------------------------------------------------
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DMY = re.compile(r"^(\d{1,2})[./\- ](\d{1,2})[./\- ](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_YMD8 = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\.0*)?$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: dates outside pandas' range (e.g. SAP's 9999-12-31 for "never") are unreadable, not a crash
_FIRST, _LAST = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")


def _from_parts(y, m, d) -> pd.Series:
    y, m, d = (pd.to_numeric(v) for v in (y, m, d))
    ok = (y >= _FIRST.year) & (y <= _LAST.year)  # within those years pandas coerces overflow to NaT
    frame = pd.DataFrame({"year": y.where(ok, 2000), "month": m, "day": d})
    return pd.to_datetime(frame, errors="coerce").where(ok)


def _strings(text: pd.Series, fmt: str) -> pd.Series:
    """Parse strings in one format; NaT where they do not match."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if text.empty:
        return out
    if fmt in ("auto", "iso"):
        fast = text.str.len().eq(10)
        out[fast] = pd.to_datetime(text[fast], format="%Y-%m-%d", errors="coerce")
        slow = out.isna()
        m = text[slow].str.extract(_ISO)
        ok = m[0].notna()
        out[ok[ok].index] = _from_parts(m[0][ok], m[1][ok], m[2][ok])
    if fmt in ("auto", "yyyymmdd"):
        m = text.str.extract(_YMD8)
        ok = m[0].notna() & out.isna()
        out[ok] = _from_parts(m[0][ok], m[1][ok], m[2][ok])
    if fmt in ("dayfirst", "monthfirst"):
        m = text.str.extract(_DMY)
        ok = m[0].notna()
        day, month = (m[0], m[1]) if fmt == "dayfirst" else (m[1], m[0])
        out[ok] = _from_parts(m[2][ok], month[ok], day[ok])
    if fmt == "excel":
        ok = text.str.fullmatch(_SERIAL)
        out[ok] = excel_serial(pd.to_numeric(text[ok]))
    if "%" in fmt:
        out = pd.to_datetime(text, format=fmt, errors="coerce")  # out-of-range dates become NaT
    return out


def excel_serial(days: pd.Series) -> pd.Series:
    """Excel serial day numbers (1900 system, as Excel and LibreOffice write them) -> dates.

    >>> excel_serial(pd.Series([43531.0, 43531.75])).dt.strftime("%Y-%m-%d").tolist()
    ['2019-03-07', '2019-03-07']
    """
    days = np.floor(pd.to_numeric(days, errors="coerce"))
    last = (_LAST.to_pydatetime() - EXCEL_EPOCH.to_pydatetime()).days
    days = days.where((days >= 1) & (days <= last))  # beyond: unreadable, and no overflow
    day = np.datetime64("1899-12-30") + days.fillna(0).to_numpy(dtype=np.int64).astype(
        "timedelta64[D]"
    )
    return pd.Series(day.astype("datetime64[ns]"), index=days.index).where(days.notna())


def parse_dates(s: pd.Series, fmt: str = "auto") -> tuple[pd.Series, np.ndarray]:
    """Dates (time of day dropped) and a mask of cells that are not dates in ``fmt``.

    ``fmt``: ``auto`` (native dates, ISO ``YYYY-MM-DD`` and ``YYYYMMDD`` as text, integer or
    float), ``iso``, ``dayfirst`` (``07/03/2019``, ``07.03.2019``), ``monthfirst``,
    ``yyyymmdd``, ``excel`` (serial numbers) or a ``strptime`` pattern.
    """
    empty = is_empty(s)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(s):
        out = (
            pd.to_datetime(s).dt.tz_localize(None)
            if getattr(s.dt, "tz", None)
            else pd.to_datetime(s)
        )
        return out.dt.normalize(), np.zeros(len(s), dtype=bool)
    values = s.to_numpy(dtype=object)
    kind = _kind(s)
    if kind == "string":
        if fmt in ("auto", "iso"):  # the common case, at C speed
            out = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
        rest = ~empty & out.isna().to_numpy()
        if rest.any():
            out[rest] = _strings(_text(s[rest]), fmt)
        return out.dt.normalize(), ~empty & out.isna().to_numpy()
    if kind in ("date", "datetime"):  # only date objects (a typed Parquet column): no test per cell
        native = ~empty
    else:
        native = ~empty & np.array(
            [isinstance(v, dt.date | pd.Timestamp | np.datetime64) for v in values], dtype=bool
        )
    if native.any():
        out[native] = pd.to_datetime(
            pd.Series(values[native], index=s.index[native]), errors="coerce"
        )
    number = np.zeros(len(s), dtype=bool)
    if kind not in ("date", "datetime"):
        number = ~empty & np.array(
            [isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values],
            dtype=bool,
        )
    if number.any():
        nums = pd.to_numeric(pd.Series(values[number], index=s.index[number]))
        if fmt == "excel":
            out[number] = excel_serial(nums)
        elif fmt in ("auto", "yyyymmdd"):
            whole = nums.where(nums == np.floor(nums))
            text = whole.map(lambda v: "" if pd.isna(v) else str(int(v)))
            out[number] = _strings(text, "yyyymmdd")
    rest = ~native & ~number & ~empty
    if rest.any():
        out[rest] = _strings(_text(pd.Series(values[rest], index=s.index[rest])), fmt)
    bad = ~empty & out.isna().to_numpy()
    return out.dt.normalize(), bad


def date_hint(samples: list) -> str:
    """A guess at the format of unreadable dates, for the error message (never applied)."""
    text = [str(v).strip() for v in samples]
    parts = [m.groups() for m in map(_DMY.match, text) if m]
    if not parts:
        if text and all(_SERIAL.fullmatch(t) for t in text):
            return "excel"
        return ""
    if any(int(a) > 12 for a, _, _ in parts):
        return "dayfirst"
    if any(int(b) > 12 for _, b, _ in parts):
        return "monthfirst"
    return "dayfirst or monthfirst"


# -- amounts ---------------------------------------------------------------------------------
_CUR = r"[^\d\s.,()+\-']{1,4}"


def _amount_re(decimal: str) -> re.Pattern:
    thousands = r"[,' ]" if decimal == "." else r"[.' ]"
    dec = re.escape(decimal)
    number = rf"\d{{1,3}}(?:{thousands}\d{{3}})+(?:{dec}\d+)?|\d+(?:{dec}\d*)?|{dec}\d+"
    return re.compile(
        rf"^(?P<lp>\()?\s*(?P<s1>[+-])?\s*(?:{_CUR})?\s*(?P<lp2>\()?\s*(?P<s2>[+-])?\s*(?P<num>{number})\s*"
        rf"(?:{_CUR})?\s*(?P<tm>-)?\s*(?P<rp>\))?$"
    )


def parse_amounts(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, np.ndarray]:
    """Numbers from text with thousands separators, currency symbols or codes before or after,
    parentheses or a trailing minus for negatives (``(1,234.50)``, ``1.234,50-`` with
    ``decimal=","``). Separators must group digits by three, so ``1,23`` is not read as 123.
    """
    empty = is_empty(s)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return pd.to_numeric(s).astype(float), np.zeros(len(s), dtype=bool)
    values = s.to_numpy(dtype=object)
    out = np.full(len(s), np.nan)
    number = np.array(
        [isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values],
        dtype=bool,
    )
    if number.any():
        out[number] = values[number].astype(float)
    text_mask = ~number & ~empty
    if text_mask.any():
        m = _text(pd.Series(values[text_mask])).str.extract(_amount_re(decimal))
        sep = "." if decimal == "," else ","
        digits = m["num"].str.replace(r"[' ]", "", regex=True).str.replace(sep, "", regex=False)
        digits = digits.str.replace(decimal, ".", regex=False)
        paren = m["lp"].notna().astype(int) + m["lp2"].notna().astype(int)
        negs = (
            (m["s1"] == "-").astype(int)
            + (m["s2"] == "-").astype(int)
            + m["tm"].notna().astype(int)
            + paren
        )
        balanced = paren == m["rp"].notna().astype(int)
        ok = m["num"].notna() & balanced & (negs <= 1)
        val = pd.to_numeric(digits.where(ok), errors="coerce") * np.where(negs == 1, -1.0, 1.0)
        out[text_mask] = val.to_numpy()
    bad = ~empty & np.isnan(out)
    return pd.Series(out, index=s.index), bad


_CORE = re.compile(r"(\d[\d.,' ]*\d|\d)")


def decimal_evidence(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Per text cell, the decimal separator its own digits prove (``"."``, ``","`` or None)
    and a mask of cells that could be read either way (``1.250``, ``1,250``: one separator
    followed by exactly three digits). Native numbers prove nothing and are never ambiguous.

    >>> ev, amb = decimal_evidence(pd.Series(["1.250", "1.250,50", "12,5", "1,000,000", "7", 3.5]))
    >>> ev.tolist(), amb.tolist()
    ([None, ',', ',', '.', None, None], [True, False, False, False, False, False])
    """
    text = pd.Series(
        [v if isinstance(v, str) else "" for v in s.to_numpy(dtype=object)], index=s.index
    )
    core = text.str.extract(_CORE, expand=False).fillna("").str.replace(r"[' ]", "", regex=True)
    dots, commas = core.str.count(r"\."), core.str.count(",")
    last = core.str.extract(r"([.,])(\d*)$")
    tail = last[1].fillna("").str.len()
    ev = pd.Series(None, index=s.index, dtype=object)
    both = (dots > 0) & (commas > 0)
    ev[both] = last[0][both]
    for sep, n, other in ((".", dots, ","), (",", commas, ".")):
        alone = (n > 0) & ~both
        ev[alone & (n > 1)] = other  # repeated: it groups thousands
        ev[alone & (n == 1) & (tail != 3)] = sep  # one, not followed by three digits: decimal
    ambiguous = (~both & ((dots + commas) == 1) & (tail == 3)).to_numpy()
    return ev.astype(object).where(ev.notna(), None), ambiguous


def to_cents(values) -> np.ndarray:
    """Amounts -> integer cents (exact for |amount| up to ~9e13; larger ones are refused
    earlier by ``source_options.amounts.max_abs``); NaN counts as 0.

    >>> int(to_cents(pd.Series([0.1] * 10 + [float("nan")])).sum())
    100
    """
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.round(v * 100).astype(np.int64)


def round_cents(values: pd.Series, odd: np.ndarray) -> pd.Series:
    """Amounts to the cent: float noise away everywhere, and the ``odd`` ones (more than two
    decimals) half away from zero on their shortest decimal form, as a controller rounds by hand
    (``100.125`` -> 100.13, ``80.505`` -> 80.51; binary rounding would give 100.12 and 80.50).

    >>> round_cents(pd.Series([100.125, 80.505, -0.125, 0.29]), np.array([True, True, True, False])).tolist()
    [100.13, 80.51, -0.13, 0.29]
    """
    out = values.round(2)
    if odd.any():
        half_up = [
            float(Decimal(repr(float(v))).quantize(Decimal("0.01"), ROUND_HALF_UP))
            for v in values.to_numpy()[odd]
        ]
        out[odd] = half_up
    return out


def sub_cent(values) -> np.ndarray:
    """True where an amount has more than two decimals (beyond float noise).

    >>> sub_cent(pd.Series([1.255, 0.29, 80.5, float("nan")])).tolist()
    [True, False, False, False]
    """
    c = np.asarray(values, dtype=float) * 100
    with np.errstate(invalid="ignore"):
        return np.abs(c - np.round(c)) > 4 * np.spacing(np.abs(c)) + 1e-9


# -- flags and codes -------------------------------------------------------------------------
TRUE_WORDS = ("yes", "y", "true", "t", "1", "x", "ja", "oui", "si", "是", "1.0")
FALSE_WORDS = ("no", "n", "false", "f", "0", "nein", "non", "否", "0.0", "")


def parse_bool(s: pd.Series, mapping: dict | None = None) -> tuple[pd.Series, np.ndarray]:
    """Flags: the explicit ``mapping`` first, then yes/no words (empty means false).

    >>> parse_bool(pd.Series(["Yes", "no", None, "maybe"]))[0].tolist()
    [True, False, False, None]
    """
    if pd.api.types.is_bool_dtype(s):
        return s.astype(object), np.zeros(len(s), dtype=bool)
    if _kind(s) == "string":  # text only: worked out once per distinct value
        out = by_unique(s, lambda u: _bool_words(u, mapping))
        return out, out.isna().to_numpy()
    out = _bool_words(s, mapping)
    native = s.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    out[native] = s[native].astype(bool)
    out = out.astype(object).where(out.notna(), None)
    return out, out.isna().to_numpy()


def _bool_words(s: pd.Series, mapping: dict | None) -> pd.Series:
    """Flags from text: the explicit ``mapping``, then yes/no words; None where neither."""
    words = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}
    keys = parse_ids(s).fillna("")
    out = keys.map({str(k): bool(v) for k, v in (mapping or {}).items()}).astype(object)
    rest = out.isna()
    out[rest] = keys[rest].str.casefold().map(words)
    return out.astype(object).where(out.notna(), None)


def map_codes(
    s: pd.Series, mapping: dict | None, domain: tuple | None = None, upper: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Codes through an explicit mapping (exact, then case-insensitive); with a ``domain``, the
    values outside it are flagged. Empty cells stay missing (not flagged).

    >>> map_codes(pd.Series(["ZAH", "Payment", "?"]), {"ZAH": "payment"}, ("payment",))[0].tolist()
    ['payment', 'payment', None]
    """
    codes = lambda u: _codes(u, mapping, domain, upper)  # noqa: E731
    out = by_unique(s, codes) if _kind(s) == "string" else codes(s)  # text: once per value
    return out, (out.isna() & parse_ids(s).notna()).to_numpy()


def _codes(s: pd.Series, mapping: dict | None, domain: tuple | None, upper: bool) -> pd.Series:
    """:func:`map_codes`' values (None where unmapped or empty)."""
    mapping = {str(k): v for k, v in (mapping or {}).items()}
    folded = {k.casefold(): v for k, v in mapping.items()}
    if domain:
        folded.update({d.casefold(): d for d in domain if d.casefold() not in folded})
    ids = parse_ids(s)
    out = ids.map(mapping).astype(object)
    rest = out.isna() & ids.notna()
    if rest.any():
        out[rest] = ids[rest].str.casefold().map(folded)
    if not domain:
        keep = out.isna() & ids.notna()
        out[keep] = ids[keep].str.upper() if upper else ids[keep]
    return out.astype(object).where(out.notna(), None)


# -- column names ----------------------------------------------------------------------------
def resolve_columns(
    frame: str, found: list[str], explicit: dict[str, str], soft: dict | None = None
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Source -> canonical column names for one frame.

    Explicit entries (``source_options.columns.<frame>``) match a header exactly, else loosely
    (:func:`norm_name`); then a preset's ``soft`` spellings ({canonical: headers}, the first
    header present wins, none present is no error); a header that loosely equals a canonical
    name is mapped to it unless that name is taken. Returns ``(rename, missing, auto)``: ``missing`` maps canonical names to
    configured source names that are not in the file; ``auto`` lists headers matched by name.

    >>> resolve_columns("invoices", ["customerID", "Betrag", "InvoiceDate"], {"Betrag": "amount"})
    ({'Betrag': 'amount', 'customerID': 'customer_id', 'InvoiceDate': 'invoice_date'}, {}, ['customerID', 'InvoiceDate'])
    """
    from arlib.io.options import TARGETS

    loose: dict[str, list[str]] = {}
    for col in found:
        loose.setdefault(norm_name(col), []).append(col)
    rename: dict[str, str] = {}
    missing: dict[str, str] = {}
    for src, target in explicit.items():
        if src in found:
            rename[src] = target
        elif len(loose.get(norm_name(src), [])) == 1 and loose[norm_name(src)][0] not in rename:
            rename[loose[norm_name(src)][0]] = target
        else:
            missing[target] = src
    taken = set(rename.values()) | set(missing)
    for target, headers in (soft or {}).items():
        hit = next((h for h in headers if _one_free(h, found, loose, rename)), None)
        if target not in taken and hit is not None:
            rename[_one_free(hit, found, loose, rename)] = target
            taken.add(target)
    canonical = {norm_name(t): t for t in TARGETS[frame]}
    auto = []
    for col in found:
        target = canonical.get(norm_name(col))
        if col not in rename and target and target not in taken:
            rename[col] = target
            taken.add(target)
            auto.append(col)
    return rename, missing, auto


def _one_free(header: str, found: list[str], loose: dict, rename: dict) -> str | None:
    """The file's header matching ``header`` exactly, else its one loose match, if not yet mapped."""
    if header in found:
        return header if header not in rename else None
    same = loose.get(norm_name(header), [])
    return same[0] if len(same) == 1 and same[0] not in rename else None
