"""The collection worklist: every past-due item to dun in one ranking, dunning steps by a ladder,
the legal and provisions list, and the export (formula-safe).

>>> check_ladder([[1, "reminder"], [30, "call"]])
((1, 'reminder'), (30, 'call'))
>>> list(dunning_step([0, 1, 29, 45], [[1, "reminder"], [30, "call"]]))
['', 'reminder', 'reminder', 'call']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.files import spreadsheet_safe
from arlib.i18n import t
from arlib.ledger import Ledger
from arlib.schemas import C

DEFAULT_LADDER = (
    (1, "reminder"),
    (15, "call"),
    (30, "final notice"),
    (60, "hold deliveries"),
    (90, "legal/agency"),
)
DISPUTE_STEP = "resolve dispute"
#: expected share of a past-due item lost, by grade (for the worklist's expected loss)
LOSS_RATES = {"A": 0.01, "B": 0.03, "C": 0.07, "D": 0.15, "E": 0.35}
HARD_STATUSES = ("insolvent", "legal")
#: columns shown in the report (see :func:`arlib.health.breakdown.view`)
ACTIONS_VIEW = (C.name, "grade", "past_due", "items", "oldest_days", "expected_loss", "next_step")
WORKLIST_VIEW = (
    "rank",
    C.name,
    C.invoice_id,
    C.due_date,
    C.open_amount,
    C.days_past_due,
    C.disputed,
    "grade",
    "expected_loss",
    "step",
)


def check_ladder(ladder: Sequence) -> tuple[tuple[int, str], ...]:
    """A dunning ladder ``[[days past due, step], ...]`` with strictly increasing days >= 1."""
    try:
        out = tuple((int(d), str(s)) for d, s in ladder)
        ok = bool(out) and all(
            isinstance(d, int | np.integer) and not isinstance(d, bool) for d, _ in ladder
        )
    except (TypeError, ValueError):
        ok, out = False, ()
    if (
        not ok
        or out[0][0] < 1
        or any(b <= a for (a, _), (b, _) in zip(out, out[1:]))
        or any(not s.strip() for _, s in out)
    ):
        raise ConfigError(
            "dunning_ladder",
            "must be a list of [days past due, step] pairs with whole days >= 1 "
            f'increasing strictly and a step name, e.g. [[1, "reminder"], [30, "call"]]; got {ladder!r}',
        )
    return out


def check_loss_rates(loss_rates: Mapping[str, float] | None) -> dict[str, float]:
    """The worklist's loss rate per grade: ``loss_rates`` over :data:`LOSS_RATES` (parameter
    ``worklist_loss_rates``), each a share within [0, 1].

    >>> check_loss_rates({"E": 0.5})["E"], check_loss_rates(None)["A"]
    (0.5, 0.01)
    >>> check_loss_rates({"E": 1.5})
    Traceback (most recent call last):
    ...
    arlib.errors.ConfigError: parameter worklist_loss_rates: must map grades to shares within [0, 1], e.g. {"E": 0.35}; got {'E': 1.5}
    """
    given = dict(loss_rates or {})
    try:
        ok = all(0.0 <= float(v) <= 1.0 for v in given.values())
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(
            "worklist_loss_rates",
            f'must map grades to shares within [0, 1], e.g. {{"E": 0.35}}; got {given!r}',
        )
    return {**LOSS_RATES, **{str(k): float(v) for k, v in given.items()}}


def dunning_step(days_past_due, ladder: Sequence = DEFAULT_LADDER) -> np.ndarray:
    """The ladder step for each days-past-due value (``""`` when not yet at the first step)."""
    lad = check_ladder(ladder)
    days = np.array([d for d, _ in lad])
    names = np.array(["", *[s for _, s in lad]], dtype=object)
    return names[np.searchsorted(days, np.asarray(days_past_due), side="right")]


def worklist(
    ledger: Ledger,
    as_of,
    card: pd.DataFrame,
    ladder: Sequence = DEFAULT_LADDER,
    loss_rates: Mapping[str, float] = LOSS_RATES,
    statuses: Sequence[str] = HARD_STATUSES,
) -> pd.DataFrame:
    """Every open past-due item at ``as_of`` to dun, ranked for collection.

    Items of customers whose status is in ``statuses`` (insolvency, legal proceedings) are not
    dunned: they are on :func:`legal_list`. ``expected_loss`` = open amount x the loss rate of
    the customer's grade (``loss_rates`` over :data:`LOSS_RATES`, parameter
    ``worklist_loss_rates``); an item's ``priority`` = expected loss x days past due. One ranking:
    customers by the sum of their items' priority (:func:`actions`), and within a customer its
    items by priority (ties by amount); ``rank`` numbers the items in that order, so the first
    item belongs to the first customer. ``step`` is the item's dunning step by the ladder
    (``resolve dispute`` for disputed items); ``next_step`` is the customer's: the step of its
    oldest undisputed past-due item.
    """
    lad = check_ladder(ladder)
    items = ledger.open_items(as_of)
    due = items.loc[
        (items[C.days_past_due] > 0) & ~items[C.customer_id].isin(_flagged(card, statuses))
    ].copy()
    info = card.set_index(C.customer_id)
    due.insert(0, C.name, due[C.customer_id].map(info[C.name]).fillna(due[C.customer_id]))
    due["grade"] = due[C.customer_id].map(info["grade"]).fillna("C")
    due["score"] = due[C.customer_id].map(info["score"])
    rates = check_loss_rates(loss_rates)
    due["expected_loss"] = (
        due[C.open_amount] * due["grade"].map(rates).fillna(max(rates.values()))
    ).round(2)
    due["priority"] = (due["expected_loss"] * due[C.days_past_due]).round(2)
    disputed = due[C.disputed].astype(bool).to_numpy()
    due["step"] = np.where(
        disputed, DISPUTE_STEP, dunning_step(due[C.days_past_due].to_numpy(), lad)
    )
    oldest = due.loc[~disputed].groupby(C.customer_id)[C.days_past_due].max()
    due["next_step"] = due[C.customer_id].map(
        pd.Series(dunning_step(oldest.to_numpy(), lad), index=oldest.index)
    )
    due["next_step"] = due["next_step"].fillna(DISPUTE_STEP)
    due["customer_priority"] = due.groupby(C.customer_id)["priority"].transform("sum")
    due = due.sort_values(
        ["customer_priority", C.customer_id, "priority", C.open_amount],
        ascending=[False, True, False, False],
        kind="stable",
    ).reset_index(drop=True)
    due.insert(0, "rank", np.arange(1, len(due) + 1))
    cols = [
        "rank",
        C.customer_id,
        C.name,
        C.invoice_id,
        C.invoice_date,
        C.due_date,
        C.open_amount,
        C.days_past_due,
        C.bucket,
        C.disputed,
        "grade",
        "score",
        "expected_loss",
        "priority",
        "step",
        "next_step",
    ]
    return due[cols]


def _flagged(card: pd.DataFrame, statuses: Sequence[str]) -> set:
    return set(card.loc[card[C.status].isin(list(statuses)), C.customer_id])


def legal_list(
    ledger: Ledger,
    as_of,
    card: pd.DataFrame,
    specific: pd.DataFrame | None = None,
    statuses: Sequence[str] = HARD_STATUSES,
) -> pd.DataFrame:
    """Customers in insolvency or legal proceedings (status in ``statuses``): off the dunning
    worklist, handled with their specific provision. Per customer: ``customer_id, name,
    status, open_ar, past_due, oldest_days, specific_provision`` (from ``specific``, the
    provision report's :func:`arlib.provision.specific_table`; NaN without it), largest
    balance first."""
    who = _flagged(card, statuses)
    items = ledger.open_items(as_of)
    items = items.loc[items[C.customer_id].isin(who)]
    past = items[C.open_amount].where(items[C.days_past_due] > 0, 0.0)
    g = items.assign(past_due=past).groupby(C.customer_id)
    out = g.agg(
        open_ar=(C.open_amount, "sum"),
        past_due=("past_due", "sum"),
        oldest_days=(C.days_past_due, "max"),
    ).reset_index()
    info = card.set_index(C.customer_id)
    out.insert(1, C.name, out[C.customer_id].map(info[C.name]))
    out.insert(2, C.status, out[C.customer_id].map(info[C.status]).map(t))
    spec = (
        specific.set_index(C.customer_id)["allowance"]
        if specific is not None and len(specific)
        else pd.Series(dtype=float)
    )
    out["specific_provision"] = out[C.customer_id].map(spec).astype(float)
    return out.sort_values("open_ar", ascending=False, kind="stable").reset_index(drop=True)


def actions(work: pd.DataFrame) -> pd.DataFrame:
    """The worklist per customer: ``customer_id, name, grade, past_due, items, oldest_days,
    expected_loss, priority, next_step``, highest priority first."""
    g = work.groupby([C.customer_id, C.name, "grade", "next_step"], sort=False)
    out = g.agg(
        past_due=(C.open_amount, "sum"),
        items=(C.invoice_id, "size"),
        oldest_days=(C.days_past_due, "max"),
        expected_loss=("expected_loss", "sum"),
        priority=("priority", "sum"),
        first=("rank", "min"),
    ).reset_index()
    out = out.sort_values("first", kind="stable").drop(columns="first").reset_index(drop=True)
    return out[
        [
            C.customer_id,
            C.name,
            "grade",
            "past_due",
            "items",
            "oldest_days",
            "expected_loss",
            "priority",
            "next_step",
        ]
    ]


def export_worklist(
    work: pd.DataFrame,
    output_dir,
    stem: str = "collection_worklist",
    per_customer: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write the worklist as ``<stem>.csv`` and ``<stem>.xlsx`` (sheets ``items`` and, when given,
    ``customers``) into ``output_dir`` (created if missing); returns the paths by format.
    Headers, sheet names and dunning steps are in the report language
    (:func:`arlib.i18n.display_frame`); the CSV starts with a UTF-8 byte-order mark, so Excel
    opens non-Latin names correctly. Text passes the one formula guard
    (:func:`arlib.files.spreadsheet_safe`)."""
    from arlib.health.workbook import write_tables
    from arlib.i18n import display_frame

    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    safe = spreadsheet_safe(display_frame(work))
    paths = {"csv": out_dir / f"{stem}.csv", "xlsx": out_dir / f"{stem}.xlsx"}
    safe.to_csv(paths["csv"], index=False, date_format="%Y-%m-%d", encoding="utf-8-sig")
    sheets = {t("items"): safe}
    if per_customer is not None:
        sheets[t("customers")] = spreadsheet_safe(display_frame(per_customer))
    write_tables(paths["xlsx"], sheets)
    return paths
