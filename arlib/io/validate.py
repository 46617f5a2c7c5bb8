"""Lazy validation of the parsed frames, the policy per problem, and the quarantine.

Every check runs before anything is decided, so one run lists every problem: a
:class:`Finding` is one problem on one column with the rows it affects. The frame contracts
are the pandera schemas of :mod:`arlib.schemas`; their failure cases become findings too.
``validation_policy`` then decides per problem: ``fail`` (the load stops with one message
listing every failing problem: :class:`DataErrors`), ``quarantine`` (the rows are set aside
with a reason, written beside the report and counted in the reconciliation) or ``warn`` (the
rows stay; the problem is listed in the report).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine

from arlib.errors import DataError
from arlib.io.options import CASCADE, FAIL, MISSING_FX, PROBLEMS, QUARANTINE, WARN
from arlib.io.sources import ROW
from arlib.schemas import SETTLING_KINDS, C

PROBLEM, REASON = "problem", "reason"
CENT = 0.005
FIXED_POLICY = {CASCADE: QUARANTINE, MISSING_FX: FAIL}


@dataclass
class Finding:
    """One problem on one column of one frame: the row positions, a message and a fix."""

    frame: str
    label: str
    problem: str
    column: str | None
    index: np.ndarray
    text: str
    fix: str
    examples: list[str] = field(default_factory=list)

    def line(self, policy_hint: bool = True) -> str:
        """The one-line message: source, column, row count, problem with examples, fix."""
        n = len(self.index)
        col = f"column {self.column}: " if self.column else ""
        eg = f" (e.g. {'; '.join(self.examples)})" if self.examples else ""
        hint = ""
        if policy_hint and self.problem in PROBLEMS and QUARANTINE in PROBLEMS[self.problem][1]:
            hint = f"; or set validation_policy.{self.problem}: quarantine to set these rows aside"
        return f"{self.label}: {col}{n} {'row' if n == 1 else 'rows'} {self.text}{eg}. Fix: {self.fix}{hint}"


def _show(v) -> str:
    if (
        v is None
        or (isinstance(v, float) and np.isnan(v))
        or v is pd.NaT
        or (isinstance(v, str) and not v.strip())
    ):
        return "empty"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return repr(v) if isinstance(v, str) else str(v)


def finding(
    p,
    problem: str,
    column: str | None,
    rows,
    shown: pd.Series | None,
    text: str,
    fix: str,
    detail: list[str] | None = None,
) -> Finding | None:
    """A :class:`Finding` on parsed frame ``p`` for ``rows`` (a boolean mask or positions), with
    up to three examples ``row <source row>: <value>`` (``shown`` holds the values to quote, or
    ``detail`` the texts), or ``None`` when no row is affected."""
    rows = np.asarray(rows)
    index = np.flatnonzero(rows) if rows.dtype == bool else np.unique(rows.astype(np.int64))
    if not len(index):
        return None
    src_rows = p.data[ROW].to_numpy()[index[:3]]
    if detail is not None:
        examples = [f"row {r}: {d}" for r, d in zip(src_rows, detail[:3])]
    elif shown is not None:
        values = shown.to_numpy(dtype=object)[index[:3]]
        examples = [f"row {r}: {_show(v)}" for r, v in zip(src_rows, values)]
    else:
        examples = [f"row {r}" for r in src_rows]
    return Finding(p.frame, p.label, problem, column, index, text, fix, examples)


class DataErrors(DataError):
    """Several data problems at once; ``str()`` lists each on its own line."""

    def __init__(self, findings: list[Finding], business_unit: str, extra: list[str] = ()):
        self.findings = findings
        lines = [f.line() for f in findings] + list(extra)
        self.lines = lines
        first = findings[0] if findings else None
        self.source, self.column = (first.label, first.column) if first else ("", None)
        self.rows = sum(len(f.index) for f in findings)
        self.problem, self.fix = "several data problems", "see each problem"
        if len(lines) == 1:
            message = lines[0]
        else:
            message = (
                f"{len(lines)} data problems in business unit {business_unit!r}:\n"
                + "\n".join(f"  - {ln}" for ln in lines)
            )
        Exception.__init__(self, message)


# -- contract checks (pandera) ---------------------------------------------------------------
_TEXT = {
    "missing_value": ("with no {col}", "fill {col} in the source"),
    "duplicate_id": (
        "with a repeated {col} (every row with the id is counted)",
        "keep one row per {col} in the source",
    ),
    "due_before_invoice": (
        "with a due_date before the invoice_date",
        "correct the dates in the source",
    ),
    "bad_value": ("failing the check {check}", "correct the values in the source"),
}
_NEGATIVE = {
    "invoices": (
        "with a negative amount",
        "credit notes belong in the transactions as kind credit_note; if "
        "the source's signs are reversed set source_options.amounts.flip_sign: [invoices]",
    ),
    "transactions": (
        "with an amount of zero or less",
        "if the source shows cash as negative numbers set "
        "source_options.amounts.flip_sign: [transactions]; else correct them",
    ),
}


def _problem_of(check: str, column: str | None, frame: str) -> str:
    if check == "not_nullable":
        return "missing_value"
    if check == "field_uniqueness" or "not unique" in check:
        return "duplicate_id"
    if "before invoice_date" in check:
        return "due_before_invoice"
    if check.startswith("greater_than") and column == C.amount and frame in _NEGATIVE:
        return "negative_amount"
    return "bad_value"


def contract_findings(p, model: pa.DataFrameSchema, exclude: np.ndarray) -> list[Finding]:
    """Findings from the pandera ``model`` on the rows not in ``exclude`` (positions already
    quarantined as copies); cells already reported by the parser are not reported again."""
    cols = [c for c in model.columns if c in p.data]
    keep = np.ones(len(p.data), dtype=bool)
    keep[exclude] = False
    data = p.data.loc[keep, cols] if exclude.size else p.data[cols]  # a copy: ours to check
    # in place: pandera's own copy of it (~0.5 s at 1.2 M rows) would change nothing; pandas
    # takes ``data`` for a slice of ``p.data`` and would warn when pandera coerces a column
    try:
        with pd.option_context("mode.chained_assignment", None):
            text_checked(model, data).validate(data, lazy=True, inplace=True)
        return []
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
    fc = fc[fc["index"].notna()]
    seen = {(f.column, int(i)) for f in p.findings for i in f.index}
    out = []
    frame_level = fc["schema_context"] == "DataFrameSchema"
    for (check, column), g in fc[~frame_level].groupby(["check", "column"], sort=False):
        out.append(_contract_finding(p, check, column, g, seen))
    flagged = {
        i for _, i in seen
    }  # a row with an unreadable cell fails row checks for that reason only
    for check, g in fc[frame_level].groupby("check", sort=False):
        column = {"invoices": C.due_date, "customers": C.customer_id}.get(p.frame, C.date)
        g = g.drop_duplicates("index")
        out.append(
            _contract_finding(p, check, column, g[~g["index"].astype(int).isin(flagged)], seen)
        )
    return [f for f in out if f is not None]


def text_checked(model: pa.DataFrameSchema, data: pd.DataFrame) -> pa.DataFrameSchema:
    """``model`` without the dtype of the columns of ``data`` that already have it: all text
    (``str`` or missing cells, one vectorised test per column) for ``str``, where pandera would
    coerce each cell with ``astype(str)`` (the same text) and then test it with a Python call
    per cell; the exact dtype for dates, floats, integers and flags, whose coercion changes
    nothing. Its other checks (unique, isin, ranges, nullable) stay: the same failure cases."""
    done = [name for name, col in model.columns.items() if name in data and _has(col, data[name])]
    return model.update_columns({c: {"dtype": None} for c in done}) if done else model


def _has(column: pa.Column, values: pd.Series) -> bool:
    """Whether ``values`` already are of ``column``'s dtype: the exact numpy dtype (coercing
    ``datetime64[ns]`` to itself went through ``pd.to_datetime``), or text for ``str``."""
    if isinstance(column.dtype, pandas_engine.NpString):
        kind = pd.api.types.infer_dtype(values, skipna=True) if values.dtype == object else ""
        return kind in ("string", "empty")
    exact = ("datetime64[ns]", "float64", "int64", "bool")
    return (
        column.dtype is not None
        and str(column.dtype) in exact
        and str(values.dtype) == str(column.dtype)
    )


def _contract_finding(p, check: str, column: str, g: pd.DataFrame, seen: set) -> Finding | None:
    rows = np.unique(
        np.array([int(i) for i in g["index"] if (column, int(i)) not in seen], dtype=np.int64)
    )
    problem = _problem_of(check, column, p.frame)
    if problem == "negative_amount":
        text, fix = _NEGATIVE[p.frame]
    else:
        text, fix = (t.format(col=column, check=check) for t in _TEXT[problem])
    src = getattr(p, "sources", {}).get(column)
    shown = p.raw[src] if src in p.raw else p.data[column] if column in p.data else None
    if problem == "due_before_invoice":
        d = p.data
        detail = [
            f"invoiced {d[C.invoice_date].iloc[i]:%Y-%m-%d}, due {d[C.due_date].iloc[i]:%Y-%m-%d}"
            for i in rows[:3]
        ]
        return finding(p, problem, column, rows, None, text, fix, detail)
    return finding(p, problem, column, rows, shown, text, fix)


def row_keys(df: pd.DataFrame) -> np.ndarray:
    """One integer per row, equal exactly when the rows' cells read the same as text; built a
    column at a time (the frame is never all text at once: a big unit's copy was GBs).

    >>> row_keys(pd.DataFrame({"a": ["x", "x", "y", "x"], "b": [1, 1.0, 1, 2]})).tolist()
    [0, 0, 1, 2]
    """
    key = np.zeros(len(df), dtype=np.int64)
    for j in _most_distinct_first(df):
        codes = text_codes(df.iloc[:, j])
        key = pd.factorize(key * (int(codes.max(initial=0)) + 1) + codes)[0]
        if len(key) and key[-1] == len(key) - 1:  # every row apart (ids): no column rejoins two
            break
    return key


def _most_distinct_first(df: pd.DataFrame) -> list[int]:
    """Column positions, those with the most distinct values in the first rows first. The keys
    do not depend on the order (each step numbers the rows' classes so far by first
    appearance), but an id column parts every row at once and ends the loop."""
    head = df.iloc[:1_000]
    distinct = [head.iloc[:, j].nunique(dropna=False) for j in range(df.shape[1])]
    return sorted(range(df.shape[1]), key=lambda j: -distinct[j])


def text_codes(col: pd.Series) -> np.ndarray:
    """Integer codes (from 0) equal exactly where the cells of ``col`` read the same as text
    (``col.astype(str)``), without writing the text of every cell: typed columns (numbers,
    flags, dates, a typed Parquet column's ``datetime.date`` objects) and text columns are
    coded as they are; any other column through its text.

    >>> text_codes(pd.Series([0.0, -0.0, float("nan"), 0.0])).tolist()  # "-0.0" is not "0.0"
    [0, 1, 2, 0]
    >>> text_codes(pd.Series(["nan", None, float("nan"), "x", None])).tolist()  # NaN reads "nan"
    [0, 1, 0, 2, 1]
    """
    values = col.to_numpy()
    if values.dtype == np.float64:
        v = np.where(np.isnan(values), np.nan, values)  # one NaN (every NaN reads "nan")
        return pd.factorize(v.view(np.int64))[0]  # by bits: 0.0 and -0.0 read differently
    if values.dtype.kind in "biuM":
        return pd.factorize(values, use_na_sentinel=False)[0]
    kind = pd.api.types.infer_dtype(col, skipna=True) if values.dtype == object else ""
    if kind not in ("string", "date"):
        return pd.factorize(col.astype(str))[0]
    codes, uniques = pd.factorize(values)  # missing cells -1, coded by their text below
    if kind == "date" and not all(type(u) is dt.date for u in uniques):
        return pd.factorize(col.astype(str))[0]  # e.g. datetimes: their text shows more
    null = codes < 0
    if null.any():
        texts = pd.Series(values[null], dtype=object).astype(str).to_numpy()  # "None", "nan"
        known = pd.Index(uniques if kind == "string" else [], dtype=object).get_indexer(texts)
        codes[null] = np.where(known >= 0, known, len(uniques) + pd.factorize(texts)[0])
    return pd.factorize(codes)[0]


def duplicate_rows(p) -> Finding | None:
    """Exact copies of an earlier source row (all source columns equal)."""
    if p.raw.shape[1] == 0:
        return None
    key = pd.Series(row_keys(p.raw))
    dup = key.duplicated(keep="first").to_numpy()
    if not dup.any():
        return None
    first_row = pd.Series(p.data[ROW].to_numpy()[~dup], index=key[~dup])
    detail = [f"copy of row {first_row[k]}" for k in key[dup][:3]]
    return finding(
        p,
        "duplicate_row",
        None,
        dup,
        None,
        "copying an earlier row exactly",
        "remove the copies from the export",
        detail,
    )


# -- cross-frame checks ----------------------------------------------------------------------
def future_dated(p, column: str, as_of: pd.Timestamp) -> Finding | None:
    mask = (p.data[column] > as_of).to_numpy()
    return finding(
        p,
        "future_dated",
        column,
        mask,
        p.data[column],
        f"dated after as_of {as_of:%Y-%m-%d}",
        "check as_of, or the extraction date of the source",
    )


def unknown_customers(p, customer_ids: set) -> Finding | None:
    ids = p.data[C.customer_id]
    mask = (ids.notna() & ~ids.isin(customer_ids)).to_numpy()
    return finding(
        p,
        "unknown_customer",
        C.customer_id,
        mask,
        ids,
        "with a customer_id not in the customers",
        "add the customers to the customers frame, or map customer_id",
    )


def invoice_positions(ids: pd.Series, invoice_ids: pd.Series) -> np.ndarray | None:
    """Per id, the position of the same id in ``invoice_ids`` (-1 where absent), or None when
    ``invoice_ids`` repeat or have a missing id (the callers then match as sets).

    >>> invoice_positions(pd.Series(["b", None, "z", "a"]), pd.Series(["a", "b"])).tolist()
    [1, -1, -1, 0]
    """
    index = pd.Index(invoice_ids.to_numpy(dtype=object))
    if not index.is_unique or index.hasnans:
        return None
    return index.get_indexer(ids.to_numpy(dtype=object))


def take_at(values: pd.Series, at: np.ndarray) -> np.ndarray:
    """``values`` at positions ``at``; missing (NaN, NaT) where ``at`` is -1."""
    out = values.iloc[:0].reindex(range(1)).to_numpy().repeat(len(at))  # all missing
    hit = at >= 0
    out[hit] = values.to_numpy()[at[hit]]
    return out


def transaction_links(
    p, inv: pd.DataFrame, dropped_ids: set, kept: np.ndarray, at: np.ndarray | None = None
) -> list[Finding]:
    """Transactions against the invoices: on a quarantined invoice (cascade), on an unknown
    invoice, dated before their invoice; only rows still ``kept`` are judged. ``at``: the
    rows' :func:`invoice_positions` in ``inv`` when already known."""
    ids = p.data[C.invoice_id]
    at = invoice_positions(ids, inv[C.invoice_id]) if at is None else at
    if at is None:  # kept ids repeat or are missing (not under the policies): as sets
        known = ids.isin(set(inv[C.invoice_id])).to_numpy()
        inv_date = ids.map(pd.Series(inv[C.invoice_date].to_numpy(), index=inv[C.invoice_id]))
    else:  # one hash lookup per transaction, shared by every test below
        known = at >= 0
        inv_date = pd.Series(take_at(inv[C.invoice_date], at), index=ids.index)
    in_dropped = ids.isin(dropped_ids).to_numpy() if dropped_ids else np.zeros(len(ids), bool)
    cascade = in_dropped & ~known & kept
    unknown = ids.notna().to_numpy() & ~known & ~in_dropped & kept
    early = (p.data[C.date] < inv_date).to_numpy() & kept
    detail = [
        f"dated {p.data[C.date].iloc[i]:%Y-%m-%d}, invoice {ids.iloc[i]} dated {inv_date.iloc[i]:%Y-%m-%d}"
        for i in np.flatnonzero(early)[:3]
    ]
    return [
        f
        for f in (
            finding(
                p,
                CASCADE,
                C.invoice_id,
                cascade,
                ids,
                "on a quarantined invoice",
                "fix the invoice's problem (listed above)",
            ),
            finding(
                p,
                "unknown_invoice",
                C.invoice_id,
                unknown,
                ids,
                "with an invoice_id not in the invoices",
                "include the invoices in the extract, or map invoice_id",
            ),
            finding(
                p,
                "payment_before_invoice",
                C.date,
                early,
                None,
                "dated before the invoice date",
                "check the dates in the source",
                detail,
            ),
        )
        if f is not None
    ]


def overpayments(
    p, inv: pd.DataFrame, kept: np.ndarray, at_all: np.ndarray | None = None
) -> Finding | None:
    """Settling transactions (in date order) from the one that takes an invoice's settled total
    beyond its amount. ``at_all``: every row's :func:`invoice_positions` in ``inv`` when
    already known."""
    d = p.data
    settling = d[C.kind].isin(SETTLING_KINDS).to_numpy() & kept & d[C.invoice_id].notna().to_numpy()
    if not settling.any():
        return None
    sub = d.loc[settling, [C.invoice_id, C.date, C.amount]].copy()
    sub["_pos"] = np.flatnonzero(settling)
    at = (
        invoice_positions(sub[C.invoice_id], inv[C.invoice_id])
        if at_all is None
        else at_all[settling]
    )
    # integer codes sort faster than ids and group the same (only the order within one
    # invoice, by date then row, matters for the running total)
    sub["_key"] = pd.factorize(sub[C.invoice_id])[0] if at is None else at
    sub = sub.iloc[_by_key_date_row(sub["_key"], sub[C.date], sub["_pos"])]
    cum = sub.groupby("_key")[C.amount].cumsum()
    if at is None:
        limit = sub[C.invoice_id].map(pd.Series(inv[C.amount].to_numpy(), index=inv[C.invoice_id]))
    else:
        limit = pd.Series(take_at(inv[C.amount].astype(float), sub["_key"].to_numpy()), sub.index)
    over = (cum > limit + CENT).to_numpy()
    pos = sub["_pos"].to_numpy()[over]
    detail = [
        f"invoice {i}: settled {c:,.2f} of {a:,.2f}"
        for i, c, a in zip(
            sub[C.invoice_id].to_numpy()[over], cum.to_numpy()[over], limit.to_numpy()[over]
        )
    ]
    order = np.argsort(pos, kind="stable")
    return finding(
        p,
        "overpayment",
        C.amount,
        pos[order],
        None,
        "settling more than the invoice amount",
        "check the application of cash in the source",
        [detail[i] for i in order[:3]],
    )


def _by_key_date_row(key: pd.Series, date: pd.Series, row: pd.Series) -> np.ndarray:
    """The order of ``sort_values([key, date, row])`` (missing dates last in a key; rows are
    distinct, so no ties are left) by one :func:`numpy.lexsort` of integers: pandas codes each
    sort key as a categorical first (~0.6 s at 1.2 M transactions).

    >>> d = pd.to_datetime(pd.Series(["2024-01-02", None, "2024-01-01", "2024-01-01"]))
    >>> _by_key_date_row(pd.Series([1, 1, 1, 0]), d, pd.Series([0, 1, 2, 3])).tolist()
    [3, 2, 0, 1]
    """
    days = date.to_numpy(dtype="datetime64[ns]").view(np.int64)
    days = np.where(date.isna().to_numpy(), np.iinfo(np.int64).max, days)
    return np.lexsort((row.to_numpy(), days, key.to_numpy()))


# -- decisions -------------------------------------------------------------------------------
def policy_of(problem: str, policy) -> str:
    return FIXED_POLICY.get(problem) or policy[problem]


def decide(
    n: int, findings: list[Finding], policy
) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.Series]:
    """Per row: failed?, quarantined?, and the problem keys and reasons of quarantined rows."""
    failed = np.zeros(n, dtype=bool)
    quarantined = np.zeros(n, dtype=bool)
    problems: dict[int, list[str]] = {}
    reasons: dict[int, list[str]] = {}
    for f in findings:
        pol = policy_of(f.problem, policy)
        if pol == FAIL:
            failed[f.index] = True
        elif pol == QUARANTINE:
            quarantined[f.index] = True
        if pol in (QUARANTINE, WARN):
            text = f.text.removeprefix("with ")
            why = f"{f.column}: {text}" if f.column else text
            for i in f.index.tolist():
                problems.setdefault(i, []).append(f.problem)
                reasons.setdefault(i, []).append(why)
    quarantined &= ~failed
    idx = np.flatnonzero(quarantined)
    prob = pd.Series({i: ", ".join(dict.fromkeys(problems[i])) for i in idx}, dtype=object)
    why = pd.Series({i: "; ".join(dict.fromkeys(reasons[i])) for i in idx}, dtype=object)
    return failed, quarantined, prob, why


def problems_table(findings: list[Finding], policy, amounts: dict[str, pd.Series]) -> pd.DataFrame:
    """One row per finding: frame, source, column, problem, policy, rows, amount, examples, fix."""
    rows = []
    for f in findings:
        amt = amounts.get(f.frame)
        total = float(np.nansum(amt.to_numpy()[f.index])) if amt is not None else np.nan
        rows.append(
            {
                "frame": f.frame,
                "source": f.label,
                "column": f.column or "",
                "problem": f.problem,
                "policy": policy_of(f.problem, policy),
                "rows": len(f.index),
                "amount": round(total, 2),
                "examples": "; ".join(f.examples),
                "fix": f.fix,
            }
        )
    cols = ["frame", "source", "column", "problem", "policy", "rows", "amount", "examples", "fix"]
    return pd.DataFrame(rows, columns=cols)


def quarantine_frame(p, quarantined: np.ndarray, prob: pd.Series, why: pd.Series) -> pd.DataFrame:
    """Quarantined rows as read (source columns), led by the source row, problem and reason."""
    idx = np.flatnonzero(quarantined)
    out = p.raw.iloc[idx].copy()
    out.insert(0, REASON, why.reindex(idx).to_numpy())
    out.insert(0, PROBLEM, prob.reindex(idx).to_numpy())
    out.insert(0, "source_row", p.data[ROW].to_numpy()[idx])
    out.insert(0, "source", p.label)
    return out.reset_index(drop=True)
