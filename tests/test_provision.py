"""Provision matrix, specific provisions and the allowance table."""

from __future__ import annotations

import warnings
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arlib.errors import ConfigError, DataError
from arlib.ledger import Ledger
from arlib.provision.allowance import (
    provision_matrix,
    scenario_table,
    specific_provisions,
    split_specific,
    to_cents,
)
from arlib.provision.estimate import (
    ProvisionSettings,
    compare_methods,
    estimate_allowance,
    kpis,
    loss_rate_table,
)


def test_ifrs9_illustrative_example_12_provision_matrix():
    """IFRS 9 Financial Instruments, Illustrative Examples, Example 12 "Provision matrix"
    (paragraphs IE74-IE77, applying B5.5.35): Company M, trade receivables of CU30 million in one
    region, lifetime ECL by days past due. Gross carrying amounts and default rates as published
    (also reproduced as Ind AS 109 Illustration 32, e.g.
    https://solutioninn.com/study-help/questions/illustration-32-life-time-expected-credit-losses-provision-matrix-for-9207146):
    current 15,000,000 @ 0.3%, 1-30 days 7,500,000 @ 1.6%, 31-60 days 4,000,000 @ 3.6%,
    61-90 days 2,500,000 @ 6.6%, more than 90 days 1,000,000 @ 10.6%; lifetime ECL allowance
    45,000 / 120,000 / 144,000 / 165,000 / 106,000, total 580,000 on 30,000,000.
    """
    exposure = {
        "current": 15_000_000,
        "1-30": 7_500_000,
        "31-60": 4_000_000,
        "61-90": 2_500_000,
        "over 90": 1_000_000,
    }
    rates = {"current": 0.003, "1-30": 0.016, "31-60": 0.036, "61-90": 0.066, "over 90": 0.106}
    m = provision_matrix(exposure, rates).set_index("bucket")
    assert m["allowance"].to_dict() == {
        "current": 45_000.0,
        "1-30": 120_000.0,
        "31-60": 144_000.0,
        "61-90": 165_000.0,
        "over 90": 106_000.0,
        "total": 580_000.0,
    }
    assert m.at["total", "exposure"] == 30_000_000.0
    assert m.at["total", "loss_rate"] == pytest.approx(580_000 / 30_000_000)


def test_matrix_accepts_series_and_rounds_half_up_to_the_cent():
    m = provision_matrix(pd.Series({"a": 0.25, "b": 10.05}), pd.Series({"a": 0.1, "b": 0.5}))
    # a: 0.025 -> 0.03 (half up; banker's rounding would give 0.02); b: 5.025 -> 5.03
    assert m["allowance"].tolist() == [0.03, 5.03, 5.06]


def test_forward_looking_scalar_and_scenarios():
    exp, rates = {"current": 1000.0, "old": 100.0}, {"current": 0.02, "old": 0.8}
    up = provision_matrix(exp, rates, 0.25).set_index("bucket")
    assert up.at["current", "allowance"] == 25.0  # 1000 * 0.02 * 1.25
    with pytest.warns(UserWarning, match="capped"):
        up = provision_matrix(exp, rates, 0.5).set_index("bucket")
    assert up.at["old", "allowance"] == 100.0  # 0.8 * 1.5 capped at 1
    with pytest.warns(UserWarning, match="capped"):
        sc = provision_matrix(exp, rates, {"base": (0.6, 0.0), "down": (0.4, 0.5)}).set_index(
            "bucket"
        )
    # current: 0.6 * 0.02 + 0.4 * 0.03 = 0.024 -> 24.00; old: 0.6 * 0.8 + 0.4 * 1.0 = 0.88 -> 88.00
    assert sc["allowance"].to_dict() == {"current": 24.0, "old": 88.0, "total": 112.0}


@pytest.mark.parametrize(
    "bad", [{"base": (0.5, 0.0)}, {"a": (1.2, 0.0), "b": (-0.2, 0.0)}, -1.0, {"a": "x"}]
)
def test_bad_scenarios_name_the_parameter(bad):
    with pytest.raises(ConfigError, match="forward_"):
        scenario_table(bad)


def test_matrix_errors_name_the_problem():
    with pytest.raises(ConfigError, match="no loss rate for bucket"):
        provision_matrix({"current": 1.0, "1-30": 1.0}, {"current": 0.1})
    with pytest.raises(ConfigError, match=r"within \[0, 1\]"):
        provision_matrix({"current": 1.0}, {"current": 1.5})
    with pytest.raises(DataError, match="exposure"):
        provision_matrix({"current": -1.0}, {"current": 0.1})


_amounts = st.integers(min_value=0, max_value=10**12).map(lambda c: c / 100)


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(st.tuples(_amounts, st.floats(0, 1)), min_size=1, max_size=8),
    adj=st.one_of(st.floats(-0.99, 3.0), st.just(0.0)),
)
def test_property_allowance_within_zero_and_exposure(data, adj):
    exposure = {f"b{i}": e for i, (e, _) in enumerate(data)}
    rates = {f"b{i}": r for i, (_, r) in enumerate(data)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = provision_matrix(exposure, rates, adj)
    lines = m.iloc[:-1]
    assert (lines["allowance"] >= 0).all() and (lines["allowance"] <= lines["exposure"]).all()
    assert to_cents(m["allowance"].iloc[-1]) == sum(to_cents(a) for a in lines["allowance"])
    # independent exact check: Decimal product of the effective rate, rounded half up
    for e, r, a in zip(lines["exposure"], lines["loss_rate"], lines["allowance"]):
        want = (Decimal(repr(e)) * Decimal(repr(float(r)))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(repr(a)) == want


# -- specific provisions and the allowance table ----------------------------------------------
def _tiny_ledger(status_b="insolvent"):
    inv = pd.DataFrame(
        {
            "invoice_id": ["A1", "A2", "B1"],
            "business_unit": "X",
            "customer_id": ["a", "a", "b"],
            "invoice_date": pd.to_datetime(["2024-01-05", "2024-03-20", "2024-02-10"]),
            "due_date": pd.to_datetime(["2024-02-04", "2024-04-19", "2024-03-11"]),
            "amount": [1000.0, 500.0, 800.0],
            "currency": "EUR",
            "disputed": False,
        }
    )
    txn = pd.DataFrame(
        {
            "txn_id": ["p1"],
            "business_unit": "X",
            "customer_id": ["a"],
            "invoice_id": ["A1"],
            "date": pd.to_datetime(["2024-03-15"]),
            "amount": [1000.0],
            "kind": ["payment"],
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "business_unit": "X",
            "name": ["Alpha", "Beta"],
            "segment": "small",
            "credit_limit": 1e4,
            "terms_days": 30,
            "status": ["active", status_b],
        }
    )
    return Ledger(inv, txn, cust)


def test_specific_customers_leave_the_collective_pool():
    led = _tiny_ledger()
    items = led.open_items("2024-03-31")
    flagged, pool = split_specific(items, led.customers)
    assert flagged["invoice_id"].tolist() == ["B1"] and pool["invoice_id"].tolist() == ["A2"]
    spec = specific_provisions(flagged, led.customers, expected_recovery=0.25)
    assert spec[
        ["customer_id", "name", "status", "exposure", "loss_rate", "allowance"]
    ].values.tolist() == [["b", "Beta", "insolvent", 800.0, 0.75, 600.0]]
    assert specific_provisions(flagged, led.customers, rate=0.4)["allowance"].tolist() == [320.0]
    with pytest.raises(ConfigError, match="expected_recovery"):
        specific_provisions(flagged, led.customers, expected_recovery=1.5)


def test_allowance_table_lines_add_up_and_kpis():
    led = _tiny_ledger()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny history: too few months for the look-back
        t = estimate_allowance(led, "2024-03-31", ProvisionSettings(expected_recovery=0.5))
    tt = t.set_index("bucket")
    assert tt.at["specific", "exposure"] == 800.0 and tt.at["specific", "allowance"] == 400.0
    assert tt.at["total", "exposure"] == 1300.0  # A2 500 collective + B1 800 specific
    assert to_cents(tt.at["total", "allowance"]) == sum(
        to_cents(a) for a in tt["allowance"].drop("total")
    )
    k = kpis(t)
    assert k["allowance"] == tt.at["total", "allowance"] and k["provision_method"] == "roll_rate"
    assert k["coverage_ratio"] == pytest.approx(k["allowance"] / 1300.0)
    assert set(k["allowance_by_bucket"]) == {
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-120",
        "over 120",
        "specific",
    }


def test_status_since_limits_specific_provisions_to_dates_after_the_flag():
    led = _tiny_ledger()
    led.customers["status_since"] = pd.to_datetime([None, "2024-04-15"])
    items = led.open_items("2024-03-31")
    assert split_specific(items, led.customers, as_of="2024-03-31")[0].empty
    assert len(split_specific(items, led.customers, as_of="2024-04-30")[0]) == 1


def test_settings_validate_and_read_from_config():
    with pytest.raises(ConfigError, match="provision_method"):
        ProvisionSettings(provision_method="guess")
    s = ProvisionSettings.from_config(
        {
            "provision_method": "vintage",
            "specific_statuses": ["legal"],
            "aging_thresholds": [0, 30, 60],
            "unrelated": 1,
        }
    )
    assert s.specific_statuses == ("legal",) and s.aging_thresholds == (0, 30, 60)
    assert ProvisionSettings(forward_scenarios={"a": [1.0, 0.1]}).adjustment == {"a": [1.0, 0.1]}


@pytest.fixture(scope="module")
def demo_de():
    from arlib import demo

    f = demo.generate(seed=7, units={"de": demo.UNITS["de"]})
    return Ledger(f["invoices"], f["transactions"], f["customers"], validate=False)


def test_demo_provisions_are_non_trivial_and_consistent(demo_de):
    as_of = "2026-10-31"
    cmp = compare_methods(demo_de, as_of).set_index("method")
    open_ar = demo_de.open_items(as_of)["open_amount"].sum()
    assert cmp["open_ar"].iloc[0] == pytest.approx(open_ar, abs=0.01)
    assert (cmp["specific"] > 0).all() and (cmp["collective"] > 0).all()
    assert ((cmp["coverage_ratio"] > 0.01) & (cmp["coverage_ratio"] < 0.5)).all()
    for method in cmp.index:  # compare_methods agrees with the single-method table
        assert (
            cmp.at[method, "allowance"]
            == estimate_allowance(demo_de, as_of, method=method).iloc[-1]["allowance"]
        )
    rates = loss_rate_table(demo_de, as_of).set_index("bucket")[["roll_rate", "roll_rate_product"]]
    assert (rates.diff().iloc[1:] >= 0).all().all(), "roll-rate loss rates should rise with age"


def test_invoicing_forecast_method_is_checked():
    from arlib.provision.lossforecast import forecast_invoicing

    h = pd.Series(1.0, pd.date_range("2024-01-31", periods=6, freq="ME"))
    assert forecast_invoicing(h, 2).tolist() == [1.0, 1.0]  # under 12 months: mean of the last 3
    with pytest.raises(ConfigError, match="provision_invoicing_method"):
        forecast_invoicing(h, 2, "crystal_ball")
