"""Provision models fitted once per (ledger, as_of, settings) and passed on with ``models=``:
the same numbers as each function fitting its own, one roll-rate fit at as_of for the whole
report, and models that do not fit the call refused."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from arlib import demo, provision
from arlib.ledger import Ledger
from arlib.provision import lossforecast
from arlib.provision.rollrate import RollRateModel
from arlib.provision.settings import METHODS, settings_with
from arlib.provision.vintage import VintageLossModel

AS_OF = "2026-10-31"
SETTINGS = provision.ProvisionSettings(
    roll_rate_lookback=9, forward_adjustment=0.1, expected_recovery=0.2
)


@pytest.fixture(scope="module")
def led():
    f = demo.generate(seed=7, units={"de": demo.UNITS["de"]})
    return Ledger(f["invoices"], f["transactions"], f["customers"], validate=False)


@pytest.fixture(scope="module")
def models(led):
    return provision.fit_models(led, AS_OF, SETTINGS)


def test_fit_models_fits_every_method_once(led, models):
    assert models.as_of == pd.Timestamp(AS_OF) and models.settings is SETTINGS
    assert len(models.roll_rate.flows_) == 9  # roll_rate_lookback
    assert models.roll_rate.month_ends_[-1] == pd.Timestamp(AS_OF)
    assert models.vintage.as_of_ == pd.Timestamp(AS_OF)
    assert provision.roll_rate_model(led, AS_OF, SETTINGS, models=models) is models.roll_rate
    assert provision.vintage_model(led, AS_OF, SETTINGS, models=models) is models.vintage


@pytest.mark.parametrize("method", METHODS)
def test_allowance_with_models_equals_allowance_fitted_alone(led, models, method):
    alone = provision.estimate_allowance(led, AS_OF, SETTINGS, method)
    given = provision.estimate_allowance(led, AS_OF, SETTINGS, method, models=models)
    pd.testing.assert_frame_equal(given, alone)
    assert given.attrs == alone.attrs == {"method": method, "as_of": AS_OF}
    assert given["bucket"].tolist()[-2:] == ["specific", "total"]
    assert given.iloc[-1]["allowance"] > 0


def test_loss_rates_comparison_and_models_equal_with_and_without(led, models):
    pd.testing.assert_frame_equal(
        provision.loss_rate_table(led, AS_OF, SETTINGS, models=models),
        provision.loss_rate_table(led, AS_OF, SETTINGS),
    )
    cmp = provision.compare_methods(led, AS_OF, SETTINGS, models=models)
    pd.testing.assert_frame_equal(cmp, provision.compare_methods(led, AS_OF, SETTINGS))
    total = provision.estimate_allowance(led, AS_OF, SETTINGS).iloc[-1]["allowance"]
    assert cmp.set_index("method").at["roll_rate", "allowance"] == total
    pd.testing.assert_frame_equal(
        models.roll_rate.transitions(),
        provision.roll_rate_model(led, AS_OF, SETTINGS).transitions(),
    )
    pd.testing.assert_frame_equal(
        models.vintage.cohorts_, provision.vintage_model(led, AS_OF, SETTINGS).cohorts_
    )


def test_rollforward_and_forecast_equal_with_and_without(led, models):
    rf = provision.rollforward(led, AS_OF, 3, SETTINGS, models=models)
    pd.testing.assert_frame_equal(rf, provision.rollforward(led, AS_OF, 3, SETTINGS))
    total = provision.estimate_allowance(led, AS_OF, SETTINGS, models=models).iloc[-1]["allowance"]
    assert rf["closing"].iloc[-1] == total
    fc = provision.provision_forecast(led, AS_OF, 2, SETTINGS, models=models, n_boot=20)
    pd.testing.assert_frame_equal(
        fc, provision.provision_forecast(led, AS_OF, 2, SETTINGS, n_boot=20)
    )
    assert fc["month_end"].unique().tolist() == list(pd.to_datetime(["2026-11-30", "2026-12-31"]))


def _counting(monkeypatch, cls) -> list:
    """Every ``cls.fit`` call's as_of, in order."""
    calls, fit = [], cls.fit

    def counted(self, ledger, as_of):
        calls.append(pd.Timestamp(as_of))
        return fit(self, ledger, as_of)

    monkeypatch.setattr(cls, "fit", counted)
    return calls


def _report(led, models=None, months=12):
    """The provision notebook's calls, in its order."""
    kw = {} if models is None else {"models": models}
    provision.estimate_allowance(led, AS_OF, SETTINGS, **kw)
    provision.specific_table(led, AS_OF, SETTINGS)
    provision.loss_rate_table(led, AS_OF, SETTINGS, **kw)
    provision.roll_rate_model(led, AS_OF, SETTINGS, **kw)
    provision.vintage_model(led, AS_OF, SETTINGS, **kw)
    provision.compare_methods(led, AS_OF, SETTINGS, **kw)
    provision.rollforward(led, AS_OF, months, SETTINGS, **kw)
    provision.provision_forecast(led, AS_OF, 3, SETTINGS, n_boot=5, **kw)


@pytest.mark.filterwarnings("ignore:allowance history")
def test_the_report_fits_the_roll_rate_model_once_at_as_of(led, monkeypatch):
    roll, vintage = _counting(monkeypatch, RollRateModel), _counting(monkeypatch, VintageLossModel)
    _report(led, provision.fit_models(led, AS_OF, SETTINGS))
    as_of = pd.Timestamp(AS_OF)
    assert roll.count(as_of) == 1 and vintage.count(as_of) == 1
    # the roll-forward refits at the 12 earlier month-ends, on the data known then
    assert sorted(set(roll) - {as_of}) == list(pd.date_range("2025-10-31", periods=12, freq="ME"))
    assert len(roll) == 13 and len(vintage) == 1
    roll.clear()
    vintage.clear()
    _report(led, months=1)  # without models: every function fits its own
    assert roll.count(as_of) == 6 and vintage.count(as_of) == 3


def test_models_that_do_not_fit_the_call_are_refused(led, models):
    with pytest.raises(ValueError, match=r"as_of 2026-10-31 fitted, 2026-09-30 asked"):
        provision.estimate_allowance(led, "2026-09-30", SETTINGS, models=models)
    with pytest.raises(ValueError, match=r"roll_rate_lookback 9 fitted, 12 asked"):
        provision.compare_methods(led, AS_OF, provision.ProvisionSettings(), models=models)
    other = Ledger(led.invoices, led.transactions, led.customers, validate=False)
    with pytest.raises(ValueError, match=r"\(another ledger\)"):
        provision.loss_rate_table(other, AS_OF, SETTINGS, models=models)
    only_roll = provision.fit_models(led, AS_OF, SETTINGS, methods=["roll_rate"])
    with pytest.raises(ValueError, match=r"no vintage model fitted"):
        provision.estimate_allowance(led, AS_OF, SETTINGS, "vintage", models=only_roll)
    # a setting applied after fitting (method, adjustment, specific policy) may differ
    loose = settings_with(SETTINGS, forward_adjustment=0.0, specific_statuses=())
    pd.testing.assert_frame_equal(
        provision.estimate_allowance(led, AS_OF, loose, models=models),
        provision.estimate_allowance(led, AS_OF, loose),
    )
    with pytest.raises(ValueError, match="lookback=9, weighting='volume'"):
        lossforecast.provision_forecast(led, AS_OF, 1, lookback=12, model=models.roll_rate)


def test_fit_warnings_come_once_and_the_history_still_counts_them():
    f = demo.generate(seed=3, units={"xx": demo.UNITS["de"]}, start="2025-01-01", end="2025-10-31")
    young = Ledger(f["invoices"], f["transactions"], f["customers"], validate=False)
    s, as_of = provision.ProvisionSettings(), "2025-10-31"  # 12-month look-back, 9 months of data
    with warnings.catch_warnings(record=True) as fit:
        warnings.simplefilter("always")
        models = provision.fit_models(young, as_of, s)
    fit_message = (
        "roll rates: only 9 monthly transitions before 2025-10-31, fewer than roll_rate_lookback=12"
    )
    assert [str(w.message) for w in fit] == [fit_message]

    def history(**kw):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rf = provision.rollforward(young, as_of, 2, s, **kw)
        return rf, [str(w.message) for w in caught]

    (given, said), (alone, said_alone) = history(models=models), history()
    pd.testing.assert_frame_equal(given, alone)
    assert said == said_alone and said[-1] == (  # the as_of fit's warning, replayed
        "allowance history, at 1 of 3 dates (2025-10-31 .. 2025-10-31): " + fit_message
    )
