"""Open-item lists through every report (issue 17, the remaining parts): the provision from
``loss_rates`` given in params, the forecast from the contractual runoff, the status "ok with
notes", and an end-to-end ``arlib run`` of all three notebooks.

The list below, unit ``x`` as of 2024-06-30 (default buckets), worked by hand:

=======  ========  ==========  ====  ===========  ========
invoice  amount    due         dpd   bucket       customer
=======  ========  ==========  ====  ===========  ========
A1         400.00  2024-05-01    60  31-60        K1
A2         150.00  2024-07-10   -10  current      K1
A3          90.00  2024-06-19    11  1-30         K2
A4          60.00  2024-07-01    -1  current      K2
A5       1,000.00  2024-02-14   137  over 120     K3
A6         250.50  2024-03-31    91  91-120       K3
=======  ========  ==========  ====  ===========  ========

Exposure per bucket: current 210.00, 1-30 90.00, 31-60 400.00, 61-90 0, 91-120 250.50,
over 120 1,000.00 (open AR 1,950.50). With the rates of :data:`RATES` the allowance is
210 x 0.5% = 1.05; 90 x 2% = 1.80; 400 x 5% = 20.00; 0; 250.50 x 25% = 62.625 -> 62.63 (half
up); 1,000 x 60% = 600.00; total 685.48.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings

import pandas as pd
import pytest
from conftest import ROOT
from test_io_helpers import load, write_files

from arlib.errors import ConfigError

AS_OF = "2024-06-30"
OPEN_ITEMS = """invoice_id,business_unit,customer_id,name_customer,region,invoice_date,due_date,amount
A1,x,K1,Kappa GmbH,wholesale,2024-04-01,2024-05-01,400.00
A2,x,K1,Kappa GmbH,wholesale,2024-06-10,2024-07-10,150.00
A3,x,K2,Lambda Ltd,retail,2024-05-20,2024-06-19,90.00
A4,x,K2,,retail,2024-06-01,2024-07-01,60.00
A5,x,K3,Mu SA,retail,2024-01-15,2024-02-14,1000.00
A6,x,K3,Mu SA,retail,2024-03-01,2024-03-31,250.50
"""
DERIVED = {
    "columns": {"invoices": {"name_customer": "name", "region": "segment"}},
    "frames": {"transactions": "none", "customers": "derive"},
}
RATES = {"current": 0.005, "1-30": 0.02, "31-60": 0.05, "61-90": 0.10, "91-120": 0.25}
RATES["over 120"] = 0.60
LATENESS = {"current": 10, "1-30": 30, "31-60": 45}
NO_HISTORY = "not available without payment history; the source is an open-item list."


@pytest.fixture(scope="module")
def open_list(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oi")
    src = write_files(folder / "src", {"invoices.csv": OPEN_ITEMS})
    return load(src, source_options=DERIVED, output_dir=str(folder / "out"))


def _settings(**kw):
    from arlib import provision

    return provision.ProvisionSettings(**kw)


# --- provision from loss_rates ---------------------------------------------------------------


def test_allowance_is_exposure_times_the_given_rate_to_the_cent(open_list):
    from arlib import provision

    s = _settings(loss_rates=RATES)
    models = provision.fit_models(open_list, AS_OF, settings=s)
    table = provision.estimate_allowance(open_list, AS_OF, settings=s, models=models)
    rows = table.set_index("bucket")
    assert rows["exposure"].to_dict() == {
        "current": 210.0,
        "1-30": 90.0,
        "31-60": 400.0,
        "61-90": 0.0,
        "91-120": 250.5,
        "over 120": 1000.0,
        "specific": 0.0,
        "total": 1950.5,
    }
    assert rows["allowance"].to_dict() == {
        "current": 1.05,
        "1-30": 1.8,
        "31-60": 20.0,
        "61-90": 0.0,
        "91-120": 62.63,
        "over 120": 600.0,
        "specific": 0.0,
        "total": 685.48,
    }
    k = provision.kpis(table, comparison=provision.compare_methods(open_list, AS_OF, settings=s))
    assert (k["allowance"], k["provision_method"]) == (685.48, "loss_rates")
    assert k["coverage_ratio"] == pytest.approx(685.48 / 1950.5)
    assert "allowance_by_method" not in k  # no method was compared: nothing is claimed


def test_forward_adjustment_scales_the_given_rates(open_list):
    """+10%: 1.155 -> 1.16, 1.98, 22.00, 0, 68.8875 -> 68.89, 660.00; total 754.03."""
    from arlib import provision

    s = _settings(loss_rates=RATES, forward_adjustment=0.1)
    table = provision.estimate_allowance(open_list, AS_OF, settings=s)
    assert table["allowance"].tolist() == [1.16, 1.98, 22.0, 0.0, 68.89, 660.0, 0.0, 754.03]


def test_without_loss_rates_the_allowance_says_what_is_needed(open_list):
    from arlib import provision
    from arlib.report import tables

    table = provision.estimate_allowance(open_list, AS_OF)
    assert table.empty
    assert tables.table(table)._repr_html_() == (
        '<p class="ar-empty">No allowance: the source is an open-item list with no payment '
        "history, so no loss rate can be learned from it; give the loss rate of each aging "
        "bucket in params (loss_rates), or load the payment history.</p>"
    )
    assert provision.kpis(table) == {
        "allowance": None,
        "allowance_note": table.attrs["empty_reason"],
    }


@pytest.mark.parametrize(
    "call,what",
    [
        (lambda p, led, s: p.rollforward(led, AS_OF, settings=s), "The allowance roll-forward"),
        (lambda p, led, s: p.provision_forecast(led, AS_OF, settings=s), "The provision forecast"),
        (lambda p, led, s: p.loss_rate_table(led, AS_OF, settings=s), "Learning loss rates"),
        (lambda p, led, s: p.roll_rate_model(led, AS_OF).roll_rates_, "Roll rates"),
        (lambda p, led, s: p.vintage_model(led, AS_OF).cohorts_, "Vintage loss rates"),
        (
            lambda p, led, s: p.write_off_candidates(led, AS_OF, min_days_past_due=30),
            "The write-off policy (no payment from the customer for a time)",
        ),
    ],
)
def test_sections_that_need_history_say_so_in_one_sentence(open_list, call, what):
    """Empty, never zeros: e.g. A5 (137 days past due) is no write-off candidate 'with no
    payment for 90 days': its customer's payments are unknown, not absent."""
    from arlib import provision
    from arlib.report import tables

    out = call(provision, open_list, _settings(loss_rates=RATES))
    assert len(out) == 0
    assert tables.table(out)._repr_html_() == f'<p class="ar-empty">{what}: {NO_HISTORY}</p>'


def test_pools_and_loss_backtest_need_history(open_list):
    from arlib.provision import ecl

    s = _settings(loss_rates=RATES)
    for frame, what in (
        (ecl.pooled_matrix(open_list, AS_OF, settings=s), "Loss rates per pool"),
        (ecl.loss_backtest(open_list, AS_OF, settings=s), "The loss-rate backtest"),
    ):
        assert frame.empty and frame.attrs["empty_reason"] == f"{what}: {NO_HISTORY}"


def test_loss_rates_are_checked_naming_the_key():
    from arlib.provision.given import check_loss_rates, rates

    with pytest.raises(ConfigError) as e:
        check_loss_rates({**RATES, "over 12": 0.6})
    assert (
        str(e.value)
        == "parameter loss_rates.over 12: is not an aging bucket; did you mean 'over 120'?"
    )
    with pytest.raises(ConfigError) as e:
        check_loss_rates({k: v for k, v in RATES.items() if k != "61-90"})
    assert str(e.value) == (
        "parameter loss_rates: has no rate for '61-90'; give one for every aging bucket "
        "(current, 1-30, 31-60, 61-90, 91-120, over 120)"
    )
    with pytest.raises(
        ConfigError, match=r"loss_rates.1-30: must be a loss rate between 0 and 1, got 2"
    ):
        check_loss_rates({**RATES, "1-30": 2})
    with pytest.warns(UserWarning, match=r"loss_rates: 61-90 \(1.00%\) is below 31-60 \(5.00%\)"):
        got = rates({**RATES, "61-90": 0.01})
    assert got.index.tolist() == list(RATES) and got["61-90"] == 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # non-decreasing rates: no warning
        rates(RATES)


# --- forecast: contractual payment dates and 13 weeks ----------------------------------------


def test_contractual_payment_dates_and_the_13_weeks(open_list):
    """Expected dates: A2 10 Jul + 10 = 20 Jul; A4 1 Jul + 10 = 11 Jul; A3 (1-30) 30 Jun + 30 =
    30 Jul; A1 (31-60) 30 Jun + 45 = 14 Aug; A5 and A6 (no lateness given) 1 Jul. Weeks end
    Friday: 5 Jul 1,250.50; 12 Jul 60; 26 Jul 150; 2 Aug 90; 16 Aug 400."""
    from arlib.forecast import paydates, scenarios, weekly

    model = paydates.PayDateModel("segment", lateness=LATENESS).fit(open_list, AS_OF)
    assert model.contractual
    items = model.items_.set_index("invoice_id")
    assert items["expected_date"].dt.strftime("%m-%d").to_dict() == {
        "A1": "08-14",
        "A2": "07-20",
        "A3": "07-30",
        "A4": "07-11",
        "A5": "07-01",
        "A6": "07-01",
    }
    assert items["p_paid"].eq(1.0).all()
    view = weekly.CashView(open_list, model, months=6, week_ends_on="FRI")
    weeks = view.weeks()
    got = weeks.loc[weeks["yhat"] > 0]
    got = got.set_index(got["period_end"].dt.strftime("%m-%d"))
    assert got["open_items"].to_dict() == {
        "07-05": 1250.5,
        "07-12": 60.0,
        "07-26": 150.0,
        "08-02": 90.0,
        "08-16": 400.0,
    }
    assert weeks["new_invoicing"].isna().all()  # not estimated: no invoicing history
    assert weeks["yhat"].sum() == pytest.approx(1950.5)
    assert view.months()["yhat"].tolist()[:2] == pytest.approx([1550.5, 400.0])
    later = scenarios.compare(
        view, {"late": {"pay_later_days": 7}}, ledger=open_list, horizon=13, period=view.week
    )
    assert later["late"].sum() == pytest.approx(0.0) and later["late"].iloc[0] == pytest.approx(
        -1250.5
    )


def test_an_item_years_past_due_is_still_expected_after_the_close(tmp_path):
    """Due 2021-01-31 (over 1,200 days past due), over-120 lateness 180: 30 Jun + 180 = 27 Dec
    2024, not a date before the close (days late beyond the learning grid)."""
    from arlib.forecast import paydates

    text = OPEN_ITEMS + "A7,x,K3,Mu SA,retail,2020-12-01,2021-01-31,500.00\n"
    led = load(write_files(tmp_path, {"invoices.csv": text}), source_options=DERIVED)
    model = paydates.PayDateModel("segment", lateness={"over 120": 180}).fit(led, AS_OF)
    a7 = model.items_.set_index("invoice_id").loc["A7"]
    assert str(a7["expected_date"].date()) == "2024-12-27"
    daily = model.daily()
    assert daily.loc["2024-12-27"] == 1500.0  # A5 (137 days past due) is over 120 too
    assert daily.sum() == pytest.approx(2450.5) and daily.index.min() > pd.Timestamp(AS_OF)


def test_payment_date_scoring_needs_history(open_list):
    from arlib.forecast import paydates
    from arlib.report import tables

    ev = paydates.evaluate(open_list, paydates.backtest_cutoffs(AS_OF), through=AS_OF)
    acc = paydates.mae(ev)
    assert acc.empty and paydates.kpis(acc) == {}
    assert tables.table(acc)._repr_html_() == (
        f'<p class="ar-empty">Scoring payment dates: {NO_HISTORY}</p>'
    )


# --- status: ok with notes -------------------------------------------------------------------


def test_notes_of_an_open_item_list(open_list):
    from arlib.report import datanotes

    health = datanotes.notes(open_list, {}, "health")
    assert [n.split(":")[0] for n in health] == ["Receivables health"] * 2
    assert "no credit limits" in health[1]
    assert datanotes.notes(open_list, {"loss_rates": RATES}, "provision")[0].startswith(
        "Provision: the allowance uses the loss rates given in params (loss_rates)"
    )
    assert datanotes.notes(open_list, {}, "provision") == [
        "Provision: no allowance; the source is an open-item list with no payment history and "
        "no loss_rates are given in params."
    ]


def _finish(tmp_path, sections):
    from arlib.run.runner import UnitJob, UnitResult, _finish

    job = UnitJob("x", AS_OF, {}, "params/x.yaml", (), str(ROOT), run_id="R1")
    res = UnitResult("x", AS_OF)
    tmp_path.mkdir()
    _finish(job, res, sections, [], tmp_path, str(ROOT))
    return res


def test_unit_with_notes_is_ok_with_notes_and_an_unbalanced_one_still_fails(tmp_path):
    rec = {"reconciled": True, "difference": 0.0}
    res = _finish(tmp_path / "a", {"health": {"reconciliation": rec, "notes": ["No limits."]}})
    assert (res.status, res.notes, res.kpis["data_notes"]) == (
        "ok with notes",
        ["No limits."],
        ["No limits."],
    )
    assert json.loads((tmp_path / "a" / "kpis.json").read_text())["data_notes"] == ["No limits."]
    bad = {"reconciled": False, "difference": 12.5, "source_rows_unaccounted": 1}
    res = _finish(tmp_path / "b", {"health": {"reconciliation": bad, "notes": ["No limits."]}})
    assert res.status == "failed" and res.errors[0].startswith(
        "the reconciliation does not balance (difference 12.50"
    )
    assert _finish(tmp_path / "c", {"health": {"reconciliation": rec, "notes": []}}).status == "ok"


def test_index_shows_ok_with_notes_up_front(tmp_path):
    from arlib.report.landing import render_index

    unit = {"business_unit": "x", "status": "ok with notes", "notes": ["No <b>limits</b>."]}
    page = render_index(tmp_path, {"as_of": AS_OF, "units": [unit]}, root=tmp_path)
    assert '0 failed</span>, <span class="notes">1 ok with notes</span>' in page
    assert (
        '<span class="notes">ok with notes</span><ul class="notes"><li>No &lt;b&gt;limits&lt;/b&gt;.</li></ul>'
        in page
    )


# --- end to end: arlib run, all three notebooks ----------------------------------------------


@pytest.fixture(scope="module")
def oi_run(tmp_path_factory):
    from arlib.cli import main

    base = tmp_path_factory.mktemp("oi_run")
    write_files(base / "data", {"invoices.csv": OPEN_ITEMS})
    rates = ", ".join(f'"{k}": {v}' for k, v in RATES.items())
    (base / "params").mkdir()
    (base / "params" / "x.yaml").write_text(
        f'as_of: "{AS_OF}"\ncurrency: EUR\nsource: {base / "data"}\n'
        "source_options:\n  columns:\n    invoices: {name_customer: name, region: segment}\n"
        "  frames: {transactions: none, customers: derive}\n"
        f'runoff_lateness: {{"current": 10, "1-30": 30, "31-60": 45}}\nloss_rates: {{{rates}}}\n'
    )
    code = main(
        ["run", "--params", str(base / "params"), "--out-dir", str(base / "out"), "--no-progress"]
    )
    yield code, base / "out" / AS_OF
    shutil.rmtree(base, ignore_errors=True)


def _text(path) -> str:
    import html

    s = re.sub(
        r"<script.*?</script>|<style.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S
    )
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", s)))


@pytest.mark.slow
def test_arlib_run_of_an_open_item_list_is_ok_with_notes(oi_run):
    code, close = oi_run
    assert code == 0
    manifest = json.loads((close / "manifest.json").read_text())
    (unit,) = manifest["units"]
    assert (manifest["status"], unit["status"]) == ("ok with notes", "ok with notes")
    assert [n.split(":")[0] for n in unit["notes"]] == [
        "Receivables health",
        "Receivables health",
        "Cash forecast",
        "Provision",
    ]
    assert {"health.html", "forecast.html", "provision.html"} <= set(unit["reports"])
    kpis = json.loads((close / "x" / "kpis.json").read_text())
    assert (kpis["allowance"], kpis["provision_method"], kpis["open_ar"]) == (
        685.48,
        "loss_rates",
        1950.5,
    )
    assert kpis["data_notes"] == unit["notes"] and kpis["cei"] is None
    index = _text(close / "index.html")
    assert "1 business units, 0 failed , 1 ok with notes" in index
    assert "Status: ok with notes Receivables health: CEI, the DSO family" in index


@pytest.mark.slow
def test_reports_of_an_open_item_list_say_what_they_rest_on(oi_run):
    _, close = oi_run
    provision, forecast = (
        _text(close / "x" / "provision.html"),
        _text(close / "x" / "forecast.html"),
    )
    for page in (provision, forecast, _text(close / "x" / "health.html")):
        assert "Status: ok with notes" in page  # the header of every report
    assert "over 120 1,000.00 60.0% 60.0% 600.00" in provision
    assert "total 1,950.50 35.1% 685.48" in provision
    assert (
        "(loss_rates: current: 0.5%, 1-30: 2.0%, 31-60: 5.0%, 61-90: 10.0%, 91-120: 25.0%, over 120: 60.0%)"
        in provision
    )
    for what in ("The allowance roll-forward", "The loss-rate backtest", "The provision forecast"):
        assert f"{what}: {NO_HISTORY}" in provision
    assert "Contractual payment dates: the source is an open-item list" in forecast
    assert (
        "Over the next 13 weeks 1,950 EUR is expected from invoices already open, by their "
        "contractual dates; invoicing still to come is not estimated" in forecast
    )
    assert f"Scoring payment dates: {NO_HISTORY}" in forecast
    for what in ("The backtest", "A time-series forecast", "Calibrating the range"):
        assert f"{what}: {NO_HISTORY}" in forecast


# --- security leftovers ----------------------------------------------------------------------


def test_every_numeric_parameter_has_a_bound():
    """int and float parameters, and lists/mappings whose default holds numbers."""
    from arlib.bounds import BOUNDS
    from arlib.config import declared_parameters

    def numeric(p) -> bool:
        if p.type.split("[")[0] in ("int", "float"):
            return True
        vals = list(p.default.values()) if isinstance(p.default, dict) else p.default
        return isinstance(vals, list) and any(
            isinstance(v, int | float) and not isinstance(v, bool) for v in vals
        )

    missing = [n for n, p in declared_parameters().items() if numeric(p) and n not in BOUNDS]
    assert missing == []


@pytest.mark.parametrize(
    "line,message",
    [
        (
            "calibration_windows: 1",
            "parameter calibration_windows: must be between 2 and 120, got 1",
        ),
        ("factoring_fee: 1.5", "parameter factoring_fee: must be between 0 and 1, got 1.5"),
        ("customer_reports: -1", "parameter customer_reports: must be between 0 and 1000, got -1"),
        (
            "loss_rates: {current: 1.2}",
            "parameter loss_rates.current: must be between 0 and 1, got 1.2",
        ),
        (
            "terms_cap_days: {A: null, C: -5}",
            "parameter terms_cap_days.C: must be between 0 and 3650, got -5",
        ),
    ],
)
def test_new_bounds_are_checked_at_plan_time(tmp_path, monkeypatch, capsys, line, message):
    """The error names the params file relative to the project (``params/de.yaml``)."""
    from arlib.cli import main

    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    (tmp_path / "params" / "de.yaml").write_text(f"currency: EUR\n{line}\n")
    monkeypatch.setenv("ARLIB_HOME", str(tmp_path))
    assert main(["run", "--dry-run", "--no-progress"]) == 2
    assert capsys.readouterr().err == f"arlib: error: params/de.yaml: {message}\n"


def test_dry_run_names_a_missing_loss_rate_bucket(tmp_path, monkeypatch, capsys):
    from arlib.cli import main

    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    (tmp_path / "params" / "de.yaml").write_text("currency: EUR\nloss_rates: {current: 0.01}\n")
    monkeypatch.setenv("ARLIB_HOME", str(tmp_path))
    assert main(["run", "--dry-run", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        "arlib: error: params/de.yaml: parameter loss_rates: has no rate for '1-30', '31-60', "
        "'61-90', '91-120', 'over 120'; give one for every aging bucket (current, 1-30, 31-60, "
        "61-90, 91-120, over 120)\n"
    )


def test_loss_rates_on_a_unit_with_history_are_said_to_be_unused():
    from arlib import demo, provision
    from arlib.ledger import Ledger

    f = demo.generate(seed=1, units={"xx": demo.UNITS["de"]}, start="2023-06-01", end="2024-06-30")
    led = Ledger(f["invoices"], f["transactions"], f["customers"])
    s = _settings(loss_rates=RATES, roll_rate_lookback=3)
    with pytest.warns(UserWarning, match="loss_rates are used only for an open-item list"):
        models = provision.fit_models(led, AS_OF, settings=s, methods=["roll_rate"])
    assert models.history and models.given is None


def test_notebook_config_refuses_a_url_password_as_plain_papermill_would_pass_it():
    """papermill writes injected parameters into the executed notebook; the notebook's first
    step refuses the value with one message that does not repeat the password."""
    from arlib import config

    with pytest.raises(ConfigError) as e:
        config.load({"source": "postgresql://ar@host/erp?password=s3cret"}, "health")
    assert str(e.value) == (
        "health parameters: parameter source: holds a password (query key 'password': "
        "postgresql://ar@host/erp?password=***); params are recorded in the reports. Fix: "
        "remove it from the URL and name an environment variable holding it in "
        "source_options.password_env"
    )
    assert "s3cret" not in str(e.value)
