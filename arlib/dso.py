"""The numeric core of the receivables KPIs: windows and the DSO family on plain numbers.

Everything here works on floats or NumPy arrays (one value per series, e.g. per customer) and
knows nothing about frames; :mod:`arlib.health.measures` reads the ledger and calls these. A KPI that is
not defined (a zero denominator) is ``NaN`` here, never ``inf``; :func:`undefined_reason` says why
in words.

Windows
-------
The window of ``months`` calendar months ending at ``as_of`` is the set of days
``(start, as_of]`` with ``start = as_of - months``. ``start`` is computed with
``pd.DateOffset(months=...)``, except that a month-end ``as_of`` steps back to month-ends, so that
whole calendar months are covered:

* ``as_of`` 2024-06-30, 3 months -> ``(2024-03-31, 2024-06-30]`` (91 days; plain ``DateOffset``
  would give 2024-03-30 and leak 2024-03-31 into the window);
* ``as_of`` 2024-05-31, 3 months -> ``(2024-02-29, 2024-05-31]`` (92 days);
* ``as_of`` 2024-05-15, 3 months -> ``(2024-02-15, 2024-05-15]`` (90 days); a day-of-month that the
  target month lacks is clipped to its end (2024-05-30 -> 2024-02-29).

"AR at window start" is the open AR at the close of ``start``, i.e. just before the window.

>>> w = window("2024-06-30", 3)
>>> (str(w.start.date()), str(w.end.date()), w.days)
('2024-03-31', '2024-06-30', 91)
>>> float(dso(450.0, 900.0, 90))
45.0
>>> float(countback_dso(1500.0, [1000.0, 1000.0], [30, 31]))
45.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arlib.errors import ConfigError

TOL = 0.005  # half a cent: amounts this close to zero count as zero


@dataclass(frozen=True)
class Window:
    """The days ``(start, end]``; ``start`` is excluded (AR at window start is read at its close)."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> int:
        return int((self.end - self.start).days)

    def __str__(self) -> str:
        return f"({self.start.date()}, {self.end.date()}]"


def step_back(as_of, months: int) -> pd.Timestamp:
    """``as_of`` minus ``months`` calendar months (month-ends map to month-ends).

    >>> str(step_back("2024-06-30", 1).date()), str(step_back("2024-05-30", 3).date())
    ('2024-05-31', '2024-02-29')
    """
    t = pd.Timestamp(as_of).normalize()
    if months == 0:
        return t
    if t.is_month_end:
        return t - pd.offsets.MonthEnd(months)
    return t - pd.DateOffset(months=months)


def window(as_of, months: int = 3) -> Window:
    """The ``months`` calendar months ending at ``as_of`` (see the module docstring)."""
    if isinstance(months, bool) or not isinstance(months, int | np.integer) or months < 1:
        raise ConfigError("window_months", f"must be a whole number of months >= 1, got {months!r}")
    end = pd.Timestamp(as_of).normalize()
    return Window(step_back(end, int(months)), end)


def periods_back(as_of, n: int) -> list[Window]:
    """The ``n`` one-month periods ending at ``as_of``, newest first."""
    return [Window(step_back(as_of, k + 1), step_back(as_of, k)) for k in range(n)]


def safe_div(num, den) -> np.ndarray:
    """``num / den`` element-wise, NaN where ``den`` is (within half a cent of) zero or negative."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), np.asarray(den, dtype=float))
    out = np.full(num.shape, np.nan)
    ok = den > TOL
    np.divide(num, den, out=out, where=ok)
    return out


def _out(x: np.ndarray):
    return float(x) if x.ndim == 0 else x


def dso(open_ar, billings, days):
    """Standard DSO = open AR / billings x days; NaN when nothing was billed."""
    return _out(safe_div(np.asarray(open_ar, dtype=float) * days, billings))


def best_possible_dso(current_ar, billings, days):
    """Best-possible DSO = current (not yet due) AR / billings x days; NaN when nothing was billed."""
    return dso(current_ar, billings, days)


def cei(ar_start, billings, ar_end, current_end):
    """Collection effectiveness index in percent.

    ``(ar_start + billings - ar_end) / (ar_start + billings - current_end) x 100``. The numerator is
    everything that left AR in the window (cash, credit notes and write-offs alike); the
    denominator is what could have been collected (all but what is still not due). NaN when there
    was nothing collectible.

    >>> float(cei(100.0, 300.0, 150.0, 100.0))
    83.33333333333334
    """
    ar_start, billings = np.asarray(ar_start, dtype=float), np.asarray(billings, dtype=float)
    base = ar_start + billings
    return _out(
        100.0
        * safe_div(
            base - np.asarray(ar_end, dtype=float), base - np.asarray(current_end, dtype=float)
        )
    )


def turnover(billings, days, ar_start, ar_end):
    """Annualised receivables turnover = (billings x 365 / days) / mean(AR start, AR end)."""
    mean_ar = (np.asarray(ar_start, dtype=float) + np.asarray(ar_end, dtype=float)) / 2.0
    return _out(safe_div(np.asarray(billings, dtype=float) * 365.0 / days, mean_ar))


def countback_dso(open_ar, invoiced, days):
    """Countback DSO: the days of the most recent invoicing that add up to the open AR.

    ``invoiced`` and ``days`` give the invoicing and length of each period walking back from
    ``as_of`` (newest first; 2-D ``invoiced`` = one row per series). Whole periods count their
    days; the period where the AR runs out counts ``remaining AR / its invoicing`` of its days.
    Zero AR gives 0; AR larger than all the invoicing given gives NaN.

    >>> float(countback_dso(2500.0, [1000.0, 0.0, 2000.0], [30, 31, 30]))
    83.5
    """
    ar = np.atleast_1d(np.asarray(open_ar, dtype=float))
    inv = np.atleast_2d(np.asarray(invoiced, dtype=float))
    d = np.asarray(days, dtype=float)
    cum = np.cumsum(inv, axis=1)
    prev = np.hstack([np.zeros((inv.shape[0], 1)), cum[:, :-1]])
    cum_days = np.concatenate([[0.0], np.cumsum(d)])
    reached = cum >= ar[:, None] - TOL
    k = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    rows = np.arange(len(ar))
    kk = np.clip(k, 0, None)
    frac = safe_div(ar - prev[rows, kk], inv[rows, kk])
    out = cum_days[kk] + np.nan_to_num(frac) * d[kk]
    out = np.where(k < 0, np.nan, out)
    out = np.where(ar <= TOL, 0.0, out)
    return float(out[0]) if np.ndim(open_ar) == 0 else out


def undefined_reason(
    key: str,
    *,
    billings: float,
    mean_ar: float = 1.0,
    collectible: float = 1.0,
    settled: float = 1.0,
    open_ar: float = 1.0,
) -> str | None:
    """Why KPI ``key`` is not defined for these inputs (``None`` when it is defined)."""
    if key in ("dso", "bpdso", "add") and billings <= TOL:
        return "not defined: nothing was invoiced in the window (billings = 0)"
    if key == "turnover" and mean_ar <= TOL:
        return "not defined: no open AR at the start or the end of the window"
    if key.startswith("cei") and collectible <= TOL:
        return "not defined: nothing was collectible in the window (AR at start + billings = current AR)"
    if key in ("days_to_pay", "days_late", "share_paid_late") and settled <= TOL:
        return "not defined: no invoice was paid in full in the window"
    if key in ("past_due_share", "top10_share", "hhi", "disputed_share") and open_ar <= TOL:
        return "not defined: there is no open AR"
    return None
