"""Each customer's own payment-day record, held by the days it has.

The payment-date model (:mod:`arlib.forecast.paydates`) mixes each customer's own estimate
with its group's, ``w * own + (1 - w) * group``. A customer's own estimate is nonzero only on
the days late on which its invoices were paid or closed (a few dozen of the grid's 851 days),
so a big unit's customers (20,000 at 1.2 M invoices) are held as those cells
(:class:`OwnCells`), not as two customers x grid arrays (270 MB, built again at each of the
backtests' 30 cut-offs).

Nothing moves by a bit: where a customer's own chance is 0 the mix is ``(1 - w) * group``
exactly (``0 * w`` is 0, and adding 0 changes no number), so a table mixed from the cells is
the one mixed from whole rows; and a running sum of the never-paid chance over the grid adds
only its nonzero days, in grid order, as the whole row's cumulative sum does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arlib.forecast.paytable import GRID, incidence_cells

_SIZE = len(GRID)


def _running(row: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` within each run of equal ``row`` (``row`` ascending),
    each added in order from the run's first value (as ``np.cumsum`` along a row adds).

    >>> _running(np.array([0, 0, 3, 3, 3]), np.array([0.5, 0.25, 1.0, 2.0, 4.0])).tolist()
    [0.5, 0.75, 1.0, 3.0, 7.0]
    """
    if not len(values):
        return np.zeros(0)
    rank = np.arange(len(row)) - np.searchsorted(row, row, side="left")
    _, run = np.unique(row, return_inverse=True)
    run = run.ravel()
    table = np.zeros((run[-1] + 1, rank.max() + 1))
    table[run, rank] = values
    return np.cumsum(table, axis=1)[run, rank]


@dataclass(frozen=True)
class OwnCells:
    """Rows ``0 .. n-1`` (customers) of the estimator of :func:`~arlib.forecast.paytable.
    incidence_by`, held by their nonzero cells (flat indexes ``row * len(GRID) + grid index``,
    ascending): ``cells`` and ``pmf`` (the chance of payment on that day), ``never_cells`` and
    ``never_run`` (the never-paid chance by that day, at the days it grows)."""

    n: int
    cells: np.ndarray
    pmf: np.ndarray
    never_cells: np.ndarray
    never_run: np.ndarray

    @classmethod
    def estimate(cls, code, d, outcome, n: int) -> OwnCells:
        """The estimate of each group ``0 .. n-1`` (``code`` of each record) on its own
        records, as :func:`~arlib.forecast.paytable.incidence_by` gives it.

        >>> own = OwnCells.estimate(np.array([1, 1]), np.array([10, 20]), np.array([1, 2]), 2)
        >>> pmf, never = own.row(1)
        >>> pmf[GRID == 10].item(), never[GRID == 19].item(), never[GRID == 20].item()
        (0.5, 0.0, 0.5)
        """
        cells, paid, gone = incidence_cells(code, d, outcome, n)
        keep, grows = paid != 0, gone != 0
        never_cells = cells[grows]
        run = _running(never_cells // _SIZE, gone[grows])
        return cls(int(n), cells[keep], paid[keep], never_cells, run)

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ``r`` on the whole grid: ``(pmf, never)``, never cumulative (each running
        value carried on to the next day it grows: it never falls)."""
        pmf, never = np.zeros(_SIZE), np.zeros(_SIZE)
        lo, hi = np.searchsorted(self.cells // _SIZE, [r, r + 1])
        pmf[self.cells[lo:hi] % _SIZE] = self.pmf[lo:hi]
        lo, hi = np.searchsorted(self.never_cells // _SIZE, [r, r + 1])
        never[self.never_cells[lo:hi] % _SIZE] = self.never_run[lo:hi]
        return pmf, np.maximum.accumulate(never)

    def never_at(self, rows: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The never-paid chance of ``rows`` by grid index ``j`` (pairwise): the cumulative
        row's value there."""
        rows, j = np.asarray(rows, np.int64), np.asarray(j, np.int64)
        if not len(self.never_cells):
            return np.zeros(len(rows))
        pos = np.searchsorted(self.never_cells, rows * _SIZE + j, side="right") - 1
        safe = np.maximum(pos, 0)
        hit = (pos >= 0) & (self.never_cells[safe] // _SIZE == rows)
        return np.where(hit, self.never_run[safe], 0.0)

    def mix_into(self, table: np.ndarray, at: np.ndarray, rows: np.ndarray, w: np.ndarray):
        """Add ``w * own`` of ``rows`` to table rows ``at`` (pairwise), which hold
        ``(1 - w) * group`` already: the cells' sums, as the whole rows' mix makes them."""
        g = self.cells // _SIZE
        lo, hi = np.searchsorted(g, rows, side="left"), np.searchsorted(g, rows, side="right")
        count = hi - lo
        total = int(count.sum())
        if not total:
            return
        idx = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(total)
        r, c = np.repeat(at, count), self.cells[idx] % _SIZE
        own = self.pmf[idx] * np.repeat(w, count)
        own += table[r, c]
        table[r, c] = own
