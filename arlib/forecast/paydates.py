"""Invoice-level expected payment dates: when will each open invoice be paid?

Days late
    ``D = payment date - due date`` (negative: paid early). The model is a distribution of
    ``D`` per customer on a grid of whole days, plus a *never* outcome (closed by a write-off
    or a credit note instead of cash).
Learning from history (as known at ``as_of``)
    Invoices due in the ``history_days`` before ``as_of`` are followed from their due date:
    paid at ``D``, closed without cash at ``D`` (never), or still open at ``as_of`` (censored
    at ``as_of - due``). A discrete Aalen-Johansen estimator turns these into the cumulative
    chance of being paid, and of never being paid, by each day late, so invoices still open
    count (an estimator on paid invoices only would make late payers look prompt).
Shrinkage
    A customer's own distribution is mixed with its group's (``by``, e.g. segment):
    ``w = n / (n + prior)`` with ``n`` the customer's resolved invoices, so a new customer
    takes its group's behaviour and a customer with a long record mostly its own.
Drivers
    With ``by_disputed`` the group distribution is learned separately for disputed and
    undisputed invoices (disputes pay later); an invoice's age is used exactly, by
    conditioning on ``D > as_of - due`` (it has not been paid yet).
Open-item list (no payment history)
    Nothing can be learned, so the dates are *contractual* (:mod:`arlib.forecast.contractual`):
    each open item is paid in full on its due date, or after the close if already past due,
    plus the days late assumed for its aging bucket (``runoff_lateness``); ``p_paid`` is 1 by
    that assumption and :attr:`PayDateModel.contractual` is true. Such an item's distribution
    is counted from its *anchor* (the due date, or the close for a past-due item), so an item
    years past due still falls after the close.
Per open invoice
    ``expected_date`` is the median payment date given that it is paid (the date that
    minimises the expected absolute error in days), ``p_paid`` the chance of any payment,
    ``p_horizon`` of a payment by ``horizon_end``; :func:`period_totals` gives the expected
    cash per week or month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.forecast.contractual import check_lateness, expected_dates
from arlib.ledger import EMPTY_REASON, Ledger, needs_history, open_items_only
from arlib.schemas import PAYMENT, C

#: days-late grid: from paid this many days before the due date to this many days after
EARLY, LATE = 120, 730
GRID = np.arange(-EARLY, LATE + 1)
EXPECTED_DATE, P_PAID, P_HORIZON = "expected_date", "p_paid", "p_horizon"
_CHUNK = 4096  # open items handled at a time by the items x GRID computations


#: contractual dates: the day each item's days are counted from (due date, or the close)
ANCHOR, ANCHOR_DAYS = "anchor_date", "anchor_days"
ALL = "all"


def _resolution(ledger: Ledger, as_of: pd.Timestamp, history_days: int) -> pd.DataFrame:
    """Invoices due in the window before ``as_of``: ``D`` and outcome (1 paid, 2 never,
    0 open at ``as_of``)."""
    st = ledger.settlement()
    keep = (st[C.due_date] <= as_of) & (st[C.due_date] > as_of - pd.Timedelta(days=history_days))
    keep &= st[C.invoice_date] <= as_of
    st = st.loc[keep]
    known = st[C.settled_date].notna() & (st[C.settled_date] <= as_of)
    end = st[C.settled_date].where(known, as_of)
    outcome = np.where(known, np.where(st["settled_by"] == PAYMENT, 1, 2), 0)
    return pd.DataFrame(
        {
            C.customer_id: st[C.customer_id].to_numpy(),
            C.disputed: st[C.disputed].to_numpy(bool),
            "d": np.clip((end - st[C.due_date]).dt.days.to_numpy(), -EARLY, LATE),
            "outcome": outcome,
        },
        index=st.index,
    )


def incidence(d: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chance of being paid on each day of :data:`GRID`, and of never being paid by it
    (cumulative), from days ``d`` with outcomes 1 paid, 2 never, 0 censored.

    >>> pmf, never = incidence(np.array([10, 10, 10]), np.array([1, 1, 1]))
    >>> float(pmf[GRID == 10][0]), float(pmf.sum()), float(never[-1])
    (1.0, 1.0, 0.0)
    """
    idx = np.asarray(d, int) + EARLY
    size = len(GRID)
    paid = np.bincount(idx[outcome == 1], minlength=size).astype(float)
    gone = np.bincount(idx[outcome == 2], minlength=size).astype(float)
    leave = np.bincount(idx, minlength=size).astype(float)
    at_risk = len(idx) - np.concatenate([[0.0], np.cumsum(leave)[:-1]])
    safe = np.where(at_risk > 0, at_risk, 1.0)
    surv_before = np.cumprod(np.concatenate([[1.0], 1 - (paid + gone)[:-1] / safe[:-1]]))
    pmf = np.where(at_risk > 0, surv_before * paid / safe, 0.0)
    never = np.cumsum(np.where(at_risk > 0, surv_before * gone / safe, 0.0))
    return pmf, never


class PayDateModel:
    """Distribution of each open invoice's payment date (see the module docstring).

    Parameters
    ----------
    by
        Customer column whose groups are the shrinkage target (``None``: the whole unit).
    prior
        Invoices' worth of weight on the group: ``w_own = n / (n + prior)``.
    history_days
        Days of due dates before ``as_of`` learned from.
    by_disputed
        Learn the group distribution separately for disputed invoices (when the group has
        at least ``min_group`` of them; else the group's pooled one).
    lateness
        Open-item lists only: days late assumed per aging bucket (``runoff_lateness``).

    Attributes (after :meth:`fit`)
    ------------------------------
    items_ : pandas.DataFrame
        One row per open invoice: ``invoice_id, customer_id, group, due_date, open_amount,
        days_past_due, history_n, weight_own, expected_date, expected_days_late, p_paid``.
    """

    def __init__(
        self,
        by: str | None = "segment",
        prior: float = 5.0,
        history_days: int = 730,
        by_disputed: bool = True,
        min_group: int = 20,
        lateness: Mapping | None = None,
    ):
        if prior <= 0:
            raise ConfigError("prior", f"must be > 0, got {prior!r}")
        self.by, self.prior, self.history_days = by, float(prior), int(history_days)
        self.by_disputed, self.min_group = by_disputed, int(min_group)
        self.lateness = check_lateness(lateness)
        self.contractual = False

    # --- fitting -------------------------------------------------------------------------
    def _groups(self, ledger: Ledger) -> pd.Series:
        """customer_id -> group."""
        cust = ledger.customers
        if self.by is None or cust is None:
            return pd.Series(dtype=object)
        if self.by not in cust.columns:
            raise ConfigError(
                "runoff_by", f"column {self.by!r} is not a customer column; use e.g. 'segment'"
            )
        return cust.drop_duplicates(C.customer_id).set_index(C.customer_id)[self.by].astype(str)

    def fit(self, ledger: Ledger, as_of) -> PayDateModel:
        """Learn each group's payment-date distribution from invoices resolved before
        ``as_of``. For an open-item list (no payment history, where every invoice would look
        never paid) the dates are contractual instead (see the module docstring)."""
        if open_items_only(ledger):
            return self._fit_contractual(ledger, pd.Timestamp(as_of))
        as_of = pd.Timestamp(as_of)
        self.as_of_ = as_of
        hist = _resolution(ledger, as_of, self.history_days)
        groups = self._groups(ledger)
        hist["group"] = (
            hist[C.customer_id].map(groups).fillna(ALL if self.by is None else "unknown")
        )
        self.group_of_ = groups
        self.dists_ = {(ALL, None): _incidence_of(hist)}
        for g, part in hist.groupby("group"):
            self.dists_[(g, None)] = _incidence_of(part)
        if self.by_disputed:  # disputes pay later: their own group curve where there are enough
            for (g, disp), part in hist.groupby(["group", C.disputed]):
                if int((part["outcome"] > 0).sum()) >= self.min_group:
                    self.dists_[(g, bool(disp))] = _incidence_of(part)
        self.customers_ = {
            cid: (_incidence_of(p), int((p["outcome"] > 0).sum()))
            for cid, p in hist.groupby(C.customer_id)
        }
        self.items_ = self._items(ledger.open_items(as_of))
        return self

    def _fit_contractual(self, ledger: Ledger, as_of: pd.Timestamp) -> PayDateModel:
        """Contractual dates of an open-item list: one date per item, paid in full."""
        self.contractual, self.as_of_ = True, as_of
        self.group_of_ = self._groups(ledger)
        nothing = np.zeros(len(GRID))  # no days-late record: nothing for invoicing to come
        self.dists_, self.customers_ = {(ALL, None): (nothing, nothing)}, {}
        items = ledger.open_items(as_of)
        out = items[
            [C.invoice_id, C.customer_id, C.due_date, C.disputed, C.open_amount, C.days_past_due]
        ].copy()
        out["group"] = (
            out[C.customer_id].map(self.group_of_).fillna(ALL if self.by is None else "unknown")
        )
        when = expected_dates(items, as_of, self.lateness)
        out[ANCHOR] = out[C.due_date].where(out[C.due_date] > as_of, as_of)
        out[ANCHOR_DAYS] = (when - out[ANCHOR]).dt.days.clip(upper=LATE).to_numpy(int)
        out["history_n"], out["weight_own"] = 0, 0.0
        out[EXPECTED_DATE] = out[ANCHOR] + pd.to_timedelta(out[ANCHOR_DAYS], unit="D")
        out["expected_days_late"] = (out[EXPECTED_DATE] - out[C.due_date]).dt.days.astype(float)
        out[P_PAID] = 1.0
        self.items_ = out.reset_index(drop=True)
        self.cond_, _ = self.conditional(self.items_)
        return self

    def anchors(self, items: pd.DataFrame | None = None) -> pd.Series:
        """The date each item's days of :data:`GRID` count from: its due date (its anchor for
        contractual dates)."""
        items = self.items_ if items is None else items
        return items[ANCHOR] if ANCHOR in items else items[C.due_date]

    def distribution(
        self, customer_id, group: str, disputed: bool = False
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """``(pmf, never, n)`` of one customer: its own distribution mixed with the group's."""
        base = self.dists_.get((group, bool(disputed))) or self.dists_.get((group, None))
        base = base or self.dists_[(ALL, None)]
        own, n = self.customers_.get(customer_id, (None, 0))
        if own is None or n == 0:
            return base[0], base[1], 0
        w = n / (n + self.prior)
        return w * own[0] + (1 - w) * base[0], w * own[1] + (1 - w) * base[1], n

    def _items(self, items: pd.DataFrame) -> pd.DataFrame:
        out = items[
            [C.invoice_id, C.customer_id, C.due_date, C.disputed, C.open_amount, C.days_past_due]
        ].copy()
        out["group"] = (
            out[C.customer_id].map(self.group_of_).fillna(ALL if self.by is None else "unknown")
        )
        cond, n = self.conditional(out)
        paid = cond.sum(axis=1)
        out["history_n"] = n
        out["weight_own"] = n / (n + self.prior)
        med = _median_day(cond)
        out["expected_days_late"] = med
        out[EXPECTED_DATE] = out[C.due_date] + pd.to_timedelta(med, unit="D")
        out[P_PAID] = paid
        self.cond_ = cond
        return out.reset_index(drop=True)

    def conditional(self, items: pd.DataFrame, shift: np.ndarray | None = None):
        """Per item, the chance of payment on each day late of :data:`GRID` given it is still
        open at ``as_of`` (rows: items); ``shift`` days added to each item's days late.
        Contractual dates: all of it on the item's one date."""
        cond = np.zeros((len(items), len(GRID)))
        if self.contractual:
            days = items[ANCHOR_DAYS].to_numpy(int) + (0 if shift is None else np.asarray(shift))
            cond[np.arange(len(items)), np.clip(days, -EARLY, LATE) + EARLY] = 1.0
            return cond, np.zeros(len(items), int)
        n = np.zeros(len(items), int)
        dpd = items[C.days_past_due].to_numpy(int)
        for i, (cid, g, disp) in enumerate(
            zip(items[C.customer_id], items["group"], items[C.disputed])
        ):
            pmf, never, n[i] = self.distribution(cid, g, disp)
            if shift is not None and shift[i]:
                pmf = shift_pmf(pmf, int(shift[i]))
            j = min(max(int(dpd[i]) + EARLY, 0), len(GRID) - 1)
            # still open at as_of: neither paid nor closed by its days past due
            left = 1.0 - pmf[GRID <= dpd[i]].sum() - never[j]
            if left > 1e-9:
                cond[i] = np.where(GRID > dpd[i], pmf, 0.0) / left
        return cond, n

    # --- prediction ----------------------------------------------------------------------
    def daily(self, items: pd.DataFrame | None = None, cond: np.ndarray | None = None):
        """Expected cash per calendar day after ``as_of``: a Series indexed by date."""
        items = self.items_ if items is None else items
        cond = self.cond_ if cond is None else cond
        amt = items[C.open_amount].to_numpy(float)
        due = self.anchors(items).to_numpy("datetime64[D]").astype(np.int64)
        first = int(due.min(initial=0)) + int(GRID[0])
        span = int(due.max(initial=0)) + int(GRID[-1]) - first + 1
        cash, hits = np.zeros(span), np.zeros(span, dtype=np.int64)
        for lo in range(0, len(due), _CHUNK):  # items x grid days at once: GBs for a big unit
            w = cond[lo : lo + _CHUNK] * amt[lo : lo + _CHUNK, None]
            day = due[lo : lo + _CHUNK, None] + GRID[None, :] - first
            keep = w > 0
            cash += np.bincount(day[keep], weights=w[keep], minlength=span)
            hits += np.bincount(day[keep], minlength=span)
        days = np.flatnonzero(hits)
        return pd.Series(cash[days], index=pd.to_datetime((days + first).astype("datetime64[D]")))

    def with_horizon(self, end) -> pd.DataFrame:
        """:attr:`items_` with ``p_horizon``, the chance of a payment by ``end``."""
        out = self.items_.copy()
        days = (pd.Timestamp(end) - self.anchors(out)).dt.days.to_numpy()
        out[P_HORIZON] = (self.cond_ * (GRID[None, :] <= days[:, None])).sum(axis=1)
        return out


def invoice_table(model: PayDateModel, end) -> pd.DataFrame:
    """Open invoices, largest first, with their expected payment date and the chance of a
    payment by ``end``: ``invoice_id, customer_id, <by> (e.g. segment), due_date, days_past_due, disputed,
    open_amount, expected_date, p_paid, p_horizon, history_n``."""
    cols = [C.invoice_id, C.customer_id, "group", C.due_date, C.days_past_due, C.disputed]
    cols += [C.open_amount, EXPECTED_DATE, P_PAID, P_HORIZON, "history_n"]
    out = model.with_horizon(end)[cols].rename(columns={"group": model.by or ALL})
    return out.sort_values([C.open_amount, C.invoice_id], ascending=[False, True]).reset_index(
        drop=True
    )


def mae(ev: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error in days of an :func:`evaluate` frame: ``method, mae_days,
    invoices`` for the model and both baselines (no rows, and the reason, when ``ev`` says
    why it is empty)."""
    names = ("model", "due_date_baseline", "customer_mean_baseline")
    if EMPTY_REASON in ev.attrs and not len(ev):
        out = pd.DataFrame({"method": [], "mae_days": [], "invoices": []})
        out.attrs[EMPTY_REASON] = ev.attrs[EMPTY_REASON]
        return out
    return pd.DataFrame(
        {
            "method": list(names),
            "mae_days": [float(ev[f"err_{n}"].mean()) if len(ev) else np.nan for n in names],
            "invoices": len(ev),
        }
    )


def kpis(acc: pd.DataFrame) -> dict:
    """``paydate_mae_days`` and the baselines' for ``kpis.json`` (nothing when not scored)."""
    if not len(acc):
        return {}
    val = dict(zip(acc["method"], acc["mae_days"]))
    out = {
        "paydate_mae_days": val["model"],
        "paydate_mae_days_due_date": val["due_date_baseline"],
        "paydate_mae_days_customer_mean": val["customer_mean_baseline"],
    }
    out = {k: (None if pd.isna(v) else round(float(v), 2)) for k, v in out.items()}
    return out | {"paydate_invoices_scored": int(acc["invoices"].iloc[0])}


def backtest_cutoffs(as_of, months: Sequence[int] = (9, 6, 3)) -> list[pd.Timestamp]:
    """Cut-offs ``months`` before ``as_of`` (month-ends when ``as_of`` is one).

    >>> [str(c.date()) for c in backtest_cutoffs("2026-10-31", (6, 3))]
    ['2026-04-30', '2026-07-31']
    """
    as_of = pd.Timestamp(as_of)
    return [as_of - pd.DateOffset(months=m) for m in months]


def _incidence_of(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return incidence(part["d"].to_numpy(), part["outcome"].to_numpy())


def shift_pmf(pmf: np.ndarray, days: int) -> np.ndarray:
    """``pmf`` moved ``days`` later (earlier if negative); mass pushed past the grid's end
    stays on its last day."""
    out = np.zeros_like(pmf)
    if days >= 0:
        out[days:] = pmf[: len(pmf) - days]
        out[-1] += pmf[len(pmf) - days :].sum()
    else:
        out[: len(pmf) + days] = pmf[-days:]
        out[0] += pmf[:-days].sum()
    return out


def _median_day(cond: np.ndarray) -> np.ndarray:
    """Per row, the median day late of the payment distribution given payment (NaN: none)."""
    tot = cond.sum(axis=1)
    cum = np.cumsum(cond, axis=1)
    idx = (cum < (tot / 2)[:, None]).sum(axis=1)
    out = GRID[np.clip(idx, 0, len(GRID) - 1)].astype(float)
    return np.where(tot > 0, out, np.nan)


def periods_after(as_of, horizon: int, period: str = "M") -> pd.PeriodIndex:
    """The ``horizon`` pandas periods (``"M"`` months, ``"W-FRI"`` weeks ending Friday, ...)
    after the close of ``as_of``; the first holds the day after ``as_of``.

    >>> [str(p) for p in periods_after("2024-12-31", 2, "W-FRI")]
    ['2024-12-28/2025-01-03', '2025-01-04/2025-01-10']
    """
    try:
        first = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).to_period(period)
    except ValueError:
        raise ConfigError(
            "period", f"{period!r} is not a pandas period; use 'M' or e.g. 'W-FRI'"
        ) from None
    return pd.period_range(first, periods=horizon, freq=period)


def period_totals(daily: pd.Series, as_of, horizon: int, period: str = "M") -> pd.DataFrame:
    """Expected cash per period after ``as_of`` (see :func:`periods_after`): ``period_end``,
    ``yhat``; cash in the period holding ``as_of`` counts from the day after it."""
    periods = periods_after(as_of, horizon, period)
    ends = periods.end_time.normalize()
    day = pd.DatetimeIndex(daily.index)
    keep = (day > pd.Timestamp(as_of)) & (day <= ends[-1])
    slot = np.searchsorted(ends.to_numpy(), day[keep].to_numpy())
    vals = np.bincount(slot, weights=daily.to_numpy(float)[keep], minlength=len(periods))
    return pd.DataFrame({"period_end": ends, "yhat": vals})


def evaluate(ledger: Ledger, cutoffs: Sequence, through, **model_args) -> pd.DataFrame:
    """Backtest of payment dates: at each cut-off the model is fitted on what was known then;
    invoices open at the cut-off and paid by ``through`` are scored.

    Returns per invoice: ``cutoff, invoice_id, actual, model, due_date_baseline,
    customer_mean_baseline`` (dates) and their absolute errors in days (``err_*``); no rows
    for an open-item list (nothing paid to score, said in ``attrs``: :func:`needs_history`).
    The due-date baseline pays on the due date (or the day after the cut-off if already
    due); the customer-mean baseline adds the customer's mean days late of invoices paid by
    the cut-off (the unit's mean for a new customer), never before the day after the cut-off.
    """
    names = ("model", "due_date_baseline", "customer_mean_baseline")
    if open_items_only(ledger):
        cols = ["cutoff", C.invoice_id, "actual", *names, *(f"err_{n}" for n in names)]
        return needs_history(pd.DataFrame(columns=cols), "Scoring payment dates")
    st = ledger.settlement().set_index(C.invoice_id)
    rows = []
    for cut in map(pd.Timestamp, cutoffs):
        m = PayDateModel(**model_args).fit(ledger, cut)
        it = m.items_.set_index(C.invoice_id)
        act = st.reindex(it.index)
        ok = (act["settled_by"] == PAYMENT) & (act[C.settled_date] <= pd.Timestamp(through))
        it, act = it.loc[ok.to_numpy()], act.loc[ok.to_numpy()]
        earliest = cut + pd.Timedelta(days=1)
        known = st.loc[(st["settled_by"] == PAYMENT) & (st[C.settled_date] <= cut)]
        mean_late = known.groupby(C.customer_id)["days_late"].mean()
        overall = known["days_late"].mean() if len(known) else 0.0
        cust_delay = it[C.customer_id].map(mean_late).fillna(overall).round()
        frame = pd.DataFrame(
            {
                "cutoff": cut,
                "actual": act[C.settled_date],
                "model": it[EXPECTED_DATE].fillna(earliest).clip(lower=earliest),
                "due_date_baseline": it[C.due_date].clip(lower=earliest),
                "customer_mean_baseline": (
                    it[C.due_date] + pd.to_timedelta(cust_delay, unit="D")
                ).clip(lower=earliest),
            }
        )
        rows.append(frame.reset_index())
    out = pd.concat(rows, ignore_index=True)
    for col in ("model", "due_date_baseline", "customer_mean_baseline"):
        out[f"err_{col}"] = (out[col] - out["actual"]).dt.days.abs()
    return out
