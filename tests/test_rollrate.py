"""Roll rates: invoice-level migration, and the two loss-rate routes on hand-made examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arlib.errors import ConfigError
from arlib.ledger import Ledger, month_ends
from arlib.provision.rollrate import (
    RollRateModel,
    complete_rows,
    markov_loss_rates,
    migration_cube,
    product_loss_rates,
    transition_matrix,
)

# states: current, 1-30, 31-60, over 60, paid, written_off   (thresholds 0, 30, 60)
T3 = (0, 30, 60)


def test_forward_chain_with_stays_both_routes_agree_with_hand_values():
    P = np.array(
        [
            [0.3, 0.1, 0.0, 0.0, 0.6, 0.0],  # current: 30% still current, 10% rolls, 60% paid
            [0.0, 0.0, 0.4, 0.0, 0.6, 0.0],
            [0.0, 0.0, 0.0, 0.5, 0.5, 0.0],
            [0.0, 0.0, 0.0, 0.5, 0.3, 0.2],  # oldest: half stays, of the rest 40% written off
        ]
    )
    # by hand: over 60 = 0.2 / 0.5 = 0.4; 31-60 = 0.5 * 0.4; 1-30 = 0.4 * 0.2; current = 0.1 / 0.7 * 0.08
    want = [0.08 / 7, 0.08, 0.2, 0.4]
    np.testing.assert_allclose(product_loss_rates(P), want, rtol=1e-12)
    np.testing.assert_allclose(markov_loss_rates(P)[:, 1], want, rtol=1e-12)
    np.testing.assert_allclose(markov_loss_rates(P).sum(axis=1), 1.0)  # everything is absorbed


def test_routes_differ_where_the_product_ignores_a_path():
    P = np.array(
        [
            [0.0, 0.1, 0.1, 0.0, 0.8, 0.0],  # 10% skips 1-30 straight to 31-60
            [0.0, 0.0, 0.4, 0.0, 0.5, 0.1],  # 10% written off directly from 1-30
            [0.0, 0.0, 0.0, 0.5, 0.5, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.6, 0.4],
        ]
    )
    # Markov: over 60 0.4; 31-60 0.2; 1-30 0.1 + 0.4*0.2 = 0.18; current 0.1*0.18 + 0.1*0.2 = 0.038
    np.testing.assert_allclose(markov_loss_rates(P)[:, 1], [0.038, 0.18, 0.2, 0.4])
    # product: ignores the skip and the direct write-off: 1-30 0.4*0.2 = 0.08; current 0.1*0.08
    np.testing.assert_allclose(product_loss_rates(P), [0.008, 0.08, 0.2, 0.4])


def test_complete_rows_rolls_empty_buckets_on():
    P = np.zeros((3, 5))
    P[0, 3] = 1.0  # current: all paid
    P2, changed = complete_rows(P)  # 1-30 has no data, oldest only stays (here: no data)
    assert changed == [1, 2]
    assert P2[1, 2] == 1.0 and P2[2, 4] == 1.0


def _hand_ledger() -> Ledger:
    """Three invoices whose month-end states are worked out by hand in the test below."""
    inv = pd.DataFrame(
        {
            "invoice_id": ["A", "B", "C"],
            "business_unit": "X",
            "customer_id": "c",
            "invoice_date": pd.to_datetime(["2024-01-10", "2024-01-20", "2024-02-05"]),
            "due_date": pd.to_datetime(["2024-02-09", "2024-02-19", "2024-03-06"]),
            "amount": [1000.0, 500.0, 300.0],
            "currency": "EUR",
            "disputed": False,
        }
    )
    txn = pd.DataFrame(
        {
            "txn_id": ["t1", "t2", "t3", "t4"],
            "business_unit": "X",
            "customer_id": "c",
            "invoice_id": ["B", "C", "A", "A"],
            "date": pd.to_datetime(["2024-02-25", "2024-03-01", "2024-03-10", "2024-05-15"]),
            "amount": [500.0, 100.0, 400.0, 600.0],
            "kind": ["payment", "credit_note", "payment", "write_off"],
        }
    )
    return Ledger(inv, txn)


def test_migration_cube_on_hand_ledger():
    led = _hand_ledger()
    cube = migration_cube(led, month_ends("2024-01-31", "2024-05-31"))
    cur, b1, b2, b3, paid, wo = 0, 1, 2, 3, 6, 7
    expected = np.zeros((4, 6, 8))
    expected[0, cur, b1] = 1000  # A: current at Jan 31, 20 days past due at Feb 29
    expected[0, cur, paid] = 500  # B: paid Feb 25
    expected[1, cur, b1] = 200  # C: 300 less a 100 credit note, 25 days past due at Mar 31
    expected[1, cur, paid] = 100
    expected[1, b1, b2] = 600  # A: 400 paid Mar 10, 600 left at 51 days
    expected[1, b1, paid] = 400
    expected[2, b1, b2] = 200  # C: 55 days at Apr 30
    expected[2, b2, b3] = 600  # A: 81 days
    expected[3, b2, b3] = 200  # C: 86 days at May 31
    expected[3, b3, wo] = 600  # A: written off May 15
    np.testing.assert_allclose(cube, expected)


def test_model_on_hand_ledger_both_routes_agree():
    m = RollRateModel(lookback=4, thresholds=T3).fit(_hand_ledger(), "2024-05-31")
    # pooled: current 1800 -> 1200 to 1-30, 600 paid; 1-30 1200 -> 800 on, 400 paid;
    # 31-60 800 -> over 60; over 60 600 -> written off
    assert m.roll_rates_["roll_rate"].iloc[:3].tolist() == pytest.approx([2 / 3, 2 / 3, 1.0])
    want = [4 / 9, 2 / 3, 1.0, 1.0]
    assert m.loss_rate("markov").tolist() == pytest.approx(want)
    assert m.loss_rate("product").tolist() == pytest.approx(want)
    tr = m.transitions()
    assert tr["amount"].sum() == pytest.approx(
        1500 + 1300 + 800 + 800
    )  # each month's start balance once
    assert set(tr.columns) == {"month_end", "bucket", "to_state", "amount"}


def test_write_off_before_the_oldest_bucket_separates_the_routes():
    # with five thresholds A is written off from 61-90; 91-120 and over 120 are never seen
    with pytest.warns(UserWarning, match=r"no balance left bucket\(s\) \['91-120', 'over 120'\]"):
        m = RollRateModel(lookback=4).fit(_hand_ledger(), "2024-05-31")
    assert m.loss_rate("markov").tolist() == pytest.approx([4 / 9, 2 / 3, 1.0, 1.0, 1.0, 1.0])
    # the classic product only counts write-offs out of the oldest bucket
    assert m.loss_rate("product").tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0, 1.0, 1.0])


def test_simple_weighting_averages_monthly_shares():
    cube = np.zeros((2, 1, 3))
    cube[0, 0] = [0, 90, 10]  # month 1: 10% of 100 written off
    cube[1, 0] = [0, 500, 500]  # month 2: 50% of 1000
    assert transition_matrix(cube, "volume")[0, 2] == pytest.approx(510 / 1100)
    assert transition_matrix(cube, "simple")[0, 2] == pytest.approx((0.1 + 0.5) / 2)
    with pytest.raises(ConfigError, match="weighting"):
        transition_matrix(cube, "median")


def test_fit_is_as_of_no_later_data_used():
    led = _hand_ledger()
    with pytest.warns(UserWarning):
        early = RollRateModel(lookback=12).fit(led, "2024-03-31")
    assert early.month_ends_[-1] == pd.Timestamp("2024-03-31")
    assert early.flows_[..., 7].sum() == 0  # the May write-off is not visible yet
