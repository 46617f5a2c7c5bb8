"""The seeded synthetic ledger that feeds the demo, the tests and the doctests.

Every customer has a known payment *behaviour*, kept in the ``behaviour`` column of the
customers frame (a demo-only column; real data does not have it):

``prompt``
    pays around the due date (a few days early to a few days late);
``chronic_late``
    pays two to eight weeks late, and a small share of its invoices is never paid;
``deteriorating``
    pays on time until a random month, then later by ~3 days more every month;
``defaulting``
    pays late until its default date, then pays nothing: its open invoices are written off
    five to eight months later, and some of that is recovered later still.

Invoicing follows a yearly seasonal pattern and grows by ``growth`` a year. Disputed invoices
are paid later and often credited in part or whole; some invoices are paid in two parts; a
few customers send advance payments that are not applied to any invoice. Events dated after
``end`` are dropped: they have not happened yet at the extraction date, so the ledger has open
items at ``end``.

>>> frames = generate(seed=1, units={"xx": UNITS["de"]}, start="2024-01-01", end="2024-06-30")
>>> sorted(frames)
['collector_notes', 'customers', 'invoices', 'transactions']
>>> bool((frames["invoices"]["business_unit"] == "xx").all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arlib.schemas import CREDIT_NOTE, NOTE_COLUMNS, PAYMENT, RECOVERY, WRITE_OFF, C

START, END = "2022-07-01", "2026-10-31"
BEHAVIOURS = ("prompt", "chronic_late", "deteriorating", "defaulting")


@dataclass(frozen=True)
class UnitSpec:
    currency: str
    customers: int
    invoices_per_customer_month: float
    mean_invoice: float
    growth: float  # per year
    season_peak_month: int
    mix: tuple[float, float, float, float]  # shares of BEHAVIOURS
    names: tuple[tuple[str, ...], tuple[str, ...]]


_WEST = (
    (
        "Nordlicht",
        "Alpen",
        "Kessler",
        "Brightwater",
        "Harbor",
        "Summit",
        "Oakridge",
        "Bluefin",
        "Redwood",
        "Ironbridge",
        "Silverline",
        "Meridian",
        "Falcon",
        "Granite",
        "Lakeside",
        "Pioneer",
        "Sterling",
        "Westgate",
        "Crescent",
        "Evergreen",
    ),
    (
        "Logistics",
        "Foods",
        "Engineering",
        "Retail",
        "Systems",
        "Pharma",
        "Textiles",
        "Smith & Sons",
        "Trading",
        "Electrics",
        "Hotels",
        "Print",
        "Motors",
        "Health",
    ),
)
_CN = (
    (
        "华东",
        "长江",
        "恒通",
        "东方",
        "金桥",
        "星河",
        "鼎盛",
        "天和",
        "安泰",
        "宏达",
        "新时代",
        "联合",
        "瑞丰",
        "中原",
        "海天",
        "明珠",
    ),
    (
        "物流有限公司",
        "食品有限公司",
        "机械制造",
        "零售集团",
        "科技有限公司",
        "医药公司",
        "纺织厂",
        "贸易公司",
        "电子有限公司",
    ),
)

UNITS: dict[str, UnitSpec] = {
    "de": UnitSpec("EUR", 70, 2.2, 4_800.0, 0.05, 11, (0.55, 0.2, 0.15, 0.10), _WEST),
    "us": UnitSpec("USD", 110, 2.6, 6_500.0, 0.09, 12, (0.45, 0.3, 0.15, 0.10), _WEST),
    "uk": UnitSpec("GBP", 55, 1.8, 3_900.0, 0.03, 3, (0.5, 0.25, 0.12, 0.13), _WEST),
    "cn": UnitSpec("CNY", 90, 2.4, 31_000.0, 0.12, 1, (0.4, 0.3, 0.15, 0.15), _CN),
}
SEGMENTS = ("enterprise", "mid-market", "small")
TERMS = {"enterprise": (45, 60), "mid-market": (30, 45), "small": (30, 30)}


def generate(
    seed: int = 7,
    units: dict[str, UnitSpec] | None = None,
    start: str = START,
    end: str = END,
    notes: bool = True,
) -> dict[str, pd.DataFrame]:
    """Canonical ``invoices``, ``transactions`` and ``customers`` frames for every unit, and
    with ``notes`` a small ``collector_notes`` frame (:func:`collector_notes`)."""
    rng = np.random.default_rng(seed)
    parts = [
        _unit(bu, spec, rng, pd.Timestamp(start), pd.Timestamp(end))
        for bu, spec in (units or UNITS).items()
    ]
    out = {
        k: pd.concat([p[k] for p in parts], ignore_index=True)
        for k in ("invoices", "transactions", "customers")
    }
    if notes:  # their own random stream: the other frames are the same with or without them
        out["collector_notes"] = collector_notes(out, pd.Timestamp(end), seed)
    return out


#: the demo's collectors, by unit language
OWNERS = {"cn": ("王丽", "李强", "张伟"), "": ("A. Weber", "B. Carter", "C. Diaz")}
REASONS = ("price", "quantity", "quality", "not received")


def collector_notes(
    frames: dict[str, pd.DataFrame], end: pd.Timestamp, seed: int = 7
) -> pd.DataFrame:
    """A small ``collector_notes`` frame (:mod:`arlib.io.notes`) per unit, consistent with the
    ledger at ``end``: promises kept (a payment followed within the promise), broken (the
    item is still open after the promise date), pending (promised after ``end``), and
    disputes on open disputed items. Owners are fixed per customer."""
    from arlib.ledger import Ledger  # same rank; only the notes need the open items

    rng = np.random.default_rng([seed, 14])
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"], validate=False)
    items = led.open_items(end)
    txn = frames["transactions"]
    pay = txn.loc[(txn[C.kind] == PAYMENT) & txn[C.invoice_id].notna()]
    pay = pay.loc[pay[C.date].between(end - pd.Timedelta(days=120), end)]
    rows = []
    for bu in sorted(frames["invoices"][C.business_unit].unique()):
        owners = OWNERS.get(bu, OWNERS[""])
        cust = frames["customers"]
        custs = sorted(cust.loc[cust[C.business_unit] == bu, C.customer_id])
        owner = {c: owners[i % len(owners)] for i, c in enumerate(custs)}

        def note(r, noted, promise=None, amount=None, reason=None, bu=bu, owner=owner):
            who = owner.get(r.customer_id)
            rows.append((bu, r.customer_id, r.invoice_id, noted, promise, amount, reason, who))

        def days(lo: int, hi: int) -> pd.Timedelta:
            return pd.Timedelta(days=int(rng.integers(lo, hi)))

        mine, late = pay.loc[pay[C.business_unit] == bu], items.loc[items[C.business_unit] == bu]
        due = late.loc[(late[C.days_past_due] > 20) & ~late[C.disputed]]
        for r in mine.sample(min(6, len(mine)), random_state=rng.integers(1 << 31)).itertuples():
            note(r, r.date - days(3, 15), r.date + days(0, 5), r.amount)  # kept
        picked = due.sample(min(10, len(due)), random_state=rng.integers(1 << 31))
        for k, r in enumerate(picked.itertuples()):
            pending = k >= 8  # the last two promise after the close; the others are broken
            noted = end - (pd.Timedelta(days=5) if pending else days(20, 60))
            promise = noted + days(5, 15) + pd.Timedelta(days=10 if pending else 0)
            note(r, noted, promise, r.open_amount)
        disputed = late.loc[late[C.disputed]]
        for r in disputed.sample(
            min(6, len(disputed)), random_state=rng.integers(1 << 31)
        ).itertuples():
            noted = min(r.invoice_date + days(5, 40), end - days(1, 10))
            note(r, noted, reason=REASONS[int(rng.integers(len(REASONS)))])
    out = pd.DataFrame(rows, columns=list(NOTE_COLUMNS))
    for c in (C.date, C.promise_date):
        out[c] = pd.to_datetime(out[c])
    out[C.promise_amount] = out[C.promise_amount].astype(float).round(2)
    return out


def _customers(bu: str, spec: UnitSpec, rng, start, end) -> pd.DataFrame:
    n = spec.customers
    first, second = spec.names
    names = [
        f"{first[i % len(first)]} {second[(i * 7 + i // len(first)) % len(second)]}"
        for i in range(n)
    ]
    names = [
        f"{nm} {i // (len(first) * len(second)) + 1}" if i >= len(first) * len(second) else nm
        for i, nm in enumerate(names)
    ]
    segment = rng.choice(SEGMENTS, size=n, p=[0.2, 0.4, 0.4])
    size = np.exp(rng.normal(0, 0.6, n)) * np.select(
        [segment == "enterprise", segment == "mid-market"], [3.0, 1.2], 0.5
    )
    behaviour = rng.choice(BEHAVIOURS, size=n, p=spec.mix)
    terms = np.array([rng.choice(TERMS[s]) for s in segment])
    monthly = size * spec.invoices_per_customer_month * spec.mean_invoice
    credit_limit = np.round(monthly * rng.uniform(1.5, 3.5, n), -3)
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    # default month for defaulting customers: some after the extraction date (not yet known)
    default_at = np.where(
        behaviour == "defaulting", rng.integers(months // 3, months + 6, n), 10**6
    )
    deteriorate_at = np.where(
        behaviour == "deteriorating", rng.integers(months // 3, months - 3, n), 10**6
    )
    defaulted_by_end = default_at < months
    status = np.where(
        defaulted_by_end, np.where(rng.random(n) < 0.5, "insolvent", "legal"), "active"
    )
    # the status takes effect after the default: legal action a month later, insolvency two
    # (mid-month, never after the extraction date); no random draw, so other figures stay put
    lag = np.where(status == "insolvent", 2, 1)
    first = start.to_period("M").to_timestamp()
    since = pd.to_datetime(
        [
            first + pd.DateOffset(months=int(m)) + pd.Timedelta(days=14)
            if s != "active"
            else pd.NaT
            for m, s in zip(np.minimum(default_at + lag, 10**4), status, strict=True)
        ]
    )
    since = since.where(since.isna() | (since <= end), end)
    return pd.DataFrame(
        {
            C.customer_id: [f"{bu.upper()}-C{i:03d}" for i in range(n)],
            C.business_unit: bu,
            C.name: names,
            C.segment: segment,
            C.credit_limit: credit_limit,
            C.terms_days: terms.astype(int),
            C.status: status,
            C.status_since: since,
            "behaviour": behaviour,
            "size": size,
            "default_month": default_at,
            "deteriorate_month": deteriorate_at,
        }
    )


def _unit(
    bu: str, spec: UnitSpec, rng, start: pd.Timestamp, end: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    cust = _customers(bu, spec, rng, start, end)
    month_starts = pd.date_range(start.to_period("M").to_timestamp(), end, freq="MS")
    m_idx = np.arange(len(month_starts))
    season = 1 + 0.18 * np.cos(2 * np.pi * (month_starts.month - spec.season_peak_month) / 12)
    trend = (1 + spec.growth) ** (m_idx / 12)
    rate = np.outer(cust["size"].to_numpy() * spec.invoices_per_customer_month, season * trend)
    rate[m_idx[None, :] >= cust["default_month"].to_numpy()[:, None] + 1] = (
        0.0  # no sales after default
    )
    counts = rng.poisson(rate)
    ci, mi = np.nonzero(counts)
    reps = counts[ci, mi]
    ci, mi = np.repeat(ci, reps), np.repeat(mi, reps)
    n = len(ci)
    days_in_month = month_starts.days_in_month.to_numpy()[mi]
    inv_date = month_starts.to_numpy()[mi] + (rng.random(n) * days_in_month).astype(
        "timedelta64[D]"
    )
    order = np.lexsort((ci, inv_date))
    ci, mi, inv_date = ci[order], mi[order], inv_date[order]
    keep = inv_date <= np.datetime64(end)
    ci, mi, inv_date, n = ci[keep], mi[keep], inv_date[keep], int(keep.sum())
    terms = cust[C.terms_days].to_numpy()[ci]
    due = inv_date + terms.astype("timedelta64[D]")
    amount = np.round(
        spec.mean_invoice
        * np.exp(rng.normal(-0.18, 0.6, n))
        * (0.6 + 0.4 * cust["size"].to_numpy()[ci] ** 0.3),
        2,
    )
    beh = cust["behaviour"].to_numpy()[ci]
    disputed = rng.random(n) < np.where(beh == "chronic_late", 0.09, 0.04)
    ids = np.array([f"{bu.upper()}-{k:06d}" for k in range(1, n + 1)])
    invoices = pd.DataFrame(
        {
            C.invoice_id: ids,
            C.business_unit: bu,
            C.customer_id: cust[C.customer_id].to_numpy()[ci],
            C.invoice_date: pd.to_datetime(inv_date),
            C.due_date: pd.to_datetime(due),
            C.amount: amount,
            C.currency: spec.currency,
            C.disputed: disputed,
        }
    )
    txns = _transactions(bu, cust, invoices, ci, mi, beh, rng, end)
    return {
        "invoices": invoices,
        "transactions": txns,
        "customers": cust.drop(columns=["size", "default_month", "deteriorate_month"]),
    }


def _lateness(beh, mi, ci, cust, rng) -> np.ndarray:
    """Signed days late (payment date - due date) per invoice, by behaviour."""
    n = len(beh)
    late = rng.normal(-3, 4, n)  # prompt
    chronic = beh == "chronic_late"
    late[chronic] = 12 + rng.gamma(2.0, 12.0, chronic.sum())
    det = beh == "deteriorating"
    since = np.clip(mi - cust["deteriorate_month"].to_numpy()[ci], 0, None)
    late[det] = rng.normal(0, 5, det.sum()) + 3.0 * since[det] + rng.gamma(1.5, 2.0 + since[det])
    dflt = beh == "defaulting"
    late[dflt] = 8 + rng.gamma(2.0, 9.0, dflt.sum())
    return late


def _transactions(bu, cust, inv, ci, mi, beh, rng, end) -> pd.DataFrame:
    n = len(inv)
    amount = inv[C.amount].to_numpy()
    inv_date = inv[C.invoice_date].to_numpy()
    due = inv[C.due_date].to_numpy()
    disputed = inv[C.disputed].to_numpy()
    late = _lateness(beh, mi, ci, cust, rng) + np.where(disputed, rng.uniform(15, 45, n), 0)
    pay_date = np.maximum(
        due + np.round(late).astype("timedelta64[D]"), inv_date + np.timedelta64(1, "D")
    )
    default_month = cust["default_month"].to_numpy()[ci]
    month_start = inv[C.invoice_date].dt.to_period("M").dt.to_timestamp().to_numpy()
    default_date = month_start + ((default_month - mi) * 30.4).astype("timedelta64[D]")
    # unpaid: everything of a defaulter not paid before its default date, and a few chronic-late items
    unpaid = ((beh == "defaulting") & (pay_date >= default_date)) | (
        (beh == "chronic_late") & (rng.random(n) < 0.012)
    )
    rows = []
    # credit notes: on disputes (often large) and a few ordinary ones
    cn_share = np.where(
        disputed,
        np.where(rng.random(n) < 0.2, 1.0, rng.uniform(0.05, 0.3, n)),
        rng.uniform(0.05, 0.15, n),
    )
    has_cn = (disputed & (rng.random(n) < 0.45)) | (~disputed & (rng.random(n) < 0.02))
    cn_amt = np.where(has_cn, np.round(amount * cn_share, 2), 0.0)
    cn_date = inv_date + rng.integers(5, 50, n).astype("timedelta64[D]")
    rows.append((np.nonzero(has_cn)[0], cn_date[has_cn], cn_amt[has_cn], CREDIT_NOTE))
    remaining = np.round(amount - cn_amt, 2)
    # partial payments: a first instalment two to four weeks before the final one
    pays = (~unpaid) & (remaining > 0)
    split = pays & (rng.random(n) < 0.10)
    first_amt = np.where(split, np.round(remaining * rng.uniform(0.3, 0.7, n), 2), 0.0)
    first_date = np.maximum(pay_date - rng.integers(14, 30, n).astype("timedelta64[D]"), inv_date)
    rows.append((np.nonzero(split)[0], first_date[split], first_amt[split], PAYMENT))
    rows.append(
        (np.nonzero(pays)[0], pay_date[pays], np.round(remaining - first_amt, 2)[pays], PAYMENT)
    )
    # write-offs of unpaid items 5-8 months after due (or default), partial recoveries later
    basis = np.where(beh == "defaulting", np.maximum(default_date, due), due)
    wo_date = basis + rng.integers(150, 240, n).astype("timedelta64[D]")
    wo = unpaid & (remaining > 0)
    rows.append((np.nonzero(wo)[0], wo_date[wo], remaining[wo], WRITE_OFF))
    rec = wo & (rng.random(n) < 0.35)
    rec_date = wo_date + rng.integers(60, 200, n).astype("timedelta64[D]")
    rows.append(
        (
            np.nonzero(rec)[0],
            rec_date[rec],
            np.round(remaining * rng.uniform(0.1, 0.4, n), 2)[rec],
            RECOVERY,
        )
    )
    idx = np.concatenate([r[0] for r in rows])
    txn = pd.DataFrame(
        {
            C.business_unit: bu,
            C.customer_id: inv[C.customer_id].to_numpy()[idx],
            C.invoice_id: inv[C.invoice_id].to_numpy()[idx].astype(object),
            C.date: pd.to_datetime(np.concatenate([r[1] for r in rows])),
            C.amount: np.concatenate([r[2] for r in rows]),
            C.kind: np.concatenate([[r[3]] * len(r[0]) for r in rows]),
        }
    )
    txn = pd.concat(
        [txn, _advances(bu, cust, rng, inv[C.invoice_date].min(), end)], ignore_index=True
    )
    txn = txn.loc[(txn[C.date] <= end) & (txn[C.amount] > 0)]
    txn = txn.sort_values([C.date, C.invoice_id], kind="stable", na_position="last").reset_index(
        drop=True
    )
    txn.insert(0, C.txn_id, [f"{bu.upper()}-T{k:07d}" for k in range(1, len(txn) + 1)])
    return txn


def _advances(bu, cust, rng, start, end) -> pd.DataFrame:
    """A few advance receipts: cash from prompt customers not applied to any invoice."""
    who = cust.loc[cust["behaviour"] == "prompt"].sample(
        frac=0.15, random_state=rng.integers(1 << 31)
    )
    dates = start + pd.to_timedelta(rng.integers(0, (end - start).days + 1, len(who)), unit="D")
    return pd.DataFrame(
        {
            C.business_unit: bu,
            C.customer_id: who[C.customer_id].to_numpy(),
            C.invoice_id: None,
            C.date: dates,
            C.amount: np.round(rng.uniform(500, 5000, len(who)), 2),
            C.kind: PAYMENT,
        }
    )
