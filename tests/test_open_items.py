"""Open-item lists (an aged open-items export, no payment history) as a first-class source.

The list below, unit ``x`` as of 2024-06-30, has customer names and segments on the invoice
rows and no customers file:

=======  ======  ==========  ==========  ====  ============  ==========
invoice  amount  invoiced    due         cust  name          segment
=======  ======  ==========  ==========  ====  ============  ==========
A1       400.00  2024-04-01  2024-05-01  K1    Kappa GmbH    wholesale
A2       150.00  2024-06-10  2024-07-10  K1    Kappa GmbH    wholesale
A3        90.00  2024-05-20  2024-06-19  K2    Lambda Ltd    retail
A4        60.00  2024-06-01  2024-07-01  K2    (empty)       retail
=======  ======  ==========  ==========  ====  ============  ==========

Open AR 700.00; K2's name is the one on most of its invoices ("Lambda Ltd").
"""

from __future__ import annotations

import pytest
from test_io_helpers import assert_reconciles, load, write_files

from arlib.errors import ConfigError

OPEN_ITEMS = """invoice_id,business_unit,customer_id,name_customer,region,invoice_date,due_date,amount
A1,x,K1,Kappa GmbH,wholesale,2024-04-01,2024-05-01,400.00
A2,x,K1,Kappa GmbH,wholesale,2024-06-10,2024-07-10,150.00
A3,x,K2,Lambda Ltd,retail,2024-05-20,2024-06-19,90.00
A4,x,K2,,retail,2024-06-01,2024-07-01,60.00
"""
DERIVED = {
    "columns": {"invoices": {"name_customer": "name", "region": "segment"}},
    "frames": {"transactions": "none", "customers": "derive"},
}


@pytest.fixture
def open_list(tmp_path):
    src = write_files(tmp_path / "src", {"invoices.csv": OPEN_ITEMS})
    return load(src, source_options=DERIVED, output_dir=str(tmp_path / "out"))


def test_customer_names_and_segments_come_from_the_invoice_columns(open_list):
    customers = open_list.customers.set_index("customer_id")[["name", "segment"]]
    assert customers.to_dict("index") == {
        "K1": {"name": "Kappa GmbH", "segment": "wholesale"},
        "K2": {"name": "Lambda Ltd", "segment": "retail"},
    }
    assert "name" not in open_list.invoices and "segment" not in open_list.invoices
    rec = assert_reconciles(open_list).set_index("line")
    assert rec.at["Open AR (ledger)", "amount"] == 700.0


def test_invoice_names_need_derived_customers(tmp_path):
    src = write_files(tmp_path / "src", {"invoices.csv": OPEN_ITEMS})
    options = {**DERIVED, "frames": {"transactions": "none", "customers": "none"}}
    with pytest.raises(ConfigError) as e:
        load(src, source_options=options)
    assert str(e.value) == (
        "parameter source_options.columns.invoices: maps name and segment, which describe "
        "customers: set source_options.frames.customers: derive (customers from the invoices), "
        "or map them in source_options.columns.customers"
    )


AS_OF = "2024-06-30"
NO_HISTORY = (
    "not defined: the source is an open-item list with no payment history (invoices paid and "
    "cash collected are not in it)"
)


def test_health_says_which_figures_need_history(open_list):
    """As of 2024-06-30, A1 (due 1 May) and A3 (due 19 June) are past due: 490 of 700."""
    from arlib import dso, health

    now = health.kpis(open_list, AS_OF, 3)
    assert (now["open_ar"], now["past_due_ar"], now["past_due_share"]) == (700.0, 490.0, 0.7)
    for key in ("cei", "dso", "turnover", "days_to_pay", "collections_window"):
        assert now[key] is None and now.reasons[key] == NO_HISTORY, key
    table = health.compare(now, health.kpis(open_list, dso.step_back(AS_OF, 1), 3))
    rows = table.set_index("figure")
    assert rows.loc["CEI", ["now", "a month earlier", "change"]].tolist() == [
        NO_HISTORY,
        "n/a (open-item list)",
        "",
    ]
    # a month earlier is unknown too: items paid since are not in the list (not 490, not 0)
    assert rows.loc["Open AR", ["now", "a month earlier", "change"]].tolist() == [
        "700",
        "n/a (open-item list)",
        "",
    ]


def test_summary_makes_no_statement_the_source_cannot_support(open_list):
    """No CEI sentence (no collections), no credit-limit review (no limits in the data), no
    month-on-month change."""
    from arlib import dso, health
    from arlib.health import credit
    from arlib.report import narrative, summary

    now = health.kpis(open_list, AS_OF, 3)
    card = credit.recommend(credit.scorecard(open_list, AS_OF, 12))
    work = credit.worklist(open_list, AS_OF, card)
    figures = {
        "currency": "EUR",
        **now.record(),
        **summary.month_before(health.kpis(open_list, dso.step_back(AS_OF, 1), 3)),
        **credit.summary(card, work),
    }
    assert "limits_to_change" not in figures and "previous_month" not in figures
    assert summary.executive_summary(figures) == [
        "Open receivables are 700 EUR; 70.0% is past due.",
        "2 past-due items from 2 customers are on the collection worklist.",
    ]
    assert not any("without a credit limit" in s for s in narrative.explain_credit(card))


LATENESS = {"current": 10, "1-30": 30, "31-60": 45}


def _runoff(ledger, lateness=None, by_group=False):
    from arlib.forecast import runoff

    model = runoff.RunoffModel("segment", lateness=lateness).fit(ledger, AS_OF)
    out = model.predict(6, "MS", by_group=by_group)
    return model, out


def test_contractual_runoff_by_due_date_and_assumed_lateness(open_list):
    """A2 due 10 Jul + 10 -> July; A4 due 1 Jul + 10 -> July; A3 11 days past due (1-30) ->
    close + 30 = 30 Jul; A1 60 days past due (31-60) -> close + 45 = 14 Aug."""
    model, out = _runoff(open_list, LATENESS)
    assert model.method_ == "contractual"
    assert out["model"].unique().tolist() == ["contractual"]
    assert out["yhat"].tolist() == [300.0, 400.0, 0.0, 0.0, 0.0, 0.0]
    assert out["ds"].dt.strftime("%Y-%m").tolist()[:2] == ["2024-07", "2024-08"]
    assert out["yhat_lo_80"].isna().all() and out["yhat_hi_95"].isna().all()
    assert out["write_off"].eq(0.0).all() and out["open_amount"].eq(700.0).all()
    _, by = _runoff(open_list, LATENESS, by_group=True)
    wide = by.pivot_table(index="ds", columns="unique_id", values="yhat").iloc[:2]
    assert wide.to_dict("list") == {"retail": [150.0, 0.0], "wholesale": [150.0, 400.0]}


def test_contractual_runoff_without_lateness_expects_past_due_items_at_once(open_list):
    _, out = _runoff(open_list)
    assert out["yhat"].tolist() == [700.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_runoff_lateness_names_the_bucket():
    from arlib.forecast import runoff

    with pytest.raises(ConfigError) as e:
        runoff.RunoffModel(lateness={"2-30": 30})
    assert (
        str(e.value)
        == "parameter runoff_lateness.2-30: is not an aging bucket; did you mean '1-30'?"
    )
    with pytest.raises(ConfigError, match=r"runoff_lateness.current: must be a whole number"):
        runoff.RunoffModel(lateness={"current": -3})


def test_history_sections_are_empty_not_zero(open_list):
    """No collections series (not a series of zeros), so nothing is backtested or forecast
    from it; the method is the contractual runoff, and the cross-check is that runoff alone."""
    from arlib import forecast as cash_forecast
    from arlib.forecast import backtest, runoff
    from arlib.report import narrative

    series = runoff.cash_series(open_list, "MS", "x", through=AS_OF)
    assert series.empty and list(series.columns) == ["unique_id", "ds", "y", "invoiced"]
    runs = backtest.backtest(series, 6, ["auto", "snaive"], "MS", n_windows=4)
    scores = backtest.accuracy(runs, series, "MS")
    chosen = backtest.best_method(scores)
    fc = cash_forecast.forecast(series, 6, "MS", method=chosen)
    assert runs.empty and scores.empty and fc.empty and chosen == "contractual"
    assert backtest.kpis(fc, scores, chosen) == {"forecast_method": "contractual"}
    model, run = _runoff(open_list, LATENESS)
    cross = runoff.structural_cash_forecast(open_list, AS_OF, 6, "MS", model=model, unique_id="x")
    assert cross["yhat"].tolist() == run["yhat"].tolist() and set(cross["model"]) == {"contractual"}
    said = narrative.explain_runoff_source(open_list, LATENESS)
    assert said[0].endswith(
        "plus the days late assumed for its aging bucket (runoff_lateness: current: 10, 1-30: 30, "
        "31-60: 45). It has no range and assumes no write-offs."
    )
    assert said[1] == (
        "The backtest, the time-series forecast and the structural cross-check need collections "
        "history, so they are empty; the contractual runoff is the forecast."
    )


def test_provision_learns_no_rate_from_an_open_item_list(open_list):
    """No loss rate is learned from balances that never move (a report once showed an allowance
    from roll rates 'assumed to roll on in full'): nothing is fitted, and without loss_rates
    there is no allowance (tests/test_open_item_reports.py has the loss_rates given)."""
    from arlib import provision

    models = provision.fit_models(open_list, AS_OF)
    assert (models.history, models.given, models.roll_rate, models.vintage) == (
        False,
        None,
        None,
        None,
    )
    table = provision.estimate_allowance(open_list, AS_OF, models=models)
    assert table.empty and table.attrs["empty_reason"].startswith("No allowance: the source")


def test_narrative_compares_nothing_and_names_the_missing_figures_once(open_list):
    from arlib import dso, health
    from arlib.report import narrative

    now = health.kpis(open_list, AS_OF, 3)
    said = narrative.explain_kpis(now, health.kpis(open_list, dso.step_back(AS_OF, 1), 3))
    assert said[0] == "Open AR is 700."  # not "rose 210 (+42.9%) from 490"
    assert said[-1] == (
        "DSO, Countback DSO, Best-possible DSO, Average days delinquent, CEI, CEI for the last "
        f"month, Turnover, Average days to pay are {NO_HISTORY}."
    )
    assert not any("rose" in s or "fell" in s for s in said)


def test_payment_dates_are_contractual_instead_of_never_paid(open_list):
    """Not p_paid 0 (every invoice looking never paid): A1 30 Jun + 45 = 14 Aug, A2 10 Jul +
    10 = 20 Jul, A3 30 Jun + 30 = 30 Jul, A4 1 Jul + 10 = 11 Jul, each paid in full."""
    from arlib.forecast import paydates

    model = paydates.PayDateModel("segment", lateness=LATENESS).fit(open_list, AS_OF)
    items = model.items_.set_index("invoice_id")
    assert items["expected_date"].dt.strftime("%Y-%m-%d").to_dict() == {
        "A1": "2024-08-14",
        "A2": "2024-07-20",
        "A3": "2024-07-30",
        "A4": "2024-07-11",
    }
    assert items["p_paid"].tolist() == [1.0] * 4 and model.contractual
