"""Cash from the ledger: open-item runoff and the invoicing-to-collections payment pattern.

Open-item runoff
    :class:`RunoffModel` learns, from invoices raised before ``as_of``, how long invoices
    take to be resolved and how: paid, written off or credited (competing risks, amount
    weighted Aalen-Johansen cumulative incidence from :mod:`statsmodels.duration`, invoices
    still open at ``as_of`` right-censored). One curve per group (e.g. customer segment);
    groups with few resolutions use the pooled curve. For an invoice open at ``as_of`` at
    age ``a`` days, the chance it is paid between ages ``a + d0`` and ``a + d1`` is
    ``(F_paid(a + d1) - F_paid(a + d0)) / S(a)`` with ``S`` the share still open at age ``a``:
    the curve is conditioned on the age the invoice has already reached. Expected cash per
    future period is the open amount times that chance; intervals treat invoices as
    independent (timing risk only, no shared shocks), so they are a lower bound on the
    true uncertainty.
Payment pattern
    :func:`payment_pattern` measures the share of invoicing collected in the invoice's
    period and each later one; :func:`collections_from_invoicing` turns a forecast of
    future invoicing into future collections with it. Runoff (invoices already raised)
    plus collections from future invoicing is :func:`structural_forecast`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import CumIncidenceRight

from arlib.errors import ConfigError
from arlib.forecast.contractual import CONTRACTUAL, check_lateness, contractual_runoff
from arlib.forecast.models import z_value
from arlib.i18n import t
from arlib.ledger import Ledger, ledger_arrays, needs_history, open_items_only
from arlib.schemas import CREDIT_NOTE, PAYMENT, WRITE_OFF, C

UID, DS, MODEL, YHAT = "unique_id", "ds", "model", "yhat"
EVENTS = {PAYMENT: 1, WRITE_OFF: 2, CREDIT_NOTE: 3}  # 0 = still open (censored)
ALL = "all"
#: forecast frequency -> pandas period frequency of the ledger flows
PERIODS = {"MS": "M", "M": "M", "ME": "M", "W-MON": "W-SUN", "W": "W-SUN"}


def period_freq(freq: str) -> str:
    """The period frequency matching a forecast frequency (``MS`` -> ``M``, ``W-MON`` -> ``W-SUN``)."""
    if freq not in PERIODS:
        raise ConfigError("freq", f"cash forecasts support {sorted(PERIODS)}, got {freq!r}")
    return PERIODS[freq]


def future_periods(as_of, horizon: int, freq: str) -> pd.PeriodIndex:
    """The ``horizon`` periods after the close of ``as_of`` (the first may be partial if
    ``as_of`` is not a period end)."""
    first = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).to_period(period_freq(freq))
    return pd.period_range(first, periods=horizon, freq=period_freq(freq))


def _groups(ledger: Ledger, by: str | None) -> pd.Series:
    inv = ledger.invoices
    if by is None:
        return pd.Series(ALL, index=inv.index)
    if by in inv.columns:
        return inv[by].astype(str)
    cust = ledger.customers
    if cust is None or by not in cust.columns:
        raise ConfigError(
            "runoff_by",
            f"column {by!r} is in neither invoices nor customers; use e.g. 'segment' or null",
        )
    key = [C.business_unit, C.customer_id]
    joined = inv[key].merge(cust[[*key, by]].drop_duplicates(key), on=key, how="left")[by]
    return joined.fillna("unknown").astype(str).set_axis(inv.index)


class RunoffModel:
    """Expected collection of the open items by future period (see module docstring).

    Parameters
    ----------
    by
        Invoice or customer column whose values get their own curve (``None``: one curve).
    min_events
        Resolved invoices a group needs for its own curve; fewer -> pooled curve (warned).
    history_days
        Only invoices raised in this many days before ``as_of`` are learned from (recent
        behaviour); ``None`` uses all.

    Attributes (after :meth:`fit`)
    ------------------------------
    curves_ : dict
        group -> ``(ages, F)`` with ``F[:, k]`` the cumulative share of amount resolved by
        event ``k`` (0 paid, 1 written off, 2 credited) by each age in days.
    items_ : pandas.DataFrame
        Open items at ``as_of`` with ``group``, ``age``, ``p_paid_ever`` and ``p_write_off``.
    """

    def __init__(
        self,
        by: str | None = "segment",
        min_events: int = 50,
        history_days: int | None = 730,
        lateness: Mapping | None = None,
    ):
        self.by, self.min_events, self.history_days = by, min_events, history_days
        self.lateness = check_lateness(lateness)

    def fit(self, ledger: Ledger, as_of) -> RunoffModel:
        """Learn the curves; for an open-item list (no history) the runoff is contractual
        (:mod:`arlib.forecast.contractual`, ``method_``)."""
        as_of = pd.Timestamp(as_of)
        groups = _groups(ledger, self.by)
        self.method_ = CONTRACTUAL if open_items_only(ledger) else "runoff"
        if self.method_ == CONTRACTUAL:
            items = ledger.open_items(as_of)
            items["group"] = items[C.invoice_id].map(
                pd.Series(groups.to_numpy(), index=ledger.invoices[C.invoice_id])
            )
            self.as_of_, self.items_ = as_of, items
            return self
        hist = _history(ledger, as_of, groups, self.history_days)
        self.as_of_, self.curves_ = as_of, {ALL: _curve(hist)}
        pooled = []
        for g, part in hist.groupby("group", sort=True):
            if int((part["event"] > 0).sum()) >= self.min_events:
                self.curves_[g] = _curve(part)
            else:
                pooled.append(g)
        if pooled and self.by is not None:
            warnings.warn(
                f"runoff groups {pooled} have fewer than {self.min_events} resolved invoices; "
                "used the pooled payment curve for them",
                UserWarning,
                stacklevel=2,
            )
        items = ledger.open_items(as_of)
        items["group"] = items[C.invoice_id].map(
            pd.Series(groups.to_numpy(), index=ledger.invoices[C.invoice_id])
        )
        items["age"] = (as_of - items[C.invoice_date]).dt.days.astype(int)
        paid, wo = self._conditional(items, np.array([np.inf]))
        items["p_paid_ever"], items["p_write_off"] = paid[:, 0], wo[:, 0]
        self.items_ = items
        return self

    def _conditional(self, items: pd.DataFrame, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per item, the chance of being paid / written off by ``age + ends`` given that it is
        still open at its age (rows: items, columns: ends)."""
        paid, wo = np.zeros((len(items), len(ends))), np.zeros((len(items), len(ends)))
        for g, idx in items.groupby("group", sort=True).indices.items():
            ages, F = self.curves_.get(g, self.curves_[ALL])
            age = items["age"].to_numpy()[idx]
            now = _step(ages, F, age)
            alive = 1.0 - now.sum(axis=1)
            later = _step(ages, F, (age[:, None] + ends[None, :]).ravel()).reshape(
                len(idx), len(ends), 3
            )
            ok = alive > 1e-9  # older than any resolution seen: no further cash expected
            scale = np.where(ok, 1.0 / np.where(ok, alive, 1.0), 0.0)[:, None]
            paid[idx] = (later[:, :, 0] - now[:, [0]]) * scale
            wo[idx] = (later[:, :, 1] - now[:, [1]]) * scale
        return paid, wo

    def predict(
        self,
        horizon: int,
        freq: str = "MS",
        levels: Sequence[int] = (80, 95),
        by_group: bool = False,
    ) -> pd.DataFrame:
        """Expected cash from today's open items per future period.

        Returns ``unique_id`` (group, or ``all``), ``ds`` (period start), ``model``
        (``runoff``, or ``contractual`` for an open-item list), ``yhat`` and interval columns, ``write_off`` (expected amount written
        off in the period) and ``open_amount`` (open at ``as_of``)."""
        periods = future_periods(self.as_of_, horizon, freq)
        items = self.items_
        if self.method_ == CONTRACTUAL:
            keys = items["group"].to_numpy() if by_group else np.full(len(items), ALL)
            return contractual_runoff(items, self.as_of_, periods, self.lateness, keys, levels)
        ends = np.array([(p.end_time.normalize() - self.as_of_).days for p in periods])
        paid, wo = (
            np.clip(np.diff(x, axis=1, prepend=0.0), 0.0, 1.0)
            for x in self._conditional(items, ends)
        )
        amt = items[C.open_amount].to_numpy(float)
        keys = items["group"].to_numpy() if by_group else np.full(len(items), ALL)
        rows = []
        for key in sorted(set(keys)) or [ALL]:
            sel = keys == key
            mean = amt[sel] @ paid[sel]
            sd = np.sqrt(np.maximum((amt[sel] ** 2) @ (paid[sel] * (1 - paid[sel])), 0.0))
            row = {UID: key, DS: periods.start_time, MODEL: "runoff", YHAT: mean}
            for lv in levels:
                z = z_value(lv)
                row[f"{YHAT}_lo_{lv}"], row[f"{YHAT}_hi_{lv}"] = (
                    np.maximum(mean - z * sd, 0),
                    mean + z * sd,
                )
            rows.append(
                pd.DataFrame(row | {"write_off": amt[sel] @ wo[sel], "open_amount": amt[sel].sum()})
            )
        return pd.concat(rows, ignore_index=True)

    def predict_items(self, horizon: int, freq: str = "MS") -> pd.DataFrame:
        """Expected cash per open item and future period: ``invoice_id, customer_id, ds,
        expected, write_off`` (long, items in :attr:`items_` order, periods in time order).
        Summed over the items it is :meth:`predict`'s ``yhat`` and ``write_off``, so one
        customer's expected payments add up to its share of the unit's runoff."""
        periods = future_periods(self.as_of_, horizon, freq)
        ends = np.array([(p.end_time.normalize() - self.as_of_).days for p in periods])
        paid, wo = (
            np.clip(np.diff(x, axis=1, prepend=0.0), 0.0, 1.0)
            for x in self._conditional(self.items_, ends)
        )
        amt = self.items_[C.open_amount].to_numpy(float)[:, None]
        n, k = paid.shape
        return pd.DataFrame(
            {
                C.invoice_id: np.repeat(self.items_[C.invoice_id].to_numpy(), k),
                C.customer_id: np.repeat(self.items_[C.customer_id].to_numpy(), k),
                DS: np.tile(periods.start_time, n),
                "expected": (amt * paid).ravel(),
                "write_off": (amt * wo).ravel(),
            }
        )


def _history(ledger: Ledger, as_of: pd.Timestamp, groups: pd.Series, history_days) -> pd.DataFrame:
    """Per invoice raised by ``as_of``: age at resolution (or at ``as_of`` if still open),
    event code as known at ``as_of``, amount and group."""
    st = ledger.settlement()
    raised = st[C.invoice_date] <= as_of
    if history_days is not None:
        raised &= st[C.invoice_date] > as_of - pd.Timedelta(days=history_days)
    st = st.loc[raised]
    known = st[C.settled_date].notna() & (st[C.settled_date] <= as_of)
    end = st[C.settled_date].where(known, as_of)
    event = np.where(known, st["settled_by"].map(EVENTS).fillna(0), 0).astype(int)
    return pd.DataFrame(
        {
            "age": (end - st[C.invoice_date]).dt.days.to_numpy(float),
            "event": event,
            "amount": st[C.amount].to_numpy(float),
            "group": groups.loc[st.index].to_numpy(),
        }
    )


def _curve(hist: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ages and cumulative incidence (columns: paid, written off, credited)."""
    if not (hist["event"] > 0).any():
        return np.array([0.0]), np.zeros((1, 3))
    ci = CumIncidenceRight(
        hist["age"].to_numpy(), hist["event"].to_numpy(), freq_weights=hist["amount"].to_numpy()
    )
    F = np.zeros((len(ci.times), 3))
    for k, inc in enumerate(ci.cinc[:3]):
        F[:, k] = inc
    return np.asarray(ci.times, dtype=float), F


def _step(ages: np.ndarray, F: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Right-continuous step function: F at the last age <= ``at`` (0 before the first)."""
    idx = np.searchsorted(ages, at, side="right") - 1
    out = np.where(idx[:, None] >= 0, F[np.clip(idx, 0, None)], 0.0)
    return out


def payment_pattern(
    ledger: Ledger, as_of, freq: str = "MS", max_lag: int = 6, window: int = 24
) -> pd.DataFrame:
    """Share of invoicing collected as applied cash in the invoice's own period (lag 0) and
    each later period, from the invoices of the last ``window`` periods before ``as_of``.

    Lag ``k`` uses only cohorts whose period ``k`` had fully closed by ``as_of``, so recent
    cohorts count for the early lags only. Returns ``lag, share, cohorts`` for lags
    ``0..max_lag``; ``1 - share.sum()`` is collected later, credited or never paid.
    """
    pf = period_freq(freq)
    as_of = pd.Timestamp(as_of)
    last = (
        as_of.to_period(pf)
        if as_of == as_of.to_period(pf).end_time.normalize()
        else as_of.to_period(pf) - 1
    )
    inv = ledger.invoices
    cohort = inv[C.invoice_date].dt.to_period(pf)
    keep = (cohort <= last) & (cohort > last - window)
    invoiced = inv.loc[keep].groupby(cohort[keep])[C.amount].sum()
    # payments by the close on the kept invoices, in the ledger's order (its join of each
    # transaction to its invoice, instead of a merge on the invoice ids)
    txn, code = ledger.transactions, ledger_arrays(ledger).txn_code
    sel = ((txn[C.kind] == PAYMENT) & (txn[C.date] <= as_of)).to_numpy() & (code >= 0)
    sel[sel] = keep.to_numpy()[code[sel]]
    pay_cohort = pd.Series(cohort.array.take(code[sel]))
    # periods between payment and cohort, from the periods' ordinals (one per period)
    when = pd.DatetimeIndex(txn[C.date].to_numpy()[sel]).to_period(pf)
    lag = pd.Series(when.asi8 - pay_cohort.array.asi8)
    paid = pd.Series(txn[C.amount].to_numpy()[sel]).groupby([pay_cohort, lag]).sum()
    rows = []
    for k in range(max_lag + 1):
        cohorts = invoiced.index[invoiced.index + k <= last]
        base = invoiced.loc[cohorts].sum()
        got = sum(paid.get((c, k), 0.0) for c in cohorts)
        rows.append(
            {"lag": k, "share": got / base if base > 0 else np.nan, "cohorts": len(cohorts)}
        )
    return pd.DataFrame(rows)


def collections_from_invoicing(
    invoicing: pd.DataFrame, pattern: pd.DataFrame, levels: Sequence[int] = (80, 95)
) -> pd.DataFrame:
    """Collections from *future* invoicing: ``sum_k share_k * invoicing[t - k]`` over the
    forecast periods of ``invoicing`` (a forecast frame of one series). Cash from invoices
    already raised is the runoff's job. Bounds are the bounds of invoicing passed through
    the same pattern (fully correlated months: conservative)."""
    share = pattern["share"].fillna(0.0).to_numpy()
    out = invoicing[[UID, DS]].copy()
    out[MODEL] = "invoicing_pattern"
    for col in [YHAT] + [f"{YHAT}_{s}_{lv}" for lv in levels for s in ("lo", "hi")]:
        x = invoicing[col].to_numpy(float)
        out[col] = np.convolve(x, share)[: len(x)]
    return out.reset_index(drop=True)


def structural_forecast(
    runoff: pd.DataFrame, from_invoicing: pd.DataFrame, levels: Sequence[int] = (80, 95)
) -> pd.DataFrame:
    """Runoff of the open items plus collections from future invoicing, period by period.
    Intervals combine the two as independent normal errors (sd from each interval's width)."""
    a = runoff.set_index(DS)
    b = from_invoicing.set_index(DS).reindex(a.index).fillna(0.0)
    out = pd.DataFrame({UID: a[UID], MODEL: "structural", YHAT: a[YHAT] + b[YHAT]}, index=a.index)
    for lv in levels:
        z = z_value(lv)
        sd_a = (a[f"{YHAT}_hi_{lv}"] - a[f"{YHAT}_lo_{lv}"]) / (2 * z)
        sd_b = (b[f"{YHAT}_hi_{lv}"] - b[f"{YHAT}_lo_{lv}"]) / (2 * z)
        sd = np.sqrt(sd_a**2 + sd_b**2)
        out[f"{YHAT}_lo_{lv}"] = np.maximum(out[YHAT] - z * sd, 0.0)
        out[f"{YHAT}_hi_{lv}"] = out[YHAT] + z * sd
    return out.reset_index()[
        [UID, DS, MODEL, YHAT, *[f"{YHAT}_{s}_{lv}" for lv in levels for s in ("lo", "hi")]]
    ]


def cash_series(
    ledger: Ledger,
    freq: str = "MS",
    unique_id: str = "collections",
    through=None,
    warm_up: bool = True,
    flows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Collections (all cash received) per period as ``unique_id, ds, y`` plus ``invoiced``,
    from :meth:`arlib.ledger.Ledger.flows`; no rows for an open-item list (no collections).

    ``through`` drops periods ending after it (e.g. the partial current period). With
    ``warm_up`` the first periods are dropped while the ledger fills up: a ledger that starts
    with its first invoice has no cash until invoices fall due, so periods starting less than
    the 90th percentile of days-to-pay (of paid invoices) after the first invoice are left
    out (warned). ``flows`` is the ledger's ``flows(period_freq(freq))`` when the caller
    already has it (the 13-week backtest asks at every cut-off).
    """
    if open_items_only(ledger):  # collections are unknown, not zero
        empty = {UID: [], DS: pd.Series(dtype="M8[ns]"), "y": [], "invoiced": []}
        frame = pd.DataFrame(empty).astype({"y": float, "invoiced": float})
        return needs_history(frame, "The collections series")
    flows = ledger.flows(period_freq(freq)) if flows is None else flows
    if through is not None:
        flows = flows.loc[flows.index.end_time.normalize() <= pd.Timestamp(through)]
    if warm_up and len(flows):
        st = ledger.settlement()
        days = st.loc[st["settled_by"] == PAYMENT, "days_to_pay"]
        if len(days):
            ready = ledger.invoices[C.invoice_date].min() + pd.Timedelta(
                days=float(days.quantile(0.9))
            )
            early = flows.index.start_time < ready
            if early.any():
                warnings.warn(
                    t(
                        "the first {n} periods of cash, before {date}, are left out: the ledger "
                        "was still filling up (warm-up: cash lags invoicing)"
                    ).format(n=int(early.sum()), date=ready.date()),
                    UserWarning,
                    stacklevel=2,
                )
            flows = flows.loc[~early]
    return pd.DataFrame(
        {
            UID: unique_id,
            DS: flows.index.start_time,
            "y": flows["collected"].to_numpy(float),
            "invoiced": flows["invoiced"].to_numpy(float),
        }
    )


def structural_cash_forecast(
    ledger: Ledger,
    as_of,
    horizon: int,
    freq: str = "MS",
    model: RunoffModel | None = None,
    method: str = "auto",
    levels: Sequence[int] = (80, 95),
    unique_id: str = "collections",
) -> pd.DataFrame:
    """Cash per future period built from the ledger: runoff of the open items (``model``,
    fitted at ``as_of``; default one pooled curve) plus collections from future invoicing
    (invoicing forecast with ``method`` times the :func:`payment_pattern`).

    Returns a forecast frame with three models per period: ``runoff``,
    ``invoicing_pattern`` and their sum ``structural`` (an open-item list: the contractual
    runoff only). If ``as_of`` falls inside a period,
    that period's invoicing forecast is scaled to the days left after ``as_of``.
    """
    from arlib.forecast.engine import forecast

    model = model or RunoffModel(by=None).fit(ledger, as_of)
    run = model.predict(horizon, freq, levels).assign(**{UID: unique_id})
    if open_items_only(ledger):  # no invoicing history to forecast from: the runoff alone
        return run.drop(columns=["write_off", "open_amount"])
    hist = cash_series(ledger, freq, unique_id, through=as_of, warm_up=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = forecast(
            hist[[UID, DS, "invoiced"]].rename(columns={"invoiced": "y"}),
            horizon,
            freq,
            levels,
            method,
        )
    periods = future_periods(as_of, horizon, freq)
    inv = (
        inv.set_index(DS).reindex(periods.start_time, fill_value=0.0).rename_axis(DS).reset_index()
    )
    inv[UID] = unique_id
    first = periods[0]
    left = (first.end_time.normalize() - pd.Timestamp(as_of)).days / (
        (first.end_time - first.start_time).days + 1
    )
    cols = [YHAT, *[f"{YHAT}_{s}_{lv}" for lv in levels for s in ("lo", "hi")]]
    inv.loc[0, cols] = inv.loc[0, cols] * min(1.0, left)
    pattern = payment_pattern(
        ledger,
        as_of,
        freq,
        max_lag=6 if period_freq(freq) == "M" else 26,
        window=24 if period_freq(freq) == "M" else 104,
    )
    from_inv = collections_from_invoicing(inv, pattern, levels)
    total = structural_forecast(run, from_inv, levels)
    return pd.concat(
        [run.drop(columns=["write_off", "open_amount"]), from_inv, total], ignore_index=True
    )
