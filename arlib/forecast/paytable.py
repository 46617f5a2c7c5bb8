"""Payment-day distributions of many open invoices, held as a few shared rows.

The payment-date model (:mod:`arlib.forecast.paydates`) gives each open invoice a chance of
being paid on each day late of :data:`GRID`. That chance is a *distribution* shared by all the
invoices of one customer (its own record mixed with its group's, per disputed flag), cut at the
invoice's age: nothing on or before its days past due, the rest divided by the chance still
open at ``as_of``. A big unit has tens of thousands of open invoices but a few thousand
customers, so :class:`Conditional` keeps

``table``
    one row per distinct distribution (``K x len(GRID)``);
``key``, ``after``, ``left``
    per invoice: its row of ``table``, the last grid index with no chance (its days past due,
    as an index of :data:`GRID`), and the divisor (``<= 1e-9``: no payment expected, the row
    is zero),

instead of an invoices x grid-days matrix (GBs at a million invoices). :meth:`Conditional.rows`
rebuilds the dense rows a chunk at a time, value for value as the matrix held them, and
:func:`daily_cash`, :func:`paid_and_median` and :func:`paid_by` work chunk by chunk.

:func:`incidence_by` is the discrete Aalen-Johansen estimator of many groups at once (one
customer each), with the same arithmetic as one group at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

#: days-late grid: from paid this many days before the due date to this many days after
EARLY, LATE = 120, 730
GRID = np.arange(-EARLY, LATE + 1)
_IDX = np.arange(len(GRID))
#: invoices handled at a time by the invoices x days computations
CHUNK = 4096
#: rows at a time of a per-row result (each row's own: the size changes no value, only the
#: memory held, a few arrays of ``ROWS x len(GRID)``)
ROWS = 1024
#: groups x grid cells up to which :func:`incidence_by` counts on the whole grid (else it
#: sorts the records' cells)
_DENSE = 2_000_000
#: a chance still open at ``as_of`` at or below this: no payment expected
_ALIVE = 1e-9


def _first_of_run(group: np.ndarray) -> np.ndarray:
    """Index of the first cell of each cell's run of equal ``group`` values (``group`` sorted)."""
    return np.searchsorted(group, group, side="left")


def incidence_cells(code, d, outcome, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The estimator of :func:`incidence_by` on the (group, day) cells with records only:
    ``cells`` (flat indexes ``group * len(GRID) + grid index``, ascending) and there the
    chance of being paid on that day and of never being paid on that day (not cumulative);
    every other cell of the grid is exactly 0."""
    size = len(GRID)
    code, outcome = np.asarray(code, np.int64), np.asarray(outcome)
    if not len(code):
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    flat = code * size + np.asarray(d, np.int64) + EARLY
    if n * size <= _DENSE:  # few groups: count on the grid, no sort
        leave = np.bincount(flat, minlength=n * size)
        cells = np.flatnonzero(leave)
        paid = np.bincount(flat, weights=outcome == 1, minlength=n * size)[cells]
        gone = np.bincount(flat, weights=outcome == 2, minlength=n * size)[cells]
        leave = leave[cells]
    else:
        cells, cell = np.unique(flat, return_inverse=True)
        cell = cell.ravel()
        paid = np.bincount(cell, weights=outcome == 1, minlength=len(cells))
        gone = np.bincount(cell, weights=outcome == 2, minlength=len(cells))
        leave = np.bincount(cell, minlength=len(cells))
    group = cells // size
    first = _first_of_run(group)
    rank = np.arange(len(cells)) - first
    left_before = np.cumsum(leave) - leave  # records gone before each cell, in its group
    left_before -= left_before[first]
    at_risk = (np.bincount(code, minlength=n)[group] - left_before).astype(float)
    step = np.ones((n, rank.max() + 2))  # survival steps, one column per cell of a group
    step[group, rank + 1] = 1 - (paid + gone) / at_risk
    surv_before = np.cumprod(step, axis=1)[group, rank]
    return cells, surv_before * paid / at_risk, surv_before * gone / at_risk


def incidence_by(code, d, outcome, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group ``0 .. n-1`` (``code`` of each record), the chance of being paid on each day
    of :data:`GRID` and of never being paid by it (cumulative), from days late ``d`` with
    outcomes 1 paid, 2 never, 0 censored: two ``n x len(GRID)`` arrays, each row what the
    estimator gives for that group's records alone (zeros for a group without records).

    Only the (group, day) cells with records are worked on (:func:`incidence_cells`): on
    any other day the estimator's survival step is exactly 1 and its increments exactly 0,
    so the products and sums over the cells with records are, to the bit, those over every
    day of the grid.

    >>> pmf, never = incidence_by(np.array([0, 0, 1]), np.array([10, 20, 5]), np.ones(3), 2)
    >>> pmf[0, GRID == 10].item(), pmf[0, GRID == 20].item(), pmf[1, GRID == 5].item()
    (0.5, 0.5, 1.0)
    """
    pmf, never = np.zeros((n, len(GRID))), np.zeros((n, len(GRID)))
    cells, paid, gone = incidence_cells(code, d, outcome, n)
    pmf.ravel()[cells] = paid
    never.ravel()[cells] = gone
    return pmf, np.cumsum(never, axis=1, out=never)


def shift_pmf(pmf: np.ndarray, days: int) -> np.ndarray:
    """``pmf`` moved ``days`` later (earlier if negative); mass pushed past the grid's end
    stays on its last day.

    >>> shift_pmf(np.array([0.5, 0.5, 0.0]), 2).tolist()
    [0.0, 0.0, 1.0]
    """
    out = np.zeros_like(pmf)
    if days >= 0:
        out[days:] = pmf[: len(pmf) - days]
        out[-1] += pmf[len(pmf) - days :].sum()
    else:
        out[: len(pmf) + days] = pmf[-days:]
        out[0] += pmf[:-days].sum()
    return out


@dataclass(frozen=True)
class Conditional:
    """Each open invoice's chance of payment on each day of :data:`GRID` given it is still open
    at ``as_of`` (see the module docstring): row ``i`` is ``table[key[i]]`` on grid indexes
    above ``after[i]``, divided by ``left[i]``; zero where ``left[i] <= 1e-9``."""

    table: np.ndarray
    key: np.ndarray
    after: np.ndarray
    left: np.ndarray

    def __len__(self) -> int:
        return len(self.key)

    def rows(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """The dense rows ``lo:hi`` (``invoices x len(GRID)``)."""
        key, after, left = self.key[lo:hi], self.after[lo:hi], self.left[lo:hi]
        alive = left > _ALIVE
        out = self.table[key]  # a copy: divided in place, then the cells with no chance zeroed
        out /= np.where(alive, left, 1.0)[:, None]
        np.putmask(out, (_IDX[None, :] <= after[:, None]) | ~alive[:, None], 0.0)
        return out

    def at(self, lo: int, hi: int, col: np.ndarray) -> np.ndarray:
        """Rows ``lo:hi`` at grid indexes ``col`` (one row of indexes per invoice, any
        number of columns): the values :meth:`rows` holds there, 0 outside the grid. A
        caller that needs a window of days reads ``invoices x its days``, not the grid."""
        alive = self.left[lo:hi] > _ALIVE
        ok = (col > self.after[lo:hi, None]) & (col < len(GRID)) & alive[:, None]
        flat = self.key[lo:hi, None] * len(GRID) + np.clip(col, 0, len(GRID) - 1)
        val = np.take(self.table, flat)  # the table's cells, read from its flat layout
        np.putmask(val, ~ok, 0.0)
        val /= np.where(alive, self.left[lo:hi], 1.0)[:, None]
        return val

    def chunks(self, size: int = CHUNK):
        """``(lo, hi, rows)`` for each ``size`` invoices (:data:`CHUNK` by default)."""
        for lo in range(0, len(self), size):
            hi = min(lo + size, len(self))
            yield lo, hi, self.rows(lo, hi)

    def without(self, gone: np.ndarray) -> Conditional:
        """The same with no payment at all for the invoices where ``gone`` is true."""
        return replace(self, left=np.where(gone, 0.0, self.left))


def prefix_sums(table: np.ndarray, key: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``np.cumsum(table, axis=1)[key, j]``, value for value, without the whole table's
    cumulative sums (``K x len(GRID)``, 160 MB at 20,000 rows): a row's cumulative sum is
    sequential, so one worked out on :data:`ROWS` rows at a time, up to the last column
    asked of them, holds the same numbers.

    >>> t = np.array([[0.1, 0.2, 0.3], [0.5, 0.25, 0.25]])
    >>> k, j = np.array([1, 0, 0]), np.array([1, 2, 0])
    >>> bool(np.array_equal(prefix_sums(t, k, j), np.cumsum(t, axis=1)[k, j]))
    True
    """
    key, j = np.asarray(key, np.int64), np.asarray(j, np.int64)
    out = np.zeros(len(key))
    if not len(key):
        return out
    order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[order], np.arange(0, len(table) + ROWS, ROWS))
    for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        if lo == hi:
            continue
        mine = order[lo:hi]
        cols = int(j[mine].max()) + 1
        sums = np.cumsum(table[b * ROWS : (b + 1) * ROWS, :cols], axis=1)
        out[mine] = sums[key[mine] - b * ROWS, j[mine]]
    return out


def conditional(
    pmf: np.ndarray, never, key: np.ndarray, dpd: np.ndarray, shift=None
) -> Conditional:
    """The :class:`Conditional` of invoices ``days past due`` ``dpd`` whose distributions are
    rows ``key`` of ``pmf`` and ``never``; ``shift`` days (per invoice) move an invoice's
    payments later (:func:`shift_pmf`; its never-paid chance stays). Still open at ``as_of``:
    neither paid nor closed by its days past due.

    ``never`` is the never-paid rows (``K x len(GRID)``) or a function ``never(key, j)`` of
    their values at rows ``key`` and grid indexes ``j``: only one value per invoice is read,
    so a caller need not build that table."""
    key = np.asarray(key, np.int64)
    dpd = np.asarray(dpd, np.int64)
    after = dpd + EARLY
    j = np.clip(after, 0, len(GRID) - 1)
    gone = never[key, j] if isinstance(never, np.ndarray) else never(key, j)  # a shift keeps it
    if shift is not None and np.any(shift):
        shift = np.asarray(shift, np.int64)
        moved = shift != 0
        pairs, new_key = np.unique(np.c_[key[moved], shift[moved]], axis=0, return_inverse=True)
        extra = np.array([shift_pmf(pmf[k], int(s)) for k, s in pairs])
        pmf = np.vstack([pmf, extra])
        key = key.copy()
        key[moved] = len(pmf) - len(pairs) + new_key.ravel()
    paid_before = np.where(after < 0, 0.0, prefix_sums(pmf, key, j))
    left = 1.0 - paid_before - gone
    return Conditional(pmf, key, after, left)


def on_days(days: np.ndarray) -> Conditional:
    """All of each invoice's chance on one day late (``days``, clipped to :data:`GRID`)."""
    key = np.clip(np.asarray(days, np.int64), -EARLY, LATE) + EARLY
    return Conditional(np.eye(len(GRID)), key, np.full(len(key), -1), np.ones(len(key)))


def daily_cash(cond: Conditional, start, amount, first=None, last=None) -> pd.Series:
    """Expected cash per calendar day from invoices whose :data:`GRID` days count from ``start``
    (dates) with amounts ``amount``: a Series indexed by the days with any (days from ``first``
    to ``last`` only, when given: a horizon needs ``invoices x its days``, not the whole grid)."""
    amt = np.asarray(amount, float)
    day0 = pd.DatetimeIndex(start).to_numpy("datetime64[D]").astype(np.int64)
    lo_day = int(day0.min(initial=0)) + int(GRID[0])
    hi_day = int(day0.max(initial=0)) + int(GRID[-1])
    if first is not None:
        lo_day = max(lo_day, int(np.datetime64(pd.Timestamp(first).date(), "D").astype(np.int64)))
    if last is not None:
        hi_day = min(hi_day, int(np.datetime64(pd.Timestamp(last).date(), "D").astype(np.int64)))
    span = max(hi_day - lo_day + 1, 0)
    cash, hits = np.zeros(span), np.zeros(span, dtype=np.int64)
    t = np.arange(span)
    for lo in range(0, len(cond), CHUNK):
        hi = min(lo + CHUNK, len(cond))
        col = lo_day + t[None, :] - day0[lo:hi, None] + EARLY  # grid index of each day
        w = cond.at(lo, hi, col)
        w *= amt[lo:hi, None]
        keep = w > 0
        np.putmask(w, ~keep, 0.0)
        # a sum down the invoices adds them in order, day by day (as a bincount of the kept
        # cells does; the zeros add nothing): the same numbers without gathering the cells
        cash += w.sum(axis=0)
        hits += keep.sum(axis=0)
    days = np.flatnonzero(hits)
    return pd.Series(cash[days], index=pd.to_datetime((days + lo_day).astype("datetime64[D]")))


def median_day(cond: np.ndarray, tot: np.ndarray | None = None, overwrite: bool = False):
    """Per row of dense rows, the median day late of the payment distribution given payment
    (NaN: none). ``tot``: the rows' sums (``cond.sum(axis=1)``), when the caller has them;
    ``overwrite``: ``cond`` may be overwritten (by its cumulative sums)."""
    tot = cond.sum(axis=1) if tot is None else tot
    cum = np.cumsum(cond, axis=1, out=cond if overwrite else None)
    idx = (cum < (tot / 2)[:, None]).sum(axis=1)
    out = GRID[np.clip(idx, 0, len(GRID) - 1)].astype(float)
    return np.where(tot > 0, out, np.nan)


def _distinct(cond: Conditional, *extra: np.ndarray):
    """The distinct rows of ``cond``: ``(sub, first, back)``, ``sub`` the :class:`Conditional`
    of the distinct rows, ``first`` an invoice of each, ``back`` each invoice's row of
    ``sub``. A per-row result worked out on ``sub`` and spread back by ``back`` is the
    per-invoice result, value for value (each row is computed by the same operations).

    Invoices with the same table row, cut and ``extra`` values have the same dense row when
    both are alive (their divisors are the same number, worked out from the row and the cut)
    and a zero row when neither is; the divisors are checked, and compared in full if not."""
    n = len(cond)
    if not n:
        return cond, np.zeros(0, np.int64), np.zeros(0, np.int64)
    alive = cond.left > _ALIVE
    parts = [np.asarray(p, np.int64) for p in (cond.key, cond.after, *extra)]
    parts = [p - p.min() for p in parts]
    room = 2 * int(np.prod([int(p.max()) + 1 for p in parts], dtype=object))
    same = room < 2**62
    if same:  # one whole number per distinct tuple
        combo = alive.astype(np.int64)
        for part in parts:
            combo = combo * (int(part.max()) + 1) + part
        back, _ = pd.factorize(combo)
        first = np.zeros(back.max() + 1, np.int64)
        first[back[::-1]] = np.arange(n)[::-1]  # the first invoice of each
        left = cond.left[first]
        same = bool(np.where(alive, left[back] == cond.left, True).all())
    if not same:  # no room for the tuple, or divisors that differ: compare them in full
        bits = np.ascontiguousarray(cond.left, dtype=float).view(np.int64)
        cols = [cond.key, cond.after, bits, *(np.asarray(e, np.int64) for e in extra)]
        _, first, back = np.unique(
            np.column_stack(cols), axis=0, return_index=True, return_inverse=True
        )
        left = cond.left[first]
    sub = Conditional(cond.table, cond.key[first], cond.after[first], left)
    return sub, first, back.ravel()


def paid_and_median(cond: Conditional) -> tuple[np.ndarray, np.ndarray]:
    """Per invoice, the chance of any payment and the median day late given payment
    (worked out once per distinct row: many open invoices of a customer share one)."""
    sub, _, back = _distinct(cond)
    paid, med = np.zeros(len(sub)), np.zeros(len(sub))
    for lo, hi, rows in sub.chunks(ROWS):
        paid[lo:hi] = rows.sum(axis=1)
        med[lo:hi] = median_day(rows, paid[lo:hi], overwrite=True)
    return paid[back], med[back]


def paid_by(cond: Conditional, days: np.ndarray) -> np.ndarray:
    """Per invoice, the chance of a payment by ``days`` days late (inclusive), once per
    distinct row and ``days``."""
    sub, first, back = _distinct(cond, days)
    days = np.asarray(days)[first]
    out = np.zeros(len(sub))
    for lo, hi, rows in sub.chunks(ROWS):
        out[lo:hi] = (rows * (GRID[None, :] <= days[lo:hi, None])).sum(axis=1)
    return out[back]
