"""The allowed range of each numeric parameter, declared once and checked when params are
validated (so ``arlib run --dry-run`` and the plan of every run refuse an out-of-range value,
naming the key and the file, before any unit runs).

The README's "Parameter ranges" table is this table (a test compares them). Every float
parameter must also be finite (no ``.nan`` / ``.inf``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arlib.errors import ConfigError


@dataclass(frozen=True)
class Bound:
    """``lo <= value <= hi`` (``lo < value`` when ``above``); ``each``: every value of a
    mapping or list parameter. ``None`` leaves that side open."""

    lo: float | None = None
    hi: float | None = None
    above: bool = False
    each: bool = False
    null_each: bool = False  # each: a value may be null (e.g. "keep today's terms")

    def holds(self, v: float) -> bool:
        low_ok = self.lo is None or (v > self.lo if self.above else v >= self.lo)
        return low_ok and (self.hi is None or v <= self.hi)

    def text(self, readme: bool = False) -> str:
        """The range in words, e.g. ``between 1 and 240``; ``readme``: ``each value > 0`` for
        a bound on each value."""
        if self.lo is not None and self.hi is not None and not self.above:
            rng = f"between {self.lo:g} and {self.hi:g}"
        elif self.lo is not None:
            rng = f"{'>' if self.above else '>='} {self.lo:g}" + (
                f" and <= {self.hi:g}" if self.hi is not None else ""
            )
        else:
            rng = f"<= {self.hi:g}"
        if self.each and readme:
            return f"each value {rng}" + (" (or null)" if self.null_each else "")
        return rng


#: parameter -> its allowed range (null stays allowed where the parameter's default is null)
BOUNDS: dict[str, Bound] = {
    "forecast_horizon": Bound(1, 104),
    "backtest_windows": Bound(1, 24),
    "backtest_step": Bound(1, 52),
    "runoff_history_days": Bound(1, 7300),
    "window_months": Bound(1, 24),
    "trend_months": Bound(1, 240),
    "scorecard_lookback_months": Bound(1, 120),
    "top_customers": Bound(1, 1000),
    "discount": Bound(0, 0.5),
    "discount_days": Bound(0, 365),
    "discount_net_days": Bound(1, 365),
    "cost_of_capital": Bound(0, 0.99),
    "discount_take_up": Bound(0, 1),
    "roll_rate_lookback": Bound(1, 120),
    "vintage_lookback": Bound(1, 240),
    "vintage_max_age": Bound(1, 240),
    "forward_adjustment": Bound(-1, 10),
    "specific_rate": Bound(0, 1),
    "expected_recovery": Bound(0, 1),
    "rollforward_months": Bound(1, 120),
    "provision_horizon": Bound(1, 60),
    "provision_level": Bound(1, 99),
    "writeoff_min_days_past_due": Bound(0, 3650),
    "writeoff_no_payment_days": Bound(0, 3650),
    "worklist_loss_rates": Bound(0, 1, each=True),
    "fx_rates": Bound(0, None, above=True, each=True),
    "calibration_windows": Bound(2, 120),
    "week_range_cutoffs": Bound(2, 104),
    "customer_reports": Bound(0, 1000),
    "default_days_past_due": Bound(1, 3650),
    "scorecard_outcome_days": Bound(1, 3650),
    "scorecard_backtest_months": Bound(1, 120),
    "factoring_min_days_past_due": Bound(0, 3650),
    "factoring_advance_rate": Bound(0, 1),
    "factoring_fee": Bound(0, 1),
    "factoring_discount_rate": Bound(0, 1),
    "loss_backtest_months": Bound(1, 120),
    # the plausible-amount limit of the data (arlib.io.options.MAX_ABS), either sign
    "gl_control_total": Bound(-1e12, 1e12),
    "aging_thresholds": Bound(0, 3650, each=True),
    "runoff_lateness": Bound(0, 730, each=True),
    "sensitivity_rate_shifts": Bound(-1, 10, each=True),
    "sensitivity_overlay_shifts": Bound(-1, 10, each=True),
    "scorecard_weights": Bound(0, 1000, each=True),
    "grade_shares": Bound(0, 1, each=True),
    "grade_cutoffs": Bound(0, 1000, each=True),
    "limit_cover_months": Bound(0, 120, above=True, each=True),
    "terms_cap_days": Bound(0, 3650, each=True, null_each=True),
    "loss_rates": Bound(0, 1, each=True),
}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_bounds(values: Mapping[str, Any], source: str | None = None) -> None:
    """Refuse the first value outside :data:`BOUNDS` or not finite, naming the key.

    >>> check_bounds({"trend_months": 24, "discount": 0.02})
    >>> check_bounds({"top_customers": -5}, "params/de.yaml")
    Traceback (most recent call last):
    ...
    arlib.errors.ConfigError: params/de.yaml: parameter top_customers: must be between 1 and 1000, got -5
    """
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(key, f"must be a finite number, got {value}", source)
        bound = BOUNDS.get(key)
        if bound is None or value is None:
            continue
        items = (
            value.items()
            if bound.each and isinstance(value, Mapping)
            else enumerate(value)
            if bound.each
            else [(None, value)]
        )
        for name, v in items:
            if v is None and bound.null_each:
                continue
            finite = _number(v) and not (isinstance(v, float) and not math.isfinite(v))
            if not finite or not bound.holds(v):
                where = f"{key}.{name}" if name is not None else key
                raise ConfigError(where, f"must be {bound.text()}, got {v!r}", source)


def readme_rows() -> list[str]:
    """The rows of the README's "Parameter ranges" table."""
    return [f"| `{k}` | {b.text(readme=True)} |" for k, b in BOUNDS.items()]
