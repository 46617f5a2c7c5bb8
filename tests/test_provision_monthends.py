"""The provision's month-end reads in one pass give the figures of the date-by-date reads they
replace, to the cent: the month-end items against :meth:`Ledger.open_items`, the vectorised
sharing of allowances against :func:`allocate` line by line, the roll-forward and the loss
backtest against the old path (open items per date, allowances and write-offs keyed by
invoice id), and the roll-rate panel's carried-on settlements against one pass over all
transactions; on a small demo unit with messy additions (write-offs on unknown and missing
invoices, a recovery that offsets one, a write-off on a month-end, pooled booking)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from arlib.ledger import Ledger, bucket_index, month_ends
from arlib.provision import ecl, estimate, monthends, movement, rollrate
from arlib.provision.settings import ProvisionSettings, settings_with
from arlib.schemas import RECOVERY, WRITE_OFF, C

AS_OF = "2026-10-31"
T = (0, 30, 60, 90, 120)


def _txn(rows: list[tuple]) -> pd.DataFrame:
    """Hand-made transactions ``(invoice_id, customer_id, date, amount, kind)``."""
    return pd.DataFrame(
        {
            C.txn_id: [f"mess{i}" for i in range(len(rows))],
            C.business_unit: "aa",
            C.customer_id: [r[1] for r in rows],
            C.invoice_id: [r[0] for r in rows],
            C.date: pd.to_datetime([r[2] for r in rows]),
            C.amount: [r[3] for r in rows],
            C.kind: [r[4] for r in rows],
        }
    )


@pytest.fixture(scope="module")
def led(small_demo) -> Ledger:
    """Unit aa of the small demo in three segments, with messy write-offs and recoveries: on
    invoices the ledger does not hold (two ids, one written off and recovered in one month),
    on no invoice at all, on a month-end, and on items open through the roll-forward."""
    f = {k: v.loc[v[C.business_unit] == "aa"].reset_index(drop=True) for k, v in small_demo.items()}
    cust = f["customers"].copy()
    cust[C.segment] = np.array(["p", "q", "r"])[np.arange(len(cust)) % 3]
    first = Ledger(f["invoices"], f["transactions"], cust, validate=False)
    items = first.open_items("2026-04-30")
    a, b = items.iloc[0], items.iloc[len(items) // 2]
    c0 = cust[C.customer_id].iloc[0]
    extra = _txn(
        [
            ("ghost-1", c0, "2026-03-15", 120.0, WRITE_OFF),
            ("ghost-1", c0, "2026-03-20", 45.5, RECOVERY),
            ("ghost-2", c0, "2026-03-18", 80.25, WRITE_OFF),
            (None, c0, "2026-06-02", 19.99, RECOVERY),
            (None, c0, "2026-06-03", 7.01, WRITE_OFF),
            (a[C.invoice_id], a[C.customer_id], "2026-05-31", 0.5 * a[C.open_amount], WRITE_OFF),
            (b[C.invoice_id], b[C.customer_id], "2026-08-10", b[C.open_amount], WRITE_OFF),
            (b[C.invoice_id], b[C.customer_id], "2026-09-01", 12.34, RECOVERY),
        ]
    )
    txn = pd.concat([f["transactions"], extra], ignore_index=True)
    return Ledger(f["invoices"], txn, cust, validate=False)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def test_month_end_items_are_each_dates_open_items(led):
    dates = pd.to_datetime(["2026-10-31", "2025-01-31", "2026-02-14", "2024-06-30"])
    got = list(monthends.month_end_items(led, dates, T))
    assert [d for d, _ in got] == list(dates)  # in the order asked, a mid-month date included
    ids = led.invoices[C.invoice_id].to_numpy()
    for d, items in got:
        want = led.open_items(d, T)
        pd.testing.assert_frame_equal(items[monthends.COLUMNS], want[monthends.COLUMNS])
        assert (ids[items[monthends.ROW]] == want[C.invoice_id].to_numpy()).all()
    assert got[-1][1].empty and len(got[0][1]) > 50  # before the first invoice: none open


def test_close_items_are_open_items_and_each_call_its_own_copy(led):
    a = monthends.close_items(led, AS_OF, T)
    pd.testing.assert_frame_equal(a, led.open_items(AS_OF, T))
    a[C.open_amount] = -1.0
    b = monthends.close_items(led, AS_OF, T)
    assert (b[C.open_amount] > 0).all()
    other = monthends.close_items(led, "2026-09-30", (0, 60))
    pd.testing.assert_frame_equal(other, led.open_items("2026-09-30", (0, 60)))


def test_shares_are_allocate_group_by_group():
    rng = np.random.default_rng(3)
    group = rng.integers(0, 40, 3000)
    weights = rng.integers(1, 10**7, 3000)
    weights[group == 5] = 7  # equal weights: every remainder ties, first items take the cents
    weights[group == 9] = 0  # no weight at all: equal shares
    totals = rng.integers(0, 10**8, 40)
    totals[11] = 0
    got = movement.shares(totals, group, weights)
    for g in range(40):
        at = np.flatnonzero(group == g)
        assert got[at].tolist() == movement.allocate(int(totals[g]), weights[at])
    assert movement.shares(np.zeros(0, int), np.zeros(0, int), np.zeros(0)).tolist() == []


def _old_path(monkeypatch):
    """The roll-forward and backtest as they were: each date's open items read alone, item
    allowances keyed by invoice id, the split matching ids."""
    monkeypatch.setattr(
        estimate,
        "month_end_items",
        lambda ledger, dates, t: ((d, ledger.open_items(d, t)) for d in pd.DatetimeIndex(dates)),
    )
    monkeypatch.setattr(movement, "item_cents", movement.item_allowances)
    monkeypatch.setattr(
        movement,
        "split_rows",
        lambda a, dates, ledger: movement.split(a, dates, ledger.transactions),
    )


@pytest.mark.parametrize(
    "settings",
    [
        ProvisionSettings(),
        ProvisionSettings(provision_booking="pooled", expected_recovery=0.25),
        ProvisionSettings(provision_method="vintage", forward_adjustment=0.1),
    ],
    ids=["one_pool", "pooled", "vintage"],
)
def test_rollforward_equals_the_date_by_date_path_to_the_cent(led, settings, monkeypatch):
    fast = _quiet(estimate.rollforward, led, AS_OF, 12, settings)
    with monkeypatch.context() as m:
        _old_path(m)
        slow = _quiet(estimate.rollforward, led, AS_OF, 12, settings)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    # the messy write-offs are in: 120 + 80.25 + 7.01 on no invoice the ledger holds, by month
    wo = fast["write_offs"]
    assert wo.loc["2026-03-31"] >= 200.25 and wo.loc["2026-06-30"] >= 7.01
    assert (fast["new_provisions"] > 0).any() and (fast["releases"] > 0).any()
    # each row adds up: opening + charge - write-offs + recoveries = closing, to the cent
    c = (fast * 100).round().astype(np.int64)
    assert (c["opening"] + c["charge"] - c["write_offs"] + c["recoveries"] == c["closing"]).all()


def test_loss_backtest_equals_the_allowance_refitted_at_each_month_end(led):
    s = ProvisionSettings()
    bt = _quiet(ecl.loss_backtest, led, AS_OF, s, months=6)
    assert len(bt) == 6
    for r in bt.itertuples():  # second route: the allowance estimated alone at that date
        t = _quiet(
            estimate.estimate_allowance, led, r.month_end, settings_with(s, specific_statuses=())
        )
        t = t.set_index(C.bucket)
        assert (r.open_ar, r.allowance) == (t.at["total", "exposure"], t.at["total", "allowance"])


def test_panel_settlements_carried_on_are_one_pass_over_all_bit_for_bit(led):
    panel = rollrate._Panel(led, T)
    days = [rollrate._day(d) for d in ["2025-03-31", "2025-06-30", "2025-06-30", "2026-10-31"]]
    days += [rollrate._day("2024-09-30"), rollrate._day("2026-01-31")]  # back, then on again
    for day in days:
        want = led.settled_at(pd.Timestamp(day, unit="D"))
        assert np.array_equal(panel.settled_at(day), want)


def test_migration_cube_equals_the_full_arrays_reference(led):
    """The old state: every invoice's bucket at both month-ends, boolean masks."""
    ends = month_ends("2025-10-31", AS_OF)
    got = rollrate.migration_cube(led, ends, T)
    k, s = len(T) + 1, len(T) + 3
    amount, due = led.invoices[C.amount].to_numpy(), led.invoices[C.due_date].to_numpy()
    due = due.astype("datetime64[D]").astype(np.int64)
    inv_day = led.invoices[C.invoice_date].to_numpy().astype("datetime64[D]").astype(np.int64)
    txn = led.transactions
    code = pd.Index(led.invoices[C.invoice_id]).get_indexer(txn[C.invoice_id])

    def state(d):
        day = rollrate._day(d)
        raw = amount - led.settled_at(d)
        o = np.where((inv_day <= day) & (raw > 0.005), raw, 0.0)
        w = (txn[C.kind] == WRITE_OFF).to_numpy() & (code >= 0) & (txn[C.date] <= d).to_numpy()
        wo = np.bincount(code[w], weights=txn[C.amount].to_numpy()[w], minlength=len(amount))
        return o, wo, bucket_index(day - due, T)

    for i in range(len(ends) - 1):
        (o0, w0, b0), (o1, w1, b1) = state(ends[i]), state(ends[i + 1])
        live = o0 > 0
        drop = np.clip(o0[live] - o1[live], 0.0, None)
        wo = np.clip(w1[live] - w0[live], 0.0, drop)
        frm = b0[live] * s
        want = (
            np.bincount(frm + b1[live], weights=o1[live], minlength=k * s)
            + np.bincount(frm + k, weights=drop - wo, minlength=k * s)
            + np.bincount(frm + k + 1, weights=wo, minlength=k * s)
        ).reshape(k, s)
        assert np.array_equal(got[i], want)
    assert got[:, :, k + 1].sum() > 0  # write-offs migrate


def test_split_rows_keep_unknown_invoices_apart_as_ids_do():
    """Write-offs and recoveries on ids the ledger does not hold: one id's net is one item
    (written off 120.00, recovered 45.50: a new provision of 74.50), other ids stay apart (a
    recovery of 30.00 on a third is a release, not netted with the others), those on no
    invoice are one item; as when keyed by id. By hand, on a two-invoice ledger."""
    inv = pd.DataFrame(
        {
            C.invoice_id: ["A", "B"],
            C.business_unit: "aa",
            C.customer_id: "c",
            C.invoice_date: pd.to_datetime(["2026-01-05", "2026-01-20"]),
            C.due_date: pd.to_datetime(["2026-02-04", "2026-02-19"]),
            C.amount: [100.0, 50.0],
            C.currency: "EUR",
            C.disputed: False,
        }
    )
    txn = _txn(
        [
            ("ghost-1", "c", "2026-03-15", 120.0, WRITE_OFF),
            ("ghost-1", "c", "2026-03-20", 45.5, RECOVERY),
            ("ghost-2", "c", "2026-03-18", 80.25, WRITE_OFF),
            ("ghost-3", "c", "2026-03-25", 30.0, RECOVERY),
            (None, "c", "2026-03-02", 7.01, WRITE_OFF),
            (None, "c", "2026-03-03", 19.99, RECOVERY),
            ("A", "c", "2026-03-31", 10.0, WRITE_OFF),
            ("B", "c", "2026-02-28", 5.0, WRITE_OFF),  # in the month before: not counted
        ]
    )
    led = Ledger(inv, txn, None, validate=False)
    dates = pd.to_datetime(["2026-02-28", "2026-03-31"])
    empty = [pd.Series(dtype=np.int64), pd.Series(dtype=np.int64)]
    by_row = movement.split_rows(empty, dates, led)
    pd.testing.assert_frame_equal(
        by_row, movement.split(empty, dates, led.transactions), check_exact=True
    )
    row = by_row.iloc[0].to_dict()
    assert row["new_provisions"] == pytest.approx(74.5 + 80.25 + 10.0, abs=1e-9)
    assert row["releases"] == pytest.approx(30.0 + 12.98, abs=1e-9)
    assert row["write_offs"] == pytest.approx(217.26, abs=1e-9)
    assert row["recoveries"] == pytest.approx(95.49, abs=1e-9)


def _old_candidates(ledger, as_of, min_days_past_due, no_payment_days, min_amount):
    """The write-off policy as it was computed: every payment grouped by customer."""
    as_of = pd.Timestamp(as_of)
    items = ledger.open_items(as_of)
    txn = ledger.transactions
    pay = txn.loc[(txn[C.kind] == "payment") & (txn[C.date] <= as_of)]
    last = pay.groupby(C.customer_id)[C.date].max()
    items["last_payment_date"] = items[C.customer_id].map(last)
    items["days_since_payment"] = (as_of - items["last_payment_date"]).dt.days.astype("Int64")
    quiet = items["last_payment_date"].isna() | (items["days_since_payment"] >= no_payment_days)
    keep = quiet & (items[C.days_past_due] >= min_days_past_due)
    return items.loc[keep & (items[C.open_amount] >= min_amount)]


@pytest.mark.parametrize("policy", [(30, 12, 0.0), (30, 10, 0.0), (60, 45, 250.0), (0, 0, 0.0)])
def test_write_off_candidates_equal_every_payment_grouped(led, policy):
    """Last payments of the candidates' customers only, against all customers' payments: an
    unapplied payment counts, one after the close does not, a customer who never paid is a
    candidate (no last payment)."""
    items = led.open_items(AS_OF)
    c1, c2 = items[C.customer_id].iloc[0], items[C.customer_id].iloc[-1]
    extra = _txn(
        [
            (None, c1, "2026-10-20", 10.0, "payment"),  # unapplied, before the close
            (None, c2, "2026-11-03", 10.0, "payment"),  # after the close
        ]
    )
    txn = pd.concat([led.transactions, extra], ignore_index=True)
    due = set(items.loc[items[C.days_past_due] > 0, C.invoice_id].iloc[-3:])
    inv = led.invoices.copy()  # three items due: a customer whose payments are all elsewhere
    inv.loc[inv[C.invoice_id].isin(due), C.customer_id] = "never-paid"
    mine = Ledger(inv, txn, led.customers, validate=False)
    days, quiet, floor = policy
    got = estimate.write_off_candidates(
        mine, AS_OF, min_days_past_due=days, no_payment_days=quiet, min_amount=floor
    )
    want = _old_candidates(mine, AS_OF, days, quiet, floor)
    key = [C.customer_id, C.invoice_id]
    got_k = got.set_index(key)[["last_payment_date", "days_since_payment", C.open_amount]]
    want_k = want.set_index(key)[["last_payment_date", "days_since_payment", C.open_amount]]
    pd.testing.assert_frame_equal(got_k.sort_index(), want_k.sort_index())
    if policy == (0, 0, 0.0):  # every item due, the never-paying customer's without a date
        assert len(got) == (mine.open_items(AS_OF)[C.days_past_due] >= 0).sum()
        assert got.loc[got[C.customer_id] == "never-paid", "last_payment_date"].isna().all()
        assert (got[C.customer_id] == "never-paid").any() and (got[C.customer_id] == c1).any()
    if policy[:2] in ((30, 12), (30, 10)):  # paid (unapplied) 11 days before the close
        assert (c1 in set(got[C.customer_id])) == (policy[1] <= 11)
