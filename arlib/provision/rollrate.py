"""Roll rates: month-to-month migration of receivables between aging buckets, and loss rates.

Every invoice open at a month-end ``t`` sits in one bucket. One month later each unit of its
open amount is in exactly one *state*: still open (in the bucket it has aged into), ``paid``
(payments and credit notes) or ``written_off``. Summing those amounts over invoices gives a
migration cube ``flows[month, from_bucket, to_state]`` whose rows add up to the starting
balances, so every number can be traced back to invoices.

Two routes turn the averaged migration matrix ``P`` (rows: buckets; columns: buckets, then
``paid`` and ``written_off``) into a lifetime loss rate per bucket:

*product of roll rates* (the classic roll-rate method)
    ``loss[b] = r[b] * r[b+1] * ... * r[K-1]`` where, for ``b < K-1``, ``r[b]`` is the share of the
    amount *leaving* bucket ``b`` that rolls into ``b+1`` (``P[b,b+1] / (1 - P[b,b])``; equal to the
    plain roll rate ``P[b,b+1]`` when nothing stays in the bucket), and ``r[K-1]`` is the share of
    the amount leaving the oldest bucket that is written off.
*absorbing Markov chain*
    transient states = buckets, absorbing states = ``paid`` and ``written_off``. With ``Q`` the
    bucket-to-bucket block and ``R`` the bucket-to-absorbing block, the fundamental matrix is
    ``N = (I - Q)^-1`` and ``B = N R``; ``loss[b] = B[b, written_off]``.

Both agree exactly when an amount can only stay, roll to the next bucket or be paid, and is
written off only from the oldest bucket. They legitimately differ when amounts *skip* a bucket
(an item 30 days past due at 31 July is 61 days past due at 31 August), when early buckets are
written off directly, or with backward moves (cures), which invoice-level aging never has but
customer-level aging does: the product route ignores those paths, the chain counts them.

>>> import numpy as np
>>> P = np.array([[0.0, 0.2, 0.8, 0.0],    # current: 20% rolls, 80% paid
...               [0.0, 0.5, 0.3, 0.2]])   # oldest bucket: half stays, 40% of leavers written off
>>> product_loss_rates(P).round(4).tolist(), markov_loss_rates(P)[:, 1].round(4).tolist()
([0.08, 0.4], [0.08, 0.4])
"""

from __future__ import annotations

import hashlib
import warnings
import weakref
from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError, DataError
from arlib.ledger import (
    CENT,
    DEFAULT_THRESHOLDS,
    Ledger,
    bucket_index,
    bucket_labels,
    check_thresholds,
    ledger_arrays,
    month_ends,
)
from arlib.schemas import SETTLING_KINDS, TXN_KINDS, WRITE_OFF, C

PAID, WRITTEN_OFF = "paid", "written_off"
ABSORBING = (PAID, WRITTEN_OFF)
WEIGHTINGS = ("volume", "simple")


# -- numeric core ---------------------------------------------------------------------------
def _day(date) -> int:
    return int(np.datetime64(pd.Timestamp(date).date(), "D").astype(np.int64))


class _Panel:
    """Per-invoice arrays of one ledger: open amount and cumulative write-offs at a date (the
    bucket is worked out in :func:`_move`, for the invoices open at the earlier date only)."""

    def __init__(self, ledger: Ledger, thresholds: Sequence[int]):
        # the ledger's own arrays: its invoice codes and days are already there (matching the
        # invoice ids of millions of transactions again cost seconds per panel)
        a = ledger_arrays(ledger)
        # a proxy: the panel is cached under its ledger (weakly), and must not keep it alive
        self.ledger, self.t = weakref.proxy(ledger), check_thresholds(thresholds)
        self.inv_day, self.due_day, self.amount = a.inv_day, a.due_day, a.amount
        wo = (a.txn_kind == TXN_KINDS.index(WRITE_OFF)) & (a.txn_code >= 0)
        self.wo_code, self.wo_amt = a.txn_code[wo], a.txn_amount[wo]
        self.wo_day = a.txn_day[wo]  # transactions are sorted by date in the ledger
        settling = np.isin(a.txn_kind, [TXN_KINDS.index(k) for k in SETTLING_KINDS])
        sel = np.flatnonzero(settling & (a.txn_code >= 0))
        self.set_day, self.set_code = a.txn_day[sel], a.txn_code[sel]
        self.set_amt = a.txn_amount[sel]
        self.settled = (0, np.zeros(len(self.amount)))  # (transactions counted, per invoice)
        self.moves: dict[tuple, np.ndarray] = {}  # (day, next day[, pools]) -> cube slice
        # (day, state) of the last state computed: the next month-end's fit starts there
        self.last: tuple[int, tuple] | None = None

    def settled_at(self, day: int) -> np.ndarray:
        """:meth:`Ledger.settled_at` at ``day``: carried on from the last day asked when that
        is earlier, transaction by transaction in date order (the additions of one pass over
        all, in the same order, so the same amounts to the bit)."""
        n = int(np.searchsorted(self.set_day, day, side="right"))
        done, sums = self.settled
        if n < done or not done:  # from the start: one pass, as the ledger's
            sums = np.bincount(self.set_code[:n], self.set_amt[:n], minlength=len(self.amount))
        else:
            sums = sums.copy()
            np.add.at(sums, self.set_code[done:n], self.set_amt[done:n])
        self.settled = (n, sums)
        return sums

    def state(self, date) -> tuple[np.ndarray, np.ndarray, int]:
        day = _day(date)
        raw = self.amount - self.settled_at(day)
        open_ = np.where((self.inv_day <= day) & (raw > CENT), raw, 0.0)
        n = int(np.searchsorted(self.wo_day, day, side="right"))
        cum_wo = np.bincount(self.wo_code[:n], weights=self.wo_amt[:n], minlength=len(self.amount))
        return open_, cum_wo, day


#: one panel per ledger and thresholds, holding every month's migration once computed: a
#: provision report fits roll rates at two dozen month-ends whose look-backs overlap
_PANELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _panel(ledger: Ledger, thresholds: Sequence[int]) -> _Panel:
    per = _PANELS.setdefault(ledger, {})
    key = check_thresholds(thresholds)
    if key not in per:
        per[key] = _Panel(ledger, key)
    return per[key]


def _move(prev, cur, panel: _Panel, k: int, s: int, pools: tuple | None = None) -> np.ndarray:
    """One slice of the cube: the balances of state ``prev`` by where they are in ``cur``;
    ``[K, K+2]``, or ``[pools, K, K+2]`` with ``pools = (pool of each invoice, count)``. Each
    bin adds its invoices in ledger order, so a pool's slice is bit for bit the slice of a
    ledger holding only that pool's invoices."""
    (o0, w0, d0), (o1, w1, d1) = prev, cur
    live = np.flatnonzero(o0 > 0)
    due = panel.due_day[live]
    a0, a1 = o0[live], o1[live]
    drop = np.clip(a0 - a1, 0.0, None)
    wo = np.clip(w1[live] - w0[live], 0.0, drop)
    frm = bucket_index(d0 - due, panel.t) * s
    n = 1
    if pools is not None:
        n = pools[1]
        frm = frm + pools[0][live] * (k * s)
    size = n * k * s
    out = (
        np.bincount(frm + bucket_index(d1 - due, panel.t), weights=a1, minlength=size)
        + np.bincount(frm + k, weights=drop - wo, minlength=size)
        + np.bincount(frm + k + 1, weights=wo, minlength=size)
    )
    return out.reshape(k, s) if pools is None else out.reshape(n, k, s)


def migration_cube(
    ledger: Ledger,
    dates: Sequence,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    pools: tuple[np.ndarray, int] | None = None,
) -> np.ndarray:
    """Amounts moving between consecutive ``dates``: array ``[len(dates)-1, K, K+2]``.

    Row ``b`` of slice ``i`` holds, for the balance in bucket ``b`` at ``dates[i]``, the amount
    in each bucket at ``dates[i+1]``, then the amount paid or credited, then the amount written
    off in between. Rows sum to the starting balance per bucket. Each slice is computed once per
    ledger (later calls with overlapping dates reuse it).

    ``pools``: ``(pool number of each invoice, number of pools)``; the cube is then one per
    pool, ``[pools, len(dates)-1, K, K+2]``, in one pass over the month-end states (each pool's
    the cube of a ledger holding only its invoices and their transactions).
    """
    panel = _panel(ledger, thresholds)
    k = len(panel.t) + 1
    s = k + 2
    dates = pd.DatetimeIndex(dates)
    days = [_day(d) for d in dates]
    tag = ()
    if pools is not None:
        codes = np.asarray(pools[0], dtype=np.int64)
        pools = (codes, int(pools[1]))
        tag = (pools[1], hashlib.sha1(codes.tobytes()).hexdigest())
    shape = (
        (max(len(dates) - 1, 0), k, s)
        if pools is None
        else (pools[1], max(len(dates) - 1, 0), k, s)
    )
    cube = np.zeros(shape)
    for i in range(len(dates) - 1):
        key = (days[i], days[i + 1], *tag)
        if key not in panel.moves:
            prev = panel.last  # a state depends on its day only: the last one, if that day's
            if prev is None or prev[0] != days[i]:
                prev = (days[i], panel.state(dates[i]))
            cur = panel.state(dates[i + 1])
            panel.moves[key] = _move(prev[1], cur, panel, k, s, pools)
            panel.last = (days[i + 1], cur)
        if pools is None:
            cube[i] = panel.moves[key]
        else:
            cube[:, i] = panel.moves[key]
    return cube


def transition_matrix(cube: np.ndarray, weighting: str = "volume") -> np.ndarray:
    """Average one-month transition probabilities ``[K, K+2]`` from a migration cube.

    ``volume``: pooled amounts (sum of moved amounts / sum of starting amounts); ``simple``:
    mean of the monthly shares over months with a starting balance. Buckets with no balance
    in any month get a zero row (see :func:`complete_rows`).
    """
    if weighting not in WEIGHTINGS:
        raise ConfigError("weighting", f"must be one of {list(WEIGHTINGS)}, got {weighting!r}")
    start = cube.sum(axis=2)  # [months, K]
    if weighting == "volume":
        tot = start.sum(axis=0)
        return np.divide(
            cube.sum(axis=0), tot[:, None], out=np.zeros(cube.shape[1:]), where=tot[:, None] > 0
        )
    shares = np.divide(
        cube, start[:, :, None], out=np.zeros_like(cube), where=start[:, :, None] > 0
    )
    n = (start > 0).sum(axis=0)
    return np.divide(
        shares.sum(axis=0), n[:, None], out=np.zeros(cube.shape[1:]), where=n[:, None] > 0
    )


def complete_rows(P: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Make every bucket eventually absorbed: a row with no outflow (no data, or everything
    stays) rolls entirely to the next bucket, or for the oldest bucket is written off in full.
    This is the prudent reading of "no evidence"; the indices of changed rows are returned."""
    P = P.copy()
    k = P.shape[0]
    changed = []
    for b in range(k):
        if P[b].sum() - P[b, b] <= 1e-12:
            P[b] = 0.0
            P[b, b + 1 if b < k - 1 else k + 1] = 1.0
            changed.append(b)
    return P, changed


def markov_loss_rates(P: np.ndarray) -> np.ndarray:
    """Absorption probabilities ``B = (I - Q)^-1 R``: columns ``paid``, ``written_off``."""
    k = P.shape[0]
    Q, R = P[:, :k], P[:, k:]
    return np.linalg.solve(np.eye(k) - Q, R)


def product_loss_rates(P: np.ndarray) -> np.ndarray:
    """Lifetime loss rate per bucket as the product of exit-conditional roll rates."""
    k = P.shape[0]
    exit_ = P.sum(axis=1) - np.diag(P[:, :k])
    nxt = np.append(P[np.arange(k - 1), np.arange(1, k)], P[k - 1, k + 1])
    r = np.divide(nxt, exit_, out=np.zeros(k), where=exit_ > 1e-12)
    return np.cumprod(r[::-1])[::-1]


# -- estimator ------------------------------------------------------------------------------
class RollRateModel:
    """Roll rates and lifetime loss rates per aging bucket from invoice-level migration.

    Parameters
    ----------
    lookback
        Number of monthly transitions (month-end to month-end) averaged, ending at ``as_of``.
    weighting
        ``volume`` (pooled amounts, the default) or ``simple`` (mean of monthly shares).
    thresholds
        Aging bucket thresholds in days past due.

    Attributes (after :meth:`fit`)
    ------------------------------
    month_ends_
        The month-ends spanned (``lookback + 1`` of them, fewer if the ledger is younger).
    flows_
        Migration cube ``[months, K, K+2]`` (see :func:`migration_cube`).
    matrix_
        Averaged transition matrix as a frame: index buckets, columns buckets + paid, written_off.
    roll_rates_
        Per bucket: ``start_amount`` (pooled), ``roll_rate`` (share in the next bucket a month
        later), ``stay_rate``, ``skip_rate`` (two or more buckets on), ``paid_rate``,
        ``write_off_rate`` and ``roll_rate_std`` (spread of the monthly roll rates).
    loss_rates_
        Per bucket: ``loss_rate_product`` and ``loss_rate_markov``.
    """

    def __init__(
        self,
        lookback: int = 12,
        weighting: str = "volume",
        thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    ):
        self.lookback, self.weighting, self.thresholds = lookback, weighting, tuple(thresholds)

    def fit(self, ledger: Ledger, as_of) -> RollRateModel:
        if int(self.lookback) < 1:
            raise ConfigError("roll_rate_lookback", f"must be >= 1, got {self.lookback}")
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(
                "weighting", f"must be one of {list(WEIGHTINGS)}, got {self.weighting!r}"
            )
        ends = lookback_month_ends(ledger, as_of, self.lookback)
        return self.fit_flows(ends, migration_cube(ledger, ends, self.thresholds))

    def fit_flows(self, month_ends: pd.DatetimeIndex, flows: np.ndarray) -> RollRateModel:
        """Fit on a migration cube already computed (:func:`migration_cube` over
        ``month_ends``), e.g. one pool's slice of a pooled cube: the same attributes as
        :meth:`fit`."""
        self.labels_ = bucket_labels(self.thresholds)
        self.month_ends_, self.flows_ = pd.DatetimeIndex(month_ends), flows
        P_raw = transition_matrix(self.flows_, self.weighting)
        P, changed = complete_rows(P_raw)
        if changed:
            names = [self.labels_[b] for b in changed]
            warnings.warn(
                f"roll rates: no balance left bucket(s) {names} in the {len(self.flows_)}-month "
                "look-back; they are assumed to roll on in full (oldest bucket: written off). "
                "Lengthen roll_rate_lookback if this is a data gap.",
                stacklevel=2,
            )
        self.P_ = P
        states = [*self.labels_, *ABSORBING]
        self.matrix_ = pd.DataFrame(
            P_raw, index=pd.Index(self.labels_, name=C.bucket), columns=states
        )
        self.roll_rates_ = self._roll_table(P_raw)
        # clip: the linear solve can land a hair outside [0, 1]
        self.loss_rates_ = pd.DataFrame(
            {
                "loss_rate_product": np.clip(product_loss_rates(P), 0.0, 1.0),
                "loss_rate_markov": np.clip(markov_loss_rates(P)[:, 1], 0.0, 1.0),
            },
            index=pd.Index(self.labels_, name=C.bucket),
        )
        return self

    def _roll_table(self, P: np.ndarray) -> pd.DataFrame:
        k = P.shape[0]
        start = self.flows_.sum(axis=2)
        nxt = np.append(P[np.arange(k - 1), np.arange(1, k)], np.nan)
        skip = np.array([P[b, b + 2 : k].sum() for b in range(k)])
        monthly = np.full(start.shape, np.nan)
        for b in range(k - 1):
            ok = start[:, b] > 0
            monthly[ok, b] = self.flows_[ok, b, b + 1] / start[ok, b]
        std = np.array(
            [np.std(c[~np.isnan(c)]) if (~np.isnan(c)).any() else np.nan for c in monthly.T]
        )
        return pd.DataFrame(
            {
                "start_amount": start.sum(axis=0).round(2),
                "roll_rate": nxt,
                "stay_rate": np.diag(P[:, :k]),
                "skip_rate": skip,
                "paid_rate": P[:, k],
                "write_off_rate": P[:, k + 1],
                "roll_rate_std": std,
            },
            index=pd.Index(self.labels_, name=C.bucket),
        )

    def loss_rate(self, route: str = "markov") -> pd.Series:
        """Loss rate per bucket by ``route`` (``markov`` or ``product``)."""
        col = {"markov": "loss_rate_markov", "product": "loss_rate_product"}.get(route)
        if col is None:
            raise ConfigError("roll_rate_route", f"must be 'markov' or 'product', got {route!r}")
        return self.loss_rates_[col].rename("loss_rate")

    def transitions(self) -> pd.DataFrame:
        """The migration cube as a tidy frame: ``month_end, bucket, to_state, amount``."""
        states = [*self.labels_, *ABSORBING]
        m, k, s = self.flows_.shape
        return pd.DataFrame(
            {
                C.month_end: np.repeat(self.month_ends_[:-1], k * s),
                C.bucket: pd.Categorical(
                    np.tile(np.repeat(self.labels_, s), m), self.labels_, ordered=True
                ),
                "to_state": np.tile(states, m * k),
                C.amount: self.flows_.reshape(-1).round(2),
            }
        )


def lookback_month_ends(ledger: Ledger, as_of, lookback: int) -> pd.DatetimeIndex:
    """``lookback + 1`` month-ends ending at the last month-end on or before ``as_of``, cut at the
    first month-end of the ledger (with a warning)."""
    return lookback_ends(
        ledger.invoices[C.invoice_date].min(), len(ledger.invoices), as_of, lookback
    )


def lookback_ends(first_inv, n_invoices: int, as_of, lookback: int) -> pd.DatetimeIndex:
    """:func:`lookback_month_ends` of a ledger whose first invoice date is ``first_inv``
    (``NaT``: none) and that holds ``n_invoices`` invoices."""
    as_of = pd.Timestamp(as_of)
    last = as_of if as_of.is_month_end else as_of - pd.offsets.MonthEnd(1)
    if pd.isna(first_inv) or first_inv > last:
        raise DataError(
            "ledger",
            C.invoice_date,
            0,
            f"has no invoices before {last.date()}",
            "choose a later as_of or load more history",
        )
    ends = month_ends(max(first_inv, last - pd.DateOffset(months=int(lookback))), last)
    if len(ends) < 2:
        raise DataError(
            "ledger",
            C.invoice_date,
            n_invoices,
            f"span less than one full month before {last.date()}",
            "roll rates need at least two month-ends of history",
        )
    if len(ends) < int(lookback) + 1:
        warnings.warn(
            f"roll rates: only {len(ends) - 1} monthly transitions before {last.date()}, "
            f"fewer than roll_rate_lookback={lookback}",
            stacklevel=4,
        )
    return ends
