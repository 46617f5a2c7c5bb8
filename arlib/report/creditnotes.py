"""Sentences for the credit and ECL sections: the scorecard backtest, factoring against the
discount, and the loss-rate backtest (HTML-safe, in the report language)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from arlib.health.measures import fmt
from arlib.i18n import t
from arlib.report.narrative import Sentences, _esc, _n


def explain_backtest(ev: Mapping) -> Sentences:
    """The scorecard backtest (:func:`arlib.health.calibration.evidence`) in words: how many
    customer-months, AUC and Gini, default rate per grade, where the cut-offs come from."""
    if not ev["points"]:
        return Sentences(
            [_esc(t("No month-end has a full year of history after it: no backtest."))]
        )
    out = [
        t(
            "Backtest: {points} customer-month-ends scored, {defaults} followed by a default "
            "(an item {days}+ days past due or written off) within {months} months."
        ).format(
            points=f"{ev['points']:,}",
            defaults=f"{ev['defaults']:,}",
            days=ev["default_days"],
            months=ev["horizon_months"],
        ),
        t("AUC {auc} (0.5 = chance, 1 = perfect), Gini {gini}.").format(
            auc=fmt(ev["auc"], ""), gini=fmt(ev["gini"], "")
        ),
    ]
    g = ev["grades"]
    rates = t(", ").join(
        t("{grade} {rate}").format(grade=r.grade, rate=fmt(r.default_rate, "share"))
        for r in g.itertuples(index=False)
    )
    out.append(
        t("Default rate by grade: {rates}; it rises with the grade.").format(rates=rates)
        if ev["monotonic"]
        else t(
            "Default rate by grade: {rates}; it does NOT rise with every grade: treat the grades "
            "with caution."
        ).format(rates=rates)
    )
    basis = {
        "backtest": t("Grade cut-offs are set from this backtest by the target grade shares."),
        "fixed": t("Grade cut-offs are fixed in the parameters (grade_cutoffs)."),
        "default": t("Grade cut-offs are the documented defaults: {note}.").format(
            note=t("too little history to calibrate")
        ),
    }[ev["basis"]]
    out.append(basis)
    return Sentences(_esc(s) for s in out)


def explain_factoring(r: Mapping, levers: pd.DataFrame) -> Sentences:
    """The factoring what-if (:func:`arlib.health.levers.factoring_for`) in words, against the
    discount offer."""
    if not r.get("items"):
        return Sentences([_esc(t("Nothing matches the factoring selection."))])
    out = [
        t(
            "Factoring {items} open items ({selection}), face value {face}, would release {cash} "
            "now for {cost} in fees and interest over {days} days on average (net of financing "
            "saved: {net}); that is {rate} a year against a cost of capital of {coc}."
        ).format(
            items=f"{r['items']:,}",
            selection=r["selection"],
            face=fmt(r["face_value"], "amount"),
            cash=fmt(r["cash_released"], "amount"),
            cost=fmt(r["total_cost"], "amount"),
            days=f"{r['days_to_collect']:.0f}",
            net=fmt(r["net_cost"], "amount"),
            rate=fmt(r["effective_rate"], "share"),
            coc=fmt(r.get("cost_of_capital"), "share"),
        ),
        t("With recourse the credit risk and the receivables stay with the unit: DSO is unchanged.")
        if r["recourse"]
        else t(
            "Without recourse the receivables leave the balance sheet (DSO {dso} days) and an "
            "expected loss of {risk} passes to the factor."
        ).format(dso=f"{r['dso_change']:+.1f}", risk=fmt(r["risk_transferred"], "amount")),
    ]
    disc, fac = levers.iloc[0], levers.iloc[1]  # levers_table's order: discount, factoring
    if pd.notna(disc["cash_released"]):
        out.append(
            t(
                "Per unit of cash released, the discount costs {disc} a year and factoring kept up "
                "all year {fac} (the table below)."
            ).format(
                disc=fmt(disc["cost_rate"], "share"),
                fac=fmt(fac["cost_rate"], "share"),
            )
        )
    return Sentences(_esc(s) for s in out)


def explain_loss_backtest(bt: pd.DataFrame) -> Sentences:
    """The loss-rate backtest (:func:`arlib.provision.ecl.loss_backtest`) in words."""
    if bt.empty:
        return Sentences(
            [_esc(t("No month-end has a full year of history after it: no backtest."))]
        )
    covered = int((bt["difference"] >= 0).sum())
    out = [
        t(
            "At {covered} of {n} month-ends the allowance covered the write-offs of the following "
            "12 months on the balances then open; on average it predicted {pred} of open AR "
            "against {real} written off."
        ).format(
            covered=covered,
            n=len(bt),
            pred=fmt(float(bt["predicted_rate"].mean()), "share"),
            real=fmt(float(bt["realised_rate"].mean()), "share"),
        )
    ]
    return Sentences(_esc(s) for s in out)


def explain_legal(legal: pd.DataFrame) -> Sentences:
    """The legal and provisions list (:func:`arlib.health.credit.legal_list`) in words."""
    if legal.empty:
        return Sentences([_esc(t("No customer is in insolvency or legal proceedings."))])
    return Sentences(
        [
            _esc(
                t(
                    "{n} in insolvency or legal proceedings owe {amount}, provisioned specifically "
                    "at {provision}; they are not dunned."
                ).format(
                    n=_n(len(legal), "customer"),
                    amount=fmt(float(legal["open_ar"].sum()), "amount"),
                    provision=fmt(float(legal["specific_provision"].fillna(0).sum()), "amount"),
                )
            )
        ]
    )


def explain_promises(promised: pd.DataFrame, disputed: pd.DataFrame, has_notes: bool) -> Sentences:
    """Collector promises and disputes (:mod:`arlib.health.promises`) in words."""
    if not has_notes:
        return Sentences(
            [
                _esc(
                    t(
                        "The data has no collector notes (frame collector_notes): no promises "
                        "to pay or disputes by collector to show."
                    )
                )
            ]
        )
    broken = promised.loc[promised["state"] == "broken"]
    out = [
        t("{n} to pay noted, {broken} broken: {amount} promised and not received.").format(
            n=_n(len(promised), "promise"),
            broken=f"{len(broken):,}",
            amount=fmt(float(broken["shortfall"].sum()), "amount"),
        ),
        t("{n} open, the oldest raised {days} days ago.").format(
            n=_n(len(disputed), "dispute"),
            days=int(disputed["age_days"].max()) if len(disputed) else 0,
        ),
    ]
    return Sentences([_esc(x) for x in out])
