"""What the health measures read of one ledger many times, worked out once per ledger.

A health report asks a unit's ledger for the same derived columns dozens of times (the
settlement per invoice, which invoices a payment settled, the currencies, the transactions of a
kind); on a million invoices each costs a tenth of a second or more (a copy, or a comparison of a
million Python strings). Each is computed on first use and kept beside the ledger (a weak
reference: it goes with the ledger). What is returned is shared: read it, never write to it.

>>> from arlib import demo
>>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2024-01-01", end="2024-06-30")
>>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
>>> bool((paid_by_payment(led) == (led.settlement()["settled_by"] == PAYMENT)).all())
True
>>> bool((of_kind(led, PAYMENT) == (led.transactions[C.kind] == PAYMENT)).all())
True
>>> list(currencies(led))
['EUR']
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd

from arlib.ledger import Ledger, ledger_arrays, settlement_frame
from arlib.schemas import PAYMENT, TXN_KINDS, C

_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _memo(ledger: Ledger, name: str, make: Callable[[], object]):
    kept = _OF.setdefault(ledger, {})
    if name not in kept:
        kept[name] = make()
    return kept[name]


def settlement(ledger: Ledger) -> pd.DataFrame:
    """The ledger's settlement per invoice (:meth:`arlib.ledger.Ledger.settlement`), shared."""
    return settlement_frame(ledger)


def paid_by_payment(ledger: Ledger) -> np.ndarray:
    """Per invoice (row of :func:`settlement`): settled, and by a payment (``settled_by``)."""
    return _memo(ledger, "paid", lambda: (settlement(ledger)["settled_by"] == PAYMENT).to_numpy())


def of_kind(ledger: Ledger, kind: str) -> np.ndarray:
    """Per transaction (row of ``ledger.transactions``): its ``kind`` is ``kind``, as
    ``transactions[kind] == kind`` says, from the ledger's kind codes (no text compared)."""
    if kind not in TXN_KINDS:
        return (ledger.transactions[C.kind] == kind).to_numpy()
    code = TXN_KINDS.index(kind)
    return _memo(ledger, f"kind:{kind}", lambda: ledger_arrays(ledger).txn_kind == code)


def currencies(ledger: Ledger) -> np.ndarray:
    """The distinct invoice currencies other than missing, in order of first appearance."""
    return _memo(ledger, "currencies", lambda: ledger.invoices[C.currency].dropna().unique())


def monthly_invoicing(ledger: Ledger) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray] | None:
    """Month-ends ``m[0..k]`` spanning every dated invoice, the amount invoiced in each month
    ``(m[i], m[i + 1]]`` (``k`` totals, each added in invoice row order, as ``np.bincount``
    adds) and the number of invoices in it; None when no invoice is dated."""

    def make():
        dates = ledger.invoices[C.invoice_date]
        first, last = dates.min(), dates.max()
        if pd.isna(first):
            return None
        start = (first - pd.offsets.MonthEnd(2)).normalize()
        ends = pd.date_range(start, last.normalize() + pd.offsets.MonthEnd(1), freq="ME")
        idx = np.searchsorted(ends.to_numpy(), dates.to_numpy(), side="left") - 1
        keep = (idx >= 0) & (idx < len(ends) - 1)
        amount = ledger.invoices[C.amount].to_numpy(dtype=float)[keep]
        n = len(ends) - 1
        return ends, np.bincount(idx[keep], amount, n), np.bincount(idx[keep], minlength=n)

    return _memo(ledger, "monthly_invoicing", make)


def customer_codes(ledger: Ledger) -> tuple[np.ndarray, pd.Index]:
    """Per invoice, a code of its customer, and the customers by code (in order of first
    appearance, a missing id a customer of its own): ``pd.factorize`` of ``customer_id``."""
    return _memo(
        ledger,
        "customer_codes",
        lambda: pd.factorize(ledger.invoices[C.customer_id], use_na_sentinel=False),
    )
