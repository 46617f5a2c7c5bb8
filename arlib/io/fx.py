"""Conversion to the reporting currency with an FX-rate table, by date.

The table (frame ``fx_rates``: ``currency, date, rate``) gives, per currency and date, the
reporting-currency value of one unit of the currency (``source_options.fx.quote:
reporting_per_foreign``, the default) or the units of the currency per one reporting unit
(``foreign_per_reporting``, as the ECB publishes them). A row takes the latest rate on or
before its date, at most ``source_options.fx.max_age_days`` old; a missing rate is an error
naming the currency and the dates.

An invoice is converted at its invoice-date rate, and so are the settlements applied to it,
so that an invoice settled in full leaves nothing open in the reporting currency (the
exchange difference is a gain or loss of the period, not receivables). Unapplied cash is
converted at its own date.

>>> rates = pd.DataFrame({"currency": ["USD"], "date": pd.to_datetime(["2024-01-01"]), "rate": [0.9]})
>>> amount, rate, missing = convert(pd.Series([100.0, 50.0]), pd.Series(["USD", "EUR"]),
...     pd.Series(pd.to_datetime(["2024-01-03", "2024-01-03"])), rates, "EUR")
>>> amount.tolist(), missing.tolist()
([90.0, 50.0], [False, False])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from arlib.io.options import RATE, SourceOptions
from arlib.schemas import C

QUOTES = ("reporting_per_foreign", "foreign_per_reporting")


def _one_rate_per_day(df: pd.DataFrame) -> pd.Series:
    return ~df.duplicated([C.currency, C.date], keep=False)


#: the FX-rate table: one rate per currency and date (a schema object, see :mod:`arlib.schemas`)
FxRates = pa.DataFrameSchema(
    {
        C.currency: pa.Column(str, pa.Check.str_length(min_value=3, max_value=3)),
        C.date: pa.Column("datetime64[ns]"),
        RATE: pa.Column(float, pa.Check.gt(0)),
    },
    checks=[
        pa.Check(
            _one_rate_per_day, name="one_rate_per_day", error="currency and date are not unique"
        )
    ],
    name="FxRates",
    strict=False,
    coerce=True,
)


def convert(
    amount: pd.Series,
    currency: pd.Series,
    date: pd.Series,
    rates: pd.DataFrame | None,
    reporting: str,
    quote: str = "reporting_per_foreign",
    max_age_days: int = 7,
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Amounts in ``reporting`` currency (rounded to the cent), the rate used, and a mask of rows
    with no usable rate (their amount is NaN)."""
    rate = pd.Series(np.where(currency.eq(reporting).to_numpy(), 1.0, np.nan), index=amount.index)
    foreign = (
        currency.notna().to_numpy() & currency.ne(reporting).to_numpy() & date.notna().to_numpy()
    )
    if foreign.any() and rates is not None and len(rates):
        left = pd.DataFrame(
            {
                "_pos": np.flatnonzero(foreign),
                C.currency: currency.to_numpy()[foreign],
                C.date: pd.to_datetime(date.to_numpy()[foreign]),
            }
        ).sort_values(C.date, kind="stable")
        right = rates[[C.currency, C.date, RATE]].sort_values(C.date, kind="stable")
        right = right.assign(**{C.date: pd.to_datetime(right[C.date])})
        got = pd.merge_asof(
            left,
            right,
            on=C.date,
            by=C.currency,
            direction="backward",
            tolerance=pd.Timedelta(days=max_age_days),
        )
        values = got[RATE].to_numpy(dtype=float)
        if quote == "foreign_per_reporting":
            values = 1.0 / values
        rate.iloc[got["_pos"].to_numpy()] = values
    out = (amount * rate).round(2)
    missing = (rate.isna() & amount.notna()).to_numpy() & currency.notna().to_numpy()
    return out, rate, missing


def describe_missing(currency: pd.Series, date: pd.Series, missing: np.ndarray) -> str:
    """``USD on 2024-03-01..2024-03-09 (12 rows); GBP on 2024-01-05 (1 row)``."""
    parts = []
    sub = pd.DataFrame(
        {"c": currency.to_numpy()[missing], "d": pd.to_datetime(date.to_numpy()[missing])}
    )
    for cur, g in sub.groupby("c", sort=True):
        lo, hi = g["d"].min(), g["d"].max()
        span = f"{lo:%Y-%m-%d}" if lo == hi else f"{lo:%Y-%m-%d}..{hi:%Y-%m-%d}"
        parts.append(f"{cur} on {span} ({len(g)} {'row' if len(g) == 1 else 'rows'})")
    return "; ".join(parts)


def missing_text(
    reporting: str, desc: str, opts: SourceOptions, have_table: bool
) -> tuple[str, str]:
    """(problem text, fix) for rows without a rate."""
    if not have_table:
        return (
            f"in a currency other than {reporting} and no FX-rate table: {desc}",
            "provide an FX table with columns currency, date, rate (source_options.files.fx_rates, "
            "tables.fx_rates or queries.fx_rates), or set `currency` to the data's currency",
        )
    return (
        f"with no FX rate to {reporting} within {opts.fx_max_age_days} days before the date: {desc}",
        "add rates for those currencies and dates to the FX table, or raise source_options.fx.max_age_days",
    )
