"""Loss models fitted once per ledger, ``as_of`` and settings, then passed on.

The provision report reads the same fitted models in several sections: the allowance, the
loss rates by method, the roll-rate and vintage tables, the comparison of methods, the
roll-forward's closing month and the forecast. :func:`fit_models` fits each model once; the
functions of :mod:`arlib.provision.estimate` take the result as ``models=`` and, without it,
fit what they need themselves (same numbers, more time). Past month-ends of the roll-forward
are fitted on the data known then: those are other fits, made there.

>>> from arlib import demo
>>> from arlib.ledger import Ledger
>>> f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2023-01-01", end="2024-06-30")
>>> led = Ledger(f["invoices"], f["transactions"], f["customers"])
>>> models = fit_models(led, "2024-06-30", ProvisionSettings(roll_rate_lookback=6))
>>> len(models.roll_rate.flows_), models.vintage.as_of_.date()
(6, datetime.date(2024, 6, 30))
>>> models.use(led, "2024-06-30", ProvisionSettings(), ["roll_rate"])
Traceback (most recent call last):
...
ValueError: the models do not fit this call (roll_rate_lookback 6 fitted, 12 asked). Fix: pass the models of fit_models(ledger, as_of, settings) for the same ledger, as_of and settings
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from arlib.ledger import Ledger, open_items_only
from arlib.provision import given as given_rates
from arlib.provision.rollrate import RollRateModel
from arlib.provision.settings import FIT_KEYS, METHODS, ProvisionSettings, settings_with
from arlib.provision.vintage import VintageLossModel

_FIX = (
    "Fix: pass the models of fit_models(ledger, as_of, settings) for the same ledger, as_of "
    "and settings"
)


def needed(methods: Sequence[str]) -> list[str]:
    """The models behind ``methods``: ``roll_rate`` (both roll-rate routes), ``vintage``."""
    out = ["roll_rate"] if {"roll_rate", "roll_rate_product"} & set(methods) else []
    return out + (["vintage"] if "vintage" in methods else [])


@dataclass(frozen=True, eq=False)
class ProvisionModels:
    """The roll-rate and vintage models of ``ledger`` at ``as_of``, fitted with ``settings``
    (``None`` for a model not fitted). ``warnings``: per model, what its fit warned. For an
    open-item list nothing is fitted (``history`` false) and ``given`` holds the rates of
    ``settings.loss_rates`` by bucket (``None`` without them)."""

    ledger: Ledger = field(repr=False)
    as_of: pd.Timestamp
    settings: ProvisionSettings
    roll_rate: RollRateModel | None = None
    vintage: VintageLossModel | None = None
    warnings: Mapping[str, tuple[Warning, ...]] = field(default_factory=dict, repr=False)
    #: pool -> that pool's models on its own ledger (pooled booking, :mod:`arlib.provision.pools`)
    pools: Mapping[str, ProvisionModels] = field(default_factory=dict, repr=False)

    given: pd.Series | None = None
    history: bool = True

    def use(self, ledger: Ledger, as_of, settings: ProvisionSettings, methods) -> dict:
        """The models ``methods`` need, by name; raises ``ValueError`` when they were fitted on
        another ledger or ``as_of``, with other fitting settings (:data:`FIT_KEYS`), or not
        at all."""
        names = needed(methods)
        asked = pd.Timestamp(as_of)
        differ = [] if ledger is self.ledger else ["another ledger"]
        if asked != self.as_of:
            differ.append(f"as_of {self.as_of.date()} fitted, {asked.date()} asked")
        for k in dict.fromkeys(k for n in names for k in FIT_KEYS[n]):
            mine, theirs = getattr(self.settings, k), getattr(settings, k)
            if mine != theirs:
                differ.append(f"{k} {mine!r} fitted, {theirs!r} asked")
        differ += [f"no {n} model fitted" for n in names if getattr(self, n) is None]
        if differ:
            raise ValueError(f"the models do not fit this call ({'; '.join(differ)}). {_FIX}")
        return {n: getattr(self, n) for n in names}

    def replay_warnings(self, methods) -> None:
        """Warn again what the fits of ``methods``' models warned (for summaries over dates)."""
        for n in needed(methods):
            for w in self.warnings.get(n, ()):
                warnings.warn(w, stacklevel=2)


def rates(method: str, models: Mapping, pool: pd.DataFrame) -> pd.Series:
    """Loss rate per bucket of ``method`` from the fitted ``models`` (by name); the vintage
    rates are implied on the open items ``pool``; the rates given in params (``loss_rates``) for
    an open-item list."""
    if method == given_rates.GIVEN:
        return models[given_rates.GIVEN]
    if method == "vintage":
        return models["vintage"].loss_rate(pool)
    return models["roll_rate"].loss_rate("product" if method == "roll_rate_product" else "markov")


def _fit_one(name: str, ledger: Ledger, as_of, s: ProvisionSettings):
    if name == "roll_rate":
        model = RollRateModel(s.roll_rate_lookback, s.roll_rate_weighting, s.aging_thresholds)
    else:
        model = VintageLossModel(
            s.vintage_lookback, s.vintage_max_age, s.net_of_recoveries, s.aging_thresholds
        )
    return model.fit(ledger, as_of)


def fit_models(
    ledger: Ledger,
    as_of,
    settings: ProvisionSettings | None = None,
    methods: Sequence[str] = METHODS,
) -> ProvisionModels:
    """Fit the models ``methods`` need (default: all, as the provision report reads them all)
    on ``ledger`` at ``as_of`` with ``settings``, once; pass the result on as ``models=``.

    Warnings of the fits are issued here, once, and kept in ``warnings``. An open-item list
    (no payment history) fits nothing: its models hold the ``loss_rates`` given in the settings
    (:mod:`arlib.provision.given`), or none.
    """
    s = settings_with(settings)
    if open_items_only(ledger):
        rates = given_rates.rates(s.loss_rates, s.aging_thresholds)
        return ProvisionModels(ledger, pd.Timestamp(as_of), s, given=rates, history=False)
    if s.loss_rates:  # said, not silently dropped: history wins over assumed rates
        warnings.warn(
            "loss_rates are used only for an open-item list (no payment history); this unit's "
            "loss rates are learned from its history",
            UserWarning,
            stacklevel=2,
        )
    fitted, seen = {}, {}
    for name in needed(methods):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitted[name] = _fit_one(name, ledger, as_of, s)
        seen[name] = tuple(w.message for w in caught)
        for w in seen[name]:
            warnings.warn(w, stacklevel=2)
    return ProvisionModels(ledger, pd.Timestamp(as_of), s, warnings=seen, **fitted)


def models_for(
    models: ProvisionModels | None, ledger: Ledger, as_of, s: ProvisionSettings, methods
) -> dict:
    """The models ``methods`` need: taken from ``models`` (checked) or, without, fitted now."""
    if models is None:
        models = fit_models(ledger, as_of, s, methods)
    return models.use(ledger, as_of, s, methods)
