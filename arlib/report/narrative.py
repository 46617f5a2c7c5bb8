"""Plain-language sentences from the numbers: what each figure is and how it moved.

Every sentence cites the figure it rests on, and is produced only from the numbers passed in.
Sentences are HTML-safe: any data inside them (customer names above all) is escaped, so a
customer called ``<script>`` shows as text. :class:`Sentences` is a list of such strings that
displays as a bullet list in a notebook.

Sentence templates are English message ids, translated through :func:`arlib.i18n.t` *before*
the figures are filled in, into the report language (:func:`arlib.i18n.language`, set by the
theme); catalogs are ``arlib/locale/<lang>_health.yaml``.

>>> s = explain_kpis({"dso": 47.1}, {"dso": 42.9})
>>> s[0]
'DSO rose 4.2 days to 47.1 days (from 42.9 days).'
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pandas as pd

from arlib import dso as core
from arlib.health.measures import NO_HISTORY, Kpis, fmt, label_of, meaning_of
from arlib.i18n import t
from arlib.ledger import Ledger, open_items_only
from arlib.schemas import C

#: KPI -> (name in a sentence, unit of its change) for the month-on-month sentences, in order
MOVES = {
    "open_ar": "Open AR",
    "dso": "DSO",
    "dso_countback": "Countback DSO",
    "bpdso": "Best-possible DSO",
    "add": "Average days delinquent",
    "cei": "CEI",
    "cei_month": "CEI for the last month",
    "past_due_share": "The past-due share",
    "turnover": "Turnover",
    "days_to_pay": "Average days to pay",
    "top10_share": "The top-10 customers' share of open AR",
}
_DRIVER_UNIT = {"dso": "days", "add": "days", "past_due_share": "points"}


def _esc(text: str) -> str:
    """Escaped for HTML element content (``<``, ``>``, ``&``); quotes stay readable."""
    return html.escape(text, quote=False)


def _n(count: int, noun: str, plural: str | None = None) -> str:
    """``_n(1, "item") == '1 item'``; ``_n(2, "item") == '2 items'`` (message ids ``"{n} item"``
    and ``"{n} items"``)."""
    return t("{n} " + (noun if count == 1 else plural or noun + "s")).format(n=f"{count:,}")


class Sentences(list):
    """A list of HTML-safe sentences that shows as a bullet list in a notebook."""

    def _repr_html_(self) -> str:
        return "<ul>" + "".join(f"<li>{s}</li>" for s in self) + "</ul>"

    def text(self) -> str:
        """The sentences as plain text (unescaped), one per line."""
        return "\n".join(html.unescape(s) for s in self)


def _values(k) -> dict:
    if k is None:
        return {}
    return dict(k.values) if isinstance(k, Kpis) else dict(k)


def _reasons(k) -> dict:
    if isinstance(k, Kpis):
        return dict(k.reasons)
    return {
        key[:-5]: v
        for key, v in _values(k).items()
        if isinstance(key, str) and key.endswith("_note")
    }


def _change(unit: str, now: float, before: float) -> tuple[float, str]:
    """The change in the unit people speak of: points for percentages and shares."""
    if unit == "share":
        return 100 * (now - before), "points"
    if unit == "%":
        return now - before, "points"
    if unit == "amount":
        return now - before, ""
    return now - before, unit


def _num(x: float, unit: str) -> str:
    if unit == "points":
        return t("{x} points").format(x=f"{abs(x):.1f}")
    if unit == "days":
        return t("{x} days").format(x=f"{abs(x):.1f}")
    if unit in ("", "amount"):
        return f"{abs(x):,.0f}"
    return f"{abs(x):.2f}"


def _driver_clause(drivers: pd.DataFrame | None, kpi: str, total: float) -> str:
    """ ", mostly from X (+3.1 days)" from the customer contributions to ``kpi``'s change."""
    if drivers is None or kpi not in _DRIVER_UNIT or total == 0 or drivers.empty:
        return ""
    d = drivers.loc[drivers["kpi"] == kpi]
    same = d.loc[np.sign(d["change"]) == np.sign(total)]
    if same.empty:
        return ""
    top = same.loc[same["change"].abs().idxmax()]
    scale = 100.0 if kpi == "past_due_share" else 1.0
    unit = _DRIVER_UNIT[kpi]
    name = _esc(str(top.get(C.name, top[C.customer_id])))
    mine, rest = top["change"], total - top["change"]

    def signed(x: float) -> str:
        return ("+" if x > 0 else "-") + _num(x * scale, unit)

    if abs(mine) > abs(total) and abs(rest * scale) >= 0.05:  # the others moved the other way
        return t(": {name} {change}, the other customers {rest}").format(
            name=name, change=signed(mine), rest=signed(rest)
        )
    if abs(mine) >= 0.5 * abs(total):
        return t(", mostly from {name} ({change})").format(name=name, change=signed(mine))
    return t(", the largest part from {name} ({change})").format(name=name, change=signed(mine))


def explain_kpis(
    current, previous=None, drivers: pd.DataFrame | None = None, keys: tuple[str, ...] | None = None
) -> Sentences:
    """Sentences on how each KPI moved from ``previous`` to ``current``.

    ``current`` and ``previous`` are :class:`arlib.health.measures.Kpis` or flat mappings (e.g. a
    ``kpis.json`` record); ``drivers`` is :func:`arlib.health.breakdown.drivers` and names the customer
    behind a move in DSO, average days delinquent or the past-due share. A figure that is not
    defined is said to be so, with the reason when one is known.
    """
    if not getattr(current, "history", True):  # an open-item list: earlier figures unknown
        previous = None
    now, before, why = _values(current), _values(previous), _reasons(current)
    out, no_history = Sentences(), []
    for key in keys or MOVES:
        if key not in now:
            continue
        name, unit = t(MOVES[key]) if key in MOVES else label_of(key)[0], meaning_of(key)[1]
        x, x0 = now.get(key), before.get(key)
        if x is None and why.get(key) == NO_HISTORY:
            no_history.append(name)
            continue
        if x is None:
            out.append(
                _esc(
                    t("{name} is {reason}.").format(
                        name=name, reason=t(why.get(key, "not defined"))
                    )
                )
            )
            continue
        shown = fmt(x, unit)
        if x0 is None:
            tail = (
                t(" (not defined a month earlier)")
                if previous is not None and key in before
                else ""
            )
            out.append(
                _esc(t("{name} is {value}{tail}.").format(name=name, value=shown, tail=tail))
            )
            continue
        delta, dunit = _change(unit, x, x0)
        if round(delta, 1) == 0:
            out.append(_esc(t("{name} was unchanged at {value}.").format(name=name, value=shown)))
            continue
        template = (
            "{name} rose {change}{pct} to {value} (from {before}){clause}."
            if delta > 0
            else "{name} fell {change}{pct} to {value} (from {before}){clause}."
        )
        pct = t(" ({pct})").format(pct=f"{delta / x0:+.1%}") if unit == "amount" and x0 else ""
        out.append(
            t(template).format(
                name=_esc(name),
                change=_esc(_num(delta, dunit)),
                pct=_esc(pct),
                value=_esc(shown),
                before=_esc(fmt(x0, unit)),
                clause=_driver_clause(drivers, key, x - x0),
            )
        )
    if no_history:  # one sentence, not one per figure
        out.append(
            _esc(
                t("{names} are {reason}.").format(
                    names=t(", ").join(no_history), reason=t(NO_HISTORY)
                )
            )
        )
    return out


def explain_position(current) -> Sentences:
    """Sentences on the position at the close: payment behaviour, disputes, concentration,
    credit limits and customers' credit balances."""
    v = _values(current)
    out = Sentences()
    if v.get("days_to_pay") is not None:
        out.append(
            t(
                "The {invoices} paid in the window took {days} days on average ({late} days against the due "
                "date); {share} of that amount was paid late."
            ).format(
                invoices=_n(v["paid_count_window"], "invoice"),
                days=f"{v['days_to_pay']:.1f}",
                late=f"{v['days_late']:+.1f}",
                share=fmt(v["share_paid_late"], "share"),
            )
        )
    if v.get("disputed_open_count"):
        out.append(
            t("Open items under dispute: {n}, for {amount} ({share} of open AR).").format(
                n=f"{v['disputed_open_count']:,}",
                amount=fmt(v["disputed_open_amount"], "amount"),
                share=fmt(v["disputed_share"], "share"),
            )
        )
    if v.get("top10_share") is not None:
        out.append(
            t(
                "The 10 largest debtors owe {share} of open AR (Herfindahl index {hhi}; {customers} owing "
                "anything)."
            ).format(
                share=fmt(v["top10_share"], "share"),
                hhi=f"{v['hhi']:.3f}",
                customers=_n(v["customers_open"], "customer"),
            )
        )
    if v.get("customers_over_limit"):
        out.append(
            t("Customers over their credit limit: {n}, by {amount} in total.").format(
                n=f"{v['customers_over_limit']:,}", amount=fmt(v["over_limit_amount"], "amount")
            )
        )
    if v.get("credit_balances"):
        out.append(
            t(
                "Customers' credit balances of {balances} (unapplied cash {unapplied}, overpayments {overpaid}) "
                "are not in open AR; netted against their own customers, AR is {net}."
            ).format(
                balances=fmt(v["credit_balances"], "amount"),
                unapplied=fmt(v["unapplied_cash"], "amount"),
                overpaid=fmt(v["overpaid"], "amount"),
                net=fmt(v["net_ar"], "amount"),
            )
        )
    return Sentences(_esc(s) for s in out)


def _month(d: pd.Timestamp) -> str:
    """``Apr 2024`` (message ids ``"{month} {year}"`` and the month abbreviation)."""
    return t("{month} {year}").format(month=t(d.strftime("%b")), year=d.year)


def explain_trend(trend: pd.DataFrame, key: str = "dso") -> Sentences:
    """Where ``key`` stands against its range over the trend (a frame from
    :func:`arlib.health.breakdown.trend`)."""
    data = trend.dropna(subset=[key])
    if data.empty:
        return Sentences(
            [_esc(t("{label} is not defined in any month shown.").format(label=label_of(key)[0]))]
        )
    label, unit = t("monthly CEI") if key == "cei_month" else label_of(key)[0], meaning_of(key)[1]
    lo, hi, last = data.loc[data[key].idxmin()], data.loc[data[key].idxmax()], data.iloc[-1]
    return Sentences(
        [
            _esc(
                t(
                    "Over the {n} months shown, {label} ranged from {low} ({low_month}) to {high} "
                    "({high_month}); it is {now} now."
                ).format(
                    n=len(data),
                    label=label,
                    low=fmt(lo[key], unit),
                    low_month=_month(lo[C.month_end]),
                    high=fmt(hi[key], unit),
                    high_month=_month(hi[C.month_end]),
                    now=fmt(last[key], unit),
                )
            )
        ]
    )


def explain_worklist(work: pd.DataFrame, per_customer: pd.DataFrame) -> Sentences:
    """The collection worklist in words: size, where the expected loss sits, who to call first."""
    if work.empty:
        return Sentences([t("Nothing is past due: the worklist is empty.")])
    el = work["expected_loss"].sum()
    top = per_customer.iloc[0]
    top10 = per_customer["expected_loss"].head(10).sum() / el if el > 0 else float("nan")
    out = [
        t(
            "The worklist holds {items} of {customers}, {amount} in all, with an expected loss of {loss}."
        ).format(
            items=_n(len(work), "past-due item"),
            customers=_n(per_customer.shape[0], "customer"),
            amount=fmt(work[C.open_amount].sum(), "amount"),
            loss=fmt(el, "amount"),
        ),
        t(
            "First: {name} (grade {grade}), {items}, {amount} past due, oldest {days} days: {step}."
        ).format(
            name=top[C.name],
            grade=top["grade"],
            items=_n(int(top["items"]), "item"),
            amount=fmt(top["past_due"], "amount"),
            days=f"{top['oldest_days']:,}",
            step=t(top["next_step"]),
        ),
    ]
    if per_customer.shape[0] > 10:
        out.append(
            t("The first 10 customers carry {share} of the expected loss.").format(
                share=fmt(top10, "share")
            )
        )
    return Sentences(_esc(s) for s in out)


def explain_credit(card: pd.DataFrame) -> Sentences:
    """Grades and recommendations (a frame from :func:`arlib.health.credit.recommend`) in words."""
    counts = card["grade"].value_counts().sort_index()
    grades = t(", ").join(t("{n} {grade}").format(n=n, grade=g) for g, n in counts.items())
    out = [
        t("Of {customers} graded: {grades}.").format(
            customers=_n(len(card), "customer"), grades=grades
        )
    ]
    if "limit_change" in card:
        act = card.loc[card["limit_change"], "limit_action"].value_counts()
        moves = t(", ").join(
            t("{n} {action}").format(n=n, action=t(a)) for a, n in act.items() if a != "set limit"
        )
        if moves:
            out.append(
                t(
                    "Recommended credit limits differ from today's by more than 10% for {customers} "
                    "({moves})."
                ).format(
                    customers=_n(int(act.drop("set limit", errors="ignore").sum()), "customer"),
                    moves=moves,
                )
            )
        no_limits = C.credit_limit in card and card[C.credit_limit].isna().all()
        if act.get("set limit", 0) and not no_limits:  # a source with no limits at all: no claim
            out.append(
                t(
                    "Customers without a credit limit today: {n}; a limit is recommended for each."
                ).format(n=f"{int(act['set limit']):,}")
            )
        out.append(
            t("Recommended payment terms differ from today's for {customers}.").format(
                customers=_n(int(card["terms_change"].sum()), "customer")
            )
        )
    worst = card.iloc[0]
    out.append(
        t("Highest risk: {name} (score {score}, grade {grade}): {drivers}.").format(
            name=worst[C.name],
            score=f"{worst['score']:.0f}",
            grade=worst["grade"],
            drivers=t(worst["top_drivers"]),
        )
    )
    return Sentences(_esc(s) for s in out)


def _take_up_rule(rule: str) -> str:
    """The take-up rule of :func:`arlib.health.credit.discount_whatif` in the report language."""
    if rule.startswith("flat "):
        return t("flat {share}").format(share=rule.removeprefix("flat "))
    return t(rule)


def explain_discount(
    r: Mapping, discount: float, discount_days: int, net_days: int, cost_of_capital: float
) -> Sentences:
    """The discount what-if (:func:`arlib.health.credit.discount_whatif`) in words."""
    offer = t("{discount} for payment within {days} days, net {net}").format(
        discount=f"{discount:.1%}", days=discount_days, net=net_days
    )
    if not r.get("invoices_observed"):
        return Sentences(
            [
                _esc(
                    t("The offer of {offer} cannot be assessed: {note}.").format(
                        offer=offer, note=t(r.get("note", "no payments observed"))
                    )
                )
            ]
        )
    verdict = t("pays for itself") if r["net_cost"] <= 0 else t("costs more than it saves")
    even = r["break_even_discount"]
    out = [
        t(
            "Offering {offer}, taken up on {share} of the amount ({rule}), would move average days to pay from "
            "{before} to {after} ({change} days, of which {terms} from the net term alone) and release {cash} of "
            "cash."
        ).format(
            offer=offer,
            share=fmt(r["take_up_share"], "share"),
            rule=_take_up_rule(r["take_up_rule"]),
            before=f"{r['days_to_pay_now']:.1f}",
            after=f"{r['days_to_pay_after']:.1f}",
            change=f"{r['dso_change']:+.1f}",
            terms=f"{r['dso_change_terms']:+.1f}",
            cash=fmt(r["cash_released"], "amount"),
        ),
        t(
            "Discounts would cost {cost} a year against {benefit} of financing saved at {rate}: the offer {verdict} "
            "(net {net} a year); the discount that breaks even is {even}."
        ).format(
            cost=fmt(r["discount_cost"], "amount"),
            benefit=fmt(r["financing_benefit"], "amount"),
            rate=f"{cost_of_capital:.1%}",
            verdict=verdict,
            net=f"{r['net_cost']:+,.0f}",
            even=fmt(even, "share") if even is not None else t("not defined"),
        ),
        t(
            "For a customer, taking the discount earns {rate} a year on the money paid early, so any customer who "
            "can borrow for less should take it."
        ).format(rate=f"{r['offer_annual_rate']:.1%}"),
    ]
    return Sentences(_esc(s) for s in out)


def explain_coverage(ledger: Ledger, as_of, window_months: int = 3) -> Sentences:
    """What the data can and cannot say at ``as_of``: its date range, and caveats read from the
    data itself (every invoice settled, invoicing that stops before the close, no opening
    balance, no credit limits)."""
    inv = ledger.invoices
    if inv.empty:
        return Sentences([t("The data holds no invoices.")])
    first, last = inv[C.invoice_date].min(), inv[C.invoice_date].max()
    w = core.window(as_of, window_months)
    d = lambda x: x.strftime("%Y-%m-%d")  # noqa: E731
    out = [
        t("The data holds {n} invoices dated {first} to {last}.").format(
            n=f"{len(inv):,}", first=d(first), last=d(last)
        )
    ]
    settled = ledger.settlement()[C.settled_date]
    if settled.notna().all():
        out.append(
            t(
                "Every invoice in the data is settled in full, by {date} at the latest: the source keeps settled "
                "invoices only, so invoices still unpaid when it was extracted are missing, AR near the end of the "
                "data is understated and there are no write-offs."
            ).format(date=d(settled.max()))
        )
    if (w.end - last).days > 7 and not open_items_only(ledger):  # no DSO on an open-item list
        out.append(
            t(
                "The last invoice is dated {date}, {days} days before the close: the window holds less invoicing "
                "than its length, which lowers DSO and sends countback DSO further back."
            ).format(date=d(last), days=(w.end - last).days)
        )
    if open_items_only(ledger):
        out.append(t(OPEN_ITEM_LIST))
    elif w.start < first + pd.DateOffset(months=2):
        out.append(
            t(
                "The data starts on {date} with no opening balance, so AR in the first months (and figures whose "
                "window reaches back to them) is understated."
            ).format(date=d(first))
        )
    cust = ledger.customers
    if cust is None or C.credit_limit not in cust or cust[C.credit_limit].isna().all():
        out.append(
            t("The data has no credit limits: limit use and over-limit customers are not assessed.")
        )
    return Sentences(_esc(s) for s in out)


def _week_range(coverage: pd.DataFrame | None) -> list[str]:
    """How often the 13-week view's 80% and 95% ranges held the actual weeks out of sample."""
    if coverage is None:
        return []
    cov = coverage.set_index("level")["calibrated_coverage"]
    if not {80, 95} <= set(cov.index) or cov[[80, 95]].isna().any():
        return [
            t("The 13-week range has too few weeks of past errors to be checked out of sample.")
        ]
    return [
        t(
            "The 13-week view's 80% range held {c80} of actual weeks out of sample, its 95% "
            "range {c95}."
        ).format(c80=fmt(cov[80], "share"), c95=fmt(cov[95], "share"))
    ]


def explain_cash(
    weeks: pd.DataFrame,
    coverage: pd.DataFrame,
    paydate_accuracy: pd.DataFrame,
    currency: str,
    week_coverage: pd.DataFrame | None = None,
) -> Sentences:
    """The cash forecast in words: what it says (the 13 weeks' total and its largest week),
    what drives it (open invoices against invoicing still to come) and how sure it is (the
    calibrated range's out-of-sample coverage, the payment dates' error against the due date).

    ``weeks``: :meth:`arlib.forecast.weekly.CashView.weeks`; ``coverage``:
    :func:`arlib.forecast.conformal.backtest_coverage`; ``paydate_accuracy``:
    :func:`arlib.forecast.paydates.mae`; ``week_coverage`` (optional):
    :func:`arlib.forecast.weekrange.backtest_coverage` of the 13-week range.
    """
    total, opened = weeks["yhat"].sum(), weeks["open_items"].sum()
    top = weeks.loc[weeks["yhat"].idxmax()]
    if weeks["new_invoicing"].isna().all():  # an open-item list: the contractual runoff alone
        return Sentences(_esc(s) for s in _contractual_cash(weeks, total, top, currency))
    out = [
        t(
            "Over the next {n} weeks {total} {cur} is expected: {open} from invoices already "
            "open and {new} from invoicing still to come."
        ).format(
            n=len(weeks),
            total=fmt(total, "amount"),
            cur=currency,
            open=fmt(opened, "amount"),
            new=fmt(total - opened, "amount"),
        ),
        t("The largest week ends {date} ({amount} {cur}).").format(
            date=pd.Timestamp(top["period_end"]).strftime("%Y-%m-%d"),
            amount=fmt(top["yhat"], "amount"),
            cur=currency,
        ),
    ]
    first4 = weeks.head(4)
    if first4["yhat"].sum() > 0:
        out.append(
            t("Invoices already open carry {share} of the first four weeks' cash.").format(
                share=fmt(first4["open_items"].sum() / first4["yhat"].sum(), "share")
            )
        )
    cov = coverage.set_index("level")
    if 80 in cov.index and pd.notna(cov.loc[80, "calibrated_coverage"]):
        out.append(
            t(
                "The monthly 80% range held {cov} of actual collections out of sample "
                "(the model's own range: {own})."
            ).format(
                cov=fmt(cov.loc[80, "calibrated_coverage"], "share"),
                own=fmt(cov.loc[80, "model_coverage"], "share"),
            )
        )
    out += _week_range(week_coverage)
    acc = paydate_accuracy.set_index("method")["mae_days"]
    if pd.notna(acc.get("model")):
        out.append(
            t(
                "Payment dates were off by {mae} days on average, against {due} days for the "
                "due date and {mean} days for the customer's average delay."
            ).format(
                mae=f"{acc['model']:.1f}",
                due=f"{acc['due_date_baseline']:.1f}",
                mean=f"{acc['customer_mean_baseline']:.1f}",
            )
        )
    return Sentences(_esc(s) for s in out)


def _contractual_cash(weeks: pd.DataFrame, total, top, currency: str) -> list[str]:
    return [
        t(
            "Over the next {n} weeks {total} {cur} is expected from invoices already open, by "
            "their contractual dates; invoicing still to come is not estimated (an open-item list "
            "has no invoicing history)."
        ).format(n=len(weeks), total=fmt(total, "amount"), cur=currency),
        t("The largest week ends {date} ({amount} {cur}).").format(
            date=pd.Timestamp(top["period_end"]).strftime("%Y-%m-%d"),
            amount=fmt(top["yhat"], "amount"),
            cur=currency,
        ),
    ]


def explain_paydates_source(model) -> Sentences:
    """For contractual payment dates (an open-item list: :class:`arlib.forecast.paydates.
    PayDateModel` with ``contractual``), how they are made; nothing otherwise."""
    if not getattr(model, "contractual", False):
        return Sentences()
    assumed = t(", ").join(f"{k}: {v}" for k, v in model.lateness.items()) or t("none")
    return Sentences(
        [
            t(
                "Contractual payment dates: the source is an open-item list with no payment history, "
                "so each invoice is expected in full (p_paid 100% by assumption) on its due date, or "
                "after the close if past due, plus the days late assumed for its aging bucket "
                "(runoff_lateness: {assumed}). The 13 weeks below are this contractual runoff."
            ).format(assumed=_esc(assumed))
        ]
    )


def explain_provision_source(models) -> Sentences:
    """For an open-item list (:class:`arlib.provision.ProvisionModels` with no ``history``),
    what the allowance rests on; nothing otherwise. Without ``loss_rates`` the allowance table
    itself says what is needed."""
    if getattr(models, "history", True) or models.given is None:
        return Sentences()
    rates = t(", ").join(f"{b}: {fmt(r, 'share')}" for b, r in models.given.items())
    return Sentences(
        [
            t(
                "The source is an open-item list with no payment history, so no loss rate is learned: "
                "the allowance is exposure x the loss rate given in params for each aging bucket "
                "(loss_rates: {rates}), after the forward-looking adjustment. The sections below that "
                "need history say so."
            ).format(rates=_esc(rates))
        ]
    )


OPEN_ITEM_LIST = (
    "The source is an open-item list with no payment history: figures at the close (open AR, aging, "
    "past due, disputes, concentration) are measured; figures made of invoicing and collections over "
    "time (the DSO family, CEI, turnover, days to pay) are not defined, and nothing is compared with "
    "the previous month-end, whose open items are not in the list."
)


def explain_runoff_source(ledger: Ledger, lateness: dict | None = None) -> Sentences:
    """For an open-item list, how its cash forecast is made (nothing otherwise): the runoff is
    contractual, with the ``runoff_lateness`` assumed, and the history-based sections are empty."""
    if not open_items_only(ledger):
        return Sentences()
    assumed = t(", ").join(f"{k}: {v}" for k, v in (lateness or {}).items()) or t("none")
    return Sentences(
        [
            t(
                "The source is an open-item list with no payment history, so the runoff is contractual: "
                "each open item is expected in full on its due date if not yet due, or after the close if "
                "past due, plus the days late assumed for its aging bucket (runoff_lateness: {assumed}). It "
                "has no range and assumes no write-offs."
            ).format(assumed=_esc(assumed)),
            t(
                "The backtest, the time-series forecast and the structural cross-check need collections "
                "history, so they are empty; the contractual runoff is the forecast."
            ),
        ]
    )
