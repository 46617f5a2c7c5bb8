"""The forecast report's fast paths for big units equal the computations they replaced.

Each second method below is the code the fast path replaced (a pandas ``groupby``, a merge, a
per-invoice dense row, a copy of the settlement frame), kept here, run on a small demo unit
made messy (customers missing from the customer table, disputes, a cut-off early in the
history) or on random records with the estimator's edge cases. Equality is exact: the big
unit's figures must not move by a bit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_paytable import _incidence_one  # the dense estimate (the old code), the second method

from arlib.forecast import paydates, paytable, runoff, weekly
from arlib.forecast.paydates import ALL, EARLY, EXPECTED_DATE, GRID, LATE, PayDateModel
from arlib.forecast.paytable import incidence_by, median_day, paid_and_median, paid_by
from arlib.ledger import Ledger
from arlib.schemas import PAYMENT, C

CUT = pd.Timestamp("2026-04-30")


@pytest.mark.parametrize("dense", [True, False])  # counted on the grid, or cells sorted
def test_incidence_on_the_cells_with_records_is_the_whole_grid_to_the_bit(monkeypatch, dense):
    monkeypatch.setattr(paytable, "_DENSE", 10**9 if dense else 0)
    rng = np.random.default_rng(7)
    n = 4000
    code = rng.integers(0, 12, n)
    d = rng.integers(-EARLY, LATE + 1, n)
    d[:40] = -EARLY  # both ends of the grid
    d[40:80] = LATE
    outcome = rng.choice([0, 1, 2], n, p=[0.3, 0.6, 0.1])
    outcome[code == 3] = 0  # a group with only censored records: no chance at all
    code[:5], d[:5], outcome[:5] = 13, 10, 1  # everyone paid on one day: the survival hits 0
    code[5], d[5], outcome[5] = 14, 3, 2  # one record, never paid
    pmf, never = incidence_by(code, d, outcome, 16)  # groups 12 and 15 have no records
    for g in range(16):
        mine = code == g
        want = _incidence_one(d[mine], outcome[mine]) if mine.any() else (0.0, 0.0)
        assert np.array_equal(pmf[g], np.broadcast_to(want[0], len(GRID)))
        assert np.array_equal(never[g], np.broadcast_to(want[1], len(GRID)))
    assert pmf[13].sum() == 1.0 and never[14][-1] == 1.0 and not pmf[3].any()
    assert incidence_by([], [], [], 2)[0].shape == (2, len(GRID))


@pytest.fixture(scope="module")
def messy(small_demo):
    """Unit ``aa`` with a third of its customers missing from the customer table (group
    "unknown") and every fifth invoice disputed."""
    frames = {k: v.loc[v[C.business_unit] == "aa"].copy() for k, v in small_demo.items()}
    inv = frames["invoices"]
    inv[C.disputed] = np.arange(len(inv)) % 5 == 0
    cust = frames["customers"]
    return Ledger(inv, frames["transactions"], cust.iloc[: 2 * len(cust) // 3])


def _group_dists(model, ledger, cut):
    """The group curves as the old fit made them: a groupby over the history frame."""
    hist = paydates._resolution(paydates.by_due_date(ledger), cut, model.history_days)
    fill = ALL if model.by is None else "unknown"
    hist["group"] = hist[C.customer_id].map(model.group_of_).fillna(fill)
    out = {(ALL, None): paydates._incidence_of(hist)}
    for g, part in hist.groupby("group"):
        out[(g, None)] = paydates._incidence_of(part)
    for (g, disp), part in hist.groupby(["group", C.disputed]):
        if int((part["outcome"] > 0).sum()) >= model.min_group:
            out[(g, bool(disp))] = paydates._incidence_of(part)
    return out


@pytest.mark.parametrize("by, min_group", [("segment", 20), (None, 5), ("segment", 10**6)])
def test_group_curves_and_open_invoice_tables_equal_the_groupby(messy, by, min_group):
    model = PayDateModel(by, min_group=min_group).fit(messy, CUT)
    want = _group_dists(model, messy, CUT)
    assert list(model.dists_) == list(want)
    for key, (pmf, never) in want.items():
        assert np.array_equal(model.dists_[key][0], pmf) and np.array_equal(
            model.dists_[key][1], never
        )
    if by is not None:
        assert ("unknown", None) in want  # the test has teeth: customers without a segment
    # each open invoice's table row is its customer's own record mixed with its group's
    items = model.items_
    for i in range(0, len(items), 7):
        cid, group, disp = items.loc[i, [C.customer_id, "group", C.disputed]]
        pmf, never, n = model.distribution(cid, group, bool(disp))
        assert np.array_equal(model.cond_.table[model.cond_.key[i]], pmf)
        assert items.loc[i, "history_n"] == n


def test_paid_median_and_horizon_once_per_distinct_row_equal_every_invoice(messy):
    model = PayDateModel("segment").fit(messy, CUT)
    items = pd.concat([model.items_] * 3, ignore_index=True)  # many invoices share a row
    gone = (items[C.customer_id] == items[C.customer_id].iloc[0]).to_numpy()
    cond = model.conditional(items).without(gone)
    rows = cond.rows()
    paid, med = paid_and_median(cond)
    assert np.array_equal(paid, rows.sum(axis=1))
    assert np.array_equal(med, median_day(rows), equal_nan=True)
    assert np.isnan(med[gone]).all() and (paid[~gone] > 0).any()
    days = (CUT + pd.Timedelta(days=60) - items[C.due_date]).dt.days.to_numpy()
    want = (rows * (GRID[None, :] <= days[:, None])).sum(axis=1)
    assert np.array_equal(paid_by(cond, days), want)


def test_distinct_rows_compare_divisors_in_full_when_they_differ(messy):
    model = PayDateModel("segment").fit(messy, CUT)
    cond = model.conditional(pd.concat([model.items_] * 2, ignore_index=True))
    # each invoice twice, the second with another divisor: same table row and cut
    odd = replace(
        cond, left=np.where(np.arange(len(cond)) >= len(model.items_), 0.5, 1.0) * cond.left
    )
    paid, med = paid_and_median(odd)
    rows = odd.rows()
    assert np.array_equal(paid, rows.sum(axis=1))
    assert np.array_equal(med, median_day(rows), equal_nan=True)


def _old_evaluate(ledger, cutoffs, through):
    """paydates.evaluate as it was: the settlement frame indexed by invoice id, a groupby."""
    st = ledger.settlement().set_index(C.invoice_id)
    rows = []
    for cut in map(pd.Timestamp, cutoffs):
        it = PayDateModel().fit(ledger, cut).items_.set_index(C.invoice_id)
        act = st.reindex(it.index)
        ok = (act["settled_by"] == PAYMENT) & (act[C.settled_date] <= pd.Timestamp(through))
        it, act = it.loc[ok.to_numpy()], act.loc[ok.to_numpy()]
        earliest = cut + pd.Timedelta(days=1)
        known = st.loc[(st["settled_by"] == PAYMENT) & (st[C.settled_date] <= cut)]
        mean_late = known.groupby(C.customer_id)["days_late"].mean()
        overall = known["days_late"].mean() if len(known) else 0.0
        delay = it[C.customer_id].map(mean_late).fillna(overall).round()
        frame = pd.DataFrame(
            {
                "cutoff": cut,
                "actual": act[C.settled_date],
                "model": it[EXPECTED_DATE].fillna(earliest).clip(lower=earliest),
                "due_date_baseline": it[C.due_date].clip(lower=earliest),
                "customer_mean_baseline": (it[C.due_date] + pd.to_timedelta(delay, unit="D")).clip(
                    lower=earliest
                ),
            }
        )
        rows.append(frame.reset_index())
    out = pd.concat(rows, ignore_index=True)
    for col in ("model", "due_date_baseline", "customer_mean_baseline"):
        out[f"err_{col}"] = (out[col] - out["actual"]).dt.days.abs()
    return out


def test_the_payment_date_backtest_equals_the_settlement_frame_version(messy):
    # the first cut-off is before most customers have paid anything: the unit's mean is used
    cutoffs = ["2024-09-30", "2025-10-31", "2026-04-30"]
    got = paydates.evaluate(messy, cutoffs, through="2026-10-31")
    want = _old_evaluate(messy, cutoffs, "2026-10-31")
    assert len(got) > 100 and got["cutoff"].nunique() == 3
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_the_payment_pattern_equals_the_merge_on_invoice_ids(messy):
    got = runoff.payment_pattern(messy, CUT, "MS")
    inv, txn = messy.invoices, messy.transactions
    cohort = inv[C.invoice_date].dt.to_period("M")
    last = CUT.to_period("M")
    keep = (cohort <= last) & (cohort > last - 24)
    invoiced = inv.loc[keep].groupby(cohort[keep])[C.amount].sum()
    pay = txn.loc[(txn[C.kind] == PAYMENT) & (txn[C.date] <= CUT)].merge(
        pd.DataFrame({C.invoice_id: inv.loc[keep, C.invoice_id], "cohort": cohort[keep]}),
        on=C.invoice_id,
    )
    lag = pd.Series(pay[C.date].dt.to_period("M").array.asi8 - pay["cohort"].array.asi8)
    paid = pay.groupby([pay["cohort"], lag])[C.amount].sum()
    for k in range(7):
        cohorts = invoiced.index[invoiced.index + k <= last]
        share = sum(paid.get((c, k), 0.0) for c in cohorts) / invoiced.loc[cohorts].sum()
        assert got.loc[k, "share"] == share and got.loc[k, "cohorts"] == len(cohorts)


@pytest.mark.parametrize("as_of", ["2026-04-30", "2024-06-30"])  # the second: no invoicing yet
def test_terms_and_weekday_profile_equal_the_invoice_frame_version(messy, as_of):
    inv, as_of = messy.invoices, pd.Timestamp(as_of)
    d = inv[C.invoice_date]
    recent = inv.loc[(d <= as_of) & (d > as_of - pd.Timedelta(days=365))]
    src = recent if len(recent) else inv
    want_terms = int(round((src[C.due_date] - src[C.invoice_date]).dt.days.median()))
    by_day = recent.groupby(recent[C.invoice_date].dt.weekday)[C.amount].sum()
    prof = by_day.reindex(range(7), fill_value=0.0).to_numpy(float)
    want_prof = prof / prof.mean() if prof.sum() > 0 else np.ones(7)
    assert weekly.terms_days(messy, as_of) == want_terms
    assert np.array_equal(weekly.weekday_profile(messy, as_of), want_prof)
