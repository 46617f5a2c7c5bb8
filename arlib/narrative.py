"""Plain-language sentences from the numbers: what each figure is and how it moved.

Every sentence cites the figure it rests on, and is produced only from the numbers passed in.
Sentences are HTML-safe: any data inside them (customer names above all) is escaped, so a
customer called ``<script>`` shows as text. :class:`Sentences` is a list of such strings that
displays as a bullet list in a notebook.

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
from arlib.health import Kpis, fmt, meaning_of
from arlib.ledger import Ledger
from arlib.schemas import C

#: KPI -> (name in a sentence, unit of its change) for the month-on-month sentences, in order
MOVES = {"open_ar": "Open AR", "dso": "DSO", "dso_countback": "Countback DSO", "bpdso": "Best-possible DSO",
         "add": "Average days delinquent", "cei": "CEI", "cei_month": "CEI for the last month",
         "past_due_share": "The past-due share", "turnover": "Turnover", "days_to_pay": "Average days to pay",
         "top10_share": "The top-10 customers' share of open AR"}
_DRIVER_UNIT = {"dso": "days", "add": "days", "past_due_share": "points"}


def _esc(text: str) -> str:
    """Escaped for HTML element content (``<``, ``>``, ``&``); quotes stay readable."""
    return html.escape(text, quote=False)


def _n(count: int, noun: str, plural: str | None = None) -> str:
    """``_n(1, "item") == '1 item'``; ``_n(2, "item") == '2 items'``."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


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
    return {key[:-5]: v for key, v in _values(k).items() if isinstance(key, str) and key.endswith("_note")}


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
        return f"{abs(x):.1f} points"
    if unit == "days":
        return f"{abs(x):.1f} days"
    if unit in ("", "amount"):
        return f"{abs(x):,.0f}"
    return f"{abs(x):.2f}"


def _driver_clause(drivers: pd.DataFrame | None, kpi: str, total: float) -> str:
    """", mostly from X (+3.1 days)" from the customer contributions to ``kpi``'s change."""
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
        return f": {name} {signed(mine)}, the other customers {signed(rest)}"
    word = "mostly from" if abs(mine) >= 0.5 * abs(total) else "the largest part from"
    return f", {word} {name} ({signed(mine)})"


def explain_kpis(current, previous=None, drivers: pd.DataFrame | None = None,
                 keys: tuple[str, ...] | None = None) -> Sentences:
    """Sentences on how each KPI moved from ``previous`` to ``current``.

    ``current`` and ``previous`` are :class:`arlib.health.Kpis` or flat mappings (e.g. a
    ``kpis.json`` record); ``drivers`` is :func:`arlib.breakdown.drivers` and names the customer
    behind a move in DSO, average days delinquent or the past-due share. A figure that is not
    defined is said to be so, with the reason when one is known.
    """
    now, before, why = _values(current), _values(previous), _reasons(current)
    out = Sentences()
    for key in keys or MOVES:
        if key not in now:
            continue
        name, (_, unit, _) = MOVES.get(key, meaning_of(key)[0]), meaning_of(key)
        x, x0 = now.get(key), before.get(key)
        if x is None:
            out.append(_esc(f"{name} is {why.get(key, 'not defined')}."))
            continue
        shown = fmt(x, unit)
        if x0 is None:
            tail = " (not defined a month earlier)" if previous is not None and key in before else ""
            out.append(_esc(f"{name} is {shown}{tail}."))
            continue
        delta, dunit = _change(unit, x, x0)
        if round(delta, 1) == 0:
            out.append(_esc(f"{name} was unchanged at {shown}."))
            continue
        verb = "rose" if delta > 0 else "fell"
        pct = f" ({delta / x0:+.1%})" if unit == "amount" and x0 else ""
        clause = _driver_clause(drivers, key, x - x0)
        out.append(_esc(f"{name} {verb} {_num(delta, dunit)}{pct} to {shown} (from {fmt(x0, unit)})")
                   + clause + ".")
    return out


def explain_position(current) -> Sentences:
    """Sentences on the position at the close: payment behaviour, disputes, concentration,
    credit limits and customers' credit balances."""
    v = _values(current)
    out = Sentences()
    if v.get("days_to_pay") is not None:
        out.append(f"The {_n(v['paid_count_window'], 'invoice')} paid in the window took {v['days_to_pay']:.1f} days on "
                   f"average ({v['days_late']:+.1f} days against the due date); {fmt(v['share_paid_late'], 'share')} "
                   "of that amount was paid late.")
    if v.get("disputed_open_count"):
        out.append(f"Open items under dispute: {v['disputed_open_count']:,}, for {fmt(v['disputed_open_amount'], 'amount')} "
                   f"({fmt(v['disputed_share'], 'share')} of open AR).")
    if v.get("top10_share") is not None:
        out.append(f"The 10 largest debtors owe {fmt(v['top10_share'], 'share')} of open AR "
                   f"(Herfindahl index {v['hhi']:.3f}; {_n(v['customers_open'], 'customer')} owing anything).")
    if v.get("customers_over_limit"):
        out.append(f"Customers over their credit limit: {v['customers_over_limit']:,}, by "
                   f"{fmt(v['over_limit_amount'], 'amount')} in total.")
    if v.get("credit_balances"):
        out.append(f"Customers' credit balances of {fmt(v['credit_balances'], 'amount')} (unapplied cash "
                   f"{fmt(v['unapplied_cash'], 'amount')}, overpayments {fmt(v['overpaid'], 'amount')}) are not in open "
                   f"AR; netted against their own customers, AR is {fmt(v['net_ar'], 'amount')}.")
    return Sentences(_esc(s) for s in out)


def explain_trend(trend: pd.DataFrame, key: str = "dso") -> Sentences:
    """Where ``key`` stands against its range over the trend (a frame from
    :func:`arlib.breakdown.trend`)."""
    t = trend.dropna(subset=[key])
    if t.empty:
        return Sentences([_esc(f"{meaning_of(key)[0]} is not defined in any month shown.")])
    label, unit = {"cei_month": "monthly CEI"}.get(key, meaning_of(key)[0]), meaning_of(key)[1]
    lo, hi, last = t.loc[t[key].idxmin()], t.loc[t[key].idxmax()], t.iloc[-1]
    d = lambda r: r[C.month_end].strftime("%b %Y")  # noqa: E731
    return Sentences([_esc(
        f"Over the {len(t)} months shown, {label} ranged from {fmt(lo[key], unit)} ({d(lo)}) to "
        f"{fmt(hi[key], unit)} ({d(hi)}); it is {fmt(last[key], unit)} now.")])


def explain_worklist(work: pd.DataFrame, per_customer: pd.DataFrame) -> Sentences:
    """The collection worklist in words: size, where the expected loss sits, who to call first."""
    if work.empty:
        return Sentences(["Nothing is past due: the worklist is empty."])
    el = work["expected_loss"].sum()
    top = per_customer.iloc[0]
    top10 = per_customer["expected_loss"].head(10).sum() / el if el > 0 else float("nan")
    out = [f"The worklist holds {_n(len(work), 'past-due item')} of {_n(per_customer.shape[0], 'customer')}, "
           f"{fmt(work[C.open_amount].sum(), 'amount')} in all, with an expected loss of {fmt(el, 'amount')}.",
           f"First: {top[C.name]} (grade {top['grade']}), {_n(int(top['items']), 'item')}, {fmt(top['past_due'], 'amount')} "
           f"past due, oldest {top['oldest_days']:,} days: {top['next_step']}."]
    if per_customer.shape[0] > 10:
        out.append(f"The first 10 customers carry {fmt(top10, 'share')} of the expected loss.")
    return Sentences(_esc(s) for s in out)


def explain_credit(card: pd.DataFrame) -> Sentences:
    """Grades and recommendations (a frame from :func:`arlib.credit.recommend`) in words."""
    counts = card["grade"].value_counts().sort_index()
    grades = ", ".join(f"{n} {g}" for g, n in counts.items())
    out = [f"Of {_n(len(card), 'customer')} graded: {grades}."]
    if "limit_change" in card:
        act = card.loc[card["limit_change"], "limit_action"].value_counts()
        moves = ", ".join(f"{n} {a}" for a, n in act.items() if a != "set limit")
        if moves:
            out.append(f"Recommended credit limits differ from today's by more than 10% for "
                       f"{_n(int(act.drop('set limit', errors='ignore').sum()), 'customer')} ({moves}).")
        if act.get("set limit", 0):
            out.append(f"Customers without a credit limit today: {int(act['set limit']):,}; a limit is recommended for each.")
        out.append(f"Recommended payment terms differ from today's for {_n(int(card['terms_change'].sum()), 'customer')}.")
    worst = card.iloc[0]
    out.append(f"Highest risk: {worst[C.name]} (score {worst['score']:.0f}, grade {worst['grade']}): {worst['top_drivers']}.")
    return Sentences(_esc(s) for s in out)


def explain_discount(r: Mapping, discount: float, discount_days: int, net_days: int, cost_of_capital: float) -> Sentences:
    """The discount what-if (:func:`arlib.credit.discount_whatif`) in words."""
    offer = f"{discount:.1%} for payment within {discount_days} days, net {net_days}"
    if not r.get("invoices_observed"):
        return Sentences([_esc(f"The offer of {offer} cannot be assessed: {r.get('note', 'no payments observed')}.")])
    verdict = "pays for itself" if r["net_cost"] <= 0 else "costs more than it saves"
    out = [f"Offering {offer}, taken up on {fmt(r['take_up_share'], 'share')} of the amount ({r['take_up_rule']}), "
           f"would move average days to pay from {r['days_to_pay_now']:.1f} to {r['days_to_pay_after']:.1f} "
           f"({r['dso_change']:+.1f} days, of which {r['dso_change_terms']:+.1f} from the net term alone) and release "
           f"{fmt(r['cash_released'], 'amount')} of cash.",
           f"Discounts would cost {fmt(r['discount_cost'], 'amount')} a year against "
           f"{fmt(r['financing_benefit'], 'amount')} of financing saved at {cost_of_capital:.1%}: the offer {verdict} "
           f"(net {r['net_cost']:+,.0f} a year); the discount that breaks even is "
           f"{fmt(r['break_even_discount'], 'share') if r['break_even_discount'] is not None else 'not defined'}.",
           f"For a customer, taking the discount earns {r['offer_annual_rate']:.1%} a year on the money paid early, so "
           "any customer who can borrow for less should take it."]
    return Sentences(_esc(s) for s in out)


def explain_coverage(ledger: Ledger, as_of, window_months: int = 3) -> Sentences:
    """What the data can and cannot say at ``as_of``: its date range, and caveats read from the
    data itself (every invoice settled, invoicing that stops before the close, no opening
    balance, no credit limits)."""
    inv = ledger.invoices
    if inv.empty:
        return Sentences(["The data holds no invoices."])
    first, last = inv[C.invoice_date].min(), inv[C.invoice_date].max()
    w = core.window(as_of, window_months)
    d = lambda x: x.strftime("%Y-%m-%d")  # noqa: E731
    out = [f"The data holds {len(inv):,} invoices dated {d(first)} to {d(last)}."]
    settled = ledger.settlement()[C.settled_date]
    if settled.notna().all():
        out.append(f"Every invoice in the data is settled in full, by {d(settled.max())} at the latest: the source keeps "
                   "settled invoices only, so invoices still unpaid when it was extracted are missing, AR near the end "
                   "of the data is understated and there are no write-offs.")
    if (w.end - last).days > 7:
        out.append(f"The last invoice is dated {d(last)}, {(w.end - last).days} days before the close: the window holds "
                   "less invoicing than its length, which lowers DSO and sends countback DSO further back.")
    if w.start < first + pd.DateOffset(months=2):
        out.append(f"The data starts on {d(first)} with no opening balance, so AR in the first months (and figures "
                   "whose window reaches back to them) is understated.")
    cust = ledger.customers
    if cust is None or C.credit_limit not in cust or cust[C.credit_limit].isna().all():
        out.append("The data has no credit limits: limit use and over-limit customers are not assessed.")
    return Sentences(_esc(s) for s in out)
