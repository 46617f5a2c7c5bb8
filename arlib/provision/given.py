"""Loss rates given in params: the provision of an open-item list.

An open-item list (an aged open-items export, no payment history) holds no month-end balances
and no write-offs, so no loss rate can be learned from it. The usual IFRS 9 practice when
history is short is a *provision matrix with given rates*: a loss rate per aging bucket, set by
the business (from a parent's history, industry data or a past study) and documented. The
parameter ``loss_rates`` holds it::

    loss_rates: {"current": 0.005, "1-30": 0.02, "31-60": 0.05, "61-90": 0.10,
                 "91-120": 0.25, "over 120": 0.60}

Every aging bucket (``aging_thresholds``) must be named with a rate in [0, 1]; a rate lower
than the bucket before it is allowed with a warning (older debt usually loses more). The
allowance is then exposure x rate per bucket (after the forward-looking adjustment, as for
learned rates); everything that needs history (roll rates, vintages, the roll-forward, the
loss backtest, the forecast, the write-off policy's "no payment since") is empty with one
sentence saying so. Without ``loss_rates`` the allowance itself says that history or
``loss_rates`` is needed.

>>> check_loss_rates({"current": 0.01, "1-30": 0.05, "over 30": 0.5}, (0, 30))
{'current': 0.01, '1-30': 0.05, 'over 30': 0.5}
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Mapping, Sequence

import pandas as pd

from arlib.errors import ConfigError
from arlib.ledger import DEFAULT_THRESHOLDS, bucket_labels, needs_history

#: the method name of an allowance from given rates (``provision_method`` in its records)
GIVEN = "loss_rates"
#: the one sentence of a provision report on an open-item list without ``loss_rates``
NEEDS_RATES = (
    "No allowance: the source is an open-item list with no payment history, so no loss rate "
    "can be learned from it; give the loss rate of each aging bucket in params (loss_rates), "
    "or load the payment history."
)


def check_loss_rates(
    rates: Mapping | None, thresholds: Sequence[int] = DEFAULT_THRESHOLDS
) -> dict[str, float]:
    """``loss_rates`` checked against the aging buckets of ``thresholds``: every bucket named
    once, each rate a number in [0, 1]; ``{}`` when none is given. The error names the key;
    a rate below the one of the bucket before it is only a warning."""
    if not rates:
        return {}
    if not isinstance(rates, Mapping):
        raise ConfigError(
            "loss_rates", 'must map each aging bucket to a rate, e.g. {"current": 0.01}'
        )
    labels = bucket_labels(thresholds)
    for bucket, rate in rates.items():
        key = f"loss_rates.{bucket}"
        if bucket not in labels:
            near = difflib.get_close_matches(str(bucket), labels, n=1, cutoff=0.4)
            hint = f"did you mean {near[0]!r}?" if near else f"buckets: {', '.join(labels)}"
            raise ConfigError(key, f"is not an aging bucket; {hint}")
        number = isinstance(rate, int | float) and not isinstance(rate, bool)
        if not number or not math.isfinite(rate) or not 0 <= rate <= 1:
            raise ConfigError(key, f"must be a loss rate between 0 and 1, got {rate!r}")
    missing = [b for b in labels if b not in rates]
    if missing:
        raise ConfigError(
            "loss_rates",
            f"has no rate for {', '.join(repr(b) for b in missing)}; give one for every aging "
            f"bucket ({', '.join(labels)})",
        )
    return {b: float(rates[b]) for b in labels}


def rates(loss_rates: Mapping | None, thresholds: Sequence[int] = DEFAULT_THRESHOLDS):
    """The given rates as a Series by bucket (in aging order), or ``None`` when none is given;
    warns once for each bucket whose rate is below the one before it."""
    checked = check_loss_rates(loss_rates, thresholds)
    if not checked:
        return None
    out = pd.Series(checked, name=GIVEN)
    for (b0, r0), (b1, r1) in zip(list(checked.items()), list(checked.items())[1:]):
        if r1 < r0:
            warnings.warn(
                f"loss_rates: {b1} ({r1:.2%}) is below {b0} ({r0:.2%}); older debt usually "
                "loses more. Check the rates",
                UserWarning,
                stacklevel=2,
            )
    return out


def no_allowance(columns: Sequence[str]) -> pd.DataFrame:
    """An allowance table without rows that says why (:data:`NEEDS_RATES`)."""
    out = pd.DataFrame(columns=list(columns))
    out.attrs["empty_reason"] = NEEDS_RATES
    return out


class NotLearned:
    """Stands in for a fitted roll-rate or vintage model where there is no history: the
    frames the report reads are empty and say why (``attrs["empty_reason"]``)."""

    def __init__(self, what: str, **frames: pd.DataFrame):
        self.what = what
        for name, frame in frames.items():
            setattr(self, name, needs_history(frame, what))


def roll_rates_stand_in() -> NotLearned:
    """The roll-rate tables of the report, empty: ``roll_rates_`` and ``matrix_``."""
    cols = ["bucket", "start_amount", "roll_rate", "stay_rate", "skip_rate", "paid_rate"]
    cols += ["write_off_rate", "roll_rate_std"]
    return NotLearned(
        "Roll rates",
        roll_rates_=pd.DataFrame(columns=cols).set_index("bucket"),
        matrix_=pd.DataFrame(),
    )


def vintage_stand_in() -> NotLearned:
    """The vintage tables of the report, empty: ``triangle_``, ``development_``, ``cohorts_``."""
    cols = ["cohort", "invoiced", "observed_ratio", "ultimate_ratio", "remaining_loss"]
    cols += ["open_amount", "rate"]
    return NotLearned(
        "Vintage loss rates",
        triangle_=pd.DataFrame(),
        development_=pd.DataFrame(),
        cohorts_=pd.DataFrame(columns=cols),
    )
