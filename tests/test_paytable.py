"""arlib.forecast.paytable: the shared-row payment-day tables equal the straightforward
per-customer and per-invoice computation (the code they replaced, kept here as the second
method) on a small demo unit and on random records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arlib.errors import ConfigError
from arlib.forecast import scenarios, variance, weekly
from arlib.forecast.paydates import EARLY, GRID, LATE, PayDateModel, shift_pmf
from arlib.forecast.paytable import CHUNK, incidence_by
from arlib.ledger import Ledger
from arlib.schemas import C

CUT = pd.Timestamp("2026-04-30")


def _incidence_one(d, outcome):
    """One group's discrete Aalen-Johansen estimate, written out on 1-D arrays."""
    idx = np.asarray(d, int) + EARLY
    size = len(GRID)
    paid = np.bincount(idx[outcome == 1], minlength=size).astype(float)
    gone = np.bincount(idx[outcome == 2], minlength=size).astype(float)
    leave = np.bincount(idx, minlength=size).astype(float)
    at_risk = len(idx) - np.concatenate([[0.0], np.cumsum(leave)[:-1]])
    safe = np.where(at_risk > 0, at_risk, 1.0)
    surv_before = np.cumprod(np.concatenate([[1.0], 1 - (paid + gone)[:-1] / safe[:-1]]))
    pmf = np.where(at_risk > 0, surv_before * paid / safe, 0.0)
    never = np.cumsum(np.where(at_risk > 0, surv_before * gone / safe, 0.0))
    return pmf, never


def _reference_cond(model, items, shift=None):
    """Per invoice, a loop: its customer's own record (one groupby of the history) mixed with
    its group's, shifted, cut at its days past due and divided by what is left."""
    own = {
        cid: (_incidence_one(p["d"].to_numpy(), p["outcome"].to_numpy()), (p["outcome"] > 0).sum())
        for cid, p in model.hist_.groupby(C.customer_id)
    }
    cond = np.zeros((len(items), len(GRID)))
    dpd = items[C.days_past_due].to_numpy(int)
    for i, (cid, g, disp) in enumerate(
        zip(items[C.customer_id], items["group"], items[C.disputed])
    ):
        base = model.dists_.get((g, bool(disp))) or model.dists_.get((g, None))
        base = base or model.dists_[("all", None)]
        (o_pmf, o_never), n = own.get(cid, ((None, None), 0))
        if n:
            w = n / (n + model.prior)
            pmf, never = w * o_pmf + (1 - w) * base[0], w * o_never + (1 - w) * base[1]
        else:
            pmf, never = base
        if shift is not None and shift[i]:
            pmf = shift_pmf(pmf, int(shift[i]))
        j = min(max(int(dpd[i]) + EARLY, 0), len(GRID) - 1)
        left = 1.0 - pmf[GRID <= dpd[i]].sum() - never[j]
        if left > 1e-9:
            cond[i] = np.where(GRID > dpd[i], pmf, 0.0) / left
    return cond


def _reference_daily(cond, due, amt):
    """Cash per day: every invoice's grid days at once."""
    due = pd.DatetimeIndex(due).to_numpy("datetime64[D]").astype(np.int64)
    first = int(due.min()) + int(GRID[0])
    w = cond * np.asarray(amt, float)[:, None]
    day = due[:, None] + GRID[None, :] - first
    keep = w > 0
    cash = np.bincount(day[keep], weights=w[keep])
    days = np.flatnonzero(np.bincount(day[keep]))
    return pd.Series(cash[days], index=pd.to_datetime((days + first).astype("datetime64[D]")))


@pytest.fixture(scope="module")
def fitted(small_demo):
    frames = {k: v.loc[v[C.business_unit] == "aa"] for k, v in small_demo.items()}
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    model = PayDateModel("segment").fit(led, CUT)
    assert len(model.items_) > 50 and model.items_[C.disputed].any()  # the test has teeth
    return led, model, _reference_cond(model, model.items_)


def test_incidence_of_many_groups_is_each_group_alone_to_the_bit():
    rng = np.random.default_rng(3)
    code = rng.integers(0, 7, 3000)
    d = rng.integers(-EARLY, LATE + 1, 3000)
    outcome = rng.choice([0, 1, 2], 3000, p=[0.2, 0.7, 0.1])
    pmf, never = incidence_by(code, d, outcome, 9)  # groups 7 and 8 have no records
    for g in range(7):
        want_pmf, want_never = _incidence_one(d[code == g], outcome[code == g])
        assert np.array_equal(pmf[g], want_pmf) and np.array_equal(never[g], want_never)
    assert not pmf[7:].any() and not never[7:].any()


def test_each_customer_mix_is_the_per_customer_computation_to_the_bit(fitted):
    _, model, _ = fitted
    for cid, part in model.hist_.groupby(C.customer_id):
        own = _incidence_one(part["d"].to_numpy(), part["outcome"].to_numpy())
        n = int((part["outcome"] > 0).sum())
        group = model.group_of_.get(cid, "unknown")
        pmf, never, got_n = model.distribution(cid, group, False)
        base = model.dists_.get((group, False)) or model.dists_[(group, None)]
        w = n / (n + model.prior)
        assert got_n == n and np.array_equal(pmf, w * own[0] + (1 - w) * base[0])
        assert np.array_equal(never, w * own[1] + (1 - w) * base[1])


def test_conditional_rows_dates_and_daily_cash_equal_the_per_invoice_loop(fitted):
    _, model, ref = fitted
    got = np.vstack([rows for _, _, rows in model.cond_.chunks()])
    assert got.shape == ref.shape and np.array_equal(got > 0, ref > 0)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    items = model.items_
    tot = ref.sum(axis=1)
    med = GRID[np.clip((np.cumsum(ref, axis=1) < (tot / 2)[:, None]).sum(axis=1), 0, None)]
    want = np.where(tot > 0, med, np.nan)
    np.testing.assert_array_equal(items["expected_days_late"].to_numpy(), want)
    np.testing.assert_allclose(items["p_paid"].to_numpy(), tot, rtol=1e-12)
    daily = model.daily()
    want_daily = _reference_daily(ref, items[C.due_date], items[C.open_amount])
    assert daily.index.equals(want_daily.index)
    np.testing.assert_allclose(daily.to_numpy(), want_daily.to_numpy(), rtol=1e-12)
    # a horizon: the same days, cut at both ends
    end = CUT + pd.Timedelta(days=91)
    cut = model.daily(through=end)
    np.testing.assert_allclose(cut.to_numpy(), want_daily.loc[CUT + pd.Timedelta(days=1) : end])
    p = model.with_horizon(end)["p_horizon"].to_numpy()
    upto = (end - items[C.due_date]).dt.days.to_numpy()[:, None]
    np.testing.assert_allclose(p, (ref * (GRID[None, :] <= upto)).sum(axis=1), rtol=1e-12)


def test_a_scenario_shift_and_default_equal_the_per_invoice_loop(fitted):
    _, model, _ = fitted
    items = model.items_
    shift = np.where(np.arange(len(items)) % 3 == 0, 30, 0)
    shift[1] = -10
    ref = _reference_cond(model, items, shift)
    gone = (items[C.customer_id] == items[C.customer_id].iloc[0]).to_numpy()
    ref[gone] = 0.0
    cond = model.conditional(items, shift).without(gone)
    np.testing.assert_allclose(cond.rows(), ref, rtol=1e-12, atol=1e-15)
    assert ref[gone].sum() == 0 and ref[~gone].sum() > 0


def test_more_invoices_than_a_chunk_and_the_monthly_split_by_customer(fitted):
    _, model, ref = fitted
    reps = CHUNK // len(model.items_) + 2
    big = pd.concat([model.items_] * reps, ignore_index=True)
    assert len(big) > CHUNK
    cond = model.conditional(big)
    around = slice(CHUNK - 3, CHUNK + 3)
    np.testing.assert_allclose(
        cond.rows(around.start, around.stop), np.tile(ref, (reps, 1))[around]
    )
    daily = model.daily(big, cond)
    np.testing.assert_allclose(daily.to_numpy(), reps * model.daily().to_numpy(), rtol=1e-12)
    by_cust = variance.expected_by_customer(model, 6)
    # a second method: the dense rows summed per customer and calendar month
    items = model.items_
    days = items[C.due_date].to_numpy("datetime64[D]")[:, None] + GRID[None, :]
    month = pd.DatetimeIndex(days.ravel()).to_period("M")
    frame = pd.DataFrame(
        {
            "c": np.repeat(items[C.customer_id].to_numpy(), len(GRID)),
            "m": month,
            "y": (ref * items[C.open_amount].to_numpy()[:, None]).ravel(),
        }
    )
    months = pd.period_range((CUT + pd.Timedelta(days=1)).to_period("M"), periods=6, freq="M")
    want = frame.loc[frame["m"].isin(months) & (frame["y"] > 0)].groupby(["c", "m"])["y"].sum()
    got = by_cust.set_index(["unique_id", by_cust["ds"].dt.to_period("M")])["yhat"]
    assert len(got) == len(want)
    np.testing.assert_allclose(
        got.sort_index().to_numpy(), want.sort_index().to_numpy(), rtol=1e-10
    )


def test_the_week_view_and_scenarios_cut_at_their_horizon_equal_the_whole_grid(fitted):
    led, model, _ = fitted
    view = weekly.CashView.__new__(weekly.CashView)  # invoicing to come set by hand
    view.model, view.as_of, view.terms, view.last = model, CUT, 30, None
    view.invoicing = pd.Series([1000.0], index=pd.to_datetime(["2026-05-04"]))
    view.open_daily = model.daily()
    view.new_daily = weekly.new_invoicing_cash(view.invoicing, model, view.terms)
    spec = {"later": {"pay_later_days": 20, "default": [str(model.items_[C.customer_id].iloc[0])]}}
    whole = scenarios.compare(view, spec, ledger=led, horizon=13, period="W-FRI")
    view.last = CUT + pd.Timedelta(days=91)
    view.open_daily = model.daily(through=view.last)
    cut = scenarios.compare(view, spec, ledger=led, horizon=13, period="W-FRI")
    np.testing.assert_allclose(cut[["base", "later"]], whole[["base", "later"]], rtol=1e-12)
    assert (cut["later"] != 0).any()


def test_the_history_window_by_binary_search_is_the_boolean_window(fitted):
    led, model, _ = fitted
    st = led.settlement()
    keep = (st[C.due_date] <= CUT) & (st[C.due_date] > CUT - pd.Timedelta(days=730))
    keep &= st[C.invoice_date] <= CUT
    st = st.loc[keep]
    paid = st[C.settled_date].notna() & (st[C.settled_date] <= CUT)
    end = st[C.settled_date].where(paid, CUT)
    want = pd.DataFrame(
        {
            C.customer_id: st[C.customer_id].to_numpy(),
            "d": np.clip((end - st[C.due_date]).dt.days.to_numpy(), -EARLY, LATE),
            "outcome": np.where(paid, np.where(st["settled_by"] == "payment", 1, 2), 0),
        },
        index=st.index,
    ).sort_index()
    got = model.hist_.sort_index()
    assert len(got) > 100 and set(got["outcome"]) == {0, 1, 2}
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_a_view_refuses_periods_past_its_last_day(fitted):
    _, model, _ = fitted
    view = weekly.CashView.__new__(weekly.CashView)
    view.model, view.as_of, view.last = model, CUT, CUT + pd.Timedelta(days=91)
    view.open_daily = model.daily(through=view.last)
    view.new_daily = pd.Series(dtype=float)
    assert len(view.by_period(13, "W-FRI")) == 13  # 13 weeks end on 2026-07-31 (91 days)
    with pytest.raises(ConfigError, match="after the view's last day 2026-07-30"):
        view.by_period(6, "M")
