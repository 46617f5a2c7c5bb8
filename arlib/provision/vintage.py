"""Vintage (CECL-style) loss rates: cumulative losses of invoicing-month cohorts by age.

Each *cohort* is the set of invoices issued in one calendar month. Its losses are the write-offs
(optionally net of recoveries) on those invoices, placed at the *age* in months between the
invoice month and the write-off month. Dividing the cumulative losses by the amount invoiced
gives the development triangle of cumulative loss ratios.

Young cohorts are projected to ultimate with the *incremental loss-ratio* (additive) method:
the expected loss ratio still to come at age ``k`` is the volume-weighted mean of the
incremental ratios ``loss[c, k] / invoiced[c]`` over the latest ``lookback`` cohorts already
observed at age ``k``. Unlike multiplicative chain-ladder factors it copes with the run of zero
losses in the first months of every cohort. Ages from ``max_age`` on are lumped together; a
cohort older than ``max_age`` is taken as fully developed.

The allowance of a cohort is its projected remaining loss, ``invoiced * (ultimate - observed)``,
floored at 0 and capped at what is still open; it is spread over the cohort's open items pro
rata, which gives every open invoice a rate and every aging bucket an implied loss rate.

>>> import pandas as pd
>>> inv = pd.DataFrame({"invoice_id": ["A", "B"], "business_unit": "X", "customer_id": "c",
...     "invoice_date": pd.to_datetime(["2024-01-10", "2024-02-10"]),
...     "due_date": pd.to_datetime(["2024-02-09", "2024-03-11"]), "amount": [100.0, 100.0],
...     "currency": "EUR", "disputed": False})
>>> txn = pd.DataFrame({"txn_id": ["w"], "business_unit": "X", "customer_id": "c",
...     "invoice_id": ["A"], "date": pd.to_datetime(["2024-03-20"]), "amount": [10.0],
...     "kind": "write_off"})
>>> from arlib.ledger import Ledger
>>> m = VintageLossModel(max_age=6).fit(Ledger(inv, txn), "2024-03-31")
>>> m.cohorts_[["cohort", "observed_ratio", "ultimate_ratio", "remaining_loss"]]
    cohort  observed_ratio  ultimate_ratio  remaining_loss
0  2024-01             0.1             0.1             0.0
1  2024-02             0.0             0.1            10.0
2  2024-03             0.0             0.1             0.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError, DataError
from arlib.ledger import DEFAULT_THRESHOLDS, Ledger, ledger_arrays
from arlib.provision.monthends import close_items
from arlib.schemas import RECOVERY, WRITE_OFF, C

COHORT, AGE = "cohort", "age"


def cohort_losses(
    ledger: Ledger, as_of, net_of_recoveries: bool = False
) -> tuple[pd.Series, pd.DataFrame]:
    """Invoiced amount per cohort (monthly ``Period``) and losses per ``cohort, age`` up to ``as_of``."""
    as_of = pd.Timestamp(as_of)
    dated = ledger.invoices[C.invoice_date].to_numpy()
    kept = dated <= np.datetime64(as_of)
    # grouped by month number (a monthly period's ordinal): the groups and sums of grouping
    # by period, without a period per invoice or a copy of the invoices frame
    month = dated[kept].astype("datetime64[M]").astype(np.int64)
    invoiced = pd.Series(ledger.invoices[C.amount].to_numpy()[kept]).groupby(month).sum()
    invoiced.index = pd.PeriodIndex.from_ordinals(
        invoiced.index.to_numpy(), freq="M", name=C.invoice_date
    )
    invoiced = invoiced.rename("invoiced")
    txn = ledger.transactions
    kinds = [WRITE_OFF, RECOVERY] if net_of_recoveries else [WRITE_OFF]
    # each transaction's invoice by the ledger's codes (what a join on invoice_id would find,
    # in the transactions' order, without matching a million ids again)
    code = ledger_arrays(ledger).txn_code
    keep = (txn[C.date] <= as_of).to_numpy() & txn[C.kind].isin(kinds).to_numpy() & (code >= 0)
    keep[keep] = dated[code[keep]] <= np.datetime64(as_of)  # invoiced by as_of
    txn = txn.loc[keep]
    issued = pd.Series(dated[code[keep]], index=txn.index)
    txn = txn.assign(**{COHORT: issued.dt.to_period("M")})
    sign = np.where(txn[C.kind] == RECOVERY, -1.0, 1.0)
    d, i = txn[C.date].dt, issued.dt
    age = ((d.year - i.year) * 12 + d.month - i.month).astype(int)
    losses = pd.DataFrame({COHORT: txn[COHORT], AGE: age, "loss": sign * txn[C.amount].to_numpy()})
    return invoiced, losses.groupby([COHORT, AGE], as_index=False)["loss"].sum()


def incremental_ratios(
    incr: np.ndarray, invoiced: np.ndarray, observed_age: np.ndarray, lookback: int
) -> tuple[np.ndarray, np.ndarray]:
    """Volume-weighted incremental loss ratio per age over the latest ``lookback`` cohorts
    observed at that age. ``incr[c, k]``: loss of cohort ``c`` (oldest first) at age ``k``.
    Returns the ratios and the number of cohorts behind each."""
    n_age = incr.shape[1]
    ilr, used = np.zeros(n_age), np.zeros(n_age, dtype=int)
    for k in range(n_age):
        rows = np.flatnonzero(observed_age >= k)[-lookback:]
        den = invoiced[rows].sum()
        ilr[k] = incr[rows, k].sum() / den if den > 0 else 0.0
        used[k] = len(rows)
    return ilr, used


class VintageLossModel:
    """Cohort (vintage) loss rates, projected to ultimate with incremental loss ratios.

    Parameters
    ----------
    lookback
        Number of most recent cohorts averaged at each age.
    max_age
        Development horizon in months; losses at later ages are counted at ``max_age``.
    net_of_recoveries
        Subtract recoveries from write-offs (default ``False``: gross losses, comparable with the
        roll-rate chain, which measures write-offs of balances).

    Attributes (after :meth:`fit`)
    ------------------------------
    triangle_
        Tidy development triangle: ``cohort, age, invoiced, loss, cumulative_loss, loss_ratio``.
    development_
        Per age: ``incremental_ratio``, ``cumulative_ratio`` (the expected loss curve of a new
        cohort) and ``cohorts`` (how many cohorts it rests on).
    cohorts_
        Per cohort: ``invoiced, age, observed_ratio, ultimate_ratio, remaining_loss,
        open_amount, rate`` (remaining loss / open amount, at most 1).
    lifetime_loss_rate_
        Expected ultimate loss ratio of a new cohort.
    """

    def __init__(
        self,
        lookback: int = 24,
        max_age: int = 24,
        net_of_recoveries: bool = False,
        thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    ):
        self.lookback, self.max_age = lookback, max_age
        self.net_of_recoveries, self.thresholds = net_of_recoveries, tuple(thresholds)

    def fit(self, ledger: Ledger, as_of) -> VintageLossModel:
        if int(self.lookback) < 1:
            raise ConfigError("vintage_lookback", f"must be >= 1 cohort, got {self.lookback}")
        if int(self.max_age) < 1:
            raise ConfigError("vintage_max_age", f"must be >= 1 month, got {self.max_age}")
        self.as_of_ = pd.Timestamp(as_of)
        invoiced, losses = cohort_losses(ledger, as_of, self.net_of_recoveries)
        if invoiced.empty:
            raise DataError(
                "ledger",
                C.invoice_date,
                0,
                f"has no invoices on or before {self.as_of_.date()}",
                "choose a later as_of",
            )
        cohorts = pd.period_range(invoiced.index.min(), self.as_of_.to_period("M"), freq="M")
        inv = invoiced.reindex(cohorts, fill_value=0.0).to_numpy()
        age_c = np.arange(len(cohorts))[::-1]  # observed age of each cohort at as_of
        k = int(self.max_age) + 1
        incr = np.zeros((len(cohorts), k))
        if len(losses):
            np.add.at(
                incr,
                (cohorts.get_indexer(losses[COHORT]), np.minimum(losses[AGE], k - 1)),
                losses["loss"],
            )
        ilr, used = incremental_ratios(incr, inv, age_c, int(self.lookback))
        observed = np.divide(incr.sum(axis=1), inv, out=np.zeros(len(inv)), where=inv > 0)
        future = np.array([ilr[a + 1 :].sum() for a in age_c])
        ultimate = np.maximum(observed + future, observed)
        open_amt = self._open_by_cohort(ledger, cohorts)
        remaining = np.minimum(np.maximum(inv * (ultimate - observed), 0.0), open_amt)
        self.development_ = pd.DataFrame(
            {
                AGE: np.arange(k),
                "incremental_ratio": ilr,
                "cumulative_ratio": np.cumsum(ilr),
                "cohorts": used,
            }
        )
        self.lifetime_loss_rate_ = float(max(ilr.sum(), 0.0))
        self.cohorts_ = pd.DataFrame(
            {
                COHORT: cohorts.astype(str),
                "invoiced": inv.round(2),
                AGE: age_c,
                "observed_ratio": observed,
                "ultimate_ratio": ultimate,
                "remaining_loss": remaining.round(2),
                "open_amount": open_amt.round(2),
                "rate": np.divide(remaining, open_amt, out=np.zeros(len(inv)), where=open_amt > 0),
            }
        )
        self.triangle_ = self._triangle(cohorts, inv, incr, age_c)
        return self

    def _open_by_cohort(self, ledger: Ledger, cohorts: pd.PeriodIndex) -> np.ndarray:
        items = close_items(ledger, self.as_of_, self.thresholds)
        by = items[C.open_amount].groupby(items[C.invoice_date].dt.to_period("M")).sum()
        return by.reindex(cohorts, fill_value=0.0).to_numpy()

    @staticmethod
    def _triangle(cohorts, inv, incr, age_c) -> pd.DataFrame:
        c_idx, a_idx = np.nonzero(np.arange(incr.shape[1])[None, :] <= age_c[:, None])
        cum = np.cumsum(incr, axis=1)
        return pd.DataFrame(
            {
                COHORT: cohorts.astype(str)[c_idx],
                AGE: a_idx,
                "invoiced": inv[c_idx].round(2),
                "loss": incr[c_idx, a_idx].round(2),
                "cumulative_loss": cum[c_idx, a_idx].round(2),
                "loss_ratio": np.divide(
                    cum[c_idx, a_idx], inv[c_idx], out=np.zeros(len(c_idx)), where=inv[c_idx] > 0
                ),
            }
        )

    def item_rates(self, open_items: pd.DataFrame) -> pd.Series:
        """Loss rate of each open item: the rate of its invoicing-month cohort (0 if unknown)."""
        rates = pd.Series(self.cohorts_["rate"].to_numpy(), index=self.cohorts_[COHORT])
        key = open_items[C.invoice_date].dt.to_period("M").astype(str)
        return pd.Series(
            key.map(rates).fillna(0.0).to_numpy(), index=open_items.index, name="loss_rate"
        )

    def loss_rate(self, open_items: pd.DataFrame) -> pd.Series:
        """Implied loss rate per aging bucket of ``open_items``: allowance / exposure (0 if empty)."""
        alw = (
            (open_items[C.open_amount] * self.item_rates(open_items))
            .groupby(open_items[C.bucket], observed=False)
            .sum()
        )
        exp = open_items[C.open_amount].groupby(open_items[C.bucket], observed=False).sum()
        return (alw / exp.where(exp > 0)).fillna(0.0).rename("loss_rate")
