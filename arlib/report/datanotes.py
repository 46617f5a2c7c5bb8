"""What a unit's reports could not say for lack of data: the notes of an "ok with notes" unit.

A report that ran to the end on data that lacks something (an open-item list has no payment
history; a customer file has no credit limits) is not a failure, and not a plain "ok" either:
some figures are not defined or rest on assumptions. Each report notebook records its notes
with ``arlib.record(datanotes.record(ledger, cfg, "health"))``; they travel in the notebook's
own section (key :data:`NOTES`, never merged flat), and the runner gives the unit the status
``ok with notes`` when any section has one (:func:`arlib.report.records.unit_status`), listed on
the index and in every report's header. A reconciliation that does not balance still fails the
unit: notes are for figures that are missing, never for figures that are wrong.
"""

from __future__ import annotations

from collections.abc import Mapping

from arlib.ledger import Ledger, open_items_only
from arlib.schemas import C

#: the record key of a section's notes (kept per section, see arlib.report.records)
NOTES = "notes"

_HISTORY = {
    "health": (
        "Receivables health: CEI, the DSO family, turnover and days to pay are not defined, and "
        "nothing is compared with the month before: the source is an open-item list with no "
        "payment history."
    ),
    "forecast": (
        "Cash forecast: the contractual runoff of the open items (due dates plus the lateness "
        "assumed in runoff_lateness); the backtest, the time-series forecast and the accuracy "
        "of payment dates need payment history, which the source (an open-item list) lacks."
    ),
}
_LOSS_RATES = (
    "Provision: the allowance uses the loss rates given in params (loss_rates), not rates "
    "learned from history; roll rates, vintages, the roll-forward, the loss backtest and the "
    "forecast need payment history, which the source (an open-item list) lacks."
)
_NO_RATES = (
    "Provision: no allowance; the source is an open-item list with no payment history and no "
    "loss_rates are given in params."
)
_NO_LIMITS = (
    "Receivables health: the data has no credit limits, so limit use, over-limit customers and "
    "limit reviews are not assessed."
)


def notes(ledger: Ledger, cfg: Mapping, section: str) -> list[str]:
    """The notes of report ``section`` (``health``, ``forecast``, ``provision``) on ``ledger``
    with the run config ``cfg``: one sentence per kind of figure the data cannot support."""
    out = []
    if open_items_only(ledger):
        if section == "provision":
            out.append(_LOSS_RATES if cfg.get("loss_rates") else _NO_RATES)
        elif section in _HISTORY:
            out.append(_HISTORY[section])
    cust = ledger.customers
    no_limits = cust is None or C.credit_limit not in cust or cust[C.credit_limit].isna().all()
    if section == "health" and no_limits:
        out.append(_NO_LIMITS)
    return out


def record(ledger: Ledger, cfg: Mapping, section: str) -> dict:
    """``{"notes": [...]}`` for ``arlib.record`` (see :func:`notes`)."""
    return {NOTES: notes(ledger, cfg, section)}
