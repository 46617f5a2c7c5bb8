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
Big units
    The open invoices' chances are held as one row per customer and disputed flag
    (:mod:`arlib.forecast.paytable`), and all customers' own records are estimated at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.forecast.contractual import check_lateness, expected_dates
from arlib.forecast.owncells import OwnCells
from arlib.forecast.paytable import (  # noqa: F401  GRID, EARLY, LATE, shift_pmf: the grid's API
    EARLY,
    GRID,
    LATE,
    ROWS,
    Conditional,
    conditional,
    daily_cash,
    incidence_by,
    on_days,
    paid_and_median,
    paid_by,
    shift_pmf,
)
from arlib.ledger import (
    EMPTY_REASON,
    Ledger,
    needs_history,
    open_item_columns,
    open_items_only,
    settlement_arrays,
)
from arlib.schemas import PAYMENT, C

EXPECTED_DATE, P_PAID, P_HORIZON = "expected_date", "p_paid", "p_horizon"

#: contractual dates: the day each item's days are counted from (due date, or the close)
ANCHOR, ANCHOR_DAYS = "anchor_date", "anchor_days"
ALL = "all"


def by_due_date(ledger: Ledger) -> pd.DataFrame:
    """The ledger's :meth:`~arlib.ledger.Ledger.settlement` columns a fit reads, sorted by due
    date (row labels kept): built once by a caller that fits at many cut-offs and handed to
    :meth:`PayDateModel.fit` (each fit then takes its window of due dates by a binary search).
    Two columns are worked out once here instead of at every fit: ``_paid`` (closed by a
    payment) and ``_cust``, the customer as a categorical (its codes index its categories)."""
    cols = [C.customer_id, C.disputed, C.due_date, C.invoice_date, C.settled_date, "settled_by"]
    arr = settlement_arrays(ledger, cols)
    order = np.argsort(arr[C.due_date], kind="stable")
    out = pd.DataFrame({c: arr[c][order] for c in cols}, index=arr["index"][order])
    out["_paid"] = out["settled_by"].to_numpy() == PAYMENT
    codes, cats = pd.factorize(out[C.customer_id].to_numpy(), use_na_sentinel=False)
    out["_cust"] = pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))
    return out


def _resolution(settled: pd.DataFrame, as_of: pd.Timestamp, history_days: int) -> pd.DataFrame:
    """Invoices due in the window before ``as_of`` (``settled``: :func:`by_due_date`): ``D``
    and outcome (1 paid, 2 never, 0 open at ``as_of``), with ``_cust`` (customer code in
    ``settled``'s ``_cust`` categories)."""
    due = settled[C.due_date].to_numpy()
    window = np.array([as_of - pd.Timedelta(days=history_days), as_of], dtype=due.dtype)
    lo, hi = np.searchsorted(due, window, side="right")
    day = np.timedelta64(1, "D")
    when = pd.Timestamp(as_of).to_datetime64()
    pos = lo + np.flatnonzero(settled[C.invoice_date].to_numpy()[lo:hi] <= when)
    sd = settled[C.settled_date].to_numpy()[pos]
    known = ~np.isnat(sd) & (sd <= when)
    end = np.where(known, sd, when)
    outcome = np.where(known, np.where(settled["_paid"].to_numpy()[pos], 1, 2), 0)
    return pd.DataFrame(
        {
            C.customer_id: settled[C.customer_id].to_numpy()[pos],
            C.disputed: settled[C.disputed].to_numpy(bool)[pos],
            "d": np.clip((end - due[pos]) // day, -EARLY, LATE),
            "outcome": outcome,
            "_cust": settled["_cust"].array.codes[pos],
        },
        index=settled.index[pos],
    )


def incidence(d: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chance of being paid on each day of :data:`GRID`, and of never being paid by it
    (cumulative), from days ``d`` with outcomes 1 paid, 2 never, 0 censored (one group of
    :func:`~arlib.forecast.paytable.incidence_by`).

    >>> pmf, never = incidence(np.array([10, 10, 10]), np.array([1, 1, 1]))
    >>> float(pmf[GRID == 10][0]), float(pmf.sum()), float(never[-1])
    (1.0, 1.0, 0.0)
    """
    pmf, never = incidence_by(np.zeros(len(d), np.int64), d, np.asarray(outcome), 1)
    return pmf[0], never[0]


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
    cond_ : arlib.forecast.paytable.Conditional
        Each open invoice's chance of payment per day late, given it is still open.
    positions_ : numpy.ndarray
        Each open invoice's position in ``ledger.invoices`` (and in its settlement arrays;
        not for contractual dates).
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

    def fit(
        self, ledger: Ledger, as_of, dates: bool = True, settled: pd.DataFrame | None = None
    ) -> PayDateModel:
        """Learn each group's payment-date distribution from invoices resolved before
        ``as_of``. For an open-item list (no payment history, where every invoice would look
        never paid) the dates are contractual instead (see the module docstring).

        ``dates=False`` leaves out the per-invoice ``expected_date``, ``expected_days_late``
        and ``p_paid`` (a caller that needs only the cash by day, such as the 13-week
        backtest, saves a pass over every invoice's grid days); ``settled`` is the ledger's
        :func:`by_due_date`, when the caller has it."""
        if open_items_only(ledger):
            return self._fit_contractual(ledger, pd.Timestamp(as_of))
        as_of = pd.Timestamp(as_of)
        self.as_of_ = as_of
        settled = by_due_date(ledger) if settled is None else settled
        hist = _resolution(settled, as_of, self.history_days)
        groups = self._groups(ledger)
        self.group_of_ = groups
        # customers as codes of ``settled``'s categories: a group per customer, not per record
        self.cats_ = settled["_cust"].array.categories
        fill = ALL if self.by is None else "unknown"
        names = pd.Series(self.cats_, dtype=object).map(groups).fillna(fill).to_numpy(str)
        names, group_of = np.unique(names, return_inverse=True)  # sorted, as a groupby
        self.dists_ = {(ALL, None): _incidence_of(hist)}
        self.dists_ |= self._group_dists(hist, group_of.ravel()[hist["_cust"].to_numpy()], names)
        cols = [C.invoice_id, C.customer_id, C.due_date, C.disputed]
        self.positions_, items = open_item_columns(ledger, as_of, cols)
        self.hist_ = hist[[C.customer_id, "d", "outcome"]]
        self.hist_code_ = hist["_cust"].to_numpy()
        self._own_table(items[C.customer_id].unique())
        self.items_ = self._items(items, dates)
        return self

    def _group_dists(self, hist: pd.DataFrame, code: np.ndarray, names: np.ndarray) -> dict:
        """``{(group, None): (pmf, never)}`` for every group (``names[code]`` of each record of
        ``hist``) with records and, with :attr:`by_disputed`, ``{(group, disputed): ...}`` for
        those with at least :attr:`min_group` resolved records: each the estimate on that part
        of ``hist`` alone (:func:`~arlib.forecast.paytable.incidence_by` estimates them all at
        once)."""
        names = names.tolist()
        d, outcome = hist["d"].to_numpy(), hist["outcome"].to_numpy()
        pmf, never = incidence_by(code, d, outcome, len(names))
        rows = np.bincount(code, minlength=len(names))
        out = {(g, None): (pmf[k], never[k]) for k, g in enumerate(names) if rows[k]}
        if self.by_disputed:  # disputes pay later: their own group curve where there are enough
            pair = 2 * code + hist[C.disputed].to_numpy(bool)
            pmf, never = incidence_by(pair, d, outcome, 2 * len(names))
            rows = np.bincount(pair, minlength=2 * len(names))
            resolved = np.bincount(pair[outcome > 0], minlength=2 * len(names))
            for k in np.flatnonzero((rows > 0) & (resolved >= self.min_group)):
                out[(names[k // 2], bool(k % 2))] = (pmf[k], never[k])
        return out

    def _own_table(self, customers) -> None:
        """Each of ``customers``' own distribution from :attr:`hist_`, all at once:
        ``own_index_`` (customer ids), ``own_cells_`` (their estimates, held by the days
        they have: :class:`~arlib.forecast.owncells.OwnCells`) and ``own_n_`` (resolved
        invoices)."""
        self.own_index_ = pd.Index(customers)
        # the row of each record's customer: looked up once per customer, not per record
        code = self.own_index_.get_indexer(self.cats_)[self.hist_code_]
        mine = code >= 0
        d, outcome = self.hist_["d"].to_numpy(), self.hist_["outcome"].to_numpy()
        n = len(self.own_index_)
        self.own_cells_ = OwnCells.estimate(code[mine], d[mine], outcome[mine], n)
        self.own_n_ = np.bincount(code[mine & (outcome > 0)], minlength=n)

    def _own(self, customer_id) -> tuple[np.ndarray | None, np.ndarray | None, int]:
        """``(pmf, never, n)`` of one customer's own record (``None``s and 0: none)."""
        row = self.own_index_.get_indexer([customer_id])[0]
        if row >= 0:
            pmf, never = self.own_cells_.row(row)
            return pmf, never, int(self.own_n_[row])
        part = self.hist_.loc[self.hist_[C.customer_id] == customer_id]
        if not len(part):
            return None, None, 0
        pmf, never = _incidence_of(part)
        return pmf, never, int((part["outcome"] > 0).sum())

    def _fit_contractual(self, ledger: Ledger, as_of: pd.Timestamp) -> PayDateModel:
        """Contractual dates of an open-item list: one date per item, paid in full."""
        self.contractual, self.as_of_ = True, as_of
        self.group_of_ = self._groups(ledger)
        nothing = np.zeros(len(GRID))  # no days-late record: nothing for invoicing to come
        self.dists_ = {(ALL, None): (nothing, nothing)}
        self.hist_ = pd.DataFrame({C.customer_id: [], "d": [], "outcome": []})
        self.cats_, self.hist_code_ = pd.Index([], dtype=object), np.zeros(0, np.int64)
        self._own_table([])
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
        self.cond_ = self.conditional(self.items_)
        return self

    def anchors(self, items: pd.DataFrame | None = None) -> pd.Series:
        """The date each item's days of :data:`GRID` count from: its due date (its anchor for
        contractual dates)."""
        items = self.items_ if items is None else items
        return items[ANCHOR] if ANCHOR in items else items[C.due_date]

    def _base(self, group, disputed) -> tuple[np.ndarray, np.ndarray]:
        base = self.dists_.get((group, bool(disputed))) or self.dists_.get((group, None))
        return base or self.dists_[(ALL, None)]

    def distribution(
        self, customer_id, group: str, disputed: bool = False
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """``(pmf, never, n)`` of one customer: its own distribution mixed with the group's."""
        base = self._base(group, disputed)
        own_pmf, own_never, n = self._own(customer_id)
        if own_pmf is None or n == 0:
            return base[0], base[1], 0
        w = n / (n + self.prior)
        return w * own_pmf + (1 - w) * base[0], w * own_never + (1 - w) * base[1], n

    def _tables(self, items: pd.DataFrame):
        """The distinct distributions of ``items`` (one per customer, group and disputed
        flag; the arithmetic of :meth:`distribution`): the ``pmf`` rows, a function
        ``never(rows, j)`` of the never-paid chance of rows at grid indexes ``j`` (one value
        per invoice is read, so no table of them is built), each item's row ``key`` and each
        row's ``n``."""
        cust, group = items[C.customer_id].to_numpy(), items["group"].to_numpy()
        disp = items[C.disputed].to_numpy(bool)
        fc, _ = pd.factorize(cust, use_na_sentinel=False)
        fg, names = pd.factorize(group, use_na_sentinel=False)
        combo = (fc.astype(np.int64) * max(len(names), 1) + fg) * 2 + disp
        _, first, key = np.unique(combo, return_index=True, return_inverse=True)
        key = key.ravel()
        # the group's distribution per distinct (group, disputed), then one per table row
        pair, pair_row = np.unique(fg[first] * 2 + disp[first], return_inverse=True)
        pair_row = pair_row.ravel()
        base = [self._base(names[k // 2], bool(k % 2)) for k in pair]
        row = self.own_index_.get_indexer(cust[first])
        if (row < 0).any():  # items other than the model's own
            self._own_table(self.own_index_.append(pd.Index(pd.unique(cust[first]))).unique())
            row = self.own_index_.get_indexer(cust[first])
        n = self.own_n_[row]
        mixed = np.flatnonzero(n > 0)
        w = n[mixed] / (n[mixed] + self.prior)
        base_pmf = np.array([b[0] for b in base]).reshape(-1, len(GRID))
        base_never = np.array([b[1] for b in base]).reshape(-1, len(GRID))
        table = base_pmf[pair_row]
        for lo in range(0, len(mixed), ROWS):  # (1 - w) * base, a block at a time
            m, wb = mixed[lo : lo + ROWS], w[lo : lo + ROWS, None]
            part = table[m]
            part *= 1 - wb
            table[m] = part
        own = self.own_cells_
        own.mix_into(table, mixed, row[mixed], w)  # + w * own, on the days it has
        slot = np.full(len(first), -1)
        slot[mixed] = np.arange(len(mixed))

        def never(rows: np.ndarray, j: np.ndarray) -> np.ndarray:
            """The same mix, cell by cell, of the never-paid rows at ``(rows, j)``."""
            out = base_never[pair_row[rows], j]
            s = slot[rows]
            mine = np.flatnonzero(s >= 0)
            ws = w[s[mine]]
            part = own.never_at(row[rows[mine]], j[mine])
            part *= ws
            part += (1 - ws) * out[mine]
            out[mine] = part
            return out

        return table, never, key, n

    def _items(self, items: pd.DataFrame, dates: bool = True) -> pd.DataFrame:
        out = items[
            [C.invoice_id, C.customer_id, C.due_date, C.disputed, C.open_amount, C.days_past_due]
        ].copy()
        out["group"] = (
            out[C.customer_id].map(self.group_of_).fillna(ALL if self.by is None else "unknown")
        )
        pmf, never, key, n_row = self._tables(out)
        self.cond_ = conditional(pmf, never, key, out[C.days_past_due].to_numpy())
        n = n_row[key]
        out["history_n"] = n
        out["weight_own"] = n / (n + self.prior)
        if dates:
            paid, med = paid_and_median(self.cond_)
            out["expected_days_late"] = med
            out[EXPECTED_DATE] = out[C.due_date] + pd.to_timedelta(med, unit="D")
            out[P_PAID] = paid
        return out.reset_index(drop=True)

    def conditional(self, items: pd.DataFrame, shift: np.ndarray | None = None) -> Conditional:
        """Per item, the chance of payment on each day late of :data:`GRID` given it is still
        open at ``as_of`` (:class:`~arlib.forecast.paytable.Conditional`); ``shift`` days
        added to each item's days late. Contractual dates: all of it on the item's one date."""
        if self.contractual:
            return on_days(items[ANCHOR_DAYS].to_numpy(int) + (0 if shift is None else shift))
        pmf, never, key, _n = self._tables(items)
        return conditional(pmf, never, key, items[C.days_past_due].to_numpy(), shift)

    # --- prediction ----------------------------------------------------------------------
    def daily(
        self,
        items: pd.DataFrame | None = None,
        cond: Conditional | None = None,
        through=None,
    ) -> pd.Series:
        """Expected cash per calendar day after ``as_of``: a Series indexed by date (up to
        ``through`` when given: a horizon costs its days, not the whole grid's)."""
        items = self.items_ if items is None else items
        cond = self.cond_ if cond is None else cond
        first = None if through is None else self.as_of_ + pd.Timedelta(days=1)
        return daily_cash(cond, self.anchors(items), items[C.open_amount], first, through)

    def with_horizon(self, end) -> pd.DataFrame:
        """:attr:`items_` with ``p_horizon``, the chance of a payment by ``end``."""
        out = self.items_.copy()
        days = (pd.Timestamp(end) - self.anchors(out)).dt.days.to_numpy()
        out[P_HORIZON] = paid_by(self.cond_, days)
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


def _mean_late(code: np.ndarray, late: np.ndarray, who: np.ndarray) -> np.ndarray:
    """Mean days late of each customer ``who`` (a code; -1: unknown) over the paid invoices
    ``late`` of customers ``code``; the mean over all of them for a customer without any
    (0 when there are none). Days are whole, so the sums are exact and the means are those
    of a pandas groupby.

    >>> _mean_late(np.array([0, 0, 1]), np.array([2.0, 4.0, 9.0]), np.array([0, 1, 2, -1])).tolist()
    [3.0, 9.0, 5.0, 5.0]
    """
    n = max(int(code.max(initial=-1)), int(who.max(initial=-1))) + 1
    count = np.bincount(code, minlength=n)
    total = np.bincount(code, weights=late, minlength=n)
    overall = total.sum() / count.sum() if count.sum() else 0.0
    safe = np.maximum(who, 0)
    has = (who >= 0) & (count[safe] > 0)
    return np.where(has, total[safe] / np.maximum(count[safe], 1), overall)


def _incidence_of(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return incidence(part["d"].to_numpy(), part["outcome"].to_numpy())


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
    st = settlement_arrays(ledger, [C.customer_id, C.settled_date, "days_late"])
    st["paid"] = settlement_arrays(ledger, ["settled_by"])["settled_by"] == PAYMENT
    cust, _ = pd.factorize(st[C.customer_id], use_na_sentinel=False)
    late = np.nan_to_num(st["days_late"].astype(float))
    settled, rows = by_due_date(ledger), []
    for cut in map(pd.Timestamp, cutoffs):
        m = PayDateModel(**model_args).fit(ledger, cut, settled=settled)
        it = m.items_
        at = m.positions_  # the settlement arrays are in the invoices' order
        actual = st[C.settled_date][at]
        ok = st["paid"][at] & (actual <= pd.Timestamp(through).to_datetime64())
        it, actual = it.loc[ok].set_index(C.invoice_id), actual[ok]
        earliest = cut + pd.Timedelta(days=1)
        known = st["paid"] & (st[C.settled_date] <= cut.to_datetime64())
        mean = _mean_late(cust[known], late[known], cust[at[ok]])  # codes by position
        cust_delay = pd.Series(mean, index=it.index).round()
        frame = pd.DataFrame(
            {
                "cutoff": cut,
                "actual": actual,
                "model": it[EXPECTED_DATE].fillna(earliest).clip(lower=earliest),
                "due_date_baseline": it[C.due_date].clip(lower=earliest),
                "customer_mean_baseline": (
                    it[C.due_date] + pd.to_timedelta(cust_delay, unit="D")
                ).clip(lower=earliest),
            },
            index=it.index,
        )
        rows.append(frame.reset_index())
    out = pd.concat(rows, ignore_index=True)
    for col in ("model", "due_date_baseline", "customer_mean_baseline"):
        out[f"err_{col}"] = (out[col] - out["actual"]).dt.days.abs()
    return out
