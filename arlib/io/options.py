"""The ``source_options`` and ``validation_policy`` parameters: their keys, defaults and checks.

``source_options`` says *how* to read ``source``; every key is optional (README, "Pointing a
business unit at your data"). Per-frame keys take a mapping ``{frame: value}``; file-reading
keys take one value for every frame or such a mapping. Frames are ``invoices``,
``transactions``, ``customers``, ``fx_rates`` and ``collector_notes``.

A key that does not exist is an error naming the nearest valid one:

>>> parse_source_options({"colums": {}})
Traceback (most recent call last):
...
arlib.errors.ConfigError: parameter source_options.colums: is not a source option; did you mean 'columns'?
>>> parse_policy({"bad_date": "quarantine"})["bad_date"], parse_policy({})["duplicate_row"]
('quarantine', 'quarantine')
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from arlib.errors import ConfigError
from arlib.io.presets import apply_preset
from arlib.schemas import COLUMNS, CUSTOMER_STATUSES, NOTE_COLUMNS, TXN_KINDS, C

FX_RATES = "fx_rates"
COLLECTOR_NOTES = "collector_notes"
FRAME_NAMES = (*COLUMNS, FX_RATES, COLLECTOR_NOTES)
RATE = "rate"
#: canonical columns each frame may be mapped to (extras beyond the schema: see README)
TARGETS: dict[str, tuple[str, ...]] = {
    **COLUMNS,
    FX_RATES: (C.currency, C.date, RATE),
    COLLECTOR_NOTES: NOTE_COLUMNS,
}
TARGETS["invoices"] += (C.settled_date, C.name, C.segment)  # name, segment: derived customers
TARGETS["transactions"] += (C.currency,)
DATE_COLUMNS = (
    C.invoice_date,
    C.due_date,
    C.settled_date,
    C.date,
    C.status_since,
    C.promise_date,
)
DATE_FORMATS = ("auto", "iso", "dayfirst", "monthfirst", "yyyymmdd", "excel")
PER_FRAME_FILE_KEYS = ("sheet", "header_row", "footer_rows", "encoding", "delimiter")
FRAME_MODES = {
    "transactions": ("read", "none", "settled_date"),
    "customers": ("auto", "read", "none", "derive"),
}
AMOUNT_KEYS = ("decimal", "flip_sign", "max_abs")
#: the largest plausible amount: beyond it an amount is a data problem, and float cents stop
#: being exact (2**53 cents ~ 9e13); override with source_options.amounts.max_abs
MAX_ABS = 1e12
FX_QUOTES = ("reporting_per_foreign", "foreign_per_reporting")
#: ``source_options.cache``: parse a big CSV once into a per-unit Parquet copy (arlib.io.filecache)
CACHE_MODES = ("auto", "always", "never")

FAIL, QUARANTINE, WARN = "fail", "quarantine", "warn"
_ROW_ONLY = (FAIL, QUARANTINE)
_ANY = (FAIL, QUARANTINE, WARN)
#: problem -> (default policy, allowed policies, what it means)
PROBLEMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "missing_value": (FAIL, _ROW_ONLY, "a required value (id, date, amount) is empty"),
    "bad_date": (FAIL, _ROW_ONLY, "a date cannot be read in the configured format"),
    "bad_amount": (FAIL, _ROW_ONLY, "an amount cannot be read as a number"),
    "bad_value": (FAIL, _ROW_ONLY, "a flag, kind, status or currency is not a known value"),
    "negative_amount": (FAIL, _ROW_ONLY, "an invoice amount < 0, or a transaction amount <= 0"),
    "sub_cent_amount": (
        FAIL,
        _ANY,
        "an amount has more than two decimals (warn: rounded to the cent and listed)",
    ),
    "implausible_amount": (
        FAIL,
        _ROW_ONLY,
        "an amount is larger than source_options.amounts.max_abs (default 1e12)",
    ),
    "duplicate_row": (QUARANTINE, _ROW_ONLY, "a row is an exact copy of an earlier row"),
    "duplicate_id": (
        FAIL,
        _ROW_ONLY,
        "an invoice, transaction or customer id repeats with other contents",
    ),
    "due_before_invoice": (QUARANTINE, _ROW_ONLY, "an invoice is due before it is dated"),
    "payment_before_invoice": (WARN, _ANY, "a transaction is dated before its invoice"),
    "overpayment": (WARN, _ANY, "settlements exceed the invoice amount"),
    "unknown_invoice": (QUARANTINE, _ANY, "a transaction names an invoice that is not in the data"),
    "unknown_customer": (WARN, _ANY, "a customer id is not in the customers frame"),
    "future_dated": (WARN, _ANY, "an invoice or transaction is dated after as_of"),
    "bad_note": (
        QUARANTINE,
        _ANY,
        "a collector note names an unknown customer or invoice, promises before its date, "
        "or promises a negative amount",
    ),
}
#: problems with a fixed policy (not settable): always quarantine / always fail
CASCADE = "invoice_quarantined"
MISSING_FX = "missing_fx_rate"


@dataclass(frozen=True)
class SourceOptions:
    """Validated ``source_options``; see the module docstring and the README for each key."""

    files: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)
    file_keys: dict[str, Any] = field(default_factory=dict)  # PER_FRAME_FILE_KEYS, as given
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)  # column -> format; "*" -> default
    decimal: str = "."
    decimal_given: bool = False  # False: "." is assumed, and a column that could be "," is refused
    max_abs: float = MAX_ABS
    flip_sign: tuple[str, ...] = ()
    constants: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, str] = field(
        default_factory=lambda: {"transactions": "read", "customers": "auto"}
    )
    one_unit: bool = False
    fx_quote: str = "reporting_per_foreign"
    fx_max_age_days: int = 7
    url_env: str | None = None
    password_env: str | None = None
    #: a preset's header spellings {frame: {canonical: headers}}, used when present (io.presets)
    soft_columns: dict[str, Any] = field(default_factory=dict)
    #: rows with no invoice id and no dates (titles, headings, subtotals) are noted, not read
    skip_layout_rows: bool = False
    #: canonical column named by one-cell heading rows for the rows below (Xero's contacts)
    heading_rows: str | None = None
    cache: str = "auto"

    def file_option(self, frame: str, key: str, default: Any = None) -> Any:
        """A file-reading option (``sheet``, ``header_row``, ...) for one frame."""
        value = self.file_keys.get(key)
        if isinstance(value, dict):
            return value.get(frame, default)
        return default if value is None else value

    def date_format(self, column: str) -> str:
        return self.dates.get(column, self.dates.get("*", "auto"))


def _error(key: str, problem: str) -> ConfigError:
    return ConfigError(key, problem)


def _nearest(word: str, valid, what: str) -> str:
    near = difflib.get_close_matches(str(word), list(valid), n=1, cutoff=0.5)
    return (
        f"is not {what}; did you mean {near[0]!r}?"
        if near
        else f"is not {what}; valid: {', '.join(map(str, valid))}"
    )


def _mapping(raw: Any, key: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _error(key, f"must be a mapping, got {type(raw).__name__} {raw!r}")
    return raw


def _frame_map(raw: Any, key: str, value_type=str, frames=FRAME_NAMES) -> dict:
    out = {}
    for frame, value in _mapping(raw, key).items():
        if frame not in frames:
            raise _error(f"{key}.{frame}", _nearest(frame, frames, "a frame"))
        if not isinstance(value, value_type):
            raise _error(f"{key}.{frame}", f"must be {value_type.__name__}, got {value!r}")
        out[frame] = value
    return out


def _columns(raw: Any) -> dict[str, dict[str, str]]:
    out = _frame_map(raw, "source_options.columns", dict)
    for frame, mapping in out.items():
        seen: dict[str, str] = {}
        for src, target in mapping.items():
            key = f"source_options.columns.{frame}"
            if target not in TARGETS[frame]:
                raise _error(
                    key,
                    f"{target!r} (for source column {src!r}) "
                    + _nearest(target, TARGETS[frame], f"a column of {frame}"),
                )
            if target in seen:
                raise _error(
                    key,
                    f"source columns {seen[target]!r} and {src!r} are both mapped to {target!r}",
                )
            seen[target] = str(src)
        out[frame] = {str(k): v for k, v in mapping.items()}
    return out


_ALL_TARGETS = sorted({c for cols in TARGETS.values() for c in cols})
_VALUE_DOMAINS = {C.kind: TXN_KINDS, C.status: CUSTOMER_STATUSES}


def _values(raw: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for column, mapping in _mapping(raw, "source_options.values").items():
        key = f"source_options.values.{column}"
        if column not in _ALL_TARGETS:
            raise _error(key, _nearest(column, _ALL_TARGETS, "a canonical column"))
        mapping = _mapping(mapping, key)
        for src, value in mapping.items():
            if column == C.disputed and not isinstance(value, bool):
                raise _error(key, f"{src!r} must map to true or false, got {value!r}")
            domain = _VALUE_DOMAINS.get(column)
            if domain and value not in domain:
                raise _error(
                    key,
                    f"{src!r} maps to {value!r}, which "
                    + _nearest(value, domain, f"a valid {column}"),
                )
        out[column] = {str(k).strip(): v for k, v in mapping.items()}
    return out


def _check_date_format(fmt: Any, key: str) -> str:
    if not isinstance(fmt, str) or not (fmt in DATE_FORMATS or "%" in fmt):
        text = str(fmt).lower()
        guess = (
            "dayfirst" if text.startswith("d") else "monthfirst" if text.startswith("m") else None
        )
        hint = (
            f"is not a date format; did you mean {guess!r}?"
            if guess
            else _nearest(fmt, DATE_FORMATS, "a date format")
        )
        raise _error(key, f"{fmt!r} {hint} (or a pattern such as '%d.%m.%Y')")
    return fmt


def _dates(raw: Any) -> dict[str, str]:
    if isinstance(raw, str):
        return {"*": _check_date_format(raw, "source_options.dates")}
    out = {}
    for column, fmt in _mapping(raw, "source_options.dates").items():
        key = f"source_options.dates.{column}"
        if column not in DATE_COLUMNS and column != "*":
            raise _error(key, _nearest(column, DATE_COLUMNS, "a date column"))
        out[column] = _check_date_format(fmt, key)
    return out


def _file_keys(raw: dict) -> dict[str, Any]:
    checks = {
        "sheet": (str, int),
        "header_row": (int, str),
        "footer_rows": int,
        "encoding": str,
        "delimiter": str,
    }
    out = {}
    for name in PER_FRAME_FILE_KEYS:
        if name not in raw:
            continue
        value, key = raw[name], f"source_options.{name}"
        values = _frame_map(value, key, checks[name]) if isinstance(value, dict) else {"*": value}
        for frame, v in values.items():
            where = key if frame == "*" else f"{key}.{frame}"
            if not isinstance(v, checks[name]) or isinstance(v, bool):
                raise _error(where, f"has the wrong type: {v!r}")
            if name == "header_row" and isinstance(v, str) and v != "auto":
                raise _error(where, f"is a 1-based row number or 'auto', got {v!r}")
            if name == "header_row" and isinstance(v, int) and v < 1:
                raise _error(where, f"is the 1-based row number of the header, got {v}")
            if name == "footer_rows" and v < 0:
                raise _error(where, f"must be >= 0, got {v}")
            if name == "delimiter" and len(v) != 1 and v != "auto":
                raise _error(where, f"must be one character or 'auto', got {v!r}")
        out[name] = value
    return out


def _check_constant(column: str, value: Any) -> None:
    key = f"source_options.constants.{column}"
    if column not in _ALL_TARGETS:
        raise _error(key, _nearest(column, _ALL_TARGETS, "a canonical column"))
    if column in DATE_COLUMNS or column in (C.amount, C.invoice_id, C.txn_id, C.customer_id, RATE):
        raise _error(
            key,
            f"{column} cannot be a constant: it differs from row to row; map a source column to it",
        )
    ok = {
        C.disputed: isinstance(value, bool),
        C.terms_days: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        C.credit_limit: isinstance(value, int | float)
        and not isinstance(value, bool)
        and value >= 0,
        C.currency: isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value) is not None,
        C.kind: value in TXN_KINDS,
        C.status: value in CUSTOMER_STATUSES,
    }.get(column, isinstance(value, str))
    if not ok:
        raise _error(key, f"{value!r} is not a valid {column}")


def _check_invoice_customer_columns(columns: Any, customers_mode: str) -> None:
    """Customer names and segments on the invoices describe customers derived from them."""
    mapped = columns.get("invoices") if isinstance(columns, dict) else None
    taken = [c for c in (C.name, C.segment) if isinstance(mapped, dict) and c in mapped.values()]
    if taken and customers_mode != "derive":
        raise _error(
            "source_options.columns.invoices",
            f"maps {' and '.join(taken)}, which describe customers: set "
            "source_options.frames.customers: derive (customers from the invoices), or map them "
            "in source_options.columns.customers",
        )


_TOP = (
    "files",
    "tables",
    "queries",
    *PER_FRAME_FILE_KEYS,
    "columns",
    "values",
    "dates",
    "amounts",
    "constants",
    "frames",
    "one_unit",
    "fx",
    "url_env",
    "password_env",
    "skip_layout_rows",
    "heading_rows",
    "cache",
)


def parse_source_options(raw: dict | None, preset: str | None = None) -> SourceOptions:
    """Validate the ``source_options`` mapping over the defaults of ``preset`` (``source_preset``,
    :mod:`arlib.io.presets`); raise :class:`ConfigError` naming the key."""
    raw, soft = apply_preset(preset, _mapping(raw, "source_options"))
    for key in raw:
        if key not in _TOP:
            raise _error(f"source_options.{key}", _nearest(key, _TOP, "a source option"))
    amounts = _mapping(raw.get("amounts"), "source_options.amounts")
    for key in amounts:
        if key not in AMOUNT_KEYS:
            raise _error(
                f"source_options.amounts.{key}", _nearest(key, AMOUNT_KEYS, "an amounts option")
            )
    max_abs = amounts.get("max_abs", MAX_ABS)
    if (
        not isinstance(max_abs, int | float)
        or isinstance(max_abs, bool)
        or not 0 < max_abs <= MAX_ABS * 10
    ):
        raise _error(
            "source_options.amounts.max_abs",
            f"must be a number > 0 and at most {MAX_ABS * 10:g} (cents stay exact), got {max_abs!r}",
        )
    decimal = amounts.get("decimal", ".")
    if decimal not in (".", ","):
        raise _error("source_options.amounts.decimal", f"must be '.' or ',', got {decimal!r}")
    flip = amounts.get("flip_sign", [])
    flip = [flip] if isinstance(flip, str) else flip
    for frame in flip:
        if frame not in ("invoices", "transactions"):
            raise _error(
                "source_options.amounts.flip_sign",
                f"{frame!r} "
                + _nearest(frame, ("invoices", "transactions"), "a frame with amounts"),
            )
    frames = {"transactions": "read", "customers": "auto"}
    for frame, mode in _frame_map(
        raw.get("frames"), "source_options.frames", str, tuple(FRAME_MODES)
    ).items():
        if mode not in FRAME_MODES[frame]:
            raise _error(
                f"source_options.frames.{frame}",
                f"{mode!r} " + _nearest(mode, FRAME_MODES[frame], "a mode"),
            )
        frames[frame] = mode
    _check_invoice_customer_columns(raw.get("columns"), frames["customers"])
    fx = _mapping(raw.get("fx"), "source_options.fx")
    for key in fx:
        if key not in ("quote", "max_age_days"):
            raise _error(
                f"source_options.fx.{key}", _nearest(key, ("quote", "max_age_days"), "an fx option")
            )
    quote = fx.get("quote", "reporting_per_foreign")
    if quote not in FX_QUOTES:
        raise _error(
            "source_options.fx.quote",
            f"{quote!r} " + _nearest(quote, FX_QUOTES, "a quote convention"),
        )
    age = fx.get("max_age_days", 7)
    if not isinstance(age, int) or isinstance(age, bool) or age < 0:
        raise _error(
            "source_options.fx.max_age_days", f"must be a whole number of days >= 0, got {age!r}"
        )
    constants = _mapping(raw.get("constants"), "source_options.constants")
    for column, value in constants.items():
        _check_constant(column, value)
    for key in ("url_env", "password_env"):
        name = raw.get(key)
        if name is not None and not (
            isinstance(name, str) and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name)
        ):
            # never echo the value: a password pasted here by mistake must not reach the reports
            raise _error(
                f"source_options.{key}",
                "must be the NAME of an environment variable in capitals, "
                "such as ARLIB_PG_PASSWORD (the value given is not shown)",
            )
    for key in ("one_unit", "skip_layout_rows"):
        if not isinstance(raw.get(key, False), bool):
            raise _error(f"source_options.{key}", f"must be true or false, got {raw[key]!r}")
    heading = raw.get("heading_rows")
    if heading is not None and heading not in (C.customer_id, C.name, C.segment):
        raise _error(
            "source_options.heading_rows",
            f"{heading!r} " + _nearest(heading, (C.customer_id, C.name, C.segment), "a column"),
        )
    cache = raw.get("cache", "auto")
    if cache not in CACHE_MODES:
        raise _error("source_options.cache", f"{cache!r} " + _nearest(cache, CACHE_MODES, "a mode"))
    queries = _frame_map(raw.get("queries"), "source_options.queries")
    return SourceOptions(
        files=_frame_map(raw.get("files"), "source_options.files"),
        tables=_frame_map(raw.get("tables"), "source_options.tables"),
        queries=queries,
        file_keys=_file_keys(raw),
        columns=_columns(raw.get("columns")),
        values=_values(raw.get("values")),
        dates=_dates(raw.get("dates")),
        decimal=decimal,
        decimal_given="decimal" in amounts,
        max_abs=float(max_abs),
        flip_sign=tuple(flip),
        constants=dict(constants),
        frames=frames,
        one_unit=raw.get("one_unit", False),
        fx_quote=quote,
        fx_max_age_days=age,
        url_env=raw.get("url_env"),
        password_env=raw.get("password_env"),
        soft_columns=soft,
        skip_layout_rows=raw.get("skip_layout_rows", False),
        heading_rows=heading,
        cache=cache,
    )


def parse_policy(raw: dict | None) -> MappingProxyType:
    """``validation_policy`` merged over the defaults of :data:`PROBLEMS` (problem -> policy)."""
    raw = _mapping(raw, "validation_policy")
    out = {name: spec[0] for name, spec in PROBLEMS.items()}
    for name, policy in raw.items():
        key = f"validation_policy.{name}"
        if name not in PROBLEMS:
            raise _error(key, _nearest(name, PROBLEMS, "a data problem"))
        allowed = PROBLEMS[name][1]
        if policy not in allowed:
            raise _error(key, f"must be one of {', '.join(allowed)}; got {policy!r}")
        out[name] = policy
    return MappingProxyType(out)
