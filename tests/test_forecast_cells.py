"""The payment-date model's cut-off work without whole-grid tables equals the code it replaced.

A big unit's fit built, at each of the backtests' 30 cut-offs, every customer's own estimate
and the mixed never-paid chance as customers x grid arrays, and their cumulative sums, to read
one cell per invoice; the daily cash gathered the cells it added. The second methods below are
that code, kept here as it was; equality is exact (the figures must not move by a bit), on a
demo unit made messy (customers missing from the customer table, disputes, scenario shifts,
invoices of customers the model has not seen) and on random records with the estimator's
edge cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arlib.forecast import paydates, paytable
from arlib.forecast.owncells import OwnCells
from arlib.forecast.paydates import EARLY, GRID, LATE, PayDateModel
from arlib.forecast.paytable import (
    Conditional,
    daily_cash,
    incidence_by,
    median_day,
    paid_and_median,
    prefix_sums,
    shift_pmf,
)
from arlib.ledger import Ledger, open_item_columns
from arlib.schemas import C

CUT = pd.Timestamp("2026-04-30")


def _records(seed: int = 5, n: int = 5000, groups: int = 40):
    """Random records with the edge cases: both ends of the grid, a group of censored records
    only, a group paid on one day (the survival hits 0), one never-paid record alone, groups
    without records, and never-paid outcomes spread over many days."""
    rng = np.random.default_rng(seed)
    code = rng.integers(0, groups, n)
    d = rng.integers(-EARLY, LATE + 1, n)
    d[:40], d[40:80] = -EARLY, LATE
    outcome = rng.choice([0, 1, 2], n, p=[0.3, 0.5, 0.2])
    outcome[code == 3] = 0
    code[:5], d[:5], outcome[:5] = groups + 1, 10, 1
    code[5], d[5], outcome[5] = groups + 2, 3, 2
    return code, d, outcome, groups + 4  # groups `groups` and `groups + 3` have no records


def test_own_cells_hold_the_dense_estimate_row_for_row_and_cell_for_cell():
    code, d, outcome, n = _records()
    pmf, never = incidence_by(code, d, outcome, n)
    own = OwnCells.estimate(code, d, outcome, n)
    for r in range(n):
        got_pmf, got_never = own.row(r)
        assert np.array_equal(got_pmf, pmf[r]) and np.array_equal(got_never, never[r])
    rng = np.random.default_rng(1)
    rows = rng.integers(0, n, 20000)
    j = rng.integers(0, len(GRID), 20000)
    j[:50], j[50:100] = 0, len(GRID) - 1
    assert np.array_equal(own.never_at(rows, j), never[rows, j])
    assert never[rows, j].any() and (never[rows, j] == 0).any()  # the test has teeth
    none = OwnCells.estimate([], [], [], 3)
    assert not none.never_at(np.array([0, 2]), np.array([5, 800])).any()


def test_a_table_mixed_from_the_cells_is_the_one_mixed_from_whole_rows():
    code, d, outcome, n = _records(seed=8)
    own_pmf, _ = incidence_by(code, d, outcome, n)
    base = np.random.default_rng(2).dirichlet(np.ones(len(GRID)), 6)
    k = 500
    rng = np.random.default_rng(3)
    pair, row = rng.integers(0, 6, k), rng.integers(0, n, k)  # rows share customers
    mixed = np.flatnonzero(rng.random(k) < 0.7)
    w = rng.integers(1, 40, len(mixed)) / (rng.integers(1, 40, len(mixed)) + 5.0)
    # the old code: whole rows of the own estimate, mixed in place
    want = base[pair]
    old = own_pmf[row[mixed]]
    old *= w[:, None]
    old += (1 - w[:, None]) * want[mixed]
    want[mixed] = old
    got = base[pair]
    got[mixed] *= 1 - w[:, None]
    OwnCells.estimate(code, d, outcome, n).mix_into(got, mixed, row[mixed], w)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("rows", [1, 7, 1024])
def test_prefix_sums_a_block_at_a_time_are_the_whole_tables_cumulative_sums(monkeypatch, rows):
    monkeypatch.setattr(paytable, "ROWS", rows)
    rng = np.random.default_rng(4)
    table = rng.random((60, len(GRID))) ** 8  # values of very different sizes
    key = rng.integers(0, 60, 3000)
    key[key == 17] = 18  # a row no invoice reads
    j = rng.integers(0, len(GRID), 3000)
    j[:9] = len(GRID) - 1
    assert np.array_equal(prefix_sums(table, key, j), np.cumsum(table, axis=1)[key, j])
    assert prefix_sums(table, np.zeros(0, int), np.zeros(0, int)).shape == (0,)


@pytest.fixture(scope="module")
def messy(small_demo):
    """Unit ``aa`` with a third of its customers missing from the customer table (group
    "unknown") and every fifth invoice disputed."""
    frames = {k: v.loc[v[C.business_unit] == "aa"].copy() for k, v in small_demo.items()}
    inv = frames["invoices"]
    inv[C.disputed] = np.arange(len(inv)) % 5 == 0
    cust = frames["customers"]
    return Ledger(inv, frames["transactions"], cust.iloc[: 2 * len(cust) // 3])


def _old_conditional(model, items, shift=None):
    """``PayDateModel.conditional`` as it was: both mixed tables whole, their cumulative sums
    whole, from the customers' own estimates as whole rows."""
    own_index = pd.Index(
        pd.unique(np.r_[model.own_index_.to_numpy(object), items[C.customer_id].to_numpy()])
    )
    code = own_index.get_indexer(model.cats_)[model.hist_code_]
    mine = code >= 0
    d, out = model.hist_["d"].to_numpy(), model.hist_["outcome"].to_numpy()
    own_pmf, own_never = incidence_by(code[mine], d[mine], out[mine], len(own_index))
    own_n = np.bincount(code[mine & (out > 0)], minlength=len(own_index))
    cust, group = items[C.customer_id].to_numpy(), items["group"].to_numpy()
    disp = items[C.disputed].to_numpy(bool)
    fc, _ = pd.factorize(cust, use_na_sentinel=False)
    fg, names = pd.factorize(group, use_na_sentinel=False)
    combo = (fc.astype(np.int64) * max(len(names), 1) + fg) * 2 + disp
    _, first, key = np.unique(combo, return_index=True, return_inverse=True)
    key = key.ravel()
    pair, pair_row = np.unique(fg[first] * 2 + disp[first], return_inverse=True)
    base = [model._base(names[k // 2], bool(k % 2)) for k in pair]
    row = own_index.get_indexer(cust[first])
    n = own_n[row]
    mixed = np.flatnonzero(n > 0)
    w = (n[mixed] / (n[mixed] + model.prior))[:, None]
    tables = []
    for base_rows, own_rows in (
        (np.array([b[0] for b in base]), own_pmf),
        ([b[1] for b in base], own_never),
    ):
        table = np.array(base_rows).reshape(-1, len(GRID))[pair_row.ravel()]
        own = own_rows[row[mixed]]
        own *= w
        own += (1 - w) * table[mixed]
        table[mixed] = own
        tables.append(table)
    pmf, never = tables
    dpd = items[C.days_past_due].to_numpy(np.int64)
    if shift is not None and np.any(shift):
        shift = np.asarray(shift, np.int64)
        moved = shift != 0
        pairs, new_key = np.unique(np.c_[key[moved], shift[moved]], axis=0, return_inverse=True)
        pmf = np.vstack([pmf, np.array([shift_pmf(pmf[k], int(s)) for k, s in pairs])])
        never = np.vstack([never, never[pairs[:, 0]]])
        key = key.copy()
        key[moved] = len(pmf) - len(pairs) + new_key.ravel()
    after = dpd + EARLY
    j = np.clip(after, 0, len(GRID) - 1)
    paid_before = np.where(after < 0, 0.0, np.cumsum(pmf, axis=1)[key, j])
    return Conditional(pmf, key, after, 1.0 - paid_before - never[key, j])


def _same(a: Conditional, b: Conditional) -> None:
    for field in ("table", "key", "after", "left"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


@pytest.mark.parametrize("by, cut", [("segment", CUT), (None, CUT), ("segment", "2024-12-31")])
def test_the_fits_tables_equal_the_whole_grid_tables(messy, by, cut):
    model = PayDateModel(by).fit(messy, cut)
    items = model.items_
    assert (items["history_n"] > 0).any() and items[C.disputed].any()
    _same(model.cond_, _old_conditional(model, items))
    shift = np.where(np.arange(len(items)) % 3 == 0, 30, 0)
    shift[1] = -10
    _same(model.conditional(items, shift), _old_conditional(model, items, shift))
    # invoices of customers the model has not seen (other items than its own): no own record,
    # the group's rows alone
    other = items.head(20).assign(**{C.customer_id: [f"new{i % 4}" for i in range(20)]})
    other = pd.concat([items, other], ignore_index=True)
    _same(model.conditional(other), _old_conditional(model, other))


def _old_daily_cash(cond, start, amount, first, last):
    """``daily_cash`` as it was: the positive cells gathered and counted by a bincount."""
    amt = np.asarray(amount, float)
    day0 = pd.DatetimeIndex(start).to_numpy("datetime64[D]").astype(np.int64)
    lo_day = max(
        int(day0.min()) + int(GRID[0]), int(np.datetime64(first.date(), "D").astype(np.int64))
    )
    hi_day = min(
        int(day0.max()) + int(GRID[-1]), int(np.datetime64(last.date(), "D").astype(np.int64))
    )
    span = max(hi_day - lo_day + 1, 0)
    cash, hits, t = np.zeros(span), np.zeros(span, dtype=np.int64), np.arange(span)
    for lo in range(0, len(cond), paytable.CHUNK):
        hi = min(lo + paytable.CHUNK, len(cond))
        w = cond.at(lo, hi, lo_day + t[None, :] - day0[lo:hi, None] + EARLY)
        w *= amt[lo:hi, None]
        keep = w > 0
        slot = np.broadcast_to(t, w.shape)[keep]
        cash += np.bincount(slot, weights=w[keep], minlength=span)
        hits += np.bincount(slot, minlength=span)
    days = np.flatnonzero(hits)
    return pd.Series(cash[days], index=pd.to_datetime((days + lo_day).astype("datetime64[D]")))


def test_daily_cash_summed_down_the_invoices_equals_the_bincount_of_kept_cells(messy):
    model = PayDateModel("segment").fit(messy, CUT)
    reps = paytable.CHUNK // len(model.items_) + 2  # more invoices than a chunk
    items = pd.concat([model.items_] * reps, ignore_index=True)
    amount = items[C.open_amount].to_numpy().copy()
    amount[::7] *= -1  # credits: negative cash is left out, as before
    amount[::11] = 0.0
    amount[3] = 1e15  # a huge invoice next to small ones: the order of the sums shows
    cond = model.conditional(items).without((np.arange(len(items)) % 13) == 0)
    first, last = CUT + pd.Timedelta(days=1), CUT + pd.Timedelta(days=120)
    got = daily_cash(cond, items[C.due_date], amount, first, last)
    want = _old_daily_cash(cond, items[C.due_date], amount, first, last)
    assert got.index.equals(want.index) and np.array_equal(got.to_numpy(), want.to_numpy())
    assert 60 < len(got) < 120  # days without cash are left out, as before


def test_dense_rows_and_medians_equal_the_old_expressions(messy):
    model = PayDateModel("segment").fit(messy, CUT)
    items = pd.concat([model.items_] * 2, ignore_index=True)
    cond = model.conditional(items).without(np.arange(len(items)) % 9 == 0)
    alive = cond.left > 1e-9
    mask = (np.arange(len(GRID))[None, :] > cond.after[:, None]) & alive[:, None]
    rows = np.where(mask, cond.table[cond.key], 0.0) / np.where(alive, cond.left, 1.0)[:, None]
    assert np.array_equal(cond.rows(), rows)
    tot = rows.sum(axis=1)
    idx = (np.cumsum(rows, axis=1) < (tot / 2)[:, None]).sum(axis=1)
    want = np.where(tot > 0, GRID[np.clip(idx, 0, len(GRID) - 1)].astype(float), np.nan)
    assert np.array_equal(median_day(rows.copy()), want, equal_nan=True)
    paid, med = paid_and_median(cond)
    assert np.array_equal(paid, tot) and np.array_equal(med, want, equal_nan=True)


@pytest.mark.parametrize("as_of", ["2024-08-15", "2025-06-30", "2026-10-31"])
def test_open_item_columns_are_the_open_items_few_columns(messy, as_of):
    cols = [C.invoice_id, C.customer_id, C.due_date, C.disputed]
    pos, got = open_item_columns(messy, as_of, cols)
    want = messy.open_items(as_of)[[*cols, C.open_amount, C.days_past_due]]
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    ids = messy.invoices[C.invoice_id].to_numpy()[pos]
    assert (ids == want[C.invoice_id].to_numpy()).all() and len(want) > 0
    model = PayDateModel("segment").fit(messy, as_of)
    assert np.array_equal(model.positions_, pos)


def test_the_model_still_gives_each_customers_distribution_whole(messy):
    model = PayDateModel("segment").fit(messy, CUT)
    hist = model.hist_
    cid = hist[C.customer_id].value_counts().index[0]
    part = hist.loc[hist[C.customer_id] == cid]
    own_pmf, own_never = paydates.incidence(part["d"].to_numpy(), part["outcome"].to_numpy())
    pmf, never, n = model._own(cid)
    assert np.array_equal(pmf, own_pmf) and np.array_equal(never, own_never) and n > 0


def test_the_weekly_backtest_on_worker_processes_equals_it_built_here(messy, monkeypatch):
    from arlib.forecast import weekrange

    monkeypatch.setattr(weekrange, "PARALLEL_FROM", 0)  # a small unit, as a big one runs
    args = dict(n_cutoffs=6, step=3, by="segment", history_days=400)
    here = weekrange.weekly_backtest(messy, "2026-10-31", n_jobs=1, **args)
    apart = weekrange.weekly_backtest(messy, "2026-10-31", n_jobs=2, **args)
    pd.testing.assert_frame_equal(apart, here, check_exact=True)
    assert here["cutoff"].nunique() == 6 and (here["yhat"] > 0).all()
    assert weekrange._JOB is None  # nothing of the run is kept
