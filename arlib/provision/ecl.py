"""The expected-credit-loss pack an auditor re-performs.

Methods, named as the standards name them:

* **IFRS 9 simplified approach** (IFRS 9 5.5.15, B5.5.35): trade receivables carry a loss
  allowance of *lifetime* expected credit losses from the start, measured with a *provision
  matrix*: exposure x loss rate per aging bucket, per pool of receivables with shared credit
  risk characteristics (here: customer ``segment`` by default, or scorecard grade; see
  :mod:`arlib.provision.pools`); booked per pool with ``provision_booking: pooled``.
* **CECL** (US GAAP, ASC 326-20): the vintage method (loss rates of invoicing-month cohorts,
  projected to ultimate) is a CECL pooled method; the roll-rate methods serve both.

The steps shown apart: historical loss rates per pool -> the forward-looking overlay (scenario
weights x adjustment; IFRS 9 5.5.17 asks for reasonable and supportable forecasts) -> the
allowance; a sensitivity grid (loss rates and overlay moved up and down); and a backtest of the
loss rates: the allowance at each past month-end against what was written off over the next
12 months from the balances open then.

>>> g = sensitivity({"current": 1000.0, "1-30": 200.0}, {"current": 0.01, "1-30": 0.125},
...                 rate_shifts=(-0.1, 0.0, 0.1), overlay_shifts=(0.0,))
>>> g.to_dict("records")
[{'rate_shift': -0.1, 'overlay_+0%': 31.5}, {'rate_shift': 0.0, 'overlay_+0%': 35.0}, {'rate_shift': 0.1, 'overlay_+0%': 38.5}]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.i18n import t
from arlib.ledger import (
    Ledger,
    ledger_arrays,
    month_ends,
    needs_history,
    open_items_only,
)
from arlib.provision.allowance import (
    ALLOWANCE,
    BASE_LOSS_RATE,
    EXPOSURE,
    LOSS_RATE,
    SPECIFIC,
    TOTAL,
    column_sum,
    provision_matrix,
    scenario_table,
    to_cents,
)
from arlib.provision.estimate import _tables
from arlib.provision.models import ProvisionModels
from arlib.provision.monthends import ROW
from arlib.provision.pools import lines_of, pool_ids, pool_lines
from arlib.provision.settings import POOLED, ProvisionSettings, settings_with
from arlib.schemas import RECOVERY, TXN_KINDS, WRITE_OFF, C

METHOD_NAMES = {
    "roll_rate": "IFRS 9 simplified approach: lifetime ECL, provision matrix (roll-rate loss rates, Markov chain)",
    "roll_rate_product": "IFRS 9 simplified approach: lifetime ECL, provision matrix (product of roll rates)",
    "vintage": "CECL (ASC 326-20) vintage method; as IFRS 9 simplified approach: lifetime ECL, provision matrix",
    "loss_rates": "IFRS 9 simplified approach: lifetime ECL, provision matrix (loss rates given in params)",
}
SPECIFIC_NAME = "IFRS 9 5.5.3 credit-impaired (stage 3) / ASC 326-20 individually assessed"
RATE_SHIFTS = (-0.2, -0.1, 0.0, 0.1, 0.2)
OVERLAY_SHIFTS = (-0.1, 0.0, 0.1)


def pools(ledger: Ledger, pool_by: str | None = C.segment, keys=None) -> dict[str, set]:
    """Customer ids per pool (:func:`arlib.provision.pools.pool_ids`)."""
    return pool_ids(ledger, pool_by, keys)


def pooled_matrix(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    pool_by: str | None = None,
    *,
    models: ProvisionModels | None = None,
) -> pd.DataFrame:
    """The provision matrix per pool: the collective pool's open items at ``as_of`` split by
    ``pool_by`` (default: the settings' ``provision_pools``), each pool with the loss rates of
    the settings' method fitted on that pool's own history. Rows ``pool, bucket, exposure,
    base_loss_rate, loss_rate, allowance`` (each pool's buckets, then a ``total`` row per
    pool), then a ``total`` pool row over all pools. With ``provision_booking: pooled`` its
    total is the booked collective allowance. ``models``: from
    :func:`arlib.provision.fit_models` with pooled booking (fitted here without).
    Specific provisions are outside (see :func:`arlib.provision.specific_table`)."""
    s = settings_with(settings)
    if open_items_only(ledger):  # no history to fit per pool (arlib.provision.given)
        cols = ["pool", C.bucket, EXPOSURE, BASE_LOSS_RATE, LOSS_RATE, ALLOWANCE]
        return needs_history(pd.DataFrame(columns=cols), "Loss rates per pool")
    if pool_by is not None and pool_by != s.provision_pools:
        s, models = settings_with(s, provision_pools=pool_by), None
    lines = pool_lines(ledger, as_of, s, models=models)
    frames = []
    for name, g in lines.groupby("pool", sort=False):
        frames += [g, pd.DataFrame([_total(g, name)])]
    out = pd.concat([*frames, pd.DataFrame([_total(lines, TOTAL)])], ignore_index=True)
    return out[["pool", C.bucket, EXPOSURE, BASE_LOSS_RATE, LOSS_RATE, ALLOWANCE]]


def _total(lines: pd.DataFrame, pool: str) -> dict:
    exp_c = sum(to_cents(v) for v in lines[EXPOSURE])
    alw_c = sum(to_cents(v) for v in lines[ALLOWANCE])
    return {
        "pool": pool,
        C.bucket: TOTAL,
        EXPOSURE: exp_c / 100,
        BASE_LOSS_RATE: np.nan,
        LOSS_RATE: alw_c / exp_c if exp_c else 0.0,
        ALLOWANCE: alw_c / 100,
    }


def _collective_at(lines: pd.DataFrame, adjustment) -> float:
    """The collective allowance of pool ``lines`` at ``adjustment``: each pool's matrix at its
    base loss rates, lines rounded to the cent, added."""
    cents = 0
    for _, g in lines.groupby("pool", sort=False):
        g = g.set_index(C.bucket)
        m = provision_matrix(g[EXPOSURE], g[BASE_LOSS_RATE], adjustment)
        cents += to_cents(m.iloc[-1][ALLOWANCE])
    return cents / 100


def overlay_steps(allowance_table: pd.DataFrame, adjustment) -> pd.DataFrame:
    """The forward-looking overlay as its own step, from the booked table
    (:func:`arlib.provision.estimate_allowance`; pool by pool when booked pooled): one row per
    scenario ``scenario, weight, adjustment, allowance`` (the collective allowance were that
    scenario certain) and ``weighted`` (weight x allowance), then ``historical`` (no overlay),
    ``overlay`` (the booked collective allowance less the historical one) and ``booked`` (the
    collective allowance booked: probability-weighted rates, each line rounded to the cent)."""
    coll = allowance_table.loc[~allowance_table[C.bucket].isin([SPECIFIC, TOTAL])]
    lines = lines_of(allowance_table)
    table = scenario_table(adjustment)
    rows = []
    for sc, w, a in table.itertuples(index=False):
        alw = _collective_at(lines, a)
        rows.append({"step": sc, "weight": w, "adjustment": a, ALLOWANCE: alw, "weighted": w * alw})
    hist = _collective_at(lines, 0.0)
    booked = round(sum(to_cents(v) for v in coll[ALLOWANCE]) / 100, 2)
    rows += [
        {"step": t("historical loss rates"), ALLOWANCE: hist},
        {"step": t("forward-looking overlay"), ALLOWANCE: round(booked - hist, 2)},
        {"step": t("collective allowance booked"), ALLOWANCE: booked},
    ]
    return pd.DataFrame(rows, columns=["step", "weight", "adjustment", ALLOWANCE, "weighted"])


def sensitivity(
    exposure,
    base_rates,
    adjustment=0.0,
    rate_shifts: Sequence[float] = RATE_SHIFTS,
    overlay_shifts: Sequence[float] = OVERLAY_SHIFTS,
) -> pd.DataFrame:
    """Collective allowance with every base loss rate x (1 + rate shift) (capped at 100%) and
    every scenario's adjustment + overlay shift: one row per rate shift, one column
    ``overlay_<shift>`` per overlay shift."""
    table = scenario_table(adjustment)
    rows = []
    for r in rate_shifts:
        rates = pd.Series(base_rates, dtype=float).mul(1 + r).clip(upper=1.0)
        row = {"rate_shift": r}
        for o in overlay_shifts:
            adj = table.assign(adjustment=table["adjustment"] + o)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a shifted rate above 100% is capped, as booked
                m = provision_matrix(exposure, rates, adj)
            row[f"overlay_{o:+.0%}"] = m.iloc[-1][ALLOWANCE]
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity_of(allowance_table: pd.DataFrame, adjustment, **kw) -> pd.DataFrame:
    """:func:`sensitivity` of the booked table's collective buckets (of each pool, added up,
    when booked pooled)."""
    grids = [
        sensitivity(
            g.set_index(C.bucket)[EXPOSURE], g.set_index(C.bucket)[BASE_LOSS_RATE], adjustment, **kw
        )
        for _, g in lines_of(allowance_table).groupby("pool", sort=False)
    ]
    out = grids[0].copy()
    for col in out.columns[1:]:
        out[col] = [sum(to_cents(g[col].iloc[i]) for g in grids) / 100 for i in range(len(out))]
    return out


def loss_backtest(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    months: int = 12,
    horizon_months: int = 12,
) -> pd.DataFrame:
    """The allowance at each past month-end against the losses that followed.

    Month-ends: the last ``months`` whose ``horizon_months`` end by ``as_of`` (and with two
    month-ends of history behind them, so that loss rates can be fitted). Per month-end:
    ``open_ar``, ``allowance`` (refitted on the data known then, as the roll-forward does),
    ``predicted_rate`` (allowance / open AR), ``written_off`` (write-offs in the next
    ``horizon_months`` on the invoices open at the month-end), ``recovered`` (recoveries on
    them in the same months), ``realised_rate`` (written off / open AR) and ``difference``
    (allowance - written off: > 0 the allowance covered the losses).
    """
    if int(months) < 1 or int(horizon_months) < 1:
        raise ConfigError("loss_backtest_months", f"must be >= 1, got {months}")
    if open_items_only(ledger):  # no past month-ends, no write-offs (arlib.provision.given)
        cols = ["month_end", "open_ar", ALLOWANCE, "predicted_rate", "written_off"]
        cols += ["recovered", "realised_rate", "difference"]
        return needs_history(pd.DataFrame(columns=cols), "The loss-rate backtest")
    last = pd.Timestamp(as_of) - pd.DateOffset(months=int(horizon_months))
    dates = month_ends(last - pd.DateOffset(months=int(months) - 1), last)
    first = ledger.invoices[C.invoice_date].min()
    # a month-end needs two month-ends of history behind it for the loss rates to be fitted
    second = month_ends(first, first + pd.DateOffset(months=3))[1]
    dates = dates[dates >= second]
    cols = ["open_ar", ALLOWANCE, "predicted_rate", "written_off", "recovered", "realised_rate"]
    if not len(dates):
        return pd.DataFrame(columns=[C.month_end, *cols, "difference"])
    s = settings_with(settings)
    txn, a = ledger.transactions, ledger_arrays(ledger)
    stamps = txn[C.date].to_numpy()  # the ledger keeps its transactions in date order
    amounts = txn[C.amount].to_numpy()
    rows = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for d, table, _, items in _tables(ledger, dates, s, status_as_of=as_of):
            end = d + pd.DateOffset(months=int(horizon_months))
            # the transactions dated in (d, end] on invoices open at d
            lo, hi = (
                np.searchsorted(stamps, np.datetime64(d), "right"),
                np.searchsorted(stamps, np.datetime64(end), "right"),
            )
            is_open = np.zeros(len(ledger.invoices) + 1, dtype=bool)
            is_open[items[ROW].to_numpy()] = True
            later = is_open[a.txn_code[lo:hi]]  # code -1: the last, False
            kind = a.txn_kind[lo:hi]
            wo, rec = (
                round(column_sum(amounts[lo:hi][later & (kind == TXN_KINDS.index(k))]), 2)
                for k in (WRITE_OFF, RECOVERY)
            )
            rows.append(_backtest_row(d, table, wo, rec))
    if caught:  # one note, not one per month-end and message: young month-ends fit on less
        warnings.warn(
            f"loss-rate backtest: {len(caught)} fitting notes over {len(dates)} month-ends "
            f"({dates[0].date()} .. {dates[-1].date()}), e.g. {caught[0].message}",
            stacklevel=2,
        )
    return pd.DataFrame(rows)


def _backtest_row(d, table: pd.DataFrame, wo: float, rec: float) -> dict:
    """The backtest's row at ``d``: ``table``'s open AR and allowance against ``wo`` written
    off and ``rec`` recovered after ``d`` (to the cent)."""
    t = table.set_index(C.bucket)
    ar, alw = float(t.at[TOTAL, EXPOSURE]), float(t.at[TOTAL, ALLOWANCE])
    return {
        C.month_end: d,
        "open_ar": ar,
        ALLOWANCE: alw,
        "predicted_rate": alw / ar if ar else np.nan,
        "written_off": wo,
        "recovered": rec,
        "realised_rate": wo / ar if ar else np.nan,
        "difference": round(alw - wo, 2),
    }


def method_table(settings: ProvisionSettings | None = None, models=None) -> pd.DataFrame:
    """The measurement named as the standards name it: ``measure, standard, method`` (booked
    pooled, the method names the pools); with the ``models`` of an open-item list, the rates
    given in params (``loss_rates``)."""
    s = settings_with(settings)
    method = "loss_rates" if models is not None and not models.history else s.provision_method
    return pd.DataFrame(
        [
            {
                "measure": t("collective allowance"),
                "standard": t(METHOD_NAMES[method]),
                "method": method
                if s.provision_booking != POOLED or method == "loss_rates"
                else t("{method}, per pool of {pools}").format(
                    method=method, pools=s.provision_pools or "all"
                ),
            },
            {
                "measure": t("specific allowance"),
                "standard": t(SPECIFIC_NAME),
                "method": t("exposure x specific rate"),
            },
        ]
    )
