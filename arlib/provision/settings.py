"""Provision settings: every parameter of the provision report, validated once.

>>> s = ProvisionSettings(roll_rate_lookback=6)
>>> settings_with(s, provision_method="vintage").provision_method, s.provision_method
('vintage', 'roll_rate')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from arlib.errors import ConfigError
from arlib.ledger import DEFAULT_THRESHOLDS, check_thresholds
from arlib.provision.allowance import scenario_table
from arlib.provision.given import check_loss_rates

METHODS = ("roll_rate", "roll_rate_product", "vintage")
#: ``provision_booking``: one pool per unit, or the pooled matrix of ``provision_pools``
ONE_POOL, POOLED = "one_pool", "pooled"
BOOKINGS = (ONE_POOL, POOLED)
#: the settings each model's fit depends on (the others apply only after fitting)
FIT_KEYS = {
    "roll_rate": ("roll_rate_lookback", "roll_rate_weighting", "aging_thresholds"),
    "vintage": ("vintage_lookback", "vintage_max_age", "net_of_recoveries", "aging_thresholds"),
}


@dataclass(frozen=True)
class ProvisionSettings:
    """Every provision setting, named as the notebook parameter that sets it.

    >>> ProvisionSettings.from_config({"provision_method": "vintage", "as_of": "2024-01-31"}).provision_method
    'vintage'
    """

    provision_method: str = "roll_rate"
    roll_rate_lookback: int = 12
    roll_rate_weighting: str = "volume"
    vintage_lookback: int = 24
    vintage_max_age: int = 24
    net_of_recoveries: bool = False
    forward_adjustment: float = 0.0
    forward_scenarios: Mapping = field(default_factory=dict)
    specific_statuses: tuple[str, ...] = ("insolvent", "legal")
    specific_rate: float | None = None
    expected_recovery: float = 0.0
    aging_thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    provision_pools: str = "segment"
    provision_booking: str = ONE_POOL
    #: customer id -> pool, when the pools are not a customers column (``provision_pools:
    #: grade``: the scorecard grade at the close, see :func:`arlib.provision.pools.grade_pools`)
    pool_keys: Mapping = field(default_factory=dict)

    #: given loss rate per aging bucket, for an open-item list (arlib.provision.given)
    loss_rates: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.provision_method not in METHODS:
            raise ConfigError(
                "provision_method", f"must be one of {list(METHODS)}, got {self.provision_method!r}"
            )
        if self.provision_booking not in BOOKINGS:
            raise ConfigError(
                "provision_booking",
                f"must be one of {list(BOOKINGS)}, got {self.provision_booking!r}",
            )
        object.__setattr__(self, "aging_thresholds", check_thresholds(self.aging_thresholds))
        object.__setattr__(self, "specific_statuses", tuple(self.specific_statuses))
        scenario_table(self.adjustment)  # validates early, naming the key
        check_loss_rates(self.loss_rates, self.aging_thresholds)

    @classmethod
    def from_config(cls, cfg: Mapping) -> ProvisionSettings:
        """Settings from a run config (or any mapping); keys it does not know are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: cfg[k] for k in cfg if k in names and cfg[k] is not None})

    @property
    def adjustment(self):
        """The scenarios when any are given, else the scalar adjustment."""
        return (
            dict(self.forward_scenarios)
            if self.forward_scenarios
            else float(self.forward_adjustment)
        )


def settings_with(settings: ProvisionSettings | None, **overrides) -> ProvisionSettings:
    """``settings`` (default: :class:`ProvisionSettings`) with some fields replaced."""
    s = settings or ProvisionSettings()
    return (
        s
        if not overrides
        else ProvisionSettings(**{**{f.name: getattr(s, f.name) for f in fields(s)}, **overrides})
    )
