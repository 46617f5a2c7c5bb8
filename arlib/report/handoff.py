"""What a report section hands on besides what it shows: recorded figures, Excel sheets, exports.

One call per section, so a notebook cell stays a call that reads as the section's purpose and the
plumbing (which figures go to ``kpis.json``, which sheet to the Excel pack, which files beside the
report) lives here, once. Each function takes the run config first (its ``output_dir`` is where
files go) and the section's results by keyword, records with :func:`arlib.report.records.record`
and returns what the notebook may show or pass on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from arlib.report.records import record, stamp

#: the forecast columns shown as amounts (point forecast and interval bounds)
FORECAST_MONEY = ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def health_figures(cfg, ledger, *, kpis, previous) -> None:
    """Record the health report's audit stamp, its KPIs and last month-end's (for the tiles'
    arrows)."""
    from arlib.report.summary import month_before

    record(stamp(cfg, ledger))
    record(month_before(previous))
    record(kpis.record())


def aging_outputs(cfg, ledger, *, aging: pd.DataFrame) -> dict:
    """Record the aging position (open, current and past-due AR per bucket) and add the
    "Aging by customer" sheet to the Excel pack; returns the position."""
    from arlib.health.breakdown import aging_by_customer
    from arlib.ledger import aging_summary
    from arlib.report.excel import add_sheet

    position = aging_summary(aging)
    record(position)
    by_customer = aging_by_customer(ledger, cfg.as_of, cfg.aging_thresholds)
    add_sheet(cfg.output_dir, "Aging by customer", by_customer, money=["amount"], pct=["share"])
    return position


def worklist_outputs(
    cfg, *, work: pd.DataFrame, actions: pd.DataFrame, card: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Hand on the collection worklist: its Excel sheet, ``collection_worklist.csv/.xlsx``
    beside the report, the largest overdue customers for the executive summary and the
    worklist's first ``customer_reports`` customers for their own reports (with ``card``, the
    scorecard and worklist they show). Returns the export paths by format."""
    from arlib.health.credit import export_worklist
    from arlib.report.customer import customer_report_ids, save_unit_frames
    from arlib.report.excel import add_sheet
    from arlib.report.summary import top_overdue

    add_sheet(cfg.output_dir, "Collection worklist", work, money=["open_amount", "expected_loss"])
    record(top_overdue(actions))
    ids = customer_report_ids(actions, cfg.customer_reports)
    record(ids)
    if card is not None:  # the customer reports of this run show these very rows
        save_unit_frames(cfg, card, work, ids["customer_report_ids"])
    return export_worklist(work, cfg.output_dir, per_customer=actions)


def forecast_figures(cfg, ledger, *, series: pd.DataFrame) -> None:
    """Record the forecast report's audit stamp and the last period's actual collections."""
    from arlib.report.summary import recent_actual

    record(stamp(cfg, ledger))
    record(recent_actual(series))


def forecast_outputs(cfg, *, forecast: pd.DataFrame, scores: pd.DataFrame, chosen: str) -> Path:
    """Hand on the chosen forecast: its Excel sheet, its headline figures (next period, range,
    method and backtest accuracy) and the forecast file kept with the close for later
    comparison with actuals (:func:`arlib.forecast.history.save_forecast`); returns that file."""
    from arlib.forecast.backtest import kpis
    from arlib.forecast.history import save_forecast
    from arlib.report.excel import add_sheet

    add_sheet(cfg.output_dir, "Collections forecast", forecast, money=FORECAST_MONEY)
    record(kpis(forecast, scores, chosen, cfg.selection_metric))
    return save_forecast(forecast, cfg.output_dir, cfg.as_of, tag=cfg.business_unit)


def rollforward_outputs(cfg, *, rollforward: pd.DataFrame) -> None:
    """Record the allowance at the previous month-end (for the tiles' arrow) and add the
    "Allowance roll-forward" sheet to the Excel pack."""
    from arlib.report.excel import add_sheet
    from arlib.report.summary import previous_allowance

    record(previous_allowance(rollforward))
    money = ["opening", "charge", "write_offs", "recoveries", "closing"]
    add_sheet(cfg.output_dir, "Allowance roll-forward", rollforward.reset_index(), money=money)


def scenario_grades(cfg, ledger, scenarios) -> pd.Series | None:
    """Customer id -> credit grade for the cash scenarios that pick customers by ``grade``
    (``None`` when none does, so nothing is computed).

    In ``arlib run`` the grades are the health report's own (its scorecard handed on in the
    unit's snapshot, ``credit_card.parquet``), so a scenario on grade D moves the customers the
    health report grades D. Run on its own, the forecast report computes the scorecard the way a
    customer report does (:func:`arlib.report.customer.unit_frames`, the health report's
    default settings) and warns that unit-specific scorecard params are not applied."""
    import warnings

    from arlib.report.customer import HANDOFF
    from arlib.schemas import C

    if not any(isinstance(s, Mapping) and "grade" in s for s in dict(scenarios or {}).values()):
        return None
    card_file = Path(cfg.get("snapshot") or "") / HANDOFF[0]
    if cfg.get("snapshot") and card_file.is_file():
        card = pd.read_parquet(card_file, columns=[C.customer_id, "grade"])
    else:
        from arlib.health import calibration, credit

        warnings.warn(
            "forecast_scenarios: the credit grades were computed with the health report's default "
            "scorecard settings (no health report in this run); run `arlib run --notebooks health "
            "forecast` to use the unit's own",
            UserWarning,
            stacklevel=2,
        )
        cuts = calibration.evidence(ledger, cfg.as_of)["cuts"]
        card = credit.scorecard(ledger, cfg.as_of, cuts=cuts)
    return pd.Series(card["grade"].astype(str).to_numpy(), index=card[C.customer_id].astype(str))


def week_range_outputs(cfg, *, coverage: pd.DataFrame) -> None:
    """Hand on the 13-week range's out-of-sample coverage
    (:func:`arlib.forecast.weekrange.backtest_coverage`): the "13-week range coverage" sheet of
    the Excel pack and ``week_range_coverage_80/95`` in ``kpis.json``."""
    from arlib.forecast.weekrange import kpis
    from arlib.report.excel import add_sheet

    add_sheet(cfg.output_dir, "13-week range coverage", coverage, pct=["calibrated_coverage"])
    record(kpis(coverage))


def promises_outputs(cfg, *, promised: pd.DataFrame, disputed: pd.DataFrame) -> None:
    """Hand on the collectors' promises and disputes (:mod:`arlib.health.promises`): their
    figures for ``kpis.json`` and the sheets "Collector promises" and "Collector disputes"."""
    from arlib.health.promises import summary
    from arlib.report.excel import add_sheet

    record(summary(promised, disputed))
    money = ["promise_amount", "received", "shortfall"]
    add_sheet(cfg.output_dir, "Collector promises", promised, money=money)
    add_sheet(cfg.output_dir, "Collector disputes", disputed, money=["open_amount"])
