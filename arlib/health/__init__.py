"""Receivables health: unit KPIs, per-customer and segment breakdowns, credit scorecard and worklist."""

from arlib.health.measures import (  # noqa: F401  the package's public API
    HEADLINE,
    MEANINGS,
    Kpis,
    ar_at,
    balance_kpis,
    check_one_currency,
    compare,
    credit_balances,
    credit_use,
    fmt,
    kpis,
    label_of,
    meaning_of,
    period_invoicing,
    window_dates,
)
