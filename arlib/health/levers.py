"""Two levers for cash, side by side: an early-payment discount offer and factoring.

Both are what-ifs read *as of the close* from the ledger; neither changes it.

*Discount* (:func:`discount_whatif`): customers are offered ``discount`` for paying within
``discount_days``; the cash released is the fall in days to pay times the daily billings.

*Factoring* (:func:`factoring_whatif`): a chosen set of open receivables is sold to a factor
who advances ``advance_rate`` of their face value now, charges a ``fee`` on the face value and
a ``discount_rate`` (yearly, simple interest, 365-day year) on the advance until the expected
collection date; the rest of the face value (less fee and interest) is paid when the customer
pays. *With recourse* the credit risk stays with the seller and the receivables stay on the
balance sheet (IFRS 9 derecognition fails: the advance is a borrowing), so reported DSO does not
move; *without recourse* the risk and the receivables pass to the factor.

>>> r = factoring_costs(face=100_000.0, days=60, advance_rate=0.8, fee=0.01,
...                     discount_rate=0.06, cost_of_capital=0.08)
>>> r["cash_released"], r["fee_cost"], r["interest_cost"], r["total_cost"]
(80000.0, 1000.0, 789.04, 1789.04)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from arlib import dso as core
from arlib.errors import ConfigError
from arlib.health import shared
from arlib.health.worklist import LOSS_RATES
from arlib.i18n import t
from arlib.ledger import Ledger
from arlib.schemas import C


def discount_whatif(
    ledger: Ledger,
    as_of,
    discount: float = 0.02,
    discount_days: int = 10,
    net_days: int = 30,
    cost_of_capital: float = 0.08,
    lookback_months: int = 12,
    take_up: float | None = None,
) -> dict:
    """Cash released, DSO change and net cost a year of offering ``discount``/``discount_days``
    net ``net_days``, from the invoices paid in the ``lookback_months`` before ``as_of``.

    Assumptions (stated in the result as ``take_up_rule``): takers pay on day
    ``min(observed days to pay, discount_days)``; by default the takers are the invoices that were
    paid by their due date (a customer who already pays on time takes a discount for paying
    earlier, a habitual late payer does not), or a flat ``take_up`` share of every invoice; others
    keep their observed lateness against the new net term. The DSO change is the change in
    amount-weighted days to pay. Yearly figures use the lookback's billings annualised; net cost =
    discounts granted - cash released x cost of capital (negative: the offer pays for itself).
    """
    _check_offer(discount, discount_days, net_days, cost_of_capital, take_up)
    w = core.window(as_of, lookback_months)
    s = shared.settlement(ledger)  # the invoices paid in the look-back, by one mask
    when = s[C.settled_date]
    rows = np.flatnonzero(shared.paid_by_payment(ledger) & (when > w.start) & (when <= w.end))
    a, t, late = (
        s[C.amount].to_numpy(float)[rows],
        s["days_to_pay"].to_numpy(float)[rows],
        s["days_late"].to_numpy(float)[rows],
    )
    terms = t - late
    p = np.where(late <= 0, 1.0, 0.0) if take_up is None else np.full(len(a), float(take_up))
    t_take = np.minimum(t, discount_days)
    t_keep = np.maximum(t + (net_days - terms), 0.0)
    inv = ledger.invoices
    billed = inv.loc[
        (inv[C.invoice_date] > w.start) & (inv[C.invoice_date] <= w.end), C.amount
    ].sum()
    annual = float(billed * 365.0 / w.days)
    tot = a.sum()
    if tot <= core.TOL:
        return {
            "invoices_observed": 0,
            "annual_billings": annual,
            "note": "not defined: no invoice was paid in the lookback",
        }
    before = float(a @ t / tot)
    after = float(a @ (p * t_take + (1 - p) * t_keep) / tot)
    terms_only = float(a @ t_keep / tot)
    share = float(a @ p / tot)
    released = annual / 365.0 * (before - after)
    cost = annual * share * discount
    benefit = released * cost_of_capital
    return {
        "invoices_observed": int(len(a)),
        "annual_billings": round(annual, 2),
        "take_up_share": share,
        "take_up_rule": "invoices paid by their due date"
        if take_up is None
        else f"flat {take_up:.0%}",
        "days_to_pay_now": before,
        "days_to_pay_after": after,
        "dso_change": after - before,
        "dso_change_terms": terms_only - before,
        "dso_change_discount": after - terms_only,
        "cash_released": round(released, 2),
        "cash_released_discount": round(annual / 365.0 * (terms_only - after), 2),
        "discount_cost": round(cost, 2),
        "financing_benefit": round(benefit, 2),
        "net_cost": round(cost - benefit, 2),
        "offer_annual_rate": discount / (1 - discount) * 365.0 / max(net_days - discount_days, 1),
        "break_even_discount": benefit / (annual * share) if annual * share > core.TOL else None,
    }


def _check_offer(discount, discount_days, net_days, cost_of_capital, take_up) -> None:
    if not 0 <= discount < 1:
        raise ConfigError(
            "discount", f"must be a fraction in [0, 1), e.g. 0.02 for 2%; got {discount!r}"
        )
    if not 0 <= discount_days <= net_days:
        raise ConfigError(
            "discount_days", f"must be between 0 and net_days ({net_days}); got {discount_days!r}"
        )
    if not 0 <= cost_of_capital < 1:
        raise ConfigError(
            "cost_of_capital",
            f"must be a yearly rate in [0, 1), e.g. 0.08; got {cost_of_capital!r}",
        )
    if take_up is not None and not 0 <= take_up <= 1:
        raise ConfigError("discount_take_up", f"must be a share in [0, 1] or null; got {take_up!r}")


# -- factoring --------------------------------------------------------------------------------
def _check_factoring(advance_rate, fee, discount_rate, cost_of_capital) -> None:
    for key, v, hi in (
        ("factoring_advance_rate", advance_rate, 1.0),
        ("factoring_fee", fee, 0.5),
        ("factoring_discount_rate", discount_rate, 1.0),
        ("cost_of_capital", cost_of_capital, 1.0),
    ):
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= hi:
            raise ConfigError(key, f"must be a fraction in [0, {hi}], e.g. 0.8 or 0.01; got {v!r}")


def factoring_costs(
    face: float,
    days: float,
    advance_rate: float = 0.8,
    fee: float = 0.01,
    discount_rate: float = 0.06,
    cost_of_capital: float = 0.08,
) -> dict:
    """The arithmetic of one factoring deal on ``face`` collected on average in ``days``.

    cash released = face x advance rate; fee cost = face x fee; interest = advance x discount
    rate x days / 365; financing saved = advance x cost of capital x days / 365 (what the same
    cash costs the business otherwise); net cost = fee + interest - financing saved; the
    effective yearly rate = (fee + interest) / advance x 365 / days, to hold against the cost of
    capital. Money rounded to the cent.
    """
    _check_factoring(advance_rate, fee, discount_rate, cost_of_capital)
    adv = face * advance_rate
    fee_cost = face * fee
    interest = adv * discount_rate * days / 365.0
    saved = adv * cost_of_capital * days / 365.0
    total = round(fee_cost, 2) + round(interest, 2)
    return {
        "face_value": round(face, 2),
        "days_to_collect": days,
        "cash_released": round(adv, 2),
        "fee_cost": round(fee_cost, 2),
        "interest_cost": round(interest, 2),
        "total_cost": round(total, 2),
        "financing_saved": round(saved, 2),
        "net_cost": round(total - round(saved, 2), 2),
        "effective_rate": total / adv * 365.0 / days if adv > 0 and days > 0 else float("nan"),
    }


def select_receivables(
    items: pd.DataFrame,
    card: pd.DataFrame | None = None,
    grades: Sequence[str] = (),
    segments: Sequence[str] = (),
    min_days_past_due: int | None = None,
    customers: Sequence[str] = (),
) -> pd.DataFrame:
    """The open items of ``items`` that match every criterion given (empty: no filter): the
    customer's grade (from ``card``), segment, at least ``min_days_past_due`` days past due, or
    customer ids/names. Adds ``grade``, ``segment`` and ``days_late_usual`` (the customer's
    amount-weighted days late from ``card``, 0 when not late or unknown)."""
    out = items.copy()
    info = card.set_index(C.customer_id) if card is not None else pd.DataFrame()
    for col, default in (("grade", ""), (C.segment, "unknown"), ("days_late", 0.0)):
        src = info[col] if col in info else pd.Series(dtype=object)
        out[col] = out[C.customer_id].map(src).fillna(default)
    out["days_late_usual"] = np.clip(pd.to_numeric(out.pop("days_late")), 0, None)
    keep = np.ones(len(out), dtype=bool)
    if grades:
        keep &= out["grade"].isin(list(grades)).to_numpy()
    if segments:
        keep &= out[C.segment].isin(list(segments)).to_numpy()
    if min_days_past_due is not None:
        keep &= (out[C.days_past_due] >= int(min_days_past_due)).to_numpy()
    if customers:
        names = out[C.customer_id].map(info[C.name]) if C.name in info else out[C.customer_id]
        wanted = {str(c) for c in customers}
        keep &= (out[C.customer_id].astype(str).isin(wanted) | names.isin(wanted)).to_numpy()
    return out.loc[keep].reset_index(drop=True)


def factoring_whatif(
    chosen: pd.DataFrame,
    as_of,
    daily_billings: float,
    loss_rates: Mapping[str, float],
    advance_rate: float = 0.8,
    fee: float = 0.01,
    discount_rate: float = 0.06,
    recourse: bool = True,
    cost_of_capital: float = 0.08,
) -> dict:
    """Factoring the ``chosen`` open items (from :func:`select_receivables`) at ``as_of``.

    Each item is expected to be collected at its due date plus the customer's usual days late
    (at least one day from now); ``days_to_collect`` is the amount-weighted mean, the basis of
    :func:`factoring_costs`. DSO effect: without recourse the face value leaves receivables, so
    DSO falls by face / ``daily_billings`` days; with recourse it stays (0). Credit risk
    transferred: without recourse, the expected loss of the items (open amount x the loss rate
    of the customer's grade, ``loss_rates``); with recourse none.
    """
    as_of = pd.Timestamp(as_of)
    amt = chosen[C.open_amount].to_numpy(dtype=float) if len(chosen) else np.zeros(0)
    face = float(amt.sum())
    if face <= core.TOL:
        return {"items": 0, "face_value": 0.0, "note": "nothing selected to factor"}
    expected = chosen[C.due_date] + pd.to_timedelta(chosen["days_late_usual"].round(), unit="D")
    days = np.maximum((expected - as_of).dt.days.to_numpy(dtype=float), 1.0)
    out = factoring_costs(
        face, float(amt @ days / face), advance_rate, fee, discount_rate, cost_of_capital
    )
    el = float(amt @ chosen["grade"].map(loss_rates).fillna(max(loss_rates.values())).to_numpy())
    out.update(
        items=int(len(chosen)),
        customers=int(chosen[C.customer_id].nunique()),
        recourse=bool(recourse),
        dso_change=0.0 if recourse or daily_billings <= 0 else -face / daily_billings,
        risk_transferred=0.0 if recourse else round(el, 2),
        cost_of_capital=cost_of_capital,
    )
    return out


def levers_table(discount: Mapping, factoring: Mapping) -> pd.DataFrame:
    """The two levers side by side: ``lever, cash_released, yearly_cost, cost_rate,
    dso_change``, on a like-for-like yearly basis.

    The discount's yearly cost is its net cost (discounts less financing saved; the offer runs
    all year). Factoring's is the net cost of the deal kept up all year as a facility on the
    same stock of receivables: the deal's net cost x 365 / days to collect (the stock turns
    over that often). ``cost_rate`` = yearly cost / cash released: what each unit of cash
    freed costs a year, to hold against the cost of capital.
    """
    days = factoring.get("days_to_collect") or float("nan")
    rows = [
        (
            t("early-payment discount"),
            discount.get("cash_released"),
            discount.get("net_cost"),
            discount.get("dso_change"),
        ),
        (
            t("factoring"),
            factoring.get("cash_released", 0.0),
            round(factoring.get("net_cost", 0.0) * 365.0 / days, 2)
            if factoring.get("items")
            else 0.0,
            factoring.get("dso_change", 0.0),
        ),
    ]
    out = pd.DataFrame(rows, columns=["lever", "cash_released", "yearly_cost", "dso_change"])
    cash = pd.to_numeric(out["cash_released"])
    out.insert(3, "cost_rate", (pd.to_numeric(out["yearly_cost"]) / cash).where(cash > 0))
    return out


def factoring_for(
    ledger: Ledger,
    as_of,
    card: pd.DataFrame,
    *,
    grades: Sequence[str] = (),
    segments: Sequence[str] = (),
    min_days_past_due: int | None = None,
    customers: Sequence[str] = (),
    advance_rate: float = 0.8,
    fee: float = 0.01,
    discount_rate: float = 0.06,
    recourse: bool = True,
    cost_of_capital: float = 0.08,
    loss_rates: Mapping[str, float] | None = None,
    window_months: int = 3,
) -> dict:
    """:func:`factoring_whatif` of the open items at ``as_of`` chosen by
    :func:`select_receivables`; daily billings over the ``window_months`` to ``as_of``, loss
    rates by grade default to :data:`arlib.health.worklist.LOSS_RATES`. The result also names the
    selection (``selection``)."""
    chosen = select_receivables(
        ledger.open_items(as_of), card, grades, segments, min_days_past_due, customers
    )
    w = core.window(as_of, window_months)
    inv = ledger.invoices
    billed = inv.loc[(inv[C.invoice_date] > w.start) & (inv[C.invoice_date] <= w.end), C.amount]
    out = factoring_whatif(
        chosen,
        as_of,
        float(billed.sum()) / w.days,
        loss_rates or LOSS_RATES,
        advance_rate,
        fee,
        discount_rate,
        recourse,
        cost_of_capital,
    )
    parts = [
        f"grades {', '.join(grades)}" if grades else "",
        f"segments {', '.join(segments)}" if segments else "",
        f"{min_days_past_due}+ days past due" if min_days_past_due is not None else "",
        f"customers {', '.join(map(str, customers))}" if customers else "",
    ]
    out["selection"] = "; ".join(p for p in parts if p) or "every open item"
    return out


def factoring_table(result: Mapping) -> pd.DataFrame:
    """The factoring what-if as one row for display (money, days and rates)."""
    keys = [
        "items",
        "face_value",
        "cash_released",
        "days_to_collect",
        "fee_cost",
        "interest_cost",
        "financing_saved",
        "net_cost",
        "effective_rate",
        "dso_change",
        "risk_transferred",
    ]
    return pd.DataFrame([{k: result.get(k) for k in keys}])


def summary(factoring: Mapping) -> dict:
    """Flat figures of the factoring what-if for ``kpis.json`` (keys prefixed ``factoring_``)."""
    keys = ("face_value", "cash_released", "total_cost", "net_cost", "effective_rate")
    keys += ("dso_change", "risk_transferred")
    return {f"factoring_{k}": factoring[k] for k in keys if k in factoring}
