"""The scorecard's drivers from one pass over many month-ends (arlib.health.scoring) equal the
per-date pandas computation the scorecard used before (kept here as the second method), and
the backtest equals a loop of the public per-date scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_credit import AS_OF, make
from test_credit_calibration import SIM

from arlib import demo
from arlib import dso as core
from arlib.health import calibration as cal
from arlib.health import credit
from arlib.health.scoring import DRIVER_COLUMNS, driver_frames
from arlib.ledger import Ledger
from arlib.schemas import PAYMENT, C


def _weighted_late(df: pd.DataFrame) -> pd.DataFrame:
    w = df[C.amount].to_numpy(dtype=float)
    late = df["days_late"].to_numpy(dtype=float)
    g = (
        pd.DataFrame(
            {
                C.customer_id: df[C.customer_id].to_numpy(),
                "w": w,
                "wl": w * late,
                "l": w * (late > 0),
            }
        )
        .groupby(C.customer_id)
        .sum()
    )
    return pd.DataFrame(
        {"days_late": g["wl"] / g["w"], "share_late": g["l"] / g["w"], "evidence": g["w"]}
    )


def _lateness(ledger: Ledger, as_of, since) -> pd.DataFrame:
    s = ledger.settlement()
    paid = s.loc[
        (s["settled_by"] == PAYMENT) & (s[C.settled_date] > since) & (s[C.settled_date] <= as_of)
    ]
    items = ledger.open_items(as_of)
    due = items.loc[items[C.days_past_due] > 0, [C.customer_id, C.open_amount, C.days_past_due]]
    due = due.set_axis([C.customer_id, C.amount, "days_late"], axis=1)
    return pd.concat([paid[[C.customer_id, C.amount, "days_late"]], due], ignore_index=True)


def old_drivers(ledger: Ledger, as_of, lookback_months=12, recent_months=3) -> pd.DataFrame:
    """The scorecard's drivers at one date as computed before the one-pass version."""
    as_of = pd.Timestamp(as_of).normalize()
    look, recent = core.window(as_of, lookback_months), core.window(as_of, recent_months)
    all_late = _weighted_late(_lateness(ledger, as_of, look.start))
    now = _weighted_late(_lateness(ledger, as_of, recent.start))["days_late"]
    before = _weighted_late(_lateness(ledger, recent.start, look.start))["days_late"]
    inv = ledger.invoices
    in_look = inv.loc[(inv[C.invoice_date] > look.start) & (inv[C.invoice_date] <= as_of)]
    billed = in_look.groupby(C.customer_id)[C.amount].sum()
    disputed = in_look[C.amount].where(in_look[C.disputed].astype(bool), 0.0)
    disputed = disputed.groupby(in_look[C.customer_id]).sum()
    ar_now = ledger.open_items(as_of).groupby(C.customer_id)[C.open_amount].sum()
    ar_then = ledger.open_items(recent.start).groupby(C.customer_id)[C.open_amount].sum()
    ids = pd.Series(sorted(set(all_late.index) | set(billed.index) | set(ar_now.index)))
    cust = ledger.customers.set_index(C.customer_id)
    limit = ids.map(cust[C.credit_limit]).astype(float)
    out = pd.DataFrame({C.customer_id: ids})
    out["open_ar"] = ids.map(ar_now).fillna(0.0)
    out["billings_month"] = ids.map(billed).fillna(0.0) / lookback_months
    out["days_late"] = ids.map(all_late["days_late"])
    out["late_trend"] = ids.map(now) - ids.map(before)
    out["share_late"] = ids.map(all_late["share_late"])
    out["evidence"] = ids.map(all_late["evidence"]).fillna(0.0)
    out["dispute_share"] = core.safe_div(ids.map(disputed).fillna(0.0), ids.map(billed).fillna(0.0))
    out["limit_use"] = core.safe_div(out["open_ar"], limit.fillna(0.0))
    then = ids.map(ar_then).fillna(0.0)
    base = np.maximum(then, out["billings_month"])
    out["balance_growth"] = core.safe_div(out["open_ar"] - then, base)
    return out


@pytest.fixture(scope="module")
def sim():
    """The calibration tests' seeded simulation (prompt, late, deteriorating, defaulting)."""
    f = demo.generate(seed=5, units={"sim": SIM}, start="2023-01-01", end="2025-12-31")
    return Ledger(f["invoices"], f["transactions"], f["customers"]), f["customers"]


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new[C.customer_id]) == list(old[C.customer_id]) and len(new)
    for col in DRIVER_COLUMNS:
        a, b = new[col].to_numpy(dtype=float), old[col].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        assert a[~np.isnan(a)] == pytest.approx(b[~np.isnan(b)], rel=1e-12, abs=1e-9), col


def test_drivers_by_hand_ledger_equal_the_per_date_computation():
    led = make()
    dates = ["2024-06-30", "2024-05-31", "2024-03-31", "2024-07-15"]
    for d, frame in zip(dates, driver_frames(led, dates), strict=True):
        _same(frame, old_drivers(led, d))
    # by hand (tests/test_credit.py): b owes 3,000 now, 60 days past due, 0 three months ago
    b = driver_frames(led, [AS_OF])[0].set_index(C.customer_id).loc["b"]
    assert (b["open_ar"], b["days_late"]) == (3000.0, (1000 * 40 + 3000 * 60) / 4000)


def test_drivers_of_a_dozen_month_ends_equal_the_per_date_computation(sim):
    led, _ = sim
    dates = pd.date_range("2024-06-30", "2025-06-30", freq="ME")
    frames = driver_frames(led, dates, lookback_months=12, recent_months=3, default_days=90)
    for d, frame in zip(dates, frames, strict=True):
        _same(frame, old_drivers(led, d))
        assert set(frame.loc[frame["in_default"], C.customer_id]) == cal.in_default(led, d, 90)


def test_backtest_equals_a_loop_of_the_per_date_scorecard(sim):
    led, _ = sim
    got = cal.backtest(led, "2025-12-31", months=6, default_days=60)
    parts = []
    for d in cal.backtest_dates(led, "2025-12-31", 6, 12):
        card = credit.scorecard(led, d, 12, default_days=60)
        card = card.loc[~card[C.customer_id].isin(cal.in_default(led, d, 60))]
        bad = cal.outcomes(led, d, d + pd.DateOffset(months=12), 60)
        pts = [c for c in card.columns if c.startswith("pts_")]
        part = card[[C.customer_id, "score", *pts, "open_ar"]].copy()
        part.insert(0, "cutoff", d)
        part["bad"] = part[C.customer_id].isin(bad.index).to_numpy()
        parts.append(part)
    want = pd.concat(parts, ignore_index=True)
    assert len(got) > 200 and got["bad"].sum() > 5
    pd.testing.assert_frame_equal(got, want)
