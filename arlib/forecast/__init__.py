"""Cash-collection forecasting: models, the forecast API, backtests, open-item runoff."""

from arlib.forecast.engine import (  # noqa: F401  the package's public API
    forecast,
    interval_columns,
    predict_series,
    season_length_of,
)
