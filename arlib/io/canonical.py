"""Raw frames -> canonical frames: names mapped, values parsed, absent columns defaulted.

Each parsed frame keeps the source values beside it (same row positions) so that quarantined
rows are written exactly as they were read, and every unreadable cell becomes a
:class:`~arlib.io.validate.Finding` (bad date, bad amount, unmapped value) rather than an
exception: one run lists them all. A missing required column is a :class:`DataError` at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from arlib.errors import DataError
from arlib.io.mapping import (
    by_unique,
    decimal_evidence,
    map_codes,
    norm_name,
    parse_amounts,
    parse_bool,
    parse_dates,
    parse_ids,
    resolve_columns,
    round_cents,
    sub_cent,
)
from arlib.io.options import COLLECTOR_NOTES, FX_RATES, RATE, TARGETS, SourceOptions
from arlib.io.sources import ROW, Raw
from arlib.io.validate import Finding, finding, invoice_positions, take_at
from arlib.schemas import CUSTOMER_STATUSES, PAYMENT, TXN_KINDS, C

REQUIRED = {
    "invoices": (
        C.invoice_id,
        C.business_unit,
        C.customer_id,
        C.invoice_date,
        C.due_date,
        C.amount,
    ),
    "transactions": (C.business_unit, C.date, C.amount),
    "customers": (C.customer_id,),
    FX_RATES: (C.currency, C.date, RATE),
    COLLECTOR_NOTES: (C.date,),
}
IDS = (C.invoice_id, C.customer_id, C.txn_id, C.business_unit)
DATES = (C.invoice_date, C.due_date, C.settled_date, C.date, C.status_since, C.promise_date)
AMOUNTS = (C.amount, C.credit_limit, RATE, C.promise_amount)


@dataclass
class Parsed:
    """A canonical frame (plus :data:`~arlib.io.sources.ROW`) and its source rows, same positions."""

    frame: str
    label: str
    data: pd.DataFrame
    raw: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # canonical -> source column
    #: transactions: per row, the position of its invoice_id among the parsed invoices (-1:
    #: none), looked up once when those invoices' ids are unique and present; else None
    invoice_at: np.ndarray | None = None


@dataclass(frozen=True)
class Context:
    business_unit: str
    currency: str  # reporting currency
    invoices: pd.DataFrame | None = None  # the parsed invoices, for transactions


def _missing_columns(raw: Raw, missing: list[str], configured: dict[str, str]) -> DataError:
    """``invoices.csv: column amount: 3 rows cannot be read: no header for amount (nearest: ...)``."""
    found = [c for c in raw.data.columns if c != ROW]
    parts = []
    for col in missing:
        src = configured.get(col)
        near = difflib.get_close_matches(
            norm_name(src or col), [norm_name(f) for f in found], n=1, cutoff=0.6
        )
        guess = next((f for f in found if near and norm_name(f) == near[0]), None)
        part = (
            f"{col} is mapped from {src!r}, which is not a header"
            if src
            else f"no header for {col}"
        )
        parts.append(part + (f" (nearest: {guess!r})" if guess else ""))
    fix = f"map the source headers in source_options.columns.{raw.frame}, e.g. {{'<header>': '{missing[0]}'}}"
    if C.business_unit in missing:
        fix += ", or set source_options.one_unit: true if the source holds this unit only"
    shown = ", ".join(repr(f) for f in found[:30]) + (" ..." if len(found) > 30 else "")
    return DataError(
        raw.label,
        ", ".join(missing),
        len(raw.data),
        f"cannot be read: {'; '.join(parts)} (headers: {shown})",
        fix,
    )


def _default(
    frame: str, col: str, n: int, ctx: Context, opts: SourceOptions, notes: list[str], label: str
):
    """A value for a column the source lacks, with a note when it is an assumption."""
    if col in opts.constants:
        return opts.constants[col]
    if col == C.business_unit:
        return ctx.business_unit
    defaults = {
        ("invoices", C.currency): ctx.currency,
        ("invoices", C.disputed): False,
        ("transactions", C.kind): PAYMENT,
        ("customers", C.segment): "unknown",
        ("customers", C.status): "active",
        ("customers", C.credit_limit): np.nan,
    }
    if (frame, col) in defaults:
        value = defaults[(frame, col)]
        if n and (frame, col) != ("customers", C.credit_limit):
            notes.append(
                f"{label}: no {col} column: every row taken as {value!r} "
                f"(set source_options.columns.{frame} or source_options.constants.{col})"
            )
        return value
    return None


def _parse_column(p: Parsed, col: str, src: str, opts: SourceOptions) -> pd.Series:
    s = p.raw[src]
    where = f"source_options.values.{col}"
    if col in DATES:
        fmt = opts.date_format(col)
        out, bad = parse_dates(s, fmt)
        _add(
            p,
            finding(
                p,
                "bad_date",
                col,
                bad,
                s,
                f"with a date not in the format {fmt!r}",
                _date_fix(col, s[bad]),
            ),
        )
        return out
    if col in AMOUNTS:
        return _parse_amount_column(p, col, s, opts)
    if col == C.disputed:
        out, bad = parse_bool(s, opts.values.get(col))
        bad &= ~s.isna().to_numpy()
        _add(
            p,
            finding(
                p,
                "bad_value",
                col,
                bad,
                s,
                "with a flag that is not yes/no",
                f"map them in {where}, e.g. {{'J': true}}",
            ),
        )
        return out
    if col in (C.kind, C.status):
        domain = TXN_KINDS if col == C.kind else CUSTOMER_STATUSES
        out, bad = map_codes(s, opts.values.get(col), domain)
        if col == C.status:
            out = out.fillna("active")
        values = sorted(set(parse_ids(s[bad]).dropna()))[:5]
        _add(
            p,
            finding(
                p,
                "bad_value",
                col,
                bad,
                s,
                f"with a {col} not in {', '.join(domain)} (values {', '.join(map(repr, values))})",
                f"map them in {where}",
            ),
        )
        return out
    if col == C.currency:
        out, _ = map_codes(s, opts.values.get(col), upper=True)
        bad = by_unique(out, _iso_code).to_numpy(dtype=bool)
        _add(
            p,
            finding(
                p,
                "bad_value",
                col,
                bad,
                s,
                "with a code that is not a 3-letter ISO currency",
                f"map them in {where}, e.g. {{'$': 'USD'}}",
            ),
        )
        return out.where(~bad, None)
    if col == C.terms_days:
        out, bad = parse_amounts(s)
        bad |= (out.notna() & (out != out.round())).to_numpy()
        _add(
            p,
            finding(
                p,
                "bad_value",
                col,
                bad,
                s,
                "with a value that is not a whole number of days",
                "correct them",
            ),
        )
        return out.where(~bad)
    if col in opts.values:
        return map_codes(s, opts.values[col])[0]
    out = parse_ids(s)  # ids, name, segment: text
    if col in IDS and out.dtype == object:  # a NUL byte would cut the id short downstream
        nul = by_unique(out, _has_nul).to_numpy(dtype=bool)
        if not nul.any():
            return out
        shown = out.str.replace("\x00", "\\x00", regex=False)
        _add(
            p,
            finding(
                p,
                "bad_value",
                col,
                nul,
                shown,
                "with a NUL byte in the text",
                "export the data again, or remove the NUL bytes in the source",
            ),
        )
    return out


def _has_nul(s: pd.Series) -> pd.Series:
    try:  # one search of the joined text first: ids almost never hold a NUL
        if "\x00" not in "".join(s.dropna().tolist()):
            return pd.Series(False, index=s.index)
    except TypeError:  # not all text
        pass
    return s.str.contains("\x00", regex=False).eq(True)


def _iso_code(s: pd.Series) -> pd.Series:
    return s.notna() & ~s.astype(str).str.fullmatch(r"[A-Z]{3}")


def _check_decimal(p: Parsed, col: str, s: pd.Series, opts: SourceOptions) -> None:
    """Refuse a text amount column whose decimal separator is not the one assumed, or cannot
    be told (every separated value is like ``1.250``: 1.25 or 1,250?); never guess."""
    if opts.decimal_given or col == RATE:
        return
    if pd.api.types.is_numeric_dtype(s):
        return  # native numbers (a typed Parquet or database column): no text to prove or doubt
    if "." in set(decimal_evidence(s.iloc[:2000])[0].dropna()):
        return  # the usual case, decided by the first rows: a value proves the decimal point
    evidence, ambiguous = decimal_evidence(s)
    proven = set(evidence.dropna())
    rows = p.data[ROW]
    if proven == {","}:
        first = evidence.notna().to_numpy()
        raise DataError(
            p.label,
            col,
            int(first.sum()),
            "use ',' as the decimal separator, but '.' is assumed (e.g. "
            + _examples(s, first, rows)
            + ")",
            "set source_options.amounts.decimal: ','",
        )
    if not proven and ambiguous.any():
        raise DataError(
            p.label,
            col,
            int(ambiguous.sum()),
            "have one separator before three digits, so they read two ways (e.g. "
            + _examples(s, ambiguous, rows)
            + ": 1.250 is 1.25 with a decimal point, 1250 with a thousands separator) and no "
            "other value tells which",
            "set source_options.amounts.decimal to the file's decimal separator: ',' when "
            "'.' groups thousands (German, French exports), '.' when it is the decimal point",
        )


def _examples(s: pd.Series, mask: np.ndarray, rows) -> str:
    idx = np.flatnonzero(mask)[:3]
    where = rows.to_numpy()[idx]
    return "; ".join(f"row {r}: {s.iat[i]!r}" for r, i in zip(where, idx))


def _parse_amount_column(p: Parsed, col: str, s: pd.Series, opts: SourceOptions) -> pd.Series:
    """Amounts: unreadable, non-finite, implausible (above ``amounts.max_abs``) and, for
    ``amount``, sub-cent values become findings; ``amount`` is rounded to the cent."""
    _check_decimal(p, col, s, opts)
    out, bad = parse_amounts(s, opts.decimal)
    fix = "correct them, or set source_options.amounts.decimal (now " + repr(opts.decimal) + ")"
    _add(p, finding(p, "bad_amount", col, bad, s, "with an unreadable amount", fix))
    infinite = np.isinf(out.to_numpy())
    _add(
        p,
        finding(
            p,
            "bad_amount",
            col,
            infinite,
            s,
            "with an amount that is not a finite number",
            "correct them in the source",
        ),
    )
    out = out.where(~infinite)
    if col == RATE:
        return out
    huge = (out.abs() > opts.max_abs).to_numpy()
    _add(
        p,
        finding(
            p,
            "implausible_amount",
            col,
            huge,
            s,
            f"with an amount beyond {opts.max_abs:,.0f} in absolute value",
            "correct them, or raise source_options.amounts.max_abs if such amounts are real",
        ),
    )
    out = out.where(~huge)  # not summed: beyond the limit cents are not exact
    if col != C.amount:
        return out
    if p.frame in opts.flip_sign:
        out = -out
    odd = sub_cent(out)
    _add(
        p,
        finding(
            p,
            "sub_cent_amount",
            col,
            odd,
            s,
            "with more than two decimals",
            "correct them in the source, or set validation_policy.sub_cent_amount: warn to "
            "round them to the cent",
        ),
    )
    return round_cents(out, odd)


def _date_fix(col: str, bad: pd.Series) -> str:
    from arlib.io.mapping import date_hint

    hint = date_hint(bad.head(20).tolist())
    guess = f"; they look like {hint} dates" if hint else ""
    return (
        f"set source_options.dates.{col} to the format used (iso, dayfirst, monthfirst, yyyymmdd, excel "
        f"or a pattern such as %d.%m.%Y){guess}, or correct the values"
    )


def _add(p: Parsed, f: Finding | None) -> None:
    if f is not None:
        p.findings.append(f)


def to_canonical(raw: Raw, opts: SourceOptions, ctx: Context) -> Parsed:
    """Map and parse one raw frame; raises :class:`DataError` when required columns are missing."""
    frame = raw.frame
    found = [c for c in raw.data.columns if c != ROW]
    configured = opts.columns.get(frame, {})
    rename, missing_src, auto = resolve_columns(
        frame, found, configured, opts.soft_columns.get(frame)
    )
    have = set(rename.values())
    optional_here = (
        {C.business_unit} if (opts.one_unit or frame in ("customers", COLLECTOR_NOTES)) else set()
    )
    required = [c for c in REQUIRED[frame] if c not in optional_here and c not in opts.constants]
    missing = [c for c in required if c not in have] + [c for c in missing_src if c not in required]
    if missing:
        raise _missing_columns(raw, missing, {v: k for k, v in configured.items()})
    raw_data = raw.data.drop(columns=[ROW])
    p = Parsed(
        frame,
        raw.label,
        pd.DataFrame({ROW: raw.data[ROW].to_numpy()}),
        raw_data,
        notes=list(raw.notes),
    )
    renamed = [a for a in auto if a != rename[a]]
    if renamed:
        p.notes.append(
            f"{raw.label}: headers matched by name: "
            + ", ".join(f"{a} -> {rename[a]}" for a in renamed)
        )
    ignored = [c for c in found if c not in rename]
    if ignored:
        p.notes.append(f"{raw.label}: columns not used: {', '.join(ignored)}")
    for src, col in rename.items():
        p.data[col] = _parse_column(p, col, src, opts)
        p.sources[col] = src
    for col in TARGETS[frame]:
        if (
            col not in p.data
            and col not in (C.settled_date,)
            and not (frame == "invoices" and col in (C.name, C.segment))
            and not (frame == "transactions" and col == C.currency)
        ):
            p.data[col] = _default(frame, col, len(p.data), ctx, opts, p.notes, raw.label)
    if frame == "transactions":
        _fill_transactions(p, ctx, rename)
    if frame == "customers":
        p.data[C.name] = p.data[C.name].where(p.data[C.name].notna(), p.data[C.customer_id])
        p.data[C.segment] = p.data[C.segment].fillna("unknown")
    if frame == "invoices" and C.disputed in p.data:
        p.data[C.disputed] = (
            p.data[C.disputed].astype(object).where(p.data[C.disputed].notna(), False).astype(bool)
        )
    return p


def _fill_transactions(p: Parsed, ctx: Context, rename: dict) -> None:
    d = p.data
    if C.txn_id not in rename.values():
        d[C.txn_id] = [f"{p.label}:{r}" for r in p.raw.index + 1] if len(d) else []
        d[C.txn_id] = d[C.txn_id].astype(object)
    if C.invoice_id not in rename.values():
        d[C.invoice_id] = None
        if len(d):
            p.notes.append(f"{p.label}: no invoice_id column: every transaction is unapplied cash")
    if ctx.invoices is not None:
        inv = ctx.invoices
        p.invoice_at = invoice_positions(d[C.invoice_id], inv[C.invoice_id])
        if p.invoice_at is None:  # repeated or missing invoice ids: the last one's customer
            known = d[C.invoice_id].map(dict(zip(inv[C.invoice_id], inv[C.customer_id])))
        else:
            known = pd.Series(take_at(inv[C.customer_id], p.invoice_at), index=d.index)
        d[C.customer_id] = (
            d[C.customer_id].where(d[C.customer_id].notna(), known) if C.customer_id in d else known
        )


def derive_payments(inv: Parsed) -> Parsed:
    """One full payment per invoice at its ``settled_date`` (sources that list settled invoices,
    such as the IBM sample); rows keep the invoice's source row."""
    d = inv.data
    ok = (
        d[C.settled_date].notna() & d[C.amount].notna() & d[C.invoice_id].notna()
        if C.settled_date in d
        else None
    )
    if ok is None:
        raise DataError(
            inv.label,
            C.settled_date,
            len(d),
            "have no settled_date column for source_options.frames.transactions: settled_date",
            "map the settlement-date header to settled_date in source_options.columns.invoices",
        )
    sel = d.loc[ok]
    data = pd.DataFrame(
        {
            C.txn_id: (sel[C.invoice_id] + "/settled").astype(object),
            C.business_unit: sel[C.business_unit],
            C.customer_id: sel[C.customer_id],
            C.invoice_id: sel[C.invoice_id],
            C.date: sel[C.settled_date],
            C.amount: sel[C.amount],
            C.kind: PAYMENT,
            ROW: sel[ROW],
        }
    ).reset_index(drop=True)
    raw = inv.raw.loc[ok].reset_index(drop=True)
    return Parsed(
        "transactions",
        inv.label,
        data,
        raw,
        sources=dict(inv.sources, date=inv.sources[C.settled_date]),
        notes=[
            f"{inv.label}: {len(data)} payment(s) taken from settled_date (one per settled invoice)"
        ],
    )


def _most_common(invoices: pd.DataFrame, col: str, index: pd.Index, default: pd.Series) -> list:
    """Per customer (``index``), the value of ``col`` on most of its invoices (a tie: the first
    seen), else ``default``."""
    if col not in invoices:
        return default.tolist()
    counts = (
        invoices[[C.customer_id, col]].dropna().groupby([C.customer_id, col], sort=False).size()
    )
    top = counts.sort_values(ascending=False, kind="stable").reset_index()
    found = top.drop_duplicates(C.customer_id).set_index(C.customer_id)[col].reindex(index)
    return found.where(found.notna(), default).tolist()


def derive_customers(invoices: pd.DataFrame, bu: str) -> pd.DataFrame:
    """Customers seen on the invoices: name and segment from the invoices' ``name`` and
    ``segment`` columns when mapped (the value on most of the customer's invoices), else the id
    and ``unknown``; no credit limit, status ``active``, and terms = the median of due - invoice
    days (whole days, >= 0)."""
    terms = (invoices[C.due_date] - invoices[C.invoice_date]).dt.days.clip(lower=0)
    g = terms.groupby(invoices[C.customer_id]).median()
    ids = g.index.astype(str)
    return pd.DataFrame(
        {
            C.customer_id: ids,
            C.business_unit: bu,
            C.name: _most_common(invoices, C.name, g.index, pd.Series(ids, index=g.index)),
            C.segment: _most_common(invoices, C.segment, g.index, pd.Series("unknown", g.index)),
            C.credit_limit: np.nan,
            C.terms_days: np.round(g.to_numpy()).astype(int),
            C.status: "active",
        }
    )
