"""One customer's account: the unit's figures narrowed to one customer (the drill-down report).

:func:`account` computes the unit's scorecard, collection worklist and open-item runoff with the
same functions and parameters as the unit reports, then keeps the rows of one customer. So every
figure of a customer report *is* the unit report's row for that customer (score, grade, dunning
step, expected loss, limit use), and its expected payments add up to its share of the unit's
runoff. Terms:

- **Statement**: the customer's items open at the close, with ``age_days`` (since the invoice),
  ``days_past_due``, the aging ``bucket``, ``state`` (current, past due or disputed), the
  dunning ``step`` and the worklist's ``expected_loss``.
- **History**: its invoices paid by a payment in the ``trend_months`` ending at ``as_of``, with
  signed ``days_late``; **behaviour**: the same per month of payment, amount-weighted.
- **Share of the unit's risk**: open AR, past-due AR, disputed AR and expected loss of the
  customer over the unit's.

Nothing dated after ``as_of`` is used; the customer is picked by ``customer_id`` (default: the
first of the worklist).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from arlib.config import RunConfig
from arlib.errors import ConfigError
from arlib.forecast.runoff import DS, RunoffModel
from arlib.health import credit, shared
from arlib.i18n import t
from arlib.ledger import Ledger
from arlib.schemas import PAYMENT, WRITE_OFF, C

__all__ = [
    "Account",
    "UnitView",
    "account",
    "accounts",
    "customer_report_ids",
    "explain",
    "health_card",
    "unit_frames",
    "unit_view",
]

#: columns of the statement of account, in display order
STATEMENT = (
    C.invoice_id,
    C.invoice_date,
    C.due_date,
    C.open_amount,
    "age_days",
    C.days_past_due,
    C.bucket,
    "state",
    "dunning_step",
    "expected_loss",
)
#: the scorecard's drivers (:data:`arlib.health.credit.SCORE_RULES`) in words
DRIVER_LABELS = {
    "days_late": "days late (amount-weighted)",
    "late_trend": "lateness trend (days)",
    "share_late": "share paid late",
    "dispute_share": "share disputed",
    "limit_use": "credit-limit use",
    "balance_growth": "balance growth",
}
#: columns whose values are words of ours, shown in the report language
WORDS = ("state", "dunning_step", "driver", "figure", "measure")
#: money and percentage columns of each table of :class:`Account` (for :meth:`Account.table`)
FORMATS = {
    "statement": ([C.open_amount, "expected_loss"], []),
    "history": ([C.amount], []),
    "behaviour": ([C.amount], ["share_late"]),
    "drivers": ([], []),
    "expected": (["expected", "write_off"], []),
    "limit": ([], []),
    "disputes": ([C.open_amount], []),
    "share": (["customer", "unit"], ["share"]),
}


@dataclass(frozen=True)
class Account:
    """One customer's account at ``as_of``: the frames named in :data:`FORMATS` and ``facts``,
    the flat figures (:meth:`figures`) the report records."""

    customer_id: str
    name: str
    currency: str
    as_of: pd.Timestamp
    facts: dict
    statement: pd.DataFrame
    history: pd.DataFrame
    behaviour: pd.DataFrame
    drivers: pd.DataFrame
    expected: pd.DataFrame
    limit: pd.DataFrame
    disputes: pd.DataFrame
    share: pd.DataFrame

    def table(self, name: str):
        """The named frame as a display table (:func:`arlib.report.tables.table`)."""
        from arlib.i18n import t
        from arlib.report.tables import table

        money, pct = FORMATS[name]
        frame = getattr(self, name).copy()
        for col in set(WORDS) & set(frame.columns):
            frame[col] = frame[col].map(lambda v: t(v) if isinstance(v, str) else v)
        return table(frame, money=money, pct=pct)

    def figures(self) -> dict:
        """The headline figures of the customer report, as plain JSON types."""
        return {"customer": dict(self.facts)}


#: where the health report hands its scorecard and worklist to the run's customer reports
HANDOFF = ("credit_card.parquet", "credit_worklist.parquet")
#: where it hands on the ids of the run's customer reports (``{"customer_report_ids": [...]}``)
RUN_IDS = "customer_reports.json"


def save_unit_frames(cfg, card: pd.DataFrame, work: pd.DataFrame, ids=()) -> None:
    """Keep the health report's scorecard and worklist, and the ``ids`` of the customers given a
    report, in the unit's run snapshot (when run by ``arlib run``), so that its customer reports
    show exactly these rows."""
    import json

    if not cfg.get("snapshot"):
        return
    folder = Path(cfg.snapshot)
    for frame, name in zip((card, work), HANDOFF, strict=True):
        frame.to_parquet(folder / name, index=False)
    (folder / RUN_IDS).write_text(json.dumps({"customer_report_ids": [str(i) for i in ids]}))


def health_card(cfg) -> pd.DataFrame | None:
    """The health report's scorecard of this run (kept in the unit's snapshot), or None when
    there is none (a notebook run on its own, or a run without the health report)."""
    path = Path(cfg.get("snapshot") or "") / HANDOFF[0]
    return pd.read_parquet(path) if cfg.get("snapshot") and path.is_file() else None


def unit_frames(ledger: Ledger, cfg) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The unit's scorecard (with recommendations) and worklist as the health report computed
    them: ``(card, work)``. In a run they are the health report's own rows (kept in the run's
    snapshot); a customer report run on its own computes them the same way with the health
    report's default scorecard settings (grade cut-offs from the scorecard backtest)."""
    folder = Path(cfg.get("snapshot") or "")
    if cfg.get("snapshot") and all((folder / n).is_file() for n in HANDOFF):
        card, work = (pd.read_parquet(folder / n) for n in HANDOFF)
        return card, work
    from arlib.health import calibration

    lookback = cfg.scorecard_lookback_months
    evidence = calibration.evidence(ledger, cfg.as_of, lookback_months=lookback)
    scores = credit.scorecard(ledger, cfg.as_of, lookback_months=lookback, cuts=evidence["cuts"])
    card = credit.recommend(scores, lookback_months=lookback)
    work = credit.worklist(
        ledger, cfg.as_of, card=card, ladder=cfg.dunning_ladder, loss_rates=cfg.worklist_loss_rates
    )
    return card, work


def customer_report_ids(actions: pd.DataFrame, n: int) -> dict:
    """The first ``n`` customers of the worklist (per customer, highest priority first), as
    recorded by the health report for the runner's customer reports.

    >>> customer_report_ids(pd.DataFrame({"customer_id": ["C2", "C1", "C3"]}), 2)
    {'customer_report_ids': ['C2', 'C1']}
    """
    return {"customer_report_ids": [str(c) for c in actions[C.customer_id].head(max(n, 0))]}


def _pick(ledger: Ledger, cfg, unit: UnitView) -> str:
    wanted = cfg.customer_id
    if not wanted:
        ranked = unit.order() if len(unit.work) else list(unit.card[C.customer_id])
        if not len(ranked):
            raise ConfigError("customer_id", f"unit {cfg.business_unit} has no customer to show")
        return str(ranked[0])
    known = unit.known(ledger, cfg.as_of)
    if str(wanted) not in known:
        first = ", ".join(unit.order()[:5]) or ", ".join(sorted(known)[:5])
        raise ConfigError(
            "customer_id",
            f"{wanted!r} has no invoice, payment or open item in unit {cfg.business_unit} up to "
            f"{cfg.as_of:%Y-%m-%d} ({len(known)} customers have). Fix: use one of its customer "
            f"ids, e.g. {first}",
        )
    return str(wanted)


def account(ledger: Ledger, cfg, card=None, work=None) -> Account:
    """The account of customer ``cfg.customer_id`` (empty: the worklist's first) at ``cfg.as_of``.

    ``card`` and ``work`` (from :func:`unit_frames`) may be passed when already computed. Raises
    :class:`~arlib.errors.ConfigError` naming the parameter when the customer is unknown."""
    unit = unit_view(ledger, cfg, card, work)
    return _account(ledger, cfg, unit, _pick(ledger, cfg, unit))


def accounts(ledger: Ledger, cfg, ids) -> dict[str, Account]:
    """The accounts of the customers ``ids`` (each as :func:`account` with ``customer_id`` set
    to it), from one :func:`unit_view`: what they share (open items, settlement, the runoff) is
    computed once, not once per customer: so are the text ids of its frames, by which each
    customer's rows are picked, the ledger's customers and the worklist's order."""
    unit = unit_view(ledger, cfg)
    out = {}
    for cid in dict.fromkeys(str(c) for c in ids):
        one = RunConfig(dict(cfg, customer_id=cid))
        out[cid] = _account(ledger, one, unit, _pick(ledger, one, unit))
    return out


@dataclass(frozen=True)
class UnitView:
    """What every customer account of a unit at a close reads: the scorecard and worklist
    (:func:`unit_frames`), the open ``items``, the ``settlement`` per invoice and the runoff's
    expected payments per open item (``runoff``; None for an open-item list). What several
    accounts read is worked out once and kept (``cache``): each frame's customer ids as text, the
    customers known to the unit and the worklist's customer order."""

    card: pd.DataFrame
    work: pd.DataFrame
    items: pd.DataFrame
    settlement: pd.DataFrame
    runoff: pd.DataFrame | None
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def mine(self, frame: pd.DataFrame, name: str, cid: str) -> pd.DataFrame:
        """The rows of ``frame`` (kept as ``name``) whose customer id, as text, is ``cid``.
        A frame kept as customer codes per row with each code's id as text (the settlement,
        see :func:`unit_view`) is picked by its codes: no million texts compared per customer."""
        if name not in self.cache:
            self.cache[name] = frame[C.customer_id].astype(str).to_numpy()
        kept = self.cache[name]
        if isinstance(kept, tuple):
            codes, text = kept
            return frame.loc[np.isin(codes, np.flatnonzero(text == cid))]
        return frame.loc[kept == cid]

    def order(self) -> list[str]:
        """The worklist's customers, first to call first (:func:`arlib.health.credit.actions`)."""
        if "order" not in self.cache:
            self.cache["order"] = list(credit.actions(self.work)[C.customer_id].astype(str))
        return self.cache["order"]

    def known(self, ledger: Ledger, as_of) -> set[str]:
        """Customers scored, invoiced up to ``as_of`` or in the customer master, as text."""
        if "known" not in self.cache:
            scored = set(self.card[C.customer_id].astype(str))
            self.cache["known"] = scored | set(_ledger_customers(ledger, as_of))
        return self.cache["known"]


def unit_view(ledger: Ledger, cfg, card=None, work=None) -> UnitView:
    """The :class:`UnitView` of ``ledger`` at ``cfg.as_of`` (``card``/``work`` as in
    :func:`account`)."""
    if card is None or work is None:
        card, work = unit_frames(ledger, cfg)
    items = ledger.open_items(cfg.as_of, cfg.aging_thresholds)
    # the ledger's own settlement frame, read only (its rows are selected, never written), one
    # row per invoice: its customers are the invoices' customer codes, shared with the scorecard
    unit = UnitView(card, work, items, shared.settlement(ledger), _runoff_items(ledger, cfg))
    codes, ids = shared.customer_codes(ledger)
    text = pd.Series(ids, dtype=ledger.invoices[C.customer_id].dtype).astype(str).to_numpy()
    unit.cache["settlement"] = (codes, text)
    return unit


def _account(ledger: Ledger, cfg, unit: UnitView, cid: str) -> Account:
    row = _card_row(ledger, unit.card, cid)
    items, work = unit.items, unit.work
    statement = _statement(unit.mine(items, "items", cid), work, cfg.as_of)
    history = _history(unit.mine(unit.settlement, "settlement", cid), cfg.as_of, cfg.trend_months)
    runoff = None if unit.runoff is None else unit.mine(unit.runoff, "runoff", cid)
    expected, unit_expected = _expected(unit.runoff, runoff)
    facts = _facts(row, statement, unit.mine(work, "work", cid), cid, expected)
    facts["worklist_position"] = _position(unit, cid)
    txn = unit.mine(ledger.transactions, "transactions", cid)
    facts["written_off"] = _written_off(txn, cfg.as_of, cfg.trend_months)
    if np.isnan(unit_expected):  # not estimated (open-item list): no figure, not a zero
        facts["expected_payments"] = facts["expected_write_off"] = None
    return Account(
        customer_id=cid,
        name=str(row[C.name]),
        currency=cfg.currency,
        as_of=cfg.as_of,
        facts=facts,
        statement=statement,
        history=history,
        behaviour=_behaviour(history),
        drivers=_drivers(row),
        expected=expected,
        limit=_limit(row, facts),
        disputes=statement.loc[statement["state"] == "disputed", list(STATEMENT[:6])].reset_index(
            drop=True
        ),
        share=_share(statement, items, work, expected, unit_expected),
    )


def _ledger_customers(ledger: Ledger, as_of) -> pd.Index:
    """Customers with an invoice dated up to ``as_of``, or in the customer master."""
    inv = ledger.invoices
    ids = inv.loc[inv[C.invoice_date] <= as_of, C.customer_id]  # each distinct id made text once
    ids = set(pd.Series(ids.unique(), dtype=ids.dtype).astype(str))
    if ledger.customers is not None:
        ids |= set(ledger.customers[C.customer_id].astype(str))
    return pd.Index(sorted(ids))


def _card_row(ledger: Ledger, card: pd.DataFrame, cid: str) -> pd.Series:
    """The customer's scorecard row; a customer with no activity in the look-back (e.g. written
    off before it) is not scored: its master data with no score, grade ``-`` and no limit advice."""
    hit = card.loc[card[C.customer_id].astype(str) == cid]
    if len(hit):
        return hit.iloc[0]
    row = pd.Series(np.nan, index=card.columns, dtype=object)
    cust = ledger.customers
    master = cust.loc[cust[C.customer_id].astype(str) == cid] if cust is not None else cust
    for col in (C.name, C.segment, C.credit_limit, C.terms_days, C.status):
        have = master is not None and len(master) and col in master
        row[col] = master[col].iloc[0] if have else np.nan
    row[C.customer_id], row["open_ar"] = cid, 0.0
    row[C.name] = cid if pd.isna(row[C.name]) else row[C.name]
    row[C.status] = "active" if pd.isna(row[C.status]) else row[C.status]
    row["grade"], row["limit_action"] = "-", "-"
    row["top_drivers"] = t("not scored: no activity in the scorecard look-back")
    for k in credit.SCORE_RULES:
        row[f"pts_{k}"] = 0.0
    return row


def _statement(mine: pd.DataFrame, work: pd.DataFrame, as_of) -> pd.DataFrame:
    out = mine.copy()
    out["age_days"] = (pd.Timestamp(as_of) - out[C.invoice_date]).dt.days.astype(int)
    out["state"] = np.select(
        [out[C.disputed].astype(bool), out[C.days_past_due] > 0],
        ["disputed", "past due"],
        "current",
    )
    steps = work.set_index(C.invoice_id)
    out["dunning_step"] = out[C.invoice_id].map(steps["step"]).fillna("")
    out["expected_loss"] = out[C.invoice_id].map(steps["expected_loss"]).fillna(0.0)
    out = out.sort_values([C.days_past_due, C.invoice_id], ascending=[False, True], kind="stable")
    return out[list(STATEMENT)].reset_index(drop=True)


def _history(st: pd.DataFrame, as_of, months: int) -> pd.DataFrame:
    """The customer's invoices paid by a payment in the ``months`` ending at ``as_of``, from
    the customer's rows ``st`` of the ledger's settlement."""
    from arlib.dso import window

    since = window(pd.Timestamp(as_of), months).start
    keep = (
        (st["settled_by"] == PAYMENT) & (st[C.settled_date] > since) & (st[C.settled_date] <= as_of)
    )
    cols = [C.invoice_id, C.invoice_date, C.due_date, C.amount, C.settled_date, "days_late"]
    return st.loc[keep, cols].sort_values(C.settled_date, kind="stable").reset_index(drop=True)


def _written_off(txn: pd.DataFrame, as_of, months: int) -> float:
    """Amount of the customer's write-offs (among its transactions ``txn``) dated in the
    ``months`` ending at ``as_of``."""
    from arlib.dso import window

    since = window(pd.Timestamp(as_of), months).start
    keep = (txn[C.kind] == WRITE_OFF) & (txn[C.date] > since) & (txn[C.date] <= as_of)
    return round(float(txn.loc[keep, C.amount].sum()), 2)


def _behaviour(history: pd.DataFrame) -> pd.DataFrame:
    """Per month of payment: invoices paid, amount, amount-weighted days late, share paid late."""
    h = history.assign(
        month=history[C.settled_date].dt.to_period("M").dt.to_timestamp(),
        weighted=history[C.amount] * history["days_late"],
        late_amount=history[C.amount].where(history["days_late"] > 0, 0.0),
    )
    g = h.groupby("month").agg(
        invoices=(C.invoice_id, "size"),
        amount=(C.amount, "sum"),
        weighted=("weighted", "sum"),
        late_amount=("late_amount", "sum"),
    )
    g["days_late"] = g["weighted"] / g[C.amount]
    g["share_late"] = g["late_amount"] / g[C.amount]
    return g.reset_index()[["month", "invoices", C.amount, "days_late", "share_late"]]


def _drivers(row: pd.Series) -> pd.DataFrame:
    """The scorecard's drivers for the customer: value, points (0-100) and weight."""
    rules = credit.SCORE_RULES
    total = sum(r[2] for r in rules.values())
    return pd.DataFrame(
        {
            "driver": [DRIVER_LABELS.get(k, k) for k in rules],
            "value": [float(row[k]) if pd.notna(row[k]) else np.nan for k in rules],
            "score_points": [float(row[f"pts_{k}"]) for k in rules],
            "weight": [rules[k][2] / total for k in rules],
        }
    )


def _runoff_items(ledger: Ledger, cfg) -> pd.DataFrame | None:
    """Expected payments of every open item per future period (the forecast report's runoff,
    item by item); None for an open-item list (no payment history to learn from: the forecast
    report's runoff is contractual), which gets no estimate here, never zeros."""
    model = RunoffModel(by=cfg.runoff_by, history_days=cfg.runoff_history_days)
    with warnings.catch_warnings():  # pooled curves are the forecast report's to explain
        warnings.simplefilter("ignore", UserWarning)
        model.fit(ledger, cfg.as_of)
    if getattr(model, "method_", "runoff") != "runoff":
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.predict_items(cfg.forecast_horizon, cfg.forecast_freq)


def _expected(items: pd.DataFrame | None, mine: pd.DataFrame | None) -> tuple[pd.DataFrame, float]:
    """Expected payments of the customer's open items (``mine``, its rows of ``items``, the
    unit's :func:`_runoff_items`) per future period, and the unit's total over the horizon: an
    empty frame and a NaN total when there is no runoff."""
    if items is None or mine is None:
        return pd.DataFrame(columns=["period", "expected", "write_off"]), float("nan")
    periods = items[DS].drop_duplicates().sort_values()
    out = mine.groupby(DS)[["expected", "write_off"]].sum().reindex(periods, fill_value=0.0)
    out = out.rename_axis("period").reset_index()
    return out, float(items["expected"].sum())


def _facts(row, statement, mine, cid, expected) -> dict:
    """The flat figures; ``mine``: the customer's worklist rows (``worklist_position`` is set by
    the caller)."""
    due = statement.loc[statement[C.days_past_due] > 0]
    undisputed = due.loc[due["state"] != "disputed", C.days_past_due]
    return {
        "customer_id": cid,
        "name": str(row[C.name]),
        "status": str(row[C.status]),
        "open_ar": round(float(statement[C.open_amount].sum()), 2),
        "open_items": int(len(statement)),
        "past_due": round(float(due[C.open_amount].sum()), 2),
        "past_due_items": int(len(due)),
        "oldest_days_past_due": int(due[C.days_past_due].max()) if len(due) else 0,
        "disputed": round(
            float(statement.loc[statement["state"] == "disputed", C.open_amount].sum()), 2
        ),
        "score": None if pd.isna(row["score"]) else float(row["score"]),
        "grade": str(row["grade"]),
        "top_drivers": str(row["top_drivers"]),
        "next_step": str(mine["next_step"].iloc[0]) if len(mine) else "",
        "oldest_undisputed_days": int(undisputed.max()) if len(undisputed) else 0,
        "expected_loss": round(float(mine["expected_loss"].sum()), 2),
        "worklist_position": None,
        "credit_limit": None if pd.isna(row[C.credit_limit]) else float(row[C.credit_limit]),
        "limit_use": None if pd.isna(row["limit_use"]) else round(float(row["limit_use"]), 4),
        "recommended_limit": None
        if pd.isna(row["recommended_limit"])
        else float(row["recommended_limit"]),
        "limit_action": str(row["limit_action"]),
        "expected_payments": round(float(expected["expected"].sum()), 2),
        "expected_write_off": round(float(expected["write_off"].sum()), 2),
    }


def _position(unit: UnitView, cid: str) -> int | None:
    """The customer's place on the worklist per customer (1 = first to call), else None."""
    order = unit.order() if len(unit.work) else []
    return order.index(cid) + 1 if cid in order else None


def _limit(row: pd.Series, facts: dict) -> pd.DataFrame:
    """Dunning and credit-limit position, as figure/value text."""
    return pd.DataFrame(
        {
            "figure": [
                "next dunning step",
                "past-due items",
                "oldest undisputed item (days past due)",
                "credit limit",
                "open AR",
                "limit use",
                "recommended limit",
                "limit action",
                "terms (days)",
                "recommended terms (days)",
            ],
            "value": [
                _step_text(facts["next_step"]),
                f"{facts['past_due_items']:,}",
                f"{facts['oldest_undisputed_days']:,}",
                _text(row[C.credit_limit], "amount"),
                _text(row["open_ar"], "amount"),
                _text(row["limit_use"], "share"),
                _text(row["recommended_limit"], "amount"),
                t(str(row["limit_action"])),
                _text(row[C.terms_days], "count"),
                _text(row["recommended_terms"], "count"),
            ],
        }
    )


def _step_text(step: str) -> str:
    return t(step) if step else t("none (nothing past due)")


def _text(value, unit: str) -> str:
    from arlib.health.measures import fmt

    return fmt(None if pd.isna(value) else float(value), unit)


def _share(statement, items, work, expected, unit_expected) -> pd.DataFrame:
    """The customer's part of the unit's open, past-due and disputed AR, expected loss and
    expected payments over the horizon."""
    due = items[C.days_past_due] > 0
    disputed = items[C.disputed].astype(bool)
    mine_due = statement[C.days_past_due] > 0
    rows = [
        ("open AR", statement[C.open_amount].sum(), items[C.open_amount].sum()),
        (
            "past-due AR",
            statement.loc[mine_due, C.open_amount].sum(),
            items.loc[due, C.open_amount].sum(),
        ),
        (
            "disputed AR",
            statement.loc[statement["state"] == "disputed", C.open_amount].sum(),
            items.loc[disputed, C.open_amount].sum(),
        ),
        ("expected loss", statement["expected_loss"].sum(), work["expected_loss"].sum()),
        (
            "expected payments",
            expected["expected"].sum() if len(expected) else np.nan,
            unit_expected,
        ),
    ]
    out = pd.DataFrame(rows, columns=["measure", "customer", "unit"])
    out["share"] = np.where(
        out["unit"] > 0, out["customer"] / out["unit"].where(out["unit"] > 0, 1.0), np.nan
    )
    return out


from arlib.report.customer_narrative import explain  # noqa: E402  (the notebook calls customer.explain)
