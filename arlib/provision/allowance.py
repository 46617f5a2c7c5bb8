"""The allowance itself: provision matrix, specific provisions, roll-forward, write-off candidates.

Money is rounded to the cent with *round half up* (commercial rounding) on the exact decimal
value of the inputs, via :mod:`decimal`; totals are sums of rounded lines, so every table adds
up to the cent.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from arlib.errors import ConfigError, DataError
from arlib.ledger import DEFAULT_THRESHOLDS, Ledger, ledger_arrays
from arlib.provision.monthends import close_items
from arlib.schemas import PAYMENT, RECOVERY, TXN_KINDS, WRITE_OFF, C

TOTAL, SPECIFIC = "total", "specific"
EXPOSURE, LOSS_RATE, BASE_LOSS_RATE, ALLOWANCE = (
    "exposure",
    "loss_rate",
    "base_loss_rate",
    "allowance",
)
_CENT = Decimal("0.01")


# -- money ----------------------------------------------------------------------------------
def to_cents(x: float) -> int:
    """Amount in whole cents, rounded half up (``Decimal(repr(x))``: the shortest decimal of x).

    >>> to_cents(2.675), to_cents(-0.005), to_cents(10)
    (268, -1, 1000)
    """
    return int(Decimal(repr(float(x))).quantize(_CENT, rounding=ROUND_HALF_UP) * 100)


def column_sum(values: np.ndarray) -> float:
    """``values`` added up as pandas adds a float column (missing as 0, numpy's pairwise
    sum): the same float as ``frame.loc[rows, column].sum()`` of those values in that order,
    without the frame."""
    return float(pd.Series(values, dtype=float).sum())


def cents(values) -> np.ndarray:
    """:func:`to_cents` of every value, as ``int64``. A value that is a whole number of cents
    (the nearest float to ``c / 100``, as amounts rounded to the cent are) is ``c`` itself, so
    ``rint(100 x)`` is exact there; any other value, and amounts of a trillion or more, take
    :func:`to_cents` (a report's millions of items would cost seconds of Decimals).

    >>> cents([2.675, 0.1, 10.0, 1e-9]).tolist()
    [268, 10, 1000, 0]
    """
    v = np.asarray(values, dtype=float).reshape(-1)
    with np.errstate(invalid="ignore"):
        c = np.rint(v * 100)
        fast = (np.abs(v) < 1e12) & (c / 100 == v)
    out = np.where(fast, c, 0.0).astype(np.int64)
    for i in np.flatnonzero(~fast):
        out[i] = to_cents(v[i])
    return out


def _cents_times_rate(cents: int, rate: float) -> int:
    d = Decimal(cents) / 100 * Decimal(repr(float(rate)))
    return int(d.quantize(_CENT, rounding=ROUND_HALF_UP) * 100)


# -- provision matrix -----------------------------------------------------------------------
def _keyed(values, what: str) -> pd.Series:
    s = (
        pd.Series(values, dtype=float)
        if isinstance(values, Mapping)
        else pd.Series(values).astype(float)
    )
    s.index = s.index.astype(str)
    if s.index.has_duplicates:
        raise ConfigError(
            what, f"has duplicate buckets: {sorted(set(s.index[s.index.duplicated()]))}"
        )
    return s


def scenario_table(adjustment) -> pd.DataFrame:
    """Forward-looking adjustment as scenarios ``scenario, weight, adjustment`` (weights sum to 1).

    ``adjustment`` is a scalar (one scenario, weight 1), a mapping ``name -> (weight, adjustment)``
    or a frame with those columns. An adjustment ``a`` scales every loss rate by ``1 + a``.

    >>> scenario_table({"base": (0.7, 0.0), "downside": (0.3, 0.5)})["weight"].tolist()
    [0.7, 0.3]
    """
    if isinstance(adjustment, pd.DataFrame):
        table = adjustment[["scenario", "weight", "adjustment"]].copy()
    elif isinstance(adjustment, Mapping):
        try:
            rows = [(str(k), float(v[0]), float(v[1])) for k, v in adjustment.items()]
        except (TypeError, IndexError, ValueError):
            raise ConfigError(
                "forward_scenarios",
                "each scenario must be [weight, adjustment], e.g. "
                '{"base": [0.6, 0.0], "downside": [0.4, 0.3]}',
            ) from None
        table = pd.DataFrame(rows, columns=["scenario", "weight", "adjustment"])
    else:
        table = pd.DataFrame(
            {"scenario": ["single"], "weight": [1.0], "adjustment": [float(adjustment)]}
        )
    if (
        table.empty
        or (table["weight"] < 0).any()
        or not math.isclose(table["weight"].sum(), 1.0, abs_tol=1e-9)
    ):
        raise ConfigError(
            "forward_scenarios",
            f"weights must be >= 0 and sum to 1, got {table['weight'].tolist()}",
        )
    if (table["adjustment"] <= -1).any() or table["adjustment"].isna().any():
        raise ConfigError(
            "forward_adjustment",
            f"must be > -1 (a -100% change removes all losses), got {table['adjustment'].tolist()}",
        )
    return table.reset_index(drop=True)


def adjusted_rates(loss_rates, adjustment=0.0) -> pd.Series:
    """Probability-weighted ``sum_s w_s * min(rate * (1 + a_s), 1)`` per bucket."""
    rates = _keyed(loss_rates, "loss_rates")
    table = scenario_table(adjustment)
    out = sum(
        w * np.minimum(rates * (1 + a), 1.0) for w, a in zip(table["weight"], table["adjustment"])
    )
    if any((rates * (1 + a) > 1).any() for a in table["adjustment"]):
        warnings.warn(
            "forward-looking adjustment pushes a loss rate above 100%; capped at 100%", stacklevel=2
        )
    return out


def provision_matrix(exposure, loss_rates, adjustment=0.0) -> pd.DataFrame:
    """IFRS 9 simplified-approach provision matrix: allowance = exposure x loss rate per bucket.

    Parameters
    ----------
    exposure, loss_rates
        Mappings or Series keyed by bucket. Every bucket with exposure needs a loss rate in
        [0, 1]; a bucket with a rate but no exposure gets a zero-exposure line.
    adjustment
        Forward-looking adjustment (see :func:`scenario_table`): the rate used is
        ``base_loss_rate * (1 + a)``, capped at 1, probability-weighted over scenarios.

    Returns
    -------
    ``bucket, exposure, base_loss_rate, loss_rate, allowance``, one row per bucket then a
    ``total`` row whose ``loss_rate`` is the coverage (allowance / exposure). Exposure and
    allowance are rounded half up to the cent; the total is the sum of the rounded lines, and
    ``0 <= allowance <= exposure`` on every line.

    >>> m = provision_matrix({"current": 1000.0, "1-30": 200.0}, {"current": 0.01, "1-30": 0.125})
    >>> m[["bucket", "exposure", "allowance"]]
        bucket  exposure  allowance
    0  current    1000.0       10.0
    1     1-30     200.0       25.0
    2    total    1200.0       35.0
    """
    exp, rates = _keyed(exposure, "exposure"), _keyed(loss_rates, "loss_rates")
    if exp.isna().any() or (exp < 0).any():
        bad = exp[exp.isna() | (exp < 0)]
        raise DataError(
            "exposure",
            None,
            len(bad),
            f"are negative or missing ({dict(bad)})",
            "exposure is the open receivable per bucket and must be >= 0",
        )
    missing = [b for b in exp.index if b not in rates.index]
    if missing:
        raise ConfigError(
            "loss_rates", f"no loss rate for bucket(s) {missing}; give one per exposure bucket"
        )
    if rates.isna().any() or (rates < 0).any() or (rates > 1).any():
        raise ConfigError("loss_rates", f"must be within [0, 1], got {rates.round(6).to_dict()}")
    buckets = [*exp.index, *(b for b in rates.index if b not in exp.index)]
    base = rates.reindex(buckets)
    eff = adjusted_rates(base, adjustment)
    cents = [to_cents(exp.get(b, 0.0)) for b in buckets]
    alw = [_cents_times_rate(c, r) for c, r in zip(cents, eff)]
    tot_c, tot_a = sum(cents), sum(alw)
    return pd.DataFrame(
        {
            C.bucket: [*buckets, TOTAL],
            EXPOSURE: [c / 100 for c in [*cents, tot_c]],
            BASE_LOSS_RATE: [*base.to_numpy(), np.nan],
            LOSS_RATE: [*eff.to_numpy(), tot_a / tot_c if tot_c else 0.0],
            ALLOWANCE: [a / 100 for a in [*alw, tot_a]],
        }
    )


# -- specific provisions --------------------------------------------------------------------
STATUS_SINCE = C.status_since


def split_specific(
    open_items: pd.DataFrame,
    customers: pd.DataFrame | None,
    statuses: Sequence[str] = ("insolvent", "legal"),
    as_of=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Open items of customers whose ``status`` is in ``statuses`` (provisioned individually) and
    the rest (the collective pool).

    When ``customers`` has a ``status_since`` date column and ``as_of`` is given, a customer
    counts as flagged only from that date on (a missing date: always).
    """
    if customers is None or not len(statuses):
        if customers is None and len(statuses):
            warnings.warn(
                "no customers frame: specific provisions skipped, every item is collective",
                stacklevel=2,
            )
        return open_items.iloc[:0], open_items
    hit = customers[C.status].isin(list(statuses))
    if as_of is not None and STATUS_SINCE in customers:
        since = pd.to_datetime(customers[STATUS_SINCE])
        hit &= since.isna() | (since <= pd.Timestamp(as_of))
    flagged = set(customers.loc[hit, C.customer_id])
    mask = open_items[C.customer_id].isin(flagged)
    return open_items.loc[mask], open_items.loc[~mask]


def specific_provisions(
    items: pd.DataFrame,
    customers: pd.DataFrame | None,
    rate: float | None = None,
    expected_recovery: float = 0.0,
) -> pd.DataFrame:
    """Per flagged customer: ``customer_id, name, status, exposure, loss_rate, allowance``.

    The rate is ``rate`` if given, else ``1 - expected_recovery`` (both within [0, 1]).
    """
    rate = 1.0 - float(expected_recovery) if rate is None else float(rate)
    if not 0.0 <= float(expected_recovery) <= 1.0:
        raise ConfigError("expected_recovery", f"must be within [0, 1], got {expected_recovery}")
    if not 0.0 <= rate <= 1.0:
        raise ConfigError("specific_rate", f"must be within [0, 1], got {rate}")
    if not len(items):  # no flagged customer (the usual case, at every month-end): one frame
        if rate not in _NO_SPECIFIC:
            _NO_SPECIFIC[rate] = _specific_frame(items.iloc[:0], None, rate)
        return _NO_SPECIFIC[rate].copy()
    return _specific_frame(items, customers, rate)


#: rate -> the frame of no flagged items (its columns' types as :func:`_specific_frame` makes)
_NO_SPECIFIC: dict[float, pd.DataFrame] = {}


def _specific_frame(items: pd.DataFrame, customers: pd.DataFrame | None, rate: float):
    exp = items.groupby(C.customer_id, sort=True)[C.open_amount].sum()
    out = pd.DataFrame(
        {C.customer_id: exp.index.astype(str), EXPOSURE: [to_cents(v) / 100 for v in exp]}
    )
    if customers is not None and len(out):
        info = customers.drop_duplicates(C.customer_id).set_index(C.customer_id)
        out[C.name] = out[C.customer_id].map(info[C.name])
        out[C.status] = out[C.customer_id].map(info[C.status])
    else:
        out[C.name], out[C.status] = pd.Series(dtype=object), pd.Series(dtype=object)
    out[LOSS_RATE] = rate
    out[ALLOWANCE] = [_cents_times_rate(to_cents(e), rate) / 100 for e in out[EXPOSURE]]
    return out[[C.customer_id, C.name, C.status, EXPOSURE, LOSS_RATE, ALLOWANCE]]


# -- roll-forward ---------------------------------------------------------------------------
def movements(ledger: Ledger, dates: Sequence) -> pd.DataFrame:
    """Write-offs and recoveries booked in each period ``(previous date, date]``; the first
    period is the calendar month ending at ``dates[0]``. Index: the dates."""
    dates = pd.DatetimeIndex(dates)
    starts = dates[:1].to_period("M").to_timestamp() - pd.Timedelta(days=1) if len(dates) else dates
    edges = starts.append(dates)
    txn = ledger.transactions
    out = {}
    for kind, name in ((WRITE_OFF, "write_offs"), (RECOVERY, "recoveries")):
        t = txn.loc[txn[C.kind] == kind]
        pos = np.searchsorted(
            edges.to_numpy(), t[C.date].to_numpy(), side="left"
        )  # (edge[i-1], edge[i]]
        ok = (pos >= 1) & (pos <= len(dates))
        out[name] = np.bincount(
            pos[ok] - 1, weights=t[C.amount].to_numpy()[ok], minlength=len(dates)
        )
    return pd.DataFrame(out, index=dates).round(2)


def allowance_rollforward(
    closing: pd.Series, write_offs: pd.Series, recoveries: pd.Series, opening: float | None = None
) -> pd.DataFrame:
    """Monthly allowance roll-forward, reconciled to the cent.

    ``closing``, ``write_offs`` and ``recoveries`` are indexed by period end. The opening of each
    period is the previous closing (the first period needs ``opening``; without it the first
    closing only serves as the next opening). The charge (bad-debt expense) is the balancing
    figure ``closing - opening + write_offs - recoveries``, computed in whole cents so that
    ``opening + charge - write_offs + recoveries == closing`` holds exactly.

    >>> idx = pd.to_datetime(["2024-01-31", "2024-02-29"])
    >>> rf = allowance_rollforward(pd.Series([100.0, 120.0], idx), pd.Series([0.0, 30.0], idx),
    ...                            pd.Series([0.0, 5.0], idx))
    >>> rf.iloc[0].to_dict()
    {'opening': 100.0, 'charge': 45.0, 'write_offs': 30.0, 'recoveries': 5.0, 'closing': 120.0}
    """
    idx = pd.DatetimeIndex(closing.index)
    close = [to_cents(v) for v in closing.to_numpy()]
    wo = [to_cents(v) for v in write_offs.reindex(idx, fill_value=0.0).to_numpy()]
    rec = [to_cents(v) for v in recoveries.reindex(idx, fill_value=0.0).to_numpy()]
    first = 0 if opening is not None else 1
    opens = ([to_cents(opening)] if opening is not None else []) + close[:-1]
    rows = []
    for i, o in zip(range(first, len(idx)), opens):
        charge = close[i] - o + wo[i] - rec[i]
        rows.append((idx[i], o, charge, wo[i], rec[i], close[i]))
    cols = ["opening", "charge", "write_offs", "recoveries", "closing"]
    out = pd.DataFrame(
        [r[1:] for r in rows],
        columns=cols,
        index=pd.DatetimeIndex([r[0] for r in rows], name=C.month_end),
    )
    return out / 100


# -- write-off management -------------------------------------------------------------------
def _last_payments(ledger: Ledger, as_of: pd.Timestamp, customers: set) -> pd.Series:
    """The date of each of ``customers``' last payment on or before ``as_of`` (index: customer
    id; none for a customer who never paid). Only their payments are grouped: a unit has
    millions (the ledger keeps its transactions in date order, kinds as numbers)."""
    txn = ledger.transactions
    n = int(np.searchsorted(txn[C.date].to_numpy(), np.datetime64(as_of), "right"))
    pay = np.flatnonzero(ledger_arrays(ledger).txn_kind[:n] == TXN_KINDS.index(PAYMENT))
    who = txn[C.customer_id].iloc[pay]
    mine = who.isin(customers).to_numpy()
    return txn[C.date].iloc[pay[mine]].groupby(who.iloc[mine].to_numpy()).max()


def write_off_candidates(
    ledger: Ledger,
    as_of,
    min_days_past_due: int = 180,
    no_payment_days: int = 90,
    min_amount: float = 0.0,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """Open items that meet the write-off policy at ``as_of``, with empty approval columns.

    Policy: at least ``min_days_past_due`` days past due, open amount >= ``min_amount``, and no
    payment from the customer (on any invoice, or unapplied) in the last ``no_payment_days``
    days. Columns: ``customer_id, name, status, invoice_id, invoice_date, due_date,
    days_past_due, open_amount, last_payment_date, days_since_payment, approved, approved_by,
    note``; ``approved`` is empty (``<NA>``) for the analyst to fill in.
    """
    for key, v in (
        ("writeoff_min_days_past_due", min_days_past_due),
        ("writeoff_no_payment_days", no_payment_days),
    ):
        if int(v) < 0:
            raise ConfigError(key, f"must be >= 0 days, got {v}")
    as_of = pd.Timestamp(as_of)
    items = close_items(ledger, as_of, thresholds)
    items = items.loc[
        (items[C.days_past_due] >= int(min_days_past_due)) & (items[C.open_amount] >= min_amount)
    ].copy()
    last = _last_payments(ledger, as_of, set(items[C.customer_id]))
    items["last_payment_date"] = items[C.customer_id].map(last)
    items["days_since_payment"] = (as_of - items["last_payment_date"]).dt.days.astype("Int64")
    quiet = items["last_payment_date"].isna() | (
        items["days_since_payment"] >= int(no_payment_days)
    )
    out = items.loc[
        quiet
        & (items[C.days_past_due] >= int(min_days_past_due))
        & (items[C.open_amount] >= min_amount)
    ]
    if ledger.customers is not None:
        info = ledger.customers.drop_duplicates(C.customer_id).set_index(C.customer_id)
        out = out.assign(
            **{
                C.name: out[C.customer_id].map(info[C.name]),
                C.status: out[C.customer_id].map(info[C.status]),
            }
        )
    else:
        out = out.assign(**{C.name: None, C.status: None})
    out = out.assign(
        approved=pd.array([pd.NA] * len(out), dtype="boolean"), approved_by="", note=""
    )
    cols = [
        C.customer_id,
        C.name,
        C.status,
        C.invoice_id,
        C.invoice_date,
        C.due_date,
        C.days_past_due,
        C.open_amount,
        "last_payment_date",
        "days_since_payment",
        "approved",
        "approved_by",
        "note",
    ]
    return out.sort_values([C.customer_id, C.days_past_due], ascending=[True, False])[
        cols
    ].reset_index(drop=True)
