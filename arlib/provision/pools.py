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
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from arlib.errors import ConfigError
from arlib.health import calibration, credit
from arlib.ledger import Ledger
from arlib.provision.allowance import (
    ALLOWANCE,
    BASE_LOSS_RATE,
    EXPOSURE,
    LOSS_RATE,
    provision_matrix,
    split_specific,
    to_cents,
)
from arlib.provision.models import ProvisionModels, rates
from arlib.provision.models import fit_models as fit_one_pool
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
    a customer without a key is in pool ``unknown``."""
    ids = pd.Index(sorted(set(ledger.invoices[C.customer_id])), name=C.customer_id)
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
    return pd.Series([str(key.get(c, "unknown")) for c in ids], index=ids, name=POOL)


def pool_ids(ledger: Ledger, pool_by: str | None, keys: Mapping | None = None) -> dict[str, set]:
    """Customer ids per pool (see :func:`pool_of`), pools sorted by name."""
    of = pool_of(ledger, pool_by, keys)
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
    """The models of each pool, fitted on the pool's own ledger (warnings named by pool)."""
    s = settings_with(settings)
    out = {}
    for name, ids in pool_ids(ledger, s.provision_pools, s.pool_keys).items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out[name] = fit_one_pool(sub_ledger(ledger, ids), as_of, s, methods)
        for w in caught:
            warnings.warn(f"pool {name}: {w.message}", stacklevel=2)
    return out


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
) -> pd.DataFrame:
    """The provision matrix of every pool at ``as_of``: :data:`LINE_COLUMNS`, one row per pool
    and aging bucket (no totals), each pool's collective open items (specific customers left
    out) at its own loss rates after the forward-looking adjustment, allowance to the cent.
    ``models``: from :func:`fit_models` with pooled booking (fitted here without)."""
    s = settings_with(settings)
    method = method or s.provision_method
    frames = []
    for name, m in _pool_models(models, ledger, as_of, s, method).items():
        sub = m.ledger
        items = sub.open_items(as_of, s.aging_thresholds)
        _, pool = split_specific(items, sub.customers, s.specific_statuses, as_of)
        r = rates(method, m.use(sub, as_of, s, [method]), pool)
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
