"""The provision report's fast paths give the figures of the slower computations they replace,
to the cent (bit for bit where the arithmetic is the same): pools fitted in one pass against
each pool's own ledger, whole cents in numpy against Decimal rounding, and the backtest's and
the forecast's month-end reads against the open-items frames."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from arlib.ledger import Ledger, bucket_index
from arlib.provision import ecl, pools
from arlib.provision.allowance import cents, to_cents
from arlib.provision.lossforecast import entry_shares
from arlib.provision.models import fit_models
from arlib.provision.movement import SPLIT_COLUMNS, split
from arlib.provision.rollrate import lookback_month_ends
from arlib.provision.settings import ProvisionSettings
from arlib.provision.vintage import cohort_losses
from arlib.schemas import RECOVERY, WRITE_OFF, C

AS_OF = "2026-10-31"
LATE = "2026-05-01"  # the first invoice of the late pool: fewer month-ends than the look-back


@pytest.fixture(scope="module")
def frames(small_demo):
    """Unit aa of the small demo, its customers in three segments; the third's invoices (and
    their transactions) start only in May 2026."""
    f = {k: v.loc[v[C.business_unit] == "aa"].reset_index(drop=True) for k, v in small_demo.items()}
    cust = f["customers"].copy()
    cust[C.segment] = np.array(["p", "q", "r"])[np.arange(len(cust)) % 3]
    late = set(cust.loc[cust[C.segment] == "r", C.customer_id])
    inv = f["invoices"]
    gone = inv[C.customer_id].isin(late) & (inv[C.invoice_date] < LATE)
    txn = f["transactions"]
    keep = ~txn[C.invoice_id].isin(set(inv.loc[gone, C.invoice_id]))
    return {"invoices": inv.loc[~gone], "transactions": txn.loc[keep], "customers": cust}


def _ledger(f) -> Ledger:
    return Ledger(f["invoices"], f["transactions"], f["customers"], validate=False)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    return out, [str(w.message) for w in caught]


POOLED = ProvisionSettings(provision_booking="pooled", roll_rate_lookback=18)


def test_pools_in_one_pass_are_each_pools_own_ledger_bit_for_bit(frames):
    led = _ledger(frames)
    fast, said = _quiet(pools.fit_pools, led, AS_OF, POOLED, ["roll_rate"])
    assert sorted(fast) == ["p", "q", "r"] and all(m.ledger is led for m in fast.values())
    slow_said = []
    for name, ids in pools.pool_ids(led, "segment").items():
        own, w = _quiet(fit_models, pools.sub_ledger(led, ids), AS_OF, POOLED, ["roll_rate"])
        slow_said += [f"pool {name}: {m}" for m in w]
        a, b = fast[name].roll_rate, own.roll_rate
        assert a.month_ends_.equals(b.month_ends_)
        assert np.array_equal(a.flows_, b.flows_) and np.array_equal(a.P_, b.P_)
        pd.testing.assert_frame_equal(a.loss_rates_, b.loss_rates_, check_exact=True)
        pd.testing.assert_frame_equal(a.roll_rates_, b.roll_rates_, check_exact=True)
        kept = [str(x) for x in fast[name].warnings["roll_rate"]]
        assert kept == [str(x) for x in own.warnings["roll_rate"]]
    # the late pool starts at its own first month-end, as on its own ledger, and says so
    assert len(fast["r"].roll_rate.month_ends_) == 6 < len(fast["p"].roll_rate.month_ends_) == 19
    assert said == slow_said and any(m.startswith("pool r: roll rates: only 5") for m in said)


def test_pool_lines_in_one_pass_equal_the_pools_own_ledgers(frames):
    led = _ledger(frames)
    # fitted with every method, each pool's models come from its own ledger: the second route
    own, _ = _quiet(pools.fit_models, led, AS_OF, POOLED)
    assert all(m.ledger is not led for m in own.pools.values())
    slow, _ = _quiet(pools.pool_lines, led, AS_OF, POOLED, "roll_rate", own)
    fast, _ = _quiet(pools.pool_lines, led, AS_OF, POOLED, "roll_rate")
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert set(fast["pool"]) == {"p", "q", "r"} and fast["allowance"].sum() > 0
    # the pooled matrix, and a history of month-ends (the roll-forward's refits), likewise
    for d in ("2026-07-31", "2026-08-31"):
        again, _ = _quiet(pools.pool_lines, led, d, POOLED, "roll_rate")
        subs = {n: pools.sub_ledger(led, ids) for n, ids in pools.pool_ids(led, "segment").items()}
        by_own = {n: _quiet(fit_models, sub, d, POOLED)[0] for n, sub in subs.items()}
        ref = replace(_quiet(fit_models, led, d, POOLED)[0], pools=by_own)
        expect, _ = _quiet(pools.pool_lines, led, d, POOLED, "roll_rate", ref)
        pd.testing.assert_frame_equal(again, expect, check_exact=True)


def test_a_payment_naming_another_pools_customer_keeps_each_pools_own_ledger(frames):
    f = dict(frames)
    txn = f["transactions"].copy()
    cust = f["customers"]
    p_ids = set(cust.loc[cust[C.segment] == "p", C.customer_id])
    q_one = cust.loc[cust[C.segment] == "q", C.customer_id].iloc[0]
    row = txn.index[txn[C.customer_id].isin(p_ids) & txn[C.invoice_id].notna()][0]
    txn.loc[row, C.customer_id] = q_one  # applied to a p invoice, paid by a q customer
    f["transactions"] = txn
    led = _ledger(f)
    assert pools.pool_codes(led, pools.pool_of(led, "segment")) is None
    fitted, _ = _quiet(pools.fit_pools, led, AS_OF, POOLED, ["roll_rate"])
    assert all(m.ledger is not led for m in fitted.values())  # each pool's own ledger
    pm, _ = _quiet(ecl.pooled_matrix, led, AS_OF, POOLED)
    for name, ids in pools.pool_ids(led, "segment").items():
        own, _ = _quiet(fit_models, pools.sub_ledger(led, ids), AS_OF, POOLED, ["roll_rate"])
        assert np.array_equal(fitted[name].roll_rate.flows_, own.roll_rate.flows_)
    assert pm.iloc[-1]["allowance"] > 0


def test_cents_in_numpy_are_decimal_rounding_half_up():
    rng = np.random.default_rng(5)
    grid = rng.integers(-(10**11), 10**11, 2000) / 100  # amounts rounded to the cent
    awkward = [2.675, 1.005, -0.005, 0.125, 0.1 + 0.2, 1e-9, 1e13 + 0.5, 123456789.015, 0.0]
    values = np.concatenate([grid, grid * 1.0000001, awkward])
    assert cents(values).tolist() == [to_cents(v) for v in values]
    assert cents([]).tolist() == []


def test_backtest_write_offs_are_those_on_the_invoices_open_at_each_month_end(frames):
    led = _ledger(frames)
    # write-offs and recoveries by hand: on items open at 2025-07-31, and on a later invoice
    # (not open at the early month-ends: its losses count only from its own month-end on)
    early = led.open_items("2025-07-31")
    early = early.loc[early[C.invoice_id].isin(led.open_items("2025-08-31")[C.invoice_id])].head(4)
    sept = led.open_items("2025-10-31")
    sept = sept.loc[sept[C.invoice_date].between("2025-09-05", "2025-09-30")]
    later_inv = sept.iloc[0]  # open at 2025-09-30 and 2025-10-31 only
    rows = [
        (i, c, "2026-01-15", 7.5, WRITE_OFF)
        for i, c in zip(early[C.invoice_id], early[C.customer_id])
    ]
    rows += [
        (early[C.invoice_id].iloc[0], early[C.customer_id].iloc[0], "2026-02-10", 2.25, RECOVERY)
    ]
    rows += [(later_inv[C.invoice_id], later_inv[C.customer_id], "2025-12-01", 4.0, WRITE_OFF)]
    # dated on a month-end: after 2025-07-31, not after 2025-08-31
    rows += [
        (early[C.invoice_id].iloc[1], early[C.customer_id].iloc[1], "2025-08-31", 1.25, WRITE_OFF)
    ]
    extra = pd.DataFrame(
        {
            C.txn_id: [f"hand{i}" for i in range(len(rows))],
            C.business_unit: "aa",
            C.customer_id: [r[1] for r in rows],
            C.invoice_id: [r[0] for r in rows],
            C.date: pd.to_datetime([r[2] for r in rows]),
            C.amount: [r[3] for r in rows],
            C.kind: [r[4] for r in rows],
        }
    )
    f = dict(frames, transactions=pd.concat([frames["transactions"], extra], ignore_index=True))
    led = _ledger(f)
    bt, _ = _quiet(ecl.loss_backtest, led, AS_OF, ProvisionSettings(), months=4)
    t = led.transactions
    for r in bt.itertuples():  # second route: the open items' ids, matched by name
        d = r.month_end
        ids = led.open_items(d)[C.invoice_id]
        later = t.loc[
            (t[C.date] > d)
            & (t[C.date] <= d + pd.DateOffset(months=12))
            & t[C.invoice_id].isin(ids)
        ]
        wo = later.loc[later[C.kind] == WRITE_OFF, C.amount].sum()
        assert r.written_off == round(float(wo), 2)
        assert r.recovered == round(float(later.loc[later[C.kind] == RECOVERY, C.amount].sum()), 2)
    # by hand: 7.50 on each of the four items still open at the month-end (all four at
    # 2025-07-31), 4.00 on the September invoice from 2025-09-30 on, 1.25 dated 2025-08-31
    # at 2025-07-31 only; the recovery while open
    hand = []
    for d in bt[C.month_end]:
        now = set(led.open_items(d)[C.invoice_id])
        n = sum(i in now for i in early[C.invoice_id])
        hand.append(7.5 * n + (4.0 if later_inv[C.invoice_id] in now else 0.0))
    hand[0] += 1.25
    assert list(bt["written_off"]) == hand and hand[0] == 31.25 and hand[-1] >= 4.0
    assert bt["recovered"].iloc[0] == 2.25


def test_entry_shares_are_the_month_ends_open_items_of_the_months_invoices(frames):
    led = _ledger(frames)
    ends = lookback_month_ends(led, AS_OF, 12)
    entered, invoiced = entry_shares(led, ends, (0, 30, 60, 90, 120))
    inv = led.invoices
    for i, (a, b) in enumerate(zip(ends[:-1], ends[1:])):  # the open items of each month-end
        items = led.open_items(b)
        items = items.loc[items[C.invoice_date] > a]
        idx = bucket_index(items[C.days_past_due].to_numpy(), (0, 30, 60, 90, 120))
        want = np.bincount(idx, weights=items[C.open_amount].to_numpy(), minlength=6)
        assert np.array_equal(entered[i], want)
        new = (inv[C.invoice_date] > a) & (inv[C.invoice_date] <= b)
        assert invoiced[i] == inv.loc[new, C.amount].sum()
    assert entered.sum() > 0


@pytest.mark.parametrize("net", [False, True])
def test_cohort_losses_by_codes_equal_the_join_on_invoice_ids(frames, net):
    f = dict(frames)
    inv, txn = f["invoices"], f["transactions"]
    pick = inv.iloc[[3, 40, 41, len(inv) - 1]]  # the last is invoiced after the close below
    extra = pd.DataFrame(
        {
            C.txn_id: ["w1", "w2", "r1", "w3", "u1"],
            C.business_unit: "aa",
            C.customer_id: [*pick[C.customer_id], pick[C.customer_id].iloc[0]],
            C.invoice_id: [*pick[C.invoice_id], None],  # u1: a recovery on no invoice
            C.date: pd.to_datetime(
                ["2025-06-03", "2025-11-20", "2026-01-05", "2026-10-30", "2026-02-01"]
            ),
            C.amount: [12.5, 30.0, 4.25, 9.0, 1.0],
            C.kind: [WRITE_OFF, WRITE_OFF, RECOVERY, WRITE_OFF, RECOVERY],
        }
    )
    f["transactions"] = pd.concat([txn, extra], ignore_index=True)
    led = _ledger(f)
    as_of = pd.Timestamp("2026-09-30")
    invoiced, losses = cohort_losses(led, as_of, net)
    # second route: the join on invoice ids the module used to make
    kept = led.invoices.loc[led.invoices[C.invoice_date] <= as_of]
    cohort = kept[C.invoice_date].dt.to_period("M")
    t = led.transactions
    kinds = [WRITE_OFF, RECOVERY] if net else [WRITE_OFF]
    t = t.loc[(t[C.date] <= as_of) & t[C.kind].isin(kinds)].merge(
        pd.DataFrame(
            {C.invoice_id: kept[C.invoice_id], "cohort": cohort, "issued": kept[C.invoice_date]}
        ),
        on=C.invoice_id,
    )
    age = (t[C.date].dt.year - t["issued"].dt.year) * 12 + t[C.date].dt.month - t["issued"].dt.month
    sign = np.where(t[C.kind] == RECOVERY, -1.0, 1.0)
    want = (
        pd.DataFrame({"cohort": t["cohort"], "age": age.astype(int), "loss": sign * t[C.amount]})
        .groupby(["cohort", "age"], as_index=False)["loss"]
        .sum()
    )
    pd.testing.assert_frame_equal(losses, want, check_exact=True)
    assert invoiced.equals(kept[C.amount].groupby(cohort).sum().rename("invoiced"))
    assert losses["loss"].sum() == pytest.approx(42.5 - (4.25 if net else 0.0))  # w3: after as_of


def test_split_by_numbered_invoices_equals_the_union_of_ids():
    rng = np.random.default_rng(9)
    dates = pd.to_datetime(["2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31"])
    pool = [f"i{k:03d}" for k in range(60)]
    allowances = [
        pd.Series(rng.integers(0, 50_000, 40), index=rng.choice(pool, 40, replace=False))
        for _ in dates
    ]
    n = 30
    txn = pd.DataFrame(
        {
            C.invoice_id: [*rng.choice(pool + ["x1", "x2"], n - 2), None, None],
            C.date: rng.choice(pd.date_range("2026-07-15", "2026-10-31"), n),
            C.amount: rng.integers(1, 90_000, n) / 100,
            C.kind: rng.choice([WRITE_OFF, RECOVERY, "payment"], n),
        }
    )
    got = split(allowances, dates, txn)
    rows = []  # second route: the ids of each period matched by name (the module's old way)
    for i in range(1, len(dates)):
        t = txn.loc[(txn[C.date] > dates[i - 1]) & (txn[C.date] <= dates[i])]
        key = t[C.invoice_id].fillna("").astype(str)
        amount = t[C.amount].map(to_cents)
        wo = amount[t[C.kind] == WRITE_OFF].groupby(key).sum()
        rec = amount[t[C.kind] == RECOVERY].groupby(key).sum()
        o, c = allowances[i - 1], allowances[i]
        ids = o.index.union(c.index).union(wo.index).union(rec.index)
        delta = sum(
            sign * x.reindex(ids, fill_value=0) for sign, x in ((1, c), (-1, o), (1, wo), (-1, rec))
        )
        new, rel = int(delta[delta > 0].sum()), int(-delta[delta < 0].sum())
        rows.append([o.sum(), new, rel, new - rel, wo.sum(), rec.sum(), 0, c.sum()])
    want = pd.DataFrame(
        rows, columns=SPLIT_COLUMNS, index=pd.DatetimeIndex(dates[1:], name=C.month_end)
    )
    pd.testing.assert_frame_equal(got, want / 100, check_dtype=False, check_exact=True)
    assert (got["write_offs"] > 0).any() and (got["recoveries"] > 0).any()
