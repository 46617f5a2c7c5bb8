"""Pools of shared credit risk: the collective allowance measured pool by pool.

IFRS 9 B5.5.5 and ASC 326-20-30-2 measure expected losses on a collective basis for
receivables with *shared credit risk characteristics*. A pool here is the set of customers with
one value of a customers column (``provision_pools``: ``segment`` by default) or one scorecard
grade at the close (``provision_pools: grade``, keys given in the settings' ``pool_keys``);
``""`` is one pool for the unit. Each pool's loss rates are fitted on that pool's own history
(its customers' invoices and transactions), with the settings' method.

``provision_booking: pooled`` books the sum of the pools' matrices: the booked table keeps one
line per aging bucket (the pools' exposures and allowances added, each pool line rounded to the
cent first), and carries the pool lines in ``table.attrs["pool_lines"]`` for the overlay step,
the sensitivity grid, the roll-forward's item allowances and the live Excel sheet.

>>> lines = pd.DataFrame({"pool": ["a", "a", "b", "b"], "bucket": ["current", "1-30"] * 2,
...     "exposure": [100.0, 10.0, 300.0, 0.0], "base_loss_rate": [0.01, 0.2, 0.03, 0.5],
...     "loss_rate": [0.01, 0.2, 0.03, 0.5], "allowance": [1.0, 2.0, 9.0, 0.0]})
>>> by_bucket(lines).to_dict("list")["allowance"], by_bucket(lines)["base_loss_rate"].tolist()
([10.0, 2.0], [0.025, 0.2])
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.health import calibration, credit
from arlib.ledger import Ledger, ledger_arrays
from arlib.provision.allowance import (
    ALLOWANCE,
    BASE_LOSS_RATE,
    EXPOSURE,
    LOSS_RATE,
    provision_matrix,
    split_specific,
    to_cents,
)
from arlib.provision.models import ProvisionModels, needed, rates
from arlib.provision.models import fit_models as fit_one_pool
from arlib.provision.monthends import close_items
from arlib.provision.rollrate import RollRateModel, lookback_ends, migration_cube
from arlib.provision.settings import METHODS, POOLED, ProvisionSettings, settings_with
from arlib.schemas import C

POOL = "pool"
GRADE = "grade"
LINE_COLUMNS = [POOL, C.bucket, EXPOSURE, BASE_LOSS_RATE, LOSS_RATE, ALLOWANCE]


def sub_ledger(ledger: Ledger, ids: set) -> Ledger:
    """The part of ``ledger`` that belongs to the customers ``ids``."""
    inv, txn, cust = ledger.invoices, ledger.transactions, ledger.customers
    return Ledger(
        inv.loc[inv[C.customer_id].isin(ids)],
        txn.loc[txn[C.customer_id].isin(ids)],
        None if cust is None else cust.loc[cust[C.customer_id].isin(ids)],
        validate=False,
    )


def pool_of(ledger: Ledger, pool_by: str | None, keys: Mapping | None = None) -> pd.Series:
    """The pool of each customer with invoices (index: customer id, sorted): ``keys`` when given
    (``provision_pools: grade``), else the customers' ``pool_by`` column, ``all`` for one pool;
    a customer without a key is in pool ``unknown``. Worked out once per ledger and pools (the
    roll-forward asks at every month-end); each call gets its own copy."""
    asked = (pool_by, tuple(sorted((str(k), str(v)) for k, v in dict(keys or {}).items())))
    per = _POOL_OF.setdefault(ledger, {})
    if asked not in per:
        per[asked] = _pool_of(ledger, pool_by, keys)
    return per[asked].copy()


#: ledger -> {(pool_by, keys): pool of each customer}
_POOL_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pool_of(ledger: Ledger, pool_by: str | None, keys: Mapping | None) -> pd.Series:
    ids = pd.Index(sorted(pd.unique(ledger.invoices[C.customer_id])), name=C.customer_id)
    if not pool_by:
        return pd.Series("all", index=ids, name=POOL)
    if pool_by == GRADE and not keys:
        raise ConfigError(
            "provision_pools",
            'is "grade", but no grades were given: pass the scorecard grades at the close as '
            "pool_keys (provision.pools.grade_pools), or use segment",
        )
    if keys:
        key = pd.Series({str(k): str(v) for k, v in dict(keys).items()}, dtype=object)
    else:
        cust = ledger.customers
        if cust is None or pool_by not in cust:
            raise ConfigError(
                "provision_pools",
                f"names column {pool_by!r}, which the customers frame does not have; use "
                f'"segment", "grade", or "" for one pool',
            )
        key = cust.drop_duplicates(C.customer_id).set_index(C.customer_id)[pool_by].astype(str)
    # the keys are text and unique per customer: a customer without one is "unknown"
    return pd.Series(key.reindex(ids).fillna("unknown").to_numpy(), index=ids, name=POOL)


def pool_ids(ledger: Ledger, pool_by: str | None, keys: Mapping | None = None) -> dict[str, set]:
    """Customer ids per pool (see :func:`pool_of`), pools sorted by name."""
    return _ids(pool_of(ledger, pool_by, keys))


def _ids(of: pd.Series) -> dict[str, set]:
    return {str(p): set(ids) for p, ids in of.groupby(of, sort=True).groups.items()}


def grade_pools(card: pd.DataFrame) -> dict[str, str]:
    """``pool_keys`` from a scorecard (:func:`arlib.health.credit.scorecard`): customer id ->
    grade at the close."""
    return {str(c): str(g) for c, g in zip(card[C.customer_id], card[GRADE])}


def with_grades(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    card: pd.DataFrame | None = None,
) -> ProvisionSettings:
    """``settings`` with the grades at the close as ``pool_keys`` when ``provision_pools`` is
    ``grade`` (else unchanged). ``card``: the health report's scorecard (in a run, handed on by
    :func:`arlib.report.customer.health_card`); without one it is computed as the health report
    does with its default scorecard settings (cut-offs from the scorecard backtest). Customers
    the scorecard does not know (no activity in its look-back) are pool ``unknown``."""
    s = settings_with(settings)
    if s.provision_pools != GRADE:
        return s
    if card is None:
        evidence = calibration.evidence(ledger, as_of)
        card = credit.scorecard(ledger, as_of, cuts=evidence["cuts"])
    return settings_with(s, pool_keys=grade_pools(card))


def fit_pools(
    ledger: Ledger, as_of, settings: ProvisionSettings, methods=METHODS
) -> dict[str, ProvisionModels]:
    """The models of each pool, fitted on the pool's own history (warnings named by pool).

    Roll rates alone are fitted in one pass over the unit's month-end states for all pools
    (:func:`one_pass`; each pool's model then holds the unit's ledger); with the vintage
    method, or when a transaction names a customer of another pool than its invoice's, each
    pool's models are fitted on the pool's own ledger (:func:`sub_ledger`). Both give the same
    figures."""
    s = settings_with(settings)
    of = pool_of(ledger, s.provision_pools, s.pool_keys)
    codes = None if "vintage" in needed(methods) else pool_codes(ledger, of)
    if codes is not None:
        return one_pass(ledger, as_of, s, codes)
    out = {}
    for name, ids in _ids(of).items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out[name] = fit_one_pool(sub_ledger(ledger, ids), as_of, s, methods)
        for w in caught:
            warnings.warn(f"pool {name}: {w.message}", stacklevel=2)
    return out


def pool_codes(ledger: Ledger, of: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """The pool number of every invoice (its customer's pool among the sorted pool names
    ``of`` holds) and those names; ``None`` when some transaction applied to an invoice names
    a customer of another pool (then a pool's own ledger, which holds its customers'
    transactions only, reads that invoice otherwise). Computed once per ledger and pools."""
    key = (tuple(of.index), tuple(of))
    per = _CODES.setdefault(ledger, {})
    if key not in per:
        names = sorted(set(of))
        number = pd.Series(np.arange(len(names)), index=names)
        cust = pd.Series(of.map(number).to_numpy(), index=of.index)
        inv = _of_customers(ledger.invoices[C.customer_id], cust)
        per[key] = (inv, names) if _same_pools(ledger, inv, cust) and (inv >= 0).all() else None
    return per[key]


def _same_pools(ledger: Ledger, inv: np.ndarray, number: pd.Series) -> bool:
    """Whether every transaction applied to an invoice names a customer of the invoice's pool
    (``inv``: each invoice's pool number): only those naming another customer than their
    invoice's are looked up (a unit has millions of transactions, nearly all on their own
    customer's invoices)."""
    code = ledger_arrays(ledger).txn_code
    applied = np.flatnonzero(code >= 0)
    on = code[applied]
    named = ledger.transactions[C.customer_id].to_numpy()[applied]
    other = np.flatnonzero(named != ledger.invoices[C.customer_id].to_numpy()[on])
    their = _of_customers(pd.Series(named[other]), number)
    return bool((their == inv[on[other]]).all())


def _of_customers(ids: pd.Series, number: pd.Series) -> np.ndarray:
    """The pool number of each customer id (-1: in no pool)."""
    pos = pd.Index(number.index).get_indexer(ids)
    return np.where(pos >= 0, number.to_numpy()[pos], -1)


#: ledger -> {pools: invoice pool numbers}: the rollforward asks at every month-end
_CODES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def one_pass(
    ledger: Ledger, as_of, settings: ProvisionSettings, codes: tuple[np.ndarray, list[str]]
) -> dict[str, ProvisionModels]:
    """Each pool's roll-rate model from one pooled migration cube
    (:func:`arlib.provision.rollrate.migration_cube` with ``pools``): the month-ends of a pool
    start at its own first invoice, as on its own ledger, and its fit warns as there (named by
    pool)."""
    s = settings_with(settings)
    inv, names = codes
    first = ledger.invoices[C.invoice_date].groupby(inv).min()
    count = np.bincount(inv, minlength=len(names))
    out, ends = {}, {}
    for p, name in enumerate(names):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _warn_given_rates(s)
            e = lookback_ends(first.get(p, pd.NaT), count[p], as_of, s.roll_rate_lookback)
        ends[name] = (e, tuple(w.message for w in caught))
    span = min((e for e, _ in ends.values()), key=lambda e: e[0])
    cube = migration_cube(ledger, span, s.aging_thresholds, (inv, len(names)))
    for p, name in enumerate(names):
        e, said = ends[name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = RollRateModel(s.roll_rate_lookback, s.roll_rate_weighting, s.aging_thresholds)
            model.fit_flows(e, cube[p, len(span) - len(e) :])
        given = 1 if s.loss_rates else 0  # said before the fit, not kept with its warnings
        seen = said[given:] + tuple(w.message for w in caught)
        for w in (*said[:given], *seen):
            warnings.warn(f"pool {name}: {w}", stacklevel=3)
        out[name] = ProvisionModels(
            ledger, pd.Timestamp(as_of), s, roll_rate=model, warnings={"roll_rate": seen}
        )
    return out


def _warn_given_rates(s: ProvisionSettings) -> None:
    if s.loss_rates:  # as fit_models says it on a pool's own ledger
        warnings.warn(
            "loss_rates are used only for an open-item list (no payment history); this unit's "
            "loss rates are learned from its history",
            UserWarning,
            stacklevel=2,
        )


def fit_models(
    ledger: Ledger, as_of, settings: ProvisionSettings | None = None, methods=METHODS
) -> ProvisionModels:
    """:func:`arlib.provision.models.fit_models`, and with ``provision_booking: pooled`` also
    each pool's models (``pools``), once; pass the result on as ``models=``."""
    s = settings_with(settings)
    models = fit_one_pool(ledger, as_of, s, methods)
    if s.provision_booking != POOLED:
        return models
    return replace(models, pools=fit_pools(ledger, as_of, s, methods))


def _pool_models(models, ledger, as_of, s, method) -> dict[str, ProvisionModels]:
    fits = models is not None and models.pools and pd.Timestamp(as_of) == models.as_of
    if fits and models.ledger is ledger:
        return models.pools
    return fit_pools(ledger, as_of, s, [method])


def pool_lines(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    method: str | None = None,
    models: ProvisionModels | None = None,
    items: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The provision matrix of every pool at ``as_of``: :data:`LINE_COLUMNS`, one row per pool
    and aging bucket (no totals), each pool's collective open items (specific customers left
    out) at its own loss rates after the forward-looking adjustment, allowance to the cent.
    ``models``: from :func:`fit_models` with pooled booking (fitted here without); ``items``:
    ``ledger.open_items(as_of, settings.aging_thresholds)`` when the caller has them."""
    s = settings_with(settings)
    method = method or s.provision_method
    frames, mine = [], None
    for name, m in _pool_models(models, ledger, as_of, s, method).items():
        if m.ledger is ledger:  # fitted in one pass: the pool's part of the unit's items
            if mine is None:
                if items is None:
                    items = close_items(ledger, as_of, s.aging_thresholds)
                _, coll = split_specific(items, ledger.customers, s.specific_statuses, as_of)
                of = pool_of(ledger, s.provision_pools, s.pool_keys)
                mine = coll[C.customer_id].map(of).to_numpy()
            pool = coll.loc[mine == name]
        else:
            sub = m.ledger
            sub_items = close_items(sub, as_of, s.aging_thresholds)
            _, pool = split_specific(sub_items, sub.customers, s.specific_statuses, as_of)
        r = rates(method, m.use(m.ledger, as_of, s, [method]), pool)
        exposure = pool.groupby(C.bucket, observed=False)[C.open_amount].sum()
        exposure.index = exposure.index.astype(str)
        frames.append(provision_matrix(exposure, r, s.adjustment).iloc[:-1].assign(pool=name))
    return pd.concat(frames, ignore_index=True)[LINE_COLUMNS]


def by_bucket(lines: pd.DataFrame) -> pd.DataFrame:
    """Pool lines added up per bucket (buckets in their order): ``bucket, exposure,
    base_loss_rate`` (exposure-weighted; the mean where a bucket has no exposure),
    ``loss_rate`` (allowance / exposure) ``, allowance``; sums of the lines' cents."""
    rows = []
    for bucket, g in lines.groupby(C.bucket, sort=False):
        exp_c = sum(to_cents(v) for v in g[EXPOSURE])
        alw_c = sum(to_cents(v) for v in g[ALLOWANCE])
        w = g[EXPOSURE].to_numpy()
        base = g[BASE_LOSS_RATE].to_numpy()
        rows.append(
            {
                C.bucket: bucket,
                EXPOSURE: exp_c / 100,
                BASE_LOSS_RATE: float(np.average(base, weights=w) if w.sum() else base.mean()),
                LOSS_RATE: alw_c / exp_c if exp_c else float(g[LOSS_RATE].mean()),
                ALLOWANCE: alw_c / 100,
            }
        )
    return pd.DataFrame(rows, columns=LINE_COLUMNS[1:])


def lines_of(table: pd.DataFrame) -> pd.DataFrame:
    """The collective lines of a booked table (:func:`arlib.provision.estimate_allowance`):
    its pool lines when booked pooled, else its buckets as one pool ``all``."""
    kept = table.attrs.get("pool_lines")
    if kept:
        return pd.DataFrame(list(kept), columns=LINE_COLUMNS)
    coll = table.loc[~table[C.bucket].isin(["specific", "total"])]
    return coll.assign(pool="all")[LINE_COLUMNS].reset_index(drop=True)


def as_attrs(lines: pd.DataFrame) -> tuple[dict, ...]:
    """Pool lines as plain records for ``table.attrs`` (JSON types, so the table stays
    writable to Parquet and comparable)."""
    return tuple(
        {k: (str(v) if k in (POOL, C.bucket) else float(v)) for k, v in r.items()}
        for r in lines[LINE_COLUMNS].to_dict("records")
    )
