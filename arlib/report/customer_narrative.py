"""One customer's position in a few sentences, from its :class:`~arlib.report.customer.Account`.

Sentences are English message ids translated through :func:`arlib.i18n.t` into the report
language before the figures are filled in (catalog ``arlib/locale/zh_customer.yaml``); data in
them (the customer's name above all) is escaped.
"""

from __future__ import annotations

from arlib.i18n import t
from arlib.schemas import C


def explain(acct):
    """The position of ``acct`` (an :class:`arlib.report.customer.Account`) in a few sentences
    (report language, data escaped): what it owes, how it paid, write-offs, score, next step,
    expected cash and its share of the unit's risk."""
    from arlib.health.measures import fmt
    from arlib.report.narrative import Sentences, _esc

    f = acct.facts
    out = [
        t("{name} owes {open_ar} {currency} on {items} open items; {past_due} is past due.").format(
            name=f["name"],
            open_ar=fmt(f["open_ar"], "amount"),
            currency=acct.currency,
            items=f"{f['open_items']:,}",
            past_due=fmt(f["past_due"], "amount"),
        )
    ]
    if len(acct.history):
        h = acct.history
        late = float((h[C.amount] * h["days_late"]).sum() / h[C.amount].sum())
        out.append(
            t(
                "It paid {n} invoices since {since}, on average {days} late (amount-weighted)."
                if late > 0
                else "It paid {n} invoices since {since}, on average {days} early (amount-weighted)."
            ).format(
                n=f"{len(h):,}",
                since=f"{h[C.settled_date].min():%Y-%m-%d}",
                days=fmt(abs(late), "days"),
            )
        )
    else:
        out.append(t("It paid no invoice in the trend period."))
    if f.get("written_off"):
        out.append(
            t("{amount} of its invoices was written off in the trend period.").format(
                amount=fmt(f["written_off"], "amount")
            )
        )
    out.append(
        t("Score {score} (grade {grade}): {drivers}.").format(
            score="-" if f["score"] is None else f"{f['score']:.1f}",
            grade=f["grade"],
            drivers=f["top_drivers"],
        )
    )
    if f["past_due_items"]:
        out.append(
            t(
                "Next step: {step} (oldest item {days} days past due; number {rank} of the customers on the worklist)."
            ).format(
                step=t(f["next_step"]),
                days=f"{f['oldest_days_past_due']:,}",
                rank=f["worklist_position"],
            )
        )
    else:
        out.append(t("Nothing is past due: no dunning step."))
    if f["expected_payments"] is None:
        out.append(
            t(
                "Expected payments are not estimated: the data is an open-item list without payment history."
            )
        )
    else:
        out.append(
            t(
                "Its open items are expected to bring {cash} over the next {n} periods; {loss} is expected to be written off."
            ).format(
                cash=fmt(f["expected_payments"], "amount"),
                n=len(acct.expected),
                loss=fmt(f["expected_write_off"], "amount"),
            )
        )
    share = acct.share.set_index("measure")["share"]
    out.append(
        t("It holds {ar} of the unit's open AR and {loss} of its expected loss.").format(
            ar=fmt(share["open AR"], "share"), loss=fmt(share["expected loss"], "share")
        )
    )
    return Sentences(_esc(s) for s in out)
