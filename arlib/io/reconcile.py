"""Reconciliation: every amount read is accounted for, to the cent.

Invoices (amounts in the reporting currency)::

    invoices read
      - quarantined invoices
      - invoices dated after as_of
    = invoiced to as_of
      - settled by payments      (to as_of, capped at each invoice's amount)
      - credited
      - written off
    = open AR expected           compared with the ledger's open AR: the difference must be 0.00

Settlements are applied to an invoice in date order and capped at its amount; what goes
beyond is *over-applied* and shown with the cash. Cash (payments to ``as_of``) is split into
applied, over-applied, unapplied and applied to invoices dated after ``as_of``; recoveries and
quarantined transactions have their own lines. An optional general-ledger control total is
compared with open AR and a difference is flagged.

All arithmetic is in integer cents. Example:

>>> import pandas as pd
>>> from arlib.ledger import Ledger
>>> inv = pd.DataFrame({"invoice_id": ["A", "B"], "business_unit": "X", "customer_id": "c1",
...     "invoice_date": pd.to_datetime(["2024-01-01", "2024-01-15"]),
...     "due_date": pd.to_datetime(["2024-01-31", "2024-02-14"]), "amount": [100.0, 50.0],
...     "currency": "EUR", "disputed": False})
>>> txn = pd.DataFrame({"txn_id": ["p1"], "business_unit": "X", "customer_id": "c1",
...     "invoice_id": ["A"], "date": pd.to_datetime(["2024-02-10"]), "amount": [40.0], "kind": "payment"})
>>> rec = reconciliation(Ledger(inv, txn), "2024-02-29", gl_control_total=110.0)
>>> by = rec.set_index("line")
>>> [float(by.at[k, "amount"]) for k in ("Invoiced to as_of", "Settled by payments", "Open AR (ledger)")]
[150.0, -40.0, 110.0]
>>> by.loc[["Difference", "Open AR minus GL control total"], "check"].tolist()
['ok', 'ok']
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from arlib.io.mapping import to_cents
from arlib.ledger import ledger_arrays, open_by_date
from arlib.schemas import CREDIT_NOTE, PAYMENT, RECOVERY, SETTLING_KINDS, TXN_KINDS, WRITE_OFF, C

OK, DIFFERS = "ok", "DIFFERS"
DIFFERENCE = "Difference"
SOURCE_DIFFERENCE = "Source rows not accounted for"
NO_UNIT = "of which totals lines with no business unit (not read; amount as written)"
GL_DIFFERENCE = "Open AR minus GL control total"


def _cents(values) -> np.ndarray:
    return to_cents(values)


_PAYMENT, _RECOVERY = TXN_KINDS.index(PAYMENT), TXN_KINDS.index(RECOVERY)
_SETTLING = np.array([TXN_KINDS.index(k) for k in SETTLING_KINDS])


@dataclass(frozen=True)
class _Txns:
    """The ledger's transactions as arrays, in its date order: ``kind`` (index into
    :data:`~arlib.schemas.TXN_KINDS`, -1 unknown), ``cents``, ``code`` (row of the invoice,
    -1 none) and ``dated`` (on or before the day)."""

    kind: np.ndarray
    cents: np.ndarray
    code: np.ndarray
    dated: np.ndarray


def _txns(ledger, day: pd.Timestamp) -> _Txns:
    """From the arrays the ledger was built with: its invoice positions and kinds were found
    once there (no text is compared or hashed again here)."""
    a = ledger_arrays(ledger)
    dated = (ledger.transactions[C.date] <= day).to_numpy()
    return _Txns(a.txn_kind, _cents(a.txn_amount), a.txn_code, dated)


def _allocate(ledger, t: _Txns, inv_cents: np.ndarray) -> dict[str, np.ndarray]:
    """Settling transactions to the day with the part applied to their invoice (``applied``,
    cents) and the part beyond its amount (``over``); ``code`` is the invoice row or -1,
    ``kind`` the index into :data:`~arlib.schemas.TXN_KINDS`."""
    keep = np.flatnonzero(t.dated & np.isin(t.kind, _SETTLING))
    code, cents = t.code[keep], t.cents[keep]
    limit = np.where(code >= 0, inv_cents[np.maximum(code, 0)], 0) if len(inv_cents) else 0
    cum = pd.Series(cents).groupby(code).cumsum().to_numpy()  # transactions are in date order
    applied = np.minimum(cum, limit) - np.minimum(cum - cents, limit)
    applied = np.where(code >= 0, np.clip(applied, 0, None), 0)
    return {"kind": t.kind[keep], "cents": cents, "code": code, "applied": applied}


@dataclass(frozen=True)
class _Line:
    section: str
    line: str
    cents: int | None
    rows: int | None = None
    check: str = ""


def reconciliation(ledger, as_of, gl_control_total: float | None = None) -> pd.DataFrame:
    """The reconciliation table: ``section, line, amount, rows, check``.

    Uses ``ledger.load_report`` (set by :func:`arlib.io.load.load_ledger`) for the amounts read and
    quarantined; without it, the ledger's invoices are the amounts read. ``check`` is ``ok`` or
    ``DIFFERS`` on the two difference lines.
    """
    day = pd.Timestamp(as_of)
    inv = ledger.invoices
    report = getattr(ledger, "load_report", None)
    inv_cents = _cents(ledger_arrays(ledger).amount)
    after = (inv[C.invoice_date] > day).to_numpy()
    q_rows, q_amt = report.quarantined_total("invoices") if report else (0, 0.0)
    if report is not None:
        r = report.frames.set_index("frame").loc["invoices"]
        read_rows, read_cents = int(r["rows_read"]), int(_cents(r["amount_read"]))
    else:
        read_rows, read_cents = len(inv), int(inv_cents.sum())
    q_cents = int(_cents(q_amt))
    t = _txns(ledger, day)
    alloc = _allocate(ledger, t, inv_cents)
    code = alloc["code"]
    to_date = (code >= 0) & ~after[np.maximum(code, 0)] if len(after) else code >= 0
    applied = {
        k: int(alloc["applied"][to_date & (alloc["kind"] == TXN_KINDS.index(k))].sum())
        for k in SETTLING_KINDS
    }
    invoiced = read_cents - q_cents - int(inv_cents[after].sum())
    expected = invoiced - sum(applied.values())
    open_amount = open_by_date(ledger, [day])["open_amount"]
    open_cents = int(_cents(open_amount).sum())
    diff = expected - open_cents
    lines = [
        _Line("invoices", "Invoices read", read_cents, read_rows),
        _Line("invoices", "Quarantined invoices", -q_cents, q_rows),
        _Line(
            "invoices", "Invoices dated after as_of", -int(inv_cents[after].sum()), int(after.sum())
        ),
        _Line("invoices", "Invoiced to as_of", invoiced, int((~after).sum())),
        _Line("invoices", "Settled by payments", -applied[PAYMENT]),
        _Line("invoices", "Credited", -applied[CREDIT_NOTE]),
        _Line("invoices", "Written off", -applied[WRITE_OFF]),
        _Line("invoices", "Open AR expected", expected),
        _Line("invoices", "Open AR (ledger)", open_cents, len(open_amount)),
        _Line("invoices", DIFFERENCE, diff, None, OK if diff == 0 else DIFFERS),
    ]
    lines += _cash_lines(t, alloc, to_date, report)
    lines += _source_lines(report)
    if gl_control_total is not None:
        gl = int(_cents(gl_control_total))
        lines += [
            _Line("general ledger", "GL control total", gl),
            _Line(
                "general ledger",
                GL_DIFFERENCE,
                open_cents - gl,
                None,
                OK if open_cents == gl else DIFFERS,
            ),
        ]
    out = pd.DataFrame(
        [
            {
                "section": ln.section,
                "line": ln.line,
                "amount": np.nan if ln.cents is None else ln.cents / 100,
                "rows": ln.rows,
                "check": ln.check,
            }
            for ln in lines
        ]
    )
    out["rows"] = out["rows"].astype("Int64")
    return out


def _cash_lines(t: _Txns, alloc: dict, to_date: np.ndarray, report) -> list[_Line]:
    pay = t.dated & (t.kind == _PAYMENT)
    paid = alloc["kind"] == _PAYMENT  # settling transactions that are payments
    cents, over = alloc["cents"], alloc["cents"] - alloc["applied"]
    applied = int(alloc["applied"][paid & to_date].sum())
    over_applied = int(over[paid & to_date].sum())
    unapplied = int(cents[paid & (alloc["code"] < 0)].sum())
    later = int(cents[paid & (alloc["code"] >= 0) & ~to_date].sum())
    other_cents = int(over[~paid & to_date].sum() + cents[~paid & ~to_date].sum())
    rec = t.dated & (t.kind == _RECOVERY)
    future = ~t.dated
    q_rows, q_amt = report.quarantined_total("transactions") if report else (0, 0.0)
    return [
        _Line("cash", "Payments received to as_of", int(t.cents[pay].sum()), int(pay.sum())),
        _Line("cash", "of which applied to invoices", applied),
        _Line("cash", "of which over-applied (beyond invoice amount)", over_applied),
        _Line("cash", "of which unapplied (no invoice)", unapplied),
        _Line("cash", "of which on invoices dated after as_of", later),
        _Line("cash", "Credit notes and write-offs not reducing AR", other_cents),
        _Line(
            "cash", "Recoveries on written-off invoices", int(t.cents[rec].sum()), int(rec.sum())
        ),
        _Line(
            "cash", "Transactions dated after as_of", int(t.cents[future].sum()), int(future.sum())
        ),
        _Line("cash", "Quarantined transactions", int(_cents(q_amt)), q_rows),
    ]


def _source_lines(report) -> list[_Line]:
    """Every source row of each frame: read for this unit, of other units, or a totals line
    with no unit (from the file reader's counts; a database or Parquet filter reads only the
    unit's rows, so there are no such lines)."""
    out: list[_Line] = []
    counts = getattr(report, "source_rows", None) or {}
    for frame in ("invoices", "transactions"):
        c = counts.get(frame)
        if not c or frame not in set(report.frames["frame"]):
            continue
        read = int(report.frames.set_index("frame").at[frame, "rows_read"])
        missing = c["rows"] - c["other_units"] - c["no_unit"] - read
        title = {
            "invoices": "Invoice rows in the source",
            "transactions": "Transaction rows in the source",
        }[frame]
        out += [
            _Line("source", title, None, c["rows"]),
            _Line(
                "source",
                "of which other business units (not in this report)",
                None,
                c["other_units"],
            ),
            _Line("source", NO_UNIT, int(_cents(c["no_unit_amount"])), c["no_unit"]),
            _Line("source", "of which read for this unit", None, read),
            _Line("source", SOURCE_DIFFERENCE, None, missing, OK if missing == 0 else DIFFERS),
        ]
    return out


def reconciled(rec: pd.DataFrame) -> bool:
    """True when the identity holds to the cent and every source row is accounted for (the
    GL comparison is separate)."""
    lines = rec.loc[rec["line"].isin([DIFFERENCE, SOURCE_DIFFERENCE]), "check"]
    return bool((lines == OK).all())


def kpis(rec: pd.DataFrame) -> dict:
    """Headline reconciliation figures for ``kpis.json``."""
    by = rec.set_index("line")
    by["amount"] = by["amount"].astype(float) + 0.0  # no -0.0 in the JSON
    out = {
        "invoices_read": by.at["Invoices read", "amount"],
        "quarantined_invoices": 0.0 - by.at["Quarantined invoices", "amount"],
        "quarantined_rows": int(
            by.at["Quarantined invoices", "rows"] + by.at["Quarantined transactions", "rows"]
        ),
        "open_ar": by.at["Open AR (ledger)", "amount"],
        "difference": by.at[DIFFERENCE, "amount"],
        "source_rows_unaccounted": int(
            rec.loc[rec["line"] == SOURCE_DIFFERENCE, "rows"].fillna(0).astype(int).abs().sum()
        ),
        "rows_other_units": int(
            rec.loc[rec["line"].str.contains("other business units"), "rows"].sum()
        ),
        "rows_no_unit": int(rec.loc[rec["line"] == NO_UNIT, "rows"].sum()),
        "reconciled": reconciled(rec),
    }
    if GL_DIFFERENCE in by.index:
        out.update(
            gl_control_total=by.at["GL control total", "amount"],
            gl_difference=by.at[GL_DIFFERENCE, "amount"],
        )
    return {"reconciliation": out}


def summary(rec: pd.DataFrame, currency: str = "", lang: str | None = None) -> Summary:
    """A one-paragraph verdict, as text (``str``) and as an HTML banner in a notebook, in the
    report language (:func:`arlib.i18n.t`; English text is the message id).

    >>> rec = pd.DataFrame({"line": ["Invoices read", "Quarantined invoices", "Open AR (ledger)", DIFFERENCE],
    ...                     "amount": [1000.0, 0.0, 250.0, 0.0], "check": ["", "", "", OK]})
    >>> print(summary(rec, "EUR", "zh"))
    读取发票 1,000.00 EUR；应收账款余额 250.00 EUR。每一笔金额都已核对到分。
    """
    from arlib.i18n import language, t

    by = rec.set_index("line")["amount"]
    cur = f" {currency}" if currency else ""
    q = 0.0 - by["Quarantined invoices"]
    read, open_ar = f"{by['Invoices read']:,.2f}{cur}", f"{by['Open AR (ledger)']:,.2f}{cur}"
    if q:
        parts = [
            t(
                "Invoices read {read}, of which {quarantined} quarantined; open AR {open_ar}.", lang
            ).format(read=read, quarantined=f"{q:,.2f}", open_ar=open_ar)
        ]
    else:
        parts = [
            t("Invoices read {read}; open AR {open_ar}.", lang).format(read=read, open_ar=open_ar)
        ]
    no_unit = rec.loc[rec["line"] == NO_UNIT]
    if len(no_unit) and no_unit["rows"].sum():
        parts.append(
            t(
                "{rows} totals line(s) with no business unit not read ({amount} as written).", lang
            ).format(rows=int(no_unit["rows"].sum()), amount=f"{no_unit['amount'].sum():,.2f}")
        )
    alarm = False
    if reconciled(rec):
        parts.append(t("Every amount is accounted for to the cent.", lang))
    else:
        alarm = True
        parts.append(
            t(
                "RECONCILIATION DIFFERENCE of {amount}: amounts are missing or double counted.",
                lang,
            ).format(amount=f"{by[DIFFERENCE]:,.2f}{cur}")
        )
    if GL_DIFFERENCE in by.index:
        gl_diff = by[GL_DIFFERENCE]
        if gl_diff:
            alarm = True
            parts.append(
                t("OPEN AR DIFFERS FROM THE GL CONTROL TOTAL {gl} by {amount}.", lang).format(
                    gl=f"{by['GL control total']:,.2f}{cur}", amount=f"{gl_diff:,.2f}{cur}"
                )
            )
        else:
            parts.append(t("Open AR agrees with the GL control total.", lang))
    sep = "" if (lang or language()) == "zh" else " "
    return Summary(sep.join(parts), alarm)


@dataclass(frozen=True)
class Summary:
    text: str
    alarm: bool

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour, border = ("#fde0dd", "#b2182b") if self.alarm else ("#e5f5e0", "#238b45")
        return (
            f'<div style="background:{colour};border-left:6px solid {border};padding:8px 12px;'
            f'font-weight:{"bold" if self.alarm else "normal"}">{html.escape(self.text)}</div>'
        )


#: the section's heading and lead paragraph (English text; the catalog key of its translation)
SECTION_TEXT = (
    "## Data and reconciliation\n\nEvery amount read from the source is accounted for, to the cent: invoices "
    "read, less quarantined invoices and invoices dated after the report date, less what payments, credit "
    "notes and write-offs settled, equals open receivables. Cash not applied to an invoice has its own lines. "
    "When `gl_control_total` is given, open receivables are compared with it. Data problems and how they "
    "were handled (`validation_policy`) are listed below; quarantined rows are in `quarantine-<frame>.csv` "
    "beside this report."
)


#: the data-problems table when every row passed the checks
NO_PROBLEMS = "No data problems: every row read passed the checks."


def section(ledger, cfg) -> pd.DataFrame:
    """The "Data and reconciliation" section every unit report ends with, written once: heading
    and lead, the verdict, the reconciliation table, the data problems; the headline figures
    are recorded in the notebook's section of ``kpis.json``. Returns the reconciliation table."""
    from IPython.display import Markdown, display

    from arlib.i18n import t
    from arlib.report.records import record
    from arlib.report.tables import table

    lang = cfg.report_language
    rec = reconciliation(ledger, cfg.as_of, cfg.gl_control_total)
    display(Markdown(t(SECTION_TEXT, lang)))
    display(summary(rec, cfg.currency, lang))
    record(kpis(rec))
    display(table(rec, money=["amount"]))
    report = getattr(ledger, "load_report", None)
    if report is not None:
        display(Markdown(t("### Data problems", lang)))
        display(report)
        display(table(report.problems, money=["amount"], empty=NO_PROBLEMS))
    return rec
