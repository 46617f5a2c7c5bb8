"""Vintage loss rates: the development triangle and the projection to ultimate, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from arlib.errors import ConfigError
from arlib.ledger import Ledger
from arlib.provision.vintage import VintageLossModel


def _ledger(extra_txn=()) -> Ledger:
    """Cohorts Jan, Feb, Mar 2024 of 1000 each. Write-offs: Jan 20 in Feb and 30 in Mar (ages 1
    and 2); Feb 40 in Mar (age 1); a 10 recovery on Jan in Mar."""
    inv = pd.DataFrame(
        {
            "invoice_id": ["J", "F", "M"],
            "business_unit": "X",
            "customer_id": "c",
            "invoice_date": pd.to_datetime(["2024-01-15", "2024-02-15", "2024-03-15"]),
            "due_date": pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"]),
            "amount": 1000.0,
            "currency": "EUR",
            "disputed": False,
        }
    )
    rows = [
        ("J", "2024-02-20", 20.0, "write_off"),
        ("J", "2024-03-20", 30.0, "write_off"),
        ("F", "2024-03-20", 40.0, "write_off"),
        ("J", "2024-03-25", 10.0, "recovery"),
        *extra_txn,
    ]
    txn = pd.DataFrame(rows, columns=["invoice_id", "date", "amount", "kind"])
    txn["date"] = pd.to_datetime(txn["date"])
    txn.insert(0, "txn_id", [f"t{i}" for i in range(len(txn))])
    txn["business_unit"], txn["customer_id"] = "X", "c"
    return Ledger(inv, txn)


def test_triangle_and_ultimate_by_hand():
    m = VintageLossModel(lookback=24, max_age=3).fit(_ledger(), "2024-03-31")
    tri = m.triangle_.set_index(["cohort", "age"])["cumulative_loss"].to_dict()
    assert tri == {
        ("2024-01", 0): 0.0,
        ("2024-01", 1): 20.0,
        ("2024-01", 2): 50.0,
        ("2024-02", 0): 0.0,
        ("2024-02", 1): 40.0,
        ("2024-03", 0): 0.0,
    }
    # incremental ratios: age 1 (20 + 40) / 2000 = 0.03; age 2 30 / 1000 = 0.03; ages 0, 3: 0
    assert m.development_["incremental_ratio"].tolist() == pytest.approx([0.0, 0.03, 0.03, 0.0])
    assert m.lifetime_loss_rate_ == pytest.approx(0.06)
    c = m.cohorts_.set_index("cohort")
    assert c["ultimate_ratio"].tolist() == pytest.approx([0.05, 0.07, 0.06])
    assert c["remaining_loss"].tolist() == pytest.approx([0.0, 30.0, 60.0])
    assert c["open_amount"].tolist() == pytest.approx([950.0, 960.0, 1000.0])
    assert c["rate"].tolist() == pytest.approx([0.0, 30 / 960, 0.06])


def test_lookback_net_of_recoveries_and_cap_at_open_amount():
    m = VintageLossModel(lookback=1, max_age=3).fit(_ledger(), "2024-03-31")
    # age 1 from the latest cohort seen at age 1 only (Feb: 40 / 1000)
    assert m.development_["incremental_ratio"].tolist() == pytest.approx([0.0, 0.04, 0.03, 0.0])
    net = VintageLossModel(max_age=3, net_of_recoveries=True).fit(_ledger(), "2024-03-31")
    assert net.development_["incremental_ratio"].tolist() == pytest.approx([0.0, 0.03, 0.02, 0.0])
    paid = _ledger([("F", "2024-03-28", 950.0, "payment")])
    capped = VintageLossModel(max_age=3).fit(paid, "2024-03-31").cohorts_.set_index("cohort")
    assert capped.at["2024-02", "remaining_loss"] == pytest.approx(10.0)  # only 10 is still open
    assert capped.at["2024-02", "rate"] == pytest.approx(1.0)


def test_implied_bucket_rates_reproduce_the_cohort_allowance():
    led = _ledger()
    m = VintageLossModel(max_age=3).fit(led, "2024-03-31")
    items = led.open_items("2024-03-31")
    by_item = (items["open_amount"] * m.item_rates(items)).sum()
    assert by_item == pytest.approx(m.cohorts_["remaining_loss"].sum())
    exp = items.groupby("bucket", observed=False)["open_amount"].sum()
    assert (exp * m.loss_rate(items)).sum() == pytest.approx(by_item)


def test_as_of_hides_later_losses_and_bad_settings_raise():
    m = VintageLossModel(max_age=3).fit(_ledger(), "2024-02-29")
    assert m.triangle_["cumulative_loss"].max() == 20.0
    with pytest.raises(ConfigError, match="vintage_max_age"):
        VintageLossModel(max_age=0).fit(_ledger(), "2024-03-31")
