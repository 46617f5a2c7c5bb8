"""Recovery of known default rates from simulated ledgers.

Each invoice defaults independently with probability ``p`` (then it is written off 150-200 days
after due) or is paid 0-89 days after due. Terms are 35 days, so every invoice is open and
current at its first month-end and nobody pays before the due date: a unit of current balance
is lost with probability exactly ``p``, and so is a unit of invoicing. Over 24 monthly
transitions of 300 invoices a month, the sampling spread of the estimates is about 0.1p at
p = 2% and 0.05p at p = 8% (measured over seeds); tolerances are about three spreads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arlib.provision.lossforecast import provision_forecast
from arlib.provision.rollrate import RollRateModel
from arlib.provision.vintage import VintageLossModel


def simulate(p: float, months: int = 36, per_month: int = 300, seed: int = 0):
    from arlib.ledger import Ledger

    rng = np.random.default_rng(seed)
    starts = pd.date_range("2022-01-01", periods=months, freq="MS")
    n = months * per_month
    inv_date = starts[np.repeat(np.arange(months), per_month)] + pd.to_timedelta(
        rng.integers(0, 28, n), unit="D"
    )
    due = inv_date + pd.Timedelta(days=35)
    amount = np.round(rng.lognormal(np.log(1000), 0.5, n), 2)
    default = rng.random(n) < p
    paid = due + pd.to_timedelta(rng.integers(0, 90, n), unit="D")
    written_off = due + pd.to_timedelta(rng.integers(150, 200, n), unit="D")
    end = starts[-1] + pd.offsets.MonthEnd(0)
    ids = np.array([f"I{i:06d}" for i in range(n)])
    inv = pd.DataFrame(
        {
            "invoice_id": ids,
            "business_unit": "S",
            "customer_id": "c",
            "invoice_date": inv_date,
            "due_date": due,
            "amount": amount,
            "currency": "EUR",
            "disputed": False,
        }
    )
    txn = pd.DataFrame(
        {
            "business_unit": "S",
            "customer_id": "c",
            "invoice_id": ids,
            "date": np.where(default, written_off, paid),
            "amount": amount,
            "kind": np.where(default, "write_off", "payment"),
        }
    )
    txn = txn.loc[txn["date"] <= end].reset_index(drop=True)
    txn.insert(0, "txn_id", [f"T{i:06d}" for i in range(len(txn))])
    return Ledger(inv, txn, validate=False), end


@pytest.fixture(scope="module", params=[0.02, 0.08])
def sim(request):
    return request.param, *simulate(request.param)


def test_markov_route_recovers_the_default_rate(sim):
    p, led, end = sim
    m = RollRateModel(lookback=24).fit(led, end)
    assert m.loss_rate("markov")["current"] == pytest.approx(p, rel=0.3)
    # the product route ignores balances that skip a bucket (30 days past due at a 31-day
    # month-end), so it sits below the chain, but still near p
    assert m.loss_rate("product")["current"] <= m.loss_rate("markov")["current"]
    assert m.loss_rate("product")["current"] == pytest.approx(p, rel=0.3)


def test_vintage_recovers_the_default_rate(sim):
    p, led, end = sim
    v = VintageLossModel(lookback=24, max_age=12).fit(led, end)
    assert v.lifetime_loss_rate_ == pytest.approx(p, rel=0.3)
    # every write-off lands 6-8 months after the invoice month: no loss before age 5
    assert v.development_["incremental_ratio"].iloc[:5].sum() == 0


def test_forecast_expense_matches_steady_state(sim):
    """In a steady state every unit invoiced is provisioned at p once: expense = p x invoicing."""
    p, led, end = sim
    fc = provision_forecast(led, end, 3, lookback=24, statuses=(), n_boot=50).set_index(
        ["metric", "month_end"]
    )
    invoiced = fc.loc["invoiced", "yhat"]
    charge = fc.loc["charge"]
    assert charge["yhat"].to_numpy() == pytest.approx(p * invoiced.to_numpy(), rel=0.3)
    assert (charge["yhat_lo_80"] <= charge["yhat"]).all() and (
        charge["yhat"] <= charge["yhat_hi_80"]
    ).all()
    # the roll-forward identity holds on the forecast too
    alw = np.r_[fc.loc["allowance", "yhat"].to_numpy()]
    wo, rec = fc.loc["write_offs", "yhat"].to_numpy(), fc.loc["recoveries", "yhat"].to_numpy()
    assert np.diff(alw) + wo[1:] - rec[1:] == pytest.approx(charge["yhat"].to_numpy()[1:], abs=0.02)
