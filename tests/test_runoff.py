"""arlib.forecast.runoff: runoff against a ledger with known payment delays, payment pattern, cash series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arlib.errors import ConfigError
from arlib.forecast.runoff import (
    RunoffModel,
    cash_series,
    collections_from_invoicing,
    future_periods,
    payment_pattern,
    structural_cash_forecast,
    structural_forecast,
)
from arlib.ledger import Ledger

AS_OF = pd.Timestamp("2024-12-31")
P_WRITE_OFF, WO_AGE, D_MIN, D_MAX = (
    0.1,
    150,
    10,
    69,
)  # paid after U{10..69} days, else written off at 150


def _ledger(invoice_dates, amounts, settle_days, kinds, customer="c1") -> Ledger:
    n = len(invoice_dates)
    ids = [f"I{i:05d}" for i in range(n)]
    inv = pd.DataFrame(
        {
            "invoice_id": ids,
            "business_unit": "X",
            "customer_id": customer,
            "invoice_date": pd.to_datetime(invoice_dates),
            "amount": np.asarray(amounts, float),
            "currency": "EUR",
            "disputed": False,
        }
    )
    inv["due_date"] = inv["invoice_date"] + pd.Timedelta(days=30)
    txn = pd.DataFrame(
        {
            "txn_id": [f"T{i:05d}" for i in range(n)],
            "business_unit": "X",
            "customer_id": customer,
            "invoice_id": ids,
            "date": inv["invoice_date"] + pd.to_timedelta(settle_days, unit="D"),
            "amount": inv["amount"],
            "kind": kinds,
        }
    )
    return Ledger(inv, txn)


@pytest.fixture(scope="module")
def known():
    """Four invoices a day for two years; delays drawn from the known law above."""
    rng = np.random.default_rng(42)
    days = pd.date_range("2023-01-01", AS_OF, freq="D").repeat(4)
    n = len(days)
    written_off = rng.random(n) < P_WRITE_OFF
    delay = np.where(written_off, WO_AGE, rng.integers(D_MIN, D_MAX + 1, n))
    amounts = rng.uniform(50, 150, n).round(2)
    return _ledger(days, amounts, delay, np.where(written_off, "write_off", "payment"))


def _truth(age: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(paid at an age in (lo, hi] | open at age) and P(written off | open) under the known law."""
    d = np.arange(D_MIN, D_MAX + 1)
    alive = (1 - P_WRITE_OFF) * (d[None, :] > age[:, None]).mean(axis=1) + P_WRITE_OFF * (
        age < WO_AGE
    )
    inside = ((d[None, :] > lo[:, None]) & (d[None, :] <= hi[:, None])).mean(axis=1)
    return (1 - P_WRITE_OFF) * inside / alive, P_WRITE_OFF * (age < WO_AGE) / alive


def test_runoff_matches_known_payment_delays(known):
    model = RunoffModel(by=None, history_days=None).fit(known, AS_OF)
    got = model.predict(3, "MS")
    items = model.items_
    ends = np.array([31, 59, 90])  # days from 31 Dec to the ends of Jan, Feb, Mar 2025
    age = items["age"].to_numpy()
    expect = []
    prev = age
    for e in ends:
        p, _ = _truth(age, prev, age + e)
        expect.append(float(items["open_amount"] @ p))
        prev = age + e
    assert got["ds"].tolist() == list(pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]))
    assert np.allclose(got["yhat"], expect, rtol=0.05, atol=0.01 * items["open_amount"].sum())
    _, wo = _truth(age, age, age)
    assert np.allclose(items["p_write_off"], wo, atol=0.04)
    assert (got["yhat_lo_95"] <= got["yhat"]).all() and (got["yhat"] <= got["yhat_hi_95"]).all()


def test_runoff_conditions_on_age_and_groups_fall_back(known):
    inv = known.invoices.assign(
        region=np.where(np.arange(len(known.invoices)) % 100 == 0, "tiny", "big")
    )
    led = Ledger(inv, known.transactions)
    with pytest.warns(UserWarning, match="tiny"):
        model = RunoffModel(by="region", history_days=None).fit(led, AS_OF)
    assert "tiny" not in model.curves_ and "big" in model.curves_
    items = model.items_
    # an item aged 70+ can only still be open because it will be written off at day 150
    old = items["age"] > D_MAX
    assert old.any() and np.allclose(items.loc[old, "p_write_off"], 1.0, atol=0.02)
    assert np.allclose(items.loc[old, "p_paid_ever"], 0.0, atol=0.02)


def test_runoff_unknown_group_column_is_a_config_error(known):
    with pytest.raises(ConfigError, match="runoff_by"):
        RunoffModel(by="segment").fit(known, AS_OF)


def test_payment_pattern_recovers_known_shares():
    # every month: one invoice of 100 on the 1st for 30 months; 20 paid the same month,
    # 50 the next, 30 two months later (three payment rows per invoice)
    starts = pd.date_range("2022-01-01", periods=30, freq="MS")
    inv = pd.DataFrame(
        {
            "invoice_id": [f"I{i}" for i in range(30)],
            "business_unit": "X",
            "customer_id": "c",
            "invoice_date": starts,
            "due_date": starts + pd.Timedelta(days=30),
            "amount": 100.0,
            "currency": "EUR",
            "disputed": False,
        }
    )
    rows = [
        (f"I{i}", s + pd.DateOffset(months=k) + pd.Timedelta(days=5), amt)
        for i, s in enumerate(starts)
        for k, amt in ((0, 20.0), (1, 50.0), (2, 30.0))
    ]
    txn = pd.DataFrame(rows, columns=["invoice_id", "date", "amount"]).assign(
        txn_id=lambda d: [f"T{i}" for i in range(len(d))],
        business_unit="X",
        customer_id="c",
        kind="payment",
    )
    pat = payment_pattern(Ledger(inv, txn), "2024-06-30", max_lag=4, window=12)
    assert np.allclose(pat["share"], [0.2, 0.5, 0.3, 0.0, 0.0])
    assert pat["cohorts"].tolist() == [12, 11, 10, 9, 8]


def test_collections_from_invoicing_and_structural_sum():
    ds = pd.date_range("2025-01-01", periods=3, freq="MS")
    inv = pd.DataFrame({"unique_id": "u", "ds": ds, "model": "auto", "yhat": [100.0, 200, 300]})
    for lv, w in ((80, 10), (95, 20)):
        inv[f"yhat_lo_{lv}"], inv[f"yhat_hi_{lv}"] = inv["yhat"] - w, inv["yhat"] + w
    pat = pd.DataFrame({"lag": [0, 1], "share": [0.25, 0.5]})
    got = collections_from_invoicing(inv, pat)
    assert got["yhat"].tolist() == [
        25.0,
        100.0,
        175.0,
    ]  # 0.25*100; 0.25*200+0.5*100; 0.25*300+0.5*200
    run = got.assign(model="runoff", yhat=[50.0, 10.0, 0.0])
    total = structural_forecast(run, got)
    assert total["yhat"].tolist() == [75.0, 110.0, 175.0]
    # runoff given the same spread as the invoicing part: independent errors add in quadrature
    assert np.allclose(
        total["yhat_hi_95"] - total["yhat"], np.sqrt(2) * (got["yhat_hi_95"] - got["yhat"])
    )
    assert (total["yhat_hi_95"] > total["yhat_hi_80"]).all()


def test_cash_series_drops_warm_up_and_partial_period(known):
    with pytest.warns(UserWarning, match="warm-up"):
        s = cash_series(known, through="2024-11-30")
    # 90th percentile of days-to-pay of paid invoices is ~63 (U{10..69}): ready early March 2023,
    # so January, February and March (which starts before then) are left out
    assert s["ds"].iloc[0] == pd.Timestamp("2023-04-01") and s["ds"].iloc[-1] == pd.Timestamp(
        "2024-11-01"
    )
    flows = known.flows("M")
    assert s["y"].iloc[-1] == flows.loc[pd.Period("2024-11", "M"), "collected"]


def test_future_periods():
    assert [str(p) for p in future_periods("2024-12-31", 2, "MS")] == ["2025-01", "2025-02"]
    weeks = future_periods("2024-12-29", 2, "W-MON")  # a Sunday: next week starts Monday 30 Dec
    assert weeks.start_time[0] == pd.Timestamp("2024-12-30")


def test_structural_cash_forecast_adds_runoff_and_future_invoicing(known):
    model = RunoffModel(by=None, history_days=None).fit(known, "2024-12-15")
    out = structural_cash_forecast(
        known, "2024-12-15", 3, "MS", model=model, method="naive", unique_id="x"
    )
    wide = out.pivot_table(index="ds", columns="model", values="yhat")
    assert np.allclose(wide["structural"], wide["runoff"] + wide["invoicing_pattern"])
    assert np.allclose(wide["runoff"], model.predict(3, "MS")["yhat"].to_numpy())
    # December is half gone at the 15th: its future invoicing is scaled to the 16 days left; the
    # naive invoicing forecast is November's total and lag-0 share is what December invoices pay
    # inside December (about 0 here: the fastest payment takes 10 days, few land in the month)
    nov = known.flows("M").loc[pd.Period("2024-11", "M"), "invoiced"]
    pat = payment_pattern(known, "2024-12-15", "MS")
    assert wide["invoicing_pattern"].iloc[0] == pytest.approx(nov * 16 / 31 * pat["share"].iloc[0])
    assert set(out["unique_id"]) == {"x"}
