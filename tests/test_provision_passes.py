"""The provision's array paths give the figures of the frame computations they replace, to the
bit: the loss backtest's write-offs and recoveries, the monthly invoicing and the invoiced
amounts of the forecast's look-back, the pools' check of transactions against their invoices,
and migration cubes that start from the panel's last state; each against the old computation
(kept here as the second method) on a small demo unit with messy additions (write-offs and
recoveries on unknown and missing invoices, invoices stamped at a time of day on a month-end,
amounts whose sum depends on the order of addition, transactions naming another customer)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_provision_monthends import _txn  # the same hand-made transactions

from arlib.ledger import Ledger, month_ends
from arlib.provision import allowance, ecl, lossforecast, pools, rollrate, vintage
from arlib.provision.settings import ProvisionSettings
from arlib.schemas import RECOVERY, WRITE_OFF, C

AS_OF = "2026-10-31"
T = (0, 30, 60, 90, 120)


@pytest.fixture(scope="module")
def parts(small_demo) -> dict:
    """Unit aa of the small demo in three segments; write-offs and recoveries on invoices the
    ledger does not hold, on none, and on open items across the backtest's months."""
    f = {k: v.loc[v[C.business_unit] == "aa"].reset_index(drop=True) for k, v in small_demo.items()}
    cust = f["customers"].copy()
    cust[C.segment] = np.array(["p", "q", "r"])[np.arange(len(cust)) % 3]
    first = Ledger(f["invoices"], f["transactions"], cust, validate=False)
    items = first.open_items("2025-06-30")
    a, b = items.iloc[0], items.iloc[len(items) // 2]
    c0 = cust[C.customer_id].iloc[0]
    extra = _txn(
        [
            ("ghost-1", c0, "2025-08-15", 120.0, WRITE_OFF),
            ("ghost-1", c0, "2025-08-20", 45.5, RECOVERY),
            (None, c0, "2025-09-02", 19.99, RECOVERY),
            (a[C.invoice_id], a[C.customer_id], "2025-07-31", 0.1, WRITE_OFF),
            (a[C.invoice_id], a[C.customer_id], "2025-09-30", 0.2, WRITE_OFF),
            (b[C.invoice_id], b[C.customer_id], "2025-10-10", b[C.open_amount], WRITE_OFF),
            (b[C.invoice_id], b[C.customer_id], "2025-11-01", 12.34, RECOVERY),
        ]
    )
    txn = pd.concat([f["transactions"], extra], ignore_index=True)
    return {"invoices": f["invoices"], "transactions": txn, "customers": cust}


@pytest.fixture(scope="module")
def led(parts) -> Ledger:
    return Ledger(parts["invoices"], parts["transactions"], parts["customers"], validate=False)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def test_loss_backtest_losses_equal_the_transactions_frame(led):
    """Second method: the frame of the transactions dated in (d, d + 12 months] on the
    invoices open at d, summed by kind as the backtest did."""
    bt = _quiet(ecl.loss_backtest, led, AS_OF, ProvisionSettings(), months=12)
    txn = led.transactions
    for r in bt.itertuples():
        open_ids = set(led.open_items(r.month_end)[C.invoice_id])
        end = r.month_end + pd.DateOffset(months=12)
        later = txn.loc[
            (txn[C.date] > r.month_end) & (txn[C.date] <= end) & txn[C.invoice_id].isin(open_ids)
        ]
        wo = round(float(later.loc[later[C.kind] == WRITE_OFF, C.amount].sum()), 2)
        rec = round(float(later.loc[later[C.kind] == RECOVERY, C.amount].sum()), 2)
        assert (r.written_off, r.recovered) == (wo, rec)
        assert r.difference == round(r.allowance - wo, 2)
    # the messy write-offs on open items are in (0.1 + 0.2 and b's balance), the ghosts not
    assert bt["written_off"].gt(0).any() and bt["recovered"].gt(0).any()


def _old_monthly(ledger: Ledger, as_of) -> pd.Series:
    """The monthly invoicing as it was computed: a period per invoice, grouped."""
    as_of = pd.Timestamp(as_of)
    last = as_of if as_of.is_month_end else as_of - pd.offsets.MonthEnd(1)
    inv = ledger.invoices.loc[ledger.invoices[C.invoice_date] <= last]
    s = inv[C.amount].groupby(inv[C.invoice_date].dt.to_period("M")).sum()
    if s.empty:
        return pd.Series(dtype=float, name="invoiced")
    s = s.reindex(pd.period_range(s.index.min(), last.to_period("M"), freq="M"), fill_value=0.0)
    s.index = s.index.to_timestamp(how="end").normalize()
    return s.rename("invoiced")


def _stamped(parts) -> Ledger:
    """The unit with invoices at a time of day on month-ends and the first of a month, and
    amounts whose float sum depends on the order they are added in."""
    inv = parts["invoices"].copy()
    when = inv[C.invoice_date].copy()
    when.iloc[:5] = pd.to_datetime(
        [
            "2025-03-31 23:59:59",
            "2025-03-31 00:00:00",
            "2025-04-01 00:00:01",
            "2024-12-31 12:00:00",
            "2026-10-31 18:00:00",
        ]
    )
    inv[C.invoice_date] = when
    june = np.flatnonzero((when > "2025-05-31") & (when <= "2025-06-30"))
    june = june[: min(36, len(june) // 6 * 6)]
    inv.loc[june, C.amount] = [0.1, 0.2, 0.3, 1e-3, 1e9 + 0.01, 0.7] * (len(june) // 6)
    return Ledger(inv, parts["transactions"], parts["customers"], validate=False)


@pytest.mark.parametrize("as_of", [AS_OF, "2025-03-31", "2025-04-15", "2024-06-30"])
def test_monthly_invoicing_equals_the_period_grouping_bit_for_bit(parts, as_of):
    led = _stamped(parts)
    got, want = lossforecast.monthly_invoicing(led, as_of), _old_monthly(led, as_of)
    pd.testing.assert_series_equal(got, want, check_exact=True)
    if as_of == "2024-06-30":  # before the first invoice: nothing
        assert got.empty
    else:
        assert len(got) > 3 and got.index[-1] <= pd.Timestamp(as_of)


def test_entry_shares_invoiced_equal_the_frame_sums(parts):
    led = _stamped(parts)
    ends = month_ends("2024-11-30", AS_OF)
    inv = led.invoices
    want = np.zeros(len(ends) - 1)
    for i, (a, b) in enumerate(zip(ends[:-1], ends[1:])):
        new = (inv[C.invoice_date] > a) & (inv[C.invoice_date] <= b)
        want[i] = inv.loc[new, C.amount].sum()
    _, got = lossforecast.entry_shares(led, ends, T)
    assert np.array_equal(got, want)
    assert want[6] > 1e9  # June 2025: the order-sensitive amounts


def _old_pool_codes(ledger: Ledger, of: pd.Series):
    """Every invoice's and every transaction's pool looked up by customer id."""
    names = sorted(set(of))
    number = pd.Series(np.arange(len(names)), index=names)
    cust = pd.Series(of.map(number).to_numpy(), index=of.index)
    inv = pools._of_customers(ledger.invoices[C.customer_id], cust)
    txn = pools._of_customers(ledger.transactions[C.customer_id], cust)
    code = pd.Index(ledger.invoices[C.invoice_id]).get_indexer(ledger.transactions[C.invoice_id])
    applied = code >= 0
    same = bool((txn[applied] == inv[code[applied]]).all())
    return (inv, names) if same and (inv >= 0).all() else None


@pytest.mark.parametrize("case", ["own", "same_pool", "other_pool", "no_customer"])
def test_pool_codes_equal_every_transaction_looked_up(parts, case):
    """A payment naming another customer of the same pool keeps the one pass; one naming a
    customer of another pool, or none, needs the pools' own ledgers, as before."""
    cust = parts["customers"]
    inv = parts["invoices"]
    seg = dict(zip(cust[C.customer_id], cust[C.segment]))
    target = inv.iloc[7]
    mine = seg[target[C.customer_id]]
    same = next(c for c, s in seg.items() if s == mine and c != target[C.customer_id])
    other = next(c for c, s in seg.items() if s != mine)
    named = {"own": target[C.customer_id], "same_pool": same, "other_pool": other}
    txn = parts["transactions"]
    if case in named:
        txn = pd.concat(
            [txn, _txn([(target[C.invoice_id], named[case], "2025-05-05", 1.0, "payment")])],
            ignore_index=True,
        )
    else:
        txn = txn.copy()
        txn.loc[txn[C.invoice_id] == target[C.invoice_id], C.customer_id] = None
    led = Ledger(inv, txn, cust, validate=False)
    of = pools.pool_of(led, "segment")
    got, want = pools.pool_codes(led, of), _old_pool_codes(led, of)
    assert (got is None) == (want is None) == (case in ("other_pool", "no_customer"))
    if want is not None:
        assert got[1] == want[1] == ["p", "q", "r"]
        assert np.array_equal(got[0], want[0])


def test_cubes_from_the_panels_last_state_equal_fresh_panels_bit_for_bit(led):
    """The month-end fits of a roll-forward and a backtest, in the order a report asks them
    (each look-back ending one month later, then jumping back), pooled and not, against each
    cube worked out on a panel of its own."""
    ends = month_ends("2024-08-31", AS_OF)
    windows = [ends[i : i + 13] for i in range(12, len(ends) - 12)]
    windows += [ends[i : i + 13] for i in range(0, 5)] + [ends[-13:], ends[-5:]]
    codes = pools.pool_codes(led, pools.pool_of(led, "segment"))
    assert codes is not None
    pooled = (codes[0], len(codes[1]))
    rollrate._PANELS.pop(led, None)
    got = [
        (rollrate.migration_cube(led, w, T), rollrate.migration_cube(led, w, T, pooled))
        for w in windows
    ]
    for w, (one, by_pool) in zip(windows, got):
        rollrate._PANELS.pop(led, None)
        assert np.array_equal(one, rollrate.migration_cube(led, w, T))
        rollrate._PANELS.pop(led, None)
        assert np.array_equal(by_pool, rollrate.migration_cube(led, w, T, pooled))
    assert sum(one[:, :, -1].sum() for one, _ in got) > 0  # write-offs migrate


@pytest.mark.filterwarnings("ignore:The default of observed=False:FutureWarning")
@pytest.mark.parametrize("rate", [None, 0.4])
def test_no_specific_items_give_the_frame_built_from_them(led, rate):
    """No flagged item: the frame kept per rate equals the one built from the empty items
    (columns, types), each call its own copy; flagged items are built as before."""
    items = led.open_items(AS_OF, T)
    empties = [items.iloc[:0], items.iloc[:0].astype({C.customer_id: "category"})]
    for empty in empties:
        for cust in (led.customers, None):
            got = allowance.specific_provisions(empty, cust, rate, 0.25)
            want = allowance._specific_frame(empty, cust, 0.75 if rate is None else rate)
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            assert got.empty and list(got.dtypes) == list(want.dtypes)
    got[C.name] = "changed"
    got.loc[0] = ["x", "x", "x", 1.0, 1.0, 1.0]
    assert allowance.specific_provisions(empties[0], None, rate, 0.25).empty
    some = items.loc[items[C.customer_id] == items[C.customer_id].iloc[0]]
    flagged = allowance.specific_provisions(some, led.customers, rate, 0.25)
    exposure = round(float(some[C.open_amount].sum()), 2)
    assert flagged[allowance.EXPOSURE].tolist() == [exposure]
    assert flagged[allowance.ALLOWANCE].iloc[0] == pytest.approx(
        round(exposure * (0.75 if rate is None else rate), 2), abs=0.005
    )


def _old_invoiced(ledger: Ledger, as_of) -> pd.Series:
    """The cohorts' invoicing as it was computed: the invoices frame cut, a period each."""
    inv = ledger.invoices.loc[ledger.invoices[C.invoice_date] <= pd.Timestamp(as_of)]
    cohort = inv[C.invoice_date].dt.to_period("M")
    return inv[C.amount].groupby(cohort).sum().rename("invoiced")


@pytest.mark.parametrize("as_of", [AS_OF, "2025-03-31", "2025-03-31 12:00", "2024-06-30"])
def test_cohort_invoicing_equals_the_period_grouping_bit_for_bit(parts, as_of):
    led = _stamped(parts)
    got, losses = vintage.cohort_losses(led, as_of)
    pd.testing.assert_series_equal(got, _old_invoiced(led, as_of), check_exact=True)
    assert got.empty == (as_of == "2024-06-30")
    if as_of == "2025-03-31 12:00":  # the invoice stamped 23:59:59 that day is not in yet
        assert got.iloc[-1] < vintage.cohort_losses(led, "2025-03-31 23:59:59")[0].iloc[-1]


def test_forecast_recoveries_equal_the_transactions_frame(led):
    """Second method: the recoveries' frame in the window, summed (the messy recovery on no
    invoice, one on a written-off item, order-sensitive amounts)."""
    txn = led.transactions
    extra = _txn([(None, "c-x", "2025-12-31", v, RECOVERY) for v in (0.1, 0.2, 1e9, 0.3)])
    mine = Ledger(led.invoices, pd.concat([txn, extra], ignore_index=True), None, validate=False)
    for start, end in [
        ("2025-06-30", "2026-06-30"),
        ("2025-08-31", "2025-12-31"),
        ("2026-01-31", AS_OF),
    ]:
        t = mine.transactions
        rec = t.loc[(t[C.kind] == RECOVERY) & (t[C.date] > start) & (t[C.date] <= end)]
        assert lossforecast._recovered(mine, pd.Timestamp(start), pd.Timestamp(end)) == float(
            rec[C.amount].sum()
        )
    assert lossforecast._recovered(mine, pd.Timestamp("2025-06-30"), pd.Timestamp(AS_OF)) > 1e9
