"""Accounts-receivable reporting and forecasting library."""
