"""The intake: one business unit's source -> checked canonical frames and a :class:`LoadReport`.

Steps: read the raw frames (:mod:`arlib.io.sources`), map and parse them
(:mod:`arlib.io.canonical`), check them lazily and apply the policy (:mod:`arlib.io.validate`),
convert to the reporting currency (:mod:`arlib.io.fx`), then either raise one
:class:`~arlib.io.validate.DataErrors` listing every failing problem, or return the kept frames
with the quarantined rows written beside the report.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from arlib.errors import DataError
from arlib.files import spreadsheet_safe
from arlib.io import filecache, fx
from arlib.io import notes as collector
from arlib.io.canonical import Context, Parsed, derive_customers, derive_payments, to_canonical
from arlib.io.database import read_database
from arlib.io.mapping import to_cents
from arlib.io.options import (
    COLLECTOR_NOTES,
    FX_RATES,
    MISSING_FX,
    SourceOptions,
    parse_policy,
    parse_source_options,
)
from arlib.io.sources import ROW, Raw, is_database, read_files
from arlib.io.validate import (
    DataErrors,
    Finding,
    contract_findings,
    decide,
    duplicate_rows,
    finding,
    future_dated,
    invoice_positions,
    overpayments,
    policy_of,
    problems_table,
    quarantine_frame,
    take_at,
    transaction_links,
    unknown_customers,
)
from arlib.schemas import FRAMES, C, Transactions, empty

ORDER = ("invoices", "transactions", "customers", FX_RATES, COLLECTOR_NOTES)
MODELS = {**FRAMES, FX_RATES: fx.FxRates, COLLECTOR_NOTES: collector.CollectorNotes}
QUARANTINE_FILE = "quarantine-{frame}.csv"


@dataclass
class LoadReport:
    """What happened while loading: rows and amounts read per frame, problems, quarantine.

    ``frames``: frame, source, rows_read, rows_kept, rows_quarantined, amount_read (reporting
    currency), amount_quarantined. ``problems``: see :func:`arlib.io.validate.problems_table`.
    ``quarantined``: canonical quarantined rows per frame (amounts in the reporting currency,
    NaN when they could not be read or converted) with ``problem`` and ``reason``.
    """

    business_unit: str
    source: str
    currency: str
    frames: pd.DataFrame
    problems: pd.DataFrame
    quarantined: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantine_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: frame -> source rows and rows not read by reason (:attr:`arlib.io.sources.Raw.source_rows`)
    source_rows: dict[str, dict] = field(default_factory=dict)
    #: the source is an open-item list (no payment history: ``frames.transactions: none``)
    open_items_only: bool = False

    def quarantined_total(
        self, frame: str, kinds: tuple[str, ...] | None = None
    ) -> tuple[int, float]:
        """Rows and amount (reporting currency, readable amounts only) quarantined from ``frame``."""
        q = self.quarantined.get(frame)
        if q is None or q.empty:
            return 0, 0.0
        if kinds is not None and C.kind in q:
            q = q[q[C.kind].isin(kinds)]
        return len(q), (int(to_cents(q[C.amount]).sum()) / 100 if C.amount in q else 0.0)

    def __str__(self) -> str:
        q = int(self.frames["rows_quarantined"].sum())
        lines = [
            f"{self.source}: {', '.join(f'{r.rows_kept:,} {r.frame}' for r in self.frames.itertuples())} loaded"
            + (f"; {q:,} rows quarantined" if q else "")
        ]
        lines += [
            f"- {p.problem} ({p.policy}): {p.rows} {'row' if p.rows == 1 else 'rows'} in {p.frame}"
            + (f".{p.column}" if p.column else "")
            for p in self.problems.itertuples()
        ]
        lines += [f"- note: {n}" for n in self.notes]
        lines += [f"- quarantined rows written to {f}" for f in self.quarantine_files]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The summary line and notes in the report language (problems are in their own table):
        the source by its name only (no machine path or URL), and only the notes about the data
        (how columns were mapped is for whoever maps them: it stays in ``str()``)."""
        from arlib.i18n import t

        q = int(self.frames["rows_quarantined"].sum())
        counts = t(", ").join(f"{r.rows_kept:,} {t(r.frame)}" for r in self.frames.itertuples())
        name = short_source(self.source)
        head = t("{source}: {counts} loaded").format(source=name, counts=counts)
        if q:
            head += t("; {rows} rows quarantined").format(rows=f"{q:,}")
        notes = [n.replace(self.source, name) for n in self.notes if not _mapping_note(n)]
        lines = [f"{t('note')}: {n}" for n in notes]
        lines += [
            t("quarantined rows written to {file}").format(file=f) for f in self.quarantine_files
        ]
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        return f"<p>{html.escape(head)}</p>" + (f"<ul>{items}</ul>" if items else "")


#: notes about how source columns were mapped: internals, not shown in a report
MAPPING_NOTES = ("columns not used:", "headers matched by name:")


def _mapping_note(note: str) -> bool:
    return any(m in note for m in MAPPING_NOTES)


def short_source(label: str) -> str:
    """A source label without machine paths: a file or SQLite URL by its file name, a server URL
    by its database (the password is already masked).

    >>> short_source("sqlite:////tmp/x/ar_demo.sqlite"), short_source("/data/ar/invoices.csv")
    ('ar_demo.sqlite', 'invoices.csv')
    >>> short_source("postgresql://ar:***@db.example/ledger"), short_source("ar.csv, pay.csv")
    ('postgresql database ledger', 'ar.csv, pay.csv')
    """
    import re

    m = re.match(r"^(\w+)(\+\w+)?://[^/]*/(.*)$", label)
    if m and m.group(1) != "sqlite":
        return f"{m.group(1)} database {m.group(3).split('?')[0]}"
    return ", ".join(
        re.split(r"[\\/]", part.strip().rstrip("/\\"))[-1] for part in label.split(",")
    )


@dataclass
class Checked:
    """A parsed frame with its findings and the decision per row."""

    parsed: Parsed
    findings: list[Finding]
    failed: np.ndarray
    quarantined: np.ndarray
    problem: pd.Series
    reason: pd.Series

    @property
    def kept(self) -> np.ndarray:
        return ~self.failed & ~self.quarantined


def read_source(source: str, opts: SourceOptions, bu: str) -> tuple[dict[str, Raw], str]:
    """Raw frames of unit ``bu`` (files or database) and a label for the source, safe to show."""
    if is_database(source, opts):
        return read_database(source, opts, bu)
    return read_files(source, opts, bu, read=filecache.read_frame)


def _without(findings: list[Finding | None], drop: np.ndarray) -> list[Finding]:
    """Findings minus rows in ``drop`` (e.g. exact copies, reported once as duplicate_row)."""
    out = []
    for f in findings:
        if f is None:
            continue
        f.index = f.index[~drop[f.index]]
        if len(f.index):
            out.append(f)
    return out


def check(p: Parsed, policy, extra=lambda p, alive: []) -> Checked:
    """Copies, the frame contract, then ``extra(p, alive)`` checks on rows still alive; decide."""
    n = len(p.data)
    dup = duplicate_rows(p)
    copies = np.zeros(n, dtype=bool)
    if dup is not None:
        copies[dup.index] = True
    findings = (
        list(p.findings)
        + ([dup] if dup else [])
        + contract_findings(p, MODELS[p.frame], np.flatnonzero(copies))
    )
    failed, quarantined, _, _ = decide(n, findings, policy)
    findings += _without(extra(p, ~failed & ~quarantined), copies)
    failed, quarantined, problem, reason = decide(n, findings, policy)
    return Checked(p, findings, failed, quarantined, problem, reason)


def _subset(p: Parsed, mask: np.ndarray) -> Parsed:
    return Parsed(
        p.frame,
        p.label,
        p.data.loc[mask].reset_index(drop=True),
        p.raw.loc[mask].reset_index(drop=True),
        notes=p.notes,
        sources=p.sources,
    )


def _empty_unit(raw: Raw, bu: str, opts: SourceOptions) -> DataError:
    if opts.one_unit:
        return DataError(raw.label, None, 0, "in the source", "check the export or the query")
    units = f" (units in the source: {', '.join(raw.units_found[:20])})" if raw.units_found else ""
    return DataError(
        raw.label,
        C.business_unit,
        0,
        f"match business unit {bu!r}{units}",
        "check `business_unit` in the params file, or the data source",
    )


def _parse_all(
    raws: dict[str, Raw], opts: SourceOptions, bu: str, reporting: str
) -> dict[str, Parsed]:
    """Parse every frame; missing columns of all frames are reported together."""
    parsed, errors = {}, []
    for frame in ("customers", "invoices", FX_RATES, "transactions", COLLECTOR_NOTES):
        if frame not in raws:
            continue
        ctx = Context(bu, reporting)
        if frame == "transactions" and "invoices" in parsed:
            ctx = Context(bu, reporting, parsed["invoices"].data)
        try:
            parsed[frame] = to_canonical(raws[frame], opts, ctx)
        except DataError as e:
            errors.append(str(e))
    if errors:
        raise DataErrors([], bu, errors)
    return parsed


def kept_positions(at: np.ndarray | None, kept: np.ndarray) -> np.ndarray | None:
    """Positions among all invoices (``at``, -1: none) -> positions among the ``kept`` ones
    (-1 also where the invoice is not kept): what :func:`arlib.io.validate.invoice_positions`
    gives against the kept invoices when all invoice ids are unique, without a second lookup.

    >>> kept_positions(np.array([2, -1, 0, 1]), np.array([True, False, True])).tolist()
    [1, -1, 0, -1]
    """
    if at is None:
        return None
    rank = np.cumsum(kept) - 1
    found = at >= 0
    found[found] = kept[at[found]]
    return np.where(found, rank[np.where(found, at, 0)], -1)


def _check_transactions(p: Parsed, inv: Checked, customer_ids, policy, as_of) -> Checked:
    kept_inv = inv.parsed.data.loc[inv.kept]
    dropped = set(inv.parsed.data.loc[~inv.kept, C.invoice_id].dropna())
    at = kept_positions(p.invoice_at, inv.kept)  # None: looked up in the checks

    def links(q: Parsed, alive: np.ndarray) -> list:
        out = transaction_links(q, kept_inv, dropped, alive, at) + [future_dated(q, C.date, as_of)]
        return out + ([unknown_customers(q, customer_ids)] if customer_ids is not None else [])

    first = check(p, policy, links)
    over = _without([overpayments(p, kept_inv, first.kept, at)], np.zeros(len(p.data), dtype=bool))
    if not over:
        return first
    findings = first.findings + over
    failed, quarantined, problem, reason = decide(len(p.data), findings, policy)
    return Checked(p, findings, failed, quarantined, problem, reason)


def _check_notes(p: Parsed, inv: Checked, customer_ids, policy) -> Checked:
    """Collector notes against the kept invoices and customers (:mod:`arlib.io.notes`)."""
    kept_inv = inv.parsed.data.loc[inv.kept]
    collector.fill_customers(p, dict(zip(kept_inv[C.invoice_id], kept_inv[C.customer_id])))
    known = customer_ids if customer_ids is not None else set(kept_inv[C.customer_id])
    ids = set(kept_inv[C.invoice_id])
    return check(p, policy, lambda q, alive: collector.note_findings(q, known, ids, alive))


def _convert(checked: dict[str, Checked], opts: SourceOptions, reporting: str) -> list[Finding]:
    """Amounts -> reporting currency in place; findings for kept rows without a rate."""
    rates = None
    if FX_RATES in checked:
        r = checked[FX_RATES]
        rates = r.parsed.data.loc[r.kept]
    out = []
    inv = checked["invoices"].parsed.data
    inv_rate = inv_cur = None
    for frame in ("invoices", "transactions"):
        if frame not in checked:
            continue
        c = checked[frame]
        d = c.parsed.data
        if frame == "invoices":
            cur, when = d[C.currency].copy(), d[C.invoice_date]
        else:
            own = (
                d[C.currency]
                if C.currency in d
                else pd.Series(reporting, index=d.index, dtype=object)
            )
            cur, when = own.fillna(reporting), d[C.date]
        amount, rate, missing = fx.convert(
            d[C.amount], cur, when, rates, reporting, opts.fx_quote, opts.fx_max_age_days
        )
        if frame == "transactions" and inv_rate is not None and inv_cur is not None:
            applied, on_inv_rate, on_inv_cur = _on_invoices(
                d[C.invoice_id], inv_rate, inv_cur, c.parsed.invoice_at
            )
            rate = on_inv_rate.where(applied, rate)  # at the invoice's rate, in its currency
            cur = on_inv_cur.where(applied, cur)
            amount = (d[C.amount] * rate).round(2)
            missing = (
                rate.isna() & d[C.amount].notna() & ~applied
            ).to_numpy()  # else the invoice is reported
        if (cur != reporting).any() or (rate.fillna(1.0) != 1.0).any():
            d["original_amount"], d["original_currency"] = d[C.amount], cur
            d[C.amount], d[C.currency] = amount, reporting
        if frame == "invoices":
            first = ~inv[C.invoice_id].duplicated().to_numpy()
            inv_rate = pd.Series(rate.to_numpy()[first], index=inv[C.invoice_id].to_numpy()[first])
            inv_cur = pd.Series(cur.to_numpy()[first], index=inv[C.invoice_id].to_numpy()[first])
        missing &= c.kept
        if missing.any():
            desc = fx.describe_missing(cur, when, missing)
            text, fix = fx.missing_text(reporting, desc, opts, rates is not None)
            out.append(finding(c.parsed, MISSING_FX, C.currency, missing, cur, text, fix))
    return out


def _on_invoices(ids: pd.Series, inv_rate: pd.Series, inv_cur: pd.Series, at=None):
    """Per transaction: on a known invoice id?, that invoice's rate and currency (NaN if not);
    one lookup in the invoices' index when its ids are unique and present, else as a set.
    ``at``: the ids' positions in that index when already looked up (unique invoice ids: the
    index holds every invoice, in order)."""
    if at is None:
        at = invoice_positions(ids, inv_rate.index.to_series())
    if at is None:
        return ids.isin(inv_rate.index), ids.map(inv_rate), ids.map(inv_cur)
    return (
        pd.Series(at >= 0, index=ids.index),
        pd.Series(take_at(inv_rate, at), index=ids.index),
        pd.Series(take_at(inv_cur, at), index=ids.index),
    )


def _write_quarantine(checked: dict[str, Checked], output_dir: str | None) -> list[str]:
    if not output_dir:
        return []
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(QUARANTINE_FILE.format(frame="*")):
        old.unlink()
    files = []
    for frame in ORDER:
        c = checked.get(frame)
        if c is not None and c.quarantined.any():
            path = folder / QUARANTINE_FILE.format(frame=frame)
            rows = quarantine_frame(c.parsed, c.quarantined, c.problem, c.reason)
            spreadsheet_safe(rows).to_csv(path, index=False, encoding="utf-8")
            files.append(str(path))
    return files


_DTYPES = {C.amount: float, C.credit_limit: float, C.terms_days: "int64", C.disputed: bool}


def _final(c: Checked) -> pd.DataFrame:
    """Kept rows with the contract's dtypes (their values passed the contract in :func:`check`)."""
    data = c.parsed.data
    cols = [col for col in data.columns if col != ROW]
    out = data[cols] if c.kept.all() else data.loc[c.kept, cols]  # one copy, not one a step
    out.index = pd.RangeIndex(len(out))
    change = {k: v for k, v in _DTYPES.items() if k in out and out[k].dtype != np.dtype(v)}
    return out.astype(change) if change else out


def load_frames(cfg) -> tuple[dict[str, pd.DataFrame | None], LoadReport]:
    """The unit's checked canonical frames (``invoices``, ``transactions``, ``customers`` or
    None, ``collector_notes`` or None) and the :class:`LoadReport`; raises :class:`DataErrors` when a problem's policy is
    ``fail``."""
    opts = parse_source_options(cfg.get("source_options") or {}, cfg.get("source_preset"))
    policy = parse_policy(cfg.get("validation_policy") or {})
    bu, reporting, as_of = str(cfg.business_unit), cfg.currency, pd.Timestamp(cfg.as_of)
    raws, label = read_source(cfg.source, opts, bu)
    if raws["invoices"].data.empty:
        raise _empty_unit(raws["invoices"], bu, opts)
    parsed = _parse_all(raws, opts, bu, reporting)
    source_rows = {f: r.source_rows for f, r in raws.items() if r.source_rows}
    del raws  # the raw frames live on as each Parsed.raw: this copy is freed before the checks
    notes = [n for p in parsed.values() for n in p.notes]
    checked: dict[str, Checked] = {}
    customer_ids = None
    if "customers" in parsed and opts.frames["customers"] != "derive":
        checked["customers"] = check(parsed["customers"], policy)
        customer_ids = set(parsed["customers"].data.loc[checked["customers"].kept, C.customer_id])
    elif opts.frames["customers"] == "auto":
        notes.append(
            "no customers frame: customer checks skipped (source_options.frames.customers)"
        )
    if FX_RATES in parsed:
        checked[FX_RATES] = check(parsed[FX_RATES], policy)

    def inv_extra(p: Parsed, alive: np.ndarray) -> list:
        out = [future_dated(p, C.invoice_date, as_of)]
        return out + ([unknown_customers(p, customer_ids)] if customer_ids is not None else [])

    inv = checked["invoices"] = check(parsed["invoices"], policy, inv_extra)
    mode = opts.frames["transactions"]
    if mode == "settled_date":
        derived = derive_payments(_subset(inv.parsed, inv.kept))
        notes += derived.notes
        checked["transactions"] = _check_transactions(derived, inv, customer_ids, policy, as_of)
    elif "transactions" in parsed:
        checked["transactions"] = _check_transactions(
            parsed["transactions"], inv, customer_ids, policy, as_of
        )
    if COLLECTOR_NOTES in parsed:
        checked[COLLECTOR_NOTES] = _check_notes(parsed[COLLECTOR_NOTES], inv, customer_ids, policy)
    findings = [f for frame in ORDER if frame in checked for f in checked[frame].findings]
    findings += _convert(checked, opts, reporting)
    failing = [f for f in findings if policy_of(f.problem, policy) == "fail"]
    if failing:
        raise DataErrors(failing, bu)
    report = _report(checked, findings, policy, label, bu, reporting, notes, cfg.get("output_dir"))
    for c in checked.values():  # the quarantine is written: the source rows are not needed
        c.parsed.raw = c.parsed.raw.iloc[:0]
    frames = {"invoices": _final(inv)}
    frames["transactions"] = (
        _final(checked["transactions"]) if "transactions" in checked else empty(Transactions)
    )
    if opts.frames["customers"] == "derive":
        frames["customers"] = derive_customers(frames["invoices"], bu)
    described = [c for c in (C.name, C.segment) if c in frames["invoices"]]
    frames["invoices"] = frames["invoices"].drop(columns=described)  # they describe customers
    if opts.frames["customers"] != "derive":
        frames["customers"] = _final(checked["customers"]) if "customers" in checked else None
    frames[COLLECTOR_NOTES] = (
        _final(checked[COLLECTOR_NOTES]) if COLLECTOR_NOTES in checked else None
    )
    report.source_rows = source_rows
    report.open_items_only = mode == "none"
    return frames, report


def _report(checked, findings, policy, label, bu, reporting, notes, output_dir) -> LoadReport:
    amounts = {f: c.parsed.data[C.amount] for f, c in checked.items() if C.amount in c.parsed.data}
    rows, quarantined = [], {}
    for frame in ORDER:
        c = checked.get(frame)
        if c is None:
            continue
        d = c.parsed.data
        amt = d[C.amount] if C.amount in d else pd.Series(np.nan, index=d.index)
        q = d.loc[c.quarantined].assign(
            problem=c.problem.reindex(np.flatnonzero(c.quarantined)).to_numpy(),
            reason=c.reason.reindex(np.flatnonzero(c.quarantined)).to_numpy(),
        )
        quarantined[frame] = q.reset_index(drop=True)
        unreadable = int(q[C.amount].isna().sum()) if C.amount in q else 0
        if unreadable:
            notes.append(
                f"{c.parsed.label}: {unreadable} quarantined row(s) have no readable or convertible "
                "amount; they are counted in rows but not in amounts"
            )
        rows.append(
            {
                "frame": frame,
                "source": c.parsed.label,
                "rows_read": len(d),
                "rows_kept": int(c.kept.sum()),
                "rows_quarantined": int(c.quarantined.sum()),
                "amount_read": int(to_cents(amt).sum()) / 100 if C.amount in d else np.nan,
                "amount_quarantined": int(to_cents(amt[c.quarantined]).sum()) / 100
                if C.amount in d
                else np.nan,
            }
        )
    files = _write_quarantine(checked, output_dir)
    return LoadReport(
        bu,
        label,
        reporting,
        pd.DataFrame(rows),
        problems_table(findings, policy, amounts),
        quarantined,
        files,
        notes,
    )
